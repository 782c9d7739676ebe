#!/usr/bin/env bash
# The GPU machine's check: configure + build the cuda preset against the carried .gpu-deps/ (see
# scripts/prepare-gpu-deps.sh), run ctest and the benchmarks on the GPU, and write the results to
# OUTDIR. Run from anywhere as
#     bash scripts/gpu-check.sh OUTDIR
# (on the device machine: carry [".gpu-deps"], command `bash scripts/gpu-check.sh "$OUT"`).
#
# OUTDIR gets: gpu-check.log (everything), summary.txt (each step's exit code and time), env.txt
# (nvidia-smi, tool versions), ctest.xml (JUnit), ctest-last.log, bench.json, swap-cuda.txt
# (belady-swap-bench --backend cuda), rollback-cuda.txt (belady-rollback-bench --backend cuda).
# Exit status: non-zero if configure, build or tests failed (a benchmark failure is only recorded).
#
# Environment (all optional):
#   GPU_CHECK_BUILD_DIR          build folder (default build/cuda), e.g. build/gpu-rehearsal
#   GPU_CHECK_PRESET             configure preset (default cuda)
#   GPU_CHECK_ARCH               CUDA architecture (default: from nvidia-smi's compute_cap, else 90)
#   GPU_CHECK_EXTRA_CMAKE_ARGS   appended to the configure line (split on spaces), e.g.
#                                -DCMAKE_IGNORE_PREFIX_PATH=/usr
#   GPU_CHECK_DEPS_FROM_SRC      auto (default): use .gpu-deps/prefix, rebuild GoogleTest and benchmark
#                                from .gpu-deps/src with this machine's compiler if a link test fails;
#                                1: always rebuild them; 0: never
#   GPU_CHECK_TOTAL_S            whole-script budget in seconds (default 470; every step is cut to fit)
#   GPU_CHECK_BUILD_S / _TEST_S / _BENCH_S   step caps (default 300 / 150 / 150)
#   GPU_CHECK_JOBS               build jobs (default nproc); GPU_CHECK_CTEST_JOBS (default 4)
#   GPU_CHECK_SKIP_BENCH=1       do not run the benchmarks
set -euo pipefail

START=$SECONDS
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

OUTDIR=${1:-${OUT:-}}
[[ -n $OUTDIR ]] || { echo "usage: bash scripts/gpu-check.sh OUTDIR" >&2; exit 2; }
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
exec > >(tee -a "$OUTDIR/gpu-check.log") 2>&1
TEE_PID=$!

BUILD_DIR=${GPU_CHECK_BUILD_DIR:-build/cuda}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
PRESET=${GPU_CHECK_PRESET:-cuda}
DEPS=$ROOT/.gpu-deps
PREFIX=$DEPS/prefix
TOTAL_S=${GPU_CHECK_TOTAL_S:-470}
JOBS=${GPU_CHECK_JOBS:-$(nproc)}
CTEST_JOBS=${GPU_CHECK_CTEST_JOBS:-4}
read -r -a EXTRA_ARGS <<<"${GPU_CHECK_EXTRA_CMAKE_ARGS:-}"
SUMMARY=$OUTDIR/summary.txt

note() { echo "$*" >>"$SUMMARY"; }
hdr() { echo; echo "=== gpu-check: $* ($((SECONDS - START)) s) ==="; }
# Seconds a step may take: its cap, cut so that the whole script ends within TOTAL_S.
budget() {
  local left=$((TOTAL_S - (SECONDS - START) - 5))
  ((left < $1)) && echo $((left > 0 ? left : 1)) || echo "$1"
}
# step NAME CAP CMD...: runs CMD under timeout, records rc and time; never aborts the script.
declare -A RC
step() {
  local name=$1 cap=$2 t0=$SECONDS rc=0 lim
  shift 2
  lim=$(budget "$cap")
  hdr "$name (limit ${lim} s): $*"
  timeout -k 10 "$lim" "$@" || rc=$?
  RC[$name]=$rc
  local msg="step $name: rc=$rc time=$((SECONDS - t0))s limit=${lim}s"
  ((rc == 124 || rc == 137)) && msg+=" TIMED OUT"
  note "$msg"
  echo "$msg"
  return 0
}

FINAL_RC=1
finish() {
  note "total time: $((SECONDS - START))s"
  note "overall: rc=$FINAL_RC"
}
trap finish EXIT

: >"$SUMMARY"
note "gpu-check summary, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(hostname 2>/dev/null || uname -n), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

# --- tools -----------------------------------------------------------------------------------
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
for tool in cmake ninja; do  # the GPU image may ship them only as Python packages
  if ! command -v "$tool" >/dev/null; then
    d=$(python3 -c "import $tool, os; print(getattr($tool, 'BIN_DIR', None) or getattr($tool, 'CMAKE_BIN_DIR'))" 2>/dev/null || true)
    [[ -n $d && -x $d/$tool ]] && export PATH=$d:$PATH
  fi
done

# --- GPU -------------------------------------------------------------------------------------
hdr "environment"
GPU_NAME="none" CAP="" ARCH=${GPU_CHECK_ARCH:-}
{
  echo "## uname"; uname -a
  echo "## os"; grep -E '^(PRETTY_NAME|VERSION_ID)=' /etc/os-release 2>/dev/null || true
  echo "## nproc $(nproc)"
  for t in cmake ninja nvcc "${CXX:-c++}"; do
    echo "## $t: $(command -v "$t" || echo missing)"
    "$t" --version 2>/dev/null | grep -v '^$' | head -4 || true
  done
  echo "## glibc: $(ldd --version 2>/dev/null | head -1)"
  echo "## nvidia-smi"
  if command -v nvidia-smi >/dev/null; then nvidia-smi 2>&1 || true; else echo "nvidia-smi: not found"; fi
} >"$OUTDIR/env.txt" 2>&1
cat "$OUTDIR/env.txt"
if command -v nvidia-smi >/dev/null; then
  line=$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>/dev/null | head -1 || true)
  if [[ $line == *,* ]]; then
    GPU_NAME=${line%,*}
    CAP=$(echo "${line##*,}" | tr -d ' ')
  fi
fi
if [[ -z $ARCH ]]; then
  if [[ $CAP =~ ^[0-9]+\.[0-9]+$ ]]; then
    ARCH=${CAP/./}
  else
    ARCH=90
    echo "gpu-check: no GPU compute capability found (no GPU?): building for arch $ARCH"
  fi
fi
note "gpu: ${GPU_NAME} compute_cap=${CAP:-none} -> CUDA arch ${ARCH}$([[ $GPU_NAME == none ]] && echo ' (NO GPU: assumed)')"
echo "gpu: $GPU_NAME, compute capability ${CAP:-none}, building for arch $ARCH"

# --- dependencies ----------------------------------------------------------------------------
hdr "dependencies"
PREFIXES=$PREFIX
if [[ ! -d $PREFIX/lib/cmake ]]; then
  note "deps: MISSING $PREFIX (run scripts/prepare-gpu-deps.sh here and carry .gpu-deps)"
  echo "gpu-check: $PREFIX is missing: run scripts/prepare-gpu-deps.sh on the build machine and carry .gpu-deps" >&2
else
  sed -n '1,5p' "$DEPS/MANIFEST.txt" 2>/dev/null || true
  # A link test with this machine's compiler and CMake: the prefix was built elsewhere.
  SMOKE=$BUILD_DIR-deps-smoke
  rm -rf "$SMOKE" && mkdir -p "$SMOKE"
  cat >"$SMOKE/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(gpu_deps_smoke LANGUAGES C CXX)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(LibLZMA REQUIRED)
find_package(zstd CONFIG REQUIRED)
message(STATUS "smoke GTest_DIR=${GTest_DIR} benchmark_DIR=${benchmark_DIR} zstd_DIR=${zstd_DIR} LIBLZMA_LIBRARY=${LIBLZMA_LIBRARY}")
add_executable(smoke smoke.cpp)
target_link_libraries(smoke PRIVATE GTest::gtest GTest::gtest_main benchmark::benchmark LibLZMA::LibLZMA zstd::libzstd_static)
EOF
  cat >"$SMOKE/smoke.cpp" <<'EOF'
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>
#include <lzma.h>
#include <zstd.h>
TEST(GpuDeps, Links) { EXPECT_GT(lzma_version_number() + ZSTD_versionNumber(), 0u); }
EOF
  smoke() {  # $1: prefix path list
    rm -rf "$SMOKE/b"
    timeout 120 cmake -S "$SMOKE" -B "$SMOKE/b" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$1" \
      "${EXTRA_ARGS[@]}" >"$SMOKE/log" 2>&1 \
      && timeout 120 cmake --build "$SMOKE/b" >>"$SMOKE/log" 2>&1 && "$SMOKE/b/smoke" >>"$SMOKE/log" 2>&1
  }
  MODE=${GPU_CHECK_DEPS_FROM_SRC:-auto}
  SMOKE_RC=0
  if [[ $MODE != 1 ]]; then
    smoke "$PREFIXES" || SMOKE_RC=$?
    grep -h "smoke GTest_DIR" "$SMOKE/log" || true
    ((SMOKE_RC == 0)) || { echo "gpu-check: the prebuilt prefix failed the link test (rc=$SMOKE_RC):"; tail -25 "$SMOKE/log"; }
    note "deps: prebuilt prefix link test rc=$SMOKE_RC"
  fi
  if [[ $MODE == 1 || ($MODE == auto && $SMOKE_RC != 0) ]]; then
    SRC_PREFIX=$BUILD_DIR-deps-prefix
    step deps-from-src 240 bash "$ROOT/scripts/prepare-gpu-deps.sh" --build-from-src "$SRC_PREFIX"
    if [[ ${RC[deps-from-src]} == 0 ]]; then
      PREFIXES="$SRC_PREFIX;$PREFIX"
      SMOKE_RC=0
      smoke "$PREFIXES" || SMOKE_RC=$?
      grep -h "smoke GTest_DIR" "$SMOKE/log" || true
      note "deps: rebuilt GoogleTest+benchmark here, link test rc=$SMOKE_RC"
    fi
  fi
fi
export LD_LIBRARY_PATH=$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# --- configure, build, test, bench -----------------------------------------------------------
CONF_ARGS=(-DCMAKE_CUDA_ARCHITECTURES="$ARCH" "-DCMAKE_PREFIX_PATH=$PREFIXES" -DBELADY_CUDA=ON)
if [[ -d $DEPS/traces ]]; then
  CONF_ARGS+=("-DBELADY_TRACES_DIR=$DEPS/traces")
  export BELADY_TRACES_DIR=$DEPS/traces
fi
if cmake --list-presets 2>/dev/null | grep -q "\"$PRESET\""; then
  CONF=(cmake --preset "$PRESET" -B "$BUILD_DIR")
else
  echo "gpu-check: no configure preset '$PRESET': configuring with Ninja, Release"
  CONF=(cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release)
fi
step configure 120 "${CONF[@]}" "${CONF_ARGS[@]}" "${EXTRA_ARGS[@]}"
if [[ -f $BUILD_DIR/CMakeCache.txt ]]; then
  for v in GTest_DIR benchmark_DIR zstd_DIR LIBLZMA_LIBRARY_RELEASE LIBLZMA_INCLUDE_DIR CMAKE_CUDA_COMPILER CMAKE_CUDA_ARCHITECTURES BELADY_TRACES_DIR; do
    val=$(grep -E "^$v:" "$BUILD_DIR/CMakeCache.txt" | head -1 | cut -d= -f2- || true)
    note "cache: $v=${val:-<unset>}"
  done
fi

if [[ ${RC[configure]} == 0 ]]; then
  step build "${GPU_CHECK_BUILD_S:-300}" cmake --build "$BUILD_DIR" -j"$JOBS"
else
  RC[build]=-1; note "step build: skipped (configure failed)"
fi

if [[ ${RC[build]} == 0 ]]; then
  # -LE emulated: the emulated device tile's tests are host-only (they ran in CI without a GPU).
  step test "${GPU_CHECK_TEST_S:-150}" ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$CTEST_JOBS" \
    --timeout 300 -LE emulated --output-junit "$OUTDIR/ctest.xml"
  cp -f "$BUILD_DIR/Testing/Temporary/LastTest.log" "$OUTDIR/ctest-last.log" 2>/dev/null || true
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of" "$OUTDIR/gpu-check.log" | tail -1 || true)
  [[ -n $line ]] && note "tests: $line"
else
  RC[test]=-1; note "step test: skipped (no build)"
fi

BENCH=$BUILD_DIR/bin/belady-bench
if [[ ${GPU_CHECK_SKIP_BENCH:-0} == 1 ]]; then
  note "step bench: skipped (GPU_CHECK_SKIP_BENCH=1)"
elif [[ ! -x $BENCH ]]; then
  note "step bench: skipped ($BENCH not built)"
elif (($(budget 150) < 20)); then
  note "step bench: skipped (less than 20 s of the ${TOTAL_S} s budget left)"
else
  export BELADY_BENCH_BACKEND=cuda
  step bench "${GPU_CHECK_BENCH_S:-150}" "$BENCH" --benchmark_format=console \
    --benchmark_out="$OUTDIR/bench.json" --benchmark_out_format=json \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
fi

# Issue figures the throughput benchmark does not give: model swap latency under load and the
# online watch's rollback time, both on the cuda backend. Output in swap-cuda.txt, rollback-cuda.txt.
SWAP=$BUILD_DIR/bin/belady-swap-bench
ROLLBACK=$BUILD_DIR/bin/belady-rollback-bench
if [[ -x $SWAP ]] && (($(budget 30) >= 10)); then
  step swap 30 bash -c 'set -o pipefail; "$1" --backend cuda --swaps 400 --rounds 4 | tee "$2"' _ "$SWAP" "$OUTDIR/swap-cuda.txt"
else
  note "step swap: skipped (not built or no time left)"
fi
if [[ -x $ROLLBACK ]] && (($(budget 45) >= 30)); then
  step rollback 45 bash -c 'set -o pipefail; "$1" --backend cuda --trials 3 | tee "$2"' _ "$ROLLBACK" "$OUTDIR/rollback-cuda.txt"
else
  note "step rollback: skipped (not built or no time left)"
fi

FINAL_RC=0
[[ ${RC[configure]} == 0 && ${RC[build]} == 0 && ${RC[test]} == 0 ]] || FINAL_RC=1
hdr "summary"
finish
trap - EXIT
cat "$SUMMARY"
exec >&- 2>&-
wait "$TEE_PID" 2>/dev/null || true  # let tee finish writing the log
exit $FINAL_RC
