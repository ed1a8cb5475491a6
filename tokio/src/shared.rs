//! The state the callers and the connection task share: the codec, the bytes not
//! yet taken for writing, one slot per command waiting for its completion, and the
//! connection's state. One mutex, never held across an `.await` or a system call.
//!
//! Every call into the codec on the sending side is in this file (and the receive
//! side is in `task.rs`), so that renames in the codec's API stay local.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::command::{Command, MetaGet, NoreplyCommand, QuietBatch, Watch};
use memcache_codec::{
    Codec, CommandError, Completion, Config, ConnectionError, EncodeError, Response, Token,
};

use crate::error::Error;
use crate::task::{Conn, Read, lose};
use crate::watch::Io;

/// Whether `command` is a [`Watch`], which the shared connection must not carry.
///
/// Commands are sealed and opaque, so this asks the codec: a watch always encodes
/// on a fresh codec, and is the one command whose line starts with the word
/// `watch` (`Raw` refuses it). Only a command the size and alignment of a `Watch`
/// can be one, so every other command (a `Get`, a `Store`, ...) is told apart by
/// two constants and never encoded twice.
pub(crate) fn is_watch<C: Command + ?Sized>(command: &C, config: &Config) -> bool {
    if size_of_val(command) != size_of::<Watch>() || align_of_val(command) != align_of::<Watch>() {
        return false;
    }
    let mut out = BytesMut::new();
    Codec::with_config(*config)
        .send(command, &mut out, now())
        .is_ok()
        && is_watch_line(&out)
}

/// Whether an encoded command is a `watch`.
fn is_watch_line(line: &[u8]) -> bool {
    line.strip_prefix(b"watch")
        .is_some_and(|rest| matches!(rest.first(), Some(b' ' | b'\r')))
}

/// The clock: tokio's, so that a paused test clock is followed.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What callers and the connection task share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Codec limits and the inactivity timeout, for every connection.
    pub(crate) config: Config,
    /// A new connection can be made after one is lost.
    reconnects: bool,
    /// Callers wait (without encoding) while this many bytes are encoded and not
    /// taken by the task yet.
    max_unsent: usize,
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// Connected: commands are encoded.
    Up,
    /// The task is connecting.
    Connecting,
    /// No connection (lost, or the last attempt failed).
    Down,
}

#[derive(Debug)]
pub(crate) struct State {
    /// The current connection's codec (a new one per connection).
    pub(crate) codec: Codec,
    /// Encoded commands the task has not taken yet.
    pub(crate) out: BytesMut,
    pub(crate) link: Link,
    /// The connection's I/O half, between the polls of whoever drives it (the
    /// task, or a caller alone on an idle connection); `None` while one of them
    /// has it, and while there is no connection.
    pub(crate) conn: Option<Box<Conn>>,
    /// Counts the connections made: which one a [`Conn`] belongs to.
    pub(crate) generation: u64,
    /// The task found the connection taken: whoever puts it back wakes the task.
    pub(crate) conn_wanted: bool,
    /// The task's inactivity timer is armed: it fires at or before the deadline of
    /// any command sent from now on (deadlines only move later), so a caller can
    /// drive the connection without the task.
    pub(crate) timer_armed: bool,
    pub(crate) slots: Slots,
    /// The slot id of the current codec's token 0: slot ids run on across
    /// connections, tokens start again with each codec.
    pub(crate) base: u64,
    /// The connection task, and whether it was woken since it last looked.
    pub(crate) task: Option<Waker>,
    task_woken: bool,
    /// Callers waiting for room or for a connection.
    pub(crate) waiting: Vec<Waker>,
    /// Every `Client` is gone: the task finishes writing and stops.
    pub(crate) closed: bool,
    /// A caller asked for a connection.
    want_connect: bool,
    /// Connection attempts that failed so far.
    failed_connects: u64,
    /// Why the last connection ended or the last attempt failed.
    pub(crate) last_error: Option<Error>,
    /// The latest clock reading: good enough for a send while commands are pending
    /// (the codec only needs the real time when its timer starts).
    pub(crate) clock: Instant,
}

/// What a command's future waits on.
#[derive(Debug)]
pub(crate) enum Slot {
    /// Sent, no completion yet.
    Waiting { token: Token, waker: Option<Waker> },
    /// Completed; the future has not taken the result yet.
    Done(Result<Response, CommandError>),
    /// Taken, or abandoned by its future.
    Gone,
}

/// The slots of sent commands, by id, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    deque: VecDeque<Slot>,
    /// The id of `deque[0]`.
    front: u64,
}

impl Slots {
    fn next_id(&self) -> u64 {
        self.front + self.deque.len() as u64
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Slot> {
        let i = usize::try_from(id.checked_sub(self.front)?).ok()?;
        self.deque.get_mut(i)
    }

    /// Drops the slots nobody will look at again from the front.
    fn trim(&mut self) {
        while matches!(self.deque.front(), Some(Slot::Gone)) {
            self.deque.pop_front();
            self.front += 1;
        }
    }

    /// The result in slot `id`, which is done: the slot is gone after.
    fn take(&mut self, id: u64) -> Result<Response, CommandError> {
        // Mostly the oldest slot: popped, the result moved out once.
        let result = if id == self.front {
            self.front += 1;
            self.deque.pop_front()
        } else {
            self.get_mut(id)
                .map(|slot| std::mem::replace(slot, Slot::Gone))
        };
        let Some(Slot::Done(result)) = result else {
            unreachable!("slot {id} is done")
        };
        self.trim();
        result
    }

    /// Hands `completion` to the slot of `base + token`; returns the waker to wake.
    pub(crate) fn complete(&mut self, base: u64, completion: Completion) -> Option<Waker> {
        let slot = self.get_mut(base + completion.token.index())?;
        match std::mem::replace(slot, Slot::Done(completion.result)) {
            Slot::Waiting { waker, .. } => waker,
            // Cancelled commands never complete; anything else is not ours to keep.
            other => {
                *slot = other;
                None
            }
        }
    }
}

/// What `encode` returned, and the connection if the caller is to drive it.
pub(crate) type Submitted<T> = (T, Option<Box<Conn>>);

/// Where a caller's future stands before its command is encoded.
#[derive(Debug, Default)]
pub(crate) struct Begin {
    /// The count of failed connection attempts when it started waiting for a
    /// connection: a later failure is its failure too.
    attempt: Option<u64>,
}

/// Encodes commands for one caller, under the lock.
pub(crate) struct Sender<'a> {
    state: &'a mut State,
    now: Instant,
}

impl Sender<'_> {
    fn push(&mut self, token: Token, waker: Option<Waker>) -> u64 {
        let id = self.state.base + token.index();
        debug_assert_eq!(id, self.state.slots.next_id(), "tokens run on by one");
        self.state
            .slots
            .deque
            .push_back(Slot::Waiting { token, waker });
        id
    }

    /// [`Codec::send`]; returns the command's slot id.
    pub(crate) fn send<C: Command + ?Sized>(&mut self, command: &C) -> Result<u64, EncodeError> {
        let state = &mut *self.state;
        let token = state.codec.send(command, &mut state.out, self.now)?;
        Ok(self.push(token, None))
    }

    /// [`send`](Self::send), with the waker to wake when the command completes.
    pub(crate) fn send_waking<C: Command + ?Sized>(
        &mut self,
        command: &C,
        waker: Waker,
    ) -> Result<u64, EncodeError> {
        let state = &mut *self.state;
        let token = state.codec.send(command, &mut state.out, self.now)?;
        Ok(self.push(token, Some(waker)))
    }

    /// [`Codec::send_quiet_batch`]; returns the batch and the slot id of its first
    /// `mg` (the `mg`s and then the fence have consecutive ids).
    pub(crate) fn send_quiet_batch(
        &mut self,
        gets: &[MetaGet<'_>],
    ) -> Result<(QuietBatch, u64), EncodeError> {
        let state = &mut *self.state;
        let batch = state
            .codec
            .send_quiet_batch(gets, &mut state.out, self.now)?;
        let first = self.state.slots.next_id();
        for token in batch.tokens() {
            self.push(token, None);
        }
        self.push(batch.fence(), None);
        Ok((batch, first))
    }

    /// [`Codec::send_noreply`].
    pub(crate) fn send_noreply<C: NoreplyCommand + ?Sized>(
        &mut self,
        command: &C,
    ) -> Result<(), EncodeError> {
        let state = &mut *self.state;
        state.codec.send_noreply(command, &mut state.out)
    }
}

impl Shared {
    /// The state of a client whose connection is `io`, or is to be made.
    pub(crate) fn new(
        config: Config,
        reconnects: bool,
        max_unsent: usize,
        io: Option<Box<dyn Io>>,
    ) -> Self {
        let link = if io.is_some() { Link::Up } else { Link::Down };
        Self {
            state: Mutex::new(State {
                codec: Codec::with_config(config),
                out: BytesMut::new(),
                link,
                conn: io.map(|io| Conn::new(io, 1)),
                generation: 1,
                conn_wanted: false,
                timer_armed: false,
                slots: Slots::default(),
                base: 0,
                task: None,
                task_woken: false,
                waiting: Vec::new(),
                closed: false,
                want_connect: false,
                failed_connects: 0,
                last_error: None,
                clock: now(),
            }),
            config,
            reconnects,
            max_unsent,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes with `encode` once the connection is up and has room for `needed`
    /// more pending commands; until then the caller waits, with nothing encoded (a
    /// future dropped meanwhile sends nothing). Wakes the task for what was encoded.
    ///
    /// With `solo`, a caller whose command is the only one on an idle connection
    /// gets the connection instead, its command taken for writing, and drives it
    /// itself ([`drive_solo`](Self::drive_solo)): the task is not woken.
    pub(crate) fn submit<T>(
        &self,
        cx: &mut Context<'_>,
        begin: &mut Begin,
        needed: usize,
        solo: bool,
        encode: impl FnOnce(&mut Sender<'_>) -> Result<T, EncodeError>,
    ) -> Poll<Result<Submitted<T>, Error>> {
        let mut state = self.lock();
        match state.link {
            Link::Up => {}
            Link::Connecting => {
                begin.attempt.get_or_insert(state.failed_connects);
                state.waiting.push(cx.waker().clone());
                return Poll::Pending;
            }
            Link::Down => {
                let failed = begin.attempt.is_some_and(|a| state.failed_connects > a);
                if failed || !self.reconnects {
                    let error = state
                        .last_error
                        .clone()
                        .unwrap_or(Error::Connection(ConnectionError::Closed));
                    return Poll::Ready(Err(error));
                }
                begin.attempt.get_or_insert(state.failed_connects);
                state.want_connect = true;
                state.waiting.push(cx.waker().clone());
                let task = state.wake_task();
                drop(state);
                if let Some(task) = task {
                    task.wake();
                }
                return Poll::Pending;
            }
        }
        let pending = state.codec.pending();
        let full = (!state.out.is_empty() && state.out.len() >= self.max_unsent)
            || (pending > 0 && pending + needed > self.config.limits.max_pending);
        if full {
            // The task wakes the waiting callers when it takes the bytes or when
            // completions arrive.
            state.waiting.push(cx.waker().clone());
            return Poll::Pending;
        }
        let now = if pending == 0 {
            // The inactivity timer starts now: it needs the real time.
            let now = now();
            state.clock = now;
            now
        } else {
            state.clock
        };
        let written = state.out.len();
        let result = encode(&mut Sender {
            state: &mut state,
            now,
        });
        let mut conn = None;
        let mut task = None;
        let mut waiting = None;
        if state.out.len() > written {
            // Alone on the connection, with the task's timer covering the new
            // deadline and the task known (to hand the connection back to).
            let alone = solo
                && pending == 0
                && written == 0
                && state.task.is_some()
                && (self.config.inactivity_timeout.is_none() || state.timer_armed);
            // Idle too: nothing of an earlier write (noreply commands are not
            // pending) still to write or flush.
            conn = if alone {
                state.conn.take_if(|conn| conn.is_idle())
            } else {
                None
            };
            match conn.as_mut() {
                Some(conn) => conn.take_out(&mut state, waiting.insert(Vec::new())),
                None => task = state.wake_task(),
            }
        }
        drop(state);
        if let Some(task) = task {
            task.wake();
        }
        waiting.into_iter().flatten().for_each(Waker::wake);
        Poll::Ready(result.map(|t| (t, conn)).map_err(Error::Encode))
    }

    /// A caller's turn at the connection it took: writes and reads with the
    /// caller's context (the reply wakes the caller), until its slot `id` has
    /// its result or nothing moves; then puts the connection back. Before giving
    /// it up for good (the result is there) it polls the stream once more with
    /// the task's waker, so that the task hears of what comes next (end of
    /// stream, replies to others).
    pub(crate) fn drive_solo(
        &self,
        cx: &mut Context<'_>,
        mut conn: Box<Conn>,
        id: u64,
    ) -> Poll<Result<Response, CommandError>> {
        let mut wakers = Vec::new();
        let mut loss = conn.write(cx).err();
        // A partial write: the task finishes it.
        let mut hand_over = !conn.is_idle();
        let mut task = None;
        while loss.is_none() {
            match conn.read(cx, self, &mut wakers, Some(id)) {
                Ok(Read::Nothing) => break,
                Ok(Read::Decoded) => {}
                Ok(Read::Finished(waker)) => {
                    task = waker;
                    break;
                }
                Err(e) => loss = Some(e),
            }
        }
        if let Some(task) = task.filter(|_| loss.is_none() && !hand_over) {
            // Hand the stream's readiness back to the task. No bytes are expected,
            // so this read finds none, and costs no system call after the short
            // read that brought the reply.
            match conn.read(&mut Context::from_waker(&task), self, &mut wakers, None) {
                Ok(Read::Nothing) => {}
                // Replies to commands sent since: the task reads on.
                Ok(_) => hand_over = true,
                // The end, or bytes that poisoned the codec: the connection is lost
                // here as anywhere else (the link goes down, the task learns of it).
                Err(e) => loss = Some(e),
            }
        }
        if let Some(loss) = loss {
            wakers.into_iter().for_each(Waker::wake);
            lose(self, conn, loss);
            return self.poll_one(cx, id);
        }
        let mut state = self.lock();
        if state.is_current(conn.generation) {
            state.conn = Some(conn);
        }
        if std::mem::take(&mut state.conn_wanted) || hand_over {
            wakers.extend(state.wake_task());
        }
        let result = take_done(&mut state.slots, id);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        match result {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }

    /// A solo caller's later polls: drives the connection if it is free, else
    /// waits for the task to complete the slot.
    pub(crate) fn poll_solo(
        &self,
        cx: &mut Context<'_>,
        id: u64,
    ) -> Poll<Result<Response, CommandError>> {
        let conn = {
            let mut state = self.lock();
            // Done, or this poll's waker is the slot's (the future may have moved
            // to another task, or into a set that polls it by its own waker).
            if let Poll::Ready(result) = state.poll_slot(cx, id) {
                return Poll::Ready(result);
            }
            // Only while this command is the one in flight: a command sent since
            // woke the task, which reads for all of them (reading here would take
            // the stream's readiness from it and leave the others to this future's
            // next poll). Not while a write is unfinished: the task, woken by the
            // stream when it can write more, finishes it and takes what waits
            // behind it.
            if state.codec.pending() != 1 {
                return Poll::Pending;
            }
            match state.conn.take_if(|conn| conn.is_idle()) {
                Some(conn) => conn,
                // The task has it, or it is gone.
                None => return Poll::Pending,
            }
        };
        self.drive_solo(cx, conn, id)
    }

    /// The result in slot `id`, once there.
    pub(crate) fn poll_one(
        &self,
        cx: &mut Context<'_>,
        id: u64,
    ) -> Poll<Result<Response, CommandError>> {
        self.lock().poll_slot(cx, id)
    }

    /// The results in slots `first..=last` once the last is there (commands
    /// complete in send order, so every one is then).
    pub(crate) fn poll_range(
        &self,
        cx: &mut Context<'_>,
        first: u64,
        last: u64,
    ) -> Poll<Vec<Result<Response, CommandError>>> {
        let mut state = self.lock();
        if let Some(Slot::Waiting { waker, .. }) = state.slots.get_mut(last) {
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let results = (first..=last)
            .map(|id| match state.slots.get_mut(id) {
                Some(slot @ Slot::Done(_)) => match std::mem::replace(slot, Slot::Gone) {
                    Slot::Done(result) => result,
                    _ => unreachable!("matched above"),
                },
                _ => Err(ConnectionError::Closed.into()),
            })
            .collect();
        state.slots.trim();
        Poll::Ready(results)
    }

    /// The futures of slots `first..=last` are dropped: commands still waiting
    /// are cancelled in the codec (their replies will be read and dropped), results
    /// not taken are dropped. A future that drove the connection (`solo`) may be
    /// the one its readiness wakes: the task takes over.
    pub(crate) fn abandon(&self, first: u64, last: u64, solo: bool) {
        let mut guard = self.lock();
        let task = if solo { guard.wake_task() } else { None };
        let state = &mut *guard;
        for id in first..=last {
            let Some(slot) = state.slots.get_mut(id) else {
                continue;
            };
            if let Slot::Waiting { token, .. } = std::mem::replace(slot, Slot::Gone) {
                // A waiting slot belongs to the current codec: a lost connection
                // completes every slot before a new codec is made.
                state.codec.cancel(token);
            }
        }
        state.slots.trim();
        drop(guard);
        if let Some(task) = task {
            task.wake();
        }
    }

    /// The connection task's side: registers its waker; `Ready(true)` when a
    /// caller wants a connection, `Ready(false)` when every client is gone.
    pub(crate) fn poll_demand(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = self.lock();
        state.register_task(cx.waker());
        if state.closed {
            return Poll::Ready(false);
        }
        if std::mem::take(&mut state.want_connect) {
            state.link = Link::Connecting;
            return Poll::Ready(true);
        }
        Poll::Pending
    }

    /// The outcome of a connection attempt: a new codec, or the failure every
    /// caller waiting for it gets.
    pub(crate) fn connected(&self, result: std::io::Result<Box<dyn Io>>) {
        let mut state = self.lock();
        match result {
            Ok(io) => {
                state.codec = Codec::with_config(self.config);
                state.base = state.slots.next_id();
                state.out.clear();
                state.link = Link::Up;
                state.generation += 1;
                state.conn = Some(Conn::new(io, state.generation));
                state.conn_wanted = false;
                state.timer_armed = false;
            }
            Err(e) => {
                state.link = Link::Down;
                state.failed_connects += 1;
                state.last_error = Some(Error::connect(e));
            }
        }
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        waiting.into_iter().for_each(Waker::wake);
    }

    /// Every `Client` is gone.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let task = state.wake_task();
        drop(state);
        if let Some(task) = task {
            task.wake();
        }
    }

    /// Whether the connection is up: a pool can hand this client out again.
    pub(crate) fn is_up(&self) -> bool {
        let state = self.lock();
        state.link == Link::Up && !state.closed
    }
}

/// The result in slot `id`, if it is there (taken: the slot is gone).
fn take_done(slots: &mut Slots, id: u64) -> Option<Result<Response, CommandError>> {
    if !matches!(slots.get_mut(id)?, Slot::Done(_)) {
        return None;
    }
    Some(slots.take(id))
}

impl State {
    /// The result in slot `id` once there; until then the slot wakes `cx`'s
    /// waker.
    fn poll_slot(&mut self, cx: &Context<'_>, id: u64) -> Poll<Result<Response, CommandError>> {
        let Some(slot) = self.slots.get_mut(id) else {
            return Poll::Ready(Err(ConnectionError::Closed.into()));
        };
        match slot {
            Slot::Waiting { waker, .. } => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Slot::Done(_) => Poll::Ready(self.slots.take(id)),
            Slot::Gone => Poll::Ready(Err(ConnectionError::Closed.into())),
        }
    }

    /// Whether `generation` is the connection that is up.
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        self.link == Link::Up && self.generation == generation
    }

    /// The task's waker, unless it was woken since it last looked.
    pub(crate) fn wake_task(&mut self) -> Option<Waker> {
        if self.task_woken {
            return None;
        }
        self.task_woken = true;
        self.task.clone()
    }

    /// The task is looking: later changes must wake it again.
    pub(crate) fn register_task(&mut self, waker: &Waker) {
        self.task_woken = false;
        if !self.task.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.task = Some(waker.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use memcache_codec::command::{
        Get, MetaNoop, Quit, Raw, RawShape, Stats, Store, Verbosity, Version, Watch, WatchKind,
    };

    use super::*;

    #[test]
    fn only_a_watch_is_a_watch() {
        let config = Config::DEFAULT;
        assert!(is_watch(&Watch::new(), &config));
        let every = WatchKind::ALL.into_iter().fold(Watch::new(), Watch::kind);
        assert!(is_watch(&every, &config));
        let erased: &(dyn Command + Sync) = &Watch::new().kind(WatchKind::Evictions);
        assert!(is_watch(erased, &config));

        assert!(!is_watch(&Get::new("watch"), &config));
        assert!(!is_watch(&Store::set("watch", "watch"), &config));
        assert!(!is_watch(&Version, &config));
        assert!(!is_watch(&MetaNoop, &config));
        assert!(!is_watch(&Quit, &config));
        assert!(!is_watch(&Verbosity::new(1), &config));
        assert!(!is_watch(&Stats::new(), &config));
        assert!(!is_watch(&Raw::new("watchers", RawShape::Line), &config));
        let erased: &(dyn Command + Sync) = &Verbosity::new(2);
        assert!(!is_watch(erased, &config));

        assert!(is_watch_line(b"watch\r\n"));
        assert!(is_watch_line(b"watch mutations fetchers\r\n"));
        assert!(!is_watch_line(b"watchers x\r\n"));
        assert!(!is_watch_line(b"watc\r\n"));
        assert!(!is_watch_line(b"get watch\r\n"));
    }
}
