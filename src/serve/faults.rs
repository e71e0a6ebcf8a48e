//! Fault injection: the reference server misbehaving on purpose, reproducibly.
//!
//! A downloader's retry logic is only as good as the failures it has met. `miodl serve
//! --fault PLAN` makes the server fail in the ways real servers and networks do, and makes
//! it fail *the same way every run*: whether request number `nth` of a given target gets a
//! fault is a pure function of `(seed, entry, kind, target, nth)`, never of timing or of
//! how requests from different connections interleave.
//!
//! ```text
//!   parsed request ──► identity "METHOD target[?form body]" ──► nth = times seen before
//!                                    │
//!        for each entry in the order given: target has PREFIX? nth < FIRST? dice(...) < RATE?
//!                                    │ first entry that says yes wins
//!                     Some(FaultKind) ┴ None ──► the normal response
//! ```
//!
//! The syntax is in [`FAULT_HELP`]; `miodl serve --help` prints it.
//!
//! A kind is one row of the `fault_kinds!` table below: its doc, its variant, its
//! name and its help line(s). The table makes [`FaultKind`], [`FaultKind::ALL`],
//! [`FaultKind::name`] and the Kinds part of [`FAULT_HELP`]; what the kind does is its
//! arm in `response::misbehave`.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use std::fmt;
use std::str::FromStr;

use super::catalog::mix64;

/// Makes the kinds from one table. Each row is `/// doc`, `Variant = "name"`, then its
/// help lines (each a whole line, indented as printed), or none when an earlier row's
/// line names it too (`503, 429`). The help text is a macro, `fault_help!`, so the
/// command line can splice it into its own literals with `concat!`.
macro_rules! fault_kinds {
    ($( $(#[$doc:meta])* $kind:ident = $name:literal $(, $help:literal)* ; )*) => {
        /// One way for the server to misbehave. Each variant's doc says what the client sees.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FaultKind {
            $( $(#[$doc])* $kind, )*
        }

        impl FaultKind {
            /// Every kind, in the order [`FAULT_HELP`] lists them.
            pub const ALL: [FaultKind; [$($name),*].len()] = [$(FaultKind::$kind),*];

            /// The name used in a fault plan.
            pub fn name(self) -> &'static str {
                match self {
                    $( FaultKind::$kind => $name, )*
                }
            }
        }

        /// The `--fault` syntax as one literal, so `miodl serve --help` can splice it
        /// with `concat!` (the command line's help texts) and [`FAULT_HELP`] can name it.
        macro_rules! fault_help {
            () => {
                concat!(
                    "\
Faults (--fault PLAN): a comma-separated list of KIND[:RATE][@FIRST][=PREFIX]
  KIND    what goes wrong (below)
  RATE    the chance, 0..1 or a percentage like 25%, that a matching request
          gets the fault [default: 1]
  FIRST   only the first FIRST requests of each target can get it: 503@1
          fails every first attempt and lets the retry succeed
  PREFIX  only request targets starting with PREFIX, e.g. =/api/download/
  A target is the method, the path and (for a POST) the form body, so every
  page and every download counts its own attempts. The first entry that fires
  wins. The dice are seeded by --seed: the same seed and requests give the
  same faults, whatever the timing. Every fault comes after the lag.
Kinds:"
                    $($(, "\n", $help)*)*
                )
            };
        }
    };
}

fault_kinds! {
    /// `reset-head`: the connection is reset (RST) before any response byte.
    ResetHead = "reset-head",
        "  reset-head         RST before any response byte (SO_LINGER 0, close)";
    /// `reset-mid-head`: half the response head arrives, then a reset.
    ResetMidHead = "reset-mid-head",
        "  reset-mid-head     half the response head, then RST";
    /// `eof-head`: half the response head arrives, then an orderly close (FIN).
    EofHead = "eof-head",
        "  eof-head           half the response head, then FIN";
    /// `reset-body`: the head and half the body arrive, then a reset.
    ResetBody = "reset-body",
        "  reset-body         head and half the body, then RST";
    /// `eof-body`: the head and half the body arrive, then an orderly close (FIN).
    EofBody = "eof-body",
        "  eof-body           head and half the body, then FIN";
    /// `close-idle`: a complete response that advertises keep-alive, then the server
    /// closes the socket at once, so the client's next request on it meets a dead socket.
    CloseIdle = "close-idle",
        "  close-idle         a whole response advertising keep-alive, then close at",
        "                     once: the next request on that socket finds it dead";
    /// `503`: `503 Service Unavailable` with `Retry-After: 1`.
    Status503 = "503",
        "  503, 429           that status with 'Retry-After: 1'";
    /// `503-date`: `503` with `Retry-After` as an HTTP-date one second in the future.
    Status503Date = "503-date",
        "  503-date, 429-date that status with Retry-After as an HTTP-date 1 s ahead";
    /// `429`: `429 Too Many Requests` with `Retry-After: 1`.
    Status429 = "429";
    /// `429-date`: `429` with `Retry-After` as an HTTP-date one second in the future.
    Status429Date = "429-date";
    /// `500`: `500 Internal Server Error`.
    Status500 = "500",
        "  500, 502, 504      that status, no Retry-After";
    /// `502`: `502 Bad Gateway`.
    Status502 = "502";
    /// `504`: `504 Gateway Timeout`.
    Status504 = "504";
    /// `stall`: nothing at all is sent; the socket stays open until the client closes it.
    Stall = "stall",
        "  stall              send nothing, ever (until the client gives up)";
    /// `stall-body`: the head and half the body, then nothing, until the client closes.
    StallBody = "stall-body",
        "  stall-body         head and half the body, then nothing";
    /// `truncated-chunked`: a chunked body missing its last chunk, then FIN.
    TruncatedChunked = "truncated-chunked",
        "  truncated-chunked  chunked body cut before the last chunk, then FIN";
    /// `garbage`: bytes that are not an HTTP status line, then FIN.
    Garbage = "garbage",
        "  garbage            bytes that are not a status line, then FIN";
    /// `huge-head`: a 2 MiB header line before the normal body, then FIN.
    HugeHead = "huge-head",
        "  huge-head          the right response behind a 2 MiB header, then FIN";
    /// `short-body`: `Content-Length` promises more bytes than are sent, then FIN.
    ShortBody = "short-body",
        "  short-body         Content-Length larger than the body, then FIN";
    /// `long-body`: more bytes than `Content-Length` announced, then FIN.
    LongBody = "long-body",
        "  long-body          more bytes than Content-Length, then FIN";
    /// `endless-chunked`: a chunked body that never ends; the server writes as fast as
    /// the client reads (paced by the socket's send buffer).
    EndlessChunked = "endless-chunked",
        "  endless-chunked    chunks forever, as fast as the client reads";
    /// `redirect-loop`: `302 Found` whose `Location` is the request's own target.
    RedirectLoop = "redirect-loop",
        "  redirect-loop      302 to the same target";
}
pub(crate) use fault_help;

/// The `--fault` syntax, printed by `miodl serve --help`.
pub const FAULT_HELP: &str = fault_help!();

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = FaultParseError;

    /// Accepts the names of [`FAULT_HELP`]; status kinds also as `status-503` etc.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bare = s.strip_prefix("status-").unwrap_or(s);
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == bare)
            .ok_or_else(|| FaultParseError::UnknownKind(s.to_string()))
    }
}

/// Why a fault plan did not parse. Each variant keeps the offending token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultParseError {
    /// An entry between commas was empty (`503,,stall`).
    EmptyEntry,
    /// The kind is not one of [`FAULT_HELP`]'s names.
    UnknownKind(String),
    /// The RATE is not a number in 0..1 (or a percentage in 0..100%).
    BadRate(String),
    /// The FIRST count is not a positive integer.
    BadFirst(String),
}

impl fmt::Display for FaultParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultParseError::EmptyEntry => write!(f, "empty fault entry (two commas in a row?)"),
            FaultParseError::UnknownKind(k) => {
                write!(f, "unknown fault kind '{k}' (see `miodl serve --help`)")
            }
            FaultParseError::BadRate(r) => {
                write!(
                    f,
                    "bad fault rate '{r}': expected a number in 0..1 or a percentage"
                )
            }
            FaultParseError::BadFirst(n) => {
                write!(f, "bad fault count '@{n}': expected a positive integer")
            }
        }
    }
}

impl std::error::Error for FaultParseError {}

/// One `KIND[:RATE][@FIRST][=PREFIX]` entry of a fault plan.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// What goes wrong.
    pub kind: FaultKind,
    /// Probability in 0..=1 that a matching request gets the fault.
    pub rate: f64,
    /// Only requests `nth < first` of each target can get it; `None` = any.
    pub first: Option<u64>,
    /// Only targets whose path starts with this; `None` = every target.
    pub prefix: Option<String>,
}

/// A parsed fault plan: rules tried in order. The default plan injects nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    /// The rules, in the order given; the first that fires wins.
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// A plan that never injects a fault.
    pub fn none() -> FaultPlan {
        FaultPlan::default()
    }

    /// Parses a fault plan such as `503:1@1,reset-body:0.2=/api/download/`. An empty string is
    /// the empty plan.
    pub fn parse(spec: &str) -> Result<FaultPlan, FaultParseError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Ok(FaultPlan::none());
        }
        let rules = spec
            .split(',')
            .map(|entry| parse_rule(entry.trim()))
            .collect::<Result<_, _>>()?;
        Ok(FaultPlan { rules })
    }

    /// True when the plan has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The fault, if any, for the `nth` request (0-based) the server has seen with this
    /// `target` (the request identity: `"METHOD path"`, plus `"?body"` for a form body).
    /// Deterministic in all its inputs.
    pub fn decide(&self, seed: u64, target: &str, nth: u64) -> Option<FaultKind> {
        let path = target.split_once(' ').map_or(target, |(_, p)| p);
        self.rules.iter().enumerate().find_map(|(index, rule)| {
            let applies = rule.first.is_none_or(|first| nth < first)
                && rule.prefix.as_deref().is_none_or(|p| path.starts_with(p))
                && dice(seed, index, rule.kind, target, nth) < rule.rate;
            applies.then_some(rule.kind)
        })
    }
}

impl FromStr for FaultPlan {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultPlan::parse(s)
    }
}

fn parse_rule(entry: &str) -> Result<FaultRule, FaultParseError> {
    if entry.is_empty() {
        return Err(FaultParseError::EmptyEntry);
    }
    // Peel the optional parts off from the right: =PREFIX, then @FIRST, then :RATE.
    let (rest, prefix) = match entry.split_once('=') {
        Some((rest, prefix)) => (rest, Some(prefix.to_string())),
        None => (entry, None),
    };
    let (rest, first) = match rest.split_once('@') {
        Some((rest, n)) => match n.parse::<u64>() {
            Ok(n) if n > 0 => (rest, Some(n)),
            _ => return Err(FaultParseError::BadFirst(n.to_string())),
        },
        None => (rest, None),
    };
    let (kind, rate) = match rest.split_once(':') {
        Some((kind, rate)) => (kind, parse_rate(rate)?),
        None => (rest, 1.0),
    };
    Ok(FaultRule {
        kind: kind.parse()?,
        rate,
        first,
        prefix,
    })
}

fn parse_rate(text: &str) -> Result<f64, FaultParseError> {
    let bad = || FaultParseError::BadRate(text.to_string());
    let value = match text.strip_suffix('%') {
        Some(pct) => pct.parse::<f64>().map_err(|_| bad())? / 100.0,
        None => text.parse::<f64>().map_err(|_| bad())?,
    };
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(bad())
    }
}

/// A uniform number in [0, 1) from the decision's inputs (FNV-1a, then splitmix mixing).
fn dice(seed: u64, index: usize, kind: FaultKind, target: &str, nth: u64) -> f64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in kind.name().bytes().chain([0]).chain(target.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let z = mix64(mix64(mix64(h) ^ seed) ^ mix64(nth ^ ((index as u64) << 48)));
    (z >> 11) as f64 / (1u64 << 53) as f64
}
