#pragma once
// Buffers for belady-bench that live where the measured backend reads them: host memory for the
// host backend, device memory (cudaMalloc) for the cuda backend. The device half is compiled only
// when the CUDA runtime is linked (BELADY_BENCH_HAVE_CUDART); the bench itself stays a g++ file.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

namespace belady_bench {

enum class memory { host, device };

#if defined(BELADY_BENCH_HAVE_CUDART)
inline constexpr bool have_cudart = true;
// device_memory_cuda.cpp; they throw std::runtime_error naming the CUDA call on failure.
void* device_alloc(std::size_t bytes);
void device_free(void* p) noexcept;
void copy_to_device(void* dst, const void* src, std::size_t bytes);
void copy_to_host(void* dst, const void* src, std::size_t bytes);
void fill_device(void* dst, int byte, std::size_t bytes);
#else
inline constexpr bool have_cudart = false;
[[noreturn]] inline void no_cudart() {
  throw std::runtime_error("belady-bench was built without the CUDA runtime (no CUDA::cudart target)");
}
inline void* device_alloc(std::size_t) { no_cudart(); }
inline void device_free(void*) noexcept {}
inline void copy_to_device(void*, const void*, std::size_t) { no_cudart(); }
inline void copy_to_host(void*, const void*, std::size_t) { no_cudart(); }
inline void fill_device(void*, int, std::size_t) { no_cudart(); }
#endif

/// An owning array of n trivially copyable T in host or device memory.
template <class T>
class buffer {
 public:
  buffer() = default;
  buffer(memory where, std::size_t n) : where_(where), n_(n) {
    if (n == 0) return;
    const std::size_t bytes = n * sizeof(T);
    if (where == memory::device) {
      data_ = static_cast<T*>(device_alloc(bytes));
      fill_device(data_, 0, bytes);
    } else {
      data_ = static_cast<T*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
      if (data_ == nullptr) throw std::bad_alloc();
      std::memset(static_cast<void*>(data_), 0, bytes);  // touch the pages outside any timing
    }
  }
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  buffer(buffer&& o) noexcept { swap(o); }
  buffer& operator=(buffer&& o) noexcept {
    buffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~buffer() {
    if (data_ == nullptr) return;
    if (where_ == memory::device)
      device_free(data_);
    else
      std::free(data_);
  }

  [[nodiscard]] T* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return n_; }
  [[nodiscard]] std::span<T> span(std::size_t count) const { return {data_, count}; }
  [[nodiscard]] std::span<T> span() const { return {data_, n_}; }

  /// Copies count host elements into [offset, offset + count).
  void upload(const T* src, std::size_t count, std::size_t offset = 0) {
    if (count == 0) return;
    if (where_ == memory::device)
      copy_to_device(data_ + offset, src, count * sizeof(T));
    else
      std::memcpy(static_cast<void*>(data_ + offset), src, count * sizeof(T));
  }
  /// Copies [offset, offset + count) out to host memory.
  void download(T* dst, std::size_t count, std::size_t offset = 0) const {
    if (count == 0) return;
    if (where_ == memory::device)
      copy_to_host(dst, data_ + offset, count * sizeof(T));
    else
      std::memcpy(static_cast<void*>(dst), data_ + offset, count * sizeof(T));
  }

 private:
  void swap(buffer& o) noexcept {
    std::swap(where_, o.where_);
    std::swap(data_, o.data_);
    std::swap(n_, o.n_);
  }
  memory where_ = memory::host;
  T* data_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace belady_bench
