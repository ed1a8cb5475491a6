//! Replays inputs through a target without libFuzzer, with a normal panic message and
//! backtrace: `cargo run --manifest-path fuzz/Cargo.toml --example replay -- <target> <file>...`
//! (targets: decode, split, session, encode). Also runs on stable without cargo-fuzz.

use memcache_codec_fuzz::targets;

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: replay <target> <file>...");
    let run: fn(&[u8]) = match target.as_str() {
        "decode" => targets::decode,
        "split" => targets::split,
        "session" => targets::session,
        "encode" => targets::encode,
        other => panic!("unknown target {other}"),
    };
    for path in args {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        println!("{path}: {} bytes", data.len());
        run(&data);
    }
}
