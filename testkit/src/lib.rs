//! A reference model of a memcached 1.6.18 server, for testing
//! `memcache-codec`.
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
//! * `watch` and `lru_crawler metadump` refuse to run while replies are
//!   queued;
//! * a line of 2–16 KiB is accepted only if its newline arrives in the same
//!   call, so feeding byte by byte can differ from feeding whole, as on the
//!   real server.
//!
//! # Approximations and what is not modelled
//!
//! * The binary protocol: a connection whose first byte is 0x80 is closed
//!   without a reply (memcached would switch to the binary protocol).
//! * SASL/`-Y` authentication, UDP, TLS (`refresh_certs` answers like a build
//!   without TLS configured), extstore storage, the proxy.
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
//!   `lru_crawler metadump` lists live items oldest first per class,
//!   `lru_crawler crawl` never answers `BUSY`, and `watch` streams no log
//!   lines.
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
mod numbers;
mod parse;
mod server;
mod stats;
mod store;
#[cfg(test)]
mod tests;
mod version;

pub use parse::{ParseResult, Request, parse_request};
pub use server::{AsciiAuth, ClusterConfig, Options, Server};
pub use version::Version;
