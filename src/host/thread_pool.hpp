#pragma once
// A small fork-join pool for the host backend. Several application threads may call
// parallel_for at once: each call is a job that the caller works on itself while idle workers
// help, so a call never waits for a worker to become free (and cannot deadlock).
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace belady::detail {

class thread_pool {
 public:
  /// `threads` counts the caller: 1 means no workers (sequential, deterministic order).
  explicit thread_pool(unsigned threads);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  [[nodiscard]] unsigned threads() const noexcept { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls body(lo, hi) over [0, n) in chunks of `grain`; returns when all chunks are done.
  /// Exceptions from body are not allowed (per-key code does not throw).
  void parallel_for(std::size_t n, std::size_t grain,
                    const std::function<void(std::size_t, std::size_t)>& body);

 private:
  struct job;
  void worker_loop();
  static void run_chunks(job& j);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job*> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace belady::detail
