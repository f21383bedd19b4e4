// SPDX-License-Identifier: GPL-2.0
/*
 * Command line: good values parsed in-process through a test stressor that
 * has an option of every type; bad values and --help through the real
 * stressor binaries, which must exit 2 with one line on stderr.
 */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "mthp.h"
#include "selftest.h"

struct targs {
	const char *name;
	int kind;
	bool flag;
	unsigned long size;
	unsigned long threads;
};

static const char *const kinds[] = { "a", "b", NULL };
static const char *const threads[] = { "t-one", "t-two", NULL };

static const struct mmr_option options[] = {
	{ .name = "name", .type = MMR_OPT_STRING,
	  .off = offsetof(struct targs, name) },
	{ .name = "kind", .type = MMR_OPT_CHOICE,
	  .off = offsetof(struct targs, kind), .choices = kinds },
	{ .name = "flag", .type = MMR_OPT_FLAG,
	  .off = offsetof(struct targs, flag) },
	{ .name = "size", .type = MMR_OPT_SIZE,
	  .off = offsetof(struct targs, size), .min = 4096, .max = 1UL << 32 },
	{ .name = "threads", .type = MMR_OPT_ULONG,
	  .off = offsetof(struct targs, threads), .min = 1, .max = 16 },
	{ NULL }
};

static const struct mmr_stressor stressor = {
	.name = "test", .summary = "", .description = "",
	.options = options, .threads = threads,
	.defaults = { .rounds = 11, .duration = 2.5, .pages = 13 },
};

/* A stressor whose thread count is its --threads option. */
static int nr_threads(const void *ctx)
{
	return ((const struct targs *)ctx)->threads;
}

static const struct mmr_stressor counted = {
	.name = "test", .summary = "", .description = "",
	.options = options, .threads = threads, .nr_threads = nr_threads,
	.defaults = { .rounds = 11, .duration = 2.5, .pages = 13 },
};

static void parse_as(const struct mmr_stressor *s, struct mmr_opts *o,
		     struct targs *t, const char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	mmr_parse(s, o, t, argc, (char **)argv);
}

static void parse(struct mmr_opts *o, struct targs *t, const char **argv)
{
	parse_as(&stressor, o, t, argv);
}

static void test_defaults(void)
{
	struct targs t = { .name = "dflt" };
	struct mmr_opts o;
	cpu_set_t set;
	bool cpus_ok;
	int i;

	parse(&o, &t, (const char *[]){ "x", "--no-markers", NULL });
	st_ok(o.rounds == 11 && o.duration == 2.5 && o.pages == 13 &&
	      !o.until_first && !o.json && !strcmp(t.name, "dflt") &&
	      t.kind == 0 && !t.flag, "args: defaults kept");

	/* Pinned by default only with a spare CPU, never on the first. */
	sched_getaffinity(0, sizeof(set), &set);
	if (CPU_COUNT(&set) < 3) {
		cpus_ok = o.cpus.nr == 0;
	} else {
		cpus_ok = o.cpus.nr == 2 && o.cpus.cpu[0] != o.cpus.cpu[1];
		for (i = 0; i < o.cpus.nr; i++)
			cpus_ok &= CPU_ISSET(o.cpus.cpu[i], &set) &&
				   o.cpus.cpu[i] > 0;
	}
	st_ok(cpus_ok, "args: default CPUs (%d allowed, %d pinned)",
	      CPU_COUNT(&set), o.cpus.nr);
}

static void test_good(void)
{
	struct targs t = { 0 };
	struct mmr_opts o;
	cpu_set_t set;
	char cpus[32];
	int cpu;

	sched_getaffinity(0, sizeof(set), &set);
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	snprintf(cpus, sizeof(cpus), "%d,%d", cpu, cpu);
	parse(&o, &t, (const char *[]){ "x", "--rounds", "7", "--duration",
		"0.25", "--pages=3", "--until-first", "--seed", "18446744073709551615",
		"--json", "--cpus", cpus, "--no-markers", "--name", "n",
		"--kind", "b", "--flag", NULL });
	st_ok(o.rounds == 7 && fabs(o.duration - 0.25) < 1e-9 && o.pages == 3 &&
	      o.until_first && o.seed == 18446744073709551615UL && o.json &&
	      o.no_markers && o.cpus.nr == 2 && o.cpus.cpu[0] == cpu &&
	      o.cpus.cpu[1] == cpu, "args: every common option parsed");
	st_ok(!strcmp(t.name, "n") && t.kind == 1 && t.flag,
	      "args: stressor options parsed");

	parse(&o, &t, (const char *[]){ "x", "--seed", "0", "--pages", "1048576",
		"--duration", "5", "--rounds", "1", "--no-markers", NULL });
	st_ok(o.seed == 0 && o.pages == 1048576 && o.duration == 5 &&
	      o.rounds == 1, "args: range limits accepted");
}

static void test_sizes(void)
{
	static const struct {
		const char *arg;
		unsigned long bytes;
	} good[] = {
		{ "4096", 4096 }, { "64K", 64 << 10 }, { "64k", 64 << 10 },
		{ "2M", 2 << 20 }, { "1g", 1 << 30 }, { "4G", 1UL << 32 },
		{ "4194304K", 1UL << 32 },
	};
	static const struct {
		unsigned long bytes;
		const char *str;
	} strs[] = {
		{ 0, "0" }, { 1000, "1000" }, { 1536, "1536" },
		{ 65536, "64K" }, { 3 << 20, "3M" }, { 1UL << 30, "1G" },
		{ 1UL << 40, "1T" }, { (1UL << 40) + 1024, "1073741825K" },
	};
	struct targs t = { 0 };
	struct mmr_opts o;
	char buf[32];
	bool all = true;
	unsigned int i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		parse(&o, &t, (const char *[]){ "x", "--size", good[i].arg,
			"--no-markers", NULL });
		if (t.size != good[i].bytes) {
			st_diag("--size %s gave %lu", good[i].arg, t.size);
			all = false;
		}
	}
	st_ok(all, "args: sizes with and without K, M, G suffixes");
	all = true;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(mmr_size_str(buf, sizeof(buf), strs[i].bytes),
			   strs[i].str)) {
			st_diag("%lu printed as %s", strs[i].bytes, buf);
			all = false;
		}
	st_ok(all, "args: sizes printed in the largest exact unit");
}

/* --threads decides how many CPUs --cpus takes and the default pins. */
static void test_counted_threads(void)
{
	struct targs t = { .threads = 1 };
	struct mmr_opts o;
	cpu_set_t set;
	char cpus[64];
	int cpu;

	sched_getaffinity(0, sizeof(set), &set);
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	snprintf(cpus, sizeof(cpus), "%d,%d,%d,%d", cpu, cpu, cpu, cpu);
	parse_as(&counted, &o, &t, (const char *[]){ "x", "--threads", "4",
		"--cpus", cpus, "--no-markers", NULL });
	st_ok(t.threads == 4 && o.cpus.nr == 4 && o.cpus.cpu[3] == cpu,
	      "args: --cpus takes one CPU per --threads");

	t.threads = 1;
	parse_as(&counted, &o, &t, (const char *[]){ "x", "--no-markers",
		NULL });
	st_ok(o.cpus.nr == (CPU_COUNT(&set) >= 2 ? 1 : 0),
	      "args: default pinning follows the thread count (%d pinned)",
	      o.cpus.nr);
}

/* Exactly one line "<bin>: ...@want...", nothing on stdout. */
bool st_one_line(const struct st_proc *p, const char *bin, const char *want)
{
	const char *nl = strchr(p->err, '\n');
	size_t n = strlen(bin);

	return !strncmp(p->err, bin, n) && !strncmp(p->err + n, ": ", 2) &&
	       nl && !nl[1] && strstr(p->err, want) &&
	       nl - p->err > (long)n + 2 && !p->out[0];
}

struct bad_arg {
	const char *args[6];
	const char *want;	/* in the reason */
};

static void bad_args(const char *bin, const struct bad_arg *bad, unsigned int n)
{
	const char *argv[8] = { bin };
	char shown[128];
	struct st_proc p;
	unsigned int i, a;

	for (i = 0; i < n; i++) {
		memcpy(argv + 1, bad[i].args, sizeof(bad[i].args));
		shown[0] = '\0';
		for (a = 0; bad[i].args[a]; a++)
			snprintf(shown + strlen(shown),
				 sizeof(shown) - strlen(shown), "%s%s",
				 a ? " " : "", bad[i].args[a]);
		st_run(&p, argv);
		if (!st_ok(p.status == 2 && st_one_line(&p, bin, bad[i].want),
			   "args: %s bad '%s' exits 2 with one line",
			   bin + strlen("mmrace-"), shown))
			st_diag("status %d\nstderr: %s\nstdout: %s", p.status,
				p.err, p.out);
	}
}

static void test_bad(void)
{
	static const struct bad_arg bad[] = {
		{ { "--bogus" }, "'--bogus'" },
		{ { "-x" }, "'-x'" },
		{ { "extra" }, "'extra'" },
		{ { "--json=1" }, "--json" },
		{ { "--pages" }, "--pages" },
		{ { "--pages", "0" }, "out of range" },
		{ { "--pages", "-1" }, "not a number" },
		{ { "--pages", "abc" }, "not a number" },
		{ { "--pages", "12x" }, "not a number" },
		{ { "--pages", " 1" }, "not a number" },
		{ { "--pages", "1048577" }, "out of range" },
		{ { "--pages", "" }, "not a number" },
		{ { "--rounds", "0" }, "out of range" },
		{ { "--rounds", "99999999999999999999999" }, "out of range" },
		{ { "--seed", "-1" }, "not a number" },
		{ { "--duration", "0" }, "more than 0" },
		{ { "--duration", "-1" }, "not a number" },
		{ { "--duration", "nan" }, "not a number" },
		{ { "--duration", "1e999" }, "not a number" },
		{ { "--duration", "1s" }, "not a number" },
		{ { "--cpus", "0,1" }, "2 CPUs given, 3 threads" },
		{ { "--cpus", "0,,1" }, "comma-separated" },
		{ { "--cpus", "0,1," }, "comma-separated" },
		{ { "--cpus", "a" }, "comma-separated" },
		{ { "--cpus", "4095,0,0" }, "CPU 4095 does not exist" },
		{ { "--cpus", "99999999999,0,0" }, "does not exist" },
		{ { "--mode", "zap" }, "'zap' is not one of dontneed, munmap" },
		{ { "--flush", "sync" }, "'sync' is not one of fdatasync, msync" },
		{ { "--file", "" }, "--file: empty" },
		{ { "--file", "/nonexistent/dir/f" }, "No such file" },
		{ { "--pages", "1\nx" }, "'1?x'" },
		{ { "--hot", "0" }, "out of range" },
		{ { "--map-offset", "512" }, "not below the 512 pages" },
	};
	bad_args("mmrace-lostwrite", bad, sizeof(bad) / sizeof(bad[0]));
}

/*
 * The anonymous-memory stressors refuse bad values before they change
 * anything (swap, sysfs, cgroups), so these are safe to run as root.
 */
static void test_bad_anon(void)
{
	static const struct bad_arg swapin[] = {
		{ { "--check", "crc" }, "'crc' is not one of stamp, count" },
		{ { "--sync", "lock" }, "'lock' is not one of step, free" },
		{ { "--threads", "0" }, "out of range 1..16" },
		{ { "--threads", "17" }, "out of range 1..16" },
		{ { "--sweeps", "0" }, "--sweeps" },
		{ { "--swap", "" }, "--swap: empty" },
		{ { "--swap", "zram" }, "'zram' is not none, off, zram:SIZE" },
		{ { "--swap", "tmpfs:1M" }, "'tmpfs:1M' is not none" },
		{ { "--swap", "zram:" }, "'' is not a size" },
		{ { "--swap", "zram:2MB" }, "'2MB' is not a size" },
		{ { "--swap", "zram:-1M" }, "'-1M' is not a size" },
		{ { "--swap", "zram:4K" }, "out of range 8K..1T" },
		{ { "--swap", "brd:2T" }, "out of range 8K..1T" },
		{ { "--swap", "brd:1P" }, "'1P' is not a size" },
		{ { "--swap", "zram:99999999999999999999G" }, "out of range" },
		{ { "--swap", "zram:9K" }, "not a multiple of the page size" },
		{ { "--fork" }, "--fork: needs --check stamp" },
		{ { "--threads", "2", "--cpus", "0" }, "1 CPUs given, 2 threads" },
		{ { "--fork=1" }, "--fork" },
		{ { "--mthp", "48K" }, "--mthp: 48K is not a power of two" },
		{ { "--mthp", "2M" }, "--mthp: 2M is out of range 8K..1M" },
		{ { "--mthp", "64KB" }, "'64KB' is not a size" },
		{ { "--mthp", "" }, "'' is not a size" },
		{ { "--mthp", "64K", "--pages", "100" },
		  "--pages: 100 is not a multiple of 16 (--mthp 64K)" },
		{ { "--mthp", "8K", "--pages", "3" },
		  "3 is not a multiple of 2" },
		{ { "--mthp", "64K", "--pages", "512" },
		  "not smaller than a PMD THP" },
	};
	static const struct bad_arg folio[] = {
		{ { "--mthp", "48K" }, "48K is not a power of two" },
		{ { "--mthp", "4K" }, "out of range 8K..1M" },
		{ { "--mthp", "2M" }, "out of range 8K..1M" },
		{ { "--mthp", "64KB" }, "'64KB' is not a size" },
		{ { "--mthp", "" }, "'' is not a size" },
		{ { "--pages", "100" }, "100 is not a multiple of 16" },
		{ { "--mthp", "8K", "--pages", "3" }, "3 is not a multiple of 2" },
		{ { "--pages", "512" }, "not smaller than a PMD THP" },
		{ { "--threads", "16" }, "out of range 1..15" },
		{ { "--threads", "3", "--cpus", "0,0,0" }, "3 CPUs given, 4 threads" },
		{ { "--cgroup", "mmrace" }, "'mmrace' is not an absolute path" },
		{ { "--cgroup", "/sys/fs/cgroup/" }, "not an absolute path" },
		{ { "--memory-max", "1K" }, "out of range 1M..1T" },
		{ { "--reclaim", "0" }, "out of range 4K..1T" },
		{ { "--swap", "zram:1x" }, "'1x' is not a size" },
		{ { "--pageout", "x" }, "unexpected argument 'x'" },
		{ { "--mprotect-gap", "1000001" }, "out of range 0..1000000" },
	};
	static const struct bad_arg split[] = {
		{ { "--mthp", "12K" }, "12K is not a power of two" },
		{ { "--mthp", "2M" }, "out of range 8K..1M" },
		{ { "--pages", "1001" }, "1001 is not a multiple of 2" },
		{ { "--mthp", "64K", "--pages", "24" },
		  "24 is not a multiple of 16" },
		{ { "--pages", "512" }, "not smaller than a PMD THP" },
		{ { "--swap", "zram:" }, "'' is not a size" },
		{ { "--no-shrink", "x" }, "unexpected argument 'x'" },
		{ { "--cpus", "0,0" }, "2 CPUs given, 4 threads" },
	};
	static const struct bad_arg migrate[] = {
		{ { "--pages", "100" }, "100 is not a multiple of 512 (one THP)" },
		{ { "--threads", "0" }, "out of range 1..14" },
		{ { "--threads", "3", "--cpus", "1,2" }, "2 CPUs given, 4 threads" },
		{ { "--sweeps", "0" }, "out of range 1..1000000" },
		{ { "--swap", "brd:1q" }, "'1q' is not a size" },
		{ { "--no-offline=1" }, "--no-offline" },
		{ { "--hold", "60001" }, "out of range 0..60000" },
	};

	long pgsz = sysconf(_SC_PAGESIZE);
	char page[16];
	/*
	 * A folio of one page: on 4 KiB pages the option's range refuses
	 * it, on larger pages the check against the page size.
	 */
	const struct bad_arg one_page = {
		{ "--mthp", mmr_size_str(page, sizeof(page), pgsz) },
		pgsz < (long)MMR_MTHP_MIN ? "out of range 8K..1M" :
					    "is not larger than a page",
	};

	bad_args("mmrace-swapin", swapin, sizeof(swapin) / sizeof(swapin[0]));
	bad_args("mmrace-swapin", &one_page, 1);
	bad_args("mmrace-folio", folio, sizeof(folio) / sizeof(folio[0]));
	bad_args("mmrace-split", split, sizeof(split) / sizeof(split[0]));
	bad_args("mmrace-migrate", migrate, sizeof(migrate) / sizeof(migrate[0]));
}

static void help(const char *bin, const char *const *need)
{
	struct st_proc p;
	const char *line, *nl;
	bool all = true, narrow = true;

	st_run(&p, (const char *[]){ bin, "--help", NULL });
	for (; *need; need++)
		if (!strstr(p.out, *need)) {
			st_diag("--help lacks '%s'", *need);
			all = false;
		}
	st_ok(p.status == 0 && !p.err[0] && all,
	      "args: %s --help exits 0 with every section and option", bin);
	for (line = p.out; (nl = strchr(line, '\n')); line = nl + 1)
		narrow &= nl - line <= 80;
	st_ok(narrow && p.out[0], "args: %s --help fits 80 columns", bin);
}

#define COMMON_HELP							\
	"NAME\n", "SYNOPSIS\n", "DESCRIPTION\n", "OPTIONS\n",		\
	"EXIT STATUS\n", "--rounds N", "--duration SECONDS", "--pages N",	\
	"--until-first", "--seed N", "--json", "--cpus LIST",		\
	"--no-markers", "--help"

static void test_help(void)
{
	static const char *const lostwrite[] = {
		COMMON_HELP, "--file PATH", "--mode dontneed|munmap",
		"--flush fdatasync|msync", "--drop-caches",
		"mmr-writer,mmr-zapper,mmr-flusher", "(default 64)", NULL
	};
	static const char *const swapin[] = {
		COMMON_HELP, "--check stamp|count", "--sync step|free",
		"--threads N", "--sweeps N",
		"--swap none|off|zram:SIZE|brd:SIZE", "--fork", "--mthp SIZE",
		"In folio mode (--mthp 64K)", "hugepages-<size>kB/enabled",
		"alloc_swap_folio()", "swap cluster is 2 MiB",
		"order mmr-swapin (one per --threads)", "(default 64)", NULL
	};
	static const char *const folio[] = {
		COMMON_HELP, "--mthp SIZE", "--threads N", "--sweeps N",
		"--swap none|off|zram:SIZE|brd:SIZE", "--cgroup PATH",
		"--memory-max SIZE", "--reclaim SIZE", "--pageout",
		"--mprotect-gap US",
		"mmr-fault (one per --threads),mmr-mprotect",
		"(default 256)", NULL
	};
	static const char *const split[] = {
		COMMON_HELP, "--mthp SIZE", "--swap none|off|zram:SIZE|brd:SIZE",
		"--no-shrink", "mmr-free,mmr-dontneed,mmr-fork,mmr-pageout",
		"(default 256)", NULL
	};
	static const char *const migrate[] = {
		COMMON_HELP, "--threads N", "--sweeps N", "--hold MS",
		"--swap none|off|zram:SIZE|brd:SIZE", "--no-offline",
		"mmr-pageout,mmr-swapin (one per --threads)", "movablecore=",
		"(default 2048)", NULL
	};

	help("mmrace-lostwrite", lostwrite);
	help("mmrace-swapin", swapin);
	help("mmrace-folio", folio);
	help("mmrace-split", split);
	help("mmrace-migrate", migrate);
}

void test_args(void)
{
	test_defaults();
	test_good();
	test_sizes();
	test_counted_threads();
	test_bad();
	test_bad_anon();
	test_help();
}
