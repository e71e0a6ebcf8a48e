//! `-x` and `--noproxy`, and the proxy variables of the environment, read as curl reads
//! them: `-x` beats the variables, `--noproxy` beats `no_proxy`.
//!
//! ```text
//!   http://  URLs: -x, else http_proxy (lowercase only, as curl: a CGI program gets
//!                  the request's Proxy header as HTTP_PROXY), else all_proxy / ALL_PROXY
//!   https:// URLs: -x, else https_proxy / HTTPS_PROXY, else all_proxy / ALL_PROXY
//!   bypass:        --noproxy, else no_proxy / NO_PROXY      (lowercase first; empty = unset)
//! ```
//!
//! A proxy value miodl cannot use (`socks5://…`, `https://…`, a bad host) is a usage error
//! whether it came from `-x` or a variable, and the message never shows its credentials.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use lexopt::Parser;

use super::UsageError;
use crate::model::options::TransferOptions;
use crate::protocol::proxy::{NoProxy, Proxy};

/// Which of `-x` and `--noproxy` the command line gave (so the environment fills the rest).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Given {
    proxy: bool,
    noproxy: bool,
}

impl Given {
    /// The transfer option `long` was given.
    pub(super) fn note(&mut self, long: &str) {
        match long {
            "proxy" => self.proxy = true,
            "noproxy" => self.noproxy = true,
            _ => {}
        }
    }
}

/// The process's environment variable `name`; none in this crate's unit tests, so a
/// machine's proxy settings cannot change what they parse.
pub(super) fn var(name: &str) -> Option<String> {
    if cfg!(test) {
        return None;
    }
    std::env::var(name).ok()
}

/// `-x URL`: the proxy for every URL; `-x ''` none, whatever the variables say (curl's
/// way to turn them off).
pub(super) fn proxy(parser: &mut Parser, t: &mut TransferOptions) -> Result<(), UsageError> {
    let value = parser.value()?;
    let Some(text) = value.to_str() else {
        return Err(UsageError::new(
            "invalid value for --proxy: not valid UTF-8",
        ));
    };
    if text.is_empty() {
        (t.proxy.http, t.proxy.https) = (None, None);
        return Ok(());
    }
    let proxy = Proxy::parse(text)
        .map_err(|e| UsageError::new(format!("invalid value for --proxy: {e}")))?;
    t.proxy.http = Some(proxy.clone());
    t.proxy.https = Some(proxy);
    Ok(())
}

/// `--noproxy LIST`.
pub(super) fn noproxy(parser: &mut Parser, t: &mut TransferOptions) -> Result<(), UsageError> {
    let value = parser.value()?;
    let Some(text) = value.to_str() else {
        return Err(UsageError::new(
            "invalid value for --noproxy: not valid UTF-8",
        ));
    };
    t.proxy.no_proxy = NoProxy::parse(text);
    Ok(())
}

/// Fills what the command line did not give from the environment `var` (a name to its
/// value), as the module docs say.
pub(super) fn apply_env(
    t: &mut TransferOptions,
    given: Given,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(), UsageError> {
    // The first of the names that is set and not empty.
    let first = |names: &[&'static str]| {
        names
            .iter()
            .find_map(|&name| var(name).filter(|v| !v.is_empty()).map(|v| (name, v)))
    };
    let read = |found: Option<(&str, String)>| -> Result<Option<Proxy>, UsageError> {
        let Some((name, value)) = found else {
            return Ok(None);
        };
        Proxy::parse(&value)
            .map(Some)
            .map_err(|e| UsageError::new(format!("invalid proxy in {name}: {e}")))
    };
    if !given.proxy {
        let all = read(first(&["all_proxy", "ALL_PROXY"]))?;
        t.proxy.http = read(first(&["http_proxy"]))?.or_else(|| all.clone());
        t.proxy.https = read(first(&["https_proxy", "HTTPS_PROXY"]))?.or(all);
    }
    if !given.noproxy {
        if let Some((_, list)) = first(&["no_proxy", "NO_PROXY"]) {
            t.proxy.no_proxy = NoProxy::parse(&list);
        }
    }
    Ok(())
}
