#!/usr/bin/env bash
# benches/sweep.sh — throughput against connection count: miodl beside curl, wget2, aria2c
# and aiohttp, FILES small files from nginx on loopback, at each connection count of CONNS.
#
# What it does:
#   1. builds miodl in release; makes a scratch dir (tmpfs under /dev/shm when writable);
#   2. writes FILES files of SIZE random bytes and serves them with nginx (the set-up of
#      benches/compare.sh, from benches/lib.sh);
#   3. waits for a quiet machine (1-minute load below QUIET_LOAD, 30 s at a time, at most
#      QUIET_TRIES waits), then for each of ROUNDS rounds, for each C of CONNS, runs every
#      tool once into a fresh directory (tools and counts interleaved, so a slow minute of
#      the machine hurts every tool alike) and checks the output with diff -rq against the
#      source (which also catches missing or extra files); a failed run is not timed;
#   4. writes a CSV, one row per tool and C: tool,connections,median_s,files_per_s,runs_ok
#      (median_s and files_per_s are empty when no run of that pair passed the check).
#      The CSV goes to OUT and to stdout; `benches/plot.py OUT > chart.svg` draws it.
#
# Connections per tool: miodl -c C; curl --parallel --parallel-max C (curl 7.x caps it at
# 300); wget2 --max-threads C; aria2c -j C -x 1 (no cap below 256); aiohttp
# TCPConnector(limit=C). Each tool is skipped when not installed.
#
# Needs nginx (apt-get install nginx). Peers: apt-get install curl wget2 aria2; pip install aiohttp.
# Knobs: FILES=5000 SIZE=4096 CONNS="1 2 4 8 16 32 64 128 256" ROUNDS=3
#   TOOLS="miodl miodl-pipeline curl wget2 aria2c aiohttp" RUN_TIMEOUT=300 OUT=<csv path> KEEP=1 (keep scratch)
#   QUIET_LOAD=1.5 QUIET_TRIES=10
# Example: FILES=5000 benches/sweep.sh && benches/plot.py /tmp/miodl-sweep-*.csv > docs/img/throughput.svg
set -euo pipefail

FILES=${FILES:-5000}
SIZE=${SIZE:-4096}
CONNS=${CONNS:-1 2 4 8 16 32 64 128 256}
ROUNDS=${ROUNDS:-3}
TOOLS=${TOOLS:-miodl miodl-pipeline curl wget2 aria2c aiohttp}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
OUT=${OUT:-${TMPDIR:-/tmp}/miodl-sweep-$(date +%Y%m%d-%H%M%S).csv}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
build_miodl
make_scratch miodl-sweep
find_tools
write_aiohttp_get

# --- data and server ---------------------------------------------------------------------
serve_random_files "$FILES" "$SIZE" "$S/files.list"
sed 's/.*/url = "&"/' "$S/files.list" >"$S/files.curl"
say "server: $SERVER_DESC at $BASE; $FILES files of $SIZE bytes; scratch: $S"

# --- runs --------------------------------------------------------------------------------
# One timed run of tool $1 at $2 connections; appends "tool C wall status" to $RESULTS.
RESULTS=$S/results.txt
: >"$RESULTS"
run_once() {
    local tool=$1 n=$2 out=$S/out t0 t1 status=ok
    rm -rf "$out" && mkdir -p "$out"
    tool_cmd "$tool" "$S/files.list" "$out" "$n"
    t0=$(date +%s%N)
    timeout "$RUN_TIMEOUT" "${cmd[@]}" >"$S/run.log" 2>&1 || status=FAILED
    t1=$(date +%s%N)
    if [[ $status == ok ]] && ! diff -rq "$S/www/f" "$out" >>"$S/run.log" 2>&1; then status=FAILED; fi
    if [[ $status == FAILED ]]; then say "  $tool -c $n: FAILED ($(head -c 300 "$S/run.log" | tr '\n' ' '))"; fi
    printf '%s %s %s %s\n' "$tool" "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')" \
        "$status" >>"$RESULTS"
    rm -rf "$out"
}

wait_quiet
say "sweep: ${tools[*]} at C = $CONNS, $ROUNDS rounds"
for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for n in $CONNS; do
        for tool in "${tools[@]}"; do run_once "$tool" "$n"; done
    done
done

# --- the CSV -----------------------------------------------------------------------------
{
    echo "tool,connections,median_s,files_per_s,runs_ok"
    for tool in "${tools[@]}"; do
        for n in $CONNS; do
            awk -v t="$tool" -v c="$n" -v files="$FILES" '
                $1 == t && $2 == c { runs++ }
                $1 == t && $2 == c && $4 == "ok" { k++; w[k] = $3 }
                END {
                    if (k == 0) { printf "%s,%s,,,0/%d\n", t, c, runs; exit }
                    for (i = 2; i <= k; i++) { x = w[i]; for (j = i - 1; j >= 1 && w[j] > x; j--) w[j + 1] = w[j]; w[j + 1] = x }
                    m = k % 2 ? w[(k + 1) / 2] : (w[k / 2] + w[k / 2 + 1]) / 2
                    printf "%s,%s,%.4f,%.0f,%d/%d\n", t, c, m, files / m, k, runs
                }' "$RESULTS"
        done
    done
} >"$OUT"
cat "$OUT"
say "before the sweep: $QUIET_NOTE; after it: load $(cut -d' ' -f1-3 /proc/loadavg)"
say "machine: $(nproc) cores, $(uname -sr); outputs on $(df --output=fstype "$S" | tail -n1)"
say "csv written to $OUT; draw it with: benches/plot.py $OUT > throughput.svg"
