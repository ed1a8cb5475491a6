//! The meta protocol: every request flag encoded, every return flag parsed, and
//! quiet batches.

mod common;

use std::time::Instant;

use bytes::BytesMut;
use common::{codec_with, decode_every_way};
use memcache_codec::command::{
    Command, Exptime, MetaArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaNoop, MetaSet,
    MetaSetMode,
};
use memcache_codec::response::{MetaResponse, MetaStatus, Ttl};
use memcache_codec::{Codec, Config, EncodeError, KeyError, Response};

/// The bytes exactly as asked for: no automatic opaque on quiet commands.
fn encoded(command: &dyn Command) -> String {
    let mut out = BytesMut::new();
    Codec::with_config(Config::DEFAULT.with_auto_opaque(false))
        .send(command, &mut out, Instant::now())
        .expect("valid command");
    common::text(&out)
}

#[test]
fn quiet_commands_get_their_token_as_opaque_unless_they_have_one() {
    let (codec, out) = codec_with(&[
        &MetaGet::new("a").quiet(),
        &MetaSet::new("b", "v").quiet(),
        &MetaDelete::new("c").quiet().opaque("mine"),
        &MetaArithmetic::new("d").quiet().return_key(),
        &MetaGet::new("e"),
        &MetaNoop,
    ]);
    assert_eq!(
        common::text(&out),
        "mg a q O~0\\r\\nms b 1 q O~1\\r\\nv\\r\\nmd c q Omine\\r\\nma d q k O~3\\r\\nmg e\\r\\nmn\\r\\n"
    );
    assert_eq!(codec.pending(), 6);
    // Off: exactly the bytes asked for.
    let mut out = BytesMut::new();
    let mut codec = Codec::with_config(Config::DEFAULT.with_auto_opaque(false));
    codec
        .send(&MetaGet::new("a").quiet(), &mut out, Instant::now())
        .unwrap();
    assert_eq!(&out[..], b"mg a q\r\n");
}

#[test]
fn every_request_flag_encodes() {
    let t = Exptime::in_seconds(30).unwrap();
    let rows: &[(&dyn Command, &str)] = &[
        // mg: b c f h k l O q s t u v E N R T C, in call order.
        (&MetaGet::new("\x00k").base64_key(), "mg AGs= b\\r\\n"),
        (&MetaGet::new("k").return_cas(), "mg k c\\r\\n"),
        (&MetaGet::new("k").return_client_flags(), "mg k f\\r\\n"),
        (&MetaGet::new("k").return_hit_before(), "mg k h\\r\\n"),
        (&MetaGet::new("k").return_key(), "mg k k\\r\\n"),
        (&MetaGet::new("k").return_last_access(), "mg k l\\r\\n"),
        (&MetaGet::new("k").opaque("op"), "mg k Oop\\r\\n"),
        (&MetaGet::new("k").quiet(), "mg k q\\r\\n"),
        (&MetaGet::new("k").return_size(), "mg k s\\r\\n"),
        (&MetaGet::new("k").return_ttl(), "mg k t\\r\\n"),
        (&MetaGet::new("k").no_bump(), "mg k u\\r\\n"),
        (&MetaGet::new("k").return_value(), "mg k v\\r\\n"),
        (
            &MetaGet::new("k").new_cas(u64::MAX),
            "mg k E18446744073709551615\\r\\n",
        ),
        (&MetaGet::new("k").vivify(t), "mg k N30\\r\\n"),
        (
            &MetaGet::new("k").recache(2_147_483_647),
            "mg k R2147483647\\r\\n",
        ),
        (&MetaGet::new("k").ttl(Exptime::expired()), "mg k T-1\\r\\n"),
        (&MetaGet::new("k").compare_cas(7), "mg k C7\\r\\n"),
        (
            &MetaGet::new("k")
                .return_value()
                .ttl(t)
                .return_value()
                .ttl(Exptime::never())
                .opaque("a")
                .opaque("b"),
            "mg k v T0 Ob\\r\\n",
        ),
        // ms: b c C E F I k O q s T M N.
        (
            &MetaSet::new("\x00k", "v").base64_key(),
            "ms AGs= 1 b\\r\\nv\\r\\n",
        ),
        (&MetaSet::new("k", "").return_cas(), "ms k 0 c\\r\\n\\r\\n"),
        (
            &MetaSet::new("k", "v").compare_cas(0),
            "ms k 1 C0\\r\\nv\\r\\n",
        ),
        (&MetaSet::new("k", "v").new_cas(9), "ms k 1 E9\\r\\nv\\r\\n"),
        (
            &MetaSet::new("k", "v").client_flags(u64::from(u32::MAX)),
            "ms k 1 F4294967295\\r\\nv\\r\\n",
        ),
        (
            &MetaSet::new("k", "v").invalidate(),
            "ms k 1 I\\r\\nv\\r\\n",
        ),
        (
            &MetaSet::new("k", "v").return_key(),
            "ms k 1 k\\r\\nv\\r\\n",
        ),
        (
            &MetaSet::new("k", "v").opaque("1"),
            "ms k 1 O1\\r\\nv\\r\\n",
        ),
        (&MetaSet::new("k", "v").quiet(), "ms k 1 q\\r\\nv\\r\\n"),
        (
            &MetaSet::new("k", "v").return_size(),
            "ms k 1 s\\r\\nv\\r\\n",
        ),
        (&MetaSet::new("k", "v").ttl(t), "ms k 1 T30\\r\\nv\\r\\n"),
        (
            &MetaSet::new("k", "v").mode(MetaSetMode::Set),
            "ms k 1 MS\\r\\nv\\r\\n",
        ),
        (
            &MetaSet::new("k", "v").mode(MetaSetMode::Add),
            "ms k 1 ME\\r\\nv\\r\\n",
        ),
        (
            &MetaSet::new("k", "v").mode(MetaSetMode::Append),
            "ms k 1 MA\\r\\nv\\r\\n",
        ),
        (
            &MetaSet::new("k", "v").mode(MetaSetMode::Prepend),
            "ms k 1 MP\\r\\nv\\r\\n",
        ),
        (
            &MetaSet::new("k", "v").mode(MetaSetMode::Replace),
            "ms k 1 MR\\r\\nv\\r\\n",
        ),
        (&MetaSet::new("k", "v").vivify(t), "ms k 1 N30\\r\\nv\\r\\n"),
        (&MetaSet::new("k", "a\r\nb"), "ms k 4\\r\\na\\r\\nb\\r\\n"),
        // md: b C E I k O q T x.
        (&MetaDelete::new("\x00k").base64_key(), "md AGs= b\\r\\n"),
        (&MetaDelete::new("k").compare_cas(3), "md k C3\\r\\n"),
        (&MetaDelete::new("k").new_cas(3), "md k E3\\r\\n"),
        (
            &MetaDelete::new("k").invalidate().ttl(t),
            "md k I T30\\r\\n",
        ),
        (&MetaDelete::new("k").return_key(), "md k k\\r\\n"),
        (&MetaDelete::new("k").opaque("x"), "md k Ox\\r\\n"),
        (&MetaDelete::new("k").quiet(), "md k q\\r\\n"),
        (&MetaDelete::new("k").remove_value(), "md k x\\r\\n"),
        // ma: b C E N J D T M O q t c v k.
        (
            &MetaArithmetic::new("\x00k").base64_key(),
            "ma AGs= b\\r\\n",
        ),
        (&MetaArithmetic::new("k").compare_cas(1), "ma k C1\\r\\n"),
        (&MetaArithmetic::new("k").new_cas(1), "ma k E1\\r\\n"),
        (
            &MetaArithmetic::new("k").vivify(t).initial(u64::MAX),
            "ma k N30 J18446744073709551615\\r\\n",
        ),
        (&MetaArithmetic::incr("k", 5), "ma k D5\\r\\n"),
        (&MetaArithmetic::decr("k", 5), "ma k MD D5\\r\\n"),
        (
            &MetaArithmetic::new("k").mode(MetaArithMode::Incr),
            "ma k MI\\r\\n",
        ),
        (&MetaArithmetic::new("k").ttl(t), "ma k T30\\r\\n"),
        (&MetaArithmetic::new("k").opaque("o"), "ma k Oo\\r\\n"),
        (&MetaArithmetic::new("k").quiet(), "ma k q\\r\\n"),
        (&MetaArithmetic::new("k").return_ttl(), "ma k t\\r\\n"),
        (&MetaArithmetic::new("k").return_cas(), "ma k c\\r\\n"),
        (&MetaArithmetic::new("k").return_value(), "ma k v\\r\\n"),
        (&MetaArithmetic::new("k").return_key(), "ma k k\\r\\n"),
        // me: key and b.
        (&memcache_codec::command::MetaDebug::new("k"), "me k\\r\\n"),
        (
            &memcache_codec::command::MetaDebug::new("\x00k").base64_key(),
            "me AGs= b\\r\\n",
        ),
    ];
    for (command, wire) in rows {
        assert_eq!(encoded(*command), *wire);
    }
}

#[test]
fn flag_limits_and_binary_keys() {
    // A binary key is fine with `b`, refused without it.
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let now = Instant::now();
    assert_eq!(
        codec.send(&MetaGet::new("a b"), &mut out, now),
        Err(EncodeError::InvalidKey {
            index: 0,
            reason: KeyError::ForbiddenByte {
                byte: b' ',
                offset: 1
            }
        })
    );
    codec
        .send(&MetaGet::new("a b").base64_key(), &mut out, now)
        .unwrap();
    assert_eq!(&out[..], b"mg YSBi b\r\n");
    // mg with every flag it has is 17 tokens, memcached's maximum.
    let all = MetaGet::new("k")
        .base64_key()
        .return_cas()
        .return_client_flags()
        .return_hit_before()
        .return_key()
        .return_last_access()
        .opaque("o")
        .quiet()
        .return_size()
        .return_ttl()
        .no_bump()
        .return_value()
        .new_cas(1)
        .vivify(Exptime::never())
        .recache(1)
        .ttl(Exptime::never())
        .compare_cas(1);
    let mut out = BytesMut::new();
    Codec::new().send(&all, &mut out, now).unwrap();
    assert_eq!(out[..].split(|&b| b == b' ').count(), 2 + 17);
}

#[test]
fn every_return_flag_parses() {
    fn parse(flags: &str) -> MetaResponse {
        let mut codec = Codec::new();
        codec
            .send(
                &MetaGet::new("k").opaque("o").return_key(),
                &mut BytesMut::new(),
                Instant::now(),
            )
            .unwrap();
        let mut buf = BytesMut::from(format!("HD Oo kk {flags}\r\n").as_bytes());
        match codec
            .decode(&mut buf, Instant::now())
            .unwrap()
            .unwrap()
            .result
        {
            Ok(Response::Meta(m)) => m,
            other => panic!("{flags}: {other:?}"),
        }
    }
    type Check = fn(&MetaResponse) -> bool;
    let rows: &[(&str, Check)] = &[
        ("c0", |m| m.cas() == Some(0)),
        ("c18446744073709551615", |m| m.cas() == Some(u64::MAX)),
        ("f4294967295", |m| {
            m.client_flags() == Some(u64::from(u32::MAX))
        }),
        ("f18446744073709551615", |m| {
            m.client_flags() == Some(u64::MAX)
        }),
        ("t-1", |m| m.ttl() == Some(Ttl::Never)),
        ("t0", |m| m.ttl() == Some(Ttl::Seconds(0))),
        ("t2592000", |m| m.ttl() == Some(Ttl::Seconds(2_592_000))),
        ("s1048576", |m| m.size() == Some(1_048_576)),
        ("h0", |m| m.hit_before() == Some(false)),
        ("h1", |m| m.hit_before() == Some(true)),
        ("l42", |m| m.last_access() == Some(42)),
        ("W", |m| m.won() && !m.stale() && !m.win_sent()),
        ("X", |m| m.stale()),
        ("Z", |m| m.win_sent()),
        ("X W Z", |m| m.won() && m.stale() && m.win_sent()),
        ("Q1 y Yabc", |m| {
            m.flag(b'Q') == Some(&b"1"[..])
                && m.flag(b'y') == Some(&b""[..])
                && m.flag(b'Y') == Some(&b"abc"[..])
        }),
    ];
    for (flags, check) in rows {
        let m = parse(flags);
        assert!(check(&m), "{flags}: {m:?}");
        assert_eq!(m.status, MetaStatus::Success);
        assert_eq!((m.opaque(), m.key()), (Some(&b"o"[..]), Some(&b"k"[..])));
        assert_eq!(m.raw_flags(), format!("Oo kk {flags}").as_bytes());
    }
}

#[test]
fn quiet_batch_pairs_hits_and_misses() {
    let keys: Vec<String> = (0..8).map(|i| format!("key{i}")).collect();
    let gets: Vec<MetaGet<'_>> = keys
        .iter()
        .map(|k| MetaGet::new(k).return_value())
        .collect();
    let build = || {
        let mut codec = Codec::new();
        let batch = codec
            .send_quiet_batch(&gets, &mut BytesMut::new(), Instant::now())
            .unwrap();
        assert_eq!(
            batch.tokens().map(|t| t.index()).collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
        assert_eq!(
            (
                batch.fence().index(),
                batch.token(7).map(|t| t.index()),
                batch.token(8)
            ),
            (8, Some(7), None)
        );
        codec
    };
    let mut out = BytesMut::new();
    Codec::new()
        .send_quiet_batch(&gets[..2], &mut out, Instant::now())
        .unwrap();
    assert_eq!(&out[..], b"mg key0 v q O~0\r\nmg key1 v q O~1\r\nmn\r\n");
    // Hits for 1, 2, 6; the rest missed and were silent.
    let got = decode_every_way(
        &build,
        b"VA 1 O~1\r\na\r\nVA 2 O~2\r\nbb\r\nVA 0 O~6\r\n\r\nMN\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Meta(EN (inferred))",
            "Meta(VA \"a\" [O~1])",
            "Meta(VA \"bb\" [O~2])",
            "Meta(EN (inferred))",
            "Meta(EN (inferred))",
            "Meta(EN (inferred))",
            "Meta(VA \"\" [O~6])",
            "Meta(EN (inferred))",
            "Noop",
            "End(pending=0, buffered=0)",
        ]
    );
    // Commands that already carry an opaque or ask for the key keep them.
    let tagged = [
        MetaGet::new("a").opaque("x"),
        MetaGet::new("b").return_key(),
    ];
    let mut out = BytesMut::new();
    Codec::new()
        .send_quiet_batch(&tagged, &mut out, Instant::now())
        .unwrap();
    assert_eq!(&out[..], b"mg a Ox q\r\nmg b k q O~1\r\nmn\r\n");
}

#[test]
fn quiet_batch_is_all_or_nothing() {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send(&MetaGet::new("before").quiet().opaque("~1"), &mut out, now)
        .unwrap();
    let before = out.clone();
    let bad_key = [
        MetaGet::new("a").opaque("a"),
        MetaGet::new("b c"),
        MetaGet::new("d"),
    ];
    assert!(matches!(
        codec.send_quiet_batch(&bad_key, &mut out, now),
        Err(EncodeError::InvalidKey { .. })
    ));
    // Token 1 would get opaque "~1", already in flight: ambiguous, refused.
    let clash = [MetaGet::new("a").return_value()];
    assert_eq!(
        codec.send_quiet_batch(&clash, &mut out, now),
        Err(EncodeError::AmbiguousQuiet)
    );
    assert_eq!((&out, codec.pending()), (&before, 1));
    // The tokens and run state were rolled back: a clean batch works afterwards.
    let ok = [MetaGet::new("a").opaque("a"), MetaGet::new("b").opaque("b")];
    let batch = codec.send_quiet_batch(&ok, &mut out, now).unwrap();
    assert_eq!(batch.token(0).map(|t| t.index()), Some(1));
    let mut buf = BytesMut::from(&b"HD Ob\r\nMN\r\n"[..]);
    let mut statuses = Vec::new();
    while let Some(c) = codec.decode(&mut buf, now).unwrap() {
        statuses.push(common::shape_with(&c, false));
    }
    assert_eq!(
        statuses,
        [
            "Meta(EN (inferred))",
            "Meta(EN (inferred))",
            "Meta(HD [Ob])",
            "Noop"
        ]
    );
}

#[test]
fn a_batch_respects_the_pending_cap() {
    let limits = memcache_codec::Limits::DEFAULT.with_max_pending(3);
    let mut codec = Codec::with_config(memcache_codec::Config::DEFAULT.with_limits(limits));
    let gets = [MetaGet::new("a"), MetaGet::new("b"), MetaGet::new("c")];
    let mut out = BytesMut::new();
    assert_eq!(
        codec.send_quiet_batch(&gets, &mut out, Instant::now()),
        Err(EncodeError::TooManyPending { limit: 3 })
    );
    assert!(out.is_empty());
    codec
        .send_quiet_batch(&gets[..2], &mut out, Instant::now())
        .unwrap();
    assert_eq!(codec.pending(), 3);
}
