#!/usr/bin/env bash
# benches/floor-sizes.sh — miodl as a ratio to the floor (benches/floor.rs), across file
# sizes from 1 KiB to 256 MiB, and the plot of it.
#
# For each size, COUNT files of random bytes (about TOTAL bytes in all, at least 4 files
# and at most 10,000) are served by nginx (one worker, 127.0.0.1); `miodl get -q -c N -i`
# and the floor fetch them ROUNDS times, interleaved, at N = min(CONN, COUNT) connections,
# each run checked with diff -rq. Prints one CSV row per size (medians of wall and CPU,
# user+sys of the process tree) and writes the plot of miodl / floor, wall and CPU, on a
# log2 size axis.
#
# Needs: nginx, python3. Knobs: SIZES="1024 4096 ... 268435456" TOTAL=268435456 CONN=64
#   ROUNDS=3 OUT_CSV=/tmp/floor-sizes.csv OUT_SVG=/tmp/floor-sizes.svg (docs/img/ for the docs)
#   MIODL=path (else cargo build --release)
set -euo pipefail

SIZES=${SIZES:-1024 4096 16384 65536 262144 1048576 4194304 16777216 67108864 268435456}
TOTAL=${TOTAL:-268435456}
CONN=${CONN:-64}
ROUNDS=${ROUNDS:-3}
OUT_CSV=${OUT_CSV:-/tmp/floor-sizes.csv}
OUT_SVG=${OUT_SVG:-/tmp/floor-sizes.svg}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
if [[ -z ${MIODL:-} ]]; then build_miodl; fi
build_floor
make_scratch miodl-floor-sizes
mkdir -p "$S/www"
start_nginx "$S/www"
wait_quiet

# "wall cpu" of "$@" (bash's `times` for the CPU of the children, to the millisecond).
measure() {
    local t0 t1
    t0=$(date +%s%N)
    ("$@" >/dev/null 2>&1; times >"$S/times") || say "failed: $*"
    t1=$(date +%s%N)
    local cpu
    cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$S/times")
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }') $cpu"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "size,files,connections,miodl_wall_s,floor_wall_s,miodl_cpu_s,floor_cpu_s" >"$OUT_CSV"
for size in $SIZES; do
    count=$((TOTAL / size))
    ((count < 4)) && count=4
    ((count > 10000)) && count=10000
    n=$((count < CONN ? count : CONN))
    rm -rf "$S/www/d" && mkdir -p "$S/www/d"
    if ((size <= 1 << 20)); then
        head -c $((count * size)) /dev/urandom | (cd "$S/www/d" && split -b "$size" -a 6 -d - f)
    else
        for ((i = 0; i < count; i++)); do head -c "$size" /dev/urandom >"$S/www/d/f$(printf %06d $i)"; done
    fi
    (cd "$S/www/d" && ls) | sed "s#^#$BASE/d/#" >"$S/d.list"
    : >"$S/m.txt"
    : >"$S/f.txt"
    for ((round = 1; round <= ROUNDS; round++)); do
        for tool in miodl floor; do
            rm -rf "$S/out" && mkdir -p "$S/out"
            tool_cmd "$tool" "$S/d.list" "$S/out" "$n"
            result=$(measure "${cmd[@]}")
            if diff -rq "$S/www/d" "$S/out" >/dev/null; then
                echo "$result" >>"$S/${tool:0:1}.txt"
            else
                say "$tool at $size bytes: output differs; run not counted"
            fi
        done
    done
    row="$size,$count,$n,$(cut -d' ' -f1 "$S/m.txt" | median),$(cut -d' ' -f1 "$S/f.txt" | median),$(cut -d' ' -f2 "$S/m.txt" | median),$(cut -d' ' -f2 "$S/f.txt" | median)"
    echo "$row" | tee -a "$OUT_CSV"
done
rm -rf "$S/www/d" "$S/out"

python3 - "$OUT_CSV" "$OUT_SVG" "$QUIET_NOTE" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
W, H, L, R, T, B = 760, 420, 70, 170, 50, 60
xs = [math.log2(int(r["size"])) for r in rows]
series = {
    "wall, miodl / floor": ("#d62728", [float(r["miodl_wall_s"]) / float(r["floor_wall_s"]) for r in rows]),
    "CPU, miodl / floor": ("#1f77b4", [float(r["miodl_cpu_s"]) / max(float(r["floor_cpu_s"]), 1e-3) for r in rows]),
}
top = max(2.0, math.ceil(max(max(v) for _, v in series.values()) * 2) / 2)
x0, x1 = min(xs), max(xs)
X = lambda x: L + (x - x0) / ((x1 - x0) or 1) * (W - L - R)
Y = lambda y: H - B - y / top * (H - T - B)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{L}" y="28" font-size="15">miodl get as a ratio to the floor (benches/floor.rs), by file size</text>']
step = 0.5 if top <= 4 else 1
y = 0.0
while y <= top + 1e-9:
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#{"999" if y == 1 else "eee"}"/>')
    out.append(f'<text x="{L - 8}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:g}×</text>')
    y += step
for r, x in zip(rows, xs):
    size = int(r["size"])
    label = f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"
    out.append(f'<text x="{X(x):.1f}" y="{H - B + 18}" text-anchor="middle">{label}</text>')
for i, (name, (colour, ys)) in enumerate(series.items()):
    pts = " ".join(f"{X(x):.1f},{Y(v):.1f}" for x, v in zip(xs, ys))
    out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
    out += [f'<circle cx="{X(x):.1f}" cy="{Y(v):.1f}" r="3.5" fill="{colour}"/>' for x, v in zip(xs, ys)]
    out.append(f'<line x1="{W - R + 15}" x2="{W - R + 35}" y1="{T + 20 + 20 * i}" y2="{T + 20 + 20 * i}" stroke="{colour}" stroke-width="2"/>')
    out.append(f'<text x="{W - R + 40}" y="{T + 24 + 20 * i}">{name}</text>')
out.append(f'<text x="{L}" y="{H - 12}" fill="#555">file size (log scale); {len(rows)} sizes; {sys.argv[3]}</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
say "csv: $OUT_CSV; plot: $OUT_SVG"
