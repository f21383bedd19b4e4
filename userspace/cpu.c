// SPDX-License-Identifier: GPL-2.0
/*
 * CPU pinning and thread names.  Races need their threads on separate CPUs
 * (a stale TLB entry lives on the writer's CPU while the zapper runs on
 * another), and the kernel module picks the thread to delay by its comm.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>

#include "common.h"

static void allowed_cpus(cpu_set_t *set)
{
	if (sched_getaffinity(0, sizeof(*set), set))
		mmr_fail("sched_getaffinity: %s", strerror(errno));
}

void mmr_cpus_default(struct mmr_cpus *cpus, int nr_threads)
{
	cpu_set_t set;
	int cpu, skip = 1;

	cpus->nr = 0;
	allowed_cpus(&set);
	if (CPU_COUNT(&set) < nr_threads + 1)
		return;
	for (cpu = 0; cpus->nr < nr_threads; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (skip) {
			skip = 0;
			continue;
		}
		cpus->cpu[cpus->nr++] = cpu;
	}
}

void mmr_cpus_check(const struct mmr_cpus *cpus, int nr_threads)
{
	cpu_set_t set;
	int i;

	if (!cpus->nr)
		return;
	if (cpus->nr != nr_threads)
		mmr_fail("--cpus: %d CPUs given, %d threads to pin",
			 cpus->nr, nr_threads);
	allowed_cpus(&set);
	for (i = 0; i < cpus->nr; i++)
		if (cpus->cpu[i] >= CPU_SETSIZE || !CPU_ISSET(cpus->cpu[i], &set))
			mmr_fail("--cpus: CPU %d does not exist or is not allowed",
				 cpus->cpu[i]);
}

void mmr_thread_rename(const char *name)
{
	if (prctl(PR_SET_NAME, name))
		mmr_fail("naming thread %s: %s", name, strerror(errno));
}

void mmr_thread_setup(const char *name, int cpu)
{
	cpu_set_t set;

	/* Before anything else: the module's comm filter must see the name. */
	mmr_thread_rename(name);
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* sched_setaffinity(0) pins the calling thread, not the process. */
	if (sched_setaffinity(0, sizeof(set), &set))
		mmr_fail("pinning %s to CPU %d: %s", name, cpu, strerror(errno));
}

void mmr_cpus_keep_off(const struct mmr_cpus *cpus)
{
	cpu_set_t set;
	int i;

	if (!cpus->nr)
		return;
	allowed_cpus(&set);
	for (i = 0; i < cpus->nr; i++)
		CPU_CLR(cpus->cpu[i], &set);
	if (CPU_COUNT(&set) && sched_setaffinity(0, sizeof(set), &set))
		mmr_fail("sched_setaffinity: %s", strerror(errno));
}
