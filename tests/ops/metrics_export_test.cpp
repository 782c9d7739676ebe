// to_prometheus() and to_json(): the output is read back with strict parsers (ours, in
// prometheus_parser.hpp and json_check.hpp) and every figure is compared with the snapshot it
// came from. The parsers get tests of their own: a check that cannot fail proves nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "belady/error.hpp"
#include "belady/metrics.hpp"
#include "ops/json_check.hpp"
#include "ops/prometheus_parser.hpp"
#include "ops/sample_metrics.hpp"

namespace {

using belady::metrics_snapshot;
using belady::operation;
using belady::prometheus_options;
using belady::test::json_value;
using belady::test::parse_json;
using belady::test::parse_prometheus;
using belady::test::prom_exposition;
using belady::test::prom_parse_error;
using belady::test::sample_metrics;
using belady::test::sample_options;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

prom_exposition exported(const metrics_snapshot& m, const prometheus_options& o = sample_options()) {
  const std::string text = belady::to_prometheus(m, o);
  try {
    return parse_prometheus(text);
  } catch (const prom_parse_error& e) {
    ADD_FAILURE() << e.what() << "\n" << text;
    throw;
  }
}

/// The one sample's value as written (exact where a double is not).
std::string text_of(const prom_exposition& e, std::string_view name, const belady::test::prom_labels& labels = {}) {
  const auto found = e.find(name, labels);
  return found.size() == 1 ? found.front()->value_text : "<" + std::to_string(found.size()) + " samples>";
}

// ---------------------------------------------------------------------------------------------
// Prometheus: structure.

TEST(PrometheusExport, EveryFamilyHasHelpTypeAndSamples) {
  const prom_exposition e = exported(sample_metrics());
  ASSERT_GE(e.families.size(), 40u);
  for (const auto& f : e.families) {
    EXPECT_TRUE(f.has_help && !f.help.empty()) << f.name;
    EXPECT_FALSE(f.type.empty()) << f.name;
    EXPECT_FALSE(f.samples.empty()) << f.name;
    EXPECT_TRUE(f.name.starts_with("belady_")) << f.name;
    if (f.type == "counter") {
      EXPECT_TRUE(f.name.ends_with("_total")) << f.name;
    }
  }
}

TEST(PrometheusExport, FamiliesHaveTheExpectedTypes) {
  const prom_exposition e = exported(sample_metrics());
  const auto type_of = [&](const char* name) {
    const auto* f = e.family(name);
    return f ? f->type : "<missing>";
  };
  EXPECT_EQ(type_of("belady_info"), "gauge");
  EXPECT_EQ(type_of("belady_hit_ratio"), "gauge");
  EXPECT_EQ(type_of("belady_window_hit_ratio"), "gauge");
  EXPECT_EQ(type_of("belady_lookups_total"), "counter");
  EXPECT_EQ(type_of("belady_operation_calls_total"), "counter");
  EXPECT_EQ(type_of("belady_operation_latency_seconds"), "histogram");
  EXPECT_EQ(type_of("belady_memory_bytes"), "gauge");
  EXPECT_EQ(type_of("belady_trainer_busy_seconds"), "gauge");
  EXPECT_EQ(type_of("belady_clock_ticks_total"), "counter");
}

TEST(PrometheusExport, OptionLabelsComeFirstOnEverySampleAndAreEscaped) {
  const auto options = sample_options();
  const std::string text = belady::to_prometheus(sample_metrics(), options);
  EXPECT_NE(text.find(R"(note="say \"hi\"\\path\nnext line")"), std::string::npos);
  const prom_exposition e = parse_prometheus(text);
  std::size_t samples = 0;
  for (const auto& f : e.families)
    for (const auto& s : f.samples) {
      ASSERT_GE(s.labels.size(), options.labels.size()) << s.name;
      for (std::size_t i = 0; i < options.labels.size(); ++i) EXPECT_EQ(s.labels[i], options.labels[i]) << s.name;
      ++samples;
    }
  EXPECT_GT(samples, 300u);
}

TEST(PrometheusExport, WithoutOptionLabelsPlainSamplesHaveNoBraces) {
  const std::string text = belady::to_prometheus(sample_metrics());
  EXPECT_NE(text.find("\nbelady_dim 128\n"), std::string::npos);
  EXPECT_EQ(text.find("\nbelady_hit_ratio{"), std::string::npos);
  const prom_exposition e = parse_prometheus(text);
  EXPECT_TRUE(e.find("belady_dim").front()->labels.empty());
}

TEST(PrometheusExport, CustomPrefixNamesEveryFamily) {
  prometheus_options o;
  o.prefix = "svc:cache";
  const prom_exposition e = exported(sample_metrics(), o);
  for (const auto& f : e.families) EXPECT_TRUE(f.name.starts_with("svc:cache_")) << f.name;
  EXPECT_EQ(e.value("svc:cache_hits_total"), 4200000);
}

TEST(PrometheusExport, EmptySnapshotIsStillValid) {
  const prom_exposition e = exported(metrics_snapshot{}, prometheus_options{});
  EXPECT_EQ(e.family("belady_operation_latency_seconds"), nullptr);
  EXPECT_EQ(e.family("belady_window_hit_ratio"), nullptr);
  EXPECT_EQ(e.value("belady_info", {{"backend", ""}, {"policy", ""}}), 1);
}

// ---------------------------------------------------------------------------------------------
// Prometheus: values.

TEST(PrometheusExport, IdentityAndContents) {
  const prom_exposition e = exported(sample_metrics());
  EXPECT_EQ(e.value("belady_info", {{"backend", "host"}, {"policy", "learned"}}), 1);
  EXPECT_EQ(e.value("belady_capacity_slots"), 1048576);
  EXPECT_EQ(e.value("belady_dim"), 128);
  EXPECT_EQ(e.value("belady_bucket_size"), 32);
  EXPECT_EQ(e.value("belady_uptime_seconds"), 3723.5);
  EXPECT_EQ(e.value("belady_size_keys"), 901234);
  EXPECT_EQ(e.value("belady_load_factor"), 0.1 + 0.2);  // exact: the text round-trips
  EXPECT_EQ(e.value("belady_hit_ratio"), 0.84);
}

TEST(PrometheusExport, CountersCarryTheSnapshotsValues) {
  const prom_exposition e = exported(sample_metrics());
  EXPECT_EQ(e.value("belady_lookups_total"), 5000000);
  EXPECT_EQ(e.value("belady_hits_total"), 4200000);
  EXPECT_EQ(e.value("belady_inserted_total"), 700001);
  EXPECT_EQ(e.value("belady_assigned_total"), 300002);
  EXPECT_EQ(e.value("belady_evicted_total"), 650003);
  EXPECT_EQ(e.value("belady_refused_total"), 4);
  EXPECT_EQ(e.value("belady_erased_total"), 12005);
  EXPECT_EQ(e.value("belady_clock_ticks_total"), 987654);
  EXPECT_EQ(e.value("belady_promotions_total"), 16);
  EXPECT_EQ(e.value("belady_rejections_total"), 5);
  EXPECT_EQ(e.value("belady_rollbacks_total"), 1);
  EXPECT_EQ(e.value("belady_training_failures_total"), 2);
  EXPECT_EQ(e.value("belady_trainer_restarts_total"), 6);
  EXPECT_EQ(e.value("belady_sampled_events_dropped_total"), 321);
  EXPECT_EQ(text_of(e, "belady_sampled_events_total"), "9007199254740993");  // 2^53 + 1, not rounded
}

TEST(PrometheusExport, WindowsAreLabelledBySeconds) {
  const metrics_snapshot m = sample_metrics();
  const prom_exposition e = exported(m);
  EXPECT_EQ(e.value("belady_window_hit_ratio", {{"window", "1s"}}), 0.5);
  EXPECT_EQ(e.value("belady_window_hit_ratio", {{"window", "10s"}}), 0.625);
  EXPECT_EQ(e.value("belady_window_hit_ratio", {{"window", "60s"}}), 0.8125);
  EXPECT_EQ(e.value("belady_window_calls_per_second", {{"window", "1s"}}), 400);
  EXPECT_EQ(e.value("belady_window_keys_per_second", {{"window", "10s"}}), m.windows[1].keys_per_second);
  EXPECT_EQ(e.value("belady_window_covered_seconds", {{"window", "60s"}}), 59.75);
  EXPECT_EQ(e.find("belady_window_hit_ratio").size(), 3u);
}

TEST(PrometheusExport, OperationCountersPerOp) {
  const metrics_snapshot m = sample_metrics();
  const prom_exposition e = exported(m);
  for (const auto& o : m.operations) {
    const std::string op = belady::to_string(o.op);
    EXPECT_EQ(e.value("belady_operation_calls_total", {{"op", op}}), static_cast<double>(o.calls)) << op;
    EXPECT_EQ(e.value("belady_operation_keys_total", {{"op", op}}), static_cast<double>(o.keys)) << op;
    EXPECT_EQ(e.value("belady_operation_errors_total", {{"op", op}}), static_cast<double>(o.errors)) << op;
    EXPECT_EQ(e.value("belady_operation_latency_max_seconds", {{"op", op}}), o.latency.max_us / 1e6) << op;
  }
  EXPECT_EQ(e.value("belady_operation_calls_total", {{"op", "export_batch"}}), 1888);
}

TEST(PrometheusExport, LatencyHistogramIsInSeconds) {
  const metrics_snapshot m = sample_metrics();
  const prom_exposition e = exported(m);
  const char* bucket = "belady_operation_latency_seconds_bucket";
  // 20 us is bound number 4: 1000 calls * 5 / 22.
  EXPECT_EQ(e.value(bucket, {{"op", "find"}, {"le", "2e-05"}}), 227);
  EXPECT_EQ(e.value(bucket, {{"op", "find"}, {"le", "+Inf"}}), 1000);
  EXPECT_EQ(e.value(bucket, {{"op", "clear"}, {"le", "10"}}), 1777);  // 1e7 us
  for (const auto& o : m.operations) {
    const std::string op = belady::to_string(o.op);
    const auto samples = e.find(bucket, {{"op", op}});
    ASSERT_EQ(samples.size(), o.latency.buckets.size()) << op;
    for (std::size_t b = 0; b < samples.size(); ++b) {
      const double le = *belady::test::prom_detail::parse_value(*samples[b]->label("le"));
      EXPECT_EQ(le, o.latency.buckets[b].first / 1e6) << op << " bucket " << b;
      EXPECT_EQ(samples[b]->value, static_cast<double>(o.latency.buckets[b].second)) << op << " bucket " << b;
    }
    EXPECT_EQ(e.value("belady_operation_latency_seconds_sum", {{"op", op}}), o.latency.sum_us / 1e6) << op;
    EXPECT_EQ(e.value("belady_operation_latency_seconds_count", {{"op", op}}), static_cast<double>(o.latency.count));
  }
}

TEST(PrometheusExport, OperationWithoutBucketsHasOnlyTheInfBucket) {
  metrics_snapshot m = sample_metrics();
  m.operations[2].latency = {};
  const prom_exposition e = exported(m);
  const auto buckets = e.find("belady_operation_latency_seconds_bucket", {{"op", "insert_or_assign"}});
  ASSERT_EQ(buckets.size(), 1u);
  EXPECT_EQ(buckets[0]->label("le"), "+Inf");
  EXPECT_EQ(buckets[0]->value, 0);
  EXPECT_EQ(e.value("belady_operation_latency_seconds_count", {{"op", "insert_or_assign"}}), 0);
  EXPECT_EQ(e.value("belady_operation_latency_seconds_sum", {{"op", "insert_or_assign"}}), 0);
}

// The recorder reads counts with relaxed atomics while calls are recorded; a torn read must not
// produce a histogram Prometheus rejects.
TEST(PrometheusExport, InconsistentBucketsStillMakeAValidHistogram) {
  metrics_snapshot m = sample_metrics();
  auto& l = m.operations[0].latency;
  l.count = 50;
  l.buckets = {{1, 10}, {2, 8}, {2, 30}, {0.5, 31}, {5, 60}, {nan, 61}, {inf, 49}};
  const prom_exposition e = exported(m);  // would throw on a broken histogram
  const auto buckets = e.find("belady_operation_latency_seconds_bucket", {{"op", "find"}});
  ASSERT_EQ(buckets.size(), 4u);  // 1, 2, 5 us and +Inf
  EXPECT_EQ(buckets[1]->value, 10);  // 8 raised to the count below it
  EXPECT_EQ(buckets[2]->value, 50);  // 60 lowered to the total
  EXPECT_EQ(buckets[3]->value, 50);
}

TEST(PrometheusExport, OnlyOperationsInTheSnapshotAreExported) {
  metrics_snapshot m = sample_metrics();
  m.operations = {m.operations[6], m.operations[0], m.operations[6]};  // erase twice: kept once
  const prom_exposition e = exported(m);
  EXPECT_EQ(e.find("belady_operation_calls_total").size(), 2u);
  EXPECT_EQ(e.find("belady_operation_latency_seconds_count").size(), 2u);
  EXPECT_EQ(e.find("belady_operation_latency_seconds_count", {{"op", "contains"}}).size(), 0u);
  EXPECT_EQ(e.value("belady_operation_latency_seconds_count", {{"op", "erase"}}), 1666);
}

TEST(PrometheusExport, MemoryLearningAndHealth) {
  const prom_exposition e = exported(sample_metrics());
  EXPECT_EQ(e.value("belady_memory_bytes", {{"kind", "device"}}), 0);
  EXPECT_EQ(e.value("belady_memory_bytes", {{"kind", "host"}}), 2147483648.0);
  EXPECT_EQ(e.value("belady_memory_bytes", {{"kind", "process_resident"}}), 3221225472.0);
  EXPECT_EQ(e.value("belady_active_model_version"), 17);
  EXPECT_EQ(e.value("belady_models_kept"), 3);
  EXPECT_EQ(e.value("belady_online_learning"), 1);
  EXPECT_EQ(e.value("belady_trainer_state", {{"state", "training"}}), 1);
  EXPECT_EQ(e.value("belady_trainer_busy_seconds"), 125.125);
  EXPECT_EQ(e.value("belady_trainer_time_share"), 0.0336);
  EXPECT_EQ(e.value("belady_prediction_accuracy"), 0.9375);
  EXPECT_EQ(e.value("belady_workload_class", {{"class", "zipfian"}}), 1);
  EXPECT_EQ(e.value("belady_workload_switches_total"), 7);
  EXPECT_EQ(e.value("belady_degraded"), 1);
  EXPECT_EQ(e.value("belady_alerts", {{"level", "warning"}}), 2);
  EXPECT_EQ(e.value("belady_alerts", {{"level", "critical"}}), 1);
}

TEST(PrometheusExport, UnknownPredictionAccuracyIsOmitted) {
  metrics_snapshot m = sample_metrics();
  m.prediction_accuracy = -1;
  const std::string text = belady::to_prometheus(m);
  EXPECT_EQ(text.find("prediction_accuracy"), std::string::npos);
  EXPECT_NO_THROW(parse_prometheus(text));
  m.prediction_accuracy = 0;  // known, and bad: exported
  EXPECT_EQ(exported(m).value("belady_prediction_accuracy"), 0);
}

TEST(PrometheusExport, WorkloadClassOnlyWithSpecialisation) {
  metrics_snapshot m = sample_metrics();
  m.workload_class.clear();  // specialisation off
  const std::string text = belady::to_prometheus(m);
  EXPECT_EQ(text.find("workload_"), std::string::npos);
  EXPECT_NO_THROW(parse_prometheus(text));
}

TEST(PrometheusExport, NonFiniteValuesUsePrometheusSpelling) {
  metrics_snapshot m = sample_metrics();
  m.hit_ratio = nan;
  m.uptime_seconds = inf;
  m.load_factor = -inf;
  const prom_exposition e = exported(m);
  EXPECT_EQ(text_of(e, "belady_hit_ratio"), "NaN");
  EXPECT_EQ(text_of(e, "belady_uptime_seconds"), "+Inf");
  EXPECT_EQ(text_of(e, "belady_load_factor"), "-Inf");
}

TEST(PrometheusExport, SnapshotStringsAreEscapedAndMadeValidUtf8) {
  metrics_snapshot m = sample_metrics();
  m.trainer_state = "a\"b\\c\nd\xff\xc3\xa9";  // 0xFF is no UTF-8; C3 A9 is é
  m.policy = "\t";
  const prom_exposition e = exported(m);
  EXPECT_EQ(e.value("belady_trainer_state", {{"state", "a\"b\\c\nd\xEF\xBF\xBD\xc3\xa9"}}), 1);
  EXPECT_EQ(e.value("belady_info", {{"policy", "\t"}}), 1);
}

TEST(PrometheusExport, BadPrefixThrowsNamingIt) {
  for (const std::string prefix : {"", "9lives", "a-b", "a b", "caf\xc3\xa9"}) {
    prometheus_options o;
    o.prefix = prefix;
    try {
      (void)belady::to_prometheus(sample_metrics(), o);
      ADD_FAILURE() << "accepted prefix \"" << prefix << "\"";
    } catch (const belady::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.starts_with("belady: prometheus_options.prefix: ")) << what;
      EXPECT_NE(what.find('"' + prefix + '"'), std::string::npos) << what;
    }
  }
}

TEST(PrometheusExport, BadLabelNamesThrowNamingThem) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> bad = {
      {{"", "v"}},       {{"1x", "v"}},  {{"a-b", "v"}},           {{"a:b", "v"}}, {{"__x", "v"}},
      {{"op", "v"}},     {{"le", "v"}},  {{"ok", "v"}, {"ok", "w"}}, {{"ok", "v"}, {"x y", "w"}}};
  for (const auto& labels : bad) {
    prometheus_options o;
    o.labels = labels;
    const std::string& culprit = labels.back().first;
    try {
      (void)belady::to_prometheus(sample_metrics(), o);
      ADD_FAILURE() << "accepted label \"" << culprit << "\"";
    } catch (const belady::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.starts_with("belady: prometheus_options.labels: ")) << what;
      EXPECT_NE(what.find('"' + culprit + '"'), std::string::npos) << what;
    }
  }
  prometheus_options good;
  good.labels = {{"_x9", ""}, {"Cache_Name", "v"}};
  EXPECT_NO_THROW((void)belady::to_prometheus(sample_metrics(), good));
}

// Every label the exporter puts on its own samples (read from a full export: sample_metrics has
// every family, the workload class included) must be refused as an option label, or a scrape
// with that option label would carry it twice and Prometheus would reject the whole scrape.
TEST(PrometheusExport, EveryLabelTheExporterWritesIsRefusedAsAnOptionLabel) {
  std::set<std::string> written;
  for (const auto& f : exported(sample_metrics(), prometheus_options{}).families)
    for (const auto& s : f.samples)
      for (const auto& [name, value] : s.labels) written.insert(name);
  ASSERT_TRUE(written.contains("class")) << "sample_metrics() should export the workload class";
  for (const std::string& name : written) {
    prometheus_options o;
    o.labels = {{name, "v"}};
    EXPECT_THROW((void)belady::to_prometheus(sample_metrics(), o), belady::invalid_argument) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// The Prometheus parser: it accepts the format and rejects each kind of error.

/// Expects text to be rejected at line with a reason containing reason_part.
void expect_rejected(const std::string& text, int line, const std::string& reason_part) {
  try {
    (void)parse_prometheus(text);
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const prom_parse_error& e) {
    EXPECT_EQ(e.line(), line) << e.what() << "\nin:\n" << text;
    EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what() << "\nin:\n" << text;
  }
}

TEST(PrometheusParser, AcceptsTheFormat) {
  const prom_exposition e = parse_prometheus(
      "# a plain comment\n"
      "\n"
      "# HELP x_total Help with \\\\ and \\n escapes and a \"quote\".\n"
      "# TYPE x_total counter\n"
      "x_total{a=\"q\\\"b\\\\c\\nd\",b=\"\"} 12 1700000000000\n"
      "x_total{ a = \"2\" , } +Inf\n"
      "#   TYPE g gauge\n"
      "g -Inf\n"
      "g{k=\"v\"} NaN\n"
      "g{k=\"w\"} -1.5e-3  \n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"0.5\"} 1\n"
      "h_bucket{le=\"1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 3\n"
      "h_sum 2.5\n"
      "h_count 3\n");
  ASSERT_EQ(e.families.size(), 3u);
  EXPECT_EQ(e.family("x_total")->help, "Help with \\ and \n escapes and a \"quote\".");
  const auto& first = e.family("x_total")->samples[0];
  EXPECT_EQ(first.label("a"), "q\"b\\c\nd");
  EXPECT_EQ(first.timestamp_ms, 1700000000000);
  EXPECT_EQ(e.value("x_total", {{"a", "2"}}), inf);
  EXPECT_EQ(e.family("g")->samples[0].value, -inf);
  EXPECT_TRUE(std::isnan(e.find("g", {{"k", "v"}}).front()->value));
  EXPECT_EQ(e.value("g", {{"k", "w"}}), -1.5e-3);
  EXPECT_EQ(e.value("h_count"), 3);
  EXPECT_EQ(e.family("h")->samples.size(), 5u);
}

TEST(PrometheusParser, RejectsSampleWithoutType) {
  expect_rejected("x 1\n", 1, "no TYPE line");
  expect_rejected("# HELP x some help\nx 1\n", 2, "no TYPE line");
  expect_rejected("# TYPE x gauge\ny 1\n", 2, "no TYPE line");
  expect_rejected("# TYPE x gauge\nx_sum 1\n", 2, "no TYPE line");  // _sum only for histograms, summaries
}

TEST(PrometheusParser, RejectsDuplicateHelp) {
  expect_rejected("# HELP x a\n# HELP x b\n# TYPE x gauge\nx 1\n", 2, "duplicate HELP");
}

TEST(PrometheusParser, RejectsDuplicateType) {
  expect_rejected("# TYPE x gauge\n# TYPE x gauge\nx 1\n", 2, "duplicate TYPE");
}

TEST(PrometheusParser, RejectsTypeAfterSamplesOfTheFamily) {
  expect_rejected(
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n# TYPE h_count gauge\n", 5, "after samples");
}

TEST(PrometheusParser, RejectsFamiliesNotGroupedTogether) {
  expect_rejected("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"1\"} 2\n", 5, "not grouped");
  expect_rejected("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# HELP a late\n", 5, "not grouped");
}

TEST(PrometheusParser, RejectsBadMetricNames) {
  expect_rejected("# TYPE 1x gauge\n", 1, "bad metric name '1x'");
  expect_rejected("# HELP a-b help\n", 1, "bad metric name 'a-b'");
  expect_rejected("# TYPE x gauge\n9x 1\n", 2, "bad metric name '9x'");
  expect_rejected("# TYPE x gauge\n{a=\"1\"} 1\n", 2, "expected a metric name");
  expect_rejected("# TYPE x gauge\nx-y 1\n", 2, "expected a blank before the value");
}

TEST(PrometheusParser, RejectsBadLabelNames) {
  expect_rejected("# TYPE x gauge\nx{1a=\"v\"} 1\n", 2, "expected a label name");
  expect_rejected("# TYPE x gauge\nx{a-b=\"v\"} 1\n", 2, "expected '='");
  expect_rejected("# TYPE x gauge\nx{__name=\"v\"} 1\n", 2, "reserved");
}

TEST(PrometheusParser, RejectsDuplicateLabelInOneSample) {
  expect_rejected("# TYPE x gauge\nx{a=\"1\",b=\"2\",a=\"3\"} 1\n", 2, "duplicate label 'a'");
}

TEST(PrometheusParser, RejectsDuplicateSeries) {
  expect_rejected("# TYPE x gauge\nx 1\nx 2\n", 3, "duplicate series");
  expect_rejected("# TYPE x gauge\nx{a=\"1\",b=\"2\"} 1\nx{b=\"2\",a=\"1\"} 2\n", 3, "duplicate series");
}

TEST(PrometheusParser, RejectsCounterWithoutTotal) {
  expect_rejected("# TYPE x_count counter\nx_count 1\n", 1, "does not end in _total");
}

TEST(PrometheusParser, RejectsNegativeCounter) {
  expect_rejected("# TYPE x_total counter\nx_total -1\n", 2, "negative");
}

TEST(PrometheusParser, RejectsHistogramLeNotIncreasing) {
  expect_rejected(
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      3, "does not follow a smaller le");
}

TEST(PrometheusParser, RejectsHistogramCountDecreasing) {
  expect_rejected(
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
      3, "bucket count decreases");
}

TEST(PrometheusParser, RejectsHistogramWithoutInfBucket) {
  expect_rejected("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n", 2, "le=\"+Inf\"");
  // A label set of its own: the +Inf bucket of another one does not count.
  expect_rejected(
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\nh_sum{op=\"x\"} 1\nh_count{op=\"x\"} 0\n", 5,
      "le=\"+Inf\"");
}

TEST(PrometheusParser, RejectsInfBucketDifferentFromCount) {
  expect_rejected("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", 4, "differs");
}

TEST(PrometheusParser, RejectsHistogramWithoutSumOrCount) {
  expect_rejected("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", 2, "without _sum");
  expect_rejected("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 2\n", 2, "without _count");
}

TEST(PrometheusParser, RejectsBadHistogramSamples) {
  expect_rejected("# TYPE h histogram\nh 1\n", 2, "must end in _bucket");
  expect_rejected("# TYPE h histogram\nh_bucket 1\n", 2, "no le label");
  expect_rejected("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2, "bad le");
  expect_rejected("# TYPE h histogram\nh_sum{le=\"1\"} 1\n", 2, "not a bucket");
}

TEST(PrometheusParser, RejectsMalformedLines) {
  const std::string type = "# TYPE x gauge\n";
  expect_rejected(type + "x\n", 2, "expected a blank before the value");
  expect_rejected(type + "x \n", 2, "bad value ''");
  expect_rejected(type + "x abc\n", 2, "bad value 'abc'");
  expect_rejected(type + "x inf\n", 2, "bad value 'inf'");
  expect_rejected(type + "x 0x10\n", 2, "bad value '0x10'");
  expect_rejected(type + "x 1 2 3\n", 2, "after the timestamp");
  expect_rejected(type + "x 1 1.5\n", 2, "bad timestamp");
  expect_rejected(type + "x{a=\"v} 1\n", 2, "unterminated label value");
  expect_rejected(type + "x{a=\"\\t\"} 1\n", 2, "invalid escape sequence");
  expect_rejected(type + "x{a=v} 1\n", 2, "to open the value");
  expect_rejected(type + "x{a=\"v\" b=\"w\"} 1\n", 2, "expected ',' or '}'");
  expect_rejected(type + "x{a=\"v\"\n", 2, "expected ',' or '}'");
  expect_rejected(type + "x 1\r\n", 2, "bad value");
  expect_rejected(type + "x 1", 2, "line feed");
  expect_rejected("# TYPE x gauges\n", 1, "unknown metric type");
  expect_rejected("# TYPE x gauge extra\n", 1, "after the metric type");
  expect_rejected("# TYPE x\n", 1, "expected a blank before the metric type");
  expect_rejected("# HELP\n", 1, "expected a blank before the metric name");
  expect_rejected("# HELP x bad \\t escape\n", 1, "invalid escape sequence");
}

// ---------------------------------------------------------------------------------------------
// JSON.

json_value exported_json(const metrics_snapshot& m) {
  const std::string text = belady::to_json(m);
  try {
    return parse_json(text);
  } catch (const belady::test::json_error& e) {
    ADD_FAILURE() << e.what() << "\n" << text;
    throw;
  }
}

TEST(JsonExport, MembersAreTheSnapshotsFieldsInOrder) {
  const json_value j = exported_json(sample_metrics());
  const std::vector<std::string>& names = j.keys;
  const std::vector<std::string> expected = {
      "backend", "policy", "capacity", "dim", "bucket_size", "uptime_seconds", "clock", "size", "load_factor",
      "lookups", "hits", "hit_ratio", "windows", "inserted", "assigned", "evicted", "refused", "erased",
      "operations", "calls_per_second", "keys_per_second", "device_bytes", "host_bytes", "process_resident_bytes",
      "active_model_version", "models_kept", "online", "trainer_state", "trainer_busy_seconds",
      "trainer_time_share", "promotions", "rejections", "rollbacks", "training_failures", "trainer_restarts",
      "sampled_events", "sampled_events_dropped", "prediction_accuracy", "workload_class", "workload_switches",
      "degraded", "alerts_warning", "alerts_critical"};
  EXPECT_EQ(names, expected);
}

TEST(JsonExport, CarriesTheValues) {
  const metrics_snapshot m = sample_metrics();
  const json_value j = exported_json(m);
  EXPECT_EQ(j["backend"].string, "host");
  EXPECT_EQ(j["capacity"].number, 1048576);
  EXPECT_EQ(j["load_factor"].number, 0.1 + 0.2);
  EXPECT_EQ(j["sampled_events"].number_text, "9007199254740993");
  EXPECT_EQ(j["online"].type, json_value::kind::boolean);
  EXPECT_TRUE(j["online"].boolean);
  EXPECT_TRUE(j["degraded"].boolean);
  EXPECT_EQ(j["prediction_accuracy"].number, 0.9375);
  EXPECT_EQ(j["trainer_state"].string, "training");
  EXPECT_EQ(j["workload_class"].string, "zipfian");
  EXPECT_EQ(j["workload_switches"].number, 7);
  ASSERT_EQ(j["windows"].elements.size(), 3u);
  EXPECT_EQ(j["windows"][1]["seconds"].number, 10);
  EXPECT_EQ(j["windows"][2]["hit_ratio"].number, 0.8125);
  EXPECT_EQ(j["windows"][0]["covered_seconds"].number, 0.75);
  ASSERT_EQ(j["operations"].elements.size(), 9u);
  for (std::size_t i = 0; i < m.operations.size(); ++i) {
    const auto& o = m.operations[i];
    const json_value& jo = j["operations"][i];
    EXPECT_EQ(jo["op"].string, belady::to_string(o.op));
    EXPECT_EQ(jo["calls"].number, static_cast<double>(o.calls));
    EXPECT_EQ(jo["errors"].number, static_cast<double>(o.errors));
    const json_value& l = jo["latency"];
    EXPECT_EQ(l["count"].number, static_cast<double>(o.latency.count));
    EXPECT_EQ(l["sum_us"].number, o.latency.sum_us);
    EXPECT_EQ(l["p99_us"].number, o.latency.p99_us);
    EXPECT_EQ(l["max_us"].number, o.latency.max_us);
    ASSERT_EQ(l["buckets"].elements.size(), o.latency.buckets.size());
    EXPECT_EQ(l["buckets"][4][0].number, 20);
    EXPECT_EQ(l["buckets"][4][1].number, static_cast<double>(o.latency.buckets[4].second));
    EXPECT_EQ(l["buckets"].elements.back()[0].string, "+Inf");
    EXPECT_EQ(l["buckets"].elements.back()[1].number, static_cast<double>(o.latency.count));
  }
}

TEST(JsonExport, EscapesStrings) {
  metrics_snapshot m = sample_metrics();
  m.backend = std::string("q\"b\\s/n\nc\x01\x1f\x7f\xc3\xa9\xff") + '\0' + "end";
  const std::string text = belady::to_json(m);
  EXPECT_NE(text.find(R"("backend":"q\"b\\s/n\nc\u0001\u001f)"), std::string::npos) << text.substr(0, 80);
  EXPECT_NE(text.find(R"(\u0000end")"), std::string::npos);
  const json_value j = parse_json(text);
  EXPECT_EQ(j["backend"].string, std::string("q\"b\\s/n\nc\x01\x1f\x7f\xc3\xa9\xEF\xBF\xBD") + '\0' + "end");
}

TEST(JsonExport, NonFiniteNumbersAreNull) {
  metrics_snapshot m = sample_metrics();
  m.hit_ratio = nan;
  m.uptime_seconds = inf;
  m.windows[0].keys_per_second = -inf;
  m.operations[3].latency.p50_us = nan;
  m.operations[3].latency.buckets[0].first = nan;
  const json_value j = exported_json(m);
  EXPECT_TRUE(j["hit_ratio"].is_null());
  EXPECT_TRUE(j["uptime_seconds"].is_null());
  EXPECT_TRUE(j["windows"][0]["keys_per_second"].is_null());
  EXPECT_TRUE(j["operations"][3]["latency"]["p50_us"].is_null());
  EXPECT_TRUE(j["operations"][3]["latency"]["buckets"][0][0].is_null());
  EXPECT_EQ(j["load_factor"].type, json_value::kind::number);
}

TEST(JsonExport, EmptySnapshotIsValid) {
  const json_value j = exported_json(metrics_snapshot{});
  EXPECT_TRUE(j["windows"].elements.empty());
  EXPECT_EQ(j["windows"].type, json_value::kind::array);
  EXPECT_TRUE(j["operations"].elements.empty());
  EXPECT_EQ(j["prediction_accuracy"].number, -1);
  EXPECT_EQ(j["backend"].string, "");
}

TEST(JsonParser, AcceptsTheGrammar) {
  const json_value j = parse_json(R"( {"a":[1,-0.5e+2,0,true,false,null,"\u00e9\ud83d\ude00\/"],"b":{}} )");
  EXPECT_EQ(j["a"][1].number, -50);
  EXPECT_EQ(j["a"][6].string, "\xc3\xa9\xf0\x9f\x98\x80/");
  EXPECT_TRUE(j["b"].keys.empty());
  EXPECT_EQ(j["b"].type, json_value::kind::object);
}

TEST(JsonParser, RejectsWhatTheGrammarDoesNot) {
  for (const std::string bad : {"", "{", "{\"a\":1,}", "[1,]", "01", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity",
                                "\"a\nb\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\xff\"", "\"\xc0\xaf\"",
                                "\"\xed\xa0\x80\"", "{\"a\":1,\"a\":2}", "{} {}", "tru", "[1 2]", "{a:1}", "'a'"}) {
    EXPECT_THROW((void)parse_json(bad), belady::test::json_error) << bad;
  }
}

}  // namespace
