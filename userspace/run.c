// SPDX-License-Identifier: GPL-2.0
/*
 * Run control and the result report of round-based stressors: budget
 * (rounds, duration, --until-first), tallies, time to first detection.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common.h"

static volatile sig_atomic_t mmr_interrupted;

double mmr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void mmr_interrupt(int sig)
{
	(void)sig;
	mmr_interrupted = 1;
}

void mmr_run_begin(struct mmr_run *run)
{
	struct sigaction sa = {
		.sa_handler = mmr_interrupt,
		.sa_flags = SA_RESTART,
	};

	/* A stopped run still reports what it found. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(run, 0, sizeof(*run));
	run->start = mmr_now();
}

bool mmr_run_more(const struct mmr_run *run, const struct mmr_opts *opts)
{
	if (mmr_interrupted || run->rounds >= opts->rounds)
		return false;
	if (opts->until_first && run->bad_rounds)
		return false;
	return mmr_now() - run->start < opts->duration;
}

enum stamp_class mmr_check_page(struct stamp_tally *t, unsigned long round,
				const void *page, size_t pgsz, uint32_t index,
				uint64_t gen, bool fill)
{
	enum stamp_class c = stamp_check(page, pgsz, index, gen, fill);

	mmr_tally_page(t, round, index, c);
	return c;
}

void mmr_tally_page(struct stamp_tally *t, unsigned long round,
		    uint32_t index, enum stamp_class c)
{
	stamp_tally_add(t, c);
	if (c != STAMP_OK && stamp_tally_bad(t) <= MMR_MARKS_PER_ROUND)
		mmr_marker("bad page %u round %lu %s", index, round,
			   stamp_class_name(c));
}

void mmr_run_round(struct mmr_run *run, const struct stamp_tally *t)
{
	run->rounds++;
	stamp_tally_merge(&run->tally, t);
	if (!stamp_tally_bad(t))
		return;
	if (!run->bad_rounds++) {
		run->first_bad_round = run->rounds;
		run->first_bad_seconds = mmr_now() - run->start;
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void report_json(const struct mmr_run *run, const struct mmr_stressor *s,
			const struct mmr_opts *opts,
			const struct mmr_field *fields)
{
	const struct mmr_field *f;
	int c;

	printf("{\"stressor\":");
	json_string(s->name);
	for (f = fields; f->key; f++) {
		printf(",");
		json_string(f->key);
		printf(":");
		if (f->raw)
			printf("%s", f->val);
		else
			json_string(f->val);
	}
	printf(",\"pages\":%lu,\"seed\":%lu,\"rounds\":%lu,\"bad_rounds\":%lu,"
	       "\"bad_pages\":%lu,\"classes\":{", opts->pages, opts->seed,
	       run->rounds, run->bad_rounds, stamp_tally_bad(&run->tally));
	for (c = STAMP_OK + 1; c < STAMP_NR_CLASSES; c++)
		printf("%s\"%s\":%lu", c == STAMP_OK + 1 ? "" : ",",
		       stamp_class_name(c), run->tally.n[c]);
	printf("}");
	if (run->bad_rounds)
		printf(",\"first_bad_round\":%lu,\"time_to_first_detection_s\":%.3f",
		       run->first_bad_round, run->first_bad_seconds);
	else
		printf(",\"first_bad_round\":null,\"time_to_first_detection_s\":null");
	printf(",\"stress_seconds\":%.3f,\"verdict\":\"%s\"}\n",
	       run->stress_seconds, run->bad_rounds ? "corruption" : "clean");
}

static void report_human(const struct mmr_run *run,
			 const struct mmr_stressor *s,
			 const struct mmr_opts *opts,
			 const struct mmr_field *fields)
{
	const struct mmr_field *f;
	int c;

	printf("mmrace-%s:", s->name);
	for (f = fields; f->key; f++)
		if (!f->raw)
			printf(" %s %s,", f->key, f->val);
	printf(" %lu pages, seed %lu\n", opts->pages, opts->seed);
	printf("rounds:      %lu in %.3f s, %lu bad\n", run->rounds,
	       run->stress_seconds, run->bad_rounds);
	printf("bad pages:   %lu (", stamp_tally_bad(&run->tally));
	for (c = STAMP_OK + 1; c < STAMP_NR_CLASSES; c++)
		printf("%s%s %lu", c == STAMP_OK + 1 ? "" : ", ",
		       stamp_class_name(c), run->tally.n[c]);
	printf(")\n");
	if (run->bad_rounds)
		printf("first bad:   round %lu, detected after %.3f s\n",
		       run->first_bad_round, run->first_bad_seconds);
	else
		printf("first bad:   none\n");
	for (f = fields; f->key; f++)
		if (f->raw)
			printf("%s:%*s%s\n", f->key,
			       (int)(strlen(f->key) < 12 ? 12 - strlen(f->key) : 1),
			       "", f->val);
	printf("verdict:     %s\n", run->bad_rounds ? "corruption" : "clean");
}

int mmr_run_report(struct mmr_run *run, const struct mmr_stressor *s,
		   const struct mmr_opts *opts, const struct mmr_field *fields)
{
	run->stress_seconds = mmr_now() - run->start;
	if (opts->json)
		report_json(run, s, opts, fields);
	else
		report_human(run, s, opts, fields);
	if (fflush(stdout))
		mmr_fail("writing the result: %s", strerror(errno));
	return run->bad_rounds ? MMR_EXIT_CORRUPTION : MMR_EXIT_CLEAN;
}
