/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every mmrace stressor shares: command line, run budget, CPU pinning,
 * thread names, trace markers and the result report.
 *
 * Exit status of every stressor: 0 clean, 1 corruption found, 2 usage or
 * setup error (after exactly one line "mmrace-<name>: <reason>" on stderr).
 */
#ifndef MMR_COMMON_H
#define MMR_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stamp.h"

#define MMR_EXIT_CLEAN		0
#define MMR_EXIT_CORRUPTION	1
#define MMR_EXIT_USAGE		2

#define MMR_MAX_THREADS		16
#define MMR_MAX_PAGES		(1UL << 20)

/* Per-page trace markers per round; a badly broken kernel must not flood. */
#define MMR_MARKS_PER_ROUND	16

enum mmr_opt_type {
	MMR_OPT_FLAG,		/* bool, no argument */
	MMR_OPT_ULONG,		/* unsigned long in [min, max] */
	MMR_OPT_SECONDS,	/* double, finite, > 0 */
	MMR_OPT_STRING,		/* const char *, not empty */
	MMR_OPT_CHOICE,		/* int, index into choices[] */
	MMR_OPT_CPUS,		/* struct mmr_cpus */
	MMR_OPT_SIZE,		/* unsigned long bytes, K/M/G/T suffix, in [min, max] */
};

/*
 * One long option.  The value lands at offset @off of the structure the
 * table belongs to: struct mmr_opts for the common table, the stressor's
 * own context for its table.
 */
struct mmr_option {
	const char *name;
	enum mmr_opt_type type;
	size_t off;
	const char *metavar;		/* argument name in --help */
	const char *help;		/* lines separated by '\n' */
	unsigned long min, max;		/* MMR_OPT_ULONG, MMR_OPT_SIZE */
	const char *const *choices;	/* MMR_OPT_CHOICE, NULL terminated */
};

struct mmr_cpus {
	int nr;				/* 0: do not pin */
	int cpu[MMR_MAX_THREADS];	/* in the stressor's thread order */
};

struct mmr_opts {
	unsigned long rounds;
	double duration;
	unsigned long pages;
	bool until_first;
	unsigned long seed;
	bool json;
	struct mmr_cpus cpus;
	bool no_markers;
};

struct mmr_stressor {
	const char *name;		/* the binary is mmrace-<name> */
	const char *summary;		/* one line, for NAME */
	const char *description;	/* lines separated by '\n' */
	const struct mmr_option *options;	/* own options, name NULL ends */
	const char *const *threads;	/* thread names in --cpus order */
	/*
	 * Number of threads to pin, from the parsed options, for stressors
	 * whose thread count is an option; NULL: one per threads[] name.
	 */
	int (*nr_threads)(const void *ctx);
	struct mmr_opts defaults;
};

/*
 * Parse argv into @opts (starting from the stressor's defaults) and @ctx (the
 * stressor's own options, already holding their defaults).  Also resolves
 * the CPUs to pin to, seeds from the clock unless --seed is given, and opens
 * the trace marker.  Exits 2 on any bad argument, 0 after --help.
 */
void mmr_parse(const struct mmr_stressor *s, struct mmr_opts *opts, void *ctx,
	       int argc, char **argv);

/*
 * A size: digits with an optional K, M, G or T suffix (powers of 1024), in
 * [@min, @max] bytes.  Exits 2 naming --@opt on a bad one.
 */
unsigned long mmr_parse_size(const char *opt, const char *arg,
			     unsigned long min, unsigned long max);

/* @bytes in the largest unit that is exact: "64K", "2M", "1000". */
const char *mmr_size_str(char *buf, size_t len, unsigned long bytes);

/* Print "mmrace-<name>: <reason>" as one line to stderr and exit 2. */
void mmr_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* The same line without exiting, for what goes wrong while cleaning up. */
void mmr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Seconds on CLOCK_MONOTONIC. */
double mmr_now(void);

/*
 * CPUs for @nr_threads threads: by default the allowed CPUs after the first
 * (left to the main thread and the rest of the system), or none when there
 * are not that many.  mmr_cpus_check() exits 2 unless every thread has a CPU
 * this process may run on.  Both are called by mmr_parse().
 */
void mmr_cpus_default(struct mmr_cpus *cpus, int nr_threads);
void mmr_cpus_check(const struct mmr_cpus *cpus, int nr_threads);

/*
 * Keep the calling (main) thread off the CPUs given to the racing threads:
 * a task switch on the writer's CPU would flush the very TLB entries a
 * race depends on.  No-op when nothing is pinned.
 */
void mmr_cpus_keep_off(const struct mmr_cpus *cpus);

/* In busy-wait loops: tell the CPU (and a hypervisor) that we spin. */
static inline void mmr_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Name the calling thread and, if @cpu >= 0, pin it there. */
void mmr_thread_setup(const char *name, int cpu);

/* Rename the calling thread: a phase of its work a comm filter can tell. */
void mmr_thread_rename(const char *name);

/*
 * Small sysfs, procfs and cgroupfs files.  mmr_read_file() returns the
 * length read with the trailing newline removed, mmr_write_file() 0; both
 * -errno on failure.
 */
int mmr_read_file(const char *path, char *buf, size_t len);
int mmr_write_file(const char *path, const char *val);

/* Counter @name of /proc/vmstat; false if this kernel has none. */
bool mmr_vmstat(const char *name, unsigned long *val);

/*
 * Field @field ("FilePmdMapped", "Rss", ...) of this process's mapping
 * that starts at @start, in kB, from /proc/self/smaps; false if there is
 * no such mapping or field.
 */
bool mmr_smaps_kb(const void *start, const char *field, unsigned long *kb);

/*
 * The start of @len bytes aligned to @align (a power of two, at least
 * @pgsz) inside a PROT_NONE reservation, with a guard page or more on
 * either side.  The caller maps over it with MAP_FIXED; exits 2 on failure.
 */
char *mmr_reserve_aligned(size_t len, size_t align, size_t pgsz);

/* Trace markers: "mmrace: <text>" lines in the ftrace buffer, if possible. */
void mmr_marker_open(void);
void mmr_marker(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run budget and results, shared by all round-based stressors. */
struct mmr_run {
	double start;
	double stress_seconds;
	unsigned long rounds;
	unsigned long bad_rounds;
	struct stamp_tally tally;
	unsigned long first_bad_round;	/* 0: none */
	double first_bad_seconds;
};

/*
 * Stressor-specific facts for the report, e.g. { "mode", "dontneed" }.
 * With @raw, @val is JSON text (a number, object, null) rather than a
 * string, and the human summary gives it a line of its own.
 */
struct mmr_field {
	const char *key;
	const char *val;
	bool raw;
};

#define MMR_FIELD(_key, _val)		{ .key = (_key), .val = (_val) }
#define MMR_FIELD_RAW(_key, _val)	{ .key = (_key), .val = (_val), .raw = true }
#define MMR_FIELD_END			{ .key = NULL }

/* Start the clock; SIGINT/SIGTERM end the run after the current round. */
void mmr_run_begin(struct mmr_run *run);

/* Is there budget for another round? */
bool mmr_run_more(const struct mmr_run *run, const struct mmr_opts *opts);

/*
 * Classify one page checked in round @round (1-based), add it to @t and
 * mark the first bad pages of the round in the trace.
 */
enum stamp_class mmr_check_page(struct stamp_tally *t, unsigned long round,
				const void *page, size_t pgsz, uint32_t index,
				uint64_t gen, bool fill);

/* Add a page classified otherwise to @t, as mmr_check_page() does. */
void mmr_tally_page(struct stamp_tally *t, unsigned long round,
		    uint32_t index, enum stamp_class c);

/* Account a finished round whose pages were tallied in @t. */
void mmr_run_round(struct mmr_run *run, const struct stamp_tally *t);

/*
 * Print the summary (human, or one JSON object with --json) and return the
 * exit status.  @fields ends with a NULL key.
 */
int mmr_run_report(struct mmr_run *run, const struct mmr_stressor *s,
		   const struct mmr_opts *opts, const struct mmr_field *fields);

#endif
