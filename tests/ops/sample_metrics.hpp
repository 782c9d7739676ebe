#pragma once
// A metrics_snapshot with every field set to a value of its own, so a test can tell which field
// an exported figure came from; shared by metrics_export_test and metrics_dump.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "belady/metrics.hpp"

namespace belady::test {

/// The export bounds the recorder uses, in microseconds (a representative bucket layout).
inline const std::vector<double>& sample_bounds_us() {
  static const std::vector<double> bounds = {1,   2,   5,     10,  20,  50,  100, 200, 500, 1e3,   2e3,
                                             5e3, 1e4, 2e4,   5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7};
  return bounds;
}

/// Calls of operation number i: distinct per operation.
inline std::uint64_t sample_calls(int i) { return 1000 + 111 * static_cast<std::uint64_t>(i); }

/// Cumulative count under bound number b of operation i: rises with b, reaches every call at the
/// last finite bound, so the +Inf bucket adds nothing.
inline std::uint64_t sample_bucket_count(int i, std::size_t b) {
  const std::size_t n = sample_bounds_us().size();
  return sample_calls(i) * (b + 1) / n;
}

inline latency_summary sample_latency(int i) {
  latency_summary l;
  l.count = sample_calls(i);
  l.sum_us = static_cast<double>(l.count) * (7.25 + i);
  l.p50_us = 6.5 + i;
  l.p95_us = 40.25 + i;
  l.p99_us = 180.5 + i;
  l.max_us = 9000.75 + i;
  for (std::size_t b = 0; b < sample_bounds_us().size(); ++b)
    l.buckets.emplace_back(sample_bounds_us()[b], sample_bucket_count(i, b));
  l.buckets.emplace_back(std::numeric_limits<double>::infinity(), l.count);
  return l;
}

inline window_metrics sample_window(double seconds, double hit_ratio) {
  window_metrics w;
  w.seconds = seconds;
  w.covered_seconds = seconds - 0.25;
  w.lookups = static_cast<std::uint64_t>(seconds) * 40000;
  w.hits = static_cast<std::uint64_t>(static_cast<double>(w.lookups) * hit_ratio);
  w.hit_ratio = hit_ratio;
  w.calls = static_cast<std::uint64_t>(seconds) * 300;
  w.keys = static_cast<std::uint64_t>(seconds) * 90000;
  w.calls_per_second = static_cast<double>(w.calls) / w.covered_seconds;
  w.keys_per_second = static_cast<double>(w.keys) / w.covered_seconds;
  return w;
}

inline metrics_snapshot sample_metrics() {
  metrics_snapshot m;
  m.backend = "host";
  m.policy = "learned";
  m.capacity = 1048576;
  m.dim = 128;
  m.bucket_size = 32;
  m.uptime_seconds = 3723.5;
  m.clock = 987654;
  m.size = 901234;
  m.load_factor = 0.1 + 0.2;  // 0.30000000000000004: only a round-tripping format keeps it
  m.lookups = 5000000;
  m.hits = 4200000;
  m.hit_ratio = 0.84;
  m.windows = {sample_window(1, 0.5), sample_window(10, 0.625), sample_window(60, 0.8125)};
  m.inserted = 700001;
  m.assigned = 300002;
  m.evicted = 650003;
  m.refused = 4;
  m.erased = 12005;
  for (int i = 0; i < operation_count; ++i) {
    operation_metrics o;
    o.op = static_cast<operation>(i);
    o.calls = sample_calls(i);
    o.keys = sample_calls(i) * 256 + 7;
    o.errors = static_cast<std::uint64_t>(i) + 2;
    o.latency = sample_latency(i);
    m.operations.push_back(std::move(o));
  }
  m.calls_per_second = m.windows[1].calls_per_second;
  m.keys_per_second = m.windows[1].keys_per_second;
  m.device_bytes = 0;
  m.host_bytes = 2147483648;
  m.process_resident_bytes = 3221225472;
  m.active_model_version = 17;
  m.models_kept = 3;
  m.online = true;
  m.trainer_state = "training";
  m.trainer_busy_seconds = 125.125;
  m.trainer_time_share = 0.0336;
  m.promotions = 16;
  m.rejections = 5;
  m.rollbacks = 1;
  m.training_failures = 2;
  m.trainer_restarts = 6;
  m.sampled_events = 9007199254740993;  // 2^53 + 1: no double holds it, the text must
  m.sampled_events_dropped = 321;
  m.prediction_accuracy = 0.9375;
  m.workload_class = "zipfian";
  m.workload_switches = 7;
  m.degraded = true;
  m.alerts_warning = 2;
  m.alerts_critical = 1;
  return m;
}

/// Option labels whose values need every escape the format has.
inline prometheus_options sample_options() {
  prometheus_options o;
  o.prefix = "belady";
  o.labels = {{"cache", "embeddings"}, {"note", "say \"hi\"\\path\nnext line"}};
  return o;
}

}  // namespace belady::test
