#pragma once
// Little-endian fields in byte buffers, for snapshot sections. The reader throws snapshot_error
// naming the section when a field runs past its end.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "belady/snapshot.hpp"

namespace belady::ops {

static_assert(std::endian::native == std::endian::little, "snapshots are written little-endian, as the host is");

class byte_writer {
 public:
  template <class U>
    requires std::is_trivially_copyable_v<U>
  void put(const U& v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out_.insert(out_.end(), p, p + sizeof(U));
  }
  void put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), p, p + s.size());
  }
  void put_bytes(std::span<const std::byte> b) {
    put(static_cast<std::uint64_t>(b.size()));
    out_.insert(out_.end(), b.begin(), b.end());
  }
  [[nodiscard]] std::vector<std::byte>& bytes() { return out_; }

 private:
  std::vector<std::byte> out_;
};

class byte_reader {
 public:
  byte_reader(std::span<const std::byte> in, std::string where) : in_(in), where_(std::move(where)) {}
  template <class U>
    requires std::is_trivially_copyable_v<U>
  U get() {
    need(sizeof(U));
    U v;
    std::memcpy(&v, in_.data() + at_, sizeof(U));
    at_ += sizeof(U);
    return v;
  }
  std::string get_string() {
    const std::uint32_t n = get<std::uint32_t>();
    need(n);
    std::string s(reinterpret_cast<const char*>(in_.data() + at_), n);
    at_ += n;
    return s;
  }
  std::span<const std::byte> get_bytes() {
    const auto n = get<std::uint64_t>();
    need(n);
    auto s = in_.subspan(at_, n);
    at_ += n;
    return s;
  }
  [[nodiscard]] bool done() const { return at_ == in_.size(); }

 private:
  void need(std::uint64_t n) const {
    if (n > in_.size() - at_)
      throw snapshot_error(where_ + ": a field needs " + std::to_string(n) + " bytes at offset " + std::to_string(at_) +
                           ", the section has " + std::to_string(in_.size()));
  }
  std::span<const std::byte> in_;
  std::string where_;
  std::size_t at_ = 0;
};

}  // namespace belady::ops
