// SPDX-License-Identifier: GPL-2.0
/*
 * Keyed rendezvous: two tasks meet inside one race window.
 *
 * A plain delay stretches the window for whoever reaches it, most often
 * with nobody on the other side.  With rendezvous_us set, the first task to
 * reach a window with key K (a swap entry, a folio) waits up to
 * rendezvous_us for a second task with the same K; the second one, at this
 * or any other site, wakes it and takes the delay.  On R2 this lets the
 * first fault finish, free and reuse the entry while the second still
 * holds the stale read: a probe on a 6.1 bug-lab kernel found 82 stale
 * pages in 30 s this way against 36 with a delay on every read.
 *
 * Waits are busy-waits in the probe handler and pass the governor like
 * delays (inject.c); what a wait that ends early did not use is given
 * back.  One slot per key hash; a slot busy with another key means no
 * rendezvous for this hit (counted as rv_busy), never a wait for the slot.
 * The order of events is inject.c's window(): a second arrival first gets
 * its delay granted (it needs a non-zero delay_us), then wakes the waiter,
 * then delays.
 *
 * A first arrival that comes less than rendezvous_us after a meeting on
 * its key does not wait (rv_late): the window met there is open or just
 * closed, and the path that opened it is not coming back at once.  On R1
 * writeback keeps finding the writer's pages mapped again after the zap
 * (the writer faults them back in): without this, each of them would wait
 * out rendezvous_us for a zap that has already been.
 */
#include <linux/hash.h>
#include <linux/spinlock.h>

#include "mmrace.h"
#include "mmrace_trace.h"

#define RV_BITS 6

struct rv_slot {
	raw_spinlock_t lock;
	unsigned long key;	/* 0: free */
	int met;
	/* the last meeting on a key of this hash: a hint, read unlocked */
	unsigned long opened_key;
	u64 opened_ns;
};

static struct rv_slot rv_slots[1 << RV_BITS];
static atomic_t rv_waiting;

void mmrace_rendezvous_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(rv_slots); i++)
		raw_spin_lock_init(&rv_slots[i].lock);
}

static struct rv_slot *rv_slot(unsigned long key)
{
	return &rv_slots[hash_long(key, RV_BITS)];
}

/* Is a task waiting on @key?  A hint: rv_join() decides. */
bool mmrace_rendezvous_waiting(unsigned long key)
{
	struct rv_slot *slot = rv_slot(key);

	return atomic_read(&rv_waiting) && READ_ONCE(slot->key) == key &&
	       !READ_ONCE(slot->met);
}

/* Wake the task waiting on @key, if there still is one: its window opens. */
bool mmrace_rendezvous_join(unsigned long key)
{
	struct rv_slot *slot = rv_slot(key);
	unsigned long flags;
	bool met = false;

	raw_spin_lock_irqsave(&slot->lock, flags);
	if (slot->key == key && !slot->met) {
		WRITE_ONCE(slot->met, 1);
		WRITE_ONCE(slot->opened_ns, ktime_get_mono_fast_ns());
		WRITE_ONCE(slot->opened_key, key);
		met = true;
	}
	raw_spin_unlock_irqrestore(&slot->lock, flags);
	return met;
}

static bool rv_claim(struct rv_slot *slot, unsigned long key)
{
	unsigned long flags;
	bool claimed = false;

	raw_spin_lock_irqsave(&slot->lock, flags);
	if (!slot->key) {
		WRITE_ONCE(slot->met, 0);
		WRITE_ONCE(slot->key, key);
		claimed = true;
	}
	raw_spin_unlock_irqrestore(&slot->lock, flags);
	return claimed;
}

static bool rv_release(struct rv_slot *slot)
{
	unsigned long flags;
	bool met;

	raw_spin_lock_irqsave(&slot->lock, flags);
	met = slot->met;
	WRITE_ONCE(slot->key, 0);
	WRITE_ONCE(slot->met, 0);
	raw_spin_unlock_irqrestore(&slot->lock, flags);
	return met;
}

/*
 * The first arrival with @key: wait up to @ns for a second.  The caller is
 * not delayed afterwards, met or not.  A torn read of the opened hint
 * makes one wrong decision for one hit, no more.
 */
void mmrace_rendezvous_wait(struct mmrace_site *site, unsigned long key,
			    u64 ns)
{
	struct rv_slot *slot = rv_slot(key);
	u64 waited;
	bool met;

	if (READ_ONCE(slot->opened_key) == key &&
	    ktime_get_mono_fast_ns() - READ_ONCE(slot->opened_ns) < ns) {
		mmrace_count(site, MMRACE_RV_LATE, 1);
		return;
	}
	if (!mmrace_governor_take(site, ns))
		return;
	atomic_inc(&rv_waiting);
	/* order: second arrivals see rv_waiting before the key is claimed */
	smp_mb__after_atomic();
	if (!rv_claim(slot, key)) {
		atomic_dec(&rv_waiting);
		mmrace_governor_refund(site, ns);
		mmrace_count(site, MMRACE_RV_BUSY, 1);
		return;
	}
	mmrace_count(site, MMRACE_RV_WAITS, 1);
	/* a wait holds the window open too: overlaps count during it */
	atomic_inc(&site->active);
	waited = mmrace_busy_wait(ns, &slot->met);
	atomic_dec(&site->active);
	/* released before rv_waiting drops: a late join finds no key */
	met = rv_release(slot);
	if (!met)
		mmrace_count(site, MMRACE_RV_TIMEOUTS, 1);
	trace_mmrace_rendezvous(site->def.name, key, waited, met);
	atomic_dec(&rv_waiting);
	if (waited < ns)
		mmrace_governor_refund(site, ns - waited);
}
