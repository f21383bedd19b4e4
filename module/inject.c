// SPDX-License-Identifier: GPL-2.0
/*
 * The injection engine: for every probe hit, decide whether this task, at
 * this moment, gets a delay, and busy-wait for it.
 *
 * Handlers run with preemption disabled (int3 probes also with IRQs off,
 * often under the PTL), so the delay busy-waits on the NMI-safe
 * ktime_get_mono_fast_ns(): udelay() overshoots badly under QEMU TCG.
 * Every delay is capped by max_delay_us and charged to a per-CPU budget of
 * budget_us per second; a delay that does not fit is skipped (counted as
 * "throttled"), so no knob setting can hold a CPU long enough for a
 * soft-lockup or RCU-stall report.
 */
#define CREATE_TRACE_POINTS
#include "mmrace_trace.h"

#include <linux/hash.h>
#include <linux/percpu.h>
#include <linux/random.h>
#include <linux/string.h>

#include "mmrace.h"

u32 mmrace_max_delay_us = MMRACE_DEF_MAX_DELAY_US;
u32 mmrace_budget_us = MMRACE_DEF_BUDGET_US;

struct cpu_budget {
	u64 window_start;
	u64 spent;
};
static DEFINE_PER_CPU(struct cpu_budget, cpu_budget);

void mmrace_count(struct mmrace_site *site, enum mmrace_counter c, s64 n)
{
	atomic64_add(n, &site->counters[c]);
}

void mmrace_site_reset_counters(struct mmrace_site *site)
{
	int c;

	for (c = 0; c < MMRACE_NR_COUNTERS; c++)
		atomic64_set(&site->counters[c], 0);
	atomic64_set(&site->interval_count, 0);
}

/* No task filter at all means no delay: "*" must be asked for. */
static bool task_selected(const struct mmrace_cfg *cfg)
{
	if (!cfg->comm[0] && cfg->tgid == MMRACE_TGID_NONE)
		return false;
	if (cfg->comm[0] && strncmp(current->comm, cfg->comm, TASK_COMM_LEN))
		return false;
	if (cfg->tgid > 0 && current->tgid != cfg->tgid)
		return false;
	return true;
}

static struct mmrace_scope_slot *scope_slot(struct mmrace_site *site)
{
	return &site->scope[hash_ptr(current, MMRACE_SCOPE_SLOTS_BITS)];
}

/*
 * Two selected tasks hashing to one slot may race on it; the worst outcome
 * is a wrong mapping-filter decision for one hit, never a stale pointer
 * dereference: only the task pointer's value is compared.
 */
int mmrace_scope_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(kp, struct mmrace_site,
						scope_kp);
	const struct mmrace_cfg *cfg = rcu_dereference_sched(site->cfg);
	struct mmrace_scope_slot *slot;

	if (!cfg->enable || !cfg->ino || !task_selected(cfg))
		return 0;
	slot = scope_slot(site);
	WRITE_ONCE(slot->ino, site->def->scope_ino(regs));
	WRITE_ONCE(slot->task, current);
	return 0;
}

static unsigned long scope_ino(struct mmrace_site *site)
{
	struct mmrace_scope_slot *slot = scope_slot(site);

	return READ_ONCE(slot->task) == current ? READ_ONCE(slot->ino) : 0;
}

/* probability, then interval, then times, as the fault-injection knobs */
static bool should_inject(struct mmrace_site *site,
			  const struct mmrace_cfg *cfg)
{
	if (cfg->probability < 100 &&
	    get_random_u32_below(100) >= cfg->probability)
		return false;
	if (cfg->interval > 1 &&
	    atomic64_inc_return(&site->interval_count) % cfg->interval)
		return false;
	if (cfg->times >= 0 && atomic_dec_if_positive(&site->times_left) < 0)
		return false;
	return true;
}

static u64 pick_delay_ns(const struct mmrace_cfg *cfg)
{
	u32 us = cfg->delay_us;

	if (cfg->delay_max_us > us)
		us = get_random_u32_inclusive(us, cfg->delay_max_us);
	return (u64)min(us, READ_ONCE(mmrace_max_delay_us)) * NSEC_PER_USEC;
}

/* Called with preemption disabled: the per-CPU window is ours. */
bool mmrace_budget_take(u64 ns)
{
	struct cpu_budget *b = this_cpu_ptr(&cpu_budget);
	u64 now = ktime_get_mono_fast_ns();
	u64 budget = (u64)READ_ONCE(mmrace_budget_us) * NSEC_PER_USEC;

	if (now - b->window_start >= NSEC_PER_SEC) {
		b->window_start = now;
		b->spent = 0;
	}
	if (b->spent + ns > budget)
		return false;
	b->spent += ns;
	return true;
}

/* Spin for @ns, or until *@until becomes non-zero; returns the time spent. */
u64 mmrace_busy_wait(u64 ns, const int *until)
{
	u64 start = ktime_get_mono_fast_ns();
	u64 now;

	do {
		cpu_relax();
		now = ktime_get_mono_fast_ns();
	} while (now - start < ns && !(until && READ_ONCE(*until)));
	return now - start;
}

unsigned long mmrace_caller(struct pt_regs *regs)
{
	/* at function entry the stack top is the return address */
	return *(unsigned long *)kernel_stack_pointer(regs);
}

/* ino, min_order and anon filter what the hit knows; unknown never matches */
static bool object_selected(const struct mmrace_cfg *cfg,
			    const struct mmrace_hit *hit)
{
	if (cfg->ino && hit->ino != cfg->ino)
		return false;
	if (cfg->min_order && hit->order < (int)cfg->min_order)
		return false;
	if (cfg->anon != MMRACE_ANY && hit->anon != cfg->anon)
		return false;
	return true;
}

/*
 * The window: filters, then the injection decision, then the delay, which
 * with a key may be a meeting of two tasks (see rendezvous.c).
 */
static void window(struct mmrace_site *site, struct mmrace_hit *hit)
{
	const struct mmrace_cfg *cfg;
	u64 ns;

	mmrace_count(site, MMRACE_HITS, 1);
	cfg = rcu_dereference_sched(site->cfg);
	if (!cfg->enable || !task_selected(cfg))
		return;
	if (site->scope_registered)
		hit->ino = scope_ino(site);
	if (!object_selected(cfg, hit))
		return;
	mmrace_count(site, MMRACE_MATCHED, 1);

	if (!should_inject(site, cfg))
		return;
	if (hit->key && mmrace_rendezvous(site, hit->key, cfg->rendezvous_us))
		return;
	ns = pick_delay_ns(cfg);
	if (!ns)
		return;
	if (!mmrace_budget_take(ns)) {
		mmrace_count(site, MMRACE_THROTTLED, 1);
		return;
	}

	trace_mmrace_inject(site->def->name, ns, hit->caller, hit->ino,
			    hit->pfn);
	atomic_inc(&site->active);
	ns = mmrace_busy_wait(ns, NULL);
	atomic_dec(&site->active);
	mmrace_count(site, MMRACE_INJECTED, 1);
	mmrace_count(site, MMRACE_DELAYED_NS, ns);
}

static void hit_init(struct mmrace_hit *hit, unsigned long caller)
{
	*hit = (struct mmrace_hit){ .caller = caller, .order = -1, .anon = -1 };
}

/* At the probed function's entry: false unless called from the window. */
static bool hit_begin(struct mmrace_site *site, struct pt_regs *regs,
		      struct mmrace_hit *hit)
{
	hit_init(hit, mmrace_caller(regs));
	if (!mmrace_in_ranges(site->caller, hit->caller))
		return false;
	if (site->def->args)
		site->def->args(regs, hit);
	return true;
}

/* entry sites */
int mmrace_site_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(kp, struct mmrace_site, kp);
	struct mmrace_hit hit;

	if (hit_begin(site, regs, &hit))
		window(site, &hit);
	return 0;
}

/*
 * Return sites: the entry handler filters by caller and records what the
 * arguments say; returning non-zero skips the return probe.
 */
int mmrace_site_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(get_kretprobe(ri),
						struct mmrace_site, krp);
	struct mmrace_hit *hit = (struct mmrace_hit *)ri->data;

	return !hit_begin(site, regs, hit);
}

int mmrace_site_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(get_kretprobe(ri),
						struct mmrace_site, krp);
	struct mmrace_hit *hit = (struct mmrace_hit *)ri->data;

	if (site->def->ret)
		site->def->ret(regs, hit);
	window(site, hit);
	return 0;
}

int mmrace_overlap_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(kp, struct mmrace_site,
						overlap_kp);
	const struct mmrace_cfg *cfg;
	struct mmrace_hit hit;

	if (!atomic_read(&site->active))
		return 0;
	hit_init(&hit, mmrace_caller(regs));
	if (!mmrace_in_ranges(site->overlap_caller, hit.caller) ||
	    !site->def->overlap_hit(regs, &hit))
		return 0;
	cfg = rcu_dereference_sched(site->cfg);
	if (cfg->ino && hit.ino != cfg->ino)
		return 0;
	mmrace_count(site, MMRACE_OVERLAPS, 1);
	trace_mmrace_overlap(site->def->name, hit.ino, hit.pfn);
	return 0;
}
