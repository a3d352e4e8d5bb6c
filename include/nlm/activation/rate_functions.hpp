/// @file rate_functions.hpp
/// @brief Rate functions ρ with their first and second derivatives: the hard sigmoid, the
/// logistic sigmoid and the ReLU. The Lagrangian model (lagrangian/) needs ρ, ρ' and ρ'' of each
/// membrane potential; the NLM's Activation concept (φ and φ' on batches) is met as well, so
/// either family can use them.
///
/// Each offers `rate(u)`, `slope(u)` = ρ'(u), `curvature(u)` = ρ''(u) on scalars, and
/// `zero_curvature` (ρ'' ≡ 0 wherever defined: the Lagrangian model's fast layered solve needs it).
/// At the kinks of the hard sigmoid (u = 0, 1) and the ReLU (u = 0) the slope is the
/// reference code's choice: 1 on the closed interval [0, 1] for the hard sigmoid, 0 at u = 0 for
/// the ReLU.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <string>

#include "../types.hpp"

namespace nlm {
namespace detail {

/// value / value_and_derivative on whole batches from the scalar members.
template <class Self>
struct RateBatches {
  template <Scalar S>
  void value(const Matrix<S>& x, Matrix<S>& phi) const {
    const Self& self = static_cast<const Self&>(*this);
    for (std::size_t k = 0; k < x.size(); ++k) phi.data()[k] = self.rate(x.data()[k]);
  }
  template <Scalar S>
  void value_and_derivative(const Matrix<S>& x, Matrix<S>& phi, Matrix<S>& dphi) const {
    const Self& self = static_cast<const Self&>(*this);
    for (std::size_t k = 0; k < x.size(); ++k) {
      phi.data()[k] = self.rate(x.data()[k]);
      dphi.data()[k] = self.slope(x.data()[k]);
    }
  }
};

}  // namespace detail

/// \f[ \rho(u) = \min(\max(u, 0), 1), \quad \rho' = [0 \le u \le 1], \quad \rho'' = 0 \f]
struct HardSigmoid : detail::RateBatches<HardSigmoid> {
  static constexpr bool zero_curvature = true;
  std::string describe() const { return "HardSigmoid"; }
  template <Scalar S>
  S rate(S u) const noexcept {
    return u < S(0) ? S(0) : (u > S(1) ? S(1) : u);
  }
  template <Scalar S>
  S slope(S u) const noexcept {
    return (u >= S(0) && u <= S(1)) ? S(1) : S(0);
  }
  template <Scalar S>
  S curvature(S) const noexcept {
    return S(0);
  }
};

/// \f[ \rho(u) = \frac{1}{1 + e^{-u}}, \quad \rho' = \rho(1 - \rho), \quad \rho'' = \rho'(1 - 2\rho) \f]
struct Sigmoid : detail::RateBatches<Sigmoid> {
  static constexpr bool zero_curvature = false;
  std::string describe() const { return "Sigmoid"; }
  template <Scalar S>
  S rate(S u) const noexcept {
    return S(1) / (S(1) + std::exp(-u));
  }
  template <Scalar S>
  S slope(S u) const noexcept {
    const S r = rate(u);
    return r * (S(1) - r);
  }
  template <Scalar S>
  S curvature(S u) const noexcept {
    const S r = rate(u);
    return r * (S(1) - r) * (S(1) - S(2) * r);
  }
};

/// \f[ \rho(u) = \max(u, 0), \quad \rho' = [u > 0], \quad \rho'' = 0 \f]
struct Relu : detail::RateBatches<Relu> {
  static constexpr bool zero_curvature = true;
  std::string describe() const { return "Relu"; }
  template <Scalar S>
  S rate(S u) const noexcept {
    return u > S(0) ? u : S(0);
  }
  template <Scalar S>
  S slope(S u) const noexcept {
    return u > S(0) ? S(1) : S(0);
  }
  template <Scalar S>
  S curvature(S) const noexcept {
    return S(0);
  }
};

/// A rate function for the Lagrangian model: ρ, ρ', ρ'' on scalars, a name, and whether ρ'' ≡ 0.
template <class A, class S>
concept RateFunction = std::copy_constructible<A> && requires(const A& a, S u) {
  { a.rate(u) } -> std::same_as<S>;
  { a.slope(u) } -> std::same_as<S>;
  { a.curvature(u) } -> std::same_as<S>;
  { a.describe() } -> std::convertible_to<std::string>;
  { A::zero_curvature } -> std::convertible_to<bool>;
};

}  // namespace nlm
