// Device staging for belady-bench through the CUDA runtime API (compiled by the host compiler;
// no kernels). Built only when CUDA::cudart exists.
#include <cuda_runtime_api.h>

#include <string>

#include "device_memory.hpp"

namespace belady_bench {
namespace {
void check(cudaError_t e, const char* call, std::size_t bytes) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();
  throw std::runtime_error(std::string("belady-bench: ") + call + " of " + std::to_string(bytes) +
                           " bytes failed: " + cudaGetErrorString(e));
}
}  // namespace

void* device_alloc(std::size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc", bytes);
  return p;
}
void device_free(void* p) noexcept { (void)cudaFree(p); }
void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (to device)", bytes);
}
void copy_to_host(void* dst, const void* src, std::size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (to host)", bytes);
}
void fill_device(void* dst, int byte, std::size_t bytes) {
  check(cudaMemset(dst, byte, bytes), "cudaMemset", bytes);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize after cudaMemset", bytes);
}

}  // namespace belady_bench
