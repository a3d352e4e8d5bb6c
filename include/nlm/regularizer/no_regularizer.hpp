/// @file no_regularizer.hpp
/// @brief No regularization: the update is the plain learning signal J ← J − k (M − D).
#pragma once

#include <string>

#include "../types.hpp"

namespace nlm {

struct NoRegularizer {
  std::string describe() const { return "NoRegularizer"; }
  template <Scalar S>
  void add_to_step(const Matrix<S>&, Matrix<S>&) const noexcept {}
  template <Scalar S>
  void constrain(Matrix<S>&) const noexcept {}
};

}  // namespace nlm
