#pragma once
// Per-key logic is written once and compiled twice: by nvcc for the cuda backend and by the host
// compiler for the host backend. BELADY_HD marks that code.
#if defined(__CUDACC__)
#define BELADY_HD __host__ __device__
#define BELADY_DEVICE_COMPILE 1
#else
#define BELADY_HD
#define BELADY_DEVICE_COMPILE 0
#endif

#if defined(__CUDA_ARCH__)
#define BELADY_ON_DEVICE 1
#else
#define BELADY_ON_DEVICE 0
#endif

#if defined(__GNUC__)
#define BELADY_INLINE inline __attribute__((always_inline))
#else
#define BELADY_INLINE inline
#endif
