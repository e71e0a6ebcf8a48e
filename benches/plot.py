#!/usr/bin/env python3
"""benches/plot.py — draws the CSV of benches/sweep.sh as an SVG line chart.

Usage: benches/plot.py SWEEP.csv [--size BYTES] [--cores N] > throughput.svg

The CSV has the columns tool,connections,median_s,files_per_s[,runs_ok]; rows whose
files_per_s is empty (no run passed the output check) are left out of the lines and named
under the legend. x is the connection count on a log2 scale, with a tick at each count
of the CSV; y is files per second on a linear scale with round ticks. One coloured line
with markers per tool, in the order of the CSV. The title names the file count (median_s
times files_per_s), the file size (--size, default 4096) and the machine's cores (--cores,
default this machine's). Python 3 standard library only: the SVG is written by hand.
"""

import argparse
import csv
import math
import os
import sys
from xml.sax.saxutils import escape

# Colour and marker per tool; miodl first and drawn thickest.
STYLES = {
    "miodl": ("#d62728", "circle"),
    "miodl-pipeline": ("#8c0000", "diamond"),
    "curl": ("#1f77b4", "square"),
    "wget2": ("#2ca02c", "diamond"),
    "aria2c": ("#9467bd", "triangle"),
    "aiohttp": ("#ff7f0e", "circle"),
}
FALLBACK = ["#8c564b", "#e377c2", "#7f7f7f", "#17becf"]

WIDTH, HEIGHT = 780, 470
LEFT, RIGHT, TOP, BOTTOM = 80, 150, 60, 60  # margins around the plot area


def nice_step(span, ticks=6):
    """A step of 1, 2 or 5 times a power of ten that cuts span into about `ticks` parts."""
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def read(path):
    """Rows of the CSV as {tool: [(connections, files_per_s or None)]}, in file order."""
    series, files = {}, None
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            c = int(row["connections"])
            rate = float(row["files_per_s"]) if row["files_per_s"] else None
            series.setdefault(row["tool"], []).append((c, rate))
            if rate and row["median_s"]:
                files = round(float(row["median_s"]) * rate, -1)
    return series, files


def marker(shape, x, y, colour):
    """One marker centred on (x, y)."""
    r = 4.5
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{colour}"/>'
    if shape == "diamond":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y + r:.1f} {x - r - 1:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'


def svg(series, files, size, cores):
    counts = sorted({c for points in series.values() for c, _ in points})
    rates = [r for points in series.values() for _, r in points if r]
    if not counts or not rates:
        sys.exit("plot.py: no passing rows in the CSV")
    top = max(rates)
    step = nice_step(top)
    y_max = step * math.ceil(top / step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    lo, hi = math.log2(counts[0]), math.log2(counts[-1])

    def px(c):
        return LEFT + (0.5 if hi == lo else 0.03 + 0.94 * (math.log2(c) - lo) / (hi - lo)) * plot_w

    def py(rate):
        return TOP + plot_h - rate / y_max * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
    ]
    size_text = f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"
    files_text = f"{int(files):,}" if files else "?"
    title = f"Throughput against connections: {files_text} files of {size_text}, nginx on loopback, {cores} cores"
    out.append(f'<text x="{WIDTH / 2}" y="28" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>')

    # Grid and y ticks.
    tick = 0.0
    while tick <= y_max + step / 2:
        y = py(tick)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{tick:,.0f}</text>')
        tick += step
    # x ticks, one per connection count.
    for c in counts:
        x = px(c)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="#f0f0f0"/>')
        out.append(f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 5}" stroke="black"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 19}" text-anchor="middle">{c}</text>')
    # Axes and their labels.
    out.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>')
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 14}" text-anchor="middle">'
        "connections (log2 scale)</text>"
    )
    out.append(
        f'<text transform="translate(20 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        "files per second (median of the rounds)</text>"
    )

    # One line per tool, then the legend.
    failed = []
    legend_y = TOP + 10
    for i, (tool, points) in enumerate(series.items()):
        colour, shape = STYLES.get(tool, (FALLBACK[i % len(FALLBACK)], "circle"))
        width = 3 if tool.startswith("miodl") else 1.8
        good = [(c, r) for c, r in points if r]
        failed += [f"{tool} at {c}" for c, r in points if not r]
        if good:
            path = " ".join(f"{px(c):.1f},{py(r):.1f}" for c, r in good)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{width}"/>')
            out.extend(marker(shape, px(c), py(r), colour) for c, r in good)
        lx = LEFT + plot_w + 18
        out.append(f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 26}" y2="{legend_y}" stroke="{colour}" stroke-width="{width}"/>')
        out.append(marker(shape, lx + 13, legend_y, colour))
        out.append(f'<text x="{lx + 34}" y="{legend_y + 4}">{escape(tool)}</text>')
        legend_y += 22
    if failed:
        out.append(f'<text x="{LEFT + plot_w + 18}" y="{legend_y + 10}" fill="#b00">failed (not drawn):</text>')
        for j, name in enumerate(failed):
            out.append(f'<text x="{LEFT + plot_w + 18}" y="{legend_y + 26 + 15 * j}" fill="#b00">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Draws benches/sweep.sh's CSV as an SVG line chart.")
    parser.add_argument("csv", help="the CSV written by benches/sweep.sh")
    parser.add_argument("--size", type=int, default=4096, help="bytes per file, for the title")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores of the measuring machine")
    args = parser.parse_args()
    series, files = read(args.csv)
    sys.stdout.write(svg(series, files, args.size, args.cores))


if __name__ == "__main__":
    main()
