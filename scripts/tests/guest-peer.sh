#!/bin/sh
# In-guest runner of the peer suites (busybox sh, TAP output): the kernel's
# own mm selftests, one after the other, with mmrace.ko loaded in one mode.
#
#   guest-peer.sh MODE DELAY_US PROBABILITY RENDEZVOUS
#
# DELAY_US 0 leaves every site idle; otherwise every site is armed for every
# task with that delay_us and probability, and with rendezvous_us=DELAY_US
# where the site has one if RENDEZVOUS is 1.  /job/peer.list holds one test
# per line (binary, then arguments).  Tests run as root from /tmp/peer,
# which holds huge/ (hugetlbfs, as run_vmtests.sh's ./huge), with 128 huge
# pages (256 MB, run_vmtests.sh's minimum) reserved and a zram swap on.
# Per test the host reads one line
#   peer: mode=M rc=N s=S injected=N waits=N throttled=N test=NAME
# (delays, rendezvous waits and throttled ones, summed over the sites)
# and its output is kept in /out/peer/NN-NAME.log (NN: the line's number, so
# a test listed twice keeps both outputs).  kselftest's exit status 0 passes,
# 4 (KSFT_SKIP) skips, anything else fails; a test still running after
# PEER_TIMEOUT s (default 300) is killed and counted as failed.
# Needs: mmrace.ko loaded, the binaries in /usr/bin, zram.

D=/sys/kernel/debug/mmrace
MODE=$1
DELAY=$2
PROB=$3
RV=$4
TIMEOUT=${PEER_TIMEOUT:-300}
. /job/guest-tap.sh

echo "TAP version 13"
mkdir -p /tmp/peer/huge /out/peer
cd /tmp/peer || exit 1
echo 128 > /proc/sys/vm/nr_hugepages
mount -t hugetlbfs none /tmp/peer/huge
echo 512M > /sys/block/zram0/disksize && mkswap /dev/zram0 > /dev/null &&
	swapon /dev/zram0
ok $? "set-up: $(cat /proc/sys/vm/nr_hugepages) huge pages, hugetlbfs, zram swap"

armed=0
if [ "$DELAY" != 0 ]; then
	for site in $(cut -d' ' -f1 $D/sites); do
		S=$D/$site
		grep -q "^$site state=idle" $D/sites || continue
		echo "$DELAY" > $S/delay_us
		echo "$PROB" > $S/probability
		[ "$RV" = 1 ] && [ -e $S/rendezvous_us ] &&
			echo "$DELAY" > $S/rendezvous_us
		echo '*' > $S/tgid
		echo 1 > $S/enable && armed=$((armed + 1))
	done
	[ "$armed" -ge 5 ]
	ok $? "mode $MODE: $armed sites armed for every task, delay_us=$DELAY probability=$PROB rendezvous=$RV"
fi

run=0
while read -r bin args; do
	[ -n "$bin" ] || continue
	run=$((run + 1))
	name="$bin${args:+ $args}"
	log="/out/peer/$(printf %02d $run)-$(echo "$name" | tr ' /' '__').log"
	echo 1 > $D/reset
	t0=$(date +%s)
	# by path: pagemap_ioctl opens its own argv[0]
	# shellcheck disable=SC2086
	timeout -s KILL "$TIMEOUT" "/usr/bin/$bin" $args > "$log" 2>&1 < /dev/null
	rc=$?
	s=$(($(date +%s) - t0))
	[ "$s" -ge "$TIMEOUT" ] && rc=timeout
	stats=$(cat $D/stats)	# one snapshot: the line and the sites agree
	echo "peer: mode=$MODE rc=$rc s=$s injected=$(echo "$stats" | stats_sum injected) waits=$(echo "$stats" | stats_sum rv_waits) throttled=$(echo "$stats" | stats_sum throttled) test=$name"
	# which sites the governor throttled: how the budget was shared
	echo "$stats" | awk '$1 != "governor" {
		inj = thr = 0
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "injected") inj = kv[2]
			if (kv[1] == "throttled") thr = kv[2]
		}
		if (thr > 0) printf "# throttled at %s: injected=%s throttled=%s\n", $1, inj, thr
	}'
	case $rc in
	0) ok 0 "$name" ;;
	4) skip "$name" "kselftest skip" ;;
	*) tail -n 5 "$log" | sed 's/^/# /'
	   ok 1 "$name (rc=$rc)" ;;
	esac
done < /job/peer.list

grep '^governor ' $D/stats | sed 's/^/# after the last test: /'
tap_end
