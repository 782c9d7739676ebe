#include "ops/alert_monitor.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "belady/error.hpp"
#include "belady/logging.hpp"

namespace belady::ops {
namespace {

bool lower_is_worse(alert_metric m) {
  return m == alert_metric::hit_ratio || m == alert_metric::prediction_accuracy;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// p99, in microseconds, of the calls recorded between two internal histograms: the midpoint of
/// the bucket holding it (within 1/32 of the true value). False when fewer than `min_samples`
/// calls lie between them, or when `now` is not later than `before` (counts never decrease).
bool p99_between(const std::vector<std::uint64_t>& before, const std::vector<std::uint64_t>& now,
                 std::uint64_t min_samples, double& p99) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < now.size(); ++i) {
    const std::uint64_t b = i < before.size() ? before[i] : 0;
    if (now[i] < b) return false;
    total += now[i] - b;
  }
  if (total == 0 || total < min_samples) return false;
  const auto rank = static_cast<std::uint64_t>(std::ceil(0.99 * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < now.size(); ++i) {
    seen += now[i] - (i < before.size() ? before[i] : 0);
    if (seen >= rank) {
      const int b = static_cast<int>(i);
      p99 = 0.5 * static_cast<double>(latency_histogram::lower_bound(b) + latency_histogram::upper_bound(b)) / 1e3;
      return true;
    }
  }
  return false;
}

}  // namespace

void validate_rule(const alert_rule& r, std::size_t index) {
  const std::string name = "alert rule " + std::to_string(index) + " (" + to_string(r.metric) + ")";
  auto reject = [&](const std::string& why) { throw invalid_argument("belady: " + name + ": " + why); };
  if (static_cast<int>(r.metric) > static_cast<int>(alert_metric::prediction_accuracy)) reject("unknown metric");
  if (!std::isfinite(r.warning) || !std::isfinite(r.critical)) reject("thresholds must be finite");
  if (lower_is_worse(r.metric)) {
    if (r.critical > r.warning)
      reject("lower is worse, so critical (" + number(r.critical) + ") must be <= warning (" + number(r.warning) + ")");
    if (r.warning < 0 || r.warning > 1) reject("warning " + number(r.warning) + " is not a ratio in [0, 1]");
  } else {
    if (r.critical < r.warning)
      reject("higher is worse, so critical (" + number(r.critical) + ") must be >= warning (" + number(r.warning) + ")");
    if (r.warning < 0) reject("warning " + number(r.warning) + " is negative");
  }
  if (r.metric == alert_metric::hit_ratio && r.window_seconds != 1 && r.window_seconds != 10 && r.window_seconds != 60)
    reject("window_seconds must be 1, 10 or 60, got " + number(r.window_seconds));
  if (r.op && static_cast<int>(*r.op) >= operation_count) reject("unknown operation");
}

void alert_monitor::set_rules(std::vector<alert_rule> rules) {
  for (std::size_t i = 0; i < rules.size(); ++i) validate_rule(rules[i], i);
  std::lock_guard lock(mutex_);
  rules_.clear();
  for (auto& r : rules) {
    rules_.push_back(rule_state{std::move(r), alert_level::ok, {}, {}});
    rules_.back().last_p99.fill(std::numeric_limits<double>::quiet_NaN());
  }
}

std::vector<alert_rule> alert_monitor::rules() const {
  std::lock_guard lock(mutex_);
  std::vector<alert_rule> out;
  for (const auto& s : rules_) out.push_back(s.rule);
  return out;
}

std::uint64_t alert_monitor::subscribe(alert_callback cb) {
  if (!cb) throw invalid_argument("belady: subscribe: callback is empty");
  std::lock_guard lock(mutex_);
  subscribers_.emplace_back(next_id_, std::move(cb));
  return next_id_++;
}

bool alert_monitor::unsubscribe(std::uint64_t id) {
  bool found = false;
  {
    std::lock_guard lock(mutex_);
    for (auto it = subscribers_.begin(); it != subscribers_.end(); ++it)
      if (it->first == id) {
        subscribers_.erase(it);
        found = true;
        break;
      }
  }
  // A delivery under way on another thread may have checked the subscription just before: wait
  // for it to end, so that after this returns the callback is never running or called again
  // (deliveries check the subscription before each call). On the delivering thread itself (a
  // callback unsubscribing) there is nothing to wait for: the call in progress is the caller's.
  if (found && delivering_.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
    std::lock_guard wait(delivery_mutex_);
  }
  return found;
}

bool alert_monitor::subscribed(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  for (const auto& [sid, cb] : subscribers_)
    if (sid == id) return true;
  return false;
}

bool alert_monitor::active() const {
  std::lock_guard lock(mutex_);
  return !rules_.empty() && !subscribers_.empty();
}

std::pair<std::uint64_t, std::uint64_t> alert_monitor::counts() const {
  std::lock_guard lock(mutex_);
  std::uint64_t warning = 0, critical = 0;
  for (const auto& s : rules_) {
    warning += s.level == alert_level::warning;
    critical += s.level == alert_level::critical;
  }
  return {warning, critical};
}

bool alert_monitor::value_of(rule_state& s, const metrics_snapshot& m, const fine_histograms& fine, double& value) {
  const alert_rule& r = s.rule;
  switch (r.metric) {
    case alert_metric::hit_ratio:
      for (const auto& w : m.windows)
        if (w.seconds == r.window_seconds) {
          if (w.lookups == 0 || w.lookups < r.min_samples) return false;
          value = w.hit_ratio;
          return true;
        }
      return false;
    case alert_metric::latency_p99_us: {
      // Each operation's calls since it was last judged (the histograms are cumulative): a slow
      // start must not keep a rule critical forever, and a recovery must clear it. An operation
      // not judged (too few calls) keeps its reference, so slow traffic accumulates until it is
      // judged, and keeps its last p99 while it has calls pending; one with no calls since drops
      // out. Without an operation the rule judges the worst of those p99s: merged, a few slow
      // inserts would hide under many fast finds, and judging only the operations with enough
      // calls this time would let a slow, rarely called one flap between its level and ok.
      bool judged_now = false, any = false;
      for (int o = 0; o < operation_count; ++o) {
        if (r.op && static_cast<int>(*r.op) != o) continue;
        const auto i = static_cast<std::size_t>(o);
        double p99 = 0;
        if (p99_between(s.last_counts[i], fine[i], std::max<std::uint64_t>(r.min_samples, 1), p99)) {
          s.last_counts[i] = fine[i];
          s.last_p99[i] = p99;
          judged_now = true;
        } else if (!p99_between(s.last_counts[i], fine[i], 1, p99)) {
          s.last_p99[i] = std::numeric_limits<double>::quiet_NaN();  // idle since: drops out
        }
        if (!std::isnan(s.last_p99[i])) {
          value = any ? std::max(value, s.last_p99[i]) : s.last_p99[i];
          any = true;
        }
      }
      return judged_now && any;
    }
    case alert_metric::memory_bytes:
      value = static_cast<double>(m.device_bytes + m.host_bytes);
      return true;
    case alert_metric::prediction_accuracy:
      if (m.prediction_accuracy < 0) return false;
      value = m.prediction_accuracy;
      return true;
  }
  return false;
}

std::vector<alert_event> alert_monitor::judge(const metrics_snapshot& m, const fine_histograms& fine) {
  evaluation out;
  std::vector<alert_event>& events = out.events;
  std::vector<subscriber>& listeners = out.listeners;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      rule_state& s = rules_[i];
      double value = 0;
      if (!value_of(s, m, fine, value)) continue;
      const alert_rule& r = s.rule;
      const bool low = lower_is_worse(r.metric);
      const auto reaches = [&](double threshold) { return low ? value <= threshold : value >= threshold; };
      const alert_level level = reaches(r.critical) ? alert_level::critical
                                : reaches(r.warning) ? alert_level::warning
                                                     : alert_level::ok;
      if (level == s.level) continue;
      alert_event e;
      e.rule = i;
      e.metric = r.metric;
      e.level = level;
      e.previous = s.level;
      e.value = value;
      e.threshold = level == alert_level::critical ? r.critical : r.warning;
      e.at = std::chrono::system_clock::now();
      std::string what = to_string(r.metric);
      if (r.metric == alert_metric::hit_ratio) what += " over " + number(r.window_seconds) + " s";
      if (r.metric == alert_metric::latency_p99_us) what += r.op ? std::string(" of ") + to_string(*r.op) : " (worst operation)";
      e.message = what + " is " + number(value) +
                  (level == alert_level::ok ? std::string(", back ") + (low ? "above" : "below") + " the warning level "
                                            : std::string(low ? ", at or below" : ", at or above") + " the " +
                                                  to_string(level) + " level ") +
                  number(e.threshold) + " (was " + to_string(s.level) + ")";
      s.level = level;
      events.push_back(std::move(e));
    }
    if (!events.empty())
      listeners = subscribers_;
  }
  std::vector<alert_event> judged = events;
  if (!events.empty()) {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(out));
  }
  return judged;
}

void alert_monitor::deliver_pending() {
  // A callback evaluating again on the delivering thread: its events are queued behind the
  // ones being delivered, and this thread's loop below delivers them next.
  if (delivering_.load(std::memory_order_relaxed) == std::this_thread::get_id()) return;
  std::lock_guard lock(delivery_mutex_);
  delivering_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  struct reset {
    std::atomic<std::thread::id>& d;
    ~reset() { d.store(std::thread::id{}, std::memory_order_relaxed); }
  } guard{delivering_};
  for (;;) {
    evaluation e;
    {
      std::lock_guard q(queue_mutex_);
      if (queue_.empty()) return;
      e = std::move(queue_.front());
      queue_.pop_front();
    }
    for (const alert_event& ev : e.events) deliver_one(ev, e.listeners);
  }
}

void alert_monitor::deliver_one(const alert_event& e, const std::vector<subscriber>& listeners) {
  {
    auto log = logger();
    const auto lvl = e.level == alert_level::critical  ? spdlog::level::err
                     : e.level == alert_level::warning ? spdlog::level::warn
                                                       : spdlog::level::info;
    log->log(lvl, "alert {}: {}", to_string(e.level), e.message);
    for (const auto& [id, cb] : listeners) {
      if (!subscribed(id)) continue;  // unsubscribed since this evaluation was judged
      try {
        cb(e);
      } catch (const std::exception& ex) {
        log->error("alert subscriber threw: {}", ex.what());
      } catch (...) {
        log->error("alert subscriber threw a non-exception");
      }
    }
  }
}

std::vector<alert_event> alert_monitor::evaluate(const metrics_snapshot& m, const fine_histograms& fine) {
  std::vector<alert_event> events = judge(m, fine);
  deliver_pending();
  return events;
}

}  // namespace belady::ops
