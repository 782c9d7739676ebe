#pragma once
/// @file
/// belady::tensor: the cache's batch operations on torch tensors (component belady::torch, built
/// when libtorch is found; see docs/torch.md).
///
/// Tensors and the cache's types:
///   keys    1-D [n]; uint64 keys as int64 (kLong, the same 64 bits), uint32 keys as int32 (kInt)
///   values  2-D [n, dim]; float -> kFloat, belady::half -> kHalf, belady::bfloat16 -> kBFloat16,
///           std::int8_t -> kChar, std::byte -> kByte
///   found   1-D [n] kBool
/// Device: CPU tensors for the host backend; CUDA tensors on the cache's device for the cuda
/// backend (when the torch build has CUDA; Debian's libtorch is CPU-only).
///
/// No copies when the layout allows: contiguous inputs and outputs are passed to the cache as
/// they are (the cache reads and writes their storage). A non-contiguous input is made
/// contiguous (one copy); an output must be contiguous, and must not require grad (the cache
/// writes its storage, which autograd would not see). Every check happens before anything runs
/// and throws belady::invalid_argument naming the tensor and what was expected.
#include <ATen/ATen.h>

#include <string>
#include <tuple>

#include "belady/cache.hpp"

namespace belady::tensor {

template <class Key>
[[nodiscard]] constexpr c10::ScalarType key_dtype() {
  return sizeof(Key) == 8 ? c10::ScalarType::Long : c10::ScalarType::Int;
}

template <class T>
[[nodiscard]] constexpr c10::ScalarType value_dtype() {
  if constexpr (std::is_same_v<T, float>) return c10::ScalarType::Float;
  else if constexpr (std::is_same_v<T, half>) return c10::ScalarType::Half;
  else if constexpr (std::is_same_v<T, bfloat16>) return c10::ScalarType::BFloat16;
  else if constexpr (std::is_same_v<T, std::int8_t>) return c10::ScalarType::Char;
  else return c10::ScalarType::Byte;
}

namespace detail {

[[noreturn]] inline void reject(const char* op, const char* name, const std::string& what) {
  throw invalid_argument(std::string("belady::tensor::") + op + ": " + name + ": " + what);
}

/// The device a cache's buffers live on.
template <class Cache>
c10::Device device_of(const Cache& c) {
  return c.executor() == backend::cuda ? c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(c.config().device))
                                       : c10::Device(c10::DeviceType::CPU);
}

template <class Cache>
void check_common(const char* op, const char* name, const at::Tensor& t, c10::ScalarType dtype, const Cache& c) {
  if (!t.defined()) reject(op, name, "undefined tensor");
  if (t.scalar_type() != dtype)
    reject(op, name, std::string("dtype ") + c10::toString(t.scalar_type()) + ", expected " + c10::toString(dtype));
  const c10::Device want = device_of(c);
  if (t.device() != want)
    reject(op, name, "on " + t.device().str() + ", the cache's " + std::string(to_string(c.executor())) +
                         " backend needs " + want.str());
}

template <class Cache>
at::Tensor keys_in(const char* op, const at::Tensor& keys, const Cache& c) {
  check_common(op, "keys", keys, key_dtype<typename Cache::key_type>(), c);
  if (keys.dim() != 1) reject(op, "keys", "expected a 1-D tensor [n], got " + std::to_string(keys.dim()) + "-D");
  return keys.contiguous();  // no copy when already contiguous
}

template <class Cache>
at::Tensor values_in(const char* op, const at::Tensor& values, std::int64_t n, const Cache& c) {
  check_common(op, "values", values, value_dtype<typename Cache::value_type>(), c);
  if (values.dim() != 2 || values.size(0) != n || values.size(1) != static_cast<std::int64_t>(c.dim()))
    reject(op, "values", "shape " + c10::str(values.sizes()) + ", expected [" + std::to_string(n) + ", " +
                             std::to_string(c.dim()) + "]");
  return values.contiguous();
}

template <class Cache>
void check_out(const char* op, const char* name, const at::Tensor& t, c10::ScalarType dtype, at::IntArrayRef shape,
               const Cache& c) {
  check_common(op, name, t, dtype, c);
  if (t.sizes() != shape) reject(op, name, "shape " + c10::str(t.sizes()) + ", expected " + c10::str(shape));
  if (!t.is_contiguous()) reject(op, name, "not contiguous: the cache writes its storage directly");
  if (t.requires_grad()) reject(op, name, "requires grad: the cache writes its storage, which autograd would not see");
}

template <class U, class V>
std::span<U> span_of(const at::Tensor& t) {
  return {reinterpret_cast<U*>(t.data_ptr()), static_cast<std::size_t>(t.numel()) * sizeof(V) / sizeof(U)};
}

}  // namespace detail

/**
 * @brief cache::find into caller tensors (no copies): `values` [n, dim] gets the hits' rows
 * (misses' rows unchanged), `found` [n] the flags. Returns the number of hits.
 */
template <cache_key Key, cache_value T>
std::size_t find(cache<Key, T>& c, const at::Tensor& keys, at::Tensor& values, at::Tensor& found,
                 stream_view stream = {}) {
  const at::Tensor k = detail::keys_in("find", keys, c);
  const std::int64_t n = k.size(0);
  detail::check_out("find", "values", values, value_dtype<T>(), {n, static_cast<std::int64_t>(c.dim())}, c);
  detail::check_out("find", "found", found, c10::ScalarType::Bool, {n}, c);
  return c.find(detail::span_of<const Key, Key>(k), detail::span_of<T, T>(values), detail::span_of<bool, bool>(found), {},
                stream);
}

/// cache::find returning new tensors on the cache's device: (values [n, dim], zero for misses;
/// found [n]).
template <cache_key Key, cache_value T>
std::tuple<at::Tensor, at::Tensor> find(cache<Key, T>& c, const at::Tensor& keys, stream_view stream = {}) {
  const at::Tensor k = detail::keys_in("find", keys, c);
  const auto opts = at::TensorOptions().device(detail::device_of(c));
  at::Tensor values = at::zeros({k.size(0), static_cast<std::int64_t>(c.dim())}, opts.dtype(value_dtype<T>()));
  at::Tensor found = at::zeros({k.size(0)}, opts.dtype(at::kBool));
  find(c, k, values, found, stream);
  return {values, found};
}

/// cache::insert_or_assign from tensors: keys [n], values [n, dim].
template <cache_key Key, cache_value T>
insert_result insert_or_assign(cache<Key, T>& c, const at::Tensor& keys, const at::Tensor& values,
                               stream_view stream = {}) {
  const at::Tensor k = detail::keys_in("insert_or_assign", keys, c);
  const at::Tensor v = detail::values_in("insert_or_assign", values, k.size(0), c);
  return c.insert_or_assign(detail::span_of<const Key, Key>(k), detail::span_of<const T, T>(v), {}, stream);
}

/**
 * @brief cache::find_or_insert in place: `values` [n, dim] holds the rows to insert for absent
 * keys and receives the stored rows; `found` [n] the flags. Returns the number found.
 */
template <cache_key Key, cache_value T>
std::size_t find_or_insert(cache<Key, T>& c, const at::Tensor& keys, at::Tensor& values, at::Tensor& found,
                           stream_view stream = {}) {
  const at::Tensor k = detail::keys_in("find_or_insert", keys, c);
  const std::int64_t n = k.size(0);
  detail::check_out("find_or_insert", "values", values, value_dtype<T>(), {n, static_cast<std::int64_t>(c.dim())}, c);
  detail::check_out("find_or_insert", "found", found, c10::ScalarType::Bool, {n}, c);
  return c.find_or_insert(detail::span_of<const Key, Key>(k), detail::span_of<T, T>(values),
                          detail::span_of<bool, bool>(found), {}, stream);
}

}  // namespace belady::tensor
