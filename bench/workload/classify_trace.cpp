// belady-workload-classify: classifies a trace window by window, as the cache would see it
// through its sampled access log (keys sampled by hash at --sample-rate, every access of a
// sampled key kept), and prints the class of each window and the shares of each class.
//
//   belady-workload-classify --trace PATH --format FMT [--window N] [--sample-rate R] [--json]
#include <belady/detail/hash.hpp>
#include <belady/detail/sampling.hpp>
#include <belady/workload.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "trace.hpp"

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "belady-workload-classify: %s\nusage: belady-workload-classify --trace PATH --format FMT "
                       "[--window N] [--sample-rate R] [--json]\n", why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  namespace wl = belady::workload;
  belady::replay::trace_spec spec;
  bool have_format = false, json = false;
  std::size_t window = 4096;
  double rate = 1.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--trace") spec.path = value();
    else if (a == "--format") {
      const auto f = belady::replay::parse_trace_format(value());
      if (!f) usage("unknown format");
      spec.format = *f;
      have_format = true;
    } else if (a == "--window") window = std::stoul(value());
    else if (a == "--sample-rate") rate = std::stod(value());
    else if (a == "--json") json = true;
    else usage("unknown argument '" + a + "'");
  }
  if (spec.path.empty() || !have_format) usage("--trace and --format are required");
  if (window < 64) usage("--window must be at least 64");
  if (!(rate > 0 && rate <= 1)) usage("--sample-rate must be in (0, 1]");
  try {
    const auto trace = belady::replay::load_trace(spec);
    const auto threshold = rate >= 1 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(rate * 18446744073709551616.0);
    const wl::workload_classifier classifier;
    std::vector<std::uint64_t> keys;
    std::array<std::size_t, wl::class_count> counts{};
    std::size_t windows = 0, request = 0;
    std::string timeline;
    for (const auto& r : trace) {
      ++request;
      if (belady::detail::sample_hash(belady::detail::mix64(r.key)) >= threshold && rate < 1) continue;
      keys.push_back(r.key);
      if (keys.size() < window) continue;
      const auto c = classifier.classify(keys);
      ++counts[static_cast<int>(c.kind)];
      ++windows;
      timeline += std::string(1, wl::to_string(c.kind)[0]);
      if (json)
        std::printf("{\"window\":%zu,\"end_request\":%zu,\"class\":\"%s\",\"confidence\":%.3f,\"blend\":[%.3f,%.3f,%.3f,%.3f]}\n",
                    windows, request, std::string(wl::to_string(c.kind)).c_str(), c.confidence, c.blend[0], c.blend[1],
                    c.blend[2], c.blend[3]);
      keys.clear();
    }
    std::printf("%s: %zu requests, %zu windows of %zu sampled accesses (rate %.3f):", spec.path.c_str(), trace.size(),
                windows, window, rate);
    for (int k = 0; k < wl::class_count; ++k)
      std::printf(" %s %.0f %%", std::string(wl::to_string(static_cast<wl::workload_class>(k))).c_str(),
                  windows ? 100.0 * double(counts[k]) / double(windows) : 0.0);
    std::printf("\ntimeline (u z s l m): %s\n", timeline.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "belady-workload-classify: %s\n", e.what());
    return 1;
  }
  return 0;
}
