/// @file langevin_model.hpp
/// @brief The NLM as a model, apart from any learner: the energy
/// \f[ E(x) = \tfrac12 \|x - J\phi(x) - b\|^2 \f]
/// at temperature T over `Couplings` (J, b and their product backend), its force −∇E, and the
/// members samplers use (`DriftModel`, `EnergyModel`; sampler/sampler.hpp). This is the one
/// place the NLM's energy and force are written: the learner (`LangevinMachine`) owns a model
/// and adds chains, a step rule and a regularizer; samplers, AIS, parallel tempering and the
/// analyses take the model itself.
///
///     nlm::LangevinModel<> model(j, b, 1.0);            // given J (N×N), b (N or empty), T
///     nlm::Chains<float> chains(model_states);          // one state per row
///     nlm::EulerMaruyama sampler;
///     sampler.set_time_step(0.01);
///     sampler.advance(model, chains, 25000, nlm::NoObserver{});
///
/// States are rows (types.hpp). Reference: Z. Yu, W. Huang, H. Huang, "Neural Langevin
/// Machine: a local asymmetric learning rule can be creative" (2025).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include <xtensor/xnoalias.hpp>
#include <xtensor/xview.hpp>

#include "activation/activation.hpp"
#include "activation/tanh.hpp"
#include "backend/blas_products.hpp"
#include "couplings.hpp"
#include "data_moments.hpp"
#include "detail/checks.hpp"
#include "detail/parallel.hpp"
#include "detail/random.hpp"
#include "detail/rows.hpp"
#include "elementwise.hpp"
#include "force_workspace.hpp"
#include "network_model.hpp"
#include "noise/gaussian_noise.hpp"
#include "noise/noise.hpp"
#include "sampler/sampler.hpp"
#include "types.hpp"

namespace nlm {

/// @tparam ActivationT φ (activation/activation.hpp); default tanh.
/// @tparam NoiseT      the Langevin noise √(2T) dW is drawn from (noise/noise.hpp).
/// @tparam S           float or double.
/// @tparam BackendT    computes the products on J (backend/backend.hpp); default BLAS.
template <class ActivationT = Tanh, class NoiseT = GaussianNoise, Scalar S = float, class BackendT = BlasProducts>
class LangevinModel : public NetworkModel<ActivationT, NoiseT, S, BackendT> {
  using Base = NetworkModel<ActivationT, NoiseT, S, BackendT>;
  using Base::activation_;
  using Base::couplings_;
  using Base::temperature_;

 public:
  using typename Base::matrix_type;
  using typename Base::parameters_type;
  using typename Base::vector_type;
  using Base::name;
  using Base::neurons;
  using Base::prepare;
  using Base::prepares_spans;
  using Base::require_positive_temperature;
  using Base::set_field;
  using Base::temperature;

  /// A model on given couplings (their field included when it is on) at temperature T ≥ 0.
  LangevinModel(parameters_type couplings, double temperature, ActivationT activation = ActivationT(),
                NoiseT noise = NoiseT())
      : Base(std::move(couplings), temperature, std::move(activation), std::move(noise)) {}
  /// A model on J (N×N, finite) and, when `b` is not empty, the field b (N values), at T ≥ 0.
  /// The noise stream is seeded with `seed`.
  LangevinModel(matrix_type j, vector_type b, double temperature, std::uint64_t seed = 0,
                ActivationT activation = ActivationT(), NoiseT noise = NoiseT(), BackendT backend = BackendT())
      : LangevinModel(parameters_type::given(std::move(j), std::move(b), std::move(backend), "LangevinModel"),
                      temperature, std::move(activation), std::move(noise)) {
    this->noise().seed(seed);
  }

  // ---- DriftModel and EnergyModel (sampler/sampler.hpp) --------------------------------
  /// The two products on a prepared workspace: drive R += φ(X) Jᵀ, feedback G = R J.
  void products(ForceWorkspace<S>& ws) const {
    couplings_.drive(ws.phi, ws.residual);
    couplings_.feedback(ws.residual, ws.feedback);
  }
  /// The force F = −∇E = R − φ'(X) ⊙ G, elementwise, of an evaluated workspace.
  struct Drift {
    const S* r;
    const S* dphi;
    const S* g;
    S operator()(std::size_t i) const noexcept { return r[i] - dphi[i] * g[i]; }
  };
  Drift drift_terms(const ForceWorkspace<S>& ws) const noexcept {
    return {ws.residual.data(), ws.dphi.data(), ws.feedback.data()};
  }
  /// E(x_b) = ½‖R_b‖² of an evaluated workspace.
  void energies(ForceWorkspace<S>& ws) const { detail::row_half_squares(ws.residual, ws.energy); }
  /// prepare, products and (if asked) energies: fills `ws` for the batch `x` without
  /// allocating once `ws` has the batch's shape.
  void evaluate(const matrix_type& x, ForceWorkspace<S>& ws, bool with_energy) const {
    detail::evaluate(*this, x, ws, with_energy);
  }

  /// \f[ E(x) = \tfrac12 \|x - J\phi(x) - b\|^2 \f] for every row of `x`.
  vector_type energy(const matrix_type& x) const {
    detail::require_columns(x, neurons(), name(), "batch");
    matrix_type phi = matrix_type::from_shape(x.shape());
    matrix_type r = matrix_type::from_shape(x.shape());
    activation_.value(x, phi);
    residual_into(x, phi, r);
    vector_type e = vector_type::from_shape({x.shape(0)});
    detail::row_half_squares(r, e);
    return e;
  }
  /// \f[ F(x) = -\nabla E = -(x - h) + \phi'(x) \odot J^\top (x - h), \quad h = J\phi(x) + b \f]
  matrix_type force(const matrix_type& x) const {
    ForceWorkspace<S> ws;
    evaluate(x, ws, false);
    return ws.residual - ws.dphi * ws.feedback;
  }

  // ---- the energy's gradient in J and b (what a learner averages) ----------------------
  /// ws.phi ← φ(X), ws.residual ← R = φ(X) Jᵀ + b − X for the rows of X: what the statistics
  /// below need. Needs T > 0.
  void residual_of(const matrix_type& x, ForceWorkspace<S>& ws) const {
    detail::require_columns(x, neurons(), name(), "batch");
    require_positive_temperature("statistics");
    if constexpr (prepares_spans) {
      prepare(x, ws);  // one pass, split over threads (φ' comes along at little cost)
      couplings_.drive(ws.phi, ws.residual);
    } else {
      detail::ensure_shape(ws.phi, x.shape(0), x.shape(1));
      detail::ensure_shape(ws.residual, x.shape(0), x.shape(1));
      activation_.value(x, ws.phi);
      residual_into(x, ws.phi, ws.residual);
    }
  }
  /// out ← sign·(1/(T B)) Σ_b (x_b − Jφ(x_b) − b) φ(x_b)ᵀ + beta·out = −sign (1/B) Σ_b ∂(E/T)/∂J,
  /// B = `count` (0: the rows of x). With R = h + b − x this is −sign/(T B) · Rᵀ Φ: one
  /// correlate through the backend. Leaves φ and R of x in `ws`.
  void statistics_into(const matrix_type& x, ForceWorkspace<S>& ws, matrix_type& out, S sign, S beta,
                       std::size_t count = 0) const {
    residual_of(x, ws);
    const S alpha = -sign / (temperature() * S(count != 0 ? count : x.shape(0)));
    couplings_.correlate(ws.residual, ws.phi, out, alpha, beta);
  }

  /// The moments of a dataset (rows) under this model's activation, accumulated over blocks
  /// of 1000 rows: two N×N products per block through the backend.
  DataMoments<S> data_moments(const matrix_type& data) const {
    const std::size_t n = neurons();
    DataMoments<S> m{matrix_type::from_shape({n, n}), matrix_type::from_shape({n, n}),
                     vector_type::from_shape({n}), vector_type::from_shape({n}), data.shape(0)};
    for_each_block(data, "data_moments", [&](const matrix_type& x, const matrix_type& phi, S weight, S beta) {
      const S w = weight / S(x.shape(0));  // 1 / rows of the dataset
      couplings_.correlate(x, phi, m.x_phi, w, beta);
      couplings_.correlate(phi, phi, m.phi_phi, w, beta);
      detail::column_means_into(x, m.mean_x, weight, beta);
      detail::column_means_into(phi, m.mean_phi, weight, beta);
    });
    return m;
  }
  /// Sets b to ⟨x − Jφ(x)⟩ over the rows of `data`, the field at which the data's mean
  /// residual is zero for the current J, and turns the field on.
  void fit_field(const matrix_type& data) {
    vector_type b = vector_type::from_shape({neurons()});
    matrix_type r;
    for_each_block(data, "fit_field", [&](const matrix_type& x, const matrix_type& phi, S weight, S beta) {
      r = -x;  // h − x, without any field
      couplings_.drive(phi, r);
      detail::column_means_into(r, b, -weight, beta);
    });
    set_field(std::move(b));
  }
 private:
  /// r ← φ(X) Jᵀ + b − X (row form of h + b − x).
  void residual_into(const matrix_type& x, const matrix_type& phi, matrix_type& r) const {
    if (couplings_.has_field())
      xt::noalias(r) = couplings_.field() - x;  // b broadcast over rows
    else
      xt::noalias(r) = -x;
    couplings_.drive(phi, r);
  }
  // Walks a dataset in blocks of 1000 rows, calling f(x, φ(x), weight, beta) per block, where
  // weight = block rows / dataset rows and beta is 0 for the first block and 1 after.
  template <class F>
  void for_each_block(const matrix_type& data, const char* caller, F&& f) const {
    detail::require_columns(data, neurons(), name(), "dataset");
    const std::size_t rows = data.shape(0);
    if (rows == 0) throw std::invalid_argument(std::string(name()) + "::" + caller + ": the dataset is empty");
    constexpr std::size_t block = 1000;
    matrix_type x, phi;
    for (std::size_t r0 = 0; r0 < rows; r0 += block) {
      const std::size_t r1 = std::min(rows, r0 + block);
      x = xt::view(data, xt::range(r0, r1), xt::all());
      phi.resize(x.shape());
      activation_.value(x, phi);
      f(x, phi, S(r1 - r0) / S(rows), r0 == 0 ? S(0) : S(1));
    }
  }

};

}  // namespace nlm
