/// @file force_workspace.hpp
/// @brief Buffers for evaluating the force on a batch, owned by the `Chains` they belong to (or
/// by whoever evaluates a batch) so the hot loop never allocates (they are resized only when
/// the batch shape changes).
#pragma once

#include <cstddef>
#include <type_traits>

#include "detail/blas.hpp"
#include "types.hpp"

namespace nlm {

/// After `machine.evaluate(X, ws)` on a B×N batch:
/// `phi = φ(X)`, `dphi = φ′(X)`, `residual = R = φ(X) Jᵀ − X` (row form of `h − x`),
/// `feedback = G = R J` (row form of `Jᵀ (h − x)`), and, when requested,
/// `energy(b) = ½ ‖R_b‖²`. The force is then `F = R − φ′(X) ⊙ G`.
template <Scalar S>
struct ForceWorkspace {
  Matrix<S> phi;
  Matrix<S> dphi;
  Matrix<S> residual;
  Matrix<S> feedback;
  Vector<S> energy;
  Matrix<S> noise;  ///< the step's noise, for Noise policies that only fill whole buffers

  void resize(std::size_t rows, std::size_t cols) {
    detail::ensure_shape(phi, rows, cols);
    detail::ensure_shape(dphi, rows, cols);
    detail::ensure_shape(residual, rows, cols);
    detail::ensure_shape(feedback, rows, cols);
    detail::ensure_size(energy, rows);
  }
};

namespace detail {

/// One member per scalar type, for policies that serve both float and double machines.
template <template <class> class T>
struct PerScalar {
  T<float> f;
  T<double> d;
  template <Scalar S>
  T<S>& get() noexcept {
    if constexpr (std::is_same_v<S, float>)
      return f;
    else
      return d;
  }
};

}  // namespace detail
}  // namespace nlm
