#include "belady/model/registry.hpp"

#include <algorithm>
#include <utility>

namespace belady::model {

const char* to_string(model_state s) noexcept {
  switch (s) {
    case model_state::active: return "active";
    case model_state::shadow: return "shadow";
    case model_state::retired: return "retired";
    case model_state::rolled_back: return "rolled_back";
  }
  return "unknown";
}

model_registry::model_registry(registry_config config)
    : limit_(config.history_limit), uploader_(std::move(config.uploader)) {
  if (limit_ < 2)
    throw belady::invalid_argument("registry_config.history_limit is " + std::to_string(limit_) +
                                   ", expected >= 2 (the active version and its rollback target)");
}

model_registry::~model_registry() = default;

std::uint64_t model_registry::active_version() const noexcept {
  const auto m = active();
  return m ? m->version : 0;
}

model_registry::entry* model_registry::find_entry(std::uint64_t version) {
  // history_ is sorted by version: binary search.
  auto it = std::lower_bound(history_.begin(), history_.end(), version,
                             [](const entry& e, std::uint64_t v) { return e.model->version < v; });
  return it != history_.end() && it->model->version == version ? &*it : nullptr;
}

const model_registry::entry* model_registry::find_entry(std::uint64_t version) const {
  return const_cast<model_registry*>(this)->find_entry(version);
}

model_registry::entry& model_registry::require(std::uint64_t version, const char* operation) {
  if (entry* e = find_entry(version)) return *e;
  const std::string v = std::to_string(version);
  if (version == 0 || version >= next_version_)
    throw belady::invalid_argument(std::string(operation) + ": model version " + v + " is unknown (latest is " +
                                   std::to_string(next_version_ - 1) + ")");
  throw belady::invalid_argument(std::string(operation) + ": model version " + v +
                                 " was dropped from the history (it keeps " + std::to_string(limit_) +
                                 " versions; oldest kept is " + std::to_string(history_.front().model->version) + ")");
}

std::uint64_t model_registry::rollback_target() const {
  return activations_.size() >= 2 ? activations_[activations_.size() - 2] : 0;
}

void model_registry::make_active(entry& next, model_state previous_becomes, const std::string& reason) {
  const auto now = std::chrono::system_clock::now();
  if (!activations_.empty()) {
    if (entry* prev = find_entry(activations_.back()); prev != nullptr && prev != &next) {
      prev->state = previous_becomes;
      prev->state_changed_at = now;
      prev->state_reason = reason;
    }
  }
  next.state = model_state::active;
  next.state_changed_at = now;
  next.state_reason.clear();
  active_.store(next.model, std::memory_order_release);
}

void model_registry::trim_history() {
  // The activation stack must not grow without bound when a few kept versions are activated
  // back and forth: keep the latest entries (the rollback walk rarely needs more).
  const std::size_t max_stack = 4 * limit_;
  if (activations_.size() > max_stack)
    activations_.erase(activations_.begin(), activations_.end() - static_cast<std::ptrdiff_t>(max_stack));

  while (history_.size() > limit_) {
    const std::uint64_t active_v = activations_.empty() ? 0 : activations_.back();
    const std::uint64_t target_v = rollback_target();
    auto victim = std::find_if(history_.begin(), history_.end(), [&](const entry& e) {
      return e.model->version != active_v && e.model->version != target_v && !e.pinned;
    });
    // limit_ >= 2, at most two versions are protected besides the pinned ones and at most
    // limit_ - 2 are pinned (see pin), so a victim always exists.
    const std::uint64_t dropped = victim->model->version;
    history_.erase(victim);
    activations_.erase(std::remove(activations_.begin(), activations_.end(), dropped), activations_.end());
    activations_.erase(std::unique(activations_.begin(), activations_.end()), activations_.end());
  }
}

std::uint64_t model_registry::install(const model_params& params, model_info info, bool activate) {
  validate(params);
  std::unique_lock lock(mutex_);
  for (;;) {
    // Upload outside the lock (a device copy may take a while); retry if the uploader was
    // replaced meanwhile, so that every kept model has a copy from the current uploader.
    const model_uploader uploader = uploader_;
    const std::uint64_t generation = uploader_generation_;
    lock.unlock();
    std::shared_ptr<const void> copy = uploader ? uploader(params) : nullptr;
    lock.lock();
    if (generation != uploader_generation_) continue;

    auto model = std::make_shared<installed_model>();
    model->version = next_version_;
    model->parent_version = activations_.empty() ? 0 : activations_.back();
    model->created_at = std::chrono::system_clock::now();
    model->info = std::move(info);
    model->params = params;
    model->device_copy = std::move(copy);
    ++next_version_;

    history_.push_back(entry{std::move(model), model_state::shadow, std::chrono::system_clock::now(), {}, false});
    entry& added = history_.back();
    const std::uint64_t version = added.model->version;
    if (activate) {
      make_active(added, model_state::retired, {});
      activations_.push_back(version);
    }
    trim_history();
    return version;
  }
}

void model_registry::activate(std::uint64_t version) {
  std::lock_guard lock(mutex_);
  entry& e = require(version, "activate");
  if (!activations_.empty() && activations_.back() == version) return;
  make_active(e, model_state::retired, {});
  activations_.push_back(version);
  trim_history();
}

std::uint64_t model_registry::rollback(std::string reason) {
  std::lock_guard lock(mutex_);
  if (activations_.empty()) throw belady::invalid_argument("rollback: no model is active");
  const std::uint64_t target = rollback_target();
  if (target == 0)
    throw belady::invalid_argument("rollback: model version " + std::to_string(activations_.back()) +
                                   " is the only activation the history remembers; nothing to roll back to");
  // The rollback target is never dropped from the history (see trim_history).
  make_active(*find_entry(target), model_state::rolled_back, reason);
  activations_.pop_back();
  return target;
}

void model_registry::rollback_to(std::uint64_t version, std::string reason) {
  std::lock_guard lock(mutex_);
  entry& e = require(version, "rollback_to");
  if (activations_.empty())
    throw belady::invalid_argument("rollback_to(" + std::to_string(version) + "): no model is active to roll back");
  if (activations_.back() == version) return;
  make_active(e, model_state::rolled_back, reason);
  activations_.pop_back();
  if (auto it = std::find(activations_.rbegin(), activations_.rend(), version); it != activations_.rend())
    activations_.erase(it.base(), activations_.end());
  else
    activations_.push_back(version);
}

std::shared_ptr<const installed_model> model_registry::find(std::uint64_t version) const {
  std::lock_guard lock(mutex_);
  const entry* e = find_entry(version);
  return e ? e->model : nullptr;
}

model_record model_registry::to_record(const entry& e) {
  const installed_model& m = *e.model;
  return model_record{m.version,       m.parent_version, m.created_at, m.info,           m.params.kind,
                      m.params.hidden, e.state,          e.state_changed_at, e.state_reason};
}

std::optional<model_record> model_registry::record(std::uint64_t version) const {
  std::lock_guard lock(mutex_);
  const entry* e = find_entry(version);
  return e ? std::optional(to_record(*e)) : std::nullopt;
}

std::vector<model_record> model_registry::history() const {
  std::lock_guard lock(mutex_);
  std::vector<model_record> out;
  out.reserve(history_.size());
  for (const entry& e : history_) out.push_back(to_record(e));
  return out;
}

void model_registry::pin(std::uint64_t version) {
  std::lock_guard lock(mutex_);
  entry& e = require(version, "pin");
  if (e.pinned) return;
  const auto pinned = std::count_if(history_.begin(), history_.end(), [](const entry& x) { return x.pinned; });
  if (std::size_t(pinned) + 1 > limit_ - 2)
    throw belady::invalid_argument("pin: version " + std::to_string(version) + " would be pin number " +
                                   std::to_string(pinned + 1) + "; a history of " + std::to_string(limit_) +
                                   " versions allows " + std::to_string(limit_ - 2));
  e.pinned = true;
}

void model_registry::unpin(std::uint64_t version) {
  std::lock_guard lock(mutex_);
  if (entry* e = find_entry(version)) {
    e->pinned = false;
    trim_history();
  }
}

bool model_registry::pinned(std::uint64_t version) const {
  std::lock_guard lock(mutex_);
  const entry* e = find_entry(version);
  return e != nullptr && e->pinned;
}

std::uint64_t model_registry::latest_version() const {
  std::lock_guard lock(mutex_);
  return next_version_ - 1;
}

void model_registry::set_uploader(model_uploader uploader) {
  std::lock_guard lock(mutex_);
  // Build every replacement first: if the uploader throws, nothing has changed.
  std::vector<std::shared_ptr<const installed_model>> replaced;
  replaced.reserve(history_.size());
  for (const entry& e : history_) {
    auto m = std::make_shared<installed_model>(*e.model);
    m->device_copy = uploader ? uploader(m->params) : nullptr;
    replaced.push_back(std::move(m));
  }
  const std::uint64_t active_v = activations_.empty() ? 0 : activations_.back();
  for (std::size_t i = 0; i < history_.size(); ++i) {
    history_[i].model = std::move(replaced[i]);
    if (history_[i].model->version == active_v) active_.store(history_[i].model, std::memory_order_release);
  }
  uploader_ = std::move(uploader);
  ++uploader_generation_;
}

registry_state model_registry::state() const {
  std::lock_guard lock(mutex_);
  registry_state s;
  for (const entry& e : history_) s.versions.push_back({to_record(e), e.model->params});
  s.activations = activations_;
  s.next_version = next_version_;
  return s;
}

void model_registry::restore(const registry_state& s) {
  // Check everything before anything changes.
  std::uint64_t previous = 0;
  for (const auto& k : s.versions) {
    validate(k.params);
    if (k.record.version <= previous || k.record.version >= s.next_version)
      throw belady::invalid_argument("registry restore: version " + std::to_string(k.record.version) +
                                     " is out of order or not below the next version " + std::to_string(s.next_version));
    previous = k.record.version;
  }
  if (s.versions.size() > limit_)
    throw belady::invalid_argument("registry restore: " + std::to_string(s.versions.size()) +
                                   " versions exceed the history limit " + std::to_string(limit_));
  auto kept = [&](std::uint64_t v) {
    return std::any_of(s.versions.begin(), s.versions.end(), [v](const auto& k) { return k.record.version == v; });
  };
  for (const std::uint64_t v : s.activations)
    if (!kept(v)) throw belady::invalid_argument("registry restore: activation of version " + std::to_string(v) + ", which is not kept");

  std::unique_lock lock(mutex_);
  const model_uploader uploader = uploader_;
  lock.unlock();
  std::deque<entry> history;
  for (const auto& k : s.versions) {
    auto model = std::make_shared<installed_model>();
    model->version = k.record.version;
    model->parent_version = k.record.parent_version;
    model->created_at = k.record.created_at;
    model->info = k.record.info;
    model->params = k.params;
    model->device_copy = uploader ? uploader(k.params) : nullptr;
    const bool is_active = !s.activations.empty() && s.activations.back() == k.record.version;
    // The stored state of the active version is authoritative only through the activation stack.
    const model_state state = is_active ? model_state::active
                              : k.record.state == model_state::active ? model_state::retired
                                                                      : k.record.state;
    history.push_back(entry{std::move(model), state, k.record.state_changed_at, k.record.state_reason, false});
  }
  lock.lock();
  history_ = std::move(history);
  activations_ = s.activations;
  next_version_ = s.next_version;
  std::shared_ptr<const installed_model> active;
  if (!activations_.empty()) active = find_entry(activations_.back())->model;
  active_.store(std::move(active), std::memory_order_release);
}

}  // namespace belady::model
