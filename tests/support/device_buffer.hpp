#pragma once
// Memory that both the backend under test and the test's host code can read and write: managed
// memory when the tests link the CUDA runtime and a device answers, plain host memory otherwise.
// The tests are compiled by the host compiler alone, so no CUDA header appears here.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace belady_test {

/// Allocates `bytes` (at least 64-byte aligned; null for 0). Throws std::bad_alloc.
void* shared_alloc(std::size_t bytes);
void shared_free(void* p) noexcept;
/// Waits for all device work (a no-op without the CUDA runtime).
void shared_sync();
/// Whether shared_alloc hands out CUDA managed memory in this process.
[[nodiscard]] bool shared_memory_is_managed() noexcept;

/// A fixed-size, zero-initialised array in shared memory. Move-only.
template <class T>
class buffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  buffer() = default;
  explicit buffer(std::size_t n) : data_(static_cast<T*>(shared_alloc(n * sizeof(T)))), size_(n) {
    if (n != 0) std::memset(static_cast<void*>(data_), 0, n * sizeof(T));
  }
  buffer(std::size_t n, const T& fill) : buffer(n) { std::fill_n(data_, n, fill); }
  explicit buffer(const std::vector<T>& v) : buffer(v.size()) {
    if (!v.empty()) std::memcpy(static_cast<void*>(data_), v.data(), v.size() * sizeof(T));
  }
  buffer(std::initializer_list<T> v) : buffer(std::vector<T>(v)) {}
  ~buffer() { shared_free(data_); }
  buffer(buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  buffer& operator=(buffer&& o) noexcept {
    if (this != &o) {
      shared_free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;

  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] const T* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] T& operator[](std::size_t i) noexcept { return data_[i]; }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  [[nodiscard]] T* begin() noexcept { return data_; }
  [[nodiscard]] T* end() noexcept { return data_ + size_; }
  [[nodiscard]] const T* begin() const noexcept { return data_; }
  [[nodiscard]] const T* end() const noexcept { return data_ + size_; }

  [[nodiscard]] std::span<T> span() noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<const T> cspan() const noexcept { return {data_, size_}; }
  operator std::span<T>() noexcept { return span(); }               // NOLINT: like a container
  operator std::span<const T>() const noexcept { return cspan(); }  // NOLINT
  [[nodiscard]] std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace belady_test
