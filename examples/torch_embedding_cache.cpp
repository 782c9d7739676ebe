// An embedding cache in front of a libtorch model: the "model" is a small embedding table and a
// linear projection (built here, random weights), standing in for an expensive encoder. Batched
// lookups go to belady first; only the misses run through the model, and their rows are
// inserted. Every served row is checked against the model's own output, so the cache never
// changes an answer; the exit status is non-zero if one differs. ctest runs it when libtorch is
// present.
//
//   belady-torch-embedding-cache [--batches N] [--batch N] [--capacity N]
#include <belady/belady.hpp>
#include <belady/torch/tensor_api.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct encoder : torch::nn::Module {
  encoder(std::int64_t vocabulary, std::int64_t width, std::int64_t dim)
      : table(register_module("table", torch::nn::Embedding(vocabulary, width))),
        projection(register_module("projection", torch::nn::Linear(width, dim))) {}
  torch::Tensor forward(const torch::Tensor& ids) { return torch::tanh(projection(table(ids))); }
  torch::nn::Embedding table;
  torch::nn::Linear projection;
};

std::int64_t flag(int argc, char** argv, const std::string& name, std::int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (name == argv[i]) {
      char* end = nullptr;
      const long long v = std::strtoll(argv[i + 1], &end, 10);
      if (*end != '\0' || v <= 0) {
        std::fprintf(stderr, "%s: expected a positive integer, got '%s'\n", name.c_str(), argv[i + 1]);
        std::exit(2);
      }
      return v;
    }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t batches = flag(argc, argv, "--batches", 400);
  const std::int64_t batch = flag(argc, argv, "--batch", 512);
  const std::int64_t capacity = flag(argc, argv, "--capacity", 8192);
  constexpr std::int64_t vocabulary = 50'000, width = 64, dim = 32;
  torch::manual_seed(7);
  torch::NoGradGuard inference;  // serving, not training
  encoder model(vocabulary, width, dim);
  model.eval();

  belady::cache_config config;
  config.capacity = static_cast<std::size_t>(capacity);
  config.dim = dim;
  config.executor = belady::backend::host;  // Debian's libtorch is CPU-only: CPU tensors
  belady::cache<std::uint64_t, float> cache(config);

  // Requests: a Zipf-like skew over the vocabulary (ids 1..vocabulary-1; 0 is never asked).
  auto draw = [&] {
    const auto u = torch::rand({batch}, torch::kDouble);
    return (torch::pow(u, 4.0) * double(vocabulary - 1)).to(torch::kLong) + 1;
  };
  std::int64_t served = 0, hits = 0, model_rows = 0, wrong = 0;
  auto values = torch::empty({batch, dim});
  auto found = torch::empty({batch}, torch::kBool);
  const auto started = std::chrono::steady_clock::now();
  for (std::int64_t b = 0; b < batches; ++b) {
    const torch::Tensor ids = draw();
    hits += static_cast<std::int64_t>(belady::tensor::find(cache, ids, values, found));
    const torch::Tensor miss = found.logical_not().nonzero().squeeze(1);
    if (miss.numel() > 0) {
      const torch::Tensor miss_ids = ids.index_select(0, miss);
      const torch::Tensor rows = model.forward(miss_ids);  // only the misses reach the model
      belady::tensor::insert_or_assign(cache, miss_ids, rows);
      values.index_copy_(0, miss, rows);
      model_rows += miss.numel();
    }
    served += batch;
    if (b % 50 == 0) wrong += (values != model.forward(ids)).any(1).sum().item<std::int64_t>();  // spot check
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A last full check of a fresh batch: every served row equals the model's.
  const torch::Tensor ids = draw();
  auto [rows, hit] = belady::tensor::find(cache, ids);
  const torch::Tensor expected = model.forward(ids);
  wrong += (rows.index({hit}) != expected.index({hit})).any(1).sum().item<std::int64_t>();

  std::printf("served %lld rows in %.2f s: hit ratio %.3f, the model computed %lld rows (%.1f %% of requests), "
              "%lld wrong rows\n",
              static_cast<long long>(served), seconds, double(hits) / double(served), static_cast<long long>(model_rows),
              100.0 * double(model_rows) / double(served), static_cast<long long>(wrong));
  const bool ok = wrong == 0 && hits > 0 && model_rows < served;
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
