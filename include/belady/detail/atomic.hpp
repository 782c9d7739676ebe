#pragma once
// One thin atomic wrapper for all per-key code: libcu++'s cuda::atomic_ref when nvcc compiles
// (host and device passes alike), std::atomic_ref otherwise, so a host-only consumer needs no
// CUDA toolkit and ThreadSanitizer sees ordinary C++20 atomics.
#include <cstdint>

#include "belady/detail/macros.hpp"

#if BELADY_DEVICE_COMPILE
#include <cuda/atomic>
#else
#include <atomic>
#include <thread>
#endif

namespace belady::detail {

#if BELADY_DEVICE_COMPILE
template <class T>
using atomic_ref = cuda::atomic_ref<T, cuda::thread_scope_device>;
namespace mo = cuda::std;
#else
template <class T>
using atomic_ref = std::atomic_ref<T>;
namespace mo = std;
#endif

template <class T>
BELADY_HD BELADY_INLINE T load_relaxed(T& obj) {
  return atomic_ref<T>(obj).load(mo::memory_order_relaxed);
}

template <class T>
BELADY_HD BELADY_INLINE void store_relaxed(T& obj, T value) {
  atomic_ref<T>(obj).store(value, mo::memory_order_relaxed);
}

/// Raises a flag the host polls (a word of host memory the device can write: mapped pinned
/// memory on the cuda backend), after every earlier write of this thread, to device memory too,
/// is visible system-wide: the host, seeing the flag, may read what those writes stored.
BELADY_HD BELADY_INLINE void raise_host_flag(std::uint32_t& flag) {
#if BELADY_DEVICE_COMPILE
  cuda::atomic_ref<std::uint32_t, cuda::thread_scope_system>(flag).store(1u, cuda::std::memory_order_release);
#else
  std::atomic_ref<std::uint32_t>(flag).store(1u, std::memory_order_release);
#endif
}

/// Pause inside a spin loop: a short sleep on the device, a yield on the host so a preempted
/// lock holder can run (the host backend may have more threads than cores).
BELADY_HD BELADY_INLINE void spin_pause(std::uint32_t attempt) {
#if BELADY_ON_DEVICE
  __nanosleep(attempt < 8 ? 32u : 256u);
#elif BELADY_DEVICE_COMPILE
  (void)attempt;
#else
  if (attempt > 16) std::this_thread::yield();
#endif
}

}  // namespace belady::detail
