/// @file recurrent_network.hpp
/// @brief The plain recurrent network dx = f(x) dt + √(2T) dW with f(x) = −x + Jφ(x) + b: the
/// NLM's couplings, activation and field without the Onsager (feedback) term. Its drift is not
/// a gradient, so it has no energy and may circulate (sequence replay); it models
/// `DriftModel` only, so `EulerMaruyama` runs it and `Mala` refuses it at compile time.
///
/// Euler–Maruyama with Δt = 1 is the synchronous map x ← Jφ(x) + b + √(2T) ξ.
/// Its fixed points are the zero-energy minima of the NLM (analysis/fixed_points.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include <xtensor/xnoalias.hpp>

#include "activation/activation.hpp"
#include "activation/tanh.hpp"
#include "backend/blas_products.hpp"
#include "couplings.hpp"
#include "detail/checks.hpp"
#include "detail/parallel.hpp"
#include "elementwise.hpp"
#include "detail/random.hpp"
#include "force_workspace.hpp"
#include "noise/gaussian_noise.hpp"
#include "noise/noise.hpp"
#include "types.hpp"

namespace nlm {

/// @tparam ActivationT φ; @tparam NoiseT the noise of its Langevin form; @tparam S float or
/// double; @tparam BackendT the products on J. The same policy types as `LangevinMachine`.
template <class ActivationT = Tanh, class NoiseT = GaussianNoise, Scalar S = float,
          class BackendT = BlasProducts>
class RecurrentNetwork {
  static_assert(detail::diagnose_activation<ActivationT, S>());
  static_assert(detail::diagnose_noise<NoiseT, S>());

 public:
  using scalar_type = S;
  using matrix_type = Matrix<S>;
  using vector_type = Vector<S>;
  using activation_type = ActivationT;
  using noise_type = NoiseT;
  /// What `parameters()` returns: J and b with their products (`Couplings`); `couplings()` is J.
  using parameters_type = Couplings<S, BackendT>;
  /// The fused sampler pass may prepare each block of new states (DriftModel's option).
  static constexpr bool prepares_spans = detail::activation_has_rows<ActivationT, S>;

  /// A network on given couplings (their field included when it is on) at temperature T ≥ 0.
  RecurrentNetwork(parameters_type couplings, double temperature, ActivationT activation = ActivationT(),
                   NoiseT noise = NoiseT())
      : couplings_(std::move(couplings)), activation_(std::move(activation)), noise_(std::move(noise)) {
    couplings_.set_owner(who);
    set_temperature(temperature);
  }
  /// A network on J (N×N) and, when `b` is not empty, the field b.
  RecurrentNetwork(matrix_type j, vector_type b, double temperature, ActivationT activation = ActivationT(),
                   NoiseT noise = NoiseT())
      : RecurrentNetwork(parameters_type::given(std::move(j), std::move(b), BackendT(), who), temperature,
                         std::move(activation), std::move(noise)) {}
  /// The plain network of a machine: its J, b and activation, at temperature T, with the noise
  /// stream seeded by `seed`.
  template <class Machine>
  static RecurrentNetwork of(const Machine& machine, double temperature, std::uint64_t seed = 0) {
    RecurrentNetwork net(machine.parameters(), temperature, machine.activation());
    net.noise().seed(seed);
    return net;
  }

  std::size_t neurons() const noexcept { return couplings_.neurons(); }
  S temperature() const noexcept { return S(temperature_); }
  void set_temperature(double t) {
    if (!(std::isfinite(t) && t >= 0.0))
      throw std::invalid_argument("RecurrentNetwork: temperature (T) must be finite and >= 0, got " +
                                  std::to_string(t));
    temperature_ = t;
  }
  NoiseT& noise() noexcept { return noise_; }
  const NoiseT& noise() const noexcept { return noise_; }
  const ActivationT& activation() const noexcept { return activation_; }
  const parameters_type& parameters() const noexcept { return couplings_; }
  const matrix_type& couplings() const noexcept { return couplings_.matrix(); }
  const vector_type& field() const noexcept { return couplings_.field(); }

  // ---- DriftModel (sampler/sampler.hpp) -------------------------------------------------
  /// φ(X), φ'(X) and R ← b − X.
  void prepare(const matrix_type& x, ForceWorkspace<S>& ws) const {
    detail::require_columns(x, neurons(), who, "batch");
    detail::prepare_rows(activation_, couplings_, x, ws);
  }
  void prepare_span(const S* x, ForceWorkspace<S>& ws, std::size_t off, std::size_t c0, std::size_t len) const {
    detail::prepare_span(activation_, couplings_, x, ws, off, c0, len);
  }
  /// One product: R += φ(X) Jᵀ, so R = f(X) (no feedback product: there is no Onsager term).
  void products(ForceWorkspace<S>& ws) const { couplings_.drive(ws.phi, ws.residual); }
  struct Drift {
    const S* r;
    S operator()(std::size_t i) const noexcept { return r[i]; }
  };
  Drift drift_terms(const ForceWorkspace<S>& ws) const noexcept { return {ws.residual.data()}; }

  /// f(X) = −X + φ(X) Jᵀ + b for every row of X.
  matrix_type drift(const matrix_type& x) const {
    ForceWorkspace<S> ws;
    prepare(x, ws);
    products(ws);
    return ws.residual;
  }
  /// The Jacobian of the drift at one state x (N values), in double:
  /// \f[ A = -I + J\,\mathrm{diag}(\phi'(x)) \f], A(i, j) = ∂f_i/∂x_j.
  Matrix<double> jacobian(const vector_type& x) const {
    const std::size_t n = neurons();
    if (x.size() != n)
      throw std::invalid_argument("RecurrentNetwork::jacobian: the state has " + std::to_string(x.size()) +
                                  " values, the network " + std::to_string(n) + " neurons");
    matrix_type row = matrix_type::from_shape({1, n}), phi = row, dphi = row;
    std::copy_n(x.data(), n, row.data());
    activation_.value_and_derivative(row, phi, dphi);
    Matrix<double> a = Matrix<double>::from_shape({n, n});
    const S* j = couplings_.matrix().data();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < n; ++c)
        a(i, c) = double(j[i * n + c]) * double(dphi(0, c)) - (i == c ? 1.0 : 0.0);
    return a;
  }

 private:
  static constexpr const char* who = "RecurrentNetwork";

  parameters_type couplings_;
  ActivationT activation_;
  NoiseT noise_;
  double temperature_ = 0.0;
};

}  // namespace nlm
