#!/usr/bin/env python3
"""The seed: Twisted's MemCacheProtocol fed the decode bench's STORED and get-hit
streams in 16 KiB reads, beside the codec's figure for the same bytes.

Install Twisted first (PyPI):  pip install twisted
Run from the repository root:  python3 benches/twisted_seed.py

It builds the streams byte for byte as benches/streams/mod.rs does, sends the
matching commands (protocol.set / protocol.get against an in-memory transport, not
timed), then times only dataReceived over the 16 KiB reads. For the codec's figure
it runs `cargo bench --bench decode` with MCB_SEED=1, which prints the codec's
replies per second on the same streams with their length and FNV-1a hash; the
script checks both against its own bytes before printing the ratio.

Options:
  --trials N          Twisted passes per stream, median reported (default 7)
  --codec-figures F   read the `seed ...` lines from file F instead of running cargo
  --no-codec          Twisted only
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.protocols.memcache import MemCacheProtocol

VALUE_32 = b"abcdefghijklmnopqrstuvwxyz012345"
CHUNK = 16 * 1024


def key(i):
    return b"key:%04d" % (i % 10000)


def stored_stream(n=8192):
    return b"STORED\r\n" * n, [("set", key(i)) for i in range(n)]


def get_hit_stream(n=4096):
    parts = []
    for i in range(n):
        parts.append(b"VALUE %s 0 32\r\n%s\r\nEND\r\n" % (key(i), VALUE_32))
    return b"".join(parts), [("get", key(i)) for i in range(n)]


STREAMS = {"stored": stored_stream, "get_hit": get_hit_stream}


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def twisted_pass(stream, commands):
    """One pass: returns (seconds spent in dataReceived, replies delivered)."""
    proto = MemCacheProtocol()
    clock = Clock()
    proto.callLater = clock.callLater  # the inactivity timer, off the global reactor
    proto.makeConnection(StringTransport())
    delivered = [0]

    def done(result):
        delivered[0] += 1
        return result

    deferreds = []
    for verb, k in commands:
        d = proto.set(k, VALUE_32) if verb == "set" else proto.get(k)
        d.addCallback(done)
        deferreds.append(d)
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    start = time.perf_counter()
    for chunk in chunks:
        proto.dataReceived(chunk)
    spent = time.perf_counter() - start
    # Check the replies reached the right commands.
    results = []
    for d in deferreds:
        d.addBoth(results.append)
    for (verb, _), result in zip(commands, results):
        expected = True if verb == "set" else (0, VALUE_32)
        if result != expected:
            raise SystemExit("twisted: unexpected result %r" % (result,))
    return spent, delivered[0]


def codec_figures(args):
    if args.codec_figures:
        with open(args.codec_figures) as f:
            text = f.read()
    else:
        env = dict(os.environ, MCB_SEED="1")
        out = subprocess.run(
            ["cargo", "bench", "--bench", "decode"],
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        text = out.stdout
    figures = {}
    for m in re.finditer(
        r"^seed (\S+) bytes=(\d+) fnv=([0-9a-f]+) replies=(\d+) codec_replies_per_sec=([\d.]+)",
        text,
        re.M,
    ):
        name, length, fnv, replies, rate = m.groups()
        figures[name] = (int(length), int(fnv, 16), int(replies), float(rate))
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--codec-figures")
    parser.add_argument("--no-codec", action="store_true")
    args = parser.parse_args()

    figures = {} if args.no_codec else codec_figures(args)
    print("| stream | reads | replies | bytes | Twisted replies/s | codec replies/s | codec/Twisted |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, build in STREAMS.items():
        stream, commands = build()
        rates = []
        for _ in range(args.trials):
            spent, delivered = twisted_pass(stream, commands)
            if delivered != len(commands):
                raise SystemExit("twisted delivered %d of %d" % (delivered, len(commands)))
            rates.append(delivered / spent)
        twisted_rate = statistics.median(rates)
        codec = figures.get(name)
        if codec is not None:
            length, fnv, replies, rate = codec
            if (length, fnv, replies) != (len(stream), fnv1a(stream), len(commands)):
                raise SystemExit("%s: the Rust bench's stream differs from this one" % name)
            codec_cell, ratio_cell = "%.0f" % rate, "%.0fx" % (rate / twisted_rate)
        else:
            codec_cell, ratio_cell = "n/a", "n/a"
        print(
            "| %s | 16 KiB | %d | %d | %.0f | %s | %s |"
            % (name, len(commands), len(stream), twisted_rate, codec_cell, ratio_cell)
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
