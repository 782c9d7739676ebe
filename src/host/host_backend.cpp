// The host backend: the per-key functors of belady/detail/ops.hpp run on a thread pool.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include "../core/backend_impl.hpp"
#include "belady/error.hpp"
#include "thread_pool.hpp"

// The emulated device tile needs ucontext fibers (glibc) and no sanitizer watching the stacks.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define BELADY_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BELADY_SANITIZED 1
#endif
#if defined(__GLIBC__) && __has_include(<ucontext.h>) && !defined(BELADY_SANITIZED)
#define BELADY_HAVE_LOCKSTEP 1
#include "lockstep_tile.hpp"
#endif

namespace belady::detail {
namespace {

std::size_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : 0;
}

class host_counter {
 public:
  explicit host_counter() = default;
  unsigned long long* ptr() { return &value_; }
  [[nodiscard]] std::uint64_t read() const { return value_; }

 private:
  alignas(8) unsigned long long value_ = 0;
};

class host_executor {
 public:
  static constexpr belady::backend kind = belady::backend::host;

  static constexpr std::size_t huge_page = std::size_t{2} << 20;

  explicit host_executor(unsigned threads)
      : pool_(threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency())) {}

  void* allocate(std::size_t bytes, const char* what) {
    if (bytes == 0) return nullptr;
    const std::size_t physical = physical_memory_bytes();
    if (physical != 0 && bytes > physical)
      throw out_of_memory("belady: host allocation of " + std::to_string(bytes) + " bytes for " +
                              what + " exceeds the " + std::to_string(physical) +
                              " bytes of physical memory",
                          bytes, physical);
    // A cache line at least (bucket arrays start on one). Arrays of 2 MiB and more start on a
    // huge-page boundary and ask for transparent huge pages (Debian's default THP mode is
    // "madvise"): every key touches a few random lines of several large arrays, and with 4 KiB
    // pages each of those is also a TLB miss and a page walk. The request is advisory; where the
    // kernel declines, the pages stay 4 KiB and nothing else changes.
    const bool huge = bytes >= huge_page;
    const std::size_t align = huge ? huge_page : 64;
    void* p = std::aligned_alloc(align, (bytes + align - 1) / align * align);
    if (p == nullptr)
      throw out_of_memory("belady: host allocation of " + std::to_string(bytes) + " bytes for " +
                              what + " failed",
                          bytes, physical);
#ifdef MADV_HUGEPAGE
    if (huge) (void)::madvise(p, (bytes + align - 1) / align * align, MADV_HUGEPAGE);
#endif
    return p;
  }
  void deallocate(void* p) noexcept { std::free(p); }
  void fill(void* p, int byte, std::size_t bytes) {
    if (p == nullptr) return;
    // Touch pages in parallel: first-touch also spreads them over the workers' nodes.
    pool_.parallel_for(bytes, std::size_t{1} << 22, [&](std::size_t lo, std::size_t hi) {
      std::memset(static_cast<std::byte*>(p) + lo, byte, hi - lo);
    });
  }

  template <class Op>
  outcome_counts run(std::size_t n, const Op& op, stream_view, bool /*count*/, const unsigned long long* gate = nullptr) {
    if (const std::uint64_t g = gate_value(gate); g != 0) return closed_gate(g);
    return over_ranges(n, 256, 16384, [&](std::size_t lo, std::size_t hi, outcome_counts& local) {
      const host_tile t;
      if constexpr (requires { op.prefetch(lo); }) {
        // Per-key ops probe a random bucket each: with their lines requested ahead of the key
        // being served, a thread has several keys' cache misses in flight. In three stages, each
        // deciding from the lines the previous one fetched (ops.hpp, prefetch_digest_matches):
        // the bucket's lock and digests 12 keys ahead, the keys of matching digests 6 ahead, a
        // present key's metadata, score and value (or an absent key's insert lines) 3 ahead.
        constexpr std::size_t ahead = 12, late = 6, last = 3;
        for (std::size_t i = lo; i < std::min(hi, lo + ahead); ++i) op.prefetch(i);
        for (std::size_t i = lo; i < hi; ++i) {
          if (i + ahead < hi) op.prefetch(i + ahead);
          if constexpr (requires { op.prefetch_late(lo); }) {
            if (i + late < hi) op.prefetch_late(i + late);
          }
          if constexpr (requires { op.prefetch_last(lo); }) {
            if (i + last < hi) op.prefetch_last(i + last);
          }
          local.add(op(t, i));
        }
      } else {
        for (std::size_t i = lo; i < hi; ++i) local.add(op(t, i));
      }
    });
  }

  host_counter make_counter(stream_view) { return host_counter{}; }
  host_flag make_host_flag() {
    auto* word = new std::uint32_t(0);
    return {word, word};
  }
  void free_host_flag(host_flag f) noexcept { delete f.host; }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) std::memcpy(dst, src, bytes);  // empty vectors may hand over null pointers
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) std::memcpy(dst, src, bytes);
  }
  /// The online trainer's copies: on the calling thread, not the pool (the pool serves the cache).
  void copy_to_host_background(void* dst, const void* src, std::size_t bytes) { copy_to_host(dst, src, bytes); }
  /// A counter that kernels of other threads' batches may be adding to: an atomic load here.
  std::uint64_t read_live_counter(unsigned long long* p, stream_view) {
    return std::atomic_ref<unsigned long long>(*p).load(std::memory_order_acquire);
  }
  void fill_background(void* p, int byte, std::size_t bytes) {
    if (p != nullptr) std::memset(p, byte, bytes);
  }
  std::shared_ptr<const void> upload(const void* src, std::size_t bytes) {
    std::shared_ptr<std::byte[]> copy(new std::byte[bytes]);
    std::memcpy(copy.get(), src, bytes);
    return std::shared_ptr<const void>(copy, copy.get());
  }
  // Host work is complete when a call returns: nothing to keep alive.
  void retain_until_complete(std::shared_ptr<const void>, stream_view) {}
  void synchronize(stream_view) {}
  void synchronize_all() {}
  void check_accessible(const void*, const char*) const {}

 protected:
  /// Splits [0, n) over the pool, about 8 ranges per thread within [min_grain, max_grain] keys;
  /// body(lo, hi, counts) serves one range; the counts are summed.
  template <class Body>
  outcome_counts over_ranges(std::size_t n, std::size_t min_grain, std::size_t max_grain, const Body& body) {
    outcome_counts total;
    std::mutex m;
    const std::size_t grain = std::clamp<std::size_t>(n / (pool_.threads() * 8), min_grain, max_grain);
    pool_.parallel_for(n, grain, [&](std::size_t lo, std::size_t hi) {
      outcome_counts local;
      body(lo, hi, local);
      std::lock_guard lock(m);
      total.merge(local);
    });
    return total;
  }

  /// A gated launch runs only while its gate is 0 (backend_impl.hpp, gated).
  static std::uint64_t gate_value(const unsigned long long* gate) {
    if (gate == nullptr) return 0;
    return std::atomic_ref<unsigned long long>(*const_cast<unsigned long long*>(gate)).load(std::memory_order_acquire);
  }
  /// What a launch whose gate was closed returns: nothing done, the gate's value.
  static outcome_counts closed_gate(std::uint64_t value) {
    outcome_counts r;
    r.gate = value;
    return r;
  }

  thread_pool pool_;
};

#if BELADY_HAVE_LOCKSTEP
/// The host executor with every per-key operation run as the cuda backend runs it: the lanes of a
/// tile of N in lockstep (lockstep_tile.hpp), keys in order within each worker's range. Tests
/// only (BELADY_HOST_EMULATE_TILE): it is about 1,000 times slower.
template <unsigned N>
class lockstep_executor : public host_executor {
 public:
  using host_executor::host_executor;

  template <class Op>
  outcome_counts run(std::size_t n, const Op& op, stream_view, bool /*count*/, const unsigned long long* gate = nullptr) {
    if (const std::uint64_t g = gate_value(gate); g != 0) return closed_gate(g);
    return over_ranges(n, 64, 4096, [&](std::size_t lo, std::size_t hi, outcome_counts& local) {
      static thread_local lockstep_group<N> group;  // its stacks are mapped once per thread
      std::uint64_t mismatches = 0;
      for (std::size_t i = lo; i < hi; ++i) {
        auto lane = [&](unsigned l) -> std::uint64_t { return op(lockstep_tile<N>{&group, l}, i); };
        local.add(group.run(lane, mismatches));
      }
      lockstep_result_mismatches().fetch_add(mismatches, std::memory_order_relaxed);
      lockstep_keys_served().fetch_add(hi - lo, std::memory_order_relaxed);
    });
  }
};
#endif

/// BELADY_HOST_EMULATE_TILE: unset or 0, the host path; 32, the device's tile emulated.
unsigned emulated_tile_lanes() {
  const char* v = std::getenv("BELADY_HOST_EMULATE_TILE");
  if (v == nullptr || *v == 0 || std::strcmp(v, "0") == 0) return 0;
  if (std::strcmp(v, "32") != 0)
    throw invalid_argument(std::string("belady: BELADY_HOST_EMULATE_TILE is \"") + v +
                           "\", expected 32 (the cuda backend's tile) or 0 (off)");
#if BELADY_HAVE_LOCKSTEP
  return 32;
#else
  throw backend_unavailable(
      "belady: BELADY_HOST_EMULATE_TILE is not available in this build (it needs glibc's ucontext fibers, and no "
      "sanitizer: the fibers switch stacks behind the sanitizer's back)");
#endif
}

}  // namespace

std::atomic<std::uint64_t>& lockstep_result_mismatches() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

std::atomic<std::uint64_t>& lockstep_keys_served() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

template <class Key>
std::unique_ptr<backend<Key>> make_host_backend(const table_shape& shape, std::uint32_t threads) {
#if BELADY_HAVE_LOCKSTEP
  if (emulated_tile_lanes() == 32) return std::make_unique<backend_impl<Key, lockstep_executor<32>>>(shape, threads);
#else
  (void)emulated_tile_lanes();  // throws when the variable asks for what this build lacks
#endif
  return std::make_unique<backend_impl<Key, host_executor>>(shape, threads);
}

template std::unique_ptr<backend<std::uint32_t>> make_host_backend<std::uint32_t>(const table_shape&, std::uint32_t);
template std::unique_ptr<backend<std::uint64_t>> make_host_backend<std::uint64_t>(const table_shape&, std::uint32_t);

}  // namespace belady::detail
