// SPDX-License-Identifier: GPL-2.0
/*
 * Real runs of mmrace-lostwrite on a file beside the self test.  The host
 * kernel is expected to be fixed (>= 6.2), so every run must come out
 * clean; a run whose file is damaged behind its back must not.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "selftest.h"
#include "stamp.h"

static const char *const lw_keys[] = { "mode", "flush", NULL };

static bool clean_json(const struct st_proc *p)
{
	return st_clean_json(p, "lostwrite", lw_keys);
}

static void test_json_run(const char *file)
{
	struct st_proc p;

	st_run(&p, (const char *[]){ "mmrace-lostwrite", "--rounds", "20",
		"--pages", "16", "--json", "--file", file, NULL });
	if (!st_ok(p.status == 0 && !p.err[0] && clean_json(&p) &&
		   st_member_is(p.out, "rounds", "20") &&
		   st_member_is(p.out, "pages", "16") &&
		   st_member_is(p.out, "mode", "\"dontneed\"") &&
		   st_member_is(p.out, "flush", "\"fdatasync\""),
		   "run: 20 rounds dontneed/fdatasync clean, valid JSON"))
		st_report(&p);
}

/* The file left behind holds a stamp of its own index in every page. */
static void test_file_left(const char *file, unsigned int pages)
{
	char page[4096];
	unsigned int i, good = 0;
	int fd = open(file, O_RDONLY);

	for (i = 0; fd >= 0 && i < pages; i++)
		if (pread(fd, page, sizeof(page), i * sizeof(page)) ==
		    sizeof(page) &&
		    stamp_check(page, sizeof(page), i, UINT64_MAX, false) ==
		    STAMP_LOST_WRITE)
			good++;
	st_ok(good == pages && (fd < 0 || pread(fd, page, 1, pages *
		sizeof(page)) == 0), "run: file holds %u stamped pages (%u good)",
	      pages, good);
	if (fd >= 0)
		close(fd);
}

static void test_munmap_run(const char *file)
{
	struct st_proc p;
	cpu_set_t set;
	char cpus[64];
	int cpu;

	/* Pinned, all threads on one CPU, which works on any machine. */
	sched_getaffinity(0, sizeof(set), &set);
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	snprintf(cpus, sizeof(cpus), "%d,%d,%d", cpu, cpu, cpu);
	st_run(&p, (const char *[]){ "mmrace-lostwrite", "--rounds", "10",
		"--pages", "8", "--mode", "munmap", "--flush", "msync",
		"--seed", "7", "--cpus", cpus, "--json", "--file", file, NULL });
	if (!st_ok(p.status == 0 && !p.err[0] && clean_json(&p) &&
		   st_member_is(p.out, "rounds", "10") &&
		   st_member_is(p.out, "seed", "7") &&
		   st_member_is(p.out, "mode", "\"munmap\"") &&
		   st_member_is(p.out, "flush", "\"msync\""),
		   "run: 10 pinned rounds munmap/msync clean, valid JSON"))
		st_report(&p);
	test_file_left(file, 8);
}

static void test_duration_run(const char *file)
{
	struct st_proc p;

	st_run(&p, (const char *[]){ "mmrace-lostwrite", "--duration", "0.3",
		"--pages", "4", "--file", file, NULL });
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   strstr(p.out, "verdict:     clean\n") &&
		   strstr(p.out, "mmrace-lostwrite: mode dontneed, flush fdatasync, 4 pages") &&
		   p.seconds >= 0.3 && p.seconds < 10,
		   "run: --duration 0.3 ends in time, human summary clean"))
		st_report(&p);
}

/*
 * Damage the file behind the stressor's back: zero page 0 over and over
 * while it runs.  It must report corruption, exit 1 and stop at the first
 * bad round.
 */
static void test_detects(const char *file)
{
	static const char zero[4096];
	struct st_proc p;
	char val[64];
	pid_t vandal;
	int fd;

	fd = open(file, O_WRONLY | O_CREAT, 0644);
	vandal = fork();
	if (vandal == 0) {
		for (;;)
			if (pwrite(fd, zero, sizeof(zero), 0) < 0)
				_exit(1);
	}
	st_run(&p, (const char *[]){ "mmrace-lostwrite", "--pages", "1",
		"--until-first", "--duration", "30", "--json", "--file", file,
		NULL });
	kill(vandal, SIGKILL);
	waitpid(vandal, NULL, 0);
	close(fd);
	if (!st_ok(p.status == 1 && !p.err[0] && json_valid(p.out) &&
		   st_member_is(p.out, "verdict", "\"corruption\"") &&
		   st_member_is(p.out, "bad_rounds", "1") &&
		   st_member_is(p.out, "bad_pages", "1") &&
		   json_member(p.out, "first_bad_round", val, sizeof(val)) &&
		   st_member_is(p.out, "rounds", val) &&
		   json_member(p.out, "time_to_first_detection_s", val,
			       sizeof(val)) && strcmp(val, "null"),
		   "run: zeroed page detected, exit 1, stops at first bad round"))
		st_report(&p);
}

void test_run(void)
{
	char file[4096];

	snprintf(file, sizeof(file), "%s/lostwrite.dat", st_tmpdir());
	test_json_run(file);
	test_munmap_run(file);
	test_duration_run(file);
	test_detects(file);
}
