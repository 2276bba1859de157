#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a while, one after another, growing
# fuzz/corpus/<target> from fuzz/seeds/<target>, then minimises each corpus with
# `cargo fuzz cmin`. Needs nightly and cargo-fuzz; see docs/fuzzing.md.
#
#   fuzz/run.sh                 # every target, 60 s each
#   SECONDS_PER_TARGET=600 fuzz/run.sh csv idx
#
# A crash stops that target's run and leaves the input in fuzz/artifacts/<target>/;
# the script goes on with the next target and exits non-zero at the end.
set -u
cd "$(dirname "$0")"
seconds="${SECONDS_PER_TARGET:-60}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(csv idx checkpoint activation_name cli)
fi
# 64 MiB: any single allocation above this is reported as a crash (the stable replay
# test, tests/fuzz_replay.rs, enforces the same limit).
flags=(-max_total_time="$seconds" -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=10)
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t: fuzzing for ${seconds}s"
    if ! cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- "${flags[@]}"; then
        echo "== $t: FAILED (see fuzz/artifacts/$t/)"
        status=1
    fi
    echo "== $t: minimising the corpus"
    cargo +nightly fuzz cmin "$t" "corpus/$t" -- -malloc_limit_mb=64 -rss_limit_mb=2048 || status=1
done
exit $status
