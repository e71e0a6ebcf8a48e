#!/usr/bin/env bash
# benches/compare.sh — miodl side by side with curl, wget2, aria2c and aiohttp, on loopback.
#
# What it does:
#   1. builds miodl in release;
#   2. makes a scratch dir (tmpfs under /dev/shm when writable, else mktemp -d) holding
#      the served data, the URL lists and every run's output;
#   3. serves the data with nginx (one worker, 127.0.0.1, access_log off, keep-alive
#      without a request limit) when nginx is installed; else with `miodl serve`, whose
#      /bytes/<n> routes give files of n pattern bytes (so sizes are SIZE+i there, to keep
#      every name distinct);
#   4. scenarios: "small" (SMALL_FILES files of SMALL_SIZE bytes at SMALL_CONN
#      connections) and "large" (LARGE_FILES of LARGE_SIZE at LARGE_CONN), each tool run
#      ROUNDS times, interleaved, into a fresh directory, every output checked byte for
#      byte against the source (diff -rq, which also flags extra or missing files); a run
#      that fails the check is counted as FAILED and not timed;
#   5. "crawl": the seed's job, `miodl crawl` against `miodl serve --lag X` beside an
#      aiohttp crawler in the seed's style (one page at a time, each page's downloads
#      started as it arrives), at each lag in CRAWL_LAGS, checked with `miodl verify`;
#   "tls": the small files again over HTTPS, from a second nginx with a local CA made by
#      openssl (each tool is told to trust it; needs nginx and openssl);
#   6. prints a markdown table per scenario (median wall, min-max, CPU µs per file, peak
#      RSS, wall relative to miodl, CPU and wall relative to the floor) and writes the
#      tables to OUT as well. The floor (benches/floor.rs) fetches the same files with
#      only the unavoidable work: docs/performance.md, "The floor".
#
# Peers (each is skipped when missing):
#   apt-get install nginx curl wget2 aria2 time      # `time` provides /usr/bin/time
#   pip install aiohttp
# Without /usr/bin/time the peak RSS shows n/a (CPU comes from bash's `times`).
#
# Knobs (environment): ROUNDS=5  SMALL_FILES=10000 SMALL_SIZE=4096 SMALL_CONN=64
#   LARGE_FILES=4 LARGE_SIZE=268435456 LARGE_CONN=4  CRAWL_FILES=25 CRAWL_LAGS="0 0.3"
#   SCENARIOS="small large crawl tls"  TOOLS="miodl miodl-pipeline curl wget2 aria2c aiohttp floor cat"
#   (also: miodl-threads, miodl-nodisk; miodl-pipeline is left out of "large": 4 files on
#   4 sockets leave nothing to pipeline; floor, benches/floor.rs, runs in "small" and
#   "large" (plain HTTP only); cat, a plain copy of the served files with no network, in
#   "large" only)
#   SERVER=auto|nginx|miodl-serve  NGINX_WORKERS=1 (nginx's worker processes)  RUN_TIMEOUT=600 (seconds, per run)  OUT=<file for the tables>  KEEP=1 (keep scratch)
#   QUIET_LOAD=1.5 QUIET_TRIES=10 (wait, 30 s at a time, for a quiet machine before starting)
# Example, a quick look: ROUNDS=3 SMALL_FILES=2000 LARGE_SIZE=67108864 benches/compare.sh
# The server, scratch and peer set-up live in benches/lib.sh (shared with benches/sweep.sh).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
SMALL_FILES=${SMALL_FILES:-10000}
SMALL_SIZE=${SMALL_SIZE:-4096}
SMALL_CONN=${SMALL_CONN:-64}
LARGE_FILES=${LARGE_FILES:-4}
LARGE_SIZE=${LARGE_SIZE:-268435456}
LARGE_CONN=${LARGE_CONN:-4}
CRAWL_FILES=${CRAWL_FILES:-25}
CRAWL_LAGS=${CRAWL_LAGS:-0 0.3}
SCENARIOS=${SCENARIOS:-small large crawl tls}
TOOLS=${TOOLS:-miodl miodl-pipeline curl wget2 aria2c aiohttp floor cat}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
OUT=${OUT:-${TMPDIR:-/tmp}/miodl-compare-$(date +%Y%m%d-%H%M%S).md}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$repo/benches/lib.sh"

build_miodl
make_scratch miodl-compare

TIME=/usr/bin/time
if [[ ! -x $TIME ]]; then
    say "note: /usr/bin/time not found (apt-get install time): peak RSS will show n/a"
    TIME=
fi

find_tools

# --- data and server ---------------------------------------------------------------------
# Lays out reference data for scenario $1 ($2 files of $3 bytes); writes $S/<name>.list
# (one URL a line) and $S/<name>.curl (curl's -K config); the reference copy is
# $S/ref/<name>, the directory every run's output is compared with.
make_data() {
    local name=$1 count=$2 size=$3 ref=$S/ref/$1 i
    mkdir -p "$ref"
    if [[ $SERVER == nginx ]]; then
        if ((size <= 1 << 20)); then
            head -c $((count * size)) /dev/urandom | (cd "$ref" && split -b "$size" -a 6 -d - f)
        else
            for ((i = 0; i < count; i++)); do head -c "$size" /dev/urandom >"$ref/f$(printf %06d $i)"; done
        fi
        (cd "$ref" && ls) | sed "s#^#$BASE/$name/#" >"$S/$name.list"
    else
        # miodl serve: /bytes/<n> serves n pattern bytes; sizes SIZE+i keep names distinct.
        make_pattern_file $((size + count)) "$S/pattern"
        for ((i = 0; i < count; i++)); do head -c $((size + i)) "$S/pattern" >"$ref/$((size + i))"; done
        for ((i = 0; i < count; i++)); do echo "$BASE/bytes/$((size + i))"; done >"$S/$name.list"
    fi
    sed 's/.*/url = "&"/' "$S/$name.list" >"$S/$name.curl"
}

SERVER=${SERVER:-auto}
if [[ $SERVER == auto ]]; then
    if have nginx; then SERVER=nginx; else SERVER=miodl-serve; fi
fi
if [[ $SCENARIOS == *small* || $SCENARIOS == *large* || $SCENARIOS == *tls* ]]; then
    if [[ $SERVER == nginx ]]; then
        mkdir -p "$S/www"
        ln -s "$S/ref/small" "$S/www/small"
        ln -s "$S/ref/large" "$S/www/large"
        start_nginx "$S/www"
    else
        start_miodl_serve
        BASE=$SERVE_URL
        SERVER_DESC="miodl serve (/bytes routes, sizes SIZE+i)"
    fi
    say "server: $SERVER_DESC at $BASE; scratch: $S"
    [[ $SCENARIOS == *small* || $SCENARIOS == *tls* ]] && make_data small "$SMALL_FILES" "$SMALL_SIZE"
    [[ $SCENARIOS == *large* ]] && make_data large "$LARGE_FILES" "$LARGE_SIZE"
fi

# --- the aiohttp clients (written here, so the repo holds no Python) -----------------------
write_aiohttp_get
cat >"$S/aiohttp_crawl.py" <<'EOF'
"""The seed's aiohttp crawler: one list page at a time, each page's downloads started
as the page arrives, all awaited at the end. Default connector (limit=100)."""
import asyncio, os, sys
import aiohttp

async def download(session, base, item, out):
    async with session.get(f"{base}/api/download/{item}") as resp:
        resp.raise_for_status()
        body = await resp.read()
    with open(os.path.join(out, item), "wb") as f:
        f.write(body)

async def main(base, out):
    async with aiohttp.ClientSession() as session:
        tasks, start = [], 0
        while True:
            form = {"start": str(start), "per_page": "5"}
            async with session.post(f"{base}/api/list_files", data=form) as resp:
                resp.raise_for_status()
                items = (await resp.json())["urls"]
                more = resp.headers.get("More", "").lower() == "true"
            tasks += [asyncio.ensure_future(download(session, base, i, out)) for i in items]
            start += len(items)
            if not more:
                break
        await asyncio.gather(*tasks)

asyncio.run(main(sys.argv[1], sys.argv[2]))
EOF

# --- running and timing ----------------------------------------------------------------
# Runs "$@" under /usr/bin/time; appends "tool wall_s cpu_s rss_kb status" to $RESULTS.
# $verify is the command that checks the output directory $out.
timed_run() { # tool out verify-command... -- command...
    local tool=$1 out=$2
    shift 2
    local verify=()
    while [[ $1 != -- ]]; do verify+=("$1") && shift; done
    shift
    rm -rf "$out" && mkdir -p "$out"
    local tfile=$S/time.txt cfile=$S/times.txt log=$S/run.log t0 t1 status=ok
    : >"$tfile"
    t0=$(date +%s%N)
    # The subshell's `times` gives the CPU of everything it waited for, to the
    # millisecond; /usr/bin/time adds the peak RSS (its own CPU figures are centiseconds).
    (
        if [[ -n $TIME ]]; then
            $TIME -f '%M' -o "$tfile" timeout "$RUN_TIMEOUT" "$@" >"$log" 2>&1
        else
            timeout "$RUN_TIMEOUT" "$@" >"$log" 2>&1
        fi
        rc=$?
        times >"$cfile"
        exit $rc
    ) || status=FAILED
    t1=$(date +%s%N)
    if [[ $status == ok ]] && ! "${verify[@]}" >>"$log" 2>&1; then status=FAILED; fi
    # `times` line 2: children's user and system time, as 0m1.234s 0m0.056s.
    local cpu rss=na
    cpu=$(awk 'NR == 2 {
        split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$cfile")
    if [[ -n $TIME ]]; then rss=$(tail -n1 "$tfile"); fi
    if [[ $status == FAILED ]]; then
        say "  $tool: FAILED ($(head -c 300 "$log" | tr '\n' ' '))"
    fi
    printf '%s %s %s %s %s\n' "$tool" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" \
        "$cpu" "$rss" "$status" >>"$RESULTS"
    rm -rf "$out"
}

# The median of column $2 of the ok rows of $RESULTS that match the awk condition $1.
median_of() {
    awk "$1 && \$5 == \"ok\" { print \$$2 }" "$RESULTS" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# Prints the markdown table of $RESULTS; $1 = files per run, $2 = the title.
table() {
    local files=$1 title=$2
    printf '\n### %s\n\n' "$title"
    printf '| tool | median wall (s) | min–max (s) | CPU µs/file | peak RSS (MiB) | wall vs miodl | CPU vs floor | wall vs floor | runs ok |\n'
    printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
    local base floor_wall floor_cpu
    base=$(median_of '$1 ~ /^miodl(-crawl)?$/' 2)
    floor_wall=$(median_of '$1 == "floor"' 2)
    floor_cpu=$(median_of '$1 == "floor" && $3 != "na"' 3)
    local t
    for t in $(awk '{ print $1 }' "$RESULTS" | awk '!seen[$0]++'); do
        awk -v t="$t" -v files="$files" -v base="$base" -v fw="$floor_wall" -v fc="$floor_cpu" '
            function median(a, n,   i, j, x) {
                for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            $1 == t { runs++ }
            $1 == t && $5 == "ok" {
                n++; wall[n] = $2
                if ($3 != "na") { nc++; cpu[nc] = $3 }
                if ($4 != "na" && $4 > rss) rss = $4
                if (min == "" || $2 < min) min = $2
                if ($2 > max) max = $2
            }
            END {
                if (n == 0) { printf "| %s | FAILED | | | | | | | 0/%d |\n", t, runs; exit }
                m = median(wall, n)
                mc = nc ? median(cpu, nc) : ""
                c = nc ? sprintf("%.0f", mc * 1e6 / files) : "n/a"
                r = rss != "" ? sprintf("%.1f", rss / 1024) : "n/a"
                ratio = base != "" ? sprintf("%.2f×", m / base) : "n/a"
                cf = (nc && fc > 0) ? sprintf("%.2f×", mc / fc) : "n/a"
                wf = fw > 0 ? sprintf("%.2f×", m / fw) : "n/a"
                printf "| %s | %.3f | %.3f–%.3f | %s | %s | %s | %s | %s | %d/%d |\n", t, m, min, max, c, r, ratio, cf, wf, n, runs
            }' "$RESULTS"
    done
}

wait_quiet
{
    printf '## miodl compare, %s\n\n' "$(date -u +'%Y-%m-%d %H:%M UTC')"
    printf 'Machine: %s cores, %s; %s rounds, interleaved; outputs on %s.\n' "$(nproc)" \
        "$(uname -sr)" "$ROUNDS" "$(df --output=fstype "$S" | tail -n1)"
    [[ -n ${SERVER_DESC:-} ]] && printf 'Server: %s.\n' "$SERVER_DESC"
    printf 'CPU is user+sys of the client process tree (bash times), per file; peak RSS (/usr/bin/time %%M) is the largest of the rounds.\n'
    printf 'Before the run: %s; load after it is printed at the end.\n' "$QUIET_NOTE"
} | tee "$OUT"

scenario() { # name files size connections
    local name=$1 files=$2 size=$3 n=$4 round tool
    RESULTS=$S/results-$name.txt
    : >"$RESULTS"
    for ((round = 1; round <= ROUNDS; round++)); do
        say "$name: round $round/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
        for tool in "${tools[@]}"; do
            [[ $name == large && $tool == miodl-pipeline ]] && continue
            # The floor assumes equal answers: nginx's files, not miodl serve's SIZE+i.
            [[ $tool == floor && ($name == tls || $SERVER != nginx) ]] && continue
            [[ $name != large && $tool == cat ]] && continue
            REF=$S/ref/$name
            tool_cmd "$tool" "$S/$name.list" "$S/out" "$n"
            timed_run "$tool" "$S/out" diff -rq "$S/ref/$name" "$S/out" -- "${cmd[@]}"
        done
    done
    table "$files" "$name: $files files of $size bytes, $n connections" | tee -a "$OUT"
}

[[ $SCENARIOS == *small* ]] && scenario small "$SMALL_FILES" "$SMALL_SIZE" "$SMALL_CONN"

# The small files again, over HTTPS from a second nginx with a local CA.
if [[ $SCENARIOS == *tls* ]]; then
    if [[ $SERVER == nginx ]] && have openssl; then
        [[ -d $S/ref/small ]] || make_data small "$SMALL_FILES" "$SMALL_SIZE"
        plain_base=$BASE
        start_nginx "$S/www" tls
        ln -sfn "$S/ref/small" "$S/ref/tls"
        sed "s#^$plain_base/#$BASE/#" "$S/small.list" >"$S/tls.list"
        sed 's/.*/url = "&"/' "$S/tls.list" >"$S/tls.curl"
        CA=$S/tls/ca.pem scenario tls "$SMALL_FILES" "$SMALL_SIZE" "$SMALL_CONN"
        BASE=$plain_base
    else
        say "tls: needs nginx and openssl; skipped"
    fi
fi
[[ $SCENARIOS == *large* ]] && scenario large "$LARGE_FILES" "$LARGE_SIZE" "$LARGE_CONN"

if [[ $SCENARIOS == *crawl* ]]; then
    crawlers=(miodl-crawl)
    [[ " ${tools[*]} " == *" aiohttp "* ]] && crawlers+=(aiohttp-crawl)
    for lag in $CRAWL_LAGS; do
        start_miodl_serve --lag "$lag" --files "$CRAWL_FILES"
        RESULTS=$S/results-crawl-$lag.txt
        : >"$RESULTS"
        for ((round = 1; round <= ROUNDS; round++)); do
            say "crawl, lag $lag s: round $round/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
            for tool in "${crawlers[@]}"; do
                tool_cmd "$tool" "$SERVE_URL" "$S/out" 0
                timed_run "$tool" "$S/out" "$MIODL" verify "$S/out" -- "${cmd[@]}"
            done
        done
        table "$CRAWL_FILES" "crawl: the seed's job, $CRAWL_FILES files, miodl serve --lag $lag" | tee -a "$OUT"
    done
fi

printf '\nLoad average (1, 5, 15 min) at the end: %s.\n' "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
say ""
say "tables written to $OUT"
