// belady-demo: serves a synthetic workload with phase changes (or a trace) through the cache
// under each classic policy, and prints what the cache did.
//
//   belady-demo [--trace PATH] [--capacity N] [--batch N] [--dim N] [--backend host|cuda]
//
// A trace is a text file with one integer key per line. Each batch of requests is looked up
// with find(); the misses are "computed" (a stand-in for the embedding model or database a real
// host would call) and inserted with insert_or_assign(), as a read-through cache does.
#include <belady/belady.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/synthetic.hpp"

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
  std::vector<std::uint64_t> phase_hits;
  std::uint64_t hits = 0, inserted = 0, evicted = 0, refused = 0;
  std::size_t final_size = 0;
  double seconds = 0;
};

row serve(const options& o, belady::policy p, const std::vector<std::uint64_t>& requests,
          const std::vector<phase_span>& phases) {
  belady::cache<std::uint64_t, float> cache(
      {.capacity = o.capacity, .dim = o.dim, .eviction = p, .executor = o.executor});
  row r;
  r.phase_hits.assign(phases.size(), 0);
  std::vector<float> values(o.batch * o.dim);
  std::unique_ptr<bool[]> found(new bool[o.batch]);
  std::vector<std::uint64_t> miss_keys;
  std::vector<float> miss_values;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t b = 0; b < requests.size(); b += o.batch) {
    const std::size_t n = std::min(o.batch, requests.size() - b);
    const std::span<const std::uint64_t> keys(requests.data() + b, n);
    r.hits += cache.find(keys, std::span<float>(values.data(), n * o.dim), std::span<bool>(found.get(), n));
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
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.final_size = cache.size();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const options o = parse(argc, argv);
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

    std::printf("%-6s %9s", "policy", "hit ratio");
    for (const auto& ph : phases) std::printf(" %9s", ph.name.c_str());
    std::printf(" %10s %10s %8s %8s %10s\n", "inserted", "evicted", "refused", "size", "Mreq/s");
    for (belady::policy p : {belady::policy::lru, belady::policy::lfu, belady::policy::fifo}) {
      const row r = serve(o, p, requests, phases);
      std::printf("%-6s %9.4f", std::string(belady::to_string(p)).c_str(), double(r.hits) / double(requests.size()));
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
    std::printf("\nPer-phase columns: hit ratio within that phase. 'refused': newcomers scoring below every\n"
                "resident of their bucket (admission). The learned policy joins this table in a later release.\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "belady-demo: %s\n", e.what());
    return 1;
  }
}
