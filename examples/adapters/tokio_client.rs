//! A tokio memcached client: one task owns the connection, callers await one future
//! per command.
//!
//! `examples/tokio.rs` and the live tests (`tests/live`) include this file with
//! `#[path]`.
//!
//! * The codec, the bytes waiting to be written and the callers' reply channels sit in
//!   one mutex, never held across an `.await`. [`Client::send`] encodes under it (so
//!   borrowed commands need no copying), registers a oneshot channel under the
//!   command's [`Token`], and wakes the task.
//! * The task owns the socket. It writes what callers encoded, reads replies through a
//!   `tokio_util::codec::Decoder` that is `Codec::decode(src, Instant::now())`, and
//!   hands each completion to the channel registered under its token. It sleeps until
//!   [`Codec::poll_timeout`] and then reports [`Codec::handle_timeout`].
//! * Dropping a [`Reply`] before it resolves is [`Codec::cancel`]: the reply is still
//!   read, in order, and dropped.
//! * When the connection ends (end of stream, I/O error, timeout, protocol error),
//!   every command still waiting completes once with a
//!   [`ConnectionError`](memcache_codec::ConnectionError), and later sends fail with
//!   [`EncodeError::Poisoned`]. The task stops when the connection ends or when every
//!   `Client` and `Reply` is gone.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_util::StreamExt;
use memcache_codec::command::{Command, MetaGet, NoreplyCommand};
use memcache_codec::{
    Codec, CommandError, Completion, Config, ConnectionError, EncodeError, Response, Token,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::codec::{Decoder, FramedRead};

/// What a command completes with.
pub(crate) type Outcome = Result<Response, CommandError>;

/// A handle to one connection. Clones share it; commands sent from any clone are
/// pipelined on the one socket.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    shared: Arc<Shared>,
    /// Dropped with the last `Client` and `Reply`: the task then stops.
    alive: mpsc::Sender<()>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the task: there are bytes to write.
    wake: Notify,
}

#[derive(Debug)]
struct State {
    codec: Codec,
    /// Commands encoded and not yet taken by the task.
    out: BytesMut,
    /// Who waits for which command.
    waiters: HashMap<Token, oneshot::Sender<Outcome>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deliver(&self, completion: Completion) {
        if let Some(waiter) = self.lock().waiters.remove(&completion.token) {
            let _ = waiter.send(completion.result); // the caller may have just given up
        }
    }

    /// The connection is over: fail every pending command once (with the codec's own
    /// error if it has one, else `Closed`).
    fn fail_pending(&self) {
        let mut state = self.lock();
        if state.codec.poisoned().is_none() {
            state.codec.handle_eof();
        }
        let mut nothing = BytesMut::new();
        while let Ok(Some(completion)) = state.codec.decode(&mut nothing, Instant::now()) {
            if let Some(waiter) = state.waiters.remove(&completion.token) {
                let _ = waiter.send(completion.result);
            }
        }
    }
}

impl Client {
    /// Connects and starts the connection task on the current runtime.
    pub(crate) async fn connect(addr: impl ToSocketAddrs, config: Config) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                codec: Codec::with_config(config),
                out: BytesMut::new(),
                waiters: HashMap::new(),
            }),
            wake: Notify::new(),
        });
        let (alive, gone) = mpsc::channel(1);
        tokio::spawn(run(Arc::clone(&shared), stream, gone));
        Ok(Self { shared, alive })
    }

    /// Encodes `command` and returns the future of its result. Nothing is sent if it
    /// is refused.
    pub(crate) fn send<C: Command + ?Sized>(&self, command: &C) -> Result<Reply, EncodeError> {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let token = state.codec.send(command, &mut state.out, Instant::now())?;
        let reply = self.register(state, token);
        drop(guard);
        self.shared.wake.notify_one();
        Ok(reply)
    }

    /// Encodes `command` with `noreply`. Follow a batch with a fence (`MetaNoop`).
    pub(crate) fn send_noreply<C: NoreplyCommand + ?Sized>(
        &self,
        command: &C,
    ) -> Result<(), EncodeError> {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        state.codec.send_noreply(command, &mut state.out)?;
        drop(guard);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Quiet `mg`s and their `mn` fence ([`Codec::send_quiet_batch`]): one future
    /// per `mg`, and the fence's.
    pub(crate) fn send_quiet_batch(
        &self,
        gets: &[MetaGet<'_>],
    ) -> Result<(Vec<Reply>, Reply), EncodeError> {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let batch = state
            .codec
            .send_quiet_batch(gets, &mut state.out, Instant::now())?;
        let gets = batch.tokens().map(|t| self.register(state, t)).collect();
        let fence = self.register(state, batch.fence());
        drop(guard);
        self.shared.wake.notify_one();
        Ok((gets, fence))
    }

    /// Sends `command` and awaits its result. The outer error means nothing was sent.
    pub(crate) async fn call<C: Command + ?Sized>(
        &self,
        command: &C,
    ) -> Result<Outcome, EncodeError> {
        Ok(self.send(command)?.await)
    }

    fn register(&self, state: &mut State, token: Token) -> Reply {
        let (tx, rx) = oneshot::channel();
        state.waiters.insert(token, tx);
        Reply {
            token,
            rx,
            shared: Arc::clone(&self.shared),
            _alive: self.alive.clone(),
            finished: false,
        }
    }
}

/// The future result of one command. Dropping it unresolved cancels the command.
#[must_use = "dropping a Reply cancels its command"]
#[derive(Debug)]
pub(crate) struct Reply {
    token: Token,
    rx: oneshot::Receiver<Outcome>,
    shared: Arc<Shared>,
    _alive: mpsc::Sender<()>,
    finished: bool,
}

impl Reply {
    /// The command's token.
    pub(crate) fn token(&self) -> Token {
        self.token
    }
}

impl Future for Reply {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let outcome = ready!(Pin::new(&mut self.rx).poll(cx));
        self.finished = true;
        // A dropped sender means the task ended without a completion for us.
        Poll::Ready(outcome.unwrap_or(Err(ConnectionError::Closed.into())))
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !self.finished {
            let mut state = self.shared.lock();
            if state.waiters.remove(&self.token).is_some() {
                state.codec.cancel(self.token);
            }
        }
    }
}

/// The read half's decoder: the codec, locked for each call.
struct Replies {
    shared: Arc<Shared>,
}

impl Decoder for Replies {
    type Item = Completion;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Completion>> {
        let mut state = self.shared.lock();
        let next = state.codec.decode(src, Instant::now())?;
        if next.is_none() {
            // A data block announces its size: make room for it once.
            let want = state.codec.min_buffer_len().unwrap_or(0);
            src.reserve(want.saturating_sub(src.len()));
        }
        Ok(next)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<Completion>> {
        if let Some(completion) = self.decode(src)? {
            return Ok(Some(completion));
        }
        let mut state = self.shared.lock();
        if state.codec.pending() == 0 {
            return Ok(None);
        }
        // Each pending command completes with `Closed` (a `quit` with `Closed` too).
        state.codec.handle_eof();
        Ok(state.codec.decode(src, Instant::now()).ok().flatten())
    }
}

/// The connection task.
async fn run(shared: Arc<Shared>, stream: TcpStream, mut gone: mpsc::Receiver<()>) {
    let (read, mut write) = stream.into_split();
    let mut replies = FramedRead::new(
        read,
        Replies {
            shared: Arc::clone(&shared),
        },
    );
    let mut outgoing = BytesMut::new();
    loop {
        let deadline = {
            let mut state = shared.lock();
            if outgoing.is_empty() {
                outgoing = state.out.split();
            }
            state.codec.poll_timeout()
        };
        let sleep_until = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            reply = replies.next() => match reply {
                Some(Ok(completion)) => shared.deliver(completion),
                // End of stream (decode_eof failed what was pending), an I/O error, or
                // a poisoned codec with nothing left to fail.
                Some(Err(_)) | None => break,
            },
            written = write.write_buf(&mut outgoing), if !outgoing.is_empty() => {
                if !matches!(written, Ok(n) if n > 0) {
                    break;
                }
            }
            () = shared.wake.notified(), if outgoing.is_empty() => {}
            () = tokio::time::sleep_until(sleep_until.into()), if deadline.is_some() => {
                let mut state = shared.lock();
                state.codec.handle_timeout(Instant::now());
                if state.codec.poisoned().is_some() {
                    break;
                }
            }
            _ = gone.recv() => break, // every Client and Reply is gone
        }
    }
    shared.fail_pending();
}
