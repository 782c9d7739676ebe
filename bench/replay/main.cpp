// belady-replay: replays a real trace through exact reference policies or the real cache and
// prints miss ratios. Command-line contract (scripts depend on it):
//
//   belady-replay --trace PATH --format FMT --capacity N[,N...] --policy P[,P...]
//                 --engine exact|cache [--backend host|cuda] [--batch N] [--limit R] [--json]
//                 [--bytes] [--bucket-size B] [--csv-column C] [--csv-delimiter D] [--csv-header]
//                 [--part all|first-half|second-half] [--model model.bin] [--admission] [--candidates K]
//                 [--online [--sample-rate R] [--train-every N] [--step-every N] [--seed S] [--mlp H]
//                           [--horizon CAPACITIES] [--epochs N] [--learning-rate LR]
//                           [--max-eval N] [--watch N] [--baseline-shift S] [--baseline-frequency F]
//                           [--baseline-gap G]
//                           [--specialise [--ensemble] [--class-window N] [--class-stride N]]]
//
// Capacities count objects; with --bytes they count bytes (traces with sizes: oracle-general) and
// accept KiB/MiB/GiB suffixes. With --json, one JSON object per line per (policy, engine,
// capacity).
#include <chrono>
#include <cstdio>
#include <optional>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "cache_engine.hpp"
#include "exact_policy.hpp"
#include "belady/model/model_io.hpp"
#include "part.hpp"
#include "trace.hpp"

namespace {

using namespace belady::replay;

struct cli {
  trace_spec trace;
  bool format_given = false;
  std::vector<std::uint64_t> capacities;
  std::vector<std::string> policies;
  std::string engine = "exact";
  belady::backend executor = belady::backend::host;
  std::size_t batch = 1;
  std::uint32_t bucket_size = 128;
  bool bytes = false;
  bool json = false;
  std::string model_path;       ///< --policy learned: the model to install
  bool online = false;          ///< --policy learned: learn online during the replay
  double sample_rate = 0.05;    ///< online: the cache's maximum, since the shared traces are small
  std::size_t train_every = 5000;
  std::size_t step_every = 1000;
  std::uint64_t seed = 1;
  std::uint32_t mlp_hidden = 0;
  double horizon = 0;           ///< online: label censoring in capacities (0: the library's default)
  std::uint32_t epochs = 0;     ///< online: passes per training round (0: the library's default)
  float learning_rate = 0;      ///< online: Adam's step (0: the library's default)
  float baseline_shift = -1;    ///< online: the baseline's newcomer shift (< 0: the library's default)
  float baseline_frequency = -1;  ///< online: the baseline's frequency weight (< 0: the library's default)
  float baseline_gap = -1;        ///< online: the baseline's gap weight (< 0: the library's default)
  std::size_t max_eval = 0;     ///< online: sampled requests before an undecided candidate is rejected (0: default)
  std::size_t watch = 0;        ///< online: sampled requests a promotion is watched (0: default)
  belady::specialisation_config specialise{};  ///< online: workload specialisation
  bool admission = false;
  std::uint32_t candidates = 16;
  std::string part = "all";
};

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "belady-replay: " << why << "\n"
            << "usage: belady-replay --trace PATH --format FMT --capacity N[,N...] --policy P[,P...]\n"
               "                     --engine exact|cache [--backend host|cuda] [--batch N] [--limit R]\n"
               "                     [--json] [--bytes] [--bucket-size B] [--csv-column C]\n"
               "                     [--csv-delimiter D] [--csv-header] [--part all|first-half|second-half]\n"
               "                     [--model model.bin] [--admission] [--candidates K]\n"
               "                     [--online [--sample-rate R] [--train-every N] [--step-every N] [--seed S]\n"
               "                               [--mlp H] [--horizon CAPACITIES] [--epochs N] [--learning-rate LR]\n"
               "                               [--max-eval N] [--watch N] [--baseline-shift S]\n"
               "                               [--baseline-frequency F] [--baseline-gap G]\n"
               "                               [--specialise [--ensemble] [--class-window N]\n"
               "                                                       [--class-stride N]]]\n"
               "formats: oracle-general u32be i32be i64be arc lines csv (.xz/.zst read transparently)\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

std::uint64_t parse_count(const std::string& flag, const std::string& text, bool allow_suffix) {
  std::size_t pos = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &pos);
  } catch (const std::exception&) {
    usage_error(flag + ": not a number: '" + text + "'");
  }
  std::string suffix = text.substr(pos);
  std::uint64_t mult = 1;
  if (!suffix.empty()) {
    if (!allow_suffix) usage_error(flag + ": not a plain integer: '" + text + "'");
    if (suffix == "KiB" || suffix == "K") mult = 1ull << 10;
    else if (suffix == "MiB" || suffix == "M") mult = 1ull << 20;
    else if (suffix == "GiB" || suffix == "G") mult = 1ull << 30;
    else usage_error(flag + ": unknown suffix '" + suffix + "' in '" + text + "' (KiB, MiB, GiB)");
  }
  if (v == 0) usage_error(flag + ": must be positive: '" + text + "'");
  return v * mult;
}

cli parse(int argc, char** argv) {
  cli c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--trace") c.trace.path = value();
    else if (a == "--format") {
      const std::string f = value();
      const auto fmt = parse_trace_format(f);
      if (!fmt) usage_error("unknown format '" + f + "'");
      c.trace.format = *fmt;
      c.format_given = true;
    } else if (a == "--capacity") {
      for (const auto& part : split(value())) c.capacities.push_back(parse_count(a, part, true));
    } else if (a == "--policy") c.policies = split(value());
    else if (a == "--engine") {
      c.engine = value();
      if (c.engine != "exact" && c.engine != "cache") usage_error("unknown engine '" + c.engine + "' (exact, cache)");
    } else if (a == "--backend") {
      const std::string b = value();
      if (b == "host") c.executor = belady::backend::host;
      else if (b == "cuda") c.executor = belady::backend::cuda;
      else usage_error("unknown backend '" + b + "' (host, cuda)");
    } else if (a == "--batch") c.batch = parse_count(a, value(), false);
    else if (a == "--limit") c.trace.limit = parse_count(a, value(), false);
    else if (a == "--bucket-size") c.bucket_size = static_cast<std::uint32_t>(parse_count(a, value(), false));
    else if (a == "--csv-column") c.trace.csv_column = std::stoul(value());
    else if (a == "--csv-delimiter") {
      const std::string d = value();
      if (d.size() != 1) usage_error("--csv-delimiter needs one character");
      c.trace.csv_delimiter = d[0];
    } else if (a == "--csv-header") c.trace.csv_header = true;
    else if (a == "--bytes") c.bytes = true;
    else if (a == "--model") c.model_path = value();
    else if (a == "--admission") c.admission = true;
    else if (a == "--candidates") c.candidates = static_cast<std::uint32_t>(parse_count(a, value(), false));
    else if (a == "--part") c.part = value();
    else if (a == "--online") c.online = true;
    else if (a == "--sample-rate") c.sample_rate = std::stod(value());
    else if (a == "--train-every") c.train_every = parse_count(a, value(), false);
    else if (a == "--step-every") c.step_every = parse_count(a, value(), false);
    else if (a == "--seed") c.seed = parse_count(a, value(), true);
    else if (a == "--mlp") c.mlp_hidden = static_cast<std::uint32_t>(parse_count(a, value(), true));
    else if (a == "--horizon") {
      c.horizon = std::stod(value());
      if (!(c.horizon > 0)) usage_error("--horizon needs a positive number of capacities");
    }
    else if (a == "--epochs") c.epochs = static_cast<std::uint32_t>(parse_count(a, value(), false));
    else if (a == "--learning-rate") {
      c.learning_rate = std::stof(value());
      if (!(c.learning_rate > 0)) usage_error("--learning-rate needs a positive number");
    }
    else if (a == "--baseline-shift") {
      c.baseline_shift = std::stof(value());
      if (!(c.baseline_shift >= 0)) usage_error("--baseline-shift needs a number >= 0 (0: plain recency)");
    }
    else if (a == "--baseline-frequency") {
      c.baseline_frequency = std::stof(value());
      if (!(c.baseline_frequency >= 0)) usage_error("--baseline-frequency needs a number >= 0");
    }
    else if (a == "--baseline-gap") {
      c.baseline_gap = std::stof(value());
      if (!(c.baseline_gap >= 0)) usage_error("--baseline-gap needs a number >= 0");
    }
    else if (a == "--max-eval") c.max_eval = parse_count(a, value(), false);
    else if (a == "--watch") c.watch = parse_count(a, value(), false);
    else if (a == "--specialise") c.specialise.enabled = true;
    else if (a == "--ensemble") c.specialise.enabled = c.specialise.ensemble = true;
    else if (a == "--class-window") c.specialise.window = parse_count(a, value(), false);
    else if (a == "--class-stride") c.specialise.stride = parse_count(a, value(), false);
    else if (a == "--json") c.json = true;
    else if (a == "--help" || a == "-h") usage_error("help");
    else usage_error("unknown argument '" + a + "'");
  }
  if (c.trace.path.empty()) usage_error("--trace is required");
  if (!c.format_given) usage_error("--format is required");
  if (c.capacities.empty()) usage_error("--capacity is required");
  if (c.policies.empty()) usage_error("--policy is required");
  for (const auto& p : c.policies)
    if (p == "learned" && c.engine != "cache") usage_error("--policy learned runs on --engine cache");
  if (c.online && c.policies != std::vector<std::string>{"learned"}) usage_error("--online needs --policy learned alone");
  if (c.specialise.enabled && !c.online) usage_error("--specialise and --ensemble need --online");
  if (c.bytes && c.engine == "cache") usage_error("--bytes: the cache engine counts objects; use --engine exact");
  if (c.bytes && c.trace.format != trace_format::oracle_general)
    usage_error("--bytes needs a trace with sizes (--format oracle-general)");
  return c;
}

std::optional<belady::policy> cache_policy(const std::string& name) {
  if (name == "lru") return belady::policy::lru;
  if (name == "lfu") return belady::policy::lfu;
  if (name == "fifo") return belady::policy::fifo;
  if (name == "learned") return belady::policy::learned;
  return std::nullopt;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
      continue;
    }
    out += ch;
  }
  return out;
}

struct result_row {
  std::string policy, engine, backend;
  std::uint64_t capacity, requests, misses, slots;
  std::uint32_t bucket_size;
  double seconds;
  const belady::online_report* online = nullptr;
};

/// The online learner's figures as JSON members (after a comma).
void print_online_json(const belady::online_report& o) {
  std::printf(",\"online\":{\"final_version\":%llu,\"training_rounds\":%llu,\"promotions\":%llu,"
              "\"rejections\":%llu,\"rollbacks\":%llu,\"failures\":%llu,\"sampled_requests\":%llu,"
              "\"dropped_events\":%llu,\"decisions\":[",
              (unsigned long long)o.active_version, (unsigned long long)o.training_rounds,
              (unsigned long long)o.promotions, (unsigned long long)o.rejections, (unsigned long long)o.rollbacks,
              (unsigned long long)o.failures, (unsigned long long)o.sampled_requests,
              (unsigned long long)o.dropped_events);
  for (std::size_t i = 0; i < o.decisions.size(); ++i) {
    const auto& d = o.decisions[i];
    std::printf("%s{\"kind\":\"%s\",\"version\":%llu,\"tick\":%llu,\"p_value\":%.3g,\"eval_requests\":%llu,"
                "\"sim_miss_active\":%.4f,\"sim_miss_candidate\":%.4f,\"sim_miss_lru\":%.4f,\"reason\":\"%s\"}",
                i ? "," : "", belady::to_string(d.what), (unsigned long long)d.version, (unsigned long long)d.tick,
                d.p_value, (unsigned long long)d.eval_requests, d.sim_miss_active, d.sim_miss_candidate,
                d.sim_miss_lru, json_escape(d.reason).c_str());
  }
  std::printf("]");
  const auto& s = o.specialisation;
  if (s.enabled) {
    std::printf(",\"specialisation\":{\"current_class\":\"%s\",\"classifications\":%llu,\"switches\":%llu,"
                "\"activations\":%llu,\"ensembles\":%llu,\"max_switch_us\":%.1f,\"windows_per_class\":[",
                s.current_class.c_str(), (unsigned long long)s.classifications, (unsigned long long)s.switches,
                (unsigned long long)s.activations, (unsigned long long)s.ensembles, s.max_switch_us);
    for (std::size_t i = 0; i < s.windows_per_class.size(); ++i)
      std::printf("%s%llu", i ? "," : "", (unsigned long long)s.windows_per_class[i]);
    std::printf("],\"class_models\":[");
    for (std::size_t i = 0; i < s.class_models.size(); ++i)
      std::printf("%s%llu", i ? "," : "", (unsigned long long)s.class_models[i]);
    std::printf("]}");
  }
  std::printf("}");
}

void print_row(const cli& c, const result_row& r) {
  const double ratio = r.requests ? double(r.misses) / double(r.requests) : 0.0;
  if (c.json) {
    std::printf(
        "{\"trace\":\"%s\",\"format\":\"%s\",\"policy\":\"%s\",\"engine\":\"%s\",\"backend\":\"%s\","
        "\"capacity\":%llu,\"capacity_unit\":\"%s\",\"requests\":%llu,\"misses\":%llu,\"miss_ratio\":%.6f,"
        "\"hit_ratio\":%.6f,\"seconds\":%.6f,\"requests_per_second\":%.1f,\"batch\":%zu",
        json_escape(c.trace.path).c_str(), std::string(to_string(c.trace.format)).c_str(), r.policy.c_str(),
        r.engine.c_str(), r.backend.c_str(), (unsigned long long)r.capacity, c.bytes ? "bytes" : "objects",
        (unsigned long long)r.requests, (unsigned long long)r.misses, ratio, 1.0 - ratio, r.seconds,
        r.seconds > 0 ? double(r.requests) / r.seconds : 0.0, r.engine == "cache" ? c.batch : std::size_t{1});
    if (r.engine == "cache")
      std::printf(",\"slots\":%llu,\"bucket_size\":%u", (unsigned long long)r.slots, r.bucket_size);
    if (r.online != nullptr) print_online_json(*r.online);
    std::printf("}\n");
  } else {
    std::printf("%-8s %-6s %-5s %14llu %10llu %10llu %10.4f %9.2f\n", r.policy.c_str(), r.engine.c_str(),
                r.backend.c_str(), (unsigned long long)r.capacity, (unsigned long long)r.requests,
                (unsigned long long)r.misses, ratio, r.seconds > 0 ? double(r.requests) / r.seconds / 1e6 : 0.0);
    if (r.online != nullptr) {
      const auto& o = *r.online;
      std::printf("  online: final version %llu, %llu rounds, %llu promoted, %llu rejected, %llu rolled back, "
                  "%llu failed\n",
                  (unsigned long long)o.active_version, (unsigned long long)o.training_rounds,
                  (unsigned long long)o.promotions, (unsigned long long)o.rejections, (unsigned long long)o.rollbacks,
                  (unsigned long long)o.failures);
      if (o.specialisation.enabled)
        std::printf("  specialisation: %llu classifications, %llu switches, %llu ensembles, class now %s\n",
                    (unsigned long long)o.specialisation.classifications,
                    (unsigned long long)o.specialisation.switches, (unsigned long long)o.specialisation.ensembles,
                    o.specialisation.current_class.empty() ? "none" : o.specialisation.current_class.c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const cli c = parse(argc, argv);
  try {
    std::vector<request> trace = select_part(load_trace(c.trace), c.part);
    if (!c.bytes) make_unit_size(trace);
    std::optional<belady::model::loaded_model> model;
    if (!c.model_path.empty()) model = belady::model::load(c.model_path);
    bool need_opt = false;
    for (const auto& p : c.policies) need_opt |= (p == "opt" || p == "belady");
    if (need_opt) annotate_next_access(trace);
    if (!c.json) {
      std::printf("trace %s (%s): %zu requests\n", c.trace.path.c_str(), std::string(to_string(c.trace.format)).c_str(),
                  trace.size());
      std::printf("%-8s %-6s %-5s %14s %10s %10s %10s %9s\n", "policy", "engine", "back", c.bytes ? "capacity(B)" : "capacity",
                  "requests", "misses", "miss ratio", "Mreq/s");
    }
    for (const std::string& p : c.policies) {
      for (const std::uint64_t cap : c.capacities) {
        result_row r{p, c.engine, "-", cap, trace.size(), 0, 0, 0, 0};
        belady::online_report online;
        if (c.engine == "exact") {
          auto policy = make_exact_policy(p, cap);
          const auto start = std::chrono::steady_clock::now();
          r.misses = count_misses(*policy, trace);
          r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } else {
          const auto pol = cache_policy(p);
          if (!pol) usage_error("policy '" + p + "' is not a cache policy (cache engine: lru, lfu, fifo, learned)");
          cache_engine_options o;
          o.capacity = cap;
          o.bucket_size = c.bucket_size;
          o.eviction = *pol;
          o.executor = c.executor;
          o.batch = c.batch;
          o.learned_admission = c.admission;
          o.learned_candidates = c.candidates;
          o.model = model ? &model->params : nullptr;
          o.online = c.online;
          o.online_config.sample_rate = c.sample_rate;
          o.online_config.train_every_samples = c.train_every;
          o.online_config.seed = c.seed;
          o.online_config.mlp_hidden = c.mlp_hidden;
          if (c.horizon > 0) o.online_config.horizon_capacities = c.horizon;
          if (c.epochs > 0) o.online_config.epochs = c.epochs;
          if (c.learning_rate > 0) o.online_config.learning_rate = c.learning_rate;
          if (c.max_eval > 0) o.online_config.max_eval_requests = c.max_eval;
          if (c.baseline_shift >= 0) o.online_config.baseline_newcomer_shift = c.baseline_shift;
          if (c.baseline_frequency >= 0) o.online_config.baseline_frequency_weight = c.baseline_frequency;
          if (c.baseline_gap >= 0) o.online_config.baseline_gap_weight = c.baseline_gap;
          if (c.watch > 0) o.online_config.watch_samples = c.watch;
          o.online_config.specialise = c.specialise;
          o.online_step_every = c.step_every;
          const auto res = replay_cache(trace, o);
          online = res.online;
          r.online = c.online ? &online : nullptr;
          r.backend = std::string(belady::to_string(c.executor));
          r.misses = res.misses;
          r.seconds = res.seconds;
          r.slots = res.slots;
          r.bucket_size = res.bucket_size;
        }
        print_row(c, r);
      }
    }
  } catch (const trace_error& e) {
    std::fprintf(stderr, "belady-replay: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "belady-replay: %s\n", e.what());
    return 1;
  }
  return 0;
}
