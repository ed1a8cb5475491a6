//! A memcached client protocol codec that does no I/O.
//!
//! `memcache-codec` speaks memcached's classic text protocol and its meta protocol.
//! It turns typed commands into the bytes to write, and the bytes read back into
//! typed results, each paired with the command it answers. It never touches a
//! socket, a clock or a thread, so the same [`Codec`] drives a blocking
//! `TcpStream`, a tokio task, io_uring, an embedded stack or a proxy.
//!
//! # What sans-IO means here
//!
//! The caller owns the connection, the buffers and the clock. The codec owns the
//! protocol state: the deque of commands waiting for replies, the receive state
//! machine (in a line, inside a data block, or poisoned) and the inactivity deadline.
//!
//! * [`Codec::send`] checks a command, appends its exact wire bytes to the caller's
//!   output buffer, and returns a [`Token`].
//! * [`Codec::decode`] reads the caller's input buffer and returns the next
//!   [`Completion`]: the token and its result. Incomplete input is `Ok(None)`, never
//!   an error.
//! * Time comes in as an argument (`now`); [`Codec::poll_timeout`] says when to call
//!   [`Codec::handle_timeout`]. End of stream is reported with [`Codec::handle_eof`].
//!
//! Nothing happens behind the caller's back: every effect is the result of one of
//! these calls, and the same inputs give the same outputs.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use memcache_codec::{Codec, Response};
//! use memcache_codec::command::{Get, Store};
//!
//! let mut codec = Codec::new();
//! let mut out = BytesMut::new();
//! let now = Instant::now();
//! let set = codec.send(&Store::set("greeting", "hello").client_flags(7), &mut out, now)?;
//! let get = codec.send(&Get::new("greeting"), &mut out, now)?;
//! assert_eq!(&out[..], &b"set greeting 7 0 5\r\nhello\r\nget greeting\r\n"[..]);
//!
//! // What memcached answered, arriving in two reads.
//! let mut input = BytesMut::from(&b"STORED\r\nVALUE greeting 7 5\r\nhel"[..]);
//! let stored = codec.decode(&mut input, now)?.expect("a whole reply");
//! assert_eq!((stored.token, stored.result), (set, Ok(Response::Stored)));
//! assert!(codec.decode(&mut input, now)?.is_none()); // half a value: need more
//! input.extend_from_slice(b"lo\r\nEND\r\n");
//! let hit = codec.decode(&mut input, now)?.expect("a whole reply");
//! assert_eq!(hit.token, get);
//! let value = hit.result?.into_hit().expect("a hit");
//! assert_eq!((value.flags, &value.data[..]), (7, &b"hello"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The drive loop
//!
//! A complete client over a blocking [`TcpStream`](std::net::TcpStream): write what
//! `send` produced, then read and drain until every command has completed, honouring
//! the deadline. Drain *before* looking at [`Codec::pending`]: a reply can complete
//! several commands at once (quiet commands before it), and `pending()` counts only
//! those still waiting for bytes. `examples/blocking.rs` runs this against a real
//! server; here it runs against the reference model behind a loopback listener.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::{Duration, Instant};
//! use bytes::BytesMut;
//! use memcache_codec::{Codec, Completion};
//! use memcache_codec::command::{Get, MetaGet, MetaNoop, Store};
//!
//! fn main() -> std::io::Result<()> {
//! #   let server = memcache_testkit::Loopback::start()?;
//! #   let addr = server.addr();
//!     let mut stream = TcpStream::connect(addr)?; // your memcached, e.g. "127.0.0.1:11211"
//!     let mut codec = Codec::new();
//!     let (mut out, mut input) = (BytesMut::new(), BytesMut::with_capacity(16 * 1024));
//!
//!     codec.send(&Store::set("k", "v"), &mut out, Instant::now())?;
//!     codec.send(&Get::new("k"), &mut out, Instant::now())?;
//!     codec.send(&MetaGet::new("a").return_value().quiet(), &mut out, Instant::now())?;
//!     codec.send(&MetaGet::new("b").return_value().quiet(), &mut out, Instant::now())?;
//!     codec.send(&MetaNoop, &mut out, Instant::now())?; // answers for the quiet ones
//!     stream.write_all(&out)?;
//!     out.clear();
//!
//!     let mut done: Vec<Completion> = Vec::new();
//!     loop {
//!         // Every completion the buffered bytes hold, then: anything left to wait for?
//!         done.extend(codec.completions(&mut input, Instant::now()));
//!         if codec.pending() == 0 {
//!             break; // every command has completed (poisoned: each with the error)
//!         }
//!         // Wait for more bytes, but not past the codec's deadline.
//!         let left = codec.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!         stream.set_read_timeout(left.map(|d| d.max(Duration::from_millis(1))))?;
//!         // A large value announces its size: reserve it once instead of read by read.
//!         let want = codec.min_buffer_len().unwrap_or(0).max(input.len() + 4096);
//!         input.reserve(want - input.len());
//!         let start = input.len();
//!         input.resize(input.capacity(), 0);
//!         let read = stream.read(&mut input[start..]);
//!         input.truncate(start + *read.as_ref().unwrap_or(&0));
//!         match read {
//!             Ok(0) => codec.handle_eof(), // every pending command now fails, once
//!             Ok(_) => {}
//!             Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock
//!                 | std::io::ErrorKind::TimedOut) => codec.handle_timeout(Instant::now()),
//!             Err(e) => codec.handle_io_error(e.kind()), // the connection is over
//!         }
//!     }
//!     assert_eq!(done.len(), 5); // stored, the hit, two inferred misses, MN
//!     Ok(())
//! }
//! ```
//!
//! # Buffers
//!
//! * **Output**: commands are appended to the caller's `BytesMut`; the codec never
//!   allocates a buffer of its own for them and never writes anything on error. The
//!   caller sends the bytes and clears the buffer when it likes.
//! * **Input**: the caller appends what it read to one `BytesMut` and passes the same
//!   buffer to every [`Codec::decode`] (or [`Codec::completions`]). The codec removes
//!   finished replies from the front and hands out values as [`Bytes`](bytes::Bytes)
//!   split off that buffer: no copy. A multi-key reply comes out as one [`Items`]
//!   view, one `Bytes` for the whole reply; so do a stats reply ([`StatLines`]) and a
//!   meta reply (its flags and value, [`MetaResponse`]). A partial reply stays in the buffer; the
//!   codec remembers how far it has searched, so a value arriving one byte at a time
//!   is not rescanned. Bytes of a reply to a command not sent yet are left untouched.
//! * While a value is alive, the memory it points into cannot be reused by the input
//!   buffer, exactly as with `tokio_util::codec`. Drop values (or copy them) to let the
//!   buffer reclaim its space.
//! * [`Codec::min_buffer_len`] tells how large the buffer must get for the data block
//!   being received, so an adapter can reserve it in one step.
//!
//! # Time
//!
//! The codec reads no clock. It keeps Twisted's `MemCacheProtocol` semantics: the
//! inactivity timer ([`Config::inactivity_timeout`], 60 s by default) runs while
//! commands are pending, restarts whenever bytes arrive (a `decode` that finds new
//! bytes), and stops when nothing is pending. [`Codec::poll_timeout`] is the current
//! deadline; once the caller's clock passes it, [`Codec::handle_timeout`] fails every
//! pending command with [`ConnectionError::Timeout`] and poisons the codec. Reporting
//! early, or twice, changes nothing. Replies are matched by position, so a command
//! cannot time out alone: its late reply would be paired with the next command.
//! While a [`Watch`] streams log lines there is no deadline ([`Codec::is_watching`]):
//! a quiet log is not a dead server, and the caller decides how long to listen.
//!
//! # Errors
//!
//! | Error | At fault | Effect |
//! |---|---|---|
//! | [`EncodeError`] from `send` | the caller: a key with a space or over 250 bytes, a bad token, too many pending, a poisoned or closing codec, a pending `watch` or dump | nothing written, nothing changed |
//! | [`CommandError::Server`] in a completion | memcached refused one command (`ERROR`, `CLIENT_ERROR`, `SERVER_ERROR`, `MEMLIMIT_*`) | that command completes with it |
//! | [`CommandError::Connection`] in a completion, [`ConnectionError`] from `decode` | the stream: bytes that break the protocol ([`DecodeError`]), silence past the deadline, end of stream, an I/O failure | poisoned: each pending command completes once with the error, then `decode` returns it forever and `send` refuses |
//!
//! Every command sent with a reply expected completes exactly once with a final
//! completion, in send order, unless the caller [cancels](Codec::cancel) it. A
//! [`Watch`] also completes before that, with its `OK` and each log line
//! ([`Completion::is_final`]).
//!
//! memcached's error lines leave the stream in a known state, except after a command
//! that carries a data block (RESPONSES.md §2.3):
//!
//! | Error line | After | Stream |
//! |---|---|---|
//! | `SERVER_ERROR ...` | any command | known: memcached swallowed any data block (`object too large`, `out of memory storing object`) |
//! | `ERROR`, `CLIENT_ERROR ...` | a command without a data block (get, delete, incr, touch, stats, mg, md, ma, ...) | known: the error is the whole reply |
//! | `CLIENT_ERROR` about a flag (`invalid flag`, `duplicate flag`, `opaque token too long`, `error decoding key`, the `M` token errors) | `ms` | known: memcached had parsed the length and swallowed the block (this is what `E` on 1.6.18 gets) |
//! | `ERROR`, any other `CLIENT_ERROR ...` | `set`/`add`/`replace`/`append`/`prepend`/`cas`/`ms` | **unknown**: memcached may read the data block as commands and answer them. The command completes with the error, then the codec poisons itself with [`DecodeError::UnreadDataBlock`] |
//! | `ERROR Too many open connections`, `SERVER_ERROR out of memory reading request` | (connection level) | memcached closes the connection: report end of stream |
//!
//! memcached 1.6.18 answers `shutdown` with `ERROR: shutdown not enabled` (newer servers:
//! `SERVER_ERROR: shutdown not enabled`); both arrive as [`ServerError`]s of the
//! matching [`ServerErrorKind`].
//!
//! # Limits
//!
//! [`Limits`] caps what the server can make the codec hold; each cap has its own
//! [`DecodeError`] and is checked before memory is committed:
//!
//! | Cap | Default | Error |
//! |---|---|---|
//! | [`max_line_len`](Limits::max_line_len) | 8192 bytes | [`DecodeError::LineTooLong`] |
//! | [`max_value_len`](Limits::max_value_len) | 128 MiB (memcached's `-I` goes up to 1 GiB) | [`DecodeError::ValueTooLarge`] |
//! | [`max_values_per_reply`](Limits::max_values_per_reply) | 16384 | [`DecodeError::TooManyValues`] (and [`EncodeError::TooManyKeys`] when sending) |
//! | [`max_stat_lines`](Limits::max_stat_lines) | 100000 | [`DecodeError::TooManyStatLines`] |
//! | [`max_reply_len`](Limits::max_reply_len) | 256 MiB | [`DecodeError::ReplyTooLarge`] |
//! | [`max_pending`](Limits::max_pending) | 65536 | [`EncodeError::TooManyPending`] |
//!
//! # Commands
//!
//! | memcached | Type | Completes with ([`Response`]) |
//! |---|---|---|
//! | `get`, `gets`, `gat`, `gats` (one key) | [`Get`] | [`Hit`](Response::Hit), [`Miss`](Response::Miss) |
//! | the same with several keys | [`GetMulti`] | [`Items`](Response::Items) |
//! | `set`, `add`, `replace`, `append`, `prepend`, `cas` | [`Store`] | [`Stored`](Response::Stored), [`NotStored`](Response::NotStored), [`Exists`](Response::Exists), [`NotFound`](Response::NotFound) |
//! | `delete` | [`Delete`] | [`Deleted`](Response::Deleted), [`NotFound`](Response::NotFound) |
//! | `incr`, `decr` | [`Arithmetic`] | [`Counter`](Response::Counter), [`NotFound`](Response::NotFound) |
//! | `touch` | [`Touch`] | [`Touched`](Response::Touched), [`NotFound`](Response::NotFound) |
//! | `stats [...]` | [`Stats`] | [`Stats`](Response::Stats), [`CacheDump`](Response::CacheDump), [`DetailDump`](Response::DetailDump), [`Reset`](Response::Reset), [`Ok`](Response::Ok) |
//! | `version` | [`Version`] | [`Version`](Response::Version) |
//! | `verbosity`, `flush_all [delay]`, `cache_memlimit` | [`Verbosity`], [`FlushAll`], [`CacheMemlimit`] | [`Ok`](Response::Ok) |
//! | `quit`, `shutdown` | [`Quit`], [`Shutdown`] | [`Closed`](Response::Closed) at end of stream |
//! | `mg`, `ms`, `md`, `ma` | [`MetaGet`], [`MetaSet`], [`MetaDelete`], [`MetaArithmetic`] | [`Meta`](Response::Meta) |
//! | `mn`, `me` | [`MetaNoop`], [`command::MetaDebug`] | [`Noop`](Response::Noop), [`MetaDebug`](Response::MetaDebug) |
//! | `stats <word>...` | [`Stats::args`] | by the words, as above |
//! | `bget` | [`Bget`] | [`Items`](Response::Items) |
//! | `lru_crawler crawl`, `enable`, `disable`, `sleep`, `tocrawl` | [`LruCrawler`] | [`Ok`](Response::Ok), [`Admin`](Response::Admin) |
//! | `lru_crawler metadump`, `mgdump` | [`LruCrawler::metadump`], [`LruCrawler::mgdump`] | [`MetaDump`](Response::MetaDump), [`MgDump`](Response::MgDump), [`Admin`](Response::Admin) |
//! | `slabs automove`, `slabs reassign` | [`Slabs`] | [`Ok`](Response::Ok), [`Admin`](Response::Admin) |
//! | `lru tune`, `mode`, `temp_ttl` | [`Lru`] | [`Ok`](Response::Ok) |
//! | `config get cluster` | [`ConfigGetCluster`] | [`ClusterConfig`](Response::ClusterConfig) |
//! | `refresh_certs` | [`RefreshCerts`] | [`Ok`](Response::Ok) |
//! | `watch` | [`Watch`] | [`Watching`](Response::Watching), then [`Log`](Response::Log) per line (not final), then the connection's end |
//! | `set auth 0 0 <n>` with `<user> <password>` (ASCII auth, `-Y`) | [`Auth`] | [`Authenticated`](Response::Authenticated) |
//! | anything else | [`Raw`] (the last resort) | [`Raw`](Response::Raw) |
//!
//! Commands live in [`command`], replies in [`response`] (with [`Response`] at the
//! root), and what the codec may know of the server in [`profile`]. Every reply
//! carrying data has a typed accessor on [`Response`] (`as_hit`, `as_items`,
//! `as_counter`, `as_version`, `as_stats`, `as_meta`, ..., and `into_*` for owned
//! values), so a caller that knows what its command gets need not `match`.
//!
//! A dump or a `watch` must be the newest command: [`Codec::send`] refuses anything
//! behind them ([`EncodeError::DumpPending`], [`EncodeError::Watching`]), since
//! memcached answers it out of order or not at all.
//!
//! Keys are checked before anything is written: 1 to 250 bytes, no byte `<= 0x20`,
//! no `0x7f`; so is every other token (stats arguments, opaques). Numbers are typed
//! (`u64` client flags, `u64` cas and deltas, [`Exptime`]), so no caller input can inject a
//! second command. The reply is checked against the command: a `VALUE` must carry a
//! key that was asked for, in request order; a meta reply must echo the opaque and
//! key its command sent.
//!
//! # noreply
//!
//! [`Codec::send_noreply`] sends a command with `noreply`: nothing is pending and no
//! completion comes. memcached still answers a malformed noreply command, and newer
//! servers *may* send errors. The codec never writes malformed commands, and it
//! refuses to guess: an error line arriving after noreply commands could be theirs,
//! so it poisons instead of pairing it with the next command. The safe pattern is a
//! fence: after a noreply batch, send [`MetaNoop`] (or [`Version`] for servers without
//! the meta protocol) and wait for it; its completion means the batch was applied
//! without errors.
//!
//! # Meta protocol and quiet mode
//!
//! Meta commands take typed flags, written in call order. In quiet mode (`q`)
//! memcached leaves out a command's common outcome (a `mg` miss, a `ms`/`md`/`ma`
//! success). The codec still completes every quiet command in order: when a later
//! command's reply arrives, the silent ones before it complete with their
//! [inferred](response::MetaResponse#structfield.inferred) outcome. Replies are told apart by the opaque
//! (`O`) and key (`k`) they echo: every quiet command sent without an opaque gets one
//! of its own, `O~<token>` ([`Config::auto_opaque`], on by default), so quiet
//! commands of every kind pipeline freely. (With that off, a command that could not
//! be told apart from an earlier quiet one is refused with
//! [`EncodeError::AmbiguousQuiet`].)
//!
//! A quiet command completes only when a later reply arrives: after a run of quiet
//! commands, send a command that always answers ([`MetaNoop`] is the cheapest) before
//! waiting, or the silence of a miss cannot end and the inactivity timeout will.
//! [`Codec::needs_fence`] says when the newest pending command is quiet;
//! [`Codec::send_quiet_batch`] sends many quiet `mg`s and their `mn` fence at once.
//! Quiet commands sent just before `quit` complete with their inferred outcome at end
//! of stream: memcached answered everything before the `quit`.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use memcache_codec::{Codec, Response};
//! use memcache_codec::command::MetaGet;
//! use memcache_codec::response::MetaStatus;
//!
//! let mut codec = Codec::new();
//! let mut out = BytesMut::new();
//! let gets = [MetaGet::new("a").return_value(), MetaGet::new("b").return_value()];
//! let batch = codec.send_quiet_batch(&gets, &mut out, Instant::now())?;
//! assert_eq!(&out[..], &b"mg a v q O~0\r\nmg b v q O~1\r\nmn\r\n"[..]);
//!
//! // "a" missed (memcached said nothing), "b" hit.
//! let mut input = BytesMut::from(&b"VA 2 O~1\r\nhi\r\nMN\r\n"[..]);
//! let mut statuses = Vec::new();
//! while let Some(done) = codec.decode(&mut input, Instant::now())? {
//!     if let Ok(Response::Meta(reply)) = done.result {
//!         statuses.push((done.token, reply.status, reply.inferred));
//!     }
//! }
//! let a = batch.token(0).unwrap();
//! let b = batch.token(1).unwrap();
//! assert_eq!(statuses, [(a, MetaStatus::Miss, true), (b, MetaStatus::Value, false)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Servers as they are
//!
//! The codec speaks memcached 1.6.9 to 1.6.4x: the classic protocol on all of them,
//! the meta protocol as it has been since 1.6.10 (1.6.9's differs: `ms` took its
//! length as a flag and answered `OK`), reading the stray spaces 1.6.10 to 1.6.17 put
//! in `md` and `ma` replies. What changed between them is gated by
//! a [`ServerProfile`](profile::ServerProfile): give one ([`Codec::set_profile`]) or
//! learn it ([`Codec::send_probe`] sends `version` and `stats settings`,
//! [`ServerProfile::from_replies`](profile::ServerProfile::from_replies) reads them),
//! and a command the server cannot take (any meta command before 1.6.10, `E` and
//! `md x` before 1.6.27, `mg C` before 1.6.40, a bare `mg` before 1.6.18, `ms s`/`N`
//! before 1.6.20; `bget` from 1.6.40, which removed it) is refused at `send` with
//! [`EncodeError::Unsupported`] (or [`EncodeError::Removed`]), nothing written,
//! instead of failing or being silently ignored by the server. The profile also caps values at the server's
//! `item_size_max`, and says whether client flags above `u32::MAX` are stored: they
//! are refused otherwise ([`EncodeError::FlagsTooLarge`]; memcached 1.6.18 keeps
//! the low 32 bits). Flags read back are always `u64`. Without a profile, nothing is
//! gated but the flags.
//!
//! A server started with `-Y` (ASCII authentication) takes [`Auth`] first, alone;
//! after a failure the codec is poisoned with [`ConnectionError::Unauthenticated`].
//!
//! # Many servers
//!
//! With the `distribution` feature, the `distribution` module maps keys to the servers of a
//! fleet exactly as libmemcached (ketama, modula), memcached's proxy, pymemcache and
//! gomemcache do, splits multi-key retrievals across servers and merges them back,
//! and tracks server health with the caller's clock.
//!
//! # Cancel
//!
//! [`Codec::cancel`] gives up on one pending command: it will not complete, and its
//! reply, which still arrives in order, is read and dropped. It is never delivered to
//! another command.
//!
//! [`Get`]: command::Get
//! [`GetMulti`]: command::GetMulti
//! [`Store`]: command::Store
//! [`Delete`]: command::Delete
//! [`Arithmetic`]: command::Arithmetic
//! [`Touch`]: command::Touch
//! [`Stats`]: command::Stats
//! [`Stats::args`]: command::Stats::args
//! [`Version`]: command::Version
//! [`Verbosity`]: command::Verbosity
//! [`FlushAll`]: command::FlushAll
//! [`CacheMemlimit`]: command::CacheMemlimit
//! [`Quit`]: command::Quit
//! [`Shutdown`]: command::Shutdown
//! [`MetaGet`]: command::MetaGet
//! [`MetaSet`]: command::MetaSet
//! [`MetaDelete`]: command::MetaDelete
//! [`MetaArithmetic`]: command::MetaArithmetic
//! [`MetaNoop`]: command::MetaNoop
//! [`Bget`]: command::Bget
//! [`LruCrawler`]: command::LruCrawler
//! [`LruCrawler::metadump`]: command::LruCrawler::metadump
//! [`LruCrawler::mgdump`]: command::LruCrawler::mgdump
//! [`Slabs`]: command::Slabs
//! [`Lru`]: command::Lru
//! [`ConfigGetCluster`]: command::ConfigGetCluster
//! [`RefreshCerts`]: command::RefreshCerts
//! [`Watch`]: command::Watch
//! [`Raw`]: command::Raw
//! [`Auth`]: command::Auth
//! [`Exptime`]: command::Exptime
//! [`Items`]: response::Items
//! [`StatLines`]: response::StatLines
//! [`MetaResponse`]: response::MetaResponse

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(unused_must_use)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
pub mod command;
mod completion;
#[cfg(feature = "distribution")]
#[cfg_attr(docsrs, doc(cfg(feature = "distribution")))]
pub mod distribution;
mod error;
mod expect;
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub mod framed;
mod key;
mod limits;
mod pending;
pub mod profile;
mod receive;
pub mod response;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use codec::{Codec, Completions};
pub use completion::{Completion, Token};
#[cfg(feature = "distribution")]
#[cfg_attr(docsrs, doc(cfg(feature = "distribution")))]
pub use distribution::Distribution;
pub use error::{
    CommandError, ConnectionError, DecodeError, EncodeError, KeyError, ServerError,
    ServerErrorKind, Snippet, TokenError,
};
pub use limits::{Config, Limits};
pub use response::Response;
