#pragma once
/// @file
/// Exceptions thrown by belady. Every check happens before anything stored is changed, so a
/// thrown exception leaves the cache exactly as it was.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace belady {

/// A caller error: bad argument, mismatched size, reserved key, wrong backend. The message names
/// the argument and says what was expected.
class invalid_argument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An allocation could not be satisfied. Carries the requested and available byte counts.
class out_of_memory : public std::bad_alloc {
 public:
  out_of_memory(std::string what, std::size_t requested, std::size_t available)
      : what_(std::move(what)), requested_(requested), available_(available) {}
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }
  [[nodiscard]] std::size_t requested_bytes() const noexcept { return requested_; }
  [[nodiscard]] std::size_t available_bytes() const noexcept { return available_; }

 private:
  std::string what_;
  std::size_t requested_;
  std::size_t available_;
};

/// A CUDA runtime call or kernel launch failed; the message names the call, file and line.
class cuda_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The requested backend is not available in this build or on this machine.
class backend_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace belady
