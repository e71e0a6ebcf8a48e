//! Reading one option value: a number, seconds, a path, `USER:PASS`, an engine.
//!
//! Each reader takes the value from the parser and checks it, and on a mistake
//! builds the one-line [`UsageError`] that names the option and quotes the value
//! (escaped, shortened; never the `--user` value). Kept apart from the per-command
//! loops in `cli.rs` so those read as a list of options.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use std::ffi::{OsStr, OsString};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::Parser;

use super::UsageError;
use crate::model::options::{Credentials, Engine, Rate, SpeedLimit};
use crate::model::resolve::Pin;

/// `invalid value for --NAME: 'VALUE' WHY`, the value escaped and shortened.
pub(super) fn invalid(name: &str, value: &str, why: &str) -> UsageError {
    UsageError(format!(
        "invalid value for {name}: {} {why}",
        shown(OsStr::new(value))
    ))
}

/// An argument quoted for an error line: escaped, lossy if not UTF-8, at most 64 chars.
pub(super) fn shown(value: &OsStr) -> String {
    const SHOWN: usize = 64;
    let text = value.to_string_lossy();
    let mut out: String = text.chars().take(SHOWN).collect::<String>();
    if text.chars().count() > SHOWN {
        out.push_str("...");
    }
    format!("'{}'", out.escape_debug())
}

pub(super) fn utf8(value: OsString, what: &str) -> Result<String, UsageError> {
    value
        .into_string()
        .map_err(|v| UsageError(format!("{what} {} is not valid UTF-8", shown(&v))))
}

pub(super) fn string(parser: &mut Parser, name: &str) -> Result<String, UsageError> {
    let value = parser.value()?;
    value
        .into_string()
        .map_err(|v| invalid(name, &v.to_string_lossy(), "is not valid UTF-8"))
}

pub(super) fn non_empty(parser: &mut Parser, name: &str) -> Result<String, UsageError> {
    let value = string(parser, name)?;
    if value.is_empty() {
        return Err(UsageError(format!("invalid value for {name}: it is empty")));
    }
    Ok(value)
}

/// A path may be any bytes the OS allows, but not empty.
pub(super) fn path(parser: &mut Parser, name: &str) -> Result<PathBuf, UsageError> {
    let value = parser.value()?;
    if value.is_empty() {
        return Err(UsageError(format!("invalid value for {name}: it is empty")));
    }
    Ok(PathBuf::from(value))
}

/// A whole number in `T`'s range: digits only, so `-1`, `1.5`, `1e3` and `0x10` are
/// refused, each with its own reason.
pub(super) fn whole<T: TryFrom<u64>>(parser: &mut Parser, name: &str) -> Result<T, UsageError> {
    let text = string(parser, name)?;
    if text.starts_with('-') && text.len() > 1 {
        return Err(invalid(name, &text, "is negative"));
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(name, &text, "is not a whole number"));
    }
    text.parse::<u64>()
        .ok()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| invalid(name, &text, "is too large"))
}

/// A whole number of at least 1.
pub(super) fn positive<T: TryFrom<u64>>(parser: &mut Parser, name: &str) -> Result<T, UsageError> {
    let n: u64 = whole(parser, name)?;
    if n == 0 {
        return Err(UsageError(format!(
            "invalid value for {name}: must be at least 1"
        )));
    }
    T::try_from(n).map_err(|_| invalid(name, &n.to_string(), "is too large"))
}

/// A limit where 0 means "no limit" (aiohttp's `limit=0` / `limit_per_host=0`).
pub(super) fn limit(parser: &mut Parser, name: &str) -> Result<Option<usize>, UsageError> {
    let n: usize = whole(parser, name)?;
    Ok((n != 0).then_some(n))
}

/// The longest `--retry-delay` accepted: one hour, in milliseconds. A longer first
/// backoff would park a download for longer than anyone waits (the backoff itself is
/// capped at a minute, see `crate::policy::retry::MAX_BACKOFF`).
pub(super) const MAX_RETRY_DELAY_MS: u64 = 3_600_000;

/// `--retry-delay MS`: a whole number of milliseconds, at most [`MAX_RETRY_DELAY_MS`].
pub(super) fn retry_delay(parser: &mut Parser) -> Result<Duration, UsageError> {
    let ms: u64 = whole(parser, "--retry-delay")?;
    if ms > MAX_RETRY_DELAY_MS {
        return Err(UsageError(format!(
            "invalid value for --retry-delay: '{ms}' is more than {MAX_RETRY_DELAY_MS} (1 hour)"
        )));
    }
    Ok(Duration::from_millis(ms))
}

/// Seconds as a plain decimal (`2`, `0.5`, `.3`): no sign, exponent, `inf` or `nan`.
pub(super) fn seconds(parser: &mut Parser, name: &str) -> Result<Duration, UsageError> {
    let text = string(parser, name)?;
    if text.starts_with('-') && text.len() > 1 {
        return Err(invalid(name, &text, "is negative"));
    }
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    let dots = text.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || digits + dots != text.len() || dots > 1 {
        return Err(invalid(name, &text, "is not a number of seconds"));
    }
    let secs: f64 = text
        .parse()
        .map_err(|_| invalid(name, &text, "is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| invalid(name, &text, "is too large"))
}

/// Like [`seconds`], but 0 would fail every request at once, so it is refused.
pub(super) fn timeout(parser: &mut Parser, name: &str) -> Result<Duration, UsageError> {
    let duration = seconds(parser, name)?;
    if duration.is_zero() {
        return Err(UsageError(format!(
            "invalid value for {name}: must be more than 0 seconds"
        )));
    }
    Ok(duration)
}

/// `--speed-limit BYTES` (at least 1), keeping the `--speed-time` given so far, or
/// curl's 30 s when none was.
pub(super) fn speed_limit(
    parser: &mut Parser,
    so_far: Option<SpeedLimit>,
) -> Result<SpeedLimit, UsageError> {
    Ok(SpeedLimit {
        bytes_per_second: positive(parser, "--speed-limit")?,
        window: so_far.map_or(SpeedLimit::DEFAULT_WINDOW, |s| s.window),
    })
}

/// `--speed-time SECS` (more than 0), keeping the `--speed-limit` given so far, or
/// curl's 1 byte a second when none was.
pub(super) fn speed_time(
    parser: &mut Parser,
    so_far: Option<SpeedLimit>,
) -> Result<SpeedLimit, UsageError> {
    Ok(SpeedLimit {
        bytes_per_second: so_far
            .map_or(SpeedLimit::DEFAULT_BYTES_PER_SECOND, |s| s.bytes_per_second),
        window: timeout(parser, "--speed-time")?,
    })
}

/// `-H 'Name: value'`: checked by the protocol's rule. No error quotes the value (it may
/// be a secret), only the header's name.
pub(super) fn header(parser: &mut Parser) -> Result<(String, String), UsageError> {
    let value = parser.value()?;
    let Ok(text) = value.into_string() else {
        return Err(UsageError::new(
            "invalid value for --header: it is not valid UTF-8",
        ));
    };
    match crate::protocol::http::parse_header(&text) {
        Ok((name, value)) => Ok((name.to_string(), value.to_string())),
        Err(e) => Err(UsageError(format!("invalid value for --header: {e}"))),
    }
}

/// `-A STRING`: the `User-Agent`, checked as `-H 'User-Agent: STRING'` would be.
pub(super) fn user_agent(parser: &mut Parser) -> Result<(String, String), UsageError> {
    let text = string(parser, "--user-agent")?;
    if text.bytes().any(|b| b != b'\t' && b.is_ascii_control()) {
        return Err(UsageError::new(
            "invalid value for --user-agent: it holds a control character (CR, LF, NUL, ...)",
        ));
    }
    Ok((
        "User-Agent".to_string(),
        text.trim_matches([' ', '\t']).to_string(),
    ))
}

/// `USER:PASS`, split at the first `:`. No error quotes the value.
pub(super) fn credentials(parser: &mut Parser) -> Result<Credentials, UsageError> {
    let value = parser.value()?;
    let Ok(text) = value.into_string() else {
        return Err(UsageError::new(
            "invalid value for --user: it is not valid UTF-8",
        ));
    };
    let Some((user, password)) = text.split_once(':') else {
        return Err(UsageError::new(
            "invalid value for --user: expected USER:PASS, found no ':'",
        ));
    };
    Ok(Credentials {
        user: user.to_string(),
        password: password.to_string(),
    })
}

pub(super) fn engine(parser: &mut Parser) -> Result<Engine, UsageError> {
    let text = string(parser, "--engine")?;
    match text.as_str() {
        "reactor" => Ok(Engine::Reactor),
        "blocking" => Ok(Engine::Blocking),
        "threads" => Ok(Engine::Threads),
        _ => Err(invalid(
            "--engine",
            &text,
            "is not one of reactor, blocking, threads",
        )),
    }
}

/// `--item-url` must name the id or the URL, or every item would fetch the same URL.
pub(super) fn item_url(parser: &mut Parser) -> Result<String, UsageError> {
    let text = string(parser, "--item-url")?;
    if !text.contains("{id}") && !text.contains("{url}") {
        return Err(invalid(
            "--item-url",
            &text,
            "contains neither {id} nor {url}",
        ));
    }
    Ok(text)
}

/// `--pages STYLE`.
pub(super) fn pages(parser: &mut Parser) -> Result<crate::protocol::pager::Style, UsageError> {
    let text = string(parser, "--pages")?;
    crate::protocol::pager::Style::parse(&text).map_err(|e| invalid("--pages", &text, &e.0))
}

/// `--items POINTER`, `--item POINTER`: JSON Pointers.
pub(super) fn pointer(parser: &mut Parser, name: &str) -> Result<String, UsageError> {
    let text = string(parser, name)?;
    crate::protocol::pager::check_pointer(&text)
        .map_err(|e| UsageError(format!("invalid value for {name}: {}", e.0)))
}

/// `--page-size PARAM=N`.
pub(super) fn page_size(parser: &mut Parser) -> Result<(String, u32), UsageError> {
    let text = string(parser, "--page-size")?;
    let parsed = text.split_once('=').and_then(|(param, n)| {
        let n: u32 = n.parse().ok().filter(|&n| n > 0)?;
        let param = crate::protocol::pager::check_param(param).ok()?;
        Some((param, n))
    });
    parsed.ok_or_else(|| {
        invalid(
            "--page-size",
            &text,
            "expected PARAM=N with N >= 1, e.g. per_page=100",
        )
    })
}

/// `--shard I/N`: 0 ≤ I < N.
pub(super) fn shard(parser: &mut Parser) -> Result<crate::model::shard::Shard, UsageError> {
    let value = string(parser, "--shard")?;
    let parsed = value.split_once('/').and_then(|(i, n)| {
        let index: u64 = i.parse().ok()?;
        let count: u64 = n.parse().ok()?;
        (index < count).then_some(crate::model::shard::Shard { index, count })
    });
    parsed.ok_or_else(|| invalid("--shard", &value, "expected I/N with 0 <= I < N, e.g. 0/4"))
}

/// `--resolve HOST:PORT:ADDR[,ADDR...]`, as curl spells it: an IPv6 ADDR in brackets
/// (`[::1]`; bare is taken too, the commas being the only separator).
pub(super) fn resolve_pin(parser: &mut Parser) -> Result<Pin, UsageError> {
    const NAME: &str = "--resolve";
    let value = string(parser, NAME)?;
    let shape = || invalid(NAME, &value, "expected HOST:PORT:ADDR[,ADDR...]");
    let (host, rest) = value.split_once(':').ok_or_else(shape)?;
    let (port, addrs) = rest.split_once(':').ok_or_else(shape)?;
    if host.is_empty() || host.starts_with('[') || addrs.is_empty() {
        return Err(shape());
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| invalid(NAME, &value, "has a port that is not 1-65535"))?;
    let addrs = addrs
        .split(',')
        .map(|addr| {
            let bare = addr
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .unwrap_or(addr);
            bare.parse::<IpAddr>().map_err(|_| {
                let why = format!("has {} that is not an IP address", shown(OsStr::new(addr)));
                invalid(NAME, &value, &why)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let host = if host.is_ascii() {
        host.to_ascii_lowercase()
    } else {
        // As a URL keeps it: `bücher.example` is pinned as `xn--bcher-kva.example`.
        crate::protocol::url::international_host(host)
            .ok_or_else(|| invalid(NAME, &value, "has a host name IDNA refuses"))?
    };
    Ok(Pin { host, port, addrs })
}

/// `--rate N/U`, `--per-host-rate N/U` (curl's form): N requests per second, minute,
/// hour or day. A bare number is refused: curl reads it as per hour, a reader may
/// think per second.
pub(super) fn rate(parser: &mut Parser, name: &str) -> Result<Rate, UsageError> {
    let text = string(parser, name)?;
    let Some((count, unit)) = text.split_once('/') else {
        return Err(invalid(
            name,
            &text,
            "has no unit: give N/s, N/m, N/h or N/d (curl reads a bare number as per hour)",
        ));
    };
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(invalid(name, &text, "has a unit that is not s, m, h or d")),
    };
    let count: u32 = match count.parse() {
        Ok(n) if n > 0 && count.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(invalid(
                name,
                &text,
                "does not start with a whole number of at least 1",
            ))
        }
    };
    Ok(Rate {
        count,
        per: Duration::from_secs(per),
    })
}

/// `--limit-rate BYTES`: bytes a second, a whole number with curl's suffixes `k`/`K`,
/// `m`/`M`, `g`/`G` (powers of 1024); at least 1.
pub(super) fn limit_rate(parser: &mut Parser) -> Result<u64, UsageError> {
    const NAME: &str = "--limit-rate";
    let text = string(parser, NAME)?;
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 10),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 20),
        Some(b'g' | b'G') => (&text[..text.len() - 1], 30),
        _ => (&text[..], 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            NAME,
            &text,
            "is not bytes a second: a whole number, with k, M or G for 1024, 1024² or 1024³ (200k, 2M)",
        ));
    }
    let n = (digits.parse::<u64>().ok())
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| invalid(NAME, &text, "is too large"))?;
    if n == 0 {
        return Err(invalid(NAME, &text, "must be at least 1 byte a second"));
    }
    Ok(n)
}
