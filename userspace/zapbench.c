// SPDX-License-Identifier: GPL-2.0
/*
 * mmrace-zapbench: MADV_DONTNEED-loop throughput of one process.
 *
 * Each iteration dirties every page of a MAP_SHARED file mapping and zaps
 * the range, so every iteration goes through the zap loop and its TLB
 * flush, where zap_pte_range.before_flush probes.  With --mode mprotect it
 * write-protects and unprotects the range instead: change_pte_range()
 * rewrites every present PTE under one PTL per page table, where
 * change_pte_range.after_clear probes.  A character device as --file
 * (/dev/mem) is mapped read-only instead: remap_pfn_range() gives special
 * PTEs, which the module must treat as pages with no folio behind them.
 * Run as a task the
 * module's filters do not select, it measures what an armed probe costs
 * everybody else; run as the target, it exercises the filters (the
 * in-guest tests and scripts/bench-probe-cost use it both ways).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

enum zb_mode { ZB_DONTNEED, ZB_MPROTECT };
static const char *const zb_modes[] = { "dontneed", "mprotect", NULL };

struct zapbench {
	const char *path;
	const char *name;
	int mode;
};

static const char *const zb_threads[] = { "the benchmark", NULL };

#define ZB_OPT(_name, _type, _field, _metavar, _help, ...)		\
	{ .name = _name, .type = _type,					\
	  .off = offsetof(struct zapbench, _field),			\
	  .metavar = _metavar, .help = _help, __VA_ARGS__ }

static const struct mmr_option zb_options[] = {
	ZB_OPT("file", MMR_OPT_STRING, path, "PATH",
	       "The MAP_SHARED file, created or truncated to the size of the\n"
	       "pages (default ./mmrace-zapbench.dat).  A character device\n"
	       "(/dev/mem) is mapped read-only from offset 0 instead, its\n"
	       "pages read, not written (--mode mprotect only: PROT_NONE and\n"
	       "back)."),
	ZB_OPT("name", MMR_OPT_STRING, name, "COMM",
	       "Name the process COMM, as the module's comm filter sees it\n"
	       "(default mmr-bench; at most 15 characters)."),
	ZB_OPT("mode", MMR_OPT_CHOICE, mode, "dontneed|mprotect",
	       "dontneed: zap the range with MADV_DONTNEED (default).\n"
	       "mprotect: make it read-only and writable again with mprotect();\n"
	       "the pages stay mapped, so every PTE is rewritten each time.",
	       .choices = zb_modes),
	{ NULL }
};

static const struct mmr_stressor zb_stressor = {
	.name		= "zapbench",
	.summary	= "measure MADV_DONTNEED-loop throughput",
	.description	=
		"Dirties every page of a MAP_SHARED file mapping and zaps it with\n"
		"MADV_DONTNEED (or mprotects it, --mode), in a loop, for --duration\n"
		"seconds (or --rounds iterations), and reports iterations per\n"
		"second.  It checks no\n"
		"data: it is the yardstick for the cost of armed probes on tasks\n"
		"the filters do not select, and a target for filter tests.",
	.options	= zb_options,
	.threads	= zb_threads,
	.defaults	= {
		.rounds		= ~0UL,
		.duration	= 5,
		.pages		= 16,
	},
};

int main(int argc, char **argv)
{
	struct zapbench zb = {
		.path = "./mmrace-zapbench.dat",
		.name = "mmr-bench",
	};
	struct mmr_opts opts;
	unsigned long iters = 0, i;
	size_t pgsz = sysconf(_SC_PAGESIZE);
	int prot = PROT_READ | PROT_WRITE, off_prot = PROT_READ;
	double start, secs;
	struct stat st;
	bool dev;
	char *map;
	int fd;

	mmr_parse(&zb_stressor, &opts, &zb, argc, argv);
	if (strlen(zb.name) > 15)
		mmr_fail("--name: '%s' is longer than 15 characters", zb.name);
	dev = !stat(zb.path, &st) && S_ISCHR(st.st_mode);
	if (dev && zb.mode != ZB_MPROTECT)
		mmr_fail("--file %s: a device needs --mode mprotect", zb.path);
	if (dev) {
		prot = PROT_READ;
		off_prot = PROT_NONE;
		fd = open(zb.path, O_RDONLY | O_CLOEXEC);
	} else {
		fd = open(zb.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0 && ftruncate(fd, opts.pages * pgsz))
			mmr_fail("%s: %s", zb.path, strerror(errno));
	}
	if (fd < 0)
		mmr_fail("%s: %s", zb.path, strerror(errno));
	map = mmap(NULL, opts.pages * pgsz, prot, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		mmr_fail("mmap %s: %s", zb.path, strerror(errno));
	mmr_thread_setup(zb.name, opts.cpus.nr ? opts.cpus.cpu[0] : -1);

	start = mmr_now();
	do {
		for (i = 0; i < opts.pages; i++) {
			if (dev)
				(void)*(volatile char *)&map[i * pgsz];
			else
				map[i * pgsz] = (char)iters;
		}
		if (zb.mode == ZB_DONTNEED &&
		    madvise(map, opts.pages * pgsz, MADV_DONTNEED))
			mmr_fail("madvise(MADV_DONTNEED): %s", strerror(errno));
		if (zb.mode == ZB_MPROTECT &&
		    (mprotect(map, opts.pages * pgsz, off_prot) ||
		     mprotect(map, opts.pages * pgsz, prot)))
			mmr_fail("mprotect: %s", strerror(errno));
		secs = mmr_now() - start;
	} while (++iters < opts.rounds && secs < opts.duration);

	if (opts.json)
		printf("{\"stressor\":\"zapbench\",\"name\":\"%s\",\"mode\":\"%s\","
		       "\"pages\":%lu,\"iterations\":%lu,\"seconds\":%.3f,"
		       "\"per_second\":%.1f}\n", zb.name, zb_modes[zb.mode],
		       opts.pages, iters, secs, iters / secs);
	else
		printf("mmrace-zapbench: %lu iterations of %lu pages in %.3f s: "
		       "%.1f/s\n", iters, opts.pages, secs, iters / secs);
	return MMR_EXIT_CLEAN;
}
