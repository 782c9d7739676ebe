// load_trace: opens the byte source (plain, .xz, .zst) and runs the format's streaming parser.
//
// Keys are returned exactly as the trace encodes them (after the format's documented integer
// mapping). In particular the cache engine's reserved keys 0xFFFF'FFFF'FFFF'FFFF and
// 0xFFFF'FFFF'FFFF'FFFE (e.g. i32be/i64be -1 and -2) are NOT remapped here: the exact replay
// policies treat them like any other key, and whoever feeds a trace to the cache engine must
// remap them there.
#include "trace_io.hpp"

namespace belady::replay {
namespace {

struct format_name {
  trace_format format;
  std::string_view name;
};

constexpr format_name format_names[] = {
    {trace_format::oracle_general, "oracle-general"},
    {trace_format::u32be, "u32be"},
    {trace_format::i32be, "i32be"},
    {trace_format::i64be, "i64be"},
    {trace_format::arc, "arc"},
    {trace_format::lines, "lines"},
    {trace_format::csv, "csv"},
};

}  // namespace

std::optional<trace_format> parse_trace_format(std::string_view name) {
  for (const auto& f : format_names) {
    if (f.name == name) return f.format;
  }
  return std::nullopt;
}

std::string_view to_string(trace_format f) {
  for (const auto& n : format_names) {
    if (n.format == f) return n.name;
  }
  return "unknown";
}

std::vector<request> load_trace(const trace_spec& spec) {
  auto src = detail::open_byte_source(spec.path);
  std::vector<request> out;
  switch (spec.format) {
    case trace_format::oracle_general: detail::parse_oracle_general(*src, spec.limit, out); break;
    case trace_format::u32be: detail::parse_big_endian(*src, 4, false, spec.limit, out); break;
    case trace_format::i32be: detail::parse_big_endian(*src, 4, true, spec.limit, out); break;
    case trace_format::i64be: detail::parse_big_endian(*src, 8, true, spec.limit, out); break;
    case trace_format::arc: detail::parse_arc(*src, spec.limit, out); break;
    case trace_format::lines: detail::parse_lines(*src, spec.limit, out); break;
    case trace_format::csv: detail::parse_csv(*src, spec, out); break;
    default:
      throw trace_error(spec.path + ": unknown trace format " +
                        std::to_string(static_cast<int>(spec.format)));
  }
  if (out.empty()) throw trace_error(spec.path + ": empty trace");
  if (out.capacity() - out.size() > out.size() / 4) out.shrink_to_fit();
  return out;
}

}  // namespace belady::replay
