#pragma once
// The differential driver: one seeded random sequence of batched operations applied to a
// belady::cache and to the reference model, comparing every result. It reports the first
// mismatch instead of asserting, so a test can also require that a deliberately wrong model is
// caught.
#include <belady/cache.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/device_buffer.hpp"
#include "support/reference_model.hpp"
#include "support/test_support.hpp"

namespace belady_test {

struct differential_options {
  belady::policy policy = belady::policy::lru;
  belady::backend backend = belady::backend::host;
  std::size_t capacity = 256;
  std::uint32_t bucket_size = 8;
  std::size_t dim = 3;
  std::size_t batches = 2000;
  std::size_t max_batch = 64;
  std::uint64_t key_range = 768;  ///< distinct keys drawn from (about 3x capacity: hits and misses)
  std::uint64_t seed = 1;
  /// Each batch's keys fall in distinct buckets, so the batch is order-independent: a parallel
  /// executor (cuda) must then match the sequential model exactly.
  bool distinct_buckets = false;
  std::uint32_t host_threads = 1;
  model_fault fault = model_fault::none;
  std::size_t slot_check_every = 50;  ///< compare slot by slot every this many batches
};

/// What the sequence exercised (from the model), so tests can require evictions, refusals, etc.
struct differential_stats {
  std::size_t batches = 0, keys = 0, repeats = 0, hits = 0, inserted = 0, assigned = 0, evicted = 0, refused = 0,
              erased = 0, clears = 0, empty_batches = 0, async_calls = 0, unspecified = 0;
};

struct differential_report {
  std::optional<std::string> mismatch;
  differential_stats stats;
};

inline std::ostream& operator<<(std::ostream& os, const std::vector<entry>& v) {
  os << '[';
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os << ']';
}

namespace detail_diff {

class checker {
 public:
  std::optional<std::string> mismatch;
  std::string where;

  template <class A, class B>
  bool eq(const A& cache_side, const B& model_side, const std::string& what) {
    if (cache_side == model_side) return true;
    if (!mismatch) {
      std::ostringstream os;
      os << where << ": " << what << ": cache " << cache_side << " but model " << model_side;
      mismatch = os.str();
    }
    return false;
  }
  bool eq_result(const belady::insert_result& c, const belady::insert_result& m) {
    return eq(c.inserted, m.inserted, "inserted") && eq(c.assigned, m.assigned, "assigned") &&
           eq(c.evicted, m.evicted, "evicted") && eq(c.refused, m.refused, "refused");
  }
};

}  // namespace detail_diff

template <class Key, class T>
differential_report run_differential(const differential_options& o) {
  using detail_diff::checker;
  differential_report report;
  differential_stats& st = report.stats;
  const std::size_t dim = o.dim;

  belady::cache<Key, T> c({.capacity = o.capacity,
                           .dim = o.dim,
                           .bucket_size = o.bucket_size,
                           .eviction = o.policy,
                           .executor = o.backend,
                           .host_threads = o.host_threads});
  reference_model<Key, T> m(o.capacity, o.dim, o.bucket_size, o.policy, o.fault);
  checker ck;
  ck.where = "setup";
  if (!ck.eq(c.capacity(), m.capacity(), "capacity") || !ck.eq(c.bucket_count(), m.bucket_count(), "bucket_count")) {
    report.mismatch = ck.mismatch;
    return report;
  }

  std::mt19937_64 rng(o.seed);
  auto uniform = [&](std::uint64_t lo, std::uint64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const T sentinel = element_from<T>(0xdead);

  // Keys: small integers (0 included), plus the two largest valid keys of the type.
  auto draw_key = [&]() -> Key {
    const std::uint64_t k = uniform(0, o.key_range - 1);
    if (k + 2 >= o.key_range) return static_cast<Key>(belady::reclaim_key<Key> - 1 - (k + 2 - o.key_range));
    return static_cast<Key>(k);
  };
  auto draw_keys = [&](std::size_t n) {
    std::vector<Key> keys;
    std::set<std::uint64_t> buckets;
    std::size_t attempts = 0;
    while (keys.size() < n && attempts++ < 64 * n) {
      Key k;
      if (!o.distinct_buckets && !keys.empty() && chance(0.25)) {
        k = keys[uniform(0, keys.size() - 1)];  // a repeat within the batch
        ++st.repeats;
      } else {
        k = draw_key();
      }
      if (o.distinct_buckets && !buckets.insert(m.bucket_of_key(k)).second) continue;
      keys.push_back(k);
    }
    return keys;
  };
  auto draw_values = [&](std::size_t n) {
    std::vector<T> v;
    v.reserve(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
      const auto row = value_from<T>(rng(), dim);
      v.insert(v.end(), row.begin(), row.end());
    }
    return v;
  };
  auto draw_scores = [&](std::size_t n) {
    std::vector<std::uint64_t> s(n);
    for (auto& x : s) x = uniform(0, 255);  // a small range: ties and refusals are common
    return s;
  };
  const bool custom = o.policy == belady::policy::custom;

  auto compare_rows = [&](const buffer<T>& cv, const buffer<T>& mv, const buffer<bool>* skip_flags,
                          const std::vector<bool>* unspecified, const std::vector<Key>& keys, const char* what) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (unspecified != nullptr && (*unspecified)[i]) continue;
      (void)skip_flags;
      if (!ck.eq(make_entry(keys[i], cv.data() + i * dim, dim, 0), make_entry(keys[i], mv.data() + i * dim, dim, 0),
                 std::string(what) + " row " + std::to_string(i)))
        return false;
    }
    return true;
  };
  auto compare_flags = [&](const buffer<bool>& cf, const buffer<bool>& mf, const std::vector<bool>* unspecified,
                           const std::vector<Key>& keys) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (unspecified != nullptr && (*unspecified)[i]) continue;
      if (!ck.eq(cf[i], mf[i], "found[" + std::to_string(i) + "] of key " + std::to_string(keys[i]))) return false;
    }
    return true;
  };

  for (std::size_t step = 0; step < o.batches && !ck.mismatch; ++step) {
    const std::size_t n = chance(0.02) ? 0 : static_cast<std::size_t>(uniform(1, o.max_batch));
    std::vector<Key> keys = draw_keys(n);
    const std::size_t nk = keys.size();
    st.batches++;
    st.keys += nk;
    if (nk == 0) st.empty_batches++;
    buffer<Key> kb(keys);
    const bool async = chance(0.2);
    const unsigned op = static_cast<unsigned>(uniform(0, 999));
    std::ostringstream where;
    where << "seed " << o.seed << " batch " << step << " (n = " << nk << ", clock " << m.now() << ") ";

    if (op < 5) {
      where << "clear";
      ck.where = where.str();
      if (async) {
        c.clear_async();
        c.synchronize();
      } else {
        c.clear();
      }
      m.clear();
      st.clears++;
    } else if (op < 200) {
      where << (async ? "find_async" : "find");
      ck.where = where.str();
      const bool want_scores = chance(0.5);
      buffer<T> cv(nk * dim, sentinel), mv(nk * dim, sentinel);
      buffer<bool> cf(nk), mf(nk);
      buffer<std::uint64_t> cs(want_scores ? nk : 0), ms(want_scores ? nk : 0);
      std::size_t ch = 0;
      if (async) {
        c.find_async(kb, cv, cf, cs);
        c.synchronize();
        st.async_calls++;
      } else {
        ch = c.find(kb, cv, cf, cs);
      }
      const std::size_t mh = m.find(keys, mv, mf, ms);
      st.hits += mh;
      if ((async || ck.eq(ch, mh, "hits")) && compare_flags(cf, mf, nullptr, keys) &&
          compare_rows(cv, mv, nullptr, nullptr, keys, "values") && want_scores)
        for (std::size_t i = 0; i < nk; ++i)
          if (mf[i] && !ck.eq(cs[i], ms[i], "score of hit " + std::to_string(i))) break;
    } else if (op < 300) {
      where << (async ? "contains_async" : "contains");
      ck.where = where.str();
      buffer<bool> cf(nk), mf(nk);
      std::size_t ch = 0;
      if (async) {
        c.contains_async(kb, cf);
        c.synchronize();
      } else {
        ch = c.contains(kb, cf);
      }
      const std::size_t mh = m.contains(keys, mf);
      if (async || ck.eq(ch, mh, "hits")) compare_flags(cf, mf, nullptr, keys);
    } else if (op < 480) {
      where << (async ? "insert_or_assign_async" : "insert_or_assign");
      ck.where = where.str();
      const auto vals = draw_values(nk);
      const auto scores = custom ? draw_scores(nk) : std::vector<std::uint64_t>{};
      buffer<T> vb(vals);
      buffer<std::uint64_t> sb(scores);
      belady::insert_result cr;
      if (async) {
        c.insert_or_assign_async(kb, vb, sb);
        c.synchronize();
      } else {
        cr = c.insert_or_assign(kb, vb, sb);
      }
      const auto mr = m.insert_or_assign(keys, vals, scores);
      st.inserted += mr.inserted, st.assigned += mr.assigned, st.evicted += mr.evicted, st.refused += mr.refused;
      if (!async) ck.eq_result(cr, mr);
    } else if (op < 640) {
      where << "insert_and_evict";
      ck.where = where.str();
      const auto vals = draw_values(nk);
      const auto scores = custom ? draw_scores(nk) : std::vector<std::uint64_t>{};
      const bool want_scores = chance(0.7);
      buffer<T> vb(vals);
      buffer<std::uint64_t> sb(scores);
      buffer<Key> ek(nk);
      buffer<T> ev(nk * dim);
      buffer<std::uint64_t> es(want_scores ? nk : 0);
      const auto cr = c.insert_and_evict(kb, vb, ek, ev, es, sb);
      std::vector<entry> mh;
      const auto mr = m.insert_and_evict(keys, vals, mh, scores);
      st.inserted += mr.inserted, st.assigned += mr.assigned, st.evicted += mr.evicted, st.refused += mr.refused;
      if (ck.eq_result(cr, mr) && ck.eq(cr.handed_back(), mh.size(), "handed_back")) {
        std::vector<entry> got;
        for (std::size_t i = 0; i < cr.handed_back(); ++i)
          got.push_back(make_entry(ek[i], ev.data() + i * dim, dim, want_scores ? es[i] : 0));
        if (!want_scores)
          for (auto& e : mh) e.score = 0;
        ck.eq(sorted(got), sorted(mh), "handed back entries");
      }
    } else if (op < 800) {
      where << (async ? "find_or_insert_async" : "find_or_insert");
      ck.where = where.str();
      const auto vals = draw_values(nk);
      const auto scores = custom ? draw_scores(nk) : std::vector<std::uint64_t>{};
      buffer<T> cv(vals), mv(vals);
      buffer<bool> cf(nk), mf(nk);
      buffer<std::uint64_t> sb(scores);
      std::size_t cfound = 0;
      if (async) {
        c.find_or_insert_async(kb, cv, cf, sb);
        c.synchronize();
      } else {
        cfound = c.find_or_insert(kb, cv, cf, sb);
      }
      const auto mo = m.find_or_insert(keys, mv, mf, scores);
      const auto unspecified = static_cast<std::size_t>(std::count(mo.unspecified.begin(), mo.unspecified.end(), true));
      st.unspecified += unspecified;
      st.hits += mo.found;
      st.inserted += mo.writes.inserted, st.evicted += mo.writes.evicted, st.refused += mo.writes.refused;
      const auto cflags = static_cast<std::size_t>(std::count(cf.begin(), cf.end(), true));
      bool ok = async || ck.eq(cfound, cflags, "returned count vs found flags set");
      if (ok && unspecified == 0 && !async) ok = ck.eq(cfound, mo.found, "found count");
      if (ok) ok = compare_flags(cf, mf, &mo.unspecified, keys);
      if (ok) compare_rows(cv, mv, nullptr, &mo.unspecified, keys, "values");
    } else if (op < 900) {
      where << (async ? "assign_async" : "assign");
      ck.where = where.str();
      const auto vals = draw_values(nk);
      const auto scores = custom && chance(0.5) ? draw_scores(nk) : std::vector<std::uint64_t>{};
      buffer<T> vb(vals);
      buffer<std::uint64_t> sb(scores);
      std::size_t ca = 0;
      if (async) {
        c.assign_async(kb, vb, sb);
        c.synchronize();
      } else {
        ca = c.assign(kb, vb, sb);
      }
      const std::size_t ma = m.assign(keys, vals, scores);
      st.assigned += ma;
      if (!async) ck.eq(ca, ma, "assigned");
    } else {
      where << (async ? "erase_async" : "erase");
      ck.where = where.str();
      std::size_t ce = 0;
      if (async) {
        c.erase_async(kb);
        c.synchronize();
      } else {
        ce = c.erase(kb);
      }
      const std::size_t me = m.erase(keys);
      st.erased += me;
      if (!async) ck.eq(ce, me, "erased");
    }
    st.async_calls += async ? 1 : 0;
    if (ck.mismatch) break;

    ck.where = where.str() + ", then the table";
    if (!ck.eq(c.size(), m.size(), "size()")) break;
    if (!ck.eq(export_all(c), m.export_all(), "export_batch of every slot")) break;
    if (o.slot_check_every != 0 && (step % o.slot_check_every == 0 || step + 1 == o.batches)) {
      for (std::size_t s = 0; s < m.capacity() && !ck.mismatch; ++s)
        ck.eq(export_range(c, s, 1), m.export_range(s, 1), "slot " + std::to_string(s));
    }
  }
  report.mismatch = ck.mismatch;
  return report;
}

}  // namespace belady_test
