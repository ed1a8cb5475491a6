//! A tokio memcached client on [`memcache_codec`]: every command of the classic
//! and meta protocols, pipelined on one connection, cancel-safe, reconnecting,
//! over TCP, TLS or any stream, and over many servers.
//!
//! ```
//! # use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), memcache_codec_tokio::Error> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! # let addr = listener.local_addr().unwrap().to_string();
//! # // The other end: memcache-testkit's model of memcached 1.6.18.
//! # tokio::spawn(async move {
//! #     let (mut socket, _) = listener.accept().await.unwrap();
//! #     let mut server = memcache_testkit::Server::new();
//! #     let (mut buf, mut out) = (vec![0; 16 * 1024], Vec::new());
//! #     while let Ok(n @ 1..) = socket.read(&mut buf).await {
//! #         server.feed(&buf[..n], &mut out);
//! #         if socket.write_all(&out).await.is_err() { break; }
//! #         out.clear();
//! #     }
//! # });
//! use memcache_codec::Response;
//! use memcache_codec::command::{MetaGet, Stats};
//! use memcache_codec_tokio::Client;
//!
//! let client = Client::connect(addr).await?; // "host:port"
//! client.set("user:1", "ada").await?;
//! assert_eq!(client.get("user:1").await?.map(|v| v.data), Some("ada".into()));
//!
//! // Any command of the codec, with its typed reply.
//! let reply = client.meta_get(&MetaGet::new("user:1").return_value().return_cas()).await?;
//! assert_eq!(reply.value(), Some(&b"ada"[..]));
//! let Response::Stats(stats) = client.call(&Stats::new()).await? else { unreachable!() };
//! assert!(stats.value("curr_items").is_some());
//!
//! // Clones share the connection; tasks pipeline on it.
//! let tasks: Vec<_> = (0..8).map(|i| {
//!     let client = client.clone();
//!     tokio::spawn(async move { client.set(format!("k{i}"), "v").await })
//! }).collect();
//! for task in tasks {
//!     task.await.unwrap()?;
//! }
//! let hits = client.get_multi(&["k0", "k7", "nope"]).await?;
//! assert_eq!(hits.len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! One task drives the connection. The codec, the bytes not yet written, one slot
//! per command in flight and, between polls, the stream itself sit behind one
//! mutex shared by the task and every [`Client`] clone; it is never held across an
//! `.await` or a system call.
//!
//! * A call's future encodes its command on its first poll, with
//!   [`Codec::send`](memcache_codec::Codec::send), into the write buffer, and
//!   registers under the command's [`Token`](memcache_codec::Token). Commands are
//!   pipelined: each is written without waiting for earlier replies, and those
//!   encoded while a write is under way (`join!`, many tasks) leave together in
//!   the next one.
//! * The task writes, reads, decodes every completion a read holds
//!   ([`Codec::completions`](memcache_codec::Codec::completions)) and wakes the
//!   future of each. Replies are matched to commands by the codec, in order; a
//!   reply is never handed to another command.
//! * The codec's inactivity timeout runs on tokio's clock: the task sleeps until
//!   [`Codec::poll_timeout`](memcache_codec::Codec::poll_timeout) and then calls
//!   [`Codec::handle_timeout`](memcache_codec::Codec::handle_timeout).
//! * A call alone on an idle connection (nothing else in flight or unwritten,
//!   and with an inactivity timeout, the task's timer already running) does the
//!   task's work itself, in its own poll: it writes its command and reads its
//!   reply, which wakes it directly, with no hop through the task (the cost that
//!   clients doing their own I/O do not pay). It hands the stream back to the
//!   task when its reply is in; the task takes over at once when another command
//!   is sent (the call then only waits for its reply) or the future is dropped.
//!
//! # Cancellation
//!
//! Dropping a future is always safe:
//!
//! * before its first poll, or while it waits for a connection or for room in
//!   the write buffer ([`Builder::max_unsent`]): nothing was encoded, nothing is
//!   written;
//! * after: the command is cancelled
//!   ([`Codec::cancel`](memcache_codec::Codec::cancel)). It was handed to the
//!   connection and is written; its reply is read and dropped. The connection
//!   stays usable ([`Client::is_reusable`]), unlike clients that must close a
//!   connection whose reply was abandoned.
//!
//! A command whose future is dropped after it was encoded may still be carried
//! out by memcached, exactly like one whose connection fails.
//!
//! # Errors and reconnecting
//!
//! A lost connection (end of stream, reset, timeout, protocol violation) fails
//! every command in flight with [`Error::Connection`], once. The next command
//! connects again (clients of [`Builder::open`] cannot); a failed attempt fails
//! the commands waiting for it with [`Error::Connect`]. See [`Error`].
//!
//! # Watching
//!
//! [`Client::watch`] opens a connection of its own (a `watch` makes its connection
//! a log stream for good) and resolves, once memcached answers `OK`, to a
//! [`WatchStream`] of log lines ([`next`](WatchStream::next), or as a
//! `futures_core::Stream`). [`Client::call`] and [`Client::pipeline`] refuse a
//! [`Watch`](memcache_codec::command::Watch) with [`Error::WatchNeedsOwnConnection`]
//! rather than turn the shared connection into one.
//!
//! # TLS
//!
#![cfg_attr(
    feature = "tls",
    doc = "Feature `tls`: [`Tls`] connects with rustls (the `ring` provider), as"
)]
#![cfg_attr(
    not(feature = "tls"),
    doc = "Feature `tls`: `Tls` connects with rustls (the `ring` provider), as"
)]
//! `memcached -Z` serves it.
//!
//! # Many servers
//!
//! Feature `distribution` (default): [`Cluster`] keeps one [`Client`] per server of
//! a [`Distribution`](memcache_codec::distribution::Distribution), routes each key
//! as the fleet's other clients do, splits multi-key calls per server and merges
//! the answers in key order, and counts connection failures against each server's
//! health with the distribution's policy.
//!
//! # Tracing
//!
//! Each call opens a `memcache.command` span at DEBUG level with the command, its
//! key count, the server (in a cluster), and once it completes the outcome, hit or
//! miss (or the number of hits) and the latency in microseconds. A subscriber that
//! does not enable the span costs one cached check per call; the clock is read
//! only for enabled spans.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
#[cfg(feature = "distribution")]
mod cluster;
mod connect;
mod error;
mod shared;
mod task;
mod trace;
mod watch;

pub use client::{Builder, Call, Client, Pipeline};
#[cfg(feature = "distribution")]
#[cfg_attr(docsrs, doc(cfg(feature = "distribution")))]
pub use cluster::Cluster;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use connect::Tls;
pub use connect::{Connect, Tcp};
pub use error::Error;
/// The codec this client drives: its commands, replies and errors.
pub use memcache_codec;
/// rustls, as this crate uses it (feature `tls`): build the
/// [`ClientConfig`](tokio_rustls::rustls::ClientConfig) for [`Tls`] with it.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tokio_rustls::rustls;
pub use watch::WatchStream;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
