// SPDX-License-Identifier: GPL-2.0
/*
 * mmrace-split: the life of small anonymous mTHPs (6.8 and later) under
 * every path that splits, partly unmaps or frees them: race R5, order-1
 * folios whose deferred split list is the next page's struct page.
 *
 * Every round allocates the region's folios afresh and then, in parallel,
 * one thread per path takes its share of them:
 *
 *   mmr-free      MADV_FREE of a folio's last subpage: a range that covers
 *                 part of a large folio makes madvise_free_pte_range()
 *                 split it (mm/madvise.c, split_folio()), the seed's path;
 *   mmr-dontneed  MADV_DONTNEED of the last subpage: the folio is left
 *                 partly mapped and goes on the deferred split queue
 *                 (deferred_split_folio(folio, true) from the rmap code);
 *   mmr-fork      fork(), the child writes the first subpage of each
 *                 folio (CoW on the child side) while the parent rewrites
 *                 the last one (CoW on the parent side), child exits;
 *   mmr-pageout   MADV_PAGEOUT of whole folios: reclaim swaps them out
 *                 whole or splits them first (shrink_folio_list()).
 *
 * Meanwhile the main thread writes 2 to /proc/sys/vm/drop_caches, which
 * runs every shrinker, deferred_split_scan() among them: the queued folios
 * are split there.  The next round's MADV_DONTNEED of the whole region
 * frees what is left.  The damage of R5 is to the kernel's own struct
 * pages, so its verdict comes from the console (bad page state, list
 * corruption, oops); the per-size mTHP counters before and after the run
 * show that the folios were faulted (anon_fault_alloc) and split (split,
 * split_deferred), the evidence a clean run needs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "mthp.h"
#include "swap.h"

enum sp_path { SP_FREE, SP_DONTNEED, SP_FORK, SP_PAGEOUT, SP_NR_PATHS };

/* Thread names in --cpus order, one per path. */
static const char *const sp_threads[] = {
	"mmr-free", "mmr-dontneed", "mmr-fork", "mmr-pageout", NULL
};

#define SP_MAIN_ID	0	/* writer id of the main thread; paths are 1.. */
#define SP_CHILD_ID	99	/* fork children: their stamps must never show */

struct split {
	/* options */
	struct mmr_mthp mthp;		/* .size: the option, in bytes */
	const char *swap_arg;
	bool no_shrink;

	const struct mmr_opts *opts;
	struct mmr_swap swap;
	size_t pgsz, len;
	unsigned long nr_folios;
	char *map;
	uint64_t *gen;			/* per subpage: last generation written */
	unsigned long round;
	bool stop;
	pthread_barrier_t start, done;

	/* what the paths did, over the run */
	unsigned long ops[SP_NR_PATHS];
	unsigned long shrinks;		/* drop_caches writes */
	unsigned long madv_errors;	/* MADV_FREE/PAGEOUT refused (EAGAIN) */
};

struct sp_worker {
	struct split *sp;
	enum sp_path path;
	pthread_t thread;
};

#define SP_OPT(_name, _type, _field, _metavar, _help, ...)		\
	{ .name = _name, .type = _type,					\
	  .off = offsetof(struct split, _field),			\
	  .metavar = _metavar, .help = _help, __VA_ARGS__ }

static const struct mmr_option sp_options[] = {
	SP_OPT("mthp", MMR_OPT_SIZE, mthp.size, "SIZE",
	       "Folio size, a power of two from 8K to 1M (default 8K: order 1,\n"
	       "which upstream kernels refuse for anonymous memory; 16K is the\n"
	       "smallest they allow).  Its hugepages-<size>/enabled is set to\n"
	       "always for the run.",
	       .min = MMR_MTHP_MIN, .max = MMR_MTHP_MAX),
	SP_OPT("swap", MMR_OPT_STRING, swap_arg, "none|off|zram:SIZE|brd:SIZE",
	       "none: use the swap that is on (default).  zram:SIZE or\n"
	       "brd:SIZE: swap on a zram device or /dev/ram1, with an area\n"
	       "of SIZE, taken down at exit.  Without swap MADV_PAGEOUT\n"
	       "cannot reclaim anonymous folios.  off: no swap at all."),
	SP_OPT("no-shrink", MMR_OPT_FLAG, no_shrink, NULL,
	       "Do not write 2 to /proc/sys/vm/drop_caches each round: the\n"
	       "deferred split queue is then split only by memory pressure."),
	{ NULL }
};

static const struct mmr_stressor sp_stressor = {
	.name		= "split",
	.summary	= "split, partly unmap and free small mTHPs (race R5)",
	.description	=
		"A region of multi-size THPs (--mthp), one VMA, every 4 KiB\n"
		"subpage stamped, is faulted in afresh each round; then one thread\n"
		"per path takes every fourth folio: mmr-free MADV_FREEs its last\n"
		"subpage (madvise_free_pte_range() splits the folio) and rewrites\n"
		"it, mmr-dontneed MADV_DONTNEEDs it (the folio goes on the deferred\n"
		"split queue) and rewrites it, mmr-fork forks a child that writes\n"
		"the first subpages while the parent rewrites the last ones (CoW on\n"
		"both sides), and mmr-pageout MADV_PAGEOUTs whole folios.  The main\n"
		"thread runs the shrinkers (drop_caches), which split the queued\n"
		"folios, and the next round's MADV_DONTNEED of the region frees\n"
		"them.  Which thread takes which folio turns every round.\n"
		"\n"
		"After each round every subpage is checked: older data is a\n"
		"lost_write, a zero page zero_fill, another subpage's stamp\n"
		"foreign; a child's stamp in the parent is corrupt.  Kernel-side\n"
		"damage (R5: a deferred split list in the next struct page) shows\n"
		"on the console, not in the pages; the size's mTHP counters before\n"
		"and after the run (anon_fault_alloc, split, split_deferred) are in\n"
		"the report.  Needs root and Linux 6.8 or later.",
	.options	= sp_options,
	.threads	= sp_threads,
	.defaults	= {
		.rounds		= 1000000,
		.duration	= 10,
		.pages		= 256,
	},
};

static char *sp_page(const struct split *sp, unsigned long i)
{
	return sp->map + i * sp->pgsz;
}

static unsigned long sp_first(const struct split *sp, unsigned long j)
{
	return j * sp->mthp.sub;
}

static unsigned long sp_last(const struct split *sp, unsigned long j)
{
	return (j + 1) * sp->mthp.sub - 1;
}

static void sp_write(struct split *sp, unsigned long i, uint32_t writer)
{
	stamp_write(sp_page(sp, i), sp->pgsz, i, ++sp->gen[i], writer, true);
}

/*
 * MADV_FREE and MADV_PAGEOUT may refuse a range the kernel is busy with;
 * that is counted, not fatal.  Anything else is a setup error.
 */
static void sp_madvise(struct split *sp, void *addr, size_t len, int advice,
		       const char *name)
{
	if (!madvise(addr, len, advice))
		return;
	if (errno == EAGAIN || errno == EBUSY) {
		__atomic_fetch_add(&sp->madv_errors, 1, __ATOMIC_RELAXED);
		return;
	}
	mmr_fail("madvise(%s): %s", name, strerror(errno));
}

/* Folio @j is taken by @path this round. */
static bool sp_takes(const struct split *sp, enum sp_path path,
		     unsigned long j)
{
	return (j + sp->round) % SP_NR_PATHS == path;
}

/* ---- the paths --------------------------------------------------------- */

/* Split by MADV_FREE of part of the folio, or queue it by MADV_DONTNEED. */
static void sp_partial(struct split *sp, enum sp_path path, unsigned long j)
{
	unsigned long last = sp_last(sp, j);

	if (path == SP_FREE)
		sp_madvise(sp, sp_page(sp, last), sp->pgsz, MADV_FREE,
			   "MADV_FREE");
	else
		sp_madvise(sp, sp_page(sp, last), sp->pgsz, MADV_DONTNEED,
			   "MADV_DONTNEED");
	/* A lazily freed page written again keeps the new data. */
	sp_write(sp, last, path + 1);
}

static void sp_fork(struct split *sp)
{
	unsigned long j;
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		mmr_fail("fork: %s", strerror(errno));
	if (!pid) {
		/* Only stores: this child of a threaded process must not lock. */
		for (j = 0; j < sp->nr_folios; j++)
			if (sp_takes(sp, SP_FORK, j))
				stamp_write(sp_page(sp, sp_first(sp, j)), sp->pgsz,
					    sp_first(sp, j), ~0ULL, SP_CHILD_ID,
					    false);
		_exit(0);
	}
	for (j = 0; j < sp->nr_folios; j++)
		if (sp_takes(sp, SP_FORK, j)) {
			sp_write(sp, sp_last(sp, j), SP_FORK + 1);
			sp->ops[SP_FORK]++;
		}
	if (waitpid(pid, &status, 0) != pid)
		mmr_fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		mmr_fail("fork child: %s %d", WIFEXITED(status) ?
			 "exit status" : "signal", WIFEXITED(status) ?
			 WEXITSTATUS(status) : WTERMSIG(status));
}

static void sp_path(struct split *sp, enum sp_path path)
{
	unsigned long j;

	if (path == SP_FORK) {
		sp_fork(sp);
		return;
	}
	for (j = 0; j < sp->nr_folios; j++) {
		if (!sp_takes(sp, path, j))
			continue;
		if (path == SP_PAGEOUT)
			sp_madvise(sp, sp_page(sp, sp_first(sp, j)),
				   sp->mthp.size, MADV_PAGEOUT, "MADV_PAGEOUT");
		else
			sp_partial(sp, path, j);
		sp->ops[path]++;
	}
}

static int sp_cpu(const struct split *sp, enum sp_path path)
{
	return sp->opts->cpus.nr ? sp->opts->cpus.cpu[path] : -1;
}

static void *sp_thread(void *arg)
{
	struct sp_worker *wk = arg;
	struct split *sp = wk->sp;

	mmr_thread_setup(sp_threads[wk->path], sp_cpu(sp, wk->path));
	for (;;) {
		pthread_barrier_wait(&sp->start);
		if (sp->stop)
			return NULL;
		sp_path(sp, wk->path);
		pthread_barrier_wait(&sp->done);
	}
}

/* ---- the rounds -------------------------------------------------------- */

/* Free last round's folios and fault in new ones, every subpage stamped. */
static void sp_refault(struct split *sp)
{
	unsigned long i;

	sp_madvise(sp, sp->map, sp->len, MADV_DONTNEED, "MADV_DONTNEED");
	for (i = 0; i < sp->opts->pages; i++)
		sp_write(sp, i, SP_MAIN_ID);
}

static void sp_shrink(struct split *sp)
{
	int err;

	if (sp->no_shrink)
		return;
	err = mmr_write_file("/proc/sys/vm/drop_caches", "2");
	if (err)
		mmr_fail("/proc/sys/vm/drop_caches: %s", strerror(-err));
	sp->shrinks++;
}

static void sp_check(struct split *sp, struct stamp_tally *t)
{
	unsigned long i;

	for (i = 0; i < sp->opts->pages; i++)
		mmr_check_page(t, sp->round, sp_page(sp, i), sp->pgsz, i,
			       sp->gen[i], true);
}

static struct split *sp_self;

static void sp_teardown(void)
{
	mmr_mthp_restore(&sp_self->mthp);
}

static void sp_setup(struct split *sp, const struct mmr_opts *opts)
{
	sp->opts = opts;
	sp->pgsz = sysconf(_SC_PAGESIZE);
	mmr_mthp_validate(&sp->mthp, sp->pgsz, opts->pages);
	mmr_swap_parse(&sp->swap, sp->swap_arg);
	sp->len = opts->pages * sp->pgsz;
	sp->nr_folios = opts->pages / sp->mthp.sub;

	/* Whatever can be checked without changing anything, first. */
	mmr_mthp_check(&sp->mthp);
	mmr_swap_setup(&sp->swap, opts->seed);
	sp_self = sp;
	atexit(sp_teardown);
	mmr_mthp_enable(&sp->mthp);

	sp->map = mmr_mthp_map(&sp->mthp, sp->len, sp->pgsz);
	sp->gen = calloc(opts->pages, sizeof(*sp->gen));
	if (!sp->gen)
		mmr_fail("out of memory");
	pthread_barrier_init(&sp->start, NULL, SP_NR_PATHS + 1);
	pthread_barrier_init(&sp->done, NULL, SP_NR_PATHS + 1);
}

int main(int argc, char **argv)
{
	static struct split sp = {
		.mthp.size = 8 << 10, .swap_arg = "none",
	};
	static struct sp_worker workers[SP_NR_PATHS];
	char ops[SP_NR_PATHS][24], shrinks[24], madv[24], mthp[16];
	char before[512], after[512], in[24], out[24];
	struct mmr_swap_io io0, io1;
	struct mmr_opts opts;
	struct mmr_run run;
	int err, p;

	mmr_parse(&sp_stressor, &opts, &sp, argc, argv);
	sp_setup(&sp, &opts);
	mmr_cpus_keep_off(&opts.cpus);

	for (p = 0; p < SP_NR_PATHS; p++) {
		workers[p] = (struct sp_worker){ .sp = &sp, .path = p };
		err = pthread_create(&workers[p].thread, NULL, sp_thread,
				     &workers[p]);
		if (err)
			mmr_fail("starting %s: %s", sp_threads[p], strerror(err));
	}

	mmr_mthp_stats(&sp.mthp, before, sizeof(before));
	mmr_swap_io(&io0);
	mmr_run_begin(&run);
	while (mmr_run_more(&run, &opts)) {
		struct stamp_tally t = { 0 };

		sp.round = run.rounds + 1;
		sp_refault(&sp);
		mmr_marker("round %lu start", sp.round);
		pthread_barrier_wait(&sp.start);
		sp_shrink(&sp);
		pthread_barrier_wait(&sp.done);
		sp_check(&sp, &t);
		mmr_run_round(&run, &t);
	}
	sp.stop = true;
	pthread_barrier_wait(&sp.start);
	for (p = 0; p < SP_NR_PATHS; p++)
		pthread_join(workers[p].thread, NULL);
	mmr_swap_io(&io1);
	mmr_mthp_stats(&sp.mthp, after, sizeof(after));
	munmap(sp.map, sp.len);
	sp_teardown();
	mmr_swap_teardown();

	for (p = 0; p < SP_NR_PATHS; p++)
		snprintf(ops[p], sizeof(ops[p]), "%lu", sp.ops[p]);
	snprintf(shrinks, sizeof(shrinks), "%lu", sp.shrinks);
	snprintf(madv, sizeof(madv), "%lu", sp.madv_errors);
	mmr_swap_io_delta(in, sizeof(in), io1.in, io0.in, io0.ok && io1.ok);
	mmr_swap_io_delta(out, sizeof(out), io1.out, io0.out, io0.ok && io1.ok);
	return mmr_run_report(&run, &sp_stressor, &opts,
			      (const struct mmr_field[]){
				MMR_FIELD("mthp", mmr_size_str(mthp, sizeof(mthp),
							       sp.mthp.size)),
				MMR_FIELD("swap", sp.swap.spec),
				mmr_swap_dev_field(&sp.swap),
				MMR_FIELD_RAW("free_splits", ops[SP_FREE]),
				MMR_FIELD_RAW("dontneed_partial", ops[SP_DONTNEED]),
				MMR_FIELD_RAW("fork_cows", ops[SP_FORK]),
				MMR_FIELD_RAW("pageouts", ops[SP_PAGEOUT]),
				MMR_FIELD_RAW("madvise_refused", madv),
				MMR_FIELD_RAW("shrinks", shrinks),
				MMR_FIELD_RAW("pswpin", in),
				MMR_FIELD_RAW("pswpout", out),
				MMR_FIELD_RAW("mthp_before", before),
				MMR_FIELD_RAW("mthp_after", after),
				MMR_FIELD_END,
			      });
}
