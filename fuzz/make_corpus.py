#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from the recorded transcripts.

Reproducible: run `python3 fuzz/make_corpus.py` from the repository root (or
anywhere); it rewrites every seed it owns (files named after the exchanges) and
leaves files libFuzzer added alone. Input formats are described in
fuzz/src/targets.rs.

Sources: tests/data/memcached-1.6.18.jsonl, 103 exchanges recorded from a real
memcached 1.6.18, and the admin recordings of the testkit
(testkit/tests/data/memcached-1.6.18-admin.jsonl, and the dump and watch exchanges
of memcached-1.6.45.jsonl, whose dumps start with OK and end item lines in " \n"),
written with an `admin-` or `v1.6.45-` prefix; `send`/`recv` are latin-1 strings
(one char per byte). The two exchanges with 1 MiB values are skipped to keep the
corpus small.
"""

import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "tests" / "data" / "memcached-1.6.18.jsonl"
RECORDINGS = ROOT / "testkit" / "tests" / "data"
# (file, name prefix, which exchanges: None for all, else a name filter)
EXTRA = [
    ("memcached-1.6.18-admin.jsonl", "admin-", None),
    ("memcached-1.6.45.jsonl", "v1.6.45-", ("dump", "watch")),
]
CORPUS = ROOT / "fuzz" / "corpus"
MAX_SEND = 16 * 1024


def latin1(text):
    return text.encode("latin-1")


def prefixed(client):
    return struct.pack("<H", len(client)) + client


def split_seed(i, send, recv):
    if i % 5 == 0:
        # One byte at a time.
        return prefixed(send) + bytes([255]) + recv
    n = len(recv)
    cuts = sorted({n // 3, n // 2, max(n - 1, 0), (i * 7) % (n + 1)})
    return prefixed(send) + bytes([len(cuts)]) + b"".join(struct.pack("<H", c) for c in cuts) + recv


def session_seed(i, send):
    # One op-0 (send the next scripted command) per request line, each followed by
    # "deliver everything"; every third exchange delivers in 5-byte pieces instead,
    # with a clock tick and a cancel, and ends with end of stream.
    lines = max(send.count(b"\n"), 1)
    ops = bytearray()
    if i % 3 == 0:
        ops += bytes([0]) * lines
        ops += bytes([4, 0])          # cancel the first token
        ops += bytes([5, 30])         # 30 s pass
        ops += bytes([2, 5, 0]) * 64  # deliver 5 bytes, 64 times
        ops += bytes([6])             # end of stream, reconnect
    else:
        for _ in range(lines):
            ops += bytes([0, 2, 0, 0])
    return prefixed(send) + bytes(ops)


def encode_seed(i, send):
    return prefixed(send) + bytes([i % 8])


def main():
    exchanges = []
    for line in TRANSCRIPTS.read_text().splitlines():
        if line.strip():
            v = json.loads(line)
            exchanges.append((v["name"], latin1(v["send"]), latin1(v["recv"])))
    for file, prefix, only in EXTRA:
        for line in (RECORDINGS / file).read_text().splitlines():
            if line.strip():
                v = json.loads(line)
                if only is None or any(word in v["name"] for word in only):
                    exchanges.append((prefix + v["name"], latin1(v["send"]), latin1(v["recv"])))
    written = 0
    for target in ("decode", "split", "session", "encode"):
        (CORPUS / target).mkdir(parents=True, exist_ok=True)
    for i, (name, send, recv) in enumerate(exchanges):
        if len(send) > MAX_SEND or len(recv) > MAX_SEND:
            continue
        seeds = {
            "decode": prefixed(send) + recv,
            "split": split_seed(i, send, recv),
            "session": session_seed(i, send),
            "encode": encode_seed(i, send),
        }
        for target, data in seeds.items():
            (CORPUS / target / name).write_bytes(data)
            written += 1
    print(f"wrote {written} seeds under {CORPUS}")


if __name__ == "__main__":
    main()
