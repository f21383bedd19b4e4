// SPDX-License-Identifier: GPL-2.0
/*
 * mmrace-lostwrite: race R1, a lost write to a MAP_SHARED file.
 *
 * Before v6.2, zap_pte_range() dropped the rmap of a dirty file page before
 * flushing the TLB.  Writeback can then find the page unmapped, clean it and
 * write it out while another CPU still stores through its stale, writable
 * TLB entry: those stores land in a page the kernel believes clean and are
 * lost when the page leaves the page cache.
 *
 * Three threads on three CPUs: the writer stamps pages with ever newer
 * generations, the zapper unmaps the whole range once, the flusher runs
 * writeback until the zap is done.  Then every page is read back from the
 * disk and must hold the last generation the writer stored into it.
 *
 * With --huge the file is mapped by PMDs instead of PTEs, for the same
 * ordering at PMD level: zap_huge_pmd() removes the rmap of a PMD-mapped
 * file folio before the mmu_gather flushes the TLB.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "mthp.h"
#include "rand.h"

enum lw_mode { LW_DONTNEED, LW_MUNMAP };
enum lw_flush { LW_FDATASYNC, LW_MSYNC };
enum { LW_WRITER, LW_ZAPPER, LW_FLUSHER, LW_NR_THREADS };

static const char *const lw_modes[] = { "dontneed", "munmap", NULL };
static const char *const lw_flushes[] = { "fdatasync", "msync", NULL };

/* The module's comm filter matches these: only the zapper is delayed. */
static const char *const lw_threads[] = {
	[LW_WRITER]	= "mmr-writer",
	[LW_ZAPPER]	= "mmr-zapper",
	[LW_FLUSHER]	= "mmr-flusher",
	[LW_NR_THREADS]	= NULL,
};

#define LW_WRITER_ID	1

struct lostwrite {
	/* options */
	const char *path;
	int mode;			/* enum lw_mode */
	int flush;			/* enum lw_flush */
	bool drop_caches;
	bool huge;
	unsigned long hot;		/* the writer's pages per round */
	unsigned long map_offset;	/* pages past a page-table boundary */

	const struct mmr_opts *opts;
	int fd;
	int drop_fd;			/* /proc/sys/vm/drop_caches or -1 */
	size_t pgsz, len;
	char *map;
	char *buf;			/* one page read back from the file */
	uint64_t *last_gen;		/* per page: the writer's last store */
	uint64_t gen;			/* the writer's last generation */
	unsigned long hot_lo, hot_slots; /* where a hot range may start */
	unsigned long hot_first;	/* this round's first hot page */
	unsigned long first_page;	/* ... and the writer's first store */
	bool pmd_mapped;		/* --huge: this round's prefault got PMDs */
	unsigned long pmd_rounds, not_pmd_rounds;
	unsigned long writer_stores;	/* while the zap ran, over the run */
	unsigned long writer_faults;	/* ... that took a page fault */
	unsigned long round_faults;	/* this round's share of writer_faults */
	int zap_done;
	bool stop;
	pthread_barrier_t start, go, done;
};

struct lw_worker {
	struct lostwrite *lw;
	int id;
	pthread_t thread;
};

#define LW_OPT(_name, _type, _field, _metavar, _help, ...)		\
	{ .name = _name, .type = _type,					\
	  .off = offsetof(struct lostwrite, _field),			\
	  .metavar = _metavar, .help = _help, __VA_ARGS__ }

static const struct mmr_option lw_options[] = {
	LW_OPT("file", MMR_OPT_STRING, path, "PATH",
	       "The MAP_SHARED file, created or truncated to the size of\n"
	       "the pages and left behind for inspection (default\n"
	       "./mmrace-lostwrite.dat).  It must be on a file system\n"
	       "with writeback, e.g. ext4; on tmpfs nothing can be lost."),
	LW_OPT("mode", MMR_OPT_CHOICE, mode, "dontneed|munmap",
	       "How the zapper unmaps the range: MADV_DONTNEED, or a\n"
	       "mmap(MAP_FIXED) of the same file over it (default dontneed).",
	       .choices = lw_modes),
	LW_OPT("flush", MMR_OPT_CHOICE, flush, "fdatasync|msync",
	       "How the flusher starts writeback: fdatasync() of the file or\n"
	       "msync(MS_SYNC) of the range (default fdatasync).",
	       .choices = lw_flushes),
	LW_OPT("drop-caches", MMR_OPT_FLAG, drop_caches, NULL,
	       "Also write 1 to /proc/sys/vm/drop_caches before reading the\n"
	       "pages back (needs root)."),
	LW_OPT("hot", MMR_OPT_ULONG, hot, "PAGES",
	       "The writer's working set (default 16, at most --pages):\n"
	       "each round it stores round and round to PAGES consecutive\n"
	       "pages at a random place in the last page table of the\n"
	       "mapping, the zap's last pass.  Every page is still stamped,\n"
	       "zapped, written back and checked.",
	       .min = 1, .max = 1UL << 30),
	LW_OPT("map-offset", MMR_OPT_ULONG, map_offset, "PAGES",
	       "Start the mapping PAGES pages past a page-table boundary\n"
	       "(default 0), below the pages of one page table (512 on\n"
	       "x86-64); 0 with --huge.  A zap takes one pass per page\n"
	       "table: 64 pages at offset 480 take two.",
	       .min = 0, .max = ~0UL),
	LW_OPT("huge", MMR_OPT_FLAG, huge, NULL,
	       "Map the file by PMDs: zap_huge_pmd() instead of\n"
	       "zap_pte_range().  The mapping (on a PMD boundary anyway) is\n"
	       "advised MADV_HUGEPAGE and --pages must be a multiple of a\n"
	       "PMD's pages (512 on x86-64).  Each round's first store faults\n"
	       "in a PMD-sized folio by readahead, which finish_fault() maps\n"
	       "with a PMD where the file system has large folios (XFS).\n"
	       "After each prefault /proc/self/smaps says whether all of the\n"
	       "range was FilePmdMapped: the report counts pmd_mapped_rounds\n"
	       "and not_pmd_mapped_rounds."),
	{ NULL }
};

static const struct mmr_stressor lw_stressor = {
	.name		= "lostwrite",
	.summary	= "reproduce lost writes to a MAP_SHARED file (race R1)",
	.description	=
		"Races a writer storing to a MAP_SHARED file mapping against a\n"
		"zapper unmapping it and a flusher writing it back, each thread on\n"
		"its own CPU.  Kernels before 6.2 drop the rmap of a page before\n"
		"flushing the TLB, so writeback can clean a page that the writer\n"
		"still stores to through a stale TLB entry: the write is lost.\n"
		"\n"
		"Every round stamps all pages and syncs them, stamps the writer's\n"
		"--hot pages again, releases the three threads, then unmaps the\n"
		"range, syncs the file, drops it from the page cache and reads\n"
		"every page back.  A page older than the last stamp stored into it\n"
		"is a lost_write; zero_fill, foreign and corrupt pages are\n"
		"reported too.  Threads are named mmr-writer, mmr-zapper and\n"
		"mmr-flusher for the mmrace module's comm filter.\n"
		"\n"
		"The writer's pages lie in the last page table the zap passes\n"
		"over, whatever the size and --map-offset of the mapping.",
	.options	= lw_options,
	.threads	= lw_threads,
	.defaults	= {
		.rounds		= 1000000,
		.duration	= 10,
		.pages		= 64,
	},
};

static char *lw_map(struct lostwrite *lw, void *addr, int flags)
{
	void *p = mmap(addr, lw->len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | flags, lw->fd, 0);

	if (p == MAP_FAILED)
		mmr_fail("mmap %s: %s", lw->path, strerror(errno));
	if (lw->huge && madvise(p, lw->len, MADV_HUGEPAGE))
		mmr_fail("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	return p;
}

/* --huge: whole PMDs, and a kernel that can map files by them */
static void lw_huge_check(struct lostwrite *lw)
{
	unsigned long pmd = mmr_thp_pmd_size();

	if (!pmd)
		mmr_fail("--huge: this kernel has no transparent huge pages");
	if (lw->len % pmd)
		mmr_fail("--huge: --pages %lu is not a multiple of %lu",
			 lw->opts->pages, pmd / lw->pgsz);
}

/* --huge: is all of the range mapped by PMDs now? */
static bool lw_pmd_mapped(struct lostwrite *lw)
{
	unsigned long kb;

	return mmr_smaps_kb(lw->map, "FilePmdMapped", &kb) &&
	       kb * 1024 >= lw->len;
}

/* The bytes one page table maps: 2 MiB with 4 KiB pages, 8-byte PTEs. */
static size_t lw_table_span(const struct lostwrite *lw)
{
	return lw->pgsz / sizeof(uint64_t) * lw->pgsz;
}

/*
 * Map the file --map-offset pages past a page-table boundary (default 0).
 * zap_pte_range() zaps a range one page table (512 pages) per pass, each
 * pass ending in its own TLB flush, so the offset and the size decide how
 * many passes a round takes.  Where the writer stores is decided by
 * lw_hot_range().
 */
static char *lw_map_at_offset(struct lostwrite *lw)
{
	size_t span = lw_table_span(lw);
	size_t offset = lw->map_offset * lw->pgsz;
	char *base = mmr_reserve_aligned(lw->len + offset, span, lw->pgsz);

	return lw_map(lw, base + offset, MAP_FIXED);
}

/*
 * The writer's pages lie in the last page table of the mapping: the zap's
 * last pass.  Measured on Debian 6.1 with the writer's 16 pages anywhere in
 * 1024 and 4096 pages (every page dirty, 10 ms delays), every round that
 * lost writes had them in the last table: 14 of 14 with MADV_DONTNEED and
 * 8 of 8 with munmap at 1024 pages, 1 of 1 at 4096.  In an earlier pass
 * (read from the traces, not measured directly):
 *
 * - the first table: writeback starts with the zap and reaches pages the
 *   zapper has not cleared yet, so it waits for the PTL the zapper holds
 *   through the delay, and cleans the pages only after the flush;
 * - with MADV_DONTNEED, the writer faults its pages back in once their
 *   pass has flushed and dirties them again while later passes run: the
 *   cleaned page is written back again and the lost store with it.
 *
 * After the last pass the zap returns and the writer stops.
 */
static void lw_hot_range(struct lostwrite *lw)
{
	size_t span = lw_table_span(lw);
	uintptr_t map = (uintptr_t)lw->map;
	uintptr_t last = (map + lw->len - 1) & ~(uintptr_t)(span - 1);
	unsigned long first = last > map ? (last - map) / lw->pgsz : 0;
	unsigned long pages = lw->opts->pages;

	if (first > pages - lw->hot)
		first = pages - lw->hot;
	lw->hot_lo = first;
	lw->hot_slots = pages - lw->hot - first + 1;
}

static void lw_store(struct lostwrite *lw, unsigned long i)
{
	stamp_write(lw->map + i * lw->pgsz, lw->pgsz, i, ++lw->gen,
		    LW_WRITER_ID, false);
	lw->last_gen[i] = lw->gen;
}

/*
 * Leave every PTE present, only the writer's pages dirty and its TLB warm
 * for them.  A zap flushes a pass under the PTL only if it cleared a dirty
 * PTE (zap_pte_range()'s force_flush), so only the pass over the writer's
 * pages opens the window, and writeback in it has only those pages to walk.
 * Measured on Debian 6.1, 1024 pages, 3 ms: 6 of 150 rounds lost writes
 * with every page dirty, 38 of 170 with the writer's alone.
 */
static void lw_prefault(struct lostwrite *lw)
{
	unsigned long i;

	for (i = 0; i < lw->opts->pages; i++)
		lw_store(lw, i);
	if (fdatasync(lw->fd))
		mmr_fail("fdatasync: %s", strerror(errno));
	for (i = lw->hot_first; i < lw->hot_first + lw->hot; i++)
		lw_store(lw, i);
}

static bool lw_zap_done(struct lostwrite *lw)
{
	return __atomic_load_n(&lw->zap_done, __ATOMIC_ACQUIRE);
}

static long lw_thread_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		mmr_fail("getrusage: %s", strerror(errno));
	return ru.ru_minflt + ru.ru_majflt;
}

/*
 * Store round and round the range until the zap is done.  A store that
 * faults (its TLB entry gone, the PTE cleared) no longer writes through a
 * stale entry: it waits for the zap's page-table lock and maps the page
 * afresh, so the faults say how much of the race the writer sat out.
 */
static void lw_write(struct lostwrite *lw)
{
	unsigned long i = lw->first_page, stores = 0;
	unsigned long end = lw->hot_first + lw->hot;
	long faults = lw_thread_faults();

	while (!lw_zap_done(lw)) {
		lw_store(lw, i);
		stores++;
		if (++i == end)
			i = lw->hot_first;
	}
	lw->round_faults = lw_thread_faults() - faults;
	lw->writer_faults += lw->round_faults;
	lw->writer_stores += stores;
}

static void lw_zap(struct lostwrite *lw)
{
	if (lw->mode == LW_DONTNEED) {
		if (madvise(lw->map, lw->len, MADV_DONTNEED))
			mmr_fail("madvise(MADV_DONTNEED): %s", strerror(errno));
	} else {
		/* Replacing the mapping zaps the old one, like munmap(). */
		lw_map(lw, lw->map, MAP_FIXED);
	}
	__atomic_store_n(&lw->zap_done, 1, __ATOMIC_RELEASE);
}

static void lw_flush_once(struct lostwrite *lw)
{
	int ret;

	if (lw->flush == LW_FDATASYNC)
		ret = fdatasync(lw->fd);
	else
		ret = msync(lw->map, lw->len, MS_SYNC);
	if (ret)
		mmr_fail("%s: %s", lw_flushes[lw->flush], strerror(errno));
}

static void lw_flush(struct lostwrite *lw)
{
	while (!lw_zap_done(lw))
		lw_flush_once(lw);
	/* The zap may have ended inside a pass: give writeback a whole one. */
	lw_flush_once(lw);
}

static void (*const lw_race[LW_NR_THREADS])(struct lostwrite *) = {
	[LW_WRITER]	= lw_write,
	[LW_ZAPPER]	= lw_zap,
	[LW_FLUSHER]	= lw_flush,
};

static void *lw_worker(void *arg)
{
	struct lw_worker *w = arg;
	struct lostwrite *lw = w->lw;
	const struct mmr_cpus *cpus = &lw->opts->cpus;

	mmr_thread_setup(lw_threads[w->id], cpus->nr ? cpus->cpu[w->id] : -1);
	for (;;) {
		pthread_barrier_wait(&lw->start);
		if (lw->stop)
			return NULL;
		/* The writer prefaults on its own CPU: that is the TLB to go stale. */
		if (w->id == LW_WRITER) {
			lw_prefault(lw);
			if (lw->huge)
				lw->pmd_mapped = lw_pmd_mapped(lw);
		}
		pthread_barrier_wait(&lw->go);
		lw_race[w->id](lw);
		pthread_barrier_wait(&lw->done);
	}
}

/* Twice, since pages still locked or under writeback survive a pass. */
static void lw_drop_cache(struct lostwrite *lw)
{
	int pass, err;

	for (pass = 0; pass < 2; pass++) {
		err = posix_fadvise(lw->fd, 0, lw->len, POSIX_FADV_DONTNEED);
		if (err)
			mmr_fail("posix_fadvise: %s", strerror(err));
	}
	if (lw->drop_fd >= 0 && pwrite(lw->drop_fd, "1", 1, 0) != 1)
		mmr_fail("/proc/sys/vm/drop_caches: %s", strerror(errno));
}

static void lw_check(struct lostwrite *lw, unsigned long round,
		     struct stamp_tally *t)
{
	unsigned long i;
	ssize_t n;

	mmr_marker("round %lu check", round);
	/* Zapping moves the dirty bits of PTEs still mapped to their pages. */
	if (madvise(lw->map, lw->len, MADV_DONTNEED))
		mmr_fail("madvise(MADV_DONTNEED): %s", strerror(errno));
	if (fdatasync(lw->fd))
		mmr_fail("fdatasync: %s", strerror(errno));
	/*
	 * A lost write sits in a cached page the kernel thinks is clean: only
	 * reading from the disk shows it.
	 */
	lw_drop_cache(lw);

	for (i = 0; i < lw->opts->pages; i++) {
		n = pread(lw->fd, lw->buf, lw->pgsz, i * lw->pgsz);
		if (n != (ssize_t)lw->pgsz)
			mmr_fail("reading %s: %s", lw->path,
				 n < 0 ? strerror(errno) : "short read");
		mmr_check_page(t, round, lw->buf, lw->pgsz, i, lw->last_gen[i],
			       false);
	}
	/*
	 * --huge: pread() left the file in small folios, and a fault on a
	 * cached small folio maps it by PTEs.  Drop them, so that the next
	 * prefault finds nothing cached and filemap_fault()'s VM_HUGEPAGE
	 * readahead reads one PMD-sized folio, which do_set_pmd() maps.
	 */
	if (lw->huge)
		lw_drop_cache(lw);
}

static void lw_setup(struct lostwrite *lw, const struct mmr_opts *opts)
{
	size_t table_pages;

	lw->opts = opts;
	lw->pgsz = sysconf(_SC_PAGESIZE);
	lw->len = opts->pages * lw->pgsz;
	table_pages = lw_table_span(lw) / lw->pgsz;
	if (lw->hot > opts->pages)
		lw->hot = opts->pages;

	/* Arguments first: a bad one leaves no file behind. */
	if (lw->huge)
		lw_huge_check(lw);
	if (lw->map_offset >= table_pages)
		mmr_fail("--map-offset %lu: not below the %zu pages of a page table",
			 lw->map_offset, table_pages);
	if (lw->huge && lw->map_offset)
		mmr_fail("--map-offset %lu: --huge maps by PMDs, from a PMD boundary",
			 lw->map_offset);

	lw->fd = open(lw->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (lw->fd < 0)
		mmr_fail("%s: %s", lw->path, strerror(errno));
	if (ftruncate(lw->fd, lw->len))
		mmr_fail("%s: %s", lw->path, strerror(errno));
	lw->map = lw_map_at_offset(lw);
	lw_hot_range(lw);

	lw->drop_fd = -1;
	if (lw->drop_caches) {
		lw->drop_fd = open("/proc/sys/vm/drop_caches",
				   O_WRONLY | O_CLOEXEC);
		if (lw->drop_fd < 0)
			mmr_fail("--drop-caches: /proc/sys/vm/drop_caches: %s",
				 strerror(errno));
	}

	lw->last_gen = calloc(opts->pages, sizeof(*lw->last_gen));
	lw->buf = aligned_alloc(lw->pgsz, lw->pgsz);
	if (!lw->last_gen || !lw->buf)
		mmr_fail("out of memory");

	pthread_barrier_init(&lw->start, NULL, LW_NR_THREADS + 1);
	pthread_barrier_init(&lw->go, NULL, LW_NR_THREADS + 1);
	pthread_barrier_init(&lw->done, NULL, LW_NR_THREADS + 1);
}

int main(int argc, char **argv)
{
	static struct lostwrite lw = { .path = "./mmrace-lostwrite.dat",
				       .hot = 16 };
	struct lw_worker workers[LW_NR_THREADS];
	struct mmr_opts opts;
	struct mmr_run run;
	char pmd[24], not_pmd[24], stores[24], faults[24];
	uint64_t rnd;
	int i, err;

	mmr_parse(&lw_stressor, &opts, &lw, argc, argv);
	lw_setup(&lw, &opts);
	mmr_cpus_keep_off(&opts.cpus);
	for (i = 0; i < LW_NR_THREADS; i++) {
		workers[i] = (struct lw_worker){ .lw = &lw, .id = i };
		err = pthread_create(&workers[i].thread, NULL, lw_worker,
				     &workers[i]);
		if (err)
			mmr_fail("starting %s: %s", lw_threads[i], strerror(err));
	}

	rnd = opts.seed;
	mmr_run_begin(&run);
	while (mmr_run_more(&run, &opts)) {
		unsigned long round = run.rounds + 1;
		struct stamp_tally t = { 0 };

		lw.hot_first = lw.hot_lo + mmr_rand(&rnd) % lw.hot_slots;
		lw.first_page = lw.hot_first + mmr_rand(&rnd) % lw.hot;
		mmr_marker("round %lu start hot=%lu-%lu", round, lw.hot_first,
			   lw.hot_first + lw.hot - 1);
		lw.zap_done = 0;
		pthread_barrier_wait(&lw.start);
		pthread_barrier_wait(&lw.go);
		pthread_barrier_wait(&lw.done);
		mmr_marker("round %lu writer_faults=%lu", round, lw.round_faults);
		if (lw.huge) {
			mmr_marker("round %lu pmd_mapped=%d", round, lw.pmd_mapped);
			*(lw.pmd_mapped ? &lw.pmd_rounds : &lw.not_pmd_rounds) += 1;
		}
		lw_check(&lw, round, &t);
		mmr_run_round(&run, &t);
	}
	lw.stop = true;
	pthread_barrier_wait(&lw.start);
	for (i = 0; i < LW_NR_THREADS; i++)
		pthread_join(workers[i].thread, NULL);

	snprintf(stores, sizeof(stores), "%lu", lw.writer_stores);
	snprintf(faults, sizeof(faults), "%lu", lw.writer_faults);
	snprintf(pmd, sizeof(pmd), "%lu", lw.pmd_rounds);
	snprintf(not_pmd, sizeof(not_pmd), "%lu", lw.not_pmd_rounds);
	return mmr_run_report(&run, &lw_stressor, &opts,
			      (const struct mmr_field[]){
				      MMR_FIELD("mode", lw_modes[lw.mode]),
				      MMR_FIELD("flush", lw_flushes[lw.flush]),
				      MMR_FIELD_RAW("huge", lw.huge ? "true" : "false"),
				      MMR_FIELD_RAW("pmd_mapped_rounds", pmd),
				      MMR_FIELD_RAW("not_pmd_mapped_rounds", not_pmd),
				      MMR_FIELD_RAW("writer_stores", stores),
				      MMR_FIELD_RAW("writer_faults", faults),
				      MMR_FIELD_END,
			      });
}
