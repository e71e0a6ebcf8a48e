#!/usr/bin/env bash
# benches/profile.sh — where miodl's CPU goes on many small files: `perf record` of
# `miodl get -q -c CONN` fetching FILES files of SIZE bytes from nginx on loopback.
#
# Prints the samples per object (kernel, miodl, libc) and the top symbols (self time, no call
# graph). The event is cpu-clock, a software timer, so it works in virtual machines
# without hardware counters (where `perf stat -e instructions true` says "not
# supported"). Kernel symbols show as addresses when /proc/sys/kernel/kptr_restrict hides
# them; the split by user and kernel still holds.
#
# Needs perf (apt-get install linux-perf) and nginx.
# Also prints each syscall's share of the samples, with what the kernel did inside it
# (call graphs, so `sendto` counts the loopback delivery it runs).
# Knobs: FILES=10000 SIZE=4096 CONN=64 TOP=30 QUIET_LOAD=1.5 QUIET_TRIES=10 KEEP=1
#   MIODL_ARGS="--pipeline 8" (more options for `miodl get`)
# Example, the large files on the reactor's thread alone:
#   FILES=4 SIZE=268435456 CONN=4 MIODL_ARGS="--disk-threads 0" benches/profile.sh
set -euo pipefail

FILES=${FILES:-10000}
SIZE=${SIZE:-4096}
CONN=${CONN:-64}
TOP=${TOP:-30}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have perf || { say "perf not found: apt-get install linux-perf"; exit 1; }
have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
build_miodl
make_scratch miodl-profile

serve_random_files "$FILES" "$SIZE" "$S/files.list"

wait_quiet
# shellcheck disable=SC2086 # MIODL_ARGS is a list of words
perf record -q -e cpu-clock -F 10000 -g -o "$S/perf.data" \
    "$MIODL" get -q -c "$CONN" ${MIODL_ARGS:-} -o "$S/out" -i "$S/files.list" 2>"$S/perf.log"
diff -rq "$S/www/f" "$S/out" >/dev/null || { say "output differs from the source"; exit 1; }

printf '\n### perf record -e cpu-clock: miodl get -q -c %s, %s files of %s bytes\n\n' "$CONN" "$FILES" "$SIZE"
printf 'Before the run: %s.\n\n' "$QUIET_NOTE"
# Samples by where the code lives: the kernel (syscalls, TCP, tmpfs), miodl, libc.
printf '| samples %% | object |\n| ---: | --- |\n'
perf report -i "$S/perf.data" --stdio --no-children --sort dso 2>/dev/null |
    awk '/^ +[0-9.]+%/ { printf "| %s | %s |\n", $1, $2 }'
printf '\n| self %% | object | symbol |\n| ---: | --- | --- |\n'
perf report -i "$S/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null |
    awk -v top="$TOP" '/^ +[0-9.]+%/ && n < top {
        n++; pct = $1; dso = $2; $1 = ""; $2 = ""; $3 = ""
        sub(/^ +/, ""); sub(/( +-)+ *$/, ""); gsub(/\|/, "\\|")
        printf "| %s | %s | `%s` |\n", pct, dso, $0 }'
printf '\n| samples %% (with callees) | syscall |\n| ---: | --- |\n'
perf report -i "$S/perf.data" --stdio --children --sort symbol -g none 2>/dev/null |
    awk '/^ +[0-9.]+%/ {
        line = $0; sub(/( +-)+ *$/, "", line); k = split(line, f, / +/); name = f[k]
        # write(2) shows as ksys_write (its __x64_sys_ entry is a tail call).
        if (name !~ /^(__x64_sys_|ksys_)/) next
        sub(/^(__x64_sys_|ksys_)/, "", name); pct = $1 + 0
        if (pct > best[name]) best[name] = pct
    }
    END { for (name in best) printf "| %.2f%% | `%s` |\n", best[name], name }' | sort -t'|' -k2 -rn
printf '\n| samples %% (with callees) | symbol |\n| ---: | --- |\n'
perf report -i "$S/perf.data" --stdio --children --sort symbol -g none 2>/dev/null |
    awk -v top="$TOP" '/^ +[0-9.]+%/ && n < top {
        line = $0; sub(/( +-)+ *$/, "", line); k = split(line, f, / +/); name = f[k]
        if (name !~ /^(0x|entry_SYSCALL|do_syscall)/) { n++; printf "| %s | `%s` |\n", $1, name } }'
