/* SPDX-License-Identifier: GPL-2.0 */
/*
 * splitmix64: a tiny, fast, seedable generator.  Good enough to spread page
 * stamps and to vary the stressors' access order reproducibly from --seed.
 */
#ifndef MMR_RAND_H
#define MMR_RAND_H

#include <stdint.h>

#define MMR_GOLDEN	0x9e3779b97f4a7c15ULL

static inline uint64_t mmr_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t mmr_rand(uint64_t *state)
{
	*state += MMR_GOLDEN;
	return mmr_mix64(*state);
}

#endif
