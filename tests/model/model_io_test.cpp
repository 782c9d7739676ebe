// Validation, the model file format (round trips and every corruption the reader must name), and
// int8 quantization.
#include "belady/model/model_io.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "model_test_util.hpp"

namespace bm = belady::model;
using bm::model_kind;
using bm::model_params;
using bm::test::random_model;

namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_f = std::numeric_limits<float>::infinity();

model_params int8_model(model_kind fp32_kind, std::uint32_t hidden, std::uint32_t seed) {
  return bm::quantize_int8(random_model(fp32_kind, hidden, seed));
}

// Expects validate() to throw invalid_model with a message containing `field`.
void expect_invalid(const model_params& p, const std::string& field) {
  try {
    bm::validate(p);
    ADD_FAILURE() << "validate() accepted a model with a bad " << field;
  } catch (const bm::invalid_model& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << "message: " << e.what();
  }
}

std::vector<std::byte> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

void write_file(const std::filesystem::path& p, const std::vector<std::byte>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Expects load(path) to throw model_file_error with `problem`, naming the path and the problem.
void expect_load_error(const std::filesystem::path& path, bm::file_problem problem, const std::string& detail = {}) {
  try {
    (void)bm::load(path);
    ADD_FAILURE() << "load() accepted a file that should fail with " << bm::to_string(problem);
  } catch (const bm::model_file_error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.problem(), problem) << msg;
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(bm::to_string(problem)), std::string::npos) << msg;
    if (!detail.empty()) {
      EXPECT_NE(msg.find(detail), std::string::npos) << msg;
    }
  }
}

std::vector<std::vector<float>> random_inputs(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-4.0f, 12.0f);
  std::vector<std::vector<float>> xs(n, std::vector<float>(bm::feature_count));
  for (auto& x : xs)
    for (float& v : x) v = u(rng);
  return xs;
}

// ---- validation ---------------------------------------------------------------------------------

TEST(ModelValidate, AcceptsEveryKindAndHiddenRange) {
  EXPECT_NO_THROW(bm::validate(random_model(model_kind::linear, 0, 1)));
  for (std::uint32_t h : {1u, 16u, 32u}) {
    EXPECT_NO_THROW(bm::validate(random_model(model_kind::mlp, h, 2))) << h;
    EXPECT_NO_THROW(bm::validate(int8_model(model_kind::mlp, h, 3))) << h;
  }
  EXPECT_NO_THROW(bm::validate(int8_model(model_kind::linear, 0, 4)));
}

TEST(ModelValidate, InvalidModelIsAnInvalidArgument) {
  model_params p = random_model(model_kind::linear, 0, 1);
  p.w[3] = nan_f;
  EXPECT_THROW(bm::validate(p), belady::invalid_argument);
  EXPECT_THROW(bm::validate(p), std::invalid_argument);
}

TEST(ModelValidate, RejectsWrongFormatIdAndShape) {
  const model_params good = random_model(model_kind::mlp, 8, 1);
  model_params p = good;
  p.magic = 0x12345678;
  expect_invalid(p, "magic");
  p = good;
  p.version = 2;
  expect_invalid(p, "version is 2");
  p = good;
  p.features = 15;
  expect_invalid(p, "features is 15");
  p = good;
  p.kind = static_cast<model_kind>(0);
  expect_invalid(p, "kind is 0");
  p.kind = static_cast<model_kind>(5);
  expect_invalid(p, "kind is 5");
  p = good;
  p.hidden = 0;
  expect_invalid(p, "hidden is 0");
  p.hidden = 33;
  expect_invalid(p, "hidden is 33");
  p = random_model(model_kind::linear, 0, 1);
  p.hidden = 4;
  expect_invalid(p, "hidden is 4, expected 0");
  p = good;
  p.reserved = 1;
  expect_invalid(p, "reserved");
}

TEST(ModelValidate, RejectsNonFiniteUsedValues) {
  const model_params lin = random_model(model_kind::linear, 0, 1);
  const model_params mlp = random_model(model_kind::mlp, 8, 2);
  model_params p = lin;
  p.mean[5] = nan_f;
  expect_invalid(p, "mean[5] is NaN");
  p = lin;
  p.inv_std[0] = inf_f;
  expect_invalid(p, "inv_std[0] is +Inf");
  p = lin;
  p.w[15] = -inf_f;
  expect_invalid(p, "w[15] is -Inf");
  p = lin;
  p.bias = nan_f;
  expect_invalid(p, "bias is NaN");
  p = mlp;
  p.w1[7][3] = nan_f;
  expect_invalid(p, "w1[7][3] is NaN");
  p = mlp;
  p.b1[2] = inf_f;
  expect_invalid(p, "b1[2]");
  p = mlp;
  p.w2[0] = nan_f;
  expect_invalid(p, "w2[0]");
  p = mlp;
  p.b2 = inf_f;
  expect_invalid(p, "b2");
}

TEST(ModelValidate, IgnoresFieldsTheKindDoesNotUse) {
  model_params p = random_model(model_kind::mlp, 8, 2);
  p.w1[8][0] = nan_f;  // row 8 is beyond hidden
  p.w[0] = nan_f;      // linear weights: unused by mlp
  p.qw1_scale[0] = 0;  // int8 scales: unused by fp32 kinds
  EXPECT_NO_THROW(bm::validate(p));
  model_params l = random_model(model_kind::linear, 0, 3);
  l.b2 = inf_f;
  EXPECT_NO_THROW(bm::validate(l));
}

TEST(ModelValidate, RejectsBadInt8Scales) {
  const model_params lin = int8_model(model_kind::linear, 0, 1);
  const model_params mlp = int8_model(model_kind::mlp, 4, 2);
  model_params p = lin;
  p.qw_scale = 0;
  expect_invalid(p, "qw_scale is 0");
  p.qw_scale = -0.5f;
  expect_invalid(p, "qw_scale is -0.5");
  p.qw_scale = nan_f;
  expect_invalid(p, "qw_scale is NaN");
  p = mlp;
  p.qw1_scale[3] = 0;
  expect_invalid(p, "qw1_scale[3]");
  p = mlp;
  p.qw2_scale = inf_f;
  expect_invalid(p, "qw2_scale is +Inf");
  p = mlp;
  p.b1[1] = nan_f;
  expect_invalid(p, "b1[1]");
  p = mlp;
  p.qw1_scale[4] = 0;  // beyond hidden: unused
  EXPECT_NO_THROW(bm::validate(p));
}

// ---- file format ------------------------------------------------------------------------------

TEST(ModelFile, SerializedSizesAndInt8Savings) {
  const std::size_t lin = bm::serialized_size(random_model(model_kind::linear, 0, 1));
  const std::size_t lin8 = bm::serialized_size(int8_model(model_kind::linear, 0, 1));
  EXPECT_EQ(lin, 260u);
  EXPECT_EQ(lin8, 216u);
  std::cout << "[sizes] linear " << lin << " B, linear_int8 " << lin8 << " B ("
            << 100.0 * (1.0 - double(lin8) / double(lin)) << "% smaller)\n";
  for (std::uint32_t h : {16u, 32u}) {
    const std::size_t fp = bm::serialized_size(random_model(model_kind::mlp, h, 1));
    const std::size_t q = bm::serialized_size(int8_model(model_kind::mlp, h, 1));
    const double saving = 1.0 - double(q) / double(fp);
    std::cout << "[sizes] mlp hidden " << h << ": " << fp << " B, mlp_int8 " << q << " B (" << 100.0 * saving
              << "% smaller)\n";
    EXPECT_GE(saving, 0.40) << h;
    EXPECT_LE(saving, 0.80) << h;
  }
  EXPECT_EQ(bm::serialized_size(random_model(model_kind::mlp, 16, 1)), 1348u);
  EXPECT_EQ(bm::serialized_size(int8_model(model_kind::mlp, 16, 1)), 600u);
  EXPECT_EQ(bm::serialized_size(random_model(model_kind::mlp, 32, 1)), 2500u);
  EXPECT_EQ(bm::serialized_size(int8_model(model_kind::mlp, 32, 1)), 1000u);
  // The image really is that long.
  EXPECT_EQ(bm::serialize(int8_model(model_kind::mlp, 32, 1)).size(), 1000u);
}

TEST(ModelFile, ChecksumIsStandardCrc32) {
  // Test the test's CRC first (the standard check value), then that the file uses the same CRC.
  const std::string check = "123456789";
  EXPECT_EQ(bm::test::crc32_ref(std::as_bytes(std::span(check.data(), check.size()))), 0xcbf43926u);
  const auto image = bm::serialize(random_model(model_kind::mlp, 5, 9));
  EXPECT_EQ(bm::test::get_u32(image, 56), bm::test::crc32_ref(std::span(image).subspan(64)));
  EXPECT_EQ(bm::test::get_u32(image, 60), bm::test::crc32_ref(std::span(image).first(60)));
  EXPECT_EQ(std::memcmp(image.data(), "BLDM", 4), 0);
}

TEST(ModelFile, RoundTripsEveryKindExactly) {
  const auto xs = random_inputs(64, 5);
  const std::vector<model_params> models = {
      random_model(model_kind::linear, 0, 1), random_model(model_kind::mlp, 1, 2),
      random_model(model_kind::mlp, 32, 3),   int8_model(model_kind::linear, 0, 4),
      int8_model(model_kind::mlp, 16, 5)};
  for (const model_params& p : models) {
    bm::model_info info;
    info.training_samples = 123456789012ull;
    info.validation_loss = 0.25;
    info.validation_accuracy = 0.875;
    info.note = "warm start from v7; ridge lambda=1e-3";
    const auto back = bm::deserialize(bm::serialize(p, info));
    // Every field the kind uses is stored; the random models leave the others zero, so the whole
    // block must come back bit-identical.
    EXPECT_EQ(std::memcmp(&back.params, &p, sizeof p), 0) << "kind " << static_cast<int>(p.kind);
    for (const auto& x : xs) EXPECT_EQ(bm::predict(back.params, x.data()), bm::predict(p, x.data()));
    EXPECT_EQ(back.info.training_samples, info.training_samples);
    EXPECT_EQ(back.info.validation_loss, info.validation_loss);
    EXPECT_EQ(back.info.validation_accuracy, info.validation_accuracy);
    EXPECT_EQ(back.info.note, info.note);
  }
}

TEST(ModelFile, UnusedFieldsAreNotStoredAndLoadAsZero) {
  model_params p = random_model(model_kind::mlp, 4, 1);
  p.w[2] = 7.0f;       // unused by mlp
  p.w1[10][1] = 9.0f;  // beyond hidden
  const auto back = bm::deserialize(bm::serialize(p)).params;
  EXPECT_EQ(back.w[2], 0.0f);
  EXPECT_EQ(back.w1[10][1], 0.0f);
  EXPECT_EQ(back.w1[3][1], p.w1[3][1]);
}

TEST(ModelFile, MissingFiguresRoundTripAsNaN) {
  const auto back = bm::deserialize(bm::serialize(random_model(model_kind::linear, 0, 1)));
  EXPECT_TRUE(std::isnan(back.info.validation_loss));
  EXPECT_TRUE(std::isnan(back.info.validation_accuracy));
  EXPECT_EQ(back.info.training_samples, 0u);
  EXPECT_TRUE(back.info.note.empty());
}

TEST(ModelFile, SaveLoadReplacesAtomicallyAndLeavesNoTemporary) {
  bm::test::temp_dir dir("save");
  const auto path = dir.path() / "model.bldm";
  const model_params a = random_model(model_kind::linear, 0, 1);
  const model_params b = int8_model(model_kind::mlp, 16, 2);
  bm::save(path, a, {.training_samples = 10});
  EXPECT_EQ(std::filesystem::file_size(path), bm::serialized_size(a));
  bm::save(path, b, {.training_samples = 20, .note = "second"});  // overwrites
  const auto back = bm::load(path);
  EXPECT_EQ(std::memcmp(&back.params, &b, sizeof b), 0);
  EXPECT_EQ(back.info.training_samples, 20u);
  EXPECT_EQ(back.info.note, "second");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u) << "a temporary was left behind";
}

TEST(ModelFile, SaveRejectsInvalidModelWithoutWriting) {
  bm::test::temp_dir dir("invalid");
  const auto path = dir.path() / "bad.bldm";
  model_params p = random_model(model_kind::mlp, 4, 1);
  p.b1[1] = nan_f;
  EXPECT_THROW(bm::save(path, p), bm::invalid_model);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  bm::model_info long_note;
  long_note.note.assign(bm::max_note_bytes + 1, 'x');
  EXPECT_THROW(bm::save(path, random_model(model_kind::linear, 0, 1), long_note), belady::invalid_argument);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ModelFile, SaveToMissingFolderNamesThePath) {
  bm::test::temp_dir dir("nofolder");
  const auto path = dir.path() / "no" / "such" / "m.bldm";
  try {
    bm::save(path, random_model(model_kind::linear, 0, 1));
    ADD_FAILURE() << "save into a missing folder succeeded";
  } catch (const bm::model_file_error& e) {
    EXPECT_EQ(e.problem(), bm::file_problem::io_error);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(ModelFile, LoadMissingFileNamesThePath) {
  bm::test::temp_dir dir("missing");
  expect_load_error(dir.path() / "absent.bldm", bm::file_problem::io_error, "No such file");
}

class CorruptFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() / "m.bldm";
    bm::save(path_, bm::quantize_int8(random_model(model_kind::mlp, 8, 3)),
             {.training_samples = 99, .validation_loss = 0.5, .note = "ok"});
    good_ = read_file(path_);
    ASSERT_NO_THROW((void)bm::load(path_));
  }
  void write(const std::vector<std::byte>& b) { write_file(path_, b); }

  bm::test::temp_dir dir_{"corrupt"};
  std::filesystem::path path_;
  std::vector<std::byte> good_;
};

TEST_F(CorruptFile, Truncated) {
  for (std::size_t keep : {std::size_t{0}, std::size_t{3}, std::size_t{7}, std::size_t{40}, std::size_t{63},
                           std::size_t{64}, std::size_t{100}, good_.size() - 1}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " bytes");
    write(std::vector<std::byte>(good_.begin(), good_.begin() + static_cast<std::ptrdiff_t>(keep)));
    expect_load_error(path_, bm::file_problem::truncated, std::to_string(keep) + " bytes");
  }
}

TEST_F(CorruptFile, WrongMagic) {
  auto b = good_;
  b[0] = std::byte{'X'};
  write(b);
  expect_load_error(path_, bm::file_problem::bad_magic, "not a belady model file");
  const std::string text = "hello, world: definitely not a model file at all, but long enough........";
  write(std::vector<std::byte>(reinterpret_cast<const std::byte*>(text.data()),
                               reinterpret_cast<const std::byte*>(text.data()) + text.size()));
  expect_load_error(path_, bm::file_problem::bad_magic);
}

TEST_F(CorruptFile, UnknownVersion) {
  auto b = good_;
  bm::test::put_u32(b, 4, 7);
  write(b);
  expect_load_error(path_, bm::file_problem::unsupported_version, "format version 7");
}

TEST_F(CorruptFile, BadPayloadChecksum) {
  for (std::size_t at : {std::size_t{64}, good_.size() / 2, good_.size() - 1}) {
    auto b = good_;
    b[at] ^= std::byte{0x01};
    write(b);
    expect_load_error(path_, bm::file_problem::bad_checksum, "payload CRC-32");
  }
}

TEST_F(CorruptFile, BadHeaderChecksum) {
  for (std::size_t at : {std::size_t{8}, std::size_t{33}, std::size_t{45}, std::size_t{57}, std::size_t{62}}) {
    auto b = good_;
    b[at] ^= std::byte{0x10};
    write(b);
    expect_load_error(path_, bm::file_problem::bad_checksum, "header CRC-32");
  }
}

TEST_F(CorruptFile, TrailingGarbage) {
  auto b = good_;
  b.push_back(std::byte{0});
  write(b);
  expect_load_error(path_, bm::file_problem::trailing_bytes, "1 unexpected bytes");
  b.insert(b.end(), 20000, std::byte{0x5a});  // far beyond any valid size: read from the header alone
  write(b);
  expect_load_error(path_, bm::file_problem::trailing_bytes, "20001 unexpected bytes");
}

TEST_F(CorruptFile, InconsistentHeaderEvenWithValidChecksums) {
  auto b = good_;
  bm::test::put_u32(b, 8, 9);  // kind
  bm::test::reseal(b);
  write(b);
  expect_load_error(path_, bm::file_problem::bad_header, "kind 9");
  b = good_;
  bm::test::put_u32(b, 16, 40);  // hidden
  bm::test::reseal(b);
  write(b);
  expect_load_error(path_, bm::file_problem::bad_header, "hidden 40");
  b = good_;
  bm::test::put_u32(b, 12, 17);  // feature count
  bm::test::reseal(b);
  write(b);
  expect_load_error(path_, bm::file_problem::bad_header, "feature count 17");
  b = good_;
  bm::test::put_u32(b, 24, bm::test::get_u32(b, 24) + 4);  // payload length
  bm::test::reseal(b);
  write(b);
  expect_load_error(path_, bm::file_problem::bad_header, "payload length");
}

TEST_F(CorruptFile, ParsedButInvalidParametersNameFileAndField) {
  auto b = good_;
  // mlp_int8 payload: mean[16], inv_std[16], qw1[8][16], qw1_scale[8], ...: zero qw1_scale[2].
  bm::test::put_u32(b, 64 + 128 + 8 * 16 + 2 * 4, 0);
  bm::test::reseal(b);
  write(b);
  try {
    (void)bm::load(path_);
    ADD_FAILURE() << "loaded a model with a zero scale";
  } catch (const bm::invalid_model& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path_.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("qw1_scale[2]"), std::string::npos) << msg;
  }
}

TEST(ModelFile, DeserializeNamesItsSource) {
  try {
    (void)bm::deserialize({}, "in-memory candidate");
    ADD_FAILURE();
  } catch (const bm::model_file_error& e) {
    EXPECT_EQ(e.problem(), bm::file_problem::truncated);
    EXPECT_NE(std::string(e.what()).find("in-memory candidate"), std::string::npos) << e.what();
  }
}

// ---- quantization -------------------------------------------------------------------------------

TEST(Quantize, LinearScalesAndErrorBound) {
  const model_params fp = random_model(model_kind::linear, 0, 11);
  const model_params q = bm::quantize_int8(fp);
  ASSERT_EQ(q.kind, model_kind::linear_int8);
  float max_w = 0;
  for (float w : fp.w) max_w = std::max(max_w, std::fabs(w));
  EXPECT_FLOAT_EQ(q.qw_scale, max_w / 127.0f);
  EXPECT_EQ(q.bias, fp.bias);
  EXPECT_EQ(std::memcmp(q.mean, fp.mean, sizeof fp.mean), 0);
  EXPECT_EQ(std::memcmp(q.inv_std, fp.inv_std, sizeof fp.inv_std), 0);
  EXPECT_TRUE(std::all_of(std::begin(q.w), std::end(q.w), [](float w) { return w == 0.0f; }));
  EXPECT_TRUE(std::any_of(std::begin(q.qw), std::end(q.qw), [](std::int8_t v) { return v == 127 || v == -127; }));
  // Rounding to nearest: each weight is off by at most scale/2, so |dy| <= scale/2 * sum|x'|.
  double worst_ratio = 0;
  for (const auto& x : random_inputs(2000, 12)) {
    float bound = 0;
    for (int i = 0; i < bm::feature_count; ++i) bound += std::fabs((x[i] - fp.mean[i]) * fp.inv_std[i]);
    bound = bound * q.qw_scale * 0.5f * 1.001f + 1e-4f;
    const float d = std::fabs(bm::predict(q, x.data()) - bm::predict(fp, x.data()));
    EXPECT_LE(d, bound);
    worst_ratio = std::max(worst_ratio, double(d / bound));
  }
  std::cout << "[quantize] linear: worst |int8 - fp32| / analytic bound = " << worst_ratio << "\n";
}

TEST(Quantize, MlpPredictionsStayClose) {
  for (std::uint32_t h : {1u, 16u, 32u}) {
    const model_params fp = random_model(model_kind::mlp, h, 20 + h);
    const model_params q = bm::quantize_int8(fp);
    ASSERT_EQ(q.kind, model_kind::mlp_int8);
    ASSERT_EQ(q.hidden, h);
    for (std::uint32_t r = 0; r < h; ++r) {
      float m = 0;
      for (float w : fp.w1[r]) m = std::max(m, std::fabs(w));
      EXPECT_FLOAT_EQ(q.qw1_scale[r], m / 127.0f) << r;
      EXPECT_EQ(q.b1[r], fp.b1[r]);
    }
    EXPECT_EQ(q.b2, fp.b2);
    double sum_sq = 0, max_err = 0, sum_err = 0;
    const auto xs = random_inputs(2000, 30 + h);
    for (const auto& x : xs) {
      const double y = bm::predict(fp, x.data());
      const double e = std::fabs(bm::predict(q, x.data()) - y);
      sum_sq += y * y;
      max_err = std::max(max_err, e);
      sum_err += e;
    }
    const double rms = std::sqrt(sum_sq / double(xs.size()));
    std::cout << "[quantize] mlp hidden " << h << ": rms(y) " << rms << ", mean |err| "
              << sum_err / double(xs.size()) << ", max |err| " << max_err << "\n";
    EXPECT_LE(sum_err / double(xs.size()), 0.01 * rms) << h;
    EXPECT_LE(max_err, 0.05 * rms) << h;
  }
}

TEST(Quantize, ZeroTensorsKeepAPositiveScale) {
  model_params fp = random_model(model_kind::mlp, 4, 1);
  std::fill(std::begin(fp.w1[2]), std::end(fp.w1[2]), 0.0f);
  std::fill(std::begin(fp.w2), std::end(fp.w2), 0.0f);
  const model_params q = bm::quantize_int8(fp);
  EXPECT_EQ(q.qw1_scale[2], 1.0f);
  EXPECT_EQ(q.qw2_scale, 1.0f);
  EXPECT_NO_THROW(bm::validate(q));
  const auto x = random_inputs(1, 3).front();
  EXPECT_FLOAT_EQ(bm::predict(q, x.data()), fp.b2);
}

TEST(Quantize, RejectsInt8AndInvalidInput) {
  EXPECT_THROW((void)bm::quantize_int8(int8_model(model_kind::linear, 0, 1)), belady::invalid_argument);
  EXPECT_THROW((void)bm::quantize_int8(int8_model(model_kind::mlp, 4, 1)), belady::invalid_argument);
  model_params p = random_model(model_kind::mlp, 4, 1);
  p.w1[0][0] = nan_f;
  EXPECT_THROW((void)bm::quantize_int8(p), bm::invalid_model);
}

TEST(Quantize, QuantizedModelsRoundTripThroughFiles) {
  bm::test::temp_dir dir("q");
  const model_params q = int8_model(model_kind::mlp, 32, 7);
  bm::save(dir.path() / "q.bldm", q);
  const auto back = bm::load(dir.path() / "q.bldm");
  EXPECT_EQ(std::memcmp(&back.params, &q, sizeof q), 0);
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "q.bldm"), 1000u);
}

}  // namespace
