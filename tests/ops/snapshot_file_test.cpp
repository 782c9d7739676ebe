// The snapshot container (src/ops/snapshot_file) and its checksum (src/ops/crc32): round trips,
// every class of damage the reader must name, and crash consistency of the writer.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "belady/snapshot.hpp"
#include "ops/crc32.hpp"
#include "ops/snapshot_file.hpp"

namespace {

namespace fs = std::filesystem;
using belady::snapshot_error;
using belady::ops::crc32;
using belady::ops::make_tag;
using belady::ops::read_snapshot_file;
using belady::ops::section_view;
using belady::ops::write_snapshot_file;
using bytes = std::vector<std::byte>;

constexpr std::uint32_t KEYS = make_tag('K', 'E', 'Y', 'S');
constexpr std::uint32_t EMPT = make_tag('E', 'M', 'P', 'T');
constexpr std::uint32_t VALS = make_tag('V', 'A', 'L', 'S');
constexpr std::uint32_t META = make_tag('M', 'E', 'T', 'A');
constexpr std::size_t MiB = std::size_t{1} << 20;

// ---- helpers -------------------------------------------------------------------------------

bytes text(const std::string& s) {
  bytes out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

// Deterministic, non-repeating content, so a misplaced chunk cannot compare equal by accident.
bytes pattern(std::size_t size, std::uint64_t seed) {
  bytes out(size);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<std::byte>(state >> 56);
  }
  return out;
}

struct named_section {
  std::uint32_t tag;
  bytes data;
};

std::vector<section_view> views_of(const std::vector<named_section>& sections) {
  std::vector<section_view> views;
  for (const auto& s : sections) views.push_back({s.tag, s.data});
  return views;
}

// KEYS's odd length puts padding before EMPT; VALS is several MiB and not a multiple of 8.
std::vector<named_section> sample_sections(std::uint64_t seed = 1) {
  return {{KEYS, pattern(1003, seed)},
          {EMPT, {}},
          {VALS, pattern(3 * MiB + 5, seed + 1)},
          {META, pattern(7, seed + 2)}};
}

void expect_same_content(const belady::ops::snapshot_file& file, const std::vector<named_section>& sections) {
  ASSERT_EQ(file.tags.size(), sections.size());
  ASSERT_EQ(file.data.size(), sections.size());
  for (std::size_t i = 0; i < sections.size(); ++i) {
    EXPECT_EQ(file.tags[i], sections[i].tag) << i;
    EXPECT_TRUE(file.data[i] == sections[i].data) << "section " << belady::ops::tag_name(sections[i].tag);
  }
}

bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void write_file(const fs::path& path, const bytes& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
}

std::uint64_t get_le(const bytes& b, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::to_integer<std::uint64_t>(b[at + i]) << (8 * i);
  return v;
}

void put_le(bytes& b, std::size_t at, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}

// Positions per the layout table in snapshot_file.hpp.
std::size_t entry_at(std::size_t index) { return 64 + 32 * index; }
std::size_t payload_offset(const bytes& file, std::size_t index) {
  return static_cast<std::size_t>(get_le(file, entry_at(index) + 8, 8));
}

// Recomputes the header CRC after a deliberate edit, so the reader gets past it to a deeper check.
void reseal_header(bytes& file) { put_le(file, 60, crc32({file.data(), 60}), 4); }

// Recomputes the table CRC and then the header CRC.
void reseal(bytes& file) {
  const auto count = static_cast<std::size_t>(get_le(file, 12, 4));
  put_le(file, 24, crc32({file.data() + 64, 32 * count}), 4);
  reseal_header(file);
}

// The snapshot_error message of reading path; a test failure if it reads fine.
std::string load_error(const fs::path& path) {
  try {
    (void)read_snapshot_file(path);
  } catch (const snapshot_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no snapshot_error reading " << path;
  return {};
}

#define EXPECT_CONTAINS(haystack, needle)                                               \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)                      \
      << "expected \"" << (needle) << "\" in: " << (haystack)

std::vector<fs::path> leftover_temporaries(const fs::path& folder) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path());
  return found;
}

// Bit by bit, straight from the definition: the reference the table-driven version must match.
std::uint32_t crc32_bitwise(const bytes& data) {
  std::uint32_t reg = 0xFFFFFFFFu;
  for (std::byte b : data) {
    reg ^= std::to_integer<std::uint32_t>(b);
    for (int bit = 0; bit < 8; ++bit) reg = (reg >> 1) ^ ((reg & 1u) ? 0xEDB88320u : 0u);
  }
  return ~reg;
}

// ---- crc32 ---------------------------------------------------------------------------------

TEST(Crc32, KnownVectors) {
  EXPECT_EQ(crc32({}), 0u);
  EXPECT_EQ(crc32(text("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32(text("a")), 0xE8B7BE43u);
  EXPECT_EQ(crc32(text("The quick brown fox jumps over the lazy dog")), 0x414FA339u);
  EXPECT_EQ(crc32(bytes(32, std::byte{0})), 0x190A55ADu);
  EXPECT_EQ(crc32(bytes(32, std::byte{0xFF})), 0xFF6CAB0Bu);
}

TEST(Crc32, MatchesBitwiseDefinitionAtEveryLengthAndAlignment) {
  const bytes data = pattern(200, 7);
  for (std::size_t start = 0; start < 8; ++start) {
    for (std::size_t length = 0; length + start <= data.size(); ++length) {
      const bytes piece(data.begin() + start, data.begin() + start + length);
      ASSERT_EQ(crc32(piece), crc32_bitwise(piece)) << "start " << start << " length " << length;
    }
  }
}

TEST(Crc32, IncrementalEqualsWhole) {
  const bytes data = pattern(100'003, 3);
  const std::span<const std::byte> all(data);
  const std::uint32_t whole = crc32(all);
  for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{4097},
                            data.size() - 1, data.size()}) {
    EXPECT_EQ(crc32(all.subspan(split), crc32(all.first(split))), whole) << "split at " << split;
  }
  std::uint32_t pieces = 0;  // uneven pieces: 1, 2, 3, ... bytes
  std::size_t at = 0;
  for (std::size_t step = 1; at < data.size(); ++step) {
    const std::size_t take = std::min(step, data.size() - at);
    pieces = crc32(all.subspan(at, take), pieces);
    at += take;
  }
  EXPECT_EQ(pieces, whole);
}

// ---- tags ----------------------------------------------------------------------------------

TEST(SnapshotTag, NamesAreTheFourCharacters) {
  EXPECT_EQ(belady::ops::tag_name(KEYS), "KEYS");
  EXPECT_EQ(belady::ops::tag_name(make_tag('a', 'b', '1', '_')), "ab1_");
  // Shown as bytes on disk: 'K' first.
  EXPECT_EQ(KEYS & 0xFFu, static_cast<std::uint32_t>('K'));
  EXPECT_EQ(belady::ops::tag_name(0x00414243u), "0x00414243");  // unprintable -> hex
}

// ---- writing and reading -------------------------------------------------------------------

class SnapshotFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    folder_ = fs::temp_directory_path() / ("belady_snapshot_file_" + std::to_string(::getpid()) + "_" +
                                           test->test_suite_name() + "_" + test->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    target_ = folder_ / "cache.snapshot";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
  }

  // A valid sample snapshot at target_, returned as its bytes for tests that damage it.
  bytes write_sample() {
    write_snapshot_file(target_, views_of(sample_sections()));
    return read_file(target_);
  }

  fs::path folder_;
  fs::path target_;
};

TEST_F(SnapshotFile, RoundTripKeepsSectionsInOrder) {
  auto sections = sample_sections();
  sections.push_back({make_tag('B', 'I', 'G', '2'), pattern(5 * MiB, 9)});
  write_snapshot_file(target_, views_of(sections));
  const auto file = read_snapshot_file(target_);
  EXPECT_EQ(file.format_version, 1u);
  EXPECT_EQ(file.file_bytes, fs::file_size(target_));
  expect_same_content(file, sections);
  ASSERT_NE(file.find(VALS), nullptr);
  EXPECT_TRUE(*file.find(VALS) == sections[2].data);
  ASSERT_NE(file.find(EMPT), nullptr);
  EXPECT_TRUE(file.find(EMPT)->empty());
  EXPECT_EQ(file.find(make_tag('N', 'O', 'N', 'E')), nullptr);
  EXPECT_TRUE(leftover_temporaries(folder_).empty());
}

TEST_F(SnapshotFile, RoundTripWithoutSections) {
  write_snapshot_file(target_, {});
  const auto file = read_snapshot_file(target_);
  EXPECT_TRUE(file.tags.empty());
  EXPECT_EQ(file.file_bytes, 64u);
}

TEST_F(SnapshotFile, LayoutMatchesTheDocumentedTable) {
  const bytes file = write_sample();
  EXPECT_EQ(std::memcmp(file.data(), "BELADYSN", 8), 0);
  EXPECT_EQ(get_le(file, 8, 4), 1u);
  EXPECT_EQ(get_le(file, 12, 4), 4u);
  EXPECT_EQ(get_le(file, 16, 8), file.size());
  EXPECT_EQ(get_le(file, 24, 4), crc32({file.data() + 64, 4 * 32}));
  EXPECT_EQ(get_le(file, 60, 4), crc32({file.data(), 60}));
  for (std::size_t at = 28; at < 60; ++at) EXPECT_EQ(file[at], std::byte{0}) << at;
  const auto sections = sample_sections();
  std::size_t expected_offset = 64 + 4 * 32;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    EXPECT_EQ(get_le(file, entry_at(i), 4), sections[i].tag);
    EXPECT_EQ(payload_offset(file, i), expected_offset);
    EXPECT_EQ(payload_offset(file, i) % 8, 0u);
    EXPECT_EQ(get_le(file, entry_at(i) + 16, 8), sections[i].data.size());
    EXPECT_EQ(get_le(file, entry_at(i) + 24, 4), crc32(sections[i].data));
    expected_offset = (expected_offset + sections[i].data.size() + 7) / 8 * 8;
  }
  EXPECT_EQ(file.size(), payload_offset(file, 3) + 7);  // no bytes after the last payload
}

TEST_F(SnapshotFile, ProgressIsMonotoneInChunksAndEndsAtTotal) {
  auto sections = sample_sections();
  sections.push_back({make_tag('B', 'I', 'G', '2'), pattern(4 * MiB + 11, 4)});
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  write_snapshot_file(target_, views_of(sections),
                      [&](std::uint64_t written, std::uint64_t total) { calls.emplace_back(written, total); });
  const std::uint64_t size = fs::file_size(target_);
  ASSERT_GE(calls.size(), 8u);  // > 7 MiB in chunks of at most 1 MiB
  std::uint64_t previous = 0;
  for (const auto& [written, total] : calls) {
    EXPECT_EQ(total, size);
    EXPECT_GT(written, previous);
    EXPECT_LE(written - previous, MiB);
    previous = written;
  }
  EXPECT_EQ(calls.back().first, size);
}

TEST_F(SnapshotFile, RejectsInvalidSectionListsBeforeTouchingTheDisk) {
  const bytes a = pattern(10, 1);
  const std::vector<section_view> twice = {{KEYS, a}, {VALS, a}, {KEYS, a}};
  EXPECT_THROW(write_snapshot_file(target_, twice), std::invalid_argument);
  const std::vector<section_view> too_many(1025, section_view{KEYS, {}});
  EXPECT_THROW(write_snapshot_file(target_, too_many), std::invalid_argument);
  EXPECT_TRUE(fs::is_empty(folder_));
}

// ---- damaged files -------------------------------------------------------------------------

TEST_F(SnapshotFile, MissingFile) {
  const std::string message = load_error(folder_ / "absent.snapshot");
  EXPECT_CONTAINS(message, "cannot load snapshot \"" + (folder_ / "absent.snapshot").string() + "\"");
  EXPECT_CONTAINS(message, "No such file or directory");
}

TEST_F(SnapshotFile, FolderIsNotASnapshot) { EXPECT_CONTAINS(load_error(folder_), "not a regular file"); }

TEST_F(SnapshotFile, ShorterThanTheHeader) {
  const bytes file = write_sample();
  for (std::size_t size : {0, 10, 63}) {
    write_file(target_, bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(size)));
    EXPECT_CONTAINS(load_error(target_), "truncated: " + std::to_string(size) + " bytes, a header needs 64");
  }
}

TEST_F(SnapshotFile, WrongMagic) {
  bytes file = write_sample();
  file[3] = std::byte{'X'};
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "not a belady snapshot");
  write_file(target_, text(std::string(100, 'z')));
  EXPECT_CONTAINS(load_error(target_), "not a belady snapshot");
}

TEST_F(SnapshotFile, UnsupportedFormatVersion) {
  bytes file = write_sample();
  put_le(file, 8, 2, 4);
  reseal_header(file);
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "unsupported format version 2");
  EXPECT_EQ(load_error(target_).find("corrupt"), std::string::npos) << "a resealed header is intact";
  // The same version field, not resealed: a flipped bit, as far as this build can tell.
  file = write_sample();
  put_le(file, 8, 2, 4);
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "unsupported format version 2");
  EXPECT_CONTAINS(load_error(target_), "or a corrupt header: its checksum does not match");
}

TEST_F(SnapshotFile, AnyFlippedHeaderByteAfterTheVersion) {
  const bytes original = write_sample();
  for (std::size_t at = 12; at < 64; ++at) {
    bytes file = original;
    file[at] ^= std::byte{0x10};
    write_file(target_, file);
    EXPECT_CONTAINS(load_error(target_), "header checksum mismatch") << " flipped byte " << at;
  }
}

TEST_F(SnapshotFile, TruncatedAtSeveralPoints) {
  const bytes file = write_sample();
  const std::size_t in_table = 64 + 40;
  const std::size_t in_values = payload_offset(file, 2) + 1000;
  for (std::size_t size : {std::size_t{64}, in_table, payload_offset(file, 1), in_values, file.size() - 1}) {
    write_file(target_, bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(size)));
    EXPECT_CONTAINS(load_error(target_), "truncated: has " + std::to_string(size) + " bytes, header says " +
                                             std::to_string(file.size()));
  }
}

TEST_F(SnapshotFile, TrailingBytes) {
  bytes file = write_sample();
  file.push_back(std::byte{0});
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "trailing bytes: has " + std::to_string(file.size()));
}

TEST_F(SnapshotFile, FlippedTableByte) {
  const bytes original = write_sample();
  for (std::size_t at : {entry_at(0), entry_at(1) + 4, entry_at(2) + 9, entry_at(3) + 31}) {
    bytes file = original;
    file[at] ^= std::byte{1};
    write_file(target_, file);
    EXPECT_CONTAINS(load_error(target_), "section table checksum mismatch") << " flipped byte " << at;
  }
}

TEST_F(SnapshotFile, FlippedPayloadByteNamesTheSection) {
  const bytes original = write_sample();
  const std::size_t values = payload_offset(original, 2);
  const std::size_t values_length = 3 * MiB + 5;
  for (std::size_t at : {values, values + MiB + 3, values + values_length - 1}) {
    bytes file = original;
    file[at] ^= std::byte{0x80};
    write_file(target_, file);
    EXPECT_CONTAINS(load_error(target_), "section VALS: bad checksum") << " flipped byte " << at;
  }
  bytes file = original;
  file[payload_offset(original, 0) + 500] ^= std::byte{4};
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "section KEYS: bad checksum");
}

TEST_F(SnapshotFile, NonzeroPadding) {
  bytes file = write_sample();
  file[payload_offset(file, 0) + 1003] = std::byte{1};  // KEYS has 1003 bytes, EMPT starts at 1008
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "nonzero padding before section EMPT");
}

TEST_F(SnapshotFile, SectionExtendingPastTheEnd) {
  const bytes original = write_sample();
  bytes file = original;
  put_le(file, entry_at(3) + 16, 4096, 8);  // META's length
  reseal(file);
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "section META extends past the end");
  file = original;  // an offset whose offset + length would wrap around
  put_le(file, entry_at(1) + 8, std::numeric_limits<std::uint64_t>::max() - 3, 8);
  put_le(file, entry_at(1) + 16, 16, 8);
  reseal(file);
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "section EMPT extends past the end");
}

TEST_F(SnapshotFile, SectionOffsetOffTheLayout) {
  bytes file = write_sample();
  put_le(file, entry_at(3) + 8, payload_offset(file, 3) - 8, 8);
  reseal(file);
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "section META at offset");
}

TEST_F(SnapshotFile, DuplicateTags) {
  bytes file = write_sample();
  put_le(file, entry_at(3), VALS, 4);
  reseal(file);
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "duplicate section VALS");
}

TEST_F(SnapshotFile, TooManySectionsIsCorrupt) {
  bytes file = write_sample();
  put_le(file, 12, 1025, 4);
  reseal_header(file);
  write_file(target_, file);
  EXPECT_CONTAINS(load_error(target_), "corrupt: 1025 sections, at most 1024");
}

// ---- atomic replacement and failures -------------------------------------------------------

TEST_F(SnapshotFile, SecondWriteReplacesTheFirst) {
  const auto first = sample_sections(1);
  const auto second = sample_sections(50);
  write_snapshot_file(target_, views_of(first));
  write_snapshot_file(target_, views_of(second));
  expect_same_content(read_snapshot_file(target_), second);
  EXPECT_TRUE(leftover_temporaries(folder_).empty());
}

TEST_F(SnapshotFile, OpenFailureInMissingFolder) {
  const fs::path target = folder_ / "no" / "such" / "folder" / "cache.snapshot";
  try {
    write_snapshot_file(target, views_of(sample_sections()));
    FAIL() << "no snapshot_error";
  } catch (const snapshot_error& e) {
    EXPECT_CONTAINS(e.what(), "cannot save snapshot \"" + target.string() + "\"");
    EXPECT_CONTAINS(e.what(), "open");
    EXPECT_CONTAINS(e.what(), "No such file or directory");
  }
  EXPECT_FALSE(fs::exists(folder_ / "no"));
}

// rename() of a file over a folder fails even for root (EISDIR): a failure after all the writing.
TEST_F(SnapshotFile, RenameFailureRemovesTheTemporaryFile) {
  fs::create_directory(target_);
  try {
    write_snapshot_file(target_, views_of(sample_sections()));
    FAIL() << "no snapshot_error";
  } catch (const snapshot_error& e) {
    EXPECT_CONTAINS(e.what(), "rename failed: Is a directory");
  }
  EXPECT_TRUE(fs::is_directory(target_));
  EXPECT_TRUE(leftover_temporaries(folder_).empty());
}

TEST_F(SnapshotFile, ProgressThatThrowsCancelsAndKeepsThePreviousFile) {
  const auto old_sections = sample_sections(1);
  write_snapshot_file(target_, views_of(old_sections));
  struct cancelled {};
  const auto cancel = [](std::uint64_t, std::uint64_t) { throw cancelled{}; };
  EXPECT_THROW(write_snapshot_file(target_, views_of(sample_sections(2)), cancel), cancelled);
  expect_same_content(read_snapshot_file(target_), old_sections);
  EXPECT_TRUE(leftover_temporaries(folder_).empty());
}

// A write() error (EFBIG from a file size limit, which binds root too) in a child process, so the
// limit does not reach the rest of the tests. The child reports through its exit code.
TEST_F(SnapshotFile, WriteFailureKeepsThePreviousFile) {
  const auto old_sections = sample_sections(1);
  write_snapshot_file(target_, views_of(old_sections));
  const bytes big = pattern(4 * MiB, 5);
  const std::vector<section_view> new_sections = {{VALS, big}};
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    const rlimit limit{2 * MiB, 2 * MiB};
    ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of the signal
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    try {
      write_snapshot_file(target_, new_sections);
    } catch (const snapshot_error& e) {
      ::_exit(std::string(e.what()).find("write failed: File too large") != std::string::npos ? 0 : 11);
    } catch (...) {
      ::_exit(12);
    }
    ::_exit(13);  // no error at all
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: setrlimit failed, 11: other message, 12: other exception, 13: no error";
  expect_same_content(read_snapshot_file(target_), old_sections);
  EXPECT_TRUE(leftover_temporaries(folder_).empty());
}

// The promise of snapshot.hpp: killed in the middle of a save, the previous snapshot survives.
// The child process does nothing but the save (fork() in a process without threads is safe).
TEST_F(SnapshotFile, KilledDuringWriteLeavesThePreviousSnapshot) {
  const auto old_sections = sample_sections(1);
  write_snapshot_file(target_, views_of(old_sections));
  const bytes big = pattern(16 * MiB, 6);
  const std::vector<section_view> new_sections = {{VALS, big}};
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    write_snapshot_file(target_, new_sections, [](std::uint64_t, std::uint64_t) { ::raise(SIGKILL); });
    ::_exit(0);  // not reached when the kill works
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited normally with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  expect_same_content(read_snapshot_file(target_), old_sections);
  // The killed save left its partial temporary file (one chunk); a later save is not blocked by it.
  const auto leftovers = leftover_temporaries(folder_);
  ASSERT_EQ(leftovers.size(), 1u);
  EXPECT_EQ(fs::file_size(leftovers[0]), MiB);
  write_snapshot_file(target_, new_sections);
  const auto file = read_snapshot_file(target_);
  ASSERT_NE(file.find(VALS), nullptr);
  EXPECT_TRUE(*file.find(VALS) == big);
}

}  // namespace
