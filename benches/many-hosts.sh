#!/usr/bin/env bash
# benches/many-hosts.sh — many host names, each looked up through DNS: miodl beside curl,
# wget2 and aiohttp, and what a few slow lookups cost each of them.
#
# What it does:
#   1. builds miodl in release, then runs the rest of itself in a private mount and
#      network namespace (`unshare -m -n`): the namespace's own loopback, and a
#      resolv.conf bind-mounted over /etc/resolv.conf that names a DNS server on
#      127.0.0.1:53 (the machine's own resolver and network are left alone, and nothing
#      leaves the namespace's loopback);
#   2. starts two small DNS servers (Python, written to the scratch dir): both answer
#      `A 127.0.0.1` for every name under bench.test (and no AAAA), one at once
#      (127.0.0.1:53), the other holding the answer for every SLOW_EVERY-th name
#      (h010, h020, ...) for SLOW_MS (127.0.0.2:53); a run picks one by rewriting the
#      bind-mounted resolv.conf;
#   3. serves HOSTS*FILES_PER_HOST random files of SIZE bytes with nginx (one worker; or
#      `miodl serve`'s /bytes routes when nginx is not installed), the same server for
#      every name: the list is http://hNNN.bench.test:PORT/f/NAME, the hosts taking
#      turns (one file of each host, then the next of each), so the first HOSTS files
#      already need HOSTS lookups;
#   4. each tool fetches the whole list at CONN connections, ROUNDS times per DNS
#      server, interleaved; every output is checked (diff -rq against the served files);
#      a run that fails the check shows as FAILED and is not timed;
#   5. prints a markdown table (median wall and min–max for each DNS server, and the
#      growth of the median) and writes it to OUT.
#
# The peers, each skipped when missing:
#   apt-get install nginx curl wget2      pip install aiohttp
#   curl: --parallel --parallel-max CONN -K (a config of `url = ...` lines), its threaded
#   resolver; wget2: --max-threads CONN; aiohttp: TCPConnector(limit=CONN), the default
#   ThreadedResolver (getaddrinfo on asyncio's default executor) and its DNS cache.
# Needs root (or user namespaces) for unshare and mount.
#
# Knobs (environment): HOSTS=200 FILES_PER_HOST=50 SIZE=4096 CONN=64 ROUNDS=3
#   SLOW_EVERY=10 SLOW_MS=1000 TOOLS="miodl curl wget2 aiohttp" RUN_TIMEOUT=300
#   SERVER=auto|nginx|miodl-serve OUT=<file for the table> KEEP=1 (keep scratch)
#   TRACE_DIR=<dir>: each miodl run also writes --trace DIR/TOOL-fast|slow-ROUND.json
#   (`miodl timeline` draws its lookups), and its --json summary to the same name .out
#   QUIET_LOAD=1.5 QUIET_TRIES=10
# Example, a quick look: ROUNDS=1 HOSTS=50 FILES_PER_HOST=10 benches/many-hosts.sh
set -euo pipefail

HOSTS=${HOSTS:-200}
FILES_PER_HOST=${FILES_PER_HOST:-50}
SIZE=${SIZE:-4096}
CONN=${CONN:-64}
ROUNDS=${ROUNDS:-3}
SLOW_EVERY=${SLOW_EVERY:-10}
SLOW_MS=${SLOW_MS:-1000}
TOOLS=${TOOLS:-miodl curl wget2 aiohttp}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
SERVER=${SERVER:-auto}
OUT=${OUT:-${TMPDIR:-/tmp}/miodl-many-hosts-$(date +%Y%m%d-%H%M%S).md}
TRACE_DIR=${TRACE_DIR:-}
export HOSTS FILES_PER_HOST SIZE CONN ROUNDS SLOW_EVERY SLOW_MS TOOLS RUN_TIMEOUT SERVER OUT TRACE_DIR

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

# --- 1. into the namespace ---------------------------------------------------------------
if [[ ${MIODL_MANY_HOSTS_NS:-} != 1 ]]; then
    have unshare || { say "unshare not found (util-linux)"; exit 1; }
    build_miodl
    # A new mount namespace's mounts are private (util-linux's default propagation):
    # the bind mount below is seen by this script and its children only.
    exec unshare --mount --net env MIODL_MANY_HOSTS_NS=1 MIODL="$MIODL" "$0" "$@"
fi
# The namespace's loopback: 127.0.0.0/8, so 127.0.0.2 is there too.
ip link set lo up

# Scratch under /tmp (not /dev/shm: the served files and every run's copy stay on disk).
S=$(mktemp -d "${TMPDIR:-/tmp}/miodl-many-hosts.XXXXXX")
chmod 755 "$S" # nginx workers may run as another user
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 2. the DNS servers ------------------------------------------------------------------
cat >"$S/dns.py" <<'EOF'
"""A DNS server for the bench: A 127.0.0.1 for every name under bench.test (no AAAA),
NXDOMAIN for the rest; with SLOW_EVERY > 0, names hNNN with NNN % SLOW_EVERY == 0 are
answered after SLOW_S seconds (every other query meanwhile answered at once)."""
import asyncio, struct, sys

ADDR, SLOW_EVERY, SLOW_S = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

def answer(query):
    tid, flags = struct.unpack(">HH", query[:4])
    i, labels = 12, []
    while query[i]:
        n = query[i]
        labels.append(query[i + 1 : i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    qtype, _ = struct.unpack(">HH", query[i + 1 : i + 5])
    question, name = query[12 : i + 5], ".".join(labels)
    ours = name == "bench.test" or name.endswith(".bench.test")
    record = b""
    if ours and qtype == 1:
        record = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 1])
    # QR, AA, RD as asked, RA; NXDOMAIN outside bench.test.
    flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | (0 if ours else 3)
    head = struct.pack(">HHHHHH", tid, flags, 1, 1 if record else 0, 0, 0)
    return head + question + record, name

def delay(name):
    first = name.split(".")[0]
    slow = SLOW_EVERY and first[:1] == "h" and first[1:].isdigit()
    return SLOW_S if slow and int(first[1:]) % SLOW_EVERY == 0 else 0

class Server(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        try:
            reply, name = answer(data)
        except (IndexError, struct.error):
            return
        wait = delay(name)
        if wait:
            asyncio.get_running_loop().call_later(wait, self.transport.sendto, reply, addr)
        else:
            self.transport.sendto(reply, addr)

async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Server, local_addr=(ADDR, 53))
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
EOF
start_dns() { # address slow_every slow_seconds
    python3 "$S/dns.py" "$1" "$2" "$3" >"$S/dns-$1.log" 2>&1 &
    server_pids+=($!)
    local i
    for i in $(seq 1 50); do
        grep -q ready "$S/dns-$1.log" 2>/dev/null && return 0
        sleep 0.1
    done
    say "the DNS server on $1 did not start: $(cat "$S/dns-$1.log")"
    exit 1
}
start_dns 127.0.0.1 0 0
start_dns 127.0.0.2 "$SLOW_EVERY" "$(awk -v ms="$SLOW_MS" 'BEGIN { print ms / 1000 }')"
: >"$S/resolv.conf"
mount --bind "$S/resolv.conf" /etc/resolv.conf
use_dns() { printf 'nameserver %s\noptions timeout:5 attempts:2\n' "$1" >"$S/resolv.conf"; }

# --- 3. the files and the list -----------------------------------------------------------
total=$((HOSTS * FILES_PER_HOST))
mkdir -p "$S/www/f"
if [[ $SERVER == auto ]]; then
    if have nginx; then SERVER=nginx; else SERVER=miodl-serve; fi
fi
if [[ $SERVER == nginx ]]; then
    head -c $((total * SIZE)) /dev/urandom | (cd "$S/www/f" && split -b "$SIZE" -a 6 -d - f)
    start_nginx "$S/www"
    port=${BASE##*:}
    paths() { (cd "$S/www/f" && ls) | sed 's#^#/f/#'; }
    ref=$S/www/f
else
    start_miodl_serve
    port=${SERVE_URL##*:}
    port=${port%%/*}
    SERVER_DESC="miodl serve (/bytes routes, sizes SIZE+i)"
    make_pattern_file $((SIZE + total)) "$S/pattern"
    for ((i = 0; i < total; i++)); do head -c $((SIZE + i)) "$S/pattern" >"$S/www/f/$((SIZE + i))"; done
    paths() { for ((i = 0; i < total; i++)); do echo "/bytes/$((SIZE + i))"; done; }
    ref=$S/www/f
fi
# File k goes to host (k mod HOSTS) + 1: the hosts take turns.
paths | awk -v hosts="$HOSTS" -v port="$port" \
    '{ printf "http://h%03d.bench.test:%s%s\n", (NR - 1) % hosts + 1, port, $0 }' >"$S/all.list"
sed 's/.*/url = "&"/' "$S/all.list" >"$S/all.curl"
slow_names=0
((SLOW_EVERY > 0)) && slow_names=$((HOSTS / SLOW_EVERY))
say "server: $SERVER_DESC on 127.0.0.1:$port; $HOSTS names x $FILES_PER_HOST files; scratch: $S"

# Every name resolves, through the namespace's resolv.conf, before anything is timed.
use_dns 127.0.0.1
python3 -c 'import socket; socket.getaddrinfo("h001.bench.test", 80)' ||
    { say "h001.bench.test does not resolve"; exit 1; }

# --- 4. the runs -------------------------------------------------------------------------
write_aiohttp_get
find_tools
RESULTS=$S/results.txt
: >"$RESULTS"
run_one() { # tool dns-label
    local tool=$1 label=$2 out=$S/out log=$S/run.log t0 t1 status=ok
    rm -rf "$out" && mkdir -p "$out"
    tool_cmd "$tool" "$S/all.list" "$out" "$CONN"
    if [[ -n $TRACE_DIR && $tool == miodl* ]]; then
        mkdir -p "$TRACE_DIR"
        cmd+=(--json --trace "$TRACE_DIR/$tool-$label-$round.json")
    fi
    t0=$(date +%s%N)
    timeout "$RUN_TIMEOUT" "${cmd[@]}" >"$log" 2>&1 || status=FAILED
    t1=$(date +%s%N)
    if [[ -n $TRACE_DIR && $tool == miodl* ]]; then cp "$log" "$TRACE_DIR/$tool-$label-$round.out"; fi
    if [[ $status == ok ]] && ! diff -rq "$ref" "$out" >>"$log" 2>&1; then status=FAILED; fi
    if [[ $status == FAILED ]]; then
        say "  $tool ($label): FAILED ($(head -c 300 "$log" | tr '\n' ' '))"
    fi
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    say "  $tool ($label): $wall s $status"
    printf '%s %s %s %s\n' "$tool" "$label" "$wall" "$status" >>"$RESULTS"
    rm -rf "$out"
}
wait_quiet
for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round/$ROUNDS"
    for tool in "${tools[@]}"; do
        use_dns 127.0.0.1
        run_one "$tool" fast
        use_dns 127.0.0.2
        run_one "$tool" slow
    done
done

# --- 5. the table ------------------------------------------------------------------------
median() { # tool label: median wall of the ok runs, and min-max
    awk -v t="$1" -v l="$2" '$1 == t && $2 == l && $4 == "ok" { print $3 }' "$RESULTS" | sort -n |
        awk '{ v[NR] = $1 } END {
            if (!NR) { print "FAILED - -"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}
{
    printf '\n### many hosts: %s names x %s files of %s bytes, %s connections\n\n' \
        "$HOSTS" "$FILES_PER_HOST" "$SIZE" "$CONN"
    printf 'Every name looked up through DNS (a local server in a private namespace); "slow":\n'
    printf '%s of the %s names (every %sth) answered after %s ms. Server: %s. Medians of %s\n' \
        "$slow_names" "$HOSTS" "$SLOW_EVERY" "$SLOW_MS" "$SERVER_DESC" "$ROUNDS"
    printf 'rounds, interleaved. Before the runs: %s.\n\n' "$QUIET_NOTE"
    printf '| tool | DNS at once: wall (s) | min–max | %s names slow: wall (s) | min–max | growth (s) |\n' "$slow_names"
    printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
    for tool in "${tools[@]}"; do
        read -r fm fmin fmax <<<"$(median "$tool" fast)"
        read -r sm smin smax <<<"$(median "$tool" slow)"
        growth=$(awk -v a="$fm" -v b="$sm" 'BEGIN { if (a + 0 == a && b + 0 == b) printf "%+.2f", b - a; else print "-" }')
        printf '| %s | %s | %s–%s | %s | %s–%s | %s |\n' "$tool" "$fm" "$fmin" "$fmax" "$sm" "$smin" "$smax" "$growth"
    done
} | tee "$OUT"
say "table written to $OUT"
