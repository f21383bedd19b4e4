#!/bin/sh
# In-guest test on a kernel that lacks a site's probe symbol: bug-lab 6.12
# without CONFIG_SWAP has no swap_read_folio() (nor 6.1's swap_readpage()).
# The module loads, do_swap_page.after_read alone is unresolved and refuses
# to be enabled (-ENODEV, state unchanged), every other site resolves and
# the zap site still delays its task; rmmod is clean.
# Needs: mmrace.ko loaded, /mnt/ext4, mmrace-zapbench.

D=/sys/kernel/debug/mmrace
U=$D/do_swap_page.after_read
S=$D/zap_pte_range.before_flush
. /job/guest-tap.sh

echo "TAP version 13"

grep -q '^do_swap_page.after_read state=unresolved probe=-' $D/sites
ok $? "do_swap_page.after_read unresolved: no swap_read_folio here"

dmesg | grep -q 'mmrace: do_swap_page.after_read: no probe symbol that can be probed, site disabled' &&
	dmesg | grep -q 'mmrace: 6 of 7 sites resolved'
ok $? "the module says so at load: one site disabled, 6 of 7 resolved"

err=$( (echo 1 > $U/enable) 2>&1 )
rc=$?
case "$err" in *"No such device"*) nodev=1 ;; *) nodev=0 ;; esac
[ "$rc" != 0 ] && [ "$nodev" = 1 ] && [ "$(cat $U/enable)" = 0 ]
ok $? "enabling it fails with ENODEV and leaves it off"

for site in zap_pte_range.before_flush folio_mkclean.entry do_swap_page.entry \
	    try_to_unmap_one.entry try_to_unmap_one.return \
	    change_pte_range.after_clear; do
	grep -q "^$site state=idle probe=" $D/sites
	ok $? "$site still resolves"
done

echo mmr-zapper > $S/comm
echo 100 > $S/delay_us
echo 1 > $S/enable
mmrace-zapbench --name mmr-zapper --file /mnt/ext4/missing.dat --duration 1 \
	--no-markers --json > /dev/null
[ "$(cat $S/injected)" -gt 0 ]
ok $? "zap_pte_range.before_flush still delays ($(cat $S/injected) times)"
echo 0 > $S/enable

rmmod mmrace
ok $? "rmmod"
! dmesg | grep -qE 'BUG:|WARNING:|Oops'
ok $? "no BUG, WARNING or Oops in dmesg"

tap_end
