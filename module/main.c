// SPDX-License-Identifier: GPL-2.0
/*
 * mmrace: turn rare mm races into seconds-long, repeatable reproductions
 * by holding race windows open with bounded, filtered delays.
 *
 * Loading registers every resolvable site's probes disabled; nothing is
 * delayed until a site is enabled *and* given a task filter through
 * /sys/kernel/debug/mmrace/.  Unloading is safe while stress runs: the
 * knobs go first, then unregister_kprobe() waits for delays in flight.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "mmrace.h"

static int __init mmrace_init(void)
{
	struct mmrace_site *site;
	unsigned int resolved = 0;
	int ret;

	mmrace_rendezvous_init();
	ret = mmrace_sites_init();
	if (ret)
		return ret;
	/* before debugfs_init: from then on site_defs may change the list */
	list_for_each_entry(site, &mmrace_site_list, list)
		resolved += !!site->symbol;
	mmrace_oracles_init();
	ret = mmrace_debugfs_init();
	if (ret) {
		mmrace_oracles_exit();
		mmrace_sites_exit();
		return ret;
	}
	pr_info("%u of %u sites resolved\n", resolved, mmrace_nr_builtin_defs);
	return 0;
}

static void __exit mmrace_exit(void)
{
	mmrace_debugfs_exit();
	mmrace_oracles_exit();
	mmrace_sites_exit();
}

module_init(mmrace_init);
module_exit(mmrace_exit);

MODULE_DESCRIPTION("Bounded delays inside mm race windows");
MODULE_LICENSE("GPL");
