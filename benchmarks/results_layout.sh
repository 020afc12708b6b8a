#!/usr/bin/env bash
# Results at ensemble scale, side by side: this checkout and a baseline checkout.
#   git worktree add /tmp/old bfce3ca      # forcegen 0.3.0, tidy rows in DuckDB
#   benchmarks/results_layout.sh /tmp/old/src [RUNS]
# Runs `forcegen run russia-2022-covert --runs RUNS --out out` (store + folder), then
# show, export and report of the stored run, each under /usr/bin/time -v, in
# $OUT (default /tmp/bench/{new,old}); prints wall time, peak memory and bytes on disk.
set -euo pipefail
OLD_SRC=${1:?path to the baseline checkout's src/}
RUNS=${2:-1000}
OUT=${OUT:-/tmp/bench}
PY="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python"
for which in new old; do
  d="$OUT/$which"; rm -rf "$d"; mkdir -p "$d"; cd "$d"
  if [ "$which" = old ]; then export PYTHONPATH="$OLD_SRC"; else unset PYTHONPATH; fi
  /usr/bin/time -v "$PY" -m forcegen run russia-2022-covert --runs "$RUNS" --seed 1 \
    --out out --quiet > run.log 2> time.log
  du -sb forcegen.duckdb* out > du.txt
  rid=$(grep -o "saved as run [0-9a-f]*" run.log | awk '{print $4}')
  /usr/bin/time -v "$PY" -m forcegen show "$rid" > show.log 2> show.time
  if [ "$which" = new ]; then
    /usr/bin/time -v "$PY" -m forcegen export "$rid" --what quantiles --out q.csv > exp.log 2> exp.time
  else
    /usr/bin/time -v "$PY" -m forcegen export "$rid" --out e.parquet > exp.log 2> exp.time
  fi
  /usr/bin/time -v "$PY" -m forcegen report "$rid" --out report.html > rep.log 2> rep.time
  for f in time show.time exp.time rep.time; do
    echo "$which $f: $(grep -E 'Elapsed' $f | awk '{print $NF}') wall," \
      "$(grep -E 'Maximum resident' $f | awk '{print $NF}') KB peak"
  done
  cat du.txt
done
