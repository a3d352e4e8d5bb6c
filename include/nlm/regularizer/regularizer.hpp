/// @file regularizer.hpp
/// @brief The Regularizer concept: what the couplings' update adds to the learning signal, and
/// any constraint re-imposed on the couplings after each update.
///
/// The machine forms the step `S = k (M − D)` and updates `J ← J − S`. Before that, the
/// regularizer may add to `S` (weight decay adds `λ J`, giving the paper's
/// `J ← (1 − λ) J − k (M − D)`); after it, it may project `J` back onto a constraint set
/// (a zero diagonal, say).
#pragma once

#include <concepts>

#include "../types.hpp"

namespace nlm {
namespace detail {

template <class R, class S>
concept regularizer_has_step = requires(const R& r, const Matrix<S>& j, Matrix<S>& step) {
  r.add_to_step(j, step);
};

template <class R, class S>
concept regularizer_has_constraint = requires(const R& r, Matrix<S>& j) { r.constrain(j); };

}  // namespace detail

/// `r.add_to_step(J, step)` adds the regularizer's term to the update `step` (J ← J − step);
/// `r.constrain(J)` re-imposes a constraint after the update (may do nothing).
template <class R, class S>
concept Regularizer = std::copy_constructible<R> && detail::regularizer_has_step<R, S> &&
                      detail::regularizer_has_constraint<R, S>;

namespace detail {

template <class R, class S>
consteval bool diagnose_regularizer() {
  static_assert(std::copy_constructible<R>,
                "nlm: a Regularizer policy must be copy-constructible (the machine stores it by value).");
  static_assert(regularizer_has_step<R, S>,
                "nlm: a Regularizer policy needs `void add_to_step(const nlm::Matrix<S>& J, "
                "nlm::Matrix<S>& step) const` adding its term to the update J <- J - step.");
  static_assert(regularizer_has_constraint<R, S>,
                "nlm: a Regularizer policy needs `void constrain(nlm::Matrix<S>& J) const` applied "
                "after each update (an empty body if there is no constraint).");
  return Regularizer<R, S>;
}

}  // namespace detail
}  // namespace nlm
