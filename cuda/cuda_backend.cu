// The cuda backend: the per-key functors of belady/detail/ops.hpp launched as kernels, one warp
// tile per key, on the caller's stream.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

#include "core/backend_impl.hpp"
#include "cuda_check.cuh"
#include "device_tile.cuh"

namespace belady::detail {
namespace {

constexpr unsigned tile_threads = 32;
constexpr unsigned block_threads = 256;

template <class Op>
__device__ __forceinline__ void for_each_body(const Op& op, std::size_t n, unsigned long long* counts,
                                              const unsigned long long* gate) {
  // A gated launch (backend_impl.hpp, gated) does nothing once its key check has counted a
  // reserved key: the check ran before it on the stream, so every thread reads the same word,
  // and the whole grid leaves before its first barrier. The gate goes back to the host with the
  // counts (the word after them), in the one copy a synchronous call makes.
  const unsigned long long closed = gate != nullptr ? *gate : 0ull;
  if (closed != 0) {
    if (counts != nullptr && blockIdx.x == 0 && threadIdx.x == 0) counts[outcome_kinds] = closed;
    return;
  }
  namespace cg = cooperative_groups;
  const device_tile<tile_threads> t{cg::tiled_partition<tile_threads>(cg::this_thread_block())};
  __shared__ unsigned long long block_counts[outcome_kinds];
  if (threadIdx.x < outcome_kinds) block_counts[threadIdx.x] = 0;
  __syncthreads();
  const std::size_t tiles_per_block = blockDim.x / tile_threads;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * tiles_per_block;
  for (std::size_t i = blockIdx.x * tiles_per_block + threadIdx.x / tile_threads; i < n; i += stride) {
    const std::uint32_t flags = op(t, i);
    if (counts != nullptr && t.rank() == 0 && flags != 0)
      for (int k = 0; k < outcome_kinds; ++k)
        if ((flags >> k) & 1u) atomicAdd(&block_counts[k], 1ull);
  }
  __syncthreads();
  if (counts != nullptr && threadIdx.x < outcome_kinds && block_counts[threadIdx.x] != 0)
    atomicAdd(&counts[threadIdx.x], block_counts[threadIdx.x]);
}

template <class Op>
__global__ void __launch_bounds__(block_threads)
    for_each_kernel(Op op, std::size_t n, unsigned long long* counts, const unsigned long long* gate) {
  for_each_body(op, n, counts, gate);
}

/// The same, for an op that must fit two blocks per SM. Left to itself, ptxas gives the learned
/// policy's write (model evaluation and feature arithmetic) 168 registers on sm_90: one block of
/// 256 threads per SM, 8 warps to hide the table's memory latency. Two blocks cap it at 128
/// registers for 20 bytes of spill. (A separate kernel: naming a minimum of 1 block for the
/// others is not the same as naming none; ptxas then gives the other writes 80 registers
/// instead of 64. `nvcc --resource-usage`; docs/architecture.md, "Known costs of the cuda backend".)
template <class Op>
__global__ void __launch_bounds__(block_threads, 2)
    for_each_kernel_two_per_sm(Op op, std::size_t n, unsigned long long* counts, const unsigned long long* gate) {
  for_each_body(op, n, counts, gate);
}

template <class Op>
struct two_blocks_per_sm : std::false_type {};
template <class Key>
struct two_blocks_per_sm<write_op<Key, true>> : std::true_type {};

template <class Op>
using kernel_fn = void (*)(Op, std::size_t, unsigned long long*, const unsigned long long*);

template <class Op>
kernel_fn<Op> kernel_for() {
  if constexpr (two_blocks_per_sm<Op>::value) return for_each_kernel_two_per_sm<Op>;
  else return for_each_kernel<Op>;
}

/// Makes `device` current for the scope of a call, restoring the caller's device after.
class device_scope {
 public:
  explicit device_scope(int device) {
    BELADY_CUDA_TRY(cudaGetDevice(&previous_));
    if (previous_ != device) BELADY_CUDA_TRY(cudaSetDevice(device));
  }
  ~device_scope() {
    int current = previous_;
    if (cudaGetDevice(&current) == cudaSuccess && current != previous_) (void)cudaSetDevice(previous_);
  }
  device_scope(const device_scope&) = delete;
  device_scope& operator=(const device_scope&) = delete;

 private:
  int previous_ = 0;
};

/// Runs `f` with `device` current and restores the caller's device; CUDA errors are ignored and
/// cleared. For destructors and deleters, which must not throw: at process exit the runtime may
/// already be unloading (cudaErrorCudartUnloading).
template <class F>
void on_device_noexcept(int device, F&& f) noexcept {
  int previous = -1;
  (void)cudaGetDevice(&previous);
  if (previous != device) (void)cudaSetDevice(device);
  f();
  if (previous >= 0 && previous != device) (void)cudaSetDevice(previous);
  (void)cudaGetLastError();
}

/// Words of pinned host memory of the calling thread, for reading counters back (null when the
/// allocation failed: the caller then reads into its own memory). A copy to pageable memory
/// goes through a staging buffer of the driver's, a second copy on the path of every
/// synchronous call. Allocated once per host thread that calls the cache, portable across
/// devices, freed when the thread exits.
constexpr std::size_t pinned_readback_words = 16;
unsigned long long* pinned_readback() {
  struct owner {
    unsigned long long* words = nullptr;
    bool tried = false;
    ~owner() {
      if (words != nullptr) (void)cudaFreeHost(words);  // at process exit the runtime may be gone: ignored
      words = nullptr;  // a call from a later destructor of this thread reads into its own memory
    }
  };
  static thread_local owner o;
  if (!o.tried) {
    o.tried = true;
    void* p = nullptr;
    if (cudaHostAlloc(&p, pinned_readback_words * sizeof(unsigned long long), cudaHostAllocPortable) == cudaSuccess)
      o.words = static_cast<unsigned long long*>(p);
    else
      (void)cudaGetLastError();
  }
  return o.words;
}

/// Copies `words` device words to `out` on `s` and synchronizes `s`, through the calling
/// thread's pinned words when they fit (pinned_readback).
void read_words(unsigned long long* out, const unsigned long long* src, std::size_t words, cudaStream_t s) {
  const std::size_t bytes = words * sizeof(unsigned long long);
  unsigned long long* pinned = words <= pinned_readback_words ? pinned_readback() : nullptr;
  BELADY_CUDA_TRY(cudaMemcpyAsync(pinned != nullptr ? pinned : out, src, bytes, cudaMemcpyDeviceToHost, s));
  BELADY_CUDA_TRY(cudaStreamSynchronize(s));
  if (pinned != nullptr) std::memcpy(out, pinned, bytes);
}

/// A few device words for one call (counters), stream-ordered, from the executor's pool.
class device_words {
 public:
  device_words(std::size_t words, cudaStream_t s, int device, cudaMemPool_t pool)
      : stream_(s), words_(words), device_(device) {
    device_scope scope(device_);
    BELADY_CUDA_TRY(
        cudaMallocFromPoolAsync(reinterpret_cast<void**>(&ptr_), words * sizeof(unsigned long long), pool, s));
    const cudaError_t e = cudaMemsetAsync(ptr_, 0, words * sizeof(unsigned long long), s);
    if (e != cudaSuccess) {  // the destructor does not run for a throwing constructor
      (void)cudaFreeAsync(ptr_, s);
      BELADY_CUDA_TRY(e);
    }
  }
  ~device_words() {
    if (ptr_ == nullptr) return;
    // The cache's device, not the caller's: the null stream means the current device's stream.
    on_device_noexcept(device_, [&] { (void)cudaFreeAsync(ptr_, stream_); });
  }
  device_words(device_words&& o) noexcept : stream_(o.stream_), words_(o.words_), device_(o.device_), ptr_(o.ptr_) {
    o.ptr_ = nullptr;
  }
  device_words(const device_words&) = delete;
  device_words& operator=(const device_words&) = delete;
  device_words& operator=(device_words&&) = delete;

  unsigned long long* ptr() { return ptr_; }
  /// Copies the words to the host; synchronizes the stream.
  void read(unsigned long long* out) const { copy_out(out, words_); }
  /// The first word; synchronizes the stream.
  [[nodiscard]] std::uint64_t read() const {
    unsigned long long v = 0;
    copy_out(&v, 1);
    return v;
  }

 private:
  void copy_out(unsigned long long* out, std::size_t words) const {
    device_scope scope(device_);
    read_words(out, ptr_, words, stream_);
  }

  cudaStream_t stream_;
  std::size_t words_;
  int device_;
  unsigned long long* ptr_ = nullptr;
};

cudaStream_t native(stream_view s) { return reinterpret_cast<cudaStream_t>(s.value()); }

class cuda_executor {
 public:
  static constexpr belady::backend kind = belady::backend::cuda;

  explicit cuda_executor(int device) : device_(device) {
    device_scope scope(device_);
    BELADY_CUDA_TRY(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));
    // The per-call counters and the models' parameters come from a pool of the cache's own.
    // The device's default pool releases its unused memory at every synchronization (release
    // threshold 0), so each synchronous call would map and unmap its counters' memory again. This
    // pool keeps what it has (threshold: no limit); it only ever holds a few counters and the
    // kept models' parameters, kilobytes. (Not the default pool's threshold: that pool is the
    // application's.)
    int pools = 0;
    BELADY_CUDA_TRY(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device_));
    if (pools == 0)
      throw backend_unavailable("belady: device " + std::to_string(device_) +
                                " does not support stream-ordered memory pools (cudaDevAttrMemoryPoolsSupported), "
                                "which the cuda backend needs");
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device_;
    BELADY_CUDA_TRY(cudaMemPoolCreate(&pool_, &props));
    std::uint64_t keep = ~std::uint64_t{0};
    const cudaError_t e = cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep);
    if (e != cudaSuccess) {
      (void)cudaMemPoolDestroy(pool_);
      BELADY_CUDA_TRY(e);
    }
  }

  void* allocate(std::size_t bytes, const char* what) {
    if (bytes == 0) return nullptr;
    device_scope scope(device_);
    std::size_t free_bytes = 0, total_bytes = 0;
    BELADY_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (bytes > free_bytes)
      throw out_of_memory("belady: device allocation of " + std::to_string(bytes) + " bytes for " + what +
                              " exceeds the " + std::to_string(free_bytes) + " bytes free on device " +
                              std::to_string(device_) + " (" + std::to_string(total_bytes) + " in all)",
                          bytes, free_bytes);
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw out_of_memory("belady: cudaMalloc of " + std::to_string(bytes) + " bytes for " + what + " failed",
                          bytes, free_bytes);
    }
    BELADY_CUDA_TRY(e);
    return p;
  }
  void deallocate(void* p) noexcept {
    if (p == nullptr) return;
    free_on(device_, p);
  }

  /// cudaFree on `device`; at process exit the runtime may already be unloading
  /// (cudaErrorCudartUnloading): ignored.
  static void free_on(int device, void* p) noexcept {
    on_device_noexcept(device, [&] { (void)cudaFree(p); });
  }
  void fill(void* p, int byte, std::size_t bytes) {
    if (p == nullptr) return;
    device_scope scope(device_);
    BELADY_CUDA_TRY(cudaMemset(p, byte, bytes));
    BELADY_CUDA_TRY(cudaDeviceSynchronize());
  }

  template <class Op>
  outcome_counts run(std::size_t n, const Op& op, stream_view s, bool count, const unsigned long long* gate = nullptr) {
    outcome_counts result;
    if (n == 0) return result;
    device_scope scope(device_);
    const cudaStream_t stream = native(s);
    const std::size_t tiles_per_block = block_threads / tile_threads;
    const std::size_t wanted = (n + tiles_per_block - 1) / tiles_per_block;
    const unsigned blocks =
        static_cast<unsigned>(std::min<std::size_t>(wanted, std::size_t(sm_count_) * resident_blocks<Op>()));
    (void)cudaGetLastError();  // a stale error from an ignored call must not be blamed on this launch
    const kernel_fn<Op> kernel = kernel_for<Op>();
    if (!count) {
      kernel<<<blocks, block_threads, 0, stream>>>(op, n, nullptr, gate);
      BELADY_CUDA_TRY(cudaGetLastError());
      return result;
    }
    // The counts, then the gate's value when it was closed (for_each_body).
    device_words counts(outcome_kinds + 1, stream, device_, pool_);
    kernel<<<blocks, block_threads, 0, stream>>>(op, n, counts.ptr(), gate);
    BELADY_CUDA_TRY(cudaGetLastError());
    unsigned long long host_counts[outcome_kinds + 1] = {};
    counts.read(host_counts);
    for (int k = 0; k < outcome_kinds; ++k) result.count[k] = host_counts[k];
    result.gate = host_counts[outcome_kinds];
    return result;
  }

  device_words make_counter(stream_view s) {
    device_scope scope(device_);
    return device_words(1, native(s), device_, pool_);
  }

  /// A device counter that kernels on other streams may be adding to, copied on `s`, which the
  /// caller has just synchronized (so the copy waits for nothing else; not the background
  /// stream, where it could wait behind the trainer's copies).
  std::uint64_t read_live_counter(unsigned long long* p, stream_view s) {
    device_scope scope(device_);
    unsigned long long v = 0;
    read_words(&v, p, 1, native(s));
    return v;
  }

  /// A word of pinned host memory mapped into the device's address space: kernels raise it with
  /// a system-scope store (raise_host_flag), the host polls it with a load, no copy and no
  /// synchronization (the rejected keys of `_async` calls, backend_impl.hpp).
  host_flag make_host_flag() {
    device_scope scope(device_);
    void* p = nullptr;
    BELADY_CUDA_TRY(cudaHostAlloc(&p, sizeof(std::uint32_t), cudaHostAllocMapped | cudaHostAllocPortable));
    *static_cast<std::uint32_t*>(p) = 0;
    void* d = nullptr;
    const cudaError_t e = cudaHostGetDevicePointer(&d, p, 0);
    if (e != cudaSuccess) {
      (void)cudaFreeHost(p);
      BELADY_CUDA_TRY(e);
    }
    return {static_cast<std::uint32_t*>(p), static_cast<std::uint32_t*>(d)};
  }
  void free_host_flag(host_flag f) noexcept {
    if (f.host == nullptr) return;
    on_device_noexcept(device_, [&] { (void)cudaFreeHost(f.host); });
  }

  void copy_to_host(void* dst, const void* src, std::size_t bytes) {
    device_scope scope(device_);
    BELADY_CUDA_TRY(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
  }

  void copy_from_host(void* dst, const void* src, std::size_t bytes) {
    if (bytes == 0) return;
    device_scope scope(device_);
    BELADY_CUDA_TRY(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
  }

  /// The online trainer's device work (draining sampled events) runs on a stream of the lowest
  /// priority, created on first use, so it never delays the cache's kernels; it waits only for
  /// that stream.
  void copy_to_host_background(void* dst, const void* src, std::size_t bytes) {
    if (bytes == 0) return;
    device_scope scope(device_);
    const cudaStream_t s = background_stream();
    BELADY_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
    BELADY_CUDA_TRY(cudaStreamSynchronize(s));
  }
  void fill_background(void* p, int byte, std::size_t bytes) {
    if (p == nullptr) return;
    device_scope scope(device_);
    const cudaStream_t s = background_stream();
    BELADY_CUDA_TRY(cudaMemsetAsync(p, byte, bytes, s));
    BELADY_CUDA_TRY(cudaStreamSynchronize(s));
  }

  /// A model's parameters on the device, for a swap under load. Nothing here waits for the
  /// cache's kernels: the memory comes stream-ordered from the cache's pool and is copied on a
  /// non-blocking stream of its own (cudaMalloc, and a copy on the legacy default stream, would
  /// wait for kernels in flight on the callers' streams), and the deleter frees it with
  /// cudaFreeAsync (cudaFree synchronizes the whole device). The deleter runs once no batch
  /// holds the model any more (retain_until_complete), so no kernel reads the memory then.
  std::shared_ptr<const void> upload(const void* src, std::size_t bytes) {
    device_scope scope(device_);
    const cudaStream_t s = upload_stream();
    void* p = nullptr;
    const cudaError_t a = cudaMallocFromPoolAsync(&p, bytes, pool_, s);
    if (a == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw out_of_memory("belady: device allocation of " + std::to_string(bytes) +
                              " bytes for model parameters failed on device " + std::to_string(device_),
                          bytes, 0);
    }
    BELADY_CUDA_TRY(a);
    cudaError_t e = cudaMemcpyAsync(p, src, bytes, cudaMemcpyHostToDevice, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) {
      (void)cudaFreeAsync(p, s);
      BELADY_CUDA_TRY(e);
    }
    // Self-contained deleter: a model may outlive the cache that uploaded it (and its pool and
    // stream: a pool with allocations outstanding is released only once they are freed).
    const int device = device_;
    return std::shared_ptr<const void>(p, [device](const void* q) { free_async_on(device, const_cast<void*>(q)); });
  }

  /// cudaFreeAsync on `device`, ordered on the calling thread's default stream (a stream that
  /// always exists); errors ignored, as in free_on.
  static void free_async_on(int device, void* p) noexcept {
    on_device_noexcept(device, [&] { (void)cudaFreeAsync(p, cudaStreamPerThread); });
  }

  /// Keeps `pinned` until an event recorded now on `s` has completed, so a swapped-out model's
  /// weights outlive every kernel that reads them. (Not a host callback: releasing the last
  /// reference frees device memory, and callbacks must not call the CUDA API.) Completed entries
  /// are released on later calls and at destruction.
  void retain_until_complete(std::shared_ptr<const void> pinned, stream_view s) {
    if (!pinned) return;
    device_scope scope(device_);
    release_completed();
    cudaEvent_t done = nullptr;
    BELADY_CUDA_TRY(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    const cudaError_t e = cudaEventRecord(done, native(s));
    if (e != cudaSuccess) {
      (void)cudaEventDestroy(done);
      BELADY_CUDA_TRY(e);
    }
    std::lock_guard lock(pinned_mutex_);
    pinned_.push_back({done, std::move(pinned)});
  }

  ~cuda_executor() {
    // Not device_scope, which throws: at process exit the runtime may be unloading.
    on_device_noexcept(device_, [&] {
      for (const cudaStream_t own : {background_, upload_}) {
        if (own == nullptr) continue;
        (void)cudaStreamSynchronize(own);
        (void)cudaStreamDestroy(own);
      }
      {
        std::lock_guard lock(pinned_mutex_);
        for (auto& p : pinned_) {
          (void)cudaEventSynchronize(p.done);
          (void)cudaEventDestroy(p.done);
        }
        pinned_.clear();
      }
      // A pool whose frees have not all completed is released by the runtime once they have
      // (cudaMemPoolDestroy's contract): no wait for the caller's streams here.
      (void)cudaMemPoolDestroy(pool_);
    });
  }

  cuda_executor(const cuda_executor&) = delete;
  cuda_executor& operator=(const cuda_executor&) = delete;

  void synchronize(stream_view s) {
    device_scope scope(device_);
    BELADY_CUDA_TRY(cudaStreamSynchronize(native(s)));
    release_completed();
  }

  /// Waits for every stream of the cache's device (work on non-blocking streams included).
  void synchronize_all() {
    device_scope scope(device_);
    BELADY_CUDA_TRY(cudaDeviceSynchronize());
    release_completed();
  }

  void check_accessible(const void* p, const char* name) const {
    cudaPointerAttributes attr{};
    const cudaError_t e = cudaPointerGetAttributes(&attr, p);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      throw invalid_argument(std::string("belady: ") + name + ": pointer not usable by the cuda backend (" +
                             cudaGetErrorString(e) + ")");
    }
    if (attr.type == cudaMemoryTypeDevice && attr.device != device_)
      throw invalid_argument(std::string("belady: ") + name + ": memory of device " + std::to_string(attr.device) +
                             " passed to a cache on device " + std::to_string(device_));
    if (attr.type == cudaMemoryTypeUnregistered)
      throw invalid_argument(std::string("belady: ") + name +
                             ": pageable host memory passed to the cuda backend; pass device, managed or "
                             "pinned host memory");
  }

 private:
  /// Blocks of the kernel of Op one SM holds at once (from the kernel's registers and shared
  /// memory): the grid is that many per SM, and its tiles stride over the batch, so every block
  /// is resident from the start. Asked once per op type and device.
  template <class Op>
  unsigned resident_blocks() const {
    constexpr int max_devices = 64;
    static std::atomic<unsigned> known[max_devices] = {};
    const bool cacheable = device_ >= 0 && device_ < max_devices;
    if (cacheable) {
      const unsigned k = known[device_].load(std::memory_order_relaxed);
      if (k != 0) return k;
    }
    int per_sm = 0;
    (void)cudaGetLastError();  // the query may return a stale error of an earlier launch
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel_for<Op>(), block_threads, 0) != cudaSuccess ||
        per_sm < 1) {
      (void)cudaGetLastError();
      return 1;  // not cached: asked again next time (a launch failure is reported by the launch)
    }
    const unsigned blocks = static_cast<unsigned>(per_sm);
    if (cacheable) known[device_].store(blocks, std::memory_order_relaxed);
    return blocks;
  }

  void release_completed() {
    std::lock_guard lock(pinned_mutex_);
    while (!pinned_.empty() && cudaEventQuery(pinned_.front().done) == cudaSuccess) {
      (void)cudaEventDestroy(pinned_.front().done);
      pinned_.pop_front();
    }
    (void)cudaGetLastError();  // cudaErrorNotReady from the query is not an error here
  }

  /// The stream model uploads are copied on: non-blocking, so that it never waits for the
  /// legacy default stream (created once; callers hold device_scope).
  cudaStream_t upload_stream() {
    std::lock_guard lock(background_mutex_);
    if (upload_ == nullptr) BELADY_CUDA_TRY(cudaStreamCreateWithFlags(&upload_, cudaStreamNonBlocking));
    return upload_;
  }

  /// The lowest-priority stream of the device (created once; callers hold device_scope).
  cudaStream_t background_stream() {
    std::lock_guard lock(background_mutex_);
    if (background_ == nullptr) {
      int least = 0, greatest = 0;  // numerically: least >= greatest; greatest is the highest priority
      BELADY_CUDA_TRY(cudaDeviceGetStreamPriorityRange(&least, &greatest));
      BELADY_CUDA_TRY(cudaStreamCreateWithPriority(&background_, cudaStreamNonBlocking, least));
    }
    return background_;
  }

  struct pinned_entry {
    cudaEvent_t done;
    std::shared_ptr<const void> object;
  };
  std::mutex background_mutex_;  // also guards upload_
  cudaStream_t background_ = nullptr;
  cudaStream_t upload_ = nullptr;
  int device_;
  int sm_count_ = 1;
  std::mutex pinned_mutex_;
  std::deque<pinned_entry> pinned_;
  cudaMemPool_t pool_ = nullptr;
};

}  // namespace

bool cuda_device_available(int device) noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return device >= 0 && device < count;
}

std::string cuda_unavailable_reason(int device) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string("no usable CUDA device: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  }
  if (device < 0 || device >= count)
    return "device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " device(s))";
  return {};
}

template <class Key>
std::unique_ptr<backend<Key>> make_cuda_backend(const table_shape& shape, int device) {
  return std::make_unique<backend_impl<Key, cuda_executor>>(shape, device);
}

template std::unique_ptr<backend<std::uint32_t>> make_cuda_backend<std::uint32_t>(const table_shape&, int);
template std::unique_ptr<backend<std::uint64_t>> make_cuda_backend<std::uint64_t>(const table_shape&, int);

}  // namespace belady::detail

namespace belady {
bool cuda_backend_built() noexcept { return true; }
bool cuda_backend_available(int device) noexcept { return detail::cuda_device_available(device); }
}  // namespace belady
