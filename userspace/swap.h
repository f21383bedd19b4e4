/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Swap for the anonymous-memory stressors: --swap none uses the swap that
 * is on; --swap zram:SIZE and brd:SIZE set up a swap area of SIZE on a
 * SWP_SYNCHRONOUS_IO device of the stressor's own, at the highest
 * priority, and take it down at exit; --swap off asks for no swap at all,
 * so that nothing is swapped and only the stressor itself is exercised.
 * Races that need a freed swap slot to be reused (R2) want SIZE about the
 * size of the working set: below about 5 MiB on 4 CPUs the kernel keeps
 * no per-CPU swap slot caches, which would hold freed slots back.
 */
#ifndef MMR_SWAP_H
#define MMR_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

enum mmr_swap_kind {
	MMR_SWAP_NONE,			/* the swap that is on */
	MMR_SWAP_OFF,			/* none at all: checks the stressor only */
	MMR_SWAP_ZRAM,
	MMR_SWAP_BRD,
};

#define MMR_SWAP_MIN	(8UL << 10)	/* the header page and one slot */
#define MMR_SWAP_MAX	(1UL << 40)

struct mmr_swap {
	enum mmr_swap_kind kind;
	unsigned long bytes;		/* size of the swap area; 0 with none */
	char spec[32];			/* the --swap value, canonical: "zram:2M" */
	char dev[64];			/* the device swapped on, after setup */
};

/*
 * Parse a --swap value: "none", "off", "zram:SIZE" or "brd:SIZE", SIZE a
 * multiple of the page size.  Exits 2 with a reason on a bad one.
 */
void mmr_swap_parse(struct mmr_swap *sw, const char *arg);

/*
 * Check for (none), skip (off) or set up the swap area; exits 2 with a
 * reason if it cannot.  What was set up is taken down by
 * mmr_swap_teardown(), which also runs at exit of the process that called
 * this (not of its forks).
 */
void mmr_swap_setup(struct mmr_swap *sw, uint64_t seed);
void mmr_swap_teardown(void);

/* The report's "swap_device": the device, or null with none. */
struct mmr_field mmr_swap_dev_field(const struct mmr_swap *sw);

/* /proc/vmstat's pswpin and pswpout: what a run swapped, if counted. */
struct mmr_swap_io {
	unsigned long in, out;
	bool ok;			/* false: no VM_EVENT_COUNTERS */
};

void mmr_swap_io(struct mmr_swap_io *io);

/* "after - before" in @buf as a JSON number, or null when not counted. */
const char *mmr_swap_io_delta(char *buf, size_t len, unsigned long after,
			      unsigned long before, bool ok);

/*
 * Fill @page (@pgsz bytes) with the header of a swap area of @nr_pages
 * pages, this one included: the kernel's union swap_header, version 1,
 * no bad pages, "SWAPSPACE2" in its last 10 bytes.
 */
void mmr_swap_header(void *page, size_t pgsz, unsigned long nr_pages,
		     const uint8_t uuid[16], const char *label);

#endif
