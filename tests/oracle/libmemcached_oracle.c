/*
 * Asks libmemcached itself which server each key maps to.
 *
 * Built and run by tests/distribution_oracles.rs when libmemcached-dev is installed:
 *   cc -O1 -o libmemcached_oracle libmemcached_oracle.c $(pkg-config --cflags --libs libmemcached)
 *
 * Reads blocks from stdin, answers on stdout:
 *
 *   servers <mode> <hash> <count>      mode: ketama_weighted | ketama | modula
 *   <host> <port> <weight>             (count lines; hash: default, md5, crc, ...)
 *   keys <count>
 *   <key in hex>                       (count lines; an empty line is the empty key)
 *
 * For each key it prints the index memcached_generate_hash() returns, one per line.
 * Behaviors are set before the servers are added, as pylibmc does.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *detail) {
  fprintf(stderr, "libmemcached_oracle: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(2);
}

static void check(memcached_st *memc, memcached_return_t rc, const char *what) {
  if (rc != MEMCACHED_SUCCESS) {
    die(what, memcached_last_error_message(memc));
  }
}

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static memcached_hash_t hash_named(const char *name) {
  static const struct { const char *name; memcached_hash_t hash; } hashes[] = {
      {"default", MEMCACHED_HASH_DEFAULT}, {"md5", MEMCACHED_HASH_MD5},
      {"crc", MEMCACHED_HASH_CRC},         {"fnv1_64", MEMCACHED_HASH_FNV1_64},
      {"fnv1a_64", MEMCACHED_HASH_FNV1A_64}, {"fnv1_32", MEMCACHED_HASH_FNV1_32},
      {"fnv1a_32", MEMCACHED_HASH_FNV1A_32},
  };
  for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
    if (strcmp(hashes[i].name, name) == 0) return hashes[i].hash;
  }
  die("unknown hash", name);
  return MEMCACHED_HASH_DEFAULT;
}

int main(void) {
  static char line[4096];
  static char key[2048];
  char mode[64], hash[64], host[1100];
  unsigned long count, port, weight;

  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "servers %63s %63s %lu", mode, hash, &count) != 3) die("expected servers", line);
    memcached_st *memc = memcached_create(NULL);
    if (!memc) die("memcached_create failed", NULL);
    if (strcmp(mode, "ketama_weighted") == 0) {
      check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1), "ketama_weighted");
    } else if (strcmp(mode, "ketama") == 0) {
      check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA, 1), "ketama");
    } else if (strcmp(mode, "modula") != 0) {
      die("unknown mode", mode);
    }
    if (strcmp(hash, "-") != 0) {
      check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH, hash_named(hash)), "hash");
    }
    for (unsigned long i = 0; i < count; i++) {
      if (!fgets(line, sizeof line, stdin) || sscanf(line, "%1099s %lu %lu", host, &port, &weight) != 3) {
        die("expected a server", line);
      }
      check(memc, memcached_server_add_with_weight(memc, host, (in_port_t) port, (uint32_t) weight),
            "memcached_server_add_with_weight");
    }
    if (!fgets(line, sizeof line, stdin) || sscanf(line, "keys %lu", &count) != 1) die("expected keys", line);
    for (unsigned long i = 0; i < count; i++) {
      if (!fgets(line, sizeof line, stdin)) die("expected a key", NULL);
      size_t len = strcspn(line, "\r\n");
      if (len % 2 || len / 2 > sizeof key) die("bad key", line);
      for (size_t j = 0; j < len / 2; j++) {
        int hi = hex_value(line[2 * j]), lo = hex_value(line[2 * j + 1]);
        if (hi < 0 || lo < 0) die("bad hex", line);
        key[j] = (char) (hi << 4 | lo);
      }
      printf("%u\n", memcached_generate_hash(memc, key, len / 2));
    }
    memcached_free(memc);
  }
  return ferror(stdout) ? 1 : 0;
}
