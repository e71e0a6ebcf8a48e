#!/usr/bin/env bash
# benches/ten-thousand.sh — 10,000 sockets on one thread: `miodl get -c 10000` against
# `miodl serve --lag 1`, which holds every request for a second before answering.
#
# A perfect client finishes in 1 s plus the time to open 10,000 sockets. Each round gets
# a fresh server on a new port, so the TIME_WAIT sockets a round leaves behind (10,000 of
# them, on the client side) never collide with the next round's 4-tuples; and it waits
# until fewer than 1,000 of them are left (they last 60 s), because tens of thousands
# slow every connect's search for a free port. The ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range) must hold FILES ports at once.
# The script raises its own `ulimit -n` to the hard limit; where that is below what
# -c FILES needs, miodl shrinks the pool and says so (docs/reference.md, "open files").
#
# Rows: miodl get -c FILES; aiohttp TCPConnector(limit=0) (no limit); curl --parallel
# --parallel-max 300 (its ceiling in 7.x). Each row prints wall, CPU per file, peak RSS,
# RSS per socket ((peak - the same tool's peak at -c 1 on 100 files) / sockets), and the
# listen queue overflows the kernel counted during the row (TcpExtListenOverflows: SYNs
# the server's full accept queue dropped; each costs that connect a 1 s retransmission).
#
# Needs: python3; aiohttp and curl for their rows; /usr/bin/time for RSS. First it prints
# the floor of opening FILES sockets here (`cargo bench --bench floor -- connect`).
# Knobs: FILES=10000 SIZE=4096 LAG=1 TOOLS="miodl aiohttp curl" ROUNDS=3 MIODL=path.
#   TRACE=FILE: miodl's run also writes --trace FILE, and the script prints when its
#   connects, requests and answers happened (percentiles, ms from the start).
set -euo pipefail

FILES=${FILES:-10000}
SIZE=${SIZE:-4096}
LAG=${LAG:-1}
TOOLS=${TOOLS:-miodl aiohttp curl}
ROUNDS=${ROUNDS:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

if [[ -z ${MIODL:-} ]]; then build_miodl; fi
make_scratch miodl-ten-thousand
write_aiohttp_get
ulimit -n "$(ulimit -Hn)"
wait_quiet

# The median of each column of file $1 (one row per round), the overflows summed.
medians() {
    python3 - "$1" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
cols = list(zip(*rows))
med = [statistics.median(float(x) for x in c) for c in cols[:3]]
print(f"{med[0]:.3f} {med[1]:g} {med[2]:.0f} {sum(int(x) for x in cols[3])}")
PY
}

overflows() { awk '/^TcpExt:/ { if (!h) { split($0, k); h = 1 } else { split($0, v); for (i in k) if (k[i] == "ListenOverflows") print v[i] } }' /proc/net/netstat; }

# TIME_WAIT sockets now (the kernel's count, /proc/net/sockstat).
time_wait() { awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' /proc/net/sockstat; }

# Each round leaves 10,000 sockets in TIME_WAIT for 60 s, and while tens of thousands
# are there every connect's search for a free ephemeral port slows down (measured here:
# 2.2 s a round with 108,000 of them, 1.5 s with none). So a round starts only when
# fewer than 1,000 are left (at most 75 s of waiting), and says how many there were.
wait_time_wait() {
    local waited=0
    while (($(time_wait) >= 1000 && waited < 75)); do sleep 5; waited=$((waited + 5)); done
    say "round starts with $(time_wait) sockets in TIME_WAIT (waited ${waited} s)"
}

# Runs tool $1 on $2 files at $3 connections against a fresh server; prints
# "wall cpu rss_kb overflows".
row() {
    local tool=$1 files=$2 conn=$3 out=$S/out-$tool-$conn
    start_miodl_serve --files "$files" --lag "$LAG"
    local list=$S/$tool-$files.list i
    for ((i = 1; i <= files; i++)); do echo "$SERVE_URL/bytes/$((SIZE + i))"; done >"$list"
    sed 's/.*/url = "&"/' "$list" >"${list%.list}.curl"
    rm -rf "$out" && mkdir -p "$out"
    tool_cmd "$tool" "$list" "$out" "$conn"
    if [[ $tool == miodl && $files == "$FILES" && -n ${TRACE:-} ]]; then cmd+=(--trace "$TRACE"); fi
    local before after t0 t1
    before=$(overflows)
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$S/time" "${cmd[@]}" >/dev/null 2>"$S/err" || say "$tool exited $?: $(tail -n 2 "$S/err")"
    t1=$(date +%s%N)
    after=$(overflows)
    local got
    got=$(find "$out" -type f | wc -l)
    ((got == files)) || say "$tool: $got of $files files"
    read -r user sys rss <"$S/time"
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $rss $((after - before))"
    kill "${server_pids[-1]}" 2>/dev/null || true
}

echo "$FILES files of $SIZE bytes, miodl serve --lag $LAG, -c $FILES; ulimit -n $(ulimit -n); somaxconn $(cat /proc/sys/net/core/somaxconn); $QUIET_NOTE"
# The floor of opening the sockets: FILES bare connects in a row (benches/floor.rs), to
# a fresh server. A perfect client needs LAG plus about this.
if build_floor; then
    start_miodl_serve --files 1
    wait_time_wait
    echo "floor: $("$FLOOR" connect "${SERVE_URL#http://}" "$FILES")"
    kill "${server_pids[-1]}" 2>/dev/null || true
fi
printf '| tool | wall (s), median (rounds) | CPU µs/file | peak RSS (MiB) | RSS per socket (KiB) | listen overflows |\n| --- | ---: | ---: | ---: | ---: | ---: |\n'
for tool in $TOOLS; do
    case $tool in
    aiohttp) python3 -c 'import aiohttp' 2>/dev/null || { say "skip aiohttp"; continue; }; conn=0 ;;
    curl) have curl || { say "skip curl"; continue; }; conn=$FILES ;;
    *) conn=$FILES ;;
    esac
    read -r _ _ rss1 _ < <(LAG=0 row "$tool" 100 1)
    # ROUNDS runs, each against a fresh server on a new port; the medians are printed,
    # and every round's wall beside them.
    : >"$S/rounds"
    for ((r = 1; r <= ROUNDS; r++)); do
        wait_time_wait
        row "$tool" "$FILES" "$conn" >>"$S/rounds"
    done
    read -r wall cpu rss over < <(medians "$S/rounds")
    walls=$(cut -d' ' -f1 "$S/rounds" | paste -sd' ')
    sockets=$FILES
    [[ $tool == curl ]] && sockets=300
    printf '| %s | %s (%s) | %.0f | %.1f | %.2f | %s |\n' "$tool" "$wall" "$walls" "$(awk -v c="$cpu" -v n="$FILES" 'BEGIN { print c * 1e6 / n }')" \
        "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$(awk -v r="$rss" -v r1="$rss1" -v n="$sockets" 'BEGIN { print (r - r1) / n }')" "$over"
done

if [[ -n ${TRACE:-} && -f $TRACE ]]; then
    python3 - "$TRACE" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
print("\nmiodl's trace, ms from the start: p0 / p50 / p99 / p100")
for name, what in (("connect", "a connect began"), ("send", "a request left"), ("wait", "its answer began")):
    spans = [e for e in events if e.get("name") == name and "ts" in e]
    at = sorted((e["ts"] + (e.get("dur", 0) if name == "wait" else 0)) / 1000 for e in spans)
    q = lambda p: at[int(p * (len(at) - 1))]
    print(f"  {what:18} {q(0):7.0f} {q(0.5):7.0f} {q(0.99):7.0f} {q(1):7.0f}   ({len(at)} spans)")
# From a request to its answer: the lag, and how late the server and the client were.
waits = sorted(e["dur"] / 1000 for e in events if e.get("name") == "wait" and "dur" in e)
w = lambda p: waits[int(p * (len(waits) - 1))]
print(f"  {'answer after':18} {w(0):7.0f} {w(0.5):7.0f} {w(0.99):7.0f} {w(1):7.0f}   ms after its request")
PY
fi
