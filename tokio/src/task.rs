//! The connection task: it owns the stream, writes what callers encoded, reads and
//! decodes replies and hands each completion to its slot, runs the codec's
//! inactivity timer, and reconnects when a caller asks.
//!
//! One poll of a connected task does, until nothing moves (or 16 rounds, then it
//! yields):
//!
//! 1. take every byte callers encoded (one swap of two buffers, under the lock);
//! 2. write them (`poll_write` until `Pending`), then flush (TLS buffers records);
//! 3. read once into the spare room of the read buffer and decode everything it
//!    completes (`Codec::completions`, under the lock), waking each command's future;
//! 4. arm the timer at `Codec::poll_timeout`; when it fires, `Codec::handle_timeout`.
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
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use crate::connect::Connect;
use crate::error::Error;
use crate::shared::{Link, Shared, State, now};

/// Room made for one read when no data block is being received.
const READ_ROOM: usize = 64 * 1024;
/// Rounds of one poll before the task yields to the runtime.
const ROUNDS: usize = 16;

/// Runs the connection: `stream` is the first one (already connected), if any.
pub(crate) async fn run<C: Connect>(
    shared: Arc<Shared>,
    connector: Option<Arc<C>>,
    mut stream: Option<C::Stream>,
    connect_timeout: Option<Duration>,
) {
    let mut driver = Driver::default();
    loop {
        if let Some(io) = stream.as_mut() {
            let end = poll_fn(|cx| driver.poll(cx, &shared, Pin::new(&mut *io))).await;
            stream = None;
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
        match crate::connect::within(connect_timeout, connector.connect()).await {
            Ok(io) => {
                shared.connected(Ok(()));
                stream = Some(io);
            }
            Err(e) => shared.connected(Err(e)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The connection was lost; the task may connect again.
    Lost,
    /// Every client is gone and everything encoded was written.
    Closed,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy)]
enum Loss {
    Eof,
    Io(ErrorKind),
    /// The codec poisoned itself (protocol error, timeout): already drained.
    Poisoned,
}

/// The task's own buffers and timer, kept across connections.
#[derive(Default)]
struct Driver {
    /// Bytes being written: swapped with the shared output buffer when empty.
    writing: BytesMut,
    /// A write happened since the last flush.
    unflushed: bool,
    /// Bytes read and not decoded yet.
    input: BytesMut,
    /// The buffer length the data block being received needs.
    want: Option<usize>,
    /// The futures to wake once the lock is released.
    wakers: Vec<Waker>,
    /// The inactivity timer and the instant it is armed for.
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
}

impl Driver {
    fn reset(&mut self) {
        self.writing.clear();
        self.unflushed = false;
        self.input.clear();
        self.want = None;
        self.armed = None;
    }

    fn poll<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Shared,
        mut io: Pin<&mut S>,
    ) -> Poll<End> {
        for _ in 0..ROUNDS {
            let mut progress = false;

            // 1. Take what callers encoded; learn the deadline; stop once closed.
            let deadline = {
                let mut state = shared.lock();
                state.register_task(cx.waker());
                if self.writing.is_empty() && !state.out.is_empty() {
                    std::mem::swap(&mut self.writing, &mut state.out);
                    // Room again for callers waiting on a full output buffer.
                    self.wakers.append(&mut state.waiting);
                }
                if state.closed && self.writing.is_empty() && !self.unflushed {
                    return Poll::Ready(End::Closed);
                }
                state.codec.poll_timeout()
            };
            self.wake();

            // 2. Write and flush.
            while !self.writing.is_empty() {
                match io.as_mut().poll_write(cx, &self.writing) {
                    Poll::Ready(Ok(0)) => return self.lose(shared, Loss::Io(ErrorKind::WriteZero)),
                    // No new round for a write: callers that encode more wake the
                    // task (it registered above), and a partial write is Pending.
                    Poll::Ready(Ok(n)) => {
                        self.writing.advance(n);
                        self.unflushed = true;
                    }
                    Poll::Ready(Err(e)) => return self.lose(shared, Loss::Io(e.kind())),
                    Poll::Pending => break,
                }
            }
            if self.unflushed {
                match io.as_mut().poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.unflushed = false,
                    Poll::Ready(Err(e)) => return self.lose(shared, Loss::Io(e.kind())),
                    Poll::Pending => {}
                }
            }

            // 3. Read once, decode all it completes.
            let room = self.want.map_or(READ_ROOM, |want| {
                want.saturating_sub(self.input.len()).max(READ_ROOM)
            });
            if self.input.capacity() - self.input.len() < room / 4 {
                self.input.reserve(room);
            }
            match tokio_util::io::poll_read_buf(io.as_mut(), cx, &mut self.input) {
                Poll::Ready(Ok(0)) => return self.lose(shared, Loss::Eof),
                Poll::Ready(Ok(_)) => {
                    progress = true;
                    if self.decode(shared).is_err() {
                        return self.lose(shared, Loss::Poisoned);
                    }
                }
                Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => progress = true,
                Poll::Ready(Err(e)) => return self.lose(shared, Loss::Io(e.kind())),
                Poll::Pending => {}
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
                        drop(state);
                        return self.lose(shared, Loss::Poisoned);
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

    /// Decodes what was read; `Err` once the codec is poisoned (every pending
    /// command has then completed with the error).
    fn decode(&mut self, shared: &Shared) -> Result<(), ()> {
        let mut state = shared.lock();
        let now = now();
        state.clock = now;
        let State {
            codec, slots, base, ..
        } = &mut *state;
        let base = *base;
        let wakers = &mut self.wakers;
        let mut result = Ok(());
        for completion in codec.completions(&mut self.input, now) {
            match completion {
                Ok(completion) => wakers.extend(slots.complete(base, completion)),
                Err(e) => result = Err(e),
            }
        }
        self.want = codec.min_buffer_len();
        if !state.waiting.is_empty() {
            // Callers waiting for room under the pending limit.
            self.wakers.append(&mut state.waiting);
        }
        drop(state);
        self.wake();
        result.map_err(drop)
    }

    /// The connection is over: every pending command completes with the error,
    /// the link goes down.
    fn lose(&mut self, shared: &Shared, loss: Loss) -> Poll<End> {
        let mut state = shared.lock();
        match loss {
            Loss::Eof => state.codec.handle_eof(),
            Loss::Io(kind) => state.codec.handle_io_error(kind),
            Loss::Poisoned => {}
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
        let wakers = &mut self.wakers;
        let mut error = memcache_codec::ConnectionError::Closed;
        for completion in codec.completions(&mut self.input, now) {
            match completion {
                Ok(completion) => wakers.extend(slots.complete(base, completion)),
                Err(e) => error = e,
            }
        }
        // Encoded for this connection: those commands just failed with it.
        out.clear();
        wakers.append(waiting);
        state.link = Link::Down;
        state.last_error = Some(Error::Connection(error));
        let end = if state.closed { End::Closed } else { End::Lost };
        drop(state);
        self.wake();
        Poll::Ready(end)
    }

    fn wake(&mut self) {
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
    }
}
