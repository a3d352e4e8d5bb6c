/// @file scaled_tanh.hpp
/// @brief φ = tanh(a·x) with a gain a: sharper (a > 1) or softer (a < 1) neurons.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include <span>
#include <utility>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "../detail/simd_map.hpp"
#include "../detail/describe.hpp"
#include "../types.hpp"

namespace nlm {

/// \f[ \phi(x) = \tanh(a x), \qquad \phi'(x) = a\,(1 - \tanh^2(a x)) \f]
class ScaledTanh {
 public:
  explicit ScaledTanh(double gain = 1.0) : gain_(gain) {
    if (!std::isfinite(gain) || gain <= 0.0)
      throw std::invalid_argument("ScaledTanh: gain must be finite and > 0, got " +
                                  std::to_string(gain));
  }
  double gain() const noexcept { return gain_; }
  std::string describe() const { return "ScaledTanh(" + detail::describe_parameter("gain", gain_) + ")"; }

  template <Scalar S>
  void value(const Matrix<S>& x, Matrix<S>& phi) const {
    xt::noalias(phi) = xt::tanh(S(gain_) * x);
  }
  template <Scalar S>
  void value_and_derivative(const Matrix<S>& x, Matrix<S>& phi, Matrix<S>& dphi) const {
    const S a = S(gain_);
    xt::noalias(phi) = xt::tanh(a * x);
    xt::noalias(dphi) = a * (S(1) - phi * phi);
  }
  template <Scalar S>
  void value_and_derivative(std::span<const S> x, std::span<S> phi, std::span<S> dphi) const {
    const S a = S(gain_);
    detail::simd_map2(x, phi, dphi, [a](const auto& v) {
      const auto t = xsimd::tanh(a * v);
      return std::pair{t, a * (S(1) - t * t)};
    });
  }

 private:
  double gain_;
};

}  // namespace nlm
