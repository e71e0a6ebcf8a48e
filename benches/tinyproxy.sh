#!/usr/bin/env bash
# benches/tinyproxy.sh — miodl through a real HTTP proxy (tinyproxy, from the
# distribution: apt-get install tinyproxy), as a user would run it: http:// and https://
# downloads through it, no_proxy honoured, a proxy that wants credentials reported.
#
# Starts `miodl serve` (plain and --tls) and two tinyproxy instances on free ports of
# 127.0.0.1, with their configuration and logs in a scratch directory under /tmp, and
# stops exactly those processes at the end. Prints each command and what it gave.
# Not a benchmark: a check against a proxy this repository did not write.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
command -v tinyproxy >/dev/null || { echo "tinyproxy not found: apt-get install tinyproxy"; exit 1; }
(cd "$repo" && cargo build --release --quiet)
M=$repo/target/release/miodl
S=$(mktemp -d /tmp/miodl-tinyproxy.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$S"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# The proxy variables of this shell must not decide the run.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

"$M" serve --port 0 --files 30 >"$S/plain.out" & pids+=($!)
"$M" serve --port 0 --files 30 --tls >"$S/tls.out" & pids+=($!)
for _ in $(seq 50); do
    [[ -s "$S/plain.out" && $(wc -l <"$S/tls.out") -ge 2 ]] && break
    sleep 0.1
done
plain=$(sed -n 's/^listening on //p' "$S/plain.out")
tls=$(sed -n 's/^listening on //p' "$S/tls.out")
cert=$(sed -n 's/^certificate: //p' "$S/tls.out")
tls_port=${tls##*:}

proxy() { # NAME EXTRA-CONFIG-LINE; sets $url (not run in $(...): its pid must stay here)
    local port
    port=$(free_port)
    cat >"$S/$1.conf" <<EOF
Port $port
Listen 127.0.0.1
Timeout 60
LogFile "$S/$1.log"
LogLevel Info
MaxClients 50
Allow 127.0.0.1
ConnectPort $tls_port
$2
EOF
    tinyproxy -d -c "$S/$1.conf" >/dev/null 2>&1 & pids+=($!)
    for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    url="http://127.0.0.1:$port"
}
proxy open ""
open=$url
proxy auth "BasicAuth alice s3cret"
auth=$url
urls() { for n in $(seq 1 "$2"); do echo "$1/bytes/$((n * 1000))"; done; }
show() { echo; echo "\$ $*"; set +e; "$@"; echo "exit $?"; set -e; }

show "$M" get -q --json -o "$S/http" -c 4 -x "$open" $(urls "$plain" 20)
show "$M" get -q --json -o "$S/https" --cacert "$cert" -x "$open" $(urls "$tls" 20)
show env https_proxy="$open" "$M" crawl "$tls/api/list_files" -q --json -o "$S/crawl" --cacert "$cert"
show "$M" verify "$S/crawl"
before=$(grep -c 'Request (file' "$S/open.log" || true)
show env http_proxy="$open" no_proxy=127.0.0.1 "$M" get -q --json -o "$S/bypass" $(urls "$plain" 3)
after=$(grep -c 'Request (file' "$S/open.log" || true)
echo "requests tinyproxy logged during the no_proxy run: $((after - before))"
show "$M" get -q -o "$S/refused" --retries 0 -x "$auth" "$plain/bytes/10" "$tls/bytes/10" --cacert "$cert"
show "$M" get -q --json -o "$S/allowed" -x "${auth/http:\/\//http://alice:s3cret@}" "$plain/bytes/10" "$tls/bytes/10" --cacert "$cert"
