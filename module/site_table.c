// SPDX-License-Identifier: GPL-2.0
/*
 * The built-in sites: every race window mmrace ships, each one line of the
 * definition language (site_def.c, docs/sites.md), the same a user writes
 * to site_defs at run time.  Site names are a user contract; the symbols
 * behind them are resolved per kernel.  Line numbers are those of Debian's
 * 6.1.192 and 6.12.95 sources.
 */
#include <linux/kernel.h>

#include "mmrace.h"

const char *const mmrace_builtin_defs[] = {
	/*
	 * zap_pte_range.before_flush (R1): entry of flush_tlb_mm_range()
	 * called from the zap loop.  zap_pte_range() and zap_pmd_range()
	 * are inlined into unmap_page_range() on Debian 6.1 and 6.12, so
	 * the caller is the first of them kallsyms has.
	 *
	 * 6.1 (mm/memory.c, zap_pte_range(), lines 1419-1512): the loop
	 * clears every PTE of the batch and calls page_remove_rmap() for
	 * each page, then "if (force_flush) tlb_flush_mmu_tlbonly(tlb)"
	 * flushes the TLB under the PTL.  A delay here holds the whole
	 * batch unmapped, rmap dropped, TLB not flushed: folio_mkclean()
	 * sees !folio_mapped() and returns without taking the PTL,
	 * writeback cleans the page, and a write through another CPU's
	 * stale dirty TLB entry is lost (fixed in v6.2 by 5df397dec7c4
	 * "mm: delay rmap removal until after TLB flush").  A delay at
	 * page_remove_rmap() instead makes writeback wait on the PTL at
	 * the first page whose rmap is not yet dropped, and the I/O starts
	 * only after the flush (a probe: 1 lost round in 750 against 45 in
	 * 200 here).
	 *
	 * 6.12 (lines 1684-1687): the same flush, but dirty file pages keep
	 * their rmap until tlb_flush_rmaps() after it, so writeback walks
	 * the rmap, blocks on the PTL we hold and sees the dirty PTE.  The
	 * overlap, writeback's folio_mkclean(), shows it got there.  The
	 * flush cannot see which file it is for: the scope probe on
	 * unmap_page_range(tlb, vma, ...) records the VMA's inode.
	 */
	"p:zap_pte_range.before_flush flush_tlb_mm_range caller=zap_pte_range|zap_pmd_range|unmap_page_range scope=unmap_page_range:$arg2:vma overlap=folio_mkclean:$arg1:folio key=ino # PTE batch cleared, TLB not yet flushed (PTL held)",
	/*
	 * folio_mkclean.entry (R1, the competing side): writeback about to
	 * write-protect a dirty folio's PTEs, folio_mkclean() called from
	 * folio_clear_dirty_for_io() with the folio locked (6.1
	 * mm/page-writeback.c line 2886, mm/rmap.c line 1035), before its
	 * "if (!folio_mapped(folio)) return 0" (line 1047).  Keyed by the
	 * file like zap_pte_range.before_flush: writeback that finds a folio
	 * still mapped waits there (rendezvous_us, knob mapped) until a zap
	 * of the file reaches its flush, then runs into the window.  Without
	 * the wait, writeback that starts before the zap reaches the
	 * writer's page table write-protects the writer's pages, and the
	 * writer sits out the window in a write fault on the PTL the zap
	 * holds (4096 pages on Debian 6.1: 10 of 20 runs found, see
	 * results/README.md).  Page-table walks are serialised by
	 * page_mkclean_one()'s PVMW_SYNC walk (line 1019), not here: a
	 * waiter holds only the folio lock.
	 */
	"p:folio_mkclean.entry folio_mkclean caller=folio_clear_dirty_for_io object=$arg1:folio key=ino # writeback about to write-protect a dirty folio's PTEs (folio locked)",
	/*
	 * do_swap_page.entry and do_swap_page.after_read (R2).  On a
	 * SWP_SYNCHRONOUS_IO device (zram, brd) with a swap count of 1,
	 * do_swap_page() skips the swap cache: it allocates a folio, reads
	 * the entry into it and only then takes the PTL and checks
	 * pte_same().  If a second fault on the same entry finishes first,
	 * frees the entry and the slot is reused by a new swap-out,
	 * pte_same() still holds and the first fault installs stale data
	 * (fixed in v6.8 by 13ddaf26be32 "mm/swap: fix race when skipping
	 * swapcache", in 6.1.80: swapcache_prepare() makes the second fault
	 * back off with schedule_timeout_uninterruptible(1)).
	 *
	 * entry: do_swap_page(vmf), keyed by the swap entry of
	 * vmf->orig_pte.
	 */
	"p:do_swap_page.entry do_swap_page object=$arg1:vmf # swap fault taken, nothing looked up yet",
	/*
	 * after_read: return of swap_readpage() (6.1, line 3882) or
	 * swap_read_folio() (6.12, line 4321) called from do_swap_page():
	 * the read is done, the PTL and pte_same() check (6.1 lines
	 * 3965-3967, 6.12 lines 4407-4409) are still ahead.  The key is the
	 * swap entry, which the caller stored in folio->swap before the
	 * read, so two faults on one entry can rendezvous here.  The
	 * overlap is the fix at work: a second fault turned back while this
	 * site delays another.
	 */
	"r:do_swap_page.after_read swap_read_folio|swap_readpage caller=do_swap_page object=$arg1:swap_folio overlap=schedule_timeout_uninterruptible overlap_caller=do_swap_page # swap read done, PTL and pte_same() check not yet taken",
	/*
	 * try_to_unmap_one.entry / .return and change_pte_range.after_clear
	 * (R3).  Before v6.10 (73bc32875ee9) reclaim did not pass TTU_SYNC
	 * for large folios: try_to_unmap_one()'s page_vma_mapped_walk()
	 * looked at the first PTE without the PTL, and when another task
	 * had just cleared it for a break-before-make update (mprotect:
	 * ptep_modify_prot_start(), 6.12 mm/mprotect.c line 169, 6.1 line
	 * 170) the walk started mid-folio and reclaim left the folio partly
	 * mapped.
	 */
	"p:try_to_unmap_one.entry try_to_unmap_one object=$arg1:folio # reclaim about to walk one VMA's PTEs of a folio",
	"r:try_to_unmap_one.return try_to_unmap_one object=$arg1:folio # one VMA unmapped, PTL dropped, rest of the rmap walk ahead",
	/*
	 * The window that matters is the mprotect side's: the return of
	 * __ptep_modify_prot_start() (the native paravirt op, out of line on
	 * Debian's PARAVIRT_XXL kernels), which returns the old PTE: PTE
	 * cleared, new PTE not yet committed.  Keyed by folio, a reclaimer
	 * waiting at try_to_unmap_one.entry (rendezvous_us) is released
	 * into it.
	 */
	"r:change_pte_range.after_clear __ptep_modify_prot_start caller=change_pte_range|change_pmd_range|change_protection_range|change_protection object=$retval:pte # mprotect cleared a PTE, new PTE not yet committed",
};

const unsigned int mmrace_nr_builtin_defs = ARRAY_SIZE(mmrace_builtin_defs);
