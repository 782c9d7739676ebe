// The "belady" logger: created on first use (stderr, info), replaceable by the host.
#include "belady/logging.hpp"

#include <atomic>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace belady {
namespace {

std::atomic<std::shared_ptr<spdlog::logger>>& current() {
  static std::atomic<std::shared_ptr<spdlog::logger>> logger;
  return logger;
}

/// A host that registered its own logger named "belady" with spdlog gets it; otherwise a private
/// stderr logger (not registered, so a host registering "belady" later is not refused).
std::shared_ptr<spdlog::logger> make_default() {
  if (auto registered = spdlog::get("belady")) return registered;
  auto made = std::make_shared<spdlog::logger>("belady", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  made->set_level(spdlog::level::info);
  return made;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  auto l = current().load(std::memory_order_acquire);
  if (l) return l;
  std::shared_ptr<spdlog::logger> expected;
  auto made = make_default();
  // Two first uses at once: one default wins, the other is dropped.
  if (current().compare_exchange_strong(expected, made, std::memory_order_acq_rel)) return made;
  return expected;
}

void set_logger(std::shared_ptr<spdlog::logger> replacement) {
  current().store(replacement ? std::move(replacement) : make_default(), std::memory_order_release);
}

}  // namespace belady
