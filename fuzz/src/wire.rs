//! From client bytes back to [`Cmd`]s: the reference model's framing
//! ([`memcache_testkit::parse_request`]) cuts the bytes into requests, and
//! [`Cmd::from_request`] maps each one to the owned command that would have written
//! it (exactly what the codec writes, `None` for anything else), so a recorded or
//! mutated client stream yields the commands the codec could have sent, and the
//! encode target can check that `from_request(parse(encode(c)))` is `c`.

use memcache_testkit::{ParseResult, parse_request};

use crate::Cmd;

/// Splits an input into a client part (a little-endian `u16` length, then that many
/// bytes) and the rest. Short inputs give what there is.
pub fn split_prefixed(data: &[u8]) -> (&[u8], &[u8]) {
    match data {
        [lo, hi, rest @ ..] => {
            let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
            rest.split_at(len)
        }
        _ => (&[], data),
    }
}

/// Cuts client bytes into requests and maps each to a [`Cmd`]; requests that do not
/// map (or are not complete) are skipped.
pub fn script(mut client: &[u8]) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    while !client.is_empty() {
        match parse_request(client) {
            ParseResult::Request { request, consumed } => {
                cmds.extend(Cmd::from_request(&request));
                client = &client[consumed..];
            }
            ParseResult::BadDataChunk { consumed, .. } => client = &client[consumed..],
            ParseResult::Incomplete | ParseResult::LineTooLong => break,
        }
    }
    cmds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_lines_map() {
        let cmds = script(
            b"set k 0 0 5 noreply\r\nhello\r\nget a b\r\nmg a v q O1\r\nflush_all noreply\r\n\
              delete noreply\r\nms k 2 MA\r\nhi\r\nme YQ== b\r\n",
        );
        assert_eq!(cmds.len(), 7, "{cmds:?}");
        assert!(matches!(&cmds[4], Cmd::Delete { key, noreply: false } if key.0 == b"noreply"));
        assert!(matches!(&cmds[6], Cmd::MetaDebug { key, base64: true } if key.0 == b"a"));
    }
}
