// SPDX-License-Identifier: GPL-2.0
/*
 * Command line of every stressor: one table of common options plus the
 * stressor's own table, both parsed by type, and a man-page style --help.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static char mmr_progname[64] = "mmrace";

static void mmr_vwarn(const char *fmt, va_list ap)
{
	char reason[512], *p;

	vsnprintf(reason, sizeof(reason), fmt, ap);
	/* Arguments end up in the reason: keep it to one line whatever they hold. */
	for (p = reason; *p; p++)
		if (iscntrl((unsigned char)*p))
			*p = '?';
	fprintf(stderr, "%s: %s\n", mmr_progname, reason);
}

void mmr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mmr_vwarn(fmt, ap);
	va_end(ap);
}

void mmr_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mmr_vwarn(fmt, ap);
	va_end(ap);
	exit(MMR_EXIT_USAGE);
}

#define OPT(_name, _type, _field, _metavar, _help, ...)			\
	{ .name = _name, .type = _type,					\
	  .off = offsetof(struct mmr_opts, _field),			\
	  .metavar = _metavar, .help = _help, __VA_ARGS__ }

static const struct mmr_option mmr_common_options[] = {
	OPT("rounds", MMR_OPT_ULONG, rounds, "N",
	    "Stop after N rounds (default %lu).", .min = 1, .max = ~0UL),
	OPT("duration", MMR_OPT_SECONDS, duration, "SECONDS",
	    "Stop after SECONDS of stress, fractions allowed (default %g).\n"
	    "The round running at the deadline is completed."),
	OPT("pages", MMR_OPT_ULONG, pages, "N",
	    "Stress N pages (default %lu).", .min = 1, .max = MMR_MAX_PAGES),
	OPT("until-first", MMR_OPT_FLAG, until_first, NULL,
	    "Stop after the first round that found a bad page."),
	OPT("seed", MMR_OPT_ULONG, seed, "N",
	    "Seed the access order (default: from the clock; the seed\n"
	    "used is reported).", .min = 0, .max = ~0UL),
	OPT("json", MMR_OPT_FLAG, json, NULL,
	    "Print the result as one JSON object on stdout."),
	OPT("cpus", MMR_OPT_CPUS, cpus, "LIST",
	    "Pin the threads to the comma-separated CPUs of LIST, in the\n"
	    "order %s.\n"
	    "Default: the allowed CPUs after the first one if there are\n"
	    "enough of them, else no pinning."),
	OPT("no-markers", MMR_OPT_FLAG, no_markers, NULL,
	    "Do not write round and bad-page markers to the ftrace\n"
	    "trace_marker file."),
	{ NULL }
};

static unsigned long parse_ulong(const char *opt, const char *arg,
				 unsigned long min, unsigned long max)
{
	unsigned long long v;
	char *end;

	/* strtoull() would take leading blanks and wrap "-1" around. */
	if (!isdigit((unsigned char)*arg))
		mmr_fail("--%s: '%s' is not a number", opt, arg);
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*end)
		mmr_fail("--%s: '%s' is not a number", opt, arg);
	if (errno == ERANGE || v < min || v > max)
		mmr_fail("--%s: %s is out of range %lu..%lu", opt, arg, min, max);
	return v;
}

unsigned long mmr_parse_size(const char *opt, const char *arg,
			     unsigned long min, unsigned long max)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;
	char minb[32], maxb[32];

	if (!isdigit((unsigned char)*arg))
		mmr_fail("--%s: '%s' is not a size", opt, arg);
	errno = 0;
	v = strtoull(arg, &end, 10);
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end)
		mmr_fail("--%s: '%s' is not a size (digits, then K, M, G or T)",
			 opt, arg);
	if (errno == ERANGE || v > (~0ULL >> shift) || (v << shift) < min ||
	    (v << shift) > max)
		mmr_fail("--%s: %s is out of range %s..%s", opt, arg,
			 mmr_size_str(minb, sizeof(minb), min),
			 mmr_size_str(maxb, sizeof(maxb), max));
	return v << shift;
}

const char *mmr_size_str(char *buf, size_t len, unsigned long bytes)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%lu", bytes);
	else
		snprintf(buf, len, "%lu%c", bytes, units[u]);
	return buf;
}

static double parse_seconds(const char *opt, const char *arg)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)*arg) && *arg != '.')
		mmr_fail("--%s: '%s' is not a number of seconds", opt, arg);
	errno = 0;
	v = strtod(arg, &end);
	if (*end || errno == ERANGE || !isfinite(v))
		mmr_fail("--%s: '%s' is not a number of seconds", opt, arg);
	if (v <= 0)
		mmr_fail("--%s: %s must be more than 0", opt, arg);
	return v;
}

static int parse_choice(const char *opt, const char *arg,
			const char *const *choices)
{
	char list[256] = "";
	int i;

	for (i = 0; choices[i]; i++) {
		if (!strcmp(arg, choices[i]))
			return i;
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? ", " : "", choices[i]);
	}
	mmr_fail("--%s: '%s' is not one of %s", opt, arg, list);
}

static void parse_cpus(const char *opt, const char *arg, struct mmr_cpus *cpus)
{
	const char *p = arg;
	char *end;
	long v;

	cpus->nr = 0;
	for (;;) {
		if (!isdigit((unsigned char)*p))
			mmr_fail("--%s: '%s' is not a comma-separated list of CPU numbers",
				 opt, arg);
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno == ERANGE || v > 1 << 20)
			mmr_fail("--%s: CPU %.*s does not exist", opt,
				 (int)(end - p), p);
		if (cpus->nr == MMR_MAX_THREADS)
			mmr_fail("--%s: more than %d CPUs", opt, MMR_MAX_THREADS);
		cpus->cpu[cpus->nr++] = v;
		if (!*end)
			return;
		if (*end != ',')
			mmr_fail("--%s: '%s' is not a comma-separated list of CPU numbers",
				 opt, arg);
		p = end + 1;
	}
}

static void mmr_set(const struct mmr_option *o, void *base, const char *arg)
{
	void *dst = (char *)base + o->off;

	switch (o->type) {
	case MMR_OPT_FLAG:
		*(bool *)dst = true;
		break;
	case MMR_OPT_ULONG:
		*(unsigned long *)dst = parse_ulong(o->name, arg, o->min, o->max);
		break;
	case MMR_OPT_SECONDS:
		*(double *)dst = parse_seconds(o->name, arg);
		break;
	case MMR_OPT_STRING:
		if (!*arg)
			mmr_fail("--%s: empty argument", o->name);
		*(const char **)dst = arg;
		break;
	case MMR_OPT_CHOICE:
		*(int *)dst = parse_choice(o->name, arg, o->choices);
		break;
	case MMR_OPT_CPUS:
		parse_cpus(o->name, arg, dst);
		break;
	case MMR_OPT_SIZE:
		*(unsigned long *)dst = mmr_parse_size(o->name, arg, o->min,
						       o->max);
		break;
	}
}

/* Print @text, a line per '\n', each line indented by @indent blanks. */
static void print_indented(const char *text, int indent)
{
	const char *nl;

	for (;;) {
		nl = strchrnul(text, '\n');
		printf("%*s%.*s\n", indent, "", (int)(nl - text), text);
		if (!*nl)
			return;
		text = nl + 1;
	}
}

static void usage_option(const struct mmr_option *o, const char *help)
{
	printf("       --%s%s%s\n", o->name, o->metavar ? " " : "",
	       o->metavar ?: "");
	print_indented(help, 14);
	printf("\n");
}

/* Common help texts take the stressor's default as their one argument. */
static void usage_common_option(const struct mmr_option *o,
				const struct mmr_stressor *s)
{
	const struct mmr_opts *d = &s->defaults;
	char help[512], threads[128] = "";
	int i;

	switch (o->type) {
	case MMR_OPT_ULONG:
		snprintf(help, sizeof(help), o->help,
			 *(const unsigned long *)((const char *)d + o->off));
		break;
	case MMR_OPT_SECONDS:
		snprintf(help, sizeof(help), o->help,
			 *(const double *)((const char *)d + o->off));
		break;
	case MMR_OPT_CPUS:
		for (i = 0; s->threads[i]; i++)
			snprintf(threads + strlen(threads),
				 sizeof(threads) - strlen(threads), "%s%s",
				 i ? "," : "", s->threads[i]);
		snprintf(help, sizeof(help), o->help, threads);
		break;
	default:
		snprintf(help, sizeof(help), "%s", o->help);
		break;
	}
	usage_option(o, help);
}

static void usage(const struct mmr_stressor *s)
{
	const struct mmr_option *o;

	printf("NAME\n       %s - %s\n\n", mmr_progname, s->summary);
	printf("SYNOPSIS\n       %s [OPTION]...\n\n", mmr_progname);
	printf("DESCRIPTION\n");
	print_indented(s->description, 7);
	printf("\nOPTIONS\n");
	for (o = s->options; o->name; o++)
		usage_option(o, o->help);
	for (o = mmr_common_options; o->name; o++)
		usage_common_option(o, s);
	printf("       -h, --help\n%14sPrint this help and exit.\n\n", "");
	printf("EXIT STATUS\n"
	       "       0      no bad page found\n"
	       "       1      at least one bad page found\n"
	       "       2      usage or setup error, with a one-line reason on stderr\n");
}

#define MMR_MAX_OPTIONS	32
#define MMR_OPT_HELP	'h'
#define MMR_OPT_BASE	256	/* getopt values of table entries start here */

void mmr_parse(const struct mmr_stressor *s, struct mmr_opts *opts, void *ctx,
	       int argc, char **argv)
{
	struct option longopts[MMR_MAX_OPTIONS + 2];
	const struct mmr_option *table[MMR_MAX_OPTIONS];
	void *base[MMR_MAX_OPTIONS];
	const struct mmr_option *o;
	bool cpus_given = false;
	int nr_threads, n = 0, c;

	snprintf(mmr_progname, sizeof(mmr_progname), "mmrace-%s", s->name);
	*opts = s->defaults;
	opts->seed = (unsigned long)(mmr_now() * 1e9) ^ getpid();

	/* One getopt_long() table out of the stressor's and the common one. */
	for (o = s->options; o->name; o++)
		n++;
	if (n + sizeof(mmr_common_options) / sizeof(*o) > MMR_MAX_OPTIONS)
		mmr_fail("more than %d options: raise MMR_MAX_OPTIONS",
			 MMR_MAX_OPTIONS);
	for (n = 0, o = s->options; o->name; o++, n++) {
		table[n] = o;
		base[n] = ctx;
	}
	for (o = mmr_common_options; o->name; o++, n++) {
		table[n] = o;
		base[n] = opts;
	}
	for (c = 0; c < n; c++)
		longopts[c] = (struct option){
			.name = table[c]->name,
			.has_arg = table[c]->type == MMR_OPT_FLAG ?
				   no_argument : required_argument,
			.val = MMR_OPT_BASE + c,
		};
	longopts[n++] = (struct option){ "help", no_argument, NULL, MMR_OPT_HELP };
	longopts[n] = (struct option){ NULL };

	opterr = 0;
	optind = 0;	/* full reset, so tests can parse more than once */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case MMR_OPT_HELP:
			usage(s);
			exit(MMR_EXIT_CLEAN);
		case ':':
			mmr_fail("option '%s' needs an argument", argv[optind - 1]);
		case '?':
			if (optopt > 0 && optopt < MMR_OPT_BASE)
				mmr_fail("invalid option '-%c'", optopt);
			mmr_fail("invalid option '%s'", argv[optind - 1]);
		default:
			o = table[c - MMR_OPT_BASE];
			mmr_set(o, base[c - MMR_OPT_BASE], optarg);
			cpus_given |= o->type == MMR_OPT_CPUS;
		}
	}
	if (optind < argc)
		mmr_fail("unexpected argument '%s'", argv[optind]);

	/* Options like --threads decide how many threads there are to pin. */
	if (s->nr_threads)
		nr_threads = s->nr_threads(ctx);
	else
		for (nr_threads = 0; s->threads[nr_threads]; nr_threads++)
			;
	if (!cpus_given)
		mmr_cpus_default(&opts->cpus, nr_threads);
	mmr_cpus_check(&opts->cpus, nr_threads);
	if (!opts->no_markers)
		mmr_marker_open();
}
