// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>
#include <string.h>

#include "rand.h"
#include "stamp.h"

static const char *const stamp_class_names[STAMP_NR_CLASSES] = {
	[STAMP_OK]		= "ok",
	[STAMP_LOST_WRITE]	= "lost_write",
	[STAMP_ZERO_FILL]	= "zero_fill",
	[STAMP_FOREIGN]		= "foreign",
	[STAMP_CORRUPT]		= "corrupt",
};

const char *stamp_class_name(enum stamp_class c)
{
	return stamp_class_names[c];
}

static uint32_t stamp_csum(const struct stamp *s)
{
	uint64_t h;

	h = mmr_mix64(((uint64_t)s->magic << 32) | s->index);
	h = mmr_mix64(h ^ s->gen);
	h = mmr_mix64(h ^ s->writer);
	return (uint32_t)(h ^ (h >> 32));
}

/* Word @i of the fill pattern that follows header @s. */
static inline uint64_t stamp_fill_word(const struct stamp *s, size_t i)
{
	return mmr_mix64((((uint64_t)s->csum << 32) ^ s->gen) + i * MMR_GOLDEN);
}

void stamp_write(void *page, size_t pgsz, uint32_t index, uint64_t gen,
		 uint32_t writer, bool fill)
{
	struct stamp s = {
		.magic	= STAMP_MAGIC,
		.index	= index,
		.gen	= gen,
		.writer	= writer,
	};

	s.csum = stamp_csum(&s);
	if (fill) {
		uint64_t *w = (uint64_t *)((char *)page + sizeof(s));
		size_t i, nr = (pgsz - sizeof(s)) / sizeof(*w);

		for (i = 0; i < nr; i++)
			w[i] = stamp_fill_word(&s, i);
	}
	memcpy(page, &s, sizeof(s));
}

/* Whether @page is all zero, the word at byte offset @skip aside. */
static bool page_is_zero(const void *page, size_t pgsz, size_t skip)
{
	const uint64_t *w = page;
	size_t i;

	for (i = 0; i < pgsz / sizeof(*w); i++)
		if (w[i] && i != skip / sizeof(*w))
			return false;
	return true;
}

static bool stamp_fill_ok(const struct stamp *s, const void *page, size_t pgsz)
{
	const uint64_t *w = (const uint64_t *)((const char *)page + sizeof(*s));
	size_t i, nr = (pgsz - sizeof(*s)) / sizeof(*w);

	for (i = 0; i < nr; i++)
		if (w[i] != stamp_fill_word(s, i))
			return false;
	return true;
}

enum stamp_class stamp_check(const void *page, size_t pgsz, uint32_t index,
			     uint64_t gen, bool fill)
{
	struct stamp s;

	memcpy(&s, page, sizeof(s));
	if (s.magic != STAMP_MAGIC)
		return page_is_zero(page, pgsz, SIZE_MAX) ? STAMP_ZERO_FILL :
							    STAMP_CORRUPT;
	if (s.csum != stamp_csum(&s))
		return STAMP_CORRUPT;
	if (fill && !stamp_fill_ok(&s, page, pgsz))
		return STAMP_CORRUPT;
	if (s.index != index)
		return STAMP_FOREIGN;
	if (s.gen == gen)
		return STAMP_OK;
	/* A generation from the future cannot be a lost write: it is garbage. */
	return s.gen < gen ? STAMP_LOST_WRITE : STAMP_CORRUPT;
}

void stamp_count_init(void *page, size_t pgsz, uint32_t index, uint64_t gen,
		      uint32_t writer, uint64_t count)
{
	stamp_write(page, pgsz, index, gen, writer, false);
	*stamp_counter(page) = count;
}

enum stamp_class stamp_check_count(const void *page, size_t pgsz,
				   uint32_t index, uint64_t gen,
				   uint64_t want, uint64_t *got)
{
	enum stamp_class c = stamp_check(page, pgsz, index, gen, false);

	memcpy(got, (const char *)page + STAMP_COUNT_OFF, sizeof(*got));
	/*
	 * A zero-filled page that the workers went on incrementing holds
	 * nothing but their increments: still a zero fill.
	 */
	if (c == STAMP_CORRUPT && page_is_zero(page, pgsz, STAMP_COUNT_OFF))
		return STAMP_ZERO_FILL;
	if (c != STAMP_OK) {
		*got = 0;
		return c;
	}
	if (*got == want)
		return STAMP_OK;
	return *got < want ? STAMP_LOST_WRITE : STAMP_CORRUPT;
}

unsigned long stamp_tally_bad(const struct stamp_tally *t)
{
	unsigned long bad = 0;
	int c;

	for (c = 0; c < STAMP_NR_CLASSES; c++)
		if (c != STAMP_OK)
			bad += t->n[c];
	return bad;
}

void stamp_tally_merge(struct stamp_tally *dst, const struct stamp_tally *src)
{
	int c;

	for (c = 0; c < STAMP_NR_CLASSES; c++)
		dst->n[c] += src->n[c];
}
