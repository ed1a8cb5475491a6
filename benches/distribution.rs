//! What routing a key costs, beside what decoding its reply costs.
//!
//! ```text
//! cargo bench --bench distribution          # criterion, then a table of medians
//! cargo bench --bench distribution -- jump  # only ids containing "jump"
//! DIST_TABLE_ONLY=1 cargo bench --bench distribution   # just the table (~15 s)
//! ```
//!
//! Every contender maps the same 1024 keys of 16 bytes (`user:0000000000a` ...),
//! cycled so no single key's cache state is measured:
//!
//! * `md5`: the MD5 of the key alone (libmemcached's key hash for weighted ketama);
//! * `ketama`: [`Distribution::server_for`] on a 10-server weighted ketama ring
//!   (1600 points): the MD5 plus the lookup (a table over the hash's top 12 bits in
//!   front of the sorted points). The lookup's cost is `ketama - md5`; target at
//!   most 15 ns;
//! * `xxh3`: XXH3-64 of the key alone; `jump`: the memcached proxy's default, XXH3
//!   plus the jump hash over 10 servers, through `server_for` (target at most 15 ns);
//! * `rendezvous`, `gomemcache`, `modula`: the other modes over 10 servers;
//! * `decode_get_hit`: [`Codec::decode`] of one `get` hit with a 32-byte value
//!   (`VALUE key:NNNN 0 32`, 60 bytes), the reply a routed key usually gets.

#[allow(dead_code)] // shared with the decode and alloc benches
#[path = "streams/mod.rs"]
mod streams;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput};
use memcache_codec::Codec;
use memcache_codec::distribution::{
    Distribution, LibmemcachedHash, Mode, PythonKeys, parse_servers, proxy_pool_seed,
};

/// Keys mapped per timed pass.
const KEYS: usize = 1024;

fn keys() -> Vec<String> {
    let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:010}a")).collect();
    assert!(keys.iter().all(|k| k.len() == 16));
    keys
}

fn ten(mode: Mode) -> Distribution {
    let list = (1..=10)
        .map(|i| format!("10.0.0.{i}:11211"))
        .collect::<Vec<_>>()
        .join(",");
    Distribution::new(mode, parse_servers(&list).unwrap()).unwrap()
}

/// One pass over the keys, returning a checksum.
type Pass = Box<dyn Fn(&[String]) -> usize>;

/// The contenders: name and pass.
fn contenders() -> Vec<(&'static str, Pass)> {
    let ketama = ten(Mode::KetamaWeighted);
    assert_eq!(ketama.continuum().map(|c| c.len()), Some(1600));
    let jump = ten(Mode::ProxyJump { seed: 0 });
    let rendezvous = ten(Mode::Rendezvous {
        keys: PythonKeys::Str,
    });
    let go = ten(Mode::GoServerList);
    let modula = ten(Mode::Modula {
        hash: LibmemcachedHash::OneAtATime,
    });
    let map = |d: Distribution| -> Pass {
        Box::new(move |keys| {
            keys.iter()
                .map(|k| d.server_for(black_box(k.as_bytes())))
                .sum()
        })
    };
    vec![
        (
            "md5",
            Box::new(|keys: &[String]| {
                keys.iter()
                    .map(|k| LibmemcachedHash::Md5.hash(black_box(k.as_bytes())) as usize & 15)
                    .sum()
            }),
        ),
        ("ketama", map(ketama)),
        (
            "xxh3",
            Box::new(|keys: &[String]| {
                keys.iter()
                    .map(|k| proxy_pool_seed(black_box(k)) as usize & 15)
                    .sum()
            }),
        ),
        ("jump", map(jump)),
        ("rendezvous", map(rendezvous)),
        ("gomemcache", map(go)),
        ("modula", map(modula)),
    ]
}

/// A codec expecting `KEYS` get hits, and the bytes of their replies.
fn get_hits() -> (Codec, BytesMut) {
    let stream = streams::get_hit(KEYS);
    let mut codec = Codec::new();
    stream.fill(&mut codec, Instant::now());
    (codec, BytesMut::from(&stream.bytes[..]))
}

/// Decodes every reply; returns how many.
fn decode_all((mut codec, mut input): (Codec, BytesMut), now: Instant) -> usize {
    let mut n = 0;
    while let Some(done) = codec.decode(&mut input, now).expect("valid replies") {
        n += usize::from(done.result.is_ok());
    }
    assert_eq!(n, KEYS);
    n
}

fn criterion_benches(c: &mut Criterion) {
    let keys = keys();
    let mut group = c.benchmark_group("distribution");
    group.throughput(Throughput::Elements(KEYS as u64));
    for (name, run) in contenders() {
        group.bench_function(name, |b| b.iter(|| run(&keys)));
    }
    let now = Instant::now();
    group.bench_function("decode_get_hit", |b| {
        b.iter_batched(
            get_hits,
            |input| decode_all(input, now),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Median ns per key over interleaved samples of every contender.
fn table() {
    const SAMPLES: usize = 21;
    const PASSES: usize = 40;
    let keys = keys();
    let contenders = contenders();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contenders.len() + 1];
    let now = Instant::now();
    for _ in 0..SAMPLES {
        for (i, (_, run)) in contenders.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..PASSES {
                black_box(run(&keys));
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / (PASSES * KEYS) as f64);
        }
        let mut spent = Duration::ZERO;
        for _ in 0..PASSES {
            let input = get_hits();
            let start = Instant::now();
            black_box(decode_all(input, now));
            spent += start.elapsed();
        }
        samples[contenders.len()].push(spent.as_nanos() as f64 / (PASSES * KEYS) as f64);
    }
    let medians: Vec<f64> = samples
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    let at = |name: &str| {
        let i = contenders.iter().position(|(n, _)| *n == name).unwrap();
        medians[i]
    };
    println!();
    println!("Routing: median of {SAMPLES} interleaved samples, ns per 16-byte key (10 servers).");
    println!();
    println!("| contender | ns per key |");
    println!("|---|---:|");
    for ((name, _), m) in contenders.iter().zip(&medians) {
        println!("| {name} | {m:.1} |");
    }
    println!(
        "| decode_get_hit (one 60-byte reply) | {:.1} |",
        medians[contenders.len()]
    );
    println!();
    let lookup = at("ketama") - at("md5");
    let jump = at("jump");
    println!(
        "ketama lookup over MD5: {lookup:.1} ns (target <= 15: {}); jump + XXH3: {jump:.1} ns \
         (target <= 15: {})",
        if lookup <= 15.0 { "met" } else { "NOT met" },
        if jump <= 15.0 { "met" } else { "NOT met" },
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if std::env::var_os("DIST_TABLE_ONLY").is_some() {
        return table();
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    if has("--bench") && !has("--test") && !has("--list") && !has("--profile-time") {
        table();
    }
}
