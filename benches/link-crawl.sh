#!/usr/bin/env bash
# benches/link-crawl.sh — a Link-paginated list crawled with lookahead, beside the perfect
# client's bound and beside a chained crawl (aiohttp following rel="next" one page at a time).
#
# `miodl serve --pages link --page-cap ITEMS --files PAGES*ITEMS --lag LAG` answers every
# page with `Link: <...page=N+1...>; rel="next", <...page=LAST...>; rel="last"`. Since
# rel="last" differs from rel="next" in one number, miodl knows pages 2..LAST as soon as
# page 1 is read and asks for up to --lookahead of them ahead, in the same pool as the
# downloads. A client that only follows rel="next" (the usual aiohttp loop) reads one page
# per lag whatever its connector allows: PAGES × LAG at the very least.
#
# Rows, one server, one run:
#   miodl K=LOOKAHEAD   miodl crawl --pages link --item /url -c CONN --lookahead LOOKAHEAD
#   miodl chained       the same with --lookahead 0
#   aiohttp chained     TCPConnector(limit=CONN); pages in order, each page's downloads
#                       started at once (the page loop does not wait for them)
#   bound               the perfect client for CONN slots and LOOKAHEAD (every request takes
#                       exactly LAG; page 1 first, then pages ahead of downloads), as
#                       src/app/demo/bound computes it for the demo, with the link rule
#                       that nothing but page 1 is known before page 1 is answered
# Every row's output directory is checked with `miodl verify` (PAGES*ITEMS files).
#
# Needs: python3 (aiohttp for its row: pip install aiohttp; the row is skipped without it).
# Knobs: PAGES=1000 ITEMS=10 LAG=0.05 CONN=200 LOOKAHEAD=64 MIODL=path (else cargo build).
set -euo pipefail

PAGES=${PAGES:-1000}
ITEMS=${ITEMS:-10}
LAG=${LAG:-0.05}
CONN=${CONN:-200}
LOOKAHEAD=${LOOKAHEAD:-64}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

if [[ -z ${MIODL:-} ]]; then build_miodl; fi
make_scratch miodl-link-crawl
wait_quiet
start_miodl_serve --files $((PAGES * ITEMS)) --lag "$LAG" --pages link --page-cap "$ITEMS"
LIST_URL=$SERVE_URL/api/list_files

cat >"$S/aiohttp_chained.py" <<'PY'
import asyncio, os, sys
import aiohttp
list_url, out, conn = sys.argv[1], sys.argv[2], int(sys.argv[3])
async def download(session, url):
    async with session.get(url) as r:
        body = await r.read()
    with open(os.path.join(out, url.rsplit("/", 1)[1]), "wb") as f:
        f.write(body)
async def main():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conn)) as session:
        tasks, url = [], list_url
        while url:
            async with session.get(url) as r:
                items = await r.json(content_type=None)
                nxt = r.links.get("next")
            tasks += [asyncio.create_task(download(session, str(r.url.join(aiohttp.client.URL(i["url"])))))
                      for i in items]
            url = str(r.url.join(nxt["url"])) if nxt else None
        await asyncio.gather(*tasks)
asyncio.run(main())
PY

# The perfect client in rounds of one lag each: every request of a round ends together.
bound_s=$(python3 - "$PAGES" "$ITEMS" "$CONN" "$LOOKAHEAD" "$LAG" <<'PY'
import sys
pages, items, slots, k, lag = map(float, sys.argv[1:])
pages, items, slots, k = int(pages), int(items), int(slots), int(k)
rounds, read, known, started = 1, 1, items, 0   # round 1: page 1 alone
while started < pages * items:
    ask = min(1 + k, pages - read, slots)
    down = min(slots - ask, known - started)
    read += ask; started += down; known += ask * items; rounds += 1
print(f"{rounds * lag:.3f}")
PY
)

rows=()
run_row() { # name out cmd...
    local name=$1 out=$2
    shift 2
    mkdir -p "$out"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$S/$name.json" 2>"$S/$name.err" || say "$name exited $?: $(tail -n 3 "$S/$name.err")"
    t1=$(date +%s.%N)
    local secs check
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    check=$("$MIODL" verify "$out" 2>&1 | head -n 1)
    rows+=("$(printf '%-18s %8s s  %6.1fx bound  %s' "$name" "$secs" \
        "$(awk -v s="$secs" -v b="$bound_s" 'BEGIN { print s / b }')" "$check")")
    say "${rows[-1]}"
}

run_row "miodl K=$LOOKAHEAD" "$S/miodl-k" "$MIODL" crawl --pages link --item /url -c "$CONN" \
    --lookahead "$LOOKAHEAD" -q --json -o "$S/miodl-k" "$LIST_URL"
run_row "miodl chained" "$S/miodl-0" "$MIODL" crawl --pages link --item /url -c "$CONN" \
    --lookahead 0 -q --json -o "$S/miodl-0" "$LIST_URL"
if python3 -c 'import aiohttp' 2>/dev/null; then
    run_row "aiohttp chained" "$S/aiohttp" python3 "$S/aiohttp_chained.py" "$LIST_URL" "$S/aiohttp" "$CONN"
else
    say "aiohttp not installed (pip install aiohttp): its row is skipped"
fi

echo "link crawl: $PAGES pages x $ITEMS items, lag ${LAG}s, -c $CONN; $QUIET_NOTE"
echo "bound (perfect client, lookahead $LOOKAHEAD): ${bound_s} s"
printf '%s\n' "${rows[@]}"
