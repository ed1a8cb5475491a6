//! The server: options, clock, connection state machine and command dispatch.

use crate::parse::{
    LINE_LIMIT, READ_BUFFER_SIZE, Tokens, command_line, long_line_allowed, tokenize,
};
use crate::stats::{Counters, Prefixes};
use crate::store::{CLOCK_OFFSET, Item, Lookup, REALTIME_MAXDELTA, Store};
use crate::version::{Version, since};

/// Commands memcached handles per read event before it yields.
const REQS_PER_EVENT: i32 = 20;

/// Server settings, like memcached's command-line options.
///
/// Build one with struct update syntax:
///
/// ```
/// use memcache_testkit::{Options, Server};
///
/// let server = Server::with_options(Options { shutdown_enabled: true, ..Options::default() });
/// # drop(server);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Largest item, header included (`-I`). Default 1 MiB. The largest value
    /// is a little smaller: `item_size_max - (48 + 8 + keylen + 1 + 2 + (flags != 0 ? 4 : 0))`.
    pub item_size_max: usize,
    /// `shutdown` is allowed (`-A`). Default off: `shutdown` gets
    /// `ERROR: shutdown not enabled`.
    pub shutdown_enabled: bool,
    /// Every connection is over the connection limit: it gets
    /// `ERROR Too many open connections\r\n` (delivered by the next
    /// [`Server::feed`]) and is closed.
    pub max_connections_reached: bool,
    /// `-c`, reported by `stats`. Default 1024.
    pub max_connections: u32,
    /// `-m` in megabytes. Default 64. The model evicts least recently stored
    /// items when the accounted item bytes exceed it.
    pub memory_limit_mb: u64,
    /// cas uniques are kept (default); `false` is `-C` (every cas is 0).
    pub cas_enabled: bool,
    /// `flush_all` is allowed (default); `false` is `-F`.
    pub flush_enabled: bool,
    /// `stats cachedump` and `lru_crawler metadump` are allowed (default);
    /// `false` is `-X`.
    pub dump_enabled: bool,
    /// `watch` is allowed (default); `false` is `-W`.
    pub watch_enabled: bool,
    /// TCP port, reported by `stats settings` and `stats conns`. Default 11211.
    pub tcp_port: u16,
    /// Listen address (`-l`), reported by `stats settings` (`inter`) and
    /// `stats conns`. Default `None` (all interfaces).
    pub listen: Option<String>,
    /// Unix time of the virtual clock when the server starts. Default
    /// 1700000000. The model never reads the system clock.
    pub start_time: u64,
    /// Cap on the read buffer that a `get`/`gets` line without a newline may
    /// grow to. memcached grows it until memory runs out, then replies
    /// `SERVER_ERROR out of memory reading request` and closes; the model does
    /// the same at this size. Default 8 MiB.
    pub max_read_buffer: usize,
    /// The memcached release imitated: `version` answers it, and every
    /// behaviour the crate docs list under "Server versions" follows it.
    /// Default [`Version::V1_6_18`].
    pub version: Version,
    /// A build with `--enable-large-client-flags` (1.6.22 and later): client
    /// flags are 64 bits wide (`VALUE k <u64>`, meta `F`/`f`), items take 8
    /// bytes for them, and `stats settings` shows `client_flags_size 8`.
    /// Default off: flags are 32 bits, and a larger number is cut to its low
    /// 32 bits like memcached's `strtoul` into a `uint32_t` (1.6.45 refuses
    /// it in meta `F` instead).
    pub large_client_flags: bool,
    /// ASCII authentication (`-Y <authfile>`). `None` (default) is no
    /// authentication. See [`AsciiAuth`].
    pub auth: Option<AsciiAuth>,
    /// Answer `config get cluster` like an AWS ElastiCache (memcached
    /// engine) configuration endpoint, with this cluster. `None` (default)
    /// is plain memcached, which answers `ERROR`.
    pub elasticache_cluster: Option<ClusterConfig>,
}

/// The cluster an ElastiCache configuration endpoint describes
/// ([`Options::elasticache_cluster`]).
///
/// `config get cluster` is answered as AWS documents it (and pymemcache's
/// `AWSElastiCacheHashClient` reads it, up to `\n\r\nEND\r\n`):
///
/// ```text
/// CONFIG cluster 0 <bytes>\r\n
/// <version>\n
/// <host>|<ip>|<port> <host>|<ip>|<port> ...\n
/// \r\n
/// END\r\n
/// ```
///
/// where `<bytes>` counts the two `\n`-terminated lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The configuration version, incremented by ElastiCache on each change.
    pub version: u64,
    /// The nodes: host name, IP address, port.
    pub nodes: Vec<(String, String, u16)>,
}

impl ClusterConfig {
    /// The whole reply to `config get cluster`.
    pub fn reply(&self) -> Vec<u8> {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|(host, ip, port)| format!("{host}|{ip}|{port}"))
            .collect();
        let body = format!("{}\n{}\n", self.version, nodes.join(" "));
        format!("CONFIG cluster 0 {}\r\n{body}\r\nEND\r\n", body.len()).into_bytes()
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            item_size_max: 1024 * 1024,
            shutdown_enabled: false,
            max_connections_reached: false,
            max_connections: 1024,
            memory_limit_mb: 64,
            cas_enabled: true,
            flush_enabled: true,
            dump_enabled: true,
            watch_enabled: true,
            tcp_port: 11211,
            listen: None,
            start_time: 1_700_000_000,
            max_read_buffer: 8 * 1024 * 1024,
            version: Version::V1_6_18,
            large_client_flags: false,
            auth: None,
            elasticache_cluster: None,
        }
    }
}

/// ASCII authentication, memcached's `-Y <authfile>`
/// ([`Options::auth`]), as 1.6.18 does it:
///
/// * each connection starts unauthenticated, and memcached reads only the
///   text protocol (`stats settings`: `binding_protocol ascii`,
///   `auth_enabled_ascii <authfile path>`);
/// * until authenticated, every line gets `CLIENT_ERROR unauthenticated`,
///   except `set <key> <flags> <exptime> <bytes>` (anything after the fifth
///   token ignored, `noreply` too), whose data block is read as
///   `<user> <password>` and answered `STORED` (authenticated from then on)
///   or `CLIENT_ERROR authentication failure` (more tokens are ignored; one
///   token is `CLIENT_ERROR bad authentication token format`, a block not
///   ending in `\r\n` is `CLIENT_ERROR bad command line termination`);
/// * every reply before authentication is written into the same response
///   object, which memcached resets for each: only the last of the replies
///   produced before a flush (the server waiting for input, or 21 commands in
///   one read) is sent. So a `set` pipelined behind a failed authentication
///   is read as a second attempt (its data block as credentials), and the
///   `CLIENT_ERROR authentication failure` is never seen;
/// * a line of more than 2048 bytes without a newline closes the connection.
///
/// Verified against memcached 1.6.18 (`testkit/tests/data`); 1.6.40 and
/// later read credentials differently (everything after the first space is
/// the password; short lines close the connection), which is not modelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsciiAuth {
    /// The authfile's path, which `stats settings` shows as
    /// `auth_enabled_ascii`.
    pub authfile: String,
    /// The `user:password` lines, as pairs.
    pub users: Vec<(String, String)>,
}

impl AsciiAuth {
    /// Reads an authfile's text: one `user:password` per line; the
    /// password ends at `\r` or `\n`. `None` for a line without `:`
    /// (memcached refuses to start then).
    ///
    /// ```
    /// use memcache_testkit::AsciiAuth;
    ///
    /// let auth = AsciiAuth::parse("/etc/mc.auth", "alice:secret\nbob:pw\n").unwrap();
    /// assert_eq!(auth.users, [("alice".into(), "secret".into()), ("bob".into(), "pw".into())]);
    /// ```
    pub fn parse(authfile: &str, text: &str) -> Option<Self> {
        let users = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (user, pass) = line.split_once(':')?;
                let pass = pass.split(['\r', '\n']).next().unwrap_or("");
                Some((user.to_owned(), pass.to_owned()))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            authfile: authfile.to_owned(),
            users,
        })
    }
}

impl Options {
    /// Options for the newest release the model knows
    /// ([`Version::LATEST`]), built with or without
    /// `--enable-large-client-flags`; everything else default.
    pub fn latest(large_client_flags: bool) -> Self {
        Self {
            version: Version::LATEST,
            large_client_flags,
            ..Self::default()
        }
    }
}

/// Settings that commands can change at run time.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) verbose: u32,
    pub(crate) maxbytes: u64,
    pub(crate) detail_enabled: bool,
    pub(crate) slab_automove: u32,
    pub(crate) slab_automove_ratio: f64,
    pub(crate) hot_lru_pct: u32,
    pub(crate) warm_lru_pct: u32,
    pub(crate) hot_max_factor: f64,
    pub(crate) warm_max_factor: f64,
    pub(crate) lru_segmented: bool,
    pub(crate) temp_lru: bool,
    pub(crate) temporary_ttl: i32,
    pub(crate) crawler_running: bool,
    /// The read event in which `lru_crawler disable` stopped the crawler.
    pub(crate) crawler_stopped_in: Option<u64>,
    /// The read event in which `lru_crawler crawl` started the crawler.
    pub(crate) crawl_busy_in: Option<u64>,
    pub(crate) lru_crawler_sleep: u32,
    pub(crate) lru_crawler_tocrawl: u32,
    /// `Some(cas)` while `stats sizes` tracking is on: items with a cas at or
    /// above it are counted.
    pub(crate) sizes_since: Option<u64>,
    pub(crate) ext_item_size: u32,
    pub(crate) ext_item_age: u32,
    pub(crate) ext_low_ttl: u32,
    pub(crate) ext_recache_rate: u32,
    pub(crate) ext_compact_under: u32,
    pub(crate) ext_drop_under: u32,
    pub(crate) ext_max_sleep: u32,
    pub(crate) ext_max_frag: f64,
    pub(crate) ext_drop_unread: bool,
}

impl Settings {
    fn new(opts: &Options) -> Self {
        Self {
            verbose: 0,
            maxbytes: opts.memory_limit_mb.saturating_mul(1024 * 1024),
            detail_enabled: false,
            slab_automove: 1,
            slab_automove_ratio: 0.8,
            hot_lru_pct: 20,
            warm_lru_pct: 40,
            hot_max_factor: 0.2,
            warm_max_factor: 2.0,
            lru_segmented: true,
            temp_lru: false,
            temporary_ttl: 61,
            crawler_running: true,
            crawler_stopped_in: None,
            crawl_busy_in: None,
            lru_crawler_sleep: 100,
            lru_crawler_tocrawl: 0,
            sizes_since: None,
            ext_item_size: 512,
            ext_item_age: u32::MAX,
            ext_low_ttl: 0,
            ext_recache_rate: 2000,
            ext_compact_under: 0,
            ext_drop_under: 0,
            ext_max_sleep: 1_000_000,
            ext_max_frag: 0.8,
            ext_drop_unread: false,
        }
    }
}

/// Which store operation a data block is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comm {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas,
    /// `ms MA N<ttl>` (1.6.20): append, or store if missing.
    AppendViv,
    /// `ms MP N<ttl>` (1.6.20): prepend, or store if missing.
    PrependViv,
}

/// A return flag of `ms`, kept until the store result is known.
#[derive(Debug, Clone)]
pub(crate) enum MsRet {
    Opaque(Vec<u8>),
    Key,
    Cas,
    /// `s` (1.6.20): the size of the stored value.
    Size,
}

/// `ms` details carried to the end of the data block.
#[derive(Debug, Clone)]
pub(crate) struct MsCtx {
    pub(crate) rets: Vec<MsRet>,
    pub(crate) key_binary: bool,
    pub(crate) set_stale: bool,
}

/// A storage command waiting for its data block.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) key: Vec<u8>,
    pub(crate) flags: u64,
    pub(crate) exptime: u32,
    pub(crate) req_cas: u64,
    pub(crate) comm: Comm,
    pub(crate) data: Vec<u8>,
    /// Payload plus the two terminator bytes.
    pub(crate) need: usize,
    pub(crate) noreply: bool,
    pub(crate) meta: Option<MsCtx>,
    /// `ms … E<cas>` (1.6.27): the cas the stored item gets.
    pub(crate) cas_in: Option<u64>,
}

#[derive(Debug, Clone)]
enum State {
    /// Waiting for a command line.
    Parse,
    /// Reading a data block.
    Nread(Box<Pending>),
    /// Throwing away this many bytes.
    Swallow(usize),
    /// Reading the `<user> <password>` block of an authentication `set`:
    /// this many bytes, terminator included.
    AuthData(usize),
}

#[derive(Debug, Clone)]
struct Conn {
    /// Input not consumed yet: the read buffer's bytes, then the bytes still
    /// "in the socket".
    buf: Vec<u8>,
    pos: usize,
    /// How many bytes of `buf[pos..]` are in the read buffer.
    rbytes: usize,
    rsize: usize,
    malloced: bool,
    state: State,
    closed: bool,
    greeting: Option<&'static [u8]>,
    /// Commands whose replies are still queued (since the last flush).
    since_flush: usize,
    /// Reply bytes not written yet. memcached writes them at flush points
    /// only (after a get, `mn`, every 21 commands, or when it waits for a
    /// command line); a failed get or an abrupt close drops them.
    queue: Vec<u8>,
    /// Items (by LRU sequence number) referenced by queued `mg` replies: an
    /// item with an extra reference is not changed in place by incr/decr.
    pinned: Vec<u64>,
    /// The current command's reply is sent at once (get family, `mn`).
    flush_requested: bool,
    /// Commands left in this read event before memcached yields (and
    /// flushes): `reqs_per_event` is 20.
    nreqs: i32,
    /// Stop working on buffered input until the next `feed`.
    paused: bool,
    watching: bool,
    /// The protocol was chosen (on the first byte received).
    negotiated: bool,
    /// Authenticated with `-Y` (always true without it).
    authenticated: bool,
    /// Where the unflushed reply written before authentication starts in
    /// the queue: the next one replaces it (one reused response object).
    auth_reply_at: Option<usize>,
    id: u64,
}

impl Conn {
    fn new(id: u64) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            rbytes: 0,
            rsize: READ_BUFFER_SIZE,
            malloced: false,
            state: State::Parse,
            closed: false,
            greeting: None,
            since_flush: 0,
            queue: Vec::new(),
            pinned: Vec::new(),
            flush_requested: false,
            nreqs: REQS_PER_EVENT,
            paused: false,
            watching: false,
            negotiated: false,
            authenticated: true,
            auth_reply_at: None,
            id,
        }
    }
}

/// What a command handler wants the connection to do next.
pub(crate) enum Next {
    Continue,
    Read(Box<Pending>),
    Swallow(usize),
    /// Close after writing the queued replies (`quit`).
    Close,
    /// Close at once; queued replies are lost (memcached's `conn_closing`).
    Abort,
    /// Stop processing buffered input until more arrives (`lru_crawler metadump`).
    Pause,
    /// The connection became a log stream (`watch`).
    Watch,
}

/// A model of one memcached server (`memcached -U 0` with default
/// settings; 1.6.18 unless [`Options::version`] says otherwise) and one
/// client connection to it.
///
/// Feed it the bytes a client sends; it appends the bytes the server would
/// send back. The store survives [`reconnect`](Self::reconnect); the input
/// buffer and the closed flag do not.
///
/// ```
/// use memcache_testkit::Server;
///
/// let mut server = Server::new();
/// let mut out = Vec::new();
/// server.feed(b"set k 0 0 5\r\nhello\r\nget k\r\n", &mut out);
/// assert_eq!(out, b"STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    pub(crate) opts: Options,
    pub(crate) settings: Settings,
    pub(crate) store: Store,
    pub(crate) counters: Counters,
    pub(crate) prefixes: Prefixes,
    /// Virtual unix time.
    pub(crate) now: u64,
    /// Unix time of relative time 0.
    pub(crate) process_started: u64,
    conn: Conn,
    shut_down: bool,
    pub(crate) total_connections: u64,
    /// Log lines queued by [`Server::watch_log`] for a watching connection.
    watch_lines: Vec<u8>,
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl Server {
    /// A server with default [`Options`].
    pub fn new() -> Self {
        Self::with_options(Options::default())
    }

    /// A server with the given options.
    ///
    /// # Panics
    ///
    /// If [`Options::large_client_flags`] is set for a version before
    /// 1.6.22, which had no such build option.
    pub fn with_options(options: Options) -> Self {
        assert!(
            !options.large_client_flags || options.version >= since::LARGE_FLAGS,
            "--enable-large-client-flags exists from memcached 1.6.22 on, not in {}",
            options.version
        );
        let start = options.start_time.max(CLOCK_OFFSET);
        let flags_size = if options.large_client_flags { 8 } else { 4 };
        let mut server = Self {
            settings: Settings::new(&options),
            store: Store::new(options.item_size_max, options.cas_enabled, flags_size),
            counters: Counters::default(),
            prefixes: Prefixes::default(),
            now: start,
            process_started: start - CLOCK_OFFSET,
            conn: Conn::new(1),
            shut_down: false,
            total_connections: 1,
            watch_lines: Vec::new(),
            opts: options,
        };
        if server.since(since::CAS_IN) {
            // 1.6.27 starts its cas counter at 1: the first item gets 2.
            server.store.skip_cas();
        }
        server.open_connection();
        server
    }

    /// Sets the virtual clock (unix seconds). Expiry, TTLs, `flush_all`
    /// delays and access times use it. Setting it before the server's start
    /// moves the start back too.
    pub fn set_time(&mut self, unix_seconds: u64) {
        if unix_seconds < self.process_started.saturating_add(CLOCK_OFFSET) {
            self.process_started = unix_seconds.saturating_sub(CLOCK_OFFSET);
        }
        self.now = unix_seconds;
    }

    /// Moves the virtual clock forward.
    pub fn advance(&mut self, seconds: u64) {
        self.now = self.now.saturating_add(seconds);
    }

    /// The virtual clock (unix seconds).
    pub fn time(&self) -> u64 {
        self.now
    }

    /// True once the server closed the connection (`quit`, `shutdown` with
    /// `-A`, a line too long, a last token starting with `HTTP/`, ...). After
    /// that, input is ignored until [`reconnect`](Self::reconnect).
    pub fn is_closed(&self) -> bool {
        self.conn.closed
    }

    /// True once `shutdown` stopped the server. New connections are closed at
    /// once.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    /// Starts a new client connection on the same store: buffered input,
    /// a half-read request and the closed flag are dropped.
    pub fn reconnect(&mut self) {
        self.total_connections += 1;
        self.conn = Conn::new(self.total_connections);
        self.open_connection();
    }

    fn open_connection(&mut self) {
        self.conn.authenticated = self.opts.auth.is_none();
        if self.shut_down {
            self.conn.closed = true;
        } else if self.opts.max_connections_reached {
            self.conn.greeting = Some(b"ERROR Too many open connections\r\n");
            self.conn.closed = true;
        }
    }

    /// Number of items stored (including expired ones not yet reclaimed).
    pub fn item_count(&self) -> usize {
        self.store.len()
    }

    /// Feeds bytes the client sent and appends the reply bytes to `out`.
    /// An incomplete trailing request stays buffered for the next call.
    ///
    /// Each call acts like one read of the socket (see the crate docs on
    /// reply timing): replies are appended when memcached would write them,
    /// so replies queued before a data block that has not fully arrived show
    /// up only once it has, and a request line between 2 KiB and 16 KiB is
    /// accepted only if its newline arrives in the same call. After
    /// `lru_crawler metadump`, memcached leaves the rest of the input for its
    /// next read, and so does the model: it runs on the next call (an empty
    /// one will do). After `watch`, input is ignored.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        if let Some(greeting) = self.conn.greeting.take() {
            out.extend_from_slice(greeting);
        }
        if self.conn.watching && !self.conn.closed {
            out.append(&mut self.watch_lines);
        }
        if self.conn.closed || self.conn.watching {
            return;
        }
        self.counters.bytes_read = self.counters.bytes_read.saturating_add(input.len() as u64);
        self.conn.buf.extend_from_slice(input);
        self.conn.paused = false;
        self.conn.nreqs = REQS_PER_EVENT;
        self.store.feed += 1;
        self.store.bump_refs.clear();
        let mut queue = std::mem::take(&mut self.conn.queue);
        self.run(&mut queue, out);
        if self.conn.closed || self.conn.watching || self.conn.paused {
            out.append(&mut queue);
        }
        self.conn.queue = queue;
        let conn = &mut self.conn;
        if conn.closed || conn.watching {
            conn.buf = Vec::new();
            conn.pos = 0;
            conn.rbytes = 0;
        } else if conn.pos > 0 {
            conn.buf.drain(..conn.pos);
            conn.pos = 0;
        }
        let written = out.len().saturating_sub(start) as u64;
        self.counters.bytes_written = self.counters.bytes_written.saturating_add(written);
    }

    fn close(&mut self) {
        self.conn.closed = true;
        self.conn.state = State::Parse;
    }

    /// `conn_closing`: replies not written yet are lost.
    fn abort(&mut self, queue: &mut Vec<u8>) {
        queue.clear();
        self.close();
    }

    /// The drive loop: parse lines, read data blocks, swallow. Replies go to
    /// `queue`, and move to `out` when memcached would write them.
    fn run(&mut self, queue: &mut Vec<u8>, out: &mut Vec<u8>) {
        loop {
            if self.conn.closed || self.conn.watching || self.conn.paused {
                return;
            }
            let avail = self.conn.buf.len() - self.conn.pos;
            match std::mem::replace(&mut self.conn.state, State::Parse) {
                State::Parse => {
                    let pos = self.conn.pos;
                    if !self.conn.negotiated && self.conn.rbytes > 0 {
                        self.conn.negotiated = true;
                        // With -Y, memcached speaks only the text protocol.
                        let ascii_only = self.opts.auth.is_some();
                        if !ascii_only && self.conn.buf.get(pos) == Some(&0x80) {
                            // The binary protocol is not modelled.
                            self.abort(queue);
                            continue;
                        }
                    }
                    let window = &self.conn.buf[pos..pos + self.conn.rbytes];
                    let authenticated = self.conn.authenticated;
                    // Before authentication, memcached waits for 2 bytes.
                    let newline = if authenticated || window.len() >= 2 {
                        memchr::memchr(b'\n', window)
                    } else {
                        None
                    };
                    if let Some(i) = newline {
                        let raw = window[..i].to_vec();
                        self.conn.pos += i + 1;
                        self.conn.rbytes -= i + 1;
                        if authenticated {
                            self.process_line(&raw, queue, out);
                        } else {
                            self.auth_line(&raw, queue, out);
                        }
                        continue;
                    }
                    if self.conn.rbytes > LINE_LIMIT {
                        if !authenticated || !long_line_allowed(window) {
                            self.abort(queue);
                            continue;
                        }
                        if !self.conn.malloced {
                            self.conn.malloced = true;
                            self.conn.rsize = READ_BUFFER_SIZE * 2;
                        }
                    } else if self.conn.rbytes == 0 && self.conn.malloced {
                        self.conn.malloced = false;
                        self.conn.rsize = READ_BUFFER_SIZE;
                    }
                    // Replies are flushed while the server waits for input,
                    // and a new read event starts.
                    self.flush(queue, out);
                    if avail == self.conn.rbytes {
                        return;
                    }
                    if self.conn.rbytes >= self.conn.rsize {
                        let grown = self.conn.rsize.saturating_mul(2);
                        if !self.conn.malloced || grown > self.opts.max_read_buffer {
                            queue.extend_from_slice(
                                b"SERVER_ERROR out of memory reading request\r\n",
                            );
                            self.close();
                            continue;
                        }
                        self.conn.rsize = grown;
                    }
                    self.conn.rbytes = avail.min(self.conn.rsize);
                }
                State::Nread(mut p) => {
                    let want = p.need - p.data.len();
                    let take = want.min(avail);
                    let pos = self.conn.pos;
                    p.data.extend_from_slice(&self.conn.buf[pos..pos + take]);
                    self.conn.pos += take;
                    self.conn.rbytes = self.conn.rbytes.saturating_sub(take);
                    if p.data.len() < p.need {
                        self.conn.state = State::Nread(p);
                        return;
                    }
                    self.complete_nread(*p, queue);
                    self.command_done(queue, out);
                }
                State::AuthData(need) => {
                    if avail < need {
                        self.conn.state = State::AuthData(need);
                        self.flush(queue, out);
                        return;
                    }
                    let pos = self.conn.pos;
                    let block = self.conn.buf[pos..pos + need].to_vec();
                    self.conn.pos += need;
                    self.conn.rbytes = self.conn.rbytes.saturating_sub(need);
                    self.auth_check(&block, queue);
                    self.command_done(queue, out);
                }
                State::Swallow(n) => {
                    let take = n.min(avail);
                    self.conn.pos += take;
                    self.conn.rbytes = self.conn.rbytes.saturating_sub(take);
                    if take < n {
                        self.conn.state = State::Swallow(n - take);
                        return;
                    }
                    self.command_done(queue, out);
                }
            }
        }
    }

    /// A line before authentication (`try_read_command_asciiauth()`): only
    /// `set <key> <flags> <exptime> <bytes>` is taken, and its data block is
    /// read as the credentials.
    fn auth_line(&mut self, raw: &[u8], queue: &mut Vec<u8>, out: &mut Vec<u8>) {
        // memcached tokenizes the line as a C string, `\r` included.
        let line = raw.split(|b| *b == 0).next().unwrap_or(&[]);
        let t = tokenize(line);
        let size = if t.ntokens() >= 6 && t.get(0) == b"set" {
            crate::numbers::strtoul32(t.get(4))
        } else {
            None
        };
        match size {
            Some(size) => self.conn.state = State::AuthData(size as usize + 2),
            None => {
                self.auth_reply(queue, b"CLIENT_ERROR unauthenticated\r\n");
                self.command_done(queue, out);
            }
        }
    }

    /// The credentials block of an authentication `set`, terminator included.
    fn auth_check(&mut self, block: &[u8], queue: &mut Vec<u8>) {
        let Some(payload) = block.strip_suffix(b"\r\n") else {
            self.auth_reply(queue, b"CLIENT_ERROR bad command line termination\r\n");
            return;
        };
        let payload = payload.split(|b| *b == 0).next().unwrap_or(&[]);
        let t = tokenize(payload);
        if t.ntokens() < 3 {
            self.auth_reply(queue, b"CLIENT_ERROR bad authentication token format\r\n");
            return;
        }
        let (user, pass) = (t.get(0), t.get(1));
        let ok = self.opts.auth.as_ref().is_some_and(|auth| {
            auth.users
                .iter()
                .any(|(u, p)| u.as_bytes() == user && p.as_bytes() == pass)
        });
        self.counters.auth_cmds += 1;
        if ok {
            self.auth_reply(queue, b"STORED\r\n");
            self.conn.authenticated = true;
        } else {
            self.counters.auth_errors += 1;
            self.auth_reply(queue, b"CLIENT_ERROR authentication failure\r\n");
        }
    }

    /// `out_string()` before authentication: the one response object is
    /// reset, so an unflushed earlier reply is replaced.
    fn auth_reply(&mut self, queue: &mut Vec<u8>, line: &[u8]) {
        match self.conn.auth_reply_at {
            Some(at) if at <= queue.len() => queue.truncate(at),
            _ => self.conn.auth_reply_at = Some(queue.len()),
        }
        queue.extend_from_slice(line);
    }

    /// Whether the imitated release is `v` or later.
    pub(crate) fn since(&self, v: Version) -> bool {
        self.opts.version >= v
    }

    /// Delivers a log line to a connection that ran `watch`: it is written,
    /// followed by `\n`, on the next [`feed`](Self::feed) (an empty one
    /// will do). Returns false, dropping the line, when the connection is
    /// not watching.
    ///
    /// The model has one connection, so it cannot produce the lines that
    /// other clients' commands would cause; a test that needs a log stream
    /// injects them here, in the format its watcher kind uses (for example
    /// `ts=… gid=… type=item_get key=k status=found clsid=1 cfd=21` for
    /// `watch fetchers` on 1.6.18).
    pub fn watch_log(&mut self, line: &[u8]) -> bool {
        if !self.conn.watching || self.conn.closed {
            return false;
        }
        self.watch_lines.extend_from_slice(line);
        self.watch_lines.push(b'\n');
        true
    }

    /// Whether the connection ran `watch` and is now a log stream.
    pub fn is_watching(&self) -> bool {
        self.conn.watching && !self.conn.closed
    }

    fn process_line(&mut self, raw: &[u8], queue: &mut Vec<u8>, out: &mut Vec<u8>) {
        let line = command_line(raw);
        let tokens = tokenize(line);
        self.conn.flush_requested = false;
        let next = self.dispatch(&tokens, queue);
        match next {
            Next::Continue => self.command_done(queue, out),
            Next::Read(p) => self.conn.state = State::Nread(p),
            Next::Swallow(n) => self.conn.state = State::Swallow(n),
            Next::Close => self.close(),
            Next::Abort => self.abort(queue),
            Next::Pause => {
                self.command_done(queue, out);
                self.conn.paused = true;
            }
            Next::Watch => self.conn.watching = true,
        }
    }

    /// A command finished (memcached's `conn_new_cmd`): its reply is queued,
    /// or sent at once; every 21 commands in one read event, memcached yields
    /// and flushes.
    fn command_done(&mut self, queue: &mut Vec<u8>, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.conn.flush_requested) {
            self.flush(queue, out);
        } else {
            self.conn.since_flush += 1;
        }
        self.conn.nreqs -= 1;
        if self.conn.nreqs < 0 {
            self.flush(queue, out);
        }
    }

    /// Queued replies are written; a new read event starts.
    fn flush(&mut self, queue: &mut Vec<u8>, out: &mut Vec<u8>) {
        out.append(queue);
        self.conn.auth_reply_at = None;
        self.conn.pinned.clear();
        self.conn.since_flush = 0;
        self.conn.nreqs = REQS_PER_EVENT;
    }

    /// The current command's reply is written at once.
    pub(crate) fn request_flush(&mut self) {
        self.conn.flush_requested = true;
    }

    /// `conn_release_items()`: drops the replies not written yet.
    pub(crate) fn drop_queued_replies(&mut self, queue: &mut Vec<u8>) {
        queue.clear();
        self.conn.pinned.clear();
        self.conn.since_flush = 0;
    }

    /// A queued reply references this item until it is written.
    pub(crate) fn pin(&mut self, seq: u64) {
        self.conn.pinned.push(seq);
    }

    /// Whether a queued reply references this item.
    pub(crate) fn is_pinned(&self, seq: u64) -> bool {
        self.conn.pinned.contains(&seq) || self.store.bump_refs.contains(&seq)
    }

    /// Whether replies of earlier commands are still queued.
    pub(crate) fn replies_queued(&self) -> bool {
        self.conn.since_flush > 0
    }

    /// Connection number (for `stats conns`).
    pub(crate) fn conn_id(&self) -> u64 {
        self.conn.id
    }

    /// `process_command_ascii()`.
    fn dispatch(&mut self, t: &Tokens<'_>, out: &mut Vec<u8>) -> Next {
        let n = t.ntokens();
        let cmd = t.get(0);
        if n < 2 || cmd.len() < 2 {
            return error(out);
        }
        let want = |ok: bool, out: &mut Vec<u8>| {
            if !ok {
                out.extend_from_slice(b"ERROR\r\n");
            }
            ok
        };
        if cmd[0] == b'm' && cmd.len() == 2 {
            return match cmd[1] {
                b'g' => self.cmd_mg(t, out),
                b's' => self.cmd_ms(t, out),
                b'd' => self.cmd_md(t, out),
                b'a' => self.cmd_ma(t, out),
                b'e' => self.cmd_me(t, out),
                b'n' => {
                    self.counters.meta_cmds += 1;
                    self.request_flush();
                    out.extend_from_slice(b"MN\r\n");
                    Next::Continue
                }
                _ => error(out),
            };
        }
        match cmd[0] {
            b'g' => {
                if !want(n >= 3, out) {
                    return Next::Continue;
                }
                match cmd {
                    b"get" => self.cmd_get(t, false, false, out),
                    b"gets" => self.cmd_get(t, true, false, out),
                    b"gat" => self.cmd_get(t, false, true, out),
                    b"gats" => self.cmd_get(t, true, true, out),
                    _ => error(out),
                }
            }
            b's' => match cmd {
                b"set" if want(n == 6 || n == 7, out) => self.cmd_update(t, Comm::Set, out),
                b"set" => Next::Continue,
                b"stats" => self.cmd_stats(t, out),
                b"shutdown" => self.cmd_shutdown(t, out),
                b"slabs" => self.cmd_slabs(t, out),
                _ => error(out),
            },
            b'a' => match cmd {
                b"add" | b"append" if !want(n == 6 || n == 7, out) => Next::Continue,
                b"add" => self.cmd_update(t, Comm::Add, out),
                b"append" => self.cmd_update(t, Comm::Append, out),
                _ => error(out),
            },
            b'c' => match cmd {
                b"cas" if want(n == 7 || n == 8, out) => self.cmd_update(t, Comm::Cas, out),
                b"cache_memlimit" if want(n == 3 || n == 4, out) => self.cmd_memlimit(t, out),
                b"cas" | b"cache_memlimit" => Next::Continue,
                b"config" => match &self.opts.elasticache_cluster {
                    Some(cluster) if t.toks[1..] == [&b"get"[..], b"cluster"] => {
                        out.extend_from_slice(&cluster.reply());
                        Next::Continue
                    }
                    _ => error(out),
                },
                _ => error(out),
            },
            b'i' => match cmd {
                b"incr" if want(n == 4 || n == 5, out) => self.cmd_arith(t, true, out),
                b"incr" => Next::Continue,
                _ => error(out),
            },
            b'd' => match cmd {
                b"delete" if want((3..=5).contains(&n), out) => self.cmd_delete(t, out),
                b"decr" if want(n == 4 || n == 5, out) => self.cmd_arith(t, false, out),
                b"delete" | b"decr" => Next::Continue,
                _ => error(out),
            },
            b't' => match cmd {
                b"touch" if want(n == 4 || n == 5, out) => self.cmd_touch(t, out),
                b"touch" => Next::Continue,
                _ => error(out),
            },
            _ => match cmd {
                b"replace" | b"prepend" if !want(n == 6 || n == 7, out) => Next::Continue,
                b"replace" => self.cmd_update(t, Comm::Replace, out),
                b"prepend" => self.cmd_update(t, Comm::Prepend, out),
                b"bget" if want(n >= 3, out) => self.cmd_get(t, false, false, out),
                b"flush_all" if want((2..=4).contains(&n), out) => self.cmd_flush_all(t, out),
                b"bget" | b"flush_all" => Next::Continue,
                b"version" => {
                    out.extend_from_slice(format!("VERSION {}\r\n", self.opts.version).as_bytes());
                    Next::Continue
                }
                b"quit" => Next::Close,
                b"lru_crawler" => self.cmd_lru_crawler(t, out),
                b"watch" => self.cmd_watch(t, out),
                b"verbosity" if want(n == 3 || n == 4, out) => self.cmd_verbosity(t, out),
                b"lru" if want(n >= 3, out) => self.cmd_lru(t, out),
                b"extstore" if want(n >= 3, out) => self.cmd_extstore(t, out),
                b"verbosity" | b"lru" | b"extstore" => Next::Continue,
                b"refresh_certs" => {
                    out.extend_from_slice(b"Error TLS not enabled\r\n");
                    Next::Continue
                }
                _ => {
                    if t.last().starts_with(b"HTTP/") {
                        Next::Abort
                    } else {
                        error(out)
                    }
                }
            },
        }
    }

    /// `shutdown` stopped the server.
    pub(crate) fn shut_down(&mut self) {
        self.shut_down = true;
    }

    /// memcached's `current_time`: seconds since `process_started`.
    pub(crate) fn current_time(&self) -> u32 {
        self.now
            .saturating_sub(self.process_started)
            .min(u64::from(u32::MAX)) as u32
    }

    /// `realtime()`: a protocol exptime to a relative time.
    pub(crate) fn realtime(&self, exptime: i64) -> u32 {
        if exptime == 0 {
            return 0;
        }
        if exptime > REALTIME_MAXDELTA {
            if i128::from(exptime) <= i128::from(self.process_started) {
                1
            } else {
                (i128::from(exptime) - i128::from(self.process_started)) as u32
            }
        } else {
            (exptime + i64::from(self.current_time())) as u32
        }
    }

    /// `do_item_get()` with stats: true on a live hit.
    pub(crate) fn get_item(&mut self, key: &[u8], update: bool) -> bool {
        let now = self.current_time();
        match self.store.lookup(key, now, update) {
            Lookup::Hit => true,
            Lookup::Miss => false,
            Lookup::Expired => {
                self.counters.get_expired += 1;
                false
            }
            Lookup::Flushed => {
                self.counters.get_flushed += 1;
                false
            }
        }
    }

    /// `do_item_link()` with the current settings; returns the new cas.
    pub(crate) fn link(&mut self, key: &[u8], it: Item) -> u64 {
        let now = self.current_time();
        let maxbytes = self.settings.maxbytes;
        self.store.link(key, it, now, maxbytes)
    }
}

/// `EXPTIME_TO_POSITIVE_TIME()`: negative times become "already expired".
pub(crate) fn positive_exptime(e: i32) -> i64 {
    if e < 0 {
        REALTIME_MAXDELTA + 1
    } else {
        i64::from(e)
    }
}

/// Writes a plain `ERROR`.
pub(crate) fn error(out: &mut Vec<u8>) -> Next {
    out.extend_from_slice(b"ERROR\r\n");
    Next::Continue
}

/// `out_string()`: a reply line, unless noreply is in effect.
pub(crate) fn reply(out: &mut Vec<u8>, noreply: bool, line: &[u8]) {
    if !noreply {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
}
