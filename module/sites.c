// SPDX-License-Identifier: GPL-2.0
/*
 * Sites on the running kernel: a definition's probe symbols, caller
 * bounds, scope and overlap probes resolved and registered.  Every probe
 * is registered disabled and only armed while its site is enabled, so a
 * loaded but idle module costs nothing.  A built-in site whose symbols do
 * not exist here is left unresolved (shown in "sites"); the others work.
 * A run-time definition must resolve whole, or it is refused.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mmrace.h"

LIST_HEAD(mmrace_site_list);
unsigned int mmrace_nr_sites;

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

/* No ranges (no caller filter) contain every address. */
bool mmrace_in_ranges(const struct mmrace_range *r, unsigned int n,
		      unsigned long addr)
{
	bool any = false;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!r[i].name)
			continue;
		if (addr >= r[i].start && addr < r[i].end)
			return true;
		any = true;
	}
	return !any;
}

/*
 * gcc may emit a function only as a clone ("name.isra.0", ".constprop.0",
 * ".part.0") and move its unlikely code to "name.cold".  The first
 * alternative that exists in any of these forms wins, with its cold part
 * in r[1]; both ranges carry the alternative's name.
 */
static const char *const clone_suffixes[] = {
	"", ".isra.0", ".constprop.0", ".part.0", NULL
};

bool mmrace_resolve_alts(const struct mmrace_alts *alts,
			 struct mmrace_range *r)
{
	const char *const *suffix;
	char sym[KSYM_NAME_LEN];
	unsigned int i;

	for (i = 0; i < MMRACE_MAX_ALTS && alts->sym[i]; i++) {
		for (suffix = clone_suffixes; *suffix; suffix++) {
			snprintf(sym, sizeof(sym), "%s%s", alts->sym[i], *suffix);
			if (mmrace_resolve_range(sym, &r[0]))
				break;
		}
		if (!*suffix)
			continue;
		r[0].name = alts->sym[i];
		snprintf(sym, sizeof(sym), "%s.cold", alts->sym[i]);
		if (mmrace_resolve_range(sym, &r[1]))
			r[1].name = alts->sym[i];
		return true;
	}
	return false;
}

/* Every caller given must exist here, in one of its spellings. */
static bool resolve_callers(const struct mmrace_alts *callers,
			    struct mmrace_range *r)
{
	unsigned int i;

	for (i = 0; i < MMRACE_MAX_CALLERS && callers[i].sym[0]; i++)
		if (!mmrace_resolve_alts(&callers[i], &r[2 * i]))
			return false;
	return true;
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

/* The first of @alts that can be probed, registered disabled; or NULL. */
static const char *register_first(struct kprobe *kp,
				  const struct mmrace_alts *alts,
				  kprobe_pre_handler_t handler)
{
	unsigned int i;

	for (i = 0; i < MMRACE_MAX_ALTS && alts->sym[i]; i++)
		if (!register_disabled(kp, alts->sym[i], handler))
			return alts->sym[i];
	return NULL;
}

static int register_window(struct mmrace_site *site, const char *symbol)
{
	struct kretprobe *krp = &site->krp;

	if (!site->def.at_return) {
		memset(&site->kp, 0, sizeof(site->kp));
		site->kp.symbol_name = symbol;
		site->kp.offset = site->def.offset;
		site->kp.pre_handler = mmrace_site_pre;
		site->kp.flags = KPROBE_FLAG_DISABLED;
		return register_kprobe(&site->kp);
	}
	memset(krp, 0, sizeof(*krp));
	krp->kp.symbol_name = symbol;
	krp->kp.flags = KPROBE_FLAG_DISABLED;
	krp->entry_handler = mmrace_site_entry;
	krp->handler = mmrace_site_ret;
	krp->data_size = sizeof(struct mmrace_hit);
	krp->maxactive = 64;
	return register_kretprobe(krp);
}

/* NULL, or why @def's probe cannot be at its offset in @symbol */
static const char *check_offset(const struct mmrace_site_def *def,
				const char *symbol)
{
	struct mmrace_range r;

	if (!def->offset)
		return NULL;
	if (!mmrace_resolve_range(symbol, &r))
		return "no probe symbol that can be probed";
	/* kprobes would decode whatever function lies past the end */
	return def->offset < r.end - r.start ? NULL :
		"offset past the end of the function";
}

/*
 * NULL if every part of the definition is registered, else what is
 * missing first.  Without a caller or probe symbol nothing is registered;
 * a missing scope or overlap probe leaves the other one registered.
 */
static const char *site_resolve(struct mmrace_site *site)
{
	const struct mmrace_site_def *def = &site->def;
	const char *missing = NULL;
	unsigned int i;

	if (!resolve_callers(def->callers, site->caller)) {
		memset(site->caller, 0, sizeof(site->caller));
		return "no caller symbol";
	}
	for (i = 0; i < MMRACE_MAX_ALTS && def->probe.sym[i]; i++) {
		missing = check_offset(def, def->probe.sym[i]);
		if (!missing && !register_window(site, def->probe.sym[i])) {
			site->symbol = def->probe.sym[i];
			break;
		}
	}
	if (!site->symbol) {
		memset(site->caller, 0, sizeof(site->caller));
		return missing ?: "no probe symbol that can be probed";
	}
	missing = NULL;
	if (def->scope_symbol.sym[0]) {
		site->scope_registered = register_first(&site->scope_kp,
							&def->scope_symbol,
							mmrace_scope_pre);
		if (!site->scope_registered)
			missing = "no scope symbol that can be probed";
	}
	if (def->overlap_symbol.sym[0]) {
		if (resolve_callers(def->overlap_callers, site->overlap_caller))
			site->overlap_registered =
				register_first(&site->overlap_kp,
					       &def->overlap_symbol,
					       mmrace_overlap_pre);
		if (!site->overlap_registered && !missing)
			missing = "no overlap symbol or caller that can be probed";
	}
	return missing;
}

static int set_probe(struct kprobe *kp, bool on)
{
	return on ? enable_kprobe(kp) : disable_kprobe(kp);
}

static struct kprobe *window_probe(struct mmrace_site *site)
{
	return site->def.at_return ? &site->krp.kp : &site->kp;
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
	unsigned long n = site->def.at_return ?
		site->krp.nmissed + site->krp.kp.nmissed : site->kp.nmissed;

	if (site->scope_registered)
		n += site->scope_kp.nmissed;
	if (site->overlap_registered)
		n += site->overlap_kp.nmissed;
	return n;
}

/*
 * A site from one definition: ERR_PTR with *@why set if the text is not a
 * valid definition.  A built-in site whose symbols this kernel lacks is
 * created unresolved (or without its scope or overlap probe); a run-time
 * one is refused with -EINVAL, and nothing of it stays registered.
 */
struct mmrace_site *mmrace_site_create(const char *text, bool builtin,
				       const char **why)
{
	struct mmrace_site *site = kzalloc(sizeof(*site), GFP_KERNEL);
	struct mmrace_cfg *cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	const char *missing;
	int ret = -ENOMEM;

	*why = "out of memory";
	if (!site || !cfg)
		goto fail;
	site->counters = alloc_percpu(struct mmrace_counters);
	site->bucket = alloc_percpu(struct mmrace_bucket);
	if (!site->counters || !site->bucket)
		goto fail;
	ret = mmrace_def_parse(text, &site->def, why);
	if (ret)
		goto fail;
	cfg->probability = 100;
	cfg->interval = 1;
	cfg->times = -1;
	cfg->tgid = MMRACE_TGID_NONE;
	cfg->anon = MMRACE_ANY;
	cfg->mapped = MMRACE_ANY;
	RCU_INIT_POINTER(site->cfg, cfg);
	atomic_set(&site->times_left, -1);
	site->builtin = builtin;

	missing = site_resolve(site);
	if (missing && !builtin) {
		*why = missing;
		mmrace_site_destroy(site);
		return ERR_PTR(-EINVAL);
	}
	if (missing)
		pr_info("%s: %s, %s\n", site->def.name, missing,
			site->symbol ? "works without it" : "site disabled");
	return site;
fail:
	kfree(cfg);
	if (site) {
		free_percpu(site->counters);
		free_percpu(site->bucket);
	}
	kfree(site);
	return ERR_PTR(ret);
}

/*
 * Disarm and free a site no longer on the list and without debugfs files.
 * unregister_k*probe() waits for running handlers, delays and rendezvous
 * waits included, and a return probe's pending instances no longer call
 * its handler: once they return nothing can see the site.
 */
void mmrace_site_destroy(struct mmrace_site *site)
{
	struct mmrace_cfg *cfg = rcu_dereference_protected(site->cfg, true);

	if (cfg->enable)
		mmrace_site_set_armed(site, false);
	if (site->symbol && site->def.at_return)
		unregister_kretprobe(&site->krp);
	else if (site->symbol)
		unregister_kprobe(&site->kp);
	if (site->overlap_registered)
		unregister_kprobe(&site->overlap_kp);
	if (site->scope_registered)
		unregister_kprobe(&site->scope_kp);
	kfree(cfg);
	free_percpu(site->counters);
	free_percpu(site->bucket);
	mmrace_def_free(&site->def);
	kfree(site);
}

/* The caller holds mmrace_cfg_lock. */
struct mmrace_site *mmrace_site_find(const char *name)
{
	struct mmrace_site *site;

	list_for_each_entry(site, &mmrace_site_list, list)
		if (!strcmp(site->def.name, name))
			return site;
	return NULL;
}

/* The built-in sites; a definition that does not parse is a bug. */
int mmrace_sites_init(void)
{
	struct mmrace_site *site;
	const char *why;
	unsigned int i;

	for (i = 0; i < mmrace_nr_builtin_defs; i++) {
		site = mmrace_site_create(mmrace_builtin_defs[i], true, &why);
		if (IS_ERR(site)) {
			pr_err("built-in site %u: %s\n", i, why);
			mmrace_sites_exit();
			return PTR_ERR(site);
		}
		list_add_tail(&site->list, &mmrace_site_list);
		mmrace_nr_sites++;
	}
	return 0;
}

void mmrace_sites_exit(void)
{
	struct mmrace_site *site, *next;

	list_for_each_entry_safe(site, next, &mmrace_site_list, list) {
		list_del(&site->list);
		mmrace_site_destroy(site);
	}
	mmrace_nr_sites = 0;
}
