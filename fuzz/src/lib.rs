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

#[cfg(test)]
mod admin_inputs {
    //! Hand-made inputs for the admin commands, `watch` and the dumps, through every
    //! target: the tracker's invariants for non-final completions, the refusals
    //! behind a watch or a dump, and the deadline while watching.

    use crate::targets;

    fn prefixed(client: &[u8]) -> Vec<u8> {
        let mut data = u16::try_from(client.len())
            .expect("short")
            .to_le_bytes()
            .to_vec();
        data.extend_from_slice(client);
        data
    }

    const CLIENT: &[&[u8]] = &[
        b"watch fetchers mutations\r\nversion\r\n",
        b"set a 0 0 1\r\nx\r\nlru_crawler metadump all\r\nget a\r\n",
        b"mg a v q\r\nlru_crawler mgdump hash\r\nwatch\r\nmn\r\n",
        b"slabs reassign 1 2\r\nlru_crawler crawl 1,2\r\nconfig get cluster\r\nrefresh_certs\r\nbget a b\r\nstats detail dump x\r\nlru tune 10 40 0.1 2\r\n",
    ];

    const SERVER: &[&[u8]] = &[
        b"OK\r\nts=1 gid=1 type=item_get key=a%20b status=found\n[skipped: 3]\nts=2\r\n",
        b"STORED\r\nOK\r\nkey=a exp=-1 la=1 cas=1 fetch=no cls=1 size=60 flags=0 \nEND\r\n",
        b"STORED\r\nkey=a%zz exp=-1 la=1 cas=1 fetch=no\nEND\r\n",
        b"OK\r\nmg a\r\nmg YQ== b\r\nEN\r\n",
        b"NOSPARE no\r\nBUSY x\r\nCONFIG cluster 0 8\r\n1\nh|i|1\n\r\nEND\r\nError TLS not enabled\r\nVALUE a 0 1\r\nx\r\nEND\r\nEND\r\nOK\r\n",
        b"WATCHER_TOO_MANY\r\nOK\r\n",
    ];

    #[test]
    fn admin_transcripts_through_every_target() {
        for client in CLIENT {
            for server in SERVER {
                let mut data = prefixed(client);
                data.extend_from_slice(server);
                targets::decode(&data);
                let mut split = prefixed(client);
                split.push(255);
                split.extend_from_slice(server);
                targets::split(&split);
                let mut cuts = prefixed(client);
                cuts.extend_from_slice(&[2, 3, 0, 9, 0]);
                cuts.extend_from_slice(server);
                targets::split(&cuts);
                let mut encode = prefixed(client);
                encode.push(3);
                targets::encode(&encode);
            }
            // session: send every scripted command, deliver in 7-byte pieces, tick past
            // the deadline, cancel, end of stream.
            let mut session = prefixed(client);
            for _ in 0..8 {
                session.extend_from_slice(&[0, 2, 7, 0]);
            }
            session.extend_from_slice(&[5, 200, 4, 0, 2, 0, 0, 5, 90, 6, 0, 2, 0, 0]);
            targets::session(&session);
        }
    }
}
