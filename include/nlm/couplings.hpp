/// @file couplings.hpp
/// @brief The couplings J and the field b, and every product on them, named in the model's
/// terms and computed by a product backend (backend/backend.hpp).
///
/// Every change to J goes through `apply_step` or `set`, which call the backend's
/// `refresh(J)`: a backend that keeps a derived copy of J (bf16, a device buffer) is never
/// stale.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include <xtensor/xnoalias.hpp>

#include "backend/backend.hpp"
#include "backend/blas_products.hpp"
#include "detail/blas.hpp"
#include "detail/checks.hpp"
#include "detail/random.hpp"
#include "types.hpp"

namespace nlm {

template <Scalar S, class Backend = BlasProducts>
class Couplings {
  static_assert(detail::diagnose_backend<Backend, S>());

 public:
  using backend_type = Backend;

  /// J ~ N(0, g²/N) with a zero diagonal, drawn from `engine`; b = 0 and off. `owner` names
  /// the class that holds them in error messages.
  Couplings(std::size_t n, double g, detail::Xoshiro256& engine, Backend backend = Backend(),
            const char* owner = "Couplings")
      : backend_(std::move(backend)), owner_(owner) {
    j_ = Matrix<S>::from_shape({n, n});
    detail::fill_normal<S>(engine, std::span<S>(j_.data(), j_.size()));
    const S scale = S(g / std::sqrt(double(n)));
    if (scale != S(1)) j_ *= scale;
    for (std::size_t i = 0; i < n; ++i) j_(i, i) = S(0);
    b_ = Vector<S>::from_shape({n});
    b_.fill(S(0));
    backend_.refresh(j_);
  }

  /// Given J (N×N, non-empty, finite) and, when `b` is not empty, the field b (N finite
  /// values, turned on). Nothing is drawn.
  static Couplings given(Matrix<S> j, Vector<S> b, Backend backend = Backend(), const char* owner = "Couplings") {
    if (j.shape(0) != j.shape(1) || j.shape(0) == 0)
      throw std::invalid_argument(std::string(owner) + ": J must be a non-empty square matrix, got " +
                                  std::to_string(j.shape(0)) + " x " + std::to_string(j.shape(1)));
    detail::require_finite(j, owner, "couplings contain");
    Couplings c(std::move(backend), owner);
    c.j_ = std::move(j);
    c.b_ = Vector<S>::from_shape({c.j_.shape(0)});
    c.b_.fill(S(0));
    c.backend_.refresh(c.j_);
    if (b.size() != 0) c.set_field(std::move(b));
    return c;
  }

  std::size_t neurons() const noexcept { return j_.shape(0); }
  /// The class named in error messages.
  const char* owner() const noexcept { return owner_; }
  void set_owner(const char* owner) noexcept { owner_ = owner; }
  /// J, with J(i, j) the synapse from neuron j to neuron i.
  const Matrix<S>& matrix() const noexcept { return j_; }
  const Vector<S>& field() const noexcept { return b_; }
  /// Whether the energy includes b (learned, or set).
  bool has_field() const noexcept { return use_field_; }
  void use_field() noexcept { use_field_ = true; }
  Backend& backend() noexcept { return backend_; }
  const Backend& backend() const noexcept { return backend_; }

  void set(Matrix<S> j) {
    detail::require_shape(j, neurons(), neurons(), owner_, "couplings");
    detail::require_finite(j, owner_, "couplings contain");
    // Into the existing buffer: J's memory stays where it is for the couplings' lifetime (the
    // Python module's read-only views of J rely on it).
    std::copy_n(j.data(), j.size(), j_.data());
    backend_.refresh(j_);
  }
  /// Sets b and turns it on.
  void set_field(Vector<S> b) {
    if (b.shape(0) != neurons())
      throw std::invalid_argument(std::string(owner_) + ": field must have " + std::to_string(neurons()) +
                                  " values, got " + std::to_string(b.shape(0)));
    detail::require_finite(b, owner_, "field contains", "index");
    if (b_.size() == b.size())
      std::copy_n(b.data(), b.size(), b_.data());  // b's memory stays put, as J's
    else
      b_ = std::move(b);
    use_field_ = true;
  }

  // ---- products ------------------------------------------------------------------------
  /// Drive: R += Φ Jᵀ (row form of h = Jφ(x), added to R).
  void drive(const Matrix<S>& phi, Matrix<S>& r) const { backend_.drive(phi, j_, r); }
  /// Feedback: G = R J (row form of Jᵀ(h − x)).
  void feedback(const Matrix<S>& r, Matrix<S>& g) const { backend_.feedback(r, j_, g); }
  /// Correlate: O = α AᵀB + β O (the statistics RᵀΦ and the moments XᵀΦ, ΦᵀΦ).
  void correlate(const Matrix<S>& a, const Matrix<S>& b, Matrix<S>& out, S alpha, S beta) const {
    backend_.correlate(a, b, out, alpha, beta);
  }
  /// Multiply: O = α J A + β O.
  void multiply(const Matrix<S>& a, Matrix<S>& out, S alpha, S beta) const {
    backend_.multiply(j_, a, out, alpha, beta);
  }
  /// The start of a residual: r = b − x for `len` states from column c0 (b omitted when off).
  void start_residual(const S* x, S* r, std::size_t c0, std::size_t len) const noexcept {
    if (use_field_) {
      const S* b = b_.data() + c0;
      for (std::size_t j = 0; j < len; ++j) r[j] = b[j] - x[j];
    } else {
      for (std::size_t j = 0; j < len; ++j) r[j] = -x[j];
    }
  }

  // ---- changes -------------------------------------------------------------------------
  /// J ← J − step, then the regularizer's constraint, then the backend's refresh.
  template <class Regularizer>
  void apply_step(const Matrix<S>& step, const Regularizer& regularizer) {
    xt::noalias(j_) -= step;
    regularizer.constrain(j_);
    backend_.refresh(j_);
  }
  /// b ← b − step.
  void apply_field_step(const Vector<S>& step) { xt::noalias(b_) -= step; }
  /// J changed in place by `edit(J)` (a caller that keeps J's constraints itself, such as a
  /// fused rank-one update), then the backend's refresh — also when `edit` throws.
  template <class Edit>
  void edit(Edit&& edit) {
    try {
      edit(j_);
    } catch (...) {
      backend_.refresh(j_);
      throw;
    }
    backend_.refresh(j_);
  }

 private:
  Couplings(Backend backend, const char* owner) : backend_(std::move(backend)), owner_(owner) {}

  Matrix<S> j_;
  Vector<S> b_;
  bool use_field_ = false;
  Backend backend_;
  const char* owner_;
};

}  // namespace nlm
