// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-size THP for mmrace-folio and mmrace-swapin --mthp: checks, the
 * sysfs setting of the size for the run, its counters and the mapping.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "mthp.h"

/* Per-size counters reported before and after, where the kernel has them. */
static const char *const mthp_stats[] = {
	"anon_fault_alloc", "anon_fault_fallback", "swpin", "swpout",
	"swpout_fallback", "split", "split_failed", "split_deferred",
	"nr_anon", "nr_anon_partially_mapped", NULL
};

unsigned long mmr_thp_pmd_size(void)
{
	char buf[32];

	if (mmr_read_file(MMR_THP_DIR "/hpage_pmd_size", buf, sizeof(buf)) <= 0)
		return 0;
	return strtoul(buf, NULL, 10);
}

void mmr_mthp_validate(struct mmr_mthp *m, size_t pgsz, unsigned long pages)
{
	char buf[32], sz[16];
	unsigned long pmd = mmr_thp_pmd_size() ?: 2UL << 20;

	mmr_size_str(sz, sizeof(sz), m->size);
	if (m->size & (m->size - 1))
		mmr_fail("--mthp: %s is not a power of two", sz);
	if (m->size < 2 * pgsz)
		mmr_fail("--mthp: %s is not larger than a page", sz);
	m->sub = m->size / pgsz;
	if (pages % m->sub)
		mmr_fail("--pages: %lu is not a multiple of %lu (--mthp %s)",
			 pages, m->sub, sz);
	/* A region that can hold a PMD-aligned block would get a PMD THP. */
	if (pages * pgsz >= pmd)
		mmr_fail("--pages: %lu pages are not smaller than a PMD THP (%s)",
			 pages, mmr_size_str(buf, sizeof(buf), pmd));
}

void mmr_mthp_path(char *buf, size_t len, const struct mmr_mthp *m,
		   const char *file)
{
	snprintf(buf, len, MMR_THP_DIR "/hugepages-%lukB/%s", m->size >> 10,
		 file);
}

void mmr_mthp_check(const struct mmr_mthp *m)
{
	char path[PATH_MAX];
	struct stat st;

	mmr_mthp_path(path, sizeof(path), m, "enabled");
	if (stat(path, &st))
		mmr_fail("--mthp: %s: %s (multi-size THP needs Linux 6.8)",
			 path, strerror(errno));
}

/* "always inherit madvise [never]" -> "never" */
static bool mthp_selected(const char *setting, char *word, size_t len)
{
	const char *open = strchr(setting, '['), *close;

	if (!open || !(close = strchr(open, ']')))
		return false;
	snprintf(word, len, "%.*s", (int)(close - open - 1), open + 1);
	return true;
}

void mmr_mthp_enable(struct mmr_mthp *m)
{
	char path[PATH_MAX], buf[128];
	int err;

	m->owner = getpid();
	mmr_mthp_path(path, sizeof(path), m, "enabled");
	err = mmr_read_file(path, buf, sizeof(buf));
	if (err < 0 || !mthp_selected(buf, m->old_enabled,
				      sizeof(m->old_enabled)))
		mmr_fail("--mthp: %s: %s", path,
			 err < 0 ? strerror(-err) : "unexpected contents");
	err = mmr_write_file(path, "always");
	if (err) {
		m->old_enabled[0] = '\0';
		mmr_fail("--mthp: %s: %s", path, strerror(-err));
	}
}

void mmr_mthp_restore(struct mmr_mthp *m)
{
	char path[PATH_MAX];
	int err;

	if (m->owner != getpid() || !m->old_enabled[0])
		return;
	mmr_mthp_path(path, sizeof(path), m, "enabled");
	err = mmr_write_file(path, m->old_enabled);
	if (err)
		mmr_warn("%s: %s", path, strerror(-err));
	m->old_enabled[0] = '\0';
}

void mmr_mthp_stats(const struct mmr_mthp *m, char *buf, size_t len)
{
	char path[PATH_MAX], file[64], val[32];
	size_t n = 0;
	int i;

	n += snprintf(buf + n, len - n, "{");
	for (i = 0; mthp_stats[i]; i++) {
		snprintf(file, sizeof(file), "stats/%s", mthp_stats[i]);
		mmr_mthp_path(path, sizeof(path), m, file);
		if (mmr_read_file(path, val, sizeof(val)) <= 0 ||
		    val[strspn(val, "0123456789")])
			continue;
		n += snprintf(buf + n, len - n, "%s\"%s\":%s",
			      n > 1 ? "," : "", mthp_stats[i], val);
	}
	snprintf(buf + n, len - n, "}");
}

char *mmr_mthp_map(const struct mmr_mthp *m, size_t len, size_t pgsz)
{
	char *start = mmr_reserve_aligned(len, m->size, pgsz);

	if (mmap(start, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		mmr_fail("mmap of %zu bytes: %s", len, strerror(errno));
	return start;
}
