//! Shared test harness: the recorded transcripts, chunked feeding, and a compact
//! textual "shape" of each completion so expectations read like the wire.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different part of the harness

use std::fmt::Write as _;
use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::command::{Command, Version};
use memcache_codec::response::{MetaResponse, MetaStatus, Value};
use memcache_codec::{
    Codec, CommandError, Completion, ConnectionError, DecodeError, Response, Snippet,
};

/// One recorded exchange from `memcached-1.6.18.jsonl`.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub name: String,
    pub send: Vec<u8>,
    pub recv: Vec<u8>,
    pub closes_connection: bool,
}

/// The file's strings are latin-1: one char per byte.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 transcript"))
        .collect()
}

/// Every exchange, parsed once per test binary.
pub fn transcripts() -> &'static [Exchange] {
    static ALL: std::sync::OnceLock<Vec<Exchange>> = std::sync::OnceLock::new();
    ALL.get_or_init(load)
}

fn load() -> Vec<Exchange> {
    load_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/memcached-1.6.18.jsonl"
    ))
}

/// Every exchange of a recording in the transcripts' format (the shared 1.6.18 file,
/// or one of the testkit's recordings).
pub fn load_file(path: &str) -> Vec<Exchange> {
    let text = std::fs::read_to_string(path).expect("transcript file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json line");
            Exchange {
                name: v["name"].as_str().expect("name").to_owned(),
                send: latin1(v["send"].as_str().expect("send")),
                recv: latin1(v["recv"].as_str().expect("recv")),
                closes_connection: v["closes_connection"].as_bool().expect("closes"),
            }
        })
        .collect()
}

pub fn exchange(name: &str) -> &'static Exchange {
    transcripts()
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no exchange {name}"))
}

/// How a byte string prints in a shape: printable ASCII as is, the rest escaped.
pub fn text(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Replaces the digits of every `c<digits>` token (cas) and a positive `t<digits>`
/// (remaining TTL, which may read one lower) with `#`.
fn mask_meta_flags(flags: &[u8]) -> String {
    let mut out = Vec::new();
    for token in flags.split(|&b| b == b' ') {
        if !out.is_empty() {
            out.push(b' ');
        }
        match token {
            [b'c', digits @ ..] | [b't', digits @ ..]
                if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) =>
            {
                out.extend_from_slice(&token[..1]);
                out.push(b'#');
            }
            _ => out.extend_from_slice(token),
        }
    }
    text(&out)
}

fn value_shape(v: &Value, volatile: bool) -> String {
    let cas = match (v.cas, volatile) {
        (None, _) => String::new(),
        (Some(_), true) => " #".to_owned(),
        (Some(c), false) => format!(" {c}"),
    };
    format!("{}{cas} \"{}\"", v.flags, text(&v.data))
}

fn meta_shape(m: &MetaResponse, volatile: bool) -> String {
    let mut s = m.status.code().to_owned();
    if m.inferred {
        s.push_str(" (inferred)");
    }
    if let Some(v) = m.value() {
        let _ = write!(s, " \"{}\"", text(v));
    }
    if !m.raw_flags().is_empty() {
        let flags = if volatile {
            mask_meta_flags(m.raw_flags())
        } else {
            text(m.raw_flags())
        };
        let _ = write!(s, " [{flags}]");
    }
    s
}

/// A completion as text. With `volatile`, cas uniques, stats values and similar
/// fields that differ between runs are masked or counted.
pub fn shape_with(c: &Completion, volatile: bool) -> String {
    match &c.result {
        Ok(r) => response_shape(r, volatile),
        Err(CommandError::Server(e)) => format!("Err({e})"),
        Err(CommandError::Connection(e)) => format!("Fail({})", connection_shape(e)),
        Err(other) => format!("Err({other:?})"),
    }
}

pub fn connection_shape(e: &ConnectionError) -> String {
    match e {
        ConnectionError::Decode(d) => format!("decode: {d}"),
        other => other.to_string(),
    }
}

pub fn response_shape(r: &Response, volatile: bool) -> String {
    match r {
        Response::Hit(v) => format!("Hit({})", value_shape(v, volatile)),
        Response::Items(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| {
                    format!(
                        "{} {}",
                        text(i.key),
                        value_shape(&i.to_item().value, volatile)
                    )
                })
                .collect();
            format!("Items[{}]", items.join(", "))
        }
        Response::Counter(n) => format!("Counter({n})"),
        Response::Version(v) => format!("Version({})", text(v)),
        Response::Stats(lines) if volatile => format!("Stats({})", lines.len()),
        Response::Stats(lines) => {
            let lines: Vec<String> = lines
                .iter()
                .map(|s| format!("{}={}", text(s.name), text(s.value)))
                .collect();
            format!("Stats[{}]", lines.join(", "))
        }
        Response::CacheDump(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| format!("{} {} {}", text(&i.key), i.size, i.expiry))
                .collect();
            format!("CacheDump[{}]", items.join(", "))
        }
        Response::DetailDump(lines) => {
            let lines: Vec<String> = lines
                .iter()
                .map(|p| {
                    format!(
                        "{} {} {} {} {}",
                        text(&p.prefix),
                        p.get,
                        p.hit,
                        p.set,
                        p.del
                    )
                })
                .collect();
            format!("DetailDump[{}]", lines.join(", "))
        }
        Response::Meta(m) => format!("Meta({})", meta_shape(m, volatile)),
        Response::Admin(s) => format!("Admin({} {})", s.word(), text(s.message())),
        Response::MetaDump(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|e| {
                    let mut s = format!(
                        "{} exp={} la={} cas={} fetch={}",
                        text(&e.key),
                        e.exp,
                        e.last_access,
                        e.cas,
                        e.fetched
                    );
                    if let Some(c) = e.class {
                        let _ = write!(s, " cls={c}");
                    }
                    if let Some(n) = e.size {
                        let _ = write!(s, " size={n}");
                    }
                    if let Some(f) = e.flags {
                        let _ = write!(s, " flags={f}");
                    }
                    s
                })
                .collect();
            format!("MetaDump[{}]", entries.join(", "))
        }
        Response::MgDump(keys) => {
            let keys: Vec<String> = keys.iter().map(|k| text(k)).collect();
            format!("MgDump[{}]", keys.join(", "))
        }
        Response::ClusterConfig(c) => {
            let nodes: Vec<String> = c
                .nodes
                .iter()
                .map(|n| format!("{}|{}|{}", text(&n.host), text(&n.ip), n.port))
                .collect();
            format!("Cluster({} [{}])", c.version, nodes.join(" "))
        }
        Response::Log(l) => format!("Log({})", text(l.as_bytes())),
        Response::Raw(r) => {
            let lines: Vec<String> = r.lines().map(text).collect();
            match r.data() {
                Some(d) => format!("Raw[{}] \"{}\"", lines.join(" | "), text(d)),
                None => format!("Raw[{}]", lines.join(" | ")),
            }
        }
        Response::MetaDebug(d) => {
            let fields: Vec<String> = d
                .pairs()
                .map(|(k, v)| {
                    let volatile_field = volatile && matches!(k, b"la" | b"cas" | b"size");
                    format!(
                        "{}={}",
                        text(k),
                        if volatile_field { "#".into() } else { text(v) }
                    )
                })
                .collect();
            format!("ME({} {})", text(&d.key), fields.join(" "))
        }
        other => format!("{other:?}"),
    }
}

/// What decoding a stream produced: every completion's shape, then how it ended
/// (`End(pending=N)` while still open, or the poison error).
pub fn run_shapes(codec: &mut Codec, chunks: &[&[u8]], eof: bool, volatile: bool) -> Vec<String> {
    let now = Instant::now();
    let mut buf = BytesMut::new();
    let mut shapes = Vec::new();
    let mut end = None;
    'feed: for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf, now) {
                Ok(Some(c)) => shapes.push(shape_with(&c, volatile)),
                Ok(None) => break,
                Err(e) => {
                    end = Some(format!("Poisoned({})", connection_shape(&e)));
                    break 'feed;
                }
            }
        }
    }
    if end.is_none() && eof {
        codec.handle_eof();
        loop {
            match codec.decode(&mut buf, now) {
                Ok(Some(c)) => shapes.push(shape_with(&c, volatile)),
                Ok(None) => unreachable!("a poisoned codec never needs more bytes"),
                Err(e) => {
                    end = Some(format!("Poisoned({})", connection_shape(&e)));
                    break;
                }
            }
        }
    }
    shapes.push(
        end.unwrap_or_else(|| format!("End(pending={}, buffered={})", codec.pending(), buf.len())),
    );
    shapes
}

/// Sends `commands` to a fresh codec; returns it and the bytes written.
pub fn codec_with(commands: &[&dyn Command]) -> (Codec, BytesMut) {
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let now = Instant::now();
    for c in commands {
        codec.send(*c, &mut out, now).expect("valid command");
    }
    (codec, out)
}

/// Feeds `recv` whole, one byte at a time, and split in two at every position; the
/// results must agree. Returns the whole-feed result.
pub fn decode_every_way(
    make: &dyn Fn() -> Codec,
    recv: &[u8],
    eof: bool,
    volatile: bool,
) -> Vec<String> {
    let whole = run_shapes(&mut make(), &[recv], eof, volatile);
    let bytes: Vec<&[u8]> = recv.chunks(1).collect();
    assert_eq!(
        run_shapes(&mut make(), &bytes, eof, volatile),
        whole,
        "byte-at-a-time differs from whole"
    );
    for cut in 0..=recv.len() {
        let (a, b) = recv.split_at(cut);
        assert_eq!(
            run_shapes(&mut make(), &[a, b], eof, volatile),
            whole,
            "split at {cut} differs from whole"
        );
    }
    whole
}

/// Shorthand for a meta reply with no value and no flags.
pub fn meta(status: MetaStatus) -> String {
    format!("Meta({})", status.code())
}

/// The `Snippet` the codec makes of `line` in its errors, built the way the codec
/// does (through a decode), for expected errors.
pub fn snippet_of(line: &[u8]) -> Snippet {
    let mut codec = Codec::new();
    codec
        .send(&Version, &mut BytesMut::new(), Instant::now())
        .unwrap();
    let mut buf = BytesMut::from(line);
    buf.extend_from_slice(b"\r\n");
    match codec
        .decode(&mut buf, Instant::now())
        .unwrap()
        .unwrap()
        .result
    {
        Err(CommandError::Connection(ConnectionError::Decode(DecodeError::UnexpectedReply {
            line,
            ..
        }))) => line,
        other => panic!("{other:?}"),
    }
}
