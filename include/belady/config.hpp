#pragma once
/// @file
/// The one aggregate that configures a cache.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace belady {

/// How slots are scored. A full bucket evicts its lowest-scored slot; with admission control a
/// newcomer scoring lower than every resident is refused instead.
enum class policy : std::uint8_t {
  lru,     ///< score = logical time of the last access (insert or hit)
  lfu,     ///< score = access count (high bits), ties broken by recency (low bits)
  fifo,    ///< score = logical time of insertion; hits do not change it
  custom,  ///< score supplied by the caller with every insert or assign
  learned, ///< a model predicts each candidate's next use at eviction time (LRU until one is active)
};

[[nodiscard]] constexpr std::string_view to_string(policy p) noexcept {
  switch (p) {
    case policy::lru: return "lru";
    case policy::lfu: return "lfu";
    case policy::fifo: return "fifo";
    case policy::custom: return "custom";
    case policy::learned: return "learned";
  }
  return "unknown";
}

/// Which executor runs the per-key code.
enum class backend : std::uint8_t {
  automatic,  ///< cuda when built and a device is present, host otherwise
  host,       ///< CPU threads; buffers are host memory
  cuda,       ///< CUDA kernels; buffers passed to operations are device (or managed) memory
};

[[nodiscard]] constexpr std::string_view to_string(backend b) noexcept {
  switch (b) {
    case backend::automatic: return "automatic";
    case backend::host: return "host";
    case backend::cuda: return "cuda";
  }
  return "unknown";
}

/// Online learning (policy::learned only): the cache samples its own traffic, trains candidate
/// models in the background, promotes one only when it is significantly better in miniature
/// simulations (and not worse in a live A/B test), and rolls a promotion back when the live hit
/// ratio or latency degrades. See docs/online-learning.md.
/// Workload specialisation (docs/workload.md): the online learner classifies the sampled stream
/// and keeps one model per workload class, each learning online from the requests served while
/// its class was current; the classifier's verdict selects which one is active.
struct specialisation_config {
  bool enabled = false;
  /// Sampled requests per classification (a window of the sampled log): 1,024..65,536.
  std::size_t window = 4096;
  /// Sampled requests between classifications (windows overlap): 256..window; at most one per
  /// drain of the sample buffers (poll_interval_ms). A change of workload is noticed after about
  /// window / 2 + stable_windows x stride sampled requests.
  std::size_t stride = 1024;
  /// A class takes over only with at least this confidence (0.2..1)...
  double min_confidence = 0.6;
  /// ...in this many classifications in a row (1..16): a single odd window switches nothing.
  std::uint32_t stable_windows = 2;
  /// Serve a confidence-weighted ensemble of the class models (model::weighted_ensemble, one
  /// model inline) instead of the top class's model: each class's model weighs its class's
  /// probability, except that half of a mixed window's goes to the models of the patterns in its
  /// estimated blend. Rebuilt when the weights move by 0.2 or more (L1); a model with 90 % of
  /// the weight serves alone. A model the host activates becomes the current class's model.
  bool ensemble = false;
};

struct online_config {
  bool enabled = false;
  /// Share of keys sampled, by key hash (every access of a sampled key is seen): 0.001..0.05
  /// (up to 1 in manual mode, for replays of traces too small for a 5 % miniature).
  double sample_rate = 0.01;
  /// Events per sample buffer (two are kept, swapped at each drain); events beyond are dropped
  /// and counted, never waited for.
  std::size_t sample_buffer = std::size_t{1} << 16;
  /// Sampled requests kept for labels and training (older ones age out): 100,000..1,000,000.
  std::size_t window = 200'000;
  /// Labels are censored at this many capacities' worth of requests (converted to ticks with the
  /// stream's ticks per request). Longer than the offline trainer's 4: on the demo's workload 16
  /// gave a hit ratio of 0.491 against 0.481 with 4.
  double horizon_capacities = 16.0;
  /// Train a new candidate after this many new sampled requests...
  std::size_t train_every_samples = 20'000;
  /// ...and not more often than this (wall time; 0: no limit). Ignored in manual mode.
  std::uint32_t train_interval_ms = 1000;
  /// How often the trainer thread drains samples and checks a promotion (wall time).
  std::uint32_t poll_interval_ms = 10;
  /// No thread: the host drives the loop with cache::online_step() at times of its choosing, so a
  /// run is reproducible (belady-replay --online). Cadence and watch then count sampled requests.
  bool manual = false;
  // Trainer: warm-started Adam on the active model, penalised and with a bounded step.
  float learning_rate = 0.01f;
  float max_learning_rate = 0.05f;
  float l1 = 1e-6f;
  float l2 = 1e-4f;
  std::uint32_t epochs = 2;
  std::uint32_t mlp_hidden = 0;  ///< 0: linear models; 1..32: the first model is an MLP of this width
  /// The baseline (version 1: what the cache serves before the first promotion, and the version
  /// a run of rollbacks ends at) ranks by recency with S3-FIFO's two lessons about newcomers: a
  /// key accessed only once since it entered ranks as this many doublings (log2 units) staler,
  /// and a key that came back from the ghost filter as this many fresher. 0..8.
  float baseline_newcomer_shift = 3.0f;
  /// ...and with frequency: each doubling of a key's accesses since it entered makes it rank this
  /// many doublings fresher. 0..4. Both 0: plain recency (LRU over the whole bucket). The
  /// defaults moved the online report's median share of the LRU-to-OPT gap closed from 12 % to
  /// 23 % (docs/online-learning.md, "The baseline").
  float baseline_frequency_weight = 1.0f;
  /// ...and, when not 0, with the last gap between accesses: each doubling of a key's last gap
  /// makes it rank this many doublings fresher (a key on a long cycle is not gone). 0..2. At 0.25
  /// it helps traffic that cycles (the w106 storage trace at 50,000 and 100,000 keys: 28 % and
  /// 50 % of the LRU-to-OPT gap closed instead of 11 % and 27 %) and hurts recency-friendly
  /// traffic (scarab-recs), so it is off by default (docs/online-learning.md, "Sensitivity to the
  /// trainer's settings").
  float baseline_gap_weight = 0.0f;
  /// The trainer suspends while the cache's load (keys/s) exceeds this share of its measured peak.
  double yield_load = 0.8;
  // Evaluation.
  /// Share of buckets that serve the candidate model during its evaluation (live A/B): 0.01..0.10.
  double ab_fraction = 0.05;
  /// Sampled requests a miniature-simulation comparison needs before a decision (>= 1,000).
  std::size_t min_eval_requests = 1000;
  /// Without significance after this many, the candidate is rejected.
  std::size_t max_eval_requests = 50'000;
  /// One-sided p-value a promotion needs (McNemar's exact test on paired simulated outcomes).
  double significance = 0.01;
  // Rollback.
  /// Relative degradation of the live hit ratio or per-key latency that rolls back: 0.05..0.15.
  double rollback_threshold = 0.05;
  /// Requests (finds) the live watch needs before and after a promotion to compare them.
  std::size_t watch_min_requests = 2000;
  /// How long a promotion is watched: wall time, or in manual mode sampled requests.
  std::uint32_t watch_ms = 2000;
  std::size_t watch_samples = 20'000;
  std::uint64_t seed = 1;
  specialisation_config specialise{};
};

/// Operations: metrics, alerts, the trainer's restart policy, health thresholds.
struct ops_config {
  /// Record per-call metrics (two clock reads and a few relaxed atomic adds per batch call).
  bool metrics = true;
  /// How often the monitor thread evaluates alert rules. The thread starts with the first
  /// subscription and evaluates while rules and subscribers exist (it only wakes otherwise).
  /// Hit-ratio and latency rules need metrics (above): with metrics off they are never judged.
  std::uint32_t alert_interval_ms = 1000;
  /// After a failure of the online loop (a failed training round or drain), the trainer waits
  /// this long before it restarts, doubling with each further failure in a row up to the max;
  /// the cache serves meanwhile. A restart drops the learner's evaluation and training window.
  std::uint32_t trainer_backoff_ms = 100;
  std::uint32_t trainer_backoff_max_ms = 30'000;
  /// health() reports degraded after this many trainer failures in a row...
  std::uint32_t degraded_trainer_failures = 3;
  /// ...or this many rollbacks within rollback_window_s.
  std::uint32_t degraded_rollbacks = 3;
  std::uint32_t rollback_window_s = 600;
};

struct cache_config {
  /// Number of key slots. Rounded up to a whole number of buckets.
  std::size_t capacity = 0;
  /// Elements per value vector.
  std::size_t dim = 1;
  /// Slots per bucket (1..1024). A key may live in any slot of its bucket.
  std::uint32_t bucket_size = 128;
  policy eviction = policy::lru;
  backend executor = backend::automatic;
  /// Host backend worker threads (0: one per hardware thread). 1 gives a sequential,
  /// fully deterministic execution order.
  std::uint32_t host_threads = 0;
  /// CUDA device ordinal for the cuda backend.
  int device = 0;

  // policy::learned only
  /// Slots scored by the model when a bucket must evict: a strided sample of the bucket at an
  /// offset that moves with time, so every slot is equally likely to be scored (1..bucket_size;
  /// clamped). Scoring all 128 slots costs more than it gains.
  std::uint32_t learned_candidates = 16;
  /// Admission control: refuse a newcomer predicted to be requested later than every candidate.
  bool learned_admission = false;
  /// Half-life of the decayed access counter feature, in logical ticks (0: capacity).
  double decay_half_life = 0;
  /// Online learning (off by default).
  online_config online{};
  /// Metrics, alerts, trainer restarts, health.
  ops_config ops{};
};

}  // namespace belady
