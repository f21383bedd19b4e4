// SPDX-License-Identifier: GPL-2.0
/*
 * Test only, never part of mmrace.ko: a deliberate oops, for the faults stage
 * of `mmrace test` (scripts/tests/faults/forced-oops.toml), which checks that
 * an oops in a guest is reported as a kernel-health finding of kind "oops".
 * Debian's kernels have no LKDTM, and mmrace's own knobs must never be able
 * to crash a kernel.  Loading it reads through a NULL pointer in the insmod
 * task: the kernel prints "BUG: kernel NULL pointer dereference" and an
 * "Oops:", kills insmod and carries on (tainted D).
 */
#include <linux/module.h>

static int __init mmrace_test_oops_init(void)
{
	int *p = NULL;

	/* keep the compiler from proving the read undefined and dropping it */
	OPTIMIZER_HIDE_VAR(p);
	pr_info("mmrace_test_oops: reading through a NULL pointer\n");
	return READ_ONCE(*p);
}

module_init(mmrace_test_oops_init);

MODULE_DESCRIPTION("mmrace test: a deliberate oops at load");
MODULE_LICENSE("GPL");
