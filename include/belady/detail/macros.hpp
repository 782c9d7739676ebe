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

// A hint that the line holding `p` will be read soon: lets the host overlap the cache misses of
// independent loads that a long loop body would otherwise serialise. The device hides latency by
// running other warps instead, so there it does nothing.
#if BELADY_ON_DEVICE || !defined(__GNUC__)
#define BELADY_PREFETCH(p) ((void)(p))
#else
#define BELADY_PREFETCH(p) __builtin_prefetch(p)
#endif
