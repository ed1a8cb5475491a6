//! Property tests against generated server transcripts: commands are generated,
//! encoded by the codec, answered by the reference server model
//! (`memcache-testkit`), and the answers decoded again.
//!
//! * every command completes exactly once, in order, with what an independent
//!   client-side oracle of memcached's semantics predicts, against the model of
//!   memcached 1.6.18 and of the newest release (8-byte flags, `E`, `md x`, `mg C`,
//!   `ms s`, `N` on append), whose profile the codec learns with a probe first:
//!   what a release lacks is refused at send, with nothing written;
//! * the same server bytes cut anywhere (whole, byte by byte, random cuts) give the
//!   same completions, and bytes after the last complete reply stay in the buffer;
//! * mutated server bytes (a byte dropped, duplicated or corrupted, two replies
//!   swapped, a truncation, an inflated length) give what the valid stream gave up
//!   to the mutation, then type-correct results or a poison: never a panic, a wrong
//!   pairing or a value beyond the limits;
//! * sessions with timeouts, cancels and end of stream interleaved keep every
//!   command's completion exactly once;
//! * admin and raw commands pipelined with the others, a dump or a watch last
//!   (`admin.rs`): completed once and in order with typed replies whatever the cuts,
//!   a watch also with its `OK` and log lines before its final completion.
//!
//! `PROPTEST_CASES` sets the number of cases (CI runs thousands, in release mode).

#![allow(unreachable_pub)] // `pub` inside this test crate's own modules

mod admin;
mod ops;
mod oracle;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use memcache_codec::profile::ServerProfile;
use memcache_codec::{
    Codec, CommandError, Completion, Config, ConnectionError, EncodeError, Limits, Response, Token,
};
use memcache_testkit::Server;
use memcache_testkit::command::Cmd;
use ops::{NOW, Op, Profile};
use oracle::{Expected, Observation, Oracle};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// A command as sent, with what it must complete with.
#[derive(Debug, Clone)]
struct Sent {
    cmd: Cmd,
    token: Option<Token>,
    expected: Expected,
    observation: Observation,
}

/// One pipelined batch: what was sent, the bytes written, the model's reply, and
/// the profile the codec had.
#[derive(Debug, Clone)]
struct Batch {
    sent: Vec<Sent>,
    out: Vec<u8>,
    reply: Vec<u8>,
    profile: ServerProfile,
}

/// The tail of the `version` reply closing every batch is held back, to check that
/// bytes after the last complete reply are left alone.
const HELD_BACK: usize = 10;

/// The profile `server` answers a probe with (on a connection of its own: the
/// session's codec starts from token 0, as the replays do).
fn probe(server: &mut Server) -> Result<ServerProfile, TestCaseError> {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send_probe(&mut out, now)
        .map_err(|e| fail(format!("probe: {e}")))?;
    let mut reply = Vec::new();
    server.feed(&out, &mut reply);
    let mut buf = BytesMut::from(&reply[..]);
    let mut replies = drain(&mut codec, &mut buf, now).map_err(fail)?.into_iter();
    let (Some(version), Some(settings)) = (replies.next(), replies.next()) else {
        return Err(fail("probe unanswered".into()));
    };
    let (Ok(version), Ok(settings)) = (version.result, settings.result) else {
        return Err(fail("probe failed".into()));
    };
    ServerProfile::from_replies(&version, &settings).map_err(|e| fail(format!("profile: {e}")))
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

fn drain(codec: &mut Codec, buf: &mut BytesMut, now: Instant) -> Result<Vec<Completion>, String> {
    let mut got = Vec::new();
    loop {
        match codec.decode(buf, now) {
            Ok(Some(done)) => got.push(done),
            Ok(None) => return Ok(got),
            Err(e) => return Err(format!("poisoned: {e}")),
        }
    }
}

/// Runs `session` through codec -> model -> codec, checking every completion against
/// the oracle as it comes. Returns the batches, for replays.
fn run(
    session: &[Vec<Op>],
    release: Profile,
) -> Result<(Vec<Batch>, Vec<Completion>), TestCaseError> {
    let now = Instant::now();
    let mut server = Server::with_options(release.options());
    server.set_time(NOW);
    let profile = probe(&mut server)?;
    let mut codec = Codec::new();
    codec.set_profile(profile.clone());
    let version = profile.version.expect("a version");
    let version_reply = format!("VERSION {version}\r\n").into_bytes();
    let mut oracle = if release.newer() {
        Oracle::newer()
    } else {
        Oracle::default()
    };
    let (mut batches, mut completions) = (Vec::new(), Vec::new());
    let mut opaque = 0u32;
    for ops in session {
        let mut out = BytesMut::new();
        let mut sent: Vec<Sent> = Vec::new();
        // Whether an error line would now be unattributable (quiet or noreply
        // commands before it): a command that will get one is fenced first.
        let mut unattributable = false;
        for op in ops.iter().cloned().chain([Op::plain(Cmd::Version)]) {
            // The cas unique as the session knows it now, the next opaque.
            let cmd = op.resolve(&oracle, (opaque + 1).to_string());
            let errors = matches!(
                oracle.clone().apply(&cmd).0,
                Expected::NonNumeric | Expected::Any
            );
            // memcached sends errors even in quiet mode: a command that will (or may)
            // get one is sent loud.
            let cmd = if errors { cmd.loud() } else { cmd };
            if errors && unattributable {
                let fence = Cmd::MetaNoop;
                let token = fence
                    .send(&mut codec, &mut out, now)
                    .map_err(|e| fail(format!("fence: {e}")))?;
                sent.push(Sent {
                    cmd: fence,
                    token,
                    expected: Expected::Noop,
                    observation: Vec::new(),
                });
            }
            opaque += 1;
            let (before, pending) = (out.len(), codec.pending());
            match cmd.send(&mut codec, &mut out, now) {
                Ok(token) => {
                    let (expected, observation) = oracle.apply(&cmd);
                    unattributable = cmd.is_quiet() || cmd.is_noreply();
                    sent.push(Sent {
                        cmd,
                        token,
                        expected,
                        observation,
                    });
                }
                // Refused (a key too long once base64-encoded, or on the older
                // release a flag it lacks or flags above 32 bits): nothing may have
                // changed.
                Err(
                    e @ (EncodeError::InvalidKey { .. }
                    | EncodeError::Unsupported { .. }
                    | EncodeError::FlagsTooLarge { .. }),
                ) if matches!(e, EncodeError::InvalidKey { .. }) || !release.newer() => {
                    prop_assert_eq!(
                        (out.len(), codec.pending()),
                        (before, pending),
                        "refused but changed"
                    );
                }
                Err(e) => return Err(fail(format!("{cmd:?} refused: {e}"))),
            }
        }
        let mut reply = Vec::new();
        server.feed(&out, &mut reply);
        prop_assert!(
            reply.ends_with(&version_reply),
            "model reply {:?} to {:?}",
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(&out)
        );

        // All but the tail of the closing version reply: the partial line stays.
        let mut buf = BytesMut::from(&reply[..reply.len() - HELD_BACK]);
        let mut got = drain(&mut codec, &mut buf, now).map_err(fail)?;
        prop_assert_eq!(&buf[..], &version_reply[..version_reply.len() - HELD_BACK]);
        buf.extend_from_slice(&reply[reply.len() - HELD_BACK..]);
        got.extend(drain(&mut codec, &mut buf, now).map_err(fail)?);
        prop_assert!(buf.is_empty());

        // Exactly once, in order, as predicted.
        let answered: Vec<&Sent> = sent.iter().filter(|s| s.token.is_some()).collect();
        prop_assert_eq!(got.len(), answered.len(), "completions: {:?}", got);
        for (done, s) in got.iter().zip(&answered) {
            prop_assert_eq!(Some(done.token), s.token, "order");
            match oracle::check(&s.expected, done, ops::read_key(&s.cmd), version) {
                Ok(learned) => {
                    for l in learned {
                        oracle.learn(l, &s.observation);
                    }
                }
                Err(e) => {
                    return Err(fail(format!(
                        "{:?}: {e}\nsent: {:?}\nreply: {:?}",
                        s.cmd,
                        String::from_utf8_lossy(&out),
                        String::from_utf8_lossy(&reply)
                    )));
                }
            }
        }
        prop_assert_eq!(codec.pending(), 0);
        completions.extend(got);
        batches.push(Batch {
            sent,
            out: out.to_vec(),
            reply,
            profile: profile.clone(),
        });
    }
    Ok((batches, completions))
}

/// Replays recorded batches into a fresh codec, cutting each batch's reply at
/// `cuts` (offsets, taken modulo its length). Returns every completion, then how
/// decoding ended.
fn replay(
    batches: &[Batch],
    config: Config,
    cut: &dyn Fn(&[u8]) -> Vec<usize>,
) -> (Vec<Completion>, Option<ConnectionError>) {
    let now = Instant::now();
    let mut codec = Codec::with_config(config);
    if let Some(batch) = batches.first() {
        codec.set_profile(batch.profile.clone());
    }
    let mut done = Vec::new();
    for batch in batches {
        let mut out = BytesMut::new();
        for s in &batch.sent {
            let token = s.cmd.send(&mut codec, &mut out, now).expect("sent before");
            assert_eq!(token.is_some(), s.token.is_some());
        }
        assert_eq!(&out[..], &batch.out[..], "same commands, same bytes");
        let mut buf = BytesMut::new();
        let mut from = 0;
        let mut points = cut(&batch.reply);
        points.push(batch.reply.len());
        for to in points {
            let to = to.clamp(from, batch.reply.len());
            buf.extend_from_slice(&batch.reply[from..to]);
            from = to;
            loop {
                match codec.decode(&mut buf, now) {
                    Ok(Some(c)) => done.push(c),
                    Ok(None) => break,
                    Err(e) => return (done, Some(e)),
                }
            }
        }
    }
    (done, None)
}

fn sorted_cuts(len: usize, raw: &[usize]) -> Vec<usize> {
    let mut cuts: Vec<usize> = raw.iter().map(|c| c % (len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_sessions_match_the_oracle_and_any_chunking(
        session in ops::session(),
        release in ops::profile(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (batches, completions) = run(&session, release)?;
        let config = Config::DEFAULT;
        let bytewise = replay(&batches, config, &|reply| (1..reply.len()).collect());
        prop_assert_eq!(&bytewise, &(completions.clone(), None), "byte by byte");
        let random = replay(&batches, config, &|reply| sorted_cuts(reply.len(), cuts.as_slice()));
        prop_assert_eq!(&random, &(completions, None), "random cuts");
    }
}

/// How a byte stream can be damaged.
#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Duplicate(usize),
    Corrupt(usize, u8),
    Truncate(usize),
    SwapReplies(usize, usize),
    InflateLength(usize, u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Drop),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Corrupt(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapReplies(a, b)),
        (
            any::<usize>(),
            prop_oneof![Just(u64::MAX), Just(1u64 << 40), 0..5000u64]
        )
            .prop_map(|(i, n)| Mutation::InflateLength(i, n)),
    ]
}

/// Where each completion's reply ends in `reply` (fed byte by byte).
fn reply_ends(batch: &Batch) -> Vec<usize> {
    let mut codec = Codec::new();
    codec.set_profile(batch.profile.clone());
    let now = Instant::now();
    let mut out = BytesMut::new();
    for s in &batch.sent {
        s.cmd.send(&mut codec, &mut out, now).expect("sent before");
    }
    let mut buf = BytesMut::new();
    let mut ends = Vec::new();
    for (i, b) in batch.reply.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        while codec.decode(&mut buf, now).expect("valid").is_some() {
            ends.push(i + 1);
        }
    }
    ends
}

/// Applies `mutation`; returns the damaged bytes and the first offset that differs.
fn damage(reply: &[u8], ends: &[usize], mutation: &Mutation) -> (Vec<u8>, usize) {
    let len = reply.len();
    let at = |i: usize| i % len.max(1);
    let mut bytes = reply.to_vec();
    match *mutation {
        Mutation::Drop(i) => {
            bytes.remove(at(i));
            (bytes, at(i))
        }
        Mutation::Duplicate(i) => {
            bytes.insert(at(i), reply[at(i)]);
            (bytes, at(i) + 1)
        }
        Mutation::Corrupt(i, x) => {
            bytes[at(i)] ^= x;
            (bytes, at(i))
        }
        Mutation::Truncate(i) => {
            bytes.truncate(at(i));
            (bytes, at(i))
        }
        Mutation::SwapReplies(a, b) => {
            let starts: Vec<usize> = std::iter::once(0).chain(ends.iter().copied()).collect();
            let (a, b) = (a % ends.len(), b % ends.len());
            let (a, b) = (a.min(b), a.max(b));
            if a == b || starts[a] == ends[a] || starts[b] == ends[b] {
                return (bytes, len);
            }
            let first = &reply[starts[a]..ends[a]];
            let second = &reply[starts[b]..ends[b]];
            let mut swapped = reply[..starts[a]].to_vec();
            swapped.extend_from_slice(second);
            swapped.extend_from_slice(&reply[ends[a]..starts[b]]);
            swapped.extend_from_slice(first);
            swapped.extend_from_slice(&reply[ends[b]..]);
            let differs = swapped
                .iter()
                .zip(reply)
                .position(|(x, y)| x != y)
                .unwrap_or(len);
            (swapped, differs)
        }
        Mutation::InflateLength(i, n) => {
            // The length field of some VALUE or VA header.
            let headers: Vec<usize> = (0..reply.len())
                .filter(|&p| p == 0 || reply[p - 1] == b'\n')
                .filter(|&p| reply[p..].starts_with(b"VALUE ") || reply[p..].starts_with(b"VA "))
                .collect();
            let Some(&start) = headers.get(i % headers.len().max(1)) else {
                return (bytes, len);
            };
            let line_end = start + reply[start..].iter().position(|&b| b == b'\r').unwrap_or(0);
            let line = &reply[start..line_end];
            let tokens: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let field = if line.starts_with(b"VALUE") { 3 } else { 1 };
            let Some(old) = tokens.get(field) else {
                return (bytes, len);
            };
            let offset = start + tokens[..field].iter().map(|t| t.len() + 1).sum::<usize>();
            let mut damaged = reply[..offset].to_vec();
            damaged.extend_from_slice(n.to_string().as_bytes());
            damaged.extend_from_slice(&reply[offset + old.len()..]);
            let differs = damaged
                .iter()
                .zip(reply)
                .position(|(x, y)| x != y)
                .unwrap_or(len.min(damaged.len()));
            (damaged, differs)
        }
    }
}

/// Whether `response` is a reply `cmd` can complete with.
fn fits(cmd: &Cmd, response: &Response) -> bool {
    use Response as R;
    match cmd {
        Cmd::Get { .. } => matches!(response, R::Hit(_) | R::Miss),
        Cmd::GetMulti { keys, .. } => match response {
            R::Items(items) => items.iter().all(|i| keys.iter().any(|k| k.0 == i.key)),
            _ => false,
        },
        Cmd::Store { .. } => matches!(response, R::Stored | R::NotStored | R::Exists | R::NotFound),
        Cmd::Incr { .. } | Cmd::Decr { .. } => matches!(response, R::Counter(_) | R::NotFound),
        Cmd::Delete { .. } => matches!(response, R::Deleted | R::NotFound),
        Cmd::Touch { .. } => matches!(response, R::Touched | R::NotFound),
        Cmd::Version => matches!(response, R::Version(_)),
        Cmd::Verbosity { .. } => matches!(response, R::Ok),
        Cmd::Stats(args) => oracle::stats_fit(args, response),
        Cmd::MetaGet { .. }
        | Cmd::MetaSet { .. }
        | Cmd::MetaDelete { .. }
        | Cmd::MetaArithmetic { .. } => matches!(response, R::Meta(_)),
        Cmd::MetaNoop => matches!(response, R::Noop),
        Cmd::MetaDebug { .. } => matches!(response, R::MetaDebug(_) | R::Miss),
        Cmd::Bget { keys } => match response {
            R::Items(items) => items
                .iter()
                .all(|i| keys.iter().any(|k| k.0 == i.key) && i.cas.is_none()),
            _ => false,
        },
        other => unreachable!("sessions do not generate {other:?}"),
    }
}

/// Small caps, so damaged lengths and counts hit them.
const TIGHT: Limits = Limits::DEFAULT
    .with_max_line_len(600)
    .with_max_value_len(4096)
    .with_max_values_per_reply(16)
    .with_max_stat_lines(200);

fn within_limits(response: &Response) -> bool {
    match response {
        Response::Hit(v) => v.data.len() <= TIGHT.max_value_len,
        Response::Items(items) => {
            items.len() <= TIGHT.max_values_per_reply
                && items.iter().all(|i| i.data.len() <= TIGHT.max_value_len)
        }
        Response::Stats(lines) => lines.len() <= TIGHT.max_stat_lines,
        Response::Meta(m) => m.value().is_none_or(|v| v.len() <= TIGHT.max_value_len),
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_replies_give_valid_results_or_poison(
        session in proptest::collection::vec(proptest::collection::vec(ops::op(), 1..16), 1..2),
        release in ops::profile(),
        mutation in mutation(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let (batches, _) = run(&session, release)?;
        let batch = &batches[0];
        let ends = reply_ends(batch);
        let (damaged, differs) = damage(&batch.reply, &ends, &mutation);
        let valid = ends.iter().filter(|&&end| end <= differs).count();
        let canonical = replay(std::slice::from_ref(batch), Config::DEFAULT.with_limits(TIGHT), &|_| Vec::new()).0;

        let mut damaged_batch = batch.clone();
        damaged_batch.reply = damaged;
        let (done, poison) = replay(&[damaged_batch], Config::DEFAULT.with_limits(TIGHT), &|r| sorted_cuts(r.len(), cuts.as_slice()));

        // Up to the damage, exactly what the valid stream gave.
        prop_assert!(done.len() >= valid.min(canonical.len()) || poison.is_some());
        for (got, want) in done.iter().zip(&canonical).take(valid) {
            prop_assert_eq!(got, want);
        }
        // Then, in order, each command at most once, with a reply it can receive.
        let answered: Vec<&Sent> = batch.sent.iter().filter(|s| s.token.is_some()).collect();
        let by_token: HashMap<Token, &Sent> = answered.iter().map(|s| (s.token.unwrap(), *s)).collect();
        let mut last = None;
        for c in &done {
            prop_assert!(last < Some(c.token), "out of order or repeated: {:?}", c.token);
            last = Some(c.token);
            let s = by_token.get(&c.token).expect("a token that was sent");
            match &c.result {
                Ok(r) => {
                    prop_assert!(fits(&s.cmd, r), "{:?} completed with {:?}", s.cmd, r);
                    prop_assert!(within_limits(r));
                }
                Err(CommandError::Server(_)) => {}
                Err(CommandError::Connection(e)) => {
                    prop_assert_eq!(Some(e), poison.as_ref(), "fails with the poison");
                }
                Err(other) => return Err(fail(format!("{other:?}"))),
            }
        }
    }
}

/// A step of a session with time, cancels and end of stream.
#[derive(Debug, Clone)]
enum Step {
    Send(Op),
    /// Hand the codec up to this many of the bytes the model answered.
    Deliver(usize),
    Cancel(usize),
    /// The caller's clock moves on (seconds).
    Tick(u64),
    Eof,
    /// Bytes no command asked for.
    Garbage(Vec<u8>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => ops::op().prop_map(Step::Send),
        6 => (1..200usize).prop_map(Step::Deliver),
        2 => any::<usize>().prop_map(Step::Cancel),
        2 => (0..90u64).prop_map(Step::Tick),
        1 => Just(Step::Eof),
        1 => proptest::collection::vec(any::<u8>(), 1..8).prop_map(Step::Garbage),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_command_completes_exactly_once_whatever_happens(steps in proptest::collection::vec(step(), 1..60)) {
        let start = Instant::now();
        let mut clock = start;
        let mut codec = Codec::with_config(Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_secs(60))));
        let mut server = Server::new();
        server.set_time(NOW);
        let mut oracle = Oracle::default();
        let (mut wire, mut buf) = (Vec::new(), BytesMut::new());
        // token -> completions seen; cancelled tokens.
        let mut seen: HashMap<Token, u32> = HashMap::new();
        let mut sent: Vec<Token> = Vec::new();
        let mut cancelled: Vec<Token> = Vec::new();
        let mut eof = false;
        let mut poisoned = false;
        let decode_all = |codec: &mut Codec, buf: &mut BytesMut, now: Instant, seen: &mut HashMap<Token, u32>| -> bool {
            loop {
                match codec.decode(buf, now) {
                    Ok(Some(c)) => *seen.entry(c.token).or_default() += 1,
                    Ok(None) => return false,
                    Err(_) => return true,
                }
            }
        };
        for (n, step) in steps.into_iter().enumerate() {
            match step {
                Step::Send(op) => {
                    let mut cmd = op.cmd.loud();
                    if let Some(unique) = cmd.compare_cas_mut() {
                        *unique = 0;
                    }
                    if let Some(opaque) = cmd.opaque_mut() {
                        *opaque = format!("s{n}").into();
                    }
                    let mut out = BytesMut::new();
                    match cmd.send(&mut codec, &mut out, clock) {
                        Ok(token) => {
                            prop_assert!(!poisoned && !eof, "sent on a dead codec");
                            oracle.apply(&cmd);
                            sent.extend(token);
                            server.feed(&out, &mut wire);
                        }
                        Err(_) => prop_assert!(out.is_empty()),
                    }
                }
                Step::Deliver(k) if !eof => {
                    let k = k.min(wire.len());
                    buf.extend_from_slice(&wire[..k]);
                    wire.drain(..k);
                    poisoned |= decode_all(&mut codec, &mut buf, clock, &mut seen);
                }
                Step::Deliver(_) => {}
                Step::Cancel(i) if !sent.is_empty() => {
                    let token = sent[i % sent.len()];
                    let done_or_cancelled = seen.contains_key(&token) || cancelled.contains(&token);
                    let was_pending = codec.cancel(token);
                    prop_assert_eq!(was_pending, !done_or_cancelled, "cancel of {:?}", token);
                    if was_pending {
                        cancelled.push(token);
                    }
                }
                Step::Cancel(_) => {}
                Step::Tick(secs) => {
                    clock += Duration::from_secs(secs);
                    codec.handle_timeout(clock);
                    poisoned |= decode_all(&mut codec, &mut buf, clock, &mut seen);
                }
                Step::Eof => {
                    eof = true;
                    codec.handle_eof();
                    poisoned |= decode_all(&mut codec, &mut buf, clock, &mut seen);
                }
                Step::Garbage(bytes) if !eof => {
                    buf.extend_from_slice(&bytes);
                    poisoned |= decode_all(&mut codec, &mut buf, clock, &mut seen);
                }
                Step::Garbage(_) => {}
            }
        }
        // The end: whatever is left, the connection goes away.
        codec.handle_eof();
        prop_assert!(decode_all(&mut codec, &mut buf, clock, &mut seen), "ends poisoned");
        prop_assert_eq!(codec.pending(), 0);
        for token in &sent {
            let times = seen.get(token).copied().unwrap_or(0);
            let expected = u32::from(!cancelled.contains(token));
            prop_assert_eq!(times, expected, "{:?} completed {} times (cancelled: {})", token, times, expected == 0);
        }
        prop_assert_eq!(seen.len() as u64, seen.keys().filter(|t| sent.contains(t)).count() as u64);
    }
}
