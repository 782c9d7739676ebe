// shared_alloc without the CUDA runtime: plain aligned host memory.
#include <new>

#include "support/device_buffer.hpp"

namespace belady_test {

void* shared_alloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  return ::operator new (bytes, std::align_val_t{64});
}
void shared_free(void* p) noexcept {
  if (p != nullptr) ::operator delete (p, std::align_val_t{64});
}
void shared_sync() {}
bool shared_memory_is_managed() noexcept { return false; }

}  // namespace belady_test
