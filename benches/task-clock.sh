#!/usr/bin/env bash
# benches/task-clock.sh — CPU per file by `perf stat -e task-clock`, tools taking turns.
#
# compare.sh reads CPU from bash's `times`, to the millisecond, around a wrapper. This
# script asks the kernel instead: `perf stat -e task-clock` counts every thread of the
# command (software counter: it works where hardware counters are "not supported"). The
# tools run one after another in each round, on the same FILES files of SIZE bytes from
# nginx at CONN connections, ROUNDS rounds, and each tool's median is printed with every
# round's figure. OTHER=path adds the row `other`: that miodl binary run as `miodl` is,
# to compare two builds side by side (a build of an older commit, say).
#
# Needs: perf (apt-get install linux-perf), nginx; curl, wget2, aria2c for their rows.
# Knobs: FILES=10000 SIZE=4096 CONN=64 ROUNDS=7 TOOLS="miodl floor curl" OTHER=path
set -euo pipefail

FILES=${FILES:-10000}
SIZE=${SIZE:-4096}
CONN=${CONN:-64}
ROUNDS=${ROUNDS:-7}
TOOLS=${TOOLS:-miodl floor curl}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have perf || { say "perf not found: apt-get install linux-perf"; exit 1; }
have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
build_miodl
[[ " $TOOLS " == *" floor "* ]] && build_floor
[[ -n ${OTHER:-} ]] && TOOLS="$TOOLS other"
make_scratch miodl-task-clock
serve_random_files "$FILES" "$SIZE" "$S/f.list"
sed 's/.*/url = "&"/' "$S/f.list" >"$S/f.curl"
wait_quiet

for ((r = 1; r <= ROUNDS; r++)); do
    for tool in $TOOLS; do
        rm -rf "$S/out" && mkdir -p "$S/out"
        if [[ $tool == other ]]; then
            cmd=("$OTHER" get -q -c "$CONN" -o "$S/out" -i "$S/f.list")
        else
            tool_cmd "$tool" "$S/f.list" "$S/out" "$CONN"
        fi
        ms=$(perf stat -x, -e task-clock "${cmd[@]}" 2>&1 >/dev/null | awk -F, '/task-clock/ { print $1 }')
        got=$(find "$S/out" -type f | wc -l)
        ((got == FILES)) || say "$tool: $got of $FILES files"
        echo "$tool $ms"
    done
done >"$S/rounds"

printf '\n### CPU per file (perf stat task-clock): %s files of %s bytes, -c %s, %s rounds\n\n' \
    "$FILES" "$SIZE" "$CONN" "$ROUNDS"
printf 'Before the runs: %s; after: load %s.\n\n' "$QUIET_NOTE" "$(cut -d' ' -f1 /proc/loadavg)"
python3 - "$S/rounds" "$FILES" <<'PY'
import statistics, sys
rounds, files = {}, int(sys.argv[2])
for line in open(sys.argv[1]):
    tool, ms = line.split()
    rounds.setdefault(tool, []).append(float(ms))
first = next(iter(rounds))
base = statistics.median(rounds[first])
print(f"| tool | µs per file (median) | vs {first} | the rounds (ms of CPU) |")
print("| --- | ---: | ---: | --- |")
for tool, ms in rounds.items():
    median = statistics.median(ms)
    print(f"| {tool} | {median * 1000 / files:.2f} | {median / base:.2f}× | {' '.join(f'{m:.0f}' for m in ms)} |")
PY
