/// @file identity.hpp
/// @brief φ = x, the linear network: E = ½‖(I − J)x − b‖² is quadratic, so the model is a
/// Gaussian with a closed-form partition function, \f$ Z = (2\pi T)^{N/2} / |\det(I - J)| \f$.
/// The exact reference of annealed importance sampling (analysis/ais.hpp) and of samplers.
#pragma once

#include <algorithm>
#include <span>
#include <string>

#include <xtensor/xnoalias.hpp>

#include "../types.hpp"

namespace nlm {

/// \f[ \phi(x) = x, \qquad \phi'(x) = 1 \f]
struct Identity {
  std::string describe() const { return "Identity"; }
  template <Scalar S>
  void value(const Matrix<S>& x, Matrix<S>& phi) const {
    xt::noalias(phi) = x;
  }
  template <Scalar S>
  void value_and_derivative(const Matrix<S>& x, Matrix<S>& phi, Matrix<S>& dphi) const {
    xt::noalias(phi) = x;
    dphi.fill(S(1));
  }
  template <Scalar S>
  void value_and_derivative(std::span<const S> x, std::span<S> phi, std::span<S> dphi) const {
    std::copy(x.begin(), x.end(), phi.begin());
    std::fill(dphi.begin(), dphi.end(), S(1));
  }
};

}  // namespace nlm
