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

#[test]
fn one_lookup_per_host_its_jobs_wait_and_a_failure_is_not_kept() {
    let mut pool = Pool::new(None, None);
    let a = pool.intern(Scheme::Http, "a", 80);
    let b = pool.intern(Scheme::Http, "b", 80);
    assert_eq!(pool.lookup_key(a), ("a", 80));
    assert_eq!(pool.await_addresses(a, JobId(1)), Addresses::StartLookup);
    assert_eq!(pool.await_addresses(a, JobId(2)), Addresses::Waiting);
    assert_eq!(
        pool.await_addresses(b, JobId(3)),
        Addresses::StartLookup,
        "another host's lookup runs beside"
    );
    assert_eq!(pool.address(a, 0), None, "nothing known while it runs");
    let addrs: Vec<SocketAddr> = vec!["[::1]:80".parse().unwrap(), "127.0.0.1:80".parse().unwrap()];
    assert_eq!(pool.resolved(a, Some(addrs.clone())), [JobId(1), JobId(2)]);
    assert_eq!(
        pool.await_addresses(a, JobId(4)),
        Addresses::Known,
        "kept for the run"
    );
    assert_eq!(pool.address(a, 0), Some(addrs[0]));
    assert_eq!(
        pool.address(a, 1),
        Some(addrs[1]),
        "every address, in order"
    );
    assert_eq!(pool.address(a, 2), None);
    // A failure hands back the waiting jobs and is not kept: the next job asks again.
    assert_eq!(pool.await_addresses(b, JobId(5)), Addresses::Waiting);
    assert_eq!(pool.resolved(b, None), [JobId(3), JobId(5)]);
    assert_eq!(pool.await_addresses(b, JobId(3)), Addresses::StartLookup);
    assert_eq!(
        pool.await_addresses(a, JobId(6)),
        Addresses::Known,
        "a is untouched"
    );
}

#[test]
fn families_take_turns_ipv6_first() {
    let addrs: Vec<SocketAddr> = [
        "10.0.0.1:80",
        "10.0.0.2:80",
        "[::1]:80",
        "10.0.0.3:80",
        "[::2]:80",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let turns: Vec<String> = interleave_families(addrs)
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        turns,
        [
            "[::1]:80",
            "10.0.0.1:80",
            "[::2]:80",
            "10.0.0.2:80",
            "10.0.0.3:80"
        ]
    );
    let one: Vec<SocketAddr> = vec![
        "10.0.0.2:80".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    ];
    assert_eq!(interleave_families(one.clone()), one);
}

#[test]
fn through_a_proxy_http_is_keyed_by_the_proxy_and_https_by_its_origin() {
    use crate::protocol::proxy::Proxy;
    let proxy = Proxy::parse("http://p:3128").unwrap();
    let mut pool = Pool::new(None, None);
    let a = Url::parse("http://a/x").unwrap();
    let b = Url::parse("http://b:8080/y").unwrap();
    let forward_a = pool.intern_route(&a, Route::Forward(&proxy));
    assert_eq!(pool.intern_route(&b, Route::Forward(&proxy)), forward_a);
    assert_eq!(pool.lookup_key(forward_a), ("p", 3128));
    // Never the same host as a direct socket to the proxy's own name and port.
    assert_ne!(pool.intern(Scheme::Http, "p", 3128), forward_a);
    assert_ne!(pool.intern_route(&a, Route::Direct), forward_a);

    let s = Url::parse("https://s/x").unwrap();
    let t = Url::parse("https://t/x").unwrap();
    let tunnel_s = pool.intern_route(&s, Route::Tunnel(&proxy));
    assert_ne!(pool.intern_route(&t, Route::Tunnel(&proxy)), tunnel_s);
    assert_eq!(pool.name(tunnel_s), (Scheme::Https, "s"));
    assert_eq!(pool.lookup_key(tunnel_s), ("p", 3128));
    assert!(pool.is_tunnel(tunnel_s) && pool.via_proxy(forward_a));
    assert_ne!(pool.intern_route(&s, Route::Direct), tunnel_s);
    let direct = pool.intern_route(&s, Route::Direct);
    assert!(!pool.via_proxy(direct));
}

#[test]
fn a_host_interned_again_right_after_is_the_same_and_a_neighbour_is_not() {
    let mut pool = Pool::new(None, None);
    let a = pool.intern(Scheme::Http, "a", 80);
    assert_eq!(pool.intern(Scheme::Http, "a", 80), a, "the last one, again");
    let others = [
        pool.intern(Scheme::Http, "a", 81),
        pool.intern(Scheme::Https, "a", 80),
        pool.intern(Scheme::Http, "ab", 80),
        pool.intern(Scheme::Http, "b", 80),
    ];
    for (i, &other) in others.iter().enumerate() {
        assert_ne!(other, a, "{i}");
        assert_eq!(pool.intern(Scheme::Http, "a", 80), a, "{i}: back to a");
    }
    let mut distinct = others.to_vec();
    distinct.sort_by_key(|id| id.0);
    distinct.dedup();
    assert_eq!(distinct.len(), others.len());
    assert_eq!(pool.intern(Scheme::Http, "ab", 80), others[2]);
    assert_eq!(pool.name(others[1]), (Scheme::Https, "a"));
}

#[test]
fn a_retired_pool_gives_out_no_idle_socket_and_still_counts_the_closes() {
    let mut pool = Pool::new(Some(2), None);
    let a = pool.intern(Scheme::Http, "a", 80);
    for _ in 0..2 {
        assert_eq!(pool.checkout(a, Need::AnySocket), Checkout::Open);
        pool.opened(a);
    }
    pool.release(a, ConnId(0));
    pool.release(a, ConnId(1));
    pool.retire();
    assert_eq!(
        pool.checkout(a, Need::AnySocket),
        Checkout::Full,
        "no idle socket is given out after the run"
    );
    pool.closed(a, ConnId(0));
    pool.closed(a, ConnId(1));
    assert_eq!(pool.open(), 0);
}
