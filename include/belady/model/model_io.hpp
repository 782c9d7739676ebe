#pragma once
/// @file
/// Checking, saving, loading and quantizing model parameter blocks.
///
/// File format (version 1; every integer and float little-endian):
///
/// | offset | size | field |
/// |-------:|-----:|-------|
/// |      0 |    4 | magic "BLDM" |
/// |      4 |    4 | format version (belady::model::format_version) |
/// |      8 |    4 | kind (model_kind) |
/// |     12 |    4 | feature count |
/// |     16 |    4 | hidden units (0 for linear kinds) |
/// |     20 |    4 | note length in bytes (at most max_note_bytes) |
/// |     24 |    8 | payload length in bytes (parameters + note) |
/// |     32 |    8 | training samples |
/// |     40 |    8 | validation loss (f64; NaN: not measured) |
/// |     48 |    8 | validation accuracy (f64; NaN: not measured) |
/// |     56 |    4 | CRC-32 (IEEE, as zlib's crc32) of the payload |
/// |     60 |    4 | CRC-32 of header bytes 0..59 |
/// |     64 |    … | payload: the parameters the kind uses, then the note (UTF-8, no terminator) |
///
/// Payload parameters, in this order, f32 unless marked (F = feature_count, H = hidden):
/// - every kind: mean[F], inv_std[F]
/// - linear: w[F], bias
/// - linear_int8: qw[F] (i8), qw_scale, bias
/// - mlp: w1[H][F], b1[H], w2[H], b2
/// - mlp_int8: qw1[H][F] (i8), qw1_scale[H], b1[H], qw2[H] (i8), qw2_scale, b2
///
/// Fields a kind does not use are not stored and load as zero, so an int8 file really is
/// smaller: with F = 16, linear 260 B, linear_int8 216 B, mlp H=16 1348 B, mlp_int8 H=16 600 B,
/// mlp H=32 2500 B, mlp_int8 H=32 1000 B (see serialized_size()).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "belady/error.hpp"
#include "belady/model/model.hpp"
#include "belady/types.hpp"

namespace belady::model {

/// A parameter block that must not be installed or saved: wrong format id or version, wrong
/// shape, unknown kind, a non-finite weight or a non-positive int8 scale. The message names the
/// field (e.g. "model_params.w1[3][7] is NaN").
class BELADY_API invalid_model : public belady::invalid_argument {
 public:
  using belady::invalid_argument::invalid_argument;
};

/// What is wrong with a model file.
enum class file_problem : std::uint32_t {
  io_error,             ///< cannot open, read, write, sync or rename (errno text in the message)
  truncated,            ///< shorter than its header or its header's payload length says
  bad_magic,            ///< does not start with "BLDM"
  unsupported_version,  ///< a format version this build does not read
  bad_header,           ///< header fields inconsistent (kind, feature count, hidden, lengths)
  bad_checksum,         ///< the header's or the payload's CRC-32 does not match
  trailing_bytes,       ///< bytes after the payload
};

/// Human-readable name of a file_problem ("truncated", "bad checksum", ...).
[[nodiscard]] BELADY_API const char* to_string(file_problem p) noexcept;

/// A model file could not be written or read. The message names the path and the problem,
/// e.g. `cannot load model "/m/a.bldm": bad checksum: payload CRC-32 is 0x1234abcd, header says ...`.
class BELADY_API model_file_error : public std::runtime_error {
 public:
  model_file_error(std::filesystem::path path, file_problem problem, const std::string& what)
      : std::runtime_error(what), path_(std::move(path)), problem_(problem) {}
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] file_problem problem() const noexcept { return problem_; }

 private:
  std::filesystem::path path_;
  file_problem problem_;
};

/// Longest note a model file stores.
inline constexpr std::size_t max_note_bytes = 4096;
/// Bytes of the file header.
inline constexpr std::size_t file_header_bytes = 64;

/// Metadata that travels with a model: into the registry's history and into files.
struct model_info {
  std::uint64_t training_samples = 0;  ///< samples the model was fitted on
  double validation_loss = std::numeric_limits<double>::quiet_NaN();      ///< NaN: not measured
  double validation_accuracy = std::numeric_limits<double>::quiet_NaN();  ///< NaN: not measured
  std::string note{};  ///< free-form (e.g. why it was trained); at most max_note_bytes in files
};

/// A model read back from a file or buffer.
struct loaded_model {
  model_params params;  ///< fields the kind does not use are zero
  model_info info;
};

/**
 * @brief Checks that `p` can be installed: format id, format version, feature count, kind,
 * hidden units (1..max_hidden for mlp kinds, 0 for linear kinds), reserved == 0, every
 * normalisation value and every weight/bias the kind uses finite, int8 scales finite and > 0.
 * Fields the kind does not use are not checked.
 * @throw invalid_model naming the first bad field
 */
BELADY_API void validate(const model_params& p);

/// Bytes the parameters the kind uses take in a file (header included, empty note).
/// @throw invalid_model when the kind or hidden count is invalid
[[nodiscard]] BELADY_API std::size_t serialized_size(const model_params& p);

/**
 * @brief The file image of `p` and `info` (see the format table above).
 * @throw invalid_model when `p` fails validate()
 * @throw belady::invalid_argument when `info.note` is longer than max_note_bytes
 */
[[nodiscard]] BELADY_API std::vector<std::byte> serialize(const model_params& p, const model_info& info = {});

/**
 * @brief Parses a file image. `source` names it in error messages (a path, or "<buffer>").
 * @throw model_file_error for a truncated image, wrong magic, unknown version, inconsistent
 *        header, bad checksum or trailing bytes
 * @throw invalid_model when the parameters parse but fail validate()
 */
[[nodiscard]] BELADY_API loaded_model deserialize(std::span<const std::byte> image,
                                                  std::string_view source = "<buffer>");

/**
 * @brief Saves atomically: writes `<path>.tmp-<unique>` in the same folder, fsyncs it, then
 * renames it over `path`, so a reader never sees a half-written file and a crash leaves either
 * the old file or the new one.
 * @throw invalid_model when `p` fails validate() (nothing is written)
 * @throw belady::invalid_argument when the note is too long (nothing is written)
 * @throw model_file_error (io_error) when writing or renaming fails; the temporary is removed
 */
BELADY_API void save(const std::filesystem::path& path, const model_params& p, const model_info& info = {});

/**
 * @brief Loads and validates a model file.
 * @throw model_file_error naming `path` and the problem
 * @throw invalid_model (message naming `path`) when the parameters fail validate()
 */
[[nodiscard]] BELADY_API loaded_model load(const std::filesystem::path& path);

/**
 * @brief Quantizes weights to int8: linear -> linear_int8, mlp -> mlp_int8. Symmetric scales
 * max|w| / 127 (one for w; one per hidden row of w1; one for w2), rounding to nearest; a
 * tensor or row that is all zero gets scale 1 (all q zero) so that scales stay > 0.
 * Normalisation and biases stay fp32. The fp32 weight fields of the result are zeroed.
 * @throw invalid_model when `fp32` fails validate()
 * @throw belady::invalid_argument when `fp32` is already an int8 kind
 */
[[nodiscard]] BELADY_API model_params quantize_int8(const model_params& fp32);

}  // namespace belady::model
