#include "ops/crc32.hpp"

#include <array>

namespace belady::ops {
namespace {

constexpr std::uint32_t reflected_polynomial = 0xEDB88320u;

using crc_tables = std::array<std::array<std::uint32_t, 256>, 8>;

// tables[0][b]: how byte b in the register's low position changes the register after one byte
// (the classic byte-at-a-time table). tables[k][b]: the same byte followed by k zero bytes. A
// register xored with eight input bytes then advances eight bytes with eight independent lookups,
// which the CPU runs in parallel instead of one dependent lookup per byte.
constexpr crc_tables make_tables() {
  crc_tables tables{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t reg = byte;
    for (int bit = 0; bit < 8; ++bit) reg = (reg >> 1) ^ ((reg & 1u) != 0 ? reflected_polynomial : 0u);
    tables[0][byte] = reg;
  }
  for (std::size_t k = 1; k < tables.size(); ++k) {
    for (std::size_t byte = 0; byte < 256; ++byte) {
      const std::uint32_t prev = tables[k - 1][byte];
      tables[k][byte] = (prev >> 8) ^ tables[0][prev & 0xffu];
    }
  }
  return tables;
}

constexpr crc_tables tables = make_tables();

// Byte by byte rather than memcpy so the result does not depend on the host's byte order; GCC
// and Clang merge this into one load on little-endian machines.
inline std::uint32_t load_le32(const std::byte* p) {
  return std::to_integer<std::uint32_t>(p[0]) | std::to_integer<std::uint32_t>(p[1]) << 8 |
         std::to_integer<std::uint32_t>(p[2]) << 16 | std::to_integer<std::uint32_t>(p[3]) << 24;
}

inline std::uint32_t advance_one_byte(std::uint32_t reg, std::byte input) {
  return tables[0][(reg ^ std::to_integer<std::uint32_t>(input)) & 0xffu] ^ (reg >> 8);
}

inline std::uint32_t advance_eight_bytes(std::uint32_t reg, const std::byte* input) {
  const std::uint32_t low = load_le32(input) ^ reg;  // the register only overlaps the first four
  const std::uint32_t high = load_le32(input + 4);
  return tables[7][low & 0xffu] ^ tables[6][(low >> 8) & 0xffu] ^ tables[5][(low >> 16) & 0xffu] ^
         tables[4][low >> 24] ^ tables[3][high & 0xffu] ^ tables[2][(high >> 8) & 0xffu] ^
         tables[1][(high >> 16) & 0xffu] ^ tables[0][high >> 24];
}

}  // namespace

std::uint32_t crc32(std::span<const std::byte> data, std::uint32_t crc) {
  // The public value is the register inverted; undoing that first is what makes chaining work.
  std::uint32_t reg = ~crc;
  const std::byte* p = data.data();
  std::size_t left = data.size();
  for (; left >= 8; p += 8, left -= 8) reg = advance_eight_bytes(reg, p);
  for (; left > 0; ++p, --left) reg = advance_one_byte(reg, *p);
  return ~reg;
}

}  // namespace belady::ops
