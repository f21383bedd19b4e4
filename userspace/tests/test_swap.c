// SPDX-License-Identifier: GPL-2.0
/*
 * The swap library without swapping: --swap values, and the swap header
 * byte by byte against the kernel's union swap_header (version 1).
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "selftest.h"
#include "swap.h"

static uint32_t u32_at(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* Only the bytes the kernel reads may be set, nothing else. */
static bool zero_except(const uint8_t *p, size_t len, size_t from, size_t to,
			size_t magic)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] && (i < from || i >= to) && i < magic)
			return false;
	return true;
}

static void test_header_size(size_t pgsz)
{
	static const uint8_t uuid[16] = {
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
	};
	static uint8_t page[65536 + 1];

	memset(page, 0xee, sizeof(page));
	mmr_swap_header(page, pgsz, 512, uuid, "mmrace");
	st_ok(!memcmp(page + pgsz - 10, "SWAPSPACE2", 10),
	      "swap: %zu-byte header ends in SWAPSPACE2", pgsz);
	st_ok(u32_at(page, 1024) == 1 && u32_at(page, 1028) == 511 &&
	      u32_at(page, 1032) == 0,
	      "swap: %zu-byte header: version 1, last_page 511, no bad pages",
	      pgsz);
	st_ok(!memcmp(page + 1036, uuid, 16) &&
	      !memcmp(page + 1052, "mmrace\0\0\0\0\0\0\0\0\0\0", 16),
	      "swap: %zu-byte header: uuid at 1036, label at 1052", pgsz);
	st_ok(zero_except(page, pgsz, 1024, 1068, pgsz - 10) &&
	      page[pgsz] == 0xee,
	      "swap: %zu-byte header: zero elsewhere, nothing written past it",
	      pgsz);
}

static void test_header(void)
{
	static uint8_t page[4096];
	static const uint8_t uuid[16];

	test_header_size(4096);
	test_header_size(16384);
	test_header_size(65536);
	mmr_swap_header(page, sizeof(page), 2, uuid,
			"a label longer than sixteen bytes");
	st_ok(u32_at(page, 1028) == 1 && page[1067] == 0 &&
	      !memcmp(page + 1052, "a label longer ", 15),
	      "swap: smallest area, long label cut and terminated");
}

static bool parsed(const char *arg, enum mmr_swap_kind kind,
		   unsigned long bytes, const char *spec)
{
	struct mmr_swap sw;

	memset(&sw, 0xff, sizeof(sw));
	mmr_swap_parse(&sw, arg);
	if (sw.kind == kind && sw.bytes == bytes && !strcmp(sw.spec, spec) &&
	    !sw.dev[0])
		return true;
	st_diag("--swap %s: kind %d, %lu bytes, spec %s", arg, sw.kind,
		sw.bytes, sw.spec);
	return false;
}

static void test_parse(void)
{
	long pgsz = sysconf(_SC_PAGESIZE);

	st_ok(parsed("none", MMR_SWAP_NONE, 0, "none") &&
	      parsed("off", MMR_SWAP_OFF, 0, "off"),
	      "swap: none and off parsed");
	st_ok(parsed("zram:2M", MMR_SWAP_ZRAM, 2 << 20, "zram:2M") &&
	      parsed("zram:320K", MMR_SWAP_ZRAM, 320 << 10, "zram:320K") &&
	      parsed("brd:1024K", MMR_SWAP_BRD, 1 << 20, "brd:1M") &&
	      parsed("zram:64m", MMR_SWAP_ZRAM, 64 << 20, "zram:64M") &&
	      parsed("brd:1T", MMR_SWAP_BRD, 1UL << 40, "brd:1T"),
	      "swap: zram:SIZE and brd:SIZE parsed, spec canonical");
	st_ok(pgsz != 4096 || parsed("zram:8192", MMR_SWAP_ZRAM, 8192,
				     "zram:8K"),
	      "swap: smallest area, two pages, in bytes");
}

void test_swap(void)
{
	test_header();
	test_parse();
}
