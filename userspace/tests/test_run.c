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

static bool member_is(const char *json, const char *key, const char *want)
{
	char val[512];

	if (!json_member(json, key, val, sizeof(val))) {
		st_diag("no member %s", key);
		return false;
	}
	if (strcmp(val, want)) {
		st_diag("%s is %s, want %s", key, val, want);
		return false;
	}
	return true;
}

static bool clean_json(const struct st_proc *p)
{
	static const char *const zero[][2] = {
		{ "bad_rounds", "0" }, { "bad_pages", "0" },
		{ "first_bad_round", "null" },
		{ "time_to_first_detection_s", "null" },
		{ "verdict", "\"clean\"" }, { "stressor", "\"lostwrite\"" },
	};
	static const char *const keys[] = {
		"stressor", "mode", "flush", "pages", "seed", "rounds",
		"bad_rounds", "bad_pages", "classes", "first_bad_round",
		"time_to_first_detection_s", "stress_seconds", "verdict",
	};
	char val[512];
	bool ok = json_valid(p->out) && p->out[0] == '{';
	unsigned int i;

	if (!ok)
		st_diag("not one JSON object: %s", p->out);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_member(p->out, keys[i], val, sizeof(val))) {
			st_diag("no member %s", keys[i]);
			ok = false;
		}
	for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		ok &= member_is(p->out, zero[i][0], zero[i][1]);
	ok &= member_is(p->out, "classes",
			"{\"lost_write\":0,\"zero_fill\":0,\"foreign\":0,\"corrupt\":0}");
	return ok;
}

static void report(const struct st_proc *p)
{
	st_diag("status %d after %.2f s\nstdout: %s\nstderr: %s", p->status,
		p->seconds, p->out, p->err);
}

static void test_json_run(const char *file)
{
	struct st_proc p;

	st_run(&p, (const char *[]){ "mmrace-lostwrite", "--rounds", "20",
		"--pages", "16", "--json", "--file", file, NULL });
	if (!st_ok(p.status == 0 && !p.err[0] && clean_json(&p) &&
		   member_is(p.out, "rounds", "20") &&
		   member_is(p.out, "pages", "16") &&
		   member_is(p.out, "mode", "\"dontneed\"") &&
		   member_is(p.out, "flush", "\"fdatasync\""),
		   "run: 20 rounds dontneed/fdatasync clean, valid JSON"))
		report(&p);
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
		   member_is(p.out, "rounds", "10") &&
		   member_is(p.out, "seed", "7") &&
		   member_is(p.out, "mode", "\"munmap\"") &&
		   member_is(p.out, "flush", "\"msync\""),
		   "run: 10 pinned rounds munmap/msync clean, valid JSON"))
		report(&p);
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
		report(&p);
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
		   member_is(p.out, "verdict", "\"corruption\"") &&
		   member_is(p.out, "bad_rounds", "1") &&
		   member_is(p.out, "bad_pages", "1") &&
		   json_member(p.out, "first_bad_round", val, sizeof(val)) &&
		   member_is(p.out, "rounds", val) &&
		   json_member(p.out, "time_to_first_detection_s", val,
			       sizeof(val)) && strcmp(val, "null"),
		   "run: zeroed page detected, exit 1, stops at first bad round"))
		report(&p);
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
