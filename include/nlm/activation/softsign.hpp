/// @file softsign.hpp
/// @brief φ = x / (1 + |x|): saturates like tanh but polynomially, so large states still feel
/// a gradient (no exponential, cheaper than tanh).
#pragma once

#include <string>

#include <span>
#include <utility>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "../detail/simd_map.hpp"
#include "../types.hpp"

namespace nlm {

/// \f[ \phi(x) = \frac{x}{1 + |x|}, \qquad \phi'(x) = \frac{1}{(1 + |x|)^2} \f]
struct Softsign {
  std::string describe() const { return "Softsign"; }
  template <Scalar S>
  void value(const Matrix<S>& x, Matrix<S>& phi) const {
    xt::noalias(phi) = x / (S(1) + xt::abs(x));
  }
  template <Scalar S>
  void value_and_derivative(const Matrix<S>& x, Matrix<S>& phi, Matrix<S>& dphi) const {
    xt::noalias(dphi) = S(1) / (S(1) + xt::abs(x));
    xt::noalias(phi) = x * dphi;
    dphi *= dphi;
  }
  template <Scalar S>
  void value_and_derivative(std::span<const S> x, std::span<S> phi, std::span<S> dphi) const {
    detail::simd_map2(x, phi, dphi, [](const auto& v) {
      const auto d = S(1) / (S(1) + xsimd::abs(v));
      return std::pair{v * d, d * d};
    });
  }
};

}  // namespace nlm
