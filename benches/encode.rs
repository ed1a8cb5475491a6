//! Encode throughput: [`Codec::send`] against memcache-proto 0.0.5's request encoder
//! and a naive writer (no validation, no deque), per command.
//!
//! ```text
//! cargo bench --bench encode          # criterion, then a table of medians
//! cargo bench --bench encode -- set   # only ids containing "set"
//! MCB_CALLGRIND=gets_100_keys/codec <encode exe>   # one contender, for valgrind
//! ```
//!
//! Commands: `set` with a 16-byte key and a 32-byte value, a 100-key `gets`, and a
//! meta `mg <key> v f c`. memcache-proto only writes multi-key gets as `gets`, so
//! the codec sends `GetMulti::with_cas` and all three write the same bytes; it has
//! no meta commands. The codec also checks every key and remembers each command's
//! reply shape and keys in its deque; the others do neither.
//!
//! Each timed iteration writes [`BATCH`] commands. The codec is warmed outside the
//! timed part (its deque and key store have held a batch before and were drained by
//! decoding replies), and every output buffer has room for the batch, so the figures
//! are steady-state costs without buffer growth.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use memcache_codec::Codec;
use memcache_codec::command::{GetMulti, MetaGet, Store};
use memcache_proto::Request;

/// Commands written per timed iteration.
const BATCH: usize = 1000;
const KEY_16: &str = "user:0000000042a";
const VALUE_32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz012345";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Set,
    Gets,
    MetaGet,
}

/// What a contender writes, prepared outside the timed part.
struct Case {
    name: &'static str,
    kind: Kind,
    /// The reply that completes one command, to drain a warm-up batch.
    reply: &'static [u8],
    keys: Vec<String>,
}

impl Case {
    fn key_refs(&self) -> Vec<&[u8]> {
        self.keys.iter().map(String::as_bytes).collect()
    }

    /// Bytes one command takes on the wire (the same for every contender).
    fn wire_len(&self) -> usize {
        let mut out = Vec::new();
        naive(self, &self.key_refs(), &mut out);
        out.len()
    }
}

fn cases() -> Vec<Case> {
    assert_eq!(KEY_16.len(), 16);
    vec![
        Case {
            name: "set_16B_key_32B_value",
            kind: Kind::Set,
            reply: b"STORED\r\n",
            keys: vec![KEY_16.to_owned()],
        },
        Case {
            name: "gets_100_keys",
            kind: Kind::Gets,
            reply: b"END\r\n",
            keys: (0..100).map(|i| format!("key:{i:04}")).collect(),
        },
        Case {
            name: "mg_v_f_c",
            kind: Kind::MetaGet,
            reply: b"EN\r\n",
            keys: vec![KEY_16.to_owned()],
        },
    ]
}

#[inline]
fn send_one(codec: &mut Codec, case: &Case, out: &mut BytesMut, now: Instant) {
    let sent = match case.kind {
        Kind::Set => codec.send(&Store::set(&case.keys[0], VALUE_32), out, now),
        Kind::Gets => codec.send(&GetMulti::new(&case.keys).with_cas(), out, now),
        Kind::MetaGet => codec.send(
            &MetaGet::new(&case.keys[0])
                .return_value()
                .return_client_flags()
                .return_cas(),
            out,
            now,
        ),
    };
    sent.expect("valid command");
}

/// A codec whose deque has held and released a batch, and an output buffer with room.
fn setup_codec(case: &Case) -> (Codec, BytesMut, Instant) {
    let now = Instant::now();
    let mut codec = Codec::new();
    let mut out = BytesMut::with_capacity(case.wire_len() * BATCH + 64);
    for _ in 0..BATCH {
        send_one(&mut codec, case, &mut out, now);
    }
    let mut replies = BytesMut::new();
    for _ in 0..BATCH {
        replies.extend_from_slice(case.reply);
    }
    while codec.decode(&mut replies, now).expect("valid").is_some() {}
    assert_eq!(codec.pending(), 0);
    // Touch every page now, so the timed part takes no page faults.
    out.clear();
    out.resize(out.capacity(), 0);
    out.clear();
    (codec, out, now)
}

#[inline(never)]
fn run_codec(
    case: &Case,
    (mut codec, mut out, now): (Codec, BytesMut, Instant),
) -> (Codec, BytesMut) {
    for _ in 0..BATCH {
        send_one(&mut codec, case, &mut out, now);
    }
    black_box(&out);
    (codec, out)
}

/// memcache-proto writes into a caller-sized `&mut [u8]` (and panics if it is short).
#[inline(never)]
fn run_mp(case: &Case, keys: &[&[u8]], buf: &mut [u8]) -> usize {
    let mut pos = 0;
    for _ in 0..BATCH {
        pos += match case.kind {
            Kind::Set => Request::set(keys[0], VALUE_32).encode(&mut buf[pos..]),
            Kind::Gets => Request::gets(keys).encode(&mut buf[pos..]),
            Kind::MetaGet => unreachable!("memcache-proto has no meta commands"),
        };
    }
    black_box(&buf[..pos]);
    pos
}

/// The naive writer: appends the same bytes with no checks.
fn naive(case: &Case, keys: &[&[u8]], out: &mut Vec<u8>) {
    match case.kind {
        Kind::Set => {
            out.extend_from_slice(b"set ");
            out.extend_from_slice(keys[0]);
            out.extend_from_slice(b" 0 0 32\r\n");
            out.extend_from_slice(VALUE_32);
            out.extend_from_slice(b"\r\n");
        }
        Kind::Gets => {
            out.extend_from_slice(b"gets");
            for key in keys {
                out.push(b' ');
                out.extend_from_slice(key);
            }
            out.extend_from_slice(b"\r\n");
        }
        Kind::MetaGet => {
            out.extend_from_slice(b"mg ");
            out.extend_from_slice(keys[0]);
            out.extend_from_slice(b" v f c\r\n");
        }
    }
}

#[inline(never)]
fn run_naive(case: &Case, keys: &[&[u8]], out: &mut Vec<u8>) -> usize {
    out.clear();
    for _ in 0..BATCH {
        naive(case, keys, out);
    }
    black_box(&out);
    out.len()
}

fn has_peer(case: &Case) -> bool {
    case.kind != Kind::MetaGet
}

/// Checks that the three contenders write the same bytes.
fn same_bytes(case: &Case) {
    let keys = case.key_refs();
    let mut expected = Vec::new();
    naive(case, &keys, &mut expected);
    let (mut codec, mut out, now) = (Codec::new(), BytesMut::new(), Instant::now());
    send_one(&mut codec, case, &mut out, now);
    assert_eq!(&out[..], &expected[..], "codec bytes for {}", case.name);
    if has_peer(case) {
        let mut buf = vec![0u8; expected.len() + 64];
        let n = match case.kind {
            Kind::Set => Request::set(keys[0], VALUE_32).encode(&mut buf),
            _ => Request::gets(&keys).encode(&mut buf),
        };
        assert_eq!(
            &buf[..n],
            &expected[..],
            "memcache-proto bytes for {}",
            case.name
        );
    }
}

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let keys = case.key_refs();
        let mut group = c.benchmark_group(format!("encode/{}", case.name));
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(BenchmarkId::new("codec", BATCH), |b| {
            b.iter_batched(
                || setup_codec(case),
                |input| run_codec(case, input),
                BatchSize::PerIteration,
            )
        });
        if has_peer(case) {
            let mut buf = vec![0u8; case.wire_len() * BATCH + 64];
            group.bench_function(BenchmarkId::new("mp", BATCH), |b| {
                b.iter(|| run_mp(case, &keys, &mut buf))
            });
        }
        let mut out = Vec::with_capacity(case.wire_len() * BATCH + 64);
        group.bench_function(BenchmarkId::new("naive", BATCH), |b| {
            b.iter(|| run_naive(case, &keys, &mut out))
        });
        group.finish();
    }
}

/// Median ns per command over interleaved samples of every contender.
fn table(cases: &[Case]) {
    const SAMPLES: usize = 15;
    println!();
    println!("Encode: median of {SAMPLES} interleaved samples, ns per command ({BATCH} per pass).");
    println!();
    println!("| command | bytes | codec ns | mp ns | naive ns | codec/mp | codec/naive |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let keys = case.key_refs();
        let mut buf = vec![0u8; case.wire_len() * BATCH + 64];
        let mut out = Vec::with_capacity(case.wire_len() * BATCH + 64);
        let mut samples: [Vec<f64>; 3] = Default::default();
        for _ in 0..SAMPLES {
            let passes = 20;
            let mut spent = [Duration::ZERO; 3];
            for _ in 0..passes {
                let input = setup_codec(case);
                let start = Instant::now();
                let kept = run_codec(case, input);
                spent[0] += start.elapsed();
                drop(kept);
                if has_peer(case) {
                    let start = Instant::now();
                    run_mp(case, &keys, &mut buf);
                    spent[1] += start.elapsed();
                }
                let start = Instant::now();
                run_naive(case, &keys, &mut out);
                spent[2] += start.elapsed();
            }
            for (i, s) in spent.iter().enumerate() {
                samples[i].push(s.as_nanos() as f64 / (passes * BATCH) as f64);
            }
        }
        let [codec, mp, naive] = samples.map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        });
        let mp = has_peer(case).then_some(mp);
        let show = |x: Option<f64>| x.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
        println!(
            "| {} | {} | {codec:.1} | {} | {naive:.1} | {} | {:.2} |",
            case.name,
            case.wire_len(),
            show(mp),
            mp.map_or("n/a".to_owned(), |m| format!("{:.2}", m / codec)),
            naive / codec,
        );
    }
    println!();
    println!("codec/mp and codec/naive are throughput ratios (>1: the codec is faster).");
}

/// `MCB_CALLGRIND=<command>/<codec|mp|naive>`: `MCB_REPS` (10) batches of one
/// contender, setup outside `run_*`, for `valgrind --tool=callgrind
/// --toggle-collect='*run_<who>*'`. Prints the commands written.
fn callgrind_mode(cases: &[Case], spec: &str) {
    let (name, who) = spec.split_once('/').expect("MCB_CALLGRIND=<command>/<who>");
    let case = cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no command {name}"));
    let reps: usize = std::env::var("MCB_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let keys = case.key_refs();
    let mut buf = vec![0u8; case.wire_len() * BATCH + 64];
    let mut out = Vec::with_capacity(case.wire_len() * BATCH + 64);
    for _ in 0..reps {
        match who {
            "codec" => drop(run_codec(case, setup_codec(case))),
            "mp" => drop(run_mp(case, &keys, &mut buf)),
            _ => drop(run_naive(case, &keys, &mut out)),
        }
    }
    println!("callgrind {spec} reps={reps} commands={}", reps * BATCH);
}

fn main() {
    let cases = cases();
    for case in &cases {
        same_bytes(case);
    }
    if let Ok(spec) = std::env::var("MCB_CALLGRIND") {
        return callgrind_mode(&cases, &spec);
    }
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    criterion_benches(&mut c, &cases);
    c.final_summary();
    if has("--bench") && !has("--test") && !has("--list") && !has("--profile-time") {
        table(&cases);
    }
}
