#include "belady/model/model_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace belady::model {
namespace {

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string kind_name(model_kind k) {
  switch (k) {
    case model_kind::linear: return "linear";
    case model_kind::mlp: return "mlp";
    case model_kind::linear_int8: return "linear_int8";
    case model_kind::mlp_int8: return "mlp_int8";
  }
  return "unknown kind " + std::to_string(static_cast<std::uint32_t>(k));
}

bool known_kind(model_kind k) {
  const auto v = static_cast<std::uint32_t>(k);
  return v >= 1 && v <= 4;
}
bool is_mlp(model_kind k) { return k == model_kind::mlp || k == model_kind::mlp_int8; }

// ---- validation ------------------------------------------------------------------------------

[[noreturn]] void bad(const std::string& what) { throw invalid_model("invalid model: model_params." + what); }

// Built with append() rather than "[" + s + "]": g++ 12 at -O2 reports a false -Wrestrict on the
// latter (GCC bug 105329).
std::string idx(int i) {
  std::string s("[");
  s.append(std::to_string(i)).append("]");
  return s;
}

// The field's name is only built when the check fails: validation runs on every install.
[[noreturn]] void not_finite(float v, const std::string& name) {
  bad(name + (std::isnan(v) ? " is NaN" : v > 0 ? " is +Inf" : " is -Inf"));
}
void check_finite(float v, const char* name) {
  if (!std::isfinite(v)) not_finite(v, name);
}
void check_finite(const float* v, int n, const char* name) {
  for (int i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) not_finite(v[i], name + idx(i));
}
void check_scale(float v, const std::string& name) {
  if (!std::isfinite(v)) not_finite(v, name);
  if (!(v > 0.0f)) bad(name + " is " + std::to_string(v) + ": int8 scales must be > 0");
}

// Shape checks only: what serialized_size() and the file reader need.
void validate_shape(const model_params& p) {
  if (p.magic != format_magic) bad("magic is " + hex32(p.magic) + ", expected " + hex32(format_magic) + " (\"BLDM\")");
  if (p.version != format_version)
    bad("version is " + std::to_string(p.version) + ", this build reads version " + std::to_string(format_version));
  if (!known_kind(p.kind)) bad("kind is " + std::to_string(static_cast<std::uint32_t>(p.kind)) + ", expected 1..4");
  if (p.features != static_cast<std::uint32_t>(feature_count))
    bad("features is " + std::to_string(p.features) + ", expected " + std::to_string(feature_count));
  if (is_mlp(p.kind)) {
    if (p.hidden < 1 || p.hidden > static_cast<std::uint32_t>(max_hidden))
      bad("hidden is " + std::to_string(p.hidden) + ", expected 1.." + std::to_string(max_hidden) + " for kind " +
          kind_name(p.kind));
  } else if (p.hidden != 0) {
    bad("hidden is " + std::to_string(p.hidden) + ", expected 0 for kind " + kind_name(p.kind));
  }
  if (p.reserved != 0) bad("reserved is " + std::to_string(p.reserved) + ", expected 0");
}

// ---- little-endian encoding ------------------------------------------------------------------

class writer {
 public:
  explicit writer(std::vector<std::byte>& out) : out_(out) {}
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xffu));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xffu));
  }
  void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void f32s(const float* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) f32(v[i]);
  }
  void i8s(const std::int8_t* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out_.push_back(static_cast<std::byte>(v[i]));
  }
  void bytes(std::string_view s) {
    for (char c : s) out_.push_back(static_cast<std::byte>(c));
  }

 private:
  std::vector<std::byte>& out_;
};

// Reads from a span whose length was checked beforehand; reading past the end is a bug.
class reader {
 public:
  explicit reader(std::span<const std::byte> in) : in_(in) {}
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in_[pos_ + i]) << (8 * i);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in_[pos_ + i]) << (8 * i);
    pos_ += 8;
    return v;
  }
  float f32() { return std::bit_cast<float>(u32()); }
  double f64() { return std::bit_cast<double>(u64()); }
  void f32s(float* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) v[i] = f32();
  }
  void i8s(std::int8_t* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int8_t>(in_[pos_ + i]);
    pos_ += n;
  }
  std::string str(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(in_[pos_ + i]);
    pos_ += n;
    return s;
  }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

constexpr std::array<std::uint32_t, 256> crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto crc_lut = crc_table();

std::uint32_t crc32(std::span<const std::byte> data) {
  std::uint32_t c = 0xffffffffu;
  for (std::byte b : data) c = crc_lut[(c ^ static_cast<std::uint32_t>(b)) & 0xffu] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

constexpr std::size_t F = feature_count;

// Bytes of the parameters a kind stores (no header, no note). Shape must be valid.
std::size_t params_bytes(model_kind kind, std::size_t h) {
  const std::size_t norm = 2 * F * 4;
  switch (kind) {
    case model_kind::linear: return norm + F * 4 + 4;
    case model_kind::linear_int8: return norm + F + 4 + 4;
    case model_kind::mlp: return norm + h * F * 4 + h * 4 + h * 4 + 4;
    case model_kind::mlp_int8: return norm + h * F + h * 4 + h * 4 + h + 4 + 4;
  }
  return 0;
}

void write_params(writer& w, const model_params& p) {
  const std::size_t h = p.hidden;
  w.f32s(p.mean, F);
  w.f32s(p.inv_std, F);
  switch (p.kind) {
    case model_kind::linear:
      w.f32s(p.w, F);
      w.f32(p.bias);
      break;
    case model_kind::linear_int8:
      w.i8s(p.qw, F);
      w.f32(p.qw_scale);
      w.f32(p.bias);
      break;
    case model_kind::mlp:
      for (std::size_t r = 0; r < h; ++r) w.f32s(p.w1[r], F);
      w.f32s(p.b1, h);
      w.f32s(p.w2, h);
      w.f32(p.b2);
      break;
    case model_kind::mlp_int8:
      for (std::size_t r = 0; r < h; ++r) w.i8s(p.qw1[r], F);
      w.f32s(p.qw1_scale, h);
      w.f32s(p.b1, h);
      w.i8s(p.qw2, h);
      w.f32(p.qw2_scale);
      w.f32(p.b2);
      break;
  }
}

void read_params(reader& r, model_params& p) {
  const std::size_t h = p.hidden;
  r.f32s(p.mean, F);
  r.f32s(p.inv_std, F);
  switch (p.kind) {
    case model_kind::linear:
      r.f32s(p.w, F);
      p.bias = r.f32();
      break;
    case model_kind::linear_int8:
      r.i8s(p.qw, F);
      p.qw_scale = r.f32();
      p.bias = r.f32();
      break;
    case model_kind::mlp:
      for (std::size_t i = 0; i < h; ++i) r.f32s(p.w1[i], F);
      r.f32s(p.b1, h);
      r.f32s(p.w2, h);
      p.b2 = r.f32();
      break;
    case model_kind::mlp_int8:
      for (std::size_t i = 0; i < h; ++i) r.i8s(p.qw1[i], F);
      r.f32s(p.qw1_scale, h);
      r.f32s(p.b1, h);
      r.i8s(p.qw2, h);
      p.qw2_scale = r.f32();
      p.b2 = r.f32();
      break;
  }
}

std::string in_quotes(std::string_view s) {
  std::string q("\"");
  q.append(s).append("\"");
  return q;
}

[[noreturn]] void file_fail(std::string_view source, file_problem pr, const std::string& detail) {
  throw model_file_error(std::filesystem::path(std::string(source)), pr,
                         "cannot load model " + in_quotes(source) + ": " + to_string(pr) + ": " + detail);
}

[[noreturn]] void io_fail(const char* verb, const std::filesystem::path& path, const std::string& op, int err) {
  throw model_file_error(path, file_problem::io_error,
                         std::string("cannot ") + verb + " model " + in_quotes(path.string()) + ": " +
                             to_string(file_problem::io_error) + ": " + op + " failed: " + std::strerror(err));
}

std::int8_t quantize(float w, float scale) {
  const float q = std::nearbyint(w / scale);
  return static_cast<std::int8_t>(std::clamp(q, -127.0f, 127.0f));
}

float symmetric_scale(const float* w, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(w[i]));
  return m > 0.0f ? m / 127.0f : 1.0f;
}

}  // namespace

const char* to_string(file_problem p) noexcept {
  switch (p) {
    case file_problem::io_error: return "I/O error";
    case file_problem::truncated: return "truncated";
    case file_problem::bad_magic: return "wrong magic";
    case file_problem::unsupported_version: return "unsupported format version";
    case file_problem::bad_header: return "inconsistent header";
    case file_problem::bad_checksum: return "bad checksum";
    case file_problem::trailing_bytes: return "trailing bytes";
  }
  return "unknown problem";
}

void validate(const model_params& p) {
  validate_shape(p);
  check_finite(p.mean, feature_count, "mean");
  check_finite(p.inv_std, feature_count, "inv_std");
  const int h = static_cast<int>(p.hidden);
  switch (p.kind) {
    case model_kind::linear:
      check_finite(p.w, feature_count, "w");
      check_finite(p.bias, "bias");
      break;
    case model_kind::linear_int8:
      check_scale(p.qw_scale, "qw_scale");
      check_finite(p.bias, "bias");
      break;
    case model_kind::mlp:
      for (int r = 0; r < h; ++r)
        for (int i = 0; i < feature_count; ++i)
          if (!std::isfinite(p.w1[r][i])) not_finite(p.w1[r][i], "w1" + idx(r) + idx(i));
      check_finite(p.b1, h, "b1");
      check_finite(p.w2, h, "w2");
      check_finite(p.b2, "b2");
      break;
    case model_kind::mlp_int8:
      for (int r = 0; r < h; ++r)
        if (!(std::isfinite(p.qw1_scale[r]) && p.qw1_scale[r] > 0.0f)) check_scale(p.qw1_scale[r], "qw1_scale" + idx(r));
      check_finite(p.b1, h, "b1");
      check_scale(p.qw2_scale, "qw2_scale");
      check_finite(p.b2, "b2");
      break;
  }
}

std::size_t serialized_size(const model_params& p) {
  validate_shape(p);
  return file_header_bytes + params_bytes(p.kind, p.hidden);
}

std::vector<std::byte> serialize(const model_params& p, const model_info& info) {
  validate(p);
  if (info.note.size() > max_note_bytes)
    throw belady::invalid_argument("model_info.note is " + std::to_string(info.note.size()) +
                                   " bytes, at most " + std::to_string(max_note_bytes) + " are stored");
  const std::size_t pbytes = params_bytes(p.kind, p.hidden);
  const std::size_t payload = pbytes + info.note.size();
  std::vector<std::byte> out;
  out.reserve(file_header_bytes + payload);
  writer w(out);
  w.u32(format_magic);
  w.u32(format_version);
  w.u32(static_cast<std::uint32_t>(p.kind));
  w.u32(p.features);
  w.u32(p.hidden);
  w.u32(static_cast<std::uint32_t>(info.note.size()));
  w.u64(payload);
  w.u64(info.training_samples);
  w.f64(info.validation_loss);
  w.f64(info.validation_accuracy);
  w.u32(0);  // payload CRC, patched below
  w.u32(0);  // header CRC, patched below
  write_params(w, p);
  w.bytes(info.note);

  const auto patch = [&out](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
  };
  patch(56, crc32(std::span(out).subspan(file_header_bytes)));
  patch(60, crc32(std::span(out).first(60)));
  return out;
}

namespace {

// `n` is the real size of the file; `image` holds all of it, or (for a file larger than any
// valid one) at least its header: the size checks then stop before the payload is read.
loaded_model parse(std::span<const std::byte> image, std::size_t n, std::string_view source) {
  const auto size_str = [](std::size_t v) { return std::to_string(v) + " bytes"; };
  if (n < 4) file_fail(source, file_problem::truncated, "the file is " + size_str(n) + ", a header is 64");
  reader r(image);
  if (const std::uint32_t magic = r.u32(); magic != format_magic)
    file_fail(source, file_problem::bad_magic, "starts with " + hex32(magic) + ", expected " + hex32(format_magic) +
                                                   " (\"BLDM\"): not a belady model file");
  if (n < 8) file_fail(source, file_problem::truncated, "the file is " + size_str(n) + ", a header is 64");
  // The version comes before everything else: another version may lay out its header differently.
  if (const std::uint32_t version = r.u32(); version != format_version)
    file_fail(source, file_problem::unsupported_version,
              "format version " + std::to_string(version) + ", this build reads version " +
                  std::to_string(format_version));
  if (n < file_header_bytes)
    file_fail(source, file_problem::truncated, "the file is " + size_str(n) + ", shorter than its 64-byte header");

  model_params p{};
  loaded_model out{};
  p.kind = static_cast<model_kind>(r.u32());
  p.features = r.u32();
  p.hidden = r.u32();
  const std::uint32_t note_len = r.u32();
  const std::uint64_t payload_len = r.u64();
  out.info.training_samples = r.u64();
  out.info.validation_loss = r.f64();
  out.info.validation_accuracy = r.f64();
  const std::uint32_t payload_crc = r.u32();
  const std::uint32_t header_crc = r.u32();

  if (const std::uint32_t c = crc32(image.first(60)); c != header_crc)
    file_fail(source, file_problem::bad_checksum,
              "header CRC-32 is " + hex32(c) + ", the header says " + hex32(header_crc));
  if (!known_kind(p.kind))
    file_fail(source, file_problem::bad_header,
              "kind " + std::to_string(static_cast<std::uint32_t>(p.kind)) + " is unknown (expected 1..4)");
  if (p.features != static_cast<std::uint32_t>(feature_count))
    file_fail(source, file_problem::bad_header,
              "feature count " + std::to_string(p.features) + ", this build uses " + std::to_string(feature_count));
  if (is_mlp(p.kind) ? (p.hidden < 1 || p.hidden > static_cast<std::uint32_t>(max_hidden)) : p.hidden != 0)
    file_fail(source, file_problem::bad_header,
              "hidden " + std::to_string(p.hidden) + " is invalid for kind " + kind_name(p.kind));
  if (note_len > max_note_bytes)
    file_fail(source, file_problem::bad_header,
              "note length " + std::to_string(note_len) + " exceeds " + std::to_string(max_note_bytes));
  const std::size_t pbytes = params_bytes(p.kind, p.hidden);
  if (payload_len != pbytes + note_len)
    file_fail(source, file_problem::bad_header,
              "payload length " + std::to_string(payload_len) + ", kind " + kind_name(p.kind) + " with hidden " +
                  std::to_string(p.hidden) + " and a " + std::to_string(note_len) + "-byte note needs " +
                  std::to_string(pbytes + note_len));
  const std::size_t expected = file_header_bytes + pbytes + note_len;
  if (n < expected)
    file_fail(source, file_problem::truncated,
              "the file is " + size_str(n) + ", its header says " + size_str(expected));
  if (n > expected)
    file_fail(source, file_problem::trailing_bytes,
              std::to_string(n - expected) + " unexpected bytes after the " + size_str(expected) + " the header describes");
  if (const std::uint32_t c = crc32(image.subspan(file_header_bytes)); c != payload_crc)
    file_fail(source, file_problem::bad_checksum,
              "payload CRC-32 is " + hex32(c) + ", the header says " + hex32(payload_crc));

  reader pr(image.subspan(file_header_bytes));
  read_params(pr, p);
  out.info.note = pr.str(note_len);
  try {
    validate(p);
  } catch (const invalid_model& e) {
    throw invalid_model("cannot load model " + in_quotes(source) + ": " + e.what());
  }
  out.params = p;
  return out;
}

}  // namespace

loaded_model deserialize(std::span<const std::byte> image, std::string_view source) {
  return parse(image, image.size(), source);
}

void save(const std::filesystem::path& path, const model_params& p, const model_info& info) {
  const std::vector<std::byte> image = serialize(p, info);  // throws before anything is written

  static std::atomic<std::uint64_t> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;  // before building the message: allocation may change errno
    io_fail("save", path, "creating temporary " + in_quotes(tmp.string()), err);
  }
  const auto fail = [&](const char* op) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    io_fail("save", path, std::string(op) + " temporary " + in_quotes(tmp.string()), err);
  };
  const auto* data = reinterpret_cast<const char*>(image.data());
  std::size_t left = image.size();
  while (left > 0) {
    const ssize_t w = ::write(fd, data, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write to");
    }
    data += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0) fail("fsync of");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail("save", path, "close of temporary " + in_quotes(tmp.string()), err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail("save", path, "rename from " + in_quotes(tmp.string()), err);
  }
  // Make the rename itself durable; failing to sync the folder is not worth failing the save.
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

loaded_model load(const std::filesystem::path& path) {
  // Model files are a few KB: a file larger than any valid one is reported from its header alone.
  constexpr std::size_t max_file =
      file_header_bytes + 2 * F * 4 + max_hidden * F * 4 + 3 * max_hidden * 4 + 8 + max_note_bytes;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    io_fail("load", path, "open for reading", err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    io_fail("load", path, "stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    io_fail("load", path, "open for reading (not a regular file)", EINVAL);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  std::vector<std::byte> image(size > max_file ? file_header_bytes : size);
  std::size_t got = 0;
  while (got < image.size()) {
    const ssize_t r = ::read(fd, image.data() + got, image.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int err = errno;
      ::close(fd);
      io_fail("load", path, "read", err);
    }
    if (r == 0) break;  // shrank while we read: the size checks below report it
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  image.resize(got);
  return parse(image, size > max_file && got == file_header_bytes ? size : got, path.string());
}

model_params quantize_int8(const model_params& fp32) {
  validate(fp32);
  model_params q = fp32;
  switch (fp32.kind) {
    case model_kind::linear: {
      q.kind = model_kind::linear_int8;
      q.qw_scale = symmetric_scale(fp32.w, F);
      for (std::size_t i = 0; i < F; ++i) q.qw[i] = quantize(fp32.w[i], q.qw_scale);
      std::fill(std::begin(q.w), std::end(q.w), 0.0f);
      break;
    }
    case model_kind::mlp: {
      q.kind = model_kind::mlp_int8;
      for (std::uint32_t h = 0; h < fp32.hidden; ++h) {
        q.qw1_scale[h] = symmetric_scale(fp32.w1[h], F);
        for (std::size_t i = 0; i < F; ++i) q.qw1[h][i] = quantize(fp32.w1[h][i], q.qw1_scale[h]);
      }
      q.qw2_scale = symmetric_scale(fp32.w2, fp32.hidden);
      for (std::uint32_t h = 0; h < fp32.hidden; ++h) q.qw2[h] = quantize(fp32.w2[h], q.qw2_scale);
      for (auto& row : q.w1) std::fill(std::begin(row), std::end(row), 0.0f);
      std::fill(std::begin(q.w2), std::end(q.w2), 0.0f);
      break;
    }
    case model_kind::linear_int8:
    case model_kind::mlp_int8:
      throw belady::invalid_argument("quantize_int8: the model is already " + kind_name(fp32.kind) +
                                     "; pass an fp32 linear or mlp model");
  }
  return q;
}

}  // namespace belady::model
