/// @file weight_decay.hpp
/// @brief L2 weight decay, the paper's regularizer: J ← (1 − λ) J − k (M − D).
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include <xtensor/xnoalias.hpp>

#include "../types.hpp"
#include "../detail/describe.hpp"

namespace nlm {

class WeightDecay {
 public:
  /// λ = 2·10⁻⁶ is the paper's value (Table 1).
  explicit WeightDecay(double lambda = 2e-6) : lambda_(lambda) {
    if (!std::isfinite(lambda) || lambda < 0.0 || lambda >= 1.0)
      throw std::invalid_argument("WeightDecay: weight_decay (lambda) must be in [0, 1), got " +
                                  std::to_string(lambda));
  }
  double lambda() const noexcept { return lambda_; }
  std::string describe() const { return "WeightDecay(" + detail::describe_parameter("lambda", lambda_) + ")"; }

  template <Scalar S>
  void add_to_step(const Matrix<S>& j, Matrix<S>& step) const {
    if (lambda_ != 0.0) xt::noalias(step) += S(lambda_) * j;
  }
  template <Scalar S>
  void constrain(Matrix<S>&) const noexcept {}

 private:
  double lambda_;
};

}  // namespace nlm
