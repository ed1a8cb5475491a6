//! Server addresses as users write them: `host`, `host:port`, `host:port weight`,
//! `host:port:weight`, and IPv6 addresses in brackets (`[::1]:11211`).

use std::fmt;

use super::{AddressError, DistributionError};

/// memcached's port, and the one a server written without a port gets.
pub const DEFAULT_PORT: u16 = 11211;

/// The longest host name accepted, in bytes (a DNS name is at most 253).
pub const MAX_HOST_LEN: usize = 255;

/// One memcached server: a host, a port and a weight.
///
/// The host is kept exactly as written (without the brackets of an IPv6 address):
/// libmemcached and pymemcache hash the text of the host, so `localhost` and
/// `127.0.0.1` are different servers to them, and so they are here. Nothing is
/// resolved.
///
/// ```
/// use memcache_codec::distribution::Server;
///
/// let server = Server::parse("[::1]:11212 3")?;
/// assert_eq!((server.host(), server.port(), server.weight()), ("::1", 11212, 3));
/// assert_eq!(server.to_string(), "[::1]:11212 3");
/// assert_eq!(Server::parse("cache-a")?.port(), 11211);
/// assert!(Server::parse("cache-a:0").is_err());
/// # Ok::<(), memcache_codec::distribution::AddressError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    host: String,
    port: u16,
    weight: u32,
}

impl Server {
    /// A server of weight 1. The host is checked as [`Server::parse`] checks it; an
    /// IPv6 address is given without brackets (`"::1"`).
    pub fn new(host: impl Into<String>, port: u16) -> Result<Self, AddressError> {
        let host = host.into();
        check_host(&host, host.contains(':'))?;
        if port == 0 {
            return Err(AddressError::PortZero);
        }
        Ok(Self {
            host,
            port,
            weight: 1,
        })
    }

    /// The same server with another weight (at least 1). Only the libmemcached
    /// ketama modes use weights; see [`Mode`](super::Mode).
    pub fn with_weight(mut self, weight: u32) -> Result<Self, AddressError> {
        if weight == 0 {
            return Err(AddressError::WeightZero);
        }
        self.weight = weight;
        Ok(self)
    }

    /// Parses `host`, `host:port`, `host:port weight` or `host:port:weight`
    /// (pylibmc's form). An IPv6 address takes brackets: `[::1]`, `[::1]:11212`,
    /// `[::1]:11212 2`. Without a port the server gets 11211, without a weight 1.
    /// Spaces around the text are ignored.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AddressError::Empty);
        }
        // `host:port weight`: the weight after the last run of spaces.
        let (address, mut weight) = match text.rsplit_once([' ', '\t']) {
            Some((address, weight)) => (address.trim_end(), Some(weight)),
            None => (text, None),
        };
        let bracketed = address.starts_with('[');
        let (host, rest) = if let Some(inner) = address.strip_prefix('[') {
            inner.split_once(']').ok_or(AddressError::UnclosedBracket)?
        } else {
            match address.find(':') {
                Some(i) if address[i + 1..].contains(':') && !is_pylibmc_form(address) => {
                    return Err(AddressError::UnbracketedIpv6 {
                        text: address.into(),
                    });
                }
                Some(i) => (&address[..i], &address[i..]),
                None => (address, ""),
            }
        };
        check_host(host, bracketed)?;
        let port = match rest {
            "" => DEFAULT_PORT,
            _ => {
                let rest = rest
                    .strip_prefix(':')
                    .ok_or_else(|| AddressError::Trailing { text: rest.into() })?;
                let (port, colon_weight) = match rest.split_once(':') {
                    Some((port, w)) => (port, Some(w)),
                    None => (rest, None),
                };
                if let Some(w) = colon_weight {
                    if weight.is_some() {
                        return Err(AddressError::Trailing {
                            text: text[address.len()..].trim().into(),
                        });
                    }
                    weight = Some(w);
                }
                parse_port(port)?
            }
        };
        let server = Self {
            host: host.into(),
            port,
            weight: 1,
        };
        match weight {
            Some(w) => server.with_weight(parse_weight(w)?),
            None => Ok(server),
        }
    }

    /// The host, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The weight (1 unless given).
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// `host:port`, with brackets around an IPv6 host: what `TcpStream::connect`
    /// takes.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `host:port`, then ` weight` when it is not 1: a form [`Server::parse`] reads back.
impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address())?;
        if self.weight != 1 {
            write!(f, " {}", self.weight)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Server {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, AddressError> {
        Self::parse(text)
    }
}

/// Parses a server list: entries separated by commas or line breaks, each in a form
/// [`Server::parse`] reads. Empty entries (a trailing comma, a blank line) are
/// skipped; a bad entry is reported with its position among the entries.
///
/// ```
/// use memcache_codec::distribution::parse_servers;
///
/// let servers = parse_servers("10.0.0.1:11211 2, 10.0.0.2, [::1]:11212")?;
/// assert_eq!(servers.len(), 3);
/// assert_eq!(servers[0].weight(), 2);
/// let err = parse_servers("10.0.0.1, 10.0.0.2:http").unwrap_err();
/// assert_eq!(err.to_string(), "server 1: bad port \"http\" (1 to 65535)");
/// # Ok::<(), memcache_codec::distribution::DistributionError>(())
/// ```
pub fn parse_servers(text: &str) -> Result<Vec<Server>, DistributionError> {
    text.split([',', '\n'])
        .filter(|entry| !entry.trim().is_empty())
        .enumerate()
        .map(|(index, entry)| {
            Server::parse(entry).map_err(|source| DistributionError::Address { index, source })
        })
        .collect()
}

/// `host:port:weight` with a plain host: two colons, but not IPv6.
fn is_pylibmc_form(address: &str) -> bool {
    let mut parts = address.split(':');
    let (Some(host), Some(port), Some(weight), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !host.is_empty()
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && !weight.is_empty()
        && weight.bytes().all(|b| b.is_ascii_digit())
}

fn check_host(host: &str, ipv6: bool) -> Result<(), AddressError> {
    if host.is_empty() {
        return Err(AddressError::Empty);
    }
    if host.len() > MAX_HOST_LEN {
        return Err(AddressError::HostTooLong { len: host.len() });
    }
    if ipv6 {
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(AddressError::BadIpv6 { host: host.into() });
        }
        return Ok(());
    }
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '/' | '[' | ']' | ',');
    if host.contains(bad) || host.contains(':') {
        return Err(AddressError::BadHost { host: host.into() });
    }
    Ok(())
}

fn parse_port(text: &str) -> Result<u16, AddressError> {
    let bad = || AddressError::BadPort { text: text.into() };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse::<u16>() {
        Ok(0) => Err(AddressError::PortZero),
        Ok(port) => Ok(port),
        Err(_) => Err(bad()),
    }
}

fn parse_weight(text: &str) -> Result<u32, AddressError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddressError::BadWeight { text: text.into() });
    }
    text.parse::<u32>()
        .map_err(|_| AddressError::BadWeight { text: text.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (String, u16, u32) {
        let s = Server::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        (s.host().to_owned(), s.port(), s.weight())
    }

    #[test]
    fn forms() {
        let cases: &[(&str, (&str, u16, u32))] = &[
            ("cache-a", ("cache-a", 11211, 1)),
            ("cache-a:11212", ("cache-a", 11212, 1)),
            ("cache-a:11212 3", ("cache-a", 11212, 3)),
            ("  cache-a:11212\t 3  ", ("cache-a", 11212, 3)),
            ("cache-a:11212:3", ("cache-a", 11212, 3)),
            ("10.0.0.1", ("10.0.0.1", 11211, 1)),
            ("10.0.0.1 4", ("10.0.0.1", 11211, 4)),
            ("[::1]", ("::1", 11211, 1)),
            ("[::1]:11212", ("::1", 11212, 1)),
            ("[::1]:11212 2", ("::1", 11212, 2)),
            ("[::1]:11212:2", ("::1", 11212, 2)),
            ("[fe80::1:2]:1", ("fe80::1:2", 1, 1)),
            ("a:65535", ("a", 65535, 1)),
        ];
        for (text, (host, port, weight)) in cases {
            assert_eq!(ok(text), ((*host).to_owned(), *port, *weight), "{text:?}");
        }
    }

    #[test]
    fn errors() {
        use AddressError as E;
        let cases: &[(&str, AddressError)] = &[
            ("", E::Empty),
            ("   ", E::Empty),
            (":11211", E::Empty),
            ("a:", E::BadPort { text: "".into() }),
            ("a:0", E::PortZero),
            (
                "a:65536",
                E::BadPort {
                    text: "65536".into(),
                },
            ),
            ("a:-1", E::BadPort { text: "-1".into() }),
            (
                "a:http",
                E::BadPort {
                    text: "http".into(),
                },
            ),
            ("a:1 0", E::WeightZero),
            ("a:1:0", E::WeightZero),
            ("a:1 x", E::BadWeight { text: "x".into() }),
            ("a:1 -2", E::BadWeight { text: "-2".into() }),
            (
                "a:1 99999999999",
                E::BadWeight {
                    text: "99999999999".into(),
                },
            ),
            ("a:1:2 3", E::Trailing { text: "3".into() }),
            ("::1", E::UnbracketedIpv6 { text: "::1".into() }),
            (
                "fe80::1:11211",
                E::UnbracketedIpv6 {
                    text: "fe80::1:11211".into(),
                },
            ),
            ("[::1", E::UnclosedBracket),
            ("[::1]x", E::Trailing { text: "x".into() }),
            (
                "[not-v6]:1",
                E::BadIpv6 {
                    host: "not-v6".into(),
                },
            ),
            ("a/b:1", E::BadHost { host: "a/b".into() }),
            (
                "a\u{7}:1",
                E::BadHost {
                    host: "a\u{7}".into(),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Server::parse(text).as_ref(), Err(want), "{text:?}");
        }
        let long = "h".repeat(MAX_HOST_LEN + 1);
        assert_eq!(
            Server::parse(&long),
            Err(E::HostTooLong {
                len: MAX_HOST_LEN + 1
            })
        );
        assert_eq!(Server::new("a", 0), Err(E::PortZero));
        assert_eq!(
            Server::new("a b", 1),
            Err(E::BadHost { host: "a b".into() })
        );
        assert_eq!(
            Server::new("::1", 1).and_then(|s| s.with_weight(0)),
            Err(E::WeightZero)
        );
        assert_eq!(
            Server::new("::zz", 1),
            Err(E::BadIpv6 {
                host: "::zz".into()
            })
        );
    }

    #[test]
    fn display_round_trips() {
        for text in ["a:1", "a:2 3", "[::1]:11211", "[::1]:7 9", "10.1.2.3:11211"] {
            let server = Server::parse(text).unwrap();
            assert_eq!(server.to_string(), text);
            assert_eq!(Server::parse(&server.to_string()), Ok(server));
        }
        assert_eq!(Server::parse("[::1]").unwrap().address(), "[::1]:11211");
    }

    #[test]
    fn lists() {
        let servers = parse_servers("a:1, b:2 3,\n[::1]:4\n\n").unwrap();
        let hosts: Vec<_> = servers.iter().map(Server::host).collect();
        assert_eq!(hosts, ["a", "b", "::1"]);
        assert_eq!(parse_servers("").unwrap(), Vec::new());
        assert_eq!(
            parse_servers("a:1,,b:x"),
            Err(DistributionError::Address {
                index: 1,
                source: AddressError::BadPort { text: "x".into() }
            })
        );
    }
}
