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
#include "network_model.hpp"
#include "noise/gaussian_noise.hpp"
#include "noise/noise.hpp"
#include "types.hpp"

namespace nlm {

/// @tparam ActivationT φ; @tparam NoiseT the noise of its Langevin form; @tparam S float or
/// double; @tparam BackendT the products on J. The same policy types as `LangevinMachine`;
/// J, b, φ, the noise and T are the `NetworkModel` it shares with `LangevinModel`.
template <class ActivationT = Tanh, class NoiseT = GaussianNoise, Scalar S = float,
          class BackendT = BlasProducts>
class RecurrentNetwork : public NetworkModel<ActivationT, NoiseT, S, BackendT> {
  using Base = NetworkModel<ActivationT, NoiseT, S, BackendT>;
  using Base::activation_;
  using Base::couplings_;

 public:
  using typename Base::matrix_type;
  using typename Base::parameters_type;
  using typename Base::vector_type;
  using Base::neurons;
  using Base::prepare;

  /// A network on given couplings (their field included when it is on) at temperature T ≥ 0.
  RecurrentNetwork(parameters_type couplings, double temperature, ActivationT activation = ActivationT(),
                   NoiseT noise = NoiseT())
      : Base(owned(std::move(couplings)), temperature, std::move(activation), std::move(noise)) {}
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

  // ---- DriftModel (sampler/sampler.hpp): prepare and prepare_span are the base's -----------
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
  // The couplings with this network's name in their errors (a machine's name them after it).
  static parameters_type owned(parameters_type c) {
    c.set_owner(who);
    return c;
  }
};

}  // namespace nlm
