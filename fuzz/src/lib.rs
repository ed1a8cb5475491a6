//! Fuzz harness for `memcache-codec`: the shared code behind the cargo-fuzz targets in
//! `fuzz_targets/` (each a few lines calling [`targets`]).
//!
//! * [`Cmd`] (`memcache_testkit::command`, feature `arbitrary`): an owned, `Arbitrary`
//!   value for every command the codec can send, the builders that turn it into the
//!   crate's borrowed commands, its validation and normalisation rules, and the mapping
//!   from a framed request back to it.
//! * [`wire`]: the targets' input framing, and client bytes back to [`Cmd`]s through
//!   the reference model's framing.
//! * [`tracker`]: [`Tracker`], a codec wrapped with the invariants every target asserts.
//! * [`targets`]: the four targets' bodies (`decode`, `split`, `session`, `encode`).
//!
//! See `fuzz/README.md` for how to run them.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod targets;
pub mod tracker;
pub mod wire;

pub use memcache_testkit::command::Cmd;
pub use tracker::Tracker;

#[cfg(test)]
mod corpus_tests {
    //! Every checked-in seed runs through its target (`cargo test` in `fuzz/`).

    use std::path::PathBuf;

    fn each_seed(target: &str, run: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("corpus directory") {
            let path = entry.expect("entry").path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let data = std::fs::read(&path).expect("seed");
            run(&data);
            count += 1;
        }
        assert!(count > 0, "no seeds in {}", dir.display());
    }

    #[test]
    fn decode_seeds() {
        each_seed("decode", crate::targets::decode);
    }

    #[test]
    fn split_seeds() {
        each_seed("split", crate::targets::split);
    }

    #[test]
    fn session_seeds() {
        each_seed("session", crate::targets::session);
    }

    #[test]
    fn encode_seeds() {
        each_seed("encode", crate::targets::encode);
    }
}
