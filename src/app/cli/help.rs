//! The hand-written `--help` texts, one per command.
//!
//! Written for a user, not generated: what the command is for, its usage
//! line, every option with its default, and an example or two, in 80 columns.
//! They live apart from the parser so each reads as a page; keep them in step
//! with `cli.rs` and docs/reference.md §3.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

/// The options `get` and `crawl` share, one literal that `concat!` can splice.
macro_rules! transfer_options {
    () => {
        "\
Output:
  -o, --output-dir DIR    where files go; created if missing
                          [default: results/<unix-seconds>]
  -q, --quiet             no progress display
                          [default: progress on stderr when it is a terminal]
      --json              print one JSON summary object on stdout at the end
      --events            print one JSON line on stdout per finished file
      --trace FILE        write a Chrome trace-event JSON of the run
                          (draw it with 'miodl timeline')
  -J, --remote-header-name
                          name each file as its answer's Content-Disposition
                          says (filename*, else filename), made a safe plain
                          name; the URL's name (get) or the id (crawl) when
                          it has none
      --skip-existing     do not request a file an earlier --skip-existing
                          run saved for the same URL (get) or id (crawl):
                          its record is .miodl-saved in the output directory
                          [default: a file already there under the same
                          name is replaced once the new one is complete]
  -C, --continue          keep a cut body (a failure, SIGINT, SIGTERM, even
                          SIGKILL) in a hidden .NAME.miodl-part in the output
                          directory, and resume the parts an earlier run left
                          with Range + If-Range; the one exception to 'no
                          partial file is left'; only identity-encoded bodies
                          with a strong ETag or a Last-Modified are kept
                          [default: a cut body leaves nothing]
  -v, --verbose           print request ('> ') and response ('< ') heads on
                          stderr; Authorization, Cookie and proxy credentials
                          are shown as [redacted]
      --failed FILE       write the URLs of the files that failed, one a
                          line, for a later 'miodl get -i FILE' (FILE is
                          replaced whole at the end of the run)

Limits:
  -c, --connections N     at most N open sockets, reused with keep-alive;
                          0 = unlimited [default: 100]
      --per-host N        at most N sockets to one host; 0 = no extra limit
                          [default: no extra limit]
      --max-in-flight M   at most M requests in flight, whatever the pool;
                          0 = no limit [default: no limit]
      --rate N/U          send at most N requests per U (s, m, h or d: 10/s,
                          600/m), all hosts together; every request counts
                          (pages, retries, resends) [default: no limit]
      --per-host-rate N/U at most N requests per U to one host (scheme, host,
                          port); other hosts go on meanwhile
                          [default: no limit]
      --limit-rate BYTES  receive at most BYTES a second, all sockets together
                          (k, M, G: 1024, 1024², 1024³, as curl: 200k, 2M)
                          [default: no limit]
      --no-keepalive      send 'Connection: close': one socket per request
      --engine ENGINE     reactor: the mio event loop, one thread (and disk
                          threads for large bodies: --disk-threads)
                          blocking: one request after another
                          threads: N blocking worker threads
                          [default: reactor]
      --pipeline N        send up to N GET requests on a socket before their
                          answers (HTTP/1.1 pipelining; reactor only; for
                          servers known to handle it) [default: 1 = off]
      --disk-threads N    the reactor lends a large body (256 KiB or more,
                          plain HTTP, Linux) and its socket to one of up to N
                          threads that write it to disk; 0 = the reactor
                          thread writes it [default: CPUs, at most 4]

Failures:
      --retries N         extra tries after a retryable failure [default: 3];
                          a 429 or 503 with Retry-After pauses its whole host
                          and is tried again then without using one (up to 10)
      --retry-delay MS    first backoff in milliseconds (at most 3600000 =
                          1 hour), doubling each try, with jitter;
                          Retry-After wins [default: 200]
      --connect-timeout SECS
                          give up connecting after SECS [default: 10]
      --timeout SECS      give up when no byte arrives for SECS [default: 30]
                          (seconds may have decimals: 0.5)
      --max-time SECS     fail a try that takes longer than SECS, from its
                          socket (connect included) to its last byte
                          [default: none]
      --speed-limit BYTES
                          fail a try slower than BYTES/s on average over a
                          window of --speed-time (which, given alone, sets
                          this to 1) [default: none]
      --speed-time SECS   the window --speed-limit is averaged over (given
                          alone, that uses 30) [default: none]
      --max-redirects N   follow up to N redirects [default: 10]
      --max-filesize BYTES
                          fail a body larger than BYTES [default: no limit]

Sharding:
      --shard I/N         fetch only part I of N (I from 0): a stable split by
                          URL (get) or id (crawl), so N machines share one job

Authentication:
  -u, --user USER:PASS    HTTP Basic auth, sent only to the scheme, host and
                          port of the URLs given on the command line, never to
                          one a redirect leads to; never printed

Headers:
  -H, --header 'Name: value'
                          add a header to every request (repeatable); it
                          replaces miodl's own of that name (User-Agent,
                          Accept); an empty value ('X-Foo:') sends none of
                          that name; Host, Content-Length, Transfer-Encoding
                          and Connection are refused; Authorization and
                          Cookie go only where -u would [default: none]
  -A, --user-agent STRING the User-Agent to send [default: miodl/VERSION]
      --compressed        ask for gzip or deflate (Accept-Encoding) and save
                          bodies decoded; --max-filesize counts decoded bytes;
                          another Content-Encoding is saved as it came
                          [default: bodies saved as sent, nothing asked]

TLS (https:// URLs):
      --cacert FILE       also trust the certificates in FILE (PEM), e.g. the
                          one 'miodl serve --tls' prints, beside the system's
                          store (SSL_CERT_FILE, SSL_CERT_DIR, or the
                          distribution's bundle) [default: the built-in
                          Mozilla roots and the system's store]
      --insecure          do not verify certificates (says so on stderr)

Names:
      --resolve HOST:PORT:ADDR[,ADDR...]
                          use these addresses for HOST:PORT, no lookup
                          (repeatable; an IPv6 ADDR in brackets: [::1])
  -4, --ipv4              connect to IPv4 addresses only
  -6, --ipv6              connect to IPv6 addresses only

Proxies:
  -x, --proxy URL         send every request through this HTTP proxy,
                          http://[USER:PASS@]HOST[:PORT] (port 1080 if none):
                          http:// URLs in absolute form, https:// through
                          CONNECT; other proxy schemes are refused [default:
                          http_proxy, https_proxy / HTTPS_PROXY, all_proxy /
                          ALL_PROXY]
      --noproxy LIST      hosts that never go through the proxy: names, domain
                          suffixes, addresses, comma-separated; '*' for all
                          [default: no_proxy / NO_PROXY]
"
    };
}

/// `miodl --help`.
pub const HELP: &str = "\
miodl: an HTTP/1.1 downloader on a hand-written, single-threaded mio event loop.

Usage: miodl <COMMAND> [OPTIONS]

Commands:
  get [URL...] [-i FILE]  download each URL into the output directory
  crawl LIST_URL          page through a list API, download each id it lists
  serve                   run the reference list/download server
  verify DIR              check a crawl's output: '1 of N' .. 'N of N' once each
  demo                    crawl an in-process server with every engine and
                          limit, and print the comparison
  timeline TRACE          draw a --trace file as an SVG timeline

Options:
  -h, --help              print this help ('miodl help COMMAND' for a command)
  -V, --version           print the version

Examples:
  miodl demo
  miodl serve --lag 0.3 &
  miodl crawl http://127.0.0.1:5000/api/list_files -c 10 -o out
  miodl verify out

Exit status: 0 everything downloaded, 1 some file failed, 2 usage error,
3 could not write output, 130/143 stopped by SIGINT/SIGTERM.
";

/// `miodl get --help`.
pub const GET_HELP: &str = concat!(
    "\
miodl get: download each URL into the output directory.

Usage: miodl get [OPTIONS] [URL...] [-i FILE]

Each file is saved under the last path segment of its URL (index.html when
empty), made safe for the file system. When two URLs map to one name, the later
ones are saved as NAME.1, NAME.2, ... A file appears under its name only when
it is complete. http:// and https:// URLs (see --cacert, --insecure); any
other scheme is a usage error.

Input:
  URL...                  the URLs to download
  -i, --input-file FILE   read URLs from FILE, one per line ('-' = stdin);
                          blank lines and '#' comments are skipped; repeatable

",
    transfer_options!(),
    "
Examples:
  miodl get http://127.0.0.1:5000/api/download/abc -o out
  miodl get -i urls.txt -c 10 --max-in-flight 4 --json
"
);

/// `miodl crawl --help`.
pub const CRAWL_HELP: &str = concat!(
    "\
miodl crawl: page through a list API and download every item it hands out.

Usage: miodl crawl [OPTIONS] LIST_URL

By default (--pages more) asks LIST_URL (POST, form 'start=S&per_page=P') for
page after page of ids while its 'More' header says True, and saves each id's
download as <output-dir>/<id>. Other APIs page by GET (--pages, below). The
pager and the downloads share one connection pool; the pager goes first when a
slot frees.

Paging:
  LIST_URL                the list API, e.g.
                          http://127.0.0.1:5000/api/list_files
      --pages STYLE       how the list pages [default: more]:
                          more: POST start/per_page, header More;
                          link: GET, follow Link: <URL>; rel=\"next\";
                          next=POINTER: GET the URL at a JSON Pointer
                          in the body (e.g. next=/next);
                          cursor=POINTER,PARAM: GET LIST_URL with PARAM
                          set to the cursor at POINTER;
                          number=PARAM: GET with PARAM=1, 2, 3, ...;
                          offset=PARAM: GET with PARAM=0, n, 2n, ...;
                          number and offset end at an empty page
      --per-page N        ids asked for per page (more) [default: 5]
                          (the reference server caps it at 5)
      --start N           the first index asked for (more) [default: 0]
      --page-size PARAM=N add PARAM=N to every page request (GET styles)
      --lookahead K       pages asked for ahead of the answers (more,
                          number, offset, and link when rel=\"last\" and
                          rel=\"next\" differ in one number; next and
                          cursor are chained: one page at a time
                          whatever K is); 0 = one page at a time
                          [default: 0]
      --items POINTER     where a page's array of items is, a JSON Pointer
                          (GET styles; default: the page itself)
      --item POINTER      the id or URL inside each item, when items are
                          objects (GET styles; default: the item itself)
      --item-url TEMPLATE the download URL of an item: {origin}, {id}
                          (percent-encoded) or {url} (the item as a URL
                          resolved against its page) are replaced
                          [default: {origin}/api/download/{id}]
                          ({url} for the GET styles)
      --max-pages N       ask at most N pages, then end normally (said on
                          stderr); 3 pages in a row without a new id, or a
                          next page read before, end the crawl with an
                          error

",
    transfer_options!(),
    "
Examples:
  miodl crawl http://127.0.0.1:5000/api/list_files -o out
  miodl crawl http://127.0.0.1:5000/api/list_files -c 0 --max-in-flight 10 \\
      --lookahead 2 --json
  miodl crawl 'https://api.example.com/items?per_page=100' --pages link \\
      --item /url
  miodl crawl https://api.example.com/items/ --pages next=/next \\
      --items /results --item /download_url
"
);

/// `miodl serve --help`: the options, then the fault syntax of `crate::serve`, which
/// parses the raw `--fault` values.
pub const SERVE_HELP: &str = concat!(
    "\
miodl serve: run the reference list/download server.

Usage: miodl serve [OPTIONS]

Serves N items: POST /api/list_files (form start=S&per_page=P, at most 5 per
page, header 'More: True|False'), GET /api/list_files (every item), and
GET /api/download/<id> ('n of N'). Prints 'listening on http://HOST:PORT' as
its first line on stdout, then runs until SIGINT or SIGTERM. With --tls it
prints 'listening on https://HOST:PORT' and then 'certificate: PATH', the
self-signed certificate made at start, for a client's --cacert PATH.

Options:
      --host HOST         address to listen on [default: 127.0.0.1]
      --port PORT         port to listen on; 0 picks a free port [default: 5000]
      --files N           number of items [default: 25]
      --lag SECS          delay before every response, decimals allowed
                          [default: 0]
      --seed N            makes the ids and the faults reproducible [default: 0]
      --fault PLAN        misbehave on purpose; repeatable (see below)
      --pages STYLE       page GET /api/list_files as link, next, cursor,
                          number or offset (items {\"id\", \"url\"}, at most 5
                          a page) [default: more]
      --page-cap N        the most items a GET page holds (per_page or
                          limit asks for fewer) [default: 5]
      --no-ranges         answer every Range request to /bytes/<n> with the
                          whole body (200) [default: Range: bytes=N- gets a
                          206, or a 416 past the end]
      --etag-salt WORD    put WORD in every ETag (\"<n>-WORD\"), so a server
                          started with another word serves changed bodies
                          [default: ETag \"<n>\"]
      --rate-limit N/U    a quota like a real API's: N requests at once, then
                          N per U (s, m, h or d) refilling; past it, 429
                          with Retry-After [default: no quota]
      --require-auth VALUE
                          answer 401 to every request whose Authorization
                          is not exactly VALUE, e.g. 'Bearer t0ken'
                          [default: none asked]
      --tls               serve HTTPS with a fresh self-signed certificate

",
    crate::serve::fault_help!(),
    "

Examples:
  miodl serve --port 0 --lag 0.3
  miodl serve --port 0 --tls
  miodl serve --fault 503:0.2 --fault reset-body:0.1=/api/download/ --seed 7
"
);

/// `miodl verify --help`.
pub const VERIFY_HELP: &str = "\
miodl verify: check a crawl's output directory.

Usage: miodl verify DIR

Every file in DIR must read 'x of N', with one N for all and x = 1..N each
exactly once, and nothing else may be there. Prints 'ok: N files' and exits 0,
or names each problem and exits 1.

Example:
  miodl crawl http://127.0.0.1:5000/api/list_files -o out && miodl verify out
";

/// `miodl demo --help`.
pub const DEMO_HELP: &str = "\
miodl demo: the seed's comparison, on one machine, in well under a minute.

Usage: miodl demo [OPTIONS]

Starts the reference server in this process on a free loopback port, crawls it
with each engine and each limit strategy (connector -c, semaphore
--max-in-flight, keep-alive or not, lookahead), verifies every run, and prints
one table: wall time, requests, sockets opened, the verify result, and the
lower bound a perfect client could reach.

Options:
      --files N           number of items the server hands out [default: 25]
      --lag SECS          server delay per response, decimals allowed
                          [default: 0.3]
  -q, --quiet             no progress display
      --json              print the results as JSON on stdout, not a table
      --tls               crawl over HTTPS (a self-signed certificate made at
                          start) and count the TLS handshakes of each row

Example:
  miodl demo --files 100 --lag 0.1
";

/// `miodl timeline --help`.
pub const TIMELINE_HELP: &str = "\
miodl timeline: draw a --trace file as an SVG timeline.

Usage: miodl timeline [OPTIONS] TRACE

One row per connection slot, one bar per request phase, so the effect of a
limit shows at a glance.

Options:
  -o, --output FILE       the SVG to write
                          [default: TRACE with its extension replaced by .svg]

Example:
  miodl crawl http://127.0.0.1:5000/api/list_files --trace run.json
  miodl timeline run.json -o run.svg
";
