#!/usr/bin/env bash
# Instructions per reply under callgrind: repeatable where wall-clock timings are not.
#
#   bash benches/callgrind.sh                       # stored, get_hit, mixed in 16 KiB reads
#   bash benches/callgrind.sh "gets_100/whole meta_mg_ms/16k"   # other <stream>/<reads>
#   WHO="codec floor" REPS=5 bash benches/callgrind.sh
#
# Needs valgrind (apt-get install valgrind). Each contender runs MCB_REPS passes of
# the decode bench's `run_<who>` function; --toggle-collect counts only inside it, so
# the codec's setup (sending the commands, building the input buffer) is excluded.
# The raw profiles stay in $OUT (default target/callgrind/) for callgrind_annotate:
#   callgrind_annotate --inclusive=no  $OUT/get_hit.16k.codec.out | head -40
#   callgrind_annotate --auto=yes      $OUT/get_hit.16k.codec.out   # per source line
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${1:-"stored/16k get_hit/16k mixed/16k"}
WHO=${WHO:-"codec each floor mp mpb"}
REPS=${REPS:-5}
OUT=${OUT:-${CARGO_TARGET_DIR:-target}/callgrind}
mkdir -p "$OUT"

# Line-level annotation needs debug info; CI builds the benches without it.
export CARGO_PROFILE_BENCH_DEBUG=true
exe=$(cargo bench --bench decode --no-run 2>&1 | sed -n 's/.*Executable benches\/decode.rs (\(.*\))/\1/p')
[ -x "$exe" ] || { echo "could not find the decode bench executable" >&2; exit 1; }

echo "| stream | reads | contender | replies | Ir total | Ir per reply |"
echo "|---|---|---|---:|---:|---:|"
for case in $CASES; do
  stream=${case%%/*}
  reads=${case#*/}
  for who in $WHO; do
    if [[ $stream == meta* && $who == mp* ]]; then continue; fi
    file="$OUT/$stream.$reads.$who.out"
    log=$(MCB_CALLGRIND="$stream/$reads/$who" MCB_REPS=$REPS \
      valgrind --tool=callgrind --toggle-collect="*run_$who*" \
      --callgrind-out-file="$file" "$exe" 2>&1)
    replies=$(sed -n 's/^callgrind .* replies=\([0-9]*\)$/\1/p' <<<"$log")
    total=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' <<<"$log")
    if [ "$who" = memcpy ]; then per="-"; else per=$((total / replies)); fi
    echo "| $stream | $reads | $who | $replies | $total | $per |"
  done
done
echo
echo "Profiles: $OUT/<stream>.<reads>.<who>.out"
