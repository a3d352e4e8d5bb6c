/// @file backend.hpp
/// @brief The ProductBackend concept: how the couplings' matrix products are computed.
///
/// Every product of a step, a statistic or a moment goes through `Couplings`, which hands it
/// to its backend under a name from the model: drive R += ΦJᵀ, feedback G = RJ, correlate
/// αAᵀB + βO, and multiply αJA + βO. Whenever J changes, `Couplings` calls `refresh(J)`, so a
/// backend may keep a derived copy of J (a bf16 one, a device copy) that is never stale.
#pragma once

#include <concepts>

#include "../types.hpp"

namespace nlm {

/// `b.refresh(J)` after every change of J (and once at the start);
/// `b.drive(Φ, J, R)`: R += Φ Jᵀ; `b.feedback(R, J, G)`: G = R J;
/// `b.correlate(A, B, O, α, β)`: O = α AᵀB + β O; `b.multiply(J, A, O, α, β)`: O = α J A + β O.
/// All matrices row-major, every output already shaped (a backend never allocates them).
template <class B, class S>
concept ProductBackend = std::copy_constructible<B> &&
    requires(B& b, const B& cb, const Matrix<S>& a, const Matrix<S>& j, Matrix<S>& out, S s) {
      b.refresh(j);
      cb.drive(a, j, out);
      cb.feedback(a, j, out);
      cb.correlate(a, a, out, s, s);
      cb.multiply(j, a, out, s, s);
    };

namespace detail {

template <class B, class S>
consteval bool diagnose_backend() {
  static_assert(std::copy_constructible<B>,
                "nlm: a ProductBackend must be copy-constructible (Couplings stores it by value).");
  static_assert(ProductBackend<B, S>,
                "nlm: a ProductBackend needs `refresh(J)`, and const `drive(Phi, J, R)` (R += Phi J^T), "
                "`feedback(R, J, G)` (G = R J), `correlate(A, B, O, alpha, beta)` (O = alpha A^T B + "
                "beta O) and `multiply(J, A, O, alpha, beta)` (O = alpha J A + beta O) for "
                "nlm::Matrix<S>; see backend/backend.hpp.");
  return ProductBackend<B, S>;
}

}  // namespace detail
}  // namespace nlm
