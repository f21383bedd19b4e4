// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-unreg: does UFFDIO_UNREGISTER leave a missing fault queued?
 *
 * fs/userfaultfd.c userfaultfd_unregister() wakes the range's pending
 * faults (wake_userfault()) and only then clears the VMA
 * (userfaultfd_clear_vma() -> vma_start_write()), all under mmap_lock for
 * writing.  A fault handled under mmap_lock cannot queue in between; one
 * handled under the per-VMA lock (anonymous VMAs since v6.4/6.6) can.  Such
 * a fault stays queued after UNREGISTER returns: the monitor reads it, and
 * UFFDIO_COPY into the now unregistered range fails with ENOENT.
 *
 * Per round: register one anonymous page (missing mode), a thread reads
 * it, the main thread waits a random spin and unregisters.  Any message
 * readable after UNREGISTER returned is the race; it is then resolved with
 * UFFDIO_COPY (its result recorded) and UFFDIO_WAKE.
 *
 *   uffd-unreg SECONDS
 * prints: rounds=N stale=N stuck=N copy_enoent=N copy_other=N
 * (stuck: of the stale faults, those whose thread had not returned 1 s
 * after UNREGISTER); exit status 1 if any fault was stale, 0 if none, 2 on
 * a usage or set-up error.  With MMRACE_UNTIL_FIRST set in the environment
 * it stops after the first stale fault.
 *
 * A plain reproducer, not an mmrace stressor: it uses nothing of mmrace's,
 * and mmrace's scripts/scenarios/uffd-unregister.toml runs it as any
 * user's static reproducer would be run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL

static int uffd;
static char *area, *src;
static volatile int go;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void *faulter(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;
	(void)*(volatile char *)area;
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	unsigned long rounds = 0, stale = 0, stuck = 0, enoent = 0, other = 0;
	int until_first = getenv("MMRACE_UNTIL_FIRST") != NULL;
	time_t end;

	if (argc != 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: uffd-unreg SECONDS\n");
		return 2;
	}
	end = time(NULL) + atoi(argv[1]);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		die("userfaultfd");
	area = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || src == MAP_FAILED)
		die("mmap");
	memset(src, 0x5a, PG);
	srand(getpid());

	while (time(NULL) < end) {
		struct uffdio_register reg = {
			.range = { (unsigned long)area, PG },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		struct uffdio_range range = { (unsigned long)area, PG };
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;
		pthread_t t;
		int spin = rand() % 20000;

		if (madvise(area, PG, MADV_DONTNEED))
			die("madvise");
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			die("UFFDIO_REGISTER");
		go = 0;
		if (pthread_create(&t, NULL, faulter, NULL))
			die("pthread_create");
		__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
		for (volatile int i = 0; i < spin; i++)
			;
		if (ioctl(uffd, UFFDIO_UNREGISTER, &range))
			die("UFFDIO_UNREGISTER");
		/* whatever is readable now was queued for an unregistered range */
		if (poll(&pfd, 1, 50) == 1 && read(uffd, &msg, sizeof(msg)) == sizeof(msg) &&
		    msg.event == UFFD_EVENT_PAGEFAULT) {
			struct uffdio_copy cp = {
				.dst = (unsigned long)area, .src = (unsigned long)src, .len = PG,
			};

			struct timespec ts;

			stale++;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_timedjoin_np(t, NULL, &ts) == 0) {
				rounds++;
				if (until_first)
					break;
				continue;
			}
			stuck++;
			if (ioctl(uffd, UFFDIO_COPY, &cp) == 0)
				other++;
			else if (cp.copy == -ENOENT)
				enoent++;
			else
				other++;
			if (ioctl(uffd, UFFDIO_WAKE, &range))
				die("UFFDIO_WAKE");
		}
		pthread_join(t, NULL);
		rounds++;
		if (stale && until_first)
			break;
	}
	printf("rounds=%lu stale=%lu stuck=%lu copy_enoent=%lu copy_other=%lu\n", rounds, stale,
	       stuck, enoent, other);
	return stale ? 1 : 0;
}
