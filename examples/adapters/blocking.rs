//! A blocking memcached client: the crate documentation's drive loop packaged as one
//! small type, over a `std::net::TcpStream` (or any [`Transport`]).
//!
//! `examples/blocking.rs`, `examples/demo.rs` and the live tests (`tests/live`) include
//! this file with `#[path]`, so the tests exercise exactly the adapter the examples show.
//!
//! * [`BlockingClient::send`] only encodes into the output buffer. Bytes go out on
//!   [`flush`](BlockingClient::flush), or before the client waits for a reply, so
//!   commands sent back to back leave in one write: that is all pipelining takes.
//! * [`recv`](BlockingClient::recv) returns completions in send order;
//!   [`wait`](BlockingClient::wait) returns one command's result and keeps the others
//!   for later.
//! * Before every read the socket's read timeout is set from [`Codec::poll_timeout`];
//!   a read that times out is reported with [`Codec::handle_timeout`].
//! * End of stream is reported with [`Codec::handle_eof`], a reset or a failed write
//!   with [`Codec::handle_io_error`]: every pending command then completes exactly
//!   once, with a
//!   [`ConnectionError`](memcache_codec::ConnectionError), and the codec is poisoned. A
//!   poisoned client is not reused: connect a new one.
//!
//! Keep what is in flight well under the socket buffers (a few hundred KiB): the client
//! writes everything before it reads, so a server that stops reading because its
//! replies go unread would block the write until the write timeout.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use memcache_codec::command::{Command, MetaGet, NoreplyCommand, QuietBatch};
use memcache_codec::profile::ServerProfile;
use memcache_codec::{Codec, CommandError, Completion, Config, EncodeError, Response, Token};

/// Room given to one `read` when no data block is being received.
const READ_CHUNK: usize = 16 * 1024;
/// The most room given to one `read`: a large value arrives over several reads, and
/// this bounds how much of the buffer is zeroed for each.
const MAX_READ: usize = 256 * 1024;

/// A byte stream the client can drive: `Read + Write` with a read timeout.
pub(crate) trait Transport: Read + Write {
    /// Like [`TcpStream::set_read_timeout`]: a read waits at most `timeout` (forever if
    /// `None`), then fails with `WouldBlock` or `TimedOut`.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        Self::set_read_timeout(self, timeout)
    }
}

/// One connection to memcached: the stream, the codec, and both buffers.
#[derive(Debug)]
pub(crate) struct BlockingClient<S = TcpStream> {
    stream: S,
    codec: Codec,
    /// Encoded commands not written yet.
    out: BytesMut,
    /// Bytes read and not decoded yet.
    input: BytesMut,
    /// Completions read while waiting for another command's, in send order.
    done: VecDeque<Completion>,
    /// The I/O error that ended the connection, if one did.
    io_error: Option<io::Error>,
}

impl BlockingClient<TcpStream> {
    /// Connects over TCP. The codec's inactivity timeout also bounds every write.
    pub(crate) fn connect(addr: impl ToSocketAddrs, config: Config) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(config.inactivity_timeout)?;
        Ok(Self::new(stream, config))
    }
}

impl<S: Transport> BlockingClient<S> {
    /// A client over an established stream.
    pub(crate) fn new(stream: S, config: Config) -> Self {
        Self {
            stream,
            codec: Codec::with_config(config),
            out: BytesMut::new(),
            input: BytesMut::with_capacity(READ_CHUNK),
            done: VecDeque::new(),
            io_error: None,
        }
    }

    /// Encodes `command`; it is written with the next flush. On error nothing is sent.
    pub(crate) fn send<C: Command + ?Sized>(&mut self, command: &C) -> Result<Token, EncodeError> {
        self.codec.send(command, &mut self.out, Instant::now())
    }

    /// Encodes `command` with `noreply`: no completion will come. Follow a batch of
    /// these with a fence (`MetaNoop`, or `Version`) and wait for it.
    pub(crate) fn send_noreply<C: NoreplyCommand + ?Sized>(
        &mut self,
        command: &C,
    ) -> Result<(), EncodeError> {
        self.codec.send_noreply(command, &mut self.out)
    }

    /// Encodes quiet `mg`s and their `mn` fence ([`Codec::send_quiet_batch`]).
    pub(crate) fn send_quiet_batch(
        &mut self,
        gets: &[MetaGet<'_>],
    ) -> Result<QuietBatch, EncodeError> {
        self.codec
            .send_quiet_batch(gets, &mut self.out, Instant::now())
    }

    /// Sends `command` and waits for its result. The outer error means nothing was
    /// sent; the inner one is memcached's error line or the connection's failure.
    pub(crate) fn call<C: Command + ?Sized>(
        &mut self,
        command: &C,
    ) -> Result<Result<Response, CommandError>, EncodeError> {
        let token = self.send(command)?;
        Ok(self.wait(token))
    }

    /// Asks the server its version and settings ([`Codec::send_probe`]) and gives
    /// the codec the profile they make, so it refuses what the server cannot take.
    pub(crate) fn probe(&mut self) -> io::Result<ServerProfile> {
        let probe = self.codec.send_probe(&mut self.out, Instant::now())?;
        let version = self.wait(probe.version)?;
        let settings = self.wait(probe.settings)?;
        let profile = ServerProfile::from_replies(&version, &settings)
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
        self.codec.set_profile(profile.clone());
        Ok(profile)
    }

    /// Writes every encoded command. A failed write ends the connection: pending
    /// commands will complete with a connection error.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => return Err(self.fail(ErrorKind::WriteZero.into())),
                Ok(n) => self.out.advance(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
        self.stream.flush().map_err(|e| self.fail(e))
    }

    /// The next completion in send order, reading as needed; `None` once nothing is
    /// pending.
    pub(crate) fn recv(&mut self) -> Option<Completion> {
        self.done.pop_front().or_else(|| self.next_completion())
    }

    /// The result of the command sent as `token`. Completions of other commands that
    /// arrive first are kept for [`recv`](Self::recv) and later `wait`s.
    ///
    /// # Panics
    ///
    /// If `token` will never complete: cancelled, already received, or not this
    /// client's.
    pub(crate) fn wait(&mut self, token: Token) -> Result<Response, CommandError> {
        if let Some(i) = self.done.iter().position(|c| c.token == token) {
            return self.done.remove(i).expect("found above").result;
        }
        while let Some(completion) = self.next_completion() {
            if completion.token == token {
                return completion.result;
            }
            self.done.push_back(completion);
        }
        panic!("{token:?} is not pending: cancelled, already received, or another client's")
    }

    /// Gives up on a pending command ([`Codec::cancel`]).
    pub(crate) fn cancel(&mut self, token: Token) -> bool {
        self.codec.cancel(token)
    }

    /// The codec, to read its state (`pending`, `error`, ...).
    pub(crate) fn codec(&self) -> &Codec {
        &self.codec
    }

    /// The I/O error that ended the connection, if one did (the commands themselves
    /// complete with [`ConnectionError::Io`](memcache_codec::ConnectionError::Io)
    /// carrying its kind, or [`Timeout`](memcache_codec::ConnectionError::Timeout)).
    pub(crate) fn io_error(&self) -> Option<&io::Error> {
        self.io_error.as_ref()
    }

    /// The stream.
    pub(crate) fn stream(&self) -> &S {
        &self.stream
    }

    /// Decodes the next completion, reading until one is complete.
    fn next_completion(&mut self) -> Option<Completion> {
        if !self.out.is_empty() {
            // A failed write poisons the codec; the completions below report it.
            let _ = self.flush();
        }
        loop {
            match self.codec.decode(&mut self.input, Instant::now()) {
                Ok(Some(completion)) => return Some(completion),
                Ok(None) if self.codec.pending() > 0 => self.fill(),
                // Nothing pending (or only cancelled commands), or poisoned and drained.
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// One read into `input`, bounded by the codec's deadline.
    fn fill(&mut self) {
        let timeout = self.codec.poll_timeout().map(|deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            left.max(Duration::from_millis(1)) // zero would mean "no timeout"
        });
        if let Err(e) = self.stream.set_read_timeout(timeout) {
            self.fail(e);
            return;
        }
        // A data block announces its size: reserve it once instead of read by read.
        let start = self.input.len();
        let want = self
            .codec
            .min_buffer_len()
            .unwrap_or(0)
            .max(start + READ_CHUNK);
        self.input.reserve(want - start);
        self.input.resize(want.min(start + MAX_READ), 0);
        let result = self.stream.read(&mut self.input[start..]);
        self.input.truncate(start + *result.as_ref().unwrap_or(&0));
        match result {
            Ok(0) => self.codec.handle_eof(),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // Early wake-ups change nothing; past the deadline this fails everything.
                self.codec.handle_timeout(Instant::now());
            }
            Err(e) => {
                self.fail(e);
            }
        }
    }

    /// Ends the connection after an I/O error: pending commands will complete with a
    /// connection error. Returns a copy of the error for the caller.
    fn fail(&mut self, error: io::Error) -> io::Error {
        let copy = io::Error::new(error.kind(), error.to_string());
        if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
            // A write that timed out: the server has not read for the whole timeout.
            self.codec.handle_timeout(Instant::now());
        }
        if self.codec.poisoned().is_none() {
            self.codec.handle_io_error(error.kind());
        }
        self.out.clear();
        self.io_error = Some(error);
        copy
    }
}
