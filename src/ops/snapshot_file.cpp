#include "ops/snapshot_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "ops/crc32.hpp"

namespace belady::ops {
namespace {

constexpr std::array<char, 8> magic = {'B', 'E', 'L', 'A', 'D', 'Y', 'S', 'N'};
constexpr std::size_t header_bytes = 64;
constexpr std::size_t table_entry_bytes = 32;
constexpr std::size_t header_crc_offset = 60;  // the header CRC covers the bytes before it

// ---- little-endian encoding ----------------------------------------------------------------

void put_le(std::byte* at, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) at[i] = static_cast<std::byte>(value >> (8 * i));
}

std::uint64_t get_le(const std::byte* at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::to_integer<std::uint64_t>(at[i]) << (8 * i);
  return value;
}

std::uint32_t get_le32(const std::byte* at) { return static_cast<std::uint32_t>(get_le(at, 4)); }
std::uint64_t get_le64(const std::byte* at) { return get_le(at, 8); }

constexpr std::uint64_t align8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

constexpr std::uint64_t table_end(std::uint64_t section_count) {
  return header_bytes + table_entry_bytes * section_count;
}

// ---- the header and table, shared by writer and reader --------------------------------------

struct table_entry {
  std::uint32_t tag = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint32_t crc = 0;
};

struct file_header {
  std::uint32_t version = 0;
  std::uint32_t section_count = 0;
  std::uint64_t file_length = 0;
  std::uint32_t table_crc = 0;
  std::uint32_t header_crc = 0;
};

void encode_entry(std::byte* at, const table_entry& entry) {
  put_le(at + 0, entry.tag, 4);
  put_le(at + 8, entry.offset, 8);
  put_le(at + 16, entry.length, 8);
  put_le(at + 24, entry.crc, 4);
}

table_entry decode_entry(const std::byte* at) {
  return {get_le32(at + 0), get_le64(at + 8), get_le64(at + 16), get_le32(at + 24)};
}

file_header decode_header(const std::byte* at) {
  return {get_le32(at + 8), get_le32(at + 12), get_le64(at + 16), get_le32(at + 24),
          get_le32(at + header_crc_offset)};
}

std::uint32_t header_crc_of(const std::byte* header) { return crc32({header, header_crc_offset}); }

// The file's first bytes: header and section table, CRCs filled in.
std::vector<std::byte> encode_head(const std::vector<table_entry>& entries, std::uint64_t file_length) {
  std::vector<std::byte> head(table_end(entries.size()));
  for (std::size_t i = 0; i < entries.size(); ++i)
    encode_entry(head.data() + table_end(i), entries[i]);
  const std::span<const std::byte> table(head.data() + header_bytes, head.size() - header_bytes);
  std::memcpy(head.data(), magic.data(), magic.size());
  put_le(head.data() + 8, snapshot_format_version, 4);
  put_le(head.data() + 12, entries.size(), 4);
  put_le(head.data() + 16, file_length, 8);
  put_le(head.data() + 24, crc32(table), 4);
  put_le(head.data() + header_crc_offset, header_crc_of(head.data()), 4);
  return head;
}

// ---- system calls --------------------------------------------------------------------------

// GNU strerror_r returns the text (maybe not in buf), the XSI one an error code: overloads take
// whichever this libc has. strerror itself is not thread-safe.
[[maybe_unused]] std::string strerror_result(const char* text, const char*) { return text; }
[[maybe_unused]] std::string strerror_result(int failed, const char* buffer) {
  return failed == 0 ? std::string(buffer) : std::string("unknown error");
}

std::string error_text(int error_number) {
  char buffer[256] = {};
  return strerror_result(strerror_r(error_number, buffer, sizeof buffer), buffer);
}

// Closes on destruction so that every early exit (an exception) releases the descriptor.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  /// Closes and reports close()'s result: for a written file it can be a delayed write error.
  int close_checked() {
    const int result = ::close(std::exchange(fd_, -1));
    return result == 0 ? 0 : errno;
  }
  void reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_;
};

/// Writes all of data; 0 or the errno of the failing write().
int write_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data = data.subspan(static_cast<std::size_t>(written));
  }
  return 0;
}

/// Reads up to buffer.size() bytes at offset; returns how many (fewer only at the end of the
/// file), or -errno.
std::int64_t read_at(int fd, std::uint64_t offset, std::span<std::byte> buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t got = ::pread(fd, buffer.data() + done, buffer.size() - done,
                                static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return static_cast<std::int64_t>(done);
}

// ---- writing -------------------------------------------------------------------------------

using progress_fn = std::function<void(std::uint64_t, std::uint64_t)>;

// step is a string_view so that passing a literal allocates nothing before errno is read.
[[noreturn]] void throw_save_error(const std::filesystem::path& target, std::string_view step,
                                   int error_number) {
  throw snapshot_error("cannot save snapshot \"" + target.string() + "\": " + std::string(step) +
                       " failed: " + error_text(error_number));
}

void check_sections(std::span<const section_view> sections) {
  if (sections.size() > snapshot_max_sections)
    throw std::invalid_argument("write_snapshot_file: " + std::to_string(sections.size()) +
                                " sections, at most " + std::to_string(snapshot_max_sections));
  std::vector<std::uint32_t> tags;
  for (const section_view& section : sections) tags.push_back(section.tag);
  std::sort(tags.begin(), tags.end());
  const auto duplicate = std::adjacent_find(tags.begin(), tags.end());
  if (duplicate != tags.end())
    throw std::invalid_argument("write_snapshot_file: section " + tag_name(*duplicate) + " given twice");
}

// The table entries (offsets per the layout rule, CRCs) and the file length they imply.
std::pair<std::vector<table_entry>, std::uint64_t> plan_layout(std::span<const section_view> sections) {
  std::vector<table_entry> entries;
  std::uint64_t end = table_end(sections.size());
  for (const section_view& section : sections) {
    const std::uint64_t offset = align8(end);
    entries.push_back({section.tag, offset, section.data.size(), crc32(section.data)});
    end = offset + section.data.size();
  }
  return {std::move(entries), end};
}

/// The temporary file of one save: created next to the target, removed again unless it was
/// renamed over the target, whichever way the save ends.
class temporary_file {
 public:
  explicit temporary_file(const std::filesystem::path& target) : target_(target) {
    // A crashed save can leave <target>.tmp.<pid>.<n> behind, and in containers a restarted
    // process often gets the same pid: try further numbers rather than fail on the leftover.
    static std::atomic<std::uint64_t> next_number{0};
    for (int attempt = 0; attempt < 1000; ++attempt) {
      path_ = target.string() + ".tmp." + std::to_string(::getpid()) + "." +
              std::to_string(next_number.fetch_add(1));
      fd_ = unique_fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (fd_.valid()) return;
      if (errno != EEXIST) break;
    }
    const int error_number = errno;
    throw_save_error(target_, "open \"" + path_.string() + "\"", error_number);
  }
  temporary_file(const temporary_file&) = delete;
  temporary_file& operator=(const temporary_file&) = delete;
  ~temporary_file() {
    fd_.reset();
    if (!renamed_) ::unlink(path_.c_str());
  }

  [[nodiscard]] int fd() const { return fd_.get(); }

  void sync_and_close() {
    if (::fsync(fd_.get()) != 0) throw_save_error(target_, "fsync", errno);
    if (const int error_number = fd_.close_checked(); error_number != 0)
      throw_save_error(target_, "close", error_number);
  }

  void rename_over_target() {
    if (::rename(path_.c_str(), target_.c_str()) != 0) throw_save_error(target_, "rename", errno);
    renamed_ = true;
  }

 private:
  std::filesystem::path target_;
  std::filesystem::path path_;
  unique_fd fd_;
  bool renamed_ = false;
};

/// Turns a sequence of pieces (head, padding, payloads) into write() calls of at most one chunk,
/// reporting progress after each. Small pieces are gathered in a buffer so that many small
/// sections do not mean many tiny writes; full chunks of a big payload go straight from it.
class chunked_writer {
 public:
  chunked_writer(int fd, std::uint64_t total, const progress_fn& progress,
                 const std::filesystem::path& target)
      : fd_(fd), total_(total), progress_(progress), target_(target) {
    buffer_.reserve(chunk_bytes);
  }

  void append(std::span<const std::byte> data) {
    while (!data.empty()) {
      if (buffer_.empty() && data.size() >= chunk_bytes) {
        write_chunk(data.first(chunk_bytes));
        data = data.subspan(chunk_bytes);
        continue;
      }
      const std::size_t take = std::min(chunk_bytes - buffer_.size(), data.size());
      buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
      data = data.subspan(take);
      if (buffer_.size() == chunk_bytes) flush();
    }
  }

  void flush() {
    if (buffer_.empty()) return;
    write_chunk(buffer_);
    buffer_.clear();
  }

 private:
  static constexpr std::size_t chunk_bytes = snapshot_write_chunk_bytes;

  void write_chunk(std::span<const std::byte> chunk) {
    if (const int error_number = write_all(fd_, chunk); error_number != 0)
      throw_save_error(target_, "write", error_number);
    written_ += chunk.size();
    if (progress_) progress_(written_, total_);
  }

  int fd_;
  std::uint64_t total_;
  std::uint64_t written_ = 0;
  const progress_fn& progress_;
  const std::filesystem::path& target_;
  std::vector<std::byte> buffer_;
};

// Makes the rename itself durable: until the folder's entry is on disk, a power loss can bring
// back the old name.
void sync_folder_of(const std::filesystem::path& target) {
  std::filesystem::path folder = target.parent_path();
  if (folder.empty()) folder = ".";
  unique_fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw_save_error(target, "open folder", errno);
  // EINVAL: this file system cannot sync folders (some network and FUSE ones); nothing to do.
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_save_error(target, "fsync folder", errno);
}

// ---- reading -------------------------------------------------------------------------------

/// One read of one file; every check failure throws "cannot load snapshot ...".
class snapshot_reader {
 public:
  explicit snapshot_reader(const std::filesystem::path& path) : path_(path) {}

  snapshot_file read() {
    open_file();
    const file_header header = read_header();
    const std::vector<table_entry> entries = read_table(header);
    check_layout(entries, header.file_length);
    snapshot_file file;
    file.format_version = header.version;
    file.file_bytes = file_size_;
    std::uint64_t end = table_end(entries.size());
    for (const table_entry& entry : entries) {
      check_padding(end, entry);
      file.tags.push_back(entry.tag);
      file.data.push_back(read_section(entry));
      end = entry.offset + entry.length;
    }
    return file;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw snapshot_error("cannot load snapshot \"" + path_.string() + "\": " + reason);
  }

  void open_file() {
    fd_ = unique_fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_.valid()) fail(error_text(errno));
    struct stat status {};
    if (::fstat(fd_.get(), &status) != 0) fail("fstat failed: " + error_text(errno));
    if (!S_ISREG(status.st_mode)) fail("not a regular file");
    file_size_ = static_cast<std::uint64_t>(status.st_size);
  }

  // Exactly buffer.size() bytes at offset; the file having been measured already, a short read
  // means it shrank meanwhile.
  void read_exactly(std::uint64_t offset, std::span<std::byte> buffer) {
    const std::int64_t got = read_at(fd_.get(), offset, buffer);
    if (got < 0) fail("read failed at offset " + std::to_string(offset) + ": " + error_text(static_cast<int>(-got)));
    if (static_cast<std::uint64_t>(got) != buffer.size())
      fail("truncated while reading at offset " + std::to_string(offset) + " (file changed?)");
  }

  // Checks in an order that gives the most telling reason: a file that is not a snapshot at all
  // or of a newer format says so rather than "bad checksum".
  file_header read_header() {
    if (file_size_ < header_bytes)
      fail("truncated: " + std::to_string(file_size_) + " bytes, a header needs " + std::to_string(header_bytes));
    std::array<std::byte, header_bytes> bytes{};
    read_exactly(0, bytes);
    if (std::memcmp(bytes.data(), magic.data(), magic.size()) != 0) fail("not a belady snapshot (bad magic)");
    const file_header header = decode_header(bytes.data());
    const bool header_intact = header_crc_of(bytes.data()) == header.header_crc;
    if (header.version != snapshot_format_version)
      // A newer format may lay its header out differently, so its checksum need not match this
      // build's layout; a flipped bit in the version field does not match either.
      fail("unsupported format version " + std::to_string(header.version) + " (this build reads " +
           std::to_string(snapshot_format_version) + ")" +
           (header_intact ? "" : ", or a corrupt header: its checksum does not match"));
    if (!header_intact) fail("header checksum mismatch (corrupt header)");
    if (header.section_count > snapshot_max_sections)
      fail("corrupt: " + std::to_string(header.section_count) + " sections, at most " +
           std::to_string(snapshot_max_sections));
    check_file_length(header);
    return header;
  }

  void check_file_length(const file_header& header) const {
    const std::string sizes =
        "has " + std::to_string(file_size_) + " bytes, header says " + std::to_string(header.file_length);
    if (file_size_ < header.file_length) fail("truncated: " + sizes);
    if (file_size_ > header.file_length) fail("trailing bytes: " + sizes);
    if (header.file_length < table_end(header.section_count))
      fail("corrupt: header says " + std::to_string(header.file_length) + " bytes, too few for " +
           std::to_string(header.section_count) + " sections");
  }

  std::vector<table_entry> read_table(const file_header& header) {
    std::vector<std::byte> table(table_entry_bytes * header.section_count);
    read_exactly(header_bytes, table);
    if (crc32(table) != header.table_crc) fail("section table checksum mismatch (corrupt table)");
    std::vector<table_entry> entries;
    for (std::size_t i = 0; i < header.section_count; ++i)
      entries.push_back(decode_entry(table.data() + table_entry_bytes * i));
    return entries;
  }

  // The table's CRC matched, so a failure here means a writer that broke the format rules.
  void check_layout(const std::vector<table_entry>& entries, std::uint64_t file_length) const {
    std::vector<std::uint32_t> seen;
    std::uint64_t end = table_end(entries.size());
    for (const table_entry& entry : entries) {
      const std::string name = "section " + tag_name(entry.tag);
      if (std::find(seen.begin(), seen.end(), entry.tag) != seen.end()) fail("duplicate " + name);
      seen.push_back(entry.tag);
      if (entry.offset > file_length || entry.length > file_length - entry.offset)
        fail(name + " extends past the end (offset " + std::to_string(entry.offset) + ", length " +
             std::to_string(entry.length) + ", file length " + std::to_string(file_length) + ")");
      if (entry.offset != align8(end))
        fail(name + " at offset " + std::to_string(entry.offset) + ", the layout puts it at " +
             std::to_string(align8(end)));
      end = entry.offset + entry.length;
    }
    if (end != file_length)
      fail("corrupt: the sections end at " + std::to_string(end) + ", header says " +
           std::to_string(file_length) + " bytes");
  }

  // The few bytes between sections are covered by no CRC: requiring zeros keeps every byte checked.
  void check_padding(std::uint64_t previous_end, const table_entry& entry) {
    std::array<std::byte, 8> padding{};
    const std::span<std::byte> gap(padding.data(), entry.offset - previous_end);
    read_exactly(previous_end, gap);
    if (std::any_of(gap.begin(), gap.end(), [](std::byte b) { return b != std::byte{0}; }))
      fail("nonzero padding before section " + tag_name(entry.tag));
  }

  // Checksummed chunk by chunk right after reading, while the bytes are still in cache.
  std::vector<std::byte> read_section(const table_entry& entry) {
    constexpr std::uint64_t chunk_bytes = std::uint64_t{1} << 20;
    std::vector<std::byte> data(entry.length);
    std::uint32_t crc = 0;
    for (std::uint64_t done = 0; done < entry.length;) {
      const std::span<std::byte> chunk(data.data() + done, std::min(chunk_bytes, entry.length - done));
      read_exactly(entry.offset + done, chunk);
      crc = crc32(chunk, crc);
      done += chunk.size();
    }
    if (crc != entry.crc) fail("section " + tag_name(entry.tag) + ": bad checksum");
    return data;
  }

  std::filesystem::path path_;
  unique_fd fd_;
  std::uint64_t file_size_ = 0;
};

}  // namespace

std::string tag_name(std::uint32_t tag) {
  std::string name;
  for (int i = 0; i < 4; ++i) {
    const auto c = static_cast<unsigned char>(tag >> (8 * i));
    if (c < 0x20 || c > 0x7e) {
      char hex[11];
      std::snprintf(hex, sizeof hex, "0x%08x", tag);
      return hex;
    }
    name.push_back(static_cast<char>(c));
  }
  return name;
}

void write_snapshot_file(const std::filesystem::path& target, std::span<const section_view> sections,
                         const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  check_sections(sections);
  const auto [entries, file_length] = plan_layout(sections);
  const std::vector<std::byte> head = encode_head(entries, file_length);
  static constexpr std::array<std::byte, 8> zeros{};

  temporary_file temporary(target);
  chunked_writer out(temporary.fd(), file_length, progress, target);
  out.append(head);
  std::uint64_t end = head.size();
  for (std::size_t i = 0; i < sections.size(); ++i) {
    out.append(std::span(zeros).first(entries[i].offset - end));
    out.append(sections[i].data);
    end = entries[i].offset + entries[i].length;
  }
  out.flush();
  temporary.sync_and_close();
  temporary.rename_over_target();
  sync_folder_of(target);
}

const std::vector<std::byte>* snapshot_file::find(std::uint32_t tag) const {
  const auto at = std::find(tags.begin(), tags.end(), tag);
  return at == tags.end() ? nullptr : &data[static_cast<std::size_t>(at - tags.begin())];
}

snapshot_file read_snapshot_file(const std::filesystem::path& path) { return snapshot_reader(path).read(); }

}  // namespace belady::ops
