//! The owned commands against the codec: what they write, what maps back, what the
//! codec refuses.

use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::{Codec, EncodeError, Limits, Token};

use super::*;
use crate::{ParseResult, Server, parse_request};

/// Sends `cmd` to a fresh codec that writes exactly what it is asked (no automatic
/// opaque) and may send 8-byte client flags: the result and the bytes written.
fn sent(cmd: &Cmd) -> (Result<Option<Token>, EncodeError>, Vec<u8>) {
    let config = memcache_codec::Config::DEFAULT
        .with_auto_opaque(false)
        .with_large_client_flags(true);
    let mut codec = Codec::with_config(config);
    let mut out = BytesMut::new();
    let result = cmd.send(&mut codec, &mut out, Instant::now());
    (result, out.to_vec())
}

/// The one request `bytes` hold, mapped back.
fn parsed(bytes: &[u8]) -> Option<Cmd> {
    match parse_request(bytes) {
        ParseResult::Request { request, consumed } => {
            assert_eq!(
                consumed,
                bytes.len(),
                "one request: {:?}",
                bytes.escape_ascii()
            );
            Cmd::from_request(&request)
        }
        other => panic!("{other:?} for {:?}", bytes.escape_ascii().to_string()),
    }
}

fn every_mg_flag() -> Vec<MgFlag> {
    vec![
        MgFlag::Base64,
        MgFlag::Quiet,
        MgFlag::Opaque("o1".into()),
        MgFlag::ReturnValue,
        MgFlag::ReturnCas,
        MgFlag::ReturnClientFlags,
        MgFlag::ReturnHitBefore,
        MgFlag::ReturnKey,
        MgFlag::ReturnLastAccess,
        MgFlag::ReturnSize,
        MgFlag::ReturnTtl,
        MgFlag::NoBump,
        MgFlag::Touch(-1),
        MgFlag::Vivify(30),
        MgFlag::Recache(5),
        MgFlag::NewCas(7),
        MgFlag::CompareCas(u64::MAX),
    ]
}

fn every_ms_flag() -> Vec<MsFlag> {
    vec![
        MsFlag::Base64,
        MsFlag::Quiet,
        MsFlag::Opaque("o2".into()),
        MsFlag::ReturnCas,
        MsFlag::ReturnKey,
        MsFlag::Invalidate,
        MsFlag::ReturnSize,
        MsFlag::ClientFlags(u64::MAX),
        MsFlag::Ttl(i32::MIN),
        MsFlag::CompareCas(3),
        MsFlag::NewCas(4),
        MsFlag::Autovivify(0),
        MsFlag::Mode(MsMode::Prepend),
    ]
}

fn every_md_flag() -> Vec<MdFlag> {
    vec![
        MdFlag::Base64,
        MdFlag::Quiet,
        MdFlag::Opaque("o3".into()),
        MdFlag::ReturnKey,
        MdFlag::Invalidate,
        MdFlag::RemoveValue,
        MdFlag::CompareCas(9),
        MdFlag::NewCas(10),
        MdFlag::Ttl(2_592_001),
    ]
}

fn every_ma_flag() -> Vec<MaFlag> {
    vec![
        MaFlag::Base64,
        MaFlag::Quiet,
        MaFlag::Opaque("o4".into()),
        MaFlag::ReturnValue,
        MaFlag::ReturnCas,
        MaFlag::ReturnTtl,
        MaFlag::ReturnKey,
        MaFlag::Delta(u64::MAX),
        MaFlag::Autovivify(-5),
        MaFlag::Initial(42),
        MaFlag::Ttl(60),
        MaFlag::CompareCas(1),
        MaFlag::NewCas(2),
        MaFlag::Mode(MaMode::Decr),
    ]
}

/// Every variant, every store mode, stats form and meta flag, with and without
/// noreply, and the bytes each writes.
fn samples() -> Vec<(Cmd, &'static [u8])> {
    let key = || Key::from("k");
    let store = |mode, noreply| Cmd::Store {
        mode,
        key: key(),
        value: "hi".into(),
        flags: 3,
        exptime: -1,
        noreply,
    };
    vec![
        (
            Cmd::Get {
                key: key(),
                cas: false,
                touch: None,
            },
            b"get k\r\n",
        ),
        (
            Cmd::Get {
                key: key(),
                cas: true,
                touch: Some(100),
            },
            b"gats 100 k\r\n",
        ),
        (
            Cmd::GetMulti {
                keys: vec!["a".into(), "b".into(), "a".into()],
                cas: true,
                touch: None,
            },
            b"gets a b a\r\n",
        ),
        (
            Cmd::GetMulti {
                keys: vec!["a".into(), "b".into()],
                cas: false,
                touch: Some(-1),
            },
            b"gat -1 a b\r\n",
        ),
        (store(StoreMode::Set, false), b"set k 3 -1 2\r\nhi\r\n"),
        (
            store(StoreMode::Add, true),
            b"add k 3 -1 2 noreply\r\nhi\r\n",
        ),
        (
            store(StoreMode::Replace, false),
            b"replace k 3 -1 2\r\nhi\r\n",
        ),
        (
            store(StoreMode::Append, false),
            b"append k 3 -1 2\r\nhi\r\n",
        ),
        (
            store(StoreMode::Prepend, true),
            b"prepend k 3 -1 2 noreply\r\nhi\r\n",
        ),
        (
            store(StoreMode::Cas(77), true),
            b"cas k 3 -1 2 77 noreply\r\nhi\r\n",
        ),
        (
            Cmd::Delete {
                key: "noreply".into(),
                noreply: false,
            },
            b"delete noreply\r\n",
        ),
        (
            Cmd::Delete {
                key: key(),
                noreply: true,
            },
            b"delete k noreply\r\n",
        ),
        (
            Cmd::Touch {
                key: key(),
                exptime: 30,
                noreply: true,
            },
            b"touch k 30 noreply\r\n",
        ),
        (
            Cmd::Incr {
                key: key(),
                delta: u64::MAX,
                noreply: false,
            },
            b"incr k 18446744073709551615\r\n",
        ),
        (
            Cmd::Decr {
                key: key(),
                delta: 0,
                noreply: true,
            },
            b"decr k 0 noreply\r\n",
        ),
        (Cmd::Stats(StatsArgs::None), b"stats\r\n"),
        (
            Cmd::Stats(StatsArgs::Word("reset".into())),
            b"stats reset\r\n",
        ),
        (
            Cmd::Stats(StatsArgs::Detail(false)),
            b"stats detail off\r\n",
        ),
        (Cmd::Stats(StatsArgs::DetailDump), b"stats detail dump\r\n"),
        (
            Cmd::Stats(StatsArgs::CacheDump { class: 1, limit: 0 }),
            b"stats cachedump 1 0\r\n",
        ),
        (Cmd::Version, b"version\r\n"),
        (
            Cmd::Verbosity {
                level: 1,
                noreply: true,
            },
            b"verbosity 1 noreply\r\n",
        ),
        (
            Cmd::FlushAll {
                delay: None,
                noreply: false,
            },
            b"flush_all\r\n",
        ),
        (
            Cmd::FlushAll {
                delay: Some(0),
                noreply: true,
            },
            b"flush_all 0 noreply\r\n",
        ),
        (
            Cmd::CacheMemlimit {
                megabytes: 64,
                noreply: true,
            },
            b"cache_memlimit 64 noreply\r\n",
        ),
        (Cmd::Quit, b"quit\r\n"),
        (Cmd::Shutdown { graceful: false }, b"shutdown\r\n"),
        (Cmd::Shutdown { graceful: true }, b"shutdown graceful\r\n"),
        (
            Cmd::MetaGet {
                key: "ab".into(),
                flags: every_mg_flag(),
            },
            b"mg YWI= b q Oo1 v c f h k l s t u T-1 N30 R5 E7 C18446744073709551615\r\n",
        ),
        (
            Cmd::MetaSet {
                key: "ab".into(),
                value: "xyz".into(),
                flags: every_ms_flag(),
            },
            b"ms YWI= 3 b q Oo2 c k I s F18446744073709551615 T-2147483648 C3 E4 N0 MP\r\nxyz\r\n",
        ),
        (
            Cmd::MetaDelete {
                key: key(),
                flags: every_md_flag(),
            },
            b"md aw== b q Oo3 k I x C9 E10 T2592001\r\n",
        ),
        (
            Cmd::MetaArithmetic {
                key: key(),
                flags: every_ma_flag(),
            },
            b"ma aw== b q Oo4 v c t k D18446744073709551615 N-5 J42 T60 C1 E2 MD\r\n",
        ),
        (Cmd::MetaNoop, b"mn\r\n"),
        (
            Cmd::MetaDebug {
                key: key(),
                base64: false,
            },
            b"me k\r\n",
        ),
        (
            Cmd::MetaDebug {
                key: "ab".into(),
                base64: true,
            },
            b"me YWI= b\r\n",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Crawl(Target::Classes(vec![1, 2]))),
            b"lru_crawler crawl 1,2\r\n",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Metadump(Target::Hash)),
            b"lru_crawler metadump hash\r\n",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Mgdump(Target::All)),
            b"lru_crawler mgdump all\r\n",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Sleep(1_000_000)),
            b"lru_crawler sleep 1000000\r\n",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Tocrawl(0)),
            b"lru_crawler tocrawl 0\r\n",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Disable),
            b"lru_crawler disable\r\n",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Enable),
            b"lru_crawler enable\r\n",
        ),
        (
            Cmd::Slabs(SlabsCmd::Automove(
                memcache_codec::command::Automove::Aggressive,
            )),
            b"slabs automove 2\r\n",
        ),
        (
            Cmd::Slabs(SlabsCmd::Reassign { src: None, dst: 3 }),
            b"slabs reassign -1 3\r\n",
        ),
        (
            Cmd::Slabs(SlabsCmd::Reassign {
                src: Some(1),
                dst: 2,
            }),
            b"slabs reassign 1 2\r\n",
        ),
        (
            Cmd::Lru(LruCmd::Tune {
                hot_pct: 20,
                warm_pct: 40,
                hot_max_factor: 0.2.into(),
                warm_max_factor: 2.0.into(),
            }),
            b"lru tune 20 40 0.2 2\r\n",
        ),
        (
            Cmd::Lru(LruCmd::Mode(memcache_codec::command::LruMode::Segmented)),
            b"lru mode segmented\r\n",
        ),
        (Cmd::Lru(LruCmd::TempTtl(-1)), b"lru temp_ttl -1\r\n"),
        (Cmd::RefreshCerts, b"refresh_certs\r\n"),
        (
            Cmd::Stats(StatsArgs::Words(vec!["detail".into(), "on".into()])),
            b"stats detail on\r\n",
        ),
        (
            Cmd::Stats(StatsArgs::Words(vec!["items".into(), "x".into()])),
            b"stats items x\r\n",
        ),
        (
            Cmd::Bget {
                keys: vec!["a".into(), "b".into()],
            },
            b"bget a b\r\n",
        ),
        (
            Cmd::Watch {
                kinds: vec![
                    memcache_codec::command::WatchKind::Mutations,
                    memcache_codec::command::WatchKind::Fetchers,
                ],
            },
            b"watch fetchers mutations\r\n",
        ),
    ]
}

/// Commands whose bytes map back to another command (`Cmd::Raw`, and
/// `ConfigGetCluster`, which a stock memcached refuses), with what they write.
fn samples_elsewhere() -> Vec<(Cmd, &'static [u8])> {
    vec![
        (Cmd::ConfigGetCluster, b"config get cluster\r\n"),
        (
            Cmd::Raw {
                line: b"version".to_vec(),
                data: None,
                shape: memcache_codec::command::RawShape::Line,
            },
            b"version\r\n",
        ),
        (
            Cmd::Raw {
                line: b"set k 0 0 2".to_vec(),
                data: Some("hi".into()),
                shape: memcache_codec::command::RawShape::Line,
            },
            b"set k 0 0 2\r\nhi\r\n",
        ),
    ]
}

#[test]
fn admin_and_raw_commands_write_their_line() {
    for (cmd, wire) in samples_elsewhere() {
        let (result, out) = sent(&cmd);
        assert!(result.is_ok_and(|t| t.is_some()), "{cmd:?}");
        assert_eq!(out, wire);
        assert_eq!(cmd.validate(&Limits::DEFAULT), Ok(()), "{cmd:?}");
    }
    assert_eq!(
        parsed(b"config get cluster\r\n"),
        Some(Cmd::ConfigGetCluster)
    );
    // Raw lines map to the typed command that writes them, or to nothing.
    assert_eq!(parsed(b"version\r\n"), Some(Cmd::Version));
    assert_eq!(parsed(b"lru_crawler bogus\r\n"), None);
    // Stats words normalize to the forms with a variant of their own.
    let words =
        |w: &[&str]| Cmd::Stats(StatsArgs::Words(w.iter().map(|w| Word::from(*w)).collect()));
    for (cmd, wire) in [
        (words(&[]), &b"stats\r\n"[..]),
        (words(&["reset"]), b"stats reset\r\n"),
        (words(&["detail", "dump"]), b"stats detail dump\r\n"),
        (words(&["cachedump", "1", "0"]), b"stats cachedump 1 0\r\n"),
        (
            words(&["cachedump", "01", "0"]),
            b"stats cachedump 01 0\r\n",
        ),
    ] {
        let out = sent(&cmd).1;
        assert_eq!(out, wire);
        assert_eq!(parsed(&out), Some(cmd.normalized()), "{cmd:?}");
    }
    // Watch kinds: written in one order, each once.
    let watch = Cmd::Watch {
        kinds: vec![
            memcache_codec::command::WatchKind::Evictions,
            memcache_codec::command::WatchKind::Fetchers,
            memcache_codec::command::WatchKind::Evictions,
        ],
    };
    assert_eq!(sent(&watch).1, b"watch fetchers evictions\r\n");
    assert_eq!(
        parsed(b"watch fetchers evictions\r\n"),
        Some(watch.normalized())
    );
    assert_eq!(parsed(b"watch evictions fetchers\r\n"), None);
}

#[test]
fn every_command_writes_its_line_and_maps_back() {
    for (cmd, wire) in samples() {
        let (result, out) = sent(&cmd);
        let token = result.unwrap_or_else(|e| panic!("{cmd:?} refused: {e}"));
        assert_eq!(
            out.escape_ascii().to_string(),
            wire.escape_ascii().to_string()
        );
        assert_eq!(token.is_none(), cmd.is_noreply(), "{cmd:?}");
        assert_eq!(cmd.validate(&Limits::DEFAULT), Ok(()), "{cmd:?}");
        assert_eq!(parsed(&out), Some(cmd.normalized()), "{cmd:?}");
    }
}

#[test]
fn with_command_marks_how_to_send() {
    for (cmd, _) in samples() {
        let noreply = cmd.with_command(|c| matches!(c, Sendable::Noreply(_)));
        assert_eq!(noreply, cmd.is_noreply(), "{cmd:?}");
    }
}

#[test]
fn the_model_server_accepts_what_the_samples_write() {
    // Every sample but the flags memcached 1.6.18 refuses (`E`, `md x`) and the
    // connection enders.
    let mut server = Server::new();
    for (cmd, wire) in samples() {
        // (and `mgdump`, from 1.6.19).
        let unimplemented = cmd.meta_flags().is_some_and(|f| f.has(b'E') || f.has(b'x'))
            || matches!(cmd, Cmd::LruCrawler(CrawlerCmd::Mgdump(_)));
        if unimplemented || cmd.closes() {
            continue;
        }
        let mut reply = Vec::new();
        server.feed(wire, &mut reply);
        assert!(
            !reply.starts_with(b"ERROR") && !reply.starts_with(b"CLIENT_ERROR"),
            "{:?} -> {:?}",
            wire.escape_ascii().to_string(),
            reply.escape_ascii().to_string()
        );
    }
}

#[test]
fn a_flag_given_twice_keeps_its_first_place_and_last_token() {
    let cmd = Cmd::MetaGet {
        key: "k".into(),
        flags: vec![
            MgFlag::Opaque("1".into()),
            MgFlag::ReturnValue,
            MgFlag::Touch(5),
            MgFlag::Opaque("2".into()),
            MgFlag::ReturnValue,
            MgFlag::Touch(6),
        ],
    };
    let normalized = Cmd::MetaGet {
        key: "k".into(),
        flags: vec![
            MgFlag::Opaque("2".into()),
            MgFlag::ReturnValue,
            MgFlag::Touch(6),
        ],
    };
    assert_eq!(cmd.normalized(), normalized);
    let (result, out) = sent(&cmd);
    assert!(result.is_ok());
    assert_eq!(out, b"mg k O2 v T6\r\n");
    assert_eq!(parsed(&out), Some(normalized));
    assert_eq!(cmd.opaque(), Some(&b"2"[..]));
    let flags = cmd.meta_flags().expect("a meta command");
    assert_eq!(flags.letters(), b"OvT");
    assert_eq!((flags.ttl, flags.opaque), (Some(6), Some("2".into())));
    // A one-key GetMulti is written like a Get.
    let multi = Cmd::GetMulti {
        keys: vec!["k".into()],
        cas: false,
        touch: None,
    };
    assert_eq!(sent(&multi).1, b"get k\r\n");
    assert_eq!(parsed(b"get k\r\n"), Some(multi.normalized()));
}

#[test]
fn what_the_codec_cannot_have_written_does_not_map() {
    for line in [
        &b"get\r\n"[..],
        b"gat 01 k\r\n",
        b"set k 0 0 1 extra\r\nx\r\n",
        b"delete k 0\r\n",
        b"incr k -1\r\n",
        b"mg k v v\r\n",
        b"mg k Y\r\n",
        b"mg YQ b\r\n",
        b"ms k 1 MX\r\nx\r\n",
        b"ma k MIX\r\n",
        b"me k c\r\n",
        b"foobar\r\n",
        b"version x\r\n",
        b"shutdown now\r\n",
        b"lru_crawler crawl hash\r\n",
        b"lru_crawler crawl 1,,2\r\n",
        b"lru_crawler metadump 01\r\n",
        b"lru_crawler sleep 1000001\r\n",
        b"slabs reassign 2147483648 1\r\n",
        b"slabs automove 3\r\n",
        b"lru tune 10 40 0.10 2\r\n",
        b"lru tune 10 40 0 2\r\n",
        b"lru tune 10 40 1e5 2\r\n",
        b"lru mode bogus\r\n",
        b"watch fetchers fetchers\r\n",
        b"watch bogus\r\n",
        b"config get other\r\n",
        b"refresh_certs now\r\n",
        b"bget\r\n",
        b"stats detail \xff\r\n",
    ] {
        let mapped = match parse_request(line) {
            ParseResult::Request { request, .. } => Cmd::from_request(&request),
            _ => None,
        };
        assert_eq!(mapped, None, "{:?}", line.escape_ascii().to_string());
    }
}

#[test]
fn validation_agrees_with_the_codec() {
    let long = Key(vec![b'k'; 251]);
    let invalid = [
        (
            Cmd::Get {
                key: long.clone(),
                cas: false,
                touch: None,
            },
            "key",
        ),
        (
            Cmd::GetMulti {
                keys: vec![],
                cas: false,
                touch: None,
            },
            "no keys",
        ),
        (
            Cmd::GetMulti {
                keys: vec!["k".into(); 17],
                cas: false,
                touch: None,
            },
            "too many keys",
        ),
        (
            Cmd::Delete {
                key: "a b".into(),
                noreply: true,
            },
            "key",
        ),
        (Cmd::Stats(StatsArgs::Word("".into())), "stats word"),
        (
            Cmd::FlushAll {
                delay: Some(u32::MAX),
                noreply: false,
            },
            "flush delay",
        ),
        (
            Cmd::MetaGet {
                key: "k".into(),
                flags: vec![MgFlag::Recache(u32::MAX)],
            },
            "recache",
        ),
        (
            Cmd::MetaGet {
                key: Key(vec![0; 188]),
                flags: vec![MgFlag::Base64],
            },
            "meta key",
        ),
        (
            Cmd::MetaSet {
                key: "k".into(),
                value: "v".into(),
                flags: vec![MsFlag::Opaque(Opaque(vec![b'o'; 32]))],
            },
            "opaque",
        ),
        (
            Cmd::MetaDelete {
                key: "k".into(),
                flags: vec![MdFlag::Opaque("bad opaque".into())],
            },
            "opaque",
        ),
        (
            Cmd::MetaDebug {
                key: "".into(),
                base64: true,
            },
            "meta key",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Crawl(Target::Hash)),
            "crawl hash",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Metadump(Target::Classes(vec![]))),
            "class list",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Mgdump(Target::Classes(vec![u32::MAX; 200]))),
            "line length",
        ),
        (
            Cmd::LruCrawler(CrawlerCmd::Sleep(1_000_001)),
            "crawler sleep",
        ),
        (
            Cmd::Slabs(SlabsCmd::Reassign {
                src: Some(1 << 31),
                dst: 1,
            }),
            "slab class",
        ),
        (
            Cmd::Lru(LruCmd::Tune {
                hot_pct: 1,
                warm_pct: 1,
                hot_max_factor: f64::NAN.into(),
                warm_max_factor: 1.0.into(),
            }),
            "lru factor",
        ),
        (
            Cmd::Lru(LruCmd::Tune {
                hot_pct: 1,
                warm_pct: 1,
                hot_max_factor: 1.0.into(),
                warm_max_factor: 1e-300.into(),
            }),
            "lru factor",
        ),
        (Cmd::Bget { keys: vec![] }, "no keys"),
        (
            Cmd::Bget {
                keys: vec!["a b".into()],
            },
            "key",
        ),
        (
            Cmd::Stats(StatsArgs::Words(vec!["a".into(), "b\n".into()])),
            "stats word",
        ),
        (
            Cmd::Stats(StatsArgs::Words(vec![Word(vec![b'w'; 250]); 9])),
            "line length",
        ),
        (
            Cmd::Raw {
                line: b"get  k".to_vec(),
                data: None,
                shape: memcache_codec::command::RawShape::Line,
            },
            "raw token",
        ),
        (
            Cmd::Raw {
                line: b"flush_all noreply".to_vec(),
                data: None,
                shape: memcache_codec::command::RawShape::Line,
            },
            "raw refusal",
        ),
        (
            Cmd::Raw {
                line: b"mg k v q".to_vec(),
                data: None,
                shape: memcache_codec::command::RawShape::Line,
            },
            "raw refusal",
        ),
        (
            Cmd::Raw {
                line: b"set k 0 0 3".to_vec(),
                data: Some("hi".into()),
                shape: memcache_codec::command::RawShape::Line,
            },
            "raw data length",
        ),
        (
            Cmd::Raw {
                line: vec![b'x'; 2047],
                data: None,
                shape: memcache_codec::command::RawShape::Line,
            },
            "line length",
        ),
    ];
    let limits = Limits::DEFAULT.with_max_values_per_reply(16);
    for (cmd, rule) in invalid {
        assert_eq!(cmd.validate(&limits), Err(rule), "{cmd:?}");
        let mut codec = Codec::with_config(memcache_codec::Config::DEFAULT.with_limits(limits));
        let mut out = BytesMut::from(&b"x"[..]);
        assert!(
            cmd.send(&mut codec, &mut out, Instant::now()).is_err(),
            "{cmd:?}"
        );
        assert_eq!((&out[..], codec.pending()), (&b"x"[..], 0));
    }
    // The longest binary key that encodes to 250 bytes, and the last opaque given wins.
    let fits = [
        Cmd::MetaGet {
            key: Key(vec![0; 186]),
            flags: vec![MgFlag::Base64],
        },
        Cmd::MetaSet {
            key: "k".into(),
            value: "v".into(),
            flags: vec![
                MsFlag::Opaque("bad opaque".into()),
                MsFlag::Opaque("fine".into()),
            ],
        },
    ];
    for cmd in fits {
        assert_eq!(cmd.validate(&limits), Ok(()), "{cmd:?}");
        assert!(sent(&cmd).0.is_ok(), "{cmd:?}");
    }
}

#[test]
fn resolution_hooks_and_loud() {
    let mut cmd = Cmd::MetaSet {
        key: "k".into(),
        value: "v".into(),
        flags: vec![
            MsFlag::Mode(MsMode::Set),
            MsFlag::CompareCas(0),
            MsFlag::Quiet,
            MsFlag::Opaque("0".into()),
        ],
    };
    *cmd.compare_cas_mut().expect("a C flag") = 12;
    *cmd.opaque_mut().expect("an O flag") = "7".into();
    assert!(cmd.is_quiet());
    assert_eq!(sent(&cmd).1, b"ms k 1 MS C12 q O7\r\nv\r\n");
    let loud = cmd.loud();
    assert!(!loud.is_quiet());
    assert_eq!(sent(&loud).1, b"ms k 1 MS C12 O7\r\nv\r\n");

    let mut cas = Cmd::Store {
        mode: StoreMode::Cas(0),
        key: "k".into(),
        value: "v".into(),
        flags: 0,
        exptime: 0,
        noreply: true,
    };
    *cas.compare_cas_mut().expect("a cas") = 5;
    assert!(cas.opaque_mut().is_none());
    assert_eq!(
        sent(&cas),
        (Ok(None), b"cas k 0 0 1 5 noreply\r\nv\r\n".to_vec())
    );
    assert!(sent(&cas.loud()).0.is_ok_and(|t| t.is_some()));
    assert!(Cmd::Version.compare_cas_mut().is_none());
    assert_eq!(
        Cmd::GetMulti {
            keys: vec!["a".into(), "b".into()],
            cas: false,
            touch: None
        }
        .keys()
        .len(),
        2
    );
}

#[cfg(feature = "proptest")]
mod generated {
    use proptest::prelude::*;

    use super::*;
    use crate::command::strategy::{self, Domain};

    const KEYS: &[&[u8]] = &[b"a", b"b", b"user:42"];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

        /// Every generated command is valid, and what it writes maps back to it.
        #[test]
        fn generated_commands_are_sent_and_map_back(cmd in strategy::cmd(&Domain::new(KEYS))) {
            prop_assert_eq!(cmd.validate(&Limits::DEFAULT), Ok(()));
            let (result, out) = sent(&cmd);
            prop_assert!(result.is_ok(), "{:?}: {:?}", cmd, result);
            prop_assert_eq!(parsed(&out), Some(cmd.normalized()));
            // Generated meta flags are already each once.
            if cmd.meta_flags().is_some() {
                prop_assert_eq!(cmd.normalized(), cmd);
            }
        }

        /// The same for the admin commands, the dumps and watch; a raw command maps back
        /// to the typed command that writes its line, or to nothing.
        #[test]
        fn generated_admin_commands_are_sent_and_map_back(
            cmd in prop_oneof![
                strategy::admin(&Domain::new(KEYS)),
                strategy::dump(),
                strategy::watch(),
            ]
        ) {
            prop_assert_eq!(cmd.validate(&Limits::DEFAULT), Ok(()));
            let (result, out) = sent(&cmd);
            prop_assert!(result.is_ok_and(|t| t.is_some()), "{:?}", cmd);
            match &cmd {
                Cmd::Raw { line, data, .. } => {
                    let mut want = line.clone();
                    want.extend_from_slice(b"\r\n");
                    if let Some(data) = data {
                        want.extend_from_slice(&data.0);
                        want.extend_from_slice(b"\r\n");
                    }
                    prop_assert_eq!(out, want);
                }
                _ => prop_assert_eq!(parsed(&out), Some(cmd.normalized())),
            }
        }
    }
}

#[cfg(feature = "arbitrary")]
mod arbitrary_layout {
    use arbitrary::{Arbitrary, Unstructured};

    use super::*;
    use crate::command::pools::{KEY_POOL, VALUE_POOL};

    #[test]
    fn keys_come_from_the_pool_below_224() {
        let key = |bytes: &[u8]| Key::arbitrary(&mut Unstructured::new(bytes)).expect("a key");
        assert_eq!(key(&[0]).0, KEY_POOL[0]);
        assert_eq!(key(&[9]).0, KEY_POOL[1]);
        assert_eq!(key(&[223]).0, KEY_POOL[223 % KEY_POOL.len()]);
        // 224 and up: arbitrary bytes (a length from the end, then the bytes).
        assert_ne!(key(&[224, b'z', b'z', 1]).0, KEY_POOL[0]);
        assert_eq!(
            Value::arbitrary(&mut Unstructured::new(&[3]))
                .expect("a value")
                .0,
            VALUE_POOL[3]
        );
    }

    /// The byte layout fuzz inputs depend on (see `pools`): these bytes read as these
    /// commands, as they did with the fuzz crate's own `Cmd` before it moved here (but for client flags, `u64` since 8-byte flags came). A
    /// reordered variant, field or flag breaks it.
    #[test]
    fn the_byte_layout_is_pinned() {
        let cases: [(&[u8], Cmd, usize); 5] = [
            (
                &[
                    94, 245, 76, 38, 85, 156, 49, 52, 234, 79, 141, 93, 177, 189, 15, 142, 120,
                    131, 201, 81, 22, 236, 14, 122,
                ],
                Cmd::Store {
                    mode: StoreMode::Add,
                    key: Key(vec![0x8d, 0xb1, 0x0f]),
                    value: "0".into(),
                    // 8 bytes since client flags are `u64`; the input then runs out
                    // and the exptime reads as 0.
                    flags: 34_356_354_308_229_507,
                    exptime: 0,
                    noreply: false,
                },
                0,
            ),
            (
                &[
                    31, 28, 142, 23, 13, 95, 45, 132, 212, 1, 29, 39, 3, 166, 170, 4, 44, 152, 187,
                    171, 55, 116, 210, 48,
                ],
                Cmd::GetMulti {
                    keys: vec!["s_mg".into(), "user:42".into()],
                    cas: true,
                    touch: Some(-1_431_960_793),
                },
                9,
            ),
            (
                &[
                    103, 159, 97, 196, 95, 185, 245, 244, 80, 55, 11, 195, 75, 93, 29, 26, 147,
                    166, 104, 202, 177, 178, 95, 195,
                ],
                Cmd::MetaSet {
                    key: "s_mg".into(),
                    value: "hello".into(),
                    flags: vec![
                        MsFlag::Base64,
                        MsFlag::Quiet,
                        MsFlag::CompareCas(12_804_018),
                    ],
                },
                0,
            ),
            (
                &[
                    36, 99, 6, 187, 9, 95, 246, 127, 157, 88, 243, 244, 88, 247, 165, 187, 229,
                    229, 198, 164, 51, 70, 77, 196,
                ],
                Cmd::MetaGet {
                    key: "b".into(),
                    flags: vec![
                        MgFlag::ReturnClientFlags,
                        MgFlag::NoBump,
                        MgFlag::ReturnTtl,
                        MgFlag::Base64,
                    ],
                },
                0,
            ),
            (
                &[
                    217, 59, 150, 221, 92, 189, 18, 169, 204, 189, 253, 154, 107, 19, 171, 115, 81,
                    121, 109, 146, 175, 74, 78, 60,
                ],
                Cmd::MetaArithmetic {
                    key: "user:42".into(),
                    flags: vec![MaFlag::Ttl(325_819_133), MaFlag::ReturnTtl],
                },
                4,
            ),
        ];
        for (bytes, want, left) in cases {
            let mut u = Unstructured::new(bytes);
            assert_eq!(Cmd::arbitrary(&mut u).expect("a command"), want);
            assert_eq!(u.len(), left, "{want:?}");
        }
    }
}
