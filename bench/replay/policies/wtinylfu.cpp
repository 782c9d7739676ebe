// W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU", TOS 2017) as libCacheSim's WTinyLFU with its
// defaults (main-cache=SLRU, window-size=0.01):
//   * window: an LRU of 1% of the capacity; every newcomer enters it;
//   * main: a segmented LRU over the other 99%, probation:protected = 1:4 (libCacheSim SLRU with
//     seg-size=1:4): a main hit promotes a probation object to protected, whose overflow is
//     demoted back to the head of probation;
//   * admission: when room is needed, the window's LRU object goes to main for free while main
//     has room; otherwise it is admitted only if its sketch estimate is strictly greater than
//     that of main's victim (probation's LRU object), which it then replaces; else it is dropped;
//   * frequency sketch: one array of 32-bit counters, k = 10 probes per key (double hashing of
//     two 64-bit xxHash values), sized for 1/1000 error at main's capacity. A key is counted when
//     it is admitted to the window, when it leaves the window (kept or dropped), and on each main
//     hit; window hits are not counted. Aging: every 32 x main-capacity main hits, all counters
//     are halved. There is no doorkeeper (libCacheSim has none).
// libCacheSim quirks kept on purpose: the window is not bounded by itself (it is the rest of the
// capacity next to main, so it drains into main first during warm-up); an object larger than the
// window or than probation is never cached.
// Deviations: the window is at least one unit (libCacheSim's is 0 below 100 units and then caches
// nothing), and the sketch is capped at 2^24 counters (libCacheSim sizes it from main's capacity
// in bytes, up to 2^31 counters).
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <vector>

#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

// xxHash64 (Collet) of the 8 little-endian bytes of `key`: libCacheSim hashes obj_id this way.
constexpr std::uint64_t xxh_p1 = 0x9E3779B185EBCA87ULL, xxh_p2 = 0xC2B2AE3D27D4EB4FULL,
                        xxh_p3 = 0x165667B19E3779F9ULL, xxh_p4 = 0x85EBCA77C2B2AE63ULL,
                        xxh_p5 = 0x27D4EB2F165667C5ULL;
constexpr std::uint64_t rotl64(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
constexpr std::uint64_t xxh64_u64(std::uint64_t key, std::uint64_t seed) {
  std::uint64_t h = seed + xxh_p5 + 8;
  const std::uint64_t k = rotl64(key * xxh_p2, 31) * xxh_p1;
  h ^= k;
  h = rotl64(h, 27) * xxh_p1 + xxh_p4;
  h ^= h >> 33;
  h *= xxh_p2;
  h ^= h >> 29;
  h *= xxh_p3;
  h ^= h >> 32;
  return h;
}
static_assert(xxh64_u64(0, 0x12345678) == 0x67bb774d39f5d473ULL);
static_assert(xxh64_u64(42, 0x12344321) == 0xca6b830118405888ULL);

/// Counting Bloom filter / count-min sketch in one counter array (libCacheSim's
/// minimalIncrementCBF, which despite its name increments every probed counter).
class frequency_sketch {
 public:
  explicit frequency_sketch(std::uint64_t entries) {
    const double bpe = -std::log(0.001) / 0.480453013918201;  // counters per entry; ln(2)^2
    hashes_ = static_cast<int>(std::ceil(0.693147180559945 * bpe));
    const double want = std::fmin(std::ceil(bpe * static_cast<double>(entries)), double{INT_MAX});
    std::uint32_t n = static_cast<std::uint32_t>(std::fmin(want, double{max_counters}));
    if (n < static_cast<std::uint32_t>(hashes_)) n = 2 * static_cast<std::uint32_t>(hashes_);
    counters_.assign(n, 0);
  }

  [[nodiscard]] std::uint32_t estimate(std::uint64_t key) const {
    const probe p(key);
    std::uint32_t m = UINT_MAX;
    for (int i = 0; i < hashes_; ++i) m = std::min(m, counters_[slot(p, i)]);
    return m;
  }
  void add(std::uint64_t key) {
    const probe p(key);
    std::uint32_t m = UINT_MAX;
    for (int i = 0; i < hashes_; ++i) m = std::min(m, counters_[slot(p, i)]);
    if (m == UINT_MAX) return;
    for (int i = 0; i < hashes_; ++i) ++counters_[slot(p, i)];
  }
  void halve() {
    for (auto& c : counters_) c >>= 1;
  }

 private:
  static constexpr std::uint32_t max_counters = 1u << 24;
  struct probe {
    explicit probe(std::uint64_t key)
        : a(static_cast<std::uint32_t>(xxh64_u64(key, 0x12345678))),
          b(static_cast<std::uint32_t>(xxh64_u64(key, 0x12344321))) {}
    std::uint32_t a, b;
  };
  [[nodiscard]] std::size_t slot(const probe& p, int i) const {
    const std::uint32_t x = p.a + static_cast<std::uint32_t>(i) * p.b;  // wraps mod 2^32
    return x % static_cast<std::uint32_t>(counters_.size());
  }

  int hashes_ = 1;
  std::vector<std::uint32_t> counters_;
};

enum class area : std::uint8_t { window, probation, protect };

struct entry {
  std::uint64_t key;
  std::uint32_t size;
  area where;
};

class wtinylfu final : public exact_policy {
 public:
  explicit wtinylfu(std::uint64_t capacity)
      : capacity_(capacity),
        window_cap_(std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(static_cast<double>(capacity) * 0.01))),
        main_cap_(capacity > window_cap_ ? capacity - window_cap_ : 0),
        seg_max_{static_cast<std::uint64_t>(1.0 / 5 * static_cast<double>(main_cap_)),
                 static_cast<std::uint64_t>(4.0 / 5 * static_cast<double>(main_cap_))},
        decay_period_(32 * main_cap_),
        sketch_(main_cap_) {}

  bool access(const request& r) override {
    const std::uint32_t i = index_.find(r.key);
    if (i != flat_map::absent) {
      if (pool_[i].data.where == area::window) {
        window_.move_to_front(pool_, i);
      } else {
        main_hit(i);
        sketch_.add(r.key);
        if (++main_hits_ >= decay_period_) {
          main_hits_ = 0;
          sketch_.halve();
        }
      }
      return true;
    }
    if (r.size > window_cap_ || r.size > seg_max_[0]) return false;  // also implies <= capacity
    while (window_bytes_ + main_bytes_ + r.size > capacity_) evict();
    const std::uint32_t n = pool_.allocate({r.key, r.size, area::window});
    window_.push_front(pool_, n);
    window_bytes_ += r.size;
    index_.set(r.key, n);
    sketch_.add(r.key);
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "wtinylfu"; }
  [[nodiscard]] std::uint64_t occupied() const override { return window_bytes_ + main_bytes_; }

 private:
  static constexpr int n_seg = 2;
  static int seg_of(area a) { return a == area::probation ? 0 : 1; }
  static area area_of(int s) { return s == 0 ? area::probation : area::protect; }

  // One round of libCacheSim's WTinyLFU_evict: drain the window into main while main has room,
  // then one duel (or, with an empty window, one plain main eviction).
  void evict() {
    for (;;) {
      if (window_bytes_ == 0) {
        main_evict();
        return;
      }
      const std::uint32_t v = window_.tail();
      const std::uint64_t key = pool_[v].data.key;
      const std::uint32_t size = pool_[v].data.size;
      bool done = true;
      if (main_bytes_ + size <= main_cap_) {
        window_.unlink(pool_, v);
        window_bytes_ -= size;
        main_insert(v);
        done = false;
      } else if (sketch_.estimate(key) > sketch_.estimate(pool_[main_victim()].data.key)) {
        main_evict();
        window_.unlink(pool_, v);
        window_bytes_ -= size;
        main_insert(v);
      } else {
        window_.unlink(pool_, v);
        window_bytes_ -= size;
        index_.erase(key);
        pool_.release(v);
      }
      sketch_.add(key);
      if (done) return;
    }
  }

  // SLRU insert: into the lowest segment with room; with none, make room in main and use
  // probation.
  void main_insert(std::uint32_t n) {
    const std::uint32_t size = pool_[n].data.size;
    int s = -1;
    for (int k = 0; k < n_seg; ++k) {
      if (seg_bytes_[k] + size <= seg_max_[k]) {
        s = k;
        break;
      }
    }
    if (s < 0) {
      while (main_bytes_ + size > main_cap_) main_evict();
      s = 0;
    }
    pool_[n].data.where = area_of(s);
    seg_[s].push_front(pool_, n);
    seg_bytes_[s] += size;
    main_bytes_ += size;
  }

  [[nodiscard]] std::uint32_t main_victim() const {
    for (int k = 0; k < n_seg; ++k)
      if (seg_bytes_[k] > 0) return seg_[k].tail();
    return nil;
  }

  void main_evict() {
    const std::uint32_t v = main_victim();
    const int s = seg_of(pool_[v].data.where);
    seg_[s].unlink(pool_, v);
    seg_bytes_[s] -= pool_[v].data.size;
    main_bytes_ -= pool_[v].data.size;
    index_.erase(pool_[v].data.key);
    pool_.release(v);
  }

  void main_hit(std::uint32_t i) {
    const int s = seg_of(pool_[i].data.where);
    if (s == n_seg - 1) {
      seg_[s].move_to_front(pool_, i);
      return;
    }
    const std::uint32_t size = pool_[i].data.size;
    seg_[s].unlink(pool_, i);
    seg_bytes_[s] -= size;
    seg_[s + 1].push_front(pool_, i);
    seg_bytes_[s + 1] += size;
    pool_[i].data.where = area_of(s + 1);
    while (seg_bytes_[s + 1] > seg_max_[s + 1]) cool(s + 1);
  }

  // Demotes segment s's LRU object to the head of segment s-1 (cascading); from probation,
  // evicts from main.
  void cool(int s) {
    if (s == 0) {
      main_evict();
      return;
    }
    const std::uint32_t t = seg_[s].tail();
    const std::uint32_t size = pool_[t].data.size;
    seg_[s].unlink(pool_, t);
    seg_bytes_[s] -= size;
    seg_[s - 1].push_front(pool_, t);
    seg_bytes_[s - 1] += size;
    pool_[t].data.where = area_of(s - 1);
    while (seg_bytes_[s - 1] > seg_max_[s - 1]) cool(s - 1);
  }

  std::uint64_t capacity_, window_cap_, main_cap_;
  std::array<std::uint64_t, n_seg> seg_max_;
  std::uint64_t decay_period_;
  std::uint64_t main_hits_ = 0;
  frequency_sketch sketch_;

  node_pool<entry> pool_;
  dlist<entry> window_;                 // head = most recent
  std::array<dlist<entry>, n_seg> seg_;  // 0 = probation, 1 = protected; head = most recent
  std::uint64_t window_bytes_ = 0, main_bytes_ = 0;
  std::array<std::uint64_t, n_seg> seg_bytes_{};
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_wtinylfu(std::uint64_t capacity) {
  return std::make_unique<wtinylfu>(capacity);
}

}  // namespace belady::replay
