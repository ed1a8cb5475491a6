//! Every classic command against a real memcached, each outcome, and the edges:
//! noreply with a fence, binary values, 250-byte keys, the item size limit, a 100-key
//! multi-get.

use std::time::Duration;

use memcache_codec::command::Arithmetic;
use memcache_codec::command::{
    CacheMemlimit, Delete, Exptime, FlushAll, Get, GetMulti, MetaGet, MetaNoop, MetaSet, Quit,
    Shutdown, Stats, Store, Touch, Verbosity, Version,
};
use memcache_codec::response::{Item, MetaStatus, Value};
use memcache_codec::{ConnectionError, EncodeError, KeyError, Response, ServerErrorKind};

use crate::blocking::BlockingClient;
use crate::harness::{self, ok, prefix, server_error, stat, values_of};

fn hit(data: &[u8], flags: u64) -> Response {
    Response::Hit(Value {
        flags,
        cas: None,
        data: data.to_vec().into(),
    })
}

#[track_caller]
fn cas_of(client: &mut BlockingClient, key: &str) -> u64 {
    match ok(client, &Get::new(key).with_cas()) {
        Response::Hit(Value { cas: Some(cas), .. }) => cas,
        other => panic!("gets {key}: {other:?}"),
    }
}

#[test]
fn storage_commands_and_their_outcomes() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("storage");
    let (k, fresh, absent) = (format!("{p}k"), format!("{p}fresh"), format!("{p}absent"));

    assert_eq!(
        ok(&mut c, &Store::set(&k, "v1").client_flags(3)),
        Response::Stored
    );
    assert_eq!(ok(&mut c, &Get::new(&k)), hit(b"v1", 3));
    assert_eq!(ok(&mut c, &Store::add(&k, "v2")), Response::NotStored);
    assert_eq!(ok(&mut c, &Store::add(&fresh, "v2")), Response::Stored);
    assert_eq!(
        ok(&mut c, &Store::replace(&absent, "r")),
        Response::NotStored
    );
    assert_eq!(
        ok(&mut c, &Store::replace(&k, "r").client_flags(4)),
        Response::Stored
    );
    assert_eq!(
        ok(&mut c, &Store::append(&absent, "x")),
        Response::NotStored
    );
    assert_eq!(
        ok(&mut c, &Store::prepend(&absent, "x")),
        Response::NotStored
    );
    // append/prepend ignore their flags and exptime.
    assert_eq!(
        ok(&mut c, &Store::append(&k, "-tail").client_flags(9)),
        Response::Stored
    );
    assert_eq!(
        ok(&mut c, &Store::prepend(&k, "head-").client_flags(9)),
        Response::Stored
    );
    assert_eq!(ok(&mut c, &Get::new(&k)), hit(b"head-r-tail", 4));
    assert_eq!(ok(&mut c, &Get::new(&absent)), Response::Miss);

    let unique = cas_of(&mut c, &k);
    assert_eq!(ok(&mut c, &Store::cas(&k, "c1", unique)), Response::Stored);
    assert_eq!(ok(&mut c, &Store::cas(&k, "c2", unique)), Response::Exists);
    assert_eq!(ok(&mut c, &Store::cas(&k, "c2", 0)), Response::Exists);
    assert_eq!(
        ok(&mut c, &Store::cas(&absent, "c", unique)),
        Response::NotFound
    );
    assert_eq!(ok(&mut c, &Get::new(&k)), hit(b"c1", 0));
    assert!(
        cas_of(&mut c, &k) > unique,
        "a store gives a new cas unique"
    );

    // Exptime: expired on arrival, and far away.
    let expired = format!("{p}expired");
    let store = Store::set(&expired, "v").exptime(Exptime::expired());
    assert_eq!(ok(&mut c, &store), Response::Stored);
    assert_eq!(ok(&mut c, &Get::new(&expired)), Response::Miss);
    let hour = Exptime::in_seconds(3600).unwrap();
    assert_eq!(
        ok(&mut c, &Store::set(&expired, "v").exptime(hour)),
        Response::Stored
    );
    assert_eq!(ok(&mut c, &Get::new(&expired)), hit(b"v", 0));
}

#[test]
fn retrievals_single_multi_and_touching() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("get");
    let (a, b, absent) = (format!("{p}a"), format!("{p}b"), format!("{p}absent"));
    ok(&mut c, &Store::set(&a, "alpha").client_flags(1));
    ok(&mut c, &Store::set(&b, "beta").client_flags(2));

    assert_eq!(ok(&mut c, &Get::new(&a)), hit(b"alpha", 1));
    assert_eq!(ok(&mut c, &Get::new(&absent)), Response::Miss);
    let Response::Hit(with_cas) = ok(&mut c, &Get::new(&a).with_cas()) else {
        panic!()
    };
    assert!(with_cas.cas.is_some());
    let hour = Exptime::in_seconds(3600).unwrap();
    assert_eq!(ok(&mut c, &Get::new(&b).touch(hour)), hit(b"beta", 2));
    let Response::Hit(gats) = ok(&mut c, &Get::new(&b).touch(hour).with_cas()) else {
        panic!()
    };
    assert_eq!((gats.flags, gats.cas.is_some()), (2, true));
    // gat with a negative exptime returns the value once, then it is gone.
    assert_eq!(
        ok(&mut c, &Get::new(&b).touch(Exptime::expired())),
        hit(b"beta", 2)
    );
    assert_eq!(ok(&mut c, &Get::new(&b)), Response::Miss);

    // Multi-key: request order, misses left out, a repeated key returned twice.
    let keys = [&a, &absent, &a];
    let items = values_of(&mut c, &GetMulti::new(&keys));
    let got: Vec<_> = items
        .iter()
        .map(|i| (&i.key[..], &i.value.data[..]))
        .collect();
    assert_eq!(
        got,
        [(a.as_bytes(), &b"alpha"[..]), (a.as_bytes(), b"alpha")]
    );
    let items = values_of(&mut c, &GetMulti::new(&[&a]).with_cas().touch(hour));
    assert!(items[0].value.cas.is_some());
    assert_eq!(
        ok(&mut c, &GetMulti::new(&[&absent])),
        Response::Items(Default::default())
    );
}

#[test]
fn multi_get_of_100_keys() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("multi100");
    let keys: Vec<String> = (0..100).map(|i| format!("{p}{i}")).collect();
    let values: Vec<Vec<u8>> = (0..100u8)
        .map(|i| vec![b'a' + i % 26; usize::from(i) * 3])
        .collect();
    // 100 sets in one write, then the 100 STOREDs.
    let tokens: Vec<_> = keys
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (k, v))| c.send(&Store::set(k, v).client_flags(i as u64)).unwrap())
        .collect();
    for token in tokens {
        assert_eq!(c.wait(token), Ok(Response::Stored));
    }
    // Hits come back in request order; a few absent keys in between are left out.
    let mut asked: Vec<String> = keys.clone();
    for i in [0, 37, 99] {
        asked.insert(i, format!("{p}absent{i}"));
    }
    let items = values_of(&mut c, &GetMulti::new(&asked));
    let expected: Vec<Item> = keys
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (k, v))| Item {
            key: k.clone().into(),
            value: Value {
                flags: i as u64,
                cas: None,
                data: v.clone().into(),
            },
        })
        .collect();
    assert_eq!(items, expected);
}

#[test]
fn incr_and_decr_wrap_floor_and_refuse_text() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("arith");
    let (n, absent, text) = (format!("{p}n"), format!("{p}absent"), format!("{p}text"));

    ok(&mut c, &Store::set(&n, "10").client_flags(5));
    assert_eq!(ok(&mut c, &Arithmetic::incr(&n, 5)), Response::Counter(15));
    assert_eq!(ok(&mut c, &Arithmetic::decr(&n, 3)), Response::Counter(12));
    assert_eq!(
        ok(&mut c, &Arithmetic::incr(&absent, 1)),
        Response::NotFound
    );
    assert_eq!(
        ok(&mut c, &Arithmetic::decr(&absent, 1)),
        Response::NotFound
    );
    // A longer result grows the item; flags stay.
    ok(&mut c, &Store::set(&n, "9").client_flags(5));
    assert_eq!(ok(&mut c, &Arithmetic::incr(&n, 1)), Response::Counter(10));
    assert_eq!(ok(&mut c, &Get::new(&n)), hit(b"10", 5));
    // A shorter one is written in place, space-padded; the reply is not.
    ok(&mut c, &Store::set(&n, "100"));
    assert_eq!(ok(&mut c, &Arithmetic::decr(&n, 1)), Response::Counter(99));
    assert_eq!(ok(&mut c, &Get::new(&n)), hit(b"99 ", 0));

    // incr wraps at 2^64; decr stops at 0.
    ok(&mut c, &Store::set(&n, &u64::MAX.to_string()));
    assert_eq!(ok(&mut c, &Arithmetic::incr(&n, 1)), Response::Counter(0));
    assert_eq!(
        ok(&mut c, &Get::new(&n)),
        hit(format!("0{}", " ".repeat(19)).as_bytes(), 0)
    );
    ok(&mut c, &Store::set(&n, "1"));
    assert_eq!(
        ok(&mut c, &Arithmetic::incr(&n, u64::MAX)),
        Response::Counter(0)
    );
    ok(&mut c, &Store::set(&n, "5"));
    assert_eq!(ok(&mut c, &Arithmetic::decr(&n, 10)), Response::Counter(0));
    assert_eq!(ok(&mut c, &Arithmetic::decr(&n, 1)), Response::Counter(0));

    // Non-numeric values: CLIENT_ERROR, and the connection carries on.
    let non_numeric = (
        ServerErrorKind::ClientError,
        "cannot increment or decrement non-numeric value".to_owned(),
    );
    ok(&mut c, &Store::set(&text, "abc"));
    assert_eq!(
        server_error(&mut c, &Arithmetic::incr(&text, 1)),
        non_numeric
    );
    assert_eq!(
        server_error(&mut c, &Arithmetic::decr(&text, 1)),
        non_numeric
    );
    ok(&mut c, &Store::set(&text, ""));
    assert_eq!(
        server_error(&mut c, &Arithmetic::incr(&text, 1)),
        non_numeric
    );
    ok(&mut c, &Store::set(&text, &(u64::MAX.to_string() + "0")));
    assert_eq!(
        server_error(&mut c, &Arithmetic::incr(&text, 1)),
        non_numeric
    );
    assert_eq!(ok(&mut c, &Get::new(&n)), hit(b"0", 0));
}

#[test]
fn delete_and_touch() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("delete");
    let (k, absent) = (format!("{p}k"), format!("{p}absent"));
    ok(&mut c, &Store::set(&k, "v"));
    assert_eq!(ok(&mut c, &Delete::new(&k)), Response::Deleted);
    assert_eq!(ok(&mut c, &Delete::new(&k)), Response::NotFound);
    assert_eq!(ok(&mut c, &Get::new(&k)), Response::Miss);

    ok(&mut c, &Store::set(&k, "v"));
    let hour = Exptime::in_seconds(3600).unwrap();
    assert_eq!(ok(&mut c, &Touch::new(&k, hour)), Response::Touched);
    assert_eq!(ok(&mut c, &Touch::new(&absent, hour)), Response::NotFound);
    let Response::Meta(meta) = ok(&mut c, &MetaGet::new(&k).return_ttl()) else {
        panic!()
    };
    assert!(matches!(
        meta.ttl(),
        Some(memcache_codec::response::Ttl::Seconds(3500..=3600))
    ));
    assert_eq!(
        ok(&mut c, &Touch::new(&k, Exptime::expired())),
        Response::Touched
    );
    assert_eq!(ok(&mut c, &Get::new(&k)), Response::Miss);
}

#[test]
fn version_verbosity_flush_all_cache_memlimit() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("admin");
    let k = format!("{p}k");

    let Response::Version(version) = ok(&mut c, &Version) else {
        panic!()
    };
    assert!(version.starts_with(b"1."), "{version:?}");

    let level: u32 = stat(&mut c, Some("settings"), "verbosity").parse().unwrap();
    assert_eq!(ok(&mut c, &Verbosity::new(1)), Response::Ok);
    assert_eq!(ok(&mut c, &Verbosity::new(level)), Response::Ok);

    // A delayed flush is replaced by a later one.
    ok(&mut c, &Store::set(&k, "v"));
    assert_eq!(
        ok(&mut c, &FlushAll::delay(Exptime::in_seconds(3600).unwrap())),
        Response::Ok
    );
    assert_eq!(ok(&mut c, &Get::new(&k)), hit(b"v", 0));
    assert_eq!(ok(&mut c, &FlushAll::new()), Response::Ok);
    assert_eq!(ok(&mut c, &Get::new(&k)), Response::Miss);
    ok(&mut c, &Store::set(&k, "after"));
    assert_eq!(ok(&mut c, &Get::new(&k)), hit(b"after", 0));

    // Setting the limit it already has changes nothing; below 8 MB is refused.
    let bytes: u64 = stat(&mut c, None, "limit_maxbytes").parse().unwrap();
    let megabytes = u32::try_from(bytes / (1024 * 1024)).unwrap();
    assert_eq!(ok(&mut c, &CacheMemlimit::new(megabytes)), Response::Ok);
    let (kind, _) = server_error(&mut c, &CacheMemlimit::new(1));
    assert_eq!(kind, ServerErrorKind::MemlimitTooSmall);
    let (kind, _) = server_error(&mut c, &CacheMemlimit::new(u32::MAX));
    assert_eq!(kind, ServerErrorKind::MemlimitAdjustFailed);
    assert_eq!(stat(&mut c, None, "limit_maxbytes"), bytes.to_string());
}

#[test]
fn stats_and_its_subcommands() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("stats");
    let k = format!("{p}k");
    ok(&mut c, &Store::set(&k, "v"));

    let pid: u32 = stat(&mut c, None, "pid").parse().unwrap();
    assert!(pid > 0);
    assert!(
        stat(&mut c, Some("settings"), "item_size_max")
            .parse::<u64>()
            .unwrap()
            > 0
    );
    for arg in ["items", "slabs", "sizes", "conns"] {
        let Response::Stats(lines) = ok(&mut c, &Stats::arg(arg)) else {
            panic!("{arg}")
        };
        assert!(!lines.is_empty(), "stats {arg}");
    }
    let Response::CacheDump(_) = ok(&mut c, &Stats::cachedump(1, 10)) else {
        panic!()
    };

    // Per-prefix stats: `stats detail dump` lists prefixes (up to ':') seen while on.
    let detailed = format!("{}:{k}", p.trim_end_matches('-'));
    assert_eq!(ok(&mut c, &Stats::detail(true)), Response::Ok);
    ok(&mut c, &Get::new(&detailed));
    let Response::DetailDump(prefixes) = ok(&mut c, &Stats::detail_dump()) else {
        panic!()
    };
    let mine = prefixes
        .iter()
        .find(|s| s.prefix == p.trim_end_matches('-').as_bytes());
    assert_eq!(mine.map(|s| (s.get, s.hit)), Some((1, 0)), "{prefixes:?}");
    assert_eq!(ok(&mut c, &Stats::detail(false)), Response::Ok);

    assert_eq!(ok(&mut c, &Stats::reset()), Response::Reset);
    let (kind, _) = server_error(&mut c, &Stats::arg("no-such-group"));
    assert_eq!(kind, ServerErrorKind::Error);
    assert_eq!(ok(&mut c, &Get::new(&k)), hit(b"v", 0));
}

#[test]
fn quit_completes_with_closed() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let k = format!("{}k", prefix("quit"));
    let set = c.send(&Store::set(&k, "v")).unwrap();
    let get = c.send(&Get::new(&k)).unwrap();
    let quit = c.send(&Quit).unwrap();
    assert_eq!(c.send(&Version), Err(EncodeError::Closing));
    assert_eq!(c.wait(set), Ok(Response::Stored));
    assert_eq!(c.wait(get), Ok(hit(b"v", 0)));
    assert_eq!(c.wait(quit), Ok(Response::Closed));
    assert_eq!(
        c.send(&Version),
        Err(EncodeError::Poisoned(ConnectionError::Closed))
    );
}

#[test]
fn shutdown_refused_without_dash_a_and_obeyed_with_it() {
    let Some(server) = harness::own_server(&[]) else {
        return;
    };
    let mut c = BlockingClient::connect(server.addr(), harness::config()).unwrap();
    let (kind, message) = server_error(&mut c, &Shutdown::new());
    assert_eq!(kind, ServerErrorKind::Error);
    assert!(message.contains("shutdown not enabled"), "{message}");
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));

    for shutdown in [Shutdown::new(), Shutdown::graceful()] {
        let Some(mut server) = harness::own_server(&["-A"]) else {
            return;
        };
        let mut c = BlockingClient::connect(server.addr(), harness::config()).unwrap();
        assert_eq!(ok(&mut c, &Store::set("k", "v")), Response::Stored);
        // No reply: the server exits (replies still queued may be lost with it).
        assert_eq!(c.call(&shutdown), Ok(Ok(Response::Closed)));
        let status = server.wait_exit(Duration::from_secs(10)).unwrap();
        assert!(status.is_some(), "memcached still runs after shutdown");
    }
}

#[test]
fn noreply_commands_then_a_fence() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("noreply");
    let [a, b, text, gone, absent] =
        ["a", "b", "text", "gone", "absent"].map(|s| format!("{p}{s}"));
    let hour = Exptime::in_seconds(3600).unwrap();
    let level: u32 = stat(&mut c, Some("settings"), "verbosity").parse().unwrap();

    c.send_noreply(&Store::set(&a, "1")).unwrap();
    c.send_noreply(&Store::add(&a, "refused")).unwrap(); // NOT_STORED, unsaid
    c.send_noreply(&Store::add(&b, "2")).unwrap();
    c.send_noreply(&Store::replace(&b, "3")).unwrap();
    c.send_noreply(&Store::append(&b, "4")).unwrap();
    c.send_noreply(&Store::prepend(&b, "0")).unwrap();
    c.send_noreply(&Arithmetic::incr(&a, 10)).unwrap();
    c.send_noreply(&Arithmetic::decr(&a, 1)).unwrap();
    c.send_noreply(&Store::set(&text, "text")).unwrap();
    c.send_noreply(&Arithmetic::incr(&text, 1)).unwrap(); // CLIENT_ERROR, suppressed by 1.6.18
    c.send_noreply(&Touch::new(&a, hour)).unwrap();
    c.send_noreply(&Delete::new(&absent)).unwrap(); // NOT_FOUND, unsaid
    c.send_noreply(&Store::set(&gone, "x")).unwrap();
    c.send_noreply(&Delete::new(&gone)).unwrap();
    c.send_noreply(&Verbosity::new(level)).unwrap();
    // SERVER_ERROR object too large, suppressed; the data block is swallowed.
    let huge = vec![b'h'; 4 << 20];
    c.send_noreply(&Store::set(&gone, &huge)).unwrap();
    assert_eq!(c.codec().pending(), 0);
    // The fence: once MN arrives, everything before it has been applied.
    assert_eq!(ok(&mut c, &MetaNoop), Response::Noop);
    let keys = [&a, &b, &text, &gone];
    let items = values_of(&mut c, &GetMulti::new(&keys));
    let got: Vec<_> = items
        .iter()
        .map(|i| (&i.key[..], &i.value.data[..]))
        .collect();
    assert_eq!(
        got,
        [
            (a.as_bytes(), &b"10"[..]),
            (b.as_bytes(), b"034"),
            (text.as_bytes(), b"text")
        ]
    );

    // cas, cache_memlimit and flush_all with noreply; `version` as the classic fence.
    let unique = cas_of(&mut c, &b);
    c.send_noreply(&Store::cas(&b, "swapped", unique)).unwrap();
    let bytes: u64 = stat(&mut c, None, "limit_maxbytes").parse().unwrap();
    c.send_noreply(&CacheMemlimit::new((bytes >> 20) as u32))
        .unwrap();
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
    assert_eq!(ok(&mut c, &Get::new(&b)), hit(b"swapped", 0));
    c.send_noreply(&FlushAll::new()).unwrap();
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
    assert_eq!(ok(&mut c, &Get::new(&a)), Response::Miss);
}

/// Values that look like protocol: the codec must take the length from the header.
const BINARY: [&[u8]; 10] = [
    b"line one\r\nline two",
    b"END\r\n",
    b"VALUE k 0 1\r\nx\r\nEND\r\n",
    b"\r\n",
    b"",
    b"\0\0\0\0",
    b"\r",
    b"\n",
    b"HD\r\nVA 1 f0\r\n",
    b"STORED\r\nEN\r\nMN\r\n",
];

#[test]
fn binary_values_round_trip() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("binary");
    let every_byte: Vec<u8> = (0..=255).collect();
    let values: Vec<&[u8]> = BINARY.iter().copied().chain([&every_byte[..]]).collect();
    let keys: Vec<String> = (0..values.len()).map(|i| format!("{p}{i}")).collect();

    // Pipelined: every set, get and mg in one write.
    let mut tokens = Vec::new();
    for (i, (k, v)) in keys.iter().zip(&values).enumerate() {
        let set = c.send(&Store::set(k, v).client_flags(i as u64)).unwrap();
        let get = c.send(&Get::new(k)).unwrap();
        let mg = c
            .send(&MetaGet::new(k).return_value().return_client_flags())
            .unwrap();
        tokens.push((set, get, mg));
    }
    for (i, (set, get, mg)) in tokens.into_iter().enumerate() {
        assert_eq!(c.wait(set), Ok(Response::Stored));
        assert_eq!(c.wait(get), Ok(hit(values[i], i as u64)), "value {i}");
        let Ok(Response::Meta(meta)) = c.wait(mg) else {
            panic!()
        };
        assert_eq!(meta.value(), Some(values[i]));
        assert_eq!(meta.client_flags(), Some(i as u64));
    }
    // And through ms, in a multi-get.
    for (k, v) in keys.iter().zip(&values) {
        let Response::Meta(meta) = ok(&mut c, &MetaSet::new(k, v)) else {
            panic!()
        };
        assert_eq!(meta.status, MetaStatus::Success);
    }
    let items = values_of(&mut c, &GetMulti::new(&keys));
    let got: Vec<&[u8]> = items.iter().map(|i| &i.value.data[..]).collect();
    assert_eq!(got, values);
}

#[test]
fn keys_of_250_bytes_and_no_more() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("longkey");
    let long = format!("{p}{}", "k".repeat(250 - p.len()));
    let other = format!("{p}{}", "o".repeat(250 - p.len()));
    assert_eq!(long.len(), 250);

    assert_eq!(ok(&mut c, &Store::set(&long, "v")), Response::Stored);
    assert_eq!(ok(&mut c, &Store::set(&other, "w")), Response::Stored);
    assert_eq!(ok(&mut c, &Get::new(&long)), hit(b"v", 0));
    let items = values_of(&mut c, &GetMulti::new(&[&long, &other]));
    assert_eq!(items.len(), 2);
    let Response::Meta(meta) = ok(&mut c, &MetaGet::new(&long).return_key().return_value()) else {
        panic!()
    };
    assert_eq!(meta.key(), Some(long.as_bytes()));
    let hour = Exptime::in_seconds(3600).unwrap();
    assert_eq!(ok(&mut c, &Touch::new(&long, hour)), Response::Touched);
    assert_eq!(ok(&mut c, &Delete::new(&long)), Response::Deleted);

    // Bytes above 0x7f are key bytes too.
    let utf8 = format!("{p}ключ-鍵");
    assert_eq!(ok(&mut c, &Store::set(&utf8, "u")), Response::Stored);
    let items = values_of(&mut c, &GetMulti::new(&[&utf8]));
    assert_eq!(&items[0].key[..], utf8.as_bytes());
    // Every printable byte is a valid key byte.
    let printable: String = (0x21u8..0x7f).map(char::from).collect();
    let key = format!("{p}{printable}");
    assert_eq!(ok(&mut c, &Store::set(&key, "p")), Response::Stored);
    assert_eq!(ok(&mut c, &Get::new(&key)), hit(b"p", 0));

    // 251 bytes: refused before anything is written.
    let too_long = format!("{long}k");
    assert_eq!(
        c.send(&Get::new(&too_long)),
        Err(EncodeError::InvalidKey {
            index: 0,
            reason: KeyError::TooLong { len: 251 }
        })
    );
    assert_eq!(c.codec().pending(), 0);
}

#[test]
fn values_at_and_above_the_item_size_limit() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("size");
    let k = format!("{p}k");
    // memcached 1.6 on 64 bits: item header 48 bytes, cas 8, key + NUL, "\r\n", and 4
    // more for non-zero flags (RESPONSES.md §8.5: 1048512 for a 5-byte key).
    let item_max: usize = stat(&mut c, Some("settings"), "item_size_max")
        .parse()
        .unwrap();
    let largest = item_max - (48 + 8 + k.len() + 1 + 2);
    let too_large = (
        ServerErrorKind::ServerError,
        "object too large for cache".to_owned(),
    );
    let big = vec![b'x'; largest + 64];

    assert_eq!(
        ok(&mut c, &Store::set(&k, &big[..largest])),
        Response::Stored
    );
    let Response::Hit(value) = ok(&mut c, &Get::new(&k)) else {
        panic!()
    };
    assert_eq!(value.data.len(), largest);
    assert!(value.data.iter().all(|&b| b == b'x'));
    // One byte more: refused, the data block swallowed, and the old item unlinked.
    let above = Store::set(&k, &big[..largest + 1]);
    assert_eq!(server_error(&mut c, &above), too_large);
    assert_eq!(ok(&mut c, &Get::new(&k)), Response::Miss);
    // Non-zero flags take 4 bytes of the item.
    let flagged = Store::set(&k, &big[..largest - 4]).client_flags(1);
    assert_eq!(ok(&mut c, &flagged), Response::Stored);
    let flagged = Store::set(&k, &big[..largest - 3]).client_flags(1);
    assert_eq!(server_error(&mut c, &flagged), too_large);
    // The same limit through ms; and far above it.
    let Response::Meta(meta) = ok(&mut c, &MetaSet::new(&k, &big[..largest])) else {
        panic!()
    };
    assert_eq!(meta.status, MetaStatus::Success);
    let Response::Meta(meta) = ok(&mut c, &MetaGet::new(&k).return_size()) else {
        panic!()
    };
    assert_eq!(meta.size(), Some(largest as u64));
    assert_eq!(
        server_error(&mut c, &MetaSet::new(&k, &big[..largest + 1])),
        too_large
    );
    let huge = vec![b'y'; 2 * item_max];
    assert_eq!(server_error(&mut c, &Store::set(&k, &huge)), too_large);
    // The stream is still in step.
    assert_eq!(ok(&mut c, &Store::set(&k, "small")), Response::Stored);
    assert_eq!(ok(&mut c, &Get::new(&k)), hit(b"small", 0));
}
