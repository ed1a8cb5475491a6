//! Admin commands: the LRU crawler and its dumps, slab page moves, LRU tuning,
//! ElastiCache's `config get cluster`, `refresh_certs`, `watch` and the legacy `bget`.
//!
//! Each writes one line whose length is worked out first, like every other command,
//! and keeps the line under memcached's 2048-byte limit (RESPONSES.md §1.5).

use std::fmt::Write as _;

use super::sealed::Encode;
use super::{
    Command, Encoded, Line, Writer, digits, fixed, key_len, refuse_after_quiet, signed_digits,
};
use crate::error::EncodeError;
use crate::expect::{AdminWords, DumpKind, Expect};
use crate::profile::ServerVersion;

/// The longest command line memcached reads (with its `\r\n`): past 2048 bytes
/// without a newline it closes the connection (RESPONSES.md §1.5).
pub(crate) const MAX_LINE: usize = 2048;

/// Refuses a line of `len` bytes (with its `\r\n`) that memcached would not read.
pub(crate) fn check_line_len(len: usize) -> Result<(), EncodeError> {
    if len > MAX_LINE {
        return Err(EncodeError::LineTooLong {
            len,
            limit: MAX_LINE,
        });
    }
    Ok(())
}

/// Which slab classes an `lru_crawler` command walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrawlTarget<'a> {
    /// `all`: every class holding items.
    All,
    /// `hash` (dumps only): walk the hash table instead of the LRUs, which visits
    /// every item once even while the LRUs are reordered.
    Hash,
    /// These class ids, written comma-separated (`1,5,10`). Must not be empty.
    Classes(&'a [u32]),
}

impl CrawlTarget<'_> {
    fn len(self) -> Result<usize, EncodeError> {
        Ok(match self {
            Self::All => 3,
            Self::Hash => 4,
            Self::Classes([]) => {
                return Err(EncodeError::InvalidArgument(
                    "an lru_crawler class list needs at least one class",
                ));
            }
            Self::Classes(ids) => ids.iter().map(|&id| digits(id.into()) + 1).sum::<usize>() - 1,
        })
    }

    fn write(self, line: &mut Line<'_>) {
        match self {
            Self::All => line.put(b"all"),
            Self::Hash => line.put(b"hash"),
            Self::Classes(ids) => {
                for (i, &id) in ids.iter().enumerate() {
                    if i > 0 {
                        line.byte(b',');
                    }
                    line.number(id.into());
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum CrawlerOp<'a> {
    Crawl(CrawlTarget<'a>),
    Dump(DumpKind, CrawlTarget<'a>),
    Enable(bool),
    Sleep(u32),
    Tocrawl(u32),
}

/// `lru_crawler ...`: the LRU crawler, and the two dumps it runs.
///
/// | Constructor | Wire | Completes with |
/// |---|---|---|
/// | [`crawl`](Self::crawl) | `lru_crawler crawl <ids\|all>` | [`Ok`](crate::Response::Ok), or [`Admin`](crate::Response::Admin) `BUSY`/`BADCLASS`/`NOTSTARTED` |
/// | [`metadump`](Self::metadump) | `lru_crawler metadump <ids\|all\|hash>` | [`MetaDump`](crate::Response::MetaDump), or [`Admin`](crate::Response::Admin) as above |
/// | [`mgdump`](Self::mgdump) | `lru_crawler mgdump <ids\|all\|hash>` (1.6.19+) | [`MgDump`](crate::Response::MgDump), or [`Admin`](crate::Response::Admin) as above |
/// | [`enable`](Self::enable), [`disable`](Self::disable) | `lru_crawler enable\|disable` | [`Ok`](crate::Response::Ok) |
/// | [`sleep`](Self::sleep), [`tocrawl`](Self::tocrawl) | `lru_crawler sleep\|tocrawl <n>` | [`Ok`](crate::Response::Ok) |
///
/// Errors arrive as [`ServerError`](crate::ServerError)s: `ERROR failed to start lru
/// crawler thread` (enable while running), `CLIENT_ERROR lru crawler disabled`,
/// `ERROR cannot pipeline other commands before metadump` (replies of earlier
/// commands were still queued on the server: send a dump with nothing else in
/// flight), `ERROR` from servers without `mgdump`.
///
/// # The dumps
///
/// memcached 1.6.18 sends the item lines of a metadump with a bare `\n` and no
/// leading `OK`; 1.6.43 and later send `OK` first, and 1.6.39 and later a space
/// before the `\n`: all of these are read. `mgdump` lines are `mg <key>`, or `mg
/// <base64> b` for a binary key, then `EN`.
///
/// A dump is held like a stats reply until its end line, so the
/// [`max_stat_lines`](crate::Limits::max_stat_lines) (lines) and
/// [`max_reply_len`](crate::Limits::max_reply_len) (bytes) caps apply: past them
/// the codec is poisoned (the reply cannot be skipped safely). For a cache larger
/// than the caps, dump it class by class ([`CrawlTarget::Classes`]) or raise the caps
/// on a connection kept for admin work.
///
/// While a dump is pending the codec refuses to send anything else
/// ([`EncodeError::DumpPending`]): memcached does not answer a command sent behind a
/// dump in order (1.6.18 answers it before the dump, or leaves it unread until the
/// connection's next read; `tests/live/admin.rs` shows it). It also refuses a dump
/// right after quiet meta commands ([`EncodeError::NeedsFence`]).
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use memcache_codec::{Codec, Response};
/// use memcache_codec::command::{CrawlTarget, LruCrawler};
///
/// let mut codec = Codec::new();
/// let mut out = BytesMut::new();
/// codec.send(&LruCrawler::metadump(CrawlTarget::All), &mut out, Instant::now())?;
/// assert_eq!(&out[..], b"lru_crawler metadump all\r\n");
///
/// // memcached 1.6.18's reply: item lines end in a bare "\n".
/// let mut input = BytesMut::from(
///     &b"key=md%3A2 exp=-1 la=1796544156 cas=2 fetch=no cls=7 size=367\nEND\r\n"[..],
/// );
/// let done = codec.decode(&mut input, Instant::now())?.expect("the whole dump");
/// let Ok(Response::MetaDump(entries)) = done.result else { panic!() };
/// assert_eq!((&entries[0].key[..], entries[0].exp, entries[0].size), (&b"md:2"[..], -1, Some(367)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LruCrawler<'a> {
    op: CrawlerOp<'a>,
}

impl<'a> LruCrawler<'a> {
    /// `lru_crawler crawl <ids|all>`: reclaim expired items of these classes in the
    /// background. [`CrawlTarget::Hash`] is refused (crawl walks LRUs only).
    pub fn crawl(target: CrawlTarget<'a>) -> Self {
        Self {
            op: CrawlerOp::Crawl(target),
        }
    }

    /// `lru_crawler metadump <ids|all|hash>`: one [`DumpEntry`](crate::response::DumpEntry) per
    /// live item.
    pub fn metadump(target: CrawlTarget<'a>) -> Self {
        Self {
            op: CrawlerOp::Dump(DumpKind::Meta, target),
        }
    }

    /// `lru_crawler mgdump <ids|all|hash>` (memcached 1.6.19 and later): every live
    /// key.
    pub fn mgdump(target: CrawlTarget<'a>) -> Self {
        Self {
            op: CrawlerOp::Dump(DumpKind::Mg, target),
        }
    }

    /// `lru_crawler enable`: start the crawler thread.
    pub fn enable() -> Self {
        Self {
            op: CrawlerOp::Enable(true),
        }
    }

    /// `lru_crawler disable`: stop it.
    pub fn disable() -> Self {
        Self {
            op: CrawlerOp::Enable(false),
        }
    }

    /// `lru_crawler sleep <microseconds>` between items checked: at most 1000000
    /// (memcached's limit; more is refused).
    pub fn sleep(microseconds: u32) -> Self {
        Self {
            op: CrawlerOp::Sleep(microseconds),
        }
    }

    /// `lru_crawler tocrawl <items>`: the most items checked per class and run (0:
    /// no limit).
    pub fn tocrawl(items: u32) -> Self {
        Self {
            op: CrawlerOp::Tocrawl(items),
        }
    }
}

impl Encode for LruCrawler<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        const HEAD: &[u8] = b"lru_crawler ";
        let (word, arg_len, expect): (&[u8], usize, Expect) = match self.op {
            CrawlerOp::Crawl(CrawlTarget::Hash) => {
                return Err(EncodeError::InvalidArgument(
                    "lru_crawler crawl takes class ids or all, not hash",
                ));
            }
            CrawlerOp::Crawl(t) => (b"crawl ", t.len()?, Expect::Admin(AdminWords::Crawl)),
            CrawlerOp::Dump(kind, t) => {
                refuse_after_quiet(w)?;
                let word: &[u8] = match kind {
                    DumpKind::Meta => b"metadump ",
                    DumpKind::Mg => b"mgdump ",
                };
                (word, t.len()?, Expect::Dump(kind))
            }
            CrawlerOp::Enable(true) => (b"enable", 0, Expect::Ok),
            CrawlerOp::Enable(false) => (b"disable", 0, Expect::Ok),
            CrawlerOp::Sleep(us) if us > 1_000_000 => {
                return Err(EncodeError::InvalidArgument(
                    "lru_crawler sleep is at most 1000000 microseconds",
                ));
            }
            CrawlerOp::Sleep(us) => (b"sleep ", digits(us.into()), Expect::Ok),
            CrawlerOp::Tocrawl(n) => (b"tocrawl ", digits(n.into()), Expect::Ok),
        };
        let len = HEAD.len() + word.len() + arg_len + 2;
        check_line_len(len)?;
        let mut line = w.line(len, 0);
        line.put(HEAD);
        line.put(word);
        match self.op {
            CrawlerOp::Crawl(t) | CrawlerOp::Dump(_, t) => t.write(&mut line),
            CrawlerOp::Sleep(n) | CrawlerOp::Tocrawl(n) => line.number(n.into()),
            CrawlerOp::Enable(_) => {}
        }
        line.put(b"\r\n");
        line.end();
        Ok(Encoded::of(expect))
    }
}

impl Command for LruCrawler<'_> {}

/// The slab page automover's mode (`slabs automove <0|1|2>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Automove {
    /// `0`: the automover thread stands by.
    Standby,
    /// `1`: pages go back to a global pool when a class has more than two pages of
    /// free chunks, and are handed out again as needed (memcached's default).
    Normal,
    /// `2`: a page moves on every eviction; not for long use.
    Aggressive,
}

#[derive(Debug, Clone, Copy)]
enum SlabsOp {
    Automove(Automove),
    Reassign { src: Option<u32>, dst: u32 },
}

/// `slabs automove` and `slabs reassign`: moving memory between slab classes.
///
/// | Constructor | Wire | Completes with |
/// |---|---|---|
/// | [`automove`](Self::automove) | `slabs automove <0\|1\|2>` | [`Ok`](crate::Response::Ok) |
/// | [`reassign`](Self::reassign), [`reassign_any`](Self::reassign_any) | `slabs reassign <src\|-1> <dst>` | [`Ok`](crate::Response::Ok) (the move is scheduled), or [`Admin`](crate::Response::Admin) `BUSY`, `BADCLASS`, `NOSPARE`, `NOTFULL`, `UNSAFE`, `SAME` |
///
/// A server started with `-o slab_reassign` off answers `CLIENT_ERROR slab
/// reassignment disabled` ([`ServerError`](crate::ServerError)).
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use memcache_codec::{Codec, Response};
/// use memcache_codec::command::Slabs;
/// use memcache_codec::response::AdminStatus;
///
/// let mut codec = Codec::new();
/// let mut out = BytesMut::new();
/// codec.send(&Slabs::reassign(1, 5), &mut out, Instant::now())?;
/// assert_eq!(&out[..], b"slabs reassign 1 5\r\n");
/// let mut input = BytesMut::from(&b"NOSPARE source class has no spare pages\r\n"[..]);
/// let done = codec.decode(&mut input, Instant::now())?.expect("a reply");
/// let Ok(Response::Admin(AdminStatus::NoSpare(message))) = done.result else { panic!() };
/// assert_eq!(&message[..], b"source class has no spare pages");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Slabs {
    op: SlabsOp,
}

impl Slabs {
    /// `slabs automove <0|1|2>`.
    pub fn automove(mode: Automove) -> Self {
        Self {
            op: SlabsOp::Automove(mode),
        }
    }

    /// `slabs reassign <src> <dst>`: move one page from class `src` to class `dst`.
    /// memcached reads class ids as 32-bit signed numbers: larger ones are refused.
    pub fn reassign(src: u32, dst: u32) -> Self {
        Self {
            op: SlabsOp::Reassign {
                src: Some(src),
                dst,
            },
        }
    }

    /// `slabs reassign -1 <dst>`: move a page from any class that has one to spare.
    pub fn reassign_any(dst: u32) -> Self {
        Self {
            op: SlabsOp::Reassign { src: None, dst },
        }
    }
}

impl Encode for Slabs {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        match self.op {
            SlabsOp::Automove(mode) => {
                let text: &[u8] = match mode {
                    Automove::Standby => b"slabs automove 0\r\n",
                    Automove::Normal => b"slabs automove 1\r\n",
                    Automove::Aggressive => b"slabs automove 2\r\n",
                };
                fixed(w, text, Expect::Ok)
            }
            SlabsOp::Reassign { src, dst } => {
                let class = |id: u32| {
                    if id > i32::MAX as u32 {
                        Err(EncodeError::InvalidArgument(
                            "memcached reads slab class ids as 32-bit signed numbers",
                        ))
                    } else {
                        Ok(i64::from(id))
                    }
                };
                let src = match src {
                    Some(id) => class(id)?,
                    None => -1,
                };
                let dst = class(dst)?;
                const HEAD: &[u8] = b"slabs reassign ";
                let len = HEAD.len() + signed_digits(src) + 1 + signed_digits(dst) + 2;
                let mut line = w.line(len, 0);
                line.put(HEAD);
                line.signed(src);
                line.byte(b' ');
                line.signed(dst);
                line.put(b"\r\n");
                line.end();
                Ok(Encoded::of(Expect::Admin(AdminWords::Reassign)))
            }
        }
    }
}

impl Command for Slabs {}

/// The LRU layout (`lru mode <flat|segmented>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LruMode {
    /// `flat`: one LRU per slab class.
    Flat,
    /// `segmented`: HOT, WARM and COLD LRUs (needs `-o lru_maintainer`, memcached's
    /// default since 1.5).
    Segmented,
}

#[derive(Debug, Clone, Copy)]
enum LruOp {
    Tune {
        hot_pct: u32,
        warm_pct: u32,
        hot_max_factor: f64,
        warm_max_factor: f64,
    },
    Mode(LruMode),
    TempTtl(i32),
}

/// `lru <tune|mode|temp_ttl> ...`: tuning the segmented LRU at run time.
///
/// Completes with [`Response::Ok`](crate::Response::Ok); memcached refuses bad
/// values with `ERROR <msg>` ([`ServerError`](crate::ServerError)), for example
/// `ERROR hot and warm pcts must not exceed 80`.
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use memcache_codec::Codec;
/// use memcache_codec::command::{Lru, LruMode};
///
/// let mut codec = Codec::new();
/// let mut out = BytesMut::new();
/// codec.send(&Lru::tune(10, 40, 0.1, 2.0), &mut out, Instant::now())?;
/// codec.send(&Lru::mode(LruMode::Segmented), &mut out, Instant::now())?;
/// codec.send(&Lru::temp_ttl(-1), &mut out, Instant::now())?;
/// assert_eq!(&out[..], &b"lru tune 10 40 0.1 2\r\nlru mode segmented\r\nlru temp_ttl -1\r\n"[..]);
/// # Ok::<(), memcache_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Lru {
    op: LruOp,
}

/// A number as `lru tune` writes it: finite, above 0 (memcached refuses the rest),
/// and at most [`FACTOR_LEN`] characters in Rust's shortest round-trip form.
const FACTOR_LEN: usize = 32;

/// Writes `factor` into a small buffer; its length.
fn factor_text(factor: f64, buf: &mut [u8; FACTOR_LEN]) -> Result<usize, EncodeError> {
    struct Buf<'b> {
        buf: &'b mut [u8; FACTOR_LEN],
        len: usize,
    }
    impl std::fmt::Write for Buf<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.len + s.len();
            let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
            dst.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let bad = EncodeError::InvalidArgument(
        "an lru tune factor must be finite, above 0, and at most 32 characters long",
    );
    if !factor.is_finite() || factor <= 0.0 {
        return Err(bad);
    }
    let mut out = Buf { buf, len: 0 };
    write!(out, "{factor}").map_err(|_| bad)?;
    Ok(out.len)
}

impl Lru {
    /// `lru tune <hot pct> <warm pct> <hot max factor> <warm max factor>`: HOT holds at
    /// most `hot_pct`% of the memory (or items idle less than `hot_max_factor` times
    /// COLD's age), WARM at most `warm_pct`% (or `warm_max_factor`). memcached wants
    /// `hot_pct + warm_pct <= 80` (else `ERROR hot and warm pcts must not exceed 80`).
    /// The factors are written in their shortest exact decimal form; one that is not
    /// finite, not above 0, or longer than 32 characters is refused at send
    /// ([`EncodeError::InvalidArgument`]).
    pub fn tune(hot_pct: u32, warm_pct: u32, hot_max_factor: f64, warm_max_factor: f64) -> Self {
        Self {
            op: LruOp::Tune {
                hot_pct,
                warm_pct,
                hot_max_factor,
                warm_max_factor,
            },
        }
    }

    /// `lru mode <flat|segmented>`.
    pub fn mode(mode: LruMode) -> Self {
        Self {
            op: LruOp::Mode(mode),
        }
    }

    /// `lru temp_ttl <ttl>`: items stored with a TTL below `ttl` go to the TEMP LRU
    /// (never evicted, they expire); a negative `ttl` stops using it.
    pub fn temp_ttl(ttl: i32) -> Self {
        Self {
            op: LruOp::TempTtl(ttl),
        }
    }
}

impl Encode for Lru {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        match self.op {
            LruOp::Tune {
                hot_pct,
                warm_pct,
                hot_max_factor,
                warm_max_factor,
            } => {
                const HEAD: &[u8] = b"lru tune ";
                let (mut hot, mut warm) = ([0; FACTOR_LEN], [0; FACTOR_LEN]);
                let hot_len = factor_text(hot_max_factor, &mut hot)?;
                let warm_len = factor_text(warm_max_factor, &mut warm)?;
                let len = HEAD.len()
                    + digits(hot_pct.into())
                    + 1
                    + digits(warm_pct.into())
                    + 1
                    + hot_len
                    + 1
                    + warm_len
                    + 2;
                let mut line = w.line(len, 0);
                line.put(HEAD);
                line.number(hot_pct.into());
                line.byte(b' ');
                line.number(warm_pct.into());
                line.byte(b' ');
                line.put(&hot[..hot_len]);
                line.byte(b' ');
                line.put(&warm[..warm_len]);
                line.put(b"\r\n");
                line.end();
                Ok(Encoded::of(Expect::Ok))
            }
            LruOp::Mode(LruMode::Flat) => fixed(w, b"lru mode flat\r\n", Expect::Ok),
            LruOp::Mode(LruMode::Segmented) => fixed(w, b"lru mode segmented\r\n", Expect::Ok),
            LruOp::TempTtl(ttl) => {
                const HEAD: &[u8] = b"lru temp_ttl ";
                let len = HEAD.len() + signed_digits(ttl.into()) + 2;
                let mut line = w.line(len, 0);
                line.put(HEAD);
                line.signed(ttl.into());
                line.put(b"\r\n");
                line.end();
                Ok(Encoded::of(Expect::Ok))
            }
        }
    }
}

impl Command for Lru {}

/// `config get cluster`: the cluster description of an AWS ElastiCache (memcached
/// engine) configuration endpoint, for auto discovery.
///
/// The endpoint answers `CONFIG cluster 0 <bytes>\r\n<version>\n<host>|<ip>|<port>
/// ...\n\r\nEND\r\n`; the codec reads the block by its length and completes with
/// [`Response::ClusterConfig`](crate::Response::ClusterConfig) (the version and every
/// node). A stock memcached answers `ERROR`, which arrives as a
/// [`ServerError`](crate::ServerError) and leaves the connection usable.
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use memcache_codec::{Codec, Response};
/// use memcache_codec::command::ConfigGetCluster;
///
/// let mut codec = Codec::new();
/// let mut out = BytesMut::new();
/// codec.send(&ConfigGetCluster, &mut out, Instant::now())?;
/// assert_eq!(&out[..], b"config get cluster\r\n");
/// let mut input = BytesMut::from(
///     &b"CONFIG cluster 0 45\r\n12\nnode1.example|10.0.0.1|11211 node2||11212\n\r\nEND\r\n"[..],
/// );
/// let done = codec.decode(&mut input, Instant::now())?.expect("a reply");
/// let Ok(Response::ClusterConfig(config)) = done.result else { panic!() };
/// assert_eq!((config.version, config.nodes.len(), config.nodes[1].port), (12, 2, 11212));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfigGetCluster;

impl Encode for ConfigGetCluster {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        fixed(w, b"config get cluster\r\n", Expect::ClusterConfig)
    }
}

impl Command for ConfigGetCluster {}

/// `refresh_certs`: reload the TLS certificate and key (memcached started with
/// `-Z`).
///
/// Completes with [`Response::Ok`](crate::Response::Ok). A server with TLS support
/// started without it answers `Error TLS not enabled` (recorded on Debian's 1.6.18),
/// and a failed reload `Error loading the ...`: a [`ServerError`](crate::ServerError)
/// of kind [`RefreshCertsFailed`](crate::ServerErrorKind::RefreshCertsFailed). A
/// server built without TLS answers `ERROR`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshCerts;

impl Encode for RefreshCerts {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        fixed(w, b"refresh_certs\r\n", Expect::RefreshCerts)
    }
}

impl Command for RefreshCerts {}

/// What a `watch` connection is sent (`watch <kind>...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WatchKind {
    /// `fetchers`: every item fetch (a `set` fetches too). memcached's default.
    Fetchers,
    /// `mutations`: every store, and most failures to store.
    Mutations,
    /// `evictions`: items evicted, with whether they were used.
    Evictions,
    /// `connevents`: connections opened and closed.
    Connevents,
    /// `deletions` (memcached 1.6.20 and later): items deleted.
    Deletions,
    /// `sysevents`: system events.
    Sysevents,
    /// `rawcmds`: the raw commands of proxy requests.
    Rawcmds,
    /// `proxyreqs`: proxy request timings.
    Proxyreqs,
    /// `proxyevents`: proxy errors and events.
    Proxyevents,
    /// `proxyuser`: log lines of proxy user code.
    Proxyuser,
}

impl WatchKind {
    /// Every kind, in the order [`Watch`] writes them.
    pub const ALL: [Self; 10] = [
        Self::Fetchers,
        Self::Mutations,
        Self::Evictions,
        Self::Connevents,
        Self::Deletions,
        Self::Sysevents,
        Self::Rawcmds,
        Self::Proxyreqs,
        Self::Proxyevents,
        Self::Proxyuser,
    ];

    /// The word on the wire.
    pub fn word(self) -> &'static str {
        match self {
            Self::Fetchers => "fetchers",
            Self::Mutations => "mutations",
            Self::Evictions => "evictions",
            Self::Connevents => "connevents",
            Self::Deletions => "deletions",
            Self::Sysevents => "sysevents",
            Self::Rawcmds => "rawcmds",
            Self::Proxyreqs => "proxyreqs",
            Self::Proxyevents => "proxyevents",
            Self::Proxyuser => "proxyuser",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// `watch [<kind>...]`: turns the connection into a log stream.
///
/// # How a watch completes
///
/// A watch is the one command that completes more than once, all with its token:
///
/// 1. `OK` gives [`Response::Watching`](crate::Response::Watching): the server is now
///    sending log lines, and will answer nothing else on this connection;
/// 2. each log line gives [`Response::Log`](crate::Response::Log), in the order it
///    arrived (memcached may write them out of order: their `gid` tells);
/// 3. the connection's end is the final completion: end of stream gives
///    [`ConnectionError::Closed`](crate::ConnectionError::Closed) (an I/O error or a
///    protocol error likewise), as for any pending command.
///
/// The first two are not final ([`Completion::is_final`](crate::Completion::is_final)).
/// If memcached refuses the watch (`ERROR`, `CLIENT_ERROR watch commands not allowed`,
/// `WATCHER_TOO_MANY`, `WATCHER_FAILED`, `ERROR cannot pipeline other commands before
/// watch`), that error is its one and final completion, and the connection stays
/// usable.
///
/// From the moment a watch is sent until it fails, [`Codec::send`](crate::Codec::send)
/// refuses every command with [`EncodeError::Watching`]: memcached ignores input on a
/// watching connection, so their replies would never come. While the log streams the
/// inactivity timeout is off ([`Codec::poll_timeout`](crate::Codec::poll_timeout) is
/// `None`, [`Codec::is_watching`](crate::Codec::is_watching) is true): a quiet log is
/// normal. Log lines end in a bare `\n`, which is read as such; each is at most
/// [`max_line_len`](crate::Limits::max_line_len) bytes. A watch sent right after quiet
/// meta commands is refused ([`EncodeError::NeedsFence`]).
///
/// Use a connection of its own: memcached refuses the watch while replies to earlier
/// commands on the connection are still queued. [Cancelling](crate::Codec::cancel) a
/// watch drops its later completions; the stream is still read, and sending still
/// refused, until the connection ends.
///
/// ```
/// use std::time::Instant;
/// use bytes::BytesMut;
/// use memcache_codec::{Codec, EncodeError, Response};
/// use memcache_codec::command::{Version, Watch, WatchKind};
///
/// let mut codec = Codec::new();
/// let mut out = BytesMut::new();
/// let now = Instant::now();
/// let watch = codec.send(&Watch::new().kind(WatchKind::Mutations), &mut out, now)?;
/// assert_eq!(&out[..], b"watch mutations\r\n");
/// assert_eq!(codec.send(&Version, &mut out, now), Err(EncodeError::Watching));
///
/// let mut input = BytesMut::from(
///     &b"OK\r\nts=1796545999.907580 gid=4 type=item_store key=a%25b status=stored cmd=set\n"[..],
/// );
/// let ok = codec.decode(&mut input, now)?.expect("OK");
/// assert_eq!((ok.token, ok.is_final(), ok.result), (watch, false, Ok(Response::Watching)));
/// let log = codec.decode(&mut input, now)?.expect("a log line");
/// let Ok(Response::Log(line)) = &log.result else { panic!() };
/// assert_eq!((log.token, line.kind(), line.key().as_deref()), (watch, Some(&b"item_store"[..]), Some(&b"a%b"[..])));
/// assert!(codec.is_watching() && codec.poll_timeout().is_none());
///
/// codec.handle_eof();
/// let last = codec.decode(&mut input, now)?.expect("the end");
/// assert!(last.is_final() && last.result.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Watch {
    kinds: u16,
}

impl Watch {
    /// `watch`: memcached's default kind (`fetchers`).
    pub fn new() -> Self {
        Self { kinds: 0 }
    }

    /// Also watch `kind`. Kinds are written in [`WatchKind`]'s order, each once.
    pub fn kind(mut self, kind: WatchKind) -> Self {
        self.kinds |= kind.bit();
        self
    }

    fn kinds(self) -> impl Iterator<Item = WatchKind> {
        WatchKind::ALL
            .into_iter()
            .filter(move |k| self.kinds & k.bit() != 0)
    }
}

impl Encode for Watch {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        refuse_after_quiet(w)?;
        let len = 5 + self.kinds().map(|k| 1 + k.word().len()).sum::<usize>() + 2;
        let mut line = w.line(len, 0);
        line.put(b"watch");
        for kind in self.kinds() {
            line.byte(b' ');
            line.put(kind.word().as_bytes());
        }
        line.put(b"\r\n");
        line.end();
        Ok(Encoded::of(Expect::Watch))
    }
}

impl Command for Watch {}

/// `bget <key>*`: the legacy retrieval (once meant for binary-safe keys), which
/// memcached up to 1.6.39 answers exactly like `get` (1.6.40 removed it: with a
/// [`ServerProfile`](crate::profile::ServerProfile) of 1.6.40 or later it is refused
/// with [`EncodeError::Removed`]). Unlike `get`, its line must stay within
/// memcached's 2048 bytes ([`EncodeError::LineTooLong`]).
///
/// Completes with [`Response::Items`](crate::Response::Items), even for one key,
/// under the same rules as [`GetMulti`](crate::command::GetMulti): at least one key, keys
/// checked, each `VALUE` key checked against the request in order. Prefer
/// [`GetMulti`](crate::command::GetMulti); this exists for proxies and tests that must send
/// what a client sent.
#[derive(Debug, Clone, Copy)]
pub struct Bget<'a, K> {
    keys: &'a [K],
}

impl<'a, K: AsRef<[u8]>> Bget<'a, K> {
    /// `bget <key>*`.
    pub fn new(keys: &'a [K]) -> Self {
        Self { keys }
    }
}

impl<K: AsRef<[u8]>> Encode for Bget<'_, K> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let count = self.keys.len();
        if count == 0 {
            return Err(EncodeError::NoKeys);
        }
        if count > w.limits.max_values_per_reply {
            return Err(EncodeError::TooManyKeys {
                count,
                limit: w.limits.max_values_per_reply,
            });
        }
        let mut keys_len = 0usize;
        for (index, key) in self.keys.iter().enumerate() {
            keys_len += 1 + key_len(key.as_ref(), index)?;
        }
        const HEAD: &[u8] = b"bget";
        let len = HEAD.len() + keys_len + 2;
        // Only `get` and `gets` lines may pass 2048 bytes.
        check_line_len(len)?;
        w.removed("bget", ServerVersion::new(1, 6, 40))?;
        let mut line = w.line(len, 0);
        line.put(HEAD);
        for (index, key) in self.keys.iter().enumerate() {
            let key = key.as_ref();
            if line.pos() + 1 + key.len() > HEAD.len() + keys_len {
                return Err(EncodeError::KeyChanged { index });
            }
            line.byte(b' ');
            line.key(key, index)?;
        }
        if line.pos() != HEAD.len() + keys_len {
            return Err(EncodeError::KeyChanged { index: count - 1 });
        }
        line.put(b"\r\n");
        line.end();
        w.record_key_list(len, HEAD.len()..HEAD.len() + keys_len, count);
        Ok(Encoded::of(Expect::Multi { cas: false }))
    }
}

impl<K: AsRef<[u8]>> Command for Bget<'_, K> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_are_written_shortest_and_checked() {
        let mut buf = [0; FACTOR_LEN];
        for (f, text) in [
            (0.1, "0.1"),
            (2.0, "2"),
            (1e-5, "0.00001"),
            (1e20, "100000000000000000000"),
        ] {
            let n = factor_text(f, &mut buf).unwrap();
            assert_eq!(&buf[..n], text.as_bytes());
        }
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-40, 1e40] {
            assert!(factor_text(bad, &mut buf).is_err(), "{bad}");
        }
    }
}
