// shared_alloc with the CUDA runtime: managed memory when a device answers, so the cuda backend
// can use the buffers and the test can read them on the host after a synchronous call. Without a
// device (the cuda tests skip then) it falls back to host memory so the host tests still run.
#include <cuda_runtime_api.h>

#include <new>

#include "support/device_buffer.hpp"

namespace belady_test {
namespace {

bool managed() noexcept {
  static const bool use = [] {
    int n = 0;
    const bool ok = cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
    if (!ok) (void)cudaGetLastError();
    return ok;
  }();
  return use;
}

}  // namespace

void* shared_alloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (!managed()) return ::operator new (bytes, std::align_val_t{64});
  void* p = nullptr;
  if (cudaMallocManaged(&p, bytes) != cudaSuccess) {
    (void)cudaGetLastError();
    throw std::bad_alloc();
  }
  return p;
}

void shared_free(void* p) noexcept {
  if (p == nullptr) return;
  if (!managed()) {
    ::operator delete (p, std::align_val_t{64});
    return;
  }
  (void)cudaDeviceSynchronize();
  (void)cudaFree(p);
}

void shared_sync() {
  if (managed()) (void)cudaDeviceSynchronize();
}

bool shared_memory_is_managed() noexcept { return managed(); }

}  // namespace belady_test
