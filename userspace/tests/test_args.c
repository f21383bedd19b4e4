// SPDX-License-Identifier: GPL-2.0
/*
 * Command line: good values parsed in-process through a test stressor that
 * has an option of every type; bad values and --help through the real
 * mmrace-lostwrite binary, which must exit 2 with one line on stderr.
 */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "selftest.h"

struct targs {
	const char *name;
	int kind;
	bool flag;
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
	{ NULL }
};

static const struct mmr_stressor stressor = {
	.name = "test", .summary = "", .description = "",
	.options = options, .threads = threads,
	.defaults = { .rounds = 11, .duration = 2.5, .pages = 13 },
};

static void parse(struct mmr_opts *o, struct targs *t, const char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	mmr_parse(&stressor, o, t, argc, (char **)argv);
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

/* Exactly one line "mmrace-lostwrite: ...@want...", nothing on stdout. */
static bool one_line(const struct st_proc *p, const char *want)
{
	static const char prefix[] = "mmrace-lostwrite: ";
	const char *nl = strchr(p->err, '\n');

	return !strncmp(p->err, prefix, strlen(prefix)) && nl && !nl[1] &&
	       strstr(p->err, want) && nl - p->err > (long)strlen(prefix) &&
	       !p->out[0];
}

static void test_bad(void)
{
	static const struct {
		const char *args[4];
		const char *want;	/* in the reason */
	} bad[] = {
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
	};
	const char *argv[6] = { "mmrace-lostwrite" };
	struct st_proc p;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(argv + 1, bad[i].args, sizeof(bad[i].args));
		st_run(&p, argv);
		if (!st_ok(p.status == 2 && one_line(&p, bad[i].want),
			   "args: bad '%s%s%s' exits 2 with one line",
			   bad[i].args[0], bad[i].args[1] ? " " : "",
			   bad[i].args[1] ?: ""))
			st_diag("status %d\nstderr: %s\nstdout: %s", p.status,
				p.err, p.out);
	}
}

static void test_help(void)
{
	static const char *const need[] = {
		"NAME\n", "SYNOPSIS\n", "DESCRIPTION\n", "OPTIONS\n",
		"EXIT STATUS\n", "--file PATH", "--mode dontneed|munmap",
		"--flush fdatasync|msync", "--drop-caches", "--rounds N",
		"--duration SECONDS", "--pages N", "--until-first", "--seed N",
		"--json", "--cpus LIST", "--no-markers", "--help",
		"mmr-writer,mmr-zapper,mmr-flusher", "(default 64)",
	};
	struct st_proc p;
	const char *line, *nl;
	bool all = true, narrow = true;
	unsigned int i;

	st_run(&p, (const char *[]){ "mmrace-lostwrite", "--help", NULL });
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!strstr(p.out, need[i])) {
			st_diag("--help lacks '%s'", need[i]);
			all = false;
		}
	st_ok(p.status == 0 && !p.err[0] && all,
	      "args: --help exits 0 with every section and option");
	for (line = p.out; (nl = strchr(line, '\n')); line = nl + 1)
		narrow &= nl - line <= 80;
	st_ok(narrow && p.out[0], "args: --help fits 80 columns");
}

void test_args(void)
{
	test_defaults();
	test_good();
	test_bad();
	test_help();
}
