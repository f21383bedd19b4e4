/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A kselftest-like TAP harness: "ok N - name" / "not ok N - name", then
 * "N passed, N failed".  Diagnostics are "# " lines.
 */
#ifndef MMR_SELFTEST_H
#define MMR_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Report one test; returns @pass so callers can add diagnostics. */
bool st_ok(bool pass, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Report a test that cannot run here: "ok N - name # SKIP reason".  It is
 * counted apart, neither passed nor failed.
 */
void st_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void st_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct st_proc {
	int status;		/* exit status, or -1 if killed by a signal */
	double seconds;		/* wall time */
	char out[16384];	/* stdout, NUL terminated, truncated if longer */
	char err[4096];		/* stderr, likewise */
};

/*
 * Run the binary @argv[0] that sits beside the self test, with a time-out,
 * collecting its output and exit status.  @argv ends with NULL.
 */
void st_run(struct st_proc *p, const char *const *argv);

/* Status, time and output of a stressor run, as diagnostics. */
void st_report(const struct st_proc *p);

/* Start a stressor like st_run(), without waiting for it or its output. */
pid_t st_spawn(const char *const *argv);

/* Exactly one line "@bin: ...@want..." on stderr, nothing on stdout. */
bool st_one_line(const struct st_proc *p, const char *bin, const char *want);

/* Is a swap area on? */
bool st_swap_on(void);

/* A fresh directory for test files, beside the self test (not tmpfs). */
const char *st_tmpdir(void);

/*
 * Minimal JSON: json_valid() accepts exactly one JSON value and trailing
 * blanks; json_member() copies the raw text of member @key of the object
 * @json into @val.
 */
bool json_valid(const char *json);
bool json_member(const char *json, const char *key, char *val, size_t len);

/* Member @key of @json is the JSON text @want (diagnostics if not). */
bool st_member_is(const char *json, const char *key, const char *want);

/*
 * @p printed one JSON object of a clean run of @stressor: every common
 * member, every one of @keys (NULL-terminated), nothing bad.
 */
bool st_clean_json(const struct st_proc *p, const char *stressor,
		   const char *const *keys);

void test_stamp(void);
void test_args(void);
void test_swap(void);
void test_run(void);
void test_anon(void);

#endif
