//! [`WatchStream`]: a connection of its own, turned into memcached's log stream by a
//! [`Watch`].
//!
//! A watch cannot share the pooled connection: once memcached answers it with `OK`
//! it ignores every later command on that connection and only writes log lines, so
//! the connection is the watch's alone until it ends. The stream is read only when
//! polled (no task of its own): a watcher that stops reading lets memcached's
//! buffer for it fill up, and memcached then drops lines and says how many
//! (`[skipped: <n>]`, [`LogLine::skipped`]).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use memcache_codec::command::Watch;
use memcache_codec::response::LogLine;
use memcache_codec::{Codec, CommandError, Config, Response, Token};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use crate::error::{Error, unexpected};
use crate::shared::now;

/// A byte stream of any transport, boxed.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Room made for one read.
const READ_ROOM: usize = 16 * 1024;

/// The log lines of a [`Watch`], on a connection of its own
/// ([`Client::watch`](crate::Client::watch), [`Builder::watch`](crate::Builder::watch)).
///
/// Read it with [`next`](Self::next), or as a [`Stream`](futures_core::Stream).
/// Each item is a log line as memcached wrote it ([`LogLine`]: its fields, the
/// URI-decoded key, `[skipped: <n>]` when memcached dropped lines because this
/// watcher fell behind). memcached never ends a watch by itself: the stream ends
/// when the connection does, with one last item, the error that ended it
/// ([`Error::Connection`], [`ConnectionError::Closed`](memcache_codec::ConnectionError::Closed) when memcached closed it, for
/// example on shutdown), and then `None`.
///
/// There is no inactivity timeout while watching: a quiet log means a quiet
/// server. Dropping the stream closes its connection, which ends the watch.
///
/// ```
/// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), memcache_codec_tokio::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let addr = listener.local_addr().unwrap().to_string();
/// # // The other end: memcache-testkit's model of memcached 1.6.18, whose watching
/// # // connection is given a log line here (the model has no second client).
/// # tokio::spawn(async move {
/// #     let (mut socket, _) = listener.accept().await.unwrap();
/// #     let mut server = memcache_testkit::Server::new();
/// #     let (mut buf, mut out) = (vec![0; 16 * 1024], Vec::new());
/// #     let n = socket.read(&mut buf).await.unwrap();
/// #     server.feed(&buf[..n], &mut out);
/// #     server.watch_log(b"ts=1.5 gid=7 type=item_store key=user%3A1 status=stored cmd=set ttl=0 clsid=1 cfd=9 size=3");
/// #     server.feed(b"", &mut out);
/// #     socket.write_all(&out).await.unwrap();
/// #     let _ = socket.read(&mut buf).await; // until the watcher hangs up
/// # });
/// use memcache_codec::command::{Watch, WatchKind};
/// use memcache_codec_tokio::Client;
///
/// # let watcher = Client::builder().connect_lazy(memcache_codec_tokio::Tcp::new(addr));
/// // let watcher = Client::connect("127.0.0.1:11211").await?;
/// let mut log = watcher.watch(&Watch::new().kind(WatchKind::Mutations)).await?;
/// // Another client stores "user:1"; the log says so.
/// let line = log.next().await.expect("a line")?;
/// assert_eq!(line.kind(), Some(&b"item_store"[..]));
/// assert_eq!(line.key().as_deref(), Some(&b"user:1"[..]));
/// # Ok(())
/// # }
/// ```
pub struct WatchStream {
    io: Box<dyn Io>,
    codec: Codec,
    token: Token,
    /// Bytes read and not decoded yet.
    input: BytesMut,
    /// Log lines decoded and not handed out yet (one read may hold many).
    lines: VecDeque<LogLine>,
    /// `OK` arrived.
    watching: bool,
    /// Why the stream ended, not handed out yet; then `done`; then `terminated`
    /// once `None` was returned.
    end: Option<Error>,
    done: bool,
    terminated: bool,
    /// The inactivity timer while waiting for `OK` (none once watching).
    sleep: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream")
            .field("watching", &self.watching)
            .field("buffered_lines", &self.lines.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl WatchStream {
    /// Sends `watch` on `io`, a new connection, and waits for memcached's `OK`
    /// (within the codec's inactivity timeout); a refusal (`CLIENT_ERROR watch
    /// commands not allowed` with `-W`, ...) is [`Error::Server`].
    pub(crate) async fn start(
        io: Box<dyn Io>,
        watch: &Watch,
        config: Config,
    ) -> Result<Self, Error> {
        let mut codec = Codec::with_config(config);
        let mut out = BytesMut::new();
        let token = codec.send(watch, &mut out, now())?;
        let mut stream = Self {
            io,
            codec,
            token,
            input: BytesMut::new(),
            lines: VecDeque::new(),
            watching: false,
            end: None,
            done: false,
            terminated: false,
            sleep: None,
        };
        if let Err(e) = stream.write_all(&mut out).await {
            stream.codec.handle_io_error(e.kind());
            stream.drain();
        }
        poll_fn(|cx| stream.poll_started(cx)).await?;
        Ok(stream)
    }

    async fn write_all(&mut self, out: &mut BytesMut) -> io::Result<()> {
        while !out.is_empty() {
            let n = poll_fn(|cx| Pin::new(&mut self.io).poll_write(cx, out)).await?;
            if n == 0 {
                return Err(ErrorKind::WriteZero.into());
            }
            out.advance(n);
        }
        poll_fn(|cx| Pin::new(&mut self.io).poll_flush(cx)).await
    }

    /// Ready once memcached accepted the watch, or refused it, or the connection
    /// ended first.
    fn poll_started(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            if self.watching {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = self.end.take() {
                self.done = true;
                return Poll::Ready(Err(e));
            }
            std::task::ready!(self.poll_read(cx));
        }
    }

    /// The next log line; `None` after the stream ended (the item before `None` is
    /// the error that ended it).
    pub async fn next(&mut self) -> Option<Result<LogLine, Error>> {
        poll_fn(|cx| self.poll_line(cx)).await
    }

    /// [`next`](Self::next) as a poll: for hand-written futures.
    pub fn poll_line(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<LogLine, Error>>> {
        loop {
            if let Some(line) = self.lines.pop_front() {
                return Poll::Ready(Some(Ok(line)));
            }
            if let Some(e) = self.end.take() {
                self.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            if self.done {
                self.terminated = true;
                return Poll::Ready(None);
            }
            std::task::ready!(self.poll_read(cx));
        }
    }

    /// Reads once and decodes what arrived; `Ready` when something changed (lines,
    /// `OK`, the end), `Pending` when nothing did.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.input.capacity() - self.input.len() < READ_ROOM / 4 {
            let want = self.codec.min_buffer_len().unwrap_or(0);
            self.input
                .reserve(want.saturating_sub(self.input.len()).max(READ_ROOM));
        }
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.input) {
            Poll::Ready(Ok(0)) => self.codec.handle_eof(),
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => return Poll::Ready(()),
            Poll::Ready(Err(e)) => self.codec.handle_io_error(e.kind()),
            Poll::Pending => {
                // Before `OK`, the codec's inactivity timeout runs; never after.
                let Some(deadline) = self.codec.poll_timeout() else {
                    return Poll::Pending;
                };
                let at = tokio::time::Instant::from_std(deadline);
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                std::task::ready!(sleep.as_mut().poll(cx));
                self.codec.handle_timeout(now());
            }
        }
        self.drain();
        Poll::Ready(())
    }

    /// Decodes every completion the input holds.
    fn drain(&mut self) {
        let token = self.token;
        // A poisoned codec's failure (the watch's last completion) is among them.
        for completion in self.codec.completions(&mut self.input, now()) {
            debug_assert_eq!(completion.token, token, "the watch is the only command");
            match completion.result {
                Ok(Response::Watching) => self.watching = true,
                Ok(Response::Log(line)) => self.lines.push_back(line),
                Ok(other) => self.end = Some(unexpected(other)),
                Err(CommandError::Connection(e)) => self.end = Some(Error::Connection(e)),
                Err(e) => self.end = Some(Error::from(e)),
            }
        }
    }
}

impl futures_core::Stream for WatchStream {
    type Item = Result<LogLine, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_line(cx)
    }
}

impl futures_core::FusedStream for WatchStream {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

/// The error of a watch that could not be sent at all.
pub(crate) fn no_connector() -> Error {
    Error::connect(io::Error::new(
        ErrorKind::Unsupported,
        "a client over a stream (Builder::open) cannot open a connection for a watch",
    ))
}
