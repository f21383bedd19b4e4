/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multi-size THP (Linux 6.8 and later) for the stressors that run on large
 * anonymous folios: the --mthp SIZE checks, the size's
 * hugepages-<size>kB/enabled set to "always" for the run and restored
 * afterwards, its per-size counters for the report, and a region that is
 * exactly one VMA of aligned folios.
 */
#ifndef MMR_MTHP_H
#define MMR_MTHP_H

#include <stddef.h>
#include <sys/types.h>

#define MMR_THP_DIR	"/sys/kernel/mm/transparent_hugepage"

/* The --mthp range: two 4 KiB pages up to the largest size below x86's PMD. */
#define MMR_MTHP_MIN	(8UL << 10)
#define MMR_MTHP_MAX	(1UL << 20)

/* The size of a PMD THP in bytes, from sysfs; 0 if this kernel has none. */
unsigned long mmr_thp_pmd_size(void);

struct mmr_mthp {
	unsigned long size;		/* folio bytes: the --mthp value */
	unsigned long sub;		/* base pages per folio, once checked */

	/* set by mmr_mthp_enable(), undone by mmr_mthp_restore() */
	pid_t owner;
	char old_enabled[32];		/* old setting, "" if untouched */
};

/*
 * Check --mthp against the page size @pgsz (a power of two larger than a
 * page) and @pages against it (whole folios, and fewer than a PMD THP
 * holds, which the region would otherwise get), and set @m->sub.  Exits 2
 * with a reason on a bad one, before anything is changed.
 */
void mmr_mthp_validate(struct mmr_mthp *m, size_t pgsz, unsigned long pages);

/* @buf = "<THP dir>/hugepages-<size>kB/@file" */
void mmr_mthp_path(char *buf, size_t len, const struct mmr_mthp *m,
		   const char *file);

/* Exits 2 unless this kernel has the size, without changing anything. */
void mmr_mthp_check(const struct mmr_mthp *m);

/*
 * Set the size's enabled to "always", keeping the old setting; exits 2 if
 * it cannot.  mmr_mthp_restore() puts the old setting back, in the process
 * that changed it only (so it is safe in an atexit() handler that forks
 * inherit) and once; what goes wrong there is a warning.
 */
void mmr_mthp_enable(struct mmr_mthp *m);
void mmr_mthp_restore(struct mmr_mthp *m);

/*
 * The size's counters (stats/swpout, swpin, ...) that this kernel has, as
 * one JSON object in @buf: the report's "mthp_before" and "mthp_after".
 */
void mmr_mthp_stats(const struct mmr_mthp *m, char *buf, size_t len);

/*
 * @len bytes of private anonymous memory, read-write, aligned to the
 * folio size and between PROT_NONE guards, so that it stays exactly one
 * VMA of whole folios.  Exits 2 if it cannot be mapped.
 */
char *mmr_mthp_map(const struct mmr_mthp *m, size_t len, size_t pgsz);

#endif
