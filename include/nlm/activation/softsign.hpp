/// @file softsign.hpp
/// @brief φ = x / (1 + |x|): saturates like tanh but polynomially, so large states still feel
/// a gradient (no exponential, cheaper than tanh).
#pragma once

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "../types.hpp"

namespace nlm {

/// \f[ \phi(x) = \frac{x}{1 + |x|}, \qquad \phi'(x) = \frac{1}{(1 + |x|)^2} \f]
struct Softsign {
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
};

}  // namespace nlm
