// SPDX-License-Identifier: GPL-2.0
/*
 * mmrace-folio: race R3, reclaim of a large anonymous folio racing the
 * PTE updates of mprotect() and concurrent swap-in (6.8 and later).
 *
 * Before 6.10 (73bc32875ee9) reclaim unmapped a large folio without the
 * PTL at its first PTE: when mprotect() had just cleared that PTE for its
 * break-before-make update, the walk began mid-folio and left the folio
 * partly mapped; MADV_PAGEOUT could then split a folio reclaim was
 * unmapping (3931b871c493).  The partial unmap alone loses no data, so the
 * per-size mTHP counters are reported beside the page checks; with a
 * large-folio swap-in that skips the swap cache (6.12 on zram) stale or
 * zero data is the end result.
 *
 * The region is one VMA of multi-size THPs (--mthp, enabled here), every
 * 4 KiB subpage stamped.  Faulter threads sweep it, renewing the stamps of
 * the folios they own this round and pushing each folio out again with
 * MADV_PAGEOUT; a thread toggles the whole region read-only and back with
 * mprotect(); a separate process writes the memory.reclaim of the cgroup
 * the stressor moved into, so that reclaim runs outside our mmap_lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "mthp.h"
#include "rand.h"
#include "swap.h"

#define FO_MAX_FAULTERS	(MMR_MAX_THREADS - 1)
#define FO_MAIN_ID	0	/* writer id of the main thread; faulters are 1.. */

/* The reclaimer process runs where the main thread does, not pinned. */
static const char *const fo_threads[] = {
	"mmr-fault (one per --threads)", "mmr-mprotect", NULL
};

/* Shared with the reclaimer process. */
struct fo_shared {
	int stop;
	unsigned long writes;		/* to memory.reclaim */
	unsigned long eagain;		/* ... that reclaimed less than asked */
};

struct folio {
	/* options */
	struct mmr_mthp mthp;		/* .size: the option, in bytes */
	unsigned long nr_faulters;
	unsigned long sweeps;
	const char *swap_arg;
	const char *cgroup;
	unsigned long memory_max;	/* 0: leave memory.max alone */
	unsigned long reclaim;		/* per memory.reclaim write; 0: region */
	bool pageout;
	unsigned long gap_us;		/* between mprotect() pairs */

	const struct mmr_opts *opts;
	struct mmr_swap swap;
	size_t pgsz, len;
	unsigned long nr_folios;
	char *map;
	uint64_t *gen;			/* per subpage: last generation written */
	struct stamp_tally tally[FO_MAX_FAULTERS];	/* this round's finds */
	unsigned long round;
	unsigned long first_folio;	/* where this round's sweeps start */
	double deadline;		/* end of the run's --duration */
	int faulters_left;
	int race_done;
	int writable;			/* the region is PROT_READ|PROT_WRITE */
	unsigned long ro_phase;		/* read-only phases begun */
	unsigned long toggles;		/* mprotect() pairs */
	unsigned long retries;		/* writes redone after SIGSEGV */
	bool stop;
	pthread_barrier_t start, done;

	/* set up, to be undone by fo_teardown() */
	pid_t owner;
	char cg_parent[PATH_MAX];
	char cg_home[PATH_MAX];		/* the cgroup we came from */
	bool cg_made, cg_joined;
	bool cg_enabled;		/* we enabled memory in the parent */
	char old_max[32];		/* memory.max before, "" if untouched */
	pid_t reclaimer;
	struct fo_shared *sh;
};

struct fo_worker {
	struct folio *fo;
	unsigned int id;
	pthread_t thread;
	void (*fn)(struct folio *fo, unsigned int id);
};

#define FO_OPT(_name, _type, _field, _metavar, _help, ...)		\
	{ .name = _name, .type = _type,					\
	  .off = offsetof(struct folio, _field),			\
	  .metavar = _metavar, .help = _help, __VA_ARGS__ }

static const struct mmr_option fo_options[] = {
	FO_OPT("mthp", MMR_OPT_SIZE, mthp.size, "SIZE",
	       "Folio size, a power of two from 8K to 1M (default 64K).  Its\n"
	       "hugepages-<size>/enabled is set to always for the run.",
	       .min = MMR_MTHP_MIN, .max = MMR_MTHP_MAX),
	FO_OPT("threads", MMR_OPT_ULONG, nr_faulters, "N",
	       "Number of faulter threads (default 2).", .min = 1,
	       .max = FO_MAX_FAULTERS),
	FO_OPT("sweeps", MMR_OPT_ULONG, sweeps, "N",
	       "Visits of each faulter to each folio per round (default 4).",
	       .min = 1, .max = 1000000),
	FO_OPT("swap", MMR_OPT_STRING, swap_arg, "none|off|zram:SIZE|brd:SIZE",
	       "none: use the swap that is on (default).  zram:SIZE or\n"
	       "brd:SIZE: swap on a zram device or /dev/ram1, with an area\n"
	       "of SIZE, taken down at exit (e.g. zram:128M).  Large folios\n"
	       "are swapped out whole only with free swap clusters to spare.\n"
	       "off: no swap at all, a check of the stressor itself."),
	FO_OPT("cgroup", MMR_OPT_STRING, cgroup, "PATH",
	       "The cgroup v2 directory to run in, created if needed and\n"
	       "removed at exit if created (default /sys/fs/cgroup/mmrace).\n"
	       "Its parent gets the memory controller enabled for the run."),
	FO_OPT("memory-max", MMR_OPT_SIZE, memory_max, "SIZE",
	       "Also set the cgroup's memory.max to SIZE for the run.",
	       .min = 1 << 20, .max = 1UL << 40),
	FO_OPT("reclaim", MMR_OPT_SIZE, reclaim, "SIZE",
	       "Amount asked of each memory.reclaim write (default: one\n"
	       "folio; small requests return soon and come often).",
	       .min = 4 << 10, .max = 1UL << 40),
	FO_OPT("pageout", MMR_OPT_FLAG, pageout, NULL,
	       "Faulters also MADV_PAGEOUT every folio they visit.  By\n"
	       "default only the reclaimer and the end of each round swap\n"
	       "out, which leaves more mapped folios to the reclaimer."),
	FO_OPT("mprotect-gap", MMR_OPT_ULONG, gap_us, "US",
	       "Spin US microseconds after each read-only/writable pair of\n"
	       "mprotect() calls, to let faults in (default 0: back to\n"
	       "back, which starves faults of the mmap_lock).", .min = 0,
	       .max = 1000000),
	{ NULL }
};

static int fo_nr_threads(const void *ctx)
{
	return ((const struct folio *)ctx)->nr_faulters + 1;
}

static const struct mmr_stressor fo_stressor = {
	.name		= "folio",
	.summary	= "race large-folio reclaim, mprotect and swap-in (race R3)",
	.description	=
		"A region of multi-size THPs (--mthp), one VMA, every 4 KiB\n"
		"subpage stamped, is swapped out and in again and again: faulter\n"
		"threads sweep it, renewing the stamps of the folios they own this\n"
		"round; a separate process writes memory.reclaim of the cgroup the\n"
		"stressor runs in, and each round ends with MADV_PAGEOUT of the\n"
		"region; a thread toggles the whole region between PROT_READ and\n"
		"PROT_READ|PROT_WRITE with mprotect().  Kernels before 6.10 could\n"
		"leave a large folio partly unmapped by reclaim racing mprotect's\n"
		"PTE updates; the mTHP counters of the size before and after the\n"
		"run are in the report.\n"
		"\n"
		"After each round every subpage is checked: older data is a\n"
		"lost_write, a zero page zero_fill, another subpage's stamp\n"
		"foreign.  Threads are named mmr-fault and mmr-mprotect, the\n"
		"reclaimer mmr-reclaim; it runs on the CPUs left to the main\n"
		"thread, idle while the others race.  Needs root, cgroup v2 and\n"
		"Linux 6.8 or later; boot with zswap.enabled=0 for large-folio\n"
		"swap-in.",
	.options	= fo_options,
	.threads	= fo_threads,
	.nr_threads	= fo_nr_threads,
	.defaults	= {
		.rounds		= 1000000,
		.duration	= 10,
		.pages		= 256,
	},
};

/* For fo_teardown() at exit and the SIGSEGV handler. */
static struct folio *fo_self;

static char *fo_page(const struct folio *fo, unsigned long i)
{
	return fo->map + i * fo->pgsz;
}

static int fo_cpu(const struct folio *fo, unsigned int t)
{
	return fo->opts->cpus.nr ? fo->opts->cpus.cpu[t] : -1;
}

static void fo_pageout(void *addr, size_t len)
{
	if (madvise(addr, len, MADV_PAGEOUT))
		mmr_fail("madvise(MADV_PAGEOUT): %s", strerror(errno));
}

/* ---- writes that mprotect() may interrupt ------------------------------ */

static __thread sigjmp_buf *fo_segv_jmp;

static void fo_segv(int sig, siginfo_t *si, void *uc)
{
	struct folio *fo = fo_self;
	char *addr = si->si_addr;

	(void)uc;
	if (fo_segv_jmp && addr >= fo->map && addr < fo->map + fo->len)
		siglongjmp(*fo_segv_jmp, 1);
	/* Not ours: fault again without the handler, and dump. */
	signal(sig, SIG_DFL);
}

/*
 * Stamp subpage @i.  When the region turns read-only under the write, it
 * is redone from the start once the region is writable again, so that
 * the subpage ends up holding one whole stamp.
 */
static void fo_write(struct folio *fo, unsigned long i, uint64_t gen,
		     uint32_t writer)
{
	volatile unsigned long seen = ~0UL;
	unsigned long phase;
	sigjmp_buf env;

	while (sigsetjmp(env, 1)) {
		fo_segv_jmp = NULL;
		/* Twice in one read-only phase: it was writable, not us. */
		phase = __atomic_load_n(&fo->ro_phase, __ATOMIC_ACQUIRE);
		if (phase == seen)
			mmr_fail("SIGSEGV writing subpage %lu of the writable region",
				 i);
		seen = phase;
		__atomic_fetch_add(&fo->retries, 1, __ATOMIC_RELAXED);
		while (!__atomic_load_n(&fo->writable, __ATOMIC_ACQUIRE))
			;
	}
	fo_segv_jmp = &env;
	stamp_write(fo_page(fo, i), fo->pgsz, i, gen, writer, true);
	fo_segv_jmp = NULL;
}

/* ---- the racing threads ------------------------------------------------ */

static bool fo_owns(const struct folio *fo, unsigned int w, unsigned long j)
{
	return (j + fo->round) % fo->nr_faulters == w;
}

/* Fault folio @j in, renew its stamps if we own it, push it back out. */
static void fo_visit(struct folio *fo, unsigned int w, unsigned long j)
{
	unsigned long i, end = (j + 1) * fo->mthp.sub;
	bool own = fo_owns(fo, w, j);

	for (i = j * fo->mthp.sub; i < end; i++) {
		if (!own) {
			(void)*(volatile uint64_t *)fo_page(fo, i);
			continue;
		}
		mmr_check_page(&fo->tally[w], fo->round, fo_page(fo, i),
			       fo->pgsz, i, fo->gen[i], true);
		fo_write(fo, i, ++fo->gen[i], w + 1);
	}
	if (fo->pageout)
		fo_pageout(fo_page(fo, j * fo->mthp.sub), fo->mthp.size);
}

static void fo_fault(struct folio *fo, unsigned int w)
{
	unsigned long s, k;

	/* mprotect() slows faults down a lot: rounds end at the deadline. */
	for (s = 0; s < fo->sweeps; s++)
		for (k = 0; k < fo->nr_folios && mmr_now() < fo->deadline; k++)
			fo_visit(fo, w, (fo->first_folio + k) % fo->nr_folios);
	if (!__atomic_sub_fetch(&fo->faulters_left, 1, __ATOMIC_ACQ_REL))
		__atomic_store_n(&fo->race_done, 1, __ATOMIC_RELEASE);
}

static void fo_protect(struct folio *fo, int prot)
{
	if (mprotect(fo->map, fo->len, prot))
		mmr_fail("mprotect: %s", strerror(errno));
}

/* The whole region, always: a part would split the VMA. */
static void fo_mprotect(struct folio *fo, unsigned int id)
{
	double until;

	(void)id;
	while (!__atomic_load_n(&fo->race_done, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&fo->writable, 0, __ATOMIC_RELEASE);
		__atomic_fetch_add(&fo->ro_phase, 1, __ATOMIC_RELEASE);
		fo_protect(fo, PROT_READ);
		fo_protect(fo, PROT_READ | PROT_WRITE);
		__atomic_store_n(&fo->writable, 1, __ATOMIC_RELEASE);
		fo->toggles++;
		/* Spinning: a sleep under TCG lasts milliseconds. */
		until = mmr_now() + fo->gap_us * 1e-6;
		while (fo->gap_us && mmr_now() < until)
			mmr_cpu_relax();
	}
}

static void *fo_thread(void *arg)
{
	struct fo_worker *wk = arg;
	struct folio *fo = wk->fo;
	bool faulter = wk->id < fo->nr_faulters;

	mmr_thread_setup(faulter ? "mmr-fault" : "mmr-mprotect",
			 fo_cpu(fo, wk->id));
	for (;;) {
		pthread_barrier_wait(&fo->start);
		if (fo->stop)
			return NULL;
		wk->fn(fo, wk->id);
		pthread_barrier_wait(&fo->done);
	}
}

/* The reclaimer process: memory.reclaim, again and again. */
static void fo_reclaimer(struct folio *fo)
{
	char path[PATH_MAX + 32], val[32];
	size_t len;
	int fd;

	mmr_thread_setup("mmr-reclaim", -1);
	mmr_cpus_keep_off(&fo->opts->cpus);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(path, sizeof(path), "%s/memory.reclaim", fo->cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		mmr_fail("%s: %s", path, strerror(errno));
	len = snprintf(val, sizeof(val), "%lu", fo->reclaim);
	while (!__atomic_load_n(&fo->sh->stop, __ATOMIC_ACQUIRE)) {
		if (write(fd, val, len) < 0) {
			if (errno != EAGAIN)
				mmr_fail("%s: %s", path, strerror(errno));
			fo->sh->eagain++;
		}
		fo->sh->writes++;
	}
	_exit(MMR_EXIT_CLEAN);
}

/* A reclaimer that is gone ends the run with its exit status. */
static void fo_reclaimer_reap(struct folio *fo, bool wait)
{
	int status;
	pid_t p;

	if (!fo->reclaimer)
		return;
	p = waitpid(fo->reclaimer, &status, wait ? 0 : WNOHANG);
	if (!p)
		return;
	fo->reclaimer = 0;
	if (p < 0)
		mmr_fail("waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		exit(WEXITSTATUS(status));	/* it said why */
	if (WIFSIGNALED(status))
		mmr_fail("mmr-reclaim killed by signal %d", WTERMSIG(status));
	if (!wait)
		mmr_fail("mmr-reclaim ended early");
}

/* ---- sysfs and cgroup set-up, undone at exit ------------------------- */

/* Is @word one of the blank-separated words of @list? */
static bool fo_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return true;
	return false;
}

static void fo_cg_file(char *buf, size_t len, const char *dir,
		       const char *file)
{
	snprintf(buf, len, "%s/%s", dir, file);
}

static int fo_cg_enter(const char *dir)
{
	char path[PATH_MAX + 32], pid[16];

	fo_cg_file(path, sizeof(path), dir, "cgroup.procs");
	snprintf(pid, sizeof(pid), "%d", getpid());
	return mmr_write_file(path, pid);
}

/*
 * The cgroup we run in, to return to: the cgroup2 mount point that holds
 * --cgroup (from /proc/self/mountinfo) plus our path below it (from
 * /proc/self/cgroup).  --cgroup's parent if either cannot be found.
 */
static void fo_cg_home(struct folio *fo)
{
	char line[PATH_MAX + 256], mnt[PATH_MAX], rel[PATH_MAX] = "", *dash;
	size_t best = 0, n;
	FILE *f;

	snprintf(fo->cg_home, sizeof(fo->cg_home), "%s", fo->cg_parent);
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3) && sscanf(line + 3, "%4095s", rel) != 1)
			rel[0] = '\0';
	if (f)
		fclose(f);
	if (rel[0] != '/')
		return;
	f = fopen("/proc/self/mountinfo", "re");
	/* "id parent dev root mountpoint options... - fstype source super" */
	while (f && fgets(line, sizeof(line), f)) {
		dash = strstr(line, " - cgroup2 ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		n = strlen(mnt);
		if (n > best && !strncmp(fo->cgroup, mnt, n) &&
		    fo->cgroup[n] == '/') {
			best = n;
			snprintf(fo->cg_home, sizeof(fo->cg_home), "%s%s", mnt,
				 strcmp(rel, "/") ? rel : "");
		}
	}
	if (f)
		fclose(f);
}

/* Before anything is changed: is there a cgroup v2 memory controller? */
static void fo_cgroup_check(struct folio *fo)
{
	char path[PATH_MAX + 32], buf[256];
	int err;

	fo_cg_file(path, sizeof(path), fo->cg_parent, "cgroup.controllers");
	err = mmr_read_file(path, buf, sizeof(buf));
	if (err < 0)
		mmr_fail("--cgroup: %s is not a cgroup v2 directory (%s)",
			 fo->cg_parent, strerror(-err));
	if (!fo_has_word(buf, "memory"))
		mmr_fail("--cgroup: no memory controller in %s", fo->cg_parent);
}

static void fo_cgroup_setup(struct folio *fo)
{
	char path[PATH_MAX + 32], buf[256];
	int err;

	if (!mkdir(fo->cgroup, 0755))
		fo->cg_made = true;
	else if (errno != EEXIST)
		mmr_fail("--cgroup: mkdir %s: %s", fo->cgroup, strerror(errno));
	fo_cg_file(path, sizeof(path), fo->cg_parent, "cgroup.subtree_control");
	err = mmr_read_file(path, buf, sizeof(buf));
	if (err >= 0 && !fo_has_word(buf, "memory")) {
		err = mmr_write_file(path, "+memory");
		fo->cg_enabled = !err;
	}
	if (err < 0)
		mmr_fail("--cgroup: enabling memory in %s: %s", path,
			 strerror(-err));

	fo_cg_file(path, sizeof(path), fo->cgroup, "memory.reclaim");
	if (access(path, W_OK))
		mmr_fail("--cgroup: %s: %s", path, strerror(errno));
	if (fo->memory_max) {
		fo_cg_file(path, sizeof(path), fo->cgroup, "memory.max");
		err = mmr_read_file(path, fo->old_max, sizeof(fo->old_max));
		snprintf(buf, sizeof(buf), "%lu", fo->memory_max);
		if (err >= 0)
			err = mmr_write_file(path, buf);
		if (err < 0) {
			fo->old_max[0] = '\0';
			mmr_fail("--memory-max: %s: %s", path, strerror(-err));
		}
	}
	fo_cg_home(fo);
}

static void fo_teardown(void)
{
	struct folio *fo = fo_self;
	char path[PATH_MAX + 32];
	int err;

	if (!fo || fo->owner != getpid())
		return;
	fo->owner = 0;
	if (fo->reclaimer) {
		__atomic_store_n(&fo->sh->stop, 1, __ATOMIC_RELEASE);
		waitpid(fo->reclaimer, NULL, 0);
		fo->reclaimer = 0;
	}
	if (fo->cg_joined) {
		err = fo_cg_enter(fo->cg_home);
		if (err)
			mmr_warn("moving back to %s: %s", fo->cg_home,
				 strerror(-err));
	}
	if (fo->cg_made && rmdir(fo->cgroup))
		mmr_warn("rmdir %s: %s", fo->cgroup, strerror(errno));
	if (fo->cg_enabled) {
		fo_cg_file(path, sizeof(path), fo->cg_parent,
			   "cgroup.subtree_control");
		err = mmr_write_file(path, "-memory");
		if (err)
			mmr_warn("%s: %s", path, strerror(-err));
	}
	if (!fo->cg_made && fo->old_max[0]) {
		fo_cg_file(path, sizeof(path), fo->cgroup, "memory.max");
		err = mmr_write_file(path, fo->old_max);
		if (err)
			mmr_warn("%s: %s", path, strerror(-err));
	}
	mmr_mthp_restore(&fo->mthp);
}

/* ---- rounds ------------------------------------------------------------ */

static void fo_check(struct folio *fo, struct stamp_tally *t)
{
	unsigned long i, pages = fo->opts->pages;
	enum stamp_class c;

	mmr_marker("round %lu check", fo->round);
	for (i = 0; i < pages; i++) {
		c = mmr_check_page(t, fo->round, fo_page(fo, i), fo->pgsz, i,
				   fo->gen[i], true);
		/* Count a loss once. */
		if (c != STAMP_OK)
			stamp_write(fo_page(fo, i), fo->pgsz, i, ++fo->gen[i],
				    FO_MAIN_ID, true);
	}
	/* Every round starts with all folios out on swap, whole. */
	fo_pageout(fo->map, fo->len);
}

static void fo_validate(struct folio *fo, const struct mmr_opts *opts)
{
	const char *slash;

	fo->pgsz = sysconf(_SC_PAGESIZE);
	mmr_mthp_validate(&fo->mthp, fo->pgsz, opts->pages);
	fo->len = opts->pages * fo->pgsz;
	fo->nr_folios = opts->pages / fo->mthp.sub;
	if (!fo->reclaim)
		fo->reclaim = fo->mthp.size;

	slash = strrchr(fo->cgroup, '/');
	if (fo->cgroup[0] != '/' || !slash[1])
		mmr_fail("--cgroup: '%s' is not an absolute path to a directory",
			 fo->cgroup);
	snprintf(fo->cg_parent, sizeof(fo->cg_parent), "%.*s",
		 (int)(slash - fo->cgroup), fo->cgroup);
}

static void fo_setup(struct folio *fo, const struct mmr_opts *opts)
{
	struct sigaction sa = {
		.sa_sigaction = fo_segv,
		.sa_flags = SA_SIGINFO,
	};
	unsigned long i;
	pid_t pid;
	int err;

	fo->opts = opts;
	/* Whatever can be checked without changing anything, first. */
	mmr_mthp_check(&fo->mthp);
	fo_cgroup_check(fo);
	mmr_swap_setup(&fo->swap, opts->seed);

	fo_self = fo;
	fo->owner = getpid();
	atexit(fo_teardown);
	mmr_mthp_enable(&fo->mthp);
	fo_cgroup_setup(fo);

	/* The reclaimer stays outside the cgroup it squeezes. */
	fo->sh = mmap(NULL, sizeof(*fo->sh), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fo->sh == MAP_FAILED)
		mmr_fail("mmap: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		mmr_fail("fork: %s", strerror(errno));
	if (!pid)
		fo_reclaimer(fo);
	fo->reclaimer = pid;
	err = fo_cg_enter(fo->cgroup);
	if (err)
		mmr_fail("--cgroup: moving into %s: %s", fo->cgroup,
			 strerror(-err));
	fo->cg_joined = true;

	/* Exactly one VMA, mthp-aligned, between guards: no merging. */
	fo->map = mmr_mthp_map(&fo->mthp, fo->len, fo->pgsz);
	fo->gen = calloc(opts->pages, sizeof(*fo->gen));
	if (!fo->gen)
		mmr_fail("out of memory");
	for (i = 0; i < opts->pages; i++) {
		fo->gen[i] = 1;
		stamp_write(fo_page(fo, i), fo->pgsz, i, 1, FO_MAIN_ID, true);
	}
	fo_pageout(fo->map, fo->len);
	fo->writable = 1;
	if (sigaction(SIGSEGV, &sa, NULL))
		mmr_fail("sigaction: %s", strerror(errno));

	pthread_barrier_init(&fo->start, NULL, fo->nr_faulters + 2);
	pthread_barrier_init(&fo->done, NULL, fo->nr_faulters + 2);
}

int main(int argc, char **argv)
{
	static struct folio fo = {
		.mthp.size = 64 << 10, .nr_faulters = 2, .sweeps = 4,
		.swap_arg = "none", .cgroup = "/sys/fs/cgroup/mmrace",
	};
	static struct fo_worker workers[MMR_MAX_THREADS];
	char threads[24], sweeps[24], toggles[24], retries[24], writes[24];
	char eagain[24], in[24], out[24], mthp[16], reclaim[24], max[24];
	char gap[24];
	char before[512], after[512];
	struct mmr_swap_io io0, io1;
	struct mmr_opts opts;
	struct mmr_run run;
	unsigned int w, nr;
	uint64_t rnd;
	int err;

	mmr_parse(&fo_stressor, &opts, &fo, argc, argv);
	mmr_swap_parse(&fo.swap, fo.swap_arg);
	fo_validate(&fo, &opts);
	fo_setup(&fo, &opts);
	mmr_cpus_keep_off(&opts.cpus);

	nr = fo.nr_faulters + 1;
	for (w = 0; w < nr; w++) {
		workers[w] = (struct fo_worker){
			.fo = &fo, .id = w,
			.fn = w < fo.nr_faulters ? fo_fault : fo_mprotect,
		};
		err = pthread_create(&workers[w].thread, NULL, fo_thread,
				     &workers[w]);
		if (err)
			mmr_fail("starting %s: %s", w < fo.nr_faulters ?
				 "mmr-fault" : "mmr-mprotect", strerror(err));
	}

	rnd = opts.seed;
	mmr_mthp_stats(&fo.mthp, before, sizeof(before));
	mmr_swap_io(&io0);
	mmr_run_begin(&run);
	fo.deadline = run.start + opts.duration;
	while (mmr_run_more(&run, &opts)) {
		struct stamp_tally t = { 0 };

		fo.round = run.rounds + 1;
		fo.first_folio = mmr_rand(&rnd) % fo.nr_folios;
		fo.faulters_left = fo.nr_faulters;
		fo.race_done = 0;
		memset(fo.tally, 0, sizeof(fo.tally));
		mmr_marker("round %lu start", fo.round);
		pthread_barrier_wait(&fo.start);
		pthread_barrier_wait(&fo.done);
		for (w = 0; w < fo.nr_faulters; w++)
			stamp_tally_merge(&t, &fo.tally[w]);
		fo_check(&fo, &t);
		mmr_run_round(&run, &t);
		fo_reclaimer_reap(&fo, false);
	}
	fo.stop = true;
	pthread_barrier_wait(&fo.start);
	for (w = 0; w < nr; w++)
		pthread_join(workers[w].thread, NULL);
	__atomic_store_n(&fo.sh->stop, 1, __ATOMIC_RELEASE);
	fo_reclaimer_reap(&fo, true);
	mmr_swap_io(&io1);
	mmr_mthp_stats(&fo.mthp, after, sizeof(after));
	munmap(fo.map, fo.len);
	fo_teardown();
	mmr_swap_teardown();

	snprintf(threads, sizeof(threads), "%lu", fo.nr_faulters);
	snprintf(sweeps, sizeof(sweeps), "%lu", fo.sweeps);
	snprintf(toggles, sizeof(toggles), "%lu", fo.toggles);
	snprintf(retries, sizeof(retries), "%lu", fo.retries);
	snprintf(writes, sizeof(writes), "%lu", fo.sh->writes);
	snprintf(eagain, sizeof(eagain), "%lu", fo.sh->eagain);
	snprintf(reclaim, sizeof(reclaim), "%lu", fo.reclaim);
	snprintf(gap, sizeof(gap), "%lu", fo.gap_us);
	if (fo.memory_max)
		snprintf(max, sizeof(max), "%lu", fo.memory_max);
	else
		snprintf(max, sizeof(max), "null");
	mmr_swap_io_delta(in, sizeof(in), io1.in, io0.in, io0.ok && io1.ok);
	mmr_swap_io_delta(out, sizeof(out), io1.out, io0.out, io0.ok && io1.ok);
	return mmr_run_report(&run, &fo_stressor, &opts,
			      (const struct mmr_field[]){
				MMR_FIELD("mthp", mmr_size_str(mthp, sizeof(mthp),
							       fo.mthp.size)),
				MMR_FIELD("swap", fo.swap.spec),
				mmr_swap_dev_field(&fo.swap),
				MMR_FIELD("cgroup", fo.cgroup),
				MMR_FIELD_RAW("memory_max", max),
				MMR_FIELD_RAW("reclaim_bytes", reclaim),
				MMR_FIELD_RAW("pageout", fo.pageout ?
					      "true" : "false"),
				MMR_FIELD_RAW("mprotect_gap_us", gap),
				MMR_FIELD_RAW("threads", threads),
				MMR_FIELD_RAW("sweeps", sweeps),
				MMR_FIELD_RAW("mprotect_toggles", toggles),
				MMR_FIELD_RAW("write_retries", retries),
				MMR_FIELD_RAW("reclaim_writes", writes),
				MMR_FIELD_RAW("reclaim_eagain", eagain),
				MMR_FIELD_RAW("pswpin", in),
				MMR_FIELD_RAW("pswpout", out),
				MMR_FIELD_RAW("mthp_before", before),
				MMR_FIELD_RAW("mthp_after", after),
				MMR_FIELD_END,
			      });
}
