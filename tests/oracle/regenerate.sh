#!/usr/bin/env bash
# Rewrites tests/data/distribution/*.bin from the oracles (libmemcached-dev, and a
# python3 with pymemcache and xxhash; MEMCACHE_CODEC_PYTHON picks the interpreter),
# after checking that the crate agrees with them on every key.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIST_VECTORS=write cargo test --test distribution_oracles -- --nocapture
