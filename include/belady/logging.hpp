#pragma once
/// @file
/// belady logs through spdlog, to a logger named "belady" (stderr, level info, by default).
/// Replace it to route or format messages, or silence it with
/// `belady::logger()->set_level(spdlog::level::off)`. Nothing is logged on the per-request path:
/// only construction, online-learning decisions, trainer failures and restarts, snapshots, alert
/// level changes and health problems.
#include <memory>

#include <spdlog/logger.h>

#include "belady/types.hpp"

namespace belady {

/// The logger belady writes to (created on first use, never null).
[[nodiscard]] BELADY_API std::shared_ptr<spdlog::logger> logger();

/// Replaces the logger (null restores the default). Thread-safe; a message being written keeps
/// the logger it started with.
BELADY_API void set_logger(std::shared_ptr<spdlog::logger> replacement);

}  // namespace belady
