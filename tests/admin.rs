//! Admin commands, `watch` and raw commands, reply shape by reply shape: what each
//! writes and refuses, what each reply decodes to (whole, byte by byte and cut at
//! every position), and which server bytes poison the codec.

mod common;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{decode_every_way, snippet_of};
use memcache_codec::command::{
    Automove, Bget, Command, ConfigGetCluster, CrawlTarget, Lru, LruCrawler, LruMode, MetaGet,
    MetaNoop, Raw, RawShape, RefreshCerts, Slabs, Stats, Version, Watch, WatchKind,
};
use memcache_codec::response::AdminStatus;
use memcache_codec::{
    Codec, CommandError, Completion, Config, ConnectionError, DecodeError, EncodeError, KeyError,
    Limits, Response, ServerErrorKind, TokenError,
};

fn codec(limits: Limits, commands: &[&dyn Command]) -> Codec {
    let mut codec = Codec::with_config(Config::DEFAULT.with_limits(limits));
    let mut out = BytesMut::new();
    for c in commands {
        codec
            .send(*c, &mut out, Instant::now())
            .expect("valid command");
    }
    codec
}

/// What `commands` write.
fn wire(commands: &[&dyn Command]) -> Vec<u8> {
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    for c in commands {
        codec
            .send(*c, &mut out, Instant::now())
            .expect("valid command");
    }
    out.to_vec()
}

/// `command` is refused with `error` and writes nothing, after `before`.
#[track_caller]
fn refused(before: &[&dyn Command], command: &dyn Command, error: EncodeError) {
    let mut codec = codec(Limits::DEFAULT, before);
    let pending = codec.pending();
    let mut out = BytesMut::from(&b"prefix"[..]);
    assert_eq!(codec.send(command, &mut out, Instant::now()), Err(error));
    assert_eq!((&out[..], codec.pending()), (&b"prefix"[..], pending));
}

/// The shapes `recv` decodes to for `commands`, the same however it is cut.
fn shapes(limits: Limits, commands: &[&dyn Command], recv: &[u8]) -> Vec<String> {
    decode_every_way(&|| codec(limits, commands), recv, false, false)
}

fn poison(error: DecodeError) -> String {
    format!("Poisoned(decode: {error})")
}

fn fail(error: &DecodeError) -> String {
    format!("Fail(decode: {error})")
}

fn unexpected(expected: &'static str, line: &[u8]) -> DecodeError {
    DecodeError::UnexpectedReply {
        expected,
        line: snippet_of(line),
    }
}

fn malformed(what: &'static str, line: &[u8]) -> DecodeError {
    DecodeError::Malformed {
        what,
        line: snippet_of(line),
    }
}

// ------------------------------------------------------------------ encoding

#[test]
fn admin_commands_write_one_checked_line() {
    let out = wire(&[
        &LruCrawler::crawl(CrawlTarget::Classes(&[1, 22, 333])),
        &LruCrawler::enable(),
        &LruCrawler::disable(),
        &LruCrawler::sleep(1_000_000),
        &LruCrawler::tocrawl(0),
        &Slabs::automove(Automove::Standby),
        &Slabs::reassign_any(63),
        &Lru::tune(0, 80, 1e-3, 12.5),
        &Lru::mode(LruMode::Flat),
        &Lru::temp_ttl(i32::MIN),
        &RefreshCerts,
        &ConfigGetCluster,
        &Stats::args(&[]),
        &Stats::args(&["slabs", "extra", "words"]),
        &Bget::new(&["a"]),
        &LruCrawler::mgdump(CrawlTarget::Hash),
    ]);
    assert_eq!(
        common::text(&out),
        common::text(
            b"lru_crawler crawl 1,22,333\r\nlru_crawler enable\r\nlru_crawler disable\r\n\
              lru_crawler sleep 1000000\r\nlru_crawler tocrawl 0\r\nslabs automove 0\r\n\
              slabs reassign -1 63\r\nlru tune 0 80 0.001 12.5\r\nlru mode flat\r\n\
              lru temp_ttl -2147483648\r\nrefresh_certs\r\nconfig get cluster\r\nstats\r\n\
              stats slabs extra words\r\nbget a\r\nlru_crawler mgdump hash\r\n"
        )
    );
    let watch = Watch::new()
        .kind(WatchKind::Proxyuser)
        .kind(WatchKind::Fetchers)
        .kind(WatchKind::Deletions)
        .kind(WatchKind::Fetchers);
    assert_eq!(wire(&[&watch]), b"watch fetchers deletions proxyuser\r\n");
    assert_eq!(wire(&[&Watch::new()]), b"watch\r\n");
}

#[test]
fn admin_arguments_memcached_would_misread_are_refused() {
    let invalid = |what| EncodeError::InvalidArgument(what);
    refused(
        &[],
        &LruCrawler::crawl(CrawlTarget::Hash),
        invalid("lru_crawler crawl takes class ids or all, not hash"),
    );
    for empty in [
        LruCrawler::crawl(CrawlTarget::Classes(&[])),
        LruCrawler::metadump(CrawlTarget::Classes(&[])),
    ] {
        refused(
            &[],
            &empty,
            invalid("an lru_crawler class list needs at least one class"),
        );
    }
    refused(
        &[],
        &LruCrawler::sleep(1_000_001),
        invalid("lru_crawler sleep is at most 1000000 microseconds"),
    );
    let many = vec![u32::MAX; 200];
    refused(
        &[],
        &LruCrawler::metadump(CrawlTarget::Classes(&many)),
        EncodeError::LineTooLong {
            len: 21 + 200 * 11 - 1 + 2,
            limit: 2048,
        },
    );
    let class = invalid("memcached reads slab class ids as 32-bit signed numbers");
    refused(&[], &Slabs::reassign(1 << 31, 1), class.clone());
    refused(&[], &Slabs::reassign_any(u32::MAX), class);
    for bad in [
        0.0,
        -0.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e-40,
        1e40,
    ] {
        let factor =
            invalid("an lru tune factor must be finite, above 0, and at most 32 characters long");
        refused(&[], &Lru::tune(10, 10, bad, 1.0), factor.clone());
        refused(&[], &Lru::tune(10, 10, 1.0, bad), factor);
    }
    let none: [&str; 0] = [];
    refused(&[], &Bget::new(&none), EncodeError::NoKeys);
    refused(
        &[],
        &Bget::new(&["a", "b c"]),
        EncodeError::InvalidKey {
            index: 1,
            reason: KeyError::ForbiddenByte {
                byte: b' ',
                offset: 1,
            },
        },
    );
    let word = |reason| EncodeError::InvalidToken {
        what: "stats argument",
        reason,
    };
    refused(
        &[],
        &Stats::args(&["detail", "dump\r\nflush_all"]),
        word(TokenError::ForbiddenByte {
            byte: b'\r',
            offset: 4,
        }),
    );
    refused(&[], &Stats::args(&["", "x"]), word(TokenError::Empty));
    let long = ["w".repeat(250)];
    let words: Vec<&str> = std::iter::repeat_n(long[0].as_str(), 9).collect();
    refused(
        &[],
        &Stats::args(&words),
        EncodeError::LineTooLong {
            len: 5 + 9 * 251 + 2,
            limit: 2048,
        },
    );
}

#[test]
fn stats_words_pick_the_reply_shape_as_memcached_does() {
    let cases: &[(&[&str], &[u8], &str)] = &[
        (&["reset", "x"], b"RESET\r\n", "Reset"),
        (&["detail", "on", "x"], b"OK\r\n", "Ok"),
        (&["detail", "off"], b"OK\r\n", "Ok"),
        (&["detail", "dump", "x"], b"END\r\n", "DetailDump[]"),
        (
            &["cachedump", "1", "0"],
            b"ITEM k [1 b; 0 s]\r\nEND\r\n",
            "CacheDump[k 1 0]",
        ),
        (&["settings"], b"STAT a b\r\nEND\r\n", "Stats[a=b]"),
        (&["items", "1"], b"END\r\n", "Stats[]"),
        (&[], b"STAT pid 1\r\nEND\r\n", "Stats[pid=1]"),
    ];
    for (words, recv, want) in cases {
        let got = shapes(Limits::DEFAULT, &[&Stats::args(words)], recv);
        assert_eq!(got, [*want, "End(pending=0, buffered=0)"], "{words:?}");
    }
}

#[test]
fn nothing_is_sent_behind_a_dump_or_a_watch() {
    let dump = LruCrawler::metadump(CrawlTarget::All);
    let mgdump = LruCrawler::mgdump(CrawlTarget::All);
    refused(&[&dump], &Version, EncodeError::DumpPending);
    refused(&[&mgdump], &MetaNoop, EncodeError::DumpPending);
    refused(&[&Watch::new()], &Version, EncodeError::Watching);
    refused(&[&Watch::new()], &Watch::new(), EncodeError::Watching);
    // Before: allowed (memcached answers `cannot pipeline` if replies were queued).
    assert_eq!(
        wire(&[&Version, &dump]),
        b"version\r\nlru_crawler metadump all\r\n"
    );

    // Once the dump has completed, the connection is open again.
    let mut codec = codec(Limits::DEFAULT, &[&dump]);
    let mut input = BytesMut::from(&b"END\r\n"[..]);
    let done = codec.decode(&mut input, Instant::now()).unwrap().unwrap();
    assert_eq!(done.result, Ok(Response::MetaDump(Vec::new())));
    let mut out = BytesMut::new();
    assert!(codec.send(&Version, &mut out, Instant::now()).is_ok());

    // A refused watch (any error line) leaves it open too.
    let mut codec = codec_with_watch();
    let mut input = BytesMut::from(&b"WATCHER_TOO_MANY too many watchers\r\n"[..]);
    let done = codec.decode(&mut input, Instant::now()).unwrap().unwrap();
    let Err(CommandError::Server(e)) = &done.result else {
        panic!("{done:?}")
    };
    assert_eq!(
        (e.kind, &e.message[..], done.is_final()),
        (
            ServerErrorKind::WatcherTooMany,
            &b"too many watchers"[..],
            true
        )
    );
    assert!(!codec.is_watching());
    assert!(codec.send(&Version, &mut out, Instant::now()).is_ok());
}

fn codec_with_watch() -> Codec {
    codec(Limits::DEFAULT, &[&Watch::new()])
}

#[test]
fn dumps_and_watch_need_a_fence_after_quiet_commands() {
    let quiet = MetaGet::new("k").return_value().quiet();
    for command in [
        &Watch::new() as &dyn Command,
        &LruCrawler::metadump(CrawlTarget::All),
        &LruCrawler::mgdump(CrawlTarget::Hash),
    ] {
        refused(&[&quiet], command, EncodeError::NeedsFence);
        // After a fence, or any command that always gets a reply: fine.
        assert!(!wire(&[&quiet, &MetaNoop, command]).is_empty());
    }
    // Other admin commands settle quiet ones like any reply.
    let got = shapes(
        Limits::DEFAULT,
        &[&quiet, &Slabs::reassign(1, 2)],
        b"NOSPARE source class has no spare pages\r\n",
    );
    assert_eq!(
        got,
        [
            "Meta(EN (inferred))",
            "Admin(NOSPARE source class has no spare pages)",
            "End(pending=0, buffered=0)"
        ]
    );
    let got = shapes(
        Limits::DEFAULT,
        &[&quiet, &Raw::new("stats extstore", RawShape::Lines)],
        b"STAT a 1\r\nSTAT b 2\r\nEND\r\n",
    );
    assert_eq!(
        got,
        [
            "Meta(EN (inferred))",
            "Raw[STAT a 1 | STAT b 2]",
            "End(pending=0, buffered=0)"
        ]
    );
}

// ------------------------------------------------------------------ status words

#[test]
fn status_words_are_typed_outcomes_of_their_commands_only() {
    let reassign = Slabs::reassign(1, 2);
    for word in ["BUSY", "BADCLASS", "NOSPARE", "NOTFULL", "UNSAFE", "SAME"] {
        let recv = format!("{word} the message\r\n{word}\r\n");
        let got = shapes(Limits::DEFAULT, &[&reassign, &reassign], recv.as_bytes());
        assert_eq!(
            got,
            [
                format!("Admin({word} the message)"),
                format!("Admin({word} )"),
                "End(pending=0, buffered=0)".into()
            ]
        );
    }
    let crawl = LruCrawler::crawl(CrawlTarget::All);
    let got = shapes(
        Limits::DEFAULT,
        &[&crawl, &crawl, &crawl],
        b"OK\r\nNOTSTARTED no items to crawl\r\nERROR an unknown error happened\r\n",
    );
    assert_eq!(
        got,
        [
            "Ok",
            "Admin(NOTSTARTED no items to crawl)",
            "Err(ERROR an unknown error happened)",
            "End(pending=0, buffered=0)"
        ]
    );
    // A word another command gets is not this one's.
    let error = unexpected("OK, BUSY, BADCLASS or NOTSTARTED", b"SAME x");
    assert_eq!(
        shapes(Limits::DEFAULT, &[&crawl], b"SAME x\r\n"),
        [fail(&error), poison(error)]
    );
    let error = unexpected(
        "OK, BUSY, BADCLASS, NOSPARE, NOTFULL, UNSAFE or SAME",
        b"NOTSTARTED x",
    );
    assert_eq!(
        shapes(Limits::DEFAULT, &[&reassign], b"NOTSTARTED x\r\n"),
        [fail(&error), poison(error)]
    );
    let error = unexpected("OK", b"BUSY");
    assert_eq!(
        shapes(Limits::DEFAULT, &[&LruCrawler::enable()], b"BUSY\r\n"),
        [fail(&error), poison(error)]
    );
    // Words are whole words.
    let error = unexpected("OK, BUSY, BADCLASS or NOTSTARTED", b"BUSYX");
    assert_eq!(
        shapes(Limits::DEFAULT, &[&crawl], b"BUSYX\r\n"),
        [fail(&error), poison(error)]
    );
    // The message is a zero-copy view of the read buffer.
    let mut codec = codec(Limits::DEFAULT, &[&reassign]);
    let mut input = BytesMut::from(&b"UNSAFE later\r\n"[..]);
    let start = input.as_ptr() as usize;
    let done = codec.decode(&mut input, Instant::now()).unwrap().unwrap();
    let Ok(Response::Admin(AdminStatus::Unsafe(m))) = done.result else {
        panic!()
    };
    assert_eq!(m.as_ptr() as usize, start + 7);
}

#[test]
fn refresh_certs_and_config_get_cluster() {
    let got = shapes(
        Limits::DEFAULT,
        &[&RefreshCerts, &RefreshCerts, &RefreshCerts],
        b"OK\r\nError loading the key: /k.pem\r\nERROR\r\n",
    );
    assert_eq!(
        got,
        [
            "Ok",
            "Err(Error loading the key: /k.pem)",
            "Err(ERROR)",
            "End(pending=0, buffered=0)"
        ]
    );
    let cluster = b"CONFIG cluster 0 58\r\n7\nhost-1.cache|10.0.0.1|11211 host-2.cache|10.0.0.2|11212\n\r\nEND\r\n";
    let got = shapes(
        Limits::DEFAULT,
        &[&ConfigGetCluster, &Version],
        &[&cluster[..], b"VERSION 1\r\n"].concat(),
    );
    assert_eq!(
        got,
        [
            "Cluster(7 [host-1.cache|10.0.0.1|11211 host-2.cache|10.0.0.2|11212])",
            "Version(1)",
            "End(pending=0, buffered=0)"
        ]
    );
    // The block is read by its length: one that holds "END" or "\r\n" is fine; CRLF
    // line ends inside it and an empty node list too.
    let got = shapes(
        Limits::DEFAULT,
        &[&ConfigGetCluster],
        b"CONFIG cluster 0 4\r\n12\r\n\r\nEND\r\n",
    );
    assert_eq!(got, ["Cluster(12 [])", "End(pending=0, buffered=0)"]);
    // A malformed block is quoted in the error as it is: snippets with a `\n` cannot
    // be made through a decode, so these compare as text.
    let block = |data: &[u8]| {
        format!(
            "decode: malformed CONFIG cluster line: \"{}\"",
            data.escape_ascii()
        )
    };
    let text = |e: DecodeError| format!("decode: {e}");
    for (recv, error) in [
        (
            &b"CONFIG cluster 0 6\r\nx\nh||1\r\nEND\r\n"[..],
            block(b"x\nh||1"),
        ),
        (
            b"CONFIG cluster 0 12\r\n1\nh|ip|99999\r\nEND\r\n",
            block(b"1\nh|ip|99999"),
        ),
        (
            b"CONFIG cluster 0 7\r\n1\nh|ip|\r\nEND\r\n",
            block(b"1\nh|ip|"),
        ),
        (
            b"CONFIG cluster 0 11\r\n1\nh|ip|1\nx\n\r\nEND\r\n",
            block(b"1\nh|ip|1\nx\n"),
        ),
        (
            b"CONFIG cluster 0 2\r\n1\n\r\nEN\r\n",
            text(unexpected("CONFIG cluster and END", b"EN")),
        ),
        (
            b"CONFIG cluster x 2\r\n",
            text(DecodeError::BadNumber {
                field: "CONFIG flags",
            }),
        ),
        (
            b"CONFIG cluster 0\r\n",
            text(DecodeError::BadNumber {
                field: "CONFIG bytes",
            }),
        ),
        (
            b"CONFIG cluster 0 1 2\r\n",
            text(malformed("CONFIG", b"CONFIG cluster 0 1 2")),
        ),
        (
            b"CONFIG cluster 0 2\r\n1\nxx",
            text(DecodeError::BadDataTerminator),
        ),
        (b"OK\r\n", text(unexpected("CONFIG cluster and END", b"OK"))),
    ] {
        let got = shapes(Limits::DEFAULT, &[&ConfigGetCluster], recv);
        assert_eq!(
            got,
            [format!("Fail({error})"), format!("Poisoned({error})")],
            "{}",
            common::text(recv)
        );
    }
    // The block's caps are checked before it is buffered.
    let limits = Limits::DEFAULT.with_max_value_len(10);
    let got = shapes(limits, &[&ConfigGetCluster], b"CONFIG cluster 0 11\r\n");
    let error = DecodeError::ValueTooLarge { len: 11, limit: 10 };
    assert_eq!(got, [fail(&error), poison(error)]);
}

// ------------------------------------------------------------------ dumps

const ITEM: &[u8] = b"key=a%20b exp=-1 la=5 cas=7 fetch=yes cls=1 size=60 new=x flags=3 \n";

#[test]
fn metadump_lines_end_in_lf_or_crlf_and_keep_every_field() {
    let recv = [
        &b"OK\r\n"[..],
        ITEM,
        b"key=plain exp=100 la=5 cas=18446744073709551615 fetch=no\r\n",
        b"END\r\n",
    ]
    .concat();
    let dump = LruCrawler::metadump(CrawlTarget::All);
    let got = shapes(Limits::DEFAULT, &[&dump], &recv);
    assert_eq!(
        got,
        [
            "MetaDump[a b exp=-1 la=5 cas=7 fetch=true cls=1 size=60 flags=3, \
             plain exp=100 la=5 cas=18446744073709551615 fetch=false]",
            "End(pending=0, buffered=0)"
        ]
    );
    let mut codec = codec(Limits::DEFAULT, &[&dump]);
    let mut input = BytesMut::from(&recv[..]);
    let start = input.as_ptr() as usize;
    let done = codec.decode(&mut input, Instant::now()).unwrap().unwrap();
    let Ok(Response::MetaDump(entries)) = done.result else {
        panic!()
    };
    let e = &entries[0];
    assert_eq!(e.field("new"), Some(&b"x"[..]));
    assert_eq!(e.field("key"), Some(&b"a%20b"[..]));
    assert_eq!(e.fields().count(), 9);
    assert_eq!(
        &e.line[..],
        b"key=a%20b exp=-1 la=5 cas=7 fetch=yes cls=1 size=60 new=x flags=3"
    );
    // Lines and unescaped keys are views of the read buffer.
    assert_eq!(e.line.as_ptr() as usize, start + 4);
    assert_eq!(entries[1].key.as_ptr() as usize, start + 4 + ITEM.len() + 4);
    assert!(input.is_empty());
}

#[test]
fn malformed_dump_lines_poison() {
    let dump = LruCrawler::metadump(CrawlTarget::All);
    let md = "metadump";
    let base = "exp=-1 la=5 cas=7 fetch=yes";
    let cases: Vec<(String, DecodeError)> = vec![
        (format!("key=a%2 {base}"), malformed(md, b"")),
        (format!("key=a%zz {base}"), malformed(md, b"")),
        (format!("key= {base}"), malformed(md, b"")),
        ("key=a exp=-1 la=5 cas=7".into(), malformed(md, b"")),
        (format!("key=a {base} exp=1"), malformed(md, b"")),
        (format!("key=a  {base}"), malformed(md, b"")),
        (format!("key=a {base} loose"), malformed(md, b"")),
        (format!("key=a {base} =x"), malformed(md, b"")),
        (
            "key=a exp=-2 la=5 cas=7 fetch=yes".into(),
            DecodeError::BadNumber {
                field: "metadump exp",
            },
        ),
        (
            "key=a exp=-1 la=x cas=7 fetch=yes".into(),
            DecodeError::BadNumber {
                field: "metadump la",
            },
        ),
        (
            "key=a exp=-1 la=5 cas=18446744073709551616 fetch=yes".into(),
            DecodeError::BadNumber {
                field: "metadump cas",
            },
        ),
        (
            "key=a exp=-1 la=5 cas=7 fetch=maybe".into(),
            DecodeError::BadNumber {
                field: "metadump fetch",
            },
        ),
        (
            format!("key=a {base} cls=4294967296"),
            DecodeError::BadNumber {
                field: "metadump cls",
            },
        ),
        (
            format!("key=a {base} size="),
            DecodeError::BadNumber {
                field: "metadump size",
            },
        ),
        (
            format!("key=a {base} flags=-1"),
            DecodeError::BadNumber {
                field: "metadump flags",
            },
        ),
    ];
    for (line, error) in cases {
        let error = match error {
            DecodeError::Malformed { what, .. } => malformed(what, line.as_bytes()),
            other => other,
        };
        let recv = format!("{line}\nEND\r\n");
        let got = shapes(Limits::DEFAULT, &[&dump], recv.as_bytes());
        assert_eq!(got, [fail(&error), poison(error)], "{line}");
    }
    // Lines other than items end in CRLF; OK comes once and first; a status word only
    // before the first item.
    let item = "key=a exp=-1 la=5 cas=7 fetch=yes\n";
    let expected = "key= lines, END, BUSY, BADCLASS or NOTSTARTED";
    for (recv, error) in [
        (format!("{item}END\n"), DecodeError::BareNewline),
        ("OK\n".into(), DecodeError::BareNewline),
        ("ERROR\n".into(), DecodeError::BareNewline),
        ("OK\r\nOK\r\nEND\r\n".into(), unexpected(expected, b"OK")),
        (format!("{item}OK\r\nEND\r\n"), unexpected(expected, b"OK")),
        (format!("{item}BUSY x\r\n"), unexpected(expected, b"BUSY x")),
        (
            "VALUE a 0 1\r\n".into(),
            unexpected(expected, b"VALUE a 0 1"),
        ),
        ("EN\r\n".into(), unexpected(expected, b"EN")),
    ] {
        let got = shapes(Limits::DEFAULT, &[&dump], recv.as_bytes());
        assert_eq!(got, [fail(&error), poison(error)], "{recv:?}");
    }
    // An error line ends a dump in progress: its items go.
    let got = shapes(
        Limits::DEFAULT,
        &[&dump],
        format!("OK\r\n{item}SERVER_ERROR out of memory\r\n").as_bytes(),
    );
    assert_eq!(
        got,
        [
            "Err(SERVER_ERROR out of memory)",
            "End(pending=0, buffered=0)"
        ]
    );
    // mgdump.
    let mg = LruCrawler::mgdump(CrawlTarget::All);
    let got = shapes(
        Limits::DEFAULT,
        &[&mg],
        b"OK\r\nmg a\r\nmg AAEC b\r\nmg YQ== b\r\nEN\r\n",
    );
    assert_eq!(
        got,
        [
            "MgDump[a, \\x00\\x01\\x02, a]",
            "End(pending=0, buffered=0)"
        ]
    );
    for (line, error) in [
        (&b"mg  a"[..], malformed("mgdump", b"mg  a")),
        (b"mg a x", malformed("mgdump", b"mg a x")),
        (b"mg a b c", malformed("mgdump", b"mg a b c")),
        (b"mg YQ= b", malformed("mgdump", b"mg YQ= b")),
        (b"mg ", malformed("mgdump", b"mg ")),
        (
            b"END",
            unexpected("mg lines, EN, BUSY, BADCLASS or NOTSTARTED", b"END"),
        ),
    ] {
        let recv = [line, b"\r\nEN\r\n"].concat();
        let got = shapes(Limits::DEFAULT, &[&mg], &recv);
        assert_eq!(got, [fail(&error), poison(error)], "{}", common::text(line));
    }
}

#[test]
fn dumps_are_held_within_the_caps() {
    let dump = LruCrawler::metadump(CrawlTarget::All);
    let item = "key=a exp=-1 la=5 cas=7 fetch=yes\n";
    let three = format!("{item}{item}{item}END\r\n");
    let ok = shapes(
        Limits::DEFAULT.with_max_stat_lines(3),
        &[&dump],
        three.as_bytes(),
    );
    assert_eq!(ok.len(), 2, "{ok:?}");
    let error = DecodeError::TooManyStatLines { limit: 2 };
    let got = shapes(
        Limits::DEFAULT.with_max_stat_lines(2),
        &[&dump],
        three.as_bytes(),
    );
    assert_eq!(got, [fail(&error), poison(error)]);
    let held = 3 * item.len();
    let ok = shapes(
        Limits::DEFAULT.with_max_reply_len(held),
        &[&dump],
        three.as_bytes(),
    );
    assert_eq!(ok.len(), 2, "{ok:?}");
    let error = DecodeError::ReplyTooLarge { limit: held - 1 };
    let got = shapes(
        Limits::DEFAULT.with_max_reply_len(held - 1),
        &[&dump],
        three.as_bytes(),
    );
    assert_eq!(got, [fail(&error), poison(error)]);
    // Each line within max_line_len, whatever its end.
    let error = DecodeError::LineTooLong {
        limit: item.len() - 2,
    };
    let got = shapes(
        Limits::DEFAULT.with_max_line_len(item.len() - 2),
        &[&dump],
        three.as_bytes(),
    );
    assert_eq!(got, [fail(&error), poison(error)]);
    let ok = shapes(
        Limits::DEFAULT.with_max_line_len(item.len() - 1),
        &[&dump],
        three.as_bytes(),
    );
    assert_eq!(ok.len(), 2, "{ok:?}");
}

#[test]
fn a_dump_searches_each_byte_once() {
    let dump = LruCrawler::metadump(CrawlTarget::All);
    let item = "key=a exp=-1 la=5 cas=7 fetch=yes \n";
    let recv = format!("OK\r\n{}END\r\n", item.repeat(50));
    for step in [1, 7, recv.len()] {
        let mut codec = codec(Limits::DEFAULT, &[&dump]);
        let mut input = BytesMut::new();
        let mut done = 0;
        for chunk in recv.as_bytes().chunks(step) {
            input.extend_from_slice(chunk);
            while codec.decode(&mut input, Instant::now()).unwrap().is_some() {
                done += 1;
            }
        }
        assert_eq!(done, 1);
        assert_eq!(codec.bytes_examined(), recv.len() as u64, "step {step}");
    }
}

// ------------------------------------------------------------------ watch

const LOG: &[u8] = b"ts=1.5 gid=1 type=item_get key=a%2Cb status=found clsid=1 cfd=20\n";

#[test]
fn a_watch_completes_with_ok_then_each_log_line() {
    let recv = [
        &b"OK\r\n"[..],
        LOG,
        b"[skipped: 12]\n",
        b"ts=2 gid=3 type=conn_close reason=normal\r\n",
        b"\n",
    ]
    .concat();
    let got = shapes(Limits::DEFAULT, &[&Watch::new()], &recv);
    assert_eq!(
        got,
        [
            "Watching".to_owned(),
            format!("Log({})", common::text(&LOG[..LOG.len() - 1])),
            "Log([skipped: 12])".into(),
            "Log(ts=2 gid=3 type=conn_close reason=normal)".into(),
            "Log()".into(),
            "End(pending=1, buffered=0)".into(),
        ]
    );
    // Then the end of the stream is the watch's final completion.
    let got = decode_every_way(&codec_with_watch, &recv, true, false);
    assert_eq!(
        &got[5..],
        [
            "Fail(connection closed by the server)",
            "Poisoned(connection closed by the server)"
        ]
    );

    let mut codec = Codec::new();
    let watch_token = codec
        .send(&Watch::new(), &mut BytesMut::new(), Instant::now())
        .unwrap();
    let mut input = BytesMut::from(&recv[..]);
    let all: Vec<Completion> = codec.completions(&mut input, Instant::now()).collect();
    assert_eq!(codec.poisoned(), None);
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|c| c.token == watch_token && !c.is_final()));
    let Ok(Response::Log(line)) = &all[1].result else {
        panic!()
    };
    assert_eq!(line.kind(), Some(&b"item_get"[..]));
    assert_eq!(line.key().as_deref(), Some(&b"a,b"[..]));
    assert_eq!(line.gid(), Some(1));
    assert_eq!(line.get("status"), Some(&b"found"[..]));
    assert_eq!(line.skipped(), None);
    let Ok(Response::Log(skipped)) = &all[2].result else {
        panic!()
    };
    assert_eq!(skipped.skipped(), Some(12));
    assert_eq!(codec.pending(), 1);
    assert!(codec.is_watching());
    assert_eq!(codec.bytes_examined(), recv.len() as u64);
}

#[test]
fn a_watching_codec_has_no_deadline_and_a_waiting_watch_has_one() {
    let config = Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_secs(5)));
    let start = Instant::now();
    let mut codec = Codec::with_config(config);
    codec
        .send(&Watch::new(), &mut BytesMut::new(), start)
        .unwrap();
    assert_eq!(codec.poll_timeout(), Some(start + Duration::from_secs(5)));
    assert!(!codec.is_watching());
    let mut input = BytesMut::from(&b"OK\r\n"[..]);
    let ok = codec.decode(&mut input, start).unwrap().unwrap();
    assert_eq!(ok.result, Ok(Response::Watching));
    assert!(codec.is_watching());
    assert_eq!(codec.poll_timeout(), None);
    codec.handle_timeout(start + Duration::from_secs(3600));
    assert_eq!(codec.poisoned(), None);
    // An OK that does not come in time: the usual timeout.
    let mut codec = Codec::with_config(config);
    codec
        .send(&Watch::new(), &mut BytesMut::new(), start)
        .unwrap();
    codec.handle_timeout(start + Duration::from_secs(5));
    let done = codec.decode(&mut BytesMut::new(), start).unwrap().unwrap();
    assert_eq!(done.connection_error(), Some(&ConnectionError::Timeout));
}

#[test]
fn a_cancelled_watch_still_reads_its_stream() {
    let mut codec = Codec::new();
    let token = codec
        .send(&Watch::new(), &mut BytesMut::new(), Instant::now())
        .unwrap();
    assert!(codec.cancel(token));
    let mut input = BytesMut::from(&[&b"OK\r\n"[..], LOG, LOG].concat()[..]);
    assert_eq!(codec.decode(&mut input, Instant::now()), Ok(None));
    assert!(input.is_empty());
    assert!(codec.is_watching());
    assert_eq!(codec.pending(), 1);
    codec.handle_eof();
    assert_eq!(
        codec.decode(&mut input, Instant::now()),
        Err(ConnectionError::Closed)
    );
    assert_eq!(codec.pending(), 0);
}

#[test]
fn watch_replies_that_poison() {
    let watch = Watch::new();
    let expected = "OK, WATCHER_TOO_MANY or WATCHER_FAILED";
    for (recv, error) in [
        (&b"OK\n"[..], DecodeError::BareNewline),
        (b"STORED\r\n", unexpected(expected, b"STORED")),
        (b"OKAY\r\n", unexpected(expected, b"OKAY")),
    ] {
        let got = shapes(Limits::DEFAULT, &[&watch], recv);
        assert_eq!(got, [fail(&error), poison(error)], "{}", common::text(recv));
    }
    let got = shapes(Limits::DEFAULT, &[&watch], b"WATCHER_FAILED\r\n");
    assert_eq!(got, ["Err(WATCHER_FAILED)", "End(pending=0, buffered=0)"]);
    // A log line longer than max_line_len.
    let limits = Limits::DEFAULT.with_max_line_len(10);
    let error = DecodeError::LineTooLong { limit: 10 };
    let got = shapes(limits, &[&watch], b"OK\r\n0123456789A\n");
    assert_eq!(got, ["Watching".into(), fail(&error), poison(error)]);
    let got = shapes(limits, &[&watch], b"OK\r\n0123456789\n");
    assert_eq!(
        got,
        ["Watching", "Log(0123456789)", "End(pending=1, buffered=0)"]
    );
}

// ------------------------------------------------------------------ raw

#[test]
fn raw_lines_are_checked_tokens() {
    let token = |reason| EncodeError::InvalidToken {
        what: "raw command token",
        reason,
    };
    let forbidden = |byte, offset| token(TokenError::ForbiddenByte { byte, offset });
    let line = |text: &'static str| Raw::new(text, RawShape::Line);
    for (text, error) in [
        ("version\r\nflush_all", forbidden(b'\r', 7)),
        ("version\nflush_all", forbidden(b'\n', 7)),
        ("get a\0b", forbidden(0, 1)),
        ("get a\tb", forbidden(b'\t', 1)),
        ("get a\x7f", forbidden(0x7f, 1)),
        ("get  a", token(TokenError::Empty)),
        (" version", token(TokenError::Empty)),
        ("version ", token(TokenError::Empty)),
        ("", token(TokenError::Empty)),
    ] {
        refused(&[], &line(text), error);
    }
    let long = format!("get {}", "k".repeat(251));
    refused(
        &[],
        &Raw::new(&long, RawShape::Line),
        token(TokenError::TooLong {
            len: 251,
            limit: 250,
        }),
    );
    let huge = vec!["k".repeat(200); 11].join(" ");
    refused(
        &[],
        &Raw::new(&huge, RawShape::Line),
        EncodeError::LineTooLong {
            len: huge.len() + 2,
            limit: 2048,
        },
    );
    for (text, reason) in [
        (
            "quit",
            "quit and shutdown end the connection: use Quit or Shutdown",
        ),
        (
            "shutdown graceful",
            "quit and shutdown end the connection: use Quit or Shutdown",
        ),
        (
            "watch fetchers",
            "watch turns the connection into a log stream: use Watch",
        ),
        (
            "lru_crawler metadump all",
            "the dumps end lines in a bare \\n: use LruCrawler::metadump or mgdump",
        ),
        (
            "lru_crawler mgdump 1",
            "the dumps end lines in a bare \\n: use LruCrawler::metadump or mgdump",
        ),
        (
            "flush_all noreply",
            "with noreply no reply comes to pair with the command",
        ),
        (
            "mg k v q",
            "a quiet meta command may get no reply: use the typed meta commands",
        ),
        (
            "ma k q O1",
            "a quiet meta command may get no reply: use the typed meta commands",
        ),
    ] {
        refused(&[], &line(text), EncodeError::RawRefused(reason));
    }
    // A data block its line states.
    assert_eq!(
        wire(&[&line("set k 0 0 2").data("hi"), &line("ms k 0").data("")]),
        b"set k 0 0 2\r\nhi\r\nms k 0\r\n\r\n"
    );
    refused(
        &[],
        &line("set k 0 0 3").data("hi"),
        EncodeError::RawRefused("the line does not state the data block's length"),
    );
    // What is not refused: `noreply` as the only word, a key named q, a meta q that
    // is the key.
    assert!(!wire(&[&line("noreply"), &line("get q"), &line("mg q v")]).is_empty());
    refused(&[&Watch::new()], &line("version"), EncodeError::Watching);
}

#[test]
fn raw_replies_in_each_shape() {
    let line = Raw::new("version", RawShape::Line);
    let lines = Raw::new("stats items", RawShape::Lines);
    let value = Raw::new(
        "get k",
        RawShape::Block {
            length_token: 3,
            end: true,
        },
    );
    let va = Raw::new(
        "mg k v",
        RawShape::Block {
            length_token: 1,
            end: false,
        },
    );
    let got = shapes(
        Limits::DEFAULT,
        &[&line, &lines, &lines, &value, &value, &va, &va, &line],
        b"VERSION 1.6.18\r\nSTAT a 1\r\nSTAT b 2\r\nEND\r\nEND\r\n\
          VALUE k 0 5\r\nEND\r\n\r\nEND\r\nEND\r\n\
          VA 2 t-1\r\nhi\r\nEN\r\nCLIENT_ERROR bad\r\n",
    );
    assert_eq!(
        got,
        [
            "Raw[VERSION 1.6.18]",
            "Raw[STAT a 1 | STAT b 2]",
            "Raw[]",
            "Raw[VALUE k 0 5] \"END\\r\\n\"",
            "Raw[]",
            "Raw[VA 2 t-1] \"hi\"",
            "Raw[EN]",
            "Err(CLIENT_ERROR bad)",
            "End(pending=0, buffered=0)"
        ]
    );
    // An error line ends a list in progress.
    let got = shapes(
        Limits::DEFAULT,
        &[&lines, &line],
        b"STAT a 1\r\nSERVER_ERROR out of memory writing stats\r\nOK\r\n",
    );
    assert_eq!(
        got,
        [
            "Err(SERVER_ERROR out of memory writing stats)",
            "Raw[OK]",
            "End(pending=0, buffered=0)"
        ]
    );
    // What poisons: a block where END is due, a line that is neither header nor END.
    let error = unexpected("a header and data block then END, or END", b"EN");
    assert_eq!(
        shapes(Limits::DEFAULT, &[&value], b"EN\r\n"),
        [fail(&error), poison(error)]
    );
    let error = unexpected("a header and data block then END, or END", b"VALUE k 0 1");
    assert_eq!(
        shapes(
            Limits::DEFAULT,
            &[&value],
            b"VALUE k 0 1\r\nx\r\nVALUE k 0 1\r\nx\r\n"
        ),
        [fail(&error), poison(error)]
    );
    let error = DecodeError::TooManyStatLines { limit: 1 };
    assert_eq!(
        shapes(
            Limits::DEFAULT.with_max_stat_lines(1),
            &[&lines],
            b"STAT a 1\r\nSTAT b 2\r\nEND\r\n"
        ),
        [fail(&error), poison(error)]
    );
    let error = DecodeError::ValueTooLarge { len: 9, limit: 8 };
    assert_eq!(
        shapes(Limits::DEFAULT.with_max_value_len(8), &[&va], b"VA 9\r\n"),
        [fail(&error), poison(error)]
    );
    // After a raw data block: ERROR/CLIENT_ERROR leave the stream unknown; a
    // SERVER_ERROR (the block swallowed) does not.
    let set = Raw::new("set k 0 0 1", RawShape::Line).data("x");
    let got = shapes(
        Limits::DEFAULT,
        &[&set, &line],
        b"SERVER_ERROR object too large for cache\r\nVERSION 1\r\n",
    );
    assert_eq!(
        got,
        [
            "Err(SERVER_ERROR object too large for cache)",
            "Raw[VERSION 1]",
            "End(pending=0, buffered=0)"
        ]
    );
    let got = shapes(Limits::DEFAULT, &[&set, &line], b"ERROR\r\nERROR\r\n");
    let error = DecodeError::UnreadDataBlock {
        error: memcache_codec::ServerError {
            kind: ServerErrorKind::Error,
            message: bytes::Bytes::new(),
        },
    };
    assert_eq!(got, ["Err(ERROR)".into(), fail(&error), poison(error)]);
}

#[test]
fn admin_replies_decode_the_same_however_they_are_cut() {
    // One long stream of every admin shape, pipelined where memcached allows it.
    let commands: [&dyn Command; 9] = [
        &Slabs::reassign(1, 2),
        &LruCrawler::crawl(CrawlTarget::All),
        &ConfigGetCluster,
        &RefreshCerts,
        &Raw::new("stats sizes", RawShape::Lines),
        &Raw::new(
            "mg k v",
            RawShape::Block {
                length_token: 1,
                end: false,
            },
        ),
        &LruCrawler::tocrawl(5),
        &LruCrawler::metadump(CrawlTarget::Hash),
        &Version,
    ];
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    for c in &commands[..8] {
        codec.send(*c, &mut out, Instant::now()).unwrap();
    }
    assert_eq!(
        codec.send(commands[8], &mut out, Instant::now()),
        Err(EncodeError::DumpPending)
    );
    let recv = [
        &b"BUSY moving\r\nOK\r\nCONFIG cluster 0 8\r\n1\nh|i|1\n\r\nEND\r\n"[..],
        b"Error TLS not enabled\r\nSTAT sizes_status disabled\r\nEND\r\n",
        b"VA 3\r\nEND\r\nOK\r\n",
        b"OK\r\n",
        ITEM,
        ITEM,
        b"END\r\n",
    ]
    .concat();
    let got = decode_every_way(&|| codec_of(&commands[..8]), &recv, false, false);
    assert_eq!(
        got,
        [
            "Admin(BUSY moving)",
            "Ok",
            "Cluster(1 [h|i|1])",
            "Err(Error TLS not enabled)",
            "Raw[STAT sizes_status disabled]",
            "Raw[VA 3] \"END\"",
            "Ok",
            "MetaDump[a b exp=-1 la=5 cas=7 fetch=true cls=1 size=60 flags=3, \
             a b exp=-1 la=5 cas=7 fetch=true cls=1 size=60 flags=3]",
            "End(pending=0, buffered=0)"
        ]
    );
    // The completions iterator gives the same.
    let mut codec = codec_of(&commands[..8]);
    let mut input = BytesMut::from(&recv[..]);
    let each: Vec<String> = codec
        .completions(&mut input, Instant::now())
        .map(|c| common::shape_with(&c, false))
        .collect();
    assert_eq!(each, got[..8]);
}

fn codec_of(commands: &[&dyn Command]) -> Codec {
    codec(Limits::DEFAULT, commands)
}
