// Fixed-width binary trace formats: libCacheSim oracleGeneral and raw big-endian id arrays.
// Records are decoded from 1 MiB chunks; a record split across two chunks is carried over.
#include <cstring>
#include <new>
#include <stdexcept>

#include "trace_io.hpp"

namespace belady::replay::detail {
namespace {

inline std::uint32_t load_le32(const unsigned char* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}
inline std::uint64_t load_le64(const unsigned char* p) {
  return std::uint64_t{load_le32(p)} | std::uint64_t{load_le32(p + 4)} << 32;
}
inline std::uint32_t load_be32(const unsigned char* p) {
  return std::uint32_t{p[3]} | std::uint32_t{p[2]} << 8 | std::uint32_t{p[1]} << 16 |
         std::uint32_t{p[0]} << 24;
}
inline std::uint64_t load_be64(const unsigned char* p) {
  return std::uint64_t{load_be32(p)} << 32 | std::uint64_t{load_be32(p + 4)};
}

/// Calls on_record(const unsigned char*) for every whole `width`-byte record; it returns false
/// to stop early. A trailing partial record is an error naming the path and its byte offset.
template <class OnRecord>
void for_each_record(byte_source& src, std::size_t width, OnRecord&& on_record) {
  std::vector<unsigned char> buf(chunk_bytes);
  std::size_t have = 0;        // bytes in buf (a carried partial record, then new data)
  std::uint64_t offset = 0;    // byte offset of buf[0] in the (decoded) data
  for (;;) {
    const std::size_t got = src.read(buf.data() + have, buf.size() - have);
    if (got == 0) break;
    have += got;
    const std::size_t whole = have - have % width;
    for (std::size_t p = 0; p < whole; p += width) {
      if (!on_record(buf.data() + p)) return;
    }
    std::memmove(buf.data(), buf.data() + whole, have - whole);
    have -= whole;
    offset += whole;
  }
  if (have != 0) {
    throw trace_error(src.path() + ": truncated record at " +
                      (src.compressed() ? "decompressed " : "") + "byte offset " +
                      std::to_string(offset) + ": " + std::to_string(have) + " trailing bytes, records are " +
                      std::to_string(width) + " bytes");
  }
}

void reserve_for(const byte_source& src, std::size_t width, std::uint64_t limit,
                 std::vector<request>& out) {
  std::uint64_t n = 0;
  if (auto size = src.size_hint()) n = *size / width;
  if (limit != 0 && limit < n) n = limit;
  if (n == 0) return;
  try {
    out.reserve(out.size() + n);
  } catch (const std::length_error&) {  // a bogus hint from a damaged file: grow as we go
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace

void parse_oracle_general(byte_source& src, std::uint64_t limit, std::vector<request>& out) {
  // <u32 timestamp, u64 obj_id, u32 obj_size, i64 next_access_vtime>, little-endian, 24 bytes.
  // Only id and size are kept; next_access is recomputed by annotate_next_access.
  constexpr std::size_t width = 24;
  reserve_for(src, width, limit, out);
  for_each_record(src, width, [&](const unsigned char* p) {
    out.push_back(request{load_le64(p + 4), load_le32(p + 12), -1});
    return limit == 0 || out.size() < limit;
  });
}

void parse_big_endian(byte_source& src, std::size_t width, bool is_signed, std::uint64_t limit,
                      std::vector<request>& out) {
  reserve_for(src, width, limit, out);
  const auto keep_going = [&] { return limit == 0 || out.size() < limit; };
  if (width == 8) {
    // i64 -> u64 by two's complement is the identity on the bit pattern.
    for_each_record(src, 8, [&](const unsigned char* p) {
      out.push_back(request{load_be64(p), 1, -1});
      return keep_going();
    });
  } else if (is_signed) {
    // Sign-extend through int64, then reinterpret: -1 -> 0xFFFF'FFFF'FFFF'FFFF; bijective.
    for_each_record(src, 4, [&](const unsigned char* p) {
      const auto v = static_cast<std::int32_t>(load_be32(p));
      out.push_back(request{static_cast<std::uint64_t>(static_cast<std::int64_t>(v)), 1, -1});
      return keep_going();
    });
  } else {
    for_each_record(src, 4, [&](const unsigned char* p) {
      out.push_back(request{load_be32(p), 1, -1});
      return keep_going();
    });
  }
}

}  // namespace belady::replay::detail
