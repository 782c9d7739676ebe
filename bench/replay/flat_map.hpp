#pragma once
// Open-addressing hash map from 64-bit keys to 32-bit indices (linear probing, backward-shift
// erase). The exact policies spend most of their time here; std::unordered_map's node
// allocations would cap replay well below 10 million requests/s.
#include <cstdint>
#include <vector>

namespace belady::replay {

class flat_map {
 public:
  static constexpr std::uint32_t absent = 0xffffffffu;

  explicit flat_map(std::size_t expected = 1024) { rehash(expected * 2 + 16); }

  [[nodiscard]] std::uint32_t find(std::uint64_t key) const {
    for (std::size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const entry& e = table_[i];
      if (e.value == absent) return absent;
      if (e.key == key) return e.value;
    }
  }

  /// Inserts or overwrites.
  void set(std::uint64_t key, std::uint32_t value) {
    if ((size_ + 1) * 4 > table_.size() * 3) rehash(table_.size() * 2);
    for (std::size_t i = slot_of(key);; i = (i + 1) & mask_) {
      entry& e = table_[i];
      if (e.value == absent) {
        e = {key, value};
        ++size_;
        return;
      }
      if (e.key == key) {
        e.value = value;
        return;
      }
    }
  }

  bool erase(std::uint64_t key) {
    std::size_t i = slot_of(key);
    for (;; i = (i + 1) & mask_) {
      if (table_[i].value == absent) return false;
      if (table_[i].key == key) break;
    }
    // Backward-shift: pull later members of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (table_[j].value == absent) break;
      const std::size_t home = slot_of(table_[j].key);
      const bool movable = ((j - home) & mask_) >= ((j - hole) & mask_);
      if (movable) {
        table_[hole] = table_[j];
        hole = j;
      }
    }
    table_[hole].value = absent;
    --size_;
    return true;
  }

  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  struct entry {
    std::uint64_t key;
    std::uint32_t value;
  };

  [[nodiscard]] std::size_t slot_of(std::uint64_t key) const {
    std::uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(h >> shift_);
  }

  void rehash(std::size_t want) {
    std::size_t cap = 16;
    int bits = 4;
    while (cap < want) {
      cap *= 2;
      ++bits;
    }
    std::vector<entry> old;
    old.swap(table_);
    table_.assign(cap, entry{0, absent});
    mask_ = cap - 1;
    shift_ = 64 - bits;
    size_ = 0;
    for (const entry& e : old)
      if (e.value != absent) set(e.key, e.value);
  }

  std::vector<entry> table_;
  std::size_t mask_ = 0;
  int shift_ = 60;
  std::size_t size_ = 0;
};

}  // namespace belady::replay
