#!/bin/sh
# In-guest test of the governor (busybox sh, TAP output): every site at the
# largest settings the knobs accept, for every task, under a zap, an
# mprotect and a swap-in load for 60 s, must not stall the kernel.  It is
# the reproduction that once gave RCU stalls and a 49 s soft lockup
# (scripts/tests/test_data/console-soft-lockup-rcu-stall.log): one
# change_pte_range() section takes up to 512 delays under one PTL.  The
# host checks the console for stall reports too (cli_test.guest_scripts).
# Needs: mmrace.ko loaded, /mnt/ext4, zram, mmrace-zapbench, mmrace-swapin.

D=/sys/kernel/debug/mmrace
SECONDS_EACH=${HOSTILE_SECONDS:-60}
. /job/guest-tap.sh

echo "TAP version 13"

# hung-task reports after 20 s (default 120 s: longer than the run)
echo 20 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
dmesg -c > /dev/null

max=$(echo 100000 > $D/max_delay_us && cat $D/max_delay_us)
budget=$(echo 1000000 > $D/budget_us && cat $D/budget_us)
armed=0
for site in $(cut -d' ' -f1 $D/sites); do
	S=$D/$site
	grep -q "^$site state=idle" $D/sites || continue
	echo "$max" > $S/delay_us
	[ -e $S/rendezvous_us ] && echo "$max" > $S/rendezvous_us
	echo '*' > $S/tgid
	echo 1 > $S/enable && armed=$((armed + 1))
done
echo 1 > $D/reset
[ "$max" = 100000 ] && [ "$budget" = 1000000 ] && [ "$armed" -ge 5 ]
ok $? "$armed sites armed for every task: delay_us=rendezvous_us=$max, budget_us=$budget"

mmrace-zapbench --mode dontneed --name mmr-hzap --pages 1024 --file /mnt/ext4/hzap.dat \
	--duration "$SECONDS_EACH" --no-markers --json > /tmp/hzap.json 2>&1 &
zap=$!
mmrace-zapbench --mode mprotect --name mmr-hprot --pages 2048 --file /mnt/ext4/hprot.dat \
	--duration "$SECONDS_EACH" --no-markers --json > /tmp/hprot.json 2>&1 &
prot=$!
mmrace-swapin --swap zram:1M --pages 128 --duration "$SECONDS_EACH" --no-markers \
	--json > /tmp/hswap.json 2>/tmp/hswap.err &
swap=$!
wait $zap
zrc=$?
wait $prot
prc=$?
wait $swap
src=$?

for site in $(cut -d' ' -f1 $D/sites); do
	S=$D/$site
	echo 0 > $S/enable 2>/dev/null
	echo 0 > $S/delay_us
	[ -e $S/rendezvous_us ] && echo 0 > $S/rendezvous_us
	echo none > $S/tgid
done
stats=$(cat $D/stats)
echo "$stats" | sed 's/^/# /'
gov=$(echo "$stats" | grep '^governor ')
longest=$(echo "$gov" | sed 's/.*longest_stretch_us=\([0-9]*\).*/\1/')
limit=$(echo "$gov" | sed 's/.*stretch_max_us=\([0-9]*\).*/\1/')
inj=$(echo "$stats" | stats_sum injected)
thr=$(echo "$stats" | stats_sum throttled)

[ "$zrc" = 0 ] && [ "$prc" = 0 ]
ok $? "zap and mprotect loads ran ${SECONDS_EACH} s: $(cat /tmp/hzap.json) $(cat /tmp/hprot.json)"
[ "$src" -le 1 ]
ok $? "swap-in load ran (rc=$src): $(head -c 300 /tmp/hswap.json) $(head -1 /tmp/hswap.err)"
[ "$src" = 0 ]
ok $? "no bad page under hostile settings (swap-in rc=$src)"
[ "$inj" -gt 0 ] && [ "$thr" -gt 0 ]
ok $? "delays taken and throttled: $inj injected, $thr throttled"
[ -n "$longest" ] && [ "$longest" -le "$limit" ]
ok $? "longest back-to-back delay on one CPU ${longest} us <= ${limit} us ($gov)"
dmesg | grep -E 'soft lockup|rcu.*(stall|detected stalls)|blocked for more than|BUG:|Oops' > /tmp/hostile-bad.txt
[ ! -s /tmp/hostile-bad.txt ]
ok $? "no soft lockup, RCU stall or hung task $(head -1 /tmp/hostile-bad.txt)"

echo 10000 > $D/max_delay_us
echo 500000 > $D/budget_us
tap_end
