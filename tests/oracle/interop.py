#!/usr/bin/env python3
"""The Python side of tests/distribution_live.rs (this project's own code).

    interop.py <client> <action> <servers> <prefix> <count>

client:  pylibmc    pylibmc (libmemcached) with behaviors={"ketama_weighted": True}
         pymemcache pymemcache's HashClient (rendezvous hashing)
action:  store      set <prefix><i> = b"value-<i>" for i in 0..count
         check      read them all back; exit 1 unless every value is there
servers: host:port:weight,... (pymemcache has no weights: they must be 1)

Prints one line saying what was done.
"""

import sys

CHUNK = 500


def client_for(kind, servers):
    if kind == "pylibmc":
        import pylibmc

        specs = [f"{h}:{p}:{w}" for h, p, w in servers]
        client = pylibmc.Client(specs, behaviors={"ketama_weighted": True})
        if not client.behaviors["ketama_weighted"]:
            sys.exit("interop.py: pylibmc did not turn ketama_weighted on")
        return client
    if kind == "pymemcache":
        from pymemcache.client.hash import HashClient

        if any(w != 1 for _, _, w in servers):
            sys.exit("interop.py: pymemcache has no weights")
        return HashClient(
            [(h, p) for h, p, _ in servers], use_pooling=False, connect_timeout=10, timeout=10
        )
    sys.exit(f"interop.py: unknown client {kind}")


def main():
    kind, action, spec, prefix, count = sys.argv[1:]
    servers = []
    for entry in spec.split(","):
        host, port, weight = entry.rsplit(":", 2)
        servers.append((host, int(port), int(weight)))
    client = client_for(kind, servers)
    keys = [f"{prefix}{i}" for i in range(int(count))]
    if action == "store":
        failed = []
        for start in range(0, len(keys), CHUNK):
            batch = {k: f"value-{k[len(prefix):]}".encode() for k in keys[start : start + CHUNK]}
            if kind == "pylibmc":
                failed += client.set_multi(batch)
            else:
                failed += client.set_many(batch)
        if failed:
            sys.exit(f"interop.py: {len(failed)} keys not stored, e.g. {failed[:3]}")
        print(f"{kind}: stored {len(keys)} keys")
    elif action == "check":
        missing, wrong = 0, 0
        for start in range(0, len(keys), CHUNK):
            batch = keys[start : start + CHUNK]
            if kind == "pylibmc":
                found = client.get_multi(batch)
            else:
                found = client.get_many(batch)
            for k in batch:
                if k not in found:
                    missing += 1
                elif found[k] != f"value-{k[len(prefix):]}".encode():
                    wrong += 1
        print(f"{kind}: read back {len(keys) - missing - wrong} of {len(keys)} keys "
              f"({missing} missing, {wrong} wrong)")
        if missing or wrong:
            sys.exit(1)
    else:
        sys.exit(f"interop.py: unknown action {action}")


if __name__ == "__main__":
    main()
