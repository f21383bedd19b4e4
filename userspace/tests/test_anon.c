// SPDX-License-Identifier: GPL-2.0
/*
 * Runs of mmrace-swapin and mmrace-folio.  Anywhere: --swap off, which
 * exercises the workers, their checks and the report without swapping,
 * and the set-up errors that come before anything is changed.  Real swap
 * and folio runs change the machine (zram, swapon, mTHP, cgroups): only
 * with MMRACE_TEST_SYSTEM=1, as in a test guest; skipped otherwise.
 */
#include <dirent.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "selftest.h"

#define SYSTEM_ENV	"MMRACE_TEST_SYSTEM"
#define SYSTEM_SKIP	"changes swap, mTHP and cgroups; set " SYSTEM_ENV "=1 (test guest)"
#define MTHP_64K	"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"
#define CGROUP		"/sys/fs/cgroup/mmrace-selftest"

static const char *const sw_keys[] = {
	"check", "mode", "sync", "swap", "swap_device", "mthp", "threads",
	"sweeps", "visits", "pswpin", "pswpout", "lost_increments", NULL
};

/* mmrace-swapin --mthp: the size's counters too. */
static const char *const sw_mthp_keys[] = {
	"check", "mode", "sync", "swap", "swap_device", "mthp", "threads",
	"sweeps", "visits", "pswpin", "pswpout", "lost_increments",
	"mthp_before", "mthp_after", NULL
};

static const char *const fo_keys[] = {
	"mthp", "swap", "swap_device", "cgroup", "memory_max", "reclaim_bytes",
	"pageout", "mprotect_gap_us", "threads", "sweeps", "mprotect_toggles", "write_retries",
	"reclaim_writes", "reclaim_eagain", "pswpin", "pswpout",
	"mthp_before", "mthp_after", NULL
};

static bool system_tests(void)
{
	const char *v = getenv(SYSTEM_ENV);

	return v && !strcmp(v, "1");
}

/* Member @key is a number (not null) greater than @min. */
static bool member_above(const char *json, const char *key, unsigned long min)
{
	char val[64], *end;
	unsigned long v;

	if (!json_member(json, key, val, sizeof(val)))
		return false;
	v = strtoul(val, &end, 10);
	if (*end || end == val || v <= min) {
		st_diag("%s is %s, want more than %lu", key, val, min);
		return false;
	}
	return true;
}

static void test_off_stamp(void)
{
	struct st_proc p;
	char val[512];

	st_run(&p, (const char *[]){ "mmrace-swapin", "--swap", "off",
		"--check", "stamp", "--threads", "3", "--rounds", "5",
		"--pages", "32", "--json", NULL });
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   st_clean_json(&p, "swapin", sw_keys) &&
		   st_member_is(p.out, "check", "\"stamp\"") &&
		   st_member_is(p.out, "mode", "\"threads\"") &&
		   st_member_is(p.out, "sync", "\"step\"") &&
		   st_member_is(p.out, "swap", "\"off\"") &&
		   st_member_is(p.out, "swap_device", "null") &&
		   st_member_is(p.out, "mthp", "null") &&
		   !json_member(p.out, "mthp_before", val, sizeof(val)) &&
		   st_member_is(p.out, "threads", "3") &&
		   st_member_is(p.out, "sweeps", "1") &&
		   st_member_is(p.out, "visits", "480") &&
		   st_member_is(p.out, "lost_increments", "null") &&
		   st_member_is(p.out, "rounds", "5"),
		   "swapin: --swap off, stamp, 5 rounds clean, valid JSON"))
		st_report(&p);
}

static void test_off_count(void)
{
	struct st_proc p;

	st_run(&p, (const char *[]){ "mmrace-swapin", "--swap", "off",
		"--sync", "free", "--sweeps", "3", "--rounds", "4",
		"--pages", "16", "--seed", "5", "--json", NULL });
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   st_clean_json(&p, "swapin", sw_keys) &&
		   st_member_is(p.out, "check", "\"count\"") &&
		   st_member_is(p.out, "sync", "\"free\"") &&
		   st_member_is(p.out, "threads", "2") &&
		   st_member_is(p.out, "visits", "384") &&
		   st_member_is(p.out, "lost_increments", "0") &&
		   st_member_is(p.out, "seed", "5"),
		   "swapin: --swap off, defaults count and 2 workers, free, clean"))
		st_report(&p);
}

static void test_off_fork(void)
{
	struct st_proc p;
	cpu_set_t set;
	char cpus[32];
	int cpu;

	/* Pinned, both on one CPU, which works on any machine. */
	sched_getaffinity(0, sizeof(set), &set);
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	snprintf(cpus, sizeof(cpus), "%d,%d", cpu, cpu);
	st_run(&p, (const char *[]){ "mmrace-swapin", "--swap", "off",
		"--fork", "--check", "stamp", "--cpus", cpus, "--rounds", "3",
		"--pages", "8", "--json", NULL });
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   st_clean_json(&p, "swapin", sw_keys) &&
		   st_member_is(p.out, "mode", "\"fork\"") &&
		   st_member_is(p.out, "rounds", "3"),
		   "swapin: --swap off, --fork, pinned workers clean"))
		st_report(&p);
}

static void test_off_human(void)
{
	struct st_proc p;

	st_run(&p, (const char *[]){ "mmrace-swapin", "--swap", "off",
		"--duration", "0.2", "--pages", "4", NULL });
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   strstr(p.out, "mmrace-swapin: check count, mode threads, "
			  "sync step, swap off, 4 pages") &&
		   strstr(p.out, "\nthreads:     2\n") &&
		   strstr(p.out, "\nverdict:     clean\n") &&
		   p.seconds >= 0.2 && p.seconds < 10,
		   "swapin: --duration 0.2 ends in time, human summary clean"))
		st_report(&p);
}

/* Count the threads of @pid named @comm. */
static int threads_named(pid_t pid, const char *comm)
{
	char path[PATH_MAX], name[32];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid,
			 de->d_name);
		if (mmr_read_file(path, name, sizeof(name)) > 0 &&
		    !strcmp(name, comm))
			n++;
	}
	if (dir)
		closedir(dir);
	return n;
}

static void test_names(void)
{
	pid_t pid = st_spawn((const char *const[]){ "mmrace-swapin", "--swap",
		"off", "--threads", "2", "--duration", "1", "--pages", "4",
		NULL });
	int n = 0, tries, status;

	for (tries = 0; tries < 50 && n < 2; tries++) {
		usleep(20000);
		n = threads_named(pid, "mmr-swapin");
	}
	waitpid(pid, &status, 0);
	st_ok(n == 2 && WIFEXITED(status) && !WEXITSTATUS(status),
	      "swapin: workers are named mmr-swapin (%d of 2)", n);
}

static void test_no_swap(void)
{
	struct st_proc p;

	/* With swap on, the run itself: it only pushes our own pages out. */
	if (st_swap_on()) {
		st_run(&p, (const char *[]){ "mmrace-swapin", "--swap", "none",
			"--rounds", "3", "--pages", "16", "--json", NULL });
		if (!st_ok(p.status == 0 && !p.err[0] &&
			   st_clean_json(&p, "swapin", sw_keys) &&
			   st_member_is(p.out, "swap", "\"none\""),
			   "swapin: --swap none on this host's swap clean"))
			st_report(&p);
		return;
	}
	st_run(&p, (const char *[]){ "mmrace-swapin", "--swap", "none", NULL });
	if (!st_ok(p.status == 2 && st_one_line(&p, "mmrace-swapin",
						"--swap none: no swap is on"),
		   "swapin: --swap none without swap exits 2 with one line"))
		st_report(&p);
}

/*
 * A folio run with a problem found before anything is changed: the mTHP
 * setting stays as it was and no cgroup appears.
 */
static void test_folio_refuses(void)
{
	char before[128] = "", after[128] = "";
	struct st_proc p;
	struct stat st;
	bool has_mthp = mmr_read_file(MTHP_64K, before, sizeof(before)) > 0;

	st_run(&p, (const char *[]){ "mmrace-folio", "--swap", "off",
		"--cgroup", "/nonexistent-mmrace/mmrace", NULL });
	mmr_read_file(MTHP_64K, after, sizeof(after));
	if (!st_ok(p.status == 2 &&
		   (st_one_line(&p, "mmrace-folio", has_mthp ?
				"--cgroup: /nonexistent-mmrace is not a cgroup v2" :
				"--mthp:")) &&
		   !strcmp(before, after) && stat("/nonexistent-mmrace", &st),
		   "folio: set-up problem exits 2 before changing anything"))
		st_report(&p);
}

/*
 * Folio mode with a problem found before anything is changed: no swap is
 * on, or this kernel has no 64K mTHP.  The setting stays as it was.  With
 * swap on, the run would go on to set it: system tests only, then.
 */
static void test_mthp_refuses(void)
{
	static const char name[] =
		"swapin: --mthp set-up problem exits 2 before changing anything";
	char before[128] = "", after[128] = "";
	bool has_mthp = mmr_read_file(MTHP_64K, before, sizeof(before)) > 0;
	struct st_proc p;

	if (has_mthp && st_swap_on()) {
		st_skip("swap is on: the run would set 64K mTHP", "%s", name);
		return;
	}
	st_run(&p, (const char *[]){ "mmrace-swapin", "--mthp", "64K",
		"--swap", "none", NULL });
	mmr_read_file(MTHP_64K, after, sizeof(after));
	if (!st_ok(p.status == 2 &&
		   st_one_line(&p, "mmrace-swapin", has_mthp ?
			       "--swap none: no swap is on" : "--mthp:") &&
		   !strcmp(before, after), "%s", name))
		st_report(&p);
}

/* ---- only with MMRACE_TEST_SYSTEM=1 ------------------------------------ */

/* None of our swap areas may be left on. */
static bool no_swap_left(const char *dev)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/swaps", "re");

	while (f && fgets(line, sizeof(line), f))
		found |= !strncmp(line, dev, strlen(dev)) &&
			 line[strlen(dev)] == ' ';
	if (f)
		fclose(f);
	return !found;
}

/* The report's "swap_device" into @dev, without its quotes. */
static void swap_device(const struct st_proc *p, char *dev, size_t len)
{
	json_member(p->out, "swap_device", dev, len);
	if (dev[0] == '"')
		memmove(dev, dev + 1, strlen(dev));
	dev[strcspn(dev, "\"")] = '\0';
}

static void test_zram_run(const char *check, const char *mode)
{
	const char *argv[16] = { "mmrace-swapin", "--swap", "zram:320K",
		"--check", check, "--rounds", "3", "--json" };
	char dev[80] = "";
	struct st_proc p;

	if (mode)
		argv[8] = mode;
	st_run(&p, argv);
	swap_device(&p, dev, sizeof(dev));
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   st_clean_json(&p, "swapin", sw_keys) &&
		   st_member_is(p.out, "swap", "\"zram:320K\"") &&
		   !strncmp(dev, "/dev/zram", 9) && no_swap_left(dev) &&
		   member_above(p.out, "pswpout", 0) &&
		   member_above(p.out, "pswpin", 0),
		   "swapin: zram:320K, %s%s%s clean, swapped, swapoff at exit",
		   check, mode ? ", " : "", mode ?: ""))
		st_report(&p);
}

/* Folio mode: clean, the size's counters reported, its setting restored. */
static void test_mthp_run(const char *swap, const char *check)
{
	char before[128] = "", after[128] = "", dev[80] = "";
	struct st_proc p;
	bool swapped = strcmp(swap, "off");

	mmr_read_file(MTHP_64K, before, sizeof(before));
	st_run(&p, (const char *[]){ "mmrace-swapin", "--mthp", "64K",
		"--swap", swap, "--check", check, "--threads", "3",
		"--pages", "64", "--rounds", "3", "--json", NULL });
	mmr_read_file(MTHP_64K, after, sizeof(after));
	swap_device(&p, dev, sizeof(dev));
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   st_clean_json(&p, "swapin", sw_mthp_keys) &&
		   st_member_is(p.out, "mthp", "\"64K\"") &&
		   st_member_is(p.out, "visits", "576") &&
		   (!swapped || (member_above(p.out, "pswpout", 0) &&
				 member_above(p.out, "pswpin", 0) &&
				 no_swap_left(dev))) &&
		   !strcmp(before, after),
		   "swapin: --mthp 64K, --swap %s, %s clean, mTHP restored",
		   swap, check))
		st_report(&p);
	else	/* whether folios went out and came back whole */
		st_diag("%s, %s: %s", swap, check,
			strstr(p.out, "\"mthp_before\"") ?: p.out);
}

static void test_folio_run(void)
{
	char before[128] = "", after[128] = "";
	struct st_proc p;
	struct stat st;

	mmr_read_file(MTHP_64K, before, sizeof(before));
	st_run(&p, (const char *[]){ "mmrace-folio", "--swap", "zram:16M",
		"--cgroup", CGROUP, "--rounds", "2", "--pages", "64", "--json",
		NULL });
	mmr_read_file(MTHP_64K, after, sizeof(after));
	if (!st_ok(p.status == 0 && !p.err[0] &&
		   st_clean_json(&p, "folio", fo_keys) &&
		   st_member_is(p.out, "mthp", "\"64K\"") &&
		   st_member_is(p.out, "cgroup", "\"" CGROUP "\"") &&
		   member_above(p.out, "mprotect_toggles", 0) &&
		   member_above(p.out, "pswpout", 0) &&
		   !strcmp(before, after) && stat(CGROUP, &st),
		   "folio: zram:16M, 2 rounds clean; mTHP setting and cgroup restored"))
		st_report(&p);
}

void test_anon(void)
{
	test_off_stamp();
	test_off_count();
	test_off_fork();
	test_off_human();
	test_names();
	test_no_swap();
	test_folio_refuses();
	test_mthp_refuses();
	if (!system_tests()) {
		st_skip(SYSTEM_SKIP, "swapin: zram runs (stamp, count, fork)");
		st_skip(SYSTEM_SKIP, "swapin: --mthp 64K runs (off, zram)");
		st_skip(SYSTEM_SKIP, "folio: zram run");
		return;
	}
	test_zram_run("stamp", NULL);
	test_zram_run("count", NULL);
	test_zram_run("stamp", "--fork");
	if (access(MTHP_64K, F_OK)) {
		st_skip("this kernel has no 64K mTHP (needs 6.8)",
			"swapin: --mthp 64K runs (off, zram)");
		st_skip("this kernel has no 64K mTHP (needs 6.8)",
			"folio: zram run");
		return;
	}
	test_mthp_run("off", "stamp");
	test_mthp_run("zram:4M", "count");
	test_mthp_run("zram:4M", "stamp");
	test_folio_run();
}
