//! The adapter loop of the README, and the one it replaced.
//!
//! The old loop (`while codec.pending() > 0 { decode one, else read }`) stopped as
//! soon as nothing was pending. But one reply can complete several commands: quiet
//! commands the server stayed silent about complete when the next reply arrives,
//! and `pending()` counts only the commands still waiting for bytes. With
//! `mg a v q`, `mg b v q`, `mn` and a reply of just `MN`, the old loop returned one
//! completion instead of three. The README's loop drains first, then looks at
//! `pending()`. Both run here over the reference model, the stream being its replies.

use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::command::{Command, Get, MetaGet, MetaNoop, Store};
use memcache_codec::{Codec, Completion};
use memcache_testkit::Server;

/// A connection to the model: what a read returns is what the model answered to
/// everything written so far.
struct Stream {
    server: Server,
    unread: Vec<u8>,
}

impl Stream {
    fn write(&mut self, bytes: &[u8]) {
        self.server.feed(bytes, &mut self.unread);
    }

    fn read(&mut self, input: &mut BytesMut) -> usize {
        // One byte at a time: the loop must not depend on how reads are cut.
        match self.unread.first() {
            Some(&b) => {
                self.unread.remove(0);
                input.extend_from_slice(&[b]);
                1
            }
            None => 0,
        }
    }
}

type Loop = fn(&mut Stream, &mut Codec, &mut BytesMut) -> Vec<Completion>;

/// The README's loop: drain, then wait only if something is still pending.
fn drains_first(stream: &mut Stream, codec: &mut Codec, input: &mut BytesMut) -> Vec<Completion> {
    let mut done = Vec::new();
    loop {
        done.extend(codec.completions(input, Instant::now()));
        assert!(codec.poisoned().is_none(), "a valid stream");
        if codec.pending() == 0 {
            return done;
        }
        if stream.read(input) == 0 {
            codec.handle_eof();
        }
    }
}

/// The loop the README had before.
fn while_pending(stream: &mut Stream, codec: &mut Codec, input: &mut BytesMut) -> Vec<Completion> {
    let mut done = Vec::new();
    while codec.pending() > 0 {
        if let Some(completion) = codec.decode(input, Instant::now()).expect("a valid stream") {
            done.push(completion);
            continue;
        }
        if stream.read(input) == 0 {
            codec.handle_eof();
        }
    }
    done
}

/// Runs the README's two pipelines through `adapter`; `Err` says what went wrong.
fn check(adapter: Loop) -> Result<(), String> {
    let mut stream = Stream {
        server: Server::new(),
        unread: Vec::new(),
    };
    let (mut codec, mut input) = (Codec::new(), BytesMut::new());
    let pipelines: [(&[&dyn Command], usize); 2] = [
        (&[&Store::set("k", "v"), &Get::new("k")], 2),
        (
            &[
                &MetaGet::new("a").return_value().quiet(),
                &MetaGet::new("b").return_value().quiet(),
                &MetaNoop,
            ],
            3,
        ),
    ];
    for (commands, want) in pipelines {
        let mut out = BytesMut::new();
        let tokens: Vec<_> = commands
            .iter()
            .map(|c| codec.send(*c, &mut out, Instant::now()).expect("valid"))
            .collect();
        stream.write(&out);
        let done = adapter(&mut stream, &mut codec, &mut input);
        let got: Vec<_> = done.iter().map(|c| c.token).collect();
        if got != tokens || got.len() != want {
            return Err(format!("{} of {want} completions: {got:?}", got.len()));
        }
    }
    Ok(())
}

#[test]
fn the_readme_loop_completes_quiet_commands_and_the_old_one_did_not() {
    assert_eq!(check(drains_first), Ok(()));
    // The old loop returns after the first of the three: this is the failure the
    // README's loop fixes, kept so the check above is known to catch it.
    assert_eq!(
        check(while_pending),
        Err("1 of 3 completions: [Token(2)]".to_owned())
    );
}
