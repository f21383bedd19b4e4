# Helpers for the in-guest test scripts (busybox sh), sourced by them: TAP
# lines, and one reader of mmrace's stats file.
n=0
failed=0
skipped=0

ok() {	# ok STATUS NAME: STATUS 0 passes
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

skip() {	# skip NAME REASON: neither passed nor failed
	n=$((n + 1))
	skipped=$((skipped + 1))
	echo "ok $n - $1 # SKIP $2"
}

tap_end() {	# plan and summary; the exit status says whether all passed
	echo "1..$n"
	echo "# $((n - failed - skipped)) passed, $failed failed"
	[ "$failed" = 0 ]
}

stats_sum() {	# stats_sum COUNTER < stats: COUNTER summed over every site's line
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}
