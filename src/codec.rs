//! [`Codec`]: the sans-IO surface. Glue between the commands, the pending deque, the
//! receive state machine and the inactivity timer; no parsing happens here.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::time::Instant;

use bytes::BytesMut;

use crate::command::{Command, MetaGet, MetaNoop, NoreplyCommand, Stats, Version, Writer};
use crate::completion::{Completion, Token};
use crate::error::{ConnectionError, EncodeError};
use crate::expect::Expect;
use crate::limits::Config;
use crate::pending::Pending;
use crate::profile::{Probe, Server, ServerProfile};
use crate::receive::{Input, Receiver};

/// A memcached client protocol state machine: commands in, bytes out; bytes in,
/// completions out. See the [crate documentation](crate) for the drive loop.
///
/// Methods fall in four groups:
/// * sending: [`send`](Self::send), [`send_noreply`](Self::send_noreply),
///   [`cancel`](Self::cancel);
/// * receiving: [`completions`](Self::completions), an iterator over what a read
///   holds, or [`decode`](Self::decode), one completion per call (the shape of
///   `tokio_util`'s `Decoder`);
/// * time and the connection: [`poll_timeout`](Self::poll_timeout),
///   [`handle_timeout`](Self::handle_timeout), [`handle_eof`](Self::handle_eof),
///   [`handle_io_error`](Self::handle_io_error);
/// * getters: [`pending`](Self::pending), [`poisoned`](Self::poisoned),
///   [`min_buffer_len`](Self::min_buffer_len), [`bytes_examined`](Self::bytes_examined).
#[derive(Debug)]
pub struct Codec {
    config: Config,
    pending: Pending,
    receiver: Receiver,
    /// When the inactivity timer last (re)started: a send with nothing pending, or
    /// bytes arriving. Only meaningful while commands are pending.
    last_activity: Option<Instant>,
    /// The latest `now` the caller passed: time never runs backwards in the codec.
    clock: Option<Instant>,
    /// The read buffer's length when `decode` last returned, to notice new bytes.
    buffered: usize,
    /// What the codec was told of the server.
    profile: Option<ServerProfile>,
    /// The profile and the config, folded for encoding.
    server: Server,
    /// The batch of a [`Completions`] iterator: completions decided and not handed out
    /// yet. Empty between calls, unless an iterator was forgotten (`mem::forget`):
    /// then the next call puts them back in line first.
    batch: VecDeque<Completion>,
}

impl Default for Codec {
    fn default() -> Self {
        Self::new()
    }
}

impl Codec {
    /// A codec with the default [`Config`].
    pub fn new() -> Self {
        Self::with_config(Config::DEFAULT)
    }

    /// A codec with these limits and timeout.
    pub fn with_config(config: Config) -> Self {
        Self {
            config,
            pending: Pending::default(),
            receiver: Receiver::new(config.limits),
            last_activity: None,
            clock: None,
            buffered: 0,
            profile: None,
            server: Server::of(None, config.large_client_flags),
            batch: VecDeque::new(),
        }
    }

    /// The caller's `now`, or the latest one seen if that is later.
    fn tick(&mut self, now: Instant) -> Instant {
        let now = self.clock.map_or(now, |latest| latest.max(now));
        self.clock = Some(now);
        now
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn check_open(&self) -> Result<(), EncodeError> {
        if let Some(error) = self.receiver.poisoned() {
            return Err(EncodeError::Poisoned(error.clone()));
        }
        // quit/shutdown, watch and the dumps are always the newest entry: nothing can
        // be sent after them; nor after an authentication until it is answered.
        match self.pending.back().map(|e| e.expect()) {
            Some(Expect::Close) => Err(EncodeError::Closing),
            Some(Expect::Watch | Expect::Log) => Err(EncodeError::Watching),
            Some(Expect::Dump(_)) => Err(EncodeError::DumpPending),
            Some(Expect::Auth) => Err(EncodeError::AuthenticationPending),
            _ => Ok(()),
        }
    }

    /// Appends `command` to `out` and expects its reply.
    ///
    /// Checks every field first: on error nothing is written and nothing changes.
    /// `now` starts the inactivity timer if nothing was pending.
    ///
    /// ```
    /// use memcache_codec::Codec;
    /// use memcache_codec::command::Get;
    /// use bytes::BytesMut;
    ///
    /// let mut codec = Codec::new();
    /// let mut out = BytesMut::new();
    /// let token = codec.send(&Get::new("k"), &mut out, std::time::Instant::now())?;
    /// assert_eq!(&out[..], b"get k\r\n");
    /// assert_eq!(codec.pending(), 1);
    /// assert!(codec.send(&Get::new("bad key"), &mut out, std::time::Instant::now()).is_err());
    /// assert_eq!((&out[..], codec.pending()), (&b"get k\r\n"[..], 1));
    /// # let _ = token;
    /// # Ok::<(), memcache_codec::EncodeError>(())
    /// ```
    pub fn send<C: Command + ?Sized>(
        &mut self,
        command: &C,
        out: &mut BytesMut,
        now: Instant,
    ) -> Result<Token, EncodeError> {
        self.check_open()?;
        self.check_room(1)?;
        let was_idle = self.pending.is_empty();
        let token = self.push(command, out, self.config.auto_opaque)?;
        if was_idle {
            self.last_activity = Some(self.tick(now));
        }
        Ok(token)
    }

    fn check_room(&self, commands: usize) -> Result<(), EncodeError> {
        let limit = self.config.limits.max_pending;
        if self.pending.len().saturating_add(commands) > limit {
            return Err(EncodeError::TooManyPending { limit });
        }
        Ok(())
    }

    /// Writes and enqueues one command; on a refusal nothing is written and the
    /// deque is unchanged.
    #[inline]
    fn push<C: Command + ?Sized>(
        &mut self,
        command: &C,
        out: &mut BytesMut,
        auto_opaque: bool,
    ) -> Result<Token, EncodeError> {
        let written = out.len();
        let mut draft = self.pending.draft();
        let encoded = command.encode(&mut Writer {
            out,
            draft: &mut draft,
            limits: &self.config.limits,
            server: &self.server,
            auto_opaque,
            noreply: false,
        });
        match encoded.and_then(|encoded| draft.commit(encoded.0)) {
            Ok(token) => Ok(token),
            Err(e) => {
                out.truncate(written);
                Err(e)
            }
        }
    }

    /// Sends every `mg` of `gets` in quiet mode, then an `mn` fence, as one batch:
    /// hits come back as they are found, misses stay silent and complete as
    /// [inferred](crate::response::MetaResponse#structfield.inferred) misses when a later reply (at the
    /// latest the fence's `MN`) arrives.
    ///
    /// Each `mg` is sent with `q`; one without an opaque gets an automatic one
    /// (`O~<token number>`, see [`Config::auto_opaque`]; with that off, only those
    /// that have neither an opaque nor [`return_key`](MetaGet::return_key)), so every
    /// reply can be told apart. All or nothing: if any command is refused, nothing is
    /// written and the deque is unchanged.
    ///
    /// ```
    /// use memcache_codec::Codec;
    /// use memcache_codec::command::MetaGet;
    /// use bytes::BytesMut;
    ///
    /// let mut codec = Codec::new();
    /// let mut out = BytesMut::new();
    /// let gets = [MetaGet::new("a").return_value(), MetaGet::new("b").return_value()];
    /// let batch = codec.send_quiet_batch(&gets, &mut out, std::time::Instant::now())?;
    /// assert_eq!(&out[..], b"mg a v q O~0\r\nmg b v q O~1\r\nmn\r\n");
    /// assert_eq!(batch.len(), 2);
    /// # Ok::<(), memcache_codec::EncodeError>(())
    /// ```
    pub fn send_quiet_batch(
        &mut self,
        gets: &[MetaGet<'_>],
        out: &mut BytesMut,
        now: Instant,
    ) -> Result<QuietBatch, EncodeError> {
        self.check_open()?;
        self.check_room(gets.len().saturating_add(1))?;
        let was_idle = self.pending.is_empty();
        let (entries, written) = (self.pending.len(), out.len());
        let first = self.pending.next_token();
        for get in gets {
            // Untagged gets are told apart by an automatic opaque even when
            // `Config::auto_opaque` is off.
            let auto = self.config.auto_opaque || !get.is_tagged();
            if let Err(e) = self.push(&get.quiet(), out, auto) {
                self.pending.rollback(entries);
                out.truncate(written);
                return Err(e);
            }
        }
        let fence = self.push(&MetaNoop, out, false)?;
        if was_idle {
            self.last_activity = Some(self.tick(now));
        }
        Ok(QuietBatch {
            first,
            len: gets.len(),
            fence,
        })
    }

    /// Appends `command` with `noreply`: memcached normally sends nothing back, so
    /// nothing is pending and no token is returned.
    ///
    /// memcached 1.6.18 still answers some malformed noreply commands (a wrong token
    /// count gives `ERROR`; RESPONSES.md §6), and newer servers *may* send errors. The
    /// codec refuses malformed commands before writing them, and treats an error line
    /// that arrives after noreply commands as unattributable: it poisons rather than
    /// pair it with the wrong command. Safe pattern: after a noreply batch, send a
    /// fence (`mn`, or `version` for old servers) and wait for its reply before
    /// relying on the batch.
    pub fn send_noreply<C: NoreplyCommand + ?Sized>(
        &mut self,
        command: &C,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        self.check_open()?;
        let written = out.len();
        // No entry will check this command's reply: the draft is dropped.
        let mut draft = self.pending.draft();
        let encoded = command.encode(&mut Writer {
            out,
            draft: &mut draft,
            limits: &self.config.limits,
            server: &self.server,
            auto_opaque: self.config.auto_opaque,
            noreply: true,
        });
        drop(draft);
        if let Err(e) = encoded {
            out.truncate(written);
            return Err(e);
        }
        self.pending.note_noreply();
        Ok(())
    }

    /// Sends `version` and `stats settings`: the two replies make a
    /// [`ServerProfile`] ([`ServerProfile::from_replies`]) to give back with
    /// [`set_profile`](Self::set_profile).
    ///
    /// On a server that requires ASCII authentication (`-Y`), send
    /// [`Auth`](crate::command::Auth) first and wait for it: before that every command
    /// gets `CLIENT_ERROR unauthenticated`, which poisons the codec. (So
    /// `auth_enabled_ascii` is only ever learned as `yes` after authenticating.)
    ///
    /// ```
    /// use std::time::Instant;
    /// use bytes::BytesMut;
    /// use memcache_codec::{Codec, EncodeError};
    /// use memcache_codec::command::MetaGet;
    /// use memcache_codec::profile::{ServerProfile, ServerVersion};
    ///
    /// let mut codec = Codec::new();
    /// let mut out = BytesMut::new();
    /// let probe = codec.send_probe(&mut out, Instant::now())?;
    /// assert_eq!(&out[..], b"version\r\nstats settings\r\n");
    /// let mut input = BytesMut::from(&b"VERSION 1.6.18\r\nSTAT item_size_max 1048576\r\nEND\r\n"[..]);
    /// let version = codec.decode(&mut input, Instant::now())?.unwrap();
    /// let settings = codec.decode(&mut input, Instant::now())?.unwrap();
    /// assert_eq!((version.token, settings.token), (probe.version, probe.settings));
    /// let profile = ServerProfile::from_replies(&version.result?, &settings.result?)?;
    /// codec.set_profile(profile);
    ///
    /// // 1.6.18 ignores mg's C: relying on it would give wrong answers.
    /// let refused = codec.send(&MetaGet::new("k").return_value().compare_cas(7), &mut out, Instant::now());
    /// assert!(matches!(refused, Err(EncodeError::Unsupported { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_probe(&mut self, out: &mut BytesMut, now: Instant) -> Result<Probe, EncodeError> {
        self.check_open()?;
        self.check_room(2)?;
        let written = out.len();
        let version = self.send(&Version, out, now)?;
        match self.send(&Stats::arg("settings"), out, now) {
            Ok(settings) => Ok(Probe { version, settings }),
            Err(e) => {
                self.pending.rollback(self.pending.len() - 1);
                out.truncate(written);
                Err(e)
            }
        }
    }

    /// What the codec knows of the server from now on: commands the server cannot
    /// take are refused at `send` (see [`ServerProfile`]); its `item_size_max` caps
    /// the values sent and received ([`Limits::max_value_len`](crate::Limits), which
    /// only ever goes down: a lower limit of the caller's stays); its flag width
    /// decides whether flags above `u32::MAX` may be sent.
    pub fn set_profile(&mut self, profile: ServerProfile) {
        if let Some(max) = profile.item_size_max.and_then(|m| usize::try_from(m).ok()) {
            // A cap: a lower limit of the caller's stays.
            let limit = &mut self.config.limits.max_value_len;
            *limit = (*limit).min(max);
            self.receiver.set_limits(self.config.limits);
        }
        self.server = Server::of(Some(&profile), self.config.large_client_flags);
        self.profile = Some(profile);
    }

    /// Whether the newest pending command is quiet: its silence is only known once a
    /// later reply arrives, so until a command that always answers (`mn` is the
    /// cheapest) is sent after it, it cannot complete on success (on a miss, for
    /// `mg`), and the inactivity timeout would end the connection.
    ///
    /// The pattern: after a run of quiet commands, `if codec.needs_fence() { send mn }`
    /// before waiting. [`send_quiet_batch`](Self::send_quiet_batch) appends the `mn`
    /// itself.
    ///
    /// ```
    /// use memcache_codec::Codec;
    /// use memcache_codec::command::{MetaGet, MetaNoop};
    /// use bytes::BytesMut;
    /// use std::time::Instant;
    ///
    /// let (mut codec, mut out, now) = (Codec::new(), BytesMut::new(), Instant::now());
    /// codec.send(&MetaGet::new("k").return_value().quiet(), &mut out, now)?;
    /// assert!(codec.needs_fence());
    /// codec.send(&MetaNoop, &mut out, now)?;
    /// assert!(!codec.needs_fence());
    /// # Ok::<(), memcache_codec::EncodeError>(())
    /// ```
    pub fn needs_fence(&self) -> bool {
        self.pending.back().is_some_and(|e| e.is_quiet())
    }

    /// What the codec was told of the server, if anything.
    pub fn profile(&self) -> Option<&ServerProfile> {
        self.profile.as_ref()
    }

    /// Decodes what `buf` holds (the bytes read from the server, appended in order):
    /// the next completion, or `Ok(None)` when more bytes are needed. Call it until it
    /// returns `Ok(None)` after every read.
    ///
    /// Consumed bytes are removed from the front of `buf`; values come out as
    /// zero-copy [`Bytes`](bytes::Bytes) split off it. A partial line or data block
    /// stays in `buf`, and the next call resumes where this one stopped, without
    /// searching the same bytes again. Pass the same buffer every time and only
    /// append to it.
    ///
    /// `now` restarts the inactivity timer when `buf` holds bytes it had not seen.
    ///
    /// Once the codec is poisoned (bad server bytes, timeout, end of stream), each
    /// call returns one pending command completing with that error, then `Err` with
    /// the same error forever.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
    ) -> Result<Option<Completion>, ConnectionError> {
        let mut next = None;
        let result = self.run(buf, now, &mut |done| {
            next = Some(done);
            ControlFlow::Break(())
        });
        match (next, result) {
            (Some(done), _) => Ok(Some(done)),
            (None, result) => result.map(|()| None),
        }
    }

    /// Every completion `buf` holds, as an iterator: the idiomatic and the fast way to
    /// drain a read. It yields what [`decode`](Self::decode) would return one call at
    /// a time, but the bytes consumed leave `buf` once, when the iterator is dropped,
    /// not once per reply; it ends when more bytes are needed. Once the codec is
    /// poisoned it yields every pending command's failure (each completing with the
    /// error), then ends; [`poisoned`](Self::poisoned) tells the error. A `for` loop
    /// drains in batches; `for_each` (or `fold`, `count`) is the fastest, handing each
    /// completion straight from the state machine to the closure.
    ///
    /// ```
    /// use memcache_codec::Codec;
    /// use memcache_codec::command::Store;
    /// use bytes::BytesMut;
    /// # use std::time::Instant;
    ///
    /// let mut codec = Codec::new();
    /// let mut out = BytesMut::new();
    /// for key in ["a", "b", "c"] {
    ///     codec.send(&Store::set(key, "v"), &mut out, Instant::now())?;
    /// }
    /// let mut input = BytesMut::from(&b"STORED\r\nSTORED\r\nSTORED\r\n"[..]);
    /// let mut stored = 0;
    /// for done in codec.completions(&mut input, Instant::now()) {
    ///     stored += usize::from(done.result.is_ok());
    /// }
    /// assert_eq!((stored, input.len()), (3, 0));
    /// assert!(codec.poisoned().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Forgetting the iterator ([`std::mem::forget`]) leaves the consumed bytes in
    /// `buf`; the next call then poisons the codec with
    /// [`ConnectionError::BufferTruncated`] rather than read them twice.
    pub fn completions<'a>(&'a mut self, buf: &'a mut BytesMut, now: Instant) -> Completions<'a> {
        if buf.len() > self.buffered {
            self.last_activity = Some(self.tick(now));
        }
        self.requeue();
        let input = self.receiver.start(buf);
        Completions {
            codec: self,
            input: Some(input),
            dry: false,
        }
    }

    #[inline]
    fn run(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
        emit: &mut impl FnMut(Completion) -> ControlFlow<()>,
    ) -> Result<(), ConnectionError> {
        if buf.len() > self.buffered {
            self.last_activity = Some(self.tick(now));
        }
        self.requeue();
        let result = self.receiver.run(buf, &mut self.pending, emit);
        self.buffered = buf.len();
        result
    }
}

impl Codec {
    /// Completions a [`Completions`] iterator decided and did not hand out go back to
    /// the front of the receive side's queue, first in line for the next call.
    #[inline]
    fn requeue(&mut self) {
        if !self.batch.is_empty() {
            self.receiver.requeue(&mut self.batch);
        }
    }
}

/// The completions a read holds: see [`Codec::completions`].
///
/// In a `for` loop the state machine runs in batches of up to 32 completions,
/// kept in a buffer the codec reuses: one call into it per batch rather than per
/// completion. Internal iteration (`for_each`, `fold`, `count`) hands each completion
/// from the state machine straight to the closure. Completions decided but not yet
/// handed out when the iterator is dropped go back to the front of the codec's
/// queue, so the next call returns them first.
#[must_use = "an iterator does nothing until it is consumed"]
pub struct Completions<'a> {
    codec: &'a mut Codec,
    input: Option<Input<'a>>,
    /// The state machine needs more bytes (or is poisoned and drained): nothing
    /// after the batch.
    dry: bool,
}

/// Completions decided per call into the state machine.
const BATCH: usize = 32;

impl Iterator for Completions<'_> {
    type Item = Completion;

    #[inline]
    fn next(&mut self) -> Option<Completion> {
        if let Some(done) = self.codec.batch.pop_front() {
            return Some(done);
        }
        if self.dry {
            return None;
        }
        let input = self.input.as_mut()?;
        let batch = &mut self.codec.batch;
        let result = self
            .codec
            .receiver
            .resume(input, &mut self.codec.pending, &mut |done| {
                batch.push_back(done);
                if batch.len() == BATCH {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        // Poisoned: the error is the codec's state (`Codec::poisoned`), and every
        // pending command's failure is in the batch.
        self.dry = result.is_err() || self.codec.batch.len() < BATCH;
        self.codec.batch.pop_front()
    }

    /// The state machine hands each completion straight to `f`.
    #[inline]
    fn for_each<F>(mut self, mut f: F)
    where
        F: FnMut(Completion),
    {
        while let Some(done) = self.codec.batch.pop_front() {
            f(done);
        }
        if let (false, Some(input)) = (self.dry, self.input.as_mut()) {
            // An error means poisoned and drained: see `next`.
            let _ = self
                .codec
                .receiver
                .resume(input, &mut self.codec.pending, &mut |done| {
                    f(done);
                    ControlFlow::Continue(())
                });
            self.dry = true;
        }
    }

    #[inline]
    fn fold<B, F>(mut self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Completion) -> B,
    {
        let mut acc = init;
        while let Some(done) = self.codec.batch.pop_front() {
            acc = f(acc, done);
        }
        if let (false, Some(input)) = (self.dry, self.input.as_mut()) {
            let mut slot = Some(acc);
            // An error means poisoned and drained: see `next`.
            let _ = self
                .codec
                .receiver
                .resume(input, &mut self.codec.pending, &mut |done| {
                    if let Some(acc) = slot.take() {
                        slot = Some(f(acc, done));
                    }
                    ControlFlow::Continue(())
                });
            self.dry = true;
            match slot {
                Some(done) => acc = done,
                None => unreachable!("the accumulator is put back after each completion"),
            }
        }
        acc
    }
}

impl std::iter::FusedIterator for Completions<'_> {}

impl std::fmt::Debug for Completions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completions")
            .field("pending", &self.codec.pending())
            .field("decided", &self.codec.batch.len())
            .field("dry", &self.dry)
            .finish_non_exhaustive()
    }
}

impl Drop for Completions<'_> {
    fn drop(&mut self) {
        if let Some(input) = self.input.take() {
            self.codec.buffered = self.codec.receiver.finish(input);
        }
        // Decided but not handed out: first in line for the next call.
        self.codec.requeue();
    }
}

impl Codec {
    /// The caller read end of stream. Every pending command completes with
    /// [`ConnectionError::Closed`], except a pending `quit` or `shutdown`, which
    /// completes with [`Response::Closed`](crate::Response::Closed), and quiet
    /// commands sent just before it: the server answered everything before the
    /// `quit`, so their silence completes them with their
    /// [inferred](crate::response::MetaResponse#structfield.inferred) outcome. Decode what was
    /// read before calling this.
    ///
    /// ```
    /// use memcache_codec::{Codec, Response};
    /// use memcache_codec::command::{MetaSet, Quit};
    /// use memcache_codec::response::MetaStatus;
    /// use bytes::BytesMut;
    /// use std::time::Instant;
    ///
    /// let (mut codec, mut out, now) = (Codec::new(), BytesMut::new(), Instant::now());
    /// let set = codec.send(&MetaSet::new("k", "v").quiet(), &mut out, now)?;
    /// let quit = codec.send(&Quit, &mut out, now)?;
    /// codec.handle_eof();
    /// let stored = codec.decode(&mut BytesMut::new(), now)?.unwrap();
    /// assert_eq!(stored.token, set);
    /// assert!(matches!(stored.result, Ok(Response::Meta(m)) if m.status == MetaStatus::Success && m.inferred));
    /// let closed = codec.decode(&mut BytesMut::new(), now)?.unwrap();
    /// assert_eq!((closed.token, closed.result), (quit, Ok(Response::Closed)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_eof(&mut self) {
        self.receiver.end_of_stream(&mut self.pending);
    }

    /// The caller's connection failed (a reset, a failed write, ...). Like
    /// [`handle_eof`](Self::handle_eof), but pending commands complete with
    /// [`ConnectionError::Io`] carrying `kind`.
    pub fn handle_io_error(&mut self, kind: std::io::ErrorKind) {
        self.receiver.poison(ConnectionError::Io(kind));
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next: the
    /// inactivity deadline, if commands are pending and a timeout is configured.
    /// `None` while [watching](Self::is_watching): a log stream may be quiet for as
    /// long as nothing happens on the server.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.pending.is_empty() || self.receiver.poisoned().is_some() || self.is_watching() {
            return None;
        }
        self.last_activity?
            .checked_add(self.config.inactivity_timeout?)
    }

    /// The caller's clock reached `now`. If it is at or past the deadline, every
    /// pending command will complete with [`ConnectionError::Timeout`] and the codec
    /// is poisoned. Calling early, or again, changes nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.tick(now);
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.receiver.poison(ConnectionError::Timeout);
        }
    }

    /// Gives up on a pending command: it will not complete. Its reply is still read
    /// (memcached answers in order) and dropped. Returns false if `token` is not
    /// pending (already completed, cancelled, or never sent).
    pub fn cancel(&mut self, token: Token) -> bool {
        self.pending.cancel(token)
    }

    /// Commands waiting for a reply, cancelled ones included. A [`Watch`](crate::command::Watch)
    /// counts until its final completion.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether a [`Watch`](crate::command::Watch) got its `OK`: the connection is a log stream,
    /// every further completion is a log line of the watch (until the connection
    /// ends), `send` refuses, and there is no inactivity deadline.
    pub fn is_watching(&self) -> bool {
        self.receiver.poisoned().is_none()
            && self
                .pending
                .get(0)
                .is_some_and(|e| e.expect() == Expect::Log)
    }

    /// The error the codec is poisoned with, if it is: from then on every pending
    /// command fails with it once and every call returns it.
    pub fn poisoned(&self) -> Option<&ConnectionError> {
        self.receiver.poisoned()
    }

    /// While a data block is being received, the buffer length at which it will be
    /// complete: an adapter can reserve that much once instead of growing the buffer
    /// read by read.
    pub fn min_buffer_len(&self) -> Option<usize> {
        self.receiver.wanted()
    }

    /// Bytes searched for line ends, plus data-block terminators checked, since the
    /// codec was made. Data blocks are never searched, and no byte is searched twice.
    /// A test hook (the tests and fuzzers check that claim with it), not part of the
    /// supported API.
    #[doc(hidden)]
    pub fn bytes_examined(&self) -> u64 {
        self.receiver.examined()
    }
}

/// The tokens of a [`Codec::send_quiet_batch`]: one per `mg`, in order, then the fence's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietBatch {
    first: u64,
    len: usize,
    fence: Token,
}

impl QuietBatch {
    /// The `mg` tokens, in the order of the batch.
    pub fn tokens(&self) -> impl DoubleEndedIterator<Item = Token> + use<> {
        (self.first..self.first + self.len as u64).map(Token)
    }

    /// The token of the batch's `i`th `mg`.
    pub fn token(&self, i: usize) -> Option<Token> {
        (i < self.len).then(|| Token(self.first + i as u64))
    }

    /// How many `mg`s the batch holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a batch of no `mg` (just the fence).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The token of the closing `mn`: when it completes, every `mg` of the batch has.
    pub fn fence(&self) -> Token {
        self.fence
    }
}
