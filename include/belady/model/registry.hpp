#pragma once
/// @file
/// belady::model::model_registry: the installed models, the one the cache serves (active), and a
/// bounded history of earlier versions with their metadata, for promotion and rollback.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "belady/error.hpp"
#include "belady/model/model.hpp"
#include "belady/model/model_io.hpp"
#include "belady/types.hpp"

namespace belady::model {

/// Where a version stands in the registry.
enum class model_state : std::uint8_t {
  active,       ///< the model the cache serves (exactly one while any model is active)
  shadow,       ///< installed without activation: a candidate under evaluation
  retired,      ///< was active, replaced by activate()
  rolled_back,  ///< was active, replaced by rollback() or rollback_to() (reason recorded)
};

/// "active", "shadow", "retired" or "rolled_back".
[[nodiscard]] BELADY_API const char* to_string(model_state s) noexcept;

/// Makes the backend's copy of a model at install time: the host backend may return a host
/// copy (or nothing), the cuda backend a device allocation holding the model_params, whose
/// deleter frees it. install() calls it outside the registry's lock, set_uploader() under it, so
/// it must not call back into the registry. It may throw: the install then fails and nothing
/// changes.
using model_uploader = std::function<std::shared_ptr<const void>(const model_params&)>;

/**
 * @brief One installed model. Immutable: shared by the registry and by every batch that loaded
 * it, and freed (device copy included) when the last of them lets go.
 */
struct installed_model {
  std::uint64_t version = 0;         ///< assigned by the registry: 1, 2, 3, ... never reused
  std::uint64_t parent_version = 0;  ///< the version active when this one was installed (0: none)
  std::chrono::system_clock::time_point created_at{};  ///< when install() accepted it
  model_info info;                   ///< training samples, validation figures, note
  model_params params;               ///< host copy, validated
  std::shared_ptr<const void> device_copy;  ///< the uploader's result; null without an uploader

  /// What per-key code should read: the uploader's copy when there is one, else the host params.
  [[nodiscard]] const model_params* backend_params() const noexcept {
    return device_copy ? static_cast<const model_params*>(device_copy.get()) : &params;
  }
};

/// A snapshot of one history entry: the model's metadata and its current state.
struct model_record {
  std::uint64_t version = 0;
  std::uint64_t parent_version = 0;
  std::chrono::system_clock::time_point created_at{};
  model_info info;
  model_kind kind = model_kind::linear;
  std::uint32_t hidden = 0;
  model_state state = model_state::shadow;
  std::chrono::system_clock::time_point state_changed_at{};  ///< last state change
  std::string state_reason;  ///< why it reached its state (e.g. the rollback reason); may be empty
};

/// A registry's whole state, for snapshots (model_registry::state / restore).
struct registry_state {
  struct kept {
    model_record record;  ///< version, parent, created_at, info, state and its reason
    model_params params;
  };
  std::vector<kept> versions;               ///< ascending version
  std::vector<std::uint64_t> activations;   ///< the activation stack; back() is the active version
  std::uint64_t next_version = 1;
};

/// Construction options.
struct registry_config {
  /// Versions kept, the active one and its rollback target included (>= 2; the default keeps 16).
  std::size_t history_limit = 16;
  /// Device-copy maker (see model_uploader); may also be set later with set_uploader().
  model_uploader uploader{};
};

/**
 * @brief The installed models of one cache and which of them is active.
 *
 * The active model is a `std::atomic<std::shared_ptr<const installed_model>>`. active() is one
 * atomic load and takes no lock: call it once per batch (never per key) and keep the returned
 * pointer until the batch's work has completed, so that a swap never frees parameters still being
 * read. Activation, rollback and install-with-activation are one atomic store; readers never wait
 * for them. (In libstdc++ 12 the atomic shared_ptr is not lock-free: a load is ~14 ns alone and up
 * to ~180 ns contended, which is why it is once per batch.)
 *
 * History: up to `history_limit` versions with metadata. When an install exceeds the limit the
 * oldest version that is neither active, nor the rollback target (the version rollback() would
 * return to), nor pinned (pin()) is dropped; readers still holding it keep it alive. find() of a dropped version
 * returns null; activate/rollback_to of a dropped or never-assigned version throws.
 *
 * Rollback: each activation is remembered; rollback() undoes the latest one (the current model
 * becomes rolled_back with the given reason and the model active before it is active again), so
 * repeated rollbacks walk back through earlier activations that are still in the history.
 *
 * Thread safety: every member may be called concurrently from any number of threads. active()
 * and active_version() are lock-free with respect to the registry (one atomic load). Writers
 * (install, activate, rollback, rollback_to, set_uploader) and history readers (find, record,
 * history) serialize on an internal mutex that the request path never takes; the uploader runs
 * outside it. Every check happens before anything changes: a throwing call leaves the active
 * model and the history as they were.
 */
class BELADY_API model_registry {
 public:
  /// @throw belady::invalid_argument when history_limit < 2
  explicit model_registry(registry_config config = {});
  ~model_registry();
  model_registry(const model_registry&) = delete;
  model_registry& operator=(const model_registry&) = delete;

  /**
   * @brief Validates `params`, makes the device copy, assigns the next version and adds it to the
   * history; with `activate` it becomes the active model (the previous active one is retired),
   * otherwise it is a shadow.
   * @return the new version
   * @throw invalid_model when `params` fails validate() (nothing changes)
   * @throw whatever the uploader throws (nothing changes)
   */
  std::uint64_t install(const model_params& params, model_info info = {}, bool activate = true);

  /**
   * @brief Makes `version` the active model; the previous active one is retired. Activating the
   * active version does nothing. Any kept version may be activated (shadow, retired, rolled back).
   * @throw belady::invalid_argument naming `version` when it is unknown or was dropped
   */
  void activate(std::uint64_t version);

  /**
   * @brief Undoes the latest activation: the active model becomes rolled_back (with `reason`) and
   * the model active before it becomes active again.
   * @return the version now active
   * @throw belady::invalid_argument when there is no active model or no earlier activation kept
   */
  std::uint64_t rollback(std::string reason = {});

  /**
   * @brief Makes `version` active, marking the current active model rolled_back with `reason`:
   * the current model's activation is undone and `version` takes its place. A later rollback()
   * returns to the model active before `version` when `version` is an earlier activation still
   * remembered (the activations after it are forgotten), else to the model that was active
   * before the rolled-back one. Rolling back to the active version does nothing.
   * @throw belady::invalid_argument naming `version` when it is unknown or was dropped, or when
   *        no model is active
   */
  void rollback_to(std::uint64_t version, std::string reason = {});

  /// The active model, or null before the first activation. One atomic load, no lock.
  [[nodiscard]] std::shared_ptr<const installed_model> active() const noexcept {
    return active_.load(std::memory_order_acquire);
  }
  /// The active model's version, or 0.
  [[nodiscard]] std::uint64_t active_version() const noexcept;

  /// A kept version, or null when it is unknown or was dropped.
  [[nodiscard]] std::shared_ptr<const installed_model> find(std::uint64_t version) const;
  /// A kept version's metadata and state, or nullopt.
  [[nodiscard]] std::optional<model_record> record(std::uint64_t version) const;
  /// Every kept version, oldest first.
  [[nodiscard]] std::vector<model_record> history() const;
  /**
   * @brief Keeps `version` in the history however many versions are installed after it (workload
   * specialisation pins each class's model). Pinning a pinned version does nothing. Pins are not
   * part of state(): restore() clears them.
   * @throw belady::invalid_argument when `version` is unknown or was dropped, or when
   *        history_limit - 2 versions are pinned already
   */
  void pin(std::uint64_t version);
  /// Lets the history drop `version` again (it may be dropped at once when the history is over
  /// its limit). Unknown or dropped versions are ignored.
  void unpin(std::uint64_t version);
  [[nodiscard]] bool pinned(std::uint64_t version) const;

  /// The latest version assigned (0 before the first install), kept or not.
  [[nodiscard]] std::uint64_t latest_version() const;
  [[nodiscard]] std::size_t history_limit() const noexcept { return limit_; }

  /**
   * @brief Replaces the uploader and re-uploads every kept model with it (the active one is
   * swapped for its re-uploaded copy, same version). Readers holding the old copies keep them.
   * Runs under the registry's lock: call it at set-up, not on a hot path.
   * @throw whatever the uploader throws (nothing changes)
   */
  void set_uploader(model_uploader uploader);

  /// Every kept version with its parameters, and the activation stack (for snapshots).
  [[nodiscard]] registry_state state() const;

  /**
   * @brief Replaces the whole registry with `s` (a state() of a registry, possibly another
   * process's): versions, states, activation stack and the next version number. Every model is
   * validated and uploaded first; a bad state throws (invalid_model, invalid_argument) and
   * nothing changes. The active model is swapped with one atomic store.
   */
  void restore(const registry_state& s);

 private:
  struct entry {
    std::shared_ptr<const installed_model> model;
    model_state state;
    std::chrono::system_clock::time_point state_changed_at;
    std::string state_reason;
    bool pinned;
  };

  entry* find_entry(std::uint64_t version);
  const entry* find_entry(std::uint64_t version) const;
  entry& require(std::uint64_t version, const char* operation);
  void make_active(entry& next, model_state previous_becomes, const std::string& reason);
  void trim_history();
  [[nodiscard]] std::uint64_t rollback_target() const;
  static model_record to_record(const entry& e);

  std::atomic<std::shared_ptr<const installed_model>> active_;
  const std::size_t limit_;
  mutable std::mutex mutex_;          // guards everything below; never taken by active()
  std::deque<entry> history_;         // ascending version
  std::vector<std::uint64_t> activations_;  // activation stack; back() is the active version
  std::uint64_t next_version_ = 1;
  model_uploader uploader_;
  std::uint64_t uploader_generation_ = 0;
};

}  // namespace belady::model
