#!/usr/bin/env bash
# benches/alloc-sites.sh — where the allocations per file come from, by call site.
#
# `cargo bench --bench allocations` counts allocations per file; this names them. It runs
# `miodl get -q -c CONN` of FILES and of 2*FILES small files from nginx under valgrind's
# DHAT (valgrind --tool=dhat), and prints, per allocation site, the blocks of both runs and
# their difference divided by FILES: the allocations one more file costs. A site is named
# by its first two frames in miodl's own code (inlined ones too; std and crates skipped):
# the line that allocated and its caller. "alive at the peak" counts the blocks of the
# 2*FILES run still allocated when the heap was largest: a per-file site whose blocks
# stay alive makes memory grow with the file count.
#
# Needs valgrind and nginx (apt-get install valgrind nginx). Slow: valgrind runs the
# program some 50 times slower, so keep FILES small.
# Knobs: FILES=1000 SIZE=4096 CONN=16 TOP=20 QUIET_LOAD=1.5 QUIET_TRIES=10 KEEP=1
set -euo pipefail

FILES=${FILES:-1000}
SIZE=${SIZE:-4096}
CONN=${CONN:-16}
TOP=${TOP:-20}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have valgrind || { say "valgrind not found: apt-get install valgrind"; exit 1; }
have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
build_miodl
make_scratch miodl-alloc-sites

total=$((2 * FILES))
serve_random_files "$total" "$SIZE" "$S/two.list"
head -n "$FILES" "$S/two.list" >"$S/one.list"

wait_quiet
for run in one two; do
    rm -rf "$S/out"
    valgrind -q --tool=dhat --dhat-out-file="$S/dhat-$run.json" \
        "$MIODL" get -q -c "$CONN" -o "$S/out" -i "$S/$run.list" 2>"$S/valgrind-$run.log"
    [[ $(ls "$S/out" | wc -l) == $(wc -l <"$S/$run.list") ]] || { say "run $run: files missing"; exit 1; }
done

printf '\n### allocation sites per file: miodl get -q -c %s, %s and %s files of %s bytes (DHAT)\n\n' \
    "$CONN" "$FILES" "$total" "$SIZE"
python3 - "$S/dhat-one.json" "$S/dhat-two.json" "$FILES" "$TOP" "$(cd "$repo/src" && find . -name '*.rs')" <<'EOF'
import json, os, re, sys
from collections import Counter

def frames(table, pp):
    """(function, file:line) of each frame of a site, innermost first."""
    out = []
    for index in pp["fs"]:
        m = re.match(r"0x[0-9A-F]+: (.*?)(?: \((?:in )?([^()]*)\))?$", table[index])
        out.append((m.group(1), m.group(2) or "") if m else (table[index], ""))
    return out

# The names of miodl's source files: an inlined frame shows only its file's name.
SOURCES = {os.path.basename(f) for f in sys.argv[5].split()} - {"mod.rs", "lib.rs", "main.rs"}

def own(name, where):
    """True for a frame of miodl's code, inlined or not."""
    if name.startswith(("miodl::", "<miodl::")):
        return True
    return not where.startswith("library/") and where.split(":")[0] in SOURCES

def sites(path):
    """Blocks allocated per site: the first two frames in miodl's code (inlined or not)."""
    data = json.load(open(path))
    out, alive = Counter(), Counter()
    for pp in data["pps"]:
        mine = [(short(n), w.rsplit("/", 1)[-1]) for n, w in frames(data["ftbl"], pp) if own(n, w)]
        if mine:
            key = " ← ".join(f"{n} ({w})" for n, w in mine[:2])
        else:
            key = "outside miodl's code"
        out[key] += pp["tbk"]
        alive[key] += pp.get("gbk", 0)
    return out, alive

def short(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    while re.search(r"<[^<>]*>", name):
        name = re.sub(r"<[^<>]*>", "", name)
    return name.replace("miodl::", "")[-70:]

(one, _), (two, alive) = sites(sys.argv[1]), sites(sys.argv[2])
files, top = int(sys.argv[3]), int(sys.argv[4])
rows = sorted(((two[k] - one.get(k, 0)) / files, k) for k in set(one) | set(two))
rows.reverse()
print(f"| per file | {files} files | {2 * files} files | alive at the peak | site: the allocating line ← its caller |")
print("| ---: | ---: | ---: | ---: | --- |")
for per, k in rows[:top]:
    print(f"| {per:.2f} | {one.get(k, 0)} | {two.get(k, 0)} | {alive.get(k, 0)} | `{k}` |")
total = (sum(two.values()) - sum(one.values())) / files
print(f"| **{total:.2f}** | {sum(one.values())} | {sum(two.values())} | {sum(alive.values())} | all sites |")
EOF
