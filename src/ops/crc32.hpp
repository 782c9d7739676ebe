#pragma once
// IEEE CRC-32, the checksum of snapshot files (header, section table and every section).
#include <cstddef>
#include <cstdint>
#include <span>

namespace belady::ops {

/// CRC-32 with the reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF: the
/// same numbers as zlib's crc32(), e.g. crc32("123456789") == 0xCBF43926, crc32("") == 0.
///
/// Incremental: crc32(b, crc32(a)) == crc32(a followed by b), so large buffers can be checked
/// piece by piece as they are read. Slice-by-8 (eight 1 KiB tables, eight bytes per step):
/// a few GB/s on one current x86-64 core.
[[nodiscard]] std::uint32_t crc32(std::span<const std::byte> data, std::uint32_t crc = 0);

}  // namespace belady::ops
