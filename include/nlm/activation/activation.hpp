/// @file activation.hpp
/// @brief The Activation concept: the single-neuron transfer function φ and its derivative φ'.
///
/// The machine calls φ on whole batches (one state per row) and needs φ' only where it
/// computes the force, so an Activation offers both a value-only and a fused
/// value-and-derivative evaluation into caller-owned buffers of the input's shape.
#pragma once

#include <concepts>
#include <span>

#include "../types.hpp"

namespace nlm {
namespace detail {

template <class A, class S>
concept activation_has_value =
    requires(const A& a, const Matrix<S>& x, Matrix<S>& phi) { a.value(x, phi); };

template <class A, class S>
concept activation_has_derivative = requires(const A& a, const Matrix<S>& x, Matrix<S>& phi,
                                              Matrix<S>& dphi) {
  a.value_and_derivative(x, phi, dphi);
};

/// Optional: the same on contiguous spans (a block of rows). Activations that offer it let
/// the samplers fuse φ, φ' into the pass that moves the states and split it over threads;
/// others are called on whole matrices.
template <class A, class S>
concept activation_has_rows = requires(const A& a, std::span<const S> x, std::span<S> phi,
                                       std::span<S> dphi) {
  a.value_and_derivative(x, phi, dphi);
};

}  // namespace detail

/// φ: `a.value(x, phi)` writes φ(x) elementwise into `phi` (already of x's shape);
/// `a.value_and_derivative(x, phi, dphi)` writes φ(x) and φ'(x). Both are const: an
/// activation's parameters (a gain, say) are fixed while the machine runs.
template <class A, class S>
concept Activation = std::copy_constructible<A> && detail::activation_has_value<A, S> &&
                     detail::activation_has_derivative<A, S>;

namespace detail {

/// Names what an Activation type lacks, one sentence per missing piece.
template <class A, class S>
consteval bool diagnose_activation() {
  static_assert(std::copy_constructible<A>,
                "nlm: an Activation policy must be copy-constructible (the machine stores it by value).");
  static_assert(activation_has_value<A, S>,
                "nlm: an Activation policy needs `void value(const nlm::Matrix<S>& x, nlm::Matrix<S>& phi) const` "
                "writing phi(x) elementwise into phi.");
  static_assert(activation_has_derivative<A, S>,
                "nlm: an Activation policy needs `void value_and_derivative(const nlm::Matrix<S>& x, "
                "nlm::Matrix<S>& phi, nlm::Matrix<S>& dphi) const` writing phi(x) and phi'(x).");
  return Activation<A, S>;
}

}  // namespace detail
}  // namespace nlm
