//! Every meta command against a real memcached: flags, outcomes, quiet batches.

use memcache_codec::command::{
    Command, Exptime, MetaArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaNoop, MetaSet,
    MetaSetMode,
};
use memcache_codec::response::{MetaResponse, MetaStatus, Ttl};
use memcache_codec::{CommandError, Response, ServerErrorKind};

use crate::blocking::BlockingClient;
use crate::harness::{self, ok, prefix};

#[track_caller]
fn meta<C: Command + ?Sized>(client: &mut BlockingClient, command: &C) -> MetaResponse {
    match ok(client, command) {
        Response::Meta(reply) => reply,
        other => panic!("expected a meta reply, got {other:?}"),
    }
}

fn hour() -> Exptime {
    Exptime::in_seconds(3600).unwrap()
}

#[test]
fn meta_get_and_its_return_flags() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("mg");
    let (k, absent) = (format!("{p}k"), format!("{p}absent"));

    let set = MetaSet::new(&k, "hello").client_flags(5).ttl(hour());
    assert_eq!(meta(&mut c, &set).status, MetaStatus::Success);
    let every = MetaGet::new(&k)
        .return_value()
        .return_client_flags()
        .return_ttl()
        .return_cas()
        .return_size()
        .return_key()
        .opaque("123")
        .return_hit_before()
        .return_last_access();
    let m = meta(&mut c, &every);
    assert_eq!(m.status, MetaStatus::Value);
    assert!(!m.inferred);
    assert_eq!(m.value(), Some(&b"hello"[..]));
    assert_eq!(m.client_flags(), Some(5));
    assert!(
        matches!(m.ttl(), Some(Ttl::Seconds(3500..=3600))),
        "{:?}",
        m.ttl()
    );
    assert!(m.cas().is_some());
    assert_eq!(m.size(), Some(5));
    assert_eq!(m.key(), Some(k.as_bytes()));
    assert_eq!(m.opaque(), Some(&b"123"[..]));
    assert_eq!(m.hit_before(), Some(false));
    assert!(m.last_access().is_some());
    assert_eq!(meta(&mut c, &every).hit_before(), Some(true));

    // Without v: HD. A miss: EN, echoing key and opaque (1.6.18).
    let m = meta(&mut c, &MetaGet::new(&k));
    assert_eq!((m.status, m.value()), (MetaStatus::Success, None));
    let m = meta(
        &mut c,
        &MetaGet::new(&absent)
            .return_key()
            .opaque("9")
            .return_value(),
    );
    assert_eq!(m.status, MetaStatus::Miss);
    assert_eq!(m.key(), Some(absent.as_bytes()));

    // T touches; u leaves the access state alone.
    let touch = MetaGet::new(&k)
        .ttl(Exptime::in_seconds(60).unwrap())
        .return_ttl();
    assert!(matches!(
        meta(&mut c, &touch).ttl(),
        Some(Ttl::Seconds(50..=60))
    ));
    let untouched = MetaGet::new(&k).no_bump().return_hit_before();
    assert_eq!(meta(&mut c, &untouched).hit_before(), Some(true));

    // N: a miss creates an empty item and wins the right to fill it; later readers see Z.
    let viv = format!("{p}vivify");
    let vivify = MetaGet::new(&viv)
        .vivify(Exptime::in_seconds(30).unwrap())
        .return_value();
    let m = meta(&mut c, &vivify);
    assert_eq!(
        (m.status, m.value(), m.won()),
        (MetaStatus::Value, Some(&b""[..]), true)
    );
    let m = meta(&mut c, &vivify);
    assert_eq!((m.won(), m.win_sent()), (false, true));

    // R: a TTL below the threshold wins a recache once.
    let rec = format!("{p}recache");
    meta(
        &mut c,
        &MetaSet::new(&rec, "old").ttl(Exptime::in_seconds(100).unwrap()),
    );
    let recache = MetaGet::new(&rec).recache(200).return_value();
    assert!(meta(&mut c, &recache).won());
    let m = meta(&mut c, &recache);
    assert_eq!((m.won(), m.win_sent()), (false, true));
}

#[test]
fn meta_set_modes_cas_and_ttl() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("ms");
    let (k, absent) = (format!("{p}k"), format!("{p}absent"));
    let status = |c: &mut BlockingClient, command: &MetaSet<'_>| meta(c, command).status;

    assert_eq!(
        status(&mut c, &MetaSet::new(&k, "v").mode(MetaSetMode::Add)),
        MetaStatus::Success
    );
    assert_eq!(
        status(&mut c, &MetaSet::new(&k, "v").mode(MetaSetMode::Add)),
        MetaStatus::NotStored
    );
    let replace = MetaSet::new(&absent, "v").mode(MetaSetMode::Replace);
    assert_eq!(status(&mut c, &replace), MetaStatus::NotStored);
    let replace = MetaSet::new(&k, "r")
        .mode(MetaSetMode::Replace)
        .client_flags(3);
    assert_eq!(status(&mut c, &replace), MetaStatus::Success);
    for mode in [MetaSetMode::Append, MetaSetMode::Prepend] {
        assert_eq!(
            status(&mut c, &MetaSet::new(&absent, "x").mode(mode)),
            MetaStatus::NotStored
        );
    }
    assert_eq!(
        status(&mut c, &MetaSet::new(&k, ">").mode(MetaSetMode::Append)),
        MetaStatus::Success
    );
    assert_eq!(
        status(&mut c, &MetaSet::new(&k, "<").mode(MetaSetMode::Prepend)),
        MetaStatus::Success
    );
    let m = meta(
        &mut c,
        &MetaGet::new(&k).return_value().return_client_flags(),
    );
    assert_eq!((m.value(), m.client_flags()), (Some(&b"<r>"[..]), Some(3)));

    // Compare-and-swap: c returns the new cas (c0 when nothing was stored).
    let set = MetaSet::new(&k, "one").return_cas().ttl(hour());
    let cas = meta(&mut c, &set).cas().expect("c");
    let swap = MetaSet::new(&k, "two").compare_cas(cas).return_cas();
    let m = meta(&mut c, &swap);
    assert_eq!(m.status, MetaStatus::Success);
    assert!(m.cas().unwrap() > cas);
    let m = meta(&mut c, &swap);
    assert_eq!((m.status, m.cas()), (MetaStatus::Exists, Some(0)));
    let on_absent = MetaSet::new(&absent, "x").compare_cas(cas);
    assert_eq!(status(&mut c, &on_absent), MetaStatus::NotFound);
    let m = meta(&mut c, &MetaGet::new(&k).return_value().return_ttl());
    assert_eq!(m.value(), Some(&b"two"[..]));
    assert_eq!(m.ttl(), Some(Ttl::Never), "a set without T resets the TTL");

    // k echoes the key; b sends a binary key in base64.
    let m = meta(&mut c, &MetaSet::new(&k, "v").return_key().opaque("o"));
    assert_eq!((m.key(), m.opaque()), (Some(k.as_bytes()), Some(&b"o"[..])));
    let binary = [p.as_bytes(), b"\0\r\n \xff"].concat();
    let set = MetaSet::new(&binary, "bin").base64_key();
    assert_eq!(status(&mut c, &set), MetaStatus::Success);
    let get = MetaGet::new(&binary)
        .base64_key()
        .return_key()
        .return_value();
    let m = meta(&mut c, &get);
    assert_eq!((m.value(), m.key_is_base64()), (Some(&b"bin"[..]), true));
}

#[test]
fn meta_delete_outcomes_and_invalidation() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("md");
    let (k, absent) = (format!("{p}k"), format!("{p}absent"));

    meta(&mut c, &MetaSet::new(&k, "v"));
    assert_eq!(
        meta(&mut c, &MetaDelete::new(&k)).status,
        MetaStatus::Success
    );
    assert_eq!(
        meta(&mut c, &MetaDelete::new(&k)).status,
        MetaStatus::NotFound
    );
    let cas = meta(&mut c, &MetaSet::new(&k, "v").return_cas())
        .cas()
        .unwrap();
    let stale = MetaDelete::new(&k).compare_cas(cas - 1).return_key();
    let m = meta(&mut c, &stale);
    assert_eq!(
        (m.status, m.key()),
        (MetaStatus::Exists, Some(k.as_bytes()))
    );
    assert_eq!(
        meta(&mut c, &MetaDelete::new(&k).compare_cas(cas)).status,
        MetaStatus::Success
    );

    // I: keep the item, marked stale; the first reader wins the refill.
    meta(&mut c, &MetaSet::new(&k, "v"));
    let invalidate = MetaDelete::new(&k)
        .invalidate()
        .ttl(Exptime::in_seconds(30).unwrap());
    assert_eq!(meta(&mut c, &invalidate).status, MetaStatus::Success);
    let get = MetaGet::new(&k).return_value();
    let m = meta(&mut c, &get);
    assert_eq!(
        (m.status, m.stale(), m.won()),
        (MetaStatus::Value, true, true)
    );
    let m = meta(&mut c, &get);
    assert_eq!((m.stale(), m.won(), m.win_sent()), (true, false, true));

    // Quiet: HD is left out (inferred), NF is still sent.
    meta(&mut c, &MetaSet::new(&k, "v"));
    let quiet = c.send(&MetaDelete::new(&k).quiet().opaque("1")).unwrap();
    let loud = c
        .send(&MetaDelete::new(&absent).quiet().opaque("2"))
        .unwrap();
    let fence = c.send(&MetaNoop).unwrap();
    let Ok(Response::Meta(m)) = c.wait(quiet) else {
        panic!()
    };
    assert_eq!((m.status, m.inferred), (MetaStatus::Success, true));
    let Ok(Response::Meta(m)) = c.wait(loud) else {
        panic!()
    };
    assert_eq!((m.status, m.inferred), (MetaStatus::NotFound, false));
    assert_eq!(c.wait(fence), Ok(Response::Noop));
}

#[test]
fn meta_arithmetic_vivify_wrap_floor_and_text() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("ma");
    let (n, text) = (format!("{p}n"), format!("{p}text"));
    let value = |m: MetaResponse| m.value().map(|v| String::from_utf8(v.to_vec()).unwrap());

    assert_eq!(
        meta(&mut c, &MetaArithmetic::new(&n)).status,
        MetaStatus::NotFound
    );
    let create = MetaArithmetic::new(&n)
        .vivify(Exptime::never())
        .initial(10)
        .return_value();
    assert_eq!(value(meta(&mut c, &create)).as_deref(), Some("10"));
    let incr = MetaArithmetic::incr(&n, 5)
        .return_value()
        .return_cas()
        .return_ttl();
    let m = meta(&mut c, &incr);
    assert_eq!(
        (m.status, m.ttl(), m.cas().is_some()),
        (MetaStatus::Value, Some(Ttl::Never), true)
    );
    assert_eq!(value(m).as_deref(), Some("15"));
    let decr = MetaArithmetic::decr(&n, 100).return_value();
    assert_eq!(value(meta(&mut c, &decr)).as_deref(), Some("0"));
    let m = meta(
        &mut c,
        &MetaArithmetic::new(&n)
            .mode(MetaArithMode::Incr)
            .delta(u64::MAX)
            .return_value(),
    );
    assert_eq!(value(m).as_deref(), Some(u64::MAX.to_string().as_str()));
    assert_eq!(
        value(meta(&mut c, &MetaArithmetic::new(&n).return_value())).as_deref(),
        Some("0")
    );
    let stale = MetaArithmetic::new(&n).compare_cas(1);
    assert_eq!(meta(&mut c, &stale).status, MetaStatus::Exists);
    let m = meta(&mut c, &MetaArithmetic::new(&n).ttl(hour()).return_ttl());
    assert_eq!(m.status, MetaStatus::Success);
    assert!(matches!(m.ttl(), Some(Ttl::Seconds(3500..=3600))));

    meta(&mut c, &MetaSet::new(&text, "abc"));
    match c.call(&MetaArithmetic::new(&text)).unwrap() {
        Err(CommandError::Server(e)) => assert_eq!(e.kind, ServerErrorKind::ClientError),
        other => panic!("{other:?}"),
    }
    // Quiet: success is left out, NF is not.
    let quiet = c
        .send(&MetaArithmetic::new(&n).quiet().opaque("q"))
        .unwrap();
    let absent = format!("{p}absent");
    let loud = c
        .send(&MetaArithmetic::new(&absent).quiet().opaque("l"))
        .unwrap();
    let fence = c.send(&MetaNoop).unwrap();
    let Ok(Response::Meta(m)) = c.wait(quiet) else {
        panic!()
    };
    assert_eq!((m.status, m.inferred), (MetaStatus::Success, true));
    let Ok(Response::Meta(m)) = c.wait(loud) else {
        panic!()
    };
    assert_eq!(m.status, MetaStatus::NotFound);
    assert_eq!(c.wait(fence), Ok(Response::Noop));
}

#[test]
fn meta_noop_and_debug() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("me");
    let (k, absent) = (format!("{p}k"), format!("{p}absent"));
    assert_eq!(ok(&mut c, &MetaNoop), Response::Noop);

    meta(&mut c, &MetaSet::new(&k, "12345"));
    let Response::MetaDebug(debug) = ok(&mut c, &memcache_codec::command::MetaDebug::new(&k))
    else {
        panic!()
    };
    assert_eq!(&debug.key[..], k.as_bytes());
    assert_eq!(debug.exp(), Some(-1));
    assert_eq!(debug.fetched(), Some(false));
    assert!(debug.cas().is_some() && debug.slab_class().is_some());
    assert!(debug.size().unwrap() > 5);
    assert_eq!(
        ok(&mut c, &memcache_codec::command::MetaDebug::new(&absent)),
        Response::Miss
    );
    let binary = [p.as_bytes(), b"\x01\x02"].concat();
    meta(&mut c, &MetaSet::new(&binary, "b").base64_key());
    let debug = memcache_codec::command::MetaDebug::new(&binary).base64_key();
    assert!(matches!(ok(&mut c, &debug), Response::MetaDebug(_)));
}

#[test]
fn quiet_batches_of_gets_and_writes() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("quiet");
    let keys: Vec<String> = (0..100).map(|i| format!("{p}{i}")).collect();
    for k in keys.iter().step_by(2) {
        c.send(&MetaSet::new(k, k).quiet().return_key()).unwrap();
    }
    assert_eq!(ok(&mut c, &MetaNoop), Response::Noop);

    // 100 quiet mg and one mn in one write: hits answer, misses stay silent.
    let gets: Vec<MetaGet<'_>> = keys
        .iter()
        .map(|k| MetaGet::new(k).return_value())
        .collect();
    let batch = c.send_quiet_batch(&gets).unwrap();
    assert_eq!(batch.len(), 100);
    for (i, token) in batch.tokens().enumerate() {
        let Ok(Response::Meta(m)) = c.wait(token) else {
            panic!("{i}")
        };
        if i % 2 == 0 {
            assert_eq!((m.status, m.inferred), (MetaStatus::Value, false));
            assert_eq!(m.value(), Some(keys[i].as_bytes()));
        } else {
            assert_eq!(
                (m.status, m.inferred, m.value()),
                (MetaStatus::Miss, true, None)
            );
        }
    }
    assert_eq!(c.wait(batch.fence()), Ok(Response::Noop));

    // Tagged by key instead of opaque.
    let gets: Vec<MetaGet<'_>> = keys[..10]
        .iter()
        .map(|k| MetaGet::new(k).return_key())
        .collect();
    let batch = c.send_quiet_batch(&gets).unwrap();
    for (i, token) in batch.tokens().enumerate() {
        let Ok(Response::Meta(m)) = c.wait(token) else {
            panic!()
        };
        let expected = if i % 2 == 0 {
            MetaStatus::Success
        } else {
            MetaStatus::Miss
        };
        assert_eq!(m.status, expected);
    }
    assert_eq!(c.wait(batch.fence()), Ok(Response::Noop));

    // Quiet writes: successes inferred, refusals sent, all in order.
    let opaques: Vec<String> = (0..10).map(|i| format!("w{i}")).collect();
    let writes: Vec<_> = keys[..10]
        .iter()
        .zip(&opaques)
        .map(|(k, o)| c.send(&MetaSet::new(k, "new").quiet().opaque(o)).unwrap())
        .collect();
    let add = MetaSet::new(&keys[0], "x")
        .mode(MetaSetMode::Add)
        .quiet()
        .opaque("add");
    let refused = c.send(&add).unwrap();
    let deleted = c
        .send(&MetaDelete::new(&keys[2]).quiet().opaque("md"))
        .unwrap();
    let fence = c.send(&MetaNoop).unwrap();
    for token in writes {
        let Ok(Response::Meta(m)) = c.wait(token) else {
            panic!()
        };
        assert_eq!((m.status, m.inferred), (MetaStatus::Success, true));
    }
    let Ok(Response::Meta(m)) = c.wait(refused) else {
        panic!()
    };
    assert_eq!(
        (m.status, m.inferred, m.opaque()),
        (MetaStatus::NotStored, false, Some(&b"add"[..]))
    );
    let Ok(Response::Meta(m)) = c.wait(deleted) else {
        panic!()
    };
    assert_eq!((m.status, m.inferred), (MetaStatus::Success, true));
    assert_eq!(c.wait(fence), Ok(Response::Noop));
    let m = meta(&mut c, &MetaGet::new(&keys[1]).return_value());
    assert_eq!(m.value(), Some(&b"new"[..]));
    assert_eq!(
        meta(&mut c, &MetaGet::new(&keys[2])).status,
        MetaStatus::Miss
    );
}
