#!/usr/bin/env bash
# benches/syscalls.sh — syscalls per downloaded file, by name, counted with `strace -f -c`.
#
# Serves FILES (default 1000) and 2*FILES small files (SIZE bytes, default 4096) from nginx
# (one worker, 127.0.0.1, keep-alive without limit) or, without nginx, from `miodl serve`'s
# /bytes/<n> routes; runs `miodl get -q -c CONN -i LIST` under `strace -f -c` for each
# list and prints, per syscall, the calls of both runs and their difference divided by
# FILES: the marginal syscalls of one more file, free of the process's fixed start-up
# (execve, mmap, the output directory, the first connections).
#
# Needs: strace (apt-get install strace); nginx optional (apt-get install nginx).
# Knobs: FILES=1000 SIZE=4096 CONN=16 SERVER=auto|nginx|miodl-serve
#   MIODL_ARGS="--pipeline 8" (more options for `miodl get`, e.g. to count a pipelined run)
#   TOOL=miodl|floor (floor: the same lists through benches/floor.rs, nginx only)
set -euo pipefail

FILES=${FILES:-1000}
SIZE=${SIZE:-4096}
CONN=${CONN:-16}
SERVER=${SERVER:-auto}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have strace || { say "strace not found: apt-get install strace"; exit 1; }
if [[ $SERVER == auto ]]; then
    if have nginx; then SERVER=nginx; else SERVER=miodl-serve; fi
fi

TOOL=${TOOL:-miodl}
build_miodl
if [[ $TOOL == floor ]]; then
    [[ $SERVER == nginx ]] || { say "TOOL=floor needs nginx (equal answers)"; exit 1; }
    build_floor
fi
make_scratch miodl-syscalls

total=$((2 * FILES))
if [[ $SERVER == nginx ]]; then
    serve_random_files "$total" "$SIZE" "$S/all.list"
else
    start_miodl_serve
    # Sizes SIZE+i: every URL gets its own file name.
    for ((i = 0; i < total; i++)); do echo "$SERVE_URL/bytes/$((SIZE + i))"; done >"$S/all.list"
fi
head -n "$FILES" "$S/all.list" >"$S/small.list"

# strace -c's table for `miodl get` of list $1 into $S/counts-$2.txt as "syscall calls".
count() {
    rm -rf "$S/out"
    if [[ $TOOL == floor ]]; then
        mkdir -p "$S/out"
        strace -f -c -o "$S/strace-$2.txt" "$FLOOR" "$1" "$S/out" "$CONN"
    else
        strace -f -c -o "$S/strace-$2.txt" "$MIODL" get -q -c "$CONN" ${MIODL_ARGS:-} -o "$S/out" -i "$1"
    fi
    [[ $(ls "$S/out" | wc -l) == $(wc -l <"$1") ]] || { say "run $2: files missing"; exit 1; }
    awk '/^-+/ { dashes++; next } dashes == 1 && NF >= 5 { print $NF, $4 }' "$S/strace-$2.txt" >"$S/counts-$2.txt"
}
count "$S/small.list" one
count "$S/all.list" two

printf '\n### syscalls per file: %s -c %s, %s bytes each, from %s\n\n' "$TOOL" "$CONN" "$SIZE" "$SERVER"
printf '| syscall | %s files | %s files | per file (difference / %s) |\n| --- | ---: | ---: | ---: |\n' \
    "$FILES" "$total" "$FILES"
awk -v n="$FILES" '
    FNR == NR { one[$1] = $2; names[$1] = 1; next }
    { two[$1] = $2; names[$1] = 1 }
    END {
        for (s in names) {
            d = (two[s] - one[s]) / n
            printf "%s %d %d %.2f\n", s, one[s], two[s], d
            t1 += one[s]; t2 += two[s]
        }
        printf "~TOTAL %d %d %.2f\n", t1, t2, (t2 - t1) / n
    }' "$S/counts-one.txt" "$S/counts-two.txt" |
    sort -k4,4nr -k1,1 | awk '{ sub(/^~/, "", $1); printf "| %s | %d | %d | %.2f |\n", $1, $2, $3, $4 }'
