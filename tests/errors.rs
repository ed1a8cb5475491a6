//! Errors by who is at fault.
//!
//! * Server bytes that break the protocol: one row per `DecodeError`. The codec is
//!   poisoned, every pending command completes once with the error, later calls
//!   return it again, and sending is refused.
//! * Caller input: every `EncodeError` leaves the output buffer and the deque exactly
//!   as they were.

mod common;

use std::time::Instant;

use bytes::BytesMut;
use common::{codec_with, decode_every_way, snippet_of};
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{
    Command, Exptime, Get, GetMulti, MetaGet, MetaNoop, MetaSet, Stats, Store, Version,
};
use memcache_codec::{
    Codec, CommandError, Config, ConnectionError, DecodeError, EncodeError, KeyError, Limits,
    TokenError,
};

/// Feeds `recv` to a codec holding `commands` plus two trailing `version`s; every
/// command must fail with the same decode error, which then repeats.
fn poisons(limits: Limits, commands: &[&dyn Command], recv: &[u8], error: DecodeError) {
    let make = || {
        let mut codec = Codec::with_config(Config::DEFAULT.with_limits(limits));
        let mut out = BytesMut::new();
        for c in commands
            .iter()
            .copied()
            .chain([&Version as &dyn Command, &Version])
        {
            codec
                .send(c, &mut out, Instant::now())
                .expect("valid command");
        }
        codec
    };
    let fail = format!("Fail(decode: {error})");
    let mut want = vec![fail; commands.len() + 2];
    want.push(format!("Poisoned(decode: {error})"));
    let got = decode_every_way(&make, recv, false, false);
    assert_eq!(got, want, "recv {:?}", common::text(recv));

    // Sticky: the same error again, and no more sending.
    let mut codec = make();
    let mut buf = BytesMut::from(recv);
    let now = Instant::now();
    while let Ok(Some(_)) = codec.decode(&mut buf, now) {}
    let sticky = ConnectionError::Decode(error);
    assert_eq!(codec.decode(&mut buf, now), Err(sticky.clone()));
    assert_eq!(codec.poisoned(), Some(&sticky));
    assert_eq!(codec.pending(), 0);
    let mut out = BytesMut::new();
    assert_eq!(
        codec.send(&Version, &mut out, now),
        Err(EncodeError::Poisoned(sticky))
    );
    assert!(out.is_empty());
}

fn unexpected(expected: &'static str, line: &[u8]) -> DecodeError {
    DecodeError::UnexpectedReply {
        expected,
        line: snippet_of(line),
    }
}

#[test]
fn wrong_reply_for_the_command() {
    let d = Limits::DEFAULT;
    let keys = ["a", "b"];
    poisons(
        d,
        &[&Get::new("k")],
        b"STORED\r\n",
        unexpected("VALUE or END", b"STORED"),
    );
    poisons(
        d,
        &[&Store::set("k", "v")],
        b"END\r\n",
        unexpected("STORED, NOT_STORED, EXISTS or NOT_FOUND", b"END"),
    );
    poisons(
        d,
        &[&memcache_codec::command::Delete::new("k")],
        b"5\r\n",
        unexpected("DELETED or NOT_FOUND", b"5"),
    );
    poisons(
        d,
        &[&memcache_codec::command::Delete::new("k")],
        b"VALUE k 0 1\r\nx\r\n",
        unexpected("DELETED or NOT_FOUND", b"VALUE k 0 1"),
    );
    poisons(
        d,
        &[&Arithmetic::incr("k", 1)],
        b"STORED\r\n",
        unexpected("a number or NOT_FOUND", b"STORED"),
    );
    poisons(
        d,
        &[&Stats::new()],
        b"RESET\r\n",
        unexpected("STAT or END", b"RESET"),
    );
    poisons(
        d,
        &[&Stats::new()],
        b"STAT a 1\r\nSTORED\r\n",
        unexpected("STAT or END", b"STORED"),
    );
    poisons(
        d,
        &[&Stats::reset()],
        b"END\r\n",
        unexpected("RESET", b"END"),
    );
    poisons(d, &[&Version], b"OK\r\n", unexpected("VERSION", b"OK"));
    poisons(
        d,
        &[&GetMulti::new(&keys)],
        b"VALUE a 0 1\r\nx\r\nSTORED\r\n",
        unexpected("VALUE or END", b"STORED"),
    );
    poisons(
        d,
        &[&MetaGet::new("k")],
        b"NS\r\n",
        unexpected("VA, HD or EN", b"NS"),
    );
    poisons(d, &[&MetaNoop], b"HD\r\n", unexpected("MN", b"HD"));
    poisons(
        d,
        &[&MetaSet::new("k", "v")],
        b"STORED\r\n",
        unexpected("HD, NS, EX or NF", b"STORED"),
    );
    poisons(
        d,
        &[&Get::new("k")],
        b"ERRORS\r\n",
        unexpected("VALUE or END", b"ERRORS"),
    );
    poisons(
        d,
        &[&Get::new("k")],
        b"\r\n",
        unexpected("VALUE or END", b""),
    );
}

#[test]
fn quit_gets_no_reply() {
    let got = decode_every_way(
        &|| codec_with(&[&memcache_codec::command::Quit]).0,
        b"OK\r\n",
        false,
        false,
    );
    let error = unexpected("end of stream", b"OK");
    assert_eq!(
        got,
        [
            format!("Fail(decode: {error})"),
            format!("Poisoned(decode: {error})")
        ]
    );
}

#[test]
fn values_for_keys_not_asked_for() {
    let d = Limits::DEFAULT;
    let key = |k: &[u8]| DecodeError::UnexpectedKey {
        key: {
            // The snippet of a key is its bytes (at most 64).
            let mut codec = Codec::new();
            let mut out = BytesMut::new();
            codec
                .send(&Get::new("zzz-not-this"), &mut out, Instant::now())
                .unwrap();
            let mut buf = BytesMut::from(&[b"VALUE ", k, b" 0 0\r\n"].concat()[..]);
            match codec
                .decode(&mut buf, Instant::now())
                .unwrap()
                .unwrap()
                .result
            {
                Err(CommandError::Connection(ConnectionError::Decode(
                    DecodeError::UnexpectedKey { key },
                ))) => key,
                other => panic!("{other:?}"),
            }
        },
    };
    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE x 0 1\r\nx\r\nEND\r\n",
        key(b"x"),
    );
    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE k 0 1\r\nx\r\nVALUE k 0 1\r\nx\r\nEND\r\n",
        key(b"k"),
    );
    // Out of request order: a, then b was asked after a, so b then a is wrong.
    let keys = ["a", "b"];
    poisons(
        d,
        &[&GetMulti::new(&keys)],
        b"VALUE b 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n",
        key(b"a"),
    );
    let keys = ["a", "a"];
    poisons(
        d,
        &[&GetMulti::new(&keys)],
        b"VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n",
        key(b"a"),
    );
}

#[test]
fn malformed_lines_and_numbers() {
    let d = Limits::DEFAULT;
    let malformed = |what, line: &[u8]| DecodeError::Malformed {
        what,
        line: snippet_of(line),
    };

    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE k 0\r\n",
        malformed("VALUE", b"VALUE k 0"),
    );
    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE k 0 1 5\r\nx\r\nEND\r\n",
        malformed("VALUE", b"VALUE k 0 1 5"),
    );
    poisons(
        d,
        &[&Get::new("k").with_cas()],
        b"VALUE k 0 1\r\nx\r\nEND\r\n",
        malformed("VALUE", b"VALUE k 0 1"),
    );
    poisons(
        d,
        &[&Stats::detail_dump()],
        b"PREFIX a get 1\r\nEND\r\n",
        malformed("PREFIX", b"PREFIX a get 1"),
    );
    poisons(
        d,
        &[&Stats::cachedump(1, 1)],
        b"ITEM a [1 b; 0]\r\nEND\r\n",
        malformed("ITEM", b"ITEM a [1 b; 0]"),
    );
    poisons(
        d,
        &[&MetaGet::new("k")],
        b"HD c1 c1\r\n",
        malformed("meta", b"HD c1 c1"),
    );
    let bad = |field| DecodeError::BadNumber { field };
    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE k 18446744073709551616 1\r\nx\r\nEND\r\n",
        bad("VALUE flags"),
    );
    poisons(
        d,
        &[&Get::new("k").with_cas()],
        b"VALUE k 0 1 18446744073709551616\r\nx\r\nEND\r\n",
        bad("VALUE cas"),
    );
    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE k 0 18446744073709551616\r\n",
        bad("VALUE bytes"),
    );
    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE k 0 -1\r\n",
        bad("VALUE bytes"),
    );
    poisons(
        d,
        &[&Arithmetic::incr("k", 1)],
        b"18446744073709551616\r\n",
        bad("counter"),
    );
    poisons(d, &[&Arithmetic::incr("k", 1)], b"12a\r\n", bad("counter"));
    poisons(
        d,
        &[&MetaGet::new("k").return_client_flags()],
        b"HD f18446744073709551616\r\n",
        bad("meta f"),
    );
    poisons(
        d,
        &[&MetaGet::new("k").return_value()],
        b"VA x\r\n",
        bad("VA size"),
    );
    poisons(d, &[&Get::new("k")], b"END\n", DecodeError::BareNewline);
    poisons(d, &[&Get::new("k")], b"\n", DecodeError::BareNewline);
    poisons(
        d,
        &[&Get::new("k")],
        b"VALUE k 0 1\r\nxEND\r\n",
        DecodeError::BadDataTerminator,
    );
    poisons(
        d,
        &[&MetaGet::new("k").return_value()],
        b"VA 1\r\nx\n\r\n",
        DecodeError::BadDataTerminator,
    );
}

#[test]
fn every_cap_has_its_own_error() {
    let line = Limits::DEFAULT.with_max_line_len(16);
    poisons(
        line,
        &[&Get::new("k")],
        b"VALUE k 0 1 2 3 4 5\r\n",
        DecodeError::LineTooLong { limit: 16 },
    );
    // Not even a newline is needed: the cap trips once it cannot fit.
    poisons(
        line,
        &[&Get::new("k")],
        &[b'x'; 18],
        DecodeError::LineTooLong { limit: 16 },
    );
    // A line of exactly the cap is fine.
    let (mut codec, _) = (
        Codec::with_config(Config::DEFAULT.with_limits(Limits::DEFAULT.with_max_line_len(6))),
        (),
    );
    codec
        .send(&Stats::reset(), &mut BytesMut::new(), Instant::now())
        .unwrap();
    let mut buf = BytesMut::from(&b"RESET\r\n"[..]);
    assert!(
        codec
            .decode(&mut buf, Instant::now())
            .unwrap()
            .unwrap()
            .result
            .is_ok()
    );

    let value = Limits::DEFAULT.with_max_value_len(4);
    poisons(
        value,
        &[&Get::new("k")],
        b"VALUE k 0 5\r\n",
        DecodeError::ValueTooLarge { len: 5, limit: 4 },
    );
    poisons(
        value,
        &[&MetaGet::new("k").return_value()],
        b"VA 1099511627776\r\n",
        DecodeError::ValueTooLarge {
            len: 1 << 40,
            limit: 4,
        },
    );

    // Even with no cap at all, a length that cannot be buffered is refused, not wrapped.
    let unlimited = Limits::DEFAULT.with_max_value_len(usize::MAX);
    poisons(
        unlimited,
        &[&Get::new("k")],
        b"VALUE k 0 18446744073709551615\r\n",
        DecodeError::ValueTooLarge {
            len: u64::MAX,
            limit: usize::MAX,
        },
    );

    let values = Limits::DEFAULT.with_max_values_per_reply(2);
    let keys = ["a", "a"];
    poisons(
        values,
        &[&GetMulti::new(&keys)],
        b"VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nVALUE a 0 1\r\n",
        DecodeError::TooManyValues { limit: 2 },
    );
    let stats = Limits::DEFAULT.with_max_stat_lines(2);
    poisons(
        stats,
        &[&Stats::new()],
        b"STAT a 1\r\nSTAT b 2\r\nSTAT c 3\r\n",
        DecodeError::TooManyStatLines { limit: 2 },
    );
    poisons(stats, &[&Stats::detail_dump()], b"PREFIX a get 1 hit 1 set 1 del 1\r\nPREFIX b get 1 hit 1 set 1 del 1\r\nPREFIX c get 1 hit 1 set 1 del 1\r\n", DecodeError::TooManyStatLines { limit: 2 });

    // The pending cap refuses to send, without writing.
    let mut codec =
        Codec::with_config(Config::DEFAULT.with_limits(Limits::DEFAULT.with_max_pending(1)));
    let mut out = BytesMut::new();
    codec.send(&Version, &mut out, Instant::now()).unwrap();
    let before = out.clone();
    assert_eq!(
        codec.send(&Version, &mut out, Instant::now()),
        Err(EncodeError::TooManyPending { limit: 1 })
    );
    assert_eq!((out, codec.pending()), (before, 1));
    // So does a multi-get with more keys than a reply may hold.
    let keys = ["a", "b", "c"];
    let mut codec = Codec::with_config(Config::DEFAULT.with_limits(values));
    assert_eq!(
        codec.send(&GetMulti::new(&keys), &mut BytesMut::new(), Instant::now()),
        Err(EncodeError::TooManyKeys { count: 3, limit: 2 })
    );
}

#[test]
fn nothing_pending() {
    let mut codec = Codec::new();
    let mut buf = BytesMut::new();
    let now = Instant::now();
    assert_eq!(codec.decode(&mut buf, now), Ok(None));
    buf.extend_from_slice(b"S");
    let error = ConnectionError::Decode(DecodeError::Unsolicited { byte: b'S' });
    assert_eq!(codec.decode(&mut buf, now), Err(error.clone()));
    assert_eq!(codec.decode(&mut buf, now), Err(error));
}

#[test]
fn refused_data_block_poisons_after_its_own_completion() {
    // memcached answers a storage line it cannot parse with CLIENT_ERROR and then
    // reads the data block as a command (RESPONSES.md §2.3): the set gets its error,
    // everything after it fails.
    let commands: &[&dyn Command] = &[&Store::set("k", "get x"), &Get::new("y")];
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"CLIENT_ERROR bad command line format\r\nEND\r\nEND\r\n",
        false,
        false,
    );
    let error = "memcached rejected a command before reading its data block (CLIENT_ERROR bad command line format); stream state unknown";
    assert_eq!(
        got,
        [
            "Err(CLIENT_ERROR bad command line format)".to_owned(),
            format!("Fail(decode: {error})"),
            format!("Poisoned(decode: {error})"),
        ]
    );
    // An `ms` refused for a flag after memcached read its length (1.6.18 and `E`):
    // the block was swallowed, the stream is in step.
    let meta: &[&dyn Command] = &[&MetaSet::new("f", "v").new_cas(5), &MetaNoop];
    let got = decode_every_way(
        &|| codec_with(meta).0,
        b"CLIENT_ERROR invalid flag\r\nMN\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Err(CLIENT_ERROR invalid flag)",
            "Noop",
            "End(pending=0, buffered=0)"
        ]
    );
    // But an `ms` line refused as a whole (or by a server without the meta protocol)
    // leaves the block to be run as a command.
    for reply in [
        &b"CLIENT_ERROR bad command line format\r\nMN\r\n"[..],
        b"ERROR\r\nMN\r\n",
    ] {
        let got = decode_every_way(&|| codec_with(meta).0, reply, false, false);
        assert!(
            got[1].starts_with(
                "Fail(decode: memcached rejected a command before reading its data block"
            ),
            "{got:?}"
        );
    }
    // SERVER_ERROR swallows the data block: the stream stays usable.
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"SERVER_ERROR object too large for cache\r\nEND\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Err(SERVER_ERROR object too large for cache)",
            "Miss",
            "End(pending=0, buffered=0)"
        ]
    );
}

#[test]
fn invalid_keys_leave_buffer_and_deque_untouched() {
    let long = vec![b'k'; 251];
    let cases: &[(&[u8], KeyError)] = &[
        (
            b"a b",
            KeyError::ForbiddenByte {
                byte: b' ',
                offset: 1,
            },
        ),
        (
            b"a\rb",
            KeyError::ForbiddenByte {
                byte: b'\r',
                offset: 1,
            },
        ),
        (
            b"a\nb",
            KeyError::ForbiddenByte {
                byte: b'\n',
                offset: 1,
            },
        ),
        (
            b"a\r\nset x 0 0 1",
            KeyError::ForbiddenByte {
                byte: b'\r',
                offset: 1,
            },
        ),
        (b"\0", KeyError::ForbiddenByte { byte: 0, offset: 0 }),
        (
            b"del\x7f",
            KeyError::ForbiddenByte {
                byte: 0x7f,
                offset: 3,
            },
        ),
        (&long, KeyError::TooLong { len: 251 }),
        (b"", KeyError::Empty),
    ];
    let now = Instant::now();
    for (key, reason) in cases {
        let mut codec = Codec::new();
        let mut out = BytesMut::new();
        codec.send(&Get::new("ok"), &mut out, now).unwrap();
        let before = out.clone();
        let invalid = |index| EncodeError::InvalidKey {
            index,
            reason: *reason,
        };
        let keys = [&b"ok"[..], key];
        let attempts: Vec<(Box<dyn Command>, EncodeError)> = vec![
            (Box::new(Get::new(key)), invalid(0)),
            (Box::new(GetMulti::new(&keys)), invalid(1)),
            (Box::new(Store::set(key, "v")), invalid(0)),
            (Box::new(Store::cas(key, "v", 1)), invalid(0)),
            (
                Box::new(memcache_codec::command::Delete::new(key)),
                invalid(0),
            ),
            (
                Box::new(memcache_codec::command::Touch::new(key, Exptime::never())),
                invalid(0),
            ),
            (Box::new(Arithmetic::incr(key, 1)), invalid(0)),
            (
                Box::new(memcache_codec::command::Arithmetic::decr(key, 1)),
                invalid(0),
            ),
            (Box::new(MetaGet::new(key).return_value()), invalid(0)),
            (Box::new(MetaSet::new(key, "v")), invalid(0)),
            (
                Box::new(memcache_codec::command::MetaDelete::new(key)),
                invalid(0),
            ),
            (
                Box::new(memcache_codec::command::MetaArithmetic::new(key)),
                invalid(0),
            ),
            (
                Box::new(memcache_codec::command::MetaDebug::new(key)),
                invalid(0),
            ),
        ];
        for (command, error) in attempts {
            assert_eq!(
                codec.send(command.as_ref(), &mut out, now),
                Err(error.clone())
            );
            assert_eq!(out, before, "{key:?}");
            assert_eq!(codec.pending(), 1, "{key:?}");
        }
        assert_eq!(
            codec.send_noreply(&Store::set(key, "v"), &mut out),
            Err(invalid(0))
        );
        assert_eq!(out, before);
        // The codec still works: the earlier get is answered normally.
        let mut buf = BytesMut::from(&b"END\r\n"[..]);
        assert!(codec.decode(&mut buf, now).unwrap().unwrap().result.is_ok());
    }
}

#[test]
fn invalid_tokens_are_refused() {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let long_opaque = "o".repeat(32);
    let cases: Vec<(Box<dyn Command>, EncodeError)> = vec![
        (
            Box::new(Stats::arg("items\r\nflush_all")),
            EncodeError::InvalidToken {
                what: "stats argument",
                reason: TokenError::ForbiddenByte {
                    byte: b'\r',
                    offset: 5,
                },
            },
        ),
        (
            Box::new(Stats::arg("")),
            EncodeError::InvalidToken {
                what: "stats argument",
                reason: TokenError::Empty,
            },
        ),
        (
            Box::new(MetaGet::new("k").opaque("a b")),
            EncodeError::InvalidToken {
                what: "opaque",
                reason: TokenError::ForbiddenByte {
                    byte: b' ',
                    offset: 1,
                },
            },
        ),
        (
            Box::new(MetaGet::new("k").opaque("")),
            EncodeError::InvalidToken {
                what: "opaque",
                reason: TokenError::Empty,
            },
        ),
        (
            Box::new(MetaGet::new("k").opaque(&long_opaque)),
            EncodeError::OpaqueTooLong { len: 32 },
        ),
        (
            Box::new(MetaGet::new("k").recache(u32::MAX)),
            EncodeError::InvalidExptime(
                "memcached reads the recache (R) threshold as a 32-bit signed number",
            ),
        ),
        (
            Box::new(memcache_codec::command::FlushAll::delay(Exptime::expired())),
            EncodeError::InvalidExptime(
                "a flush_all delay is a time to come: use FlushAll::new() for now",
            ),
        ),
        (
            Box::new(MetaGet::new(&[0u8; 188][..]).base64_key()),
            EncodeError::InvalidKey {
                index: 0,
                reason: KeyError::TooLong { len: 252 },
            },
        ),
    ];
    for (command, error) in cases {
        assert_eq!(codec.send(command.as_ref(), &mut out, now), Err(error));
        assert!(out.is_empty());
        assert_eq!(codec.pending(), 0);
    }
    // 31 opaque bytes and a 186-byte binary key (248 base64 bytes) are the maxima.
    codec
        .send(&MetaGet::new("k").opaque(&"o".repeat(31)), &mut out, now)
        .unwrap();
    codec
        .send(&MetaGet::new(&[0u8; 186][..]).base64_key(), &mut out, now)
        .unwrap();
    assert_eq!(codec.pending(), 2);
}

#[test]
fn a_buffer_cut_behind_the_codec_poisons_instead_of_panicking() {
    // Pass the same buffer and only append: here the caller takes bytes out while a
    // reply is half read.
    let keys = ["a", "b"];
    let lost = ConnectionError::BufferTruncated;
    let cuts: [fn(&mut BytesMut); 2] = [|b| b.clear(), |b| b.truncate(5)];
    for cut in cuts {
        let (mut codec, _) = codec_with(&[&GetMulti::new(&keys), &Version]);
        let now = Instant::now();
        let mut buf = BytesMut::from(&b"VALUE a 0 1\r\nx\r\nVAL"[..]);
        assert_eq!(codec.decode(&mut buf, now), Ok(None));
        cut(&mut buf);
        for _ in 0..2 {
            let done = codec.decode(&mut buf, now).unwrap().unwrap();
            assert_eq!(done.connection_error(), Some(&lost));
        }
        assert_eq!(codec.decode(&mut buf, now), Err(lost.clone()));
    }
}

#[test]
fn one_cap_bounds_the_bytes_a_whole_reply_holds() {
    // Each value and each line is within its own cap; together they are not.
    let reply = Limits::DEFAULT.with_max_reply_len(64);
    let keys = ["a", "b", "c"];
    poisons(
        reply,
        &[&GetMulti::new(&keys)],
        b"VALUE a 0 20\r\n01234567890123456789\r\nVALUE b 0 20\r\n",
        DecodeError::ReplyTooLarge { limit: 64 },
    );
    // Checked when the block is announced: none of it has to arrive.
    poisons(
        reply,
        &[&Get::new("k")],
        b"VALUE k 0 60\r\n",
        DecodeError::ReplyTooLarge { limit: 64 },
    );
    poisons(
        reply,
        &[&MetaGet::new("k").return_value()],
        b"VA 61\r\n",
        DecodeError::ReplyTooLarge { limit: 64 },
    );
    // Stats lines are held until END: they count too.
    poisons(
        reply,
        &[&Stats::new()],
        b"STAT aaaaaaaaaa 1\r\nSTAT bbbbbbbbbb 2\r\nSTAT cccccccccc 3\r\nSTAT dddd 4\r\n",
        DecodeError::ReplyTooLarge { limit: 64 },
    );
    // Exactly at the cap is fine.
    let mut codec =
        Codec::with_config(Config::DEFAULT.with_limits(Limits::DEFAULT.with_max_reply_len(16)));
    codec
        .send(&Get::new("k"), &mut BytesMut::new(), Instant::now())
        .unwrap();
    let mut buf = BytesMut::from(&b"VALUE k 0 1\r\nx\r\nEND\r\n"[..]);
    let done = codec.decode(&mut buf, Instant::now()).unwrap().unwrap();
    assert!(done.result.is_ok(), "{done:?}");
}

#[test]
fn a_block_that_memory_cannot_address_is_refused_not_wrapped() {
    // With no cap at all, a multi-key reply already holding bytes announces a block
    // whose end (held + header + data + 2) overflows: a decode error, and asking how
    // large the buffer must get does not overflow either.
    let unlimited = Limits::DEFAULT
        .with_max_value_len(usize::MAX)
        .with_max_reply_len(usize::MAX);
    let keys = ["a", "b"];
    let held = b"VALUE a 0 1\r\nx\r\n";
    let len = u64::MAX - 40;
    let mut recv = held.to_vec();
    recv.extend_from_slice(format!("VALUE b 0 {len}\r\n").as_bytes());
    let header_len = recv.len() - held.len();
    assert!((len as usize).checked_add(header_len + 2).is_some());
    assert!(
        (len as usize + header_len + 2)
            .checked_add(held.len())
            .is_none()
    );
    let mut codec = Codec::with_config(Config::DEFAULT.with_limits(unlimited));
    codec
        .send(&GetMulti::new(&keys), &mut BytesMut::new(), Instant::now())
        .unwrap();
    let mut buf = BytesMut::from(&recv[..]);
    let done = codec.decode(&mut buf, Instant::now()).unwrap().unwrap();
    let error = ConnectionError::Decode(DecodeError::ReplyTooLarge { limit: usize::MAX });
    assert_eq!(done.connection_error(), Some(&error));
    assert_eq!(codec.min_buffer_len(), None);
    assert_eq!(codec.decode(&mut buf, Instant::now()), Err(error));
}

#[test]
fn another_buffer_handed_in_mid_reply_poisons() {
    // The held bytes of a multi-key reply, then a different buffer at least as long:
    // the items must not be built from the wrong bytes.
    let keys = ["a", "b"];
    let swaps: [&[u8]; 3] = [
        b"VALUE z 9 1\r\ny\r\nEND\r\n",
        b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        // Same start, different end.
        b"VALUE a 0 1\r\nx\r\nVAZ",
    ];
    for swapped in swaps {
        let (mut codec, _) = codec_with(&[&GetMulti::new(&keys)]);
        let now = Instant::now();
        let mut buf = BytesMut::from(&b"VALUE a 0 1\r\nx\r\nVAL"[..]);
        assert_eq!(codec.decode(&mut buf, now), Ok(None));
        let mut other = BytesMut::from(swapped);
        other.extend_from_slice(b"UE b 0 1\r\ny\r\nEND\r\n");
        let done = codec.decode(&mut other, now).unwrap().unwrap();
        assert_eq!(
            done.connection_error(),
            Some(&ConnectionError::BufferTruncated),
            "{:?}",
            swapped.escape_ascii().to_string()
        );
    }
    // The same buffer, appended to: fine.
    let (mut codec, _) = codec_with(&[&GetMulti::new(&keys)]);
    let now = Instant::now();
    let mut buf = BytesMut::from(&b"VALUE a 0 1\r\nx\r\nVAL"[..]);
    assert_eq!(codec.decode(&mut buf, now), Ok(None));
    buf.extend_from_slice(b"UE b 0 1\r\ny\r\nEND\r\n");
    let done = codec.decode(&mut buf, now).unwrap().unwrap();
    assert_eq!(done.result.unwrap().into_items().unwrap().len(), 2);
}
