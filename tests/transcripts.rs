//! Replays every exchange recorded from a real memcached 1.6.18
//! (`tests/data/memcached-1.6.18.jsonl`, a copy of the shared reference).
//!
//! For each exchange the commands are built through the public API and encoded; the
//! bytes must equal what was sent to the real server. The recorded reply is then fed
//! whole, one byte at a time and split at every position: the completions must be
//! identical, and equal to the expectation written here. Volatile fields (cas
//! uniques, stats values, `me` counters) are compared by shape.
//!
//! Exchanges whose send is deliberately malformed are sent with the raw command
//! ([`Raw`], the escape hatch for lines no typed command writes), refused by the codec
//! at run time (checked: the error, and nothing written), or cannot be expressed at
//! all (listed with the reason). A last test checks that every exchange of the file is
//! covered by exactly one of replayed, refused and unexpressible.
//!
//! The recorded sends are also cut into requests and mapped back to the shared owned
//! commands (`memcache_testkit::command::Cmd`, used by the property tests and the
//! fuzz targets): what maps is written exactly as recorded, and each unexpressible
//! exchange holds a request that maps to nothing.

mod common;

use bytes::BytesMut;
use common::{codec_with, decode_every_way, exchange, transcripts};
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{
    CacheMemlimit, Command, Delete, Exptime, FlushAll, Get, GetMulti, MetaArithMode,
    MetaArithmetic, MetaDelete, MetaGet, MetaNoop, MetaSet, MetaSetMode, Quit, Raw, RawShape,
    Shutdown, Stats, Store, Touch, Verbosity, Version,
};
use memcache_codec::{Codec, Config, EncodeError, KeyError, TokenError};
use memcache_testkit::command::{Cmd, Sendable};
use memcache_testkit::{ParseResult, parse_request};
use std::time::Instant;

/// How the encoded bytes relate to the recorded `send`.
enum Sent {
    /// Byte for byte.
    Exact,
    /// The recording used a bare `\n`; the codec always writes `\r\n`.
    Crlf,
    /// The recording also held these commands, which the codec refuses or cannot express.
    Without(&'static [&'static [u8]]),
}

/// A command the replay sends, with (`Sendable::Noreply`) or without `noreply`.
type Op<'a> = Sendable<'a>;

/// A codec that writes exactly the recorded bytes: no automatic opaques on quiet
/// commands (the recording client sent none).
fn exact() -> Codec {
    Codec::with_config(Config::DEFAULT.with_auto_opaque(false))
}

fn build(ops: &[Op<'_>]) -> (Codec, BytesMut) {
    let mut codec = exact();
    let mut out = BytesMut::new();
    for op in ops {
        match op {
            Op::Reply(c) => {
                codec
                    .send(*c, &mut out, Instant::now())
                    .expect("valid command");
            }
            Op::Noreply(c) => codec.send_noreply(*c, &mut out).expect("valid command"),
        }
    }
    (codec, out)
}

fn replay_ops(name: &str, sent: Sent, ops: &[Op<'_>], expected: &[&str]) {
    let ex = exchange(name);
    let (_, out) = build(ops);
    let want: Vec<u8> = match sent {
        Sent::Exact => ex.send.clone(),
        Sent::Crlf => String::from_utf8_lossy(&ex.send)
            .replace('\n', "\r\n")
            .into_bytes(),
        Sent::Without(parts) => {
            let mut send = ex.send.clone();
            for part in parts {
                let at = send
                    .windows(part.len())
                    .rposition(|w| w == *part)
                    .unwrap_or_else(|| panic!("{name}: {part:?} not in send"));
                send.drain(at..at + part.len());
            }
            send
        }
    };
    assert!(
        out[..] == want[..],
        "{name}: encoded bytes differ\n  codec: {:?}\n  sent:  {:?}",
        common::text(&out[..out.len().min(300)]),
        common::text(&want[..want.len().min(300)])
    );
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    if !expected.last().is_some_and(|l| l.starts_with("Poisoned(")) {
        expected.push(if ex.closes_connection {
            "Poisoned(connection closed by the server)".into()
        } else {
            "End(pending=0, buffered=0)".into()
        });
    }
    let got = decode_every_way(&|| build(ops).0, &ex.recv, ex.closes_connection, true);
    assert_eq!(got, expected, "{name}");
}

fn replay(name: &str, commands: &[&dyn Command], expected: &[&str]) {
    let ops: Vec<Op<'_>> = commands.iter().map(|c| Op::Reply(*c)).collect();
    replay_ops(name, Sent::Exact, &ops, expected);
}

/// Each command must be refused with `error`, leaving the buffer and deque unchanged.
fn refused(name: &str, attempts: &[(&dyn Command, EncodeError)]) {
    assert!(transcripts().iter().any(|e| e.name == name), "{name}");
    for (command, error) in attempts {
        let mut codec = Codec::new();
        let mut out = BytesMut::from(&b"prefix"[..]);
        assert_eq!(
            codec
                .send(*command, &mut out, Instant::now())
                .as_ref()
                .err(),
            Some(error),
            "{name}"
        );
        assert_eq!((&out[..], codec.pending()), (&b"prefix"[..], 0), "{name}");
    }
}

/// Exchanges whose send no command can produce, and why.
const UNEXPRESSIBLE: &[(&str, &str)] = &[
    (
        "noreply_error_still_returned",
        "Raw refuses noreply (no reply would pair), and the typed commands write every field",
    ),
    (
        "line_too_long_no_newline",
        "every command ends its line, within 2048 bytes",
    ),
    (
        "http_request_closes",
        "no command writes an empty line (the request's last)",
    ),
];

/// Exchanges replayed or refused by the tests below (kept in sync by `coverage`).
const TESTED: &[&str] = &[
    "version",
    "version_bare_lf",
    "set_stored",
    "get_hit",
    "get_miss",
    "gets_hit",
    "get_multi_missing_and_duplicate",
    "gets_multi",
    "add_new_then_existing",
    "replace_missing_then_existing",
    "append_prepend",
    "cas_setup_gets",
    "cas_match_stored",
    "cas_mismatch_exists",
    "cas_after_delete_not_found",
    "incr_decr_basic",
    "decr_floor_zero",
    "incr_overflow_wraps",
    "decr_shrink_space_padded",
    "incr_non_numeric",
    "incr_missing",
    "delete_hit_then_miss",
    "touch_hit_miss",
    "gat_hit_miss",
    "exptime_30_days_boundary",
    "key_250_bytes_ok",
    "key_251_bytes_set",
    "key_251_bytes_get",
    "key_with_space_set",
    "value_over_1MiB",
    "get_no_key",
    "noreply_storage",
    "noreply_cas_setup",
    "noreply_cas",
    "noreply_other",
    "noreply_suppresses_client_error",
    "noreply_too_large_suppressed",
    "get_noreply_is_a_key",
    "flush_all",
    "flush_all_0",
    "flush_all_delay_then_cancel",
    "flush_all_noreply",
    "verbosity_1",
    "verbosity_noreply",
    "cache_memlimit_ok",
    "cache_memlimit_too_small",
    "cache_memlimit_noreply",
    "shutdown_disabled",
    "stats",
    "stats_settings",
    "stats_items",
    "stats_slabs",
    "stats_sizes_disabled",
    "stats_conns",
    "stats_reset",
    "stats_unknown",
    "mn",
    "mg_miss",
    "mg_hit_no_flags",
    "mg_hit_value",
    "mg_many_flags",
    "mg_miss_with_k_O",
    "mg_quiet_pipeline",
    "mg_ttl_update",
    "mg_errors",
    "mg_key_too_long",
    "ms_basic",
    "ms_many_flags",
    "ms_quiet",
    "ms_modes",
    "ms_cas",
    "md_hit_miss",
    "md_flags_quiet",
    "md_cas_mismatch",
    "ma_basic",
    "ma_non_numeric",
    "me_hit_miss",
    "quit",
    "pipelined_get_then_quit",
    "too_many_connections",
    "shutdown_enabled",
    // Sent raw:
    "cas_bad_unique",
    "incr_bad_delta",
    "delete_legacy_time_arg",
    "touch_bad_exptime",
    "gat_bad_exptime",
    "negative_length",
    "unknown_command",
    "uppercase_command",
    "wrong_arity_storage",
    "flush_all_bad_arg",
    "verbosity_no_arg",
    "verbosity_bad_arg",
    "cache_memlimit_bad_arg",
    "meta_unknown_command",
    // Refused raw:
    "bad_data_chunk_too_long",
    "bad_data_chunk_too_short",
    "empty_line",
    "ms_bad_data_chunk",
    "ms_old_S_syntax",
];

#[test]
fn coverage() {
    for ex in transcripts() {
        let tested = TESTED.contains(&ex.name.as_str());
        let unexpressible = UNEXPRESSIBLE.iter().any(|(n, _)| *n == ex.name);
        assert!(
            tested ^ unexpressible,
            "{} must be covered exactly once (tested: {tested}, unexpressible: {unexpressible})",
            ex.name
        );
    }
    assert_eq!(TESTED.len() + UNEXPRESSIBLE.len(), transcripts().len());
}

/// The recorded requests through the shared owned commands (`memcache_testkit::command`):
/// each request the model's framing cuts from a recorded send and that maps back to a
/// `Cmd` the codec accepts is written byte for byte as recorded (a bare `\n` as
/// `\r\n`), and each exchange listed as unexpressible holds a request that maps to no
/// command (or bytes that frame as no complete request).
#[test]
fn recorded_requests_map_back_exactly() {
    for ex in transcripts() {
        let mut rest = &ex.send[..];
        let mut unmapped = false;
        while !rest.is_empty() {
            let ParseResult::Request { request, consumed } = parse_request(rest) else {
                unmapped = true;
                break;
            };
            let recorded = &rest[..consumed];
            rest = &rest[consumed..];
            let Some(cmd) = Cmd::from_request(&request) else {
                unmapped = true;
                continue;
            };
            let mut out = BytesMut::new();
            if cmd.send(&mut exact(), &mut out, Instant::now()).is_err() {
                continue; // refused: see `refused_keys`
            }
            let want = if recorded.ends_with(b"\r\n") {
                recorded.to_vec()
            } else {
                [&recorded[..recorded.len() - 1], b"\r\n"].concat()
            };
            assert!(
                out[..] == want[..],
                "{}: {cmd:?} writes {:?}, recorded {:?}",
                ex.name,
                common::text(&out),
                common::text(recorded)
            );
        }
        if UNEXPRESSIBLE.iter().any(|(n, _)| *n == ex.name) {
            assert!(unmapped, "{}: every request maps to a command", ex.name);
        }
    }
}

fn rel(seconds: u32) -> Exptime {
    Exptime::in_seconds(seconds).expect("valid relative exptime")
}

#[test]
fn version() {
    replay("version", &[&Version], &["Version(1.6.18)"]);
    replay_ops(
        "version_bare_lf",
        Sent::Crlf,
        &[Op::Reply(&Version)],
        &["Version(1.6.18)"],
    );
}

#[test]
fn storage() {
    replay(
        "set_stored",
        &[&Store::set("s_set", "hello").client_flags(5)],
        &["Stored"],
    );
    replay(
        "add_new_then_existing",
        &[
            &Store::add("s_add", "a"),
            &Store::add("s_add", "b"),
            &Get::new("s_add"),
        ],
        &["Stored", "NotStored", "Hit(0 \"a\")"],
    );
    replay(
        "replace_missing_then_existing",
        &[
            &Store::replace("s_rep", "a"),
            &Store::set("s_rep", "b"),
            &Store::replace("s_rep", "c").client_flags(7),
            &Get::new("s_rep"),
        ],
        &["NotStored", "Stored", "Stored", "Hit(7 \"c\")"],
    );
    replay(
        "append_prepend",
        &[
            &Store::append("s_ap", "x"),
            &Store::prepend("s_ap", "x"),
            &Store::set("s_ap", "mid").client_flags(3),
            &Store::append("s_ap", "_end").client_flags(9),
            &Store::prepend("s_ap", "start_").client_flags(9),
            &Get::new("s_ap"),
        ],
        &[
            "NotStored",
            "NotStored",
            "Stored",
            "Stored",
            "Stored",
            "Hit(3 \"start_mid_end\")",
        ],
    );
    replay(
        "cas_setup_gets",
        &[&Store::set("s_cas", "v1"), &Get::new("s_cas").with_cas()],
        &["Stored", "Hit(0 # \"v1\")"],
    );
    replay(
        "cas_match_stored",
        &[&Store::cas("s_cas", "v2", 14)],
        &["Stored"],
    );
    replay(
        "cas_mismatch_exists",
        &[&Store::cas("s_cas", "v3", 14)],
        &["Exists"],
    );
    replay(
        "cas_after_delete_not_found",
        &[&Delete::new("s_cas"), &Store::cas("s_cas", "v4", 14)],
        &["Deleted", "NotFound"],
    );
    let key = "k".repeat(250);
    replay(
        "key_250_bytes_ok",
        &[&Store::set(&key, "x"), &Get::new(&key)],
        &["Stored", "Hit(0 \"x\")"],
    );
    let big = vec![b'z'; 1_048_577];
    replay(
        "value_over_1MiB",
        &[&Store::set("s_big", &big), &Get::new("s_big")],
        &["Err(SERVER_ERROR object too large for cache)", "Miss"],
    );
}

#[test]
fn retrieval() {
    replay(
        "get_hit",
        &[
            &Store::set("s_get", "hello").client_flags(42),
            &Get::new("s_get"),
        ],
        &["Stored", "Hit(42 \"hello\")"],
    );
    replay("get_miss", &[&Get::new("s_nosuchkey")], &["Miss"]);
    replay(
        "gets_hit",
        &[&Store::set("s_gets", "abc"), &Get::new("s_gets").with_cas()],
        &["Stored", "Hit(0 # \"abc\")"],
    );
    let keys = ["s_m1", "s_missing", "s_m2", "s_m1", "s_m2"];
    replay(
        "get_multi_missing_and_duplicate",
        &[
            &Store::set("s_m1", "v1").client_flags(1),
            &Store::set("s_m2", "v2").client_flags(2),
            &GetMulti::new(&keys),
        ],
        &[
            "Stored",
            "Stored",
            "Items[s_m1 1 \"v1\", s_m2 2 \"v2\", s_m1 1 \"v1\", s_m2 2 \"v2\"]",
        ],
    );
    let keys = ["s_gm1", "s_gm_missing", "s_gm2"];
    replay(
        "gets_multi",
        &[
            &Store::set("s_gm1", "a"),
            &Store::set("s_gm2", "b"),
            &GetMulti::new(&keys).with_cas(),
        ],
        &[
            "Stored",
            "Stored",
            "Items[s_gm1 0 # \"a\", s_gm2 0 # \"b\"]",
        ],
    );
    let keys = ["s_gat", "s_gat_missing"];
    replay(
        "gat_hit_miss",
        &[
            &Store::set("s_gat", "hi").client_flags(3),
            &GetMulti::new(&keys).touch(rel(100)),
        ],
        &["Stored", "Items[s_gat 3 \"hi\"]"],
    );
    let keys = ["s_rel", "s_abs"];
    replay(
        "exptime_30_days_boundary",
        &[
            &Store::set("s_rel", "r").exptime(rel(2_592_000)),
            &Store::set("s_abs", "a").exptime(Exptime::at(2_592_001).unwrap()),
            &GetMulti::new(&keys),
        ],
        &["Stored", "Stored", "Items[s_rel 0 \"r\"]"],
    );
    replay("get_noreply_is_a_key", &[&Get::new("noreply")], &["Miss"]);
}

#[test]
fn arithmetic_delete_touch() {
    replay(
        "incr_decr_basic",
        &[
            &Store::set("s_n", "10"),
            &Arithmetic::incr("s_n", 5),
            &Arithmetic::decr("s_n", 3),
            &Get::new("s_n"),
        ],
        &["Stored", "Counter(15)", "Counter(12)", "Hit(0 \"12\")"],
    );
    replay(
        "decr_floor_zero",
        &[&Store::set("s_d", "5"), &Arithmetic::decr("s_d", 100)],
        &["Stored", "Counter(0)"],
    );
    replay(
        "incr_overflow_wraps",
        &[
            &Store::set("s_w", "18446744073709551615"),
            &Arithmetic::incr("s_w", 1),
            &Arithmetic::incr("s_w", 3),
        ],
        &["Stored", "Counter(0)", "Counter(3)"],
    );
    replay(
        "decr_shrink_space_padded",
        &[
            &Store::set("s_pad", "100"),
            &Arithmetic::decr("s_pad", 1),
            &Get::new("s_pad"),
        ],
        &["Stored", "Counter(99)", "Hit(0 \"99 \")"],
    );
    replay(
        "incr_non_numeric",
        &[&Store::set("s_nn", "abc"), &Arithmetic::incr("s_nn", 1)],
        &[
            "Stored",
            "Err(CLIENT_ERROR cannot increment or decrement non-numeric value)",
        ],
    );
    replay(
        "incr_missing",
        &[
            &Arithmetic::incr("s_incr_missing", 1),
            &Arithmetic::decr("s_incr_missing", 1),
        ],
        &["NotFound", "NotFound"],
    );
    replay(
        "delete_hit_then_miss",
        &[
            &Store::set("s_del", "x"),
            &Delete::new("s_del"),
            &Delete::new("s_del"),
        ],
        &["Stored", "Deleted", "NotFound"],
    );
    replay(
        "touch_hit_miss",
        &[
            &Store::set("s_t", "x"),
            &Touch::new("s_t", rel(100)),
            &Touch::new("s_touch_missing", rel(100)),
        ],
        &["Stored", "Touched", "NotFound"],
    );
}

#[test]
fn refused_keys() {
    let long = "k".repeat(251);
    let too_long = |index| EncodeError::InvalidKey {
        index,
        reason: KeyError::TooLong { len: 251 },
    };
    refused(
        "key_251_bytes_set",
        &[(&Store::set(&long, "x"), too_long(0))],
    );
    let keys = ["s_ok", long.as_str()];
    refused("key_251_bytes_get", &[(&GetMulti::new(&keys), too_long(1))]);
    refused(
        "key_with_space_set",
        &[(
            &Store::set("s_sp ace", "x"),
            EncodeError::InvalidKey {
                index: 0,
                reason: KeyError::ForbiddenByte {
                    byte: b' ',
                    offset: 4,
                },
            },
        )],
    );
    let none: [&str; 0] = [];
    refused(
        "get_no_key",
        &[(&GetMulti::new(&none), EncodeError::NoKeys)],
    );
    refused(
        "mg_key_too_long",
        &[(&MetaGet::new(&long).return_value(), too_long(0))],
    );
    let opaque = "o".repeat(40);
    refused(
        "mg_errors",
        &[
            (
                &MetaGet::new("").return_value(),
                EncodeError::InvalidKey {
                    index: 0,
                    reason: KeyError::Empty,
                },
            ),
            (
                &MetaGet::new("s_mg").opaque(&opaque),
                EncodeError::OpaqueTooLong { len: 40 },
            ),
        ],
    );
    // `mg s_mg v v` and `mg s_mg Y` cannot be built: the builder keeps one flag per
    // letter and has no method for an unknown flag.
    let once = codec_with(&[&MetaGet::new("s_mg").return_value().return_value()]).1;
    assert_eq!(&once[..], b"mg s_mg v\r\n");
}

#[test]
fn noreply() {
    replay_ops(
        "noreply_storage",
        Sent::Exact,
        &[
            Op::Noreply(&Store::set("s_nr", "a")),
            Op::Noreply(&Store::add("s_nr", "b")),
            Op::Noreply(&Store::replace("s_nr", "c")),
            Op::Noreply(&Store::append("s_nr", "d")),
            Op::Noreply(&Store::prepend("s_nr", "e")),
            Op::Reply(&Get::new("s_nr")),
        ],
        &["Hit(0 \"ecd\")"],
    );
    replay(
        "noreply_cas_setup",
        &[&Store::set("s_nrc", "a"), &Get::new("s_nrc").with_cas()],
        &["Stored", "Hit(0 # \"a\")"],
    );
    replay_ops(
        "noreply_cas",
        Sent::Exact,
        &[
            Op::Noreply(&Store::cas("s_nrc", "b", 40)),
            Op::Noreply(&Store::cas("s_nrc", "c", 40)),
            Op::Noreply(&Store::cas("s_nrc_missing", "d", 1)),
            Op::Reply(&Get::new("s_nrc")),
        ],
        &["Hit(0 \"b\")"],
    );
    replay_ops(
        "noreply_other",
        Sent::Exact,
        &[
            Op::Reply(&Store::set("s_nro", "1")),
            Op::Noreply(&Arithmetic::incr("s_nro", 5)),
            Op::Noreply(&Arithmetic::decr("s_nro", 1)),
            Op::Noreply(&Touch::new("s_nro", rel(10))),
            Op::Noreply(&Delete::new("s_nro_missing")),
            Op::Reply(&Get::new("s_nro")),
            Op::Noreply(&Delete::new("s_nro")),
            Op::Reply(&Get::new("s_nro")),
        ],
        &["Stored", "Hit(0 \"5\")", "Miss"],
    );
    replay_ops(
        "noreply_suppresses_client_error",
        // `set s_nre2 0 0 -1 noreply` cannot be built.
        Sent::Without(&[b"set s_nre2 0 0 -1 noreply\r\n"]),
        &[
            Op::Reply(&Store::set("s_nre", "abc")),
            Op::Noreply(&Arithmetic::incr("s_nre", 1)),
            Op::Reply(&Version),
        ],
        &["Stored", "Version(1.6.18)"],
    );
    let big = vec![b'z'; 1_048_577];
    replay_ops(
        "noreply_too_large_suppressed",
        Sent::Exact,
        &[
            Op::Noreply(&Store::set("s_nrbig", &big)),
            Op::Reply(&Version),
        ],
        &["Version(1.6.18)"],
    );
    replay_ops(
        "flush_all_noreply",
        Sent::Exact,
        &[
            Op::Noreply(&FlushAll::new()),
            Op::Noreply(&FlushAll::delay(Exptime::never())),
            Op::Reply(&Version),
        ],
        &["Version(1.6.18)"],
    );
    replay_ops(
        "verbosity_noreply",
        Sent::Exact,
        &[Op::Noreply(&Verbosity::new(0)), Op::Reply(&Version)],
        &["Version(1.6.18)"],
    );
    replay_ops(
        "cache_memlimit_noreply",
        Sent::Exact,
        &[Op::Noreply(&CacheMemlimit::new(64)), Op::Reply(&Version)],
        &["Version(1.6.18)"],
    );
}

#[test]
fn admin() {
    replay(
        "flush_all",
        &[
            &Store::set("s_fl", "x"),
            &FlushAll::new(),
            &Get::new("s_fl"),
        ],
        &["Stored", "Ok", "Miss"],
    );
    replay(
        "flush_all_0",
        &[&FlushAll::delay(Exptime::never())],
        &["Ok"],
    );
    replay(
        "flush_all_delay_then_cancel",
        &[
            &FlushAll::delay(Exptime::in_seconds(30).unwrap()),
            &FlushAll::delay(Exptime::never()),
        ],
        &["Ok", "Ok"],
    );
    replay("verbosity_1", &[&Verbosity::new(1)], &["Ok"]);
    replay("cache_memlimit_ok", &[&CacheMemlimit::new(100)], &["Ok"]);
    replay(
        "cache_memlimit_too_small",
        &[&CacheMemlimit::new(1)],
        &["Err(MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m)"],
    );
    replay(
        "shutdown_disabled",
        &[&Shutdown::new()],
        &["Err(ERROR shutdown not enabled)"],
    );
    replay("shutdown_enabled", &[&Shutdown::new()], &["Closed"]);
    replay("quit", &[&Quit], &["Closed"]);
    replay_ops(
        "pipelined_get_then_quit",
        // The codec refuses to send after quit: memcached would ignore it.
        Sent::Without(&[b"get s_gq\r\n"]),
        &[
            Op::Reply(&Store::set("s_gq", "x")),
            Op::Reply(&Get::new("s_gq")),
            Op::Reply(&Quit),
        ],
        &["Stored", "Hit(0 \"x\")", "Closed"],
    );
    let (mut codec, _) = codec_with(&[&Quit]);
    let mut out = BytesMut::new();
    assert_eq!(
        codec.send(&Get::new("s_gq"), &mut out, Instant::now()),
        Err(EncodeError::Closing)
    );
    assert!(out.is_empty());
    // With nothing pending, the server's greeting error is unsolicited.
    replay(
        "too_many_connections",
        &[],
        &["Poisoned(decode: byte 0x45 arrived with no command pending)"],
    );
}

#[test]
fn stats() {
    replay("stats", &[&Stats::new()], &["Stats(92)"]);
    replay("stats_settings", &[&Stats::arg("settings")], &["Stats(76)"]);
    replay(
        "stats_items",
        &[&Store::set("s_si", "x"), &Stats::arg("items")],
        &["Stored", "Stats(28)"],
    );
    replay("stats_slabs", &[&Stats::arg("slabs")], &["Stats(32)"]);
    replay(
        "stats_sizes_disabled",
        &[&Stats::arg("sizes")],
        &["Stats(1)"],
    );
    replay("stats_conns", &[&Stats::arg("conns")], &["Stats(7)"]);
    replay("stats_reset", &[&Stats::reset()], &["Reset"]);
    replay(
        "stats_unknown",
        &[&Stats::arg("nosuchthing")],
        &["Err(ERROR)"],
    );
}

#[test]
fn meta_get() {
    replay("mn", &[&MetaNoop], &["Noop"]);
    replay(
        "mg_miss",
        &[&MetaGet::new("s_mg_missing").return_value()],
        &["Meta(EN)"],
    );
    replay(
        "mg_hit_no_flags",
        &[
            &Store::set("s_mg", "hello").client_flags(9),
            &MetaGet::new("s_mg"),
        ],
        &["Stored", "Meta(HD)"],
    );
    replay(
        "mg_hit_value",
        &[&MetaGet::new("s_mg").return_value()],
        &["Meta(VA \"hello\")"],
    );
    replay(
        "mg_many_flags",
        &[&MetaGet::new("s_mg")
            .return_size()
            .return_value()
            .return_client_flags()
            .return_key()
            .opaque("12345")
            .return_cas()
            .return_ttl()],
        &["Meta(VA \"hello\" [s5 f9 ks_mg O12345 c# t-1])"],
    );
    replay(
        "mg_miss_with_k_O",
        &[&MetaGet::new("s_mg_missing2")
            .return_key()
            .opaque("77")
            .return_value()],
        &["Meta(EN [ks_mg_missing2 O77])"],
    );
    replay(
        "mg_quiet_pipeline",
        &[
            &Store::set("s_q1", "q1"),
            &MetaGet::new("s_q_missing")
                .return_value()
                .quiet()
                .opaque("1"),
            &MetaGet::new("s_q1").return_value().quiet().opaque("2"),
            &MetaGet::new("s_q_missing2")
                .quiet()
                .return_key()
                .opaque("3"),
            &MetaNoop,
        ],
        &[
            "Stored",
            "Meta(EN (inferred))",
            "Meta(VA \"q1\" [O2])",
            "Meta(EN (inferred))",
            "Noop",
        ],
    );
    replay(
        "mg_ttl_update",
        &[
            &Store::set("s_mgt", "x"),
            &MetaGet::new("s_mgt").ttl(rel(300)).return_ttl(),
        ],
        &["Stored", "Meta(HD [t#])"],
    );
}

#[test]
fn meta_set_delete_arithmetic_debug() {
    replay(
        "ms_basic",
        &[
            &MetaSet::new("s_ms", "hello"),
            &MetaGet::new("s_ms").return_value().return_client_flags(),
        ],
        &["Meta(HD)", "Meta(VA \"hello\" [f0])"],
    );
    replay(
        "ms_many_flags",
        &[
            &MetaSet::new("s_ms2", "abc")
                .ttl(Exptime::never())
                .client_flags(123)
                .return_cas()
                .return_key()
                .opaque("99"),
            &MetaGet::new("s_ms2")
                .return_value()
                .return_client_flags()
                .return_ttl(),
        ],
        &["Meta(HD [c# ks_ms2 O99])", "Meta(VA \"abc\" [f123 t-1])"],
    );
    replay(
        "ms_quiet",
        &[
            &MetaSet::new("s_msq", "a").quiet(),
            &MetaSet::new("s_msq", "b")
                .quiet()
                .mode(MetaSetMode::Add)
                .opaque("4"),
            &MetaNoop,
        ],
        &["Meta(HD (inferred))", "Meta(NS [O4])", "Noop"],
    );
    let mode = |m, v| MetaSet::new("s_msm", v).mode(m);
    replay(
        "ms_modes",
        &[
            &mode(MetaSetMode::Replace, "a"),
            &mode(MetaSetMode::Append, "a"),
            &mode(MetaSetMode::Add, "a"),
            &mode(MetaSetMode::Add, "b"),
            &mode(MetaSetMode::Append, "c"),
            &mode(MetaSetMode::Prepend, "d"),
            &mode(MetaSetMode::Set, "e"),
            &MetaGet::new("s_msm").return_value(),
        ],
        &[
            "Meta(NS)",
            "Meta(NS)",
            "Meta(HD)",
            "Meta(NS)",
            "Meta(HD)",
            "Meta(HD)",
            "Meta(HD)",
            "Meta(VA \"e\")",
        ],
    );
    replay(
        "ms_cas",
        &[
            &MetaSet::new("s_msc", "a").compare_cas(1),
            &MetaSet::new("s_msc", "a"),
            &MetaSet::new("s_msc", "b").compare_cas(1),
        ],
        &["Meta(NF)", "Meta(HD)", "Meta(EX)"],
    );
    replay(
        "md_hit_miss",
        &[
            &Store::set("s_md", "x"),
            &MetaDelete::new("s_md"),
            &MetaDelete::new("s_md"),
        ],
        &["Stored", "Meta(HD)", "Meta(NF)"],
    );
    replay(
        "md_flags_quiet",
        &[
            &Store::set("s_mdq", "x"),
            &MetaDelete::new("s_mdq").quiet().return_key().opaque("1"),
            &MetaDelete::new("s_mdq").quiet().return_key().opaque("2"),
            &MetaNoop,
        ],
        &[
            "Stored",
            "Meta(HD (inferred))",
            "Meta(NF [ks_mdq O2])",
            "Noop",
        ],
    );
    replay(
        "md_cas_mismatch",
        &[
            &Store::set("s_mdc", "x"),
            &MetaDelete::new("s_mdc").compare_cas(1),
        ],
        &["Stored", "Meta(EX)"],
    );
    replay(
        "ma_basic",
        &[
            &Store::set("s_ma", "5"),
            &MetaArithmetic::new("s_ma"),
            &MetaArithmetic::new("s_ma").return_value(),
            &MetaArithmetic::new("s_ma_missing"),
        ],
        &["Stored", "Meta(HD)", "Meta(VA \"7\")", "Meta(NF)"],
    );
    replay(
        "ma_non_numeric",
        &[&Store::set("s_man", "x"), &MetaArithmetic::new("s_man")],
        &[
            "Stored",
            "Err(CLIENT_ERROR cannot increment or decrement non-numeric value)",
        ],
    );
    replay(
        "me_hit_miss",
        &[
            &Store::set("s_me", "x"),
            &memcache_codec::command::MetaDebug::new("s_me"),
            &memcache_codec::command::MetaDebug::new("s_me_missing"),
        ],
        &[
            "Stored",
            "ME(s_me exp=-1 la=# cas=# fetch=no cls=1 size=#)",
            "Miss",
        ],
    );
    // Not in the recordings, but the mode must encode as memcached reads it.
    let (_, out) = codec_with(&[&MetaArithmetic::new("n").mode(MetaArithMode::Decr)]);
    assert_eq!(&out[..], b"ma n MD\r\n");
}

/// The malformed requests of the recording, written with the raw command: byte for
/// byte as recorded, each reply a server error (or, for one with a data block, the
/// error and then the poison memcached's handling of the block calls for).
#[test]
fn malformed_requests_sent_raw() {
    let line = |text| Raw::new(text, RawShape::Line);
    let error = "Err(ERROR)";
    replay(
        "cas_bad_unique",
        &[&line("cas s_casb 0 0 1 abc").data("x")],
        &[
            "Err(CLIENT_ERROR bad command line format)",
            "Poisoned(decode: memcached rejected a command before reading its data block \
             (CLIENT_ERROR bad command line format); stream state unknown)",
        ],
    );
    let bad_delta = "Err(CLIENT_ERROR invalid numeric delta argument)";
    replay(
        "incr_bad_delta",
        &[
            &Store::set("s_bd", "1"),
            &line("incr s_bd abc"),
            &line("incr s_bd -1"),
            &line("incr s_bd 18446744073709551616"),
        ],
        &["Stored", bad_delta, bad_delta, bad_delta],
    );
    replay(
        "delete_legacy_time_arg",
        &[
            &Store::set("s_del0", "x"),
            &line("delete s_del0 0"),
            &line("delete s_del0 5"),
        ],
        &[
            "Stored",
            "Raw[DELETED]",
            "Err(CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply])",
        ],
    );
    let bad_exptime = "Err(CLIENT_ERROR invalid exptime argument)";
    replay(
        "touch_bad_exptime",
        &[&line("touch s_t abc")],
        &[bad_exptime],
    );
    replay("gat_bad_exptime", &[&line("gat abc s_gat")], &[bad_exptime]);
    replay(
        "flush_all_bad_arg",
        &[&line("flush_all abc")],
        &[bad_exptime],
    );
    let bad_format = "Err(CLIENT_ERROR bad command line format)";
    replay(
        "negative_length",
        &[&line("set s_neg 0 0 -1")],
        &[bad_format],
    );
    replay(
        "verbosity_bad_arg",
        &[&line("verbosity abc")],
        &[bad_format],
    );
    for (name, text) in [
        ("unknown_command", "foobar"),
        ("uppercase_command", "GET s_get"),
        ("wrong_arity_storage", "set s_x 0 0"),
        ("verbosity_no_arg", "verbosity"),
        ("cache_memlimit_bad_arg", "cache_memlimit abc"),
        ("meta_unknown_command", "mx s_mg"),
    ] {
        replay(name, &[&line(text)], &[error]);
    }
}

/// The requests the raw command refuses: a data block its line does not announce, an
/// empty line, a quiet meta command.
#[test]
fn malformed_requests_refused_raw() {
    let line = |text| Raw::new(text, RawShape::Line);
    let length = EncodeError::RawRefused("the line does not state the data block's length");
    refused(
        "bad_data_chunk_too_long",
        &[(&line("set s_bad 0 0 3").data("abcde"), length.clone())],
    );
    refused(
        "bad_data_chunk_too_short",
        &[(&line("set s_bad2 0 0 5").data("ab"), length.clone())],
    );
    refused(
        "ms_old_S_syntax",
        &[(&line("ms s_mss S5").data("hello"), length)],
    );
    refused(
        "empty_line",
        &[(
            &line(""),
            EncodeError::InvalidToken {
                what: "raw command token",
                reason: TokenError::Empty,
            },
        )],
    );
    refused(
        "ms_bad_data_chunk",
        &[(
            &line("ms s_msb 2 q").data("abcd"),
            EncodeError::RawRefused(
                "a quiet meta command may get no reply: use the typed meta commands",
            ),
        )],
    );
}
