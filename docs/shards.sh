#!/usr/bin/env bash
# docs/shards.sh — one miodl job split into N shards run as parallel processes (xargs -P),
# each idempotent with --skip-existing and each writing its own --json summary to
# OUT.summaries/shard-I.json. docs/shards.md explains it; tests/shards.rs runs it.
#
#   bash docs/shards.sh OUT N COMMAND [ARGS...]
#   bash docs/shards.sh out 4 get -i urls.txt -c 8
#   MIODL=target/release/miodl bash docs/shards.sh out 4 crawl http://127.0.0.1:8080/api/list_files
#
# Each shard I runs: miodl COMMAND ARGS... -q --json --skip-existing --shard I/N -o OUT
# Exit status: 0 when every shard ended with 0; else not 0 (xargs says 123 when a shard
# failed). Run it again: what was saved is skipped, only what is missing is fetched.
set -euo pipefail
out=$1 shards=$2
shift 2
miodl=${MIODL:-miodl}
mkdir -p "$out" "$out.summaries"
seq 0 $((shards - 1)) | xargs -P "$shards" -I{} sh -c '
    i=$1 n=$2 out=$3
    shift 3
    exec "$0" "$@" -q --json --skip-existing --shard "$i/$n" -o "$out" >"$out.summaries/shard-$i.json"
' "$miodl" {} "$shards" "$out" "$@"
