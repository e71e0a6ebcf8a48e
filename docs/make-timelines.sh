#!/usr/bin/env bash
# Regenerates the timelines of docs/tradeoff.md: the seed's crawl (25 ids, 0.1 s lag) under
# four limit strategies, each traced with --trace and drawn with `miodl timeline`.
#   bash docs/make-timelines.sh      # writes docs/img/timeline-*.svg
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
miodl=target/release/miodl
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

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
run connector-100 -c 100
run connector-5 -c 5
run semaphore-5 --max-in-flight 5
run no-keepalive -c 5 --no-keepalive
run lookahead-8 -c 100 --lookahead 8
