//! The model behind a loopback TCP listener, for examples and doctests that talk to a
//! socket the way they would to a real memcached.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::{Options, Server};

/// A [`Server`] model listening on `127.0.0.1` on a free port, on a thread of its
/// own. Connections are served one after the other, each on the same store (a new
/// connection is [`Server::reconnect`]); the thread stops accepting when this is
/// dropped (and ends once its current connection does).
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
///
/// let server = memcache_testkit::Loopback::start()?;
/// let mut stream = TcpStream::connect(server.addr())?;
/// stream.write_all(b"set k 0 0 1\r\nv\r\nget k\r\n")?;
/// let mut reply = vec![0; 64];
/// let mut len = 0;
/// while !reply[..len].ends_with(b"END\r\n") {
///     len += stream.read(&mut reply[len..])?;
/// }
/// assert_eq!(&reply[..len], b"STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Loopback {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Loopback {
    /// The model of memcached 1.6.18 with default settings.
    pub fn start() -> io::Result<Self> {
        Self::with_options(Options::default())
    }

    /// The model with these options.
    pub fn with_options(options: Options) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut server = Server::with_options(options);
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    server.reconnect();
                    // A connection that fails ends; the next one is served.
                    let _ = serve(&mut server, stream);
                }
            }
        });
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where to connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Reads what the client sends, answers as the model does, until either side closes.
fn serve(server: &mut Server, mut stream: TcpStream) -> io::Result<()> {
    let mut input = vec![0; 64 * 1024];
    let mut out = Vec::new();
    loop {
        let n = stream.read(&mut input)?;
        if n == 0 {
            return Ok(());
        }
        out.clear();
        server.feed(&input[..n], &mut out);
        stream.write_all(&out)?;
        if server.is_closed() {
            return stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept with a connection of our own. The thread is not joined: a
        // client still connected would keep it reading.
        let _ = TcpStream::connect(self.addr);
        drop(self.thread.take());
    }
}
