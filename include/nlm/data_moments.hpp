/// @file data_moments.hpp
/// @brief A dataset's sufficient statistics for the data phase of learning.
#pragma once

#include <cstddef>

#include "types.hpp"

namespace nlm {

/// Moments of a dataset X (n rows) under the activation φ, enough to evaluate the data phase
/// D = ⟨(x − Jφ(x) − b) φ(x)ᵀ⟩/T for any J and b without touching the data again:
/// `x_phi` = ⟨x φᵀ⟩ (N×N), `phi_phi` = ⟨φ φᵀ⟩ (N×N), `mean_x` = ⟨x⟩, `mean_phi` = ⟨φ⟩, over
/// `count` rows. Made by `LangevinMachine::data_moments(X)`; used by
/// `LangevinMachine::update(moments)`.
template <Scalar S>
struct DataMoments {
  Matrix<S> x_phi;
  Matrix<S> phi_phi;
  Vector<S> mean_x;
  Vector<S> mean_phi;
  std::size_t count = 0;
};

}  // namespace nlm
