#!/usr/bin/env bash
# `forcegen report RUN` of one stored run, this checkout against a baseline, interleaved.
#   git archive 08d00c3 src | tar -x -C /tmp/old     # the baseline's sources
#   forcegen run russia-2022-covert --runs 1000 --seed 1 --store /tmp/r/store.duckdb
#   benchmarks/report_speed.sh /tmp/old/src /tmp/r/store.duckdb RUN_ID [REPEATS]
# Both read the same stored run (a baseline ignores files it does not know). Runs
# old, new, old, new, ... each in a fresh process under /usr/bin/time, then prints
# every run's wall, user and system seconds, peak resident memory, the load average
# before it, and the median wall time of each; the HTML files are kept in $OUT.
set -euo pipefail
OLD_SRC=${1:?path to the baseline checkout\'s src/}
STORE=${2:?the results store}
RUN=${3:?a stored run id}
REPEATS=${4:-3}
OUT=${OUT:-/tmp/bench-report}
PY="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python"
mkdir -p "$OUT"
: > "$OUT/times.txt"
for i in $(seq 1 "$REPEATS"); do
  for which in old new; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if [ "$which" = old ]; then export PYTHONPATH="$OLD_SRC"; else unset PYTHONPATH; fi
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/t" "$PY" -m forcegen report "$RUN" \
      --store "$STORE" --out "$OUT/$which-$i.html" > /dev/null
    echo "$which $(cat "$OUT/t") $load" >> "$OUT/times.txt"
  done
done
unset PYTHONPATH
echo "which wall_s user_s sys_s peak_kb load_before"
cat "$OUT/times.txt"
for which in old new; do
  echo "$which median wall: $(grep "^$which " "$OUT/times.txt" | awk '{print $2}' | sort -n \
    | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}') s"
done
