//! Admin commands, raw commands, dumps and `watch` in generated sessions, answered by
//! the reference model (configured as an ElastiCache endpoint, so `config get
//! cluster` has a cluster to describe):
//!
//! * every command completes once, in order, with a final completion typed by its
//!   command (or a server error), however the model's bytes are cut; only a watch
//!   also completes before that (its `OK`, then each log line the model is given);
//! * `config get cluster` gives exactly the configured cluster, a dump lists only
//!   keys the session stored, each once;
//! * nothing is sent behind a pending dump or watch, and after a watch the codec is
//!   watching with no deadline until the end of the stream, which is the watch's
//!   final completion.

use std::collections::HashSet;
use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::{Codec, CommandError, Completion, EncodeError, Limits, Response};
use memcache_testkit::command::strategy::{self, Domain};
use memcache_testkit::command::{Cmd, Key, strategy::pool};
use memcache_testkit::{ClusterConfig, Options, Server};
use proptest::prelude::*;

use super::ops::{KEYS, NOW};

fn domain() -> Domain {
    let keys: Vec<&[u8]> = KEYS.iter().map(|k| k.as_bytes()).collect();
    Domain {
        key: pool::<Key>(&keys),
        cas: Just(0).boxed(),
        ..Domain::new(&keys)
    }
}

/// A batch: loud classic and meta commands mixed with pipelinable admin and raw
/// commands.
fn batch() -> impl Strategy<Value = Vec<Cmd>> {
    let d = domain();
    proptest::collection::vec(
        prop_oneof![
            2 => strategy::cmd(&d).prop_map(|c| c.loud()),
            3 => strategy::admin(&d),
        ],
        1..12,
    )
}

/// How a session ends: nothing more, a dump alone, or a watch alone.
#[derive(Debug, Clone)]
enum Last {
    Nothing,
    Dump(Cmd),
    Watch(Cmd, Vec<Vec<u8>>),
}

fn last() -> impl Strategy<Value = Last> {
    prop_oneof![
        1 => Just(Last::Nothing),
        2 => strategy::dump().prop_map(Last::Dump),
        2 => (
            strategy::watch(),
            proptest::collection::vec("[a-z=0-9 .%]{0,40}".prop_map(String::into_bytes), 0..4)
        )
            .prop_map(|(w, lines)| Last::Watch(w, lines)),
    ]
}

fn cluster() -> ClusterConfig {
    ClusterConfig {
        version: 7,
        nodes: vec![
            ("n1.cache".into(), "10.0.0.1".into(), 11211),
            ("n2.cache".into(), String::new(), 11212),
        ],
    }
}

/// Feeds `reply` in the pieces `cuts` gives, drained after each; every completion.
fn decode(codec: &mut Codec, reply: &[u8], cuts: &[usize]) -> Result<Vec<Completion>, String> {
    let now = Instant::now();
    let mut buf = BytesMut::new();
    let mut done = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&reply.len())) {
        let to = to.clamp(from, reply.len());
        buf.extend_from_slice(&reply[from..to]);
        from = to;
        loop {
            match codec.decode(&mut buf, now) {
                Ok(Some(c)) => done.push(c),
                Ok(None) => break,
                Err(e) => return Err(format!("poisoned: {e}")),
            }
        }
    }
    if !buf.is_empty() {
        return Err(format!("left in the buffer: {:?}", buf));
    }
    Ok(done)
}

/// Whether `response` is a final reply `cmd` can get (admin and raw commands, and the
/// classic and meta ones loosely: the main session test checks those exactly).
fn fits(cmd: &Cmd, response: &Response, stored: &HashSet<Vec<u8>>) -> bool {
    use memcache_testkit::command::CrawlerCmd as C;
    match (cmd, response) {
        (Cmd::ConfigGetCluster, Response::ClusterConfig(c)) => {
            let want = cluster();
            c.version == want.version
                && c.nodes.len() == want.nodes.len()
                && c.nodes.iter().zip(&want.nodes).all(|(n, (h, i, p))| {
                    n.host == h.as_bytes() && n.ip == i.as_bytes() && n.port == *p
                })
        }
        (Cmd::LruCrawler(C::Metadump(_)), Response::MetaDump(entries)) => {
            let keys: HashSet<&[u8]> = entries.iter().map(|e| &e.key[..]).collect();
            keys.len() == entries.len() && keys.iter().all(|k| stored.contains(*k))
        }
        (Cmd::LruCrawler(C::Mgdump(_)), Response::MgDump(keys)) => {
            let set: HashSet<&[u8]> = keys.iter().map(|k| &k[..]).collect();
            set.len() == keys.len() && set.iter().all(|k| stored.contains(*k))
        }
        (Cmd::LruCrawler(C::Crawl(_) | C::Metadump(_) | C::Mgdump(_)), Response::Admin(_)) => true,
        (Cmd::LruCrawler(_) | Cmd::Lru(_) | Cmd::RefreshCerts, r) => *r == Response::Ok,
        (Cmd::Slabs(_), r) => matches!(r, Response::Ok | Response::Admin(_)),
        (Cmd::Raw { .. }, Response::Raw(_)) => true,
        (other, r) => super::fits(other, r),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn admin_sessions_complete_once_in_order_with_typed_replies(
        batches in proptest::collection::vec(batch(), 1..4),
        last in last(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let now = Instant::now();
        let mut server = Server::with_options(Options {
            elasticache_cluster: Some(cluster()),
            ..Options::default()
        });
        server.set_time(NOW);
        let mut codec = Codec::new();
        let mut stored: HashSet<Vec<u8>> = HashSet::new();
        let mut batches: Vec<Vec<Cmd>> = batches;
        let (lines, tail) = match &last {
            Last::Nothing => (Vec::new(), None),
            Last::Dump(c) => (Vec::new(), Some(c.clone())),
            Last::Watch(c, lines) => (lines.clone(), Some(c.clone())),
        };
        if let Some(tail) = &tail {
            batches.push(vec![tail.clone()]);
        }
        for (i, cmds) in batches.iter().enumerate() {
            let is_tail = tail.is_some() && i == batches.len() - 1;
            let mut out = BytesMut::new();
            let mut sent = Vec::new();
            for cmd in cmds {
                // Any key a storing command names may be stored: dumps list a subset.
                stored.extend(cmd.keys().iter().map(|k| k.0.clone()));
                if let Cmd::Raw { line, .. } = cmd {
                    if let Some(key) = line.split(|&b| b == b' ').nth(1) {
                        stored.insert(key.to_vec());
                    }
                }
                match cmd.send(&mut codec, &mut out, now) {
                    Ok(token) => sent.push((cmd.clone(), token.expect("a reply is expected"))),
                    // A key too long once base64-encoded: refused, as documented.
                    Err(e) if cmd.validate(&Limits::DEFAULT).is_err() => {
                        prop_assert!(matches!(e, EncodeError::InvalidKey { .. }), "{e}");
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{cmd:?} refused: {e}"))),
                }
            }
            // Nothing is sent behind a pending dump or watch.
            if let (true, Some(c)) = (is_tail, &tail) {
                let mut more = BytesMut::new();
                let refusal = codec.send(&memcache_codec::command::Version, &mut more, now);
                let want = if c.is_watch() { EncodeError::Watching } else { EncodeError::DumpPending };
                prop_assert_eq!(refusal, Err(want));
                prop_assert!(more.is_empty());
            }
            let mut reply = Vec::new();
            server.feed(&out, &mut reply);
            let watching = sent.iter().any(|(c, _)| c.is_watch());
            if watching {
                for line in &lines {
                    prop_assert!(server.watch_log(line) || !server.is_watching());
                }
                server.feed(b"", &mut reply);
            }
            // The same however the reply is cut.
            let points: Vec<usize> = {
                let mut p: Vec<usize> = cuts.iter().map(|c| c % (reply.len() + 1)).collect();
                p.sort_unstable();
                p
            };
            let accepted: Vec<Cmd> = sent.iter().map(|(c, _)| c.clone()).collect();
            let whole = decode(&mut fresh(&accepted, now)?, &reply, &[]).map_err(TestCaseError::fail)?;
            let every: Vec<usize> = (1..reply.len()).collect();
            let bytewise = decode(&mut fresh(&accepted, now)?, &reply, &every).map_err(TestCaseError::fail)?;
            prop_assert_eq!(&bytewise, &whole, "byte by byte");
            let got = decode(&mut codec, &reply, &points).map_err(TestCaseError::fail)?;
            // (The session's codec numbers tokens from its first batch on.)
            let results = |c: &[Completion]| c.iter().map(|c| c.result.clone()).collect::<Vec<_>>();
            prop_assert_eq!(results(&got), results(&whole), "random cuts");

            // Once, in order, typed; only a watch before its final completion.
            let mut expected = sent.iter().peekable();
            let mut streaming = false;
            for done in &got {
                let (cmd, token) = if streaming {
                    sent.last().expect("the watch")
                } else {
                    expected.next().ok_or_else(|| TestCaseError::fail(format!("extra completion {done:?}")))?
                };
                prop_assert_eq!(done.token, *token, "order");
                match &done.result {
                    Ok(Response::Watching) => {
                        prop_assert!(cmd.is_watch() && !streaming);
                        streaming = true;
                    }
                    Ok(Response::Log(line)) => {
                        prop_assert!(streaming, "a log line before Watching");
                        prop_assert!(lines.iter().any(|l| l[..] == *line.as_bytes()));
                    }
                    Ok(r) => prop_assert!(fits(cmd, r, &stored), "{:?} completed with {:?}", cmd, r),
                    Err(CommandError::Server(_)) => {}
                    Err(e) => return Err(TestCaseError::fail(format!("{cmd:?}: {e}"))),
                }
                prop_assert_eq!(done.is_final(), !streaming);
            }
            if streaming {
                let logs = got.iter().filter(|c| matches!(c.result, Ok(Response::Log(_)))).count();
                prop_assert_eq!(logs, lines.len());
                prop_assert!(codec.is_watching());
                prop_assert_eq!(codec.poll_timeout(), None);
                prop_assert_eq!(codec.pending(), 1);
                codec.handle_eof();
                let end = codec.decode(&mut BytesMut::new(), now).expect("the watch's end");
                let end = end.expect("a completion");
                prop_assert!(end.is_final() && end.token == sent[0].1);
                prop_assert_eq!(codec.pending(), 0);
            } else {
                prop_assert!(expected.next().is_none(), "a command did not complete");
                prop_assert_eq!(codec.pending(), 0);
            }
        }
    }
}

/// A fresh codec that sent `current`: each batch is answered whole before the next is
/// sent, so its reply decodes the same on a codec that sent only it.
fn fresh(current: &[Cmd], now: Instant) -> Result<Codec, TestCaseError> {
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    for cmd in current {
        cmd.send(&mut codec, &mut out, now)
            .map_err(|e| TestCaseError::fail(format!("{cmd:?}: {e}")))?;
    }
    Ok(codec)
}
