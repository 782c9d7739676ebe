// read_snapshot_info: what a snapshot file holds, after checking all its checksums.
#include "belady/snapshot.hpp"
#include "ops/cache_snapshot.hpp"

namespace belady {

snapshot_info read_snapshot_info(const std::filesystem::path& path) {
  const ops::snapshot_file f = ops::read_snapshot_file(path);
  const std::vector<std::byte>* head = f.find(ops::tag_head);
  if (head == nullptr) throw snapshot_error(ops::where_of(path) + ": section HEAD is missing");
  const ops::snapshot_head h = ops::snapshot_head::decode(*head, ops::where_of(path));
  snapshot_info i;
  i.format_version = f.format_version;
  i.key_bytes = h.key_bytes;
  i.value_type = ops::dtype_name(h.value_dtype);
  i.capacity = h.capacity;
  i.dim = h.dim;
  i.bucket_size = h.bucket_size;
  i.policy = ops::policy_name(h.policy);
  i.entries = h.entries;
  i.models = h.models;
  i.clock = h.clock;
  i.created_at = ops::from_ns(h.created_ns);
  i.file_bytes = f.file_bytes;
  return i;
}

}  // namespace belady
