// SPDX-License-Identifier: GPL-2.0
/*
 * Resolving the site table on the running kernel: probe symbols, caller
 * bounds, scope and overlap probes.  Every probe is registered disabled at
 * load time and only armed while its site is enabled, so a loaded but idle
 * module costs nothing.  A site whose symbols do not exist here is left
 * unresolved (shown in "sites"); the others work.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mmrace.h"

/* Address of a kernel function, through a kprobe that is never armed. */
static unsigned long symbol_address(const char *name)
{
	struct kprobe kp = {
		.symbol_name = name,
		.flags = KPROBE_FLAG_DISABLED,
	};
	unsigned long addr;

	if (register_kprobe(&kp))
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

/*
 * [start, end) of the function @name, from kallsyms' "name+off/size".
 * The kprobe address may lie past the function start (e.g. after an
 * ENDBR64), hence the offset.
 */
bool mmrace_resolve_range(const char *name, struct mmrace_range *r)
{
	char buf[KSYM_SYMBOL_LEN];
	unsigned long addr, off, size;
	char *plus;

	addr = symbol_address(name);
	if (!addr)
		return false;
	sprint_symbol(buf, addr);
	plus = strrchr(buf, '+');
	if (!plus || sscanf(plus, "+%lx/%lx", &off, &size) != 2 || !size)
		return false;
	r->name = name;
	r->start = addr - off;
	r->end = r->start + size;
	return true;
}

/* An empty set of ranges (no caller filter) contains every address. */
bool mmrace_in_ranges(const struct mmrace_range *r, unsigned long addr)
{
	int i;

	if (!r[0].name)
		return true;
	for (i = 0; i < MMRACE_MAX_CALLERS && r[i].name; i++)
		if (addr >= r[i].start && addr < r[i].end)
			return true;
	return false;
}

/*
 * gcc may emit a function only as a clone ("name.isra.0", ".constprop.0",
 * ".part.0") and move its unlikely code to "name.cold".  The first
 * candidate that exists in any of these forms wins, with its cold part;
 * both ranges carry the candidate's name.  False if the site needs a
 * caller and none of the candidates exists.
 */
static const char *const clone_suffixes[] = {
	"", ".isra.0", ".constprop.0", ".part.0", NULL
};

bool mmrace_resolve_callers(const char *const *names, struct mmrace_range *r)
{
	const char *const *suffix;
	char sym[KSYM_NAME_LEN];

	if (!names)
		return true;
	for (; *names; names++) {
		for (suffix = clone_suffixes; *suffix; suffix++) {
			snprintf(sym, sizeof(sym), "%s%s", *names, *suffix);
			if (mmrace_resolve_range(sym, &r[0]))
				break;
		}
		if (!*suffix)
			continue;
		r[0].name = *names;
		snprintf(sym, sizeof(sym), "%s.cold", *names);
		if (mmrace_resolve_range(sym, &r[1]))
			r[1].name = *names;
		return true;
	}
	return false;
}

static int register_disabled(struct kprobe *kp, const char *symbol,
			     kprobe_pre_handler_t handler)
{
	memset(kp, 0, sizeof(*kp));
	kp->symbol_name = symbol;
	kp->pre_handler = handler;
	kp->flags = KPROBE_FLAG_DISABLED;
	return register_kprobe(kp);
}

static int register_window(struct mmrace_site *site, const char *symbol)
{
	struct kretprobe *krp = &site->krp;

	if (!site->def->at_return)
		return register_disabled(&site->kp, symbol, mmrace_site_pre);
	memset(krp, 0, sizeof(*krp));
	krp->kp.symbol_name = symbol;
	krp->kp.flags = KPROBE_FLAG_DISABLED;
	krp->entry_handler = mmrace_site_entry;
	krp->handler = mmrace_site_ret;
	krp->data_size = sizeof(struct mmrace_hit);
	krp->maxactive = 64;
	return register_kretprobe(krp);
}

static void site_resolve(struct mmrace_site *site)
{
	const struct mmrace_site_def *def = site->def;
	const char *const *name;

	if (!mmrace_resolve_callers(def->callers, site->caller)) {
		pr_info("%s: no caller symbol, site disabled\n", def->name);
		return;
	}
	for (name = def->symbols; *name; name++) {
		if (!register_window(site, *name)) {
			site->symbol = *name;
			break;
		}
	}
	if (!site->symbol) {
		pr_info("%s: no probe symbol, site disabled\n", def->name);
		memset(site->caller, 0, sizeof(site->caller));
		return;
	}

	if (def->scope_symbol)
		site->scope_registered = !register_disabled(&site->scope_kp,
							    def->scope_symbol,
							    mmrace_scope_pre);
	if (def->overlap_symbol &&
	    mmrace_resolve_callers(def->overlap_callers, site->overlap_caller))
		site->overlap_registered =
			!register_disabled(&site->overlap_kp,
					   def->overlap_symbol,
					   mmrace_overlap_pre);
}

static int set_probe(struct kprobe *kp, bool on)
{
	return on ? enable_kprobe(kp) : disable_kprobe(kp);
}

static struct kprobe *window_probe(struct mmrace_site *site)
{
	return site->def->at_return ? &site->krp.kp : &site->kp;
}

static void disarm(struct mmrace_site *site)
{
	set_probe(window_probe(site), false);
	if (site->scope_registered)
		set_probe(&site->scope_kp, false);
	if (site->overlap_registered)
		set_probe(&site->overlap_kp, false);
}

/*
 * The window probe is armed last and disarmed first: it never runs without
 * its scope and overlap probes.  If any of them cannot be armed, none is.
 */
int mmrace_site_set_armed(struct mmrace_site *site, bool on)
{
	int ret = 0;

	if (!site->symbol)
		return -ENODEV;
	if (!on) {
		disarm(site);
		atomic_dec(&mmrace_nr_armed);
		return 0;
	}
	if (site->scope_registered)
		ret = set_probe(&site->scope_kp, true);
	if (!ret && site->overlap_registered)
		ret = set_probe(&site->overlap_kp, true);
	if (!ret)
		ret = set_probe(window_probe(site), true);
	if (ret)
		disarm(site);
	else
		atomic_inc(&mmrace_nr_armed);
	return ret;
}

/*
 * Hits the kprobes could not hand to us: a nested hit, or a return probe
 * with no free instance (maxactive).
 */
unsigned long mmrace_site_missed(struct mmrace_site *site)
{
	unsigned long n = site->def->at_return ?
		site->krp.nmissed + site->krp.kp.nmissed : site->kp.nmissed;

	if (site->scope_registered)
		n += site->scope_kp.nmissed;
	if (site->overlap_registered)
		n += site->overlap_kp.nmissed;
	return n;
}

int mmrace_sites_init(void)
{
	unsigned int i;

	for (i = 0; i < mmrace_nr_sites; i++) {
		struct mmrace_site *site = &mmrace_sites[i];
		struct mmrace_cfg *cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);

		site->counters = alloc_percpu(struct mmrace_counters);
		site->bucket = alloc_percpu(struct mmrace_bucket);
		if (!cfg || !site->counters || !site->bucket) {
			kfree(cfg);
			mmrace_sites_exit();
			return -ENOMEM;
		}
		cfg->probability = 100;
		cfg->interval = 1;
		cfg->times = -1;
		cfg->tgid = MMRACE_TGID_NONE;
		cfg->anon = MMRACE_ANY;
		site->def = &mmrace_site_defs[i];
		RCU_INIT_POINTER(site->cfg, cfg);
		atomic_set(&site->times_left, -1);
		site_resolve(site);
	}
	return 0;
}

/*
 * unregister_k*probe() waits for running handlers, so once this returns
 * no delay is in progress and no handler can see the site again.
 */
void mmrace_sites_exit(void)
{
	unsigned int i;

	for (i = 0; i < mmrace_nr_sites; i++) {
		struct mmrace_site *site = &mmrace_sites[i];

		if (site->symbol && site->def->at_return)
			unregister_kretprobe(&site->krp);
		else if (site->symbol)
			unregister_kprobe(&site->kp);
		if (site->overlap_registered)
			unregister_kprobe(&site->overlap_kp);
		if (site->scope_registered)
			unregister_kprobe(&site->scope_kp);
		memset(site->caller, 0, sizeof(site->caller));
		memset(site->overlap_caller, 0, sizeof(site->overlap_caller));
		site->symbol = NULL;
		site->overlap_registered = false;
		site->scope_registered = false;
		kfree(rcu_dereference_protected(site->cfg, true));
		RCU_INIT_POINTER(site->cfg, NULL);
		free_percpu(site->counters);
		site->counters = NULL;
		free_percpu(site->bucket);
		site->bucket = NULL;
	}
}
