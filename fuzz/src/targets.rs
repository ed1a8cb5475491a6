//! The four fuzz targets' bodies. Each `fuzz_targets/*.rs` calls one of these, so a
//! crash input can be replayed from a test or a debugger without libFuzzer.
//!
//! Input formats (chosen so seeds can be cut from recorded transcripts with a short
//! script, `make_corpus.py`):
//!
//! | Target | Input |
//! |---|---|
//! | [`decode`] | `u16 LE n`, `n` client bytes, server bytes |
//! | [`split`] | `u16 LE n`, `n` client bytes, `u8 c`, `c` × `u16 LE` cut offsets (`c = 255`: one byte at a time), server bytes |
//! | [`session`] | `u16 LE n`, `n` client bytes (a script of commands), then one op byte per step and its operands (see [`session`]) |
//! | [`encode`] | `u16 LE n`, `n` client bytes (a script of commands), `u8` prefix length, then [`Cmd`]s read with `Arbitrary` |

use arbitrary::{Arbitrary, Unstructured};
use bytes::BytesMut;
use memcache_codec::{Codec, Completion, ConnectionError, DecodeError, EncodeError};
use memcache_testkit::{Options, ParseResult, Server, parse_request};

use memcache_testkit::command::{
    CrawlerCmd, Key, LruCmd, MaFlag, MdFlag, MgFlag, MsFlag, StatsArgs,
};

use crate::Cmd;
use crate::tracker::{Tracker, config, epoch};
use crate::wire::{script, split_prefixed};

/// Most commands one input sends (keeps executions fast).
const MAX_COMMANDS: usize = 128;

/// Target `decode`: the client bytes become the pending deque (each request the codec
/// could have written is sent through it), then the server bytes are fed whole,
/// drained, end of stream is reported and drained; the tracker checks everything.
pub fn decode(data: &[u8]) {
    let (client, server) = split_prefixed(data);
    let mut t = Tracker::new();
    let mut out = BytesMut::new();
    for cmd in script(client).iter().take(MAX_COMMANDS) {
        t.send(cmd, &mut out);
    }
    t.feed(server);
    t.decode_all();
    t.eof();
}

/// What a transcript decoded to, for comparing two feeding schedules.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Every completion, in order.
    pub completions: Vec<Completion>,
    /// The final (sticky) error.
    pub error: Option<ConnectionError>,
    /// `bytes_examined()` at the end.
    pub examined: u64,
    /// The input bytes the codec left unread.
    pub left: BytesMut,
}

/// Decodes `server` for the commands of `client`, feeding it in pieces that end at
/// each offset of `cuts` (sorted, within bounds), then the rest; then end of stream.
/// `each`: drain with `completions` instead of `decode`.
pub fn run_transcript(client: &[u8], server: &[u8], cuts: &[usize], each: bool) -> Outcome {
    let mut t = Tracker::new().recording();
    t.each = each;
    let mut out = BytesMut::new();
    for cmd in script(client).iter().take(MAX_COMMANDS) {
        t.send(cmd, &mut out);
    }
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&server.len())) {
        if cut < from {
            continue;
        }
        t.feed(&server[from..cut]);
        t.decode_all();
        from = cut;
    }
    t.eof();
    Outcome {
        examined: t.codec.bytes_examined(),
        error: t.error.clone(),
        left: t.input.clone(),
        completions: std::mem::take(&mut t.completions),
    }
}

/// Target `split`: the same server bytes fed whole and cut at fuzzer-chosen offsets
/// must give identical completions, final error, bytes examined and leftover bytes;
/// so must draining the cut feed with `completions` instead of `decode`.
pub fn split(data: &[u8]) {
    let (client, rest) = split_prefixed(data);
    let (count, rest) = match rest.split_first() {
        Some((&c, rest)) => (c, rest),
        None => (0, rest),
    };
    let (cuts, server): (Vec<usize>, &[u8]) = if count == 255 {
        ((1..rest.len()).collect(), rest)
    } else {
        let bytes = (usize::from(count) * 2).min(rest.len() & !1);
        let (offsets, server) = rest.split_at(bytes);
        let mut cuts: Vec<usize> = offsets
            .chunks_exact(2)
            .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (server.len() + 1))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        (cuts, server)
    };
    let whole = run_transcript(client, server, &[], false);
    let pieces = run_transcript(client, server, &cuts, false);
    assert_eq!(
        whole, pieces,
        "feeding at cuts {cuts:?} changed the outcome"
    );
    let each = run_transcript(client, server, &cuts, true);
    assert_eq!(
        whole, each,
        "completions at cuts {cuts:?} differs from decode"
    );
}

/// A model connection and the codec talking to it.
struct Session {
    tracker: Tracker,
    server: Server,
    /// Bytes the model wrote that the codec has not read yet.
    wire: Vec<u8>,
    out: BytesMut,
    /// Garbage was fed on this connection.
    garbage: bool,
    /// A binary key was created by autovivify: memcached 1.6.18 (and the model) do
    /// not mark such items binary, so `k` echoes the raw key bytes (spaces, `\n`
    /// and all) from then on, and the reply stream can break. Server-wide.
    raw_key_echo: bool,
}

impl Session {
    fn new() -> Self {
        Self {
            tracker: Tracker::new(),
            server: Server::new(),
            wire: Vec::new(),
            out: BytesMut::new(),
            garbage: false,
            raw_key_echo: false,
        }
    }

    /// What the codec wrote goes to the model (one read per command).
    fn flush(&mut self) {
        if !self.out.is_empty() {
            self.server.feed(&self.out, &mut self.wire);
            self.out.clear();
        }
    }

    fn send(&mut self, cmd: &Cmd) {
        self.raw_key_echo |= vivifies_binary_key(cmd);
        self.tracker.send(cmd, &mut self.out);
        self.flush();
    }

    fn deliver(&mut self, n: usize) {
        if self.wire.is_empty() && self.server.is_closed() {
            // The socket reads 0: end of stream.
            self.end_of_stream();
            return;
        }
        let n = n.min(self.wire.len());
        self.tracker.feed(&self.wire[..n]);
        self.wire.drain(..n);
        self.tracker.decode_all();
        self.check_agreement();
    }

    /// On a connection that saw only the model's bytes, a decode error is a
    /// disagreement between the codec and the model, unless it is one the crate
    /// documents for a well-formed stream.
    fn check_agreement(&self) {
        if self.garbage || self.raw_key_echo {
            return;
        }
        let Some(ConnectionError::Decode(e)) = self.tracker.codec.poisoned() else {
            return;
        };
        let documented = match e {
            // The caps are small on purpose (`stats` alone has more lines than 64).
            DecodeError::LineTooLong { .. }
            | DecodeError::ValueTooLarge { .. }
            | DecodeError::TooManyValues { .. }
            | DecodeError::TooManyStatLines { .. }
            | DecodeError::ReplyTooLarge { .. } => true,
            // An error line after noreply commands or inside a quiet run cannot be
            // attributed (crate docs, "noreply" and "Meta protocol and quiet mode").
            DecodeError::AmbiguousError { .. } => true,
            _ => false,
        };
        assert!(
            documented,
            "the codec rejected the model's reply stream: {e:?}"
        );
    }

    fn end_of_stream(&mut self) {
        self.tracker.eof();
        // A new connection to the same server (and store), with a new codec.
        self.server.reconnect();
        self.wire.clear();
        let now = self.tracker.now;
        self.tracker = Tracker::at(now);
        self.garbage = false;
    }

    fn finish(&mut self) {
        let n = self.wire.len();
        self.deliver(n);
        self.tracker.eof();
    }
}

/// `mg`/`ma` with `b` and `N`: see `Session::raw_key_echo`.
fn vivifies_binary_key(cmd: &Cmd) -> bool {
    match cmd {
        Cmd::MetaGet { flags, .. } => {
            flags.contains(&MgFlag::Base64) && flags.iter().any(|f| matches!(f, MgFlag::Vivify(_)))
        }
        Cmd::MetaArithmetic { flags, .. } => {
            flags.contains(&MaFlag::Base64)
                && flags.iter().any(|f| matches!(f, MaFlag::Autovivify(_)))
        }
        _ => false,
    }
}

fn byte(u: &mut Unstructured<'_>) -> u8 {
    u8::arbitrary(u).unwrap_or(0)
}

/// Target `session`: a model server and a codec, driven by a sequence of steps.
///
/// Each step is an op byte (`op % 8`) and its operands:
///
/// | op | step |
/// |---|---|
/// | 0 | send the next command of the client script (when it has run out: deliver everything) |
/// | 1 | send an arbitrary [`Cmd`] |
/// | 2 | deliver up to `u16 LE` bytes (0: all) of what the model answered, drained with `completions` if the count is odd, else `decode`; end of stream once it closed and everything was read |
/// | 3 | feed `u8 n` garbage bytes |
/// | 4 | cancel the `u8`th token sent (modulo) |
/// | 5 | advance the clock `u8` seconds and call `handle_timeout` |
/// | 6 | end of stream: drain, then reconnect with a new codec |
/// | 7 | a quiet batch of `u8 % 8` arbitrary `mg`s |
///
/// What the codec writes goes to the model at once; what the model answers reaches
/// the codec only through op 2, so replies arrive in arbitrary pieces and late.
pub fn session(data: &[u8]) {
    let (client, rest) = split_prefixed(data);
    let mut scripted = script(client).into_iter().take(MAX_COMMANDS);
    let mut u = Unstructured::new(rest);
    let mut s = Session::new();
    let mut steps = 0;
    while !u.is_empty() && steps < 512 {
        steps += 1;
        match byte(&mut u) % 8 {
            0 => match scripted.next() {
                Some(cmd) => s.send(&cmd),
                None => s.deliver(usize::MAX),
            },
            1 => {
                if let Ok(cmd) = Cmd::arbitrary(&mut u) {
                    s.send(&cmd);
                }
            }
            2 => {
                let n = usize::from(u16::from_le_bytes([byte(&mut u), byte(&mut u)]));
                // The low bit picks how the codec is drained: decode or completions.
                s.tracker.each = n & 1 == 1;
                s.deliver(if n == 0 { usize::MAX } else { n });
            }
            3 => {
                let n = usize::from(byte(&mut u));
                let garbage = u.bytes(n.min(u.len())).unwrap_or_default();
                s.garbage = true;
                s.tracker.feed(garbage);
                s.tracker.decode_all();
            }
            4 => {
                if let Some(token) = s.tracker.nth_token(usize::from(byte(&mut u))) {
                    s.tracker.cancel(token);
                }
            }
            5 => s.tracker.tick(u64::from(byte(&mut u))),
            6 => s.end_of_stream(),
            _ => {
                let n = byte(&mut u) % 8;
                let mut gets = Vec::new();
                for _ in 0..n {
                    let Ok((key, flags)) = <(Key, Vec<MgFlag>)>::arbitrary(&mut u) else {
                        break;
                    };
                    s.raw_key_echo |= vivifies_binary_key(&Cmd::MetaGet {
                        key: key.clone(),
                        flags: flags.clone(),
                    });
                    gets.push((key, flags));
                }
                s.tracker.send_batch(&gets, &mut s.out);
                s.flush();
            }
        }
    }
    s.finish();
}

/// Whether the model may answer a command the codec accepted with this `ERROR` or
/// `CLIENT_ERROR` line, though the command is well-formed. Each excuse is documented
/// by the crate or forced by the server's state; anything else means the codec wrote
/// something memcached 1.6.18 refuses.
fn excused(cmd: &Cmd, line: &[u8]) -> bool {
    const NON_NUMERIC: &[u8] = b"CLIENT_ERROR cannot increment or decrement non-numeric value";
    // memcached 1.6.18 does not implement `E` (new cas) on any meta command, nor `md x`
    // (documented in src/command/meta.rs). `mg`/`ms` say `invalid flag`, `md`/`ma`
    // `invalid or duplicate flag`.
    let unimplemented = match cmd {
        Cmd::MetaGet { flags, .. } => flags.iter().any(|f| matches!(f, MgFlag::NewCas(_))),
        Cmd::MetaSet { flags, .. } => flags.iter().any(|f| matches!(f, MsFlag::NewCas(_))),
        Cmd::MetaDelete { flags, .. } => flags
            .iter()
            .any(|f| matches!(f, MdFlag::NewCas(_) | MdFlag::RemoveValue)),
        Cmd::MetaArithmetic { flags, .. } => flags.iter().any(|f| matches!(f, MaFlag::NewCas(_))),
        _ => false,
    };
    if unimplemented
        && (line == b"CLIENT_ERROR invalid flag"
            || line == b"CLIENT_ERROR invalid or duplicate flag")
    {
        return true;
    }
    match cmd {
        // The stored value decides.
        Cmd::Incr { .. } | Cmd::Decr { .. } | Cmd::MetaArithmetic { .. } => line == NON_NUMERIC,
        // "An unknown subcommand gets ERROR" (`Stats` docs); `stats detail` and
        // `stats cachedump` as one word are usage errors.
        Cmd::Stats(StatsArgs::Word(w)) => !matches!(
            &w.0[..],
            b"settings"
                | b"items"
                | b"slabs"
                | b"sizes"
                | b"conns"
                | b"extstore"
                | b"reset"
                | b"sizes_enable"
                | b"sizes_disable"
        ),
        // memcached has 64 slab classes: `CLIENT_ERROR Illegal slab id` above 63.
        Cmd::Stats(StatsArgs::CacheDump { class, .. }) => {
            *class >= 64 && line == b"CLIENT_ERROR Illegal slab id"
        }
        // Words memcached does not take, or takes with other arguments (`Stats::args`
        // documents that an unknown subcommand gets ERROR).
        Cmd::Stats(StatsArgs::Words(_)) => true,
        // The crawler's state decides (already running, disabled, stopping); 1.6.18 has
        // no mgdump; a dump refuses to run while replies are queued.
        Cmd::LruCrawler(c) => {
            line == b"ERROR failed to start lru crawler thread"
                || line == b"CLIENT_ERROR lru crawler disabled"
                || line == b"ERROR an unknown error happened"
                || line.starts_with(b"ERROR cannot pipeline other commands before")
                || matches!(c, CrawlerCmd::Mgdump(_)) && line == b"ERROR"
        }
        // memcached's own limit, documented on `Lru::tune`.
        Cmd::Lru(LruCmd::Tune {
            hot_pct, warm_pct, ..
        }) => {
            hot_pct.saturating_add(*warm_pct) > 80
                && line == b"ERROR hot and warm pcts must not exceed 80"
        }
        // A stock memcached is not an ElastiCache endpoint (`ConfigGetCluster`).
        Cmd::ConfigGetCluster => line == b"ERROR",
        // 1.6.18 has no deletions watcher; a watch refuses to run while replies are
        // queued.
        Cmd::Watch { .. } => {
            line == b"ERROR" || line == b"ERROR cannot pipeline other commands before watch"
        }
        _ => false,
    }
}

/// Target `encode`: each command (from the client script, then arbitrary ones) is
/// sent into a buffer that already holds a few bytes. Either it is refused with
/// nothing written and nothing pending, for a reason the tracker accepts, or the bytes
/// written parse (with the reference model's framing) as exactly one complete request
/// that maps back to the same command, and the model does not answer it with `ERROR`
/// or `CLIENT_ERROR` (except for the documented cases in `excused`).
pub fn encode(data: &[u8]) {
    let (client, rest) = split_prefixed(data);
    let mut u = Unstructured::new(rest);
    let prefix_len = usize::from(byte(&mut u) % 8);
    let mut cmds = script(client);
    cmds.truncate(24);
    while cmds.len() < 24 && !u.is_empty() {
        match Cmd::arbitrary(&mut u) {
            Ok(cmd) => cmds.push(cmd),
            Err(_) => break,
        }
    }
    // No replies are decoded, so pending only grows: a low cap reaches TooManyPending.
    let limits = crate::tracker::limits().with_max_pending(16);
    let mut codec = Codec::with_config(config().with_limits(limits));
    let mut server = Server::with_options(Options {
        shutdown_enabled: true,
        ..Options::default()
    });
    let mut closing = false;
    // No replies are decoded here: a watch or a dump stays pending.
    let (mut watching, mut dumping) = (false, false);
    for cmd in &cmds {
        let mut out = BytesMut::from(&b"prefix!"[..prefix_len.min(7)]);
        let before = out.clone();
        let pending = codec.pending();
        match cmd.send(&mut codec, &mut out, epoch()) {
            Err(e) => {
                assert_eq!(out, before, "a refused command wrote bytes");
                assert_eq!(
                    codec.pending(),
                    pending,
                    "a refused command changed pending"
                );
                let explained = match &e {
                    EncodeError::Closing => closing,
                    EncodeError::Watching => watching,
                    EncodeError::DumpPending => dumping,
                    EncodeError::NeedsFence => cmd.needs_fence(),
                    EncodeError::TooManyPending { .. } => pending >= 16,
                    EncodeError::AmbiguousQuiet => cmd.is_tagged_meta() || cmd.is_raw_meta(),
                    EncodeError::FlagsTooLarge { flags } => {
                        crate::tracker::too_large_flags(cmd) == Some(*flags)
                    }
                    _ => false,
                };
                assert!(
                    explained || cmd.validate(&limits).is_err(),
                    "a valid command was refused with {e:?}: {cmd:?}"
                );
            }
            Ok(token) => {
                assert_eq!(token.is_none(), cmd.is_noreply());
                closing |= cmd.closes();
                watching |= cmd.is_watch();
                dumping |= cmd.is_dump();
                if let Err(rule) = cmd.validate(&limits) {
                    panic!("accepted a command breaking the {rule} rule: {cmd:?}");
                }
                assert_eq!(
                    &out[..before.len()],
                    &before[..],
                    "send changed earlier bytes"
                );
                let written = &out[before.len()..];
                let ParseResult::Request { request, consumed } = parse_request(written) else {
                    panic!(
                        "not one complete request: {:?} for {cmd:?}",
                        parse_request(written)
                    );
                };
                assert_eq!(consumed, written.len(), "more than one request written");
                let Some(back) = Cmd::from_request(&request) else {
                    panic!("{request:?} does not map back to {cmd:?}");
                };
                let written_cmd = match token {
                    Some(token) => crate::tracker::auto_opaque(cmd.clone(), token),
                    None => cmd.clone(),
                };
                assert_eq!(back.normalized(), written_cmd.normalized(), "round trip");
                let mut reply = Vec::new();
                server.feed(written, &mut reply);
                let line = reply.split(|&b| b == b'\r').next().unwrap_or_default();
                let refused = reply.starts_with(b"ERROR") || reply.starts_with(b"CLIENT_ERROR");
                if refused && !excused(cmd, line) {
                    panic!(
                        "memcached refuses what the codec wrote: {:?} -> {:?}",
                        written.escape_ascii().to_string(),
                        reply.escape_ascii().to_string()
                    );
                }
            }
        }
    }
    // The same commands through the tracker: its validity and state checks too.
    let mut tracker = Tracker::new();
    let mut out = BytesMut::new();
    for cmd in &cmds {
        tracker.send(cmd, &mut out);
    }
}
