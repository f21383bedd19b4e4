// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs knobs, in the style of lib/fault-inject.c:
 *
 *   /sys/kernel/debug/mmrace/
 *     sites  site_defs  stats  oracles  reset  max_delay_us  budget_us
 *     <site>/enable delay_us delay_max_us probability interval times
 *            comm tgid                                   (read-write)
 *            ino min_order anon mapped rendezvous_us  (where the site can use them)
 *            hits matched injected ... (mmrace_counter_names, read-only)
 *
 * Every knob is one row of knobs[]: its field in struct mmrace_cfg, how
 * its value parses and its range.  A write is parsed into a copy of the
 * site's configuration, validated as a whole (cfg_valid()) and only then
 * published (RCU), so a bad value returns -EINVAL and changes nothing.  A
 * value is one write(2) at offset 0 of an open file: a second write, or
 * one at another offset, is refused, so a value written in pieces is
 * never taken for two values.  A read formats the value once, at offset 0,
 * and later reads of the same open file continue from that text, as
 * simple_attr files do.  Numbers are decimal.  Everything is root-only.
 *
 * site_defs takes a site definition per write(2) (site_def.c), "-:NAME"
 * deletes a run-time site; it reads back every definition.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mmrace.h"

#define KNOB_BUF 64

/* Serialises knob writes and guards mmrace_site_list. */
DEFINE_MUTEX(mmrace_cfg_lock);

const char *const mmrace_counter_names[MMRACE_NR_COUNTERS] = {
	[MMRACE_HITS]		= "hits",
	[MMRACE_MATCHED]	= "matched",
	[MMRACE_INJECTED]	= "injected",
	[MMRACE_DELAYED_NS]	= "delayed_ns",
	[MMRACE_THROTTLED]	= "throttled",
	[MMRACE_OVERLAPS]	= "overlaps",
	[MMRACE_RV_WAITS]	= "rv_waits",
	[MMRACE_RV_MEETINGS]	= "rv_meetings",
	[MMRACE_RV_TIMEOUTS]	= "rv_timeouts",
	[MMRACE_RV_BUSY]	= "rv_busy",
	[MMRACE_RV_LATE]	= "rv_late",
	[MMRACE_IRQS_OFF]	= "irqs_off",
};

static struct dentry *mmrace_dir;

/* ---- value files: format once per open, one write at offset 0 ----------- */

struct value_buf {
	size_t len;
	char text[KNOB_BUF];
};

static int value_open(struct inode *inode, struct file *file)
{
	struct value_buf *vb = kzalloc(sizeof(*vb), GFP_KERNEL);

	file->private_data = vb;
	return vb ? 0 : -ENOMEM;
}

static int value_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

/* @format fills the buffer; called for a read at offset 0 only. */
static ssize_t value_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos, int (*format)(struct inode *, char *))
{
	struct value_buf *vb = file->private_data;

	if (!*ppos)
		vb->len = format(file_inode(file), vb->text);
	return simple_read_from_buffer(ubuf, len, ppos, vb->text, vb->len);
}

/*
 * The value of a write: all of it in one write(2) at offset 0, no NUL
 * inside, trimmed.  Moves the offset so that a second write is refused.
 */
static int value_get(char *buf, const char __user *ubuf, size_t len,
		     loff_t *ppos)
{
	char *val;

	if (*ppos || len >= KNOB_BUF)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (strlen(buf) != len)
		return -EINVAL;
	*ppos = len;
	val = strim(buf);
	memmove(buf, val, strlen(val) + 1);
	return 0;
}

/* ---- per-site knobs ---------------------------------------------------- */

enum knob_type {
	K_BOOL,		/* exactly 0 or 1 */
	K_U32,		/* decimal, within [min, max] */
	K_TIMES,	/* -1 (no limit) or a count */
	K_INO,		/* decimal inode number, 0: any */
	K_COMM,		/* a task name of printable characters, or "none" */
	K_TGID,		/* "none", "*" (every task) or an existing tgid */
	K_CHOICE,	/* "any" (MMRACE_ANY) or one of choices[], its index */
};

struct knob {
	const char *name;
	enum knob_type type;
	size_t offset;		/* of the field in struct mmrace_cfg */
	u32 min, max;		/* K_U32 */
	unsigned int filter;	/* MMRACE_F_* the site must have, 0: any site */
	const char *const *choices;	/* K_CHOICE: the values 0 and 1 */
};

static const char *const anon_choices[] = { "file", "anon" };
static const char *const mapped_choices[] = { "unmapped", "mapped" };

#define KNOB(n, t, lo, hi, f) \
	{ #n, t, offsetof(struct mmrace_cfg, n), lo, hi, f }
#define CHOICE_KNOB(n, f) \
	{ #n, K_CHOICE, offsetof(struct mmrace_cfg, n), 0, 0, f, n##_choices }
static const struct knob knobs[] = {
	KNOB(enable,        K_BOOL,  0, 1, 0),
	KNOB(delay_us,      K_U32,   0, MMRACE_HARD_MAX_DELAY_US, 0),
	KNOB(delay_max_us,  K_U32,   0, MMRACE_HARD_MAX_DELAY_US, 0),
	KNOB(probability,   K_U32,   0, 100, 0),
	KNOB(interval,      K_U32,   1, U32_MAX, 0),
	KNOB(times,         K_TIMES, 0, 0, 0),
	KNOB(comm,          K_COMM,  0, 0, 0),
	KNOB(tgid,          K_TGID,  0, 0, 0),
	KNOB(ino,           K_INO,   0, 0, MMRACE_F_INO),
	KNOB(min_order,     K_U32,   0, 20, MMRACE_F_ORDER),
	CHOICE_KNOB(anon, MMRACE_F_ANON),
	CHOICE_KNOB(mapped, MMRACE_F_MAPPED),
	KNOB(rendezvous_us, K_U32,   0, MMRACE_HARD_MAX_DELAY_US, MMRACE_F_KEY),
};

/* The rules that tie knobs together, for every write. */
static bool cfg_valid(const struct mmrace_cfg *c, u32 max_delay_us)
{
	return c->delay_us <= max_delay_us &&
	       c->delay_max_us <= max_delay_us &&
	       (!c->delay_max_us || c->delay_max_us >= c->delay_us) &&
	       c->rendezvous_us <= max_delay_us;
}

/*
 * The tgid as the writer's pid namespace numbers it, as the initial
 * namespace does (what current->tgid holds), or 0 if no such process
 * exists.  Checked when written: a tgid reused later selects the new
 * process.
 */
static int tgid_global(int nr)
{
	struct pid *pid;
	int tgid = 0;

	rcu_read_lock();
	pid = find_vpid(nr);
	if (pid && pid_task(pid, PIDTYPE_TGID))
		tgid = pid_nr(pid);
	rcu_read_unlock();
	return tgid;
}

static int knob_parse(const struct knob *k, struct mmrace_cfg *cfg,
		      const char *val)
{
	void *field = (char *)cfg + k->offset;
	const char *p;
	int n;

	switch (k->type) {
	case K_BOOL:
		if (strcmp(val, "0") && strcmp(val, "1"))
			return -EINVAL;
		*(bool *)field = val[0] == '1';
		return 0;
	case K_U32:
		if (kstrtou32(val, 10, field) ||
		    *(u32 *)field < k->min || *(u32 *)field > k->max)
			return -EINVAL;
		return 0;
	case K_TIMES:
		if (kstrtoint(val, 10, field) || *(int *)field < -1)
			return -EINVAL;
		return 0;
	case K_INO:
		return kstrtoul(val, 10, field) ? -EINVAL : 0;
	case K_COMM:
		/* "" would be a typo's way of widening the filter */
		if (!strcmp(val, "none")) {
			cfg->comm[0] = '\0';
			return 0;
		}
		if (!*val || strlen(val) >= TASK_COMM_LEN)
			return -EINVAL;
		for (p = val; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -EINVAL;
		strscpy(cfg->comm, val, TASK_COMM_LEN);
		return 0;
	case K_TGID:
		if (!strcmp(val, "none")) {
			cfg->tgid = MMRACE_TGID_NONE;
			return 0;
		}
		if (!strcmp(val, "*")) {
			cfg->tgid = MMRACE_TGID_ANY;
			return 0;
		}
		if (kstrtoint(val, 10, &n) || n <= 0 || n > PID_MAX_LIMIT)
			return -EINVAL;
		cfg->tgid = tgid_global(n);
		return cfg->tgid ? 0 : -EINVAL;
	case K_CHOICE:
		if (!strcmp(val, "any")) {
			*(int *)field = MMRACE_ANY;
			return 0;
		}
		n = match_string(k->choices, 2, val);
		if (n < 0)
			return -EINVAL;
		*(int *)field = n;
		return 0;
	}
	return -EINVAL;
}

static int knob_format(const struct knob *k, const struct mmrace_cfg *cfg,
		       char *buf)
{
	const void *field = (const char *)cfg + k->offset;
	int n;

	switch (k->type) {
	case K_BOOL:
		return sprintf(buf, "%d\n", *(const bool *)field);
	case K_U32:
		return sprintf(buf, "%u\n", *(const u32 *)field);
	case K_TIMES:
		return sprintf(buf, "%d\n", *(const int *)field);
	case K_INO:
		return sprintf(buf, "%lu\n", *(const unsigned long *)field);
	case K_COMM:
		return sprintf(buf, "%s\n", cfg->comm[0] ? cfg->comm : "none");
	case K_TGID:
		if (cfg->tgid == MMRACE_TGID_NONE)
			return sprintf(buf, "none\n");
		if (cfg->tgid == MMRACE_TGID_ANY)
			return sprintf(buf, "*\n");
		return sprintf(buf, "%d\n", cfg->tgid);
	case K_CHOICE:
		n = *(const int *)field;
		return sprintf(buf, "%s\n", n == MMRACE_ANY ?
			       "any" : k->choices[n]);
	}
	return 0;
}

struct knob_ref {
	struct mmrace_site *site;
	const struct knob *knob;
};

static int knob_apply(struct mmrace_site *site, const struct knob *knob,
		      const char *val)
{
	struct mmrace_cfg *old, *new;
	int ret;

	old = rcu_dereference_protected(site->cfg,
					lockdep_is_held(&mmrace_cfg_lock));
	new = kmemdup(old, sizeof(*old), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	if (knob_parse(knob, new, val) || !cfg_valid(new, mmrace_max_delay_us)) {
		kfree(new);
		return -EINVAL;
	}
	if (new->enable && !old->enable) {
		ret = mmrace_site_set_armed(site, true);
		if (ret) {
			kfree(new);
			return ret;
		}
	}
	/* fault-inject semantics: writing "times" restarts the count */
	if (knob->type == K_TIMES)
		atomic_set(&site->times_left, new->times);
	rcu_assign_pointer(site->cfg, new);
	if (!new->enable && old->enable)
		mmrace_site_set_armed(site, false);
	kfree_rcu(old, rcu);
	return 0;
}

static ssize_t knob_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	struct knob_ref *ref = file_inode(file)->i_private;
	char buf[KNOB_BUF];
	int ret;

	ret = value_get(buf, ubuf, len, ppos);
	if (ret)
		return ret;
	mutex_lock(&mmrace_cfg_lock);
	ret = knob_apply(ref->site, ref->knob, buf);
	mutex_unlock(&mmrace_cfg_lock);
	return ret ?: len;
}

static int knob_show(struct inode *inode, char *buf)
{
	struct knob_ref *ref = inode->i_private;
	const struct mmrace_cfg *cfg;
	int n;

	mutex_lock(&mmrace_cfg_lock);
	cfg = rcu_dereference_protected(ref->site->cfg,
					lockdep_is_held(&mmrace_cfg_lock));
	n = knob_format(ref->knob, cfg, buf);
	mutex_unlock(&mmrace_cfg_lock);
	return n;
}

static ssize_t knob_read(struct file *file, char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	return value_read(file, ubuf, len, ppos, knob_show);
}

static const struct file_operations knob_fops = {
	.owner = THIS_MODULE,
	.open = value_open,
	.release = value_release,
	.read = knob_read,
	.write = knob_write,
	.llseek = default_llseek,
};

/* A counter file's inode carries its site; the counter is its index. */
struct counter_ref {
	struct mmrace_site *site;
	enum mmrace_counter counter;
};

/* A site's files point at these (site->files). */
struct site_files {
	struct knob_ref knobs[ARRAY_SIZE(knobs)];
	struct counter_ref counters[MMRACE_NR_COUNTERS];
};

static int counter_show(struct inode *inode, char *buf)
{
	struct counter_ref *ref = inode->i_private;

	return sprintf(buf, "%llu\n", mmrace_counter(ref->site, ref->counter));
}

static ssize_t counter_read(struct file *file, char __user *ubuf, size_t len,
			    loff_t *ppos)
{
	return value_read(file, ubuf, len, ppos, counter_show);
}

static const struct file_operations counter_fops = {
	.owner = THIS_MODULE,
	.open = value_open,
	.release = value_release,
	.read = counter_read,
	.llseek = default_llseek,
};

/* ---- global files -------------------------------------------------------- */

static const char *site_state(struct mmrace_site *site)
{
	if (!site->symbol)
		return "unresolved";
	return rcu_dereference_protected(site->cfg,
		lockdep_is_held(&mmrace_cfg_lock))->enable ? "armed" : "idle";
}

/* IRQ state matched hits saw at the window: on, off, mixed, or - (none yet) */
static const char *site_irqs(struct mmrace_site *site)
{
	u64 matched = mmrace_counter(site, MMRACE_MATCHED);
	u64 off = mmrace_counter(site, MMRACE_IRQS_OFF);

	if (!matched)
		return "-";
	return !off ? "on" : off == matched ? "off" : "mixed";
}

/* "a(+.cold),b": the callers as resolved */
static void show_callers(struct seq_file *m, const struct mmrace_range *r,
			 unsigned int n)
{
	bool first = true;
	unsigned int i;

	for (i = 0; i < n; i += 2) {
		if (!r[i].name)
			continue;
		seq_printf(m, "%s%s%s", first ? "" : ",", r[i].name,
			   r[i + 1].name ? "(+.cold)" : "");
		first = false;
	}
	if (first)
		seq_putc(m, '-');
}

static int sites_show(struct seq_file *m, void *v)
{
	struct mmrace_site *site;

	mutex_lock(&mmrace_cfg_lock);
	list_for_each_entry(site, &mmrace_site_list, list) {
		const struct mmrace_site_def *def = &site->def;

		seq_printf(m, "%s state=%s probe=%s%s caller=", def->name,
			   site_state(site), site->symbol ?: "-",
			   def->at_return ? ":return" : "");
		show_callers(m, site->caller, ARRAY_SIZE(site->caller));
		seq_printf(m, " scope=%s overlap=%s irqs=%s missed=%lu # %s\n",
			   site->scope_registered ?: "-",
			   site->overlap_registered ?: "-",
			   site_irqs(site),
			   site->symbol ? mmrace_site_missed(site) : 0,
			   def->window);
	}
	mutex_unlock(&mmrace_cfg_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sites);

static int stats_show(struct seq_file *m, void *v)
{
	struct mmrace_site *site;
	int c;

	mutex_lock(&mmrace_cfg_lock);
	list_for_each_entry(site, &mmrace_site_list, list) {
		seq_puts(m, site->def.name);
		for (c = 0; c < MMRACE_NR_COUNTERS; c++)
			seq_printf(m, " %s=%llu", mmrace_counter_names[c],
				   mmrace_counter(site, c));
		seq_putc(m, '\n');
	}
	mutex_unlock(&mmrace_cfg_lock);
	mmrace_governor_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int oracles_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmrace_oracles_show, NULL);
}

static const struct file_operations oracles_fops = {
	.owner = THIS_MODULE,
	.open = oracles_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/* "1" zeroes every counter, oracles and governor included */
static ssize_t reset_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	struct mmrace_site *site;
	char buf[KNOB_BUF];
	int ret;

	ret = value_get(buf, ubuf, len, ppos);
	if (ret)
		return ret;
	if (strcmp(buf, "1"))
		return -EINVAL;
	mutex_lock(&mmrace_cfg_lock);
	list_for_each_entry(site, &mmrace_site_list, list)
		mmrace_site_reset_counters(site);
	mutex_unlock(&mmrace_cfg_lock);
	mmrace_oracles_reset();
	mmrace_governor_reset();
	return len;
}

static const struct file_operations reset_fops = {
	.owner = THIS_MODULE,
	.open = value_open,
	.release = value_release,
	.write = reset_write,
	.llseek = default_llseek,
};

/*
 * A global limit in microseconds, accepted within [1, max].  max_delay_us
 * cannot go below what a site is configured for (lower the site first):
 * every knob's documented range holds at all times.
 */
struct limit {
	u32 *value;
	u32 max;
	bool caps_sites;
};

static struct limit limits[] = {
	{ &mmrace_max_delay_us, MMRACE_HARD_MAX_DELAY_US, true },
	{ &mmrace_budget_us, USEC_PER_SEC, false },
};

static bool sites_fit(u32 max_delay_us)
{
	struct mmrace_site *site;

	list_for_each_entry(site, &mmrace_site_list, list) {
		const struct mmrace_cfg *cfg = rcu_dereference_protected(site->cfg,
				lockdep_is_held(&mmrace_cfg_lock));

		if (!cfg_valid(cfg, max_delay_us))
			return false;
	}
	return true;
}

static ssize_t limit_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	struct limit *lim = file_inode(file)->i_private;
	char buf[KNOB_BUF];
	int ret;
	u32 v;

	ret = value_get(buf, ubuf, len, ppos);
	if (ret)
		return ret;
	if (kstrtou32(buf, 10, &v) || !v || v > lim->max)
		return -EINVAL;
	mutex_lock(&mmrace_cfg_lock);
	if (lim->caps_sites && !sites_fit(v))
		ret = -EINVAL;
	else
		WRITE_ONCE(*lim->value, v);
	mutex_unlock(&mmrace_cfg_lock);
	return ret ?: len;
}

static int limit_show(struct inode *inode, char *buf)
{
	struct limit *lim = inode->i_private;

	return sprintf(buf, "%u\n", READ_ONCE(*lim->value));
}

static ssize_t limit_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	return value_read(file, ubuf, len, ppos, limit_show);
}

static const struct file_operations limit_fops = {
	.owner = THIS_MODULE,
	.open = value_open,
	.release = value_release,
	.read = limit_read,
	.write = limit_write,
	.llseek = default_llseek,
};

/* ---- site definitions ---------------------------------------------------- */

/* Serialises definitions and deletions; knob writes take mmrace_cfg_lock. */
static DEFINE_MUTEX(defs_lock);

static int site_defs_show(struct seq_file *m, void *v)
{
	struct mmrace_site *site;

	mutex_lock(&mmrace_cfg_lock);
	list_for_each_entry(site, &mmrace_site_list, list)
		mmrace_def_show(m, &site->def);
	mutex_unlock(&mmrace_cfg_lock);
	return 0;
}

/*
 * A run-time site: parsed, registered and given its files before it goes
 * on the list; nothing of a refused one stays.
 */
static int site_define(const char *text, const char **why)
{
	struct mmrace_site *site;
	int ret = -EINVAL;

	site = mmrace_site_create(text, false, why);
	if (IS_ERR(site))
		return PTR_ERR(site);
	mutex_lock(&mmrace_cfg_lock);
	if (mmrace_site_find(site->def.name))
		*why = "a site of that name exists";
	else if (mmrace_nr_sites >= MMRACE_MAX_SITES)
		*why = "too many sites";
	else
		ret = 0;
	mutex_unlock(&mmrace_cfg_lock);
	if (!ret) {
		ret = mmrace_site_files(site);
		*why = "cannot create its debugfs files";
	}
	if (ret) {
		mmrace_site_destroy(site);
		return ret;
	}
	mutex_lock(&mmrace_cfg_lock);
	list_add_tail(&site->list, &mmrace_site_list);
	mmrace_nr_sites++;
	mutex_unlock(&mmrace_cfg_lock);
	return 0;
}

/*
 * Off the list first (stats and sites no longer show it), then its files
 * (debugfs waits for knob accesses in flight), then its probes
 * (unregistering waits for delays and rendezvous waits in flight).
 */
static int site_delete(const char *name, const char **why)
{
	struct mmrace_site *site;

	mutex_lock(&mmrace_cfg_lock);
	site = mmrace_site_find(name);
	if (!site) {
		*why = "no such site";
	} else if (site->builtin) {
		*why = "a built-in site cannot be deleted";
		site = NULL;
	} else {
		list_del(&site->list);
		mmrace_nr_sites--;
	}
	mutex_unlock(&mmrace_cfg_lock);
	if (!site)
		return -EINVAL;
	mmrace_site_files_remove(site);
	mmrace_site_destroy(site);
	return 0;
}

/* One definition, or "-:NAME", per write(2); a trailing newline is fine. */
static ssize_t site_defs_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	const char *why = "one line of printable text";
	char *buf, *text, *p;
	bool bad;
	int ret;

	if (!len || len > MMRACE_DEF_MAX)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	bad = strlen(buf) != len;
	text = strim(buf);
	for (p = text; *p && !bad; p++)
		bad = !isprint(*p) && *p != '\t';
	mutex_lock(&defs_lock);
	if (bad)
		ret = -EINVAL;
	else if (!strncmp(text, "-:", 2))
		ret = site_delete(text + 2, &why);
	else
		ret = site_define(text, &why);
	mutex_unlock(&defs_lock);
	if (ret && !bad)
		pr_warn("site_defs: refused \"%s\": %s\n", text, why);
	else if (ret)
		pr_warn("site_defs: refused a write: %s\n", why);
	kfree(buf);
	return ret ?: len;
}

static int site_defs_open(struct inode *inode, struct file *file)
{
	return single_open(file, site_defs_show, NULL);
}

static const struct file_operations site_defs_fops = {
	.owner = THIS_MODULE,
	.open = site_defs_open,
	.read = seq_read,
	.write = site_defs_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* ---- creating the files ---------------------------------------------------- */

int mmrace_site_files(struct mmrace_site *site)
{
	struct site_files *f = kzalloc(sizeof(*f), GFP_KERNEL);
	unsigned int k;
	int c;

	if (!f)
		return -ENOMEM;
	site->dir = debugfs_create_dir(site->def.name, mmrace_dir);
	if (IS_ERR(site->dir)) {
		kfree(f);
		return PTR_ERR(site->dir);
	}
	site->files = f;
	for (k = 0; k < ARRAY_SIZE(knobs); k++) {
		if ((site->def.filters & knobs[k].filter) != knobs[k].filter)
			continue;
		f->knobs[k].site = site;
		f->knobs[k].knob = &knobs[k];
		debugfs_create_file(knobs[k].name, 0600, site->dir,
				    &f->knobs[k], &knob_fops);
	}
	for (c = 0; c < MMRACE_NR_COUNTERS; c++) {
		f->counters[c].site = site;
		f->counters[c].counter = c;
		debugfs_create_file(mmrace_counter_names[c], 0400, site->dir,
				    &f->counters[c], &counter_fops);
	}
	return 0;
}

/* Waits for every access to them in flight (debugfs file removal does). */
void mmrace_site_files_remove(struct mmrace_site *site)
{
	debugfs_remove_recursive(site->dir);
	kfree(site->files);
	site->dir = NULL;
	site->files = NULL;
}

int mmrace_debugfs_init(void)
{
	struct mmrace_site *site;
	int ret;

	mmrace_dir = debugfs_create_dir("mmrace", NULL);
	if (IS_ERR(mmrace_dir))
		return PTR_ERR(mmrace_dir);
	debugfs_create_file("sites", 0400, mmrace_dir, NULL, &sites_fops);
	debugfs_create_file("stats", 0400, mmrace_dir, NULL, &stats_fops);
	debugfs_create_file("oracles", 0400, mmrace_dir, NULL, &oracles_fops);
	debugfs_create_file("reset", 0200, mmrace_dir, NULL, &reset_fops);
	debugfs_create_file("max_delay_us", 0600, mmrace_dir, &limits[0],
			    &limit_fops);
	debugfs_create_file("budget_us", 0600, mmrace_dir, &limits[1],
			    &limit_fops);
	list_for_each_entry(site, &mmrace_site_list, list) {
		ret = mmrace_site_files(site);
		if (ret) {
			mmrace_debugfs_exit();
			return ret;
		}
	}
	/* last: until now the list is the built-in sites' alone */
	debugfs_create_file("site_defs", 0600, mmrace_dir, NULL,
			    &site_defs_fops);
	return 0;
}

/*
 * Waits for every file access in flight (debugfs file removal does); the
 * sites themselves are sites.c's to free.
 */
void mmrace_debugfs_exit(void)
{
	struct mmrace_site *site;

	debugfs_remove_recursive(mmrace_dir);
	list_for_each_entry(site, &mmrace_site_list, list) {
		kfree(site->files);
		site->dir = NULL;
		site->files = NULL;
	}
}
