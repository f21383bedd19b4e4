// SPDX-License-Identifier: GPL-2.0
/*
 * Where a stressor's mapping goes: an aligned address inside a PROT_NONE
 * reservation, so that the layout the race needs does not depend on where
 * mmap() happens to place it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

char *mmr_reserve_aligned(size_t len, size_t align, size_t pgsz)
{
	size_t span = len + 2 * align;
	char *raw;

	raw = mmap(NULL, span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		mmr_fail("mmap of %zu bytes: %s", span, strerror(errno));
	/* A guard page or more on either side: no neighbour to merge with. */
	return (char *)(((uintptr_t)raw + pgsz + align - 1) &
			~(uintptr_t)(align - 1));
}
