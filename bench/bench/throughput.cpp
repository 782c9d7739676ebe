// belady-bench: batch throughput of find, insert_or_assign and find_or_insert in keys/s, under
// the conditions of NVIDIA HierarchicalKV's published benchmark table (benchmark/
// merlin_hashtable_benchmark.cc.cu there): u64 keys, f32 values, 1,048,576 keys per call, LRU,
// load factor 0.5 and 1.0, dim 8/32/64, 60% of each batch present in the table. Plus the per-policy
// cost (lru / lfu / fifo) at dim 32, load factor 1.0, to compare later policies as a ratio of LRU
// measured in the same run. Methodology: docs/benchmarks.md.
//
// Environment:
//   BELADY_BENCH_BACKEND     host (default) | cuda
//   BELADY_BENCH_CAPACITY    table slots (default 2^22 on host, 2^26 on cuda)
//   BELADY_BENCH_HIT_RATIO   fraction of each batch drawn from resident keys (default 0.6, HKV's)
//   BELADY_BENCH_ITERATIONS  timed calls per run (default 3 on host, 10 on cuda)
//   BELADY_BENCH_THREADS     host backend worker threads (default 0: one per hardware thread)
//   BELADY_BENCH_KEEP_TABLES loaded tables kept between benchmarks (default 1; 3 for an
//                            interleaved policy comparison, see docs/benchmarks.md)
//   BELADY_BENCH_VERBOSE     1: print the untimed set-up and restore costs to stderr
#include <benchmark/benchmark.h>

#include "belady/model/registry.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "belady/cache.hpp"
#include "device_memory.hpp"

namespace {

using key_t = std::uint64_t;
using value_t = float;
using cache_t = belady::cache<key_t, value_t>;
using belady_bench::buffer;
using belady_bench::memory;

constexpr std::size_t kBatch = std::size_t{1} << 20;  // keys per call, as in HKV's table
/// Ranks of keys that are never inserted by the prefill: the new keys of every batch.
constexpr key_t kNewKeyBase = key_t{1} << 40;
/// HKV tops the table up until the load factor is within this of the target.
constexpr double kLoadFactorEpsilon = 0.001;

// ---------------------------------------------------------------------------------------------
// Options from the environment

struct options {
  belady::backend executor = belady::backend::host;
  std::size_t capacity = std::size_t{1} << 22;
  double hit_ratio = 0.6;
  std::int64_t iterations = 3;
  std::uint32_t host_threads = 0;
  std::uint32_t bucket_size = 128;
  std::size_t keep_tables = 1;
  bool verbose = false;
  std::string unavailable;  ///< non-empty: why the chosen backend cannot run here
};

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

[[noreturn]] void bad_env(const char* name, const char* value, const char* expected) {
  std::fprintf(stderr, "belady-bench: %s=%s: expected %s\n", name, value, expected);
  std::exit(2);
}

std::uint64_t env_uint(const char* name, std::uint64_t fallback, std::uint64_t lo) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v, &end, 0);
  if (end == v || *end != '\0' || x < lo) bad_env(name, v, "an unsigned integer in range");
  return x;
}

options read_options() {
  options o;
  const char* b = env("BELADY_BENCH_BACKEND");
  const std::string_view which = b != nullptr ? b : "host";
  if (which == "host") {
    o.executor = belady::backend::host;
  } else if (which == "cuda") {
    o.executor = belady::backend::cuda;
    o.capacity = std::size_t{1} << 26;
    o.iterations = 10;
    if (!belady_bench::have_cudart)
      o.unavailable =
          "BELADY_BENCH_BACKEND=cuda, but belady-bench was built without the CUDA runtime "
          "(no CUDA::cudart target: configure with a CUDA toolkit)";
    else if (!belady::cuda_backend_built())
      o.unavailable =
          "BELADY_BENCH_BACKEND=cuda, but this belady build has no cuda backend (BELADY_CUDA=OFF "
          "or no CUDA compiler at configure time)";
    else if (!belady::cuda_backend_available())
      o.unavailable = "BELADY_BENCH_BACKEND=cuda, but no usable CUDA device answers on this machine";
  } else {
    bad_env("BELADY_BENCH_BACKEND", b, "host or cuda");
  }
  o.capacity = env_uint("BELADY_BENCH_CAPACITY", o.capacity, 1);
  o.iterations = static_cast<std::int64_t>(env_uint("BELADY_BENCH_ITERATIONS", o.iterations, 1));
  o.host_threads = static_cast<std::uint32_t>(env_uint("BELADY_BENCH_THREADS", 0, 0));
  o.verbose = env_uint("BELADY_BENCH_VERBOSE", 0, 0) != 0;
  o.keep_tables = env_uint("BELADY_BENCH_KEEP_TABLES", 1, 1);
  if (const char* h = env("BELADY_BENCH_HIT_RATIO")) {
    char* end = nullptr;
    o.hit_ratio = std::strtod(h, &end);
    if (end == h || *end != '\0' || !(o.hit_ratio >= 0.0 && o.hit_ratio <= 1.0))
      bad_env("BELADY_BENCH_HIT_RATIO", h, "a number in [0, 1]");
  }
  return o;
}

options& opts() {
  static options o;
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// A loaded table plus its staged batch, shared by consecutive benchmarks of the same dim and
// policy (a table at load factor 0.5 is topped up to 1.0 rather than rebuilt).

enum class op { find, insert_or_assign, find_or_insert };

std::string_view name_of(op o) {
  switch (o) {
    case op::find: return "find";
    case op::insert_or_assign: return "insert_or_assign";
    case op::find_or_insert: return "find_or_insert";
  }
  return "?";
}

/// What the measured calls did, summed over calls.
struct outcome {
  /// Keys found present when accessed (find, find_or_insert: found; insert_or_assign: assigned).
  std::size_t present = 0;
  std::size_t evicted = 0;  ///< insert_or_assign
  std::size_t refused = 0;  ///< insert_or_assign (admission)
  outcome& operator+=(const outcome& o) {
    present += o.present;
    evicted += o.evicted;
    refused += o.refused;
    return *this;
  }
};

/// The learned policy's model for the cost measurement: every weight non-zero so that nothing
/// is skipped, but recency dominates so that the learned table evicts about what LRU's does.
/// Otherwise the model's choices change the workload (it evicts keys the next batch finds, so
/// more keys miss and are inserted) and the ratio to LRU mixes predictor cost with hit ratio.
belady::model::model_params bench_model() {
  belady::model::model_params p;
  p.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) {
    p.mean[i] = 1.0f;
    p.inv_std[i] = 0.5f;
    p.w[i] = (i % 2 ? -1e-4f : 1e-4f) * float(i + 1);
  }
  p.w[0] = 1.0f;  // recency
  return p;
}

/// Online learning on a learned table: off; sampling only (the per-key cost: manual mode with
/// nobody draining, so once the buffer is full every sampled event takes the drop path, which
/// costs what an append does); or the whole loop in its thread at its default cadence (a round
/// at most every second) but never yielding: its worst case, as on this 2-core machine the
/// learner competes with the host backend's workers for the CPU.
enum class online_mode { off, sampling, trainer };

const char* name_of(online_mode m) {
  switch (m) {
    case online_mode::off: return "";
    case online_mode::sampling: return "+sampling";
    case online_mode::trainer: return "+trainer";
  }
  return "";
}

struct shape {
  std::size_t dim;
  double load_factor;
  belady::policy eviction;
  online_mode online = online_mode::off;
  bool metrics = true;  ///< cache_config::ops.metrics
};

class fixture {
 public:
  /// An empty table of the shape's dim and policy, with the batch buffers; fill_to() loads it.
  fixture(const options& o, const shape& s)
      : shape_{s.dim, 0.0, s.eviction, s.online, s.metrics},
        where_(o.executor == belady::backend::cuda ? memory::device : memory::host),
        hit_ratio_(o.hit_ratio) {
    belady::cache_config c;
    c.capacity = o.capacity;
    c.dim = s.dim;
    c.bucket_size = o.bucket_size;
    c.eviction = s.eviction;
    c.executor = o.executor;
    c.ops.metrics = s.metrics;
    c.host_threads = o.host_threads;
    if (s.online != online_mode::off) {
      c.online.enabled = true;  // the default 1 % sampling rate, drained by the trainer thread
      c.online.yield_load = 1e9;  // never suspend: measure the trainer's interference
      if (s.online == online_mode::sampling) c.online.manual = true;  // default cadence otherwise
    }
    cache_ = std::make_unique<cache_t>(c);
    if (s.eviction == belady::policy::learned) cache_->models().install(bench_model());
    keys_ = buffer<key_t>(where_, kBatch);
    scratch_ = buffer<key_t>(where_, kBatch);
    values_ = buffer<value_t>(where_, kBatch * s.dim);
    found_ = buffer<bool>(where_, kBatch);
  }

  /// Whether fill_to(s.load_factor) can produce `s` from this table (same dim and policy, and
  /// the load factor only grows: keys are added, never removed).
  [[nodiscard]] bool can_become(const shape& s) const {
    return same_table(s) && s.load_factor >= shape_.load_factor;
  }
  [[nodiscard]] bool same_table(const shape& s) const {
    return s.dim == shape_.dim && s.eviction == shape_.eviction && s.online == shape_.online &&
           s.metrics == shape_.metrics;
  }

  /// Loads the table to `lf` (continuing from its present content), samples the present part of
  /// the batch from the resident keys and stages the batch.
  void fill_to(double lf) {
    if (lf == shape_.load_factor && filled_) return;
    const auto t0 = std::chrono::steady_clock::now();
    shape_.load_factor = lf;
    prefill();
    residents_ = export_residents();
    stage_batch();
    base_size_ = cache_->size();
    filled_ = true;
    std::fill(std::begin(warmed_), std::end(warmed_), false);
    if (opts().verbose)
      std::fprintf(stderr,
                   "[belady-bench] table dim %zu lf %.2f %s: %zu slots, %zu keys inserted so far, load %.4f, "
                   "fill %.2f s\n",
                   shape_.dim, lf, std::string(belady::to_string(shape_.eviction)).c_str(),
                   cache_->capacity(), std::size_t(next_rank_), load_factor_, seconds_since(t0));
  }

  /// Whether `o` runs for the first time on this table (first launches and touches are ahead).
  bool first_run(op o) {
    const bool first = !warmed_[static_cast<int>(o)];
    warmed_[static_cast<int>(o)] = true;
    return first;
  }

  [[nodiscard]] double prefill_load_factor() const { return load_factor_; }
  [[nodiscard]] double batch_present_fraction() const { return double(hits_host_.size()) / double(kBatch); }

  /// One measured call.
  outcome run(op o) {
    const auto keys = std::span<const key_t>(keys_.data(), kBatch);
    outcome r;
    switch (o) {
      case op::find: r.present = cache_->find(keys, values_.span(), found_.span()); break;
      case op::insert_or_assign: {
        const belady::insert_result w =
            cache_->insert_or_assign(keys, std::span<const value_t>(values_.data(), values_.size()));
        r.present = w.assigned;
        r.evicted = w.evicted;
        r.refused = w.refused;
        break;
      }
      case op::find_or_insert: r.present = cache_->find_or_insert(keys, values_.span(), found_.span()); break;
    }
    return r;
  }

  /// Untimed, after a write call (`last` is what it did): brings the table and the batch back to
  /// the measured condition. Returns false, with the reason, if that failed.
  ///
  /// Below 1.0 the call inserted its new keys into free slots: erasing them restores the key set
  /// exactly. At 1.0 the call evicted a resident for each new key; the table stays full, so the
  /// new keys stay, the next call gets fresh never-seen keys at the same batch positions, and
  /// the present part of the batch is checked (contains) and re-inserted where the policy evicted
  /// some of it. LRU never evicts them: a call's keys all carry its own time, the newest score.
  bool restore(op o, const outcome& last, std::string& why) {
    if (o == op::find) return true;  // find changes scores only
    if (shape_.load_factor < 1.0) {
      if (new_keys_.size() != 0) cache_->erase(std::span<const key_t>(new_keys_.data(), new_keys_.size()));
      std::size_t size = cache_->size();
      if (size != base_size_) {
        // A bucket overflowed and evicted residents (rare at the default capacity; routine when
        // the table is small for the batch): find them and put them back into the freed slots.
        insert_all(missing_residents());
        size = cache_->size();
      }
      if (size != base_size_) {
        why = "restoring the table failed: " + std::to_string(size) + " keys instead of " +
              std::to_string(base_size_);
        return false;
      }
      return true;
    }
    for (std::uint32_t pos : new_positions_) batch_host_[pos] = fresh_next_++;
    keys_.upload(batch_host_.data(), kBatch);
    if (shape_.eviction != belady::policy::lru || last.present < hits_host_.size()) {
      // A re-inserted key may evict another present key (FIFO evicts the oldest insertion, and
      // the present keys are old), so a few rounds; a remainder of a few keys per million is left
      // to the next call, whose hit_ratio counter shows it.
      for (int round = 0; round < 3; ++round) {
        cache_->contains(std::span<const key_t>(hits_.data(), hits_.size()), hits_found_.span());
        hits_found_.download(hits_found_host_.get(), hits_.size());
        std::vector<key_t> missing;
        for (std::size_t i = 0; i < hits_host_.size(); ++i)
          if (!hits_found_host_[i]) missing.push_back(hits_host_[i]);
        if (missing.empty()) break;
        insert_all(missing);
      }
    }
    const std::size_t size = cache_->size();
    if (size < base_size_) {
      why = "the full table lost keys: " + std::to_string(size) + " instead of at least " +
            std::to_string(base_size_);
      return false;
    }
    return true;
  }

 private:
  /// The keys resident after the fill that are absent now (contains, a batch at a time).
  std::vector<key_t> missing_residents() {
    std::vector<key_t> missing;
    auto flags = std::make_unique<bool[]>(kBatch);
    for (std::size_t at = 0; at < residents_.size(); at += kBatch) {
      const std::size_t n = std::min(kBatch, residents_.size() - at);
      scratch_.upload(residents_.data() + at, n);
      cache_->contains(std::span<const key_t>(scratch_.data(), n), found_.span(n));
      found_.download(flags.get(), n);
      for (std::size_t i = 0; i < n; ++i)
        if (!flags[i]) missing.push_back(residents_[at + i]);
    }
    return missing;
  }

  /// Inserts host keys in batches through the scratch buffer (values: whatever values_ holds).
  void insert_all(const std::vector<key_t>& keys) {
    for (std::size_t at = 0; at < keys.size(); at += kBatch) {
      const std::size_t n = std::min(kBatch, keys.size() - at);
      scratch_.upload(keys.data() + at, n);
      cache_->insert_or_assign(std::span<const key_t>(scratch_.data(), n),
                               std::span<const value_t>(values_.data(), n * shape_.dim));
    }
  }

  /// HKV's procedure: insert LF * capacity distinct keys, then top up with further new keys until
  /// the measured load factor is within 0.001 of the target (at 1.0 a set-associative table
  /// evicts from full buckets while others still have room, so it takes more keys than slots).
  void prefill() {
    const std::size_t capacity = cache_->capacity();
    const auto target = static_cast<std::size_t>(std::llround(shape_.load_factor * double(capacity)));
    std::vector<key_t> keys;
    keys.reserve(kBatch);
    auto insert_next = [&](std::size_t n) {
      keys.clear();
      for (std::size_t i = 0; i < n; ++i) keys.push_back(next_rank_++);
      insert_all(keys);
    };
    // Keys are the ranks 0, 1, 2, ... (distinct; the table hashes them). A table topped up from a
    // lower load factor continues where it stopped.
    while (next_rank_ < target) insert_next(std::min<std::size_t>(kBatch, target - next_rank_));
    double lf = cache_->load_factor();
    for (int round = 0; round < 256 && shape_.load_factor - lf > kLoadFactorEpsilon; ++round) {
      const auto deficit = static_cast<std::size_t>((shape_.load_factor - lf) * double(capacity));
      // Near 1.0 most keys land in full buckets and evict: top up a whole batch at a time.
      insert_next(std::clamp<std::size_t>(shape_.load_factor >= 1.0 ? kBatch : deficit, 1, kBatch));
      lf = cache_->load_factor();
    }
    load_factor_ = lf;
  }

  /// The resident keys (exported, so that evictions during the prefill are accounted exactly).
  std::vector<key_t> export_residents() {
    std::vector<key_t> residents;
    const std::size_t capacity = cache_->capacity();
    std::vector<key_t> chunk(kBatch);
    for (std::size_t offset = 0; offset < capacity; offset += kBatch) {
      const std::size_t count = std::min(kBatch, capacity - offset);
      const std::size_t got = cache_->export_batch(offset, count, scratch_.span(), values_.span());
      scratch_.download(chunk.data(), got);
      residents.insert(residents.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    }
    if (residents.size() != cache_->size())
      throw std::runtime_error("belady-bench: export_batch returned " + std::to_string(residents.size()) +
                               " keys, size() says " + std::to_string(cache_->size()));
    return residents;
  }

  /// The measured batch: hit_ratio * 2^20 distinct resident keys (a seeded random sample) and
  /// the rest keys never inserted, shuffled together.
  void stage_batch() {
    std::vector<key_t>& residents = residents_;  // a set: the partial shuffle below is harmless
    std::mt19937_64 rng(0xbe1ad1);
    const std::size_t n_hit = std::min<std::size_t>(
        static_cast<std::size_t>(std::llround(hit_ratio_ * double(kBatch))), residents.size());
    for (std::size_t i = 0; i < n_hit; ++i) {  // partial Fisher-Yates
      std::uniform_int_distribution<std::size_t> pick(i, residents.size() - 1);
      std::swap(residents[i], residents[pick(rng)]);
    }
    hits_host_.assign(residents.begin(), residents.begin() + static_cast<std::ptrdiff_t>(n_hit));
    std::vector<key_t> fresh;
    for (std::size_t i = n_hit; i < kBatch; ++i) fresh.push_back(kNewKeyBase + i);
    fresh_next_ = kNewKeyBase + kBatch;

    // Tag the new keys' positions through the shuffle (a permutation of indices).
    std::vector<std::uint32_t> order(kBatch);
    for (std::uint32_t i = 0; i < kBatch; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    batch_host_.assign(kBatch, 0);
    new_positions_.clear();
    for (std::size_t pos = 0; pos < kBatch; ++pos) {
      const std::uint32_t src = order[pos];
      if (src < n_hit) {
        batch_host_[pos] = hits_host_[src];
      } else {
        batch_host_[pos] = fresh[src - n_hit];
        new_positions_.push_back(static_cast<std::uint32_t>(pos));
      }
    }
    keys_.upload(batch_host_.data(), kBatch);
    new_keys_ = buffer<key_t>(where_, fresh.size());
    new_keys_.upload(fresh.data(), fresh.size());
    hits_ = buffer<key_t>(where_, n_hit);
    hits_.upload(hits_host_.data(), n_hit);
    hits_found_ = buffer<bool>(where_, n_hit);
    hits_found_host_ = std::make_unique<bool[]>(n_hit);
  }

  shape shape_;
  memory where_;
  double hit_ratio_;
  bool filled_ = false;
  bool warmed_[3] = {};
  std::unique_ptr<cache_t> cache_;
  buffer<key_t> keys_;      ///< the measured batch
  buffer<key_t> scratch_;   ///< staging for prefill, export and re-inserts
  buffer<value_t> values_;  ///< kBatch * dim: the batch's values in and out
  buffer<bool> found_;
  buffer<key_t> new_keys_;  ///< the batch's absent keys as staged (erased again below 1.0)
  buffer<key_t> hits_;      ///< the batch's present keys
  buffer<bool> hits_found_;
  std::unique_ptr<bool[]> hits_found_host_;
  std::vector<key_t> residents_;  ///< resident keys after the fill
  std::vector<key_t> hits_host_;
  std::vector<key_t> batch_host_;
  std::vector<std::uint32_t> new_positions_;  ///< where the absent keys sit in the batch
  key_t next_rank_ = 0;                       ///< next prefill key
  key_t fresh_next_ = 0;                      ///< next never-seen key (at load factor 1.0)
  std::size_t base_size_ = 0;                 ///< size() after the fill
  double load_factor_ = 0;
};

/// The loaded tables kept between benchmarks, least recently used first. Registration order
/// needs one; BELADY_BENCH_KEEP_TABLES > 1 keeps several, so that a run with
/// --benchmark_enable_random_interleaving (e.g. of the policy lines) does not reload a table
/// for every repetition.
std::vector<std::unique_ptr<fixture>>& tables() {
  static std::vector<std::unique_ptr<fixture>> t;
  return t;
}

fixture& fixture_for(const shape& s) {
  auto& t = tables();
  auto it = std::find_if(t.begin(), t.end(), [&](const auto& f) { return f->can_become(s); });
  std::unique_ptr<fixture> f;
  if (it != t.end()) {
    f = std::move(*it);
    t.erase(it);
  } else {
    // Same dim and policy at a higher load factor cannot be emptied back down: drop it. Then free
    // the least recently used first, as two large tables may not fit side by side.
    std::erase_if(t, [&](const auto& g) { return g->same_table(s); });
    while (!t.empty() && t.size() >= opts().keep_tables) t.erase(t.begin());
    f = std::make_unique<fixture>(opts(), s);
  }
  f->fill_to(s.load_factor);
  t.push_back(std::move(f));
  return *t.back();
}

// ---------------------------------------------------------------------------------------------
// The benchmark body

void run_benchmark(benchmark::State& state, op o, shape s) {
  if (!opts().unavailable.empty()) {
    state.SkipWithError(opts().unavailable.c_str());
    return;
  }
  try {
    fixture& f = fixture_for(s);
    std::string why;
    // Warm-up (untimed), once per table and operation: first kernel launches (lazy loading on
    // cuda), first touches of the batch buffers.
    if (f.first_run(o)) {
      const outcome warm = f.run(o);
      if (!f.restore(o, warm, why)) {
        state.SkipWithError(why.c_str());
        return;
      }
    }
    outcome total;
    double restore_s = 0;
    for (auto _ : state) {
      const outcome r = f.run(o);
      total += r;
      if (o != op::find) {
        state.PauseTiming();
        const auto t0 = std::chrono::steady_clock::now();
        const bool ok = f.restore(o, r, why);
        restore_s += seconds_since(t0);
        state.ResumeTiming();
        if (!ok) {
          state.SkipWithError(why.c_str());
          break;
        }
      }
    }
    if (opts().verbose && o != op::find)
      std::fprintf(stderr, "[belady-bench] %s dim %zu lf %.2f: restore %.3f s per call\n",
                   std::string(name_of(o)).c_str(), s.dim, s.load_factor,
                   restore_s / double(state.iterations()));
    const double keys = double(kBatch) * double(state.iterations());
    state.counters["keys/s"] = benchmark::Counter(keys, benchmark::Counter::kIsRate);
    state.counters["load_factor"] = f.prefill_load_factor();
    // present: the share of the batch staged from resident keys; hit_ratio: the share found
    // present when accessed (assigned, for insert_or_assign).
    state.counters["present"] = f.batch_present_fraction();
    state.counters["hit_ratio"] = double(total.present) / keys;
    if (o == op::insert_or_assign) {
      state.counters["evicted"] = double(total.evicted) / keys;
      if (total.refused != 0) state.counters["refused"] = double(total.refused) / keys;
    }
  } catch (const std::exception& e) {
    tables().clear();
    state.SkipWithError(e.what());
  }
}

std::string lf_name(double lf) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", lf);
  return buf;
}

void add(const std::string& name, op o, shape s) {
  benchmark::RegisterBenchmark(name.c_str(), [o, s](benchmark::State& st) { run_benchmark(st, o, s); })
      ->Iterations(opts().iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

void register_all() {
  const op ops[] = {op::find, op::insert_or_assign, op::find_or_insert};
  // Ordered so that consecutive benchmarks share a prefilled table.
  for (std::size_t dim : {8, 32, 64})
    for (double lf : {0.5, 1.0})
      for (op o : ops)
        add(std::string(name_of(o)) + "/lf:" + lf_name(lf) + "/dim:" + std::to_string(dim), o,
            {dim, lf, belady::policy::lru});
  // Per-policy cost at dim 32, LF 1.0 (find: score update on a hit; insert_or_assign: victim
  // choice on every eviction; learned: the model scores 16 candidates per eviction and keeps
  // its key history). Compare as ratios to the lru line of the same run.
  for (belady::policy p : {belady::policy::lru, belady::policy::lfu, belady::policy::fifo, belady::policy::learned})
    for (op o : {op::find, op::insert_or_assign})
      add("policy/" + std::string(name_of(o)) + "/" + std::string(belady::to_string(p)) + "/lf:1.00/dim:32",
          o, {32, 1.0, p});
  // Online learning's cost on the learned table: compare with the policy/.../learned lines.
  for (online_mode m : {online_mode::sampling, online_mode::trainer})
    for (op o : {op::find, op::insert_or_assign})
      add("online/" + std::string(name_of(o)) + "/learned" + name_of(m) + "/lf:1.00/dim:32", o,
          {32, 1.0, belady::policy::learned, m});
  // Metrics' cost (two clock reads and a few atomic adds per call): the lru lines above record
  // metrics, as every cache does by default; these do not.
  for (op o : {op::find, op::insert_or_assign})
    add("ops/" + std::string(name_of(o)) + "/lru-metrics/lf:1.00/dim:32", o,
        {32, 1.0, belady::policy::lru, online_mode::off, false});
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  opts() = read_options();
  const options& o = opts();
  if (!o.unavailable.empty())
    std::fprintf(stderr, "belady-bench: %s; every benchmark is skipped\n", o.unavailable.c_str());
  benchmark::AddCustomContext("belady.backend", std::string(belady::to_string(o.executor)));
  benchmark::AddCustomContext("belady.capacity", std::to_string(o.capacity));
  benchmark::AddCustomContext("belady.bucket_size", std::to_string(o.bucket_size));
  benchmark::AddCustomContext("belady.keys_per_call", std::to_string(kBatch));
  benchmark::AddCustomContext("belady.hit_ratio", std::to_string(o.hit_ratio));
  benchmark::AddCustomContext("belady.iterations", std::to_string(o.iterations));
  if (o.executor == belady::backend::host)
    benchmark::AddCustomContext("belady.host_threads",
                                o.host_threads == 0 ? "hardware" : std::to_string(o.host_threads));
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  tables().clear();  // free device memory before the CUDA runtime tears down
  return o.unavailable.empty() ? 0 : 1;
}
