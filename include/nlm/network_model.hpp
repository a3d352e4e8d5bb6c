/// @file network_model.hpp
/// @brief What every model over `Couplings` shares: J and b with their product backend, the
/// activation φ, the Langevin noise, the temperature T, the name errors use, and the
/// elementwise first step of a drift (φ(X), φ'(X), b − X). `LangevinModel` (the NLM's energy
/// and force) and `RecurrentNetwork` (the plain drift) derive from it and add their products
/// and drift; a new model family over the same couplings does the same and gets the samplers,
/// the chains, the backends and the checkpoint codec with them.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "activation/activation.hpp"
#include "couplings.hpp"
#include "detail/checks.hpp"
#include "elementwise.hpp"
#include "force_workspace.hpp"
#include "noise/noise.hpp"
#include "types.hpp"

namespace nlm {

/// @tparam ActivationT φ; @tparam NoiseT the noise √(2T) dW is drawn from; @tparam S float or
/// double; @tparam BackendT the products on J.
template <class ActivationT, class NoiseT, Scalar S, class BackendT>
class NetworkModel {
  static_assert(detail::diagnose_activation<ActivationT, S>());
  static_assert(detail::diagnose_noise<NoiseT, S>());

 public:
  using scalar_type = S;
  using matrix_type = Matrix<S>;
  using vector_type = Vector<S>;
  using activation_type = ActivationT;
  using noise_type = NoiseT;
  using backend_type = BackendT;
  /// What `parameters()` returns: J and b with their products (`Couplings`); `couplings()` is J.
  using parameters_type = Couplings<S, BackendT>;
  /// The fused sampler pass may prepare each block of new states (DriftModel's option).
  static constexpr bool prepares_spans = detail::activation_has_rows<ActivationT, S>;

  std::size_t neurons() const noexcept { return couplings_.neurons(); }
  S temperature() const noexcept { return S(temperature_); }
  /// Sets T (finite, ≥ 0); the error names the model.
  void set_temperature(double t) {
    if (!(std::isfinite(t) && t >= 0.0))
      throw std::invalid_argument(std::string(name()) + ": temperature (T) must be finite and >= 0, got " +
                                  std::to_string(t));
    temperature_ = t;
  }
  ActivationT& activation() noexcept { return activation_; }
  const ActivationT& activation() const noexcept { return activation_; }
  NoiseT& noise() noexcept { return noise_; }
  const NoiseT& noise() const noexcept { return noise_; }
  /// J and b with their products (the `Couplings` object).
  parameters_type& parameters() noexcept { return couplings_; }
  const parameters_type& parameters() const noexcept { return couplings_; }
  /// J, with J(i, j) the synapse from neuron j to neuron i.
  const matrix_type& couplings() const noexcept { return couplings_.matrix(); }
  void set_couplings(matrix_type j) { couplings_.set(std::move(j)); }
  /// The field b (zero unless learned or set).
  const vector_type& field() const noexcept { return couplings_.field(); }
  /// Sets b; from then on the model includes it.
  void set_field(vector_type b) { couplings_.set_field(std::move(b)); }

  /// The elementwise part at X: φ(X), φ'(X) and R ← b − X (one pass, split over threads for
  /// large batches when the activation works on spans).
  void prepare(const matrix_type& x, ForceWorkspace<S>& ws) const {
    detail::require_columns(x, neurons(), name(), "batch");
    detail::prepare_rows(activation_, couplings_, x, ws);
  }
  /// φ, φ' and b − x for `len` states from flat offset `off` (column c0).
  void prepare_span(const S* x, ForceWorkspace<S>& ws, std::size_t off, std::size_t c0, std::size_t len) const {
    detail::prepare_span(activation_, couplings_, x, ws, off, c0, len);
  }

  /// The name in error messages: the model's, or the learner's that owns it.
  const char* name() const noexcept { return couplings_.owner(); }
  void require_positive_temperature(const char* what) const {
    if (!(temperature_ > 0.0))
      throw std::invalid_argument(std::string(name()) + ": " + what + " need temperature (T) > 0, got " +
                                  std::to_string(temperature_));
  }

 protected:
  NetworkModel(parameters_type couplings, double temperature, ActivationT activation, NoiseT noise)
      : couplings_(std::move(couplings)), activation_(std::move(activation)), noise_(std::move(noise)) {
    set_temperature(temperature);
  }

  parameters_type couplings_;
  ActivationT activation_;
  NoiseT noise_;
  double temperature_ = 0.0;
};

}  // namespace nlm
