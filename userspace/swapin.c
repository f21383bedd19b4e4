// SPDX-License-Identifier: GPL-2.0
/*
 * mmrace-swapin: race R2, stale data from a swap-in that skipped the swap
 * cache.
 *
 * On a SWP_SYNCHRONOUS_IO device (zram, brd) do_swap_page() reads a page
 * whose swap entry has one reference straight into a new page and only
 * then takes the PTL and checks that the PTE still holds the entry.  Two
 * faults on one entry read it into two pages; if one installs its page,
 * frees the entry, the page is written to and swapped out again into the
 * very same slot, the PTE holds the same value again and the other fault
 * installs its stale copy (fixed in 6.8 and 6.1.80 by 13ddaf26be32).
 *
 * Threads of one process (so that every entry has one reference) sweep
 * the same pages in the same order, meeting before each page so that all
 * of them fault it in at the same moment; each pushes it straight back
 * out with MADV_PAGEOUT.  A small swap area makes the freed slot come back
 * at once.
 *
 * With --mthp the unit of a sweep is a multi-size THP instead of a page:
 * 6.8 and later swap large folios out whole, and 6.10 and later (6.12 on
 * zram) read them back whole without the swap cache, so the same race can
 * install a whole stale folio.  The pages are still checked one by one.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "mthp.h"
#include "rand.h"
#include "swap.h"

enum sw_check { SW_STAMP, SW_COUNT };
enum sw_sync { SW_STEP, SW_FREE };

static const char *const sw_checks[] = { "stamp", "count", NULL };
static const char *const sw_syncs[] = { "step", "free", NULL };

/* Every worker has this name, for the module's comm filter. */
#define SW_COMM		"mmr-swapin"

static const char *const sw_threads[] = { SW_COMM " (one per --threads)",
					   NULL };

/* Counting pages keep this generation: their stamp only names the page. */
#define SW_COUNT_GEN	1
#define SW_MAIN_ID	0	/* writer id of the main thread; workers are 1.. */

/* What forked workers must share with the parent. */
struct sw_shared {
	pthread_barrier_t go;
	unsigned int meet_count, meet_gen;		/* see sw_meet() */
	struct stamp_tally tally[MMR_MAX_THREADS];	/* this round's finds */
};

struct swapin {
	/* options */
	int check;			/* enum sw_check */
	int sync;			/* enum sw_sync */
	unsigned long nr_threads;
	unsigned long sweeps;
	const char *swap_arg;
	bool fork;
	struct mmr_mthp mthp;		/* .size: the option, 0: none */

	const struct mmr_opts *opts;
	struct mmr_swap swap;
	size_t pgsz, len;
	unsigned long unit;		/* pages per visit: 1 or a folio's */
	unsigned long nr_units;
	char *map;
	uint64_t *gen;			/* per page: the last generation written */
	uint64_t *base;			/* count: per page, the counter last checked */
	unsigned long *incs;		/* count: [worker][page] increments this round */
	struct sw_shared *sh;
	unsigned long round;
	unsigned long first_unit;	/* where this round's sweeps start */
	uint64_t lost_increments;
	bool stop;
	pthread_barrier_t start, done;
};

struct sw_worker {
	struct swapin *sw;
	unsigned int id;
	pthread_t thread;
};

#define SW_OPT(_name, _type, _field, _metavar, _help, ...)		\
	{ .name = _name, .type = _type,					\
	  .off = offsetof(struct swapin, _field),			\
	  .metavar = _metavar, .help = _help, __VA_ARGS__ }

static const struct mmr_option sw_options[] = {
	SW_OPT("check", MMR_OPT_CHOICE, check, "stamp|count",
	       "stamp: every page holds a stamp that only one worker (its\n"
	       "owner this round) renews, the others just fault it in; an\n"
	       "older stamp read back is a lost_write (seen only when the\n"
	       "owner's fault was the one that won).  count: every worker\n"
	       "increments a counter in every page, atomically; a page with\n"
	       "fewer increments than were made lost some (a lost_write);\n"
	       "any stale swap-in shows, so this is the default.",
	       .choices = sw_checks),
	SW_OPT("sync", MMR_OPT_CHOICE, sync, "step|free",
	       "step: the workers meet before every page (folio, with\n"
	       "--mthp), spinning, so that all of them fault it at the same\n"
	       "moment (default).  free: each sweeps at its own pace, meeting\n"
	       "the others by chance.",
	       .choices = sw_syncs),
	SW_OPT("threads", MMR_OPT_ULONG, nr_threads, "N",
	       "Number of workers (default 2; two faults make the race).",
	       .min = 1,
	       .max = MMR_MAX_THREADS),
	SW_OPT("sweeps", MMR_OPT_ULONG, sweeps, "N",
	       "Visits of each worker to each page (folio, with --mthp) per\n"
	       "round (default 1: pages are checked after every sweep, so a\n"
	       "stale page is found within one sweep of its install).",
	       .min = 1, .max = 1000000),
	SW_OPT("swap", MMR_OPT_STRING, swap_arg, "none|off|zram:SIZE|brd:SIZE",
	       "none: use the swap that is on (default).  zram:SIZE or\n"
	       "brd:SIZE: swap on a zram device (zram0 if unused, else a new\n"
	       "one) or on /dev/ram1, with an area of SIZE at the highest\n"
	       "priority, taken down at exit.  Stale data needs the freed\n"
	       "slot reused at once: make SIZE about the pages' size (e.g.\n"
	       "zram:320K for 64 pages); a large area (zram:64M) should\n"
	       "find nothing even on a broken kernel.  off: no swap at all,\n"
	       "nothing is swapped: a check of the stressor itself."),
	SW_OPT("fork", MMR_OPT_FLAG, fork, NULL,
	       "Contrast: the workers are processes forked each round that\n"
	       "only read and check the pages, so every swap entry has\n"
	       "several references and swap-in goes through the swap cache,\n"
	       "where this race cannot happen.  Needs --check stamp."),
	SW_OPT("mthp", MMR_OPT_SIZE, mthp.size, "SIZE",
	       "Folio mode: the pages are one VMA of multi-size THPs of SIZE,\n"
	       "a power of two from 8K to 1M (e.g. 64K), instead of base\n"
	       "pages with MADV_NOHUGEPAGE; hugepages-<size>kB/enabled is\n"
	       "set to always for the run and restored at exit.  The workers\n"
	       "meet before each folio, do their part to each of its 4 KiB\n"
	       "pages and page the folio out whole; --pages must be a\n"
	       "multiple of the pages per folio.  Pages are still checked one\n"
	       "by one: a stale 64K folio shows as 16 bad pages.  The report\n"
	       "adds the size's mTHP counters before and after the run:\n"
	       "swpout against swpout_fallback says whether folios went out\n"
	       "whole, swpin (where the kernel has it) whether they came back\n"
	       "whole.  6.12's alloc_swap_folio() reads a large folio only\n"
	       "when zswap was never enabled (boot with zswap.enabled=0) and\n"
	       "the folio's swap entries are contiguous with swap count 1;\n"
	       "otherwise it swaps in base pages.  A folio goes out whole only\n"
	       "into a whole free, aligned SIZE range of swap slots, and one\n"
	       "swap cluster is 2 MiB: give --swap more than one cluster\n"
	       "(zram:4M or more), not zram:320K.",
	       .min = MMR_MTHP_MIN, .max = MMR_MTHP_MAX),
	{ NULL }
};

static int sw_nr_threads(const void *ctx)
{
	return ((const struct swapin *)ctx)->nr_threads;
}

static const struct mmr_stressor sw_stressor = {
	.name		= "swapin",
	.summary	= "reproduce stale swap-in skipping the swap cache (race R2)",
	.description	=
		"Workers of one process sweep private anonymous pages in the same\n"
		"order, meeting before each page so that all of them fault it in\n"
		"from swap at the same moment; each pushes it straight back out\n"
		"with MADV_PAGEOUT.  On a SWP_SYNCHRONOUS_IO device (zram, brd)\n"
		"such faults skip the swap cache, and kernels without 13ddaf26be32\n"
		"(before 6.8 and 6.1.80) can install a stale copy when the freed\n"
		"swap slot is reused for the same page in between.\n"
		"\n"
		"In folio mode (--mthp 64K) the pages are multi-size THPs and\n"
		"the workers visit, and page out, one whole folio at a time:\n"
		"6.12 swaps such folios in whole from zram, skipping the swap\n"
		"cache, so the same race can install a whole stale or\n"
		"zero-filled folio.\n"
		"\n"
		"After each round every page is read back and checked: older data\n"
		"is a lost_write, a zero page zero_fill (with --check count also\n"
		"one that holds nothing but the increments made after the fill),\n"
		"another page's stamp foreign, anything else corrupt.  The trace\n"
		"marker of a bad page gives its count, the count due and its\n"
		"first words.  Workers are named mmr-swapin for the mmrace module's\n"
		"comm filter.  Runs as root with --swap zram:SIZE or brd:SIZE.",
	.options	= sw_options,
	.threads	= sw_threads,
	.nr_threads	= sw_nr_threads,
	.defaults	= {
		.rounds		= 1000000,
		.duration	= 10,
		.pages		= 64,
	},
};

static char *sw_page(const struct swapin *sw, unsigned long i)
{
	return sw->map + i * sw->pgsz;
}

static void sw_pageout(void *addr, size_t len)
{
	if (madvise(addr, len, MADV_PAGEOUT))
		mmr_fail("madvise(MADV_PAGEOUT): %s", strerror(errno));
}

/* The worker that renews page @i's stamp this round. */
static unsigned int sw_owner(const struct swapin *sw, unsigned long i)
{
	return (i + sw->round) % sw->nr_threads;
}

/* Do this mode's part to page @i, faulting it in if it is out. */
static void sw_touch(struct swapin *sw, unsigned int w, unsigned long i)
{
	struct stamp_tally *t = &sw->sh->tally[w];
	char *page = sw_page(sw, i);

	if (sw->check == SW_COUNT) {
		__atomic_fetch_add(stamp_counter(page), 1, __ATOMIC_RELAXED);
		sw->incs[w * sw->opts->pages + i]++;
	} else if (sw->fork) {
		mmr_check_page(t, sw->round, page, sw->pgsz, i, sw->gen[i], true);
	} else if (sw_owner(sw, i) == w) {
		/* Nobody else writes the page: it must hold our last stamp. */
		mmr_check_page(t, sw->round, page, sw->pgsz, i, sw->gen[i], true);
		stamp_write(page, sw->pgsz, i, ++sw->gen[i], w + 1, true);
	} else {
		(void)*(volatile uint64_t *)page;
	}
}

/*
 * Fault unit @u (a page, or a folio with --mthp) in, do this mode's part
 * to each of its pages and push it back out, whole.
 */
static void sw_visit(struct swapin *sw, unsigned int w, unsigned long u)
{
	unsigned long i, first = u * sw->unit;

	for (i = first; i < first + sw->unit; i++)
		sw_touch(sw, w, i);
	sw_pageout(sw_page(sw, first), sw->unit * sw->pgsz);
}

/*
 * All workers wait here until the last arrives, spinning: released
 * together, they fault the next unit at once.  A sleeping barrier would
 * wake them one by one.  Workers sharing a CPU yield it after a while.
 */
#define SW_SPINS	4096

static void sw_meet(struct swapin *sw)
{
	struct sw_shared *sh = sw->sh;
	unsigned int gen = __atomic_load_n(&sh->meet_gen, __ATOMIC_ACQUIRE);
	unsigned int spins = 0;

	if (__atomic_add_fetch(&sh->meet_count, 1, __ATOMIC_ACQ_REL) ==
	    sw->nr_threads) {
		__atomic_store_n(&sh->meet_count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&sh->meet_gen, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&sh->meet_gen, __ATOMIC_ACQUIRE) == gen)
		if (++spins < SW_SPINS)
			mmr_cpu_relax();
		else
			sched_yield();
}

static void sw_sweep(struct swapin *sw, unsigned int w)
{
	unsigned long s, k, n = sw->nr_units;

	for (s = 0; s < sw->sweeps; s++)
		for (k = 0; k < n; k++) {
			if (sw->sync == SW_STEP)
				sw_meet(sw);
			sw_visit(sw, w, (sw->first_unit + k) % n);
		}
}

static int sw_cpu(const struct swapin *sw, unsigned int w)
{
	return sw->opts->cpus.nr ? sw->opts->cpus.cpu[w] : -1;
}

static void *sw_thread(void *arg)
{
	struct sw_worker *wk = arg;
	struct swapin *sw = wk->sw;

	mmr_thread_setup(SW_COMM, sw_cpu(sw, wk->id));
	for (;;) {
		pthread_barrier_wait(&sw->start);
		if (sw->stop)
			return NULL;
		sw_sweep(sw, wk->id);
		pthread_barrier_wait(&sw->done);
	}
}

static void sw_child(struct swapin *sw, unsigned int w)
{
	mmr_thread_setup(SW_COMM, sw_cpu(sw, w));
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pthread_barrier_wait(&sw->sh->go);
	sw_sweep(sw, w);
	_exit(MMR_EXIT_CLEAN);
}

/* One round with forked workers; a worker that fails ends them all. */
static void sw_fork_round(struct swapin *sw)
{
	pid_t pid[MMR_MAX_THREADS], p;
	unsigned int w, left;
	int status;

	fflush(NULL);
	for (w = 0; w < sw->nr_threads; w++) {
		pid[w] = fork();
		if (pid[w] < 0)
			mmr_fail("fork: %s", strerror(errno));
		if (!pid[w])
			sw_child(sw, w);
	}
	for (left = sw->nr_threads; left; left--) {
		p = wait(&status);
		if (p < 0)
			mmr_fail("wait: %s", strerror(errno));
		if (WIFEXITED(status) && !WEXITSTATUS(status))
			continue;
		for (w = 0; w < sw->nr_threads; w++)
			if (pid[w] != p)
				kill(pid[w], SIGKILL);
		if (WIFEXITED(status))
			exit(WEXITSTATUS(status));	/* it said why */
		mmr_fail("worker %d killed by signal %d", p, WTERMSIG(status));
	}
}

/*
 * Read every page back and tally it.  Bad pages are stamped afresh, so
 * that a loss is counted once; with --fork every page is, so that each
 * round's workers read new data.
 */
static void sw_check(struct swapin *sw, struct stamp_tally *t)
{
	unsigned long i, w, pages = sw->opts->pages;
	enum stamp_class c;
	uint64_t want, got;
	char *page;

	mmr_marker("round %lu check", sw->round);
	for (i = 0; i < pages; i++) {
		page = sw_page(sw, i);
		if (sw->check == SW_STAMP) {
			c = mmr_check_page(t, sw->round, page, sw->pgsz, i,
					   sw->gen[i], true);
			if (c != STAMP_OK || sw->fork)
				stamp_write(page, sw->pgsz, i, ++sw->gen[i],
					    SW_MAIN_ID, true);
			continue;
		}
		want = sw->base[i];
		for (w = 0; w < sw->nr_threads; w++) {
			want += sw->incs[w * pages + i];
			sw->incs[w * pages + i] = 0;
		}
		c = stamp_check_count(page, sw->pgsz, i, SW_COUNT_GEN, want,
				      &got);
		mmr_tally_page(t, sw->round, i, c);
		/*
		 * Say by how much (one short is one stale install) and,
		 * for a page that holds no stamp, what it holds instead.
		 */
		if (c != STAMP_OK && stamp_tally_bad(t) <= MMR_MARKS_PER_ROUND)
			mmr_marker("page %lu count %llu want %llu head %016llx %016llx",
				   i, (unsigned long long)got,
				   (unsigned long long)want,
				   (unsigned long long)((uint64_t *)page)[0],
				   (unsigned long long)((uint64_t *)page)[1]);
		if (c == STAMP_LOST_WRITE)
			sw->lost_increments += want - got;
		if (c == STAMP_OK || c == STAMP_LOST_WRITE) {
			sw->base[i] = got;
		} else {
			stamp_count_init(page, sw->pgsz, i, SW_COUNT_GEN,
					 SW_MAIN_ID, 0);
			sw->base[i] = 0;
		}
	}
	/* Every round starts with all pages out on swap. */
	sw_pageout(sw->map, sw->len);
}

static void *sw_alloc(size_t len, bool shared)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		mmr_fail("mmap of %zu bytes: %s", len, strerror(errno));
	return p;
}

/* The unit of a visit, checked before anything is changed. */
static void sw_validate(struct swapin *sw, const struct mmr_opts *opts)
{
	sw->pgsz = sysconf(_SC_PAGESIZE);
	sw->len = opts->pages * sw->pgsz;
	sw->unit = 1;
	if (sw->mthp.size) {
		mmr_mthp_validate(&sw->mthp, sw->pgsz, opts->pages);
		sw->unit = sw->mthp.sub;
	}
	sw->nr_units = opts->pages / sw->unit;
}

/* For sw_teardown() at exit. */
static struct swapin *sw_self;

/* Whatever exit comes, the mTHP setting goes back (swap.c does its own). */
static void sw_teardown(void)
{
	mmr_mthp_restore(&sw_self->mthp);
}

static void sw_setup(struct swapin *sw, const struct mmr_opts *opts)
{
	pthread_barrierattr_t attr;
	unsigned long i;

	sw->opts = opts;
	/* Whatever can be checked without changing anything, first. */
	if (sw->mthp.size)
		mmr_mthp_check(&sw->mthp);
	mmr_swap_setup(&sw->swap, opts->seed);

	if (sw->mthp.size) {
		sw_self = sw;
		atexit(sw_teardown);
		/* Before the first touch, which allocates the folios. */
		mmr_mthp_enable(&sw->mthp);
		sw->map = mmr_mthp_map(&sw->mthp, sw->len, sw->pgsz);
	} else {
		sw->map = sw_alloc(sw->len, false);
		/* Base pages only: the race is about order-0 swap-in. */
		if (madvise(sw->map, sw->len, MADV_NOHUGEPAGE) &&
		    errno != EINVAL)
			mmr_fail("madvise(MADV_NOHUGEPAGE): %s",
				 strerror(errno));
	}
	sw->gen = calloc(opts->pages, sizeof(*sw->gen));
	sw->base = calloc(opts->pages, sizeof(*sw->base));
	sw->incs = calloc(opts->pages * sw->nr_threads, sizeof(*sw->incs));
	if (!sw->gen || !sw->base || !sw->incs)
		mmr_fail("out of memory");
	sw->sh = sw_alloc(sizeof(*sw->sh), true);

	for (i = 0; i < opts->pages; i++) {
		sw->gen[i] = 1;
		if (sw->check == SW_COUNT)
			stamp_count_init(sw_page(sw, i), sw->pgsz, i,
					 SW_COUNT_GEN, SW_MAIN_ID, 0);
		else
			stamp_write(sw_page(sw, i), sw->pgsz, i, 1,
				    SW_MAIN_ID, true);
	}
	sw_pageout(sw->map, sw->len);

	pthread_barrierattr_init(&attr);
	pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_barrier_init(&sw->sh->go, &attr, sw->nr_threads);
	pthread_barrier_init(&sw->start, NULL, sw->nr_threads + 1);
	pthread_barrier_init(&sw->done, NULL, sw->nr_threads + 1);
}

static void sw_start_threads(struct swapin *sw, struct sw_worker *wk)
{
	unsigned int w;
	int err;

	for (w = 0; w < sw->nr_threads; w++) {
		wk[w] = (struct sw_worker){ .sw = sw, .id = w };
		err = pthread_create(&wk[w].thread, NULL, sw_thread, &wk[w]);
		if (err)
			mmr_fail("starting worker %u: %s", w, strerror(err));
	}
}

static void sw_stop_threads(struct swapin *sw, struct sw_worker *wk)
{
	unsigned int w;

	sw->stop = true;
	pthread_barrier_wait(&sw->start);
	for (w = 0; w < sw->nr_threads; w++)
		pthread_join(wk[w].thread, NULL);
}

int main(int argc, char **argv)
{
	static struct swapin sw = { .check = SW_COUNT, .nr_threads = 2,
				    .sweeps = 1, .swap_arg = "none" };
	static struct sw_worker workers[MMR_MAX_THREADS];
	char threads[24], sweeps[24], visits[24], in[24], out[24], lost[24];
	char mthp[16], before[512], after[512];
	struct mmr_field size = MMR_FIELD_RAW("mthp", "null");
	struct mmr_field stats = MMR_FIELD_END;
	struct mmr_swap_io io0, io1;
	struct mmr_opts opts;
	struct mmr_run run;
	unsigned int w;
	uint64_t rnd;
	int ret;

	mmr_parse(&sw_stressor, &opts, &sw, argc, argv);
	mmr_swap_parse(&sw.swap, sw.swap_arg);
	if (sw.fork && sw.check != SW_STAMP)
		mmr_fail("--fork: needs --check stamp (forked workers only read)");
	sw_validate(&sw, &opts);
	sw_setup(&sw, &opts);
	mmr_cpus_keep_off(&opts.cpus);
	if (!sw.fork)
		sw_start_threads(&sw, workers);

	rnd = opts.seed;
	if (sw.mthp.size)
		mmr_mthp_stats(&sw.mthp, before, sizeof(before));
	mmr_swap_io(&io0);
	mmr_run_begin(&run);
	while (mmr_run_more(&run, &opts)) {
		struct stamp_tally t = { 0 };

		sw.round = run.rounds + 1;
		sw.first_unit = mmr_rand(&rnd) % sw.nr_units;
		memset(sw.sh->tally, 0, sizeof(sw.sh->tally));
		mmr_marker("round %lu start", sw.round);
		if (sw.fork) {
			sw_fork_round(&sw);
		} else {
			pthread_barrier_wait(&sw.start);
			pthread_barrier_wait(&sw.done);
		}
		for (w = 0; w < sw.nr_threads; w++)
			stamp_tally_merge(&t, &sw.sh->tally[w]);
		sw_check(&sw, &t);
		mmr_run_round(&run, &t);
	}
	if (!sw.fork)
		sw_stop_threads(&sw, workers);
	mmr_swap_io(&io1);
	if (sw.mthp.size)
		mmr_mthp_stats(&sw.mthp, after, sizeof(after));
	/* Nothing left to swap in: swapoff is quick. */
	munmap(sw.map, sw.len);
	mmr_mthp_restore(&sw.mthp);
	mmr_swap_teardown();

	snprintf(threads, sizeof(threads), "%lu", sw.nr_threads);
	snprintf(sweeps, sizeof(sweeps), "%lu", sw.sweeps);
	/* Page visits: a folio's visit touches each of its pages. */
	snprintf(visits, sizeof(visits), "%lu",
		 run.rounds * sw.nr_threads * sw.sweeps * opts.pages);
	mmr_swap_io_delta(in, sizeof(in), io1.in, io0.in, io0.ok && io1.ok);
	mmr_swap_io_delta(out, sizeof(out), io1.out, io0.out, io0.ok && io1.ok);
	if (sw.check == SW_COUNT)
		snprintf(lost, sizeof(lost), "%llu",
			 (unsigned long long)sw.lost_increments);
	else
		snprintf(lost, sizeof(lost), "null");
	/* Base pages: "mthp" is null and the list ends before the counters. */
	if (sw.mthp.size) {
		size = (struct mmr_field)MMR_FIELD("mthp",
			mmr_size_str(mthp, sizeof(mthp), sw.mthp.size));
		stats = (struct mmr_field)MMR_FIELD_RAW("mthp_before", before);
	}
	ret = mmr_run_report(&run, &sw_stressor, &opts,
			     (const struct mmr_field[]){
				MMR_FIELD("check", sw_checks[sw.check]),
				MMR_FIELD("mode", sw.fork ? "fork" : "threads"),
				MMR_FIELD("sync", sw_syncs[sw.sync]),
				MMR_FIELD("swap", sw.swap.spec),
				mmr_swap_dev_field(&sw.swap),
				size,
				MMR_FIELD_RAW("threads", threads),
				MMR_FIELD_RAW("sweeps", sweeps),
				MMR_FIELD_RAW("visits", visits),
				MMR_FIELD_RAW("pswpin", in),
				MMR_FIELD_RAW("pswpout", out),
				MMR_FIELD_RAW("lost_increments", lost),
				stats,
				MMR_FIELD_RAW("mthp_after", after),
				MMR_FIELD_END,
			     });
	return ret;
}
