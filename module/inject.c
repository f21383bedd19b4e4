// SPDX-License-Identifier: GPL-2.0
/*
 * The injection engine: for every probe hit, decide whether this task, at
 * this moment, gets a delay, and busy-wait for it.
 *
 * Handlers run with preemption disabled, often under the PTL; whether IRQs
 * are off too depends on the probe (an int3 probe runs like an NMI, a
 * probe at a function's ftrace site and a kretprobe's return handler run
 * with the probed code's IRQ state), and "sites" shows what each site's
 * hits saw (counter irqs_off).  So the delay busy-waits on the NMI-safe
 * ktime_get_mono_fast_ns(): udelay() overshoots badly under QEMU TCG.
 * Every delay is capped by max_delay_us and must pass the governor below.
 */
#define CREATE_TRACE_POINTS
#include "mmrace_trace.h"

#include <linux/hash.h>
#include <linux/percpu.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "mmrace.h"

u32 mmrace_max_delay_us = MMRACE_DEF_MAX_DELAY_US;
u32 mmrace_budget_us = MMRACE_DEF_BUDGET_US;
atomic_t mmrace_nr_armed = ATOMIC_INIT(0);

void mmrace_count(struct mmrace_site *site, enum mmrace_counter c, s64 n)
{
	this_cpu_add(site->counters->c[c], n);
}

u64 mmrace_counter(struct mmrace_site *site, enum mmrace_counter c)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(site->counters, cpu)->c[c];
	return sum;
}

/* Racy against hits in flight, which may land before or after: fine. */
void mmrace_site_reset_counters(struct mmrace_site *site)
{
	int cpu;

	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(site->counters, cpu), 0,
		       sizeof(struct mmrace_counters));
	atomic64_set(&site->interval_count, 0);
}

/* ---- the governor ----------------------------------------------------------
 *
 * Per CPU, two limits on the time delays and rendezvous waits take:
 *
 * - the rate: half of budget_us is reserved, split evenly among the armed
 *   sites (a token bucket per site), the other half is shared (one bucket
 *   per CPU); each bucket is refilled per second at its rate and holds at
 *   most one second's worth.  A delay takes from its site's reserve, else
 *   from the shared bucket.  Together the sites take at most budget_us of
 *   each CPU second, a busy site (change_pte_range under mprotect rewrites
 *   PTEs by the hundred) gets up to half of it and more than its reserve,
 *   and cannot starve a rare one of its reserve;
 * - a bound on continuous time, MMRACE_STRETCH_MAX_US: delays and waits
 *   that one task takes with no context switch in between (its nvcsw +
 *   nivcsw unchanged) belong to one stretch in which this CPU neither
 *   scheduled nor, as far as RCU and the watchdogs can tell, made progress:
 *   a loop under one PTL, such as change_pte_range()'s 512 PTEs, is one
 *   stretch however long it runs between delays.
 *
 * A delay or wait that does not fit is skipped and counted as throttled.
 * Probe handlers do not nest on a CPU (kprobes count a nested hit as
 * missed) and run with preemption disabled, so the per-CPU state is ours.
 * When the number of armed sites changes, each site's bucket adopts its
 * new reserve at its next refill.
 * Credit is kept in ns * USEC_PER_SEC so that frequent small refills do
 * not round to nothing.
 */
struct governor {
	struct mmrace_bucket shared;	/* the half of budget_us not reserved */
	struct task_struct *task;	/* the current stretch's task, */
	unsigned long switches;		/* its context switches then, */
	u64 stretch;			/* and the delay it holds so far */
	u64 longest;			/* longest stretch seen */
	u64 rate_throttled;
	u64 stretch_throttled;
};

static DEFINE_PER_CPU(struct governor, governor);

static unsigned long switches(struct task_struct *t)
{
	return READ_ONCE(t->nvcsw) + READ_ONCE(t->nivcsw);
}

/* us of delay per second this CPU reserves for each armed site */
static u64 reserve_us(void)
{
	return READ_ONCE(mmrace_budget_us) / 2 /
	       max(atomic_read(&mmrace_nr_armed), 1);
}

/* us of delay per second this CPU grants to whichever site asks first */
static u64 shared_us(void)
{
	u32 budget = READ_ONCE(mmrace_budget_us);

	return budget - budget / 2;
}

static void refill(struct mmrace_bucket *b, u64 rate_us, u64 now)
{
	u64 elapsed = min_t(u64, now - b->refilled, NSEC_PER_SEC);

	b->credit = min(b->credit + elapsed * rate_us, rate_us * NSEC_PER_SEC);
	b->refilled = now;
}

bool mmrace_governor_take(struct mmrace_site *site, u64 ns)
{
	struct governor *g = this_cpu_ptr(&governor);
	struct mmrace_bucket *b = this_cpu_ptr(site->bucket);
	u64 now = ktime_get_mono_fast_ns();
	u64 cost = ns * USEC_PER_SEC;

	refill(b, reserve_us(), now);
	refill(&g->shared, shared_us(), now);
	if (g->task != current || g->switches != switches(current)) {
		g->task = current;
		g->switches = switches(current);
		g->stretch = 0;
	}
	if (g->stretch + ns > (u64)MMRACE_STRETCH_MAX_US * NSEC_PER_USEC) {
		g->stretch_throttled++;
		mmrace_count(site, MMRACE_THROTTLED, 1);
		return false;
	}
	if (cost <= b->credit) {
		b->credit -= cost;
	} else if (cost <= g->shared.credit) {
		g->shared.credit -= cost;
	} else {
		g->rate_throttled++;
		mmrace_count(site, MMRACE_THROTTLED, 1);
		return false;
	}
	g->stretch += ns;
	g->longest = max(g->longest, g->stretch);
	return true;
}

/*
 * Give back what a granted wait did not use (same CPU, same stretch), to
 * the site's reserve whichever bucket it came from: the next refill caps it.
 */
void mmrace_governor_refund(struct mmrace_site *site, u64 ns)
{
	struct governor *g = this_cpu_ptr(&governor);

	this_cpu_ptr(site->bucket)->credit += ns * USEC_PER_SEC;
	g->stretch -= min(ns, g->stretch);
}

void mmrace_governor_show(struct seq_file *m)
{
	u64 longest = 0, rate = 0, stretch = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct governor *g = per_cpu_ptr(&governor, cpu);

		longest = max(longest, READ_ONCE(g->longest));
		rate += READ_ONCE(g->rate_throttled);
		stretch += READ_ONCE(g->stretch_throttled);
	}
	seq_printf(m, "governor stretch_max_us=%u longest_stretch_us=%llu throttled_rate=%llu throttled_stretch=%llu armed_sites=%d reserve_us=%llu shared_us=%llu\n",
		   MMRACE_STRETCH_MAX_US, longest / NSEC_PER_USEC, rate, stretch,
		   atomic_read(&mmrace_nr_armed), reserve_us(), shared_us());
}

void mmrace_governor_reset(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct governor *g = per_cpu_ptr(&governor, cpu);

		WRITE_ONCE(g->longest, 0);
		WRITE_ONCE(g->rate_throttled, 0);
		WRITE_ONCE(g->stretch_throttled, 0);
	}
}

/* ---- filters and the decision ---------------------------------------------- */

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

/* What @f says about @regs at the probed function's entry ($argN). */
static void fetch_arg(const struct mmrace_fetch *f, struct pt_regs *regs,
		      struct mmrace_hit *hit)
{
	if (f->type && f->arg)
		f->type->fetch(regs_get_kernel_argument(regs, f->arg - 1), hit);
}

static unsigned long fetch_ino(const struct mmrace_fetch *f,
			       struct pt_regs *regs)
{
	struct mmrace_hit hit = { 0 };

	fetch_arg(f, regs, &hit);
	return hit.ino;
}

static struct mmrace_scope_slot *scope_slot(struct mmrace_site *site)
{
	return &site->scope[hash_ptr(current, MMRACE_SCOPE_SLOTS_BITS)];
}

/*
 * Two selected tasks hashing to one slot may race on it; the worst outcome
 * is a wrong mapping-filter decision for one hit, never a stale pointer
 * dereference: only the task pointer's value and start time are compared.
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
	WRITE_ONCE(slot->ino, fetch_ino(&site->def.scope, regs));
	WRITE_ONCE(slot->start_time, current->start_time);
	WRITE_ONCE(slot->task, current);
	return 0;
}

static unsigned long scope_ino(struct mmrace_site *site)
{
	struct mmrace_scope_slot *slot = scope_slot(site);

	if (READ_ONCE(slot->task) != current ||
	    READ_ONCE(slot->start_time) != current->start_time)
		return 0;
	return READ_ONCE(slot->ino);
}

/*
 * times, then interval, then probability, in the order of the kernel's
 * should_fail_ex(); a times token is only spent by a delay that runs
 * (grant()).
 */
static bool should_try(struct mmrace_site *site, const struct mmrace_cfg *cfg)
{
	if (cfg->times >= 0 && atomic_read(&site->times_left) <= 0)
		return false;
	if (cfg->interval > 1 &&
	    atomic64_inc_return(&site->interval_count) % cfg->interval)
		return false;
	if (cfg->probability < 100 &&
	    get_random_u32_below(100) >= cfg->probability)
		return false;
	return true;
}

/* The governor and the times token both agree, or neither is spent. */
static bool grant(struct mmrace_site *site, const struct mmrace_cfg *cfg,
		  u64 ns)
{
	if (!mmrace_governor_take(site, ns))
		return false;
	if (cfg->times >= 0 && atomic_dec_if_positive(&site->times_left) < 0) {
		mmrace_governor_refund(site, ns);
		return false;
	}
	return true;
}

/* A knob may be above a max_delay_us lowered since: use-time cap too. */
static u64 cap_ns(u32 us)
{
	return (u64)min(us, READ_ONCE(mmrace_max_delay_us)) * NSEC_PER_USEC;
}

static u64 pick_delay_ns(const struct mmrace_cfg *cfg)
{
	u32 us = cfg->delay_us;

	if (cfg->delay_max_us > us)
		us = get_random_u32_inclusive(us, cfg->delay_max_us);
	return cap_ns(us);
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

/*
 * At function entry the stack top is the return address.  Another tracer
 * on the same function may have replaced it before this handler runs
 * (function_graph's return_to_handler, another kretprobe's trampoline):
 * the caller filter then does not match and the hit is not counted, a
 * limitation docs/knobs.md states.
 */
unsigned long mmrace_caller(struct pt_regs *regs)
{
	return *(unsigned long *)kernel_stack_pointer(regs);
}

/*
 * ino, min_order, anon and mapped filter what the hit knows; unknown never
 * matches
 */
static bool object_selected(const struct mmrace_cfg *cfg,
			    const struct mmrace_hit *hit)
{
	if (cfg->ino && hit->ino != cfg->ino)
		return false;
	if (cfg->min_order && hit->order < (int)cfg->min_order)
		return false;
	if (cfg->anon != MMRACE_ANY && hit->anon != cfg->anon)
		return false;
	if (cfg->mapped != MMRACE_ANY && hit->mapped != cfg->mapped)
		return false;
	return true;
}

static void delay(struct mmrace_site *site, struct mmrace_hit *hit, u64 ns)
{
	trace_mmrace_inject(site->def.name, ns, hit->caller, hit->ino,
			    hit->pfn);
	atomic_inc(&site->active);
	ns = mmrace_busy_wait(ns, NULL);
	atomic_dec(&site->active);
	mmrace_count(site, MMRACE_INJECTED, 1);
	mmrace_count(site, MMRACE_DELAYED_NS, ns);
}

/*
 * The window: filters, then the injection decision, then the delay.  With
 * a key, the hit may be the second arrival of a rendezvous (it wakes the
 * waiter, then takes the delay) or the first (it waits, see rendezvous.c).
 * A meeting is counted only when the second arrival's delay was granted.
 */
static void window(struct mmrace_site *site, struct mmrace_hit *hit,
		   struct pt_regs *regs)
{
	const struct mmrace_cfg *cfg = rcu_dereference_sched(site->cfg);
	u64 ns;

	if (!cfg->enable || !task_selected(cfg))
		return;
	/* facts from the return value: only for tasks the filter selects */
	if (site->def.object.type && !site->def.object.arg)
		site->def.object.type->fetch(regs_return_value(regs), hit);
	if (site->scope_registered && !hit->ino)
		hit->ino = scope_ino(site);
	if (site->def.key_ino)
		hit->key = hit->ino ? hit->ino | MMRACE_INO_KEY : 0;
	if (!object_selected(cfg, hit))
		return;
	mmrace_count(site, MMRACE_MATCHED, 1);
	/* the IRQ state a delay here runs with, for "sites" */
	if (irqs_disabled())
		mmrace_count(site, MMRACE_IRQS_OFF, 1);
	if (!should_try(site, cfg))
		return;

	if (hit->key && mmrace_rendezvous_waiting(hit->key)) {
		ns = pick_delay_ns(cfg);
		if (!ns || !grant(site, cfg, ns))
			return;
		if (mmrace_rendezvous_join(hit->key))
			mmrace_count(site, MMRACE_RV_MEETINGS, 1);
		delay(site, hit, ns);
		return;
	}
	if (hit->key && cfg->rendezvous_us) {
		mmrace_rendezvous_wait(site, hit->key,
				       cap_ns(cfg->rendezvous_us));
		return;
	}
	ns = pick_delay_ns(cfg);
	if (ns && grant(site, cfg, ns))
		delay(site, hit, ns);
}

static void hit_init(struct mmrace_hit *hit, unsigned long caller)
{
	*hit = (struct mmrace_hit){ .caller = caller, .order = -1, .anon = -1,
				    .mapped = -1 };
}

/*
 * At the probed function's entry: false unless called from the window by
 * a task the site may delay.  Facts from the arguments are read only then.
 */
static bool hit_begin(struct mmrace_site *site, struct pt_regs *regs,
		      struct mmrace_hit *hit)
{
	const struct mmrace_cfg *cfg = rcu_dereference_sched(site->cfg);

	hit_init(hit, mmrace_caller(regs));
	if (!mmrace_in_ranges(site->caller, ARRAY_SIZE(site->caller),
			      hit->caller))
		return false;
	mmrace_count(site, MMRACE_HITS, 1);
	if (!cfg->enable || !task_selected(cfg))
		return false;
	fetch_arg(&site->def.object, regs, hit);
	return true;
}

/* entry sites */
int mmrace_site_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(kp, struct mmrace_site, kp);
	struct mmrace_hit hit;

	if (hit_begin(site, regs, &hit))
		window(site, &hit, regs);
	return 0;
}

/*
 * Return sites: the entry handler filters by caller and task and records
 * what the arguments say; returning non-zero skips the return probe.  The
 * return handler runs with the probed code's IRQ state.
 */
int mmrace_site_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(get_kretprobe(ri),
						struct mmrace_site, krp);

	return !hit_begin(site, regs, (struct mmrace_hit *)ri->data);
}

int mmrace_site_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmrace_site *site = container_of(get_kretprobe(ri),
						struct mmrace_site, krp);

	window(site, (struct mmrace_hit *)ri->data, regs);
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
	if (!mmrace_in_ranges(site->overlap_caller,
			      ARRAY_SIZE(site->overlap_caller), hit.caller))
		return 0;
	fetch_arg(&site->def.overlap, regs, &hit);
	/* the mapping filter, where the overlap's type can tell the inode */
	cfg = rcu_dereference_sched(site->cfg);
	if (cfg->ino && site->def.overlap.type &&
	    (site->def.overlap.type->filters & MMRACE_F_INO) &&
	    hit.ino != cfg->ino)
		return 0;
	mmrace_count(site, MMRACE_OVERLAPS, 1);
	trace_mmrace_overlap(site->def.name, hit.ino, hit.pfn);
	return 0;
}
