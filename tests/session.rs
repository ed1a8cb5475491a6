//! Sessions over time: the inactivity timer, end of stream, cancel, the noreply
//! fence, and quiet meta commands paired with their replies.

mod common;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{codec_with, decode_every_way, shape_with, snippet_of};
use memcache_codec::command::{
    Command, Get, GetMulti, MetaArithmetic, MetaDelete, MetaGet, MetaNoop, MetaSet, Quit, Store,
    Version,
};
use memcache_codec::{Codec, Config, ConnectionError, DecodeError, EncodeError, Response};

fn drain(
    codec: &mut Codec,
    buf: &mut BytesMut,
    now: Instant,
) -> (Vec<String>, Option<ConnectionError>) {
    let mut shapes = Vec::new();
    loop {
        match codec.decode(buf, now) {
            Ok(Some(c)) => shapes.push(format!("{}:{}", c.token.index(), shape_with(&c, false))),
            Ok(None) => return (shapes, None),
            Err(e) => return (shapes, Some(e)),
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn inactivity_timer_runs_only_while_commands_are_pending() {
    let t0 = Instant::now();
    let at = |secs| t0 + Duration::from_secs(secs);
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let mut buf = BytesMut::new();
    assert_eq!(codec.poll_timeout(), None);

    codec.send(&Get::new("a"), &mut out, t0).unwrap();
    assert_eq!(codec.poll_timeout(), Some(t0 + MINUTE));
    // A second command does not restart it.
    codec.send(&Get::new("b"), &mut out, at(10)).unwrap();
    assert_eq!(codec.poll_timeout(), Some(t0 + MINUTE));
    // Early: nothing happens.
    codec.handle_timeout(at(29));
    assert_eq!(codec.poisoned(), None);

    // Bytes arriving restart it, even a partial line.
    buf.extend_from_slice(b"EN");
    assert_eq!(drain(&mut codec, &mut buf, at(30)), (vec![], None));
    assert_eq!(codec.poll_timeout(), Some(at(90)));
    // Decoding again with no new bytes does not.
    assert_eq!(drain(&mut codec, &mut buf, at(40)), (vec![], None));
    assert_eq!(codec.poll_timeout(), Some(at(90)));

    buf.extend_from_slice(b"D\r\n");
    assert_eq!(
        drain(&mut codec, &mut buf, at(50)),
        (vec!["0:Miss".into()], None)
    );
    assert_eq!(codec.poll_timeout(), Some(at(110)));
    buf.extend_from_slice(b"END\r\n");
    assert_eq!(
        drain(&mut codec, &mut buf, at(55)),
        (vec!["1:Miss".into()], None)
    );
    // Nothing pending: no deadline, and a late report changes nothing.
    assert_eq!(codec.poll_timeout(), None);
    codec.handle_timeout(at(150));
    assert_eq!(codec.poisoned(), None);

    // The next send starts it afresh.
    codec.send(&Get::new("c"), &mut out, at(200)).unwrap();
    codec.send(&Get::new("d"), &mut out, at(200)).unwrap();
    assert_eq!(codec.poll_timeout(), Some(at(260)));
    codec.handle_timeout(at(260));
    assert_eq!(codec.poisoned(), Some(&ConnectionError::Timeout));
    assert_eq!(codec.poll_timeout(), None);
    // Reporting twice changes nothing.
    codec.handle_timeout(at(999));
    assert_eq!(
        drain(&mut codec, &mut buf, at(261)),
        (
            vec![
                "2:Fail(no reply within the inactivity timeout)".into(),
                "3:Fail(no reply within the inactivity timeout)".into()
            ],
            Some(ConnectionError::Timeout)
        )
    );
    assert_eq!(
        codec.send(&Get::new("e"), &mut out, at(262)),
        Err(EncodeError::Poisoned(ConnectionError::Timeout))
    );
}

#[test]
fn timeout_can_be_disabled_or_shortened() {
    let t0 = Instant::now();
    let mut out = BytesMut::new();
    let mut codec = Codec::with_config(Config::DEFAULT.with_inactivity_timeout(None));
    codec.send(&Version, &mut out, t0).unwrap();
    assert_eq!(codec.poll_timeout(), None);
    codec.handle_timeout(t0 + Duration::from_secs(1 << 30));
    assert_eq!(codec.poisoned(), None);

    let mut codec = Codec::with_config(
        Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_millis(250))),
    );
    codec.send(&Version, &mut out, t0).unwrap();
    assert_eq!(codec.poll_timeout(), Some(t0 + Duration::from_millis(250)));
}

#[test]
fn end_of_stream_fails_every_pending_command_once() {
    let now = Instant::now();
    let keys = ["a", "b"];
    let (mut codec, _) = codec_with(&[&GetMulti::new(&keys), &Store::set("a", "1"), &Version]);
    // Half a reply is buffered when the connection drops.
    let mut buf = BytesMut::from(&b"VALUE a 0 5\r\nab"[..]);
    assert_eq!(drain(&mut codec, &mut buf, now), (vec![], None));
    codec.handle_eof();
    let lost = "Fail(connection closed by the server)";
    assert_eq!(
        drain(&mut codec, &mut buf, now),
        (
            vec![
                format!("0:{lost}"),
                format!("1:{lost}"),
                format!("2:{lost}")
            ],
            Some(ConnectionError::Closed)
        )
    );
    assert_eq!(codec.decode(&mut buf, now), Err(ConnectionError::Closed));
    assert_eq!(codec.pending(), 0);
    // A second report changes nothing.
    codec.handle_eof();
    codec.handle_timeout(now + Duration::from_secs(3600));
    assert_eq!(codec.poisoned(), Some(&ConnectionError::Closed));

    // With nothing pending it is just the end: later calls say so.
    let mut idle = Codec::new();
    idle.handle_eof();
    assert_eq!(
        idle.decode(&mut BytesMut::new(), now),
        Err(ConnectionError::Closed)
    );
    assert_eq!(
        idle.send(&Version, &mut BytesMut::new(), now),
        Err(EncodeError::Poisoned(ConnectionError::Closed))
    );
}

#[test]
fn an_io_failure_fails_every_pending_command_with_its_kind() {
    let now = Instant::now();
    let (mut codec, _) = codec_with(&[&Get::new("a"), &Version, &Quit]);
    let mut buf = BytesMut::from(&b"END\r\nVERS"[..]);
    assert_eq!(
        drain(&mut codec, &mut buf, now),
        (vec!["0:Miss".into()], None)
    );
    codec.handle_io_error(std::io::ErrorKind::ConnectionReset);
    let reset = ConnectionError::Io(std::io::ErrorKind::ConnectionReset);
    assert_eq!(
        drain(&mut codec, &mut buf, now),
        (
            vec![format!("1:Fail({reset})"), "2:Closed".into()],
            Some(reset.clone())
        )
    );
    assert_eq!(
        std::io::Error::from(reset).kind(),
        std::io::ErrorKind::ConnectionReset
    );
}

#[test]
fn quit_succeeds_at_end_of_stream_after_earlier_replies() {
    let now = Instant::now();
    let (mut codec, _) = codec_with(&[&Get::new("a"), &Version, &Quit]);
    let mut buf = BytesMut::from(&b"END\r\n"[..]);
    assert_eq!(
        drain(&mut codec, &mut buf, now),
        (vec!["0:Miss".into()], None)
    );
    codec.handle_eof();
    assert_eq!(
        drain(&mut codec, &mut buf, now),
        (
            vec![
                "1:Fail(connection closed by the server)".into(),
                "2:Closed".into()
            ],
            Some(ConnectionError::Closed)
        )
    );
}

#[test]
fn cancelled_commands_are_read_and_dropped() {
    let now = Instant::now();
    let keys = ["a", "b"];
    let (mut codec, _) = codec_with(&[
        &Get::new("a"),
        &GetMulti::new(&keys),
        &Store::set("c", "1"),
        &Version,
    ]);
    let (first, multi, set) = (
        memcache_codec::Token::clone(&token(0, &codec)),
        token(1, &codec),
        token(2, &codec),
    );
    assert!(codec.cancel(first));
    assert!(!codec.cancel(first), "cancelling twice");
    let mut buf =
        BytesMut::from(&b"VALUE a 0 1\r\nx\r\nEND\r\nVALUE a 0 1\r\nx\r\nVALUE b 0 2"[..]);
    assert_eq!(drain(&mut codec, &mut buf, now), (vec![], None));
    // Cancelled while its reply is half read: the rest is still consumed.
    assert!(codec.cancel(multi));
    buf.extend_from_slice(b"\r\nyy\r\nEND\r\nSTORED\r\nVERSION 1.6.18\r\n");
    assert_eq!(
        drain(&mut codec, &mut buf, now),
        (vec!["2:Stored".into(), "3:Version(1.6.18)".into()], None)
    );
    assert!(!codec.cancel(set), "already completed");
    assert!(!codec.cancel(token(99, &codec)), "never sent");
    assert!(buf.is_empty());
    assert_eq!(codec.pending(), 0);

    // A cancelled command does not complete when the connection fails either.
    let (mut codec, _) = codec_with(&[&Version, &Version]);
    assert!(codec.cancel(token(0, &codec)));
    codec.handle_eof();
    assert_eq!(
        drain(&mut codec, &mut BytesMut::new(), now),
        (
            vec!["1:Fail(connection closed by the server)".into()],
            Some(ConnectionError::Closed)
        )
    );
}

/// Tokens are sequential from 0 for commands sent with a reply expected; build the
/// n-th one through a fresh codec so the test does not depend on its representation.
fn token(n: u64, _: &Codec) -> memcache_codec::Token {
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let mut last = None;
    for _ in 0..=n {
        last = Some(codec.send(&Version, &mut out, Instant::now()).unwrap());
    }
    last.unwrap()
}

#[test]
fn noreply_batch_with_a_fence() {
    let build = || {
        let mut codec = Codec::new();
        let mut out = BytesMut::new();
        for i in 0..3 {
            codec
                .send_noreply(&Store::set(&format!("k{i}"), "v"), &mut out)
                .unwrap();
        }
        assert_eq!(codec.pending(), 0, "noreply commands are not pending");
        codec.send(&MetaNoop, &mut out, Instant::now()).unwrap();
        codec
    };
    // The normal case: silence, then the fence.
    assert_eq!(
        decode_every_way(&build, b"MN\r\n", false, false),
        ["Noop", "End(pending=0, buffered=0)"]
    );
    // A server that answers a noreply command with an error: the error cannot be
    // attributed (is it the fence's?), so the codec poisons instead of guessing.
    let error = "error line cannot be attributed to one command: CLIENT_ERROR bad data chunk";
    assert_eq!(
        decode_every_way(
            &build,
            b"CLIENT_ERROR bad data chunk\r\nMN\r\n",
            false,
            false
        ),
        [
            format!("Fail(decode: {error})"),
            format!("Poisoned(decode: {error})")
        ]
    );
    // With no fence, a stray reply has nothing to pair with: unsolicited.
    let mut codec = Codec::new();
    codec
        .send_noreply(&Store::set("k", "v"), &mut BytesMut::new())
        .unwrap();
    assert_eq!(
        codec.decode(&mut BytesMut::from(&b"ERROR\r\n"[..]), Instant::now()),
        Err(ConnectionError::Decode(DecodeError::Unsolicited {
            byte: b'E'
        }))
    );
    // The same fence pattern works with `version` for servers without the meta protocol.
    let build = || {
        let mut codec = Codec::new();
        let mut out = BytesMut::new();
        codec
            .send_noreply(&memcache_codec::command::Delete::new("k"), &mut out)
            .unwrap();
        codec.send(&Version, &mut out, Instant::now()).unwrap();
        codec
    };
    assert_eq!(
        decode_every_way(&build, b"VERSION 1.6.18\r\n", false, false),
        ["Version(1.6.18)", "End(pending=0, buffered=0)"]
    );
}

#[test]
fn quiet_batch_of_hits_and_misses() {
    let opaques: Vec<String> = (0..6).map(|i| i.to_string()).collect();
    let commands: Vec<MetaGet<'_>> = opaques
        .iter()
        .map(|o| MetaGet::new(o).return_value().quiet().opaque(o))
        .collect();
    let mut all: Vec<&dyn Command> = commands.iter().map(|c| c as &dyn Command).collect();
    all.push(&MetaNoop);
    let got = decode_every_way(
        &|| codec_with(&all).0,
        b"VA 1 O1\r\n1\r\nVA 0 O2\r\n\r\nVA 1 O5\r\n5\r\nMN\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Meta(EN (inferred))",
            "Meta(VA \"1\" [O1])",
            "Meta(VA \"\" [O2])",
            "Meta(EN (inferred))",
            "Meta(EN (inferred))",
            "Meta(VA \"5\" [O5])",
            "Noop",
            "End(pending=0, buffered=0)",
        ]
    );
}

#[test]
fn quiet_commands_of_every_kind() {
    let commands: &[&dyn Command] = &[
        &MetaSet::new("a", "1").quiet().opaque("s"),
        &MetaDelete::new("b").quiet().opaque("d"),
        &MetaArithmetic::new("c").quiet().opaque("a"),
        &MetaArithmetic::new("n")
            .quiet()
            .vivify(memcache_codec::command::Exptime::never())
            .opaque("v"),
        &Get::new("classic"),
        &MetaSet::new("e", "2").quiet().opaque("x"),
        &MetaNoop,
    ];
    // ms/md/ma stay silent on success; ma's autovivify still answers on 1.6.18; a
    // classic reply ends the run; a failed quiet set is reported.
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"NF Od\r\nHD Ov\r\nEND\r\nNS Ox\r\nMN\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Meta(HD (inferred))",
            "Meta(NF [Od])",
            "Meta(HD (inferred))",
            "Meta(HD [Ov])",
            "Miss",
            "Meta(NS [Ox])",
            "Noop",
            "End(pending=0, buffered=0)",
        ]
    );
}

#[test]
fn a_bare_hd_completes_each_meta_command_that_asked_for_no_echo() {
    // The fast path for a bare `HD` and the general meta parser give the same result.
    let commands: &[&dyn Command] = &[
        &MetaGet::new("a"),
        &MetaSet::new("b", "1"),
        &MetaDelete::new("c"),
        &MetaArithmetic::new("d"),
        &MetaSet::new("e", "2").return_cas(),
        &MetaNoop,
    ];
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"HD\r\nHD\r\nHD\r\nHD\r\nHD c7\r\nMN\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Meta(HD)",
            "Meta(HD)",
            "Meta(HD)",
            "Meta(HD)",
            "Meta(HD [c7])",
            "Noop",
            "End(pending=0, buffered=0)",
        ]
    );
}

#[test]
fn replies_must_echo_their_own_opaque_and_key() {
    let mismatch = |commands: &[&dyn Command], recv: &[u8], error: DecodeError| {
        let got = decode_every_way(&|| codec_with(commands).0, recv, false, false);
        let mut want = vec![format!("Fail(decode: {error})"); commands.len()];
        want.push(format!("Poisoned(decode: {error})"));
        assert_eq!(got, want);
    };
    mismatch(
        &[&MetaGet::new("k").opaque("1")],
        b"HD O2\r\n",
        DecodeError::OpaqueMismatch,
    );
    mismatch(
        &[&MetaGet::new("k").opaque("1")],
        b"HD\r\n",
        DecodeError::OpaqueMismatch,
    );
    mismatch(
        &[&MetaGet::new("k")],
        b"HD O1\r\n",
        DecodeError::OpaqueMismatch,
    );
    // A value reply is checked the same, whole (one step) or split (line, then block).
    mismatch(
        &[&MetaGet::new("k").return_value().opaque("1")],
        b"VA 1 O2\r\nx\r\n",
        DecodeError::OpaqueMismatch,
    );
    mismatch(
        &[&MetaGet::new("k").return_value().return_key()],
        b"VA 1 kj\r\nx\r\n",
        DecodeError::KeyMismatch,
    );
    mismatch(
        &[&MetaGet::new("k").return_key()],
        b"HD kx\r\n",
        DecodeError::KeyMismatch,
    );
    mismatch(
        &[&MetaGet::new("k").return_key()],
        b"HD\r\n",
        DecodeError::KeyMismatch,
    );
    mismatch(
        &[&MetaGet::new("k")],
        b"HD kk\r\n",
        DecodeError::KeyMismatch,
    );
    // An echo marked base64 that does not decode to the key.
    mismatch(
        &[&MetaSet::new("k", "v").return_key()],
        b"HD k!!!! b\r\n",
        DecodeError::KeyMismatch,
    );
    // (A trailing space is read as memcached 1.6.10 to 1.6.17 send it: the key is
    // still checked.)
    mismatch(
        &[&MetaSet::new("k", "v").return_key()],
        b"HD kaw== \r\n",
        DecodeError::KeyMismatch,
    );
    mismatch(
        &[&memcache_codec::command::MetaDebug::new("k")],
        b"ME j exp=1\r\n",
        DecodeError::KeyMismatch,
    );
    // In a quiet batch, a reply that fits no pending command poisons too.
    mismatch(
        &[
            &MetaGet::new("a").quiet().opaque("1"),
            &MetaGet::new("b").quiet().opaque("2"),
            &MetaNoop,
        ],
        b"HD O3\r\nMN\r\n",
        DecodeError::UnexpectedReply {
            expected: "MN",
            line: snippet_of(b"HD O3"),
        },
    );
}

#[test]
fn base64_keys_echo_in_either_form() {
    let key = [0u8, 0xff, b' ', b'\n'];
    let commands: &[&dyn Command] = &[
        &MetaGet::new(&key[..]).base64_key().return_key(),
        &MetaGet::new(&key[..]).base64_key().return_key(),
        &MetaGet::new("plain").return_key(),
    ];
    let (_, out) = codec_with(commands);
    assert_eq!(
        &out[..],
        b"mg AP8gCg== b k\r\nmg AP8gCg== b k\r\nmg plain k\r\n"
    );
    // Stored with a base64 key: echoed base64 with `b`; a plain key echoed with `b`
    // is compared after decoding too.
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"HD kAP8gCg== b\r\nEN kAP8gCg== b\r\nHD kcGxhaW4= b\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Meta(HD [kAP8gCg== b])",
            "Meta(EN [kAP8gCg== b])",
            "Meta(HD [kcGxhaW4= b])",
            "End(pending=0, buffered=0)"
        ]
    );
}

#[test]
fn errors_in_quiet_pipelines() {
    // Alone, a quiet command's error is its own.
    let got = decode_every_way(
        &|| codec_with(&[&MetaArithmetic::new("k").quiet()]).0,
        b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Err(CLIENT_ERROR cannot increment or decrement non-numeric value)",
            "End(pending=0, buffered=0)"
        ]
    );
    // Followed by an `mn`, too: `mn` answers nothing but `MN`.
    let got = decode_every_way(
        &|| codec_with(&[&MetaArithmetic::new("k").quiet().opaque("1"), &MetaNoop]).0,
        b"SERVER_ERROR out of memory\r\nMN\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Err(SERVER_ERROR out of memory)",
            "Noop",
            "End(pending=0, buffered=0)"
        ]
    );
    // Followed by another command that can fail, it could be anyone's: memcached
    // sends errors even in quiet mode, and the silent command before it leaves no
    // trace.
    let commands: &[&dyn Command] = &[
        &MetaArithmetic::new("k").quiet().opaque("1"),
        &MetaArithmetic::new("j").quiet().opaque("2"),
        &MetaNoop,
    ];
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"SERVER_ERROR out of memory\r\nMN\r\n",
        false,
        false,
    );
    let error = "error line cannot be attributed to one command: SERVER_ERROR out of memory";
    assert_eq!(
        got,
        [
            format!("Fail(decode: {error})"),
            format!("Fail(decode: {error})"),
            format!("Fail(decode: {error})"),
            format!("Poisoned(decode: {error})")
        ]
    );
}

#[test]
fn ambiguous_quiet_pipelines_are_refused_when_encoding() {
    let now = Instant::now();
    let mut codec = Codec::with_config(Config::DEFAULT.with_auto_opaque(false));
    let mut out = BytesMut::new();
    codec
        .send(&MetaGet::new("a").return_value().quiet(), &mut out, now)
        .unwrap();
    let before = out.clone();
    // Without an opaque or key, a VA could belong to either.
    for command in [
        &MetaGet::new("b").return_value().quiet() as &dyn Command,
        &MetaGet::new("b").return_value(),
        &MetaArithmetic::new("c").return_value(),
    ] {
        assert_eq!(
            codec.send(command, &mut out, now),
            Err(EncodeError::AmbiguousQuiet)
        );
        assert_eq!((&out, codec.pending()), (&before, 1));
    }
    // Distinguishable: an opaque, an echoed key, or replies of other codes.
    codec
        .send(
            &MetaGet::new("b").return_value().quiet().opaque("b"),
            &mut out,
            now,
        )
        .unwrap();
    codec
        .send(
            &MetaGet::new("c").return_value().quiet().return_key(),
            &mut out,
            now,
        )
        .unwrap();
    codec
        .send(&MetaSet::new("d", "1").quiet(), &mut out, now)
        .unwrap();
    codec.send(&Get::new("e"), &mut out, now).unwrap();
    // A command that always answers ends the run: what came before cannot be confused.
    codec
        .send(&MetaGet::new("f").return_value().quiet(), &mut out, now)
        .unwrap();
    assert_eq!(
        codec
            .send(
                &MetaGet::new("f").return_value().quiet().opaque("b"),
                &mut out,
                now
            )
            .map(|_| ()),
        Ok(())
    );
    assert_eq!(
        codec.send(&MetaGet::new("g").opaque("b"), &mut out, now),
        Err(EncodeError::AmbiguousQuiet),
        "same opaque as a quiet command still in the run"
    );
    codec.send(&MetaNoop, &mut out, now).unwrap();
    assert_eq!(codec.pending(), 8);
    let mut buf = BytesMut::from(&b"END\r\nMN\r\n"[..]);
    let (shapes, error) = drain(&mut codec, &mut buf, now);
    assert_eq!(error, None);
    assert_eq!(shapes.len(), 8);
    // Once the quiet commands completed, their opaques are free again.
    codec
        .send(&MetaGet::new("a").return_value().quiet(), &mut out, now)
        .unwrap();
    codec.send(&MetaNoop, &mut out, now).unwrap();
}

#[test]
fn old_servers_bare_miss_pairs_by_position() {
    let commands: &[&dyn Command] = &[
        &MetaGet::new("a").return_value().opaque("1"),
        &MetaGet::new("b").return_value().opaque("2").return_key(),
    ];
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"EN\r\nVA 1 O2 kb\r\nx\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Meta(EN)",
            "Meta(VA \"x\" [O2 kb])",
            "End(pending=0, buffered=0)"
        ]
    );
}

#[test]
fn classic_and_meta_interleave() {
    let keys = ["x", "y"];
    let commands: &[&dyn Command] = &[
        &Get::new("a"),
        &MetaGet::new("b").return_value().quiet().opaque("q"),
        &Store::set("c", "1"),
        &MetaGet::new("d").return_value().opaque("d"),
        &GetMulti::new(&keys).with_cas(),
        &MetaSet::new("e", "2").quiet().opaque("e"),
        &memcache_codec::command::Arithmetic::incr("f", 2),
        &MetaNoop,
    ];
    let got = decode_every_way(
        &|| codec_with(commands).0,
        b"END\r\nVA 1 Oq\r\nb\r\nSTORED\r\nEN Od\r\nVALUE y 0 1 9\r\ny\r\nEND\r\nNOT_FOUND\r\nMN\r\n",
        false,
        false,
    );
    assert_eq!(
        got,
        [
            "Miss",
            "Meta(VA \"b\" [Oq])",
            "Stored",
            "Meta(EN [Od])",
            "Items[y 0 9 \"y\"]",
            "Meta(HD (inferred))",
            "NotFound",
            "Noop",
            "End(pending=0, buffered=0)",
        ]
    );
}

#[test]
fn a_quiet_command_left_last_waits_for_a_fence() {
    let now = Instant::now();
    let (mut codec, _) = codec_with(&[&MetaGet::new("a").quiet().opaque("1")]);
    let mut buf = BytesMut::new();
    assert_eq!(drain(&mut codec, &mut buf, now), (vec![], None));
    assert_eq!(
        codec.pending(),
        1,
        "a silent miss cannot complete before a later reply"
    );
    let mut out = BytesMut::new();
    codec.send(&MetaNoop, &mut out, now).unwrap();
    buf.extend_from_slice(b"MN\r\n");
    assert_eq!(
        drain(&mut codec, &mut buf, now),
        (vec!["0:Meta(EN (inferred))".into(), "1:Noop".into()], None)
    );
    assert!(matches!(
        codec_with(&[&Version])
            .0
            .decode(&mut BytesMut::from(&b"VERSION 1\r\n"[..]), now),
        Ok(Some(memcache_codec::Completion {
            result: Ok(Response::Version(_)),
            ..
        }))
    ));
}

#[test]
fn an_earlier_now_never_moves_the_deadline_earlier() {
    let t0 = Instant::now();
    let at = |secs| t0 + Duration::from_secs(secs);
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec.send(&Get::new("a"), &mut out, at(100)).unwrap();
    assert_eq!(codec.poll_timeout(), Some(at(160)));
    // Bytes arrive, but the caller's clock now reads earlier than before: the codec's
    // time stays at the latest it saw, so the deadline does not move back.
    let mut buf = BytesMut::from(&b"EN"[..]);
    assert_eq!(drain(&mut codec, &mut buf, at(10)), (vec![], None));
    assert_eq!(codec.poll_timeout(), Some(at(160)));
    // Later bytes restart it from their (later) time.
    buf.extend_from_slice(b"D");
    assert_eq!(drain(&mut codec, &mut buf, at(120)), (vec![], None));
    assert_eq!(codec.poll_timeout(), Some(at(180)));
    // An early report changes nothing, even one from before the last activity.
    codec.handle_timeout(at(5));
    assert_eq!(codec.poisoned(), None);
    buf.extend_from_slice(b"\r\n");
    assert_eq!(
        drain(&mut codec, &mut buf, at(121)),
        (vec!["0:Miss".into()], None)
    );
    // A send with an earlier clock starts the timer at the latest time seen.
    codec.send(&Get::new("b"), &mut out, at(1)).unwrap();
    assert_eq!(codec.poll_timeout(), Some(at(181)));
}

#[test]
fn completions_iterator_matches_decode_and_releases_bytes_once() {
    let now = Instant::now();
    let commands: [&dyn Command; 4] = [
        &Get::new("a"),
        &MetaGet::new("b").return_value().quiet(),
        &Store::set("c", "v"),
        &MetaNoop,
    ];
    let reply = &b"VALUE a 0 1\r\nx\r\nEND\r\nSTORED\r\nMN\r"[..];
    let mut by_decode = Codec::new();
    let mut by_iter = Codec::new();
    for c in commands {
        by_decode.send(c, &mut BytesMut::new(), now).unwrap();
        by_iter.send(c, &mut BytesMut::new(), now).unwrap();
    }
    let mut a = BytesMut::from(reply);
    let want: Vec<_> = std::iter::from_fn(|| by_decode.decode(&mut a, now).unwrap()).collect();
    let mut b = BytesMut::from(reply);
    // Stopped after two: the rest stays for the next call, nothing is read twice.
    let first: Vec<_> = by_iter.completions(&mut b, now).take(2).collect();
    let rest: Vec<_> = by_iter.completions(&mut b, now).collect();
    let got: Vec<_> = first.into_iter().chain(rest).collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 3);
    // The unfinished reply is left in both buffers alike.
    assert_eq!((&a[..], &b[..]), (&b"MN\r"[..], &b"MN\r"[..]));

    // Internal iteration gives the same.
    let mut by_fold = Codec::new();
    for c in commands {
        by_fold.send(c, &mut BytesMut::new(), now).unwrap();
    }
    let mut c = BytesMut::from(reply);
    let mut folded = Vec::new();
    by_fold
        .completions(&mut c, now)
        .for_each(|done| folded.push(done));
    assert_eq!(folded, want);
    assert_eq!(&c[..], b"MN\r");

    // More than a batch (32) of completions, stopped part way, for and for_each.
    let mut many = Codec::new();
    for _ in 0..100 {
        many.send(&Version, &mut BytesMut::new(), now).unwrap();
    }
    let mut buf = BytesMut::from(&b"VERSION 1\r\n".repeat(100)[..]);
    let first: Vec<_> = many.completions(&mut buf, now).take(40).collect();
    let mut rest = 0;
    many.completions(&mut buf, now).for_each(|_| rest += 1);
    assert_eq!(
        (first.len(), rest, many.pending(), buf.len()),
        (40, 60, 0, 0)
    );
    assert!(
        first
            .iter()
            .enumerate()
            .all(|(i, c)| c.token.index() == i as u64)
    );

    // Poisoned: each pending command's failure, then nothing; the error is the
    // codec's.
    let mut codec = Codec::new();
    codec.send(&Version, &mut BytesMut::new(), now).unwrap();
    let mut buf = BytesMut::from(&b"BOGUS\r\n"[..]);
    let all: Vec<_> = codec.completions(&mut buf, now).collect();
    assert_eq!(all.len(), 1);
    assert!(all[0].result.is_err());
    assert!(matches!(codec.poisoned(), Some(ConnectionError::Decode(_))));
    assert_eq!(codec.completions(&mut buf, now).count(), 0);
    assert!(matches!(
        codec.decode(&mut buf, now),
        Err(ConnectionError::Decode(_))
    ));
}

#[test]
fn a_forgotten_completions_iterator_poisons_instead_of_reading_twice() {
    let now = Instant::now();
    let mut codec = Codec::new();
    for _ in 0..2 {
        codec.send(&Version, &mut BytesMut::new(), now).unwrap();
    }
    let mut buf = BytesMut::from(&b"VERSION 1\r\nVERSION 2\r\n"[..]);
    let mut iter = codec.completions(&mut buf, now);
    let first = iter.next().expect("a completion");
    std::mem::forget(iter);
    // Both replies were read (the second is decided, not handed out), but the bytes
    // are still in the buffer: the codec hands out the second completion, then
    // poisons rather than read the bytes again.
    let second = codec.decode(&mut buf, now).unwrap().unwrap();
    assert_eq!((first.token.index(), second.token.index()), (0, 1));
    assert!(first.result.is_ok() && second.result.is_ok());
    assert_eq!(
        codec.decode(&mut buf, now),
        Err(ConnectionError::BufferTruncated)
    );
}
