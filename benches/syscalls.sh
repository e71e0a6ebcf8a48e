#!/usr/bin/env bash
# benches/syscalls.sh — syscalls per downloaded file, by name, counted with `strace -f -c`.
#
# Serves FILES (default 1000) and 2*FILES small files (SIZE bytes, default 4096) from nginx
# (one worker, 127.0.0.1, keep-alive without limit) or, without nginx, from `miodl serve`'s
# /bytes/<n> routes; runs `miodl get -q -c CONN -i LIST` under `strace -f -c` for each
# list and prints, per syscall, the calls of both runs and their difference divided by
# FILES: the marginal syscalls of one more file, free of the process's fixed start-up
# (execve, mmap, the output directory, the first connections).
#
# Needs: strace (apt-get install strace); nginx optional (apt-get install nginx).
# Knobs: FILES=1000 SIZE=4096 CONN=16 SERVER=auto|nginx|miodl-serve
set -euo pipefail

FILES=${FILES:-1000}
SIZE=${SIZE:-4096}
CONN=${CONN:-16}
SERVER=${SERVER:-auto}
repo=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '%s\n' "$*" >&2; }

command -v strace >/dev/null || { say "strace not found: apt-get install strace"; exit 1; }
if [[ $SERVER == auto ]]; then
    if command -v nginx >/dev/null; then SERVER=nginx; else SERVER=miodl-serve; fi
fi

(cd "$repo" && cargo build --release --quiet)
MIODL=$repo/target/release/miodl

if [[ -d /dev/shm && -w /dev/shm ]]; then S=$(mktemp -d /dev/shm/miodl-syscalls.XXXXXX); else S=$(mktemp -d); fi
chmod 755 "$S"
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$S"
}
trap cleanup EXIT

total=$((2 * FILES))
if [[ $SERVER == nginx ]]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000)))
    mkdir -p "$S/www/f" "$S/tmp"
    head -c $((total * SIZE)) /dev/urandom | (cd "$S/www/f" && split -b "$SIZE" -a 6 -d - f)
    cat >"$S/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $S/nginx.pid;
error_log $S/nginx-error.log warn;
$( ((EUID == 0)) && echo "user root;")
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    client_body_temp_path $S/tmp/body;
    proxy_temp_path $S/tmp/proxy;
    fastcgi_temp_path $S/tmp/fastcgi;
    uwsgi_temp_path $S/tmp/uwsgi;
    scgi_temp_path $S/tmp/scgi;
    server { listen 127.0.0.1:$port; root $S/www; }
}
EOF
    nginx -p "$S" -c "$S/nginx.conf" -e "$S/nginx-error.log" &
    server_pid=$!
    base=http://127.0.0.1:$port
    for i in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    (cd "$S/www/f" && ls) | sed "s#^#$base/f/#" >"$S/all.list"
else
    "$MIODL" serve --port 0 >"$S/serve.out" 2>&1 &
    server_pid=$!
    for i in $(seq 1 100); do base=$(grep -m1 -o 'http://[^ ]*' "$S/serve.out") && break; sleep 0.1; done
    # Sizes SIZE+i: every URL gets its own file name.
    for ((i = 0; i < total; i++)); do echo "$base/bytes/$((SIZE + i))"; done >"$S/all.list"
fi
head -n "$FILES" "$S/all.list" >"$S/small.list"

# strace -c's table for `miodl get` of list $1 into $S/counts-$2.txt as "syscall calls".
count() {
    rm -rf "$S/out"
    strace -f -c -o "$S/strace-$2.txt" "$MIODL" get -q -c "$CONN" -o "$S/out" -i "$1"
    [[ $(ls "$S/out" | wc -l) == $(wc -l <"$1") ]] || { say "run $2: files missing"; exit 1; }
    awk '/^-+/ { dashes++; next } dashes == 1 && NF >= 5 { print $NF, $4 }' "$S/strace-$2.txt" >"$S/counts-$2.txt"
}
count "$S/small.list" one
count "$S/all.list" two

printf '\n### syscalls per file: miodl get -q -c %s, %s bytes each, from %s\n\n' "$CONN" "$SIZE" "$SERVER"
printf '| syscall | %s files | %s files | per file (difference / %s) |\n| --- | ---: | ---: | ---: |\n' \
    "$FILES" "$total" "$FILES"
awk -v n="$FILES" '
    FNR == NR { one[$1] = $2; names[$1] = 1; next }
    { two[$1] = $2; names[$1] = 1 }
    END {
        for (s in names) {
            d = (two[s] - one[s]) / n
            printf "%s %d %d %.2f\n", s, one[s], two[s], d
            t1 += one[s]; t2 += two[s]
        }
        printf "~TOTAL %d %d %.2f\n", t1, t2, (t2 - t1) / n
    }' "$S/counts-one.txt" "$S/counts-two.txt" |
    sort -k4,4nr -k1,1 | awk '{ sub(/^~/, "", $1); printf "| %s | %d | %d | %.2f |\n", $1, $2, $3, $4 }'
