#pragma once
// backend<Key> implemented once over an executor. Exec supplies memory and the for-each launch:
//   void* allocate(std::size_t bytes, const char* what);   // throws out_of_memory
//   void deallocate(void* p) noexcept;
//   void fill(void* p, int byte, std::size_t bytes);
//   template <class Op> outcome_counts run(std::size_t n, const Op&, stream_view, bool count,
//                                          const unsigned long long* gate = nullptr);
//       // with a gate: does nothing unless *gate is 0 when the launch starts (stream-ordered)
//   host_flag make_host_flag(); void free_host_flag(host_flag) noexcept;
//       // a word the kernels may write and the host reads without a copy
//   std::uint64_t read_live_counter(unsigned long long*, stream_view);  // while kernels may add to it
//   counter_type make_counter(stream_view);                 // RAII: ptr(), read()
//   void synchronize(stream_view); void check_accessible(const void*, const char*) const;
//   void synchronize_all();                                               // every stream
//   void copy_to_host(void* dst, const void* src, std::size_t bytes);   // synchronous
//   void copy_from_host(void* dst, const void* src, std::size_t bytes); // synchronous
//   std::shared_ptr<const void> upload(const void* src, std::size_t bytes); // self-contained deleter
//   void retain_until_complete(std::shared_ptr<const void>, stream_view);
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "belady/detail/ops.hpp"
#include "backend.hpp"

namespace belady::detail {

template <class Key, class Exec>
class backend_impl final : public backend<Key> {
 public:
  template <class... ExecArgs>
  explicit backend_impl(const table_shape& shape, ExecArgs&&... args)
      : exec_(std::forward<ExecArgs>(args)...) {
    const std::uint64_t slots = shape.num_buckets * shape.bucket_slots;
    tab_.num_buckets = shape.num_buckets;
    tab_.bucket_slots = shape.bucket_slots;
    tab_.value_bytes = shape.value_bytes;
    tab_.eviction = shape.eviction;
    tab_.sketch_width = shape.sketch_width;
    tab_.decay_half_life = shape.decay_half_life;
    tab_.candidates = shape.candidates;
    tab_.admission = shape.admission;
    tab_.sample_threshold = shape.sample_threshold;
    try {
      if (shape.sketch_width != 0) {
        tab_.sketch = alloc<std::uint32_t>(shape.sketch_width * sketch_rows * sizeof(std::uint32_t), "frequency sketch", 0);
        tab_.ghost = alloc<std::uint32_t>(shape.sketch_width * sizeof(std::uint32_t), "ghost filter", 0);
      }
      tab_.keys = alloc<Key>(slots * sizeof(Key), "keys", 0xff);  // all ones = empty_key
      tab_.digests = alloc<std::uint8_t>(slots, "digests", 0);
      tab_.scores = alloc<std::uint64_t>(slots * sizeof(std::uint64_t), "scores", 0);
      tab_.meta = alloc<slot_meta>(slots * sizeof(slot_meta), "slot metadata", 0);
      tab_.values = alloc<std::byte>(slots * shape.value_bytes, "values", 0);
      tab_.locks = alloc<std::uint32_t>(shape.num_buckets * sizeof(std::uint32_t), "locks", 0);
      tab_.bucket_sizes = alloc<std::uint32_t>(shape.num_buckets * sizeof(std::uint32_t), "bucket sizes", 0);
      rejected_async_ = alloc<unsigned long long>(sizeof(unsigned long long), "rejected-key count", 0);
      rejected_flag_ = exec_.make_host_flag();
    } catch (...) {
      release();
      throw;
    }
  }
  ~backend_impl() override { release(); }
  backend_impl(const backend_impl&) = delete;
  backend_impl& operator=(const backend_impl&) = delete;

  [[nodiscard]] belady::backend kind() const override { return Exec::kind; }

  void check_accessible(const void* p, const char* name) const override {
    exec_.check_accessible(p, name);
  }

  outcome_counts find(const batch<Key>& b, bool touch, stream_view s, bool sync) override {
    return gated(b, s, sync, [&](const unsigned long long* gate) {
      if (learned()) return exec_.run(b.n, find_op<Key, true>{tab_, b, touch}, s, sync, gate);
      return exec_.run(b.n, find_op<Key, false>{tab_, b, touch}, s, sync, gate);
    });
  }

  outcome_counts write(const batch<Key>& b, write_mode mode, stream_view s, bool sync) override {
    return gated(b, s, sync, [&](const unsigned long long* gate) { return run_write(b, mode, s, sync, gate); });
  }

  outcome_counts find_or_insert(const batch<Key>& b, stream_view s, bool sync) override {
    return gated(b, s, sync, [&](const unsigned long long* gate) {
      outcome_counts first = run_write(b, write_mode::insert_if_absent, s, sync, gate);
      outcome_counts second = exec_.run(b.n, read_back_op<Key>{tab_, b}, s, sync, gate);
      // `found` comes from the second pass (which sees the settled keys too); the rest from the first.
      first.count[0] = second.count[0];
      return first;
    });
  }

  outcome_counts insert_and_evict(batch<Key> b, stream_view s) override {
    auto counter = exec_.make_counter(s);
    b.counter = counter.ptr();
    return write(b, write_mode::insert_or_assign, s, true);
  }

  outcome_counts erase(const batch<Key>& b, stream_view s, bool sync) override {
    return gated(b, s, sync, [&](const unsigned long long* gate) { return exec_.run(b.n, erase_op<Key>{tab_, b}, s, sync, gate); });
  }

  void clear(stream_view s, bool sync) override {
    exec_.run(tab_.num_buckets, clear_bucket_op<Key>{tab_}, s, false);
    if (sync) exec_.synchronize(s);
  }

  std::uint64_t size(stream_view s) override {
    auto counter = exec_.make_counter(s);
    exec_.run(runs_of(tab_.num_buckets), size_op<Key>{tab_, counter.ptr()}, s, false);
    return counter.read();
  }

  std::uint64_t export_slots(batch<Key> b, std::uint64_t first_slot, std::uint64_t count,
                             stream_view s) override {
    if (count == 0) return 0;
    auto counter = exec_.make_counter(s);
    b.counter = counter.ptr();
    const std::uint64_t first_bucket = first_slot / tab_.bucket_slots;
    const std::uint64_t last_bucket = (first_slot + count - 1) / tab_.bucket_slots;
    exec_.run(last_bucket - first_bucket + 1, export_op<Key>{tab_, b, first_slot, count}, s, false);
    return counter.read();
  }

  void synchronize(stream_view s) override { exec_.synchronize(s); }

  std::uint64_t take_rejected_async(stream_view s) override {
    // The flag is the fast path: one load of host memory, no copy, while nothing was rejected.
    if (std::atomic_ref<std::uint32_t>(*rejected_flag_.host).load(std::memory_order_acquire) == 0) return 0;
    std::lock_guard lock(rejected_mutex_);
    // Lowered before the total is read: a rejection counted after this read raises it again.
    std::atomic_ref<std::uint32_t>(*rejected_flag_.host).store(0, std::memory_order_seq_cst);
    const std::uint64_t total = exec_.read_live_counter(rejected_async_, s);
    const std::uint64_t fresh = total - rejected_reported_;
    rejected_reported_ = total;
    return fresh;
  }

  [[nodiscard]] std::uint64_t allocated_bytes() const override { return allocated_.load(std::memory_order_relaxed); }

  table_check verify_table(stream_view s) override {
    exec_.synchronize(s);
    table_check total;
    std::vector<std::uint64_t> suspects;
    for_each_chunk([&](std::uint64_t first_bucket, std::uint64_t buckets) {
      const bucket_chunk c = read_chunk(first_bucket, buckets);
      for (std::uint64_t b = 0; b < buckets; ++b) {
        const table_check one = check_bucket(c, b, first_bucket + b);
        total.keys += one.keys;
        if (one.duplicates + one.misplaced + one.count_mismatches != 0) suspects.push_back(first_bucket + b);
      }
    });
    // A write in flight makes its bucket look wrong for a moment: only what a second read
    // confirms is reported.
    for (const std::uint64_t b : suspects) {
      const table_check again = check_bucket(read_chunk(b, 1), 0, b);
      total.duplicates += again.duplicates;
      total.misplaced += again.misplaced;
      total.count_mismatches += again.count_mismatches;
    }
    return total;
  }

  raw_slots<Key> read_slots(stream_view s) override {
    exec_.synchronize(s);
    raw_slots<Key> out;
    for_each_chunk([&](std::uint64_t first_bucket, std::uint64_t buckets) {
      const bucket_chunk c = read_chunk(first_bucket, buckets, true);
      const std::uint64_t base = first_bucket * tab_.bucket_slots;
      for (std::uint64_t i = 0; i < c.keys.size(); ++i) {
        if (is_reserved_key(c.keys[i])) continue;
        out.slots.push_back(base + i);
        out.keys.push_back(c.keys[i]);
        out.scores.push_back(c.scores[i]);
        out.meta.push_back(c.meta[i]);
        const std::byte* v = c.values.data() + i * tab_.value_bytes;
        out.values.insert(out.values.end(), v, v + tab_.value_bytes);
      }
    });
    return out;
  }

  std::function<void()> prepare_write_slots(const raw_slots<Key>& in, stream_view s) override {
    // Every host buffer is allocated here, before the first byte of the table changes: an
    // allocation failure leaves the table as it was (load_snapshot promises that). The returned
    // step only copies.
    struct staging {
      std::vector<Key> keys;
      std::vector<std::uint8_t> digests;
      std::vector<std::uint64_t> scores;
      std::vector<slot_meta> meta;
      std::vector<std::byte> values;
      std::vector<std::uint32_t> sizes;
    };
    const std::uint64_t per_chunk = chunk_buckets();
    const std::uint64_t max_slots = per_chunk * tab_.bucket_slots;
    auto st = std::make_shared<staging>();
    st->keys.resize(max_slots);
    st->digests.resize(max_slots);
    st->scores.resize(max_slots);
    st->meta.resize(max_slots);
    st->values.resize(max_slots * tab_.value_bytes);
    st->sizes.resize(per_chunk);
    return [this, &in, st, s] {
      exec_.synchronize(s);
      std::size_t next = 0;  // in.slots is ascending (read_slots order)
      for_each_chunk([&](std::uint64_t first_bucket, std::uint64_t buckets) {
        const std::uint64_t base = first_bucket * tab_.bucket_slots;
        const std::uint64_t n = buckets * tab_.bucket_slots;
        std::fill_n(st->keys.begin(), n, empty_key<Key>);
        std::fill_n(st->digests.begin(), n, std::uint8_t{0});
        std::fill_n(st->scores.begin(), n, std::uint64_t{0});
        std::fill_n(st->meta.begin(), n, slot_meta{});
        std::fill_n(st->values.begin(), n * tab_.value_bytes, std::byte{0});
        std::fill_n(st->sizes.begin(), buckets, 0u);
        for (; next < in.slots.size() && in.slots[next] < base + n; ++next) {
          const std::uint64_t i = in.slots[next] - base;
          st->keys[i] = in.keys[next];
          st->digests[i] = digest_of(mix64(static_cast<std::uint64_t>(in.keys[next])));
          st->scores[i] = in.scores[next];
          st->meta[i] = in.meta[next];
          st->meta[i].key_hash = mix64(static_cast<std::uint64_t>(in.keys[next]));  // derived, not trusted
          std::copy_n(in.values.data() + next * tab_.value_bytes, tab_.value_bytes,
                      st->values.data() + i * tab_.value_bytes);
          ++st->sizes[i / tab_.bucket_slots];
        }
        exec_.copy_from_host(tab_.keys + base, st->keys.data(), n * sizeof(Key));
        exec_.copy_from_host(tab_.digests + base, st->digests.data(), n);
        exec_.copy_from_host(tab_.scores + base, st->scores.data(), n * sizeof(std::uint64_t));
        exec_.copy_from_host(tab_.meta + base, st->meta.data(), n * sizeof(slot_meta));
        exec_.copy_from_host(tab_.values + base * tab_.value_bytes, st->values.data(), n * tab_.value_bytes);
        exec_.copy_from_host(tab_.bucket_sizes + first_bucket, st->sizes.data(), buckets * sizeof(std::uint32_t));
      });
    };
  }

  raw_history read_history(stream_view s) override {
    exec_.synchronize(s);
    raw_history h;
    if (tab_.sketch == nullptr) return h;
    h.sketch.resize(tab_.sketch_width * sketch_rows);
    h.ghost.resize(tab_.sketch_width);
    exec_.copy_to_host(h.sketch.data(), tab_.sketch, h.sketch.size() * sizeof(std::uint32_t));
    exec_.copy_to_host(h.ghost.data(), tab_.ghost, h.ghost.size() * sizeof(std::uint32_t));
    return h;
  }

  void write_history(const raw_history& h, stream_view s) override {
    exec_.synchronize(s);
    if (tab_.sketch == nullptr) return;
    if (h.sketch.empty()) {
      exec_.fill(tab_.sketch, 0, tab_.sketch_width * sketch_rows * sizeof(std::uint32_t));
      exec_.fill(tab_.ghost, 0, tab_.sketch_width * sizeof(std::uint32_t));
      return;
    }
    exec_.copy_from_host(tab_.sketch, h.sketch.data(), h.sketch.size() * sizeof(std::uint32_t));
    exec_.copy_from_host(tab_.ghost, h.ghost.data(), h.ghost.size() * sizeof(std::uint32_t));
  }

  void set_candidate_log(std::uint64_t capacity) override {
    free_log();
    if (capacity == 0) return;
    candidate_log<Key>& log = tab_.log;
    try {
      log.features = alloc<float>(capacity * model::feature_count * sizeof(float), "candidate log", 0);
      log.keys = alloc<Key>(capacity * sizeof(Key), "candidate log", 0);
      log.times = alloc<std::uint64_t>(capacity * sizeof(std::uint64_t), "candidate log", 0);
      log.cursor = alloc<unsigned long long>(2 * sizeof(unsigned long long), "candidate log", 0);
      log.dropped = log.cursor + 1;
      log.capacity = capacity;
    } catch (...) {
      free_log();
      throw;
    }
  }

  candidate_batch<Key> take_candidate_log() override {
    candidate_batch<Key> out;
    candidate_log<Key>& log = tab_.log;
    if (log.capacity == 0) return out;
    exec_.synchronize_all();
    unsigned long long counters[2] = {};
    exec_.copy_to_host(counters, log.cursor, sizeof counters);
    const std::uint64_t n = counters[0] < log.capacity ? counters[0] : log.capacity;
    out.features.resize(n * model::feature_count);
    out.keys.resize(n);
    out.times.resize(n);
    out.dropped = counters[1];
    exec_.copy_to_host(out.features.data(), log.features, out.features.size() * sizeof(float));
    exec_.copy_to_host(out.keys.data(), log.keys, n * sizeof(Key));
    exec_.copy_to_host(out.times.data(), log.times, n * sizeof(std::uint64_t));
    exec_.fill(log.cursor, 0, 2 * sizeof(unsigned long long));
    return out;
  }

  std::shared_ptr<sample_buffer<Key>> make_sample_buffer(std::uint64_t capacity) override {
    auto buffer = std::make_shared<sample_buffer<Key>>();
    buffer->release = [this](sample_log<Key>& log) {
      allocated_.fetch_sub(allocated_bytes_of(log), std::memory_order_relaxed);
      exec_.deallocate(log.keys);
      exec_.deallocate(log.times);
      exec_.deallocate(log.kinds);
      exec_.deallocate(log.cursor);
      log = {};
    };
    sample_log<Key>& log = buffer->log;
    // The capacity is set first: if an allocation below throws, the buffer's release (run as it is
    // destroyed) takes back exactly the parts allocated; deallocating a null pointer does nothing.
    log.capacity = capacity;
    log.keys = alloc<Key>(capacity * sizeof(Key), "sample log", 0);
    log.times = alloc<std::uint64_t>(capacity * sizeof(std::uint64_t), "sample log", 0);
    log.kinds = alloc<std::uint8_t>(capacity, "sample log", 0);
    log.cursor = alloc<unsigned long long>(2 * sizeof(unsigned long long), "sample log", 0);
    log.dropped = log.cursor + 1;
    return buffer;
  }

  void drain_samples(sample_buffer<Key>& buffer, sample_events<Key>& out) override {
    sample_log<Key>& log = buffer.log;
    if (log.capacity == 0) return;
    unsigned long long counters[2] = {};
    exec_.copy_to_host_background(counters, log.cursor, sizeof counters);
    const std::uint64_t n = counters[0] < log.capacity ? counters[0] : log.capacity;
    const std::size_t old = out.keys.size();
    out.keys.resize(old + n);
    out.times.resize(old + n);
    out.kinds.resize(old + n);
    out.dropped += counters[1];
    exec_.copy_to_host_background(out.keys.data() + old, log.keys, n * sizeof(Key));
    exec_.copy_to_host_background(out.times.data() + old, log.times, n * sizeof(std::uint64_t));
    exec_.copy_to_host_background(out.kinds.data() + old, log.kinds, n);
    exec_.fill_background(log.cursor, 0, 2 * sizeof(unsigned long long));
  }

  std::shared_ptr<const void> upload(const void* params, std::size_t bytes) override {
    return exec_.upload(params, bytes);
  }

  void retain_until_complete(std::shared_ptr<const void> pinned, stream_view s) override {
    exec_.retain_until_complete(std::move(pinned), s);
  }

  void age_sketch(stream_view s) override {
    if (tab_.sketch == nullptr) return;
    const std::size_t counters = tab_.sketch_width * sketch_rows;
    exec_.run(runs_of(counters), age_sketch_op<Key>{tab_, counters}, s, false);
  }

 private:
  /// The per-key ops are instantiated twice: for policy::learned and for the others, whose
  /// kernels then carry none of the learned path (ops.hpp, learned_path).
  [[nodiscard]] bool learned() const { return tab_.eviction == policy::learned; }

  template <class T>
  T* alloc(std::size_t bytes, const char* what, int fill_byte) {
    void* p = exec_.allocate(bytes, what);
    allocated_.fetch_add(bytes, std::memory_order_relaxed);
    exec_.fill(p, fill_byte, bytes);
    return static_cast<T*>(p);
  }

  /// Host copies of a run of whole buckets (keys, digests, occupancy; with `contents` also
  /// scores, metadata and values).
  struct bucket_chunk {
    std::vector<Key> keys;
    std::vector<std::uint8_t> digests;
    std::vector<std::uint32_t> sizes;
    std::vector<std::uint64_t> scores;
    std::vector<slot_meta> meta;
    std::vector<std::byte> values;
  };

  bucket_chunk read_chunk(std::uint64_t first_bucket, std::uint64_t buckets, bool contents = false) {
    bucket_chunk c;
    const std::uint64_t base = first_bucket * tab_.bucket_slots;
    const std::uint64_t n = buckets * tab_.bucket_slots;
    c.keys.resize(n);
    c.digests.resize(n);
    c.sizes.resize(buckets);
    exec_.copy_to_host(c.keys.data(), tab_.keys + base, n * sizeof(Key));
    exec_.copy_to_host(c.digests.data(), tab_.digests + base, n);
    exec_.copy_to_host(c.sizes.data(), tab_.bucket_sizes + first_bucket, buckets * sizeof(std::uint32_t));
    if (contents) {
      c.scores.resize(n);
      c.meta.resize(n);
      c.values.resize(n * tab_.value_bytes);
      exec_.copy_to_host(c.scores.data(), tab_.scores + base, n * sizeof(std::uint64_t));
      exec_.copy_to_host(c.meta.data(), tab_.meta + base, n * sizeof(slot_meta));
      exec_.copy_to_host(c.values.data(), tab_.values + base * tab_.value_bytes, c.values.size());
    }
    return c;
  }

  /// Bucket `b` of the chunk, which is table bucket `bucket`.
  table_check check_bucket(const bucket_chunk& c, std::uint64_t b, std::uint64_t bucket) const {
    table_check r;
    const std::uint64_t first = b * tab_.bucket_slots;
    std::uint32_t occupied = 0;
    for (std::uint32_t i = 0; i < tab_.bucket_slots; ++i) {
      const Key k = c.keys[first + i];
      if (k == empty_key<Key> || k == reclaim_key<Key>) continue;
      ++occupied;
      ++r.keys;
      const std::uint64_t h = mix64(static_cast<std::uint64_t>(k));
      if (bucket_of(h, tab_.num_buckets) != bucket || digest_of(h) != c.digests[first + i]) ++r.misplaced;
      for (std::uint32_t j = 0; j < i; ++j)
        if (c.keys[first + j] == k) {
          ++r.duplicates;
          break;
        }
    }
    if (occupied != c.sizes[b]) ++r.count_mismatches;
    return r;
  }

  /// Buckets per chunk of the host-side passes: about 64 Ki slots, at most the table.
  [[nodiscard]] std::uint64_t chunk_buckets() const {
    return std::min(tab_.num_buckets, std::max<std::uint64_t>(1, (std::uint64_t{1} << 16) / tab_.bucket_slots));
  }

  /// Runs f(first_bucket, buckets) over the table in chunks of chunk_buckets().
  template <class F>
  void for_each_chunk(F&& f) {
    const std::uint64_t per_chunk = chunk_buckets();
    for (std::uint64_t b = 0; b < tab_.num_buckets; b += per_chunk) f(b, std::min(per_chunk, tab_.num_buckets - b));
  }

  /// What the non-null parts of a sample log account for (a partly allocated one included).
  static std::uint64_t allocated_bytes_of(const sample_log<Key>& log) {
    return (log.keys ? log.capacity * sizeof(Key) : 0) + (log.times ? log.capacity * sizeof(std::uint64_t) : 0) +
           (log.kinds ? log.capacity : 0) + (log.cursor ? 2 * sizeof(unsigned long long) : 0);
  }

  void free_log() noexcept {
    candidate_log<Key>& log = tab_.log;
    if (log.capacity != 0)
      allocated_.fetch_sub(log.capacity * (model::feature_count * sizeof(float) + sizeof(Key) + sizeof(std::uint64_t)) +
                               2 * sizeof(unsigned long long),
                           std::memory_order_relaxed);
    exec_.deallocate(log.features);
    exec_.deallocate(log.keys);
    exec_.deallocate(log.times);
    exec_.deallocate(log.cursor);
    log = {};
  }

  void release() noexcept {
    free_log();
    exec_.deallocate(rejected_async_);
    rejected_async_ = nullptr;
    exec_.free_host_flag(rejected_flag_);
    rejected_flag_ = {};
    exec_.deallocate(tab_.sketch);
    exec_.deallocate(tab_.ghost);
    exec_.deallocate(tab_.keys);
    exec_.deallocate(tab_.digests);
    exec_.deallocate(tab_.scores);
    exec_.deallocate(tab_.meta);
    exec_.deallocate(tab_.values);
    exec_.deallocate(tab_.locks);
    exec_.deallocate(tab_.bucket_sizes);
    tab_ = {};
  }

  outcome_counts run_write(const batch<Key>& b, write_mode mode, stream_view s, bool sync,
                           const unsigned long long* gate) {
    if (learned()) return exec_.run(b.n, write_op<Key, true>{tab_, b, mode}, s, sync, gate);
    return exec_.run(b.n, write_op<Key, false>{tab_, b, mode}, s, sync, gate);
  }

  /// Runs launch(gate): the batch's reserved keys are counted first, on its stream, into a gate
  /// word its launches read when they start, so a batch with a reserved key does nothing and
  /// nothing waits for the count (a check that threw before the launch would synchronize the
  /// stream on the cuda backend: twice per synchronous call, and on every `_async` one). A
  /// synchronous call gets the gate's value back with its counts (outcome_counts::gate) and
  /// throws (cache.cpp); an `_async` call's count also goes to the running total that
  /// synchronize() reports (take_rejected_async).
  template <class Launch>
  outcome_counts gated(const batch<Key>& b, stream_view s, bool sync, Launch&& launch) {
    if (b.n == 0) return launch(nullptr);
    auto gate = exec_.make_counter(s);
    count_reserved_op<Key> check{b.keys, b.n, gate.ptr()};
    if (!sync) {
      check.pending = rejected_async_;
      check.pending_flag = rejected_flag_.device;
    }
    exec_.run(runs_of(b.n), check, s, false);
    return launch(gate.ptr());  // the gate is released after the launches, stream-ordered
  }

  Exec exec_;
  table_view<Key> tab_{};
  std::atomic<std::uint64_t> allocated_{0};
  unsigned long long* rejected_async_ = nullptr;  ///< executor memory: keys rejected by `_async` calls, ever
  host_flag rejected_flag_{};                     ///< raised when rejected_async_ grows
  std::mutex rejected_mutex_;
  std::uint64_t rejected_reported_ = 0;  ///< how much of *rejected_async_ synchronize() has reported
};

}  // namespace belady::detail
