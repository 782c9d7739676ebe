// Line-oriented trace formats: ARC .lis, one integer per line, and csv.
//
// Integer keys (all three formats): decimal, optionally signed. A non-negative value is taken as
// is (up to 2^64-1); a negative one is mapped like i64be, by two's complement reinterpretation
// (-1 -> 0xFFFF'FFFF'FFFF'FFFF), so the mapping stays bijective on [-2^63, 2^64).
//
// csv keys that are not integers (e.g. hex digests, URLs, names) are hashed with 64-bit FNV-1a
// over the field's bytes (after trimming blanks and removing csv quotes). The hash is stable
// across runs, platforms and builds, so traces replay identically everywhere; distinct strings
// may collide with each other or with integer keys with probability ~n^2 / 2^65, which is
// negligible for exact-policy miss ratios.
//
// Lines end in "\n" or "\r\n"; a final line without a newline counts. A UTF-8 byte order mark at
// the start of the file is ignored. Errors name "path:line".
#include <charconv>
#include <cstring>

#include "trace_io.hpp"

namespace belady::replay::detail {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Decimal integer filling the whole of s; see the mapping above.
bool parse_key(std::string_view s, std::uint64_t& key) {
  if (s.empty()) return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '-') {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(first, last, v);
    if (ec != std::errc{} || p != last) return false;
    key = static_cast<std::uint64_t>(v);
    return true;
  }
  if (*first == '+') ++first;
  if (first == last || *first == '-') return false;
  auto [p, ec] = std::from_chars(first, last, key);
  return ec == std::errc{} && p == last;
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

/// The line, shortened and with unprintable bytes replaced, for error messages.
std::string quote(std::string_view line) {
  constexpr std::size_t max_chars = 80;
  std::string q = "'";
  for (std::size_t i = 0; i < line.size() && i < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    q += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (line.size() > max_chars) q += "...";
  return q + "'";
}

[[noreturn]] void fail(const byte_source& src, std::uint64_t line_no, const std::string& what) {
  throw trace_error(src.path() + ":" + std::to_string(line_no) + ": " + what);
}

/// Calls on_line(std::string_view line, std::uint64_t line_no) for every line (1-based, without
/// the line end); it returns false to stop early. Reads 1 MiB chunks; a line longer than the
/// buffer grows it.
template <class OnLine>
void for_each_line(byte_source& src, OnLine&& on_line) {
  std::vector<char> buf(chunk_bytes);
  std::size_t have = 0;
  std::uint64_t line_no = 0;
  bool eof = false;
  while (!eof) {
    if (have == buf.size()) buf.resize(buf.size() * 2);
    const std::size_t got =
        src.read(reinterpret_cast<unsigned char*>(buf.data()) + have, buf.size() - have);
    eof = got == 0;
    have += got;
    const char* const base = buf.data();
    std::size_t start = 0;
    for (;;) {
      const void* nl = std::memchr(base + start, '\n', have - start);
      std::size_t end;
      if (nl != nullptr) {
        end = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      } else if (eof && start < have) {
        end = have;  // final line without a newline
      } else {
        break;
      }
      std::string_view line(base + start, end - start);
      if (line_no == 0 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!on_line(line, ++line_no)) return;
      start = end + 1;
      if (start >= have) break;
    }
    start = start > have ? have : start;
    std::memmove(buf.data(), buf.data() + start, have - start);
    have -= start;
  }
}

bool under_limit(std::uint64_t limit, const std::vector<request>& out) {
  return limit == 0 || out.size() < limit;
}

}  // namespace

std::uint64_t fnv1a64(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

void parse_arc(byte_source& src, std::uint64_t limit, std::vector<request>& out) {
  // "start count ignored request_no": count consecutive block ids start, start+1, ...
  for_each_line(src, [&](std::string_view line, std::uint64_t line_no) {
    std::uint64_t field[4];
    std::size_t n = 0;
    std::string_view rest = line;
    for (;;) {
      rest = trim(rest);
      if (rest.empty()) break;
      std::size_t len = 0;
      while (len < rest.size() && !is_blank(rest[len])) ++len;
      if (n == 4 || !parse_u64(rest.substr(0, len), field[n])) n = 5;  // malformed
      if (n == 5) break;
      ++n;
      rest.remove_prefix(len);
    }
    if (n == 0) return true;  // blank line
    if (n != 4) {
      fail(src, line_no, "malformed ARC line " + quote(line) +
                             ": expected 4 unsigned integers 'start count ignored request_no'");
    }
    const std::uint64_t start = field[0];
    const std::uint64_t count = field[1];
    if (count != 0 && start + (count - 1) < start) {
      fail(src, line_no, "malformed ARC line " + quote(line) + ": start + count overflows 64 bits");
    }
    std::uint64_t take = count;
    if (limit != 0 && limit - out.size() < take) take = limit - out.size();
    for (std::uint64_t i = 0; i < take; ++i) out.push_back(request{start + i, 1, -1});
    return under_limit(limit, out);
  });
}

void parse_lines(byte_source& src, std::uint64_t limit, std::vector<request>& out) {
  for_each_line(src, [&](std::string_view line, std::uint64_t line_no) {
    const std::string_view text = trim(line);
    if (text.empty()) return true;
    std::uint64_t key = 0;
    if (!parse_key(text, key)) fail(src, line_no, "not an integer: " + quote(text));
    out.push_back(request{key, 1, -1});
    return under_limit(limit, out);
  });
}

namespace {

enum class csv_field_status { ok, missing, bad_quote };

/// Field `column` of a csv line, trimmed of blanks; a field in double quotes loses them and ""
/// inside becomes " (written to scratch). Quoted line breaks are not supported.
csv_field_status csv_field(std::string_view line, char delim, std::size_t column,
                           std::string_view& field, std::string& scratch) {
  std::size_t pos = 0;
  for (std::size_t i = 0;; ++i) {
    while (pos < line.size() && line[pos] != delim && is_blank(line[pos])) ++pos;
    std::size_t next;  // index of the delimiter ending this field, or npos
    if (pos < line.size() && line[pos] == '"') {
      std::size_t q = pos + 1;
      bool escaped = false;
      std::size_t close;
      for (;;) {
        close = line.find('"', q);
        if (close == std::string_view::npos) return csv_field_status::bad_quote;
        if (close + 1 < line.size() && line[close + 1] == '"') {
          escaped = true;
          q = close + 2;
          continue;
        }
        break;
      }
      next = line.find(delim, close + 1);
      if (trim(line.substr(close + 1, next == std::string_view::npos ? std::string_view::npos
                                                                        : next - close - 1))
              .size() != 0) {
        return csv_field_status::bad_quote;  // text after the closing quote
      }
      if (i == column) {
        field = line.substr(pos + 1, close - pos - 1);
        if (escaped) {
          scratch.clear();
          for (std::size_t k = 0; k < field.size(); ++k) {
            scratch += field[k];
            if (field[k] == '"') ++k;  // "" -> "
          }
          field = scratch;
        }
        return csv_field_status::ok;
      }
    } else {
      next = line.find(delim, pos);
      if (i == column) {
        field = trim(line.substr(pos, next == std::string_view::npos ? std::string_view::npos
                                                                     : next - pos));
        return csv_field_status::ok;
      }
    }
    if (next == std::string_view::npos) return csv_field_status::missing;
    pos = next + 1;
  }
}

}  // namespace

void parse_csv(byte_source& src, const trace_spec& spec, std::vector<request>& out) {
  const char delim = spec.csv_delimiter;
  if (delim == '"' || delim == '\n' || delim == '\r' || delim == '\0') {
    throw trace_error(src.path() + ": invalid csv delimiter " +
                      quote(std::string_view(&delim, 1)));
  }
  std::string scratch;
  for_each_line(src, [&](std::string_view line, std::uint64_t line_no) {
    if (line_no == 1 && spec.csv_header) return true;
    if (trim(line).empty()) return true;
    std::string_view field;
    switch (csv_field(line, delim, spec.csv_column, field, scratch)) {
      case csv_field_status::ok: break;
      case csv_field_status::missing:
        fail(src, line_no, "no column " + std::to_string(spec.csv_column) + " (0-based) in " +
                               quote(line));
      case csv_field_status::bad_quote:
        fail(src, line_no, "malformed quoted field in " + quote(line));
    }
    if (field.empty()) {
      fail(src, line_no, "empty key in column " + std::to_string(spec.csv_column) + ": " +
                             quote(line));
    }
    std::uint64_t key = 0;
    if (!parse_key(field, key)) key = fnv1a64(field);
    out.push_back(request{key, 1, -1});
    return under_limit(spec.limit, out);
  });
}

}  // namespace belady::replay::detail
