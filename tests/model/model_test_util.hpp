#pragma once
// Helpers shared by the model tests: random parameter blocks and a CRC-32 to re-seal edited files.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "belady/model/model.hpp"

namespace belady::model::test {

/// A valid fp32 model with weights drawn from N(0, sigma); unused fields stay zero.
inline model_params random_model(model_kind kind, std::uint32_t hidden, std::uint32_t seed, float sigma = 0.5f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, sigma);
  std::uniform_real_distribution<float> pos(0.2f, 2.0f);
  model_params p{};
  p.kind = kind;
  p.hidden = (kind == model_kind::mlp || kind == model_kind::mlp_int8) ? hidden : 0;
  for (int i = 0; i < feature_count; ++i) {
    p.mean[i] = n(rng) * 4.0f;
    p.inv_std[i] = pos(rng);
  }
  if (kind == model_kind::linear) {
    for (float& w : p.w) w = n(rng);
    p.bias = n(rng);
  } else if (kind == model_kind::mlp) {
    for (std::uint32_t h = 0; h < p.hidden; ++h) {
      for (float& w : p.w1[h]) w = n(rng);
      p.b1[h] = n(rng);
      p.w2[h] = n(rng);
    }
    p.b2 = n(rng);
  }
  return p;
}

/// Standard CRC-32 (IEEE 802.3, zlib's crc32), written independently of the library's.
inline std::uint32_t crc32_ref(std::span<const std::byte> data) {
  std::uint32_t c = 0xffffffffu;
  for (std::byte b : data) {
    c ^= static_cast<std::uint32_t>(b);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

inline std::uint32_t get_u32(std::span<const std::byte> b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(b[at + i]) << (8 * i);
  return v;
}
inline void put_u32(std::span<std::byte> b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
}

/// Recomputes both checksums of a file image after a test edited it on purpose.
inline void reseal(std::vector<std::byte>& image) {
  put_u32(image, 56, crc32_ref(std::span<const std::byte>(image).subspan(64)));
  put_u32(image, 60, crc32_ref(std::span<const std::byte>(image).first(60)));
}

/// A fresh, empty folder under the system temp folder, removed by the destructor.
class temp_dir {
 public:
  explicit temp_dir(const std::string& tag) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("belady-model-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace belady::model::test
