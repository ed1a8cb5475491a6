//! A reference model of a memcached 1.6 server (1.6.18 by default, newer
//! releases selectable), for testing `memcache-codec`.
//!
//! The model works on bytes: feed it what a client sends and it appends what
//! memcached 1.6.18 (`memcached -U 0`, default settings) would send back,
//! including the server's quirks (see `RESPONSES.md` in the project's shared
//! reference folder): `noreply` also hiding `CLIENT_ERROR`s, data blocks run
//! as commands after a rejected storage line, the in-place space padding of
//! `incr`/`decr`, `mg` misses echoing `O` and `k`, the negative `exp` of
//! `me`, 24-token lines, the 2048-byte line limit, and so on.
//!
//! It has no I/O and no clock of its own: time is virtual
//! ([`Server::set_time`], [`Server::advance`]).
//!
//! ```
//! use memcache_testkit::Server;
//!
//! let mut server = Server::new();
//! let mut out = Vec::new();
//! server.feed(b"set a 0 0 3\r\n100\r\ndecr a 1\r\nmg a v q\r\nmg nope v q\r\nmn\r\n", &mut out);
//! assert_eq!(out, b"STORED\r\n99\r\nVA 3\r\n99 \r\nMN\r\n");
//! ```
//!
//! [`parse_request`] is the same framing on its own, for checking what a
//! client encodes.
//!
//! [`command::Cmd`] is an owned value for every command `memcache-codec` can
//! send: it builds and sends the codec's borrowed commands, maps framed requests
//! back to commands, and (features `proptest` and `arbitrary`) generates them
//! for property tests and fuzz targets.
//!
//! # Server versions
//!
//! [`Options::version`] selects the release imitated (default
//! [`Version::V1_6_18`]; [`Options::latest`] is [`Version::LATEST`], 1.6.45).
//! `version` and `stats` report it, and these changes follow it, each gated on
//! the first release that has it (found in memcached's git history: commit,
//! then the first tag containing it), and checked against exchanges recorded
//! from real servers of the releases marked †  (1.6.17, 1.6.18, 1.6.20, 1.6.27
//! and 1.6.45; `tests/data`):
//!
//! | release | change |
//! |---|---|
//! | before 1.6.18 | `mg <key>` without flags is `CLIENT_ERROR bad command line format`; `EN` echoes neither `O` nor `k` † |
//! | 1.6.19 | `lru_crawler mgdump <classes\|all\|hash>`: `mg <key>` lines (`mg <base64> b` for a binary key), then `EN` † |
//! | 1.6.20 | `ms … s` returns the stored size (after an append, the combined one; on `NS`/`EX` the sent one); `ms MA\|MP N<ttl>` stores a missing item with `N`'s TTL; `watch deletions` † |
//! | 1.6.20 only | `ms … c` also returns `s`, after `c` † |
//! | 1.6.22 | [`Options::large_client_flags`] can be set; `stats settings` ends in `client_flags_size` |
//! | 1.6.24 | `me` prints `exp` as remaining seconds (before: negated); metadump lines end in ` flags=<n>` † |
//! | 1.6.25 | `flush_all` no longer uses cas: it unlinks the items it flushes (so with `-C` an item set in the same second survives) |
//! | 1.6.27 | `E<cas>` on mg (N), ms, md, ma sets the new cas (on `ma` that grows the value, only the reply has it); `md … x` replaces the item by an empty one (flags from `F`, TTL from `T`, cas kept unless `E`); the cas counter starts at 1, and classic and meta stores take their cas before trying, so a failed store uses one up † |
//! | 1.6.34 | `stats`: `slab_reassign_busy_nomem` replaces `slab_reassign_evictions_nomem`; `slab_automove_window 10` † |
//! | 1.6.39 | metadump lines end in `flags=<n> \n` (a space before the LF) † |
//! | 1.6.40 | `mg … C<cas>` drops `v` when the cas matches (`HD`); a classic storage line whose length parses but whose key, flags, exptime or cas does not has its data block swallowed; `stats`: `slab_reassign_last_busy_status none`, `num_napi_ids 0` † |
//! | 1.6.43 | `lru_crawler metadump\|mgdump` start with `OK` † |
//! | 1.6.45 | meta `F` above `u32::MAX` is refused on a build without large client flags † |
//!
//! With [`Options::large_client_flags`] (a build with
//! `--enable-large-client-flags`) flags are 64 bits in `VALUE`, meta `F`/`f`
//! and metadump, and take 8 bytes in an item; without it a flag above
//! `u32::MAX` keeps its low 32 bits, as 1.6.18 does (1.6.45 refuses it in
//! meta `F`). [`Options::auth`] is `-Y` ASCII authentication ([`AsciiAuth`]);
//! [`Options::elasticache_cluster`] answers `config get cluster` like an AWS
//! ElastiCache configuration endpoint ([`ClusterConfig`]).
//!
//! # Connections and reply timing
//!
//! A [`Server`] holds one client connection at a time;
//! [`Server::reconnect`] opens a new one on the same store (the recorded
//! transcripts use one connection per exchange). Each [`Server::feed`] call
//! acts like one read of the socket, and replies are appended to the output
//! when memcached would write them:
//!
//! * replies are queued and written after a `get`/`gets`/`gat`/`gats`/`bget`,
//!   after `mn`, after every 21 commands of one read (`reqs_per_event`), and
//!   when the server waits for the next command line. While it waits for the
//!   rest of a data block (or swallows one) nothing is written;
//! * a `get` that fails on a key over 250 bytes drops the replies still
//!   queued; so does closing for a long line or an `HTTP/` request;
//! * `watch` and `lru_crawler metadump|mgdump` refuse to run while replies are
//!   queued;
//! * a line of 2–16 KiB is accepted only if its newline arrives in the same
//!   call, so feeding byte by byte can differ from feeding whole, as on the
//!   real server.
//!
//! # Approximations and what is not modelled
//!
//! * The binary protocol: a connection whose first byte is 0x80 is closed
//!   without a reply (memcached would switch to the binary protocol).
//! * Versions: only the changes listed under "Server versions" are modelled;
//!   everything else is 1.6.18's behaviour at every version. In particular
//!   the error paths of the request parser rewritten in 1.6.40 are not
//!   modelled (for example 1.6.45 answers a bare `mg`/`md`/`ma` with
//!   `CLIENT_ERROR bad command line format` rather than `ERROR`, `md` with an
//!   unknown flag with `CLIENT_ERROR invalid flag`, does not check the length
//!   of an `M` token, and takes more than 17 meta flags), nor 1.6.40's
//!   reading of `-Y` credentials. Before 1.6.18 only the two changes in the
//!   table are modelled. `stats settings` lists the lines of a build with TLS
//!   support (Debian's), at every version.
//! * SASL authentication, UDP, TLS (`refresh_certs` answers like a build
//!   without TLS configured), extstore storage, the proxy, the ElastiCache
//!   legacy `get AmazonElastiCache:cluster` key and `config set`.
//! * Background threads. Their effects are approximated per read event (per
//!   `feed` call): an item stored in an earlier call counts as moved to the
//!   COLD LRU, so its second fetch takes an LRU reference that stops
//!   `incr`/`decr`/`ma` from changing it in place until the call ends (a
//!   queued `mg` hit does the same until its reply is written); items that
//!   died in an earlier call count as reclaimed by the crawler in `stats`.
//!   The first fetch marks an item fetched and the second refreshes its
//!   access time, which then stays put (the real maintainer may clear the
//!   "active" mark at any time). `stats cachedump` lists every live item of
//!   the class, newest first (1.6.18 lists the COLD LRU only),
//!   `lru_crawler metadump`/`mgdump` list live items oldest first per class
//!   (memcached walks its segmented LRU), a `crawl` keeps the crawler busy
//!   (`BUSY …`) until the end of its read event, and `lru_crawler disable`
//!   takes effect at the end of its read event.
//! * Other connections: the model has one. A `watch` connection gets no log
//!   lines of its own; a test injects them with [`Server::watch_log`].
//! * Memory: items are accounted like memcached (`ntotal`, slab classes,
//!   pages per class), but eviction takes the least recently stored item of
//!   the whole cache when the item bytes exceed the memory limit.
//! * `incr` on a value made only of white space: 1.6.18 reads past the end
//!   of the value (the result depends on leftover memory); the model answers
//!   `CLIENT_ERROR cannot increment or decrement non-numeric value`.
//! * `stats` values are plausible, not measured (pid, rusage, fds, ports).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod base64;
mod classic;
pub mod command;
mod meta;
mod net;
mod numbers;
mod parse;
mod server;
mod stats;
mod store;
#[cfg(test)]
mod tests;
mod version;

pub use net::Loopback;
pub use parse::{ParseResult, Request, parse_request};
pub use server::{AsciiAuth, ClusterConfig, Options, Server};
pub use version::Version;
