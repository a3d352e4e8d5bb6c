/// @file zero_diagonal.hpp
/// @brief Keeps J_ii = 0 (no self-coupling) after every update, composed with another
/// regularizer.
///
/// The upstream scripts zero the diagonal only at initialisation and let learning grow it;
/// this policy is the alternative where a neuron never excites itself. Compose it:
/// `ZeroDiagonal<WeightDecay>{WeightDecay{2e-6}}`.
#pragma once

#include <utility>

#include "../types.hpp"
#include "../detail/describe.hpp"
#include "no_regularizer.hpp"
#include "regularizer.hpp"

namespace nlm {

template <class Inner = NoRegularizer>
class ZeroDiagonal {
 public:
  ZeroDiagonal() = default;
  explicit ZeroDiagonal(Inner inner) : inner_(std::move(inner)) {}
  const Inner& inner() const noexcept { return inner_; }
  std::string describe() const { return "ZeroDiagonal(" + detail::describe_policy(inner_) + ")"; }

  template <Scalar S>
  void add_to_step(const Matrix<S>& j, Matrix<S>& step) const {
    inner_.add_to_step(j, step);
  }
  template <Scalar S>
  void constrain(Matrix<S>& j) const {
    inner_.constrain(j);
    const std::size_t n = std::min(j.shape(0), j.shape(1));
    for (std::size_t i = 0; i < n; ++i) j(i, i) = S(0);
  }

 private:
  Inner inner_{};
};

}  // namespace nlm
