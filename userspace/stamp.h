/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page stamps: every page a stressor writes starts with a header naming the
 * page, the write (generation) and the writer, so that reading the page back
 * tells exactly which write, if any, survived.  Optionally the rest of the
 * page carries a pattern derived from the header, which catches torn and
 * partially copied pages.
 */
#ifndef MMR_STAMP_H
#define MMR_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STAMP_MAGIC	0x31726d6dU	/* "mmr1" in memory on little endian */

struct stamp {
	uint32_t magic;
	uint32_t index;		/* page index within the stressor's range */
	uint64_t gen;		/* write generation, > 0, increasing */
	uint32_t writer;	/* id of the writing thread */
	uint32_t csum;		/* over the fields above */
};

enum stamp_class {
	STAMP_OK,
	STAMP_LOST_WRITE,	/* valid stamp of this page, older generation */
	STAMP_ZERO_FILL,	/* the whole page is zero */
	STAMP_FOREIGN,		/* valid stamp of another page */
	STAMP_CORRUPT,		/* anything else */
	STAMP_NR_CLASSES
};

struct stamp_tally {
	unsigned long n[STAMP_NR_CLASSES];
};

/*
 * Write a stamp to @page (@pgsz bytes, a multiple of 8).  With @fill the rest
 * of the page gets the header's pattern too; without, only the header is
 * stored, which is all a lost-write check needs and much cheaper.
 */
void stamp_write(void *page, size_t pgsz, uint32_t index, uint64_t gen,
		 uint32_t writer, bool fill);

/*
 * Classify @page against the last write made to it: page @index, generation
 * @gen.  @fill says whether that write filled the whole page.
 */
enum stamp_class stamp_check(const void *page, size_t pgsz, uint32_t index,
			     uint64_t gen, bool fill);

/*
 * Counting pages: a header-only stamp, then at STAMP_COUNT_OFF a counter
 * that any number of threads increment atomically.  A page with fewer
 * increments than were made lost some of them (stamp_check_count() calls
 * that a lost_write), one with more is corrupt; a page that is zero but
 * for its counter was zero-filled and then incremented (a zero_fill).
 */
#define STAMP_COUNT_OFF	sizeof(struct stamp)

static inline uint64_t *stamp_counter(void *page)
{
	return (uint64_t *)((char *)page + STAMP_COUNT_OFF);
}

/* Stamp @page as stamp_write() without fill, with the counter at @count. */
void stamp_count_init(void *page, size_t pgsz, uint32_t index, uint64_t gen,
		      uint32_t writer, uint64_t count);

/*
 * Classify a counting page that must hold the stamp of page @index,
 * generation @gen, and the count @want.  *@got receives the counter (also
 * of a zero-filled page), or 0 when the stamp itself is bad.
 */
enum stamp_class stamp_check_count(const void *page, size_t pgsz,
				   uint32_t index, uint64_t gen,
				   uint64_t want, uint64_t *got);

const char *stamp_class_name(enum stamp_class c);

static inline void stamp_tally_add(struct stamp_tally *t, enum stamp_class c)
{
	t->n[c]++;
}

/* Pages in @t that are not STAMP_OK. */
unsigned long stamp_tally_bad(const struct stamp_tally *t);

/* @dst += @src */
void stamp_tally_merge(struct stamp_tally *dst, const struct stamp_tally *src);

#endif
