#!/usr/bin/env python3
"""Which server each key maps to, for the distribution modes checked from Python.

Run by tests/distribution_oracles.rs (this project's own code). Same protocol as
libmemcached_oracle.c: blocks on stdin,

    servers <mode> <param> <count>
    <host> <port> <weight>          (count lines)
    keys <count>
    <key in hex>                    (count lines; an empty line is the empty key)

and one server index per key on stdout. Modes:

* rendezvous_str, rendezvous_bytes: pymemcache's own HashClient (its
  RendezvousHash, murmur3_32 and server naming), keys passed as str (decoded
  from UTF-8, allow_unicode_keys on) or as bytes. param: "-".
* gomemcache: gomemcache's ServerList.PickServer (memcache/selector.go),
  ported: crc32.ChecksumIEEE of the key's first 256 bytes, modulo the number
  of servers, in list order. param: "-".
* proxy_jump: memcached's proxy defaults (proxy_lua.c mcplib_pool:
  XXH3_64bits_withSeed, then proxy_jump_hash.c), reimplemented over the
  xxhash package. param: the pool's seed text, or "-" for none (seed 0).
"""

import sys
import zlib

MASK64 = (1 << 64) - 1


def jump(key_hash, buckets):
    """proxy_jump_hash.c / the Lamping-Veach reference: int64 b, j; double math."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key_hash = (key_hash * 2862933555777941757 + 1) & MASK64
        j = int(float(b + 1) * (float(1 << 31) / float((key_hash >> 33) + 1)))
    return b


def check_jump():
    """The reference C++ code's values, as published with dgryski/go-jump."""
    table = {
        0: [0] * 20,
        1: [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17],
        0xDEADBEEF: [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16],
        0x0DDC0FFEEBADF00D: [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15],
    }
    for key, want in table.items():
        got = [jump(key, n) for n in range(1, len(want) + 1)]
        if got != want:
            sys.exit(f"python_oracle: jump({key:#x}) = {got}, want {want}")
    if jump(256, 1024) != 520:
        sys.exit("python_oracle: jump(256, 1024) != 520")


def picker(mode, param, servers):
    if mode in ("rendezvous_str", "rendezvous_bytes"):
        from pymemcache.client.hash import HashClient

        addrs = [(host, port) for host, port, _ in servers]
        client = HashClient(addrs, use_pooling=False, allow_unicode_keys=True)
        index = {addr: i for i, addr in enumerate(addrs)}
        as_str = mode == "rendezvous_str"

        def pick(key):
            k = key.decode("utf-8") if as_str else key
            return index[tuple(client._get_client(k).server)]

        return pick
    if mode == "gomemcache":
        n = len(servers)

        def pick(key):
            if n == 1:
                return 0
            return (zlib.crc32(key[:256]) & 0xFFFFFFFF) % n

        return pick
    if mode == "proxy_jump":
        import xxhash

        seed = 0 if param == "-" else xxhash.xxh3_64_intdigest(param.encode())
        n = len(servers)
        return lambda key: jump(xxhash.xxh3_64_intdigest(key, seed=seed), n)
    sys.exit(f"python_oracle: unknown mode {mode}")


def main():
    check_jump()
    lines = sys.stdin.buffer.read().decode("ascii").split("\n")
    out = []
    i = 0
    while i < len(lines) and lines[i]:
        _, mode, param, count = lines[i].split(" ")
        servers = []
        for line in lines[i + 1 : i + 1 + int(count)]:
            host, port, weight = line.split(" ")
            servers.append((host, int(port), int(weight)))
        i += 1 + int(count)
        tag, count = lines[i].split(" ")
        assert tag == "keys", lines[i]
        pick = picker(mode, param, servers)
        for line in lines[i + 1 : i + 1 + int(count)]:
            out.append(str(pick(bytes.fromhex(line))))
        i += 1 + int(count)
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
