#pragma once
// CUDA error checking: every runtime call and launch goes through BELADY_CUDA_TRY.
#include <cuda_runtime_api.h>

#include <string>

#include "belady/error.hpp"

namespace belady::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  throw cuda_error(std::string("belady: CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                   ") in " + call + " at " + file + ":" + std::to_string(line));
}

}  // namespace belady::detail

#define BELADY_CUDA_TRY(call)                                                         \
  do {                                                                                \
    const cudaError_t belady_err_ = (call);                                           \
    if (belady_err_ != cudaSuccess) {                                                 \
      (void)cudaGetLastError();                                                       \
      ::belady::detail::throw_cuda_error(belady_err_, #call, __FILE__, __LINE__);     \
    }                                                                                 \
  } while (0)
