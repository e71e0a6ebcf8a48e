#!/usr/bin/env bash
# benches/instructions.sh — miodl's own work per file, in instructions: a count that does
# not depend on how busy the machine is.
#
# Runs `miodl get -q -c CONN` of FILES and of 2*FILES small files from nginx under
# valgrind's callgrind, and prints the instructions of both runs and their difference
# divided by FILES: what one more file costs miodl in user space (its code, std and
# libc). The kernel's work (the syscalls) is not counted: callgrind sees only user space.
# Then the functions that cost the most per file, by the same difference.
#
# The same binary, inputs and environment give the same count to within a few
# instructions per file, whatever else the machine does: use it to compare two builds.
#
# Needs valgrind and nginx (apt-get install valgrind nginx).
# Knobs: FILES=1000 SIZE=4096 CONN=16 TOP=15 MIODL_ARGS="" QUIET_LOAD=1.5 QUIET_TRIES=10 KEEP=1
#   TOOL=miodl|floor (floor: the same lists through benches/floor.rs, the floor's own
#   user-space work beside miodl's)
set -euo pipefail

FILES=${FILES:-1000}
SIZE=${SIZE:-4096}
CONN=${CONN:-16}
TOP=${TOP:-15}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have valgrind || { say "valgrind not found: apt-get install valgrind"; exit 1; }
have callgrind_annotate || { say "callgrind_annotate not found (it comes with valgrind)"; exit 1; }
have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
TOOL=${TOOL:-miodl}
build_miodl
if [[ $TOOL == floor ]]; then build_floor; fi
make_scratch miodl-instructions

total=$((2 * FILES))
serve_random_files "$total" "$SIZE" "$S/two.list"
head -n "$FILES" "$S/two.list" >"$S/one.list"

wait_quiet
for run in one two; do
    rm -rf "$S/out"
    if [[ $TOOL == floor ]]; then
        mkdir -p "$S/out"
        command=("$FLOOR" "$S/$run.list" "$S/out" "$CONN")
    else
        # shellcheck disable=SC2086 # MIODL_ARGS is a list of words
        command=("$MIODL" get -q -c "$CONN" ${MIODL_ARGS:-} -o "$S/out" -i "$S/$run.list")
    fi
    valgrind -q --tool=callgrind --callgrind-out-file="$S/cg-$run.out" "${command[@]}" 2>"$S/valgrind-$run.log"
    diff -rq <(cd "$S/www/f" && ls | head -n "$(wc -l <"$S/$run.list")") <(ls "$S/out") >/dev/null ||
        { say "run $run: files missing"; exit 1; }
done

# "N,NNN,NNN (100.0%)  PROGRAM TOTALS" and "N,NNN  file:function" lines of callgrind_annotate.
totals() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }
one=$(totals "$S/cg-one.out")
two=$(totals "$S/cg-two.out")

printf '\n### instructions per file: %s -c %s %s, %s and %s files of %s bytes (callgrind)\n\n' \
    "$TOOL" "$CONN" "${MIODL_ARGS:-}" "$FILES" "$total" "$SIZE"
printf 'Before the runs: %s.\n\n' "$QUIET_NOTE"
printf '| run | instructions |\n| --- | ---: |\n| %s files | %s |\n| %s files | %s |\n' \
    "$FILES" "$one" "$total" "$two"
printf '| **per file** (difference / %s) | **%s** |\n' "$FILES" "$(((two - one) / FILES))"

printf '\n| per file | function (self cost; its inlined lines from every source file together) |\n| ---: | --- |\n'
python3 - "$S/cg-one.out" "$S/cg-two.out" "$FILES" "$TOP" <<'EOF'
import re, subprocess, sys
from collections import Counter

def by_function(path):
    """Instructions per function (self cost), summed over the source files it was inlined from."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    counts = Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+([^:\s][^:]*):(.+?)(?: \[[^\]]*\])?$", line)
        if m:
            counts[m.group(3)] += int(m.group(1).replace(",", ""))
    return counts

one, two = by_function(sys.argv[1]), by_function(sys.argv[2])
files, top = int(sys.argv[3]), int(sys.argv[4])
per_file = sorted(((two[f] - one.get(f, 0)) / files, f) for f in two)
for cost, name in reversed(per_file[-top:]):
    if cost >= 1:
        shown = name.replace("|", "\\|")
        print(f"| {cost:.0f} | `{shown}` |")
EOF
