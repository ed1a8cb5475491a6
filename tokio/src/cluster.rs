//! [`Cluster`]: many servers behind a [`Distribution`].

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use memcache_codec::command::Arithmetic;
use memcache_codec::command::{Command, Delete, Exptime, Get, GetMulti, MetaGet, Store, Touch};
use memcache_codec::distribution::{Distribution, Outcome, Server, ServerState};
use memcache_codec::response::{Item, MetaResponse, Value};
use memcache_codec::{Completion, ConnectionError, Response};

use crate::client::{self, Builder, Client};
use crate::connect::{Connect, Tcp};
use crate::error::{Error, unexpected};
use crate::shared::now;

/// Many memcached servers: one [`Client`] (one connection) per server of a
/// [`Distribution`], each key sent to the server the distribution names.
///
/// * Single-key calls go to the key's server
///   ([`Distribution::route`]); under
///   [`Policy::FailFast`](memcache_codec::distribution::Policy::FailFast) a key
///   whose server is down fails at once with [`Error::Unavailable`], under
///   [`Policy::Redistribute`](memcache_codec::distribution::Policy::Redistribute)
///   it goes to another server.
/// * Multi-key calls are split per server ([`Distribution::split`]), sent to all
///   of them at once, and merged back in the caller's key order; each key gets its
///   own result, so one server down fails only its keys.
/// * Health: a connection failure ([`Error::is_connection`]) is recorded against
///   its server, any answer (memcached's error lines included) as a success; a
///   dead server is retried when its time comes, on the next call.
///
/// Connections are made on demand: a server that is down when the cluster is
/// made fails only the calls that go to it.
///
/// ```
/// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # async fn model() -> String {
/// #     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// #     let addr = listener.local_addr().unwrap().to_string();
/// #     tokio::spawn(async move {
/// #         let (mut socket, _) = listener.accept().await.unwrap();
/// #         let mut server = memcache_testkit::Server::new();
/// #         let (mut buf, mut out) = (vec![0; 16 * 1024], Vec::new());
/// #         while let Ok(n @ 1..) = socket.read(&mut buf).await {
/// #             server.feed(&buf[..n], &mut out);
/// #             if socket.write_all(&out).await.is_err() { break; }
/// #             out.clear();
/// #         }
/// #     });
/// #     addr
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let (a, b, c) = (model().await, model().await, model().await);
/// use memcache_codec::distribution::{Distribution, Mode, parse_servers};
/// use memcache_codec_tokio::Cluster;
///
/// // Three servers (here: three in-process models), keys spread as pylibmc's
/// // ketama_weighted spreads them.
/// let servers = parse_servers(&format!("{a}, {b}, {c}"))?;
/// let cluster = Cluster::new(Distribution::new(Mode::KetamaWeighted, servers)?);
/// for i in 0..10 {
///     cluster.set(format!("user:{i}"), "x").await?;
/// }
/// let keys: Vec<String> = (0..12).map(|i| format!("user:{i}")).collect();
/// let found = cluster.get_multi(&keys).await; // one `get` per server, merged
/// assert_eq!(found.iter().filter(|r| matches!(r, Ok(Some(_)))).count(), 10);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clients: Vec<Client>,
    distribution: Mutex<Distribution>,
}

impl Cluster {
    /// TCP to each server's [`address`](Server::address), with the default
    /// [`Builder`]. Must be called on a tokio runtime (it spawns one connection
    /// task per server; each connects on demand).
    pub fn new(distribution: Distribution) -> Self {
        Self::with_builder(distribution, Builder::default())
    }

    /// TCP to each server, with `builder`'s settings.
    pub fn with_builder(distribution: Distribution, builder: Builder) -> Self {
        Self::with_connectors(distribution, builder, |server| Tcp::new(server.address()))
    }

    /// Each server's connections made by `connector(server)` (TLS, another
    /// transport), with `builder`'s settings.
    pub fn with_connectors<C: Connect>(
        distribution: Distribution,
        builder: Builder,
        mut connector: impl FnMut(&Server) -> C,
    ) -> Self {
        let clients = distribution
            .servers()
            .iter()
            .map(|server| builder.connect_lazy(connector(server)))
            .collect();
        Self {
            inner: Arc::new(Inner {
                clients,
                distribution: Mutex::new(distribution),
            }),
        }
    }

    fn distribution(&self) -> MutexGuard<'_, Distribution> {
        let mut d = self
            .inner
            .distribution
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A dead server whose retry time has come takes traffic again.
        if d.poll_timeout().is_some() {
            d.handle_timeout(now());
        }
        d
    }

    /// The client of `server` (a position in the distribution's server list), to
    /// send it anything.
    ///
    /// # Panics
    ///
    /// If `server` is past the list.
    pub fn client(&self, server: usize) -> &Client {
        &self.inner.clients[server]
    }

    /// How many servers.
    pub fn len(&self) -> usize {
        self.inner.clients.len()
    }

    /// Always false: a distribution has at least one server.
    pub fn is_empty(&self) -> bool {
        self.inner.clients.is_empty()
    }

    /// Where `server` stands.
    ///
    /// # Panics
    ///
    /// If `server` is past the list.
    pub fn state(&self, server: usize) -> ServerState {
        self.distribution().state(server)
    }

    /// The server a call for `key` goes to now, under the policy.
    pub fn route(&self, key: impl AsRef<[u8]>) -> Result<usize, Error> {
        Ok(self.distribution().route(key.as_ref())?)
    }

    /// Counts `result` against `server`'s health.
    fn record<T>(&self, server: usize, result: &Result<T, Error>) {
        match result {
            Err(e) if e.is_connection() => {
                self.distribution().record_failure(server, now());
            }
            // Not sent: says nothing about the server.
            Err(Error::Encode(_) | Error::WatchNeedsOwnConnection) => {}
            _ => self.distribution().record_success(server),
        }
    }

    /// Sends `command` to the server of `key` (route by the command's own key)
    /// and resolves to its reply.
    pub async fn call<C: Command + Sync + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        command: &C,
    ) -> Result<Response, Error> {
        self.send(key.as_ref(), command, "call", 1).await
    }

    async fn send<C: Command + Sync + ?Sized>(
        &self,
        key: &[u8],
        command: &C,
        name: &'static str,
        keys: usize,
    ) -> Result<Response, Error> {
        let server = self.route(key)?;
        let result = self.inner.clients[server]
            .traced(command, name, keys, Some(server))
            .await;
        self.record(server, &result);
        result
    }

    /// `get` on the key's server.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>, Error> {
        let key = key.as_ref();
        client::value(self.send(key, &Get::new(key), "get", 1).await)
    }

    /// `set` (flags 0, no expiry) on the key's server.
    pub async fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), Error> {
        let key = key.as_ref();
        match self
            .send(key, &Store::set(key, value.as_ref()), "set", 1)
            .await?
        {
            Response::Stored => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// `add` on the key's server: false if the key was there.
    pub async fn add(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool, Error> {
        let key = key.as_ref();
        client::stored(
            self.send(key, &Store::add(key, value.as_ref()), "add", 1)
                .await,
        )
    }

    /// `delete` on the key's server: false if there was nothing to delete.
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<bool, Error> {
        let key = key.as_ref();
        match self.send(key, &Delete::new(key), "delete", 1).await? {
            Response::Deleted => Ok(true),
            Response::NotFound => Ok(false),
            other => Err(unexpected(other)),
        }
    }

    /// `incr` on the key's server: the new value, or `None` if absent.
    pub async fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>, Error> {
        let key = key.as_ref();
        client::counter(
            self.send(key, &Arithmetic::incr(key, delta), "incr", 1)
                .await,
        )
    }

    /// `touch` on the key's server: false if absent.
    pub async fn touch(&self, key: impl AsRef<[u8]>, exptime: Exptime) -> Result<bool, Error> {
        let key = key.as_ref();
        match self
            .send(key, &Touch::new(key, exptime), "touch", 1)
            .await?
        {
            Response::Touched => Ok(true),
            Response::NotFound => Ok(false),
            other => Err(unexpected(other)),
        }
    }

    /// `mg` on the server of `key`, built by `build(key)`.
    pub async fn meta_get<'k>(
        &self,
        key: &'k [u8],
        build: impl FnOnce(&'k [u8]) -> MetaGet<'k>,
    ) -> Result<MetaResponse, Error> {
        client::meta(self.send(key, &build(key), "mg", 1).await)
    }

    /// A multi-key `get`: one per server holding some of `keys`, all at once,
    /// merged back into one result per key, in order: `Ok(Some(item))` for a hit,
    /// `Ok(None)` for a miss, or the error of the key's server.
    pub async fn get_multi<K: AsRef<[u8]> + Sync>(
        &self,
        keys: &[K],
    ) -> Vec<Result<Option<Item>, Error>> {
        let split = self.distribution().split(keys);
        let groups: Vec<(usize, Vec<&K>)> = split
            .groups()
            .iter()
            .map(|g| (g.server(), g.keys(keys)))
            .collect();
        let calls = groups.iter().map(|(server, group)| async move {
            let command = GetMulti::new(group);
            let client = &self.inner.clients[*server];
            let result = client
                .traced(&command, "get_multi", group.len(), Some(*server))
                .await;
            (*server, result)
        });
        let mut merge = split.merge_values(keys);
        let mut failed: Vec<Option<Error>> = vec![None; keys.len()];
        for (server, result) in join_all(calls).await {
            self.record(server, &result);
            match result {
                Ok(values @ Response::Items(_)) => {
                    // The codec checked the keys against the command: they merge.
                    let merged = merge.add(server, Ok(values));
                    debug_assert!(merged.is_ok(), "{merged:?}");
                }
                Ok(other) => fail_group(&split, server, &mut failed, &unexpected(other)),
                Err(e) => fail_group(&split, server, &mut failed, &e),
            }
        }
        results(merge.into_outcomes(), failed)
    }

    /// Quiet `mg` batches: `build(key)` for every key, grouped per server, each
    /// group sent as a quiet batch with its `mn` fence, all servers at once; one
    /// reply per key, in order (misses as inferred
    /// [`MetaStatus::Miss`](memcache_codec::response::MetaStatus::Miss)).
    pub async fn meta_get_many<'k, K: AsRef<[u8]> + Sync>(
        &self,
        keys: &'k [K],
        build: impl Fn(&'k [u8]) -> MetaGet<'k>,
    ) -> Vec<Result<MetaResponse, Error>> {
        let split = self.distribution().split(keys);
        let groups: Vec<(usize, Vec<MetaGet<'k>>)> = split
            .groups()
            .iter()
            .map(|g| {
                let gets = g.keys(keys).into_iter().map(|k| build(k.as_ref()));
                (g.server(), gets.collect())
            })
            .collect();
        let calls = groups.iter().map(|(server, gets)| async move {
            let client = &self.inner.clients[*server];
            (*server, client.quiet_gets(gets).await)
        });
        let mut merge = split.merge_meta();
        let mut failed: Vec<Option<Error>> = vec![None; keys.len()];
        for (server, result) in join_all(calls).await {
            self.record(server, &result);
            match result {
                Ok((batch, results)) => {
                    for (token, result) in batch.tokens().zip(results) {
                        let completion = Completion { token, result };
                        let merged = merge.add(server, &batch, completion);
                        debug_assert!(merged.is_ok(), "{merged:?}");
                    }
                }
                Err(e) => fail_group(&split, server, &mut failed, &e),
            }
        }
        results(merge.into_outcomes(), failed)
    }
}

/// One result per key: the group's failure if its call failed, else the merged
/// outcome.
fn results<T>(outcomes: Vec<Outcome<T>>, failed: Vec<Option<Error>>) -> Vec<Result<T, Error>> {
    outcomes
        .into_iter()
        .zip(failed)
        .map(|(outcome, failure)| match (outcome, failure) {
            (_, Some(e)) => Err(e),
            (Outcome::Done(done), None) => Ok(done),
            (Outcome::Unavailable(why), None) => Err(Error::Unavailable(why)),
            (Outcome::Failed(e), None) => Err(e.into()),
            (_, None) => Err(Error::Connection(ConnectionError::Closed)),
        })
        .collect()
}

/// Gives each key of `server`'s group the error `e`.
fn fail_group(
    split: &memcache_codec::distribution::Split,
    server: usize,
    failed: &mut [Option<Error>],
    e: &Error,
) {
    if let Some(group) = split.group(server) {
        for &p in group.positions() {
            failed[p] = Some(e.clone());
        }
    }
}

/// Runs `futures` at once; their outputs in order.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(&mut outputs) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
