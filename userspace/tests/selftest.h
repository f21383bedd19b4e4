/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A kselftest-like TAP harness: "ok N - name" / "not ok N - name", then
 * "N passed, N failed".  Diagnostics are "# " lines.
 */
#ifndef MMR_SELFTEST_H
#define MMR_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>

/* Report one test; returns @pass so callers can add diagnostics. */
bool st_ok(bool pass, const char *fmt, ...)
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

/* A fresh directory for test files, beside the self test (not tmpfs). */
const char *st_tmpdir(void);

/*
 * Minimal JSON: json_valid() accepts exactly one JSON value and trailing
 * blanks; json_member() copies the raw text of member @key of the object
 * @json into @val.
 */
bool json_valid(const char *json);
bool json_member(const char *json, const char *key, char *val, size_t len);

void test_stamp(void);
void test_args(void);
void test_run(void);

#endif
