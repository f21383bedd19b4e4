// SPDX-License-Identifier: GPL-2.0
/* Page stamps: round trips and every classification. */
#include <stdint.h>
#include <string.h>

#include "selftest.h"
#include "stamp.h"

#define PGSZ	4096

static uint64_t page[PGSZ / 8];

static enum stamp_class check(uint32_t index, uint64_t gen, bool fill)
{
	return stamp_check(page, PGSZ, index, gen, fill);
}

static bool is(enum stamp_class got, enum stamp_class want)
{
	if (got != want)
		st_diag("got %s, want %s", stamp_class_name(got),
			stamp_class_name(want));
	return got == want;
}

static void test_round_trip(void)
{
	int fill;

	for (fill = 0; fill < 2; fill++) {
		stamp_write(page, PGSZ, 7, 42, 3, fill);
		st_ok(is(check(7, 42, fill), STAMP_OK),
		      "stamp: round trip %s", fill ? "filled page" : "header");
	}
	/* Both ends of the fields' ranges survive. */
	stamp_write(page, PGSZ, UINT32_MAX, UINT64_MAX, UINT32_MAX, true);
	st_ok(is(check(UINT32_MAX, UINT64_MAX, true), STAMP_OK),
	      "stamp: round trip with maximal fields");
	memset(page, 0xa5, sizeof(page));
	stamp_write(page, PGSZ, 0, 1, 0, false);
	st_ok(is(check(0, 1, false), STAMP_OK),
	      "stamp: header-only stamp ignores the rest of the page");
}

static void test_classes(void)
{
	struct stamp *s = (struct stamp *)page;

	stamp_write(page, PGSZ, 5, 10, 1, true);
	st_ok(is(check(5, 11, true), STAMP_LOST_WRITE),
	      "stamp: older generation is lost_write");
	st_ok(is(check(5, 9, true), STAMP_CORRUPT),
	      "stamp: newer generation than written is corrupt");
	st_ok(is(check(6, 10, true), STAMP_FOREIGN),
	      "stamp: another page's stamp is foreign");
	st_ok(is(check(6, 11, false), STAMP_FOREIGN),
	      "stamp: another page's older stamp is foreign");

	memset(page, 0, sizeof(page));
	st_ok(is(check(5, 10, true), STAMP_ZERO_FILL),
	      "stamp: all-zero page is zero_fill");
	((char *)page)[PGSZ - 1] = 1;
	st_ok(is(check(5, 10, false), STAMP_CORRUPT),
	      "stamp: almost-zero page is corrupt");

	stamp_write(page, PGSZ, 5, 10, 1, true);
	s->gen ^= 1ULL << 40;
	st_ok(is(check(5, 10, true), STAMP_CORRUPT),
	      "stamp: generation bit flip fails the checksum");
	stamp_write(page, PGSZ, 5, 10, 1, true);
	s->writer = 2;
	st_ok(is(check(5, 10, true), STAMP_CORRUPT),
	      "stamp: changed writer fails the checksum");
	stamp_write(page, PGSZ, 5, 10, 1, true);
	s->csum++;
	st_ok(is(check(5, 10, true), STAMP_CORRUPT),
	      "stamp: damaged checksum is corrupt");
	stamp_write(page, PGSZ, 5, 10, 1, true);
	s->magic = 0;
	st_ok(is(check(5, 10, true), STAMP_CORRUPT),
	      "stamp: damaged magic is corrupt");

	stamp_write(page, PGSZ, 5, 10, 1, true);
	((char *)page)[PGSZ - 1] ^= 0x10;
	st_ok(is(check(5, 10, true), STAMP_CORRUPT),
	      "stamp: damaged last fill byte is corrupt");
	st_ok(is(check(5, 10, false), STAMP_OK),
	      "stamp: fill damage is not looked at without fill");

	/* A page torn between two writes: header of one, fill of another. */
	stamp_write(page, PGSZ, 5, 11, 1, true);
	stamp_write(page, PGSZ, 5, 10, 1, false);
	st_ok(is(check(5, 11, true), STAMP_CORRUPT),
	      "stamp: old header over newer fill is corrupt");
}

static void test_tally(void)
{
	struct stamp_tally a = { 0 }, b = { 0 };
	bool names = true;
	int c;

	stamp_tally_add(&a, STAMP_OK);
	stamp_tally_add(&a, STAMP_LOST_WRITE);
	stamp_tally_add(&b, STAMP_CORRUPT);
	stamp_tally_add(&b, STAMP_OK);
	stamp_tally_merge(&a, &b);
	st_ok(a.n[STAMP_OK] == 2 && a.n[STAMP_LOST_WRITE] == 1 &&
	      a.n[STAMP_CORRUPT] == 1 && stamp_tally_bad(&a) == 2 &&
	      stamp_tally_bad(&b) == 1, "stamp: tally add, merge and bad count");

	for (c = 0; c < STAMP_NR_CLASSES; c++)
		names &= !!stamp_class_name(c);
	st_ok(names && !strcmp(stamp_class_name(STAMP_OK), "ok") &&
	      !strcmp(stamp_class_name(STAMP_LOST_WRITE), "lost_write") &&
	      !strcmp(stamp_class_name(STAMP_ZERO_FILL), "zero_fill") &&
	      !strcmp(stamp_class_name(STAMP_FOREIGN), "foreign") &&
	      !strcmp(stamp_class_name(STAMP_CORRUPT), "corrupt"),
	      "stamp: class names");
}

/* Counting pages: the shortfall is the lost increments. */
static void test_count(void)
{
	uint64_t got = 99;

	stamp_count_init(page, PGSZ, 3, 1, 0, 5);
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 5, &got), STAMP_OK) &&
	      got == 5, "stamp: count as expected is ok");
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 7, &got),
		 STAMP_LOST_WRITE) && got == 5,
	      "stamp: count short of the increments made is lost_write");
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 4, &got), STAMP_CORRUPT) &&
	      got == 5, "stamp: count above the increments made is corrupt");

	/* What workers do: atomic increments from a base. */
	stamp_count_init(page, PGSZ, 3, 1, 0, 0);
	for (int w = 0; w < 3; w++)
		for (int k = 0; k < 4; k++)
			__atomic_fetch_add(stamp_counter(page), 1,
					   __ATOMIC_RELAXED);
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 12, &got), STAMP_OK) &&
	      got == 12 && *stamp_counter(page) == 12,
	      "stamp: 3 workers x 4 increments count 12");
	/* A stale copy from before the last increment came back. */
	(*stamp_counter(page))--;
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 12, &got),
		 STAMP_LOST_WRITE) && 12 - got == 1,
	      "stamp: a page one increment short lost one");
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, UINT64_MAX, &got),
		 STAMP_LOST_WRITE), "stamp: count compared over 64 bits");

	st_ok(is(stamp_check_count(page, PGSZ, 4, 1, 11, &got), STAMP_FOREIGN) &&
	      got == 0, "stamp: counting page of another index is foreign");
	memset(page, 0, sizeof(page));
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 0, &got),
		 STAMP_ZERO_FILL) && got == 0,
	      "stamp: zero counting page is zero_fill, even when 0 is due");
	/* Zero-filled by the kernel, then the workers' increments landed. */
	*stamp_counter(page) = 3;
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 9, &got),
		 STAMP_ZERO_FILL) && got == 3,
	      "stamp: zero page with increments on it is zero_fill");
	((char *)page)[PGSZ - 1] = 7;
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 9, &got), STAMP_CORRUPT),
	      "stamp: ... and with any other byte set, corrupt");
	stamp_count_init(page, PGSZ, 3, 1, 0, 2);
	((char *)page)[PGSZ - 1] = 7;
	st_ok(is(stamp_check_count(page, PGSZ, 3, 1, 2, &got), STAMP_OK),
	      "stamp: counting page ignores the bytes after the counter");
	st_ok(STAMP_COUNT_OFF == 24 && (STAMP_COUNT_OFF % 8) == 0,
	      "stamp: counter right after the 24-byte header, 8-aligned");
}

void test_stamp(void)
{
	test_round_trip();
	test_classes();
	test_tally();
	test_count();
}
