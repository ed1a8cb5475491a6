//! Decode throughput: the full [`Codec`] against a naive floor, memcache-proto 0.0.5
//! and memcpy, on the same reply streams, fed whole, in 16 KiB reads and in
//! 1460-byte reads.
//!
//! ```text
//! cargo bench --bench decode                    # criterion, then the ratio table
//! cargo bench --bench decode -- get_hit         # only ids containing "get_hit"
//! MCB_RATIO_ONLY=1 cargo bench --bench decode   # just the ratio table (~1 min)
//! MCB_SAMPLES=21 MCB_SAMPLE_MS=40 ...           # more / longer samples per cell
//! MCB_RATIO=0 cargo bench --bench decode        # criterion only
//! MCB_SEED=1 cargo bench --bench decode         # codec figures for twisted_seed.py
//! MCB_CALLGRIND=get_hit/16k/each <decode exe>   # one contender, for valgrind
//! cargo test --bench decode                     # every contender counts every reply once
//! ```
//!
//! Contenders, each fed the same bytes in the same reads:
//! * `codec`: [`Codec::decode`] drained after every read. Its deque was filled by
//!   sending the matching commands, and its input buffer written, outside the timed
//!   part; codec and buffer are reused from pass to pass, as on a long-lived
//!   connection. A read extends the buffer's length over bytes already in place, so
//!   the codec sees the buffer grow as after a `read` but the copy a real read costs
//!   is not billed to it (it is the `memcpy` row), just as the floor's reads cost it
//!   nothing.
//! * `each`: the same through [`Codec::completions`], every completion of a read
//!   handed to a closure in one call (the API an event loop uses).
//! * `floor`: a deliberately naive, protocol-aware, untyped decoder (below): memchr
//!   per line, match the first token, skip data blocks by length, check the CRLF,
//!   count replies. No reply types, no request matching, no values built.
//! * `mp`: memcache-proto's `Response::parse(&[u8])` (copies keys and values into
//!   `Vec`s); `mpb`: its zero-copy `ResponseBytes::parse(Bytes)`. Stateless: on
//!   `Incomplete` the driver waits for the next read and parses again from the
//!   start of the unconsumed bytes, as its users must. It rejects `STAT` lines
//!   ("unknown response"): in the mixed stream the driver skips such a line to its
//!   CRLF itself and counts the block's `END` (which it reads as an empty get). It
//!   has no meta protocol: the meta stream has no `mp`/`mpb` figures.
//! * `memcpy`: copying the same reads into a preallocated buffer.

#![allow(unsafe_code)] // denied crate-wide; one `set_len` in `run_codec`, see there

#[path = "streams/mod.rs"]
mod streams;

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use memcache_codec::Codec;
use memcache_proto::{ParseError, Response, ResponseBytes};

use streams::{CHUNKINGS, Peer, Stream};

// ---------------------------------------------------------------------------------
// The naive floor
// ---------------------------------------------------------------------------------

/// Parses the complete lines (and data blocks) at the front of `buf`; returns the
/// bytes consumed and the replies completed. A partial line or block is left for
/// the next call, which searches it again from its start.
fn floor_parse(buf: &[u8]) -> (usize, usize) {
    let mut pos = 0;
    let mut replies = 0;
    while let Some(i) = memchr::memchr(b'\n', &buf[pos..]) {
        let newline = pos + i;
        assert!(
            newline > pos && buf[newline - 1] == b'\r',
            "floor: bare newline"
        );
        let line = &buf[pos..newline - 1];
        let mut next = newline + 1;
        let mut tokens = line.split(|&b| b == b' ');
        let first = tokens.next().unwrap_or_default();
        let length_token = match first {
            b"VALUE" => tokens.nth(2), // VALUE <key> <flags> <bytes> [<cas>]
            b"VA" => tokens.next(),    // VA <size> <flags>*
            _ => None,
        };
        match first {
            b"VALUE" | b"VA" => {
                let len = length_token
                    .unwrap_or_default()
                    .iter()
                    .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0'));
                if buf.len() < next + len + 2 {
                    break; // the block is not all here: read this header again later
                }
                assert_eq!(
                    &buf[next + len..next + len + 2],
                    b"\r\n",
                    "floor: bad block end"
                );
                next += len + 2;
                if first == b"VA" {
                    replies += 1;
                }
            }
            b"STAT" => {}      // more lines of the same reply follow
            _ => replies += 1, // END, STORED, HD, a number, ...: a reply is complete
        }
        pos = next;
    }
    (pos, replies)
}

// ---------------------------------------------------------------------------------
// The contenders' timed parts. `#[inline(never)]` so callgrind can count each alone
// (`--toggle-collect='*run_codec*'`).
// ---------------------------------------------------------------------------------

/// What the codec needs, built outside the timed part.
struct CodecInput {
    codec: Codec,
    /// The input buffer. Setup writes the whole stream into it and truncates it to
    /// nothing; each read then extends its length over the next bytes, already in
    /// place (see `run_codec`).
    buf: BytesMut,
    /// Bytes of the stream not yet given to the codec.
    unread: usize,
    now: Instant,
}

thread_local! {
    /// The codec and input buffer of the previous pass. A long-lived connection
    /// reuses both; reusing them here also keeps the allocator in a steady state, so
    /// no pass pays page faults for memory the previous one gave back.
    static POOL: RefCell<Vec<(Codec, BytesMut)>> = const { RefCell::new(Vec::new()) };
}

fn setup_codec(stream: &Stream) -> CodecInput {
    let now = Instant::now();
    let pooled = POOL.with(|pool| pool.borrow_mut().pop());
    let (mut codec, mut buf) = pooled.unwrap_or_else(|| (Codec::new(), BytesMut::new()));
    assert_eq!(codec.pending(), 0, "a pooled codec has finished its stream");
    stream.fill(&mut codec, now);
    buf.clear();
    buf.extend_from_slice(&stream.bytes); // reclaims the previous pass's allocation
    buf.clear();
    CodecInput {
        codec,
        buf,
        unread: stream.bytes.len(),
        now,
    }
}

impl Drop for CodecInput {
    /// Returns the codec and the buffer (unshared again: every value was dropped)
    /// to the pool, after timing.
    fn drop(&mut self) {
        let codec = std::mem::take(&mut self.codec);
        let buf = std::mem::take(&mut self.buf);
        POOL.with(|pool| pool.borrow_mut().push((codec, buf)));
    }
}

/// Feeds the stream in `chunk`-byte reads, draining the codec after each.
///
/// A read costs the codec nothing here, as it costs the floor nothing (it just
/// moves its end index): the buffer's length is extended over bytes `setup_codec`
/// already wrote. (Copying the read is the `memcpy` row; feeding with
/// `BytesMut::unsplit` instead would bill the codec ~15 ns per read for two atomic
/// reference-count updates, most of the value_512k/1460 figure.)
#[inline(never)]
fn run_codec(mut input: CodecInput, chunk: usize) -> (CodecInput, usize) {
    let mut replies = 0;
    while input.unread > 0 {
        let n = chunk.min(input.unread);
        input.unread -= n;
        let len = input.buf.len() + n;
        assert!(len <= input.buf.capacity(), "setup wrote the whole stream");
        // SAFETY: `len <= capacity`, and bytes `buf.len()..len` are initialised:
        // `setup_codec` wrote the whole stream into this allocation, and nothing has
        // written there since (the codec only reads its input and splits off or
        // advances past its front, which leaves the bytes after `len()` in place).
        unsafe { input.buf.set_len(len) };
        while let Some(done) = input
            .codec
            .decode(&mut input.buf, input.now)
            .expect("the stream is valid")
        {
            drop(black_box(done));
            replies += 1;
        }
    }
    (input, replies)
}

/// The same through [`Codec::completions`]: every completion of a read from one
/// iterator.
#[inline(never)]
fn run_each(mut input: CodecInput, chunk: usize) -> (CodecInput, usize) {
    let mut replies = 0;
    while input.unread > 0 {
        let n = chunk.min(input.unread);
        input.unread -= n;
        let len = input.buf.len() + n;
        assert!(len <= input.buf.capacity(), "setup wrote the whole stream");
        // SAFETY: as in `run_codec`.
        unsafe { input.buf.set_len(len) };
        input
            .codec
            .completions(&mut input.buf, input.now)
            .for_each(|done| {
                drop(black_box(done));
                replies += 1;
            });
        assert!(input.codec.poisoned().is_none(), "the stream is valid");
    }
    (input, replies)
}

#[inline(never)]
fn run_floor(stream: &[u8], chunk: usize) -> usize {
    let (mut pos, mut avail, mut replies) = (0, 0, 0);
    while avail < stream.len() {
        avail = avail.saturating_add(chunk).min(stream.len());
        let (consumed, done) = floor_parse(black_box(&stream[pos..avail]));
        pos += consumed;
        replies += done;
    }
    replies
}

/// memcache-proto cannot parse a `STAT` line: skip it (to its CRLF) as a user must.
fn skip_stat_line(buf: &[u8], error: ParseError) -> Option<usize> {
    assert!(buf.starts_with(b"STAT "), "memcache-proto: {error:?}");
    memchr::memmem::find(buf, b"\r\n").map(|i| i + 2)
}

#[inline(never)]
fn run_mp(stream: &[u8], chunk: usize) -> usize {
    let (mut pos, mut avail, mut replies) = (0, 0, 0);
    while avail < stream.len() {
        avail = avail.saturating_add(chunk).min(stream.len());
        loop {
            match Response::parse(&stream[pos..avail]) {
                Ok((response, consumed)) => {
                    drop(black_box(response));
                    pos += consumed;
                    replies += 1;
                }
                Err(ParseError::Incomplete) => break,
                Err(e) => match skip_stat_line(&stream[pos..avail], e) {
                    Some(n) => pos += n,
                    None => break,
                },
            }
        }
    }
    replies
}

#[inline(never)]
fn run_mpb(stream: &Bytes, chunk: usize) -> usize {
    let (mut pos, mut avail, mut replies) = (0, 0, 0);
    while avail < stream.len() {
        avail = avail.saturating_add(chunk).min(stream.len());
        loop {
            match ResponseBytes::parse(stream.slice(pos..avail)) {
                Ok((response, consumed)) => {
                    drop(black_box(response));
                    pos += consumed;
                    replies += 1;
                }
                Err(ParseError::Incomplete) => break,
                Err(e) => match skip_stat_line(&stream[pos..avail], e) {
                    Some(n) => pos += n,
                    None => break,
                },
            }
        }
    }
    replies
}

#[inline(never)]
fn run_memcpy(stream: &[u8], chunk: usize, dst: &mut Vec<u8>) -> usize {
    dst.clear();
    for read in stream.chunks(chunk.min(stream.len())) {
        dst.extend_from_slice(black_box(read));
    }
    black_box(&dst);
    dst.len()
}

// ---------------------------------------------------------------------------------
// One contender on one stream and chunking
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Codec,
    Each,
    Floor,
    Mp,
    Mpb,
    Memcpy,
}

const WHO: [Who; 6] = [
    Who::Codec,
    Who::Each,
    Who::Floor,
    Who::Mp,
    Who::Mpb,
    Who::Memcpy,
];

impl Who {
    fn name(self) -> &'static str {
        match self {
            Self::Codec => "codec",
            Self::Each => "each",
            Self::Floor => "floor",
            Self::Mp => "mp",
            Self::Mpb => "mpb",
            Self::Memcpy => "memcpy",
        }
    }

    fn applies_to(self, stream: &Stream) -> bool {
        !matches!(self, Self::Mp | Self::Mpb) || stream.peer != Peer::NoMeta
    }
}

/// A stream with the inputs its stateless contenders reuse.
struct Case {
    stream: Stream,
    frozen: Bytes,
}

impl Case {
    fn new(stream: Stream) -> Self {
        let frozen = Bytes::from(stream.bytes.clone());
        Self { stream, frozen }
    }

    /// Runs `who` once over the stream in `chunk`-byte reads: the timed part's
    /// duration and what it counted (replies, or bytes for memcpy).
    fn once(&self, who: Who, chunk: usize, dst: &mut Vec<u8>) -> (Duration, usize) {
        let bytes = &self.stream.bytes[..];
        match who {
            Who::Codec | Who::Each => {
                let input = setup_codec(&self.stream);
                let start = Instant::now();
                let (input, n) = if who == Who::Codec {
                    run_codec(input, chunk)
                } else {
                    run_each(input, chunk)
                };
                let took = start.elapsed();
                drop(input);
                (took, n)
            }
            Who::Floor => timed(|| run_floor(bytes, chunk)),
            Who::Mp => timed(|| run_mp(bytes, chunk)),
            Who::Mpb => timed(|| run_mpb(&self.frozen, chunk)),
            Who::Memcpy => timed(|| run_memcpy(bytes, chunk, dst)),
        }
    }

    fn expected(&self, who: Who) -> usize {
        match who {
            Who::Memcpy => self.stream.bytes.len(),
            _ => self.stream.responses,
        }
    }
}

fn timed(f: impl FnOnce() -> usize) -> (Duration, usize) {
    let start = Instant::now();
    let n = f();
    (start.elapsed(), n)
}

fn cases() -> Vec<Case> {
    streams::all().into_iter().map(Case::new).collect()
}

// ---------------------------------------------------------------------------------
// criterion
// ---------------------------------------------------------------------------------

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let stream = &case.stream;
        let mut group = c.benchmark_group(format!("decode/{}", stream.name));
        group.throughput(Throughput::Elements(stream.responses as u64));
        for (label, chunk) in CHUNKINGS {
            for who in WHO.into_iter().filter(|w| w.applies_to(stream)) {
                let id = BenchmarkId::new(who.name(), label);
                match who {
                    Who::Codec => group.bench_function(id, |b| {
                        b.iter_batched(
                            || setup_codec(stream),
                            |input| run_codec(input, chunk),
                            BatchSize::PerIteration,
                        )
                    }),
                    Who::Each => group.bench_function(id, |b| {
                        b.iter_batched(
                            || setup_codec(stream),
                            |input| run_each(input, chunk),
                            BatchSize::PerIteration,
                        )
                    }),
                    Who::Floor => {
                        group.bench_function(id, |b| b.iter(|| run_floor(&stream.bytes, chunk)))
                    }
                    Who::Mp => {
                        group.bench_function(id, |b| b.iter(|| run_mp(&stream.bytes, chunk)))
                    }
                    Who::Mpb => {
                        group.bench_function(id, |b| b.iter(|| run_mpb(&case.frozen, chunk)))
                    }
                    Who::Memcpy => {
                        let mut dst = Vec::with_capacity(stream.bytes.len());
                        group.bench_function(id, |b| {
                            b.iter(|| run_memcpy(&stream.bytes, chunk, &mut dst))
                        })
                    }
                };
            }
        }
        group.finish();
    }
}

// ---------------------------------------------------------------------------------
// The ratio table: interleaved samples of every contender, medians, ratios
// ---------------------------------------------------------------------------------

/// Nanoseconds per stream pass: the median of `samples` samples, each the mean of
/// enough passes to last about `target`. Contenders of a row are sampled in turn,
/// so a burst of load on the shared machine hits them alike.
fn medians(case: &Case, chunk: usize, samples: usize, target: Duration) -> Vec<Option<f64>> {
    let mut dst = Vec::with_capacity(case.stream.bytes.len());
    let whos: Vec<Who> = WHO
        .into_iter()
        .filter(|w| w.applies_to(&case.stream))
        .collect();
    // Calibrate passes per sample (and warm up).
    let passes: Vec<u32> = whos
        .iter()
        .map(|&who| {
            let mut spent = Duration::ZERO;
            let mut n = 0u32;
            while spent < target / 4 || n < 3 {
                let (took, counted) = case.once(who, chunk, &mut dst);
                assert_eq!(counted, case.expected(who), "{} miscounted", who.name());
                spent += took;
                n += 1;
            }
            let per = spent / n;
            (target.as_nanos() / per.as_nanos().max(1)).clamp(1, 100_000) as u32
        })
        .collect();
    let mut taken: Vec<Vec<f64>> = vec![Vec::with_capacity(samples); whos.len()];
    for _ in 0..samples {
        for (i, &who) in whos.iter().enumerate() {
            let mut spent = Duration::ZERO;
            for _ in 0..passes[i] {
                spent += case.once(who, chunk, &mut dst).0;
            }
            taken[i].push(spent.as_nanos() as f64 / f64::from(passes[i]));
        }
    }
    WHO.iter()
        .map(|who| {
            let i = whos.iter().position(|w| w == who)?;
            let mut v = taken[i].clone();
            v.sort_by(f64::total_cmp);
            Some(v[v.len() / 2])
        })
        .collect()
}

fn ratio_table(cases: &[Case], filter: Option<&str>) {
    let samples: usize = env_number("MCB_SAMPLES", 11);
    let target = Duration::from_millis(env_number("MCB_SAMPLE_MS", 20));
    println!();
    println!(
        "Ratio table: median of {samples} interleaved samples (~{} ms each) per cell; \
         ns per reply (memcpy: ns per reply's worth of bytes).",
        target.as_millis()
    );
    println!(
        "decode = the codec through `decode` (one completion per call), each = through \
         `completions` (a read's completions from one iterator). x/floor and each/mp(b) are \
         throughput ratios (>1: the codec is faster); split/whole is each's cost ratio \
         against the same stream fed whole."
    );
    println!();
    println!(
        "| stream | reads | replies | bytes | decode ns | each ns | floor ns | mp ns | mpb ns \
         | memcpy ns | decode/floor | each/floor | each/mp | each/mpb | split/whole |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let s = &case.stream;
        let mut whole_each = None;
        for (label, chunk) in CHUNKINGS {
            let id = format!("{}/{label}", s.name);
            if filter.is_some_and(|f| !id.contains(f) && !s.name.contains(f)) {
                continue;
            }
            let m = medians(case, chunk, samples, target);
            let per = |x: Option<f64>| x.map(|ns| ns / s.responses as f64);
            let [codec, each, floor, mp, mpb, memcpy] = [0, 1, 2, 3, 4, 5].map(|i| per(m[i]));
            if chunk == usize::MAX {
                whole_each = each;
            }
            let ratio = |num: Option<f64>, den: Option<f64>| match (num, den) {
                (Some(a), Some(b)) => format!("{:.2}", a / b),
                _ => "n/a".to_owned(),
            };
            let ns = |x: Option<f64>| x.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
            println!(
                "| {} | {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.name,
                s.responses,
                s.bytes.len(),
                ns(codec),
                ns(each),
                ns(floor),
                ns(mp),
                ns(mpb),
                ns(memcpy),
                ratio(floor, codec),
                ratio(floor, each),
                ratio(mp, each),
                ratio(mpb, each),
                ratio(each, whole_each),
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Side modes: callgrind, the Twisted seed's figures, self-check
// ---------------------------------------------------------------------------------

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn find<'c>(cases: &'c [Case], name: &str) -> &'c Case {
    cases
        .iter()
        .find(|c| c.stream.name == name)
        .unwrap_or_else(|| panic!("no stream {name}"))
}

fn chunk_of(label: &str) -> usize {
    CHUNKINGS
        .iter()
        .find(|(l, _)| *l == label)
        .unwrap_or_else(|| panic!("reads are whole, 16k or 1460, not {label}"))
        .1
}

/// `MCB_CALLGRIND=<stream>/<reads>/<who>`: runs one contender `MCB_REPS` times (10 by
/// default), setup outside `run_*`, so `--toggle-collect='*run_<who>*'` counts only
/// the decoding. Prints the replies decoded, to divide the instruction count by.
fn callgrind_mode(cases: &[Case], spec: &str) {
    let parts: Vec<&str> = spec.split('/').collect();
    let [stream, label, who] = parts[..] else {
        panic!("MCB_CALLGRIND=<stream>/<whole|16k|1460>/<codec|each|floor|mp|mpb|memcpy>");
    };
    let case = find(cases, stream);
    let who = *WHO
        .iter()
        .find(|w| w.name() == who)
        .unwrap_or_else(|| panic!("no contender {who}"));
    let chunk = chunk_of(label);
    let reps: usize = env_number("MCB_REPS", 10);
    let mut dst = Vec::with_capacity(case.stream.bytes.len());
    let mut replies = 0;
    for _ in 0..reps {
        let (_, n) = case.once(who, chunk, &mut dst);
        assert_eq!(n, case.expected(who));
        replies += case.stream.responses;
    }
    println!("callgrind {spec} reps={reps} replies={replies}");
}

/// `MCB_SEED=1`: the codec's replies per second (through `completions`) on the STORED
/// and get-hit streams in
/// 16 KiB reads, with each stream's length and FNV-1a hash, for `twisted_seed.py`.
fn seed_mode(cases: &[Case]) {
    let samples: usize = env_number("MCB_SAMPLES", 11);
    for name in ["stored", "get_hit"] {
        let case = find(cases, name);
        let m = medians(case, 16 * 1024, samples, Duration::from_millis(20));
        let ns = m[1].expect("the codec applies to every stream");
        println!(
            "seed {name} bytes={} fnv={:016x} replies={} codec_replies_per_sec={:.0}",
            case.stream.bytes.len(),
            streams::fnv1a(&case.stream.bytes),
            case.stream.responses,
            case.stream.responses as f64 * 1e9 / ns,
        );
    }
}

/// `cargo test --bench decode`: every contender counts every reply exactly once
/// under every chunking (and 1-byte reads for the stateful ones).
fn self_check(cases: &[Case]) {
    let mut dst = Vec::new();
    let mut checked = 0;
    for case in cases {
        for (_, chunk) in CHUNKINGS.iter().chain(&[("1", 1)]) {
            for who in WHO.into_iter().filter(|w| w.applies_to(&case.stream)) {
                // memcache-proto fed a byte at a time is quadratic on large replies.
                if *chunk == 1 && matches!(who, Who::Mp | Who::Mpb) && case.stream.responses == 1 {
                    continue;
                }
                let (_, n) = case.once(who, *chunk, &mut dst);
                assert_eq!(
                    n,
                    case.expected(who),
                    "{} on {}/{chunk}",
                    who.name(),
                    case.stream.name
                );
                checked += 1;
            }
        }
    }
    println!("decode bench self-check: {checked} passed, 0 failed");
}

/// The first positional argument (criterion's FILTER), skipping option values.
fn filter_arg(args: &[String]) -> Option<String> {
    const TAKES_VALUE: &[&str] = &[
        "--color",
        "--colour",
        "-c",
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--output-format",
        "--format",
        "--plotting-backend",
    ];
    let mut skip = false;
    for arg in args.iter().skip(1) {
        if skip {
            skip = false;
        } else if TAKES_VALUE.contains(&arg.as_str()) {
            skip = true;
        } else if !arg.starts_with('-') {
            return Some(arg.clone());
        }
    }
    None
}

fn main() {
    let cases = cases();
    if let Ok(spec) = std::env::var("MCB_CALLGRIND") {
        return callgrind_mode(&cases, &spec);
    }
    if std::env::var_os("MCB_SEED").is_some() {
        return seed_mode(&cases);
    }
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let benchmarking = has("--bench") && !has("--test") && !has("--list");
    let filter = filter_arg(&args);
    if !benchmarking && !has("--list") {
        self_check(&cases);
    }
    let ratio_only = std::env::var_os("MCB_RATIO_ONLY").is_some();
    if !ratio_only {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2))
            .sample_size(20)
            .configure_from_args();
        criterion_benches(&mut c, &cases);
        c.final_summary();
    }
    let ratio_wanted = std::env::var("MCB_RATIO").map_or(true, |v| v != "0");
    if benchmarking && !has("--profile-time") && ratio_wanted {
        ratio_table(&cases, filter.as_deref());
    }
}
