#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>

namespace belady::detail {

struct thread_pool::job {
  const std::function<void(std::size_t, std::size_t)>* body;
  std::size_t n;
  std::size_t grain;
  std::size_t chunks;
  std::atomic<std::size_t> next{0};
  // Threads working on this job (the caller included); guarded by `m`. The caller may destroy
  // the job only once it has left the queue and no worker holds it.
  std::size_t users = 1;
  std::mutex m;
  std::condition_variable idle;
};

thread_pool::thread_pool(unsigned threads) {
  const unsigned extra = threads > 1 ? threads - 1 : 0;
  workers_.reserve(extra);
  for (unsigned i = 0; i < extra; ++i) workers_.emplace_back([this] { worker_loop(); });
}

thread_pool::~thread_pool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void thread_pool::run_chunks(job& j) {
  for (;;) {
    const std::size_t c = j.next.fetch_add(1, std::memory_order_relaxed);
    if (c >= j.chunks) return;
    const std::size_t lo = c * j.grain;
    (*j.body)(lo, std::min(j.n, lo + j.grain));
  }
}

void thread_pool::parallel_for(std::size_t n, std::size_t grain,
                               const std::function<void(std::size_t, std::size_t)>& body) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  if (workers_.empty() || n <= grain) {
    body(0, n);
    return;
  }
  job j;
  j.body = &body;
  j.n = n;
  j.grain = grain;
  j.chunks = (n + grain - 1) / grain;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(&j);
  }
  wake_.notify_all();
  run_chunks(j);
  {
    std::lock_guard lock(mutex_);
    if (auto it = std::find(queue_.begin(), queue_.end(), &j); it != queue_.end()) queue_.erase(it);
  }
  std::unique_lock lock(j.m);
  --j.users;
  j.idle.wait(lock, [&] { return j.users == 0; });
}

void thread_pool::worker_loop() {
  for (;;) {
    job* j = nullptr;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] {
        while (!queue_.empty() &&
               queue_.front()->next.load(std::memory_order_relaxed) >= queue_.front()->chunks)
          queue_.pop_front();  // every chunk is taken: nothing left to help with
        return stopping_ || !queue_.empty();
      });
      if (stopping_) return;
      j = queue_.front();
      std::lock_guard job_lock(j->m);
      ++j->users;
    }
    run_chunks(*j);
    std::lock_guard job_lock(j->m);
    if (--j->users == 0) j->idle.notify_all();
  }
}

}  // namespace belady::detail
