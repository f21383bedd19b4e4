// SPDX-License-Identifier: GPL-2.0
/*
 * mmrace-migrate: race R4, migration of a THP that is in the swap cache
 * (memory offline racing reclaim and swap-in).
 *
 * Reclaim adds a THP to the swap cache whole (one xarray slot per subpage),
 * splits its PMD into swap PTEs and writes it out.  A swap-in that holds a
 * reference at that moment makes __remove_mapping() fail, so the folio goes
 * back to the LRU still in the swap cache, now with a subpage mapped.
 * Offlining the memory block it sits in migrates it wherever it is mapped:
 * offline_pages() -> do_migrate_range() -> migrate_pages().  Before v6.7
 * (fc346d0a70a1, 6.1.71) folio_migrate_mapping() then stored the new folio
 * in the first slot only; the other slots name the freed source folio and
 * the next swap-in of those subpages spins under rcu_read_lock() in
 * mapping_get_entry(): an RCU stall, or, if the pages were reused, a
 * subpage of somebody else's data.
 *
 * The region is PMD THPs, every 4 KiB subpage stamped afresh each round.
 * A round has three phases: mmr-pageout MADV_PAGEOUTs every THP once while
 * the mmr-swapin threads fault random subpages of the THP being paged out
 * (the references that keep THPs in the swap cache); all wait --hold ms; then the swap-in threads
 * read every subpage back and check it (the lookups of the other slots).
 * In the hold mmr-offline takes offline, and online again, the memory
 * blocks that held the round's THPs when they were faulted (their PFNs
 * from /proc/self/pagemap; ZONE_MOVABLE blocks, from movablecore= on the
 * command line), which migrates what stayed in the swap cache.  The
 * module's swapcache_slots oracle counts the large swap-cache migrations
 * and the slots they left stale.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mthp.h"
#include "rand.h"
#include "swap.h"

#define MG_MAX_SWAPIN	(MMR_MAX_THREADS - 2)
#define MG_MAX_BLOCKS	256
#define MG_MAX_THPS	64
#define MG_MAX_BALLAST	128		/* THPs: 256 MiB on x86 */
#define MG_BUSY_TRIES	3
#define MG_MEMORY_DIR	"/sys/devices/system/memory"
#define MG_MAIN_ID	0

/* In --cpus order; the offliner runs unpinned beside the main thread. */
static const char *const mg_threads[] = {
	"mmr-pageout", "mmr-swapin (one per --threads)", NULL
};

/* What a swap-in thread is called while it reads the region back. */
#define MG_READBACK	"mmr-readback"

struct migrate {
	/* options */
	unsigned long nr_swapin;
	unsigned long sweeps;
	const char *swap_arg;
	bool no_offline;

	const struct mmr_opts *opts;
	struct mmr_swap swap;
	size_t pgsz, len, thp;
	char *map;
	uint64_t gen;			/* this round's generation */
	struct stamp_tally tally[MG_MAX_SWAPIN];
	unsigned long hold_ms;
	int paged_out;			/* this round's MADV_PAGEOUT pass is done */
	unsigned long target;		/* the THP it is paging out */
	bool stop;
	pthread_barrier_t start, done;

	/*
	 * Online movable memory blocks, changed by the offliner only; the
	 * main thread's parking reads them unlocked (a stale answer misplaces
	 * one THP for one round).  And the blocks of this round's THPs.
	 */
	unsigned int nr_blocks;
	int block[MG_MAX_BLOCKS];
	unsigned int busy[MG_MAX_BLOCKS];	/* offline EBUSY in a row */
	unsigned long block_bytes;
	int pagemap;			/* /proc/self/pagemap */
	int thp_block[MG_MAX_THPS];	/* -1: not known */
	unsigned long hold_seq;		/* holds begun */
	int offline_block;		/* offline now, -1: none */
	pthread_t offliner;
	bool offliner_started;

	/* over the run */
	unsigned long pageouts;
	unsigned long swapin_reads;
	unsigned long offlines, offline_busy;
	unsigned long refused;		/* blocks dropped: EINVAL, or EBUSY thrice */
	unsigned long thps_unmovable;	/* THPs found outside the movable set */
	unsigned long ballast;		/* THPs parked out of the region */
	unsigned long thp_rounds;	/* rounds that began with every THP */
};

struct mg_worker {
	struct migrate *mg;
	unsigned int id;		/* 0: pageout, 1..: swap-in */
	pthread_t thread;
};

#define MG_OPT(_name, _type, _field, _metavar, _help, ...)		\
	{ .name = _name, .type = _type,					\
	  .off = offsetof(struct migrate, _field),			\
	  .metavar = _metavar, .help = _help, __VA_ARGS__ }

static const struct mmr_option mg_options[] = {
	MG_OPT("threads", MMR_OPT_ULONG, nr_swapin, "N",
	       "Number of swap-in threads (default 2).", .min = 1,
	       .max = MG_MAX_SWAPIN),
	MG_OPT("sweeps", MMR_OPT_ULONG, sweeps, "N",
	       "Passes of each swap-in thread over the region per round,\n"
	       "after the hold (default 2).", .min = 1, .max = 1000000),
	MG_OPT("hold", MMR_OPT_ULONG, hold_ms, "MS",
	       "Milliseconds between the round's MADV_PAGEOUT pass and the\n"
	       "swap-in of the rest of the region, in which the offliner\n"
	       "migrates what stayed in the swap cache (default 300).",
	       .min = 0, .max = 60000),
	MG_OPT("swap", MMR_OPT_STRING, swap_arg, "none|off|zram:SIZE|brd:SIZE",
	       "none: use the swap that is on (default).  zram:SIZE or\n"
	       "brd:SIZE: swap on a zram device or /dev/ram1, with an area\n"
	       "of SIZE, taken down at exit.  A THP is swapped out whole\n"
	       "only with a free 2 MiB swap cluster."),
	MG_OPT("no-offline", MMR_OPT_FLAG, no_offline, NULL,
	       "Do not take memory blocks offline: the same reclaim and\n"
	       "swap-in without migration, a baseline."),
	{ NULL }
};

static int mg_nr_threads(const void *ctx)
{
	return ((const struct migrate *)ctx)->nr_swapin + 1;
}

static const struct mmr_stressor mg_stressor = {
	.name		= "migrate",
	.summary	= "migrate swap-cache THPs by memory offline (race R4)",
	.description	=
		"A region of PMD-sized THPs, every 4 KiB subpage stamped afresh\n"
		"each round, is pushed into the swap cache and read back while it\n"
		"is migrated.  Each round mmr-pageout MADV_PAGEOUTs every THP once\n"
		"while the mmr-swapin threads fault random subpages of the THP it\n"
		"is paging out: a swap-in that holds a THP while reclaim tries to\n"
		"free it leaves it in the swap cache and on the LRU.  After --hold\n"
		"ms the swap-in threads, renamed mmr-readback, read every subpage\n"
		"back in an order of their own and check it.  In the hold\n"
		"mmr-offline takes offline and online again the movable memory\n"
		"blocks that held the round's THPs (from /proc/self/pagemap), which\n"
		"migrates every folio in them.  Kernels before 6.7 (and 6.1 before\n"
		"6.1.71) moved such a folio into only the first of its swap-cache\n"
		"slots; the next swap-in of another subpage spins on the freed\n"
		"folio (an RCU stall) or maps a reused page.  The module's\n"
		"swapcache_slots oracle counts those migrations and their stale\n"
		"slots.\n"
		"\n"
		"After each round every subpage is checked: an older round's stamp\n"
		"is a lost_write, a zero page zero_fill, another subpage's stamp\n"
		"foreign.  Needs root, a kernel with memory hot-remove, movable\n"
		"memory (boot with movablecore=, e.g. movablecore=50%) and swap\n"
		"(--swap or one that is on); THP must be enabled (always or\n"
		"madvise: the region is MADV_HUGEPAGE).",
	.options	= mg_options,
	.threads	= mg_threads,
	.nr_threads	= mg_nr_threads,
	.defaults	= {
		.rounds		= 1000000,
		.duration	= 10,
		.pages		= 2048,
	},
};

static struct migrate *mg_self;	/* for the exit handler */

static char *mg_page(const struct migrate *mg, unsigned long i)
{
	return mg->map + i * mg->pgsz;
}

static unsigned long mg_nr_thps(const struct migrate *mg)
{
	return mg->len / mg->thp;
}

/* ---- memory blocks ----------------------------------------------------- */

static int mg_block_state(int block, const char *state)
{
	char path[96];

	snprintf(path, sizeof(path), MG_MEMORY_DIR "/memory%d/state", block);
	return mmr_write_file(path, state);
}

/* Online memory blocks in ZONE_MOVABLE: the ones offline can always empty. */
static void mg_find_blocks(struct migrate *mg)
{
	char path[300], buf[64];
	struct dirent *de;
	DIR *dir;
	int n;

	dir = opendir(MG_MEMORY_DIR);
	if (!dir)
		mmr_fail("%s: %s (memory hot-remove: CONFIG_MEMORY_HOTREMOVE)",
			 MG_MEMORY_DIR, strerror(errno));
	while ((de = readdir(dir)) && mg->nr_blocks < MG_MAX_BLOCKS) {
		if (sscanf(de->d_name, "memory%d", &n) != 1)
			continue;
		snprintf(path, sizeof(path), MG_MEMORY_DIR "/%s/state", de->d_name);
		if (mmr_read_file(path, buf, sizeof(buf)) <= 0 ||
		    strcmp(buf, "online"))
			continue;
		snprintf(path, sizeof(path), MG_MEMORY_DIR "/%s/valid_zones",
			 de->d_name);
		if (mmr_read_file(path, buf, sizeof(buf)) <= 0 ||
		    strcmp(buf, "Movable"))
			continue;
		mg->block[mg->nr_blocks++] = n;
	}
	closedir(dir);
	if (!mg->nr_blocks)
		mmr_fail("no online movable memory blocks in %s: boot with movablecore= (e.g. movablecore=50%%)",
			 MG_MEMORY_DIR);
	if (mmr_read_file(MG_MEMORY_DIR "/block_size_bytes", buf, sizeof(buf)) <= 0 ||
	    !(mg->block_bytes = strtoul(buf, NULL, 16)))
		mmr_fail("%s/block_size_bytes: cannot read it", MG_MEMORY_DIR);
	mg->pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (mg->pagemap < 0)
		mmr_fail("/proc/self/pagemap: %s", strerror(errno));
}

/* The memory block of the page at @addr, from /proc/self/pagemap; -1 if none. */
static int mg_block_of(const struct migrate *mg, const void *addr)
{
	uint64_t ent;
	off_t off = (uintptr_t)addr / mg->pgsz * sizeof(ent);

	if (pread(mg->pagemap, &ent, sizeof(ent), off) != sizeof(ent) ||
	    !(ent & (1ULL << 63)) || !(ent & ((1ULL << 55) - 1)))
		return -1;	/* not present, or no PFN (not root) */
	return (ent & ((1ULL << 55) - 1)) * mg->pgsz / mg->block_bytes;
}

static bool mg_movable(const struct migrate *mg, int block)
{
	unsigned int i;

	for (i = 0; i < mg->nr_blocks; i++)
		if (mg->block[i] == block)
			return true;
	return false;
}

/* Drop block @b from the movable set: the region's THPs are parked off it. */
static void mg_drop_block(struct migrate *mg, int b)
{
	unsigned int i;

	for (i = 0; i < mg->nr_blocks; i++)
		if (mg->block[i] == b) {
			mg->block[i] = mg->block[--mg->nr_blocks];
			mg->busy[i] = mg->busy[mg->nr_blocks];
		}
}

/*
 * Offline one block (migrating what is in it) and online it again.  A
 * block offline refuses outright (EINVAL: it spans a hole or two zones)
 * leaves the movable set at once; one it cannot empty (EBUSY: an
 * unmovable page in it) after MG_BUSY_TRIES rounds in a row.
 */
static void mg_cycle(struct migrate *mg, int b)
{
	unsigned int i;
	int err;

	for (i = 0; i < mg->nr_blocks && mg->block[i] != b; i++)
		;
	err = mg_block_state(b, "offline");
	if (err == -EINVAL) {
		mg_drop_block(mg, b);
		mg->refused++;
		return;
	}
	if (err == -EBUSY || err == -EAGAIN || err == -EINTR) {
		mg->offline_busy++;
		if (i < mg->nr_blocks && ++mg->busy[i] == MG_BUSY_TRIES) {
			mg_drop_block(mg, b);
			mg->refused++;
		}
		return;
	}
	if (err)
		mmr_fail("memory%d: offline: %s", b, strerror(-err));
	if (i < mg->nr_blocks)
		mg->busy[i] = 0;
	__atomic_store_n(&mg->offline_block, b, __ATOMIC_RELEASE);
	err = mg_block_state(b, "online_movable");
	if (err)
		mmr_fail("memory%d: online_movable: %s", b, strerror(-err));
	__atomic_store_n(&mg->offline_block, -1, __ATOMIC_RELEASE);
	mg->offlines++;
}

/*
 * Each hold (phase 2), take offline the blocks that held this round's THPs
 * when they were faulted: what stayed in the swap cache is migrated then.
 * THPs outside the movable blocks are counted, not chased.
 */
static void *mg_offline(void *arg)
{
	struct migrate *mg = arg;
	unsigned long seen = 0, t, u;
	int b;

	mmr_thread_setup("mmr-offline", -1);
	while (!__atomic_load_n(&mg->stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&mg->hold_seq, __ATOMIC_ACQUIRE) == seen) {
			usleep(1000);
			continue;
		}
		seen = __atomic_load_n(&mg->hold_seq, __ATOMIC_ACQUIRE);
		for (t = 0; t < mg_nr_thps(mg); t++) {
			b = mg->thp_block[t];
			for (u = 0; u < t && mg->thp_block[u] != b; u++)
				;
			if (u < t)
				continue;	/* that block is done already */
			if (b < 0 || !mg_movable(mg, b)) {
				mg->thps_unmovable++;
				continue;
			}
			mg_cycle(mg, b);
		}
	}
	return NULL;
}

/* ---- the racing threads ------------------------------------------------ */

/*
 * Phase 1, reclaim side: every THP into the swap cache, once, the one
 * being paged out published for the swap-in threads to aim at.
 */
static void mg_pageout(struct migrate *mg)
{
	unsigned long t;

	for (t = 0; t < mg_nr_thps(mg); t++) {
		__atomic_store_n(&mg->target, t, __ATOMIC_RELEASE);
		if (madvise(mg->map + t * mg->thp, mg->thp, MADV_PAGEOUT))
			mmr_fail("madvise(MADV_PAGEOUT): %s", strerror(errno));
		mg->pageouts++;
	}
	__atomic_store_n(&mg->paged_out, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&mg->hold_seq, 1, __ATOMIC_RELEASE);
}

static void mg_read(struct migrate *mg, unsigned int w, unsigned long i)
{
	mmr_check_page(&mg->tally[w - 1], mg->gen, mg_page(mg, i), mg->pgsz, i,
		       mg->gen, false);
	__atomic_fetch_add(&mg->swapin_reads, 1, __ATOMIC_RELAXED);
}

/*
 * Phase 1, swap-in side: while reclaim runs, fault one random subpage
 * after another of the THP it is paging out: a fault that finds the THP
 * in the swap cache holds it there.  Phase 2: wait --hold ms with the rest still swapped
 * out, for the offliner to migrate such THPs.  Phase 3, renamed
 * mmr-readback so that a comm filter can leave it alone: read every
 * subpage back, in an order of our own (an odd stride from a random
 * start), and check it: these lookups are the ones that find a stale slot.
 */
static void mg_swapin(struct migrate *mg, unsigned int w, uint64_t *rnd)
{
	unsigned long pages = mg->opts->pages, sub = mg->thp / mg->pgsz;
	unsigned long s, k, i, step;
	struct timespec hold = {
		.tv_sec = mg->hold_ms / 1000,
		.tv_nsec = (mg->hold_ms % 1000) * 1000000,
	};

	mmr_thread_rename("mmr-swapin");
	while (!__atomic_load_n(&mg->paged_out, __ATOMIC_ACQUIRE))
		mg_read(mg, w, __atomic_load_n(&mg->target, __ATOMIC_ACQUIRE) * sub +
			mmr_rand(rnd) % sub);
	nanosleep(&hold, NULL);
	mmr_thread_rename(MG_READBACK);
	for (s = 0; s < mg->sweeps; s++) {
		step = (mmr_rand(rnd) % pages) | 1;
		i = mmr_rand(rnd) % pages;
		for (k = 0; k < pages; k++, i = (i + step) % pages)
			mg_read(mg, w, i);
	}
}

static void *mg_thread(void *arg)
{
	struct mg_worker *wk = arg;
	struct migrate *mg = wk->mg;
	uint64_t rnd = mg->opts->seed + wk->id;

	mmr_thread_setup(wk->id ? "mmr-swapin" : "mmr-pageout",
			 mg->opts->cpus.nr ? mg->opts->cpus.cpu[wk->id] : -1);
	for (;;) {
		pthread_barrier_wait(&mg->start);
		if (mg->stop)
			return NULL;
		if (wk->id)
			mg_swapin(mg, wk->id, &rnd);
		else
			mg_pageout(mg);
		pthread_barrier_wait(&mg->done);
	}
}

/* ---- set-up and rounds ------------------------------------------------- */

/*
 * The region, mapped afresh: a new mapping over the old one frees its page
 * tables too (MADV_DONTNEED would leave the PTE tables of last round's
 * split PMDs, and a fault under a PTE table never gets a THP).
 */
static void mg_map(struct migrate *mg)
{
	if (mmap(mg->map, mg->len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		mmr_fail("mmap: %s", strerror(errno));
	if (madvise(mg->map, mg->len, MADV_HUGEPAGE))
		mmr_fail("madvise(MADV_HUGEPAGE): %s", strerror(errno));
}

/*
 * Ballast: the allocator may hand out THPs from a block offline refuses
 * (one that spans two zones where movablecore= put the start of
 * ZONE_MOVABLE, or holds firmware pages).  Such a THP is moved out of the
 * region with mremap() and kept for the run, so that the allocator's next
 * THPs come from elsewhere; true if any was moved.
 */
static bool mg_park(struct migrate *mg)
{
	bool moved = false;
	unsigned long t;
	char *dst;
	int b;

	for (t = 0; t < mg_nr_thps(mg) && mg->ballast < MG_MAX_BALLAST; t++) {
		b = mg->thp_block[t];
		if (b >= 0 && mg_movable(mg, b))
			continue;
		dst = mmr_reserve_aligned(mg->thp, mg->thp, mg->pgsz);
		if (mremap(mg->map + t * mg->thp, mg->thp, mg->thp,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED)
			mmr_fail("mremap: %s", strerror(errno));
		mg->ballast++;
		moved = true;
	}
	return moved;
}

/* New THPs, every subpage stamped with this round's generation. */
static void mg_refault(struct migrate *mg)
{
	unsigned long i, kb;

	mg->gen++;
	do {
		mg_map(mg);
		for (i = 0; i < mg->opts->pages; i++)
			stamp_write(mg_page(mg, i), mg->pgsz, i, mg->gen,
				    MG_MAIN_ID, false);
		for (i = 0; i < mg_nr_thps(mg) && !mg->no_offline; i++)
			mg->thp_block[i] = mg_block_of(mg, mg->map + i * mg->thp);
	} while (!mg->no_offline && mg_park(mg));
	if (mmr_smaps_kb(mg->map, "AnonHugePages", &kb) &&
	    kb * 1024 == mg->len)
		mg->thp_rounds++;
}

/* At exit, also after a failure: every block we took offline comes back. */
static void mg_teardown(void)
{
	struct migrate *mg = mg_self;
	int b;

	if (!mg || mg->no_offline)
		return;
	__atomic_store_n(&mg->stop, 1, __ATOMIC_RELEASE);
	if (mg->offliner_started && !pthread_equal(pthread_self(), mg->offliner))
		pthread_join(mg->offliner, NULL);
	mg->offliner_started = false;
	b = __atomic_load_n(&mg->offline_block, __ATOMIC_ACQUIRE);
	if (b >= 0 && mg_block_state(b, "online_movable") &&
	    mg_block_state(b, "online"))
		mmr_warn("memory%d: could not bring it back online", b);
}

static void mg_setup(struct migrate *mg, const struct mmr_opts *opts)
{
	mg->opts = opts;
	mg->pgsz = sysconf(_SC_PAGESIZE);
	mg->thp = mmr_thp_pmd_size();
	if (!mg->thp)
		mmr_fail("%s/hpage_pmd_size: no PMD THP on this kernel (CONFIG_TRANSPARENT_HUGEPAGE)",
			 MMR_THP_DIR);
	if (opts->pages % (mg->thp / mg->pgsz))
		mmr_fail("--pages: %lu is not a multiple of %zu (one THP)",
			 opts->pages, mg->thp / mg->pgsz);
	mmr_swap_parse(&mg->swap, mg->swap_arg);
	mg->len = opts->pages * mg->pgsz;
	mg->offline_block = -1;

	/* Whatever can be checked without changing anything, first. */
	if (!mg->no_offline)
		mg_find_blocks(mg);
	if (mg_nr_thps(mg) > MG_MAX_THPS)
		mmr_fail("--pages: %lu pages are more than %d THPs", opts->pages,
			 MG_MAX_THPS);
	mmr_swap_setup(&mg->swap, opts->seed);

	mg->map = mmr_reserve_aligned(mg->len, mg->thp, mg->pgsz);

	pthread_barrier_init(&mg->start, NULL, mg->nr_swapin + 2);
	pthread_barrier_init(&mg->done, NULL, mg->nr_swapin + 2);
	mg_self = mg;
	atexit(mg_teardown);
	if (!mg->no_offline) {
		int err = pthread_create(&mg->offliner, NULL, mg_offline, mg);

		if (err)
			mmr_fail("starting mmr-offline: %s", strerror(err));
		mg->offliner_started = true;
	}
}

int main(int argc, char **argv)
{
	static struct migrate mg = { .nr_swapin = 2, .sweeps = 2, .hold_ms = 300,
				     .swap_arg = "none" };
	static struct mg_worker workers[MMR_MAX_THREADS];
	char threads[24], sweeps[24], hold[24], pageouts[24], reads[24], offl[24];
	char busy[24], blocks[24], refused[24], unmov[24], ballast[24], thp[24];
	char in[24], out[24];
	struct mmr_swap_io io0, io1;
	struct mmr_opts opts;
	struct mmr_run run;
	unsigned int w, nr;
	int err;

	mmr_parse(&mg_stressor, &opts, &mg, argc, argv);
	mg_setup(&mg, &opts);
	mmr_cpus_keep_off(&opts.cpus);

	nr = mg.nr_swapin + 1;
	for (w = 0; w < nr; w++) {
		workers[w] = (struct mg_worker){ .mg = &mg, .id = w };
		err = pthread_create(&workers[w].thread, NULL, mg_thread,
				     &workers[w]);
		if (err)
			mmr_fail("starting %s: %s", w ? "mmr-swapin" :
				 "mmr-pageout", strerror(err));
	}

	mmr_swap_io(&io0);
	mmr_run_begin(&run);
	while (mmr_run_more(&run, &opts)) {
		struct stamp_tally t = { 0 };

		mg_refault(&mg);
		mg.paged_out = 0;
		memset(mg.tally, 0, sizeof(mg.tally));
		mmr_marker("round %lu start", run.rounds + 1);
		pthread_barrier_wait(&mg.start);
		pthread_barrier_wait(&mg.done);
		for (w = 0; w < mg.nr_swapin; w++)
			stamp_tally_merge(&t, &mg.tally[w]);
		mmr_run_round(&run, &t);
	}
	mg.stop = true;
	pthread_barrier_wait(&mg.start);
	for (w = 0; w < nr; w++)
		pthread_join(workers[w].thread, NULL);
	mg_teardown();
	mmr_swap_io(&io1);
	munmap(mg.map, mg.len);
	mmr_swap_teardown();

	snprintf(threads, sizeof(threads), "%lu", mg.nr_swapin);
	snprintf(sweeps, sizeof(sweeps), "%lu", mg.sweeps);
	snprintf(hold, sizeof(hold), "%lu", mg.hold_ms);
	snprintf(pageouts, sizeof(pageouts), "%lu", mg.pageouts);
	snprintf(reads, sizeof(reads), "%lu", mg.swapin_reads);
	snprintf(offl, sizeof(offl), "%lu", mg.offlines);
	snprintf(busy, sizeof(busy), "%lu", mg.offline_busy);
	snprintf(blocks, sizeof(blocks), "%u", mg.nr_blocks);
	snprintf(refused, sizeof(refused), "%lu", mg.refused);
	snprintf(unmov, sizeof(unmov), "%lu", mg.thps_unmovable);
	snprintf(ballast, sizeof(ballast), "%lu", mg.ballast);
	snprintf(thp, sizeof(thp), "%lu", mg.thp_rounds);
	mmr_swap_io_delta(in, sizeof(in), io1.in, io0.in, io0.ok && io1.ok);
	mmr_swap_io_delta(out, sizeof(out), io1.out, io0.out, io0.ok && io1.ok);
	return mmr_run_report(&run, &mg_stressor, &opts,
			      (const struct mmr_field[]){
				MMR_FIELD("swap", mg.swap.spec),
				mmr_swap_dev_field(&mg.swap),
				MMR_FIELD_RAW("threads", threads),
				MMR_FIELD_RAW("sweeps", sweeps),
				MMR_FIELD_RAW("hold_ms", hold),
				MMR_FIELD_RAW("movable_blocks", blocks),
				MMR_FIELD_RAW("blocks_refused", refused),
				MMR_FIELD_RAW("thps_unmovable", unmov),
				MMR_FIELD_RAW("ballast_thps", ballast),
				MMR_FIELD_RAW("offlines", offl),
				MMR_FIELD_RAW("offline_busy", busy),
				MMR_FIELD_RAW("pageouts", pageouts),
				MMR_FIELD_RAW("swapin_reads", reads),
				MMR_FIELD_RAW("thp_rounds", thp),
				MMR_FIELD_RAW("pswpin", in),
				MMR_FIELD_RAW("pswpout", out),
				MMR_FIELD_END,
			      });
}
