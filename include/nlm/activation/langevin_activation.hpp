/// @file langevin_activation.hpp
/// @brief φ = L, the Langevin function coth x − 1/x: the mean of the free-energy attractor
/// network's continuous-Bernoulli units. With it the plain recurrent drift
/// −x + J L(x) + b is the attractor network's deterministic map σ = L(β(Jσ + b)) written in its
/// inputs x = β(Jσ + b) (couplings βJ, field βb), so nlm's fixed-point census applies to it
/// (attractor/attractor_census.hpp).
#pragma once

#include <span>
#include <string>

#include "../attractor/continuous_bernoulli.hpp"
#include "../types.hpp"

namespace nlm {

/// \f[ \phi(x) = L(x) = \coth x - \frac1x, \qquad \phi'(x) = \frac{1}{x^2} - \frac{1}{\sinh^2 x} \f]
struct LangevinActivation {
  std::string describe() const { return "Langevin"; }
  template <Scalar S>
  void value(const Matrix<S>& x, Matrix<S>& phi) const {
    for (std::size_t i = 0; i < x.size(); ++i) phi.data()[i] = langevin_function(x.data()[i]);
  }
  template <Scalar S>
  void value_and_derivative(const Matrix<S>& x, Matrix<S>& phi, Matrix<S>& dphi) const {
    for (std::size_t i = 0; i < x.size(); ++i) {
      phi.data()[i] = langevin_function(x.data()[i]);
      dphi.data()[i] = langevin_derivative(x.data()[i]);
    }
  }
  template <Scalar S>
  void value_and_derivative(std::span<const S> x, std::span<S> phi, std::span<S> dphi) const {
    for (std::size_t i = 0; i < x.size(); ++i) {
      phi[i] = langevin_function(x[i]);
      dphi[i] = langevin_derivative(x[i]);
    }
  }
};

}  // namespace nlm
