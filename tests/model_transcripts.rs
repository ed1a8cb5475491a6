//! Replays the exchanges recorded from a real memcached 1.6.18
//! (`tests/data/memcached-1.6.18.jsonl`, or the file named by
//! `MEMCACHED_TRANSCRIPTS`) through the reference model in
//! `memcache-testkit`, and compares the model's bytes with the server's.
//!
//! The exchanges ran in file order against one fresh server, each on a fresh
//! connection, so they are replayed through one `Server` with `reconnect()`
//! in between. Two exchanges used their own server and get their own `Server`
//! here: `too_many_connections` (`-c 30` with the limit reached, modelled by
//! `Options::max_connections_reached`) and `shutdown_enabled` (`-A`, modelled
//! by `Options::shutdown_enabled`).
//!
//! Values that differ from run to run (cas uniques, `STAT` values, `me`'s
//! `la`/`cas`/`size`, `mg`'s `t`, which may read one second lower on a live
//! server) are compared by shape: `normalise` replaces them with `#`. All other
//! bytes must match exactly. Run with `--nocapture` to see which exchanges
//! matched byte for byte and which only by shape.

mod common;

use common::Exchange;
use memcache_testkit::{Options, Server};

/// The recorded exchanges: the repository's copy, or the file named by
/// `MEMCACHED_TRANSCRIPTS`.
fn load() -> Vec<Exchange> {
    match std::env::var("MEMCACHED_TRANSCRIPTS") {
        Ok(path) => common::load_file(&path),
        Err(_) => common::transcripts().to_vec(),
    }
}

/// Replaces the digits of `token` after `prefix` with `#`, if it is
/// `prefix` followed by an optional `-` and digits.
fn mask_number(token: &str, prefix: &str) -> Option<String> {
    let rest = token.strip_prefix(prefix)?;
    let digits = rest.strip_prefix('-').unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{prefix}#"))
}

/// Masks the volatile fields of one reply line.
fn normalise_line(line: &str) -> String {
    let tokens: Vec<&str> = line.split(' ').collect();
    match tokens.first().copied() {
        // STAT <name> <value...>: every value is volatile.
        Some("STAT") if tokens.len() >= 3 => format!("STAT {} #", tokens[1]),
        // VALUE <key> <flags> <bytes> <cas>: the cas is volatile.
        Some("VALUE") if tokens.len() == 5 => format!("{} #", tokens[..4].join(" ")),
        // Meta replies: c<cas> and t<ttl>.
        Some("VA" | "HD" | "EN" | "NF" | "NS" | "EX") => tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == 0 {
                    return (*t).to_owned();
                }
                mask_number(t, "c")
                    .or_else(|| mask_number(t, "t"))
                    .unwrap_or_else(|| (*t).to_owned())
            })
            .collect::<Vec<_>>()
            .join(" "),
        // ME <key> exp= la= cas= fetch= cls= size=: la, cas and size are volatile.
        Some("ME") => tokens
            .iter()
            .map(|t| {
                mask_number(t, "la=")
                    .or_else(|| mask_number(t, "cas="))
                    .or_else(|| mask_number(t, "size="))
                    .unwrap_or_else(|| (*t).to_owned())
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => line.to_owned(),
    }
}

/// Masks volatile fields line by line. Data blocks are framed by their
/// `VALUE`/`VA` header so their bytes are never masked.
fn normalise(bytes: &[u8]) -> String {
    let text: String = bytes.iter().map(|b| char::from(*b)).collect();
    let mut out = String::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let (line, tail, ended) = match rest.find("\r\n") {
            Some(i) => (&rest[..i], &rest[i + 2..], true),
            None => (rest, "", false),
        };
        out.push_str(&normalise_line(line));
        if ended {
            out.push_str("\r\n");
        }
        rest = tail;
        // Copy a data block verbatim.
        let tokens: Vec<&str> = line.split(' ').collect();
        let len = match tokens.first().copied() {
            Some("VALUE") => tokens.get(3).and_then(|t| t.parse::<usize>().ok()),
            Some("VA") => tokens.get(1).and_then(|t| t.parse::<usize>().ok()),
            _ => None,
        };
        if let Some(len) = len {
            let take = (len + 2).min(rest.len());
            out.push_str(&rest[..take]);
            rest = &rest[take..];
        }
    }
    out
}

fn show(bytes: &[u8]) -> String {
    const LIMIT: usize = 600;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)])
        .escape_debug()
        .to_string();
    if bytes.len() > LIMIT {
        format!("{text}... ({} bytes)", bytes.len())
    } else {
        text
    }
}

#[test]
fn model_matches_memcached_1_6_18_transcripts() {
    let exchanges = load();
    assert!(exchanges.len() >= 100, "expected the full transcript file");

    let mut main = Server::with_options(Options {
        listen: Some("127.0.0.1".to_owned()),
        tcp_port: 21211,
        ..Options::default()
    });
    let mut first = true;
    let mut exact = Vec::new();
    let mut by_shape = Vec::new();
    let mut failures = Vec::new();

    for ex in &exchanges {
        let mut special;
        let server = match ex.name.as_str() {
            "too_many_connections" => {
                special = Server::with_options(Options {
                    max_connections: 30,
                    max_connections_reached: true,
                    ..Options::default()
                });
                &mut special
            }
            "shutdown_enabled" => {
                special = Server::with_options(Options {
                    shutdown_enabled: true,
                    ..Options::default()
                });
                &mut special
            }
            _ => {
                if !first {
                    main.reconnect();
                }
                first = false;
                &mut main
            }
        };
        let mut out = Vec::new();
        server.feed(&ex.send, &mut out);

        let closed = server.is_closed();
        if closed != ex.closes_connection {
            failures.push(format!(
                "{}: closes_connection is {} but the model's is_closed() is {closed}",
                ex.name, ex.closes_connection
            ));
        }
        if out == ex.recv {
            exact.push(ex.name.as_str());
        } else if normalise(&out) == normalise(&ex.recv) {
            by_shape.push(ex.name.as_str());
        } else {
            failures.push(format!(
                "{}:\n  sent:     {}\n  memcached: {}\n  model:     {}",
                ex.name,
                show(&ex.send),
                show(&ex.recv),
                show(&out)
            ));
        }
    }

    println!(
        "{} exchanges match byte for byte: {}",
        exact.len(),
        exact.join(", ")
    );
    println!(
        "{} exchanges match by shape: {}",
        by_shape.len(),
        by_shape.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} exchange(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn normaliser_masks_only_volatile_fields() {
    assert_eq!(
        normalise(b"VALUE k 0 3 42\r\nc99\r\nVA 3 c7 t300 f5 O1\r\nt12\r\nSTAT pid 1\r\nEND\r\n"),
        "VALUE k 0 3 #\r\nc99\r\nVA 3 c# t# f5 O1\r\nt12\r\nSTAT pid #\r\nEND\r\n"
    );
    assert_eq!(
        normalise(b"ME k exp=-1 la=3 cas=9 fetch=no cls=1 size=64\r\n"),
        "ME k exp=-1 la=# cas=# fetch=no cls=1 size=#\r\n"
    );
    assert_eq!(normalise(b"VALUE k 0 1\r\nx\r\n"), "VALUE k 0 1\r\nx\r\n");
}
