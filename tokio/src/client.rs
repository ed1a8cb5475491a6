//! [`Client`]: one connection, shared by its clones; [`Builder`] makes it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use memcache_codec::command::Arithmetic;
use memcache_codec::command::{
    Command, Delete, Exptime, Get, GetMulti, MetaArithmetic, MetaDelete, MetaGet, MetaNoop,
    MetaSet, NoreplyCommand, QuietBatch, Store, Touch, Version, Watch,
};
use memcache_codec::response::{Items, MetaResponse, Value};
use memcache_codec::{Config, Response};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::connect::{Connect, Open, Tcp, within};
use crate::error::{Error, unexpected};
use crate::shared::{Begin, Shared, is_watch};
use crate::task;
use crate::trace::Trace;
use crate::watch::{Io, WatchStream, no_connector};

/// How a [`Client`] is made: codec limits and timeout, connect timeout, write
/// buffer bound, and then where it connects.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use memcache_codec_tokio::{Client, Tcp};
///
/// let client = Client::builder()
///     .inactivity_timeout(Some(Duration::from_secs(2)))
///     .connect_timeout(Some(Duration::from_secs(1)))
///     .connect_lazy(Tcp::new("127.0.0.1:11211")); // connects on the first command
/// assert!(!client.is_reusable()); // not connected yet
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Builder {
    config: Config,
    connect_timeout: Option<Duration>,
    max_unsent: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            config: Config::DEFAULT,
            connect_timeout: Some(Duration::from_secs(5)),
            max_unsent: 1 << 20,
        }
    }
}

impl Builder {
    /// The codec's limits and inactivity timeout ([`Config::DEFAULT`]: 60 s).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The inactivity timeout: with commands pending and no byte arriving for
    /// this long, the connection is given up and every pending command fails with
    /// [`ConnectionError::Timeout`](memcache_codec::ConnectionError::Timeout).
    /// `None`: wait forever.
    pub fn inactivity_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config = self.config.with_inactivity_timeout(timeout);
        self
    }

    /// How long one connection attempt may take (default 5 s; `None`: no limit).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Callers wait, without encoding, while this many bytes are encoded and not
    /// yet taken for writing (default 1 MiB): a server that reads slowly slows
    /// the callers instead of growing the buffer, and a future dropped while it
    /// waits sends nothing. A larger command still goes out alone.
    pub fn max_unsent(mut self, bytes: usize) -> Self {
        self.max_unsent = bytes.max(1);
        self
    }

    /// Connects with `connector` now, then again on demand whenever the
    /// connection is lost. Spawns the connection task on the current tokio
    /// runtime (which needs IO and time enabled).
    pub async fn connect<C: Connect>(self, connector: C) -> Result<Client, Error> {
        let stream = within(self.connect_timeout, connector.connect())
            .await
            .map_err(Error::connect)?;
        Ok(self.spawn(Some(connector), Some(stream)))
    }

    /// A client that connects with `connector` when the first command is sent,
    /// and again on demand. Spawns the connection task on the current runtime.
    pub fn connect_lazy<C: Connect>(self, connector: C) -> Client {
        self.spawn(Some(connector), None)
    }

    /// A client over an established stream (any `AsyncRead + AsyncWrite`). It
    /// cannot reconnect: once the stream ends, calls fail with the error that
    /// ended it. Spawns the connection task on the current runtime.
    pub fn open<S>(self, stream: S) -> Client
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        self.spawn(None::<Fixed<S>>, Some(stream))
    }

    /// A [`WatchStream`] over an established stream (any `AsyncRead +
    /// AsyncWrite`), with this builder's codec limits: sends `watch` and resolves
    /// once memcached answers `OK`. [`Client::watch`] opens the connection itself.
    pub async fn watch<S>(self, stream: S, watch: &Watch) -> Result<WatchStream, Error>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        WatchStream::start(Box::new(stream), watch, self.config).await
    }

    fn spawn<C: Connect>(self, connector: Option<C>, stream: Option<C::Stream>) -> Client {
        let reconnects = connector.is_some();
        let stream = stream.map(|s| Box::new(s) as Box<dyn Io>);
        let shared = Arc::new(Shared::new(
            self.config,
            reconnects,
            self.max_unsent,
            stream,
        ));
        let connector = connector.map(Arc::new);
        let opener = connector.as_ref().map(|c| Arc::clone(c) as Arc<dyn Open>);
        tokio::spawn(task::run(
            Arc::clone(&shared),
            connector,
            self.connect_timeout,
        ));
        Client {
            handle: Arc::new(Handle {
                shared,
                opener,
                builder: self,
            }),
        }
    }
}

/// The connector of a client made with [`Builder::open`]: never called.
struct Fixed<S>(std::marker::PhantomData<fn() -> S>);

impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connect for Fixed<S> {
    type Stream = S;

    async fn connect(&self) -> std::io::Result<S> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Closes the connection when the last clone of a [`Client`] is dropped.
struct Handle {
    shared: Arc<Shared>,
    /// Opens the connections of watches (none for a client over a stream).
    opener: Option<Arc<dyn Open>>,
    /// What the client was made with: the settings of its watches.
    builder: Builder,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("shared", &self.shared)
            .field("builder", &self.builder)
            .finish_non_exhaustive()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// A memcached connection. Clones share it: commands sent from every clone, and
/// every future in flight, are pipelined on the one connection (none waits for
/// another's reply to be written) and answered in order.
///
/// * Every method returns a future that does nothing until polled. On its first
///   poll the command is encoded into the connection's write buffer (checked
///   first: a refused command fails with [`Error::Encode`], nothing sent), unless
///   the connection is down or its buffer is full: then it waits, still not
///   encoded.
/// * Dropping a future before its command is encoded sends nothing. Dropping it
///   after cancels the command
///   ([`Codec::cancel`](memcache_codec::Codec::cancel)): it is written (or
///   already was), its reply is read and dropped, and no other command can
///   receive it.
/// * A lost connection fails every command in flight with
///   [`Error::Connection`]; the next command reconnects (clients made with
///   [`Builder::open`] cannot).
///
/// The connection task stops, and the connection closes, when the last clone is
/// dropped (after writing what was encoded, e.g. noreply commands).
///
/// ```
/// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), memcache_codec_tokio::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let addr = listener.local_addr().unwrap().to_string();
/// # // The other end: memcache-testkit's model of memcached 1.6.18.
/// # tokio::spawn(async move {
/// #     let (mut socket, _) = listener.accept().await.unwrap();
/// #     let mut server = memcache_testkit::Server::new();
/// #     let (mut buf, mut out) = (vec![0; 16 * 1024], Vec::new());
/// #     while let Ok(n @ 1..) = socket.read(&mut buf).await {
/// #         server.feed(&buf[..n], &mut out);
/// #         if socket.write_all(&out).await.is_err() { break; }
/// #         out.clear();
/// #     }
/// # });
/// use memcache_codec_tokio::Client;
///
/// let client = Client::connect(addr).await?; // "host:port"
/// client.set("greeting", "hello").await?;
/// let value = client.get("greeting").await?.expect("a hit");
/// assert_eq!(&value.data[..], b"hello");
///
/// // Pipelined: the get is written without waiting for the incr's reply.
/// let (a, b) = tokio::join!(client.incr("visits", 1), client.get("absent"));
/// assert_eq!((a?, b?), (None, None)); // no counter yet, a miss
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    handle: Arc<Handle>,
}

impl Client {
    /// Connects over TCP to `addr` (`host:port`) with the default [`Builder`];
    /// reconnects on demand.
    pub async fn connect(addr: impl Into<String>) -> Result<Self, Error> {
        Builder::default().connect(Tcp::new(addr)).await
    }

    /// A [`Builder`] with the defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// True while the connection is up: a pool can hand this client out again.
    /// Dropped futures do not spoil it (their replies are read and dropped);
    /// false once the connection was lost and not made again yet.
    pub fn is_reusable(&self) -> bool {
        self.shared().is_up()
    }

    /// Sends any command and resolves to its reply. The command is borrowed until
    /// it is encoded, on the first poll. memcached's error lines are
    /// [`Error::Server`]. A [`Watch`] is refused
    /// ([`Error::WatchNeedsOwnConnection`], nothing sent): use
    /// [`watch`](Self::watch).
    pub fn call<'a, C: Command + Sync + ?Sized>(&'a self, command: &'a C) -> Call<'a, C> {
        self.traced(command, "call", 0, None)
    }

    fn named<'a, C: Command + Sync + ?Sized>(
        &'a self,
        command: &'a C,
        name: &'static str,
        keys: usize,
    ) -> Call<'a, C> {
        self.traced(command, name, keys, None)
    }

    /// [`call`](Self::call), traced under `name` with `keys` keys (and the
    /// cluster's server).
    pub(crate) fn traced<'a, C: Command + Sync + ?Sized>(
        &'a self,
        command: &'a C,
        name: &'static str,
        keys: usize,
        server: Option<usize>,
    ) -> Call<'a, C> {
        Call {
            shared: self.shared(),
            command,
            begin: Begin::default(),
            sent: None,
            solo: false,
            done: false,
            trace: None,
            name,
            keys,
            server,
        }
    }

    /// Sends `commands` back to back, and resolves to each one's result, in order.
    /// Commands the codec refuses complete with [`Error::Encode`] (and a [`Watch`]
    /// with [`Error::WatchNeedsOwnConnection`]) and the others are sent all the
    /// same; the sent ones are contiguous on the wire (useful for quiet meta
    /// commands followed by an `mn` fence).
    pub fn pipeline<'a>(&'a self, commands: &'a [&'a (dyn Command + Sync)]) -> Pipeline<'a> {
        Pipeline {
            shared: self.shared(),
            commands,
            begin: Begin::default(),
            sent: None,
            done: false,
        }
    }

    /// `watch <kinds>` on a connection of its own, made with this client's
    /// connector and settings: resolves once memcached answers `OK`, to the
    /// stream of its log lines ([`WatchStream`]). The client's own connection is
    /// not touched: a watch turns its connection into a log stream for good.
    ///
    /// memcached's refusal (`CLIENT_ERROR watch commands not allowed` under `-W`,
    /// `WATCHER_TOO_MANY`, ...) is [`Error::Server`]. A client made with
    /// [`Builder::open`] has no way to connect ([`Error::Connect`] with
    /// [`Unsupported`](std::io::ErrorKind::Unsupported)); use [`Builder::watch`].
    pub async fn watch(&self, watch: &Watch) -> Result<WatchStream, Error> {
        let handle = &self.handle;
        let opener = handle.opener.as_ref().ok_or_else(no_connector)?;
        let io = within(handle.builder.connect_timeout, opener.open())
            .await
            .map_err(Error::connect)?;
        WatchStream::start(io, watch, handle.builder.config).await
    }

    /// Sends `command` with `noreply`: memcached answers nothing. Resolves once it
    /// is encoded; errors memcached might still send poison the connection (see
    /// [`Codec::send_noreply`](memcache_codec::Codec::send_noreply)). To know a
    /// batch was applied, follow it with [`noop`](Self::noop).
    pub async fn noreply<C: NoreplyCommand + Sync + ?Sized>(
        &self,
        command: &C,
    ) -> Result<(), Error> {
        let mut begin = Begin::default();
        std::future::poll_fn(|cx| {
            self.shared()
                .submit(cx, &mut begin, 0, false, |s| s.send_noreply(command))
                .map_ok(|((), _)| ())
        })
        .await
    }

    /// `get <key>`: the value, or `None` on a miss.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>, Error> {
        value(self.named(&Get::new(key.as_ref()), "get", 1).await)
    }

    /// `gets <key>`: the value with its cas unique, or `None` on a miss.
    pub async fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>, Error> {
        value(
            self.named(&Get::new(key.as_ref()).with_cas(), "gets", 1)
                .await,
        )
    }

    /// `get <key>*`: the hits, in request order, as one zero-copy view.
    pub async fn get_multi<K: AsRef<[u8]> + Sync>(&self, keys: &[K]) -> Result<Items, Error> {
        match self
            .named(&GetMulti::new(keys), "get_multi", keys.len())
            .await?
        {
            Response::Items(values) => Ok(values),
            other => Err(unexpected(other)),
        }
    }

    /// `set <key> 0 0 <len>`: stores the value (flags 0, no expiry).
    pub async fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), Error> {
        let command = Store::set(key.as_ref(), value.as_ref());
        match self.named(&command, "set", 1).await? {
            Response::Stored => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// `add`: stores the value only if the key is absent; false if it was there.
    pub async fn add(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool, Error> {
        stored(
            self.named(&Store::add(key.as_ref(), value.as_ref()), "add", 1)
                .await,
        )
    }

    /// `replace`: stores the value only if the key is present; false if absent.
    pub async fn replace(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool, Error> {
        let command = Store::replace(key.as_ref(), value.as_ref());
        stored(self.named(&command, "replace", 1).await)
    }

    /// `delete <key>`: false if there was nothing to delete.
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool, Error> {
        match self.named(&Delete::new(key.as_ref()), "delete", 1).await? {
            Response::Deleted => Ok(true),
            Response::NotFound => Ok(false),
            other => Err(unexpected(other)),
        }
    }

    /// `incr <key> <delta>`: the new value, or `None` if the key is absent.
    pub async fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>, Error> {
        counter(
            self.named(&Arithmetic::incr(key.as_ref(), delta), "incr", 1)
                .await,
        )
    }

    /// `decr <key> <delta>` (stops at 0): the new value, or `None` if absent.
    pub async fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>, Error> {
        counter(
            self.named(&Arithmetic::decr(key.as_ref(), delta), "decr", 1)
                .await,
        )
    }

    /// `touch <key> <exptime>`: false if the key is absent.
    pub async fn touch(&self, key: impl AsRef<[u8]>, exptime: Exptime) -> Result<bool, Error> {
        match self
            .named(&Touch::new(key.as_ref(), exptime), "touch", 1)
            .await?
        {
            Response::Touched => Ok(true),
            Response::NotFound => Ok(false),
            other => Err(unexpected(other)),
        }
    }

    /// `version`: the server's version string.
    pub async fn version(&self) -> Result<String, Error> {
        match self.named(&Version, "version", 0).await? {
            Response::Version(v) => Ok(String::from_utf8_lossy(&v).into_owned()),
            other => Err(unexpected(other)),
        }
    }

    /// `mn`: resolves once everything sent before it was answered (a fence after
    /// noreply or quiet commands).
    pub async fn noop(&self) -> Result<(), Error> {
        match self.named(&MetaNoop, "noop", 0).await? {
            Response::Noop => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// `mg`: the meta reply (a miss is [`MetaStatus::Miss`](memcache_codec::response::MetaStatus::Miss)).
    pub async fn meta_get(&self, command: &MetaGet<'_>) -> Result<MetaResponse, Error> {
        meta(self.named(command, "mg", 1).await)
    }

    /// `ms`: the meta reply.
    pub async fn meta_set(&self, command: &MetaSet<'_>) -> Result<MetaResponse, Error> {
        meta(self.named(command, "ms", 1).await)
    }

    /// `md`: the meta reply.
    pub async fn meta_delete(&self, command: &MetaDelete<'_>) -> Result<MetaResponse, Error> {
        meta(self.named(command, "md", 1).await)
    }

    /// `ma`: the meta reply (the value with `v`).
    pub async fn meta_arithmetic(
        &self,
        command: &MetaArithmetic<'_>,
    ) -> Result<MetaResponse, Error> {
        meta(self.named(command, "ma", 1).await)
    }

    /// A quiet `mg` batch ([`Codec::send_quiet_batch`](memcache_codec::Codec::send_quiet_batch)):
    /// every `mg` with `q`, then an `mn` fence, in one write. memcached answers
    /// only hits; each `mg` still gets its reply here, misses as inferred
    /// [`MetaStatus::Miss`](memcache_codec::response::MetaStatus::Miss), in the order given.
    pub async fn meta_get_many(
        &self,
        gets: &[MetaGet<'_>],
    ) -> Result<Vec<Result<MetaResponse, Error>>, Error> {
        let trace = Trace::start("mg_quiet_batch", gets.len());
        let (_, results) = QuietGets {
            shared: self.shared(),
            gets,
            begin: Begin::default(),
            sent: None,
            done: false,
        }
        .await
        .inspect_err(|_| trace.finish_batch(None))?;
        let replies: Vec<Result<MetaResponse, Error>> = results
            .into_iter()
            .map(|result| meta(result.map_err(Error::from)))
            .collect();
        let hits = replies
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|m| !m.inferred))
            .count();
        trace.finish_batch(Some(hits));
        Ok(replies)
    }

    /// The quiet batch with its codec tokens, for the cluster's merge.
    #[cfg(feature = "distribution")]
    pub(crate) fn quiet_gets<'a>(&'a self, gets: &'a [MetaGet<'a>]) -> QuietGets<'a> {
        QuietGets {
            shared: self.shared(),
            gets,
            begin: Begin::default(),
            sent: None,
            done: false,
        }
    }
}

pub(crate) fn value(result: Result<Response, Error>) -> Result<Option<Value>, Error> {
    match result? {
        Response::Hit(value) => Ok(Some(value)),
        Response::Miss => Ok(None),
        other => Err(unexpected(other)),
    }
}

pub(crate) fn stored(result: Result<Response, Error>) -> Result<bool, Error> {
    match result? {
        Response::Stored => Ok(true),
        Response::NotStored => Ok(false),
        other => Err(unexpected(other)),
    }
}

pub(crate) fn counter(result: Result<Response, Error>) -> Result<Option<u64>, Error> {
    match result? {
        Response::Counter(n) => Ok(Some(n)),
        Response::NotFound => Ok(None),
        other => Err(unexpected(other)),
    }
}

pub(crate) fn meta(result: Result<Response, Error>) -> Result<MetaResponse, Error> {
    match result? {
        Response::Meta(reply) => Ok(reply),
        other => Err(unexpected(other)),
    }
}

/// The future of one command ([`Client::call`]). Nothing is sent until it is
/// polled; dropping it after that cancels the command (its reply is read and
/// dropped).
#[must_use = "nothing is sent until the future is polled"]
#[derive(Debug)]
pub struct Call<'a, C: ?Sized> {
    shared: &'a Shared,
    command: &'a C,
    begin: Begin,
    /// The slot id, once encoded.
    sent: Option<u64>,
    /// It drives the connection itself (alone on it when it was sent).
    solo: bool,
    done: bool,
    trace: Option<Trace>,
    name: &'static str,
    keys: usize,
    server: Option<usize>,
}

impl<C: Command + Sync + ?Sized> Future for Call<'_, C> {
    type Output = Result<Response, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let id = match this.sent {
            Some(id) => id,
            None => {
                let trace = this.trace.get_or_insert_with(|| {
                    let trace = Trace::start(this.name, this.keys);
                    if let Some(server) = this.server {
                        trace.server(server);
                    }
                    trace
                });
                let command = this.command;
                if is_watch(command, &this.shared.config) {
                    this.done = true;
                    let result = Err(Error::WatchNeedsOwnConnection);
                    trace.finish(&result);
                    return Poll::Ready(result);
                }
                let waker = cx.waker().clone();
                let sent = this.shared.submit(cx, &mut this.begin, 1, true, |s| {
                    s.send_waking(command, waker)
                });
                match ready!(sent) {
                    Ok((id, None)) => {
                        this.sent = Some(id);
                        return Poll::Pending; // the slot wakes us
                    }
                    Ok((id, Some(conn))) => {
                        this.sent = Some(id);
                        this.solo = true;
                        let result = ready!(this.shared.drive_solo(cx, conn, id));
                        return Poll::Ready(this.finish(result));
                    }
                    Err(e) => {
                        this.done = true;
                        let result = Err(e);
                        trace.finish(&result);
                        return Poll::Ready(result);
                    }
                }
            }
        };
        let result = if this.solo {
            ready!(this.shared.poll_solo(cx, id))
        } else {
            ready!(this.shared.poll_one(cx, id))
        };
        Poll::Ready(this.finish(result))
    }
}

impl<C: ?Sized> Call<'_, C> {
    fn finish(
        &mut self,
        result: Result<Response, memcache_codec::CommandError>,
    ) -> Result<Response, Error> {
        let result = result.map_err(Error::from);
        self.done = true;
        if let Some(trace) = &self.trace {
            trace.finish(&result);
        }
        result
    }
}

impl<C: ?Sized> Drop for Call<'_, C> {
    fn drop(&mut self) {
        if let (Some(id), false) = (self.sent, self.done) {
            self.shared.abandon(id, id, self.solo);
        }
    }
}

/// The future of [`Client::pipeline`].
#[must_use = "nothing is sent until the future is polled"]
pub struct Pipeline<'a> {
    shared: &'a Shared,
    commands: &'a [&'a (dyn Command + Sync)],
    begin: Begin,
    /// Each command's slot id, or why it was refused.
    sent: Option<Vec<Result<u64, Error>>>,
    done: bool,
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("commands", &self.commands.len())
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl Pipeline<'_> {
    fn range(&self) -> Option<(u64, u64)> {
        let ids = self.sent.as_ref()?;
        let mut ids = ids.iter().filter_map(|r| r.as_ref().ok().copied());
        let first = ids.next()?;
        Some((first, ids.last().unwrap_or(first)))
    }
}

impl Future for Pipeline<'_> {
    type Output = Vec<Result<Response, Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.sent.is_none() {
            let commands = this.commands;
            let config = &this.shared.config;
            let sent = this
                .shared
                .submit(cx, &mut this.begin, commands.len(), false, |s| {
                    Ok(commands
                        .iter()
                        .map(|c| {
                            if is_watch(*c, config) {
                                return Err(Error::WatchNeedsOwnConnection);
                            }
                            s.send(*c).map_err(Error::Encode)
                        })
                        .collect::<Vec<_>>())
                });
            match ready!(sent) {
                Ok((ids, _)) => this.sent = Some(ids),
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(vec![Err(e); commands.len()]);
                }
            }
        }
        let results = match this.range() {
            Some((first, last)) => ready!(this.shared.poll_range(cx, first, last)),
            None => Vec::new(),
        };
        this.done = true;
        let mut results = results.into_iter();
        let sent = this.sent.take().unwrap_or_default();
        Poll::Ready(
            sent.into_iter()
                .map(|id| match id {
                    Ok(_) => results.next().map_or(
                        Err(Error::Connection(memcache_codec::ConnectionError::Closed)),
                        |r| r.map_err(Error::from),
                    ),
                    Err(e) => Err(e),
                })
                .collect(),
        )
    }
}

impl Drop for Pipeline<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Some((first, last)) = self.range() {
                self.shared.abandon(first, last, false);
            }
        }
    }
}

/// The future of a quiet `mg` batch: the batch's tokens and each `mg`'s result.
#[must_use = "nothing is sent until the future is polled"]
#[derive(Debug)]
pub(crate) struct QuietGets<'a> {
    shared: &'a Shared,
    gets: &'a [MetaGet<'a>],
    begin: Begin,
    /// The batch and the slot id of its first `mg`.
    sent: Option<(QuietBatch, u64)>,
    done: bool,
}

type QuietResults = Vec<Result<Response, memcache_codec::CommandError>>;

impl Future for QuietGets<'_> {
    type Output = Result<(QuietBatch, QuietResults), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (batch, first) = match this.sent {
            Some(sent) => sent,
            None => {
                let gets = this.gets;
                let sent = this
                    .shared
                    .submit(cx, &mut this.begin, gets.len() + 1, false, |s| {
                        s.send_quiet_batch(gets)
                    });
                match ready!(sent) {
                    Ok((sent, _)) => {
                        this.sent = Some(sent);
                        sent
                    }
                    Err(e) => {
                        this.done = true;
                        return Poll::Ready(Err(e));
                    }
                }
            }
        };
        let fence = first + batch.len() as u64;
        let mut results = ready!(this.shared.poll_range(cx, first, fence));
        this.done = true;
        results.pop(); // the fence's
        Poll::Ready(Ok((batch, results)))
    }
}

impl Drop for QuietGets<'_> {
    fn drop(&mut self) {
        if let (Some((batch, first)), false) = (self.sent, self.done) {
            self.shared
                .abandon(first, first + batch.len() as u64, false);
        }
    }
}
