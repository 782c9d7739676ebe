#pragma once
// The on-disk container of snapshots: a checksummed list of tagged byte sections, written
// atomically (crash-consistent) and read back with every byte checked. What the sections mean
// (keys, values, policy state...) is up to the caller.
//
// File layout, all integers little-endian, every byte covered by a check:
//
//   offset  size  field
//   ------  ----  ---------------------------------------------------------------------------
//   header (64 bytes)
//        0     8  magic "BELADYSN"
//        8     4  format version (1)
//       12     4  section count n (at most 1024)
//       16     8  file length in bytes (the whole file)
//       24     4  CRC-32 of the section table (the 32 n bytes at offset 64)
//       28    32  reserved, written as zero (covered by the header CRC, not otherwise read)
//       60     4  CRC-32 of header bytes 0..59
//   section table (32 bytes per section, in file order), at offset 64
//       +0     4  tag: four ASCII characters, first character in the lowest byte (make_tag)
//       +4     4  reserved, zero
//       +8     8  payload offset from the start of the file
//      +16     8  payload length in bytes
//      +24     4  CRC-32 of the payload
//      +28     4  reserved, zero
//   payloads, in table order: the first at 64 + 32 n, each next one at the previous end rounded
//   up to a multiple of 8 (zero padding between); the file ends right after the last payload.
//
// Readers require exactly this layout (offsets, zero padding, no bytes after the last payload),
// so a damaged byte anywhere is caught by a CRC, the layout check or the padding check. Tags are
// unique. The CRCs are ops::crc32 (zlib's CRC-32).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "belady/snapshot.hpp"

namespace belady::ops {

/// One section to write: a tag (make_tag) and its bytes.
struct section_view {
  std::uint32_t tag;
  std::span<const std::byte> data;
};

/// A section tag from four ASCII characters, stored so the file shows them in order ("KEYS").
constexpr std::uint32_t make_tag(char a, char b, char c, char d) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(a)) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b)) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(c)) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(d)) << 24;
}

/// The tag's four characters ("KEYS"), or "0x" and eight hex digits when any of them is not
/// printable ASCII (a corrupt or foreign tag in an error message).
[[nodiscard]] std::string tag_name(std::uint32_t tag);

inline constexpr std::uint32_t snapshot_format_version = 1;
inline constexpr std::uint32_t snapshot_max_sections = 1024;
/// write_snapshot_file writes (and reports progress) at most this many bytes at a time.
inline constexpr std::uint64_t snapshot_write_chunk_bytes = std::uint64_t{1} << 20;

/**
 * @brief Writes the sections as a snapshot file at target, atomically.
 *
 * Steps: a temporary file in target's folder, named <target>.tmp.<pid>.<counter> and created with
 * O_EXCL (mode 0666 less the umask); the file written in chunks of at most 1 MiB, progress(written,
 * total) called after each; fsync; close; rename over target; fsync of the folder. A crash at any
 * point leaves the previous target or the new one, never a mix (a crash before the rename may
 * leave the temporary file behind; nothing here removes such leftovers).
 *
 * @param progress optional; (bytes written so far, file length). If it throws, the temporary
 *        file is removed and the exception passes through (a way to cancel a save).
 * @throw snapshot_error naming target, the step (open, write, fsync, close, rename) and the
 *        system's error text. The temporary file is removed first; target is untouched. A failing
 *        fsync of the folder ("fsync folder") comes after the rename: target is then already the
 *        new file, whose durability is unknown.
 * @throw std::invalid_argument (before touching the disk) for more than 1024 sections or a tag
 *        used twice: the caller's mistake, which would make a file no reader accepts.
 */
void write_snapshot_file(const std::filesystem::path& target, std::span<const section_view> sections,
                         const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

/// A snapshot file read into memory, sections in file order.
struct snapshot_file {
  std::uint32_t format_version = 0;
  std::vector<std::uint32_t> tags;
  std::vector<std::vector<std::byte>> data;  ///< data[i] is section tags[i]
  std::uint64_t file_bytes = 0;

  /// The section with this tag, or nullptr.
  [[nodiscard]] const std::vector<std::byte>* find(std::uint32_t tag) const;
};

/**
 * @brief Reads a snapshot file and checks all of it: magic, version, header and table CRCs, the
 * file length, the layout, unique tags, zero padding and every section's CRC.
 *
 * Memory: the sections' sizes plus a little (sections are read straight into their vectors).
 * @throw snapshot_error "cannot load snapshot \"PATH\": REASON", e.g. the system's error text
 *        for a missing file, "truncated: 10 bytes, a header needs 64", "not a belady snapshot
 *        (bad magic)", "truncated: has N bytes, header says M", "section VALS: bad checksum".
 */
[[nodiscard]] snapshot_file read_snapshot_file(const std::filesystem::path& path);

}  // namespace belady::ops
