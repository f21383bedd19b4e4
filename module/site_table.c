// SPDX-License-Identifier: GPL-2.0
/*
 * The site table: every race window mmrace can hold open.  Site names are
 * a user contract; the symbols behind them are resolved per kernel.  Line
 * numbers are those of Debian's 6.1.192 and 6.12.95 sources.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/swap.h>
#include <linux/swapops.h>

#include "mmrace.h"

static void folio_facts(struct folio *folio, struct mmrace_hit *hit)
{
	hit->pfn = folio_pfn(folio);
	hit->order = folio_order(folio);
	hit->anon = folio_test_anon(folio);
	if (!hit->anon && folio->mapping && folio->mapping->host)
		hit->ino = folio->mapping->host->i_ino;
}

/* ------------------------------------------------------------------------
 * zap_pte_range.before_flush (R1)
 *
 * Probe: entry of flush_tlb_mm_range() when called from the zap loop.
 * zap_pte_range() (and zap_pmd_range()) are inlined into
 * unmap_page_range() on Debian 6.1 and 6.12, so the caller filter takes
 * the first of them that exists in kallsyms.
 *
 * 6.1 (mm/memory.c, zap_pte_range(), lines 1419-1512): the loop clears
 * every PTE of the batch and calls page_remove_rmap() for each page, then
 * "if (force_flush) tlb_flush_mmu_tlbonly(tlb)" flushes the TLB under the
 * PTL.  A delay here holds the whole batch unmapped, rmap dropped, TLB not
 * flushed: folio_mkclean() sees !folio_mapped() and returns without taking
 * the PTL, writeback cleans the page, and a write through another CPU's
 * stale dirty TLB entry is lost (fixed in v6.2 by 5df397dec7c4 "mm: delay
 * rmap removal until after TLB flush").  A delay at page_remove_rmap()
 * instead makes writeback wait on the PTL at the first page whose rmap is
 * not yet dropped, and the I/O starts only after the flush (a probe: 1
 * lost round in 750 against 45 in 200 here).
 *
 * 6.12 (lines 1684-1687): the same flush, but dirty file pages keep their
 * rmap until tlb_flush_rmaps() after it, so writeback walks the rmap,
 * blocks on the PTL we hold and sees the dirty PTE.  The overlap counter
 * shows it got there.
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

/* ------------------------------------------------------------------------
 * do_swap_page.entry and do_swap_page.after_read (R2)
 *
 * On a SWP_SYNCHRONOUS_IO device (zram, brd) with a swap count of 1,
 * do_swap_page() skips the swap cache: it allocates a folio, reads the
 * entry into it and only then takes the PTL and checks pte_same().  If a
 * second fault on the same entry finishes first, frees the entry and the
 * slot is reused by a new swap-out, pte_same() still holds and the first
 * fault installs stale data (fixed in v6.8 by 13ddaf26be32 "mm/swap: fix
 * race when skipping swapcache", in 6.1.80: swapcache_prepare() makes the
 * second fault back off with schedule_timeout_uninterruptible(1)).
 *
 * after_read: return of swap_readpage() (6.1, line 3882) or
 * swap_read_folio() (6.12, line 4321) called from do_swap_page(): the read
 * is done, the PTL and pte_same() check (6.1 lines 3965-3967, 6.12 lines
 * 4407-4409) are still ahead.  The key is the swap entry, which the caller stored in
 * folio->private / folio->swap (the same word) before the read, so two
 * faults on one entry can rendezvous here.  The overlap is the fix at
 * work: a second fault turned back while this site delays another.
 */
static const char *const read_symbols[] = {
	"swap_read_folio", "swap_readpage", NULL
};
static const char *const do_swap_page_callers[] = { "do_swap_page", NULL };

/* swap_readpage(page, ...) / swap_read_folio(folio, ...) */
static void swapread_args(struct pt_regs *regs, struct mmrace_hit *hit)
{
	struct page *page = (struct page *)regs_get_kernel_argument(regs, 0);

	folio_facts(page_folio(page), hit);
	/* not in the anon rmap yet, but do_swap_page() only swaps in anon */
	hit->anon = 1;
	hit->key = page_private(page);
}

/* schedule_timeout_uninterruptible(1) after swapcache_prepare() failed */
static bool backoff_overlap(struct pt_regs *regs, struct mmrace_hit *hit)
{
	return true;	/* the caller filter already says it is the back-off */
}

static const char *const dsp_symbols[] = { "do_swap_page", NULL };

/* do_swap_page(vmf): the entry the fault is about */
static void dsp_args(struct pt_regs *regs, struct mmrace_hit *hit)
{
	struct vm_fault *vmf = (struct vm_fault *)regs_get_kernel_argument(regs, 0);

	hit->key = pte_to_swp_entry(vmf->orig_pte).val;
	hit->anon = vma_is_anonymous(vmf->vma);
}

/* ------------------------------------------------------------------------
 * try_to_unmap_one.entry / .return and change_pte_range.after_clear (R3)
 *
 * Before v6.10 (73bc32875ee9) reclaim did not pass TTU_SYNC for large
 * folios: try_to_unmap_one()'s page_vma_mapped_walk() looked at the first
 * PTE without the PTL, and when another task had just cleared it for a
 * break-before-make update (mprotect: ptep_modify_prot_start(), 6.12
 * mm/mprotect.c line 169, 6.1 line 170) the walk started mid-folio and reclaim left the
 * folio partly mapped.  The window that matters is the mprotect side's:
 * change_pte_range.after_clear is the return of __ptep_modify_prot_start()
 * (the native paravirt op, out of line on Debian's PARAVIRT_XXL kernels):
 * PTE cleared, new PTE not yet committed.  Keyed by folio, a reclaimer
 * waiting at try_to_unmap_one.entry (rendezvous_us) is released into it.
 */
static const char *const ttuo_symbols[] = { "try_to_unmap_one", NULL };

/* try_to_unmap_one(folio, vma, address, arg) */
static void ttuo_args(struct pt_regs *regs, struct mmrace_hit *hit)
{
	struct folio *folio = (struct folio *)regs_get_kernel_argument(regs, 0);

	folio_facts(folio, hit);
	hit->key = folio_pfn(folio);
}

static const char *const modify_symbols[] = {
	"__ptep_modify_prot_start", NULL
};
static const char *const modify_callers[] = {
	"change_pte_range", "change_pmd_range", "change_protection_range",
	"change_protection", NULL
};

/*
 * Returns the old PTE: the page it mapped and its folio.  Only normal
 * pages: a pte_special() one (VM_PFNMAP, VM_MIXEDMAP raw PFNs, the zero
 * page) may map memory whose struct page is not a folio at all, e.g. a
 * driver's remap_pfn_range() of a slab buffer.  Called only for tasks the
 * site's filters select (inject.c's window()).
 */
static void modify_ret(struct pt_regs *regs, struct mmrace_hit *hit)
{
	pte_t pte = __pte(regs_return_value(regs));
	unsigned long pfn = pte_pfn(pte);

	if (!pte_present(pte) || pte_special(pte) || !pfn_valid(pfn))
		return;
	folio_facts(page_folio(pfn_to_page(pfn)), hit);
	hit->key = hit->pfn;
}

const struct mmrace_site_def mmrace_site_defs[] = {
	{
		.name = "zap_pte_range.before_flush",
		.window = "PTE batch cleared, TLB not yet flushed (PTL held)",
		.symbols = zap_symbols,
		.callers = zap_callers,
		.filters = MMRACE_F_INO,
		.scope_symbol = "unmap_page_range",
		.scope_ino = zap_scope_ino,
		.overlap_symbol = "folio_mkclean",
		.overlap_hit = mkclean_overlap,
	},
	{
		.name = "do_swap_page.entry",
		.window = "swap fault taken, nothing looked up yet",
		.symbols = dsp_symbols,
		.args = dsp_args,
		.filters = MMRACE_F_KEY,
	},
	{
		.name = "do_swap_page.after_read",
		.window = "swap read done, PTL and pte_same() check not yet taken",
		.symbols = read_symbols,
		.callers = do_swap_page_callers,
		.at_return = true,
		.args = swapread_args,
		.filters = MMRACE_F_FOLIO | MMRACE_F_KEY,
		.overlap_symbol = "schedule_timeout_uninterruptible",
		.overlap_callers = do_swap_page_callers,
		.overlap_hit = backoff_overlap,
	},
	{
		.name = "try_to_unmap_one.entry",
		.window = "reclaim about to walk one VMA's PTEs of a folio",
		.symbols = ttuo_symbols,
		.args = ttuo_args,
		.filters = MMRACE_F_INO | MMRACE_F_FOLIO | MMRACE_F_KEY,
	},
	{
		.name = "try_to_unmap_one.return",
		.window = "one VMA unmapped, PTL dropped, rest of the rmap walk ahead",
		.symbols = ttuo_symbols,
		.at_return = true,
		.args = ttuo_args,
		.filters = MMRACE_F_INO | MMRACE_F_FOLIO | MMRACE_F_KEY,
	},
	{
		.name = "change_pte_range.after_clear",
		.window = "mprotect cleared a PTE, new PTE not yet committed",
		.symbols = modify_symbols,
		.callers = modify_callers,
		.at_return = true,
		.ret = modify_ret,
		.filters = MMRACE_F_INO | MMRACE_F_FOLIO | MMRACE_F_KEY,
	},
};

#define NR_SITES ARRAY_SIZE(mmrace_site_defs)
struct mmrace_site mmrace_sites[NR_SITES];
const unsigned int mmrace_nr_sites = NR_SITES;
