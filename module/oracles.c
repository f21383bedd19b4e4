// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-side oracles: symptoms of a race that user space cannot see in
 * its pages.
 *
 * unmap_incomplete (R3): reclaim's try_to_unmap() of a large folio returned
 * with the folio still mapped.  Before v6.10 (73bc32875ee9) reclaim did not
 * pass TTU_SYNC for large folios, so page_vma_mapped_walk() could start
 * mid-folio when another task had a PTE cleared for a break-before-make
 * update and leave the first PTEs mapped: reclaim fails for that folio and
 * it may be split later.  The data stays intact, so the page checks alone
 * say nothing.  On a fixed kernel, still_mapped stays low: a folio can
 * still be refaulted in the moment between the walk and the return.
 *
 * Always armed while the module is loaded: reclaim of large folios only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/seq_file.h>

#include "mmrace.h"

static const struct mmrace_alts reclaim_callers = {
	{ "shrink_folio_list", "shrink_page_list" }
};

static struct mmrace_range reclaim_range[2];
static atomic64_t large_unmaps, still_mapped;
static bool registered;

/* try_to_unmap(folio, flags), from reclaim, on a large folio */
static int ttu_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct folio *folio = (struct folio *)regs_get_kernel_argument(regs, 0);

	if (!mmrace_in_ranges(reclaim_range, ARRAY_SIZE(reclaim_range),
			      mmrace_caller(regs)) ||
	    !folio_test_large(folio))
		return 1;
	*(struct folio **)ri->data = folio;
	return 0;
}

/* The folio is locked by reclaim across the call: still ours to look at. */
static int ttu_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct folio *folio = *(struct folio **)ri->data;

	atomic64_inc(&large_unmaps);
	if (folio_mapped(folio))
		atomic64_inc(&still_mapped);
	return 0;
}

static struct kretprobe ttu_krp = {
	.kp.symbol_name = "try_to_unmap",
	.entry_handler = ttu_entry,
	.handler = ttu_ret,
	.data_size = sizeof(struct folio *),
	.maxactive = 16,
};

void mmrace_oracles_init(void)
{
	if (!mmrace_resolve_alts(&reclaim_callers, reclaim_range) ||
	    register_kretprobe(&ttu_krp)) {
		pr_info("unmap_incomplete: reclaim symbols not found, oracle off\n");
		return;
	}
	registered = true;
}

void mmrace_oracles_exit(void)
{
	if (registered)
		unregister_kretprobe(&ttu_krp);
	registered = false;
}

void mmrace_oracles_reset(void)
{
	atomic64_set(&large_unmaps, 0);
	atomic64_set(&still_mapped, 0);
}

int mmrace_oracles_show(struct seq_file *m, void *v)
{
	if (!registered) {
		seq_puts(m, "unmap_incomplete unresolved\n");
		return 0;
	}
	/* missed: calls with no free kretprobe instance, not counted above */
	seq_printf(m, "unmap_incomplete large_unmaps=%lld still_mapped=%lld missed=%d\n",
		   atomic64_read(&large_unmaps), atomic64_read(&still_mapped),
		   ttu_krp.nmissed);
	return 0;
}
