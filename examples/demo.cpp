// belady-demo: serves a synthetic workload with phase changes (or a trace) through the cache
// under each classic policy and under the learned policy learning online, beside Belady's OPT,
// and prints what the cache did and which model versions the online learner promoted, rejected
// or rolled back.
//
//   belady-demo [--trace PATH] [--capacity N] [--batch N] [--dim N] [--backend host|cuda]
//
// A trace is a text file with one integer key per line. Each batch of requests is looked up
// with find(); the misses are "computed" (a stand-in for the embedding model or database a real
// host would call) and inserted with insert_or_assign(), as a read-through cache does.
#include <belady/belady.hpp>
#include <belady/logging.hpp>
#include <belady/model/registry.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/synthetic.hpp"
#if BELADY_DEMO_HAS_OPT
#include "exact_policy.hpp"
#include "request.hpp"
#endif

namespace {

struct options {
  std::string trace;
  std::size_t capacity = 32768;
  std::size_t batch = 4096;
  std::size_t dim = 16;
  belady::backend executor = belady::backend::host;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "belady-demo: " << why
            << "\nusage: belady-demo [--trace PATH] [--capacity N] [--batch N] [--dim N] [--backend host|cuda]\n";
  std::exit(2);
}

std::size_t parse_size(const std::string& flag, const char* text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v == 0) usage(flag + " needs a positive integer, got '" + text + "'");
  return v;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--trace") o.trace = value();
    else if (a == "--capacity") o.capacity = parse_size(a, value());
    else if (a == "--batch") o.batch = parse_size(a, value());
    else if (a == "--dim") o.dim = parse_size(a, value());
    else if (a == "--backend") {
      const std::string b = value();
      if (b == "host") o.executor = belady::backend::host;
      else if (b == "cuda") o.executor = belady::backend::cuda;
      else usage("unknown backend '" + b + "'");
    } else if (a == "--help" || a == "-h") usage("help");
    else usage("unknown argument '" + a + "'");
  }
  return o;
}

std::vector<std::uint64_t> read_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) usage("cannot open trace '" + path + "'");
  std::vector<std::uint64_t> keys;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    char* end = nullptr;
    const unsigned long long k = std::strtoull(line.c_str(), &end, 10);
    if (end == line.c_str() || (*end != '\0' && *end != '\r' && *end != ' '))
      usage(path + ":" + std::to_string(line_no) + ": not an integer key: '" + line + "'");
    keys.push_back(belady::workload::key_of(k));  // never a reserved key
  }
  if (keys.empty()) usage("trace '" + path + "' has no requests");
  return keys;
}

struct phase_span {
  std::string name;
  std::size_t begin, end;
};

struct row {
  std::string name;
  std::vector<std::uint64_t> phase_hits;
  std::vector<std::uint32_t> batch_hits;  ///< hits of each batch (for the recovery figure)
  std::vector<std::uint64_t> batch_ticks; ///< the cache's clock after each batch
  std::uint64_t hits = 0, inserted = 0, evicted = 0, refused = 0;
  std::size_t final_size = 0;
  double seconds = 0;
  belady::online_report online;
  std::vector<belady::model::model_record> models;
};

/// The online learner's settings for the demo: the largest sampling rate (the demo's cache is
/// small) and a short cadence so that a few hundred thousand requests show several rounds.
belady::online_config demo_online() {
  belady::online_config c;
  c.enabled = true;
  c.manual = true;  // stepped after every batch: the same output on every run
  c.sample_rate = 0.05;
  c.train_every_samples = 4000;
  c.watch_samples = 4000;
  return c;
}

row serve(const options& o, belady::policy p, bool online, const std::vector<std::uint64_t>& requests,
          const std::vector<phase_span>& phases, bool specialise = false) {
  // One host worker: the same output on every run (with more, the order in which a batch's
  // inserts reach a bucket, and so what they evict, varies).
  belady::cache_config config{
      .capacity = o.capacity, .dim = o.dim, .eviction = p, .executor = o.executor, .host_threads = 1};
  if (online) config.online = demo_online();
  config.online.specialise.enabled = specialise;
  belady::cache<std::uint64_t, float> cache(config);
  row r;
  r.name = specialise ? "special" : online ? "learned" : std::string(belady::to_string(p));
  r.phase_hits.assign(phases.size(), 0);
  std::vector<float> values(o.batch * o.dim);
  std::unique_ptr<bool[]> found(new bool[o.batch]);
  std::vector<std::uint64_t> miss_keys;
  std::vector<float> miss_values;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t b = 0; b < requests.size(); b += o.batch) {
    const std::size_t n = std::min(o.batch, requests.size() - b);
    const std::span<const std::uint64_t> keys(requests.data() + b, n);
    const std::size_t hits = cache.find(keys, std::span<float>(values.data(), n * o.dim), std::span<bool>(found.get(), n));
    r.hits += hits;
    r.batch_hits.push_back(static_cast<std::uint32_t>(hits));
    miss_keys.clear();
    miss_values.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (found[i]) {
        for (std::size_t ph = 0; ph < phases.size(); ++ph)
          if (b + i >= phases[ph].begin && b + i < phases[ph].end) ++r.phase_hits[ph];
        continue;
      }
      miss_keys.push_back(keys[i]);
      for (std::size_t d = 0; d < o.dim; ++d) miss_values.push_back(static_cast<float>(keys[i] % 1000) + d);
    }
    if (!miss_keys.empty()) {
      const auto res = cache.insert_or_assign(miss_keys, miss_values);
      r.inserted += res.inserted;
      r.evicted += res.evicted;
      r.refused += res.refused;
    }
    if (online) cache.online_step();
    r.batch_ticks.push_back(cache.now());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.final_size = cache.size();
  if (online) {
    r.online = cache.online_status();
    r.models = cache.models().history();
  }
  return r;
}

#if BELADY_DEMO_HAS_OPT
/// Belady's OPT over the same requests (fully associative, one request at a time): the bound.
row serve_opt(const options& o, const std::vector<std::uint64_t>& requests, const std::vector<phase_span>& phases) {
  std::vector<belady::replay::request> trace(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) trace[i].key = requests[i];
  belady::replay::annotate_next_access(trace);
  auto opt = belady::replay::make_opt(o.capacity);
  row r;
  r.name = "opt";
  r.phase_hits.assign(phases.size(), 0);
  const auto start = std::chrono::steady_clock::now();
  std::uint32_t batch_hits = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (opt->access(trace[i])) {
      ++r.hits;
      ++batch_hits;
      for (std::size_t ph = 0; ph < phases.size(); ++ph)
        if (i >= phases[ph].begin && i < phases[ph].end) ++r.phase_hits[ph];
    } else {
      ++r.inserted;
    }
    if ((i + 1) % o.batch == 0 || i + 1 == trace.size()) {
      r.batch_hits.push_back(batch_hits);
      batch_hits = 0;
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.final_size = opt->occupied();
  return r;
}
#endif

/// Requests from the start of phase `ph` until a run of 4 batches reaches 98 % of the phase's
/// steady hit ratio (its last quarter); -1 if it never does.
long long recovery_requests(const row& r, const phase_span& ph, std::size_t batch) {
  const std::size_t first = ph.begin / batch, last = std::min(r.batch_hits.size(), (ph.end + batch - 1) / batch);
  if (last <= first + 8) return -1;
  const std::size_t tail = first + (last - first) * 3 / 4;
  double steady = 0;
  for (std::size_t b = tail; b < last; ++b) steady += r.batch_hits[b];
  steady /= double((last - tail) * batch);
  for (std::size_t b = first; b + 4 <= last; ++b) {
    double w = 0;
    for (std::size_t k = b; k < b + 4; ++k) w += r.batch_hits[k];
    if (w / double(4 * batch) >= 0.98 * steady) return static_cast<long long>((b - first) * batch);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const options o = parse(argc, argv);
    // The demo prints the online learner's decisions as tables below; its log lines (info) would
    // interleave with them. Warnings (rollbacks) and errors still reach stderr.
    belady::logger()->set_level(spdlog::level::warn);
    std::vector<std::uint64_t> requests;
    std::vector<phase_span> phases;
    std::string source;
    if (!o.trace.empty()) {
      requests = read_trace(o.trace);
      phases.push_back({"trace", 0, requests.size()});
      source = o.trace;
    } else {
      using belady::workload::pattern;
      // Popular keys, then a scan that floods an LRU cache, then a loop a bit larger than the
      // cache, then back to the popular keys: the pattern changes each policy copes with.
      const std::vector<belady::workload::phase> plan{
          {pattern::zipf, 400'000, 200'000, 0, 0.9},
          {pattern::scan, 150'000, 150'000, 10'000'000, 0},
          {pattern::loop, 200'000, 40'000, 20'000'000, 0},
          {pattern::zipf, 400'000, 200'000, 0, 0.9},
      };
      requests = belady::workload::generate(plan, 42);
      std::size_t at = 0;
      for (const auto& p : plan) {
        phases.push_back({belady::workload::to_string(p.kind), at, at + p.requests});
        at += p.requests;
      }
      source = "synthetic (seed 42): zipf 0.9 -> scan -> loop -> zipf 0.9";
    }
    std::printf("belady-demo: %zu requests from %s\n", requests.size(), source.c_str());
    std::printf("cache: capacity %zu slots, dim %zu float, batches of %zu, backend %s\n\n", o.capacity, o.dim,
                o.batch, std::string(belady::to_string(o.executor)).c_str());

    std::printf("%-8s %9s", "policy", "hit ratio");
    for (const auto& ph : phases) std::printf(" %9s", ph.name.c_str());
    std::printf(" %10s %10s %8s %8s %10s\n", "inserted", "evicted", "refused", "size", "Mreq/s");
    std::vector<row> rows;
    for (belady::policy p : {belady::policy::lru, belady::policy::lfu, belady::policy::fifo})
      rows.push_back(serve(o, p, false, requests, phases));
    rows.push_back(serve(o, belady::policy::learned, true, requests, phases));
    rows.push_back(serve(o, belady::policy::learned, true, requests, phases, true));
#if BELADY_DEMO_HAS_OPT
    rows.push_back(serve_opt(o, requests, phases));
#endif
    for (const row& r : rows) {
      std::printf("%-8s %9.4f", r.name.c_str(), double(r.hits) / double(requests.size()));
      for (std::size_t ph = 0; ph < phases.size(); ++ph)
        std::printf(" %9.4f", double(r.phase_hits[ph]) / double(phases[ph].end - phases[ph].begin));
      std::printf(" %10llu %10llu %8llu %8zu %10.2f\n", (unsigned long long)r.inserted,
                  (unsigned long long)r.evicted, (unsigned long long)r.refused, r.final_size,
                  double(requests.size()) / r.seconds / 1e6);
      if (r.final_size > o.capacity + 1024) {
        std::fprintf(stderr, "belady-demo: size %zu exceeds capacity\n", r.final_size);
        return 1;
      }
    }
    std::printf("\nRequests after each phase change until the hit ratio is within 2 %% of the phase's steady state:\n");
    std::printf("%-8s", "policy");
    for (const auto& ph : phases) std::printf(" %9s", ph.name.c_str());
    std::printf("\n");
    for (const row& r : rows) {
      std::printf("%-8s", r.name.c_str());
      for (const auto& ph : phases) {
        const long long n = recovery_requests(r, ph, o.batch);
        if (n < 0) std::printf(" %9s", "-");
        else std::printf(" %9lld", n);
      }
      std::printf("\n");
    }

    const row& learned = rows[3];
    const auto& on = learned.online;
    std::printf("\nOnline learning (learned row): %llu sampled requests (5 %% of keys), %llu training rounds, "
                "%llu promoted, %llu rejected, %llu rolled back, %llu failed; version %llu active at the end.\n",
                (unsigned long long)on.sampled_requests, (unsigned long long)on.training_rounds,
                (unsigned long long)on.promotions, (unsigned long long)on.rejections, (unsigned long long)on.rollbacks,
                (unsigned long long)on.failures, (unsigned long long)on.active_version);
    std::printf("\n%-8s %-11s %9s %9s %12s %12s %9s  %s\n", "version", "decision", "request", "p", "sim miss new",
                "sim miss old", "sim LRU", "why");
    for (const auto& d : on.decisions) {
      // The request count at the decision: the end of the first batch whose clock reached it.
      const auto it = std::lower_bound(learned.batch_ticks.begin(), learned.batch_ticks.end(), d.tick);
      const unsigned long long at =
          std::min<unsigned long long>(requests.size(), (unsigned long long)(it - learned.batch_ticks.begin() + 1) * o.batch);
      if (d.what == belady::online_decision::kind::promoted || d.what == belady::online_decision::kind::rejected)
        std::printf("%-8llu %-11s %9llu %9.2g %12.4f %12.4f %9.4f  %s\n", (unsigned long long)d.version,
                    belady::to_string(d.what), at, d.p_value, d.sim_miss_candidate, d.sim_miss_active, d.sim_miss_lru,
                    d.reason.substr(0, d.reason.find(':')).c_str());
      else
        std::printf("%-8llu %-11s %9llu %9s %12s %12s %9s  %s\n", (unsigned long long)d.version,
                    belady::to_string(d.what), at, "", "", "", "", d.reason.c_str());
    }
    const auto& sp = rows[4].online.specialisation;
    std::printf("\nWorkload specialisation (special row): %llu classifications of the sampled stream (uniform %llu, "
                "zipfian %llu, scan %llu, looping %llu, mixed %llu), %llu class switches; class models: zipfian %llu, "
                "scan %llu, looping %llu, mixed %llu; version %llu active at the end.\n",
                (unsigned long long)sp.classifications, (unsigned long long)sp.windows_per_class[0],
                (unsigned long long)sp.windows_per_class[1], (unsigned long long)sp.windows_per_class[2],
                (unsigned long long)sp.windows_per_class[3], (unsigned long long)sp.windows_per_class[4],
                (unsigned long long)sp.switches, (unsigned long long)sp.class_models[1],
                (unsigned long long)sp.class_models[2], (unsigned long long)sp.class_models[3],
                (unsigned long long)sp.class_models[4], (unsigned long long)rows[4].online.active_version);
    for (const auto& d : rows[4].online.decisions)
      if (d.what == belady::online_decision::kind::switched) {
        const auto it = std::lower_bound(rows[4].batch_ticks.begin(), rows[4].batch_ticks.end(), d.tick);
        std::printf("  at request %9llu: %s\n",
                    std::min<unsigned long long>(requests.size(),
                                                 (unsigned long long)(it - rows[4].batch_ticks.begin() + 1) * o.batch),
                    d.reason.c_str());
      }
    std::printf("\nModel versions (registry; validation on held-out samples: mean squared error of log2 time to\n"
                "next use, share of pairs ranked right):\n%-8s %-7s %-12s %9s %8s %8s  %s\n",
                "version", "parent", "state", "samples", "mse", "pairs", "note");
    for (const auto& m : learned.models)
      std::printf("%-8llu %-7llu %-12s %9llu %8.3f %8.3f  %s\n", (unsigned long long)m.version,
                  (unsigned long long)m.parent_version, belady::model::to_string(m.state),
                  (unsigned long long)m.info.training_samples, m.info.validation_loss, m.info.validation_accuracy,
                  m.info.note.c_str());
    std::printf("\nPer-phase columns: hit ratio within that phase. 'refused': newcomers scoring below every\n"
                "resident of their bucket (admission). learned: policy::learned with online learning (sampled\n"
                "requests, a warm-started trainer, miniature simulations, McNemar's test, rollback watch).\n"
                "special: the same, plus workload specialisation: a model per workload class, selected by the\n"
                "classifier of the sampled stream (docs/workload.md).\n"
                "opt: Belady's optimum, fully associative, one request at a time (a bound, not a policy).\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "belady-demo: %s\n", e.what());
    return 1;
  }
}
