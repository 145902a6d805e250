#!/usr/bin/env bash
# Side-by-side benchmark of eventchat against the Python ChatKit reference (issue #7).
#
#   scripts/bench.sh                      # every scenario, default sizes
#   scripts/bench.sh --scenarios a,d      # a subset; any other eventchat-bench option passes through
#   scripts/bench.sh --scenarios b --tool-call-first --mock-workers 4   # a tool round per turn
#   BENCH_NO_REFERENCE=1 scripts/bench.sh # eventchat alone
#   BENCH_SERVER_LOG=debug BENCH_KEEP_WORK=1 scripts/bench.sh ...   # the server log kept
#
# Builds the release binaries (eventchat, and eventchat-bench from the bench/ crate) into
# $CARGO_TARGET_DIR (default target/), installs the reference (scripts/bench/requirements.txt)
# into a virtualenv under it, makes sure PostgreSQL answers for scenario (e), then runs
# eventchat-bench, which starts the mock LLM, the servers and the load on 127.0.0.1, stops them
# at the end, prints the table and writes $CARGO_TARGET_DIR/bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
export CARGO_TARGET_DIR=$target

echo "bench: building release binaries into $target (slow the first time)" >&2
# The server (root package) and the benchmark (bench/) are two packages: each is named with -p,
# and each binary with --bin.
cargo build --release -p eventchat --bin eventchat -p eventchat-bench --bin eventchat-bench

args=()
if [ -z "${BENCH_NO_REFERENCE:-}" ]; then
  venv=$target/bench/venv
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import chatkit, agents, fastapi, uvicorn" 2>/dev/null; then
    echo "bench: installing the Python reference into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r scripts/bench/requirements.txt -c scripts/bench/constraints.txt
  fi
  args+=(--python "$venv/bin/python")
fi

# Scenario (e) needs PostgreSQL: the default list has it; else look at --scenarios.
want_pg=1
prev=
for a in "$@"; do
  if [ "$prev" = --scenarios ]; then
    case ",$a," in *,e,*) want_pg=1 ;; *) want_pg=0 ;; esac
  fi
  prev=$a
done
if [ "$want_pg" != 0 ]; then
  scripts/ensure-postgres || echo "bench: PostgreSQL unavailable; scenario (e) will fail" >&2
fi

exec "$target/release/eventchat-bench" \
  --server-bin "$target/release/eventchat" \
  --out "$target/bench/results.json" \
  "${args[@]}" "$@"
