//! The connection: its I/O half ([`Conn`]: the stream, the bytes being written,
//! the bytes read and not decoded) and the task that drives it: it writes what
//! callers encoded, reads and decodes replies and hands each completion to its
//! slot, runs the codec's inactivity timer, and reconnects when a caller asks.
//!
//! One poll of the task, while connected, does until nothing moves (or 16 rounds,
//! then it yields):
//!
//! 1. take every byte callers encoded (one swap of two buffers, under the lock);
//! 2. write them (`poll_write` until `Pending`), then flush (TLS buffers records);
//! 3. read once into the spare room of the read buffer and decode everything it
//!    completes (`Codec::completions`, under the lock), waking each command's future;
//! 4. arm the timer at `Codec::poll_timeout`; when it fires, `Codec::handle_timeout`.
//!
//! The [`Conn`] sits in the shared state between polls. A caller alone on an idle
//! connection takes it for the length of its own poll and does steps 1 to 3
//! itself (see `Shared::submit`): its reply then wakes it directly, with no hop
//! through the task. Whoever polled the stream last is the one its readiness
//! wakes, so a caller whose reply is in hands the registration back to the task
//! (it polls the stream once more with the task's waker); a caller still waiting
//! reads again only while its command is the only one in flight (a command sent
//! since woke the task, which reads for all of them); and a caller that finds
//! the task waiting for the connection wakes it when it puts it back.
//!
//! End of stream, an I/O error, a protocol error or a timeout poison the codec:
//! every command still pending completes once with that error, the link goes down,
//! and the next caller's command makes the task connect again.

use std::future::poll_fn;
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWrite;
use tokio::time::Sleep;

use crate::connect::{Connect, within};
use crate::error::Error;
use crate::shared::{Link, Shared, State, now};
use crate::watch::Io;

/// Room made for one read when no data block is being received.
const READ_ROOM: usize = 64 * 1024;
/// Rounds of one poll before the task yields to the runtime.
const ROUNDS: usize = 16;

/// Runs the connection: `stream` is the first one (already connected and in the
/// shared state), if any.
pub(crate) async fn run<C: Connect>(
    shared: Arc<Shared>,
    connector: Option<Arc<C>>,
    connect_timeout: Option<Duration>,
) {
    let mut driver = Driver::default();
    loop {
        if shared.lock().link == Link::Up {
            let end = poll_fn(|cx| driver.poll(cx, &shared)).await;
            driver.reset();
            if end == End::Closed {
                return;
            }
        }
        // Down: wait until a caller wants a connection, or every client is gone.
        if !poll_fn(|cx| shared.poll_demand(cx)).await {
            return;
        }
        let Some(connector) = connector.as_ref() else {
            return; // callers never ask for one without a connector
        };
        match within(connect_timeout, connector.connect()).await {
            Ok(io) => shared.connected(Ok(Box::new(io))),
            Err(e) => shared.connected(Err(e)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The connection was lost; the task may connect again.
    Lost,
    /// Every client is gone and everything encoded was written.
    Closed,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loss {
    Eof,
    Io(ErrorKind),
    /// The codec poisoned itself (protocol error, timeout): already drained.
    Poisoned,
    /// Not the current connection any more (it was lost meanwhile): nothing to do.
    Stale,
}

/// What one read did.
#[derive(Debug)]
pub(crate) enum Read {
    /// No bytes: the reader is registered for the next ones.
    Nothing,
    /// Bytes, decoded.
    Decoded,
    /// Bytes, decoded, and among them the final completion of the polled slot;
    /// with the task's waker (to hand the connection back to).
    Finished(Option<Waker>),
}

/// The I/O half of one connection.
pub(crate) struct Conn {
    io: Box<dyn Io>,
    /// Which connection this is: [`State::generation`] when it was made.
    pub(crate) generation: u64,
    /// Bytes being written: swapped with the shared output buffer when empty.
    writing: BytesMut,
    /// A write happened since the last flush.
    unflushed: bool,
    /// Bytes read and not decoded yet.
    input: BytesMut,
    /// The buffer length the data block being received needs.
    want: Option<usize>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("generation", &self.generation)
            .field("writing", &self.writing.len())
            .field("input", &self.input.len())
            .finish_non_exhaustive()
    }
}

impl Conn {
    pub(crate) fn new(io: Box<dyn Io>, generation: u64) -> Box<Self> {
        Box::new(Self {
            io,
            generation,
            writing: BytesMut::new(),
            unflushed: false,
            input: BytesMut::new(),
            want: None,
        })
    }

    /// Takes what callers encoded, once the last write is done (under the lock).
    pub(crate) fn take_out(&mut self, state: &mut State, wakers: &mut Vec<Waker>) {
        if self.writing.is_empty() && !state.out.is_empty() {
            std::mem::swap(&mut self.writing, &mut state.out);
            // Room again for callers waiting on a full output buffer.
            wakers.append(&mut state.waiting);
        }
    }

    /// Everything taken was written and flushed.
    pub(crate) fn is_idle(&self) -> bool {
        self.writing.is_empty() && !self.unflushed
    }

    /// Writes until done or `Pending`, then flushes.
    pub(crate) fn write(&mut self, cx: &mut Context<'_>) -> Result<(), Loss> {
        while !self.writing.is_empty() {
            match Pin::new(&mut self.io).poll_write(cx, &self.writing) {
                Poll::Ready(Ok(0)) => return Err(Loss::Io(ErrorKind::WriteZero)),
                // No new round for a write: callers that encode more wake the
                // task, a partial write is Pending, and the round after one
                // finishes takes what waited behind it.
                Poll::Ready(Ok(n)) => {
                    self.writing.advance(n);
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return Err(Loss::Io(e.kind())),
                Poll::Pending => break,
            }
        }
        if self.unflushed {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Err(Loss::Io(e.kind())),
                Poll::Pending => {}
            }
        }
        Ok(())
    }

    /// Reads once and decodes all it completes, collecting the wakers of the
    /// completed commands' futures (except slot `polled`'s: its future is the one
    /// polling).
    pub(crate) fn read(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Shared,
        wakers: &mut Vec<Waker>,
        polled: Option<u64>,
    ) -> Result<Read, Loss> {
        let room = self.want.map_or(READ_ROOM, |want| {
            want.saturating_sub(self.input.len()).max(READ_ROOM)
        });
        if self.input.capacity() - self.input.len() < room / 4 {
            self.input.reserve(room);
        }
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.input) {
            Poll::Ready(Ok(0)) => Err(Loss::Eof),
            Poll::Ready(Ok(_)) => self.decode(shared, wakers, polled),
            Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => Ok(Read::Decoded),
            Poll::Ready(Err(e)) => Err(Loss::Io(e.kind())),
            Poll::Pending => Ok(Read::Nothing),
        }
    }

    /// Decodes what was read; `Err` once the codec is poisoned (every pending
    /// command has then completed with the error).
    fn decode(
        &mut self,
        shared: &Shared,
        wakers: &mut Vec<Waker>,
        polled: Option<u64>,
    ) -> Result<Read, Loss> {
        let mut state = shared.lock();
        if !state.is_current(self.generation) {
            return Err(Loss::Stale);
        }
        let now = now();
        state.clock = now;
        let State {
            codec,
            slots,
            base,
            waiting,
            task,
            ..
        } = &mut *state;
        let base = *base;
        let mut read = Read::Decoded;
        // A poisoned codec's failures are among the completions: the poison is
        // checked below.
        codec
            .completions(&mut self.input, now)
            .for_each(|completion| {
                let id = base + completion.token.index();
                let last = completion.is_final();
                let waker = slots.complete(base, completion);
                if Some(id) == polled {
                    // Waking the future being polled would only poll it again (and
                    // make a current-thread runtime check for I/O first).
                    if last {
                        read = Read::Finished(task.clone());
                    }
                } else if let Some(waker) = waker {
                    wakers.push(waker);
                }
            });
        self.want = codec.min_buffer_len();
        // Callers waiting for room under the pending limit.
        wakers.append(waiting);
        if codec.poisoned().is_some() {
            return Err(Loss::Poisoned);
        }
        Ok(read)
    }
}

/// The connection `conn` is over (unless it is not the current one any more):
/// every pending command completes with the error, the link goes down. Wakes the
/// futures of the failed commands and the task (which learns of it so).
pub(crate) fn lose(shared: &Shared, mut conn: Box<Conn>, loss: Loss) -> End {
    let mut wakers = Vec::new();
    let mut state = shared.lock();
    let end = if state.closed { End::Closed } else { End::Lost };
    if matches!(loss, Loss::Stale) || !state.is_current(conn.generation) {
        return end;
    }
    match loss {
        Loss::Eof => state.codec.handle_eof(),
        Loss::Io(kind) => state.codec.handle_io_error(kind),
        Loss::Poisoned | Loss::Stale => {}
    }
    let now = now();
    let State {
        codec,
        slots,
        base,
        out,
        waiting,
        ..
    } = &mut *state;
    let base = *base;
    codec
        .completions(&mut conn.input, now)
        .for_each(|completion| {
            wakers.extend(slots.complete(base, completion));
        });
    let error = codec
        .poisoned()
        .cloned()
        .unwrap_or(memcache_codec::ConnectionError::Closed);
    // Encoded for this connection: those commands just failed with it.
    out.clear();
    wakers.append(waiting);
    state.link = Link::Down;
    state.conn = None;
    state.timer_armed = false;
    state.last_error = Some(Error::Connection(error));
    wakers.extend(state.wake_task());
    drop(state);
    drop(conn);
    wakers.into_iter().for_each(Waker::wake);
    end
}

/// The task's own state, kept across connections: the inactivity timer and the
/// wakers to wake once the lock is released.
#[derive(Default)]
struct Driver {
    wakers: Vec<Waker>,
    /// The inactivity timer and the instant it is armed for.
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
}

impl Driver {
    fn reset(&mut self) {
        self.armed = None;
    }

    /// Takes the connection from the shared state, drives it, and puts it back.
    fn poll(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<End> {
        let mut conn = {
            let mut state = shared.lock();
            state.register_task(cx.waker());
            if state.link != Link::Up {
                // Lost while a caller drove it: everything is failed already.
                return Poll::Ready(if state.closed { End::Closed } else { End::Lost });
            }
            match state.conn.take() {
                Some(conn) => conn,
                None => {
                    // A caller is driving it, for the length of its poll: it wakes
                    // the task when it puts it back.
                    state.conn_wanted = true;
                    return Poll::Pending;
                }
            }
        };
        let poll = self.drive(cx, shared, &mut conn);
        match poll {
            Poll::Pending => {
                let mut state = shared.lock();
                state.timer_armed = self.armed.is_some();
                state.conn_wanted = false;
                state.conn = Some(conn);
                Poll::Pending
            }
            Poll::Ready(Ok(end)) => Poll::Ready(end),
            Poll::Ready(Err(loss)) => Poll::Ready(lose(shared, conn, loss)),
        }
    }

    fn drive(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Shared,
        conn: &mut Conn,
    ) -> Poll<Result<End, Loss>> {
        for _ in 0..ROUNDS {
            let mut progress = false;

            // 1. Take what callers encoded; learn the deadline; stop once closed.
            // A write left unfinished by an earlier poll holds back what callers
            // encoded since: once it is done, another round takes that.
            let carried = !conn.is_idle();
            let deadline = {
                let mut state = shared.lock();
                state.register_task(cx.waker());
                conn.take_out(&mut state, &mut self.wakers);
                if state.closed && conn.is_idle() {
                    return Poll::Ready(Ok(End::Closed));
                }
                state.codec.poll_timeout()
            };
            self.wake();

            // 2. Write and flush; 3. read once, decode all it completes.
            if let Err(loss) = conn.write(cx) {
                return Poll::Ready(Err(loss));
            }
            progress |= carried && conn.is_idle();
            let read = conn.read(cx, shared, &mut self.wakers, None);
            self.wake();
            match read {
                Ok(Read::Nothing) => {}
                Ok(_) => progress = true,
                Err(loss) => return Poll::Ready(Err(loss)),
            }

            // 4. The inactivity timer. Deadlines only move later while a codec
            // lives, so the timer is re-armed only when it fires early.
            if let Some(deadline) = deadline {
                if self.armed.is_none_or(|armed| deadline < armed) {
                    let at = tokio::time::Instant::from_std(deadline);
                    match &mut self.sleep {
                        Some(sleep) => sleep.as_mut().reset(at),
                        None => self.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
                    }
                    self.armed = Some(deadline);
                }
            }
            if self.armed.is_some() {
                let sleep = self.sleep.as_mut().expect("armed");
                if sleep.as_mut().poll(cx).is_ready() {
                    self.armed = None;
                    progress = true;
                    let mut state = shared.lock();
                    state.codec.handle_timeout(now());
                    if state.codec.poisoned().is_some() {
                        return Poll::Ready(Err(Loss::Poisoned));
                    }
                }
            }

            if !progress {
                return Poll::Pending;
            }
        }
        // Let other tasks run; come back at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn wake(&mut self) {
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
    }
}
