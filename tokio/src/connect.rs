//! How a connection is made: TCP, TLS, or the caller's own [`Connect`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::watch::Io;

/// Makes connections to one memcached: the client calls it for the first
/// connection and again, on demand, after one is lost.
///
/// Implement it for other transports (a Unix socket, a proxy, a test stream).
pub trait Connect: Send + Sync + 'static {
    /// The byte stream.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Opens a new stream.
    fn connect(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// A [`Connect`] with its stream type erased: what a client keeps to open a
/// connection of its own for a watch.
pub(crate) trait Open: Send + Sync {
    fn open(&self) -> Opening<'_>;
}

/// A connection being made, its stream boxed.
pub(crate) type Opening<'a> = Pin<Box<dyn Future<Output = io::Result<Box<dyn Io>>> + Send + 'a>>;

impl<C: Connect> Open for C {
    fn open(&self) -> Opening<'_> {
        Box::pin(async move { Ok(Box::new(self.connect().await?) as Box<dyn Io>) })
    }
}

/// `attempt`, given up after `limit` with [`ErrorKind::TimedOut`](io::ErrorKind::TimedOut).
pub(crate) async fn within<T>(
    limit: Option<Duration>,
    attempt: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))),
        None => attempt.await,
    }
}

/// TCP to `host:port` (resolved again on every connect), with `TCP_NODELAY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    addr: String,
}

impl Tcp {
    /// Connections to `addr` (`host:port`).
    pub fn new(addr: impl Into<String>) -> Self {
        Self { addr: addr.into() }
    }

    /// The address.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

impl Connect for Tcp {
    type Stream = TcpStream;

    async fn connect(&self) -> io::Result<TcpStream> {
        let stream = TcpStream::connect(self.addr.as_str()).await?;
        // Commands are written as soon as they are encoded: no Nagle delay.
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

#[cfg(feature = "tls")]
pub use tls::Tls;

#[cfg(feature = "tls")]
mod tls {
    use std::io;
    use std::sync::Arc;

    use tokio::net::TcpStream;
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream;
    use tokio_rustls::rustls::ClientConfig;
    use tokio_rustls::rustls::pki_types::{InvalidDnsNameError, ServerName};

    use super::{Connect, Tcp};

    /// TLS over [`Tcp`], with rustls (feature `tls`), as memcached serves it with
    /// `-Z` (`memcached -Z -o ssl_chain_cert=<pem>,ssl_key=<pem>`).
    ///
    /// The [`ClientConfig`] says which certificates to trust (and a client
    /// certificate, if the server asks for one with `ssl_verify_mode`). Build it with
    /// the `ring` provider this crate enables:
    /// `ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))`,
    /// or `ClientConfig::builder()` where `ring` is the process's provider.
    #[derive(Clone)]
    pub struct Tls {
        tcp: Tcp,
        connector: TlsConnector,
        name: ServerName<'static>,
    }

    impl std::fmt::Debug for Tls {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Tls")
                .field("addr", &self.tcp.addr())
                .field("name", &self.name)
                .finish_non_exhaustive()
        }
    }

    impl Tls {
        /// TLS to `addr` (`host:port`), checking the server's certificate against
        /// `server_name` (a DNS name or an IP address).
        pub fn new(
            addr: impl Into<String>,
            server_name: &str,
            config: Arc<ClientConfig>,
        ) -> Result<Self, InvalidDnsNameError> {
            Ok(Self {
                tcp: Tcp::new(addr),
                connector: TlsConnector::from(config),
                name: ServerName::try_from(server_name)?.to_owned(),
            })
        }
    }

    impl Connect for Tls {
        type Stream = TlsStream<TcpStream>;

        async fn connect(&self) -> io::Result<Self::Stream> {
            let tcp = self.tcp.connect().await?;
            self.connector.connect(self.name.clone(), tcp).await
        }
    }
}
