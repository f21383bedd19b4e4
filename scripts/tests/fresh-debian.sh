#!/usr/bin/env bash
# A brand-new minimal Debian 12 in a chroot, for CI (.ci/run): the README's
# commands must work for a new user, and the CI machine has many tools such a
# user lacks.  Needs root and debootstrap.
#
#   fresh-debian.sh build DIR           minbase bookworm (+ git) in DIR
#   fresh-debian.sh run DIR -- CMD...   CMD inside, with a clean environment
#   fresh-debian.sh clean DIR           unmount what is left below DIR, then remove it
#
# The mirror is the host's: the bookworm (and bookworm-security) source in
# /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list.  DIR's
# sources.list is what the Debian 12 installer writes.  debootstrap's package
# set is kept as a tarball in $MMRACE_CI_CACHE, otherwise
# ${XDG_CACHE_HOME:-~/.cache}/mmrace-ci; so are the host tool's downloads
# (Debian kernels, bookworm-backports' QEMU, its private apt state), which
# "run" binds at /var/cache/mmrace/{kernels,qemu,apt}.  Nothing that the
# commands run inside install or build is kept.
# Measured on the 2-core machine: build 66 s the first time (31 s of it
# making the 65 MB tarball), 31 s from the tarball; in the chroot,
# scripts/install-deps 26 s; clean 5 s.
set -eu

SUITE=bookworm
SHARED="kernels qemu apt"	# the host tool's download caches
CACHE=${MMRACE_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:?set HOME or MMRACE_CI_CACHE}/.cache}/mmrace-ci}

say() { echo "fresh-debian: $*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	echo "usage: $0 build DIR | run DIR -- CMD... | clean DIR" >&2
	exit 2
}

# First usable URI of a deb source for suite $1 on the host: deb822 stanzas
# (URIs:, Suites:) first, then one-line "deb [opts] URI SUITE COMPONENTS".
host_uri() {
	local d822=() lists=() f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && d822+=("$f")
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && lists+=("$f")
	done
	{
		[ ${#d822[@]} = 0 ] || awk -v s="$1" '
			function flush(  n, u, i) {
				if (!found && (" " f["types"] " ") ~ / deb / &&
				    f["enabled"] !~ /^ *no *$/ &&
				    (" " f["suites"] " ") ~ (" " s " ")) {
					n = split(f["uris"], u, " ")
					for (i = 1; i <= n; i++)
						if (u[i] ~ /^(https?|ftp|file):/) {
							print u[i]
							found = 1
							break
						}
				}
				delete f
				key = ""
			}
			FNR == 1 { flush() }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { if (key != "") f[key] = f[key] " " $0; next }
			{
				i = index($0, ":")
				key = tolower(substr($0, 1, i - 1))
				f[key] = substr($0, i + 1)
			}
			END { flush() }' "${d822[@]}"
		[ ${#lists[@]} = 0 ] || awk -v s="$1" '
			{ sub(/#.*/, ""); sub(/\[[^]]*\]/, "") }
			$1 == "deb" && $3 == s && $2 ~ /^(https?|ftp|file):/ { print $2 }' "${lists[@]}"
	} | head -n 1 | sed 's:/*$::'
}

need_uri() {	# need_uri SUITE: host_uri, or a one-line error saying what to configure
	local u
	u=$(host_uri "$1")
	[ -n "$u" ] || die "no '$1' source on this host: add a stanza with 'Suites: $1' to /etc/apt/sources.list.d/debian.sources (or 'deb URI $1 main' to /etc/apt/sources.list)"
	echo "$u"
}

debootstrap_logged() {	# debootstrap ARGS...: output to a log, shown only on failure
	local log rc=0
	log=$(mktemp)
	debootstrap "$@" > "$log" 2>&1 || rc=$?
	[ "$rc" = 0 ] || tail -n 30 "$log" >&2
	rm -f "$log"
	[ "$rc" = 0 ] || die "debootstrap failed (rc=$rc)"
}

build() {
	local dir=$1 mirror security tarball t0=$SECONDS t
	command -v debootstrap > /dev/null || PATH=$PATH:/usr/sbin:/sbin
	command -v debootstrap > /dev/null ||
		die "debootstrap not found: apt-get install debootstrap"
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
		die "$dir is not empty"
	fi
	mirror=$(need_uri "$SUITE")
	security=$(need_uri "$SUITE-security")
	mkdir -p "$CACHE" "$dir"
	chmod 755 "$dir"	# mktemp -d makes 0700: _apt could not reach /var
	dir=$(realpath "$dir")
	tarball=$CACHE/debootstrap-$SUITE-minbase-git-$(dpkg --print-architecture).tgz
	if [ ! -s "$tarball" ]; then
		say "downloading the $SUITE minbase package set from $mirror into $tarball"
		t=$SECONDS
		TMP=$(mktemp -d "$CACHE/make-tarball.XXXXXX")
		trap 'rm -rf "$TMP"' EXIT
		# debootstrap wants an empty target here, and removes it
		debootstrap_logged --make-tarball="$TMP/pkgs.tgz" --variant=minbase \
			--include=git --force-check-gpg "$SUITE" "$TMP/root" "$mirror"
		mv "$TMP/pkgs.tgz" "$tarball"
		say "package set downloaded in $((SECONDS - t)) s"
	fi
	say "debootstrap $SUITE minbase into $dir"
	t=$SECONDS
	debootstrap_logged --unpack-tarball="$tarball" --variant=minbase \
		--include=git --force-check-gpg "$SUITE" "$dir" "$mirror"
	rm -f "$dir"/var/cache/apt/archives/*.deb
	say "base system installed in $((SECONDS - t)) s"
	cat > "$dir/etc/apt/sources.list" <<-EOF
	deb $mirror/ $SUITE main

	deb $security $SUITE-security main

	# $SUITE-updates, to get updates before a point release is made;
	deb $mirror/ $SUITE-updates main
	EOF
	say "$dir: Debian $(cat "$dir/etc/debian_version") ready in $((SECONDS - t0)) s (mirror $mirror, security $security)"
}

# ---------------------------------------------------------------- run

MOUNTED=()

mnt() {	# mnt TARGET MOUNT-ARGS...: mount, private (nothing propagates to the host)
	local target=$1
	shift
	mount "$@" "$target"
	MOUNTED+=("$target")
	mount --make-private "$target"
}

chroot_pids() {	# processes whose root is $1
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}

stop_procs() {	# stop_procs DIR: end what still runs with DIR as its root
	local pids
	pids=$(chroot_pids "$1")
	[ -n "$pids" ] || return 0
	say "stopping processes left in the chroot: ${pids//$'\n'/ }"
	# shellcheck disable=SC2086
	kill $pids 2> /dev/null || true
	sleep 2
	pids=$(chroot_pids "$1")
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -9 $pids 2> /dev/null || true
}

unmount_all() {	# the EXIT trap of run: what run started and mounted, in reverse order
	local i
	stop_procs "$ROOT"
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTED[i]}" 2> /dev/null || umount -l "${MOUNTED[i]}" ||
			say "could not unmount ${MOUNTED[i]}"
	done
	MOUNTED=()
}

run() {
	local dir=$1 sub rc=0 t0=$SECONDS
	shift
	[ "${1-}" = -- ] || usage
	shift
	[ $# -gt 0 ] || usage
	[ -f "$dir/etc/debian_version" ] || die "$dir: no Debian system (fresh-debian.sh build $dir)"
	dir=$(realpath "$dir")
	ROOT=$dir
	trap unmount_all EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mnt "$dir/proc" -t proc proc
	mnt "$dir/sys" -t sysfs sysfs
	mnt "$dir/dev" --bind /dev
	mnt "$dir/dev/pts" --bind /dev/pts
	mnt "$dir/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm
	for sub in $SHARED; do
		mkdir -p "$CACHE/download/$sub" "$dir/var/cache/mmrace/$sub"
		mnt "$dir/var/cache/mmrace/$sub" --bind "$CACHE/download/$sub"
	done
	rm -f "$dir/etc/resolv.conf"
	cat /etc/resolv.conf > "$dir/etc/resolv.conf"
	say "running in $dir: $*"
	# in the background, so that a signal unmounts at once (the EXIT trap
	# stops what is left in the chroot); <&0 keeps stdin
	chroot "$dir" env -i HOME=/root \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		TERM=dumb LANG=C.UTF-8 CI="${CI-}" MMRACE_CACHE=/var/cache/mmrace \
		"$@" <&0 &
	wait $! || rc=$?
	say "exit status $rc after $((SECONDS - t0)) s"
	exit "$rc"
}

# ---------------------------------------------------------------- clean

mounts_below() {	# mount points strictly below $1, most recent first
	local target
	while read -r _ target _; do
		target=$(printf '%b' "$target")	# /proc/mounts escapes blanks as \040
		case $target in "$1"/*) echo "$target" ;; esac
	done < /proc/mounts | tac
}

clean() {
	local dir=$1 m left
	[ -e "$dir" ] || return 0
	dir=$(realpath "$dir")
	[ "$dir" != / ] || die "refusing to remove /"
	stop_procs "$dir"
	mounts_below "$dir" | while IFS= read -r m; do
		say "unmounting $m"
		umount "$m" 2> /dev/null || umount -l "$m" || true
	done
	left=$(mounts_below "$dir")
	[ -z "$left" ] || die "still mounted below $dir, not removing it: ${left//$'\n'/ }"
	rm -rf --one-file-system "$dir"
	say "removed $dir"
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, mount, chroot)"
[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
build) [ $# = 1 ] || usage; build "$1" ;;
run) run "$@" ;;
clean) [ $# = 1 ] || usage; clean "$1" ;;
*) usage ;;
esac
