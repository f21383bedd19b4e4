// SPDX-License-Identifier: GPL-2.0
/*
 * The site table: every race window mmrace can hold open.  Site names are
 * a user contract; the symbols behind them are resolved per kernel.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/ptrace.h>

#include "mmrace.h"

/*
 * zap_pte_range.before_flush
 *
 * Probe: entry of flush_tlb_mm_range() when called from the zap loop.
 * zap_pte_range() (and zap_pmd_range()) are inlined into
 * unmap_page_range() on Debian 6.1 and 6.12, so the caller filter takes
 * the first of them that exists in kallsyms.
 *
 * 6.1 (mm/memory.c, zap_pte_range(), 6.1.192 lines 1419-1512): the loop
 * clears every PTE of the batch and calls page_remove_rmap() for each
 * page, then "if (force_flush) tlb_flush_mmu_tlbonly(tlb)" flushes the TLB
 * under the PTL.  A delay here holds the whole batch unmapped, rmap
 * dropped, TLB not flushed: folio_mkclean() sees !folio_mapped() and
 * returns without taking the PTL, writeback cleans the page, and a write
 * through another CPU's stale dirty TLB entry is lost (fixed in v6.2 by
 * 5df397dec7c4 "mm: delay rmap removal until after TLB flush").
 * A delay at page_remove_rmap() instead makes writeback wait on the PTL
 * at the first page whose rmap is not yet dropped, and the I/O starts
 * only after the flush: measured 1 lost round in 750 against 45 in 200.
 *
 * 6.12 (6.12.95 lines 1684-1687): the same flush, but dirty file pages
 * keep their rmap until tlb_flush_rmaps() after it, so writeback walks
 * the rmap, blocks on the PTL we hold and sees the dirty PTE.  The overlap
 * counter shows it got there.
 */
static const char *const zap_symbols[] = { "flush_tlb_mm_range", NULL };
static const char *const zap_callers[] = {
	"zap_pte_range", "zap_pmd_range", "unmap_page_range", NULL
};

/* unmap_page_range(tlb, vma, addr, end, details): remember vma's file */
static unsigned long zap_scope_ino(struct pt_regs *regs)
{
	struct vm_area_struct *vma =
		(struct vm_area_struct *)regs_get_kernel_argument(regs, 1);

	return vma->vm_file ? file_inode(vma->vm_file)->i_ino : 0;
}

/* folio_mkclean(folio), called with the folio locked by writeback */
static bool mkclean_overlap(struct pt_regs *regs, struct mmrace_hit *hit)
{
	struct folio *folio = (struct folio *)regs_get_kernel_argument(regs, 0);
	struct address_space *mapping = READ_ONCE(folio->mapping);

	if (!mapping || ((unsigned long)mapping & PAGE_MAPPING_ANON))
		return false;
	hit->ino = mapping->host ? mapping->host->i_ino : 0;
	hit->pfn = folio_pfn(folio);
	return true;
}

const struct mmrace_site_def mmrace_site_defs[] = {
	{
		.name = "zap_pte_range.before_flush",
		.window = "PTE batch cleared, TLB not yet flushed (PTL held)",
		.symbols = zap_symbols,
		.callers = zap_callers,
		.scope_symbol = "unmap_page_range",
		.scope_ino = zap_scope_ino,
		.overlap_symbol = "folio_mkclean",
		.overlap_hit = mkclean_overlap,
	},
};

#define NR_SITES ARRAY_SIZE(mmrace_site_defs)
struct mmrace_site mmrace_sites[NR_SITES];
const unsigned int mmrace_nr_sites = NR_SITES;
