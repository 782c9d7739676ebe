#pragma once
/// @file
/// Snapshots of a cache's contents (keys, values, scores, per-slot metadata, the learned policy's
/// key history, the logical clock) and of its model registry, in one checksummed file.
///
/// Saving is crash-consistent: the file is written under a temporary name in the same folder,
/// flushed to disk (fsync), renamed over the target and the folder flushed; a crash at any point
/// leaves either the previous snapshot or the new one, never a mix. Loading checks everything
/// (format, checksums, and that the snapshot fits this cache's key type, value type, dim,
/// capacity, bucket size and policy) before anything changes: a bad file throws snapshot_error
/// and the running cache keeps its contents.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "belady/types.hpp"

namespace belady {

/// A snapshot could not be written or read: the message names the file and what was wrong
/// (truncated, bad checksum, made by a different cache shape, I/O error with errno text).
class snapshot_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct snapshot_options {
  bool include_models = true;  ///< policy::learned: the registry's kept versions and history
  /// Called after each chunk written: (bytes written so far, total bytes). For progress bars
  /// and for tests that interrupt a save.
  std::function<void(std::uint64_t written, std::uint64_t total)> progress;
};

/// What a snapshot file holds (read_snapshot_info checks the whole file's checksums).
struct snapshot_info {
  std::uint32_t format_version = 0;
  std::uint32_t key_bytes = 0;
  std::string value_type;  ///< dtype name: float32, float16, bfloat16, int8, bytes
  std::uint64_t capacity = 0, dim = 0, bucket_size = 0;
  std::string policy;
  std::uint64_t entries = 0;  ///< stored keys
  std::uint64_t models = 0;   ///< registry versions
  std::uint64_t clock = 0;
  std::chrono::system_clock::time_point created_at{};
  std::uint64_t file_bytes = 0;
};

/// @throw snapshot_error when the file is missing, unreadable, truncated or corrupt
[[nodiscard]] BELADY_API snapshot_info read_snapshot_info(const std::filesystem::path& path);

}  // namespace belady
