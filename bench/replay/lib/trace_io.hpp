#pragma once
// Internals of the trace readers (not installed, not part of trace.hpp):
//   byte_source   a chunked byte stream over a plain, .xz or .zst file (byte_source.cpp)
//   parse_*       one streaming parser per trace format (parse_binary.cpp, parse_text.cpp)
// Parsers append to `out` and stop once `limit` requests are there (limit 0: no limit).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "request.hpp"
#include "trace.hpp"

namespace belady::replay::detail {

/// Decoders and parsers work on chunks of this size, never byte by byte through virtual calls.
inline constexpr std::size_t chunk_bytes = std::size_t{1} << 20;

class byte_source {
 public:
  explicit byte_source(std::string path) : path_(std::move(path)) {}
  virtual ~byte_source() = default;
  byte_source(const byte_source&) = delete;
  byte_source& operator=(const byte_source&) = delete;

  /// Reads up to n bytes into dst. Returns 0 only at the end of the data; a shorter count is
  /// allowed anywhere. Throws trace_error (naming the path) on I/O or decoder errors.
  virtual std::size_t read(unsigned char* dst, std::size_t n) = 0;
  /// Size of the decoded data when known without decoding it (plain files: the file size; .xz:
  /// from the stream indexes; .zst: the first frame's recorded content size); a hint only.
  virtual std::optional<std::uint64_t> size_hint() const { return std::nullopt; }
  /// True when the bytes are decompressed (offsets in messages are then into the decoded data).
  virtual bool compressed() const { return false; }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Opens `path`; the file name decides the decoding: "*.xz" (liblzma, concatenated streams
/// allowed), "*.zst" (libzstd, concatenated frames allowed), anything else is read as is.
std::unique_ptr<byte_source> open_byte_source(const std::string& path);

void parse_oracle_general(byte_source& src, std::uint64_t limit, std::vector<request>& out);
/// Raw big-endian id arrays: width 4 or 8 bytes; is_signed maps through int64 (two's complement).
void parse_big_endian(byte_source& src, std::size_t width, bool is_signed, std::uint64_t limit,
                      std::vector<request>& out);
void parse_arc(byte_source& src, std::uint64_t limit, std::vector<request>& out);
void parse_lines(byte_source& src, std::uint64_t limit, std::vector<request>& out);
void parse_csv(byte_source& src, const trace_spec& spec, std::vector<request>& out);

/// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3): the stable hash of
/// non-integer csv keys.
std::uint64_t fnv1a64(std::string_view s) noexcept;

}  // namespace belady::replay::detail
