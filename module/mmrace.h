/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmrace: bounded delays inside mm race windows, through kprobes.
 *
 * A site is a race window with a stable user-facing name
 * ("<function>.<point>").  Its definition is one line of a small language
 * (site_def.c, docs/sites.md): which kernel symbol to probe, at entry or
 * return, which caller the probe must be reached from, what the hit races
 * on (a typed value, extract.c), and which competing path to watch for
 * overlaps.  The built-in sites are such lines (site_table.c); users add
 * their own through debugfs at run time.  The engine (inject.c) decides
 * per hit whether to delay, the knobs (debugfs.c) configure it.
 */
#ifndef _MMRACE_H
#define _MMRACE_H

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/types.h>

/*
 * Probe handlers read return addresses at the stack pointer and function
 * arguments with regs_get_kernel_argument() the way x86-64 lays them out.
 */
#ifndef CONFIG_X86_64
#error "mmrace supports x86-64 only"
#endif

#define MMRACE_HARD_MAX_DELAY_US	100000	/* 100 ms: no knob goes above */
#define MMRACE_DEF_MAX_DELAY_US		10000
#define MMRACE_DEF_BUDGET_US		500000	/* per CPU per second, shared */
/*
 * The governor's bound on continuous time (inject.c): delays and
 * rendezvous waits one task takes on one CPU without a context switch in
 * between add up to at most this.  Debian's 6.1 and 6.12 kernels report a
 * soft lockup after 20 s without a context switch (2 * watchdog_thresh),
 * an RCU CPU stall after 21 s (CONFIG_RCU_CPU_STALL_TIMEOUT) and a hung
 * task after 120 s: 200 ms is a hundredth of the shortest, which leaves
 * room for the rest of a stretch running 10-50 times slower under QEMU TCG.
 * The bound is per task: a CPU spinning on a lock that delayed tasks hold
 * in turn can wait up to one bound per such task (on a 4-CPU guest, well
 * under a second).
 */
#define MMRACE_STRETCH_MAX_US		200000
#define MMRACE_SCOPE_SLOTS_BITS		6

/* tgid filter values besides a real tgid */
#define MMRACE_TGID_NONE	(-1)	/* no tgid filter */
#define MMRACE_TGID_ANY		0	/* "*": every task */

/* anon and mapped filter values */
#define MMRACE_ANY		(-1)

/*
 * What a probe hit knows about the object it races on.
 * @ino: inode number of the file mapping, 0 if unknown or anonymous
 * @pfn: page frame, 0 if unknown
 * @key: rendezvous key (swap entry, folio pfn, inode), 0 if none
 * @order: folio order, -1 if unknown
 * @anon: 1 anonymous, 0 file, -1 unknown
 * @mapped: 1 the folio is mapped (folio_mapped()), 0 not, -1 unknown
 */
struct mmrace_hit {
	unsigned long caller;
	unsigned long ino;
	unsigned long pfn;
	unsigned long key;
	int order;
	int anon;
	int mapped;
};

/*
 * key=ino keys a hit by its inode number with this bit set: no swap entry
 * (type bits below it) or pfn has it, so a file never meets a swap slot.
 */
#define MMRACE_INO_KEY		BIT(BITS_PER_LONG - 1)

/* Filters a site can evaluate; the knobs exist only where they apply. */
#define MMRACE_F_INO		BIT(0)	/* ino */
#define MMRACE_F_ORDER		BIT(1)	/* min_order */
#define MMRACE_F_ANON		BIT(2)	/* anon */
#define MMRACE_F_KEY		BIT(3)	/* rendezvous_us */
#define MMRACE_F_MAPPED		BIT(4)	/* mapped */

/* [start, end) of a kernel function, resolved at load time */
struct mmrace_range {
	const char *name;
	unsigned long start, end;
};

/*
 * A typed extractor (extract.c): what a probe can learn from one value,
 * an argument or the return value, that it is told is a folio, a vma, a
 * pte_t...  The definition names the type; the kernel has no BTF to check
 * it, so every extractor reads through the value with the nofault
 * accessors: a wrong type gives wrong facts, never a fault.
 */
struct mmrace_type {
	const char *name;
	unsigned int filters;		/* MMRACE_F_* its facts allow */
	void (*fetch)(unsigned long val, struct mmrace_hit *hit);
};

/* One value of a probe hit: $argN (1-based) or $retval (arg 0), typed. */
struct mmrace_fetch {
	int arg;
	const struct mmrace_type *type;	/* NULL: nothing fetched */
};

#define MMRACE_MAX_ALTS		4	/* alternatives for one symbol */
#define MMRACE_MAX_CALLERS	4	/* callers of one filter */
#define MMRACE_NAME_LEN		48
/*
 * One definition, as written to site_defs; reading it back may add a few
 * characters ("+1" reads "+0x1") and must still be accepted.
 */
#define MMRACE_DEF_MAX		480
#define MMRACE_MAX_SITES	32	/* built-in and run-time together */

/* A symbol spelled "a|b|c": the first one this kernel has wins. */
struct mmrace_alts {
	const char *sym[MMRACE_MAX_ALTS];
};

/*
 * A site's definition, parsed from one line of the definition language
 * (site_def.c, docs/sites.md).  The built-in sites (site_table.c) and the
 * ones written to site_defs at run time are the same thing.  The pointers
 * point into @buf.
 */
struct mmrace_site_def {
	char name[MMRACE_NAME_LEN];
	const char *window;		/* the definition's "# comment" */
	bool at_return;			/* r: the window opens when it returns */
	unsigned int offset;		/* p: +OFFS into the function */
	struct mmrace_alts probe;
	struct mmrace_alts callers[MMRACE_MAX_CALLERS];	/* caller= */
	struct mmrace_fetch object;	/* object=: facts and key of a hit */
	/*
	 * scope=: a probe on the function that encloses the window records
	 * per task the inode the window is about to race on, for probe
	 * points that cannot see it.
	 */
	struct mmrace_alts scope_symbol;
	struct mmrace_fetch scope;
	/* overlap=: the competing path, counted while a delay runs */
	struct mmrace_alts overlap_symbol;
	struct mmrace_fetch overlap;
	struct mmrace_alts overlap_callers[MMRACE_MAX_CALLERS];
	/*
	 * key=ino: rendezvous on the hit's file, not on its object, so that
	 * two paths that share only the file (a zap's flush, writeback of one
	 * of its folios) can meet.
	 */
	bool key_ino;
	unsigned int filters;		/* MMRACE_F_*, from the types */
	char *buf;
};

/* Knob values; immutable once published, replaced as a whole (RCU). */
struct mmrace_cfg {
	bool enable;
	u32 delay_us;
	u32 delay_max_us;	/* 0: fixed delay, else uniform in [delay_us, max] */
	u32 probability;	/* percent */
	u32 interval;		/* delay every Nth matched hit */
	int times;		/* -1: no limit */
	int tgid;		/* MMRACE_TGID_NONE, MMRACE_TGID_ANY or a tgid */
	unsigned long ino;	/* 0: any mapping */
	u32 min_order;		/* folios of at least this order */
	int anon;		/* MMRACE_ANY, 0 file, 1 anonymous */
	int mapped;		/* MMRACE_ANY, 0 unmapped, 1 mapped */
	u32 rendezvous_us;	/* 0: plain delays */
	char comm[TASK_COMM_LEN];	/* "": no comm filter */
	struct rcu_head rcu;
};

enum mmrace_counter {
	MMRACE_HITS,		/* probe reached from the window's caller */
	MMRACE_MATCHED,		/* ... and passed the task and object filters */
	MMRACE_INJECTED,	/* ... and was delayed */
	MMRACE_DELAYED_NS,	/* total busy-wait time */
	MMRACE_THROTTLED,	/* delays skipped by the per-CPU budget */
	MMRACE_OVERLAPS,	/* competing path ran while a delay was active */
	MMRACE_RV_WAITS,	/* first arrivals that waited for a second */
	MMRACE_RV_MEETINGS,	/* second arrivals that found a waiter */
	MMRACE_RV_TIMEOUTS,	/* waits that ended alone */
	MMRACE_RV_BUSY,		/* first arrivals whose slot held another key */
	MMRACE_RV_LATE,		/* first arrivals just after a meeting on their key */
	MMRACE_IRQS_OFF,	/* matched hits whose window ran with IRQs off */
	MMRACE_NR_COUNTERS,
};

/* Per CPU: a hit on a hot path touches no shared cache line. */
struct mmrace_counters {
	u64 c[MMRACE_NR_COUNTERS];
};

/* Per CPU: a site's share of the governor's rate budget (inject.c). */
struct mmrace_bucket {
	u64 credit;		/* ns of delay * USEC_PER_SEC */
	u64 refilled;		/* when credit was last topped up */
};

/* Which task was last in a site's scope function, with what inode. */
struct mmrace_scope_slot {
	struct task_struct *task;
	u64 start_time;		/* with @task: a task, not a reused pointer */
	unsigned long ino;
};

struct mmrace_site {
	struct list_head list;		/* mmrace_site_list, under cfg_lock */
	struct mmrace_site_def def;
	bool builtin;
	const char *symbol;		/* resolved probe symbol, NULL: none */
	struct mmrace_range caller[2 * MMRACE_MAX_CALLERS];
	struct mmrace_range overlap_caller[2 * MMRACE_MAX_CALLERS];
	const char *overlap_registered;	/* resolved symbols, NULL: none */
	const char *scope_registered;
	struct kprobe kp;		/* entry sites */
	struct kretprobe krp;		/* return sites */
	struct kprobe overlap_kp;
	struct kprobe scope_kp;
	struct mmrace_cfg __rcu *cfg;
	atomic_t times_left;
	atomic64_t interval_count;
	atomic_t active;		/* delays in progress */
	struct mmrace_counters __percpu *counters;
	struct mmrace_bucket __percpu *bucket;
	struct dentry *dir;		/* debugfs.c */
	void *files;			/* debugfs.c */
	struct mmrace_scope_slot scope[1 << MMRACE_SCOPE_SLOTS_BITS];
};

/* Global limits, written through debugfs under mmrace_cfg_lock. */
extern u32 mmrace_max_delay_us;
extern u32 mmrace_budget_us;
extern atomic_t mmrace_nr_armed;	/* sites sharing the budget */
extern struct mutex mmrace_cfg_lock;

extern struct list_head mmrace_site_list;	/* under mmrace_cfg_lock */
extern unsigned int mmrace_nr_sites;
extern const char *const mmrace_counter_names[MMRACE_NR_COUNTERS];

/* site_table.c */
extern const char *const mmrace_builtin_defs[];
extern const unsigned int mmrace_nr_builtin_defs;

/* extract.c */
const struct mmrace_type *mmrace_type_find(const char *name);

/* site_def.c */
int mmrace_def_parse(const char *text, struct mmrace_site_def *def,
		     const char **why);
void mmrace_def_free(struct mmrace_site_def *def);
void mmrace_def_show(struct seq_file *m, const struct mmrace_site_def *def);

/* sites.c */
struct mmrace_site *mmrace_site_create(const char *text, bool builtin,
				       const char **why);
void mmrace_site_destroy(struct mmrace_site *site);
int mmrace_sites_init(void);
void mmrace_sites_exit(void);
struct mmrace_site *mmrace_site_find(const char *name);
int mmrace_site_set_armed(struct mmrace_site *site, bool on);
unsigned long mmrace_site_missed(struct mmrace_site *site);
bool mmrace_resolve_range(const char *name, struct mmrace_range *r);
bool mmrace_resolve_alts(const struct mmrace_alts *alts,
			 struct mmrace_range *r);
bool mmrace_in_ranges(const struct mmrace_range *r, unsigned int n,
		      unsigned long addr);

/* inject.c */
void mmrace_count(struct mmrace_site *site, enum mmrace_counter c, s64 n);
u64 mmrace_counter(struct mmrace_site *site, enum mmrace_counter c);
bool mmrace_governor_take(struct mmrace_site *site, u64 ns);
void mmrace_governor_refund(struct mmrace_site *site, u64 ns);
void mmrace_governor_show(struct seq_file *m);
void mmrace_governor_reset(void);
u64 mmrace_busy_wait(u64 ns, const int *until);
unsigned long mmrace_caller(struct pt_regs *regs);
int mmrace_site_pre(struct kprobe *kp, struct pt_regs *regs);
int mmrace_site_entry(struct kretprobe_instance *ri, struct pt_regs *regs);
int mmrace_site_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
int mmrace_overlap_pre(struct kprobe *kp, struct pt_regs *regs);
int mmrace_scope_pre(struct kprobe *kp, struct pt_regs *regs);
void mmrace_site_reset_counters(struct mmrace_site *site);

/* rendezvous.c */
void mmrace_rendezvous_init(void);
bool mmrace_rendezvous_waiting(unsigned long key);
bool mmrace_rendezvous_join(unsigned long key);
void mmrace_rendezvous_wait(struct mmrace_site *site, unsigned long key,
			    u64 ns);

/* oracles.c */
void mmrace_oracles_init(void);
void mmrace_oracles_exit(void);
void mmrace_oracles_reset(void);
int mmrace_oracles_show(struct seq_file *m, void *v);

/* debugfs.c */
int mmrace_debugfs_init(void);
void mmrace_debugfs_exit(void);
int mmrace_site_files(struct mmrace_site *site);
void mmrace_site_files_remove(struct mmrace_site *site);

#endif /* _MMRACE_H */
