// The owner: argument validation, logical time, and dispatch to the chosen backend.
#include "belady/cache.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>
#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <cstdio>
#include <exception>
#include <limits>
#include <string>

#include "backend.hpp"
#include "belady/logging.hpp"
#include "belady/model/registry.hpp"
#include "online/learner.hpp"
#include "ops/alert_monitor.hpp"
#include "ops/cache_snapshot.hpp"
#include "ops/metrics_recorder.hpp"

namespace belady {
namespace {

std::string describe(std::string_view arg, std::string_view what) {
  return "belady: " + std::string(arg) + ": " + std::string(what);
}

[[noreturn]] void fail(std::string_view arg, const std::string& what) {
  throw invalid_argument(describe(arg, what));
}

template <class U>
void check_span(std::span<U> s, std::size_t expected, std::string_view arg, bool at_least = false) {
  if (at_least ? s.size() < expected : s.size() != expected)
    fail(arg, "expected " + std::string(at_least ? "at least " : "") + std::to_string(expected) +
                  " elements, got " + std::to_string(s.size()));
  if (s.data() == nullptr && !s.empty()) fail(arg, "null pointer with " + std::to_string(s.size()) + " elements");
  if (reinterpret_cast<std::uintptr_t>(s.data()) % alignof(U) != 0)
    fail(arg, "misaligned pointer (needs " + std::to_string(alignof(U)) + "-byte alignment)");
}

/// Values have n * dim elements; a size that is a multiple of n names the dim actually passed.
template <class U>
void check_values(std::span<U> s, std::size_t n, std::size_t dim, std::string_view arg,
                  bool at_least = false) {
  const std::size_t expected = n * dim;
  if (at_least ? s.size() >= expected : s.size() == expected) {
    check_span(s, expected, arg, at_least);
    return;
  }
  std::string what = "expected " + std::string(at_least ? "at least " : "") + std::to_string(expected) +
                     " elements (n = " + std::to_string(n) + " x dim = " + std::to_string(dim) +
                     "), got " + std::to_string(s.size());
  if (n != 0 && s.size() % n == 0) what += " (dim mismatch: that is dim " + std::to_string(s.size() / n) + ")";
  fail(arg, what);
}

}  // namespace

template <cache_key Key, cache_value T>
struct cache<Key, T>::impl {
  cache_config config;
  detail::table_shape shape{};
  std::unique_ptr<detail::backend<Key>> backend;
  // Declared after the backend so it is destroyed first: its models' device copies are freed
  // while the backend's device context is still in use.
  std::unique_ptr<model::model_registry> registry;
  std::atomic<std::uint64_t> clock{0};
  std::atomic<std::uint64_t> accesses_since_ageing{0};

  /// What a batch reads besides its own buffers, loaded once and kept alive until its work is
  /// complete: the active model, the candidate of a live A/B test, the sample buffer.
  /// A batch's claim on a sample buffer: counted in its `writers` until released.
  struct sample_lease {
    std::shared_ptr<detail::sample_buffer<Key>> buffer;
    explicit sample_lease(std::shared_ptr<detail::sample_buffer<Key>> b) : buffer(std::move(b)) {}
    sample_lease(const sample_lease&) = delete;
    sample_lease& operator=(const sample_lease&) = delete;
    ~sample_lease() { buffer->writers.fetch_sub(1, std::memory_order_release); }
  };

  struct batch_pins {
    std::shared_ptr<const model::installed_model> model, candidate;
    std::shared_ptr<sample_lease> samples;
  };

  /// Claims the current sample buffer for a batch. The claim is counted before it is confirmed:
  /// a drain that swapped the buffer in between either sees the count (and waits) or this batch
  /// sees the swap (and claims the new buffer instead), so no event is written into a buffer
  /// being drained.
  std::shared_ptr<sample_lease> claim_samples() {
    for (;;) {
      auto buffer = sampling.load();
      if (!buffer) return {};
      buffer->writers.fetch_add(1);
      if (sampling.load() == buffer) return std::make_shared<sample_lease>(std::move(buffer));
      buffer->writers.fetch_sub(1, std::memory_order_release);
    }
  }

  /// Loads what the batch reads (learned policy only): one atomic load each, no lock.
  batch_pins pin_model(detail::batch<Key>& b) {
    batch_pins p;
    if (!registry) return p;
    p.model = registry->active();
    // A recency-only model evicts by the scores over the whole bucket (null model: exact bucket LRU).
    if (p.model && !model::ranks_by_recency_alone(p.model->params)) b.model = p.model->backend_params();
    if (learner) {
      p.candidate = learner->candidate();
      if (p.candidate) {
        b.candidate = p.candidate->backend_params();
        b.ab_threshold = learner->ab_threshold();
      }
      p.samples = claim_samples();
      if (p.samples) b.samples = p.samples->buffer->log;
    }
    return p;
  }

  /// After a batch: keep an async batch's pins alive until its work completes, count its keys,
  /// and age the frequency sketch every 10 x its width accesses (TinyLFU's reset).
  void finish(batch_pins p, std::size_t n, stream_view s, bool sync) {
    if (!registry) return;
    if (!sync) {
      // Copies, not moves: `p` keeps every pin until this function returns.
      try {
        if (p.model) backend->retain_until_complete(p.model, s);
        if (p.candidate) backend->retain_until_complete(p.candidate, s);
        if (p.samples) backend->retain_until_complete(p.samples, s);
      } catch (...) {
        // A pin that could not be handed to the stream (an event that could not be recorded,
        // no memory) must not be released while the batch may still read it: wait for it.
        backend->synchronize(s);
        throw;
      }
    }
    if (learner) live_keys.fetch_add(n, std::memory_order_relaxed);
    const std::uint64_t period = 10 * std::max<std::uint64_t>(1024, config.capacity);
    if (accesses_since_ageing.fetch_add(n, std::memory_order_relaxed) + n >= period) {
      accesses_since_ageing.store(0, std::memory_order_relaxed);
      backend->age_sketch(s);
    }
  }

  std::uint64_t tick() { return clock.fetch_add(1, std::memory_order_relaxed) + 1; }

  /// Common checks of a keyed batch; returns n. Reserved keys are not checked here but on the
  /// batch's stream, by the backend, which runs nothing of a batch that holds one: a check here
  /// would wait for the stream on the cuda backend. A synchronous call then throws
  /// (reject_reserved), an `_async` one leaves it to synchronize() (report_rejected_async).
  std::size_t check_keys(std::span<const Key> keys) {
    check_span(keys, keys.size(), "keys");
    if (keys.size() > std::numeric_limits<std::uint32_t>::max())
      fail("keys", "batch of " + std::to_string(keys.size()) + " exceeds the 2^32-1 keys a batch may hold");
    access(keys.data(), "keys");
    return keys.size();
  }

  /// After a synchronous keyed batch: throws when it held reserved keys (it changed nothing).
  const detail::outcome_counts& reject_reserved(const detail::outcome_counts& c) const {
    if (c.gate != 0) fail("keys", std::to_string(c.gate) + " reserved key(s) (" + reserved_keys_named() + ")");
    return c;
  }

  static std::string reserved_keys_named() {
    return "empty_key 0x" + to_hex(empty_key<Key>) + " and reclaim_key 0x" + to_hex(reclaim_key<Key>) +
           " cannot be stored";
  }

  /// After a synchronize of `s`: reserved keys that `_async` calls met since the last report.
  void report_rejected_async(stream_view s) {
    const std::uint64_t reserved = backend->take_rejected_async(s);
    if (reserved != 0)
      fail("keys", std::to_string(reserved) + " reserved key(s) (" + reserved_keys_named() +
                       ") in _async calls since the last report; each call that held one changed nothing");
  }

  static std::string to_hex(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    do {
      out.insert(out.begin(), digits[v & 15]);
      v >>= 4;
    } while (v != 0);
    return out;
  }

  void access(const void* p, const char* name) const {
    if (p != nullptr) backend->check_accessible(p, name);
  }

  /// Scores are caller input for policy::custom only.
  const std::uint64_t* check_scores_in(std::span<const std::uint64_t> scores, std::size_t n,
                                       bool required_for_custom) const {
    if (config.eviction != policy::custom) {
      if (!scores.empty())
        fail("scores", "caller-supplied scores are only used by policy::custom (this cache uses policy::" +
                           std::string(to_string(config.eviction)) + ")");
      return nullptr;
    }
    if (scores.empty()) {
      // An empty batch needs no scores: zero scores are one per key.
      if (required_for_custom && n != 0) fail("scores", "policy::custom needs one score per key");
      return nullptr;
    }
    check_span(scores, n, "scores");
    access(scores.data(), "scores");
    return scores.data();
  }

  detail::batch<Key> make_batch(std::span<const Key> keys) {
    detail::batch<Key> b;
    b.keys = keys.data();
    b.n = keys.size();
    b.now = tick();
    return b;
  }

  // The checks and the batch of each operation, shared by its sync and `_async` forms. Every
  // argument is checked before anything runs; an empty batch gives nullopt (and no tick).

  std::optional<detail::batch<Key>> find_batch(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                                               std::span<std::uint64_t> scores) {
    const std::size_t n = check_keys(keys);
    check_values(values, n, config.dim, "values");
    check_span(found, n, "found");
    if (!scores.empty()) check_span(scores, n, "scores");
    access(values.data(), "values");
    access(found.data(), "found");
    access(scores.data(), "scores");
    if (n == 0) return std::nullopt;
    auto b = make_batch(keys);
    b.out_values = reinterpret_cast<std::byte*>(values.data());
    b.found = found.data();
    b.out_scores = scores.empty() ? nullptr : scores.data();
    return b;
  }

  std::optional<detail::batch<Key>> contains_batch(std::span<const Key> keys, std::span<bool> found) {
    const std::size_t n = check_keys(keys);
    check_span(found, n, "found");
    access(found.data(), "found");
    if (n == 0) return std::nullopt;
    auto b = make_batch(keys);
    b.found = found.data();
    return b;
  }

  /// insert_or_assign and assign.
  std::optional<detail::batch<Key>> write_batch(std::span<const Key> keys, std::span<const T> values,
                                                std::span<const std::uint64_t> scores, bool scores_required) {
    const std::size_t n = check_keys(keys);
    check_values(values, n, config.dim, "values");
    access(values.data(), "values");
    const std::uint64_t* in_scores = check_scores_in(scores, n, scores_required);
    if (n == 0) return std::nullopt;
    auto b = make_batch(keys);
    b.in_values = reinterpret_cast<const std::byte*>(values.data());
    b.in_scores = in_scores;
    return b;
  }

  std::optional<detail::batch<Key>> find_or_insert_batch(std::span<const Key> keys, std::span<T> values,
                                                         std::span<bool> found, std::span<const std::uint64_t> scores) {
    const std::size_t n = check_keys(keys);
    check_values(values, n, config.dim, "values");
    check_span(found, n, "found");
    access(values.data(), "values");
    access(found.data(), "found");
    const std::uint64_t* in_scores = check_scores_in(scores, n, true);
    if (n == 0) return std::nullopt;
    auto b = make_batch(keys);
    b.in_values = reinterpret_cast<const std::byte*>(values.data());
    b.out_values = reinterpret_cast<std::byte*>(values.data());
    b.found = found.data();
    b.in_scores = in_scores;
    return b;
  }

  // ---- online learning (policy::learned with config.online.enabled) ----
  // Declared after the backend: the sample buffers and the learner's models go first.
  std::atomic<std::shared_ptr<detail::sample_buffer<Key>>> sampling;  // the buffer batches append to
  std::shared_ptr<detail::sample_buffer<Key>> spare_samples;          // drained; swapped in next
  std::shared_ptr<detail::sample_buffer<Key>> retiring_samples;       // swapped out, not yet drained
  std::unique_ptr<online::learner> learner;
  std::unordered_map<std::uint64_t, std::uint8_t> last_kind;  // per sampled key (to_requests)
  std::mutex step_mutex;  // one drain/step at a time: the thread, or online_step() in manual mode
  std::atomic<std::uint64_t> live_requests{0}, live_hits{0}, live_keys{0}, live_busy_ns{0}, live_timed_keys{0};
  std::thread trainer;
  std::mutex trainer_mutex;
  std::condition_variable trainer_wake;
  bool trainer_stop = false;

  // ---- operations: metrics, alerts, trainer restarts ----
  ops::metrics_recorder recorder;
  ops::alert_monitor alerts;
  std::atomic<std::uint64_t> trainer_failures_in_row{0}, allocation_failures{0};
  std::thread monitor;
  std::mutex monitor_mutex, evaluate_mutex;
  std::condition_variable monitor_wake;
  bool monitor_stop = false;

  /// Times one public call and counts it; a call left by an exception counts as an error.
  /// Constructed first thing in each operation, so validation failures count too.
  class call_timer {
   public:
    call_timer(const impl& m, operation op, std::size_t keys)
        : m_(const_cast<impl&>(m)), op_(op), keys_(keys), exceptions_(std::uncaught_exceptions()),
          started_(m.config.ops.metrics ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}) {}
    call_timer(const call_timer&) = delete;
    call_timer& operator=(const call_timer&) = delete;
    ~call_timer() {
      if (!m_.config.ops.metrics) return;
      if (std::uncaught_exceptions() > exceptions_) {
        m_.recorder.record_error(op_);
        return;
      }
      m_.recorder.record_call(op_, keys_, started_, std::chrono::steady_clock::now(), lookups_, hits_);
    }
    void lookups(std::uint64_t n, std::uint64_t hits) { lookups_ = n, hits_ = hits; }
    void keys(std::size_t n) { keys_ = n; }
    void writes(const insert_result& r) {
      if (m_.config.ops.metrics) m_.recorder.record_writes(r.inserted, r.assigned, r.evicted, r.refused, 0);
    }
    void erased(std::uint64_t n) {
      if (m_.config.ops.metrics) m_.recorder.record_writes(0, 0, 0, 0, n);
    }

   private:
    impl& m_;
    operation op_;
    std::size_t keys_;
    int exceptions_;
    std::chrono::steady_clock::time_point started_;
    std::uint64_t lookups_ = 0, hits_ = 0;
  };

  ~impl() {
    stop_monitor();
    stop_trainer();
  }

  /// Everything metrics() reports; the monitor skips the pass over the buckets (with_size false).
  metrics_snapshot collect(bool with_size, stream_view s) const {
    metrics_snapshot m;
    m.backend = std::string(to_string(config.executor));
    m.policy = std::string(to_string(config.eviction));
    m.capacity = config.capacity;
    m.dim = config.dim;
    m.bucket_size = config.bucket_size;
    m.clock = clock.load(std::memory_order_relaxed);
    if (with_size) {
      m.size = backend->size(s);
      m.load_factor = static_cast<double>(m.size) / static_cast<double>(config.capacity);
    }
    recorder.fill(m);
    const std::uint64_t table = backend->allocated_bytes();
    (config.executor == belady::backend::cuda ? m.device_bytes : m.host_bytes) = table;
    m.process_resident_bytes = resident_bytes();
    if (registry) {
      m.active_model_version = registry->active_version();
      m.models_kept = registry->history().size();
    }
    m.trainer_state = "off";
    if (learner) {
      const online_report r = learner->report();
      m.online = true;
      m.trainer_state = r.state;
      m.trainer_busy_seconds = r.trainer_busy_seconds;
      m.trainer_time_share = m.uptime_seconds > 0 ? r.trainer_busy_seconds / m.uptime_seconds : 0;
      m.promotions = r.promotions;
      m.rejections = r.rejections;
      m.rollbacks = r.rollbacks;
      m.training_failures = r.failures;
      m.trainer_restarts = r.restarts;
      m.sampled_events = r.sampled_events;
      m.sampled_events_dropped = r.dropped_events;
      m.prediction_accuracy = r.prediction_accuracy;
      if (r.specialisation.enabled) {
        m.workload_class = r.specialisation.current_class.empty() ? "none" : r.specialisation.current_class;
        m.workload_switches = r.specialisation.switches;
      }
    }
    const auto [warning, critical] = alerts.counts();
    m.alerts_warning = warning;
    m.alerts_critical = critical;
    m.degraded = degraded_reasons(nullptr) != 0;
    return m;
  }

  static std::uint64_t resident_bytes() {
#if defined(__linux__)
    // /proc/self/statm: total and resident pages.
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      unsigned long long total = 0, resident = 0;
      const int got = std::fscanf(f, "%llu %llu", &total, &resident);
      std::fclose(f);
      if (got == 2) return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    }
#endif
    return 0;
  }

  /// Counts the degraded states; with `out`, also describes them.
  std::size_t degraded_reasons(health_report* out) const {
    std::size_t n = 0;
    auto problem = [&](const std::string& what) {
      ++n;
      if (out) out->problems.push_back(what);
    };
    const ops_config& o = config.ops;
    const std::uint64_t in_row = trainer_failures_in_row.load(std::memory_order_relaxed);
    std::uint64_t recent_rollbacks = 0, restarts = 0;
    std::string last_error;
    if (learner) {
      const online_report r = learner->report();
      const auto since = std::chrono::steady_clock::now() - std::chrono::seconds(o.rollback_window_s);
      for (const online_decision& d : r.decisions)
        if (d.what == online_decision::kind::rolled_back && d.at >= since) ++recent_rollbacks;
      restarts = r.restarts;
      last_error = r.last_error;
    }
    if (out) {
      out->trainer_consecutive_failures = in_row;
      out->trainer_restarts = restarts;
      out->recent_rollbacks = recent_rollbacks;
      out->allocation_failures = allocation_failures.load(std::memory_order_relaxed);
      out->alerts_critical = alerts.counts().second;
    }
    if (o.degraded_trainer_failures != 0 && in_row >= o.degraded_trainer_failures)
      problem("online trainer failing: " + std::to_string(in_row) + " failures in a row (latest: " + last_error + ")");
    if (o.degraded_rollbacks != 0 && recent_rollbacks >= o.degraded_rollbacks)
      problem(std::to_string(recent_rollbacks) + " rollbacks in the last " + std::to_string(o.rollback_window_s) + " s");
    if (const std::uint64_t a = allocation_failures.load(std::memory_order_relaxed); a != 0)
      problem(std::to_string(a) + " allocation failure(s) since construction");
    if (const std::uint64_t c = alerts.counts().second; c != 0) problem(std::to_string(c) + " alert rule(s) critical");
    return n;
  }

  void start_monitor() {
    std::lock_guard lock(monitor_mutex);
    if (monitor.joinable() || monitor_stop) return;
    monitor = std::thread([this] {
      std::unique_lock l(monitor_mutex);
      while (!monitor_stop) {
        monitor_wake.wait_for(l, std::chrono::milliseconds(std::max<std::uint32_t>(1, config.ops.alert_interval_ms)));
        if (monitor_stop) break;
        l.unlock();
        try {
          if (alerts.active()) evaluate_alerts_now();
        } catch (const std::exception& e) {
          logger()->error("alert monitor: {}", e.what());
        }
        l.lock();
      }
    });
  }

  /// One evaluation of the alert rules. Serialised: each evaluation compares with the previous
  /// one's histograms, so two must not interleave their collect and judge steps. The events are
  /// queued in that order and delivered after the lock is released: a callback may call
  /// evaluate_alerts() itself.
  std::vector<alert_event> evaluate_alerts_now() {
    std::vector<alert_event> events;
    {
      std::lock_guard lock(evaluate_mutex);
      events = alerts.judge(collect(false, {}), recorder.fine_counts());
    }
    alerts.deliver_pending();
    return events;
  }

  void stop_monitor() {
    {
      std::lock_guard lock(monitor_mutex);
      monitor_stop = true;
    }
    monitor_wake.notify_all();
    if (monitor.joinable()) monitor.join();
  }

  [[nodiscard]] std::chrono::steady_clock::time_point start_timer() const {
    return learner ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  }

  /// A synchronous lookup's figures for the live watch: requests, hits, wall time per key.
  void count_requests(std::size_t n, std::size_t hits, std::chrono::steady_clock::time_point started) {
    if (!learner) return;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started);
    live_requests.fetch_add(n, std::memory_order_relaxed);
    live_hits.fetch_add(hits, std::memory_order_relaxed);
    live_busy_ns.fetch_add(static_cast<std::uint64_t>(ns.count()), std::memory_order_relaxed);
    live_timed_keys.fetch_add(n, std::memory_order_relaxed);
  }

  [[nodiscard]] online::live_counters live() const {
    online::live_counters c;
    c.requests = live_requests.load(std::memory_order_relaxed);
    c.hits = live_hits.load(std::memory_order_relaxed);
    c.keys = live_keys.load(std::memory_order_relaxed);
    c.busy_ns = live_busy_ns.load(std::memory_order_relaxed);
    c.timed_keys = live_timed_keys.load(std::memory_order_relaxed);
    return c;
  }

  /// Swaps the sample buffers and copies the old one's events out once no batch holds it any
  /// more (a batch holds it only while it runs). A batch still running (a large one takes
  /// hundreds of milliseconds) is not waited for: the old buffer is drained on a later turn, and
  /// batches meanwhile append to the new one.
  detail::sample_events<Key> drain() {
    detail::sample_events<Key> out;
    if (!retiring_samples) retiring_samples = sampling.exchange(std::move(spare_samples));
    if (retiring_samples->writers.load() != 0) return out;  // seq_cst: pairs with claim_samples()
    backend->drain_samples(*retiring_samples, out);
    spare_samples = std::move(retiring_samples);
    return out;
  }

  /// One turn of the loop: drain, feed the learner, let it train / decide / watch.
  void online_turn() {
    std::lock_guard lock(step_mutex);
    const detail::sample_events<Key> ev = drain();
    // Events of one batch arrive in the order its workers or lanes happened to run: order them by
    // (tick, key) so that the same requests always feed the learner in the same order.
    std::vector<std::size_t> order(ev.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return ev.times[a] != ev.times[b] ? ev.times[a] < ev.times[b] : ev.keys[a] < ev.keys[b];
    });
    std::vector<std::uint64_t> keys(ev.size()), ticks(ev.size());
    std::vector<std::uint8_t> kinds(ev.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      keys[i] = ev.keys[order[i]];
      ticks[i] = ev.times[order[i]];
      kinds[i] = ev.kinds[order[i]];
    }
    std::vector<online::request_event> requests;
    requests.reserve(keys.size());
    online::to_requests(keys.data(), ticks.data(), kinds.data(), keys.size(), last_kind, requests);
    if (last_kind.size() > 4 * config.online.window + 4096) last_kind.clear();  // bounded memory
    learner->note_drain(ev.size(), ev.dropped);
    learner->observe(requests);
    learner->step(clock.load(std::memory_order_relaxed), std::chrono::steady_clock::now(), live());
  }

  void start_trainer() {
    trainer = std::thread([this] {
#if defined(__linux__)
      // The lowest CPU priority for this thread only (Linux applies nice per thread): where the
      // host backend's workers and the learner share cores, the scheduler serves the cache first.
      // Best effort; failure changes nothing else.
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
#endif
      std::unique_lock lock(trainer_mutex);
      while (!trainer_stop) {
        trainer_wake.wait_for(lock, std::chrono::milliseconds(std::max<std::uint32_t>(1, config.online.poll_interval_ms)));
        if (trainer_stop) break;
        lock.unlock();
        const auto [failures_before, rounds_before] = learner->failures_and_rounds();
        bool failed = false;
        try {
          online_turn();  // training failures are caught and recorded inside; see learner::step
        } catch (const std::bad_alloc& e) {
          allocation_failures.fetch_add(1, std::memory_order_relaxed);
          learner->note_failure(std::string("online loop: out of memory: ") + e.what());
          failed = true;
        } catch (const std::exception& e) {
          // Anything else (a failed drain): recorded; the cache keeps serving.
          learner->note_failure(std::string("online loop: ") + e.what());
          failed = true;
        }
        const auto [failures_after, rounds_after] = learner->failures_and_rounds();
        lock.lock();
        if (failed || failures_after != failures_before) {
          if (!back_off(lock)) break;
        } else if (rounds_after != rounds_before) {
          trainer_failures_in_row.store(0, std::memory_order_relaxed);
        }
      }
    });
  }

  /// After a failed turn: waits (doubling with each failure in a row, capped), then restarts the
  /// learner. The cache serves throughout. Returns false when asked to stop while waiting.
  bool back_off(std::unique_lock<std::mutex>& lock) {
    const std::uint64_t in_row = trainer_failures_in_row.fetch_add(1, std::memory_order_relaxed) + 1;
    const ops_config& o = config.ops;
    const std::uint64_t shift = std::min<std::uint64_t>(in_row - 1, 20);
    const auto wait = std::chrono::milliseconds(
        std::min<std::uint64_t>(o.trainer_backoff_max_ms, std::uint64_t{o.trainer_backoff_ms} << shift));
    learner->set_state("backoff");
    logger()->warn("online trainer: failure {} in a row ({}); restarting in {} ms", in_row,
                   learner->report().last_error, wait.count());
    trainer_wake.wait_for(lock, wait, [this] { return trainer_stop; });
    if (trainer_stop) return false;
    lock.unlock();
    {
      std::lock_guard step(step_mutex);
      learner->restart();
    }
    lock.lock();
    logger()->info("online trainer: restarted after {} failure(s) in a row", in_row);
    return true;
  }

  void stop_trainer() {
    if (!trainer.joinable()) return;
    {
      std::lock_guard lock(trainer_mutex);
      trainer_stop = true;
    }
    trainer_wake.notify_all();
    trainer.join();
    if (learner) learner->set_state("stopped");
  }

  [[nodiscard]] std::size_t value_bytes() const { return config.dim * sizeof(T); }
};

namespace {

void check_range(const char* name, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi))
    fail(std::string("online.") + name, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                                            std::to_string(v));
}

void check_online(const cache_config& c, detail::table_shape& shape) {
  const online_config& o = c.online;
  if (c.eviction != policy::learned)
    fail("online.enabled", "online learning trains policy::learned models; this cache uses policy::" +
                               std::string(to_string(c.eviction)));
  // Manual mode may sample up to every key: replays of small traces need miniature simulations
  // of a useful size (a rate of 1 makes them full simulations).
  check_range("sample_rate", o.sample_rate, 0.001, o.manual ? 1.0 : 0.05);
  check_range("window", double(o.window), 100'000, 1'000'000);
  check_range("ab_fraction", o.ab_fraction, 0.01, 0.10);
  check_range("rollback_threshold", o.rollback_threshold, 0.05, 0.15);
  check_range("significance", o.significance, 1e-9, 0.5);
  check_range("sample_buffer", double(o.sample_buffer), 1024, double(std::size_t{1} << 30));
  check_range("mlp_hidden", o.mlp_hidden, 0, model::max_hidden);
  check_range("baseline_newcomer_shift", o.baseline_newcomer_shift, 0.0, 8.0);
  check_range("baseline_frequency_weight", o.baseline_frequency_weight, 0.0, 4.0);
  check_range("baseline_gap_weight", o.baseline_gap_weight, 0.0, 2.0);
  if (o.specialise.enabled) {
    check_range("specialise.window", double(o.specialise.window), 1024, 65536);
    check_range("specialise.stride", double(o.specialise.stride), 256, double(o.specialise.window));
    check_range("specialise.min_confidence", o.specialise.min_confidence, 0.2, 1.0);
    check_range("specialise.stable_windows", o.specialise.stable_windows, 1, 16);
  }
  if (o.min_eval_requests < 1000) fail("online.min_eval_requests", "must be at least 1000");
  if (o.max_eval_requests < o.min_eval_requests)
    fail("online.max_eval_requests", "must be at least min_eval_requests");
  if (!(o.horizon_capacities > 0)) fail("online.horizon_capacities", "must be > 0");
  if (!(o.yield_load > 0)) fail("online.yield_load", "must be > 0 (values >= 1 never suspend)");
  if (!(o.learning_rate > 0) || !(o.max_learning_rate > 0)) fail("online.learning_rate", "must be > 0");
  if (!(o.l1 >= 0) || !(o.l2 >= 0)) fail("online.l1", "penalties must be >= 0");
  if (o.epochs == 0) fail("online.epochs", "must be at least 1");
  if (o.train_every_samples == 0) fail("online.train_every_samples", "must be at least 1");
  shape.sample_threshold = o.sample_rate >= 1.0 ? ~std::uint64_t{0}
                                                : static_cast<std::uint64_t>(o.sample_rate * 18446744073709551616.0);
}

detail::table_shape shape_of(cache_config& c, std::size_t elem_bytes) {
  if (c.capacity == 0) fail("capacity", "must be at least 1");
  if (c.dim == 0) fail("dim", "must be at least 1");
  if (c.bucket_size == 0 || c.bucket_size > 1024)
    fail("bucket_size", "must be in [1, 1024], got " + std::to_string(c.bucket_size));
  const std::uint64_t buckets = (c.capacity + c.bucket_size - 1) / c.bucket_size;
  if (c.capacity > std::numeric_limits<std::size_t>::max() - c.bucket_size ||
      buckets > (std::uint64_t{1} << 32))
    fail("capacity", std::to_string(c.capacity) + " slots exceed the 2^32 buckets a table may hold");
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  const std::size_t slots = buckets * c.bucket_size;
  if (c.dim > max / elem_bytes) fail("dim", std::to_string(c.dim) + " elements overflow a value's size");
  const std::size_t value_bytes = c.dim * elem_bytes;
  if (slots > max / (value_bytes + 64))
    fail("capacity", std::to_string(c.capacity) + " slots of " + std::to_string(value_bytes) +
                         " bytes overflow the address space");
  c.capacity = slots;
  detail::table_shape shape{buckets, c.bucket_size, value_bytes, c.eviction};
  if (c.eviction == policy::learned) {
    if (c.learned_candidates == 0) fail("learned_candidates", "must be at least 1");
    if (!(c.decay_half_life >= 0)) fail("decay_half_life", "must be >= 0 (0: capacity)");
    c.learned_candidates = std::min(c.learned_candidates, c.bucket_size);
    std::uint64_t width = 1024;
    while (width < slots) width *= 2;
    shape.sketch_width = width;
    shape.decay_half_life = static_cast<float>(c.decay_half_life > 0 ? c.decay_half_life : double(slots));
    shape.candidates = c.learned_candidates;
    shape.admission = c.learned_admission;
  }
  if (c.online.enabled) check_online(c, shape);
  if (c.ops.alert_interval_ms == 0) fail("ops.alert_interval_ms", "must be at least 1");
  if (c.ops.trainer_backoff_ms == 0) fail("ops.trainer_backoff_ms", "must be at least 1");
  if (c.ops.trainer_backoff_max_ms < c.ops.trainer_backoff_ms)
    fail("ops.trainer_backoff_max_ms", std::to_string(c.ops.trainer_backoff_max_ms) + " is below trainer_backoff_ms " +
                                           std::to_string(c.ops.trainer_backoff_ms));
  return shape;
}

}  // namespace

template <cache_key Key, cache_value T>
cache<Key, T>::cache(const cache_config& config) : impl_(std::make_unique<impl>()) {
  impl_->config = config;
  const detail::table_shape shape = shape_of(impl_->config, sizeof(T));
  backend kind = config.executor;
  if (kind == backend::automatic) kind = detail::cuda_device_available(config.device) ? backend::cuda : backend::host;
  if (kind == backend::cuda) {
    if (!detail::cuda_device_available(config.device))
      throw backend_unavailable("belady: backend::cuda requested but " +
                                detail::cuda_unavailable_reason(config.device));
    impl_->backend = detail::make_cuda_backend<Key>(shape, config.device);
  } else {
    impl_->backend = detail::make_host_backend<Key>(shape, config.host_threads);
  }
  impl_->config.executor = kind;
  impl_->shape = shape;
  if (impl_->config.eviction == policy::learned) {
    detail::backend<Key>* b = impl_->backend.get();
    impl_->registry = std::make_unique<model::model_registry>(model::registry_config{
        .history_limit = 16,
        .uploader = [b](const model::model_params& p) { return b->upload(&p, sizeof p); }});
    if (impl_->config.online.enabled) {
      const online_config& o = impl_->config.online;
      impl_->sampling.store(impl_->backend->make_sample_buffer(o.sample_buffer));
      impl_->spare_samples = impl_->backend->make_sample_buffer(o.sample_buffer);
      online::cache_shape cs;
      cs.capacity = impl_->config.capacity;
      cs.bucket_size = impl_->config.bucket_size;
      cs.candidates = impl_->config.learned_candidates;
      cs.decay_half_life = shape.decay_half_life;
      cs.admission = impl_->config.learned_admission;
      impl_->learner = std::make_unique<online::learner>(o, cs, *impl_->registry);
      if (!o.manual) impl_->start_trainer();
    }
  }
  // Debug, not info: the online learner builds miniature caches of its own.
  logger()->debug("cache: {} slots x dim {} ({} bytes each), bucket {}, policy {}, backend {}, {} bytes allocated",
                  impl_->config.capacity, impl_->config.dim, sizeof(T) * impl_->config.dim, impl_->config.bucket_size,
                  to_string(impl_->config.eviction), to_string(kind), impl_->backend->allocated_bytes());
}

template <cache_key Key, cache_value T>
cache<Key, T>::~cache() = default;
template <cache_key Key, cache_value T>
cache<Key, T>::cache(cache&&) noexcept = default;
template <cache_key Key, cache_value T>
cache<Key, T>& cache<Key, T>::operator=(cache&&) noexcept = default;

template <cache_key Key, cache_value T>
const cache_config& cache<Key, T>::config() const noexcept {
  return impl_->config;
}
template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::capacity() const noexcept {
  return impl_->config.capacity;
}
template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::dim() const noexcept {
  return impl_->config.dim;
}
template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::bucket_count() const noexcept {
  return impl_->config.capacity / impl_->config.bucket_size;
}
template <cache_key Key, cache_value T>
backend cache<Key, T>::executor() const noexcept {
  return impl_->config.executor;
}

// Each operation's sync and `_async` forms share the checks and the batch (impl::*_batch); they
// differ in what follows the backend call: a synchronous call throws on reserved keys, counts
// its outcomes and releases its pins, an `_async` one hands the pins to the stream.

template <cache_key Key, cache_value T>
void cache<Key, T>::find_async(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                               std::span<std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::find, keys.size());
  auto b = m.find_batch(keys, values, found, scores);
  if (!b) return;
  auto pinned = m.pin_model(*b);
  m.backend->find(*b, true, stream, false);
  m.finish(std::move(pinned), b->n, stream, false);
}

template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::find(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                                std::span<std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::find, keys.size());
  auto b = m.find_batch(keys, values, found, scores);
  if (!b) return 0;
  auto pinned = m.pin_model(*b);
  const auto started = m.start_timer();
  const std::size_t hits = m.reject_reserved(m.backend->find(*b, true, stream, true)).of(detail::outcome::found);
  m.count_requests(b->n, hits, started);
  timer.lookups(b->n, hits);
  m.finish(std::move(pinned), b->n, stream, true);
  return hits;
}

template <cache_key Key, cache_value T>
void cache<Key, T>::contains_async(std::span<const Key> keys, std::span<bool> found, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::contains, keys.size());
  if (auto b = m.contains_batch(keys, found)) m.backend->find(*b, false, stream, false);
}

template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::contains(std::span<const Key> keys, std::span<bool> found, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::contains, keys.size());
  auto b = m.contains_batch(keys, found);
  return b ? m.reject_reserved(m.backend->find(*b, false, stream, true)).of(detail::outcome::found) : 0;
}

namespace {
insert_result to_result(const detail::outcome_counts& c) {
  insert_result r;
  r.inserted = c.of(detail::outcome::inserted);
  r.assigned = c.of(detail::outcome::assigned);
  r.evicted = c.of(detail::outcome::evicted);
  r.refused = c.of(detail::outcome::refused);
  return r;
}
}  // namespace

template <cache_key Key, cache_value T>
insert_result cache<Key, T>::insert_or_assign(std::span<const Key> keys, std::span<const T> values,
                                              std::span<const std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::insert_or_assign, keys.size());
  auto b = m.write_batch(keys, values, scores, true);
  if (!b) return {};
  auto pinned = m.pin_model(*b);
  const auto r = to_result(m.reject_reserved(m.backend->write(*b, detail::write_mode::insert_or_assign, stream, true)));
  m.finish(std::move(pinned), b->n, stream, true);
  timer.writes(r);
  return r;
}

template <cache_key Key, cache_value T>
void cache<Key, T>::insert_or_assign_async(std::span<const Key> keys, std::span<const T> values,
                                           std::span<const std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::insert_or_assign, keys.size());
  auto b = m.write_batch(keys, values, scores, true);
  if (!b) return;
  auto pinned = m.pin_model(*b);
  m.backend->write(*b, detail::write_mode::insert_or_assign, stream, false);
  m.finish(std::move(pinned), b->n, stream, false);
}

template <cache_key Key, cache_value T>
insert_result cache<Key, T>::insert_and_evict(std::span<const Key> keys, std::span<const T> values,
                                              std::span<Key> evicted_keys, std::span<T> evicted_values,
                                              std::span<std::uint64_t> evicted_scores,
                                              std::span<const std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::insert_and_evict, keys.size());
  const std::size_t n = m.check_keys(keys);
  check_values(values, n, m.config.dim, "values");
  check_span(evicted_keys, n, "evicted_keys", true);
  check_values(evicted_values, n, m.config.dim, "evicted_values", true);
  if (!evicted_scores.empty()) check_span(evicted_scores, n, "evicted_scores", true);
  m.access(values.data(), "values");
  m.access(evicted_keys.data(), "evicted_keys");
  m.access(evicted_values.data(), "evicted_values");
  m.access(evicted_scores.data(), "evicted_scores");
  const std::uint64_t* in_scores = m.check_scores_in(scores, n, true);
  if (n == 0) return {};
  auto b = m.make_batch(keys);
  b.in_values = reinterpret_cast<const std::byte*>(values.data());
  b.in_scores = in_scores;
  b.evicted_keys = evicted_keys.data();
  b.evicted_values = reinterpret_cast<std::byte*>(evicted_values.data());
  b.evicted_scores = evicted_scores.empty() ? nullptr : evicted_scores.data();
  auto pinned = m.pin_model(b);
  const auto r = to_result(m.reject_reserved(m.backend->insert_and_evict(b, stream)));
  m.finish(std::move(pinned), n, stream, true);
  timer.writes(r);
  return r;
}

template <cache_key Key, cache_value T>
void cache<Key, T>::find_or_insert_async(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                                         std::span<const std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::find_or_insert, keys.size());
  auto b = m.find_or_insert_batch(keys, values, found, scores);
  if (!b) return;
  auto pinned = m.pin_model(*b);
  m.backend->find_or_insert(*b, stream, false);
  m.finish(std::move(pinned), b->n, stream, false);
}

template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::find_or_insert(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                                          std::span<const std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::find_or_insert, keys.size());
  auto b = m.find_or_insert_batch(keys, values, found, scores);
  if (!b) return 0;
  auto pinned = m.pin_model(*b);
  const auto started = m.start_timer();
  const std::size_t hits = m.reject_reserved(m.backend->find_or_insert(*b, stream, true)).of(detail::outcome::found);
  m.count_requests(b->n, hits, started);
  timer.lookups(b->n, hits);
  m.finish(std::move(pinned), b->n, stream, true);
  return hits;
}

// assign never evicts, so it pins no model (and is not sampled).
template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::assign(std::span<const Key> keys, std::span<const T> values,
                                  std::span<const std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::assign, keys.size());
  auto b = m.write_batch(keys, values, scores, false);
  if (!b) return 0;
  const std::size_t assigned =
      m.reject_reserved(m.backend->write(*b, detail::write_mode::assign_only, stream, true)).of(detail::outcome::assigned);
  timer.writes(insert_result{0, assigned, 0, 0});
  return assigned;
}

template <cache_key Key, cache_value T>
void cache<Key, T>::assign_async(std::span<const Key> keys, std::span<const T> values,
                                 std::span<const std::uint64_t> scores, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::assign, keys.size());
  if (auto b = m.write_batch(keys, values, scores, false)) m.backend->write(*b, detail::write_mode::assign_only, stream, false);
}

template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::erase(std::span<const Key> keys, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::erase, keys.size());
  if (m.check_keys(keys) == 0) return 0;
  const std::size_t erased = m.reject_reserved(m.backend->erase(m.make_batch(keys), stream, true)).of(detail::outcome::erased);
  timer.erased(erased);
  return erased;
}

template <cache_key Key, cache_value T>
void cache<Key, T>::erase_async(std::span<const Key> keys, stream_view stream) {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::erase, keys.size());
  if (m.check_keys(keys) == 0) return;
  m.backend->erase(m.make_batch(keys), stream, false);
}

template <cache_key Key, cache_value T>
void cache<Key, T>::clear(stream_view stream) {
  typename impl::call_timer timer(*impl_, operation::clear, 0);
  impl_->backend->clear(stream, true);
}
template <cache_key Key, cache_value T>
void cache<Key, T>::clear_async(stream_view stream) {
  typename impl::call_timer timer(*impl_, operation::clear, 0);
  impl_->backend->clear(stream, false);
}

template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::size(stream_view stream) const {
  return impl_->backend->size(stream);
}

template <cache_key Key, cache_value T>
double cache<Key, T>::load_factor(stream_view stream) const {
  return static_cast<double>(size(stream)) / static_cast<double>(capacity());
}

template <cache_key Key, cache_value T>
std::size_t cache<Key, T>::export_batch(std::size_t offset, std::size_t count, std::span<Key> keys,
                                        std::span<T> values, std::span<std::uint64_t> scores,
                                        stream_view stream) const {
  auto& m = *impl_;
  typename impl::call_timer timer(m, operation::export_batch, count);
  if (offset > m.config.capacity)
    fail("offset", std::to_string(offset) + " is past the capacity " + std::to_string(m.config.capacity));
  count = std::min(count, m.config.capacity - offset);
  timer.keys(count);  // the slots actually exported, not the count asked for
  check_span(keys, count, "keys", true);
  check_values(values, count, m.config.dim, "values", true);
  if (!scores.empty()) check_span(scores, count, "scores", true);
  m.access(keys.data(), "keys");
  m.access(values.data(), "values");
  m.access(scores.data(), "scores");
  detail::batch<Key> b;
  b.evicted_keys = keys.data();
  b.evicted_values = reinterpret_cast<std::byte*>(values.data());
  b.evicted_scores = scores.empty() ? nullptr : scores.data();
  return m.backend->export_slots(b, offset, count, stream);
}

template <cache_key Key, cache_value T>
void cache<Key, T>::synchronize(stream_view stream) const {
  impl_->backend->synchronize(stream);
  impl_->report_rejected_async(stream);
}

template <cache_key Key, cache_value T>
std::uint64_t cache<Key, T>::now() const noexcept {
  return impl_->clock.load(std::memory_order_relaxed);
}

template <cache_key Key, cache_value T>
model::model_registry& cache<Key, T>::models() {
  if (!impl_->registry)
    fail("models", "the cache's policy is " + std::string(to_string(impl_->config.eviction)) +
                       "; models serve policy::learned");
  return *impl_->registry;
}

template <cache_key Key, cache_value T>
void cache<Key, T>::set_candidate_log(std::size_t capacity) {
  if (!impl_->registry)
    fail("set_candidate_log", "the candidate log records policy::learned evictions; this cache uses " +
                                  std::string(to_string(impl_->config.eviction)));
  try {
    impl_->backend->set_candidate_log(capacity);
  } catch (const std::bad_alloc&) {
    impl_->allocation_failures.fetch_add(1, std::memory_order_relaxed);
    throw;
  }
}

template <cache_key Key, cache_value T>
belady::online_report cache<Key, T>::online_status() const {
  if (!impl_->learner) return {};
  return impl_->learner->report();
}

template <cache_key Key, cache_value T>
void cache<Key, T>::online_step() {
  if (!impl_->learner) fail("online_step", "online learning is not enabled (config.online.enabled)");
  if (!impl_->config.online.manual)
    fail("online_step", "the trainer thread drives this cache (config.online.manual is false)");
  impl_->online_turn();
}

template <cache_key Key, cache_value T>
void cache<Key, T>::set_clock(std::uint64_t tick) {
  if (tick == 0) fail("tick", "must be at least 1 (0 is before the first batch)");
  impl_->clock.store(tick - 1, std::memory_order_relaxed);
}

template <cache_key Key, cache_value T>
eviction_candidates<Key> cache<Key, T>::take_candidate_log() {
  if (!impl_->registry) return {};
  return impl_->backend->take_candidate_log();
}

template <cache_key Key, cache_value T>
metrics_snapshot cache<Key, T>::metrics(stream_view stream) const {
  return impl_->collect(true, stream);
}

template <cache_key Key, cache_value T>
void cache<Key, T>::set_alert_rules(std::vector<alert_rule> rules) {
  impl_->alerts.set_rules(std::move(rules));
}

template <cache_key Key, cache_value T>
std::vector<alert_rule> cache<Key, T>::alert_rules() const {
  return impl_->alerts.rules();
}

template <cache_key Key, cache_value T>
std::uint64_t cache<Key, T>::subscribe(alert_callback callback) {
  // The monitor first: a subscription whose thread could not start would be left behind with
  // no id to unsubscribe it by.
  impl_->start_monitor();
  return impl_->alerts.subscribe(std::move(callback));
}

template <cache_key Key, cache_value T>
bool cache<Key, T>::unsubscribe(std::uint64_t id) {
  return impl_->alerts.unsubscribe(id);
}

template <cache_key Key, cache_value T>
std::vector<alert_event> cache<Key, T>::evaluate_alerts() {
  return impl_->evaluate_alerts_now();
}

template <cache_key Key, cache_value T>
health_report cache<Key, T>::health(bool verify_table, stream_view stream) const {
  const auto& m = *impl_;
  health_report h;
  if (verify_table) {
    const detail::table_check t = m.backend->verify_table(stream);
    h.table_checked = true;
    h.keys = t.keys;
    h.duplicate_keys = t.duplicates;
    h.misplaced_keys = t.misplaced;
    h.count_mismatches = t.count_mismatches;
    if (t.duplicates != 0) h.problems.push_back(std::to_string(t.duplicates) + " duplicate key(s) in the table");
    if (t.misplaced != 0) h.problems.push_back(std::to_string(t.misplaced) + " key(s) outside their bucket or with a stale digest");
    if (t.count_mismatches != 0)
      h.problems.push_back(std::to_string(t.count_mismatches) + " bucket(s) whose occupancy count differs from their keys");
  }
  const bool broken = !h.problems.empty();
  const std::size_t degraded = m.degraded_reasons(&h);
  h.status = broken ? health_status::failed : degraded != 0 ? health_status::degraded : health_status::ok;
  if (h.status != health_status::ok) {
    std::string all;
    for (const auto& p : h.problems) all += (all.empty() ? "" : "; ") + p;
    logger()->warn("health {}: {}", to_string(h.status), all);
  }
  return h;
}

namespace {
template <cache_key Key, cache_value T>
ops::snapshot_head expected_head(const cache_config& c, const detail::table_shape& shape) {
  ops::snapshot_head h;
  h.key_bytes = sizeof(Key);
  h.value_dtype = static_cast<std::uint32_t>(dtype_of<T>::value);
  h.value_bytes = shape.value_bytes;
  h.dim = c.dim;
  h.capacity = c.capacity;
  h.bucket_size = c.bucket_size;
  h.num_buckets = shape.num_buckets;
  h.policy = static_cast<std::uint32_t>(c.eviction);
  h.slot_meta_bytes = sizeof(detail::slot_meta);
  h.sketch_width = shape.sketch_width;
  return h;
}
}  // namespace

template <cache_key Key, cache_value T>
void cache<Key, T>::save_snapshot(const std::filesystem::path& path, const snapshot_options& options,
                                  stream_view stream) const {
  auto& m = *impl_;
  const auto started = std::chrono::steady_clock::now();
  ops::snapshot_head h = expected_head<Key, T>(m.config, m.shape);
  const detail::raw_slots<Key> slots = m.backend->read_slots(stream);
  const detail::raw_history history = m.backend->read_history(stream);
  h.clock = m.clock.load(std::memory_order_relaxed);
  h.created_ns = ops::to_ns(std::chrono::system_clock::now());
  h.entries = slots.slots.size();
  h.accesses_since_ageing = m.accesses_since_ageing.load(std::memory_order_relaxed);
  std::vector<std::byte> models;
  if (options.include_models && m.registry) {
    const model::registry_state rs = m.registry->state();
    h.models = rs.versions.size();
    models = ops::encode_registry(rs);
  }
  const std::vector<std::byte> head = h.encode();
  std::vector<ops::section_view> sections{
      {ops::tag_head, head},
      {ops::tag_slots, ops::as_bytes_of(slots.slots)},
      {ops::tag_keys, ops::as_bytes_of(slots.keys)},
      {ops::tag_scores, ops::as_bytes_of(slots.scores)},
      {ops::tag_meta, ops::as_bytes_of(slots.meta)},
      {ops::tag_values, ops::as_bytes_of(slots.values)}};
  if (h.sketch_width != 0) {
    sections.push_back({ops::tag_sketch, ops::as_bytes_of(history.sketch)});
    sections.push_back({ops::tag_ghost, ops::as_bytes_of(history.ghost)});
  }
  if (h.models != 0) sections.push_back({ops::tag_models, models});
  ops::write_snapshot_file(path, sections, options.progress);
  logger()->info("snapshot saved to {}: {} entries, {} model(s), {:.1f} ms", path.string(), h.entries, h.models,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
}

template <cache_key Key, cache_value T>
void cache<Key, T>::load_snapshot(const std::filesystem::path& path, stream_view stream) {
  auto& m = *impl_;
  const auto started = std::chrono::steady_clock::now();
  // Everything that can fail (reading, checking, allocating, uploading models) happens before the
  // contents change; after that only device copies remain.
  try {
    ops::decoded_snapshot<Key> d = ops::decode_snapshot<Key>(path, expected_head<Key, T>(m.config, m.shape));
    if (d.models && !m.registry) throw snapshot_error(ops::where_of(path) + ": it holds models, this cache's policy has none");
    if (d.models && m.learner && d.models->activations.empty())
      throw snapshot_error(ops::where_of(path) + ": its registry has no active model, which online learning needs");
    const std::function<void()> write_slots = m.backend->prepare_write_slots(d.slots, stream);
    // The online loop pauses while the registry and the contents are replaced. Sampled events from
    // before the load describe other contents and times: they are dropped.
    std::unique_lock<std::mutex> step;
    if (m.learner) step = std::unique_lock(m.step_mutex);
    if (d.models) {
      try {
        m.registry->restore(*d.models);
      } catch (const std::bad_alloc&) {
        throw;
      } catch (const std::exception& e) {
        throw snapshot_error(ops::where_of(path) + ": its models do not restore: " + e.what());
      }
    }
    if (m.learner) {  // after the models restored: a snapshot refused before this leaves the loop as it was
      try {
        (void)m.drain();  // best effort: the learner forgets the old stream anyway (restart below)
      } catch (...) {
      }
      m.last_kind.clear();
    }
    write_slots();  // copies only: nothing left to allocate
    m.backend->write_history(d.history, stream);
    m.clock.store(d.head.clock, std::memory_order_relaxed);
    m.accesses_since_ageing.store(d.head.accesses_since_ageing, std::memory_order_relaxed);
    if (m.learner) m.learner->restart(false);  // afresh, on the restored active model
    logger()->info("snapshot loaded from {}: {} entries, {} model(s), {:.1f} ms", path.string(), d.head.entries,
                   d.head.models, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  } catch (const std::bad_alloc&) {
    m.allocation_failures.fetch_add(1, std::memory_order_relaxed);
    throw snapshot_error(ops::where_of(path) + ": out of memory while loading it");
  }
}

template class cache<std::uint64_t, float>;
template class cache<std::uint64_t, half>;
template class cache<std::uint64_t, bfloat16>;
template class cache<std::uint64_t, std::int8_t>;
template class cache<std::uint64_t, std::byte>;
template class cache<std::uint32_t, float>;
template class cache<std::uint32_t, half>;
template class cache<std::uint32_t, bfloat16>;
template class cache<std::uint32_t, std::int8_t>;
template class cache<std::uint32_t, std::byte>;

}  // namespace belady
