/// @file simd_map.hpp
/// @brief Applies a function of xsimd batches to contiguous arrays, the ragged end included
/// (through a padded register), so every element gets the same arithmetic.
#pragma once

#include <cstddef>
#include <span>

#include <xsimd/xsimd.hpp>

namespace nlm::detail {

/// out1[i], out2[i] = f(x[i]) for a function returning a pair of batches.
template <class S, class F>
void simd_map2(std::span<const S> x, std::span<S> out1, std::span<S> out2, F&& f) {
  using batch = xsimd::batch<S>;
  constexpr std::size_t W = batch::size;
  const std::size_t n = x.size();
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const auto [a, b] = f(batch::load_unaligned(x.data() + i));
    a.store_unaligned(out1.data() + i);
    b.store_unaligned(out2.data() + i);
  }
  if (i < n) {
    alignas(64) S in[W] = {};
    alignas(64) S o1[W];
    alignas(64) S o2[W];
    for (std::size_t l = 0; i + l < n; ++l) in[l] = x[i + l];
    const auto [a, b] = f(batch::load_aligned(in));
    a.store_aligned(o1);
    b.store_aligned(o2);
    for (std::size_t l = 0; i + l < n; ++l) {
      out1[i + l] = o1[l];
      out2[i + l] = o2[l];
    }
  }
}

}  // namespace nlm::detail
