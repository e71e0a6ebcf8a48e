#!/usr/bin/env bash
# benches/crawl-memory.sh — what a crawl of huge list pages costs in memory, per id seen.
#
# A small list API (python3, this script's own) answers PAGES pages of IDS ids each (7-character
# ids, so a page of 1.6 M ids is 16,000,000 bytes: just under miodl's 16 MiB page cap), `More:
# True` until the last; nginx answers every `GET /api/download/<id>` with a 404 at once: 6.4 M
# saved files would take 6.4 M inodes (more than a default /dev/shm holds, and a shared
# machine's file system should not be filled for this), while a 404'd id costs the crawl
# the same job, queue place and exactly-once entry as a saved one. The crawl (`miodl crawl
# --per-page IDS -c CONN -q --retries 0`, its failure lines to /dev/null) runs twice
# under /usr/bin/time -v: with 1 page and with PAGES pages. It prints the peak RSS of each,
# the peak per id seen, and the marginal cost of one more id, (peak(PAGES) - peak(1)) /
# ((PAGES - 1) * IDS): the exactly-once set and the queue, free of the process's constant
# (the binary, the one page being parsed, the pools).
#
# Needs: nginx, python3, /usr/bin/time (GNU time; else the peak is read from /proc while it runs).
# Knobs: PAGES=4 IDS=1600000 CONN=16 MIODL=path (a built binary to measure, e.g. main's;
#   else cargo build --release) MIODL_ARGS="--lookahead 1" (more crawl options).
set -euo pipefail

PAGES=${PAGES:-4}
IDS=${IDS:-1600000}
CONN=${CONN:-16}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

have nginx || { say "nginx not found: apt-get install nginx"; exit 1; }
have python3 || { say "python3 not found"; exit 1; }
if [[ -z ${MIODL:-} ]]; then build_miodl; fi
make_scratch miodl-crawl-memory

# --- nginx: a 404 at once for every id ---------------------------------------------------
mkdir -p "$S/empty"
start_nginx "$S/empty" plain 'location /api/download/ { return 404; }'

# --- the list API: page p holds the ids p*IDS .. (p+1)*IDS as 7 hex digits -------------------
cat >"$S/list_api.py" <<'PY'
import http.server, sys
port, pages, ids = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cache = {}
def page(p):
    if p not in cache:
        cache.clear()
        body = ",".join('"%07x"' % i for i in range(p * ids, (p + 1) * ids))
        cache[p] = ('{"urls":[' + body + ']}').encode()
    return cache[p]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        form = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        start = int(dict(kv.split("=") for kv in form.split("&")).get("start", 0))
        p = start // ids
        body = page(p) if p < pages else b'{"urls":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("More", "True" if p + 1 < pages else "False")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY

# Peak RSS in KiB of "$@" (GNU time, else polling /proc/PID/status's VmHWM).
peak_rss() {
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -v -o "$S/time.txt" "$@" 2>/dev/null >"$S/json.txt" || true
        awk -F': ' '/Maximum resident set size/ { print $2 }' "$S/time.txt"
    else
        "$@" >"$S/json.txt" 2>/dev/null &
        local pid=$! hwm=0
        while kill -0 "$pid" 2>/dev/null; do
            hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo "$hwm")
            sleep 0.2
        done
        wait "$pid" || true
        echo "$hwm"
    fi
}

crawl() { # pages: prints the peak RSS in KiB
    local pages=$1 port
    port=$(free_port)
    python3 "$S/list_api.py" "$port" "$pages" "$IDS" &
    local api=$!
    server_pids+=("$api")
    wait_for_port 127.0.0.1 "$port"
    # shellcheck disable=SC2086
    peak_rss "$MIODL" crawl "http://127.0.0.1:$port/api/list_files" --per-page "$IDS" \
        --item-url "$BASE/api/download/{id}" \
        -c "$CONN" -q --retries 0 --json -o "$S/out" ${MIODL_ARGS:-}
    kill "$api" 2>/dev/null || true
    wait "$api" 2>/dev/null || true
    # Every id asked for once, and each answered (404): the run went through the list.
    local failed
    failed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$S/json.txt")
    ((failed == pages * IDS)) || { say "$failed of $((pages * IDS)) ids fetched"; return 1; }
}

say "crawl of 1 page of $IDS ids, -c $CONN ${MIODL_ARGS:-}..."
one=$(crawl 1)
say "crawl of $PAGES pages of $IDS ids, -c $CONN ${MIODL_ARGS:-}..."
many=$(crawl "$PAGES")
ids_many=$((PAGES * IDS))
printf '%-28s %12s %14s\n' run "peak RSS MB" "B per id seen"
printf '%-28s %12.1f %14.1f\n' "1 page, $IDS ids" "$(echo "$one/1024" | bc -l)" "$(echo "$one*1024/$IDS" | bc -l)"
printf '%-28s %12.1f %14.1f\n' "$PAGES pages, $ids_many ids" "$(echo "$many/1024" | bc -l)" "$(echo "$many*1024/$ids_many" | bc -l)"
if ((PAGES > 1)); then
    printf 'marginal cost of one more id: %.1f B\n' "$(echo "($many-$one)*1024/(($PAGES-1)*$IDS)" | bc -l)"
fi
