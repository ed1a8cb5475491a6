//! [`Tracker`]: a codec wrapped with everything the fuzz targets assert about it.
//!
//! Invariants checked on every call:
//! * every token `send` returns completes at most once with a final completion while
//!   the codec lives, and completions come in increasing token order; the one
//!   exception is a `watch`, whose `OK` (`Watching`, first) and log lines (`Log`) are
//!   non-final completions of its token before its final one;
//! * a token whose `cancel` returned true never completes;
//! * once `decode` returns `Err(e)`, every sent and not cancelled token has completed,
//!   `decode` returns the same `Err(e)` again, `codec.poisoned()` is `e`, and `send`
//!   refuses with `EncodeError::Poisoned(e)`;
//! * after `handle_eof` and draining, every sent and not cancelled token has completed
//!   exactly once;
//! * a refused `send` wrote nothing and changed nothing; an accepted one is valid by
//!   the crate's documented rules ([`Cmd::validate`]), and a refused one is invalid or
//!   refused for a documented state (poisoned, closing, a watch or a dump pending, too
//!   many pending, ambiguous quiet run, a watch or dump right after quiet commands);
//! * every completion is typed by its command (a `Get` gets `Hit`/`Miss`, ...) and
//!   respects the [`Limits`] the codec was built with;
//! * values, keys and stats are zero-copy: their bytes lie in the input buffer as it
//!   was when `decode` was called;
//! * `bytes_examined()` never exceeds twice the bytes fed (each byte is searched for a
//!   line end at most once; each data block adds 2 for its terminator, and is at least
//!   as long as its header);
//! * after `decode` returns `Ok(None)`, the input buffer holds at most one partial
//!   line (under `max_line_len + 2` bytes) or one partial data block (under
//!   `min_buffer_len()`), after the held part of a multi-key reply in progress, and
//!   `min_buffer_len()` stays within the caps;
//! * `poll_timeout()` is exactly the documented inactivity deadline: 60 s after the
//!   last send that found nothing pending or the last `decode` that found new bytes,
//!   while commands are pending, the codec is not poisoned and not watching (a watch
//!   seen `Watching` and not done means `is_watching()`);
//! * after `ERROR`/`CLIENT_ERROR` for a data command the codec is poisoned with
//!   `UnreadDataBlock`, except for the `ms` errors memcached sends after reading the
//!   length ([`MS_BLOCK_SWALLOWED`]), which must not poison.
//!
//! In [`each`](Tracker::each) mode the codec is drained with `completions` instead,
//! under the same checks (the `split` target also compares the two).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use memcache_codec::response::MetaStatus;
use memcache_codec::{
    Codec, CommandError, Completion, Config, ConnectionError, DecodeError, EncodeError, Limits,
    Response, ServerErrorKind, Token,
};

use memcache_codec::command::RawShape;
use memcache_codec::response::AdminStatus;
use memcache_testkit::command::{
    CrawlerCmd, Key, MaFlag, MdFlag, MgFlag, MsFlag, Opaque, SlabsCmd, StatsArgs, Word,
    base64_decode, meta_get,
};

use crate::Cmd;

/// The inactivity timeout the harness configures.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Small caps, so the fuzzer reaches every one of them.
pub fn limits() -> Limits {
    Limits::DEFAULT
        .with_max_line_len(512)
        .with_max_value_len(4096)
        .with_max_values_per_reply(16)
        .with_max_stat_lines(64)
        .with_max_pending(64)
        .with_max_reply_len(16 * 1024)
}

/// The codec configuration every target uses.
pub fn config() -> Config {
    Config::DEFAULT
        .with_limits(limits())
        .with_inactivity_timeout(Some(TIMEOUT))
}

/// memcached 1.6.18's `ms` errors that come after it parsed the data length (it then
/// swallows the block, so the stream stays in step): the flag errors of
/// `_meta_flag_preparse()` and the mode checks of `process_mset_command()`.
pub const MS_BLOCK_SWALLOWED: &[&[u8]] = &[
    b"invalid flag",
    b"duplicate flag",
    b"bad token in command line format",
    b"opaque token too long",
    b"error decoding key",
    b"incorrect length for M token",
    b"invalid mode for ms M token",
];

/// `FUZZ_TRACE` set: print every send and completion (for replaying a crash).
pub fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// A fixed starting instant for the fake clock, shared by every tracker in a process.
pub fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Outstanding,
    /// A watch that completed with `Watching`: log lines may follow, then its final
    /// completion.
    Streaming,
    Cancelled,
    Done,
}

#[derive(Debug)]
struct Sent {
    token: Token,
    cmd: Cmd,
    state: State,
}

/// A codec plus the bookkeeping to check it. See the module docs for what is checked.
#[derive(Debug)]
pub struct Tracker {
    /// The codec under test.
    pub codec: Codec,
    limits: Limits,
    /// The fake clock.
    pub now: Instant,
    sent: Vec<Sent>,
    last_done: Option<u64>,
    /// The error `decode` returned, once it did.
    pub error: Option<ConnectionError>,
    /// The read buffer, owned here so every decode sees the same one.
    pub input: BytesMut,
    fed: u64,
    /// `input.len()` when `decode` last returned (the codec's notion of new bytes).
    seen_len: usize,
    last_activity: Option<Instant>,
    /// Memory ranges the input buffer covered at the start of a `decode`.
    regions: Vec<(usize, usize)>,
    /// Completions, in order, when recording.
    pub completions: Vec<Completion>,
    record: bool,
    /// Tokens from here on belong to the trailing run of quiet meta commands.
    quiet_run_start: u64,
    /// `send_noreply` succeeded at least once on this codec.
    pub sent_noreply: bool,
    /// Drain with `completions` instead of calling `decode` until `Ok(None)`.
    pub each: bool,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
    /// A fresh codec with [`config`], its clock at [`epoch`].
    pub fn new() -> Self {
        Self::at(epoch())
    }

    /// A fresh codec whose clock starts at `now`.
    pub fn at(now: Instant) -> Self {
        Self {
            codec: Codec::with_config(config()),
            limits: limits(),
            now,
            sent: Vec::new(),
            last_done: None,
            error: None,
            input: BytesMut::new(),
            fed: 0,
            seen_len: 0,
            last_activity: None,
            regions: Vec::new(),
            completions: Vec::new(),
            record: false,
            quiet_run_start: 0,
            sent_noreply: false,
            each: false,
        }
    }

    /// Keeps every completion in [`Tracker::completions`].
    pub fn recording(mut self) -> Self {
        self.record = true;
        self
    }

    /// Tokens sent with a reply expected.
    pub fn sent(&self) -> usize {
        self.sent.len()
    }

    /// The `i`th token sent (modulo the count), if any was.
    pub fn nth_token(&self, i: usize) -> Option<Token> {
        (!self.sent.is_empty()).then(|| self.sent[i % self.sent.len()].token)
    }

    /// Sends `cmd`, checking the outcome against the codec's state and the command's
    /// validity. Returns the token, if one was issued.
    pub fn send(&mut self, cmd: &Cmd, out: &mut BytesMut) -> Option<Token> {
        let before = out.clone();
        let pending = self.codec.pending();
        let result = cmd.send(&mut self.codec, out, self.now);
        if trace() {
            let wrote = out.get(before.len()..).unwrap_or_default();
            eprintln!(
                "send {cmd:?} -> {result:?}: {:?}",
                wrote.escape_ascii().to_string()
            );
        }
        match result {
            Err(e) => {
                assert_eq!(*out, before, "a refused send wrote bytes: {e:?}");
                assert_eq!(
                    self.codec.pending(),
                    pending,
                    "a refused send changed pending"
                );
                self.check_refusal(cmd, &e, pending);
                None
            }
            Ok(token) => {
                self.check_accepted(cmd, pending);
                assert!(out.len() > before.len(), "an accepted send wrote nothing");
                assert_eq!(
                    &out[..before.len()],
                    &before[..],
                    "send changed earlier bytes"
                );
                match token {
                    Some(token) => {
                        assert!(!cmd.is_noreply());
                        self.push(cmd.clone(), token, pending);
                    }
                    None => {
                        assert!(cmd.is_noreply());
                        assert_eq!(self.codec.pending(), pending, "noreply made an entry");
                        self.sent_noreply = true;
                    }
                }
                self.check_timer();
                token
            }
        }
    }

    /// Sends a quiet batch of `mg`s with [`Codec::send_quiet_batch`].
    pub fn send_batch(&mut self, gets: &[(Key, Vec<MgFlag>)], out: &mut BytesMut) {
        let built: Vec<_> = gets
            .iter()
            .map(|(key, flags)| meta_get(key, flags))
            .collect();
        let before = out.clone();
        let pending = self.codec.pending();
        let result = self.codec.send_quiet_batch(&built, out, self.now);
        let as_cmds: Vec<Cmd> = gets
            .iter()
            .map(|(key, flags)| Cmd::MetaGet {
                key: key.clone(),
                flags: flags.clone(),
            })
            .collect();
        match result {
            Err(e) => {
                assert_eq!(*out, before, "a refused batch wrote bytes: {e:?}");
                assert_eq!(
                    self.codec.pending(),
                    pending,
                    "a refused batch changed pending"
                );
                if !self.state_refusal(&e, pending, gets.len() + 1) {
                    let invalid = as_cmds.iter().any(|c| c.validate(&self.limits).is_err());
                    assert!(
                        invalid || matches!(e, EncodeError::AmbiguousQuiet),
                        "a valid batch was refused: {e:?}"
                    );
                }
            }
            Ok(batch) => {
                assert!(self.error.is_none() && self.codec.poisoned().is_none());
                assert_eq!(batch.len(), gets.len());
                assert_eq!(self.codec.pending(), pending + gets.len() + 1);
                for (i, (token, cmd)) in batch.tokens().zip(as_cmds).enumerate() {
                    assert_eq!(token.index(), self.sent.len() as u64);
                    assert_eq!(batch.token(i), Some(token));
                    assert!(cmd.validate(&self.limits).is_ok(), "invalid mg accepted");
                    // The batch adds `q`, and (automatic opaques being on) `O~<token>`
                    // when the mg has no opaque.
                    let Cmd::MetaGet { key, mut flags } = cmd else {
                        unreachable!()
                    };
                    flags.push(MgFlag::Quiet);
                    self.record_sent(auto_opaque(Cmd::MetaGet { key, flags }, token), token);
                }
                assert_eq!(batch.fence().index(), self.sent.len() as u64);
                self.record_sent(Cmd::MetaNoop, batch.fence());
                if pending == 0 {
                    self.last_activity = Some(self.now);
                }
                self.check_timer();
            }
        }
    }

    fn push(&mut self, cmd: Cmd, token: Token, pending: usize) {
        assert_eq!(
            token.index(),
            self.sent.len() as u64,
            "tokens count the commands sent"
        );
        assert_eq!(self.codec.pending(), pending + 1);
        if pending == 0 {
            self.last_activity = Some(self.now);
        }
        self.record_sent(auto_opaque(cmd, token), token);
    }

    /// The refusal the codec must give every send because of the newest command:
    /// `Closing` after a pending `quit`/`shutdown`, `Watching` after a pending watch,
    /// `DumpPending` after a pending dump. `Some(None)`: none; `None`: unknown (the
    /// newest was cancelled, and may or may not have been read past).
    fn exclusive(&self) -> Option<Option<EncodeError>> {
        let Some(last) = self.sent.last() else {
            return Some(None);
        };
        let error = if last.cmd.closes() {
            EncodeError::Closing
        } else if last.cmd.is_watch() {
            EncodeError::Watching
        } else if last.cmd.is_dump() {
            EncodeError::DumpPending
        } else {
            return Some(None);
        };
        match last.state {
            State::Outstanding | State::Streaming => Some(Some(error)),
            State::Done => Some(None),
            State::Cancelled => None,
        }
    }

    /// Whether quiet meta commands sent since the last command that always gets a
    /// reply may still be pending.
    fn quiet_run_open(&self) -> bool {
        self.sent
            .iter()
            .any(|s| s.token.index() >= self.quiet_run_start && s.state != State::Done)
    }

    fn record_sent(&mut self, cmd: Cmd, token: Token) {
        if !cmd.is_quiet() {
            self.quiet_run_start = token.index() + 1;
        }
        self.sent.push(Sent {
            token,
            cmd,
            state: State::Outstanding,
        });
    }

    /// Refusals the codec's state explains; true if `e` is one of them (and right).
    fn state_refusal(&self, e: &EncodeError, pending: usize, commands: usize) -> bool {
        if let Some(poison) = self.codec.poisoned() {
            assert_eq!(*e, EncodeError::Poisoned(poison.clone()));
            return true;
        }
        assert!(
            self.error.is_none(),
            "decode returned an error, codec is not poisoned"
        );
        match (self.exclusive(), e) {
            (Some(Some(want)), e) => {
                assert_eq!(*e, want, "refused a send behind quit, a watch or a dump");
                return true;
            }
            (None, EncodeError::Closing | EncodeError::Watching | EncodeError::DumpPending) => {
                return true;
            }
            _ => {}
        }
        assert!(!matches!(
            e,
            EncodeError::Poisoned(_)
                | EncodeError::Closing
                | EncodeError::Watching
                | EncodeError::DumpPending
        ));
        if pending + commands > self.limits.max_pending {
            assert_eq!(
                *e,
                EncodeError::TooManyPending {
                    limit: self.limits.max_pending
                }
            );
            return true;
        }
        assert!(!matches!(e, EncodeError::TooManyPending { .. }));
        false
    }

    fn check_refusal(&self, cmd: &Cmd, e: &EncodeError, pending: usize) {
        let commands = usize::from(!cmd.is_noreply());
        if self.state_refusal(e, pending, commands) {
            return;
        }
        if matches!(e, EncodeError::AmbiguousQuiet) {
            assert!(
                cmd.is_tagged_meta() || cmd.is_raw_meta(),
                "AmbiguousQuiet for {cmd:?}"
            );
            assert!(cmd.validate(&self.limits).is_ok());
            assert!(
                self.quiet_run_open(),
                "AmbiguousQuiet with no quiet command pending: {cmd:?}"
            );
            return;
        }
        if let EncodeError::FlagsTooLarge { flags } = e {
            // The codec is not told the server stores 8-byte flags (`config`).
            assert_eq!(
                too_large_flags(cmd),
                Some(*flags),
                "FlagsTooLarge for {cmd:?}"
            );
            return;
        }
        if matches!(e, EncodeError::NeedsFence) {
            assert!(cmd.needs_fence(), "NeedsFence for {cmd:?}");
            assert!(cmd.validate(&self.limits).is_ok());
            assert!(
                self.quiet_run_open(),
                "NeedsFence with no quiet command pending: {cmd:?}"
            );
            return;
        }
        assert!(
            cmd.validate(&self.limits).is_err(),
            "a valid command was refused with {e:?}: {cmd:?}"
        );
    }

    fn check_accepted(&self, cmd: &Cmd, pending: usize) {
        assert!(
            self.codec.poisoned().is_none(),
            "a poisoned codec accepted {cmd:?}"
        );
        assert!(
            matches!(self.exclusive(), Some(None) | None),
            "a codec behind quit, a watch or a dump accepted {cmd:?}"
        );
        if cmd.is_watch() || cmd.is_dump() {
            // Accepted, so no quiet command could be waiting (else NeedsFence).
            let quiet = self.sent.iter().any(|s| {
                s.token.index() >= self.quiet_run_start
                    && s.state == State::Outstanding
                    && s.cmd.is_quiet()
            });
            assert!(!quiet, "{cmd:?} accepted right after quiet commands");
        }
        if !cmd.is_noreply() {
            assert!(pending < self.limits.max_pending, "max_pending exceeded");
        }
        if let Err(rule) = cmd.validate(&self.limits) {
            panic!("the codec accepted a command breaking the {rule} rule: {cmd:?}");
        }
    }

    /// Cancels a sent token, checking the answer.
    pub fn cancel(&mut self, token: Token) {
        let i = usize::try_from(token.index()).expect("small token");
        let cancelled = self.codec.cancel(token);
        let entry = &mut self.sent[i];
        if cancelled {
            assert!(
                matches!(entry.state, State::Outstanding | State::Streaming),
                "cancel returned true for a token that is not outstanding"
            );
            entry.state = State::Cancelled;
        }
        // false: done, cancelled, or already decided and waiting to be handed out (it
        // must then still complete, which the end-of-stream check enforces).
        self.check_timer();
    }

    /// Appends bytes to the input buffer (as read from the server).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        self.fed += bytes.len() as u64;
    }

    /// Calls `decode` until it returns `Ok(None)` or an error (or `completions` once,
    /// in [`each`](Self::each) mode), checking each result.
    pub fn decode_all(&mut self) {
        if self.each {
            self.drain_completions();
            return;
        }
        loop {
            if !self.input.is_empty() {
                let start = self.input.as_ptr() as usize;
                let region = (start, start + self.input.len());
                if self.regions.last() != Some(&region) {
                    self.regions.push(region);
                }
            }
            let grew = self.input.len() > self.seen_len;
            let result = self.codec.decode(&mut self.input, self.now);
            if grew {
                self.last_activity = Some(self.now);
            }
            self.seen_len = self.input.len();
            match result {
                Ok(None) => {
                    assert!(
                        self.codec.poisoned().is_none(),
                        "a poisoned codec asked for more bytes"
                    );
                    self.check_idle();
                    break;
                }
                Ok(Some(done)) => self.on_completion(done),
                Err(e) => {
                    self.on_error(e);
                    break;
                }
            }
        }
        self.check_examined();
        self.check_timer();
    }

    /// `completions`: documented as `decode` until `Ok(None)`. Completions are
    /// checked after the iterator is dropped, against the codec's state then.
    fn drain_completions(&mut self) {
        if !self.input.is_empty() {
            let start = self.input.as_ptr() as usize;
            self.regions.push((start, start + self.input.len()));
        }
        let grew = self.input.len() > self.seen_len;
        let mut done = Vec::new();
        // Both ways of driving the iterator: a `for` loop (batches) and internal
        // iteration (straight from the state machine), picked by the input.
        if self.input.len().is_multiple_of(2) {
            for c in self.codec.completions(&mut self.input, self.now) {
                done.push(c);
            }
        } else {
            self.codec
                .completions(&mut self.input, self.now)
                .for_each(|c| done.push(c));
        }
        let result = match self.codec.poisoned() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        };
        if grew {
            self.last_activity = Some(self.now);
        }
        self.seen_len = self.input.len();
        for c in done {
            self.on_completion(c);
        }
        match result {
            Ok(()) => self.check_idle(),
            Err(e) => self.on_error(e),
        }
        self.check_examined();
        self.check_timer();
    }

    /// Reports end of stream and drains: afterwards every sent, not cancelled token has
    /// completed exactly once.
    pub fn eof(&mut self) {
        let expected = self
            .codec
            .poisoned()
            .cloned()
            .unwrap_or(ConnectionError::Closed);
        self.codec.handle_eof();
        assert_eq!(
            self.codec.poisoned(),
            Some(&expected),
            "handle_eof replaced the poison"
        );
        self.decode_all();
        assert_eq!(
            self.error.as_ref(),
            Some(&expected),
            "drain did not end in the poison"
        );
        self.check_all_done();
    }

    /// Moves the fake clock forward and reports it with `handle_timeout`.
    pub fn tick(&mut self, seconds: u64) {
        self.now += Duration::from_secs(seconds);
        let deadline = self.codec.poll_timeout();
        let before = self.codec.poisoned().cloned();
        self.codec.handle_timeout(self.now);
        match (before, deadline) {
            (Some(e), _) => assert_eq!(self.codec.poisoned(), Some(&e), "timeout replaced poison"),
            (None, Some(d)) if self.now >= d => {
                assert_eq!(self.codec.poisoned(), Some(&ConnectionError::Timeout));
            }
            (None, _) => assert!(self.codec.poisoned().is_none(), "early timeout poisoned"),
        }
        self.decode_all();
    }

    fn check_all_done(&self) {
        for s in &self.sent {
            assert!(
                !matches!(s.state, State::Outstanding | State::Streaming),
                "token {} never completed: {:?}",
                s.token.index(),
                s.cmd
            );
        }
    }

    fn on_error(&mut self, e: ConnectionError) {
        assert_eq!(
            self.codec.poisoned(),
            Some(&e),
            "decode's error is not the poison"
        );
        if let Some(previous) = &self.error {
            assert_eq!(*previous, e, "the poison changed");
        }
        self.error = Some(e.clone());
        self.check_all_done();
        assert_eq!(self.codec.pending(), 0, "poisoned and drained, yet pending");
        let again = self.codec.decode(&mut self.input, self.now);
        assert_eq!(again, Err(e.clone()), "the error is not sticky");
        let again = self.codec.completions(&mut self.input, self.now).count();
        assert_eq!(again, 0, "completions after the poison");
        assert_eq!(self.codec.poisoned(), Some(&e), "the error is not sticky");
        self.seen_len = self.input.len();
        assert_eq!(self.codec.poll_timeout(), None);
        assert_eq!(self.codec.min_buffer_len(), None);
    }

    fn on_completion(&mut self, done: Completion) {
        let t = done.token.index();
        let i = usize::try_from(t).expect("small token");
        assert!(
            i < self.sent.len(),
            "completion for a token never sent: {t}"
        );
        let streaming = self.sent[i].state == State::Streaming;
        if let Some(last) = self.last_done {
            assert!(
                t > last || (t == last && streaming),
                "completion {t} after {last}: out of order or twice"
            );
        }
        self.last_done = Some(t);
        match self.sent[i].state {
            State::Outstanding | State::Streaming => {}
            State::Cancelled => panic!("cancelled token {t} completed"),
            State::Done => panic!("token {t} completed twice"),
        }
        // A watch's OK comes first, once; its log lines after it; anything else is
        // final.
        self.sent[i].state = match &done.result {
            Ok(Response::Watching) => {
                assert!(
                    self.sent[i].cmd.is_watch() && !streaming,
                    "Watching for {t}"
                );
                State::Streaming
            }
            Ok(Response::Log(_)) => {
                assert!(streaming, "a log line before Watching, for {t}");
                State::Streaming
            }
            _ => State::Done,
        };
        assert_eq!(done.is_final(), self.sent[i].state == State::Done);
        let cmd = &self.sent[i].cmd;
        if trace() {
            eprintln!(
                "done {t} {cmd:?} -> {:?}, poison {:?}",
                done.result,
                self.codec.poisoned()
            );
        }
        match &done.result {
            Err(CommandError::Connection(e)) => {
                assert_eq!(
                    self.codec.poisoned(),
                    Some(e),
                    "failed with a non-poison error"
                );
            }
            Err(CommandError::Server(se)) => {
                assert!(se.message.len() <= self.limits.max_line_len);
                self.check_zero_copy(&se.message);
                // Crate docs, "Errors": after ERROR or CLIENT_ERROR for a data command
                // the stream is unknown and the codec poisons itself, except for the
                // `ms` CLIENT_ERRORs about flags, sent after memcached parsed the
                // length and swallowed the block.
                let unread = match se.kind {
                    ServerErrorKind::Error => cmd.carries_data(),
                    ServerErrorKind::ClientError => match cmd {
                        Cmd::Store { .. } | Cmd::Raw { data: Some(_), .. } => true,
                        Cmd::MetaSet { .. } => !MS_BLOCK_SWALLOWED.contains(&&se.message[..]),
                        _ => false,
                    },
                    _ => false,
                };
                let expected =
                    ConnectionError::Decode(DecodeError::UnreadDataBlock { error: se.clone() });
                if unread {
                    assert_eq!(
                        self.codec.poisoned(),
                        Some(&expected),
                        "stream state unknown"
                    );
                } else if !self.each {
                    // (With completions the codec's state is the one at the end of the
                    // call, when a later command may have poisoned it.)
                    assert_ne!(self.codec.poisoned(), Some(&expected), "needless poison");
                }
            }
            Ok(response) => self.check_response(cmd, response),
            Err(other) => panic!("unknown command error {other:?}"),
        }
        if self.record {
            self.completions.push(done);
        }
    }

    fn check_zero_copy(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let start = bytes.as_ptr() as usize;
        let end = start + bytes.len();
        assert!(
            self.regions.iter().any(|&(s, e)| s <= start && end <= e),
            "{} bytes do not point into the input buffer",
            bytes.len()
        );
    }

    fn check_response(&self, cmd: &Cmd, response: &Response) {
        let l = &self.limits;
        let line = |b: &[u8]| {
            assert!(
                b.len() <= l.max_line_len,
                "a line field exceeds max_line_len"
            );
            self.check_zero_copy(b);
        };
        let value = |b: &[u8]| {
            assert!(b.len() <= l.max_value_len, "a value exceeds max_value_len");
            self.check_zero_copy(b);
        };
        let typed = match (cmd, response) {
            (Cmd::Get { cas, .. }, Response::Hit(v)) => {
                value(&v.data);
                v.cas.is_some() == *cas
            }
            (Cmd::Get { .. }, Response::Miss) => true,
            (Cmd::GetMulti { keys, cas, .. }, Response::Items(items)) => {
                assert!(items.len() <= l.max_values_per_reply, "too many values");
                // Each item's key is a requested key, in request order.
                let mut rest = keys.iter();
                for item in items.iter() {
                    line(item.key);
                    value(item.data);
                    assert_eq!(item.cas.is_some(), *cas);
                    assert!(
                        rest.any(|k| k.0 == item.key),
                        "VALUE key not requested, or out of order"
                    );
                }
                true
            }
            (Cmd::Store { .. }, r) => matches!(
                r,
                Response::Stored | Response::NotStored | Response::Exists | Response::NotFound
            ),
            (Cmd::Delete { .. }, r) => matches!(r, Response::Deleted | Response::NotFound),
            (Cmd::Touch { .. }, r) => matches!(r, Response::Touched | Response::NotFound),
            (Cmd::Incr { .. } | Cmd::Decr { .. }, r) => {
                matches!(r, Response::Counter(_) | Response::NotFound)
            }
            (Cmd::Stats(args), r) => {
                let count = match r {
                    Response::Stats(v) => {
                        v.iter().for_each(|s| {
                            line(s.name);
                            line(s.value);
                        });
                        Some(v.len())
                    }
                    Response::CacheDump(v) => {
                        v.iter().for_each(|s| line(&s.key));
                        Some(v.len())
                    }
                    Response::DetailDump(v) => {
                        v.iter().for_each(|s| line(&s.prefix));
                        Some(v.len())
                    }
                    _ => None,
                };
                assert!(
                    count.unwrap_or(0) <= l.max_stat_lines,
                    "too many stat lines"
                );
                match (args, r) {
                    (StatsArgs::Words(words), r) => stats_words_fit(words, r),
                    (StatsArgs::Word(w), Response::Reset) => w.0 == b"reset",
                    (StatsArgs::Word(w), Response::Stats(_)) => w.0 != b"reset",
                    (StatsArgs::None, Response::Stats(_)) => true,
                    (StatsArgs::Detail(_), Response::Ok) => true,
                    (StatsArgs::DetailDump, Response::DetailDump(_)) => true,
                    (StatsArgs::CacheDump { .. }, Response::CacheDump(_)) => true,
                    _ => false,
                }
            }
            (Cmd::Version, Response::Version(v)) => {
                line(v);
                true
            }
            (Cmd::Verbosity { .. } | Cmd::FlushAll { .. } | Cmd::CacheMemlimit { .. }, r) => {
                *r == Response::Ok
            }
            (Cmd::Quit | Cmd::Shutdown { .. }, r) => {
                // Closed only comes from end of stream.
                *r == Response::Closed && self.codec.poisoned() == Some(&ConnectionError::Closed)
            }
            (Cmd::MetaNoop, r) => *r == Response::Noop,
            (Cmd::MetaDebug { .. }, Response::MetaDebug(d)) => {
                line(&d.key);
                line(&d.fields);
                true
            }
            (Cmd::MetaDebug { .. }, Response::Miss) => true,
            (Cmd::Bget { keys }, Response::Items(items)) => {
                assert!(items.len() <= l.max_values_per_reply, "too many values");
                let mut rest = keys.iter();
                for item in items.iter() {
                    line(item.key);
                    value(item.data);
                    assert!(item.cas.is_none());
                    assert!(
                        rest.any(|k| k.0 == item.key),
                        "VALUE key not requested, or out of order"
                    );
                }
                true
            }
            (Cmd::LruCrawler(c), r) => match (c, r) {
                (CrawlerCmd::Metadump(_), Response::MetaDump(entries)) => {
                    assert!(entries.len() <= l.max_stat_lines, "too many dump lines");
                    for e in entries {
                        line(&e.line);
                        assert!(e.key.len() <= l.max_line_len);
                    }
                    true
                }
                (CrawlerCmd::Mgdump(_), Response::MgDump(keys)) => {
                    assert!(keys.len() <= l.max_stat_lines, "too many dump lines");
                    keys.iter().all(|k| k.len() <= l.max_line_len)
                }
                (
                    CrawlerCmd::Crawl(_) | CrawlerCmd::Metadump(_) | CrawlerCmd::Mgdump(_),
                    Response::Admin(s),
                ) => {
                    line(s.message());
                    matches!(
                        s,
                        AdminStatus::Busy(_)
                            | AdminStatus::BadClass(_)
                            | AdminStatus::NotStarted(_)
                    )
                }
                (CrawlerCmd::Metadump(_) | CrawlerCmd::Mgdump(_), _) => false,
                (_, r) => *r == Response::Ok,
            },
            (Cmd::Slabs(SlabsCmd::Reassign { .. }), Response::Admin(s)) => {
                line(s.message());
                !matches!(s, AdminStatus::NotStarted(_))
            }
            (Cmd::Slabs(_) | Cmd::Lru(_) | Cmd::RefreshCerts, r) => *r == Response::Ok,
            (Cmd::ConfigGetCluster, Response::ClusterConfig(c)) => {
                c.nodes.iter().for_each(|n| line(&n.host));
                true
            }
            (Cmd::Watch { .. }, Response::Watching) => true,
            (Cmd::Watch { .. }, Response::Log(log)) => {
                line(log.as_bytes());
                true
            }
            (Cmd::Raw { shape, .. }, Response::Raw(reply)) => {
                reply.lines().for_each(line);
                if let Some(data) = reply.data() {
                    value(data);
                }
                match shape {
                    RawShape::Line => reply.len() == 1 && reply.data().is_none(),
                    RawShape::Lines => reply.len() <= l.max_stat_lines && reply.data().is_none(),
                    RawShape::Block { end, .. } => match reply.data() {
                        Some(_) => reply.len() == 1,
                        None => reply.len() == usize::from(!*end),
                    },
                }
            }
            (_, Response::Meta(m)) => {
                use MetaStatus::*;
                line(m.raw_flags());
                if let Some(v) = m.value() {
                    value(v);
                }
                assert_eq!(m.value().is_some(), m.status == Value, "value iff VA");
                if m.inferred {
                    assert!(cmd.is_quiet(), "inferred outcome for a loud command");
                    assert!(m.raw_flags().is_empty() && m.value().is_none());
                }
                // tests/fuzz_regressions.rs: meta_reply_with_two_opaques, _keys.
                if let Some(echoed) = m.opaque() {
                    assert_eq!(Some(echoed), cmd.opaque(), "echoed someone else's opaque");
                }
                if let (Some(echoed), Some(key)) = (m.key(), cmd.key()) {
                    let raw = if m.key_is_base64() {
                        base64_decode(echoed)
                    } else {
                        Some(echoed.to_vec())
                    };
                    assert_eq!(raw.as_deref(), Some(key), "echoed someone else's key");
                }
                let statuses: &[MetaStatus] = match cmd {
                    Cmd::MetaGet { .. } => &[Value, Success, Miss],
                    Cmd::MetaSet { .. } => &[Success, NotStored, Exists, NotFound],
                    Cmd::MetaDelete { .. } => &[Success, NotFound, Exists],
                    Cmd::MetaArithmetic { .. } => &[Value, Success, NotFound, NotStored, Exists],
                    _ => &[],
                };
                statuses.contains(&m.status)
            }
            _ => false,
        };
        assert!(typed, "{cmd:?} completed with {response:?}");
    }

    /// After `Ok(None)`: what is left is one partial line or one partial data block,
    /// after the held part of a multi-line reply in progress (the crate keeps a
    /// multi-key or stats reply in the buffer until its `END`, bounded by the caps).
    fn check_idle(&self) {
        let l = &self.limits;
        // The held reply belongs to a multi-line reply not completed yet (the head,
        // but a cancelled command before it may or may not have left the deque, so
        // any will do).
        let open = |pred: fn(&Cmd) -> bool| {
            self.sent
                .iter()
                .any(|s| s.state != State::Done && pred(&s.cmd))
        };
        let mut held = 0;
        if open(|c| matches!(c, Cmd::GetMulti { .. })) {
            held = l.max_values_per_reply * (l.max_line_len + 2 + l.max_value_len + 2);
        }
        if open(|c| matches!(c, Cmd::Stats(args) if !matches!(args, StatsArgs::Detail(_))))
            || open(|c| {
                c.is_dump()
                    || matches!(
                        c,
                        Cmd::Raw {
                            shape: RawShape::Lines,
                            ..
                        }
                    )
            })
        {
            held = held.max(l.max_stat_lines * (l.max_line_len + 2));
        }
        let held = held.min(l.max_reply_len);
        match self.codec.min_buffer_len() {
            Some(want) => {
                assert!(want > self.input.len(), "waits for bytes it has");
                assert!(
                    want <= held + l.max_line_len + 2 + l.max_value_len + 2,
                    "data block beyond the caps"
                );
            }
            None => assert!(
                self.input.len() < held + l.max_line_len + 2,
                "a complete or over-long line left in the buffer ({} bytes, each {}): {:?}",
                self.input.len(),
                self.each,
                self.input[..self.input.len().min(600)]
                    .escape_ascii()
                    .to_string()
            ),
        }
        let outstanding = self
            .sent
            .iter()
            .filter(|s| matches!(s.state, State::Outstanding | State::Streaming))
            .count();
        assert!(
            self.codec.pending() >= outstanding,
            "pending lost a command"
        );
    }

    fn check_examined(&self) {
        let examined = self.codec.bytes_examined();
        assert!(
            examined <= 2 * self.fed,
            "bytes_examined {examined} for {} bytes fed",
            self.fed
        );
    }

    fn check_timer(&self) {
        let streaming = self.sent.iter().any(|s| s.state == State::Streaming);
        if streaming && self.codec.poisoned().is_none() {
            assert!(
                self.codec.is_watching(),
                "a watch streams, yet not watching"
            );
        }
        if self.codec.is_watching() {
            // Its OK was read: the watch is outstanding (streaming) or cancelled.
            assert!(
                self.sent
                    .iter()
                    .any(|s| s.cmd.is_watch()
                        && matches!(s.state, State::Streaming | State::Cancelled)),
                "watching without a watch"
            );
            assert_eq!(self.codec.poll_timeout(), None, "a deadline while watching");
            return;
        }
        let expected = if self.codec.pending() > 0 && self.codec.poisoned().is_none() {
            Some(self.last_activity.expect("activity before pending") + TIMEOUT)
        } else {
            None
        };
        assert_eq!(self.codec.poll_timeout(), expected, "inactivity deadline");
    }

    /// Total bytes fed (garbage included).
    pub fn fed(&self) -> u64 {
        self.fed
    }
}

/// Whether `response` is the shape memcached's `process_stat()` gives `stats <words>`
/// (restated here: `reset`, `detail on|off`, `detail dump`, `cachedump`, anything
/// else `STAT` lines).
fn stats_words_fit(words: &[Word], response: &Response) -> bool {
    let w: Vec<&[u8]> = words.iter().map(|w| &w.0[..]).collect();
    match (&w[..], response) {
        ([b"reset", ..], r) => *r == Response::Reset,
        ([b"detail", b"on" | b"off", ..], r) => *r == Response::Ok,
        ([b"detail", b"dump", ..], r) => matches!(r, Response::DetailDump(_)),
        ([b"cachedump", ..], r) => matches!(r, Response::CacheDump(_)),
        (_, r) => matches!(r, Response::Stats(_)),
    }
}

/// The command as the codec wrote it: a quiet meta command without an opaque gets
/// `O~<token>` ([`Config::auto_opaque`], on in [`config`]).
pub fn auto_opaque(mut cmd: Cmd, token: Token) -> Cmd {
    if !cmd.is_quiet() || cmd.opaque().is_some() {
        return cmd;
    }
    let opaque = Opaque(format!("~{}", token.index()).into_bytes());
    match &mut cmd {
        Cmd::MetaGet { flags, .. } => flags.push(MgFlag::Opaque(opaque)),
        Cmd::MetaSet { flags, .. } => flags.push(MsFlag::Opaque(opaque)),
        Cmd::MetaDelete { flags, .. } => flags.push(MdFlag::Opaque(opaque)),
        Cmd::MetaArithmetic { flags, .. } => flags.push(MaFlag::Opaque(opaque)),
        _ => {}
    }
    cmd
}

/// The client flags of `cmd` when they do not fit 32 bits: what a codec not told
/// that the server stores 8-byte flags refuses.
pub fn too_large_flags(cmd: &Cmd) -> Option<u64> {
    let flags = match cmd {
        Cmd::Store { flags, .. } => Some(*flags),
        _ => cmd.meta_flags().and_then(|f| f.client_flags),
    };
    flags.filter(|&f| f > u64::from(u32::MAX))
}
