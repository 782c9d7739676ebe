#pragma once
// The host backend's eviction scoring, per instruction set, for the tests and the benchmark.
// The library calls score_candidates_host (belady/detail/learned.hpp), which picks one on first use.
#include <cstdint>

#include "belady/detail/learned.hpp"

namespace belady::detail {

/// Baseline x86-64 (SSE2) or the target's default instruction set.
void score_candidates_baseline(const slot_meta* const* metas, std::uint32_t n, const model::eviction_context& ctx,
                               const model::model_params& p, float* y);
/// AVX2 (8 lanes per instruction). Call only where host_scoring_has_avx2().
void score_candidates_avx2(const slot_meta* const* metas, std::uint32_t n, const model::eviction_context& ctx,
                           const model::model_params& p, float* y);
bool host_scoring_has_avx2();

}  // namespace belady::detail
