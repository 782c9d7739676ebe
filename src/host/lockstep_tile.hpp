#pragma once
// The cuda backend's warp tile, emulated on the host: N lanes run one per-key operation in
// lockstep, as the N threads of a device_tile<N> (cuda/device_tile.cuh) do, so the cooperative
// code paths of include/belady/detail (lane-strided loops, ballots, shuffles, lane-0 writes) run
// and are tested on a machine without a GPU. The host backend uses it when the environment
// variable BELADY_HOST_EMULATE_TILE is 32 (src/host/host_backend.cpp; docs/architecture.md).
//
// Each lane is a fiber (ucontext) on the calling thread. A lane runs until it reaches a
// collective (ballot, shfl, shfl_xor, sync) or returns; when every lane has, the collective is
// resolved and they all go on. Lanes that reach different collectives (or shuffles of different
// widths), or where some return while others wait, would hang or misbehave on a GPU: the emulator
// stops the process with a message naming the lanes (a bug in the per-key code, not in the
// input). Between collectives the lanes run one after another, in ascending order for one key and
// descending for the next, so code that reads another lane's write without a sync() in between
// gets both orders. What it cannot show: on the device only sync() orders memory, here every
// collective does. About 300 to 1,000 times slower than the host path: for tests only.
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace belady::detail {

template <unsigned N>
class lockstep_group {
  static_assert(N >= 2 && N <= 32, "a tile has 2 to 32 lanes");

 public:
  enum class at : std::uint8_t { running, ballot, shfl_idx, shfl_xor, sync, done };

  // Each lane's stack sits above a page that faults: an overflow stops the process instead of
  // overwriting the next lane's stack.
  lockstep_group() : page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))) {
    const std::size_t bytes = N * (page_ + stack_bytes);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail("cannot map the lanes' stacks");
    stacks_ = static_cast<std::byte*>(p);
    for (unsigned l = 0; l < N; ++l)
      if (::mprotect(stacks_ + l * (page_ + stack_bytes), page_, PROT_NONE) != 0) fail("cannot protect a guard page");
  }
  ~lockstep_group() { ::munmap(stacks_, N * (page_ + stack_bytes)); }
  lockstep_group(const lockstep_group&) = delete;
  lockstep_group& operator=(const lockstep_group&) = delete;

  /// Runs fn(lane) on the N lanes in lockstep; returns lane 0's result (what the device counts).
  /// `mismatches` counts calls where the lanes returned different results.
  template <class Fn>
  std::uint32_t run(Fn& fn, std::uint64_t& mismatches) {
    fn_ = &fn;
    call_ = [](void* f, unsigned lane) { return (*static_cast<Fn*>(f))(lane); };
    for (unsigned l = 0; l < N; ++l) start_lane(l);
    const bool descending = (keys_++ & 1) != 0;
    for (;;) {
      for (unsigned k = 0; k < N; ++k) {
        const unsigned l = descending ? N - 1 - k : k;
        if (lanes_[l].where == at::done) continue;
        current() = this;
        if (swapcontext(&scheduler_, &lanes_[l].ctx) != 0) fail("swapcontext failed");
      }
      unsigned done = 0;
      for (unsigned l = 0; l < N; ++l) done += lanes_[l].where == at::done;
      if (done == N) break;
      if (done != 0) diverged("some lanes returned while others wait at a collective");
      const at kind = lanes_[0].where;
      for (unsigned l = 1; l < N; ++l) {
        if (lanes_[l].where != kind) diverged("lanes wait at different collectives");
        if (lanes_[l].width != lanes_[0].width) diverged("lanes shuffle values of different widths");
      }
      resolve(kind);
    }
    for (unsigned l = 1; l < N; ++l) mismatches += lanes_[l].result != lanes_[0].result;
    return static_cast<std::uint32_t>(lanes_[0].result);
  }

  /// Called by lane `lane` at a collective: waits until every lane is there, returns its share.
  std::uint64_t exchange(unsigned lane, at kind, std::uint64_t value, unsigned arg, unsigned width = 0) {
    lane_state& s = lanes_[lane];
    s.where = kind;
    s.value = value;
    s.arg = arg;
    s.width = width;
    if (swapcontext(&s.ctx, &scheduler_) != 0) fail("swapcontext failed");
    return s.result;
  }

 private:
  // The per-key code keeps a few small arrays on its stack; a lane never needs more than this.
  static constexpr std::size_t stack_bytes = 128 * 1024;

  struct lane_state {
    ucontext_t ctx;
    at where = at::done;
    std::uint64_t value = 0;
    unsigned arg = 0;
    unsigned width = 0;  // bytes a shuffle moves
    std::uint64_t result = 0;
  };

  // Out of line: getcontext returns twice as far as the compiler knows (it never does here), which
  // would make it warn about every local of the caller.
  __attribute__((noinline)) void start_lane(unsigned l) {
    lane_state& s = lanes_[l];
    s.where = at::running;
    if (getcontext(&s.ctx) != 0) fail("getcontext failed");
    s.ctx.uc_stack.ss_sp = stacks_ + l * (page_ + stack_bytes) + page_;
    s.ctx.uc_stack.ss_size = stack_bytes;
    s.ctx.uc_link = &scheduler_;
    makecontext(&s.ctx, reinterpret_cast<void (*)()>(&lockstep_group::entry), 1, static_cast<int>(l));
  }

  static lockstep_group*& current() {
    static thread_local lockstep_group* g = nullptr;
    return g;
  }

  static void entry(int lane) noexcept {
    lockstep_group* g = current();
    lane_state& s = g->lanes_[lane];
    try {
      s.result = g->call_(g->fn_, static_cast<unsigned>(lane));
    } catch (...) {
      fail("a lane threw (per-key code runs on a GPU too, where nothing may throw)");
    }
    s.where = at::done;
    // Returning resumes uc_link: the scheduler.
  }

  void resolve(at kind) {
    std::uint64_t mask = 0;  // a ballot's answer, the same for every lane
    if (kind == at::ballot)
      for (unsigned k = 0; k < N; ++k) mask |= (lanes_[k].value != 0 ? std::uint64_t{1} : 0) << k;
    std::uint64_t out[N];
    for (unsigned l = 0; l < N; ++l) {
      switch (kind) {
        case at::ballot:
          out[l] = mask;
          break;
        case at::shfl_idx:
        case at::shfl_xor:
          if (lanes_[l].arg >= N) diverged("a shuffle reads a lane outside the tile");
          out[l] = lanes_[lanes_[l].arg].value;
          break;
        default:
          out[l] = 0;
      }
    }
    for (unsigned l = 0; l < N; ++l) {
      lanes_[l].result = out[l];
      lanes_[l].where = at::running;
    }
  }

  [[noreturn]] void diverged(const char* what) {
    std::fprintf(stderr, "belady: emulated tile of %u lanes: %s:", N, what);
    for (unsigned l = 0; l < N; ++l) std::fprintf(stderr, " %u:%s", l, name(lanes_[l].where));
    std::fprintf(stderr, "\n");
    std::abort();  // fibers cannot be unwound; on a GPU this would hang or corrupt
  }
  [[noreturn]] static void fail(const char* what) {
    std::fprintf(stderr, "belady: emulated tile: %s\n", what);
    std::abort();
  }
  static const char* name(at a) {
    switch (a) {
      case at::running: return "running";
      case at::ballot: return "ballot";
      case at::shfl_idx: return "shfl";
      case at::shfl_xor: return "shfl_xor";
      case at::sync: return "sync";
      case at::done: return "returned";
    }
    return "?";
  }

  ucontext_t scheduler_{};
  lane_state lanes_[N];
  std::size_t page_;
  std::byte* stacks_ = nullptr;
  std::uint64_t keys_ = 0;
  void* fn_ = nullptr;
  std::uint64_t (*call_)(void*, unsigned) = nullptr;
};

/// One lane's view of the group: the tile interface of include/belady/detail/tile.hpp.
template <unsigned N>
struct lockstep_tile {
  using group = lockstep_group<N>;
  static constexpr std::uint32_t size = N;
  group* g;
  std::uint32_t lane;

  [[nodiscard]] std::uint32_t rank() const { return lane; }
  [[nodiscard]] std::uint32_t ballot(bool p) const {
    return static_cast<std::uint32_t>(g->exchange(lane, group::at::ballot, p ? 1 : 0, 0));
  }
  template <class T>
  [[nodiscard]] T shfl(T v, std::uint32_t src) const {
    return from_word<T>(g->exchange(lane, group::at::shfl_idx, to_word(v), src, sizeof(T)));
  }
  template <class T>
  [[nodiscard]] T shfl_xor(T v, std::uint32_t mask) const {
    return from_word<T>(g->exchange(lane, group::at::shfl_xor, to_word(v), lane ^ mask, sizeof(T)));
  }
  void sync() const { (void)g->exchange(lane, group::at::sync, 0, 0); }
  /// As device_tile::copy: the lanes split the value into 16-byte, 4-byte or single-byte words.
  void copy(std::byte* dst, const std::byte* src, std::size_t bytes) const {
    if (dst == src) return;
    const auto bits = reinterpret_cast<std::uintptr_t>(dst) | reinterpret_cast<std::uintptr_t>(src) | bytes;
    const std::size_t word = (bits & 15) == 0 ? 16 : (bits & 3) == 0 ? 4 : 1;
    for (std::size_t w = lane; w < bytes / word; w += N) std::memcpy(dst + w * word, src + w * word, word);
  }

 private:
  template <class T>
  static std::uint64_t to_word(const T& v) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "a shuffle moves one word");
    std::uint64_t w = 0;
    std::memcpy(&w, &v, sizeof v);
    return w;
  }
  template <class T>
  static T from_word(std::uint64_t w) {
    T v;
    std::memcpy(&v, &w, sizeof v);
    return v;
  }
};

}  // namespace belady::detail
