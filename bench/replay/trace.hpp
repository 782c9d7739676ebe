#pragma once
// Trace readers for the replay lab. Formats (see ../shared/traces/README.md):
//   oracle-general  libCacheSim oracleGeneral: 24-byte LE records <u32 time, u64 id, u32 size, i64 next>
//   u32be, i32be, i64be  raw big-endian id arrays
//   arc             ARC .lis text: "start count ignored request_no", expanded to count consecutive ids
//   lines           one integer id per line
//   csv             delimited text, key in a chosen column (0-based), optional header line
// Files ending in .xz or .zst are decompressed transparently (liblzma, libzstd).
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "request.hpp"

namespace belady::replay {

enum class trace_format { oracle_general, u32be, i32be, i64be, arc, lines, csv };

/// "oracle-general", "u32be", "i32be", "i64be", "arc", "lines", "csv"; nullopt when unknown.
std::optional<trace_format> parse_trace_format(std::string_view name);
std::string_view to_string(trace_format f);

struct trace_spec {
  std::string path;
  trace_format format = trace_format::lines;
  std::size_t csv_column = 0;   ///< csv: 0-based column of the key
  char csv_delimiter = ',';
  bool csv_header = false;      ///< csv: skip the first line
  std::uint64_t limit = 0;      ///< stop after this many requests (0: all)
};

/// Thrown for unreadable, malformed, truncated or empty traces; the message names the path and
/// the byte offset or line.
class trace_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads the whole trace. Sizes are kept for oracle-general, 1 otherwise. next_access is not
/// filled (see annotate_next_access).
std::vector<request> load_trace(const trace_spec& spec);

}  // namespace belady::replay
