// Trace readers: every format on small files written here (plain, .xz, .zst), the error cases,
// and the shared public traces' request / unique counts when BELADY_TRACES_DIR is present.
#include <gtest/gtest.h>
#include <lzma.h>
#include <zstd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "lib/trace_io.hpp"  // size hints (internal)
#include "trace.hpp"

#ifndef BELADY_TRACES_DIR
#define BELADY_TRACES_DIR ""
#endif

using namespace belady::replay;
namespace fs = std::filesystem;

namespace {

using bytes = std::vector<unsigned char>;

void put_le(bytes& b, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
void put_be(bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}

struct og_record {
  std::uint32_t time;
  std::uint64_t id;
  std::uint32_t size;
  std::int64_t next;
};

bytes oracle_general(const std::vector<og_record>& recs) {
  bytes b;
  for (const auto& r : recs) {
    put_le(b, r.time, 4);
    put_le(b, r.id, 8);
    put_le(b, r.size, 4);
    put_le(b, static_cast<std::uint64_t>(r.next), 8);
  }
  return b;
}

bytes bytes_of(std::string_view s) { return bytes(s.begin(), s.end()); }

bytes xz(const bytes& in) {
  bytes out(lzma_stream_buffer_bound(in.size()));
  std::size_t pos = 0;
  const lzma_ret r = lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, in.data(), in.size(),
                                             out.data(), &pos, out.size());
  EXPECT_EQ(r, LZMA_OK);
  out.resize(pos);
  return out;
}

bytes zst(const bytes& in) {
  bytes out(ZSTD_compressBound(in.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(n);
  return out;
}

std::vector<std::uint64_t> keys_of(const std::vector<request>& t) {
  std::vector<std::uint64_t> k;
  for (const auto& r : t) k.push_back(r.key);
  return k;
}

std::vector<std::uint32_t> sizes_of(const std::vector<request>& t) {
  std::vector<std::uint32_t> s;
  for (const auto& r : t) s.push_back(r.size);
  return s;
}

/// The message of the trace_error that load_trace throws ("" plus a failure if none).
std::string error_of(const trace_spec& spec) {
  try {
    (void)load_trace(spec);
  } catch (const trace_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a trace_error: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no trace_error for " << spec.path;
  return "";
}

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("belady-trace-test-" + std::to_string(rd()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const bytes& data) {
    const fs::path p = dir_ / name;
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    EXPECT_TRUE(f.good()) << p;
    return p.string();
  }
  std::string write(const std::string& name, std::string_view text) {
    return write(name, bytes_of(text));
  }

  static trace_spec spec(std::string path, trace_format f, std::uint64_t limit = 0) {
    trace_spec s;
    s.path = std::move(path);
    s.format = f;
    s.limit = limit;
    return s;
  }

  fs::path dir_;
};

constexpr std::uint64_t u64max = std::numeric_limits<std::uint64_t>::max();

}  // namespace

TEST(TraceFormat, NamesRoundTrip) {
  const trace_format all[] = {trace_format::oracle_general, trace_format::u32be,
                              trace_format::i32be,          trace_format::i64be,
                              trace_format::arc,            trace_format::lines,
                              trace_format::csv};
  const std::string_view names[] = {"oracle-general", "u32be", "i32be", "i64be",
                                    "arc",            "lines", "csv"};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    EXPECT_EQ(to_string(all[i]), names[i]);
    EXPECT_EQ(parse_trace_format(names[i]), all[i]) << names[i];
  }
  EXPECT_EQ(parse_trace_format("oracleGeneral"), std::nullopt);
  EXPECT_EQ(parse_trace_format("LINES"), std::nullopt);
  EXPECT_EQ(parse_trace_format(""), std::nullopt);
  EXPECT_EQ(parse_trace_format("bogus"), std::nullopt);
}

TEST_F(TraceTest, OracleGeneralKeepsIdAndSize) {
  const auto path = write("t.oracleGeneral.bin",
                          oracle_general({{1, 42, 4096, 2},
                                          {2, 0x0123456789abcdefULL, 512, -1},
                                          {3, 42, 69632, -1},
                                          {4, u64max, 0xffffffffu, -1}}));
  const auto t = load_trace(spec(path, trace_format::oracle_general));
  EXPECT_EQ(keys_of(t), (std::vector<std::uint64_t>{42, 0x0123456789abcdefULL, 42, u64max}));
  EXPECT_EQ(sizes_of(t), (std::vector<std::uint32_t>{4096, 512, 69632, 0xffffffffu}));
  for (const auto& r : t) EXPECT_EQ(r.next_access, -1);  // not filled by load_trace
}

TEST_F(TraceTest, OracleGeneralTruncatedRecordNamesOffset) {
  auto data = oracle_general({{1, 1, 1, -1}, {2, 2, 2, -1}});
  data.resize(data.size() + 10, 0xab);
  const auto path = write("trunc.bin", data);
  const auto msg = error_of(spec(path, trace_format::oracle_general));
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 48"), std::string::npos) << msg;
}

TEST_F(TraceTest, OracleGeneralAcrossChunkBoundaries) {
  // 24-byte records do not divide the 1 MiB chunk: records straddle chunks. Plain and zstd.
  std::vector<og_record> recs;
  std::mt19937_64 rng(7);
  for (std::uint32_t i = 0; i < 150'000; ++i) {
    recs.push_back({i, rng(), static_cast<std::uint32_t>(rng()), -1});
  }
  const auto data = oracle_general(recs);
  for (const auto& path : {write("big.bin", data), write("big.bin.zst", zst(data))}) {
    const auto t = load_trace(spec(path, trace_format::oracle_general));
    ASSERT_EQ(t.size(), recs.size()) << path;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      ASSERT_EQ(t[i].key, recs[i].id) << path << " #" << i;
      ASSERT_EQ(t[i].size, recs[i].size) << path << " #" << i;
    }
  }
}

TEST_F(TraceTest, U32be) {
  bytes b;
  for (std::uint64_t v : {0x01020304ULL, 0ULL, 0xffffffffULL, 0x80000000ULL, 7ULL}) put_be(b, v, 4);
  const auto t = load_trace(spec(write("a.trace", b), trace_format::u32be));
  EXPECT_EQ(keys_of(t), (std::vector<std::uint64_t>{0x01020304, 0, 0xffffffff, 0x80000000, 7}));
  EXPECT_EQ(sizes_of(t), std::vector<std::uint32_t>(5, 1));
}

TEST_F(TraceTest, I32beSignExtendsTwosComplement) {
  bytes b;
  for (std::int32_t v : {5, -1, -2, std::numeric_limits<std::int32_t>::min(),
                         std::numeric_limits<std::int32_t>::max()}) {
    put_be(b, static_cast<std::uint32_t>(v), 4);
  }
  const auto t = load_trace(spec(write("a.trace", b), trace_format::i32be));
  // -1 and -2 land exactly on the engine's reserved keys: load_trace leaves them alone.
  EXPECT_EQ(keys_of(t), (std::vector<std::uint64_t>{5, u64max, u64max - 1, 0xffffffff80000000ULL,
                                                    0x7fffffff}));
}

TEST_F(TraceTest, I64be) {
  bytes b;
  for (std::int64_t v : {std::int64_t{1} << 40, std::int64_t{-1},
                         std::numeric_limits<std::int64_t>::min(), std::int64_t{0}}) {
    put_be(b, static_cast<std::uint64_t>(v), 8);
  }
  const auto t = load_trace(spec(write("a.trace", b), trace_format::i64be));
  EXPECT_EQ(keys_of(t), (std::vector<std::uint64_t>{1ULL << 40, u64max, 0x8000000000000000ULL, 0}));
}

TEST_F(TraceTest, BigEndianPartialElementNamesOffset) {
  bytes b32;
  put_be(b32, 1, 4);
  put_be(b32, 2, 2);
  auto msg = error_of(spec(write("p32.trace", b32), trace_format::u32be));
  EXPECT_NE(msg.find("p32.trace"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 4"), std::string::npos) << msg;

  bytes b64;
  put_be(b64, 1, 8);
  put_be(b64, 2, 8);
  put_be(b64, 3, 3);
  msg = error_of(spec(write("p64.trace", b64), trace_format::i64be));
  EXPECT_NE(msg.find("offset 16"), std::string::npos) << msg;
}

TEST_F(TraceTest, ArcExpandsCounts) {
  const auto path = write("t.lis", "10 3 0 0\n5 1 0 1\n\n 7  2\t0 2 \r\n10 1 0 3");
  const auto t = load_trace(spec(path, trace_format::arc));
  EXPECT_EQ(keys_of(t), (std::vector<std::uint64_t>{10, 11, 12, 5, 7, 8, 10}));
  EXPECT_EQ(sizes_of(t), std::vector<std::uint32_t>(7, 1));
}

TEST_F(TraceTest, ArcLimitCountsExpandedRequests) {
  const auto path = write("t.lis", "10 3 0 0\n20 3 0 1\nthis line is never read\n");
  EXPECT_EQ(keys_of(load_trace(spec(path, trace_format::arc, 2))),
            (std::vector<std::uint64_t>{10, 11}));
  EXPECT_EQ(keys_of(load_trace(spec(path, trace_format::arc, 4))),
            (std::vector<std::uint64_t>{10, 11, 12, 20}));
}

TEST_F(TraceTest, ArcMalformedLineNamesLine) {
  for (const std::string_view bad : {"1 x 0 0", "1 1 0", "1 1 0 0 9", "-1 1 0 0"}) {
    const auto path = write("bad.lis", "1 1 0 0\n" + std::string(bad) + "\n2 1 0 2\n");
    const auto msg = error_of(spec(path, trace_format::arc));
    EXPECT_NE(msg.find(path + ":2"), std::string::npos) << msg;
  }
}

TEST_F(TraceTest, LinesSkipsBlanksAndHandlesCrLf) {
  const auto path = write("t.txt", "1\n\n  2  \r\n18446744073709551615\n+4\n-1\n\r\n  \n3");
  const auto t = load_trace(spec(path, trace_format::lines));
  EXPECT_EQ(keys_of(t), (std::vector<std::uint64_t>{1, 2, u64max, 4, u64max, 3}));
}

TEST_F(TraceTest, LinesNonNumericNamesLineAndText) {
  const auto path = write("t.txt", "1\n2\nabc\n4\n");
  const auto msg = error_of(spec(path, trace_format::lines));
  EXPECT_NE(msg.find(path + ":3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("abc"), std::string::npos) << msg;
  // Out of range and trailing junk are not integers either.
  EXPECT_NE(error_of(spec(write("o.txt", "18446744073709551616\n"), trace_format::lines))
                .find(":1"),
            std::string::npos);
  EXPECT_NE(error_of(spec(write("j.txt", "5\n6x\n"), trace_format::lines)).find(":2"),
            std::string::npos);
}

TEST_F(TraceTest, LinesLimitAndLongLines) {
  // A line far longer than the 1 MiB chunk, and many short lines across chunk boundaries.
  std::string text(3 << 20, ' ');
  text += "77\n";
  std::vector<std::uint64_t> want{77};
  for (std::uint64_t i = 0; i < 300'000; ++i) {
    const std::uint64_t k = i * 2654435761ULL;
    text += std::to_string(k) + "\n";
    want.push_back(k);
  }
  const auto path = write("long.txt", text);
  EXPECT_EQ(keys_of(load_trace(spec(path, trace_format::lines))), want);
  EXPECT_EQ(keys_of(load_trace(spec(path, trace_format::lines, 3))),
            (std::vector<std::uint64_t>(want.begin(), want.begin() + 3)));
}

TEST_F(TraceTest, CsvColumnDelimiterHeaderAndHashedKeys) {
  auto s = spec(write("t.csv",
                      "time;key;size\n"
                      "1;100;5\n"
                      "2; \"foobar\" ;5\n"
                      "3;a;5\n"
                      "\n"
                      "4;\"x\"\"y\";5\n"
                      "5;100;5\n"
                      "6;-2;5\n"
                      "7;a;5\n"),
                trace_format::csv);
  s.csv_column = 1;
  s.csv_delimiter = ';';
  s.csv_header = true;
  const auto t = load_trace(s);
  // Non-integer keys: 64-bit FNV-1a of the unquoted, trimmed field (stable; documented in
  // parse_text.cpp). "a" and "foobar" are FNV-1a 64 reference vectors; x"y computed independently.
  constexpr std::uint64_t fnv_a = 0xaf63dc4c8601ec8cULL;
  constexpr std::uint64_t fnv_foobar = 0x85944171f73967e8ULL;
  constexpr std::uint64_t fnv_x_quote_y = 0xbec5b5197f252312ULL;
  EXPECT_EQ(keys_of(t), (std::vector<std::uint64_t>{100, fnv_foobar, fnv_a, fnv_x_quote_y, 100,
                                                    u64max - 1, fnv_a}));
}

TEST_F(TraceTest, CsvErrors) {
  auto s = spec(write("t.csv", "1,2\n3\n"), trace_format::csv);
  s.csv_column = 1;
  auto msg = error_of(s);
  EXPECT_NE(msg.find(s.path + ":2"), std::string::npos) << msg;

  s = spec(write("e.csv", "1,2\n3,\n"), trace_format::csv);
  s.csv_column = 1;
  msg = error_of(s);
  EXPECT_NE(msg.find(s.path + ":2"), std::string::npos) << msg;

  s = spec(write("h.csv", "key\n"), trace_format::csv);
  s.csv_header = true;
  EXPECT_NE(error_of(s).find("empty trace"), std::string::npos);

  // Without a header flag a header line is just a (hashed) key.
  s.csv_header = false;
  EXPECT_EQ(load_trace(s).size(), 1u);
}

TEST_F(TraceTest, CompressedFilesDecodeTransparently) {
  bytes b;
  std::vector<std::uint64_t> want;
  for (std::uint32_t i = 0; i < 400'000; ++i) {  // 1.6 MB: more than one output chunk
    const std::uint32_t v = i * 2654435761u;
    put_be(b, v, 4);
    want.push_back(v);
  }
  for (const auto& path : {write("a.trace.xz", xz(b)), write("a.trace.zst", zst(b))}) {
    EXPECT_EQ(keys_of(load_trace(spec(path, trace_format::u32be))), want) << path;
    EXPECT_EQ(load_trace(spec(path, trace_format::u32be, 10)).size(), 10u) << path;
  }
  // Concatenated streams / frames decode as one.
  auto xz2 = xz(bytes_of("1\n2\n"));
  const auto tail = xz(bytes_of("3\n"));
  xz2.insert(xz2.end(), tail.begin(), tail.end());
  EXPECT_EQ(keys_of(load_trace(spec(write("c.txt.xz", xz2), trace_format::lines))),
            (std::vector<std::uint64_t>{1, 2, 3}));
  auto zst2 = zst(bytes_of("1\n2\n"));
  const auto ztail = zst(bytes_of("3\n"));
  zst2.insert(zst2.end(), ztail.begin(), ztail.end());
  EXPECT_EQ(keys_of(load_trace(spec(write("c.txt.zst", zst2), trace_format::lines))),
            (std::vector<std::uint64_t>{1, 2, 3}));
  // Text formats go through the same decoders.
  EXPECT_EQ(keys_of(load_trace(spec(write("t.lis.zst", zst(bytes_of("4 2 0 0\n"))),
                                    trace_format::arc))),
            (std::vector<std::uint64_t>{4, 5}));
}

TEST_F(TraceTest, DecodedSizeHints) {
  // load_trace reserves from these hints; a wrong hint only costs time, so check them here.
  const bytes data(100'000, 0x42);
  const auto hint = [](const std::string& path) {
    return belady::replay::detail::open_byte_source(path)->size_hint();
  };
  EXPECT_EQ(hint(write("p.bin", data)), 100'000u);
  EXPECT_EQ(hint(write("p.bin.xz", xz(data))), 100'000u);
  EXPECT_EQ(hint(write("p.bin.zst", zst(data))), 100'000u);
  // Concatenated .xz streams with stream padding (4 zero bytes) between and after: all counted.
  auto two = xz(data);
  two.insert(two.end(), 4, 0);
  const auto second = xz(bytes(780, 1));
  two.insert(two.end(), second.begin(), second.end());
  two.insert(two.end(), 8, 0);
  const auto two_path = write("two.bin.xz", two);
  EXPECT_EQ(hint(two_path), 100'780u);
  EXPECT_EQ(load_trace(spec(two_path, trace_format::u32be)).size(), 100'780u / 4);
  // A damaged footer gives no hint (the decoder reports the damage).
  auto bad = xz(data);
  bad[bad.size() - 3] ^= 0xff;
  EXPECT_EQ(hint(write("bad.bin.xz", bad)), std::nullopt);
}

TEST_F(TraceTest, CorruptCompressedFilesNameDecoderMessage) {
  bytes b;
  for (std::uint32_t i = 0; i < 50'000; ++i) put_be(b, i * 7919u, 4);

  auto bad_xz = xz(b);
  ASSERT_GT(bad_xz.size(), 200u);
  for (std::size_t i = 100; i < 140; ++i) bad_xz[i] ^= 0x5a;
  auto path = write("bad.trace.xz", bad_xz);
  auto msg = error_of(spec(path, trace_format::u32be));
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("xz"), std::string::npos) << msg;

  auto cut_xz = xz(b);
  cut_xz.resize(cut_xz.size() / 2);
  path = write("cut.trace.xz", cut_xz);
  msg = error_of(spec(path, trace_format::u32be));
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  path = write("notxz.trace.xz", "this is not xz data at all");
  msg = error_of(spec(path, trace_format::u32be));
  EXPECT_NE(msg.find("not in the .xz format"), std::string::npos) << msg;

  auto bad_zst = zst(b);
  ASSERT_GT(bad_zst.size(), 40u);
  for (std::size_t i = 4; i < 40; ++i) bad_zst[i] ^= 0x5a;
  path = write("bad.trace.zst", bad_zst);
  msg = error_of(spec(path, trace_format::u32be));
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("zstd"), std::string::npos) << msg;

  auto cut_zst = zst(b);
  cut_zst.resize(cut_zst.size() / 2);
  path = write("cut.trace.zst", cut_zst);
  msg = error_of(spec(path, trace_format::u32be));
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(TraceTest, MissingFileNamesPathAndStrerror) {
  const auto path = (dir_ / "does-not-exist.trace").string();
  for (const auto& p : {path, path + ".xz", path + ".zst"}) {
    const auto msg = error_of(spec(p, trace_format::u32be));
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::strerror(ENOENT)), std::string::npos) << msg;
  }
}

TEST_F(TraceTest, EmptyTracesAreErrors) {
  for (const auto f : {trace_format::oracle_general, trace_format::u32be, trace_format::i64be,
                       trace_format::arc, trace_format::lines, trace_format::csv}) {
    const auto path = write("empty.trace", "");
    const auto msg = error_of(spec(path, f));
    EXPECT_NE(msg.find(path + ": empty trace"), std::string::npos) << to_string(f) << ": " << msg;
  }
  const auto blank = write("blank.txt", "\n  \n\r\n");
  EXPECT_NE(error_of(spec(blank, trace_format::lines)).find("empty trace"), std::string::npos);
  EXPECT_NE(error_of(spec(blank, trace_format::arc)).find("empty trace"), std::string::npos);
  const auto empty_zst = write("empty.trace.zst", zst({}));
  EXPECT_NE(error_of(spec(empty_zst, trace_format::u32be)).find("empty trace"), std::string::npos);
  const auto empty_xz = write("empty.trace.xz", xz({}));
  EXPECT_NE(error_of(spec(empty_xz, trace_format::u32be)).find("empty trace"), std::string::npos);
}

// ---- The shared public traces (../shared/traces/README.md) ----

namespace {

struct shared_trace {
  const char* file;
  trace_format format;
  std::size_t requests;
  std::size_t unique;
};

void check_shared_trace(const shared_trace& st) {
  const fs::path dir = BELADY_TRACES_DIR;
  if (dir.empty() || !fs::is_directory(dir)) {
    GTEST_SKIP() << "no shared traces at '" << dir.string() << "'";
  }
  const fs::path path = dir / st.file;
  if (!fs::exists(path)) GTEST_SKIP() << "missing " << path.string();
  trace_spec s;
  s.path = path.string();
  s.format = st.format;
  const auto t0 = std::chrono::steady_clock::now();
  const auto t = load_trace(s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ trace    ] %-34s %-14s %9zu requests, load %.3f s\n", st.file,
              std::string(to_string(st.format)).c_str(), t.size(), secs);
  EXPECT_EQ(t.size(), st.requests);
  std::unordered_set<std::uint64_t> unique;
  unique.reserve(st.unique * 2);
  for (const auto& r : t) unique.insert(r.key);
  EXPECT_EQ(unique.size(), st.unique);

  s.limit = 1000;
  EXPECT_EQ(load_trace(s).size(), 1000u);
}

}  // namespace

TEST(SharedTraces, CloudPhysicsIO) {
  check_shared_trace(
      {"cloudPhysicsIO.oracleGeneral.bin", trace_format::oracle_general, 113'872, 48'974});
  if (IsSkipped()) return;
  // Requested bytes, from the README appendix (byte miss ratios are over 4,368,040,448 bytes).
  trace_spec s;
  s.path = (fs::path(BELADY_TRACES_DIR) / "cloudPhysicsIO.oracleGeneral.bin").string();
  s.format = trace_format::oracle_general;
  std::uint64_t bytes_total = 0;
  for (const auto& r : load_trace(s)) bytes_total += r.size;
  EXPECT_EQ(bytes_total, 4'368'040'448ULL);
}

TEST(SharedTraces, W106Xz) { check_shared_trace({"w106.trace.xz", trace_format::u32be, 5'292'456, 275'171}); }

TEST(SharedTraces, OltpArc) {
  check_shared_trace({"OLTP.lis", trace_format::arc, 914'145, 186'880});
}

TEST(SharedTraces, ScarabRecs) {
  check_shared_trace({"scarab-recs.trace", trace_format::i64be, 1'245'184, 258'368});
}

TEST(SharedTraces, OrmBusyXz) {
  check_shared_trace({"orm-busy.trace.xz", trace_format::i32be, 5'000'000, 76'349});
}

TEST(SharedTraces, Web12) {
  check_shared_trace({"web12.trace", trace_format::i32be, 95'607, 13'756});
}
