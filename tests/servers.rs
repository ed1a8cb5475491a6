//! Servers as they are: 64-bit client flags, server versions and what they gate,
//! ASCII authentication, and quiet pipelines without ambiguity. Each case runs the
//! codec against the reference server model (`memcache-testkit`) at the version
//! it concerns; `tests/live` repeats the ones a real memcached 1.6.18 can show.

mod common;

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use memcache_codec::command::{
    Auth, Command, Get, MetaArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaNoop, MetaSet,
    MetaSetMode, Quit, Store, Version,
};
use memcache_codec::profile::{ServerProfile, ServerVersion};
use memcache_codec::response::{MetaStatus, Ttl};
use memcache_codec::{
    Codec, CommandError, Completion, Config, ConnectionError, EncodeError, Response,
    ServerErrorKind,
};
use memcache_testkit::{AsciiAuth, Options, Server};

/// Sends `commands` in one write, feeds the bytes to `server` as one read, and
/// decodes its whole reply. Each command's result, in order (refused ones as
/// `Err` of the send), then how decoding ended.
fn exchange(
    codec: &mut Codec,
    server: &mut Server,
    commands: &[&dyn Command],
) -> (
    Vec<Result<Completion, EncodeError>>,
    Option<ConnectionError>,
) {
    let now = Instant::now();
    let mut out = BytesMut::new();
    let sent: Vec<_> = commands
        .iter()
        .map(|c| codec.send(*c, &mut out, now))
        .collect();
    let mut reply = Vec::new();
    server.feed(&out, &mut reply);
    let mut buf = BytesMut::from(&reply[..]);
    let mut done = Vec::new();
    let end = loop {
        match codec.decode(&mut buf, now) {
            Ok(Some(c)) => done.push(c),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let mut done = done.into_iter();
    let results = sent
        .into_iter()
        .map(|s| {
            s.map(|token| {
                let c = done.next().expect("a completion per command sent");
                assert_eq!(c.token, token, "in order");
                c
            })
        })
        .collect();
    assert!(done.next().is_none(), "no completion without a command");
    (results, end)
}

fn response(c: &Result<Completion, EncodeError>) -> &Response {
    match c {
        Ok(Completion {
            result: Ok(response),
            ..
        }) => response,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn meta(c: &Result<Completion, EncodeError>) -> &memcache_codec::response::MetaResponse {
    match response(c) {
        Response::Meta(m) => m,
        other => panic!("expected a meta reply, got {other:?}"),
    }
}

/// A codec that knows its server: the profile the model answers a probe with.
fn probed(server: &mut Server) -> Codec {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let probe = codec.send_probe(&mut out, now).unwrap();
    let mut reply = Vec::new();
    server.feed(&out, &mut reply);
    let mut buf = BytesMut::from(&reply[..]);
    let version = codec.decode(&mut buf, now).unwrap().unwrap();
    let settings = codec.decode(&mut buf, now).unwrap().unwrap();
    assert_eq!(
        (version.token, settings.token),
        (probe.version, probe.settings)
    );
    let profile =
        ServerProfile::from_replies(&version.result.unwrap(), &settings.result.unwrap()).unwrap();
    codec.set_profile(profile);
    codec
}

fn server(version: (u16, u16, u16), large_client_flags: bool) -> Server {
    Server::with_options(Options {
        version: memcache_testkit::Version::new(version.0, version.1, version.2),
        large_client_flags,
        ..Options::default()
    })
}

// ---------------------------------------------------------------- 64-bit flags

#[test]
fn flags_above_32_bits_round_trip_on_a_server_that_stores_them() {
    let mut model = server((1, 6, 45), true);
    let mut codec = probed(&mut model);
    assert_eq!(codec.profile().unwrap().client_flags_size, Some(8));
    let big = (1u64 << 32) + 7;
    let (r, end) = exchange(
        &mut codec,
        &mut model,
        &[
            &Store::set("a", "1").client_flags(u64::MAX),
            &MetaSet::new("b", "2").client_flags(big),
            &Get::new("a"),
            &MetaGet::new("b").return_client_flags().return_value(),
            &memcache_codec::command::GetMulti::new(&["a", "b"]),
        ],
    );
    assert_eq!(end, None);
    assert_eq!(response(&r[0]), &Response::Stored);
    assert_eq!(meta(&r[1]).status, MetaStatus::Success);
    let Response::Hit(v) = response(&r[2]) else {
        panic!("{:?}", r[2])
    };
    assert_eq!(v.flags, u64::MAX);
    assert_eq!(meta(&r[3]).client_flags(), Some(big));
    let Response::Items(values) = response(&r[4]) else {
        panic!("{:?}", r[4])
    };
    let flags: Vec<u64> = values.iter().map(|item| item.flags).collect();
    assert_eq!(flags, [u64::MAX, big]);
}

#[test]
fn flags_above_32_bits_are_refused_unless_the_server_stores_them() {
    let now = Instant::now();
    let too_big: [&dyn Command; 2] = [
        &Store::set("a", "1").client_flags(1 << 32),
        &MetaSet::new("a", "1").client_flags(1 << 32),
    ];
    // Nothing known, or a server known to store 4 bytes (1.6.18 cuts 2^32 to 0).
    let mut old = server((1, 6, 18), false);
    for mut codec in [Codec::new(), probed(&mut old)] {
        for command in too_big {
            let mut out = BytesMut::from(&b"x"[..]);
            assert_eq!(
                codec.send(command, &mut out, now),
                Err(EncodeError::FlagsTooLarge { flags: 1 << 32 })
            );
            assert_eq!((&out[..], codec.pending()), (&b"x"[..], 0));
        }
        // u32::MAX is every server's.
        let mut out = BytesMut::new();
        codec
            .send(
                &Store::set("a", "1").client_flags(u32::MAX.into()),
                &mut out,
                now,
            )
            .unwrap();
    }
    // Told by the caller.
    let mut codec = Codec::with_config(Config::DEFAULT.with_large_client_flags(true));
    for command in too_big {
        codec.send(command, &mut BytesMut::new(), now).unwrap();
    }
}

#[test]
fn replies_with_flags_above_32_bits_decode_whatever_the_profile() {
    // A server may hold such flags even if the codec was not told (another client
    // set them): reading them is always fine.
    let mut codec = Codec::new();
    let now = Instant::now();
    let mut out = BytesMut::new();
    codec.send(&Get::new("k"), &mut out, now).unwrap();
    codec
        .send(&MetaGet::new("k").return_client_flags(), &mut out, now)
        .unwrap();
    let mut input =
        BytesMut::from(&b"VALUE k 18446744073709551615 1\r\nx\r\nEND\r\nHD f4294967296\r\n"[..]);
    let hit = codec.decode(&mut input, now).unwrap().unwrap();
    assert!(matches!(hit.result, Ok(Response::Hit(v)) if v.flags == u64::MAX));
    let m = codec.decode(&mut input, now).unwrap().unwrap();
    assert!(matches!(m.result, Ok(Response::Meta(m)) if m.client_flags() == Some(1 << 32)));
}

// ---------------------------------------------------------------- versions

/// A gated feature, the first release that has it, and a command using it.
type Gated = (&'static str, (u16, u16, u16), Box<dyn Command>);

fn gated() -> Vec<Gated> {
    vec![
        ("E", (1, 6, 27), Box::new(MetaSet::new("k", "v").new_cas(5))),
        ("E", (1, 6, 27), Box::new(MetaGet::new("k").new_cas(5))),
        (
            "md x",
            (1, 6, 27),
            Box::new(MetaDelete::new("k").remove_value()),
        ),
        (
            "mg C",
            (1, 6, 40),
            Box::new(MetaGet::new("k").return_value().compare_cas(9)),
        ),
        ("bare mg", (1, 6, 18), Box::new(MetaGet::new("k"))),
        (
            "ms s",
            (1, 6, 20),
            Box::new(MetaSet::new("k", "v").return_size()),
        ),
        (
            "ms N on append",
            (1, 6, 20),
            Box::new(
                MetaSet::new("k", "v")
                    .mode(MetaSetMode::Append)
                    .vivify(memcache_codec::command::Exptime::never()),
            ),
        ),
    ]
}

#[test]
fn features_a_known_server_lacks_are_refused_at_send() {
    let now = Instant::now();
    for (what, since, command) in gated() {
        let before = ServerVersion::new(since.0, since.1, since.2 - 1);
        let mut codec = Codec::new();
        codec.set_profile(ServerProfile::new().with_version(before));
        let mut out = BytesMut::from(&b"x"[..]);
        let refused = codec.send(command.as_ref(), &mut out, now);
        let Err(EncodeError::Unsupported {
            since: s, server, ..
        }) = refused
        else {
            panic!("{what} on {before}: {refused:?}")
        };
        assert_eq!(
            (s, server),
            (ServerVersion::new(since.0, since.1, since.2), before)
        );
        assert_eq!((&out[..], codec.pending()), (&b"x"[..], 0), "{what}");
        // From that release on, and with nothing known, it is sent.
        for profile in [
            Some(ServerProfile::new().with_version(ServerVersion::new(since.0, since.1, since.2))),
            None,
        ] {
            let mut codec = Codec::new();
            if let Some(p) = profile {
                codec.set_profile(p);
            }
            codec
                .send(command.as_ref(), &mut BytesMut::new(), now)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

#[test]
fn gated_features_behave_on_the_model_of_the_release_that_has_them() {
    let mut model = server((1, 6, 45), false);
    let mut codec = probed(&mut model);
    let (r, end) = exchange(
        &mut codec,
        &mut model,
        &[
            &MetaSet::new("k", "hello")
                .new_cas(77)
                .return_cas()
                .return_size(),
            &MetaGet::new("k").return_value().compare_cas(77),
            &MetaGet::new("k").return_value().compare_cas(76),
            &MetaDelete::new("k").remove_value(),
            &MetaGet::new("k").return_value().return_cas(),
            &MetaSet::new("n", "x")
                .mode(MetaSetMode::Append)
                .vivify(memcache_codec::command::Exptime::never()),
            &MetaGet::new("n").return_value(),
            &MetaGet::new("gone"),
        ],
    );
    assert_eq!(end, None);
    let set = meta(&r[0]);
    assert_eq!((set.cas(), set.size()), (Some(77), Some(5)));
    // mg C: the cas matches, so no value; it does not, so the value.
    assert_eq!(
        (meta(&r[1]).status, meta(&r[1]).value()),
        (MetaStatus::Success, None)
    );
    assert_eq!(meta(&r[2]).value(), Some(&b"hello"[..]));
    // md x keeps the item, empty, with its cas.
    assert_eq!(meta(&r[3]).status, MetaStatus::Success);
    assert_eq!(
        (meta(&r[4]).value(), meta(&r[4]).cas()),
        (Some(&b""[..]), Some(77))
    );
    // ms N on append creates what is missing.
    assert_eq!(meta(&r[5]).status, MetaStatus::Success);
    assert_eq!(meta(&r[6]).value(), Some(&b"x"[..]));
    assert_eq!(meta(&r[7]).status, MetaStatus::Miss);
}

#[test]
fn a_profile_is_learned_from_a_probe_of_each_release() {
    for (version, large, size) in [
        ((1, 6, 18), false, None),
        ((1, 6, 27), false, Some(4)),
        ((1, 6, 45), true, Some(8)),
    ] {
        let mut model = server(version, large);
        let mut codec = probed(&mut model);
        let profile = codec.profile().unwrap();
        assert_eq!(
            profile.version,
            Some(ServerVersion::new(version.0, version.1, version.2))
        );
        assert_eq!(profile.client_flags_size, size, "{version:?}");
        assert_eq!(profile.item_size_max, Some(1024 * 1024));
        assert_eq!(profile.auth_enabled_ascii, Some(false));
        // The value limit follows item_size_max.
        assert_eq!(codec.config().limits.max_value_len, 1024 * 1024);
        let mut out = BytesMut::new();
        let too_big = vec![0u8; 1024 * 1024 + 1];
        assert!(matches!(
            codec.send(&Store::set("k", &too_big), &mut out, Instant::now()),
            Err(EncodeError::ValueTooLarge { .. })
        ));
    }
}

#[test]
fn me_exp_is_read_as_each_release_prints_it() {
    for version in [(1, 6, 18), (1, 6, 45)] {
        let mut model = server(version, false);
        let mut codec = probed(&mut model);
        let server_version = codec.profile().unwrap().version;
        let (r, _) = exchange(
            &mut codec,
            &mut model,
            &[
                &Store::set("t", "v")
                    .exptime(memcache_codec::command::Exptime::in_seconds(100).unwrap()),
                &Store::set("n", "v"),
                &memcache_codec::command::MetaDebug::new("t"),
                &memcache_codec::command::MetaDebug::new("n"),
            ],
        );
        let Response::MetaDebug(timed) = response(&r[2]) else {
            panic!("{:?}", r[2])
        };
        let Response::MetaDebug(never) = response(&r[3]) else {
            panic!("{:?}", r[3])
        };
        assert_eq!(
            timed.ttl(server_version),
            Some(Ttl::Seconds(100)),
            "{version:?}"
        );
        assert_eq!(never.ttl(server_version), Some(Ttl::Never), "{version:?}");
        let sign = timed.exp().unwrap().signum();
        assert_eq!(sign, if version.2 < 24 { -1 } else { 1 });
    }
}

// ---------------------------------------------------------------- auth

fn auth_server() -> Server {
    Server::with_options(Options {
        auth: Some(AsciiAuth::parse("/tmp/mc.auth", "alice:secret\n").unwrap()),
        ..Options::default()
    })
}

#[test]
fn auth_succeeds_then_commands_pipeline() {
    let mut model = auth_server();
    let mut codec = Codec::new();
    let (r, end) = exchange(&mut codec, &mut model, &[&Auth::new("alice", "secret")]);
    assert_eq!((response(&r[0]), end), (&Response::Authenticated, None));
    let (r, end) = exchange(
        &mut codec,
        &mut model,
        &[&Store::set("k", "v"), &Get::new("k"), &Version],
    );
    assert_eq!(end, None);
    assert_eq!(response(&r[0]), &Response::Stored);
    assert!(matches!(response(&r[1]), Response::Hit(_)));
    assert!(matches!(response(&r[2]), Response::Version(_)));
}

#[test]
fn a_failed_auth_completes_typed_and_closes_the_codec() {
    let now = Instant::now();
    let mut model = auth_server();
    let mut codec = Codec::new();
    let (r, end) = exchange(&mut codec, &mut model, &[&Auth::new("alice", "wrong")]);
    let Ok(Completion {
        result: Err(CommandError::AuthenticationFailed(error)),
        ..
    }) = &r[0]
    else {
        panic!("{:?}", r[0])
    };
    assert_eq!(error.kind, ServerErrorKind::ClientError);
    assert_eq!(&error.message[..], b"authentication failure");
    assert!(matches!(end, Some(ConnectionError::Unauthenticated { .. })));
    let mut out = BytesMut::new();
    assert!(matches!(
        codec.send(&Version, &mut out, now),
        Err(EncodeError::Poisoned(
            ConnectionError::Unauthenticated { .. }
        ))
    ));
    assert!(out.is_empty());
}

#[test]
fn auth_is_sent_alone_and_nothing_follows_it_until_answered() {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec.send(&Version, &mut out, now).unwrap();
    let before = out.clone();
    assert_eq!(
        codec.send(&Auth::new("alice", "secret"), &mut out, now),
        Err(EncodeError::AuthenticationNotAlone)
    );
    assert_eq!((&out, codec.pending()), (&before, 1));

    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send(&Auth::new("alice", "secret"), &mut out, now)
        .unwrap();
    let before = out.clone();
    for command in [
        &Store::set("k", "v") as &dyn Command,
        &Version,
        &MetaNoop,
        &Quit,
    ] {
        assert_eq!(
            codec.send(command, &mut out, now),
            Err(EncodeError::AuthenticationPending)
        );
        assert_eq!((&out, codec.pending()), (&before, 1));
    }
}

#[test]
fn credentials_memcached_cannot_take_are_refused() {
    let long = "p".repeat(250);
    for (user, password) in [
        ("", "pw"),
        ("alice", ""),
        ("al ice", "pw"),
        ("al:ice", "pw"),
        ("alice", "p w"),
        ("alice", "p\r\nw"),
        ("alice", "p\tw"),
        ("alice", &long[..]),
    ] {
        let mut codec = Codec::new();
        let mut out = BytesMut::new();
        assert!(
            matches!(
                codec.send(&Auth::new(user, password), &mut out, Instant::now()),
                Err(EncodeError::InvalidCredentials { .. })
            ),
            "{user:?} {password:?}"
        );
        assert!(out.is_empty());
    }
    // A server known to run without -Y would store the credentials as an item.
    let mut codec = Codec::new();
    codec.set_profile(ServerProfile::new().with_auth_enabled_ascii(false));
    assert_eq!(
        codec.send(
            &Auth::new("alice", "secret"),
            &mut BytesMut::new(),
            Instant::now()
        ),
        Err(EncodeError::AuthenticationDisabled)
    );
}

#[test]
fn unauthenticated_replies_poison_instead_of_pairing_wrongly() {
    // Three commands in one read: memcached answers only the last, once.
    let mut model = auth_server();
    let mut codec = Codec::new();
    let (r, end) = exchange(
        &mut codec,
        &mut model,
        &[&Get::new("a"), &Get::new("b"), &Version],
    );
    let Ok(Completion {
        result: Err(CommandError::Server(first)),
        ..
    }) = &r[0]
    else {
        panic!("{:?}", r[0])
    };
    assert_eq!(&first.message[..], b"unauthenticated");
    for later in &r[1..] {
        assert!(matches!(
            later,
            Ok(Completion {
                result: Err(CommandError::Connection(
                    ConnectionError::Unauthenticated { .. }
                )),
                ..
            })
        ));
    }
    assert!(matches!(end, Some(ConnectionError::Unauthenticated { .. })));
}

// ---------------------------------------------------------------- quiet

#[test]
fn quiet_pipelines_that_were_refused_now_pair_exactly() {
    let mut model = Server::new();
    let mut codec = Codec::new();
    // A quiet store then an autovivifying arithmetic that returns the value.
    let (r, end) = exchange(
        &mut codec,
        &mut model,
        &[
            &MetaSet::new("s", "v").quiet(),
            &MetaArithmetic::new("n")
                .vivify(memcache_codec::command::Exptime::never())
                .initial(0)
                .return_value(),
            &MetaNoop,
        ],
    );
    assert_eq!(end, None);
    assert!(meta(&r[0]).inferred && meta(&r[0]).status == MetaStatus::Success);
    assert_eq!(meta(&r[1]).value(), Some(&b"0"[..]));
    assert_eq!(response(&r[2]), &Response::Noop);

    // Two untagged quiet ma, one that fails (not found) and one that succeeds
    // silently, then a quiet add that is refused: every refusal reaches its own.
    let (r, end) = exchange(
        &mut codec,
        &mut model,
        &[
            &MetaArithmetic::new("missing").quiet(),
            &MetaArithmetic::new("n").mode(MetaArithMode::Incr).quiet(),
            &MetaSet::new("s", "w").mode(MetaSetMode::Add).quiet(),
            &MetaGet::new("n").return_value(),
        ],
    );
    assert_eq!(end, None);
    assert_eq!(
        (meta(&r[0]).status, meta(&r[0]).inferred),
        (MetaStatus::NotFound, false)
    );
    assert_eq!(
        (meta(&r[1]).status, meta(&r[1]).inferred),
        (MetaStatus::Success, true)
    );
    assert_eq!(
        (meta(&r[2]).status, meta(&r[2]).inferred),
        (MetaStatus::NotStored, false)
    );
    assert_eq!(meta(&r[3]).value(), Some(&b"1"[..]));
}

#[test]
fn quiet_commands_before_quit_complete_at_end_of_stream() {
    let now = Instant::now();
    let mut model = Server::new();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let set = codec
        .send(&MetaSet::new("k", "v").quiet(), &mut out, now)
        .unwrap();
    let get = codec
        .send(
            &MetaGet::new("missing").return_value().quiet(),
            &mut out,
            now,
        )
        .unwrap();
    let quit = codec.send(&Quit, &mut out, now).unwrap();
    let mut reply = Vec::new();
    model.feed(&out, &mut reply);
    assert!(reply.is_empty() && model.is_closed());
    let mut buf = BytesMut::new();
    assert_eq!(codec.decode(&mut buf, now), Ok(None));
    codec.handle_eof();
    let done: Vec<Completion> =
        std::iter::from_fn(|| codec.decode(&mut buf, now).ok().flatten()).collect();
    assert_eq!(done.len(), 3);
    assert_eq!(done[0].token, set);
    assert!(
        matches!(&done[0].result, Ok(Response::Meta(m)) if m.inferred && m.status == MetaStatus::Success)
    );
    assert_eq!(done[1].token, get);
    assert!(
        matches!(&done[1].result, Ok(Response::Meta(m)) if m.inferred && m.status == MetaStatus::Miss)
    );
    assert_eq!(
        (done[2].token, &done[2].result),
        (quit, &Ok(Response::Closed))
    );
    assert_eq!(codec.decode(&mut buf, now), Err(ConnectionError::Closed));
}

#[test]
fn without_quit_or_after_an_unanswered_command_eof_infers_nothing() {
    let now = Instant::now();
    // Quiet, then a loud command not answered, then quit: the server did not get
    // that far, so nothing is inferred.
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send(&MetaSet::new("k", "v").quiet(), &mut out, now)
        .unwrap();
    codec.send(&Version, &mut out, now).unwrap();
    codec.send(&Quit, &mut out, now).unwrap();
    codec.handle_eof();
    let mut buf = BytesMut::new();
    let results: Vec<_> = std::iter::from_fn(|| codec.decode(&mut buf, now).ok().flatten())
        .map(|c| c.result)
        .collect();
    assert_eq!(
        results,
        [
            Err(CommandError::Connection(ConnectionError::Closed)),
            Err(CommandError::Connection(ConnectionError::Closed)),
            Ok(Response::Closed)
        ]
    );
    // Quiet with no quit: the connection dropped.
    let mut codec = Codec::new();
    codec
        .send(&MetaSet::new("k", "v").quiet(), &mut BytesMut::new(), now)
        .unwrap();
    codec.handle_eof();
    assert_eq!(
        codec.decode(&mut buf, now).unwrap().unwrap().result,
        Err(CommandError::Connection(ConnectionError::Closed))
    );
    // A reply cut short before the end: nothing inferred either.
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send(&MetaGet::new("k").return_value().quiet(), &mut out, now)
        .unwrap();
    codec.send(&Quit, &mut out, now).unwrap();
    let mut buf = BytesMut::from(&b"VA 5 O~0\r\nhel"[..]);
    assert_eq!(codec.decode(&mut buf, now), Ok(None));
    codec.handle_eof();
    assert_eq!(
        codec.decode(&mut buf, now).unwrap().unwrap().result,
        Err(CommandError::Connection(ConnectionError::Closed))
    );
}

#[test]
fn a_quiet_command_last_in_line_needs_a_fence() {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    assert!(!codec.needs_fence());
    codec
        .send(&MetaGet::new("k").return_value().quiet(), &mut out, now)
        .unwrap();
    assert!(codec.needs_fence());
    codec.send(&Get::new("k"), &mut out, now).unwrap();
    assert!(!codec.needs_fence());
    codec
        .send(&MetaDelete::new("k").quiet(), &mut out, now)
        .unwrap();
    assert!(codec.needs_fence());
    // The batch API fences itself.
    let mut codec = Codec::new();
    codec
        .send_quiet_batch(&[MetaGet::new("k")], &mut out, now)
        .unwrap();
    assert!(!codec.needs_fence());
    let _ = Bytes::new();
}

// ---------------------------------------------------------------- edges found in review

#[test]
fn raw_meta_commands_that_could_be_quiet_or_taken_for_quiet_replies_are_refused() {
    use memcache_codec::command::{Raw, RawShape};
    let now = Instant::now();
    // memcached reads a flag by its first byte: `q1` is quiet too.
    for line in ["mg k v q1", "md k qx", "ma k q"] {
        let mut codec = Codec::new();
        let mut out = BytesMut::new();
        assert!(
            matches!(
                codec.send(&Raw::new(line, RawShape::Line), &mut out, now),
                Err(EncodeError::RawRefused(_))
            ),
            "{line}"
        );
        assert!(out.is_empty());
    }
    // Behind a quiet command, a raw meta reply could be the quiet one's.
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send(
            &MetaGet::new("a").return_value().opaque("1").quiet(),
            &mut out,
            now,
        )
        .unwrap();
    let before = out.clone();
    let raw = Raw::new(
        "mg b v O1",
        RawShape::Block {
            length_token: 1,
            end: false,
        },
    );
    assert_eq!(
        codec.send(&raw, &mut out, now),
        Err(EncodeError::AmbiguousQuiet)
    );
    assert_eq!((&out, codec.pending()), (&before, 1));
    // A raw classic command is fine there: its reply cannot be a meta one.
    codec
        .send(&Raw::new("version", RawShape::Line), &mut out, now)
        .unwrap();
}

#[test]
fn shutdown_is_not_sent_right_after_quiet_commands_and_infers_nothing() {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send(&MetaDelete::new("missing").quiet(), &mut out, now)
        .unwrap();
    let before = out.clone();
    // memcached closes at once on shutdown, dropping the md's NF; and on a server
    // without -A its error line could be the md's.
    assert_eq!(
        codec.send(&memcache_codec::command::Shutdown::new(), &mut out, now),
        Err(EncodeError::NeedsFence)
    );
    assert_eq!((&out, codec.pending()), (&before, 1));
    codec.send(&MetaNoop, &mut out, now).unwrap();
    codec
        .send(&memcache_codec::command::Shutdown::new(), &mut out, now)
        .unwrap();
    // The server went away with nothing answered: nothing is inferred.
    codec.handle_eof();
    let mut buf = BytesMut::new();
    let results: Vec<_> = codec.completions(&mut buf, now).map(|c| c.result).collect();
    assert_eq!(
        results,
        [
            Err(CommandError::Connection(ConnectionError::Closed)),
            Err(CommandError::Connection(ConnectionError::Closed)),
            Ok(Response::Closed),
        ]
    );
}

#[test]
fn meta_commands_are_refused_before_1_6_10_and_1_6_17_replies_are_read() {
    let now = Instant::now();
    let mut codec = Codec::new();
    codec.set_profile(ServerProfile::new().with_version(ServerVersion::new(1, 6, 9)));
    for command in [
        &MetaSet::new("k", "hello") as &dyn Command,
        &MetaGet::new("k").return_value(),
        &MetaDelete::new("k"),
        &MetaArithmetic::new("k"),
    ] {
        let mut out = BytesMut::new();
        assert!(matches!(
            codec.send(command, &mut out, now),
            Err(EncodeError::Unsupported { .. })
        ));
        assert!(out.is_empty());
    }
    codec.send(&MetaNoop, &mut BytesMut::new(), now).unwrap();
    codec.send(&Version, &mut BytesMut::new(), now).unwrap();

    // 1.6.10 to 1.6.17 put a space at the end of md and ma replies, and before the
    // opaque.
    let mut codec = Codec::new();
    codec.set_profile(ServerProfile::new().with_version(ServerVersion::new(1, 6, 17)));
    let mut out = BytesMut::new();
    for command in [
        &MetaDelete::new("a") as &dyn Command,
        &MetaDelete::new("b").opaque("1"),
        &MetaArithmetic::new("c").opaque("2"),
        &MetaArithmetic::new("d"),
    ] {
        codec.send(command, &mut out, now).unwrap();
    }
    let mut input = BytesMut::from(&b"HD \r\nNF  O1\r\nHD  O2\r\nNF \r\n"[..]);
    let got: Vec<_> = codec
        .completions(&mut input, now)
        .map(|c| {
            let Ok(Response::Meta(m)) = c.result else {
                panic!("{:?}", c.result)
            };
            (m.status, m.opaque().map(<[u8]>::to_vec))
        })
        .collect();
    assert_eq!(
        got,
        [
            (MetaStatus::Success, None),
            (MetaStatus::NotFound, Some(b"1".to_vec())),
            (MetaStatus::Success, Some(b"2".to_vec())),
            (MetaStatus::NotFound, None),
        ]
    );
    assert_eq!(codec.poisoned(), None);
}

#[test]
fn a_profile_caps_the_value_limit_and_never_raises_it() {
    let mut codec = Codec::with_config(
        Config::DEFAULT.with_limits(memcache_codec::Limits::DEFAULT.with_max_value_len(1024)),
    );
    codec.set_profile(ServerProfile::new().with_item_size_max(1 << 30));
    assert_eq!(codec.config().limits.max_value_len, 1024);
    codec.set_profile(ServerProfile::new().with_item_size_max(512));
    assert_eq!(codec.config().limits.max_value_len, 512);
}

#[test]
fn bget_keeps_to_2048_bytes_and_is_refused_where_it_was_removed() {
    use memcache_codec::command::Bget;
    let now = Instant::now();
    let keys: Vec<String> = (0..30).map(|i| format!("{i:0>100}")).collect();
    let mut out = BytesMut::new();
    assert!(matches!(
        Codec::new().send(&Bget::new(&keys), &mut out, now),
        Err(EncodeError::LineTooLong { .. })
    ));
    assert!(out.is_empty());
    let mut codec = Codec::new();
    codec.set_profile(ServerProfile::new().with_version(ServerVersion::new(1, 6, 40)));
    assert!(matches!(
        codec.send(&Bget::new(&["a"]), &mut out, now),
        Err(EncodeError::Removed { .. })
    ));
    codec.set_profile(ServerProfile::new().with_version(ServerVersion::new(1, 6, 39)));
    codec.send(&Bget::new(&["a"]), &mut out, now).unwrap();
}
