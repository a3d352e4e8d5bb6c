/// @file tanh.hpp
/// @brief φ = tanh, the paper's activation (vectorised through xsimd).
#pragma once

#include <string>

#include <span>
#include <utility>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "../detail/simd_map.hpp"
#include "../types.hpp"

namespace nlm {

/// \f[ \phi(x) = \tanh x, \qquad \phi'(x) = 1 - \tanh^2 x \f]
struct Tanh {
  std::string describe() const { return "Tanh"; }
  template <Scalar S>
  void value(const Matrix<S>& x, Matrix<S>& phi) const {
    xt::noalias(phi) = xt::tanh(x);
  }
  template <Scalar S>
  void value_and_derivative(const Matrix<S>& x, Matrix<S>& phi, Matrix<S>& dphi) const {
    xt::noalias(phi) = xt::tanh(x);
    xt::noalias(dphi) = S(1) - phi * phi;
  }
  /// The same on contiguous rows (the fused sampler step calls this per block of rows).
  template <Scalar S>
  void value_and_derivative(std::span<const S> x, std::span<S> phi, std::span<S> dphi) const {
    detail::simd_map2(x, phi, dphi, [](const auto& v) {
      const auto t = xsimd::tanh(v);
      return std::pair{t, S(1) - t * t};
    });
  }
};

}  // namespace nlm
