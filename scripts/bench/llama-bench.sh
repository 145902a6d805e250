#!/usr/bin/env bash
# llama.cpp's own llama-bench, built from the llama.cpp source the `llama-cpp-sys-2` crate
# vendors (the version in Cargo.lock, from the cargo registry), Release, CPU only, with the
# GGML flags of .cargo/config.toml (AVX/AVX2/FMA/F16C/BMI2 on, GGML_NATIVE off) and OpenMP
# as the crate builds it; then run on a model file with the server's thread count. The
# reference for eventchat-bench's scenario (m): "generation >= 90% of llama-bench".
#
#   scripts/bench/llama-bench.sh MODEL.gguf [THREADS]      (THREADS: default every core)
#
# Builds into target/llama-bench/ (once; delete it to rebuild) and writes
# target/llama-bench/NAME.jsonl (NAME = the file name without .gguf), which scenario (m)
# reads, besides printing llama-bench's table (pp512 and tg128, empty and after 3,072 tokens
# of context, about the server's prompt size: (m) compares with the depth nearest its own
# context; 3 repetitions).
#
# The crate's package leaves out the sources of llama.cpp's tools (tools/llama-bench/ holds
# only its README). Give the file of the same llama.cpp release with
# LLAMA_BENCH_CPP=/path/to/llama-bench.cpp, or a llama.cpp checkout of that release with
# LLAMA_CPP_DIR=/path/to/llama.cpp; nothing of llama.cpp is kept in this repository.
# Environment: LLAMA_BENCH_ARGS (default "-p 512 -n 128 -d 0,3072 -r 3"), JOBS (default nproc).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
model="${1:?usage: $0 MODEL.gguf [THREADS]}"
threads="${2:-$(nproc)}"
[ "$threads" = 0 ] && threads="$(nproc)"
out="$root/target/llama-bench"
bin="$out/build/bin/llama-bench"

if [ ! -x "$bin" ]; then
    version="$(awk '/^name = "llama-cpp-sys-2"/ {getline; gsub(/"/, "", $3); print $3}' "$root/Cargo.lock")"
    [ -n "$version" ] || { echo "llama-cpp-sys-2 not in Cargo.lock" >&2; exit 1; }
    crate="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"llama-cpp-sys-2-$version" 2>/dev/null | head -1)"
    [ -d "$crate/llama.cpp" ] || { echo "llama-cpp-sys-2-$version not in the cargo registry: cargo fetch" >&2; exit 1; }
    echo "llama.cpp source: $crate/llama.cpp (llama-cpp-sys-2 $version)"
    # A copy: the registry is read-only by convention, and the tools' CMake files change.
    rm -rf "$out/src"
    mkdir -p "$out"
    cp -a "$crate/llama.cpp" "$out/src"
    cpp="$out/src/tools/llama-bench/llama-bench.cpp"
    if [ ! -f "$cpp" ]; then
        if [ -n "${LLAMA_BENCH_CPP:-}" ]; then
            cp "$LLAMA_BENCH_CPP" "$cpp"
        elif [ -n "${LLAMA_CPP_DIR:-}" ]; then
            cp "$LLAMA_CPP_DIR/tools/llama-bench/llama-bench.cpp" "$cpp"
        else
            echo "the crate's llama.cpp has no tools/llama-bench/llama-bench.cpp: set LLAMA_BENCH_CPP or LLAMA_CPP_DIR (see the header of $0)" >&2
            exit 1
        fi
    fi
    # Newer llama.cpp keeps the benchmark in `llama_bench()` and its `main` in another file
    # (llama-bench-api.h beside it): give it one.
    if ! grep -q '^int main(' "$cpp" && grep -q '^int llama_bench(int argc, char \*\* argv)' "$cpp"; then
        printf '\nint main(int argc, char ** argv) { return llama_bench(argc, argv); }\n' >> "$cpp"
    fi
    # Only llama-bench among the tools: the others' sources are not in the package either.
    cat > "$out/src/tools/CMakeLists.txt" <<'EOF'
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(llama-bench)
EOF
    cat > "$out/src/tools/llama-bench/CMakeLists.txt" <<'EOF'
add_executable(llama-bench llama-bench.cpp)
# The common library's target is `llama-common` in newer llama.cpp, `common` before.
if (TARGET llama-common)
    set(COMMON_LIB llama-common)
else()
    set(COMMON_LIB common)
endif()
target_link_libraries(llama-bench PRIVATE ${COMMON_LIB} llama ${CMAKE_THREAD_LIBS_INIT})
target_compile_features(llama-bench PRIVATE cxx_std_17)
EOF
    cmake -S "$out/src" -B "$out/build" \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF \
        -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DGGML_NATIVE=OFF -DGGML_OPENMP=ON \
        -DGGML_AVX="${GGML_AVX:-ON}" -DGGML_AVX2="${GGML_AVX2:-ON}" -DGGML_FMA="${GGML_FMA:-ON}" \
        -DGGML_F16C="${GGML_F16C:-ON}" -DGGML_BMI2="${GGML_BMI2:-ON}" \
        -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF
    cmake --build "$out/build" --target llama-bench -j "${JOBS:-$(nproc)}"
fi

name="$(basename "$model" .gguf)"
# shellcheck disable=SC2086 # LLAMA_BENCH_ARGS is a list of options
"$bin" -m "$model" -t "$threads" ${LLAMA_BENCH_ARGS:--p 512 -n 128 -d 0,3072 -r 3} -o jsonl > "$out/$name.jsonl"
# The table, from the same run (llama-bench prints one format per run).
python3 - "$out/$name.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| model | threads | test | t/s |")
print("|---|---|---|---|")
for r in rows:
    test = f"pp{r['n_prompt']}" if r["n_gen"] == 0 else f"tg{r['n_gen']}"
    if r.get("n_depth"):
        test += f" @ d{r['n_depth']}"
    print(f"| {r['model_type']} | {r['n_threads']} | {test} | {r['avg_ts']:.2f} ± {r['stddev_ts']:.2f} |")
EOF
echo "written: $out/$name.jsonl"
