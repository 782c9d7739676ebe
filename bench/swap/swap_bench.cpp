// belady-swap-bench: how long a model swap (install + activate) takes while reader threads keep
// predicting, and how much the swaps slow the readers down.
//
// --engine cache (default): the readers are real batched calls on a belady::cache with
// policy::learned (host backend, or --backend cuda: batches staged in device memory, so each
// reader batch is an upload, the call and a download): each batch is an insert_or_assign or a find of `batch` keys drawn
// from four times the capacity, so most inserts evict and run the model; the swaps go through the
// cache's own registry. A failed operation is a thrown call or a value that does not belong to its
// key. --engine predict: readers stand in for batched cache calls with one registry.active() load
// followed by predict() over `batch` feature vectors; each reader also checks that the model it
// loaded is complete (its backend copy equals the parameters installed under that version). The writer installs `swaps` pre-built models, one
// every `interval` microseconds, and times each install(params, info, activate=true) call:
// validation, the uploader's copy, the bookkeeping and the atomic store.
//
// Reader throughput during swaps is compared with steady state (no swaps) in the same run. The
// swaps are split into `rounds` windows that alternate with steady windows of the same length
// (S W S W ... W S; in a steady window the writer wakes on the same schedule but installs
// nothing), and each swap window is compared with the mean of the steady windows on either
// side, so that load from other processes drifting during the run cancels out; the reported
// ratio is the median over rounds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../bench/device_memory.hpp"
#include "belady/cache.hpp"
#include "belady/model/model_io.hpp"
#include "belady/model/registry.hpp"

namespace bm = belady::model;
using clock_type = std::chrono::steady_clock;

namespace {

volatile float g_sink = 0;  // the readers' results end here, so predict() is not optimised away

struct options {
  int readers = 2;
  int swaps = 1000;
  std::size_t batch = 4096;
  bm::model_kind kind = bm::model_kind::linear;
  std::uint32_t hidden = 16;
  int rounds = 10;
  int interval_us = 1000;
  std::size_t history = 16;
  bool cache_engine = true;
  std::size_t capacity = 1 << 18;
  belady::backend executor = belady::backend::host;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "%s\nusage: belady-swap-bench [--readers N=2] [--swaps N=1000] [--batch N=4096]\n"
               "         [--kind linear|mlp|linear_int8|mlp_int8] [--hidden H=16] [--rounds N=10]\n"
               "         [--interval-us US=1000] [--history N=16] [--engine cache|predict]\n"
               "         [--capacity N=262144] [--backend host|cuda]\n",
               msg);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") usage("belady-swap-bench: model swap latency under reader load");
    if (i + 1 >= argc) usage(("missing value for " + std::string(a)).c_str());
    const std::string v = argv[++i];
    try {
      if (a == "--readers") o.readers = std::stoi(v);
      else if (a == "--swaps") o.swaps = std::stoi(v);
      else if (a == "--batch") o.batch = std::stoul(v);
      else if (a == "--hidden") o.hidden = static_cast<std::uint32_t>(std::stoul(v));
      else if (a == "--rounds") o.rounds = std::stoi(v);
      else if (a == "--interval-us") o.interval_us = std::stoi(v);
      else if (a == "--history") o.history = std::stoul(v);
      else if (a == "--capacity") o.capacity = std::stoul(v);
      else if (a == "--backend") {
        if (v == "host") o.executor = belady::backend::host;
        else if (v == "cuda") o.executor = belady::backend::cuda;
        else usage(("unknown --backend " + v).c_str());
      }
      else if (a == "--engine") {
        if (v == "cache") o.cache_engine = true;
        else if (v == "predict") o.cache_engine = false;
        else usage(("unknown --engine " + v).c_str());
      }
      else if (a == "--kind") {
        if (v == "linear") o.kind = bm::model_kind::linear;
        else if (v == "mlp") o.kind = bm::model_kind::mlp;
        else if (v == "linear_int8") o.kind = bm::model_kind::linear_int8;
        else if (v == "mlp_int8") o.kind = bm::model_kind::mlp_int8;
        else usage(("unknown --kind " + v).c_str());
      } else {
        usage(("unknown option " + std::string(a)).c_str());
      }
    } catch (const std::logic_error&) {
      usage(("bad value for " + std::string(a) + ": " + v).c_str());
    }
  }
  if (o.readers < 0 || o.swaps < 1 || o.batch < 1 || o.rounds < 1 || o.rounds > o.swaps || o.interval_us < 0)
    usage("out-of-range option");
  if (o.executor == belady::backend::cuda && !o.cache_engine)
    usage("--backend cuda measures the cache engine (--engine predict runs on the host)");
  return o;
}

const char* kind_str(bm::model_kind k) {
  switch (k) {
    case bm::model_kind::linear: return "linear";
    case bm::model_kind::mlp: return "mlp";
    case bm::model_kind::linear_int8: return "linear_int8";
    case bm::model_kind::mlp_int8: return "mlp_int8";
  }
  return "?";
}

bm::model_params make_model(const options& o, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.5f);
  bm::model_params p{};
  const bool int8 = o.kind == bm::model_kind::linear_int8 || o.kind == bm::model_kind::mlp_int8;
  const bool mlp = o.kind == bm::model_kind::mlp || o.kind == bm::model_kind::mlp_int8;
  p.kind = mlp ? bm::model_kind::mlp : bm::model_kind::linear;
  p.hidden = mlp ? o.hidden : 0;
  for (int i = 0; i < bm::feature_count; ++i) {
    p.mean[i] = 4.0f + n(rng);
    p.inv_std[i] = 0.5f;
  }
  for (float& w : p.w) w = n(rng);
  p.bias = n(rng);
  for (std::uint32_t h = 0; h < p.hidden; ++h) {
    for (float& w : p.w1[h]) w = n(rng);
    p.b1[h] = n(rng);
    p.w2[h] = n(rng);
  }
  p.b2 = n(rng);
  return int8 ? bm::quantize_int8(p) : p;
}

struct alignas(64) reader_slot {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> failures{0};
  float sink = 0;  // keeps predict() from being optimised away
};

std::uint64_t total_batches(const std::vector<std::unique_ptr<reader_slot>>& slots) {
  std::uint64_t s = 0;
  for (const auto& r : slots) s += r->batches.load(std::memory_order_relaxed);
  return s;
}

// Reader batches per second over `ticks` writer ticks without swaps. The writer thread wakes on
// the same schedule as in a swap window and does nothing, so that the comparison isolates the
// swaps themselves: on a loaded 2-core machine a writer that sleeps through the whole window
// instead changed the readers' CPU share by up to 2x, in either direction.
double measure_rate(const std::vector<std::unique_ptr<reader_slot>>& slots, int ticks, int interval_us) {
  const std::uint64_t b0 = total_batches(slots);
  const auto t0 = clock_type::now();
  auto next_tick = t0;
  for (int k = 0; k < ticks; ++k) {
    next_tick += std::chrono::microseconds(interval_us);
    std::this_thread::sleep_until(next_tick);
  }
  const std::uint64_t b1 = total_batches(slots);
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  return double(b1 - b0) / s;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const std::size_t i = static_cast<std::size_t>(std::ceil(q * double(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);

  // Pre-build every model so the timed section is the swap alone. models[v - 1] is version v.
  std::vector<bm::model_params> models;
  models.reserve(static_cast<std::size_t>(o.swaps) + 1);
  for (int i = 0; i <= o.swaps; ++i) models.push_back(make_model(o, static_cast<std::uint32_t>(i + 1)));

  // The uploader the host backend would use: a private copy of the parameters.
  bm::model_registry own_registry({.history_limit = o.history, .uploader = [](const bm::model_params& p) {
                                     return std::shared_ptr<const void>(std::make_shared<const bm::model_params>(p));
                                   }});
  constexpr std::size_t dim = 8;
  const bool on_device = o.executor == belady::backend::cuda;
  const belady_bench::memory where = on_device ? belady_bench::memory::device : belady_bench::memory::host;
  if (on_device && !(belady_bench::have_cudart && belady::cuda_backend_available())) {
    std::fprintf(stderr, "belady-swap-bench: --backend cuda needs the CUDA runtime and a usable device\n");
    return 2;
  }
  std::unique_ptr<belady::cache<std::uint64_t, float>> cache;
  if (o.cache_engine)
    cache = std::make_unique<belady::cache<std::uint64_t, float>>(belady::cache_config{
        .capacity = o.capacity,
        .dim = dim,
        .eviction = belady::policy::learned,
        .executor = o.executor,
        .host_threads = 1});  // each reader thread is one executor: no pool contention in the figures
  bm::model_registry& registry = o.cache_engine ? cache->models() : own_registry;
  registry.install(models[0], {.note = "initial"});
  if (o.cache_engine) {  // fill the cache so that inserts evict from the start
    std::vector<std::uint64_t> keys(o.capacity);
    std::vector<float> values(o.capacity * dim);
    for (std::size_t i = 0; i < o.capacity; ++i) {
      keys[i] = i;
      for (std::size_t d = 0; d < dim; ++d) values[i * dim + d] = float(i);
    }
    belady_bench::buffer<std::uint64_t> k(where, keys.size());
    belady_bench::buffer<float> v(where, values.size());
    k.upload(keys.data(), keys.size());
    v.upload(values.data(), values.size());
    cache->insert_or_assign(k.span(), v.span());
  }

  std::vector<float> features(o.batch * bm::feature_count);
  {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.0f, 12.0f);
    for (float& f : features) f = u(rng);
  }

  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<reader_slot>> slots;
  std::vector<std::thread> readers;
  for (int t = 0; t < o.readers; ++t) {
    slots.push_back(std::make_unique<reader_slot>());
    readers.emplace_back([&, slot = slots.back().get(), seed = t + 1] {
      if (o.cache_engine) {
        std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
        std::vector<std::uint64_t> keys(o.batch);
        std::vector<float> values(o.batch * dim), out(o.batch * dim);
        std::unique_ptr<bool[]> found(new bool[o.batch]);
        // Where the cache reads them: these host arrays, or device copies (--backend cuda).
        belady_bench::buffer<std::uint64_t> keys_at(where, on_device ? o.batch : 0);
        belady_bench::buffer<float> values_at(where, on_device ? o.batch * dim : 0);
        belady_bench::buffer<float> out_at(where, on_device ? o.batch * dim : 0);
        belady_bench::buffer<bool> found_at(where, on_device ? o.batch : 0);
        const std::span<const std::uint64_t> k_span = on_device ? keys_at.span() : std::span(keys);
        const std::span<const float> v_span = on_device ? values_at.span() : std::span(values);
        const std::span<float> out_span = on_device ? out_at.span() : std::span(out);
        const std::span<bool> found_span = on_device ? found_at.span() : std::span<bool>(found.get(), o.batch);
        while (!stop.load(std::memory_order_relaxed)) {
          for (std::size_t k = 0; k < o.batch; ++k) {
            keys[k] = rng() % (4 * o.capacity);
            for (std::size_t d = 0; d < dim; ++d) values[k * dim + d] = float(keys[k]);
          }
          try {
            if (on_device) keys_at.upload(keys.data(), o.batch);
            if (rng() % 2) {
              if (on_device) values_at.upload(values.data(), values.size());
              cache->insert_or_assign(k_span, v_span);
            } else {
              cache->find(k_span, out_span, found_span);
              if (on_device) {
                out_at.download(out.data(), out.size());
                found_at.download(found.get(), o.batch);
              }
              for (std::size_t k = 0; k < o.batch; ++k)
                if (found[k] && out[k * dim] != float(keys[k])) slot->failures.fetch_add(1, std::memory_order_relaxed);
            }
          } catch (const std::exception&) {
            slot->failures.fetch_add(1, std::memory_order_relaxed);
          }
          slot->batches.fetch_add(1, std::memory_order_relaxed);
        }
        return;
      }
      while (!stop.load(std::memory_order_relaxed)) {
        const auto m = registry.active();  // one load per batch, held for the whole batch
        if (!m || m->version == 0 || m->version > models.size() ||
            std::memcmp(m->backend_params(), &models[m->version - 1], sizeof(bm::model_params)) != 0) {
          slot->failures.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        const bm::model_params& p = *m->backend_params();
        float acc = 0;
        for (std::size_t k = 0; k < o.batch; ++k) acc += bm::predict(p, &features[k * bm::feature_count]);
        if (!std::isfinite(acc)) slot->failures.fetch_add(1, std::memory_order_relaxed);
        slot->sink += acc;
        slot->batches.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // warm-up

  // S W S W ... W S: steady windows with as many (idle) writer ticks as the swap windows.
  const int per_round = o.swaps / o.rounds;
  std::vector<double> steady_rates{o.readers > 0 ? measure_rate(slots, per_round, o.interval_us) : 0.0};
  std::vector<double> swap_rates;
  std::vector<double> lat_us;
  lat_us.reserve(static_cast<std::size_t>(o.swaps));
  std::uint64_t writer_failures = 0;
  int installed = 0;
  for (int round = 0; round < o.rounds; ++round) {
    const int count = round + 1 == o.rounds ? o.swaps - installed : per_round;
    const std::uint64_t b0 = total_batches(slots);
    const auto phase_start = clock_type::now();
    auto next_tick = phase_start;
    for (int k = 0; k < count; ++k) {
      const int i = ++installed;
      next_tick += std::chrono::microseconds(o.interval_us);
      const auto t0 = clock_type::now();
      try {
        const std::uint64_t v = registry.install(models[static_cast<std::size_t>(i)],
                                                 {.training_samples = static_cast<std::uint64_t>(i)}, true);
        if (v != static_cast<std::uint64_t>(i) + 1) ++writer_failures;
      } catch (const std::exception& e) {
        if (writer_failures++ == 0) std::fprintf(stderr, "swap %d failed: %s\n", i, e.what());
      }
      lat_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
      if (registry.active_version() != static_cast<std::uint64_t>(i) + 1) ++writer_failures;
      std::this_thread::sleep_until(next_tick);
    }
    const double phase_s = std::chrono::duration<double>(clock_type::now() - phase_start).count();
    swap_rates.push_back(double(total_batches(slots) - b0) / phase_s);
    steady_rates.push_back(o.readers > 0 ? measure_rate(slots, per_round, o.interval_us) : 0.0);
  }
  stop.store(true);
  for (auto& t : readers) t.join();

  std::vector<double> ratios;
  double steady_sum = 0, swap_sum = 0;
  for (int r = 0; r < o.rounds; ++r) {
    const double around = (steady_rates[r] + steady_rates[r + 1]) / 2.0;
    ratios.push_back(around > 0 ? swap_rates[r] / around : 0.0);
    swap_sum += swap_rates[r];
  }
  for (double v : steady_rates) steady_sum += v;
  const double steady = steady_sum / double(steady_rates.size());
  const double during = swap_sum / double(swap_rates.size());
  const double ratio = percentile(ratios, 0.5);
  const double ratio_min = *std::min_element(ratios.begin(), ratios.end());

  std::uint64_t reader_failures = 0;
  float sink = 0;
  for (const auto& s : slots) {
    reader_failures += s->failures.load();
    sink += s->sink;
  }
  g_sink = sink;
  const std::uint64_t failed = writer_failures + reader_failures;
  const double p50 = percentile(lat_us, 0.50), p99 = percentile(lat_us, 0.99);
  const double mx = *std::max_element(lat_us.begin(), lat_us.end());
  double mean = 0;
  for (double v : lat_us) mean += v;
  mean /= double(lat_us.size());
  const double keys = double(o.batch);

  std::printf("engine: %s\n", !o.cache_engine ? "predict (registry load + predict over the batch)"
                             : on_device     ? "cache (learned policy, cuda backend, insert_or_assign/find)"
                                             : "cache (learned policy, host backend, insert_or_assign/find)");
  std::printf("belady-swap-bench: %d reader thread(s), batch %zu, model %s (hidden %u, %zu bytes on file), "
              "%d swaps every %d us in %d rounds, history %zu, %u hardware threads\n",
              o.readers, o.batch, kind_str(models[0].kind), models[0].hidden, bm::serialized_size(models[0]),
              o.swaps, o.interval_us, o.rounds, o.history, std::thread::hardware_concurrency());
  std::printf("swap latency (install+activate): p50 %.2f us, p99 %.2f us, max %.2f us, mean %.2f us\n", p50, p99,
              mx, mean);
  std::printf("reader throughput: steady %.0f batches/s (%.3g keys/s), during swaps %.0f batches/s; "
              "ratio during/steady: median %.3f, worst round %.3f\n",
              steady, steady * keys, during, ratio, ratio_min);
  std::printf("failed operations: %llu (writer %llu, reader %llu)\n", static_cast<unsigned long long>(failed),
              static_cast<unsigned long long>(writer_failures), static_cast<unsigned long long>(reader_failures));
  std::printf(
      "{\"bench\":\"swap\",\"backend\":\"%s\",\"engine\":\"%s\",\"readers\":%d,\"batch\":%zu,\"kind\":\"%s\",\"hidden\":%u,\"swaps\":%d,"
      "\"interval_us\":%d,\"rounds\":%d,\"swap_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f},"
      "\"reader_batches_per_s\":{\"steady\":%.1f,\"during_swaps\":%.1f},"
      "\"throughput_ratio\":%.4f,\"throughput_ratio_worst_round\":%.4f,\"failed_ops\":%llu}\n",
      on_device ? "cuda" : "host", o.cache_engine ? "cache" : "predict", o.readers, o.batch, kind_str(models[0].kind), models[0].hidden, o.swaps,
      o.interval_us, o.rounds, p50, p99, mx, mean, steady, during, ratio, ratio_min, static_cast<unsigned long long>(failed));
  return failed == 0 ? 0 : 1;
}
