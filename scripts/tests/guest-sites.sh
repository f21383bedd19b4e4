#!/bin/sh
# In-guest tests of the R2/R3 sites (busybox sh, TAP output): each site
# fires under a workload that reaches it, is delayed only for the task its
# filters select, and its object filters (min_order, anon) hold.
# Needs: mmrace.ko loaded, zram, mmrace-swapin, mmrace-folio (6.12: mTHP),
# mmrace-zapbench, /dev/mem.

D=/sys/kernel/debug/mmrace
. /job/guest-tap.sh

c() { cat "$D/$1/$2"; }

reset_site() {	# reset_site SITE: idle, no filters, 100 us delays
	echo 0 > $D/$1/enable
	echo 100 > $D/$1/delay_us
	echo none > $D/$1/comm
	echo none > $D/$1/tgid
	[ -e $D/$1/min_order ] && echo 0 > $D/$1/min_order
	[ -e $D/$1/anon ] && echo any > $D/$1/anon
	[ -e $D/$1/rendezvous_us ] && echo 0 > $D/$1/rendezvous_us
	echo 1 > $D/reset
}

swapin() {	# a short swap-in storm on zram, threads named mmr-swapin
	mmrace-swapin --swap zram:320K --pages 64 --duration "${1:-2}" \
		--no-markers --json > /tmp/swapin.json 2>/dev/null
}

echo "TAP version 13"

# ---- do_swap_page.after_read: fires for swap-ins from zram
S=do_swap_page.after_read
reset_site $S
echo mmr-swapin > $D/$S/comm
echo 1 > $D/$S/enable
swapin
[ "$(c $S injected)" -gt 0 ]
ok $? "$S: swap-ins of mmr-swapin delayed $(c $S injected) times (hits $(c $S hits))"
echo mmr-other > $D/$S/comm
echo 1 > $D/reset
swapin
[ "$(c $S hits)" -gt 0 ] && [ "$(c $S injected)" = 0 ]
ok $? "$S: other comm not delayed (hits $(c $S hits))"
echo mmr-swapin > $D/$S/comm
echo 1 > $D/$S/min_order
echo 1 > $D/reset
swapin
[ "$(c $S hits)" -gt 0 ] && [ "$(c $S matched)" = 0 ]
ok $? "$S: min_order=1 selects no order-0 swap-in (hits $(c $S hits))"
echo 0 > $D/$S/min_order
echo file > $D/$S/anon
echo 1 > $D/reset
swapin
[ "$(c $S hits)" -gt 0 ] && [ "$(c $S matched)" = 0 ]
ok $? "$S: anon=file selects no anonymous swap-in"
echo anon > $D/$S/anon
echo 3000 > $D/$S/rendezvous_us
echo 1 > $D/reset
swapin
w=$(c $S rv_waits)
[ "$w" -gt 0 ] && [ "$(c $S rv_timeouts)" -le "$w" ]
ok $? "$S: rendezvous waits=$w meetings=$(c $S rv_meetings) timeouts=$(c $S rv_timeouts) overlaps=$(c $S overlaps)"
reset_site $S

# ---- do_swap_page.entry
S=do_swap_page.entry
reset_site $S
echo mmr-swapin > $D/$S/comm
echo 1 > $D/$S/enable
swapin
[ "$(c $S injected)" -gt 0 ]
ok $? "$S: swap faults of mmr-swapin delayed $(c $S injected) times"
reset_site $S

# ---- try_to_unmap_one.entry/.return: MADV_PAGEOUT reclaims in the caller
for S in try_to_unmap_one.entry try_to_unmap_one.return; do
	reset_site $S
	echo mmr-swapin > $D/$S/comm
	echo anon > $D/$S/anon
	echo 1 > $D/$S/enable
	swapin
	[ "$(c $S injected)" -gt 0 ]
	ok $? "$S: page-outs of mmr-swapin delayed $(c $S injected) times"
	echo file > $D/$S/anon
	echo 1 > $D/reset
	swapin
	[ "$(c $S hits)" -gt 0 ] && [ "$(c $S matched)" = 0 ]
	ok $? "$S: anon=file selects none of its anonymous folios (hits $(c $S hits))"
	reset_site $S
done

# ---- change_pte_range.after_clear: mprotect of present PTEs.  Every
# dynamically linked program does that: ld.so write-protects its RELRO
# pages after relocating them (trace-cmd is one).
S=change_pte_range.after_clear
reset_site $S
echo trace-cmd > $D/$S/comm
echo 1 > $D/$S/enable
trace-cmd -h > /dev/null 2>&1
[ "$(c $S injected)" -gt 0 ]
ok $? "$S: ld.so's mprotect of trace-cmd delayed $(c $S injected) times"
echo 1 > $D/$S/min_order
echo 1 > $D/reset
trace-cmd -h > /dev/null 2>&1
[ "$(c $S hits)" -gt 0 ] && [ "$(c $S matched)" = 0 ]
ok $? "$S: min_order=1 selects none of its small folios (hits $(c $S hits))"
reset_site $S

# A special PTE (remap_pfn_range() of /dev/mem: VM_PFNMAP) has no folio
# behind it, and the struct page of its pfn may say anything (a driver's
# kmalloc buffer has a slab pointer in ->mapping): the site gathers no
# facts from it, so anon=file, which every file page matches, matches none.
echo mmr-special > $D/$S/comm
echo file > $D/$S/anon
echo 1 > $D/$S/enable
mmrace-zapbench --mode mprotect --file /dev/mem --name mmr-special --pages 16 \
	--duration 1 --no-markers > /tmp/special.out 2>&1
rc=$?
[ "$rc" = 0 ] && [ "$(c $S hits)" -gt 0 ] && [ "$(c $S matched)" = 0 ]
ok $? "$S: special PTEs (/dev/mem) give no folio facts: hits $(c $S hits), matched $(c $S matched) (rc=$rc $(head -c 80 /tmp/special.out))"
reset_site $S

# ---- 64K mTHP (6.12): the R3 sites see large folios, the oracle counts
if [ -d /sys/kernel/mm/transparent_hugepage/hugepages-64kB ]; then
	for S in change_pte_range.after_clear try_to_unmap_one.entry; do
		reset_site $S
		echo 4 > $D/$S/min_order
		echo '*' > $D/$S/tgid
		echo 1 > $D/$S/enable
	done
	mmrace-folio --mthp 64K --swap zram:128M --pageout --duration 5 --no-markers \
		--json > /tmp/folio.json 2>/dev/null
	rc=$?
	oracles=$(cat $D/oracles)
	# read every counter first: reset_site zeroes them all
	pte=$(c change_pte_range.after_clear injected)
	ttu=$(c try_to_unmap_one.entry injected)
	[ "$rc" = 0 ] && [ "$pte" -gt 0 ]
	ok $? "change_pte_range.after_clear: 64K folios (min_order=4) delayed $pte times, folio rc=$rc"
	[ "$rc" = 0 ] && [ "$ttu" -gt 0 ]
	ok $? "try_to_unmap_one.entry: 64K folios (min_order=4) delayed $ttu times"
	reset_site change_pte_range.after_clear
	reset_site try_to_unmap_one.entry
	case "$oracles" in *"large_unmaps=0 "*) false ;; *large_unmaps=*) true ;; *) false ;; esac
	ok $? "oracle counts reclaim of large folios: $oracles"
else
	skip "64K mTHP sites and oracle" "no mTHP on this kernel"
fi

tap_end
