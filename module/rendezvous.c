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
 * Waits are busy-waits in the probe handler, charged to the per-CPU budget
 * like delays.  One slot per key hash; a busy slot means no rendezvous for
 * this hit, never a wait for the slot.
 */
#include <linux/hash.h>
#include <linux/spinlock.h>

#include "mmrace.h"

#define RV_BITS 6

struct rv_slot {
	raw_spinlock_t lock;
	unsigned long key;	/* 0: free */
	int met;
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

/* Wake the task waiting on @key, if there is one. */
static bool rv_join(unsigned long key)
{
	struct rv_slot *slot = rv_slot(key);
	unsigned long flags;
	bool met = false;

	if (!atomic_read(&rv_waiting))
		return false;
	raw_spin_lock_irqsave(&slot->lock, flags);
	if (slot->key == key && !slot->met) {
		WRITE_ONCE(slot->met, 1);
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
		slot->key = key;
		slot->met = 0;
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
	slot->key = 0;
	slot->met = 0;
	raw_spin_unlock_irqrestore(&slot->lock, flags);
	return met;
}

/*
 * Returns true when the caller arrived first (it waited, met or not) and
 * must not be delayed; false when it is the second arrival or no
 * rendezvous applies, and the normal delay follows.  @wait_us 0: never
 * wait, only meet a waiter of another site.
 */
bool mmrace_rendezvous(struct mmrace_site *site, unsigned long key,
		       u32 wait_us)
{
	u64 ns = (u64)wait_us * NSEC_PER_USEC;
	struct rv_slot *slot;

	if (rv_join(key)) {
		mmrace_count(site, MMRACE_RV_MEETINGS, 1);
		return false;
	}
	if (!wait_us)
		return false;
	slot = rv_slot(key);
	if (!mmrace_budget_take(ns)) {
		mmrace_count(site, MMRACE_THROTTLED, 1);
		return true;
	}
	if (!rv_claim(slot, key))
		return true;
	mmrace_count(site, MMRACE_RV_WAITS, 1);
	/* a wait holds the window open too: overlaps count during it */
	atomic_inc(&site->active);
	atomic_inc(&rv_waiting);
	mmrace_busy_wait(ns, &slot->met);
	atomic_dec(&rv_waiting);
	atomic_dec(&site->active);
	if (!rv_release(slot))
		mmrace_count(site, MMRACE_RV_TIMEOUTS, 1);
	return true;
}
