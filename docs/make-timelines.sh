#!/usr/bin/env bash
# Regenerates the timelines of docs/tradeoff.md: the seed's crawl (25 ids, 0.1 s lag) under
# four limit strategies, each traced with --trace and drawn with `miodl timeline`; the
# chained paging styles (next, cursor) beside link with lookahead; and the fair loop of
# docs/architecture.md: a flood of one-byte chunks beside 20 lagged small files.
#   bash docs/make-timelines.sh          # writes docs/img/timeline-*.svg, docs/img/fair-flood.svg
#   bash docs/make-timelines.sh chained  # only docs/img/timeline-pages-*.svg
set -euo pipefail
only=${1:-all}
cd "$(dirname "$0")/.."
cargo build --release --quiet
miodl=target/release/miodl
work=$(mktemp -d)
trap 'kill "$server" "${lagged:-}" 2>/dev/null; rm -rf "$work"' EXIT

"$miodl" serve --port 0 --lag 0.1 --seed 1 >"$work/serve.out" &
server=$!
for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
base=$(head -1 "$work/serve.out" | cut -d' ' -f3)

run() { # name, options...
    local name=$1
    shift
    "$miodl" crawl "$base/api/list_files" -q -o "$work/$name" --trace "$work/$name.json" "$@"
    "$miodl" verify "$work/$name" >/dev/null
    "$miodl" timeline "$work/$name.json" -o "docs/img/timeline-$name.svg"
}
if [ "$only" = all ]; then
    run connector-100 -c 100
    run connector-5 -c 5
    run semaphore-5 --max-in-flight 5
    run no-keepalive -c 5 --no-keepalive
    run lookahead-8 -c 100 --lookahead 8
fi

# The GET paging styles of `miodl serve --pages STYLE` (25 ids, 5 a page, 0.1 s lag), at
# -c 100 --lookahead 8: next and cursor are chained whatever the lookahead; link looks
# ahead from its rel="last".
pages() { # style, options...
    local style=$1
    shift
    "$miodl" serve --port 0 --lag 0.1 --seed 1 --pages "$style" >"$work/pages-$style.out" &
    local pid=$!
    for _ in $(seq 50); do [ -s "$work/pages-$style.out" ] && break; sleep 0.1; done
    local at
    at=$(head -1 "$work/pages-$style.out" | cut -d' ' -f3)
    "$miodl" crawl "$at/api/list_files" -q -c 100 --lookahead 8 -o "$work/pages-$style" \
        --trace "$work/pages-$style.json" "$@"
    "$miodl" verify "$work/pages-$style" >/dev/null
    "$miodl" timeline "$work/pages-$style.json" -o "docs/img/timeline-pages-$style.svg"
    kill "$pid"
}
pages link --pages link --item /url
pages next --pages next=/next --items /results --item /url
pages cursor --pages cursor=/response_metadata/next_cursor,cursor --items /items --item /id \
    --item-url '{origin}/api/download/{id}'
[ "$only" = all ] || exit 0

# The flood: one answer of one-byte chunks (six wire bytes per byte kept), for 2.5 s,
# from a buffer built once, faster than any client can parse it.
python3 - "$work/flood.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
c, _ = s.accept(); c.recv(65536)
c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
frames, end = b"1\r\nz\r\n" * (1 << 16), time.time() + 2.5
while time.time() < end: c.sendall(frames)
c.sendall(b"0\r\n\r\n"); c.close()
PY
"$miodl" serve --port 0 --lag 0.2 >"$work/lagged.out" &
lagged=$!
for _ in $(seq 50); do [ -s "$work/lagged.out" ] && [ -s "$work/flood.port" ] && break; sleep 0.1; done
small=$(head -1 "$work/lagged.out" | cut -d' ' -f3)
urls=("http://127.0.0.1:$(cat "$work/flood.port")/flood.bin")
for i in $(seq 1000 1019); do urls+=("$small/bytes/$i"); done
"$miodl" get -q -c 3 -o "$work/fair" --trace "$work/fair.json" "${urls[@]}"
"$miodl" timeline "$work/fair.json" -o docs/img/fair-flood.svg
