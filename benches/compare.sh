#!/usr/bin/env bash
# gradflow beside PyTorch, JAX and candle on the peer benchmark's workloads, in one
# interleaved run, and one table (docs/performance.md explains every column).
#
#   benches/compare.sh                    # both thread counts, 2 passes (~16 min on 2 cores)
#   THREADS=2 PASSES=1 benches/compare.sh # quicker, noisier
#
# Env:
#   PY          python with torch, jax, numpy, threadpoolctl (micrograd optional);
#               default: /work/main/.venv/bin/python if present, else python3
#   PEER_BENCH  the peer benchmark folder (SPEC.md, peers.py, run_peers.py, candle/,
#               limits/); default: ../shared/bench beside the repository, else /work/shared/bench
#   WORK        writable copy of it where everything is built and run (default /tmp/gradflow-peer-bench)
#   THREADS     thread counts, comma-separated (default 1,2); PASSES (default 2)
#   GRADFLOW_BIN  a workloads binary built beforehand (e.g. of another commit), used instead
#               of building this checkout's; either way it is copied into WORK first
#
# Peers that cannot be found (a python module that does not import, a candle build that
# fails) are skipped with a message; nothing is ever filled in for them.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${PY:-}" ]]; then
  if [[ -x /work/main/.venv/bin/python ]]; then PY=/work/main/.venv/bin/python; else PY=python3; fi
fi
export PY
SRC="${PEER_BENCH:-}"
if [[ -z "$SRC" ]]; then
  for d in "$ROOT/../shared/bench" /work/shared/bench; do
    if [[ -f "$d/run_peers.py" ]]; then SRC="$d"; break; fi
  done
fi
if [[ -z "$SRC" || ! -f "$SRC/run_peers.py" ]]; then
  echo "compare.sh: peer benchmark folder not found (set PEER_BENCH)" >&2
  exit 1
fi
WORK="${WORK:-/tmp/gradflow-peer-bench}"
THREADS="${THREADS:-1,2}"
PASSES="${PASSES:-2}"
mkdir -p "$WORK"
# Copy the scripts and sources; keep a previous build in WORK/target.
(cd "$SRC" && tar --exclude=./target --exclude=./results -cf - .) | (cd "$WORK" && tar -xf -)
chmod -R u+w "$WORK"

if [[ -n "${GRADFLOW_BIN:-}" ]]; then
  echo "== using the given gradflow bench binary $GRADFLOW_BIN" >&2
  BUILT="$GRADFLOW_BIN"
else
echo "== building gradflow's bench binary" >&2
BUILT="$(cd "$ROOT" && cargo bench -p gradflow-nn --no-run --bench workloads --message-format=json 2>/dev/null |
  "$PY" -c 'import json,sys
for l in sys.stdin:
    try: m = json.loads(l)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "workloads" and m.get("executable"):
        print(m["executable"])' | tail -1)"
fi
if [[ -z "$BUILT" || ! -x "$BUILT" ]]; then
  echo "compare.sh: could not build crates/nn/benches/workloads.rs" >&2
  exit 1
fi
# A copy, so that rebuilding the workspace during the run cannot swap the binary.
BIN="$WORK/gradflow_workloads"
cp "$BUILT" "$BIN"

jobs="limits,extra"
if "$PY" -c 'import numpy, threadpoolctl' 2>/dev/null; then jobs+=",numpy_gemm"; else echo "skipping numpy GEMM limit: numpy/threadpoolctl not importable by $PY" >&2; fi
if "$PY" -c 'import torch' 2>/dev/null; then jobs+=",torch,torch_gemm"; else echo "skipping PyTorch: torch not importable by $PY" >&2; fi
if "$PY" -c 'import jax' 2>/dev/null; then jobs+=",jax"; else echo "skipping JAX: jax not importable by $PY" >&2; fi
if "$PY" -c 'import micrograd' 2>/dev/null; then jobs+=",micrograd"; else echo "skipping micrograd: not importable by $PY" >&2; fi
echo "== building candle and the limits probes" >&2
if (cd "$WORK" && cargo build --release -q -p candle_peer) >&2; then jobs+=",candle"; else echo "skipping candle: its build failed" >&2; fi
(cd "$WORK" && cargo build --release -q -p limits) >&2

echo "== running $jobs, threads $THREADS, $PASSES passes (interleaved)" >&2
mkdir -p "$WORK/results"
(cd "$WORK" && EXTRA_CMD="$BIN all" "$PY" run_peers.py --only "$jobs" --threads "$THREADS" \
  --passes "$PASSES" --out "$WORK/results/compare.json")

echo "== peak RSS of one W1 process per system (2 threads)" >&2
rss_of() { # prints the peak RSS in KiB of the command
  "$PY" -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
{
  echo "{"
  echo "\"gradflow\": $(BENCH_THREADS=2 rss_of "$BIN" mlp)"
  if [[ ",$jobs," == *",torch,"* ]]; then echo ", \"torch\": $(cd "$WORK" && rss_of "$PY" -W ignore peers.py torch 2 mlp)"; fi
  echo "}"
} > "$WORK/results/rss.json"

"$PY" "$ROOT/benches/compare_table.py" "$WORK/results/compare.json" "$WORK/results/rss.json" |
  tee "$WORK/results/compare_table.md"
echo "raw results: $WORK/results/compare.json" >&2
