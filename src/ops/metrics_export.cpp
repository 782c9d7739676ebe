// Exporters of a metrics_snapshot: the Prometheus text exposition format (version 0.0.4) and JSON.
// Both are written by hand: the formats are small, and a dependency for them is not worth it.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "belady/error.hpp"
#include "belady/metrics.hpp"

namespace belady {
namespace {

// ---------------------------------------------------------------------------------------------
// Text helpers shared by both formats.

/// The shortest decimal text that reads back as the same double (std::to_chars guarantees the
/// round trip). Only for finite values: each format spells infinity and NaN its own way.
std::string shortest_text(double x) {
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), x);
  return std::string(buffer.data(), result.ptr);
}

std::string integer_text(std::uint64_t x) {
  std::array<char, 24> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), x);
  return std::string(buffer.data(), result.ptr);
}

/// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when the byte there does not
/// start one (a stray continuation byte, an overlong form, a surrogate, a value past U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // shorter forms are overlong
    if (lead == 0xED) second_max = 0x9F;  // U+D800..U+DFFF are surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  if (byte(i + 1) < second_min || byte(i + 1) > second_max) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

/// Calls on_ascii(c) for each ASCII character and appends every other well-formed UTF-8
/// sequence as it is; a byte that starts none becomes U+FFFD. Both formats must be valid UTF-8
/// (Prometheus rejects a label value that is not), and the strings come from users.
template <class OnAscii>
void append_utf8_escaped(std::string& out, std::string_view s, OnAscii on_ascii) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t length = utf8_sequence_length(s, i);
    if (length == 1) {
      on_ascii(s[i]);
    } else if (length == 0) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(s, i, length);
    }
    i += std::max<std::size_t>(length, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus.

bool is_letter_or_underscore(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_metric_name(std::string_view s) {
  if (s.empty() || is_digit(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_letter_or_underscore(c) || is_digit(c) || c == ':'; });
}

/// [a-zA-Z_][a-zA-Z0-9_]*
bool is_label_name(std::string_view s) {
  if (s.empty() || is_digit(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_letter_or_underscore(c) || is_digit(c); });
}

/// Label names the exporter puts on some of its own samples: an option label of the same name
/// would give those samples a duplicate label, which Prometheus rejects.
constexpr std::array<std::string_view, 9> exporter_label_names = {"backend", "policy", "window", "kind", "class",
                                                                  "level",   "state",  "op",     "le"};

[[noreturn]] void reject_label(std::string_view name, std::string_view why) {
  throw invalid_argument("belady: prometheus_options.labels: \"" + std::string(name) + "\" " + std::string(why));
}

void validate(const prometheus_options& options) {
  if (!is_metric_name(options.prefix))
    throw invalid_argument("belady: prometheus_options.prefix: \"" + options.prefix +
                           "\" is not a valid metric name prefix (expected [a-zA-Z_:][a-zA-Z0-9_:]*)");
  for (std::size_t i = 0; i < options.labels.size(); ++i) {
    const std::string& name = options.labels[i].first;
    if (!is_label_name(name)) reject_label(name, "is not a valid label name (expected [a-zA-Z_][a-zA-Z0-9_]*)");
    if (name.starts_with("__")) reject_label(name, "starts with \"__\", which Prometheus reserves");
    if (std::find(exporter_label_names.begin(), exporter_label_names.end(), name) != exporter_label_names.end())
      reject_label(name, "is a label the exporter sets itself");
    for (std::size_t j = 0; j < i; ++j)
      if (options.labels[j].first == name) reject_label(name, "appears more than once");
  }
}

std::string prometheus_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "+Inf" : "-Inf";
  return shortest_text(x);
}
std::string prometheus_number(std::uint64_t x) { return integer_text(x); }
std::string prometheus_flag(bool on) { return on ? "1" : "0"; }

std::string escape_label_value(std::string_view s) {
  std::string out;
  append_utf8_escaped(out, s, [&](char c) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  });
  return out;
}

/// HELP text escapes only backslash and newline; a double quote stays as it is.
std::string escape_help(std::string_view s) {
  std::string out;
  append_utf8_escaped(out, s, [&](char c) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  });
  return out;
}

using label_list = std::initializer_list<std::pair<std::string_view, std::string_view>>;

/// Writes families one after the other: a family's HELP and TYPE, then its samples, each with
/// the option labels first and its own labels after them.
class exposition_writer {
 public:
  explicit exposition_writer(const prometheus_options& options) : prefix_(options.prefix + "_") {
    for (const auto& [name, value] : options.labels) {
      if (!common_labels_.empty()) common_labels_ += ',';
      common_labels_ += name + "=\"" + escape_label_value(value) + '"';
    }
  }

  void begin_family(std::string_view name, std::string_view type, std::string_view help) {
    family_ = prefix_ + std::string(name);
    out_ += "# HELP " + family_ + ' ' + escape_help(help) + '\n';
    out_ += "# TYPE " + family_ + ' ' + std::string(type) + '\n';
  }

  /// One sample of the current family; suffix is "_bucket", "_sum" or "_count" for histograms.
  void sample(const std::string& value, label_list labels = {}, std::string_view suffix = {}) {
    out_ += family_;
    out_ += suffix;
    std::string rendered = common_labels_;
    for (const auto& [name, label_value] : labels) {
      if (!rendered.empty()) rendered += ',';
      rendered += std::string(name) + "=\"" + escape_label_value(label_value) + '"';
    }
    if (!rendered.empty()) out_ += '{' + rendered + '}';
    out_ += ' ' + value + '\n';
  }

  void gauge(std::string_view name, std::string_view help, const std::string& value) {
    begin_family(name, "gauge", help);
    sample(value);
  }

  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    begin_family(name, "counter", help);
    sample(prometheus_number(value));
  }

  std::string take() { return std::move(out_); }

 private:
  std::string prefix_;
  std::string common_labels_;  // rendered once: they go on every sample
  std::string family_;
  std::string out_;
};

/// The operations to export, first occurrence of each: a repeated entry would repeat series,
/// which makes the whole scrape invalid.
std::vector<const operation_metrics*> distinct_operations(const metrics_snapshot& m) {
  std::array<bool, 256> seen{};
  std::vector<const operation_metrics*> out;
  for (const operation_metrics& o : m.operations) {
    auto& already = seen[static_cast<std::uint8_t>(o.op)];
    if (!already) out.push_back(&o);
    already = true;
  }
  return out;
}

std::string window_label(const window_metrics& w) { return prometheus_number(w.seconds) + "s"; }

/// The windows to export, one per distinct label, for the same reason as distinct_operations().
std::vector<const window_metrics*> distinct_windows(const metrics_snapshot& m) {
  std::vector<std::string> seen;
  std::vector<const window_metrics*> out;
  for (const window_metrics& w : m.windows) {
    std::string label = window_label(w);
    if (std::find(seen.begin(), seen.end(), label) != seen.end()) continue;
    seen.push_back(std::move(label));
    out.push_back(&w);
  }
  return out;
}

void write_identity(exposition_writer& w, const metrics_snapshot& m) {
  w.begin_family("info", "gauge", "Constant 1, labelled with the cache's backend and eviction policy.");
  w.sample("1", {{"backend", m.backend}, {"policy", m.policy}});
  w.gauge("capacity_slots", "Slots in the table: the most keys it can hold.", prometheus_number(m.capacity));
  w.gauge("dim", "Elements in each stored vector.", prometheus_number(m.dim));
  w.gauge("bucket_size", "Slots in each bucket.", prometheus_number(m.bucket_size));
  w.gauge("uptime_seconds", "Seconds since the cache was constructed.", prometheus_number(m.uptime_seconds));
  w.counter("clock_ticks_total", "Ticks of the logical clock: batches so far.", m.clock);
}

void write_contents_and_lookups(exposition_writer& w, const metrics_snapshot& m) {
  w.gauge("size_keys", "Keys stored now.", prometheus_number(m.size));
  w.gauge("load_factor", "Stored keys per slot (0..1).", prometheus_number(m.load_factor));
  w.counter("lookups_total", "Keys looked up by synchronous find and find_or_insert.", m.lookups);
  w.counter("hits_total", "Looked-up keys that were found.", m.hits);
  w.gauge("hit_ratio", "Hits per lookup since construction (0..1); 0 before any lookup.",
          prometheus_number(m.hit_ratio));
}

/// Windowed figures are gauges: they rise and fall as the window slides.
void write_windows(exposition_writer& w, const metrics_snapshot& m) {
  const auto windows = distinct_windows(m);
  if (windows.empty()) return;
  const auto per_window = [&](std::string_view name, std::string_view help, auto field) {
    w.begin_family(name, "gauge", help);
    for (const window_metrics* window : windows) w.sample(prometheus_number(field(*window)), {{"window", window_label(*window)}});
  };
  per_window("window_covered_seconds", "Seconds of the sliding window that its figures cover.",
             [](const window_metrics& x) { return x.covered_seconds; });
  per_window("window_hit_ratio", "Hits per lookup over the sliding window (0..1); 0 with no lookups.",
             [](const window_metrics& x) { return x.hit_ratio; });
  per_window("window_calls_per_second", "Batch calls per second over the sliding window, all operations.",
             [](const window_metrics& x) { return x.calls_per_second; });
  per_window("window_keys_per_second", "Keys per second over the sliding window, all operations.",
             [](const window_metrics& x) { return x.keys_per_second; });
}

void write_writes(exposition_writer& w, const metrics_snapshot& m) {
  w.counter("inserted_total", "Keys inserted by synchronous calls.", m.inserted);
  w.counter("assigned_total", "Keys already present whose vectors synchronous calls overwrote.", m.assigned);
  w.counter("evicted_total", "Keys evicted to make room.", m.evicted);
  w.counter("refused_total", "New keys refused by admission: they scored below every resident.", m.refused);
  w.counter("erased_total", "Keys erased.", m.erased);
}

void write_operation_counters(exposition_writer& w, const std::vector<const operation_metrics*>& ops) {
  const auto per_op = [&](std::string_view name, std::string_view help, auto field) {
    w.begin_family(name, "counter", help);
    for (const operation_metrics* o : ops) w.sample(prometheus_number(field(*o)), {{"op", to_string(o->op)}});
  };
  per_op("operation_calls_total", "Batch calls that ran, synchronous and async.",
         [](const operation_metrics& o) { return o.calls; });
  per_op("operation_keys_total", "Keys in the batch calls that ran.", [](const operation_metrics& o) { return o.keys; });
  per_op("operation_errors_total", "Batch calls that threw before doing anything.",
         [](const operation_metrics& o) { return o.errors; });
}

/// One operation's histogram. The snapshot reads its counts with relaxed atomics while calls
/// may be recording, so the bounds and counts are made safe here rather than trusted: bounds
/// strictly increasing, counts non-decreasing and never above the total, and the +Inf bucket
/// always equal to _count. A scrape that breaks these rules is rejected as a whole.
void write_operation_histogram(exposition_writer& w, const operation_metrics& o) {
  const char* op = to_string(o.op);
  const std::uint64_t total = o.latency.count;
  double previous_bound = -std::numeric_limits<double>::infinity();
  std::uint64_t previous_count = 0;
  for (const auto& [bound_us, count] : o.latency.buckets) {
    const double bound = bound_us / 1e6;
    if (!std::isfinite(bound) || !(bound > previous_bound)) continue;  // +Inf comes last, from total
    previous_bound = bound;
    previous_count = std::clamp(count, previous_count, total);
    w.sample(prometheus_number(previous_count), {{"op", op}, {"le", prometheus_number(bound)}}, "_bucket");
  }
  w.sample(prometheus_number(total), {{"op", op}, {"le", "+Inf"}}, "_bucket");
  w.sample(prometheus_number(o.latency.sum_us / 1e6), {{"op", op}}, "_sum");
  w.sample(prometheus_number(total), {{"op", op}}, "_count");
}

void write_operation_latency(exposition_writer& w, const std::vector<const operation_metrics*>& ops) {
  w.begin_family("operation_latency_seconds", "histogram",
                 "Latency of batch calls; an async call until it was queued.");
  for (const operation_metrics* o : ops) write_operation_histogram(w, *o);
  // The exact maximum, which the histogram's buckets cannot tell.
  w.begin_family("operation_latency_max_seconds", "gauge", "Slowest batch call so far.");
  for (const operation_metrics* o : ops) w.sample(prometheus_number(o->latency.max_us / 1e6), {{"op", to_string(o->op)}});
}

void write_operations(exposition_writer& w, const metrics_snapshot& m) {
  const auto ops = distinct_operations(m);
  if (ops.empty()) return;  // a family without samples tells nothing
  write_operation_counters(w, ops);
  write_operation_latency(w, ops);
}

void write_memory(exposition_writer& w, const metrics_snapshot& m) {
  w.begin_family("memory_bytes", "gauge",
                 "Memory in use: belady's device and host allocations, and the whole process's resident set.");
  w.sample(prometheus_number(m.device_bytes), {{"kind", "device"}});
  w.sample(prometheus_number(m.host_bytes), {{"kind", "host"}});
  w.sample(prometheus_number(m.process_resident_bytes), {{"kind", "process_resident"}});
}

void write_learning(exposition_writer& w, const metrics_snapshot& m) {
  w.gauge("active_model_version", "Version of the model that ranks keys; 0 without one.",
          prometheus_number(m.active_model_version));
  w.gauge("models_kept", "Model versions kept for rollback.", prometheus_number(m.models_kept));
  w.gauge("online_learning", "1 when online learning is on.", prometheus_flag(m.online));
  w.begin_family("trainer_state", "gauge", "Constant 1, labelled with the online trainer's state.");
  w.sample("1", {{"state", m.trainer_state}});
  w.gauge("trainer_busy_seconds", "Seconds the online trainer has spent working.",
          prometheus_number(m.trainer_busy_seconds));
  w.gauge("trainer_time_share", "Trainer busy seconds per second of uptime (0..1).",
          prometheus_number(m.trainer_time_share));
  w.counter("promotions_total", "Trained models promoted to active.", m.promotions);
  w.counter("rejections_total", "Trained models rejected by validation.", m.rejections);
  w.counter("rollbacks_total", "Rollbacks to an earlier model.", m.rollbacks);
  w.counter("training_failures_total", "Training rounds that failed.", m.training_failures);
  w.counter("trainer_restarts_total", "Restarts of the online trainer.", m.trainer_restarts);
  w.counter("sampled_events_total", "Accesses sampled for training.", m.sampled_events);
  w.counter("sampled_events_dropped_total", "Sampled accesses dropped because the trainer fell behind.",
            m.sampled_events_dropped);
  if (!m.workload_class.empty()) {
    w.begin_family("workload_class", "gauge", "Constant 1, labelled with the workload class whose model serves.");
    w.sample("1", {{"class", m.workload_class}});
    w.counter("workload_switches_total", "Changes of the workload class (workload specialisation).",
              m.workload_switches);
  }
  // -1 means "unknown"; no sample at all is how Prometheus says that (a NaN would plot as a gap
  // too, but would also read as a measured value to alert rules).
  if (m.prediction_accuracy >= 0)
    w.gauge("prediction_accuracy",
            "Pairwise ranking accuracy of the active model on the latest training window (0..1).",
            prometheus_number(m.prediction_accuracy));
}

void write_health(exposition_writer& w, const metrics_snapshot& m) {
  w.gauge("degraded", "1 when the cache is degraded (see cache::health()).", prometheus_flag(m.degraded));
  w.begin_family("alerts", "gauge", "Alert rules now at each level.");
  w.sample(prometheus_number(m.alerts_warning), {{"level", "warning"}});
  w.sample(prometheus_number(m.alerts_critical), {{"level", "critical"}});
}

// ---------------------------------------------------------------------------------------------
// JSON.

std::string json_string(std::string_view s) {
  std::string out = "\"";
  append_utf8_escaped(out, s, [&](char c) {
    static constexpr char hex[] = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (u < 0x20) out += std::string("\\u00") + hex[u >> 4] + hex[u & 0xF];
    else out += c;
  });
  return out + '"';
}

/// JSON has no infinity or NaN: they become null.
std::string json_number(double x) { return std::isfinite(x) ? shortest_text(x) : "null"; }
std::string json_number(std::uint64_t x) { return integer_text(x); }
std::string json_bool(bool b) { return b ? "true" : "false"; }

/// Writes members and elements, placing the commas; values arrive already rendered.
class json_writer {
 public:
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  /// The next object member's name; its value follows with value(), begin_object() or begin_array().
  void key(std::string_view name) {
    separate();
    out_ += json_string(name) + ':';
    after_key_ = true;
  }
  void value(const std::string& rendered) {
    separate();
    out_ += rendered;
  }
  void member(std::string_view name, const std::string& rendered) {
    key(name);
    value(rendered);
  }

  std::string take() { return std::move(out_); }

 private:
  void separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void open(char bracket) {
    separate();
    out_ += bracket;
    first_.push_back(true);
  }
  void close(char bracket) {
    out_ += bracket;
    first_.pop_back();
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

void write_json_window(json_writer& j, const window_metrics& w) {
  j.begin_object();
  j.member("seconds", json_number(w.seconds));
  j.member("covered_seconds", json_number(w.covered_seconds));
  j.member("lookups", json_number(w.lookups));
  j.member("hits", json_number(w.hits));
  j.member("hit_ratio", json_number(w.hit_ratio));
  j.member("calls", json_number(w.calls));
  j.member("keys", json_number(w.keys));
  j.member("calls_per_second", json_number(w.calls_per_second));
  j.member("keys_per_second", json_number(w.keys_per_second));
  j.end_object();
}

/// Buckets as [[upper bound in us, cumulative count], ...]; the infinite bound as "+Inf", the
/// way Prometheus writes it, since JSON has no number for it.
void write_json_buckets(json_writer& j, const latency_summary& l) {
  j.key("buckets");
  j.begin_array();
  for (const auto& [bound_us, count] : l.buckets) {
    j.begin_array();
    j.value(bound_us == std::numeric_limits<double>::infinity() ? json_string("+Inf") : json_number(bound_us));
    j.value(json_number(count));
    j.end_array();
  }
  j.end_array();
}

void write_json_operation(json_writer& j, const operation_metrics& o) {
  j.begin_object();
  j.member("op", json_string(to_string(o.op)));
  j.member("calls", json_number(o.calls));
  j.member("keys", json_number(o.keys));
  j.member("errors", json_number(o.errors));
  j.key("latency");
  j.begin_object();
  j.member("count", json_number(o.latency.count));
  j.member("sum_us", json_number(o.latency.sum_us));
  j.member("p50_us", json_number(o.latency.p50_us));
  j.member("p95_us", json_number(o.latency.p95_us));
  j.member("p99_us", json_number(o.latency.p99_us));
  j.member("max_us", json_number(o.latency.max_us));
  write_json_buckets(j, o.latency);
  j.end_object();
  j.end_object();
}

void write_json_identity_and_lookups(json_writer& j, const metrics_snapshot& m) {
  j.member("backend", json_string(m.backend));
  j.member("policy", json_string(m.policy));
  j.member("capacity", json_number(m.capacity));
  j.member("dim", json_number(m.dim));
  j.member("bucket_size", json_number(m.bucket_size));
  j.member("uptime_seconds", json_number(m.uptime_seconds));
  j.member("clock", json_number(m.clock));
  j.member("size", json_number(m.size));
  j.member("load_factor", json_number(m.load_factor));
  j.member("lookups", json_number(m.lookups));
  j.member("hits", json_number(m.hits));
  j.member("hit_ratio", json_number(m.hit_ratio));
  j.key("windows");
  j.begin_array();
  for (const window_metrics& w : m.windows) write_json_window(j, w);
  j.end_array();
}

void write_json_writes_and_operations(json_writer& j, const metrics_snapshot& m) {
  j.member("inserted", json_number(m.inserted));
  j.member("assigned", json_number(m.assigned));
  j.member("evicted", json_number(m.evicted));
  j.member("refused", json_number(m.refused));
  j.member("erased", json_number(m.erased));
  j.key("operations");
  j.begin_array();
  for (const operation_metrics& o : m.operations) write_json_operation(j, o);
  j.end_array();
  j.member("calls_per_second", json_number(m.calls_per_second));
  j.member("keys_per_second", json_number(m.keys_per_second));
}

void write_json_memory_learning_health(json_writer& j, const metrics_snapshot& m) {
  j.member("device_bytes", json_number(m.device_bytes));
  j.member("host_bytes", json_number(m.host_bytes));
  j.member("process_resident_bytes", json_number(m.process_resident_bytes));
  j.member("active_model_version", json_number(m.active_model_version));
  j.member("models_kept", json_number(m.models_kept));
  j.member("online", json_bool(m.online));
  j.member("trainer_state", json_string(m.trainer_state));
  j.member("trainer_busy_seconds", json_number(m.trainer_busy_seconds));
  j.member("trainer_time_share", json_number(m.trainer_time_share));
  j.member("promotions", json_number(m.promotions));
  j.member("rejections", json_number(m.rejections));
  j.member("rollbacks", json_number(m.rollbacks));
  j.member("training_failures", json_number(m.training_failures));
  j.member("trainer_restarts", json_number(m.trainer_restarts));
  j.member("sampled_events", json_number(m.sampled_events));
  j.member("sampled_events_dropped", json_number(m.sampled_events_dropped));
  j.member("prediction_accuracy", json_number(m.prediction_accuracy));
  j.member("workload_class", json_string(m.workload_class));
  j.member("workload_switches", json_number(m.workload_switches));
  j.member("degraded", json_bool(m.degraded));
  j.member("alerts_warning", json_number(m.alerts_warning));
  j.member("alerts_critical", json_number(m.alerts_critical));
}

}  // namespace

std::string to_prometheus(const metrics_snapshot& m, const prometheus_options& options) {
  validate(options);
  exposition_writer w(options);
  write_identity(w, m);
  write_contents_and_lookups(w, m);
  write_windows(w, m);
  write_writes(w, m);
  write_operations(w, m);
  write_memory(w, m);
  write_learning(w, m);
  write_health(w, m);
  return w.take();
}

std::string to_json(const metrics_snapshot& m) {
  json_writer j;
  j.begin_object();
  write_json_identity_and_lookups(j, m);
  write_json_writes_and_operations(j, m);
  write_json_memory_learning_health(j, m);
  j.end_object();
  return j.take();
}

}  // namespace belady
