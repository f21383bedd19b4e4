// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-side oracles: symptoms of a race that user space cannot see in
 * its pages.  Each is a return probe that checks one thing after the call
 * that could get it wrong, and counts; the table below holds them all.
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
 * swapcache_slots (R4): folio_migrate_mapping() moved a large folio that is
 * in the swap cache, and afterwards a swap-cache slot of one of its
 * subpages does not name the new folio.  The swap cache stores a large
 * folio in one slot per subpage; before v6.7 (fc346d0a70a1, 6.1.71) the
 * migration stored only the first, leaving the others pointing at the
 * source folio, which is then freed, and a swap-in of those subpages
 * spins on it under rcu_read_lock().  Checked at the return, while the
 * migration still holds the new folio locked (nobody can change its slots
 * without that lock).  On a fixed kernel stale_slots is zero.
 *
 * Always armed while the module is loaded: they cost a check on these
 * calls only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/seq_file.h>
#include <linux/xarray.h>

#include "mmrace.h"

#define ORACLE_COUNTERS	3

struct oracle {
	const char *name;
	struct mmrace_alts symbol;	/* the probed function */
	struct mmrace_alts callers;	/* count only calls from these; none: all */
	const char *counter[ORACLE_COUNTERS];	/* names, NULL ends */
	kretprobe_handler_t entry, ret;
	size_t data_size;

	/* at load */
	struct mmrace_range caller[2];
	struct kretprobe krp;
	bool registered;
	atomic64_t count[ORACLE_COUNTERS];
};

static struct oracle *oracle_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct oracle, krp);
}

/* ---- unmap_incomplete -------------------------------------------------- */

enum { UI_LARGE_UNMAPS, UI_STILL_MAPPED };

/* try_to_unmap(folio, flags), from reclaim, on a large folio */
static int ui_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct oracle *o = oracle_of(ri);
	struct folio *folio = (struct folio *)regs_get_kernel_argument(regs, 0);

	if (!mmrace_in_ranges(o->caller, ARRAY_SIZE(o->caller),
			      mmrace_caller(regs)) ||
	    !folio_test_large(folio))
		return 1;
	*(struct folio **)ri->data = folio;
	return 0;
}

/* The folio is locked by reclaim across the call: still ours to look at. */
static int ui_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct oracle *o = oracle_of(ri);
	struct folio *folio = *(struct folio **)ri->data;

	atomic64_inc(&o->count[UI_LARGE_UNMAPS]);
	if (folio_mapped(folio))
		atomic64_inc(&o->count[UI_STILL_MAPPED]);
	return 0;
}

/* ---- swapcache_slots --------------------------------------------------- */

enum { SS_LARGE_MIGRATIONS, SS_STALE_FOLIOS, SS_STALE_SLOTS };

struct ss_call {
	struct address_space *mapping;
	struct folio *dst;
	pgoff_t index;
	long nr;
};

/*
 * folio_migrate_mapping(mapping, newfolio, folio, extra_count), and on
 * 6.12 its __folio_migrate_mapping(mapping, newfolio, folio, expected):
 * the source is locked and unmapped here, its swap entry stable.
 */
static int ss_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct ss_call *c = (struct ss_call *)ri->data;
	struct folio *src = (struct folio *)regs_get_kernel_argument(regs, 2);

	c->mapping = (struct address_space *)regs_get_kernel_argument(regs, 0);
	if (!c->mapping || !folio_test_large(src) || !folio_test_swapcache(src))
		return 1;
	c->dst = (struct folio *)regs_get_kernel_argument(regs, 1);
	c->index = folio_index(src);
	c->nr = folio_nr_pages(src);
	return 0;
}

static int ss_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct oracle *o = oracle_of(ri);
	struct ss_call *c = (struct ss_call *)ri->data;
	long i, stale = 0;

	if (regs_return_value(regs))	/* -EAGAIN: nothing moved */
		return 0;
	atomic64_inc(&o->count[SS_LARGE_MIGRATIONS]);
	for (i = 0; i < c->nr; i++)
		stale += xa_load(&c->mapping->i_pages, c->index + i) != c->dst;
	if (stale) {
		atomic64_inc(&o->count[SS_STALE_FOLIOS]);
		atomic64_add(stale, &o->count[SS_STALE_SLOTS]);
	}
	return 0;
}

/* ---- the table --------------------------------------------------------- */

static struct oracle oracles[] = {
	{
		.name = "unmap_incomplete",
		.symbol = { { "try_to_unmap" } },
		.callers = { { "shrink_folio_list", "shrink_page_list" } },
		.counter = { "large_unmaps", "still_mapped" },
		.entry = ui_entry, .ret = ui_ret,
		.data_size = sizeof(struct folio *),
	},
	{
		.name = "swapcache_slots",
		.symbol = { { "__folio_migrate_mapping", "folio_migrate_mapping" } },
		.counter = { "large_migrations", "stale_folios", "stale_slots" },
		.entry = ss_entry, .ret = ss_ret,
		.data_size = sizeof(struct ss_call),
	},
};

/* The first spelling of the symbol that this kernel lets us probe. */
static bool oracle_register(struct oracle *o)
{
	unsigned int i;

	if (o->callers.sym[0] && !mmrace_resolve_alts(&o->callers, o->caller))
		return false;
	for (i = 0; i < MMRACE_MAX_ALTS && o->symbol.sym[i]; i++) {
		o->krp = (struct kretprobe){
			.kp.symbol_name = o->symbol.sym[i],
			.entry_handler = o->entry,
			.handler = o->ret,
			.data_size = o->data_size,
			.maxactive = 16,
		};
		if (!register_kretprobe(&o->krp))
			return true;
	}
	return false;
}

void mmrace_oracles_init(void)
{
	struct oracle *o;

	for (o = oracles; o < oracles + ARRAY_SIZE(oracles); o++) {
		o->registered = oracle_register(o);
		if (!o->registered)
			pr_info("%s: symbols not found, oracle off\n", o->name);
	}
}

void mmrace_oracles_exit(void)
{
	struct oracle *o;

	for (o = oracles; o < oracles + ARRAY_SIZE(oracles); o++) {
		if (o->registered)
			unregister_kretprobe(&o->krp);
		o->registered = false;
	}
}

void mmrace_oracles_reset(void)
{
	struct oracle *o;
	unsigned int i;

	for (o = oracles; o < oracles + ARRAY_SIZE(oracles); o++)
		for (i = 0; i < ORACLE_COUNTERS; i++)
			atomic64_set(&o->count[i], 0);
}

int mmrace_oracles_show(struct seq_file *m, void *v)
{
	struct oracle *o;
	unsigned int i;

	for (o = oracles; o < oracles + ARRAY_SIZE(oracles); o++) {
		if (!o->registered) {
			seq_printf(m, "%s unresolved\n", o->name);
			continue;
		}
		seq_puts(m, o->name);
		for (i = 0; i < ORACLE_COUNTERS && o->counter[i]; i++)
			seq_printf(m, " %s=%lld", o->counter[i],
				   atomic64_read(&o->count[i]));
		/* missed: calls with no free kretprobe instance, not counted */
		seq_printf(m, " missed=%d\n", o->krp.nmissed);
	}
	return 0;
}
