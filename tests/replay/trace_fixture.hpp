#pragma once
// Test helper: the shared public traces (../shared/traces, see its README.md) as request vectors,
// read here with small independent readers for the uncompressed files; the two .xz traces go
// through load_trace. Each trace is read once per test process and kept.
//
//   auto* t = belady::replay::testing::shared_trace("web12");
//   if (t == nullptr) GTEST_SKIP() << belady::replay::testing::missing_trace("web12");
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "request.hpp"
#include "trace.hpp"

#ifndef BELADY_TRACES_DIR
#define BELADY_TRACES_DIR ""
#endif

namespace belady::replay::testing {

inline std::filesystem::path traces_dir() { return BELADY_TRACES_DIR; }

inline std::vector<unsigned char> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + p.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// libCacheSim oracleGeneral: 24-byte LE records <u32 time, u64 id, u32 size, i64 next>; keeps
/// the sizes.
inline std::vector<request> read_oracle_general(const std::filesystem::path& p) {
  const auto b = read_bytes(p);
  if (b.size() % 24 != 0) throw std::runtime_error(p.string() + ": not a whole number of records");
  std::vector<request> t;
  t.reserve(b.size() / 24);
  for (std::size_t o = 0; o < b.size(); o += 24) {
    std::uint64_t id = 0;
    for (int i = 7; i >= 0; --i) id = id << 8 | b[o + 4 + i];
    std::uint32_t size = 0;
    for (int i = 3; i >= 0; --i) size = size << 8 | b[o + 12 + i];
    t.push_back({id, size, -1});
  }
  return t;
}

/// Big-endian integer arrays (`width` 4 or 8 bytes); unit sizes.
inline std::vector<request> read_big_endian(const std::filesystem::path& p, int width) {
  const auto b = read_bytes(p);
  if (b.size() % width != 0) throw std::runtime_error(p.string() + ": not a whole number of keys");
  std::vector<request> t;
  t.reserve(b.size() / width);
  for (std::size_t o = 0; o < b.size(); o += width) {
    std::uint64_t k = 0;
    for (int i = 0; i < width; ++i) k = k << 8 | b[o + i];
    t.push_back({k, 1, -1});
  }
  return t;
}

/// ARC .lis text: "start count ignored request_no" per line, expanded to `count` block ids.
inline std::vector<request> read_arc_lis(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("cannot open " + p.string());
  std::vector<request> t;
  std::uint64_t start = 0, count = 0, ignored = 0, reqno = 0;
  while (in >> start >> count >> ignored >> reqno) {
    for (std::uint64_t i = 0; i < count; ++i) t.push_back({start + i, 1, -1});
  }
  return t;
}

struct trace_file {
  const char* name;  ///< short name used by the tests
  const char* file;  ///< file under traces_dir()
};
inline constexpr trace_file trace_files[] = {
    {"cloudPhysicsIO", "cloudPhysicsIO.oracleGeneral.bin"},
    {"OLTP", "OLTP.lis"},
    {"web12", "web12.trace"},
    {"scarab", "scarab-recs.trace"},
    {"orm-busy", "orm-busy.trace.xz"},
    {"w106", "w106.trace.xz"},
};

inline std::filesystem::path trace_path(const std::string& name) {
  for (const auto& f : trace_files)
    if (name == f.name) return traces_dir() / f.file;
  throw std::invalid_argument("unknown shared trace " + name);
}

inline std::string missing_trace(const std::string& name) {
  return "shared trace not found: " + trace_path(name).string();
}

/// The trace with next_access annotated (sizes as stored: bytes for cloudPhysicsIO, else 1), or
/// nullptr when the file is absent.
inline const std::vector<request>* shared_trace(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::vector<request>>> cache;
  const std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  const auto path = trace_path(name);
  if (!std::filesystem::exists(path)) return nullptr;
  std::vector<request> t;
  if (name == "cloudPhysicsIO") {
    t = read_oracle_general(path);
  } else if (name == "OLTP") {
    t = read_arc_lis(path);
  } else if (name == "web12") {
    t = read_big_endian(path, 4);
  } else if (name == "scarab") {
    t = read_big_endian(path, 8);
  } else {
    trace_spec s;
    s.path = path.string();
    s.format = name == "w106" ? trace_format::u32be : trace_format::i32be;
    t = load_trace(s);
  }
  annotate_next_access(t);
  auto& slot = cache[name];
  slot = std::make_unique<std::vector<request>>(std::move(t));
  return slot.get();
}

}  // namespace belady::replay::testing
