//! Tests of the connector's decisions: limits, reuse, eviction, pipelining.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use super::*;

#[test]
fn limits_reuse_and_eviction() {
    let mut pool = Pool::new(Some(2), Some(1));
    let a = pool.intern(Scheme::Http, "a", 80);
    let b = pool.intern(Scheme::Http, "b", 80);
    assert_eq!(pool.intern(Scheme::Http, "a", 80), a);
    assert_ne!(pool.intern(Scheme::Http, "a", 81), a);
    assert_ne!(
        pool.intern(Scheme::Https, "a", 80),
        a,
        "the scheme is part of the key"
    );

    assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Open);
    pool.opened(a);
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::HostFull,
        "per-host limit"
    );
    assert_eq!(pool.checkout(b, Need::AnySocket), Checkout::Open);
    pool.opened(b);
    let c = pool.intern(Scheme::Http, "c", 80);
    assert_eq!(
        pool.checkout(c, Need::AnySocket),
        Checkout::Full,
        "connector limit"
    );

    pool.release(a, ConnId(0));
    assert_eq!(
        pool.checkout(c, Need::AnySocket),
        Checkout::EvictAndOpen(ConnId(0))
    );
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::Reuse(ConnId(0))
    );
    pool.release(a, ConnId(0));
    assert_eq!(
        pool.checkout(a, Need::FreshSocket),
        Checkout::EvictAndOpen(ConnId(0)),
        "fresh only"
    );
    pool.closed(a, ConnId(0));
    assert_eq!(pool.open(), 1);
    assert_eq!(pool.checkout(a, Need::FreshSocket), Checkout::Open);
}

#[test]
fn pipelining_comes_after_opening_and_never_for_a_fresh_socket() {
    let mut pool = Pool::new(Some(1), None);
    let a = pool.intern(Scheme::Http, "a", 80);
    let b = pool.intern(Scheme::Http, "b", 80);
    assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Open);
    pool.opened(a);
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::Full,
        "busy, no room said"
    );
    pool.has_room(a, ConnId(0));
    assert_eq!(
        pool.checkout(b, Need::AnySocket),
        Checkout::Full,
        "room is per host"
    );
    assert_eq!(
        pool.checkout(a, Need::FreshSocket),
        Checkout::Full,
        "a stale resend waits"
    );
    assert_eq!(
        pool.checkout(a, Need::NotPipelined),
        Checkout::Full,
        "a POST waits"
    );
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::Pipeline(ConnId(0))
    );
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::Full,
        "taken back"
    );
    pool.has_room(a, ConnId(0));
    pool.no_room(a, ConnId(0));
    assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Full);

    // Under --per-host, room on a busy socket beats waiting.
    let mut pool = Pool::new(None, Some(1));
    let a = pool.intern(Scheme::Http, "a", 80);
    assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Open);
    pool.opened(a);
    pool.has_room(a, ConnId(3));
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::Pipeline(ConnId(3))
    );
    pool.has_room(a, ConnId(3));
    pool.closed(a, ConnId(3));
    assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Open);
}

#[test]
fn unlimited_pool_always_opens() {
    let mut pool = Pool::new(None, None);
    let a = pool.intern(Scheme::Http, "a", 80);
    for _ in 0..1000 {
        assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Open);
        pool.opened(a);
    }
    assert_eq!(pool.open(), 1000);
}

#[test]
fn out_of_descriptors_the_pool_holds_what_is_open() {
    let mut pool = Pool::new(None, None);
    let a = pool.intern(Scheme::Http, "a", 80);
    for _ in 0..3 {
        assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Open);
        pool.opened(a);
    }
    // The fourth connect found no descriptor: three fit, so three it is.
    assert_eq!(pool.shrink_to_open(), 3);
    assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Full);
    pool.closed(a, ConnId(0));
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::Open,
        "one closed: one may open"
    );
    pool.opened(a);
    // Never above a smaller -c, never below one socket.
    let mut small = Pool::new(Some(2), None);
    let b = small.intern(Scheme::Http, "b", 80);
    assert_eq!(small.shrink_to_open(), 1);
    assert_eq!(small.checkout(b, Need::AnySocket), Checkout::Open);
    small.opened(b);
    assert_eq!(small.checkout(b, Need::AnySocket), Checkout::Full);
}
