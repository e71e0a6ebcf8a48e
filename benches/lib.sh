# benches/lib.sh — what the scripts of benches/ share. Sourced, not run.
#
# It gives:
#   say / have                 print to stderr; is a command installed
#   build_miodl                cargo build --release; sets MIODL
#   make_scratch NAME          a scratch dir S (tmpfs under /dev/shm when writable), removed
#                              at exit (KEEP=1 keeps it) together with every server started
#   wait_quiet                 waits (30 s steps, QUIET_TRIES=10 at most) until the 1-minute
#                              load is below QUIET_LOAD=1.5; prints and sets QUIET_NOTE
#   free_port / wait_for_port  a free loopback port; wait until host:port accepts
#   start_nginx ROOT           nginx serving ROOT: NGINX_WORKERS=1 worker(s), 127.0.0.1,
#                              access_log off, keep-alive without a request limit; sets
#                              BASE, SERVER_DESC
#   serve_random_files N SIZE LIST  N random files under $S/www/f from nginx, URLs in LIST
#   start_miodl_serve ARGS...  `miodl serve --port 0 ARGS`; sets SERVE_URL
#   make_pattern_file SIZE PATH  the byte pattern of miodl serve's /bytes routes
#   write_aiohttp_get          writes $S/aiohttp_get.py, the aiohttp peer
#   build_floor                cargo builds benches/floor.rs; sets FLOOR
#   tool_cmd TOOL LIST OUT N   sets cmd=(...): TOOL fetching every URL of LIST into OUT at
#                              N connections (curl's config file is ${LIST%.list}.curl);
#                              TOOL miodl-threads is `miodl get --engine threads`,
#                              miodl-pipeline `miodl get --pipeline 8`, miodl-nodisk
#                              `miodl get --disk-threads 0` (no disk threads), floor the
#                              floor program, cat a plain copy of the files of $REF
# The caller sets `set -euo pipefail` and `repo` (the repository root).

say() { printf '%s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# The floor program (benches/floor.rs), built by cargo; sets FLOOR to its executable.
build_floor() {
    FLOOR=$(cd "$repo" && cargo bench --quiet --bench floor --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "floor" and m.get("executable"):
        print(m["executable"])')
    [[ -x $FLOOR ]] || { say "could not build benches/floor.rs"; return 1; }
}

build_miodl() {
    say "building miodl (release)..."
    (cd "$repo" && cargo build --release --quiet)
    MIODL=$repo/target/release/miodl
}

# --- scratch dir and cleanup -------------------------------------------------------------
server_pids=()
make_scratch() { # name
    if [[ -d /dev/shm && -w /dev/shm ]]; then
        S=$(mktemp -d "/dev/shm/$1.XXXXXX")
    else
        S=$(mktemp -d)
    fi
    chmod 755 "$S" # nginx workers may run as another user
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
cleanup() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ ${KEEP:-0} == 1 ]]; then say "scratch kept: $S"; else rm -rf "$S"; fi
}

# --- a quiet machine ---------------------------------------------------------------------
QUIET_LOAD=${QUIET_LOAD:-1.5}
QUIET_TRIES=${QUIET_TRIES:-10}
# Waits until the 1-minute load average is below QUIET_LOAD, checking every 30 s, at most
# QUIET_TRIES times; then goes on either way. QUIET_NOTE says what the load was.
wait_quiet() {
    local try load
    for ((try = 0; ; try++)); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        if awk -v l="$load" -v q="$QUIET_LOAD" 'BEGIN { exit !(l < q) }'; then
            QUIET_NOTE="load $load (below $QUIET_LOAD)"
            break
        fi
        if ((try >= QUIET_TRIES)); then
            QUIET_NOTE="load $load (still above $QUIET_LOAD after $QUIET_TRIES waits of 30 s)"
            break
        fi
        say "load $load >= $QUIET_LOAD: waiting 30 s ($((try + 1))/$QUIET_TRIES)"
        sleep 30
    done
    say "$QUIET_NOTE"
}

# --- servers -----------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

wait_for_port() { # host port
    local i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    say "server on $1:$2 did not come up"
    return 1
}

# COUNT files of SIZE random bytes under $S/www/f, served by nginx; their URLs go to LIST.
serve_random_files() { # count size list
    mkdir -p "$S/www/f"
    head -c $(($1 * $2)) /dev/urandom | (cd "$S/www/f" && split -b "$2" -a 6 -d - f)
    start_nginx "$S/www"
    (cd "$S/www/f" && ls) | sed "s#^#$BASE/f/#" >"$3"
}

start_nginx() { # root [tls|plain] [server lines]: HTTPS with a local CA when $2 is "tls"
    local port name=nginx listen scheme=http
    port=$(free_port)
    listen="listen 127.0.0.1:$port;"
    if [[ ${2:-} == tls ]]; then
        name=nginx-tls
        scheme=https
        make_tls_certificate
        listen="listen 127.0.0.1:$port ssl; ssl_certificate $S/tls/server.pem; ssl_certificate_key $S/tls/server.key;"
    fi
    mkdir -p "$S/nginx-tmp"
    cat >"$S/$name.conf" <<EOF
worker_processes ${NGINX_WORKERS:-1};
daemon off;
pid $S/$name.pid;
error_log $S/$name-error.log warn;
$( ((EUID == 0)) && echo "user root;")
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    client_body_temp_path $S/nginx-tmp/body;
    proxy_temp_path $S/nginx-tmp/proxy;
    fastcgi_temp_path $S/nginx-tmp/fastcgi;
    uwsgi_temp_path $S/nginx-tmp/uwsgi;
    scgi_temp_path $S/nginx-tmp/scgi;
    server {
        $listen
        root $1;
        disable_symlinks off;
        ${3:-}
    }
}
EOF
    nginx -p "$S" -c "$S/$name.conf" -e "$S/$name-error.log" &
    server_pids+=($!)
    wait_for_port 127.0.0.1 "$port"
    BASE=$scheme://127.0.0.1:$port
    SERVER_DESC="nginx $(nginx -v 2>&1 | sed 's#.*/##'), ${NGINX_WORKERS:-1} worker(s)"
}

# A local CA ($S/tls/ca.pem, what clients trust) and a server certificate for 127.0.0.1
# and localhost signed by it, with openssl.
make_tls_certificate() {
    local d=$S/tls
    [[ -f $d/ca.pem ]] && return 0
    have openssl || { say "openssl not found: apt-get install openssl"; return 1; }
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
        -subj "/CN=miodl bench CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
        -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$d/ext.cnf"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/server.pem" -days 2 -extfile "$d/ext.cnf" 2>/dev/null
}

start_miodl_serve() {
    local log=$S/serve-$RANDOM.out
    "$MIODL" serve --port 0 "$@" >"$log" 2>&1 &
    server_pids+=($!)
    local i
    for i in $(seq 1 100); do
        if SERVE_URL=$(grep -m1 -o 'http://[^ ]*' "$log" 2>/dev/null); then return 0; fi
        sleep 0.1
    done
    say "miodl serve did not start: $(cat "$log")"
    return 1
}

# The byte pattern of miodl serve's /bytes routes: byte i is ((i mod 251) * 31 + 7) mod 251.
make_pattern_file() { # size path
    local period=$S/period i
    : >"$period"
    for ((i = 0; i < 251; i++)); do printf "\\$(printf %03o $(((i * 31 + 7) % 251)))" >>"$period"; done
    cp "$period" "$2"
    while (($(stat -c %s "$2") < $1)); do cat "$2" "$2" >"$2.tmp" && mv "$2.tmp" "$2"; done
}

# --- the peers ---------------------------------------------------------------------------
# The aiohttp client is written here, so the repo holds no Python.
write_aiohttp_get() {
    cat >"$S/aiohttp_get.py" <<'EOF'
"""Downloads every URL of a list with aiohttp: TCPConnector(limit=N), bodies streamed."""
import asyncio, os, sys
import aiohttp

async def fetch(session, url, out):
    async with session.get(url) as resp:
        resp.raise_for_status()
        with open(os.path.join(out, url.rsplit("/", 1)[1]), "wb") as f:
            async for chunk in resp.content.iter_chunked(1 << 16):
                f.write(chunk)

async def main(list_path, out, limit):
    with open(list_path) as f:
        urls = [line.strip() for line in f if line.strip()]
    connector = aiohttp.TCPConnector(limit=limit)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(fetch(session, u, out) for u in urls))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
EOF
}

# The command line of tool $1 for list $2 into directory $3 with $4 connections.
# curl 7.x caps --parallel-max at 300; none of the others has a cap below 256.
tool_cmd() {
    local tool=$1 list=$2 out=$3 n=$4
    case $tool in
    miodl) cmd=("$MIODL" get -q -c "$n" -o "$out" -i "$list") ;;
    miodl-threads) cmd=("$MIODL" get -q --engine threads -c "$n" -o "$out" -i "$list") ;;
    miodl-pipeline) cmd=("$MIODL" get -q --pipeline 8 -c "$n" -o "$out" -i "$list") ;;
    miodl-nodisk) cmd=("$MIODL" get -q --disk-threads 0 -c "$n" -o "$out" -i "$list") ;;
    curl) cmd=(curl -sS --fail --parallel --parallel-max "$((n < 300 ? n : 300))" --remote-name-all
        --output-dir "$out" -K "${list%.list}.curl") ;;
    wget2) cmd=(wget2 -q --no-config --max-threads "$n" -P "$out" -i "$list") ;;
    aria2c) cmd=(aria2c -q -j "$n" -x 1 -s 1 -d "$out" -i "$list" --file-allocation=none
        --allow-overwrite=true --auto-file-renaming=false --enable-http-keep-alive=true
        --deferred-input=true --summary-interval=0) ;;
    aiohttp) cmd=(python3 "$S/aiohttp_get.py" "$list" "$out" "$n") ;;
    floor) cmd=("$FLOOR" "$list" "$out" "$n") ;;
    # Plain cat, no network: one cat per file of $REF at once, onto the output directory.
    cat) cmd=(bash -c 'for f in "$1"/*; do cat "$f" >"$2/${f##*/}" & done; wait' cat "$REF" "$out") ;;
    miodl-crawl) cmd=("$MIODL" crawl -q -o "$out" "$list/api/list_files") ;;
    aiohttp-crawl) cmd=(python3 "$S/aiohttp_crawl.py" "$list" "$out") ;;
    esac
    # Over HTTPS (CA set): every tool trusts the local CA, each in its own words.
    if [[ -n ${CA:-} ]]; then
        case $tool in
        miodl*) cmd+=(--cacert "$CA") ;;
        curl) cmd+=(--cacert "$CA") ;;
        wget2 | aria2c) cmd+=(--ca-certificate="$CA") ;;
        aiohttp) cmd=(env SSL_CERT_FILE="$CA" "${cmd[@]}") ;;
        esac
    fi
}

# The tools of $TOOLS that are installed, into the array `tools`.
find_tools() {
    tools=()
    local t
    for t in $TOOLS; do
        case $t in
        miodl | miodl-* | cat) tools+=("$t") ;;
        floor) if build_floor; then tools+=(floor); fi ;;
        aiohttp) if python3 -c 'import aiohttp' 2>/dev/null; then tools+=(aiohttp); else say "skip aiohttp: pip install aiohttp"; fi ;;
        *) if have "$t"; then tools+=("$t"); else say "skip $t: not installed"; fi ;;
        esac
    done
}
