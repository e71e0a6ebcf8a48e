#!/usr/bin/env bash
# benches/scaling.sh — does `miodl get` stay linear in time and flat in memory as the list
# grows? Fetches COUNTS files (default 1000 10000 100000) of SIZE bytes from nginx on
# loopback at CONN connections and prints, per count, the wall time, the CPU time
# (user+sys), the peak RSS (/usr/bin/time -f %M), the time per file and the sockets
# opened (from `--json`'s connections_opened: the keep-alive pool at work).
#
# The files are written to tmpfs (under /dev/shm when writable) twice: the source and the
# output, so the largest count needs 2 * COUNT * SIZE bytes there; when it does not fit,
# SIZE drops to 1024. Every output is checked with diff -rq against the source.
#
# Needs nginx and /usr/bin/time (apt-get install nginx time).
# Knobs: COUNTS="1000 10000 100000" SIZE=4096 CONN=64 ROUNDS=1 QUIET_LOAD=1.5 QUIET_TRIES=10 KEEP=1
set -euo pipefail

COUNTS=${COUNTS:-1000 10000 100000}
SIZE=${SIZE:-4096}
CONN=${CONN:-64}
ROUNDS=${ROUNDS:-1}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
[[ -x /usr/bin/time ]] || { say "/usr/bin/time not found: apt-get install time"; exit 1; }
build_miodl
make_scratch miodl-scaling

largest=$(printf '%s\n' $COUNTS | sort -n | tail -n1)
avail=$(($(df --output=avail -k "$S" | tail -n1) * 1024))
if ((2 * largest * SIZE + (64 << 20) > avail)); then
    say "$S has $((avail >> 20)) MiB free: too little for 2 x $largest x $SIZE bytes, using 1 KiB files"
    SIZE=1024
fi

mkdir -p "$S/www"
start_nginx "$S/www"
for n in $COUNTS; do
    mkdir -p "$S/www/n$n"
    head -c $((n * SIZE)) /dev/urandom | (cd "$S/www/n$n" && split -b "$SIZE" -a 6 -d - f)
    (cd "$S/www/n$n" && ls) | sed "s#^#$BASE/n$n/#" >"$S/n$n.list"
done

wait_quiet
printf '\n### miodl get -q -c %s: %s-byte files from %s, outputs on %s\n\n' "$CONN" "$SIZE" "$SERVER_DESC" \
    "$(df --output=fstype "$S" | tail -n1)"
printf 'Before the run: %s.\n\n' "$QUIET_NOTE"
printf '| files | wall (s) | CPU user+sys (s) | µs wall/file | µs CPU/file | peak RSS (MiB) | sockets opened | check |\n'
printf '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n'
for ((round = 1; round <= ROUNDS; round++)); do
    for n in $COUNTS; do
        rm -rf "$S/out" && mkdir -p "$S/out"
        /usr/bin/time -f '%e %U %S %M' -o "$S/time.txt" \
            "$MIODL" get -q --json -c "$CONN" -o "$S/out" -i "$S/n$n.list" >"$S/run.json" 2>"$S/run.log" || true
        check=ok
        diff -rq "$S/www/n$n" "$S/out" >>"$S/run.log" 2>&1 || check=FAILED
        read -r wall user sys rss <"$S/time.txt"
        opened=$(grep -o '"connections_opened":[0-9]*' "$S/run.json" | cut -d: -f2)
        awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v o="${opened:-?}" -v c="$check" 'BEGIN {
            printf "| %d | %.2f | %.2f | %.1f | %.1f | %.1f | %s | %s |\n", n, w, u + s, w * 1e6 / n, (u + s) * 1e6 / n, r / 1024, o, c }'
    done
done
printf '\nLoad average (1, 5, 15 min) at the end: %s.\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
