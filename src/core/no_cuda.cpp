// Built when the cuda backend is not: the factory answers with a clear reason.
#include <string>

#include "backend.hpp"
#include "belady/cache.hpp"
#include "belady/error.hpp"

namespace belady {
bool cuda_backend_built() noexcept { return false; }
bool cuda_backend_available(int) noexcept { return false; }
}  // namespace belady

namespace belady::detail {

bool cuda_device_available(int) noexcept { return false; }
std::string cuda_unavailable_reason(int) { return "this build of belady has no cuda backend (BELADY_CUDA=OFF or no CUDA compiler found)"; }

template <class Key>
std::unique_ptr<backend<Key>> make_cuda_backend(const table_shape&, int) {
  throw backend_unavailable("belady: " + cuda_unavailable_reason(0));
}
template std::unique_ptr<backend<std::uint32_t>> make_cuda_backend<std::uint32_t>(const table_shape&, int);
template std::unique_ptr<backend<std::uint64_t>> make_cuda_backend<std::uint64_t>(const table_shape&, int);

}  // namespace belady::detail
