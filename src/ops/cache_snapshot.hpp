#pragma once
// What a cache snapshot holds, section by section (the container is ops/snapshot_file.hpp):
//   HEAD  shape and identity: key bytes, dtype, value bytes, dim, capacity, bucket size,
//         buckets, policy, sketch width, slot_meta size, logical clock, creation time, counts,
//         accesses since the sketch was last aged
//   SLOT  u64 slot index per stored entry (ascending)        KEYS  Key per entry
//   SCOR  u64 score per entry                                 SMET  slot_meta per entry
//   VALS  value_bytes per entry                               SKCH, GHST  learned key history
//   MODL  the model registry: next version, activation stack, each kept version's record and
//         its model file image (model_io::serialize, itself checksummed)
// Included by cache.cpp only.
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "belady/model/model_io.hpp"
#include "belady/model/registry.hpp"
#include "belady/snapshot.hpp"
#include "ops/byte_io.hpp"
#include "ops/snapshot_file.hpp"

namespace belady::ops {

inline constexpr std::uint32_t tag_head = make_tag('H', 'E', 'A', 'D');
inline constexpr std::uint32_t tag_slots = make_tag('S', 'L', 'O', 'T');
inline constexpr std::uint32_t tag_keys = make_tag('K', 'E', 'Y', 'S');
inline constexpr std::uint32_t tag_scores = make_tag('S', 'C', 'O', 'R');
inline constexpr std::uint32_t tag_meta = make_tag('S', 'M', 'E', 'T');
inline constexpr std::uint32_t tag_values = make_tag('V', 'A', 'L', 'S');
inline constexpr std::uint32_t tag_sketch = make_tag('S', 'K', 'C', 'H');
inline constexpr std::uint32_t tag_ghost = make_tag('G', 'H', 'S', 'T');
inline constexpr std::uint32_t tag_models = make_tag('M', 'O', 'D', 'L');

/// The HEAD section.
struct snapshot_head {
  std::uint32_t key_bytes = 0;
  std::uint32_t value_dtype = 0;
  std::uint64_t value_bytes = 0, dim = 0, capacity = 0, bucket_size = 0, num_buckets = 0;
  std::uint32_t policy = 0;
  std::uint32_t slot_meta_bytes = 0;
  std::uint64_t sketch_width = 0;
  std::uint64_t clock = 0;
  std::int64_t created_ns = 0;  ///< system_clock since its epoch
  std::uint64_t entries = 0;
  std::uint64_t models = 0;
  std::uint64_t accesses_since_ageing = 0;  ///< learned: accesses since the sketch was last halved

  [[nodiscard]] std::vector<std::byte> encode() const {
    byte_writer w;
    w.put(key_bytes), w.put(value_dtype), w.put(value_bytes), w.put(dim), w.put(capacity), w.put(bucket_size);
    w.put(num_buckets), w.put(policy), w.put(slot_meta_bytes), w.put(sketch_width), w.put(clock), w.put(created_ns);
    w.put(entries), w.put(models), w.put(accesses_since_ageing);
    return std::move(w.bytes());
  }
  static snapshot_head decode(std::span<const std::byte> b, const std::string& where) {
    byte_reader r(b, where + ": section HEAD");
    snapshot_head h;
    h.key_bytes = r.get<std::uint32_t>(), h.value_dtype = r.get<std::uint32_t>();
    h.value_bytes = r.get<std::uint64_t>(), h.dim = r.get<std::uint64_t>(), h.capacity = r.get<std::uint64_t>();
    h.bucket_size = r.get<std::uint64_t>(), h.num_buckets = r.get<std::uint64_t>(), h.policy = r.get<std::uint32_t>();
    h.slot_meta_bytes = r.get<std::uint32_t>(), h.sketch_width = r.get<std::uint64_t>(), h.clock = r.get<std::uint64_t>();
    h.created_ns = r.get<std::int64_t>(), h.entries = r.get<std::uint64_t>(), h.models = r.get<std::uint64_t>();
    h.accesses_since_ageing = r.get<std::uint64_t>();
    if (!r.done()) throw snapshot_error(where + ": section HEAD: bytes left after its last field");
    return h;
  }
};

inline std::string dtype_name(std::uint32_t d) {
  return d <= static_cast<std::uint32_t>(dtype::bytes) ? std::string(to_string(static_cast<dtype>(d))) : "dtype#" + std::to_string(d);
}
inline std::string policy_name(std::uint32_t p) {
  return p <= static_cast<std::uint32_t>(policy::learned) ? std::string(to_string(static_cast<policy>(p))) : "policy#" + std::to_string(p);
}

inline std::int64_t to_ns(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline std::chrono::system_clock::time_point from_ns(std::int64_t ns) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

inline std::vector<std::byte> encode_registry(const model::registry_state& s) {
  byte_writer w;
  w.put(s.next_version);
  w.put(static_cast<std::uint64_t>(s.activations.size()));
  for (const std::uint64_t v : s.activations) w.put(v);
  w.put(static_cast<std::uint64_t>(s.versions.size()));
  for (const auto& k : s.versions) {
    w.put(k.record.version), w.put(k.record.parent_version), w.put(to_ns(k.record.created_at));
    w.put(static_cast<std::uint8_t>(k.record.state)), w.put(to_ns(k.record.state_changed_at));
    w.put_string(k.record.state_reason);
    w.put_bytes(model::serialize(k.params, k.record.info));
  }
  return std::move(w.bytes());
}

inline model::registry_state decode_registry(std::span<const std::byte> b, const std::string& where) {
  byte_reader r(b, where + ": section MODL");
  model::registry_state s;
  s.next_version = r.get<std::uint64_t>();
  const auto activations = r.get<std::uint64_t>();
  if (activations > b.size()) throw snapshot_error(where + ": section MODL: implausible activation count");
  for (std::uint64_t i = 0; i < activations; ++i) s.activations.push_back(r.get<std::uint64_t>());
  const auto versions = r.get<std::uint64_t>();
  if (versions > b.size()) throw snapshot_error(where + ": section MODL: implausible version count");
  for (std::uint64_t i = 0; i < versions; ++i) {
    model::registry_state::kept k;
    k.record.version = r.get<std::uint64_t>();
    k.record.parent_version = r.get<std::uint64_t>();
    k.record.created_at = from_ns(r.get<std::int64_t>());
    const auto state = r.get<std::uint8_t>();
    if (state > static_cast<std::uint8_t>(model::model_state::rolled_back))
      throw snapshot_error(where + ": section MODL: version " + std::to_string(k.record.version) + " has unknown state " +
                           std::to_string(state));
    k.record.state = static_cast<model::model_state>(state);
    k.record.state_changed_at = from_ns(r.get<std::int64_t>());
    k.record.state_reason = r.get_string();
    try {
      model::loaded_model m = model::deserialize(r.get_bytes(), where + " (model " + std::to_string(k.record.version) + ")");
      k.params = m.params;
      k.record.info = std::move(m.info);
    } catch (const std::exception& e) {
      throw snapshot_error(where + ": section MODL: " + e.what());
    }
    s.versions.push_back(std::move(k));
  }
  if (!r.done()) throw snapshot_error(where + ": section MODL: bytes left after the last version");
  return s;
}

template <class U>
std::span<const std::byte> as_bytes_of(const std::vector<U>& v) {
  return std::as_bytes(std::span<const U>(v));
}

/// Copies a section into a vector of U, checking that it holds exactly `n` of them.
template <class U>
std::vector<U> section_array(const snapshot_file& f, std::uint32_t tag, std::uint64_t n, const std::string& where) {
  const std::vector<std::byte>* b = f.find(tag);
  if (b == nullptr) throw snapshot_error(where + ": section " + tag_name(tag) + " is missing");
  if (b->size() != n * sizeof(U))
    throw snapshot_error(where + ": section " + tag_name(tag) + " has " + std::to_string(b->size()) + " bytes, expected " +
                         std::to_string(n * sizeof(U)) + " (" + std::to_string(n) + " entries)");
  std::vector<U> out(n);
  if (n != 0) std::memcpy(out.data(), b->data(), b->size());
  return out;
}

/// A snapshot's contents, decoded and checked, ready to apply.
template <class Key>
struct decoded_snapshot {
  snapshot_head head;
  detail::raw_slots<Key> slots;
  detail::raw_history history;
  std::optional<model::registry_state> models;
};

inline std::string where_of(const std::filesystem::path& path) { return "cannot load snapshot \"" + path.string() + "\""; }

/// Reads and checks a file against the expected HEAD fields (shape and types); throws
/// snapshot_error saying what differs.
template <class Key>
decoded_snapshot<Key> decode_snapshot(const std::filesystem::path& path, const snapshot_head& expected) {
  const std::string where = where_of(path);
  const snapshot_file f = read_snapshot_file(path);
  const std::vector<std::byte>* head = f.find(tag_head);
  if (head == nullptr) throw snapshot_error(where + ": section HEAD is missing");
  decoded_snapshot<Key> d;
  d.head = snapshot_head::decode(*head, where);
  const snapshot_head& h = d.head;
  auto mismatch = [&](const std::string& what, const std::string& theirs, const std::string& ours) {
    throw snapshot_error(where + ": made by a cache with " + what + " " + theirs + ", this cache has " + ours);
  };
  if (h.key_bytes != expected.key_bytes)
    mismatch("key size", std::to_string(h.key_bytes) + " bytes", std::to_string(expected.key_bytes) + " bytes");
  if (h.value_dtype != expected.value_dtype) mismatch("value type", dtype_name(h.value_dtype), dtype_name(expected.value_dtype));
  if (h.dim != expected.dim) mismatch("dim", std::to_string(h.dim), std::to_string(expected.dim));
  if (h.capacity != expected.capacity || h.num_buckets != expected.num_buckets)
    mismatch("capacity", std::to_string(h.capacity), std::to_string(expected.capacity));
  if (h.bucket_size != expected.bucket_size) mismatch("bucket size", std::to_string(h.bucket_size), std::to_string(expected.bucket_size));
  if (h.policy != expected.policy) mismatch("policy", policy_name(h.policy), policy_name(expected.policy));
  // Metadata of the 56-byte layout (before slot_meta::key_hash) is widened on load.
  const bool legacy_meta = h.slot_meta_bytes == detail::slot_meta_bytes_v1 && expected.slot_meta_bytes == sizeof(detail::slot_meta);
  if (h.value_bytes != expected.value_bytes || (h.slot_meta_bytes != expected.slot_meta_bytes && !legacy_meta) ||
      h.sketch_width != expected.sketch_width)
    mismatch("a different slot layout (value bytes / metadata bytes / sketch width)",
             std::to_string(h.value_bytes) + "/" + std::to_string(h.slot_meta_bytes) + "/" + std::to_string(h.sketch_width),
             std::to_string(expected.value_bytes) + "/" + std::to_string(expected.slot_meta_bytes) + "/" +
                 std::to_string(expected.sketch_width));
  const std::uint64_t slots_total = h.capacity;
  if (h.entries > slots_total) throw snapshot_error(where + ": " + std::to_string(h.entries) + " entries exceed the capacity");
  const std::uint64_t n = h.entries;
  d.slots.slots = section_array<std::uint64_t>(f, tag_slots, n, where);
  d.slots.keys = section_array<Key>(f, tag_keys, n, where);
  d.slots.scores = section_array<std::uint64_t>(f, tag_scores, n, where);
  if (legacy_meta) {
    const std::vector<std::byte> old = section_array<std::byte>(f, tag_meta, n * detail::slot_meta_bytes_v1, where);
    d.slots.meta.assign(n, detail::slot_meta{});
    for (std::uint64_t i = 0; i < n; ++i)  // same fields at the same offsets; key_hash is set on apply
      std::memcpy(&d.slots.meta[i], old.data() + i * detail::slot_meta_bytes_v1, detail::slot_meta_bytes_v1);
  } else {
    d.slots.meta = section_array<detail::slot_meta>(f, tag_meta, n, where);
  }
  d.slots.values = section_array<std::byte>(f, tag_values, n * h.value_bytes, where);
  // Entries must be where the table would look for them: ascending distinct slots, in their
  // key's bucket, no reserved keys (a checksum catches accidents; this catches a wrong writer).
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t slot = d.slots.slots[i];
    const Key k = d.slots.keys[i];
    if (slot >= slots_total || (i > 0 && slot <= d.slots.slots[i - 1]))
      throw snapshot_error(where + ": entry " + std::to_string(i) + " has slot " + std::to_string(slot) + " out of order or range");
    if (is_reserved_key(k)) throw snapshot_error(where + ": entry " + std::to_string(i) + " holds a reserved key");
    if (detail::bucket_of(detail::mix64(static_cast<std::uint64_t>(k)), h.num_buckets) != slot / h.bucket_size)
      throw snapshot_error(where + ": entry " + std::to_string(i) + " (key " + std::to_string(k) + ") is not in its bucket");
    // Entries of one bucket are consecutive (ascending slots): a duplicate is among them.
    for (std::uint64_t j = i; j > 0 && d.slots.slots[j - 1] / h.bucket_size == slot / h.bucket_size; --j)
      if (d.slots.keys[j - 1] == k)
        throw snapshot_error(where + ": key " + std::to_string(k) + " is stored twice (entries " + std::to_string(j - 1) +
                             " and " + std::to_string(i) + ")");
  }
  if (h.sketch_width != 0) {
    d.history.sketch = section_array<std::uint32_t>(f, tag_sketch, h.sketch_width * detail::sketch_rows, where);
    d.history.ghost = section_array<std::uint32_t>(f, tag_ghost, h.sketch_width, where);
  }
  if (h.models != 0) {
    const std::vector<std::byte>* m = f.find(tag_models);
    if (m == nullptr) throw snapshot_error(where + ": section MODL is missing");
    d.models = decode_registry(*m, where);
    if (d.models->versions.size() != h.models)
      throw snapshot_error(where + ": section MODL has " + std::to_string(d.models->versions.size()) + " versions, HEAD says " +
                           std::to_string(h.models));
  }
  return d;
}

}  // namespace belady::ops
