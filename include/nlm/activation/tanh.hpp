/// @file tanh.hpp
/// @brief φ = tanh, the paper's activation (vectorised through xsimd).
#pragma once

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "../types.hpp"

namespace nlm {

/// \f[ \phi(x) = \tanh x, \qquad \phi'(x) = 1 - \tanh^2 x \f]
struct Tanh {
  template <Scalar S>
  void value(const Matrix<S>& x, Matrix<S>& phi) const {
    xt::noalias(phi) = xt::tanh(x);
  }
  template <Scalar S>
  void value_and_derivative(const Matrix<S>& x, Matrix<S>& phi, Matrix<S>& dphi) const {
    xt::noalias(phi) = xt::tanh(x);
    xt::noalias(dphi) = S(1) - phi * phi;
  }
};

}  // namespace nlm
