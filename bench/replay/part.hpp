#pragma once
// Trace halves for train/evaluate splits: "all", "first-half", "second-half".
#include <stdexcept>
#include <string>
#include <vector>

#include "request.hpp"

namespace belady::replay {

inline std::vector<request> select_part(std::vector<request> trace, const std::string& part) {
  const std::size_t half = trace.size() / 2;
  if (part == "all") return trace;
  if (part == "first-half") return std::vector<request>(trace.begin(), trace.begin() + half);
  if (part == "second-half") return std::vector<request>(trace.begin() + half, trace.end());
  throw std::invalid_argument("unknown part '" + part + "' (all, first-half, second-half)");
}

}  // namespace belady::replay
