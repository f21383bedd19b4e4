#!/bin/sh
# In-guest benchmark: MADV_DONTNEED-loop throughput of a task the filters do
# not select, with mmrace.ko not loaded, loaded but idle, and armed (site
# enabled with a 3 ms delay for comm mmr-zapper).  Rounds interleave the
# three states so drift of the TCG host affects them alike.  One JSON line
# per measurement: {"state":..., "round":..., <mmrace-zapbench --json>}.
ROUNDS=${ROUNDS:-5}
SECONDS_EACH=${SECONDS_EACH:-3}
D=/sys/kernel/debug/mmrace
S=$D/zap_pte_range.before_flush

measure() {	# measure STATE ROUND
	printf '{"state":"%s","round":%s,"bench":' "$1" "$2"
	mmrace-zapbench --name mmr-bench --file /mnt/ext4/bench.dat --pages 16 \
		--duration "$SECONDS_EACH" --no-markers --json | tr -d '\n'
	echo "}"
}

r=1
while [ $r -le "$ROUNDS" ]; do
	lsmod | grep -q '^mmrace ' && rmmod mmrace
	measure unloaded $r
	insmod /mmrace/mmrace.ko || exit 2
	measure idle $r
	echo 3000 > $S/delay_us && echo mmr-zapper > $S/comm && echo 1 > $S/enable || exit 2
	measure armed $r
	echo "# armed round $r: $(cat $D/stats)" >&2
	r=$((r + 1))
done
