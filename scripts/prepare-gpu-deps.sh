#!/usr/bin/env bash
# Fills the git-ignored folder .gpu-deps/ with what a run on the GPU machine needs and cannot get
# there (that machine has nvcc, CMake, ninja and a host compiler, but no network, no Debian -dev
# packages and no ../shared beside the checkout):
#
#   .gpu-deps/prefix/   a self-contained install prefix for CMAKE_PREFIX_PATH, static libraries only:
#                       GoogleTest + GoogleMock 1.12.1 (built here from Debian's /usr/src/googletest),
#                       Google Benchmark 1.7.1 (built here from Debian's source package),
#                       liblzma and libzstd (headers + Debian's static archives, own zstdConfig.cmake),
#                       spdlog and fmt (Debian's headers, used header-only, own spdlogConfig.cmake)
#   .gpu-deps/src/      the GoogleTest sources and the benchmark tarball, so that gpu-check.sh can
#                       rebuild both with the GPU machine's own compiler if the prebuilt ones do not link
#   .gpu-deps/traces/   the small public traces the tests and benchmarks read (BELADY_TRACES_DIR)
#
# Usage:
#   scripts/prepare-gpu-deps.sh [--force]       prepare everything (idempotent: unchanged inputs are
#                                               not rebuilt; --force rebuilds the prefix)
#   scripts/prepare-gpu-deps.sh --build-from-src PREFIX
#                                               offline: build GoogleTest and benchmark from .gpu-deps/src
#                                               into PREFIX (used by gpu-check.sh on the GPU machine)
# Environment: GPU_DEPS_DIR (default <repo>/.gpu-deps), GPU_DEPS_TRACES (space-separated trace file
# names, default below), GPU_DEPS_TRACES_SRC (default <repo>/../shared/traces), JOBS.
# Needs here: cmake >= 3.16, ninja, a C++ compiler; apt-get only when a needed package is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${GPU_DEPS_DIR:-$ROOT/.gpu-deps}
PREFIX=$DEPS/prefix
SRC=$DEPS/src
BENCH_VERSION=1.7.1
BENCH_TARBALL=benchmark_${BENCH_VERSION}.orig.tar.gz
TRACES_SRC=${GPU_DEPS_TRACES_SRC:-$ROOT/../shared/traces}
TRACES=${GPU_DEPS_TRACES:-web12.trace cloudPhysicsIO.oracleGeneral.bin OLTP.lis README.md PEERS.md cache2k-LICENSE.txt}
TRACES_MAX_BYTES=$((25 * 1024 * 1024))
JOBS=${JOBS:-$(nproc)}
GENERATOR=Ninja
command -v ninja >/dev/null || GENERATOR="Unix Makefiles"

log() { echo "[prepare-gpu-deps] $*"; }
die() { echo "[prepare-gpu-deps] ERROR: $*" >&2; exit 1; }

TMP=$(mktemp -d /tmp/prepare-gpu-deps.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------------------------------------
# Builders shared by both modes (they need only the sources under $SRC, no network).

build_gtest() {  # $1: install prefix
  local dest=$1 b=$TMP/build-gtest
  [[ -f $SRC/googletest/CMakeLists.txt ]] || die "missing $SRC/googletest"
  log "building GoogleTest from $SRC/googletest into $dest"
  cmake -S "$SRC/googletest" -B "$b" -G "$GENERATOR" -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$dest" -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON \
    -Dgtest_build_tests=OFF -Dgtest_build_samples=OFF -Dgmock_build_tests=OFF \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 >"$TMP/gtest-configure.log" 2>&1 \
    || { cat "$TMP/gtest-configure.log"; die "GoogleTest configure failed"; }
  cmake --build "$b" -j "$JOBS" >"$TMP/gtest-build.log" 2>&1 \
    || { tail -50 "$TMP/gtest-build.log"; die "GoogleTest build failed"; }
  cmake --install "$b" >/dev/null
  rm -rf "$dest/lib/pkgconfig"  # pkg-config files hold absolute paths; CMake uses the config files
}

build_benchmark() {  # $1: install prefix
  local dest=$1 b=$TMP/build-benchmark s=$TMP/benchmark-src
  [[ -f $SRC/$BENCH_TARBALL ]] || die "missing $SRC/$BENCH_TARBALL"
  rm -rf "$s" && mkdir -p "$s"
  tar -xzf "$SRC/$BENCH_TARBALL" -C "$s" --strip-components=1
  log "building Google Benchmark $BENCH_VERSION (static, Release) into $dest"
  # Git disabled: benchmark would otherwise take its version from `git describe` of a parent repo.
  cmake -S "$s" -B "$b" -G "$GENERATOR" -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$dest" -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_DISABLE_FIND_PACKAGE_Git=ON \
    -DBENCHMARK_ENABLE_TESTING=OFF -DBENCHMARK_ENABLE_GTEST_TESTS=OFF -DBENCHMARK_ENABLE_WERROR=OFF \
    -DBENCHMARK_ENABLE_INSTALL=ON -DBENCHMARK_INSTALL_DOCS=OFF -DBENCHMARK_ENABLE_LTO=OFF \
    -DBENCHMARK_ENABLE_LIBPFM=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 >"$TMP/bench-configure.log" 2>&1 \
    || { cat "$TMP/bench-configure.log"; die "benchmark configure failed"; }
  cmake --build "$b" -j "$JOBS" >"$TMP/bench-build.log" 2>&1 \
    || { tail -50 "$TMP/bench-build.log"; die "benchmark build failed"; }
  cmake --install "$b" >/dev/null
  rm -rf "$dest/share" "$dest/lib/pkgconfig"
}

if [[ ${1:-} == --build-from-src ]]; then
  [[ -n ${2:-} ]] || die "usage: $0 --build-from-src PREFIX"
  mkdir -p "$2"
  dest=$(cd "$2" && pwd)
  build_gtest "$dest"
  build_benchmark "$dest"
  log "done: $dest"
  exit 0
fi

FORCE=0
[[ ${1:-} == --force ]] && FORCE=1
[[ $# -eq 0 || $FORCE -eq 1 ]] || die "usage: $0 [--force] | --build-from-src PREFIX"

# ---------------------------------------------------------------------------------------------
# Package roots: / when the Debian package is installed here, else the package unpacked in $TMP.
pkgroot() {  # $1: package name; prints the root holding its files
  local pkg=$1
  if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == "install ok installed" ]]; then
    echo /
    return
  fi
  log "package $pkg is not installed: downloading it (apt-get download)" >&2
  mkdir -p "$TMP/debs" "$TMP/root-$pkg"
  (cd "$TMP/debs" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed (run apt-get update?)"
  dpkg -x "$TMP"/debs/"${pkg}"_*.deb "$TMP/root-$pkg"
  echo "$TMP/root-$pkg"
}
pkgversion() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
mkdir -p "$DEPS" "$SRC"

# --- sources ---------------------------------------------------------------------------------
GT_ROOT=$(pkgroot googletest)
GT_SYS=$GT_ROOT/usr/src/googletest
[[ -f $GT_SYS/CMakeLists.txt ]] || die "no GoogleTest sources at $GT_SYS"
GT_VERSION=$(pkgversion googletest)
if [[ ! -f $SRC/googletest/.version || $(cat "$SRC/googletest/.version") != "$GT_VERSION" ]]; then
  log "copying GoogleTest $GT_VERSION sources (without tests, docs, samples)"
  rm -rf "$SRC/googletest" && mkdir -p "$SRC/googletest"
  tar -C "$GT_SYS" --exclude=./googletest/test --exclude=./googlemock/test --exclude=./googletest/samples \
    --exclude=./googletest/docs --exclude=./googlemock/docs -cf - . | tar -C "$SRC/googletest" -xf -
  echo "$GT_VERSION" >"$SRC/googletest/.version"
fi

if [[ ! -f $SRC/$BENCH_TARBALL ]]; then
  # Debian's libbenchmark-dev ships only a shared libbenchmark: take the source package instead
  # (apt-get source with a private deb-src list; the system's apt configuration is not touched).
  log "fetching the benchmark $BENCH_VERSION source package"
  # shellcheck disable=SC1091
  . /etc/os-release
  A=$TMP/apt
  mkdir -p "$A/lists/partial" "$A/dl"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${VERSION_CODENAME:-bookworm} main" >"$A/sources.list"
  o=(-oDir::Etc::SourceList="$A/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$A/lists")
  apt-get "${o[@]}" -qq update >"$A/update.log" 2>&1 || { cat "$A/update.log"; die "apt-get update (deb-src) failed"; }
  (cd "$A/dl" && apt-get "${o[@]}" -qq source --download-only "benchmark=${BENCH_VERSION}-1" >"$A/source.log" 2>&1) \
    || { cat "$A/source.log"; die "apt-get source benchmark failed"; }
  cp "$A/dl/$BENCH_TARBALL" "$SRC/$BENCH_TARBALL"
fi

# --- prefix ----------------------------------------------------------------------------------
LZMA_ROOT=$(pkgroot liblzma-dev)
ZSTD_ROOT=$(pkgroot libzstd-dev)
CXX_ID=$( (${CXX:-c++} --version 2>/dev/null || echo none) | head -1)
STAMP=$( {
  sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
  echo "googletest $GT_VERSION"
  sha256sum "$SRC/$BENCH_TARBALL" | cut -d' ' -f1
  echo "liblzma-dev $(pkgversion liblzma-dev) libzstd-dev $(pkgversion libzstd-dev)"
  echo "libspdlog-dev $(pkgversion libspdlog-dev) libfmt-dev $(pkgversion libfmt-dev)"
  echo "$CXX_ID"
} | sha256sum | cut -d' ' -f1)

if [[ $FORCE -eq 0 && -f $PREFIX/.stamp && $(cat "$PREFIX/.stamp") == "$STAMP" ]]; then
  log "prefix is up to date ($PREFIX)"
else
  NEW=$DEPS/prefix.new
  rm -rf "$NEW" && mkdir -p "$NEW/include" "$NEW/lib/cmake"
  build_gtest "$NEW"
  build_benchmark "$NEW"

  log "adding liblzma $(pkgversion liblzma-dev) (static)"
  cp -a "$LZMA_ROOT/usr/include/lzma.h" "$LZMA_ROOT/usr/include/lzma" "$NEW/include/"
  cp -a "$LZMA_ROOT/usr/lib/$MULTIARCH/liblzma.a" "$NEW/lib/"
  # Only the static archive is in the prefix, so CMake's FindLibLZMA picks it.

  ZV=$(pkgversion libzstd-dev); ZV=${ZV%%+*}; ZV=${ZV%%-*}
  log "adding libzstd $ZV (static) with its own zstdConfig.cmake"
  cp -a "$ZSTD_ROOT/usr/include/zstd.h" "$ZSTD_ROOT/usr/include/zstd_errors.h" "$ZSTD_ROOT/usr/include/zdict.h" "$NEW/include/"
  cp -a "$ZSTD_ROOT/usr/lib/$MULTIARCH/libzstd.a" "$NEW/lib/"
  mkdir -p "$NEW/lib/cmake/zstd"
  cat >"$NEW/lib/cmake/zstd/zstdConfig.cmake" <<'EOF'
# Written by scripts/prepare-gpu-deps.sh: Debian's static libzstd, relocatable (no absolute paths).
include(CMakeFindDependencyMacro)
find_dependency(Threads)
get_filename_component(_zstd_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET zstd::libzstd_static)
  add_library(zstd::libzstd_static STATIC IMPORTED)
  set_target_properties(zstd::libzstd_static PROPERTIES
    IMPORTED_LOCATION "${_zstd_prefix}/lib/libzstd.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "${_zstd_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()
unset(_zstd_prefix)
EOF
  log "adding spdlog $(pkgversion libspdlog-dev) and fmt $(pkgversion libfmt-dev) (headers, used header-only)"
  cp -a "$(pkgroot libspdlog-dev)/usr/include/spdlog" "$(pkgroot libfmt-dev)/usr/include/fmt" "$NEW/include/"
  mkdir -p "$NEW/lib/cmake/spdlog"
  cat >"$NEW/lib/cmake/spdlog/spdlogConfig.cmake" <<'EOF'
# Written by scripts/prepare-gpu-deps.sh: Debian's spdlog and fmt headers, header-only (the GPU
# machine has no libspdlog/libfmt). Debian's tweakme.h selects the external fmt.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
get_filename_component(_spdlog_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET spdlog::spdlog)
  add_library(spdlog::spdlog INTERFACE IMPORTED)
  set_target_properties(spdlog::spdlog PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_spdlog_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS "FMT_HEADER_ONLY=1"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()
unset(_spdlog_prefix)
EOF
  printf 'set(PACKAGE_VERSION "1.10.0")\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\n' >"$NEW/lib/cmake/spdlog/spdlogConfigVersion.cmake"

  cat >"$NEW/lib/cmake/zstd/zstdConfigVersion.cmake" <<EOF
set(PACKAGE_VERSION "$ZV")
if(PACKAGE_FIND_VERSION AND PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
EOF

  # Nothing in the prefix may point back at this machine's paths.
  if grep -rIl -e "$NEW" -e "$TMP" "$NEW/lib/cmake" >/dev/null 2>&1; then
    grep -rIl -e "$NEW" -e "$TMP" "$NEW/lib/cmake" >&2
    die "absolute build paths leaked into the CMake package files above"
  fi
  echo "$STAMP" >"$NEW/.stamp"
  rm -rf "$PREFIX" && mv "$NEW" "$PREFIX"
fi

# --- self-check: a consumer that finds everything through CMAKE_PREFIX_PATH only -------------
SC=$TMP/selfcheck
mkdir -p "$SC"
cat >"$SC/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(gpu_deps_selfcheck LANGUAGES C CXX)
find_package(Threads REQUIRED)
find_package(GTest CONFIG REQUIRED)
find_package(benchmark CONFIG REQUIRED)
find_package(zstd CONFIG REQUIRED)
find_package(LibLZMA REQUIRED)
message(STATUS "selfcheck GTest_DIR=${GTest_DIR}")
message(STATUS "selfcheck benchmark_DIR=${benchmark_DIR}")
message(STATUS "selfcheck zstd_DIR=${zstd_DIR}")
message(STATUS "selfcheck LIBLZMA_LIBRARY=${LIBLZMA_LIBRARY}")
add_executable(t t.cpp)
target_link_libraries(t PRIVATE GTest::gtest GTest::gtest_main benchmark::benchmark LibLZMA::LibLZMA zstd::libzstd_static)
EOF
cat >"$SC/t.cpp" <<'EOF'
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>
#include <lzma.h>
#include <zstd.h>
TEST(GpuDeps, Links) {
  EXPECT_GT(lzma_version_number(), 0u);
  EXPECT_GT(ZSTD_versionNumber(), 0u);
  benchmark::DoNotOptimize(ZSTD_versionNumber());
}
EOF
if cmake -S "$SC" -B "$SC/b" -G "$GENERATOR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
     >"$SC/configure.log" 2>&1 && cmake --build "$SC/b" >"$SC/build.log" 2>&1 && "$SC/b/t" >"$SC/run.log" 2>&1; then
  grep -h "selfcheck " "$SC/configure.log" | sed 's/^-- /  /'
  for v in GTest_DIR benchmark_DIR zstd_DIR LIBLZMA_LIBRARY; do
    grep -q "selfcheck $v=$PREFIX/" "$SC/configure.log" \
      || log "WARNING: $v was not found in $PREFIX (a system copy was used in the self-check)"
  done
  log "self-check passed: the prefix configures, links and runs"
else
  cat "$SC"/*.log >&2
  die "self-check of $PREFIX failed"
fi

# --- traces ----------------------------------------------------------------------------------
mkdir -p "$DEPS/traces"
total=0
for f in $TRACES; do
  s=$TRACES_SRC/$f
  if [[ ! -f $s ]]; then
    log "trace $f: not in $TRACES_SRC, skipped"
    continue
  fi
  size=$(stat -c %s "$s")
  if ((total + size > TRACES_MAX_BYTES)); then
    log "trace $f: $size bytes would pass the $TRACES_MAX_BYTES-byte limit, skipped"
    continue
  fi
  total=$((total + size))
  cmp -s "$s" "$DEPS/traces/$f" || cp -f "$s" "$DEPS/traces/$f"
  chmod u+w "$DEPS/traces/$f"
done
# Drop traces no longer in the list.
for f in "$DEPS"/traces/*; do
  [[ -e $f ]] || continue
  case " $TRACES " in *" $(basename "$f") "*) ;; *) rm -f "$f" ;; esac
done

# --- manifest --------------------------------------------------------------------------------
{
  echo "# .gpu-deps, written by scripts/prepare-gpu-deps.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "googletest $GT_VERSION (static, built with: $CXX_ID)"
  echo "benchmark $BENCH_VERSION (static, from $BENCH_TARBALL sha256 $(sha256sum "$SRC/$BENCH_TARBALL" | cut -d' ' -f1))"
  echo "liblzma-dev $(pkgversion liblzma-dev), libzstd-dev $(pkgversion libzstd-dev) (static archives)"
  echo
  (cd "$DEPS" && find . -type f ! -path './src/googletest/*' ! -path './prefix/include/*' -printf '%10s %p\n' | sort -k2)
} >"$DEPS/MANIFEST.txt"

log "contents:"
du -sh "$DEPS/prefix" "$DEPS/src" "$DEPS/traces" | sed 's/^/  /'
log "total: $(du -sh "$DEPS" | cut -f1) ($(du -sb "$DEPS" | cut -f1) bytes) in $DEPS"
