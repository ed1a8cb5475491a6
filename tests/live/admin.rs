//! The admin commands, `watch` and raw commands against a real memcached: the dumps
//! (`lru_crawler metadump`, and `mgdump`'s `ERROR` on 1.6.18), slab page moves and
//! the automover, LRU tuning read back from `stats settings`, a watcher seeing a
//! second connection's sets, `config get cluster` and `refresh_certs` refused by a
//! stock server, raw commands of each reply shape.
//!
//! Commands that change server settings put them back, for `MEMCACHED_ADDR` runs.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use memcache_codec::command::{
    Automove, Bget, ConfigGetCluster, CrawlTarget, Get, Lru, LruCrawler, LruMode, Raw, RawShape,
    RefreshCerts, Slabs, Stats, Store, Version, Watch, WatchKind,
};
use memcache_codec::response::AdminStatus;
use memcache_codec::{Codec, EncodeError, Response, ServerErrorKind};

use crate::blocking::BlockingClient;
use crate::harness::{self, ok, prefix, server_error, stat};

#[test]
fn metadump_lists_the_items_and_mgdump_is_not_in_1_6_18() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("dump");
    // Keys memcached URL-encodes in a metadump: ':' '%' '/'.
    let keys = [format!("{p}plain"), format!("{p}a:b%c/d")];
    assert_eq!(
        ok(&mut c, &Store::set(&keys[0], "x").client_flags(5)),
        Response::Stored
    );
    assert_eq!(ok(&mut c, &Store::set(&keys[1], "yy")), Response::Stored);
    assert!(matches!(ok(&mut c, &Get::new(&keys[1])), Response::Hit(_)));

    for target in [
        CrawlTarget::All,
        CrawlTarget::Hash,
        CrawlTarget::Classes(&[1]),
    ] {
        let Response::MetaDump(entries) = ok(&mut c, &LruCrawler::metadump(target)) else {
            panic!("metadump {target:?}");
        };
        let ours: Vec<_> = entries
            .iter()
            .filter(|e| e.key.starts_with(p.as_bytes()))
            .collect();
        assert_eq!(ours.len(), 2, "{target:?}: {entries:?}");
        for e in ours {
            assert_eq!(e.exp, -1);
            assert_eq!(e.class, Some(1));
            assert!(e.size.is_some_and(|s| s > 50));
            assert!(e.last_access > 1_600_000_000);
            if e.key == keys[1].as_bytes() {
                assert!(e.fetched);
                assert_eq!(e.field("key"), Some(format!("{p}a%3Ab%25c%2Fd").as_bytes()));
            } else {
                assert_eq!(&e.key[..], keys[0].as_bytes());
            }
        }
    }
    // Nothing may follow a dump until it ends; then the connection is usable again.
    let dump = c
        .send(&LruCrawler::metadump(CrawlTarget::Classes(&[1])))
        .expect("sent");
    assert_eq!(c.send(&Version), Err(EncodeError::DumpPending));
    assert!(matches!(c.wait(dump), Ok(Response::MetaDump(_))));
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
    // A class memcached does not have.
    assert!(matches!(
        ok(&mut c, &LruCrawler::metadump(CrawlTarget::Classes(&[99]))),
        Response::Admin(AdminStatus::BadClass(_))
    ));
    // mgdump arrived in 1.6.19.
    let version = stat(&mut c, None, "version");
    if version == "1.6.18" {
        assert_eq!(
            server_error(&mut c, &LruCrawler::mgdump(CrawlTarget::All)),
            (ServerErrorKind::Error, String::new())
        );
    } else {
        let Response::MgDump(keys_dumped) = ok(&mut c, &LruCrawler::mgdump(CrawlTarget::All))
        else {
            panic!("mgdump on {version}");
        };
        for key in &keys {
            assert!(keys_dumped.iter().any(|k| k == key.as_bytes()), "{key}");
        }
    }
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
}

#[test]
fn the_crawler_slab_mover_and_lru_tuning() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let crawl = ok(&mut c, &LruCrawler::crawl(CrawlTarget::All));
    assert!(
        matches!(
            crawl,
            Response::Ok | Response::Admin(AdminStatus::Busy(_) | AdminStatus::NotStarted(_))
        ),
        "{crawl:?}"
    );
    assert_eq!(ok(&mut c, &LruCrawler::tocrawl(0)), Response::Ok);
    assert_eq!(ok(&mut c, &LruCrawler::sleep(100)), Response::Ok);
    assert_eq!(
        server_error(&mut c, &LruCrawler::enable()),
        (
            ServerErrorKind::Error,
            "failed to start lru crawler thread".into()
        )
    );

    for mode in [Automove::Standby, Automove::Aggressive, Automove::Normal] {
        assert_eq!(ok(&mut c, &Slabs::automove(mode)), Response::Ok);
    }
    assert_eq!(stat(&mut c, Some("settings"), "slab_automove"), "1");
    let same = ok(&mut c, &Slabs::reassign(1, 1));
    assert!(
        matches!(same, Response::Admin(AdminStatus::Same(_))),
        "{same:?}"
    );
    assert!(matches!(
        ok(&mut c, &Slabs::reassign(99, 1)),
        Response::Admin(AdminStatus::BadClass(_))
    ));
    // A page move: scheduled, or a typed reason why not (one page per class here).
    let moved = ok(&mut c, &Slabs::reassign_any(2));
    assert!(
        matches!(
            moved,
            Response::Ok
                | Response::Admin(
                    AdminStatus::NoSpare(_)
                        | AdminStatus::Busy(_)
                        | AdminStatus::BadClass(_)
                        | AdminStatus::NotFull(_)
                        | AdminStatus::Unsafe(_)
                )
        ),
        "{moved:?}"
    );

    let settings = |c: &mut BlockingClient| {
        [
            "hot_lru_pct",
            "warm_lru_pct",
            "hot_max_factor",
            "warm_max_factor",
        ]
        .map(|name| stat(c, Some("settings"), name))
    };
    let before = settings(&mut c);
    assert_eq!(ok(&mut c, &Lru::tune(10, 45, 0.5, 3.0)), Response::Ok);
    assert_eq!(settings(&mut c), ["10", "45", "0.50", "3.00"]);
    assert_eq!(
        server_error(&mut c, &Lru::tune(50, 40, 0.1, 2.0)),
        (
            ServerErrorKind::Error,
            "hot and warm pcts must not exceed 80".into()
        )
    );
    let factor = |s: &str| s.parse::<f64>().expect("a factor");
    let restore = Lru::tune(
        before[0].parse().expect("a pct"),
        before[1].parse().expect("a pct"),
        factor(&before[2]),
        factor(&before[3]),
    );
    assert_eq!(ok(&mut c, &restore), Response::Ok);
    assert_eq!(settings(&mut c), before);
    assert_eq!(ok(&mut c, &Lru::mode(LruMode::Segmented)), Response::Ok);
    assert_eq!(ok(&mut c, &Lru::temp_ttl(-1)), Response::Ok);
    assert_eq!(stat(&mut c, Some("settings"), "temp_lru"), "no");
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
}

#[test]
fn a_stock_server_refuses_config_get_cluster_and_refresh_certs() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    assert_eq!(
        server_error(&mut c, &ConfigGetCluster),
        (ServerErrorKind::Error, String::new())
    );
    // Debian's build has TLS support, started without it; a build without TLS does
    // not know the command.
    let (kind, message) = server_error(&mut c, &RefreshCerts);
    assert!(
        (kind, message.as_str()) == (ServerErrorKind::RefreshCertsFailed, "TLS not enabled")
            || kind == ServerErrorKind::Error,
        "{kind:?} {message}"
    );
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
}

#[test]
fn bget_raw_commands_and_stats_words() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let p = prefix("raw");
    let (k, missing) = (format!("{p}k"), format!("{p}missing"));

    let set = format!("set {k} 3 0 5");
    let Response::Raw(stored) = ok(&mut c, &Raw::new(&set, RawShape::Line).data("hello")) else {
        panic!("raw set");
    };
    assert_eq!(stored.line(0), Some(&b"STORED"[..]));
    let get = format!("get {k}");
    let value = RawShape::Block {
        length_token: 3,
        end: true,
    };
    let Response::Raw(hit) = ok(&mut c, &Raw::new(&get, value)) else {
        panic!("raw get");
    };
    assert_eq!(hit.line(0), Some(format!("VALUE {k} 3 5").as_bytes()));
    assert_eq!(hit.data(), Some(&b"hello"[..]));
    let get_missing = format!("get {missing}");
    let Response::Raw(miss) = ok(&mut c, &Raw::new(&get_missing, value)) else {
        panic!("raw get miss");
    };
    assert!(miss.is_empty() && miss.data().is_none());
    let mg = format!("mg {k} s v");
    let va = RawShape::Block {
        length_token: 1,
        end: false,
    };
    let Response::Raw(meta) = ok(&mut c, &Raw::new(&mg, va)) else {
        panic!("raw mg");
    };
    assert_eq!(
        (meta.line(0), meta.data()),
        (Some(&b"VA 5 s5"[..]), Some(&b"hello"[..]))
    );
    let mg_missing = format!("mg {missing} v");
    let Response::Raw(en) = ok(&mut c, &Raw::new(&mg_missing, va)) else {
        panic!("raw mg miss");
    };
    assert_eq!((en.line(0), en.data()), (Some(&b"EN"[..]), None));
    let Response::Raw(sizes) = ok(&mut c, &Raw::new("stats sizes", RawShape::Lines)) else {
        panic!("raw stats");
    };
    assert_eq!(sizes.line(0), Some(&b"STAT sizes_status disabled"[..]));
    assert_eq!(
        server_error(&mut c, &Raw::new("bogus", RawShape::Line)),
        (ServerErrorKind::Error, String::new())
    );
    let Response::Raw(version) = ok(&mut c, &Raw::new("version", RawShape::Line)) else {
        panic!("raw version");
    };
    assert!(version.line(0).is_some_and(|l| l.starts_with(b"VERSION ")));

    let keys = [k.as_str(), missing.as_str(), k.as_str()];
    let Response::Items(values) = ok(&mut c, &Bget::new(&keys)) else {
        panic!("bget");
    };
    assert_eq!(values.len(), 2);
    assert!(values.iter().all(|v| v.data == b"hello" && v.flags == 3));

    assert!(matches!(
        ok(&mut c, &Stats::args(&["slabs", "ignored"])),
        Response::Stats(s) if s.value("active_slabs").is_some()
    ));
    assert!(matches!(
        ok(&mut c, &Stats::args(&["detail", "dump"])),
        Response::DetailDump(_)
    ));
}

#[test]
fn a_watcher_sees_another_connections_sets() {
    let Some(server) = harness::server() else {
        return;
    };
    let p = prefix("watch");
    let key = format!("{p}watched:1");
    let start = Instant::now();
    let deadline = start + harness::TIMEOUT;

    // The watcher: the codec driven by hand, since a watch has no deadline of its own.
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut codec = Codec::with_config(harness::config());
    let mut out = BytesMut::new();
    let watch = Watch::new()
        .kind(WatchKind::Mutations)
        .kind(WatchKind::Fetchers);
    let token = codec.send(&watch, &mut out, Instant::now()).expect("sent");
    assert_eq!(&out[..], b"watch fetchers mutations\r\n");
    assert_eq!(
        codec.send(&Version, &mut out, Instant::now()),
        Err(EncodeError::Watching)
    );
    stream.write_all(&out).expect("write");
    let mut input = BytesMut::new();
    let mut read = |codec: &mut Codec, input: &mut BytesMut| {
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => codec.handle_eof(),
            Ok(n) => input.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
    };
    let ok_done = loop {
        assert!(Instant::now() < deadline, "no OK for the watch");
        if let Some(done) = codec.decode(&mut input, Instant::now()).expect("decoded") {
            break done;
        }
        read(&mut codec, &mut input);
    };
    assert_eq!(
        (ok_done.token, ok_done.is_final(), ok_done.result),
        (token, false, Ok(Response::Watching))
    );
    assert!(codec.is_watching() && codec.poll_timeout().is_none());

    // Another connection stores and fetches the key.
    let mut other = server.client();
    assert_eq!(ok(&mut other, &Store::set(&key, "v")), Response::Stored);
    assert!(matches!(ok(&mut other, &Get::new(&key)), Response::Hit(_)));

    let (mut stored, mut fetched) = (false, false);
    while !(stored && fetched) {
        assert!(
            Instant::now() < deadline,
            "log lines for {key} (stored {stored}, fetched {fetched})"
        );
        let Some(done) = codec.decode(&mut input, Instant::now()).expect("decoded") else {
            read(&mut codec, &mut input);
            continue;
        };
        assert_eq!((done.token, done.is_final()), (token, false));
        let Ok(Response::Log(line)) = &done.result else {
            panic!("{done:?}");
        };
        if line.key().as_deref() == Some(key.as_bytes()) {
            match line.kind() {
                Some(b"item_store") => {
                    stored = true;
                    assert_eq!(line.get("status"), Some(&b"stored"[..]));
                }
                Some(b"item_get") => fetched = true,
                _ => {}
            }
        }
    }
    assert_eq!(codec.pending(), 1);
    // The connection's end is the watch's final completion.
    codec.handle_eof();
    let last = codec
        .decode(&mut input, Instant::now())
        .expect("the end")
        .expect("a completion");
    assert!(last.is_final() && last.token == token && last.result.is_err());
}

/// Why nothing is sent behind a dump: memcached does not answer a command pipelined
/// after `lru_crawler metadump` in order. Depending on timing, 1.6.18 answers it
/// *before* the dump, or leaves it unread until the connection's next read event (so
/// not at all here): never after the dump's `END`, where a codec pairing replies by
/// position would look for it. The codec refuses to send it
/// ([`EncodeError::DumpPending`]).
#[test]
fn memcached_does_not_answer_a_command_behind_a_dump_in_order() {
    let Some(server) = harness::server() else {
        return;
    };
    let mut c = server.client();
    let key = format!("{}k", prefix("behind"));
    assert_eq!(ok(&mut c, &Store::set(&key, "x")), Response::Stored);
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    stream
        .write_all(b"lru_crawler metadump all\r\nversion\r\n")
        .expect("write");
    let deadline = Instant::now() + harness::TIMEOUT;
    let mut got = Vec::new();
    // Until the dump's end, then a little longer for a reply behind it.
    let mut quiet_after_end = 0;
    while quiet_after_end < 6 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            got.escape_ascii().to_string()
        );
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if got.windows(5).any(|w| w == b"END\r\n") {
                    quiet_after_end += 1;
                }
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    let end = got
        .windows(5)
        .position(|w| w == b"END\r\n")
        .expect("the dump's end")
        + 5;
    assert!(
        got[..end].windows(key.len()).any(|w| w == key.as_bytes()),
        "the dump lists the key"
    );
    assert!(
        !got[end..].starts_with(b"VERSION"),
        "answered in order after all: {:?}",
        got.escape_ascii().to_string()
    );
}
