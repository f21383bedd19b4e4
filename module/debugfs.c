// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs knobs, in the style of lib/fault-inject.c:
 *
 *   /sys/kernel/debug/mmrace/
 *     sites  stats  oracles  reset  max_delay_us  budget_us
 *     <site>/enable delay_us delay_max_us probability interval times
 *            comm tgid                                   (read-write)
 *            ino min_order anon rendezvous_us    (where the site can use them)
 *            hits matched injected delayed_ns throttled overlaps
 *            rv_waits rv_meetings rv_timeouts            (read-only)
 *
 * A write is parsed into a copy of the site's configuration, validated as a
 * whole and only then published (RCU), so a bad value returns -EINVAL and
 * changes nothing.  Everything is root-only (0600).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mmrace.h"

#define KNOB_BUF 64

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
};

static struct dentry *mmrace_dir;

/* ---- per-site knobs ---------------------------------------------------- */

static int delay_range_ok(const struct mmrace_cfg *cfg)
{
	if (cfg->delay_us > mmrace_max_delay_us ||
	    cfg->delay_max_us > mmrace_max_delay_us)
		return -EINVAL;
	if (cfg->delay_max_us && cfg->delay_max_us < cfg->delay_us)
		return -EINVAL;
	return 0;
}

/* exactly "0" or "1": kstrtobool() would take "yes-please" for yes */
static int store_enable(struct mmrace_cfg *cfg, const char *val)
{
	if (strcmp(val, "0") && strcmp(val, "1"))
		return -EINVAL;
	cfg->enable = val[0] == '1';
	return 0;
}

static int store_delay_us(struct mmrace_cfg *cfg, const char *val)
{
	return kstrtou32(val, 0, &cfg->delay_us) ?: delay_range_ok(cfg);
}

static int store_delay_max_us(struct mmrace_cfg *cfg, const char *val)
{
	return kstrtou32(val, 0, &cfg->delay_max_us) ?: delay_range_ok(cfg);
}

static int store_probability(struct mmrace_cfg *cfg, const char *val)
{
	if (kstrtou32(val, 0, &cfg->probability) || cfg->probability > 100)
		return -EINVAL;
	return 0;
}

static int store_interval(struct mmrace_cfg *cfg, const char *val)
{
	if (kstrtou32(val, 0, &cfg->interval) || !cfg->interval)
		return -EINVAL;
	return 0;
}

static int store_times(struct mmrace_cfg *cfg, const char *val)
{
	if (kstrtoint(val, 0, &cfg->times) || cfg->times < -1)
		return -EINVAL;
	return 0;
}

/* "" clears the filter; a name longer than a task's comm never matches */
static int store_comm(struct mmrace_cfg *cfg, const char *val)
{
	if (strlen(val) >= TASK_COMM_LEN)
		return -EINVAL;
	strscpy(cfg->comm, val, TASK_COMM_LEN);
	return 0;
}

/* "none", "*" (every task) or a tgid */
static int store_tgid(struct mmrace_cfg *cfg, const char *val)
{
	if (!strcmp(val, "none")) {
		cfg->tgid = MMRACE_TGID_NONE;
		return 0;
	}
	if (!strcmp(val, "*")) {
		cfg->tgid = MMRACE_TGID_ANY;
		return 0;
	}
	if (kstrtoint(val, 10, &cfg->tgid) || cfg->tgid <= 0)
		return -EINVAL;
	return 0;
}

static int store_ino(struct mmrace_cfg *cfg, const char *val)
{
	return kstrtoul(val, 0, &cfg->ino);
}

static int store_min_order(struct mmrace_cfg *cfg, const char *val)
{
	if (kstrtou32(val, 0, &cfg->min_order) || cfg->min_order > 20)
		return -EINVAL;
	return 0;
}

static const char *const anon_names[] = { "file", "anon" };

/* "any", "anon" or "file" */
static int store_anon(struct mmrace_cfg *cfg, const char *val)
{
	if (!strcmp(val, "any")) {
		cfg->anon = MMRACE_ANY;
		return 0;
	}
	cfg->anon = match_string(anon_names, ARRAY_SIZE(anon_names), val);
	return cfg->anon < 0 ? -EINVAL : 0;
}

static int store_rendezvous_us(struct mmrace_cfg *cfg, const char *val)
{
	if (kstrtou32(val, 0, &cfg->rendezvous_us) ||
	    cfg->rendezvous_us > mmrace_max_delay_us)
		return -EINVAL;
	return 0;
}

static int show_enable(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%d\n", c->enable);
}

static int show_delay_us(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%u\n", c->delay_us);
}

static int show_delay_max_us(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%u\n", c->delay_max_us);
}

static int show_probability(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%u\n", c->probability);
}

static int show_interval(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%u\n", c->interval);
}

static int show_times(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%d\n", c->times);
}

static int show_comm(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%s\n", c->comm);
}

static int show_tgid(const struct mmrace_cfg *c, char *b)
{
	if (c->tgid == MMRACE_TGID_NONE)
		return sprintf(b, "none\n");
	if (c->tgid == MMRACE_TGID_ANY)
		return sprintf(b, "*\n");
	return sprintf(b, "%d\n", c->tgid);
}

static int show_ino(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%lu\n", c->ino);
}

static int show_min_order(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%u\n", c->min_order);
}

static int show_anon(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%s\n",
		       c->anon == MMRACE_ANY ? "any" : anon_names[c->anon]);
}

static int show_rendezvous_us(const struct mmrace_cfg *c, char *b)
{
	return sprintf(b, "%u\n", c->rendezvous_us);
}

struct knob {
	const char *name;
	int (*store)(struct mmrace_cfg *cfg, const char *val);
	int (*show)(const struct mmrace_cfg *cfg, char *buf);
	unsigned int filter;	/* MMRACE_F_* the site must have, 0: any site */
};

#define KNOB(n, f) { #n, store_##n, show_##n, f }
static const struct knob knobs[] = {
	KNOB(enable, 0), KNOB(delay_us, 0), KNOB(delay_max_us, 0),
	KNOB(probability, 0), KNOB(interval, 0), KNOB(times, 0),
	KNOB(comm, 0), KNOB(tgid, 0), KNOB(ino, MMRACE_F_INO),
	KNOB(min_order, MMRACE_F_FOLIO), KNOB(anon, MMRACE_F_FOLIO),
	KNOB(rendezvous_us, MMRACE_F_KEY),
};

struct knob_ref {
	struct mmrace_site *site;
	const struct knob *knob;
};
static struct knob_ref *knob_refs;

/* Read at most KNOB_BUF - 1 bytes from user, NUL-terminated, trimmed. */
static int copy_value(char *buf, const char __user *ubuf, size_t len)
{
	if (len >= KNOB_BUF)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	return 0;
}

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
	ret = knob->store(new, val);
	if (ret) {
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
	if (knob->store == store_times)
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

	ret = copy_value(buf, ubuf, len);
	if (ret)
		return ret;
	mutex_lock(&mmrace_cfg_lock);
	ret = knob_apply(ref->site, ref->knob, strim(buf));
	mutex_unlock(&mmrace_cfg_lock);
	return ret ?: len;
}

static ssize_t knob_read(struct file *file, char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	struct knob_ref *ref = file_inode(file)->i_private;
	char buf[KNOB_BUF];
	int n;

	mutex_lock(&mmrace_cfg_lock);
	n = ref->knob->show(rcu_dereference_protected(ref->site->cfg,
				lockdep_is_held(&mmrace_cfg_lock)), buf);
	mutex_unlock(&mmrace_cfg_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations knob_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = knob_read,
	.write = knob_write,
	.llseek = default_llseek,
};

static ssize_t counter_read(struct file *file, char __user *ubuf, size_t len,
			    loff_t *ppos)
{
	atomic64_t *counter = file_inode(file)->i_private;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld\n", atomic64_read(counter));

	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations counter_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
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

static int sites_show(struct seq_file *m, void *v)
{
	unsigned int i;

	mutex_lock(&mmrace_cfg_lock);
	for (i = 0; i < mmrace_nr_sites; i++) {
		struct mmrace_site *site = &mmrace_sites[i];
		const struct mmrace_site_def *def = site->def;

		seq_printf(m, "%s state=%s probe=%s%s caller=%s%s scope=%s overlap=%s # %s\n",
			   def->name, site_state(site),
			   site->symbol ?: "-",
			   def->at_return ? ":return" : "",
			   site->caller[0].name ?: "-",
			   site->caller[1].name ? "(+.cold)" : "",
			   site->scope_registered ? def->scope_symbol : "-",
			   site->overlap_registered ? def->overlap_symbol : "-",
			   def->window);
	}
	mutex_unlock(&mmrace_cfg_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sites);

static int stats_show(struct seq_file *m, void *v)
{
	unsigned int i;
	int c;

	for (i = 0; i < mmrace_nr_sites; i++) {
		struct mmrace_site *site = &mmrace_sites[i];

		seq_puts(m, site->def->name);
		for (c = 0; c < MMRACE_NR_COUNTERS; c++)
			seq_printf(m, " %s=%lld", mmrace_counter_names[c],
				   atomic64_read(&site->counters[c]));
		seq_putc(m, '\n');
	}
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

/* "1" zeroes every counter, oracles included; anything else is -EINVAL */
static ssize_t reset_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	char buf[KNOB_BUF];
	unsigned int i;
	int ret;

	ret = copy_value(buf, ubuf, len);
	if (ret)
		return ret;
	if (strcmp(strim(buf), "1"))
		return -EINVAL;
	for (i = 0; i < mmrace_nr_sites; i++)
		mmrace_site_reset_counters(&mmrace_sites[i]);
	mmrace_oracles_reset();
	return len;
}

static const struct file_operations reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = reset_write,
	.llseek = default_llseek,
};

/* A global limit in microseconds, accepted within [1, max]. */
struct limit {
	u32 *value;
	u32 max;
};

static struct limit limits[] = {
	{ &mmrace_max_delay_us, MMRACE_HARD_MAX_DELAY_US },
	{ &mmrace_budget_us, USEC_PER_SEC },
};

static ssize_t limit_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	struct limit *lim = file_inode(file)->i_private;
	char buf[KNOB_BUF];
	u32 v;
	int ret;

	ret = copy_value(buf, ubuf, len);
	if (ret)
		return ret;
	if (kstrtou32(strim(buf), 0, &v) || !v || v > lim->max)
		return -EINVAL;
	mutex_lock(&mmrace_cfg_lock);
	WRITE_ONCE(*lim->value, v);
	mutex_unlock(&mmrace_cfg_lock);
	return len;
}

static ssize_t limit_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	struct limit *lim = file_inode(file)->i_private;
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u\n", READ_ONCE(*lim->value));

	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations limit_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = limit_read,
	.write = limit_write,
	.llseek = default_llseek,
};

static void site_files(struct mmrace_site *site, struct knob_ref *refs)
{
	struct dentry *dir = debugfs_create_dir(site->def->name, mmrace_dir);
	unsigned int k;
	int c;

	for (k = 0; k < ARRAY_SIZE(knobs); k++) {
		if ((site->def->filters & knobs[k].filter) != knobs[k].filter)
			continue;
		refs[k].site = site;
		refs[k].knob = &knobs[k];
		debugfs_create_file(knobs[k].name, 0600, dir, &refs[k],
				    &knob_fops);
	}
	for (c = 0; c < MMRACE_NR_COUNTERS; c++)
		debugfs_create_file(mmrace_counter_names[c], 0400, dir,
				    &site->counters[c], &counter_fops);
}

int mmrace_debugfs_init(void)
{
	unsigned int i;

	knob_refs = kcalloc(mmrace_nr_sites * ARRAY_SIZE(knobs),
			    sizeof(*knob_refs), GFP_KERNEL);
	if (!knob_refs)
		return -ENOMEM;

	mmrace_dir = debugfs_create_dir("mmrace", NULL);
	debugfs_create_file("sites", 0400, mmrace_dir, NULL, &sites_fops);
	debugfs_create_file("stats", 0400, mmrace_dir, NULL, &stats_fops);
	debugfs_create_file("oracles", 0400, mmrace_dir, NULL, &oracles_fops);
	debugfs_create_file("reset", 0200, mmrace_dir, NULL, &reset_fops);
	debugfs_create_file("max_delay_us", 0600, mmrace_dir, &limits[0],
			    &limit_fops);
	debugfs_create_file("budget_us", 0600, mmrace_dir, &limits[1],
			    &limit_fops);
	for (i = 0; i < mmrace_nr_sites; i++)
		site_files(&mmrace_sites[i],
			   &knob_refs[i * ARRAY_SIZE(knobs)]);
	return 0;
}

/* Waits for every knob access in flight (debugfs file removal does). */
void mmrace_debugfs_exit(void)
{
	debugfs_remove_recursive(mmrace_dir);
	kfree(knob_refs);
}
