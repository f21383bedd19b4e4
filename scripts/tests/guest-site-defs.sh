#!/bin/sh
# In-guest tests of run-time site definitions (busybox sh, TAP output): a
# site written to site_defs is created, armed, used and deleted; a bad
# definition is refused with -EINVAL and creates nothing; deleting a site
# that is armed under load or has a rendezvous waiter, and rmmod with
# run-time sites defined, are clean; a definition that names the wrong type
# for an argument gives wrong facts, not a fault.
# Needs: mmrace.ko loaded, /mnt/ext4, mmrace-zapbench, mmrace-lostwrite.

D=/sys/kernel/debug/mmrace
. /job/guest-tap.sh

# define TEXT: one write(2) of the definition, status of the write
define() { echo "$1" > $D/site_defs 2>/dev/null; }

# state: the site directories and definitions, to compare before and after
state() { ls $D; cat $D/site_defs; }

# refused REASON TEXT: EINVAL, nothing created, the reason in the log
refused() {
	before=$(state)
	err=$( (echo "$2" > $D/site_defs) 2>&1 )
	rc=$?
	case "$err" in *"Invalid argument"*) einval=1 ;; *) einval=0 ;; esac
	[ "$rc" != 0 ] && [ "$einval" = 1 ] && [ "$(state)" = "$before" ] &&
		dmesg | tail -1 | grep -qF "$1"
	ok $? "refused ($1): $2"
}

zapbench() {	# zapbench NAME FILE SECONDS
	mmrace-zapbench --name "$1" --file "$2" --duration "$3" --no-markers \
		--json > /dev/null
}

echo "TAP version 13"

# ---- a run-time copy of the built-in R1 site, under its own name
ZAP='p:rt_zap.before_flush flush_tlb_mm_range caller=zap_pte_range|zap_pmd_range|unmap_page_range scope=unmap_page_range:$arg2:vma overlap=folio_mkclean:$arg1:folio # run-time copy'
define "$ZAP"
ok $? "defined: $ZAP"
R=$D/rt_zap.before_flush
grep -q '^rt_zap.before_flush state=idle probe=flush_tlb_mm_range caller=unmap_page_range scope=unmap_page_range overlap=folio_mkclean' $D/sites
ok $? "sites shows it resolved like the built-in one"
[ -f $R/ino ] && [ -f $R/comm ] && [ ! -e $R/rendezvous_us ] && [ -f $R/overlaps ]
ok $? "its knobs are those its definition allows (ino from scope=, no key)"
grep -qxF "$ZAP" $D/site_defs
ok $? "site_defs reads it back as written"

# every definition read back parses again: the built-in ones under new names
n_ok=0
n_all=0
while read -r kind rest; do
	name=${kind#?:}
	define "${kind%%:*}:copy_$name $rest" && n_ok=$((n_ok + 1))
	n_all=$((n_all + 1))
	echo "-:copy_$name" > $D/site_defs 2>/dev/null
done <<EOF
$(grep -v '^.:rt_' $D/site_defs)
EOF
[ "$n_all" -ge 6 ] && [ "$n_ok" = "$n_all" ]
ok $? "every built-in definition read back is accepted again ($n_ok of $n_all)"

# ---- bad definitions: -EINVAL, nothing created
refused "expected p:NAME or r:NAME" 'x:bad.kind flush_tlb_mm_range'
refused "a site name is NAME.POINT" 'p:nodot flush_tlb_mm_range'
refused "expected the probe symbol" 'p:bad.nosym'
refused "no probe symbol" 'p:bad.sym mmrace_no_such_function'
refused "no caller symbol" 'p:bad.caller flush_tlb_mm_range caller=mmrace_no_such_caller'
refused "no scope symbol" 'p:bad.scope flush_tlb_mm_range scope=mmrace_no_such_function:$arg1:vma'
refused "unknown type" 'p:bad.type flush_tlb_mm_range object=$arg1:struct_page'
refused "a value is" 'p:bad.arg flush_tlb_mm_range object=$arg7:folio'
refused "\$retval needs an r: probe" 'p:bad.ret flush_tlb_mm_range object=$retval:folio'
refused "an offset probe has no caller" 'p:bad.off flush_tlb_mm_range+4 object=$arg1:mm'
refused "r: probes a function's return: no offset" 'r:bad.roff flush_tlb_mm_range+4'
refused "scope= needs a type that gives an inode" 'p:bad.scopetype flush_tlb_mm_range scope=unmap_page_range:$arg1:mm'
refused "unknown field" 'p:bad.field flush_tlb_mm_range colour=red'
refused "field given twice" 'p:bad.twice flush_tlb_mm_range caller=unmap_page_range caller=unmap_page_range'
refused "overlap_caller= without overlap=" 'p:bad.oc flush_tlb_mm_range overlap_caller=do_swap_page'
refused "the only key= is ino" 'p:bad.key flush_tlb_mm_range object=$arg1:mm key=mm'
refused "key=ino needs an object= or scope= that gives an inode" 'p:bad.keyino flush_tlb_mm_range object=$arg1:mm key=ino'
refused "a site of that name exists" "$ZAP"
refused "a built-in site cannot be deleted" '-:zap_pte_range.before_flush'
refused "no such site" '-:no.such'
# an offset inside an instruction: register_kprobe() says -EILSEQ, we -EINVAL
refused "no probe symbol that can be probed" 'p:bad.ilseq flush_tlb_mm_range+1'
refused "offset past the end of the function" 'p:bad.past flush_tlb_mm_range+0x100000'

# ---- armed and used: only the selected task is delayed
F=/mnt/ext4/rt.dat
echo 200 > $R/delay_us
echo mmr-zapper > $R/comm
echo 1 > $R/enable
grep -q '^rt_zap.before_flush state=armed' $D/sites
ok $? "armed"
zapbench mmr-other $F 1
zapbench mmr-zapper $F 1
[ "$(cat $R/hits)" -gt 0 ] && [ "$(cat $R/injected)" -gt 0 ] &&
	[ "$(cat $R/injected)" -lt "$(cat $R/hits)" ]
ok $? "delays the selected task only: $(cat $R/injected) of $(cat $R/hits) hits"
grep -q '^rt_zap.before_flush hits=' $D/stats
ok $? "stats has its line"

# ---- deleted while armed, under load with 3 ms delays
echo 3000 > $R/delay_us
mmrace-lostwrite --file /mnt/ext4/rtdel.dat --duration 6 --json > /tmp/rtdel.json 2>/dev/null &
pid=$!
sleep 2
before=$(cat $R/injected)
armed=$(sed -n 's/.* armed_sites=\([0-9]*\).*/\1/p' $D/stats)
define '-:rt_zap.before_flush'
rc=$?
after=$(sed -n 's/.* armed_sites=\([0-9]*\).*/\1/p' $D/stats)
[ "$rc" = 0 ] && [ "$before" -gt 0 ] && [ ! -d $R ] &&
	! grep -q '^rt_zap' $D/sites $D/stats $D/site_defs &&
	[ "$after" = $((armed - 1)) ]
ok $? "deleted while armed after $before delays: rc=$rc, files gone, armed sites $armed -> $after"
wait $pid
src=$?
[ "$src" -le 1 ] && grep -q '"stressor":"lostwrite"' /tmp/rtdel.json
ok $? "stressor survived the deletion (rc=$src)"
define "$ZAP"
ok $? "the same name can be defined again"
[ "$(cat $R/injected)" = 0 ] && [ "$(cat $R/comm)" = none ]
ok $? "a new site of an old name starts from defaults"
define '-:rt_zap.before_flush'

# ---- deleted with a rendezvous waiter: keyed by the vma being zapped, the
# first zap of each vma waits up to 100 ms for a second that never comes
V=$D/rt_unmap.vma
define 'p:rt_unmap.vma unmap_page_range object=$arg2:vma # any zap, keyed by vma'
ok $? "defined a keyed site on unmap_page_range"
[ -f $V/rendezvous_us ] && [ -f $V/anon ] && [ ! -e $V/min_order ]
ok $? "a vma gives ino, anon and a key, no folio order"
echo 1000 > $V/delay_us
echo 100000 > $D/max_delay_us
echo 100000 > $V/rendezvous_us
echo mmr-zapper > $V/comm
echo 1 > $V/enable
zapbench mmr-zapper /mnt/ext4/rv.dat 4 &
pid=$!
sleep 2
waits=$(cat $V/rv_waits)
define '-:rt_unmap.vma'
rc=$?
wait $pid
[ "$rc" = 0 ] && [ "$waits" -gt 0 ] && [ ! -d $V ]
ok $? "deleted while waiters wait ($waits waits so far): rc=$rc"
echo 10000 > $D/max_delay_us

# ---- the wrong type for an argument: wrong facts, never a fault.
# flush_tlb_mm_range(mm, start, end, ...): $arg1 is an mm, not a vma or a
# page; $arg2 is an address.
for t in '$arg1:vma' '$arg1:folio' '$arg2:folio' '$arg2:vmf' '$arg2:file' '$arg3:mapping'; do
	define "p:rt_wrong.type flush_tlb_mm_range caller=unmap_page_range object=$t" &&
		echo 1 > $D/rt_wrong.type/delay_us && echo '*' > $D/rt_wrong.type/tgid &&
		echo 1 > $D/rt_wrong.type/enable &&
		zapbench mmr-zapper /mnt/ext4/wrong.dat 1
	m=$(cat $D/rt_wrong.type/matched 2>/dev/null)
	define '-:rt_wrong.type'
	[ "${m:-0}" -gt 0 ]
	ok $? "object=$t on an mm or an address: $m hits read, no fault"
done

# ---- rmmod with run-time sites defined, one armed under load
define "$ZAP"
define 'r:rt_ttuo.return try_to_unmap_one object=$arg1:folio'
echo 3000 > $R/delay_us
echo mmr-zapper > $R/comm
echo 1 > $R/enable
mmrace-lostwrite --file /mnt/ext4/rtrm.dat --duration 5 --json > /tmp/rtrm.json 2>/dev/null &
pid=$!
sleep 2
rmmod mmrace
rc=$?
wait $pid
[ "$rc" = 0 ] && [ ! -d $D ]
ok $? "rmmod with two run-time sites, one armed under load: rc=$rc"
insmod /mmrace/mmrace.ko && [ -d $D ] && ! grep -q '^rt_' $D/sites
ok $? "insmod again: built-in sites only"

dmesg | grep -E 'BUG:|WARNING:|Oops|general protection' > /tmp/bad.txt
[ ! -s /tmp/bad.txt ]
ok $? "no BUG/WARNING/Oops in dmesg $(head -1 /tmp/bad.txt)"

tap_end
