#pragma once
// A thin vector-in, vector-out wrapper over belady::cache for the hand-written tests: it moves
// the arguments into shared buffers (usable by either backend) and the results back out.
#include <belady/cache.hpp>
#include <cstdint>
#include <vector>

#include "support/device_buffer.hpp"
#include "support/test_support.hpp"

namespace belady_test {

using row = std::vector<std::uint8_t>;

template <class Key, class T>
class harness {
 public:
  explicit harness(const belady::cache_config& config) : c(config) {}

  belady::cache<Key, T> c;

  [[nodiscard]] std::size_t dim() const { return c.dim(); }
  /// The bytes of value_from<T>(id, dim): what tests store and expect back.
  [[nodiscard]] row value(std::uint64_t id) const {
    const auto v = value_from<T>(id, dim());
    return bytes_of(v.data(), v.size());
  }
  [[nodiscard]] std::vector<T> values(const std::vector<std::uint64_t>& ids) const {
    std::vector<T> out;
    for (auto id : ids) {
      const auto v = value_from<T>(id, dim());
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }

  struct find_out {
    std::size_t hits = 0;
    std::vector<bool> found;
    std::vector<row> rows;
    std::vector<std::uint64_t> scores;
  };
  /// Rows of misses keep the `fill` value.
  find_out find(const std::vector<Key>& keys, std::uint64_t fill = 0xdead) {
    buffer<Key> k(keys);
    buffer<T> v(values(std::vector<std::uint64_t>(keys.size(), fill)));
    buffer<bool> f(keys.size());
    buffer<std::uint64_t> s(keys.size());
    find_out out;
    out.hits = c.find(k, v, f, s);
    collect(out, f, v);
    out.scores = s.to_vector();
    return out;
  }

  std::vector<bool> contains(const std::vector<Key>& keys, std::size_t* hits = nullptr) {
    buffer<Key> k(keys);
    buffer<bool> f(keys.size());
    const std::size_t h = c.contains(k, f);
    if (hits != nullptr) *hits = h;
    return std::vector<bool>(f.begin(), f.end());
  }

  belady::insert_result insert(const std::vector<Key>& keys, const std::vector<std::uint64_t>& ids,
                               const std::vector<std::uint64_t>& scores = {}) {
    buffer<Key> k(keys);
    buffer<T> v(values(ids));
    buffer<std::uint64_t> s(scores);
    return c.insert_or_assign(k, v, s);
  }

  struct evict_out {
    belady::insert_result result;
    std::vector<entry> handed;  ///< sorted
  };
  evict_out insert_and_evict(const std::vector<Key>& keys, const std::vector<std::uint64_t>& ids,
                             const std::vector<std::uint64_t>& scores = {}) {
    buffer<Key> k(keys);
    buffer<T> v(values(ids));
    buffer<std::uint64_t> s(scores);
    buffer<Key> ek(keys.size());
    buffer<T> ev(keys.size() * dim());
    buffer<std::uint64_t> es(keys.size());
    evict_out out;
    out.result = c.insert_and_evict(k, v, ek, ev, es, s);
    for (std::size_t i = 0; i < out.result.handed_back(); ++i)
      out.handed.push_back(make_entry(ek[i], ev.data() + i * dim(), dim(), es[i]));
    out.handed = sorted(std::move(out.handed));
    return out;
  }

  find_out find_or_insert(const std::vector<Key>& keys, const std::vector<std::uint64_t>& ids,
                          const std::vector<std::uint64_t>& scores = {}) {
    buffer<Key> k(keys);
    buffer<T> v(values(ids));
    buffer<bool> f(keys.size());
    buffer<std::uint64_t> s(scores);
    find_out out;
    out.hits = c.find_or_insert(k, v, f, s);
    collect(out, f, v);
    return out;
  }

  std::size_t assign(const std::vector<Key>& keys, const std::vector<std::uint64_t>& ids,
                     const std::vector<std::uint64_t>& scores = {}) {
    buffer<Key> k(keys);
    buffer<T> v(values(ids));
    buffer<std::uint64_t> s(scores);
    return c.assign(k, v, s);
  }

  std::size_t erase(const std::vector<Key>& keys) {
    buffer<Key> k(keys);
    return c.erase(k);
  }

  /// Every stored entry, sorted.
  [[nodiscard]] std::vector<entry> all() const { return export_all(c); }
  /// The stored entry of `key` as the test would expect it: value id and score.
  [[nodiscard]] entry expected(Key key, std::uint64_t id, std::uint64_t score) const {
    const auto v = value_from<T>(id, dim());
    return make_entry(key, v.data(), dim(), score);
  }

 private:
  void collect(find_out& out, const buffer<bool>& f, const buffer<T>& v) const {
    out.found.assign(f.begin(), f.end());
    for (std::size_t i = 0; i < f.size(); ++i) out.rows.push_back(bytes_of(v.data() + i * dim(), dim()));
  }
};

}  // namespace belady_test
