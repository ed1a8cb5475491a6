//! Servers as they are, against a real memcached 1.6.18: the profile a probe
//! learns, why 64-bit flags are refused on it, ASCII authentication (`-Y`), and the
//! mixed quiet pipelines that automatic opaques make unambiguous.

use std::sync::atomic::{AtomicU32, Ordering};

use memcache_codec::command::{
    Auth, Exptime, Get, MetaArithMode, MetaArithmetic, MetaGet, MetaNoop, MetaSet, MetaSetMode,
    Quit, Store, Version,
};
use memcache_codec::profile::ServerVersion;
use memcache_codec::response::{MetaResponse, MetaStatus};
use memcache_codec::{CommandError, ConnectionError, EncodeError, Response};

use crate::blocking::BlockingClient;
use crate::harness::{self, ok, prefix};

fn meta(r: Result<Response, CommandError>) -> MetaResponse {
    match r {
        Ok(Response::Meta(m)) => m,
        other => panic!("expected a meta reply, got {other:?}"),
    }
}

#[test]
fn a_probe_learns_the_server_and_gates_what_it_lacks() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let profile = c.probe().unwrap();
    let version = profile.version.expect("a version");
    assert!(version >= ServerVersion::new(1, 6, 9), "{version}");
    assert!(profile.item_size_max.is_some());
    assert_eq!(profile.auth_enabled_ascii, Some(false));
    if version < ServerVersion::new(1, 6, 40) {
        // The server would ignore C and send the value: refused instead.
        assert!(matches!(
            c.send(&MetaGet::new("k").return_value().compare_cas(1)),
            Err(EncodeError::Unsupported { .. })
        ));
    }
    if !profile.large_client_flags() {
        assert!(matches!(
            c.send(&Store::set("k", "v").client_flags(1 << 32)),
            Err(EncodeError::FlagsTooLarge { .. })
        ));
    }
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
}

#[test]
fn flags_above_32_bits_sent_blind_are_cut_by_a_server_without_large_flags() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    if c.probe().unwrap().large_client_flags() {
        return; // a server built with large client flags keeps them
    }
    // What the refusal prevents: told (wrongly) that the server stores 8 bytes, the
    // codec sends 2^32 + 5, and memcached keeps the low 32 bits.
    let mut blind = BlockingClient::connect(
        server.addr(),
        harness::config().with_large_client_flags(true),
    )
    .unwrap();
    let k = format!("{}big", prefix("flags"));
    assert_eq!(
        ok(&mut blind, &Store::set(&k, "v").client_flags((1 << 32) + 5)),
        Response::Stored
    );
    let Response::Hit(v) = ok(&mut blind, &Get::new(&k)) else {
        panic!()
    };
    assert_eq!(v.flags, 5);
}

/// An authfile of its own for one test, removed on drop.
struct Authfile(std::path::PathBuf);

impl Authfile {
    fn new(text: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "memcache-codec-auth-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for Authfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn ascii_auth_success_failure_and_pipelining_after_success() {
    let file = Authfile::new("alice:secret\nbob:hunter2\n");
    let path = file.0.to_str().unwrap().to_owned();
    let Some(server) = harness::own_server(&["-Y", &path]) else {
        return;
    };

    // Wrong password: a typed failure, then the codec is closed.
    let mut c = BlockingClient::connect(server.addr(), harness::config()).unwrap();
    let failed = c.call(&Auth::new("alice", "wrong")).unwrap();
    let Err(CommandError::AuthenticationFailed(error)) = failed else {
        panic!("{failed:?}")
    };
    assert_eq!(&error.message[..], b"authentication failure");
    assert!(matches!(
        c.send(&Version),
        Err(EncodeError::Poisoned(
            ConnectionError::Unauthenticated { .. }
        ))
    ));

    // Without authenticating, a pipeline gets one reply for the read: the codec
    // poisons rather than pair it with the wrong command.
    let mut c = BlockingClient::connect(server.addr(), harness::config()).unwrap();
    let tokens: Vec<_> = (0..3).map(|_| c.send(&Version).unwrap()).collect();
    let first = c.wait(tokens[0]);
    assert!(
        matches!(&first, Err(CommandError::Server(e)) if &e.message[..] == b"unauthenticated"),
        "{first:?}"
    );
    for t in &tokens[1..] {
        assert!(matches!(
            c.wait(*t),
            Err(CommandError::Connection(
                ConnectionError::Unauthenticated { .. }
            ))
        ));
    }

    // Right password: authenticated, nothing may be pipelined behind it until then,
    // and everything pipelines after.
    let mut c = BlockingClient::connect(server.addr(), harness::config()).unwrap();
    let auth = c.send(&Auth::new("bob", "hunter2")).unwrap();
    assert_eq!(c.send(&Version), Err(EncodeError::AuthenticationPending));
    assert_eq!(c.wait(auth), Ok(Response::Authenticated));
    let k = format!("{}k", prefix("auth"));
    let set = c.send(&Store::set(&k, "v")).unwrap();
    let get = c.send(&Get::new(&k)).unwrap();
    let version = c.send(&Version).unwrap();
    let probe = c.probe().unwrap();
    assert_eq!(c.wait(set), Ok(Response::Stored));
    assert!(matches!(c.wait(get), Ok(Response::Hit(v)) if &v.data[..] == b"v"));
    assert!(matches!(c.wait(version), Ok(Response::Version(_))));
    assert_eq!(probe.auth_enabled_ascii, Some(true));
}

#[test]
fn mixed_quiet_pipelines_pair_with_automatic_opaques() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("mixq");
    let (s, n, missing) = (format!("{p}s"), format!("{p}n"), format!("{p}missing"));

    // `ms … q` then `ma … N0 J0 v`: refused as ambiguous before automatic opaques.
    let set = c.send(&MetaSet::new(&s, "v").quiet()).unwrap();
    let vivify = c
        .send(
            &MetaArithmetic::new(&n)
                .vivify(Exptime::never())
                .initial(0)
                .return_value(),
        )
        .unwrap();
    // Two untagged quiet ma (one fails loudly, one succeeds silently), a quiet add
    // that is refused, then a loud read.
    let miss = c.send(&MetaArithmetic::new(&missing).quiet()).unwrap();
    let incr = c
        .send(&MetaArithmetic::new(&n).mode(MetaArithMode::Incr).quiet())
        .unwrap();
    let add = c
        .send(&MetaSet::new(&s, "w").mode(MetaSetMode::Add).quiet())
        .unwrap();
    let read = c.send(&MetaGet::new(&n).return_value()).unwrap();
    let fence = c.send(&MetaNoop).unwrap();

    let m = meta(c.wait(set));
    assert_eq!((m.status, m.inferred), (MetaStatus::Success, true));
    assert_eq!(meta(c.wait(vivify)).value(), Some(&b"0"[..]));
    let m = meta(c.wait(miss));
    assert_eq!((m.status, m.inferred), (MetaStatus::NotFound, false));
    let m = meta(c.wait(incr));
    assert_eq!((m.status, m.inferred), (MetaStatus::Success, true));
    let m = meta(c.wait(add));
    assert_eq!((m.status, m.inferred), (MetaStatus::NotStored, false));
    assert_eq!(meta(c.wait(read)).value(), Some(&b"1"[..]));
    assert_eq!(c.wait(fence), Ok(Response::Noop));

    // Without automatic opaques the same pipeline is refused, as it must be.
    let mut exact =
        BlockingClient::connect(server.addr(), harness::config().with_auto_opaque(false)).unwrap();
    exact.send(&MetaArithmetic::new(&missing).quiet()).unwrap();
    assert_eq!(
        exact.send(&MetaArithmetic::new(&n).quiet()),
        Err(EncodeError::AmbiguousQuiet)
    );
}

#[test]
fn quiet_writes_before_quit_complete_at_end_of_stream() {
    let Some(server) = harness::server() else {
        return;
    };
    let k = format!("{}k", prefix("quitq"));
    let mut c = server.client();
    let set = c.send(&MetaSet::new(&k, "v").quiet()).unwrap();
    let quit = c.send(&Quit).unwrap();
    let m = meta(c.wait(set));
    assert_eq!((m.status, m.inferred), (MetaStatus::Success, true));
    assert_eq!(c.wait(quit), Ok(Response::Closed));
    // And it was stored.
    let mut c = server.client();
    let Response::Hit(v) = ok(&mut c, &Get::new(&k)) else {
        panic!()
    };
    assert_eq!(&v.data[..], b"v");
}
