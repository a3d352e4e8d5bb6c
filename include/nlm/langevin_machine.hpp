/// @file langevin_machine.hpp
/// @brief The Neural Langevin Machine's learner: it owns a `LangevinModel` (the energy
/// E(x) = ½‖x − Jφ(x) − b‖², its force and couplings; langevin_model.hpp), the persistent
/// `Chains` advanced by a Sampler, and the local asymmetric learning rule as a seam (signal →
/// step rule → apply), composed from policies at compile time. docs/architecture.md draws how
/// the parts fit.
///
/// Reference: Z. Yu, W. Huang, H. Huang, "Neural Langevin Machine: a local asymmetric
/// learning rule can be creative" (2025). States are rows (see types.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xview.hpp>

#include "activation/activation.hpp"
#include "activation/tanh.hpp"
#include "backend/blas_products.hpp"
#include "chains.hpp"
#include "couplings.hpp"
#include "data_moments.hpp"
#include "detail/checks.hpp"
#include "detail/parallel.hpp"
#include "elementwise.hpp"
#include "detail/random.hpp"
#include "detail/rows.hpp"
#include "detail/sizes.hpp"
#include "errors.hpp"
#include "force_workspace.hpp"
#include "hyperparameters.hpp"
#include "langevin_model.hpp"
#include "learning/step_rule.hpp"
#include "noise/gaussian_noise.hpp"
#include "noise/noise.hpp"
#include "regularizer/regularizer.hpp"
#include "regularizer/weight_decay.hpp"
#include "sampler/euler_maruyama.hpp"
#include "sampler/sampler.hpp"
#include "types.hpp"

namespace nlm {

/// Independent random streams derived from `Hyperparameters::seed`.
enum class Stream : std::uint64_t { initialisation = 0, noise = 1, sampler = 2, shuffle = 3 };

/// @tparam ActivationT  φ (activation/activation.hpp); default tanh.
/// @tparam NoiseT       the Langevin noise (noise/noise.hpp); default Gaussian.
/// @tparam RegularizerT added to each coupling step (regularizer/regularizer.hpp).
/// @tparam SamplerT     advances chains (sampler/sampler.hpp); default Euler–Maruyama.
/// @tparam S            float or double.
/// @tparam BackendT     computes the products on J (backend/backend.hpp); default BLAS.
/// @tparam StepRuleT    makes a step of the learning signal (learning/step_rule.hpp);
///                      default: the rule `Hyperparameters::step_rule` names.
template <class ActivationT = Tanh, class NoiseT = GaussianNoise, class RegularizerT = WeightDecay,
          class SamplerT = EulerMaruyama, Scalar S = float, class BackendT = BlasProducts,
          class StepRuleT = ConfiguredStep<S>>
class LangevinMachine {
  // Checked here rather than in the template head so that a type missing part of an
  // interface is reported with a sentence naming what is missing.
  static_assert(detail::diagnose_activation<ActivationT, S>());
  static_assert(detail::diagnose_noise<NoiseT, S>());
  static_assert(detail::diagnose_regularizer<RegularizerT, S>());
  static_assert(detail::diagnose_sampler<SamplerT, S>());
  static_assert(detail::diagnose_step_rule<StepRuleT, S>());

 public:
  /// The model being learned; the learner's scalar, activation, noise, backend and
  /// parameter types are its.
  using model_type = LangevinModel<ActivationT, NoiseT, S, BackendT>;
  using scalar_type = typename model_type::scalar_type;
  using matrix_type = typename model_type::matrix_type;
  using vector_type = typename model_type::vector_type;
  using activation_type = typename model_type::activation_type;
  using noise_type = typename model_type::noise_type;
  using backend_type = typename model_type::backend_type;
  /// What `parameters()` returns: J and b with their products (`Couplings`); `couplings()` is J.
  using parameters_type = typename model_type::parameters_type;
  using regularizer_type = RegularizerT;
  using sampler_type = SamplerT;
  using step_rule_type = StepRuleT;
  template <class T>
  using AdamMoments = nlm::AdamMoments<T>;
  static constexpr bool deterministic_noise = NoiseT::deterministic;
  /// The fused sampler pass may prepare each block of new states (DriftModel's option).
  static constexpr bool prepares_spans = detail::activation_has_rows<ActivationT, S>;

  /// Validates `hp`, draws J_ij ~ N(0, g²/N) with J_ii = 0 and then the persistent chains
  /// from N(0, 1) from the initialisation stream, seeds the noise and sampler streams from
  /// `hp.seed`, and gives the sampler Δt and the step rule the learning parameters.
  explicit LangevinMachine(const Hyperparameters& hp, ActivationT activation = ActivationT(),
                           NoiseT noise = NoiseT(), RegularizerT regularizer = RegularizerT(),
                           SamplerT sampler = SamplerT(), BackendT backend = BackendT(),
                           StepRuleT step_rule = StepRuleT())
      : hp_(validated(hp)),
        regularizer_(std::move(regularizer)),
        sampler_(std::move(sampler)),
        step_rule_(std::move(step_rule)),
        init_engine_(detail::derive_seed(hp.seed, std::uint64_t(Stream::initialisation))),
        model_(parameters_type(hp_.neurons, hp_.coupling_strength, init_engine_, std::move(backend), who),
               hp_.temperature, std::move(activation), std::move(noise)),
        chains_(random_states(hp_.persistent_chains)) {
    model_.noise().seed(detail::derive_seed(hp.seed, std::uint64_t(Stream::noise)));
    sampler_.seed(detail::derive_seed(hp.seed, std::uint64_t(Stream::sampler)));
    sampler_.set_time_step(hp_.time_step);
    step_rule_.configure(hp_.learning());
    const std::size_t n = hp_.neurons;
    signal_ = matrix_type::from_shape({n, n});
    signal_.fill(S(0));
    step_ = matrix_type::from_shape({n, n});
    field_signal_ = vector_type::from_shape({n});
    field_signal_.fill(S(0));
    if (hp_.learn_field) model_.parameters().use_field();
  }

  // ---- parameters and state ------------------------------------------------------------
  const Hyperparameters& hyperparameters() const noexcept { return hp_; }
  std::size_t neurons() const noexcept { return hp_.neurons; }
  S time_step() const noexcept { return S(hp_.time_step); }
  S temperature() const noexcept { return model_.temperature(); }

  /// The model being learned: energy, force, couplings, activation, noise and temperature.
  /// Samplers, AIS, parallel tempering and the analyses take it; a copy samples on its own.
  /// Its T is the hyperparameters' (the statistics divide by it): sample a copy at another T
  /// rather than calling `set_temperature` on the learner's own model.
  const model_type& model() const noexcept { return model_; }
  model_type& model() noexcept { return model_; }
  /// J and b with their products.
  const parameters_type& parameters() const noexcept { return model_.parameters(); }
  /// J, with J(i, j) the synapse from neuron j to neuron i.
  const matrix_type& couplings() const noexcept { return model_.couplings(); }
  void set_couplings(matrix_type j) { model_.set_couplings(std::move(j)); }
  /// The field b (zero unless learned or set).
  const vector_type& field() const noexcept { return model_.field(); }
  /// Sets b; from then on the energy includes it, learned or not.
  void set_field(vector_type b) { model_.set_field(std::move(b)); }
  /// Sets b to ⟨x − Jφ(x)⟩ over the rows of `data`, the field at which the data's mean
  /// residual is zero for the current J — a starting point for learning the field that
  /// breaks E's symmetry from the first update (as an RBM's visible biases are started at the
  /// data's log-odds). Turns the field on.
  void fit_field(const matrix_type& data) { model_.fit_field(data); }

  /// The persistent chains of the model phase (their clamp and temperatures included).
  Chains<S>& model_chains() noexcept { return chains_; }
  const Chains<S>& model_chains() const noexcept { return chains_; }
  /// Their states, one per row.
  const matrix_type& persistent_chains() const noexcept { return chains_.states(); }
  void set_persistent_chains(matrix_type chains) {
    detail::require_shape(chains, hp_.persistent_chains, hp_.neurons, who, "persistent chains");
    detail::require_finite(chains, who, "persistent chains contain");
    chains_.set_states(std::move(chains));
  }

  ActivationT& activation() noexcept { return model_.activation(); }
  const ActivationT& activation() const noexcept { return model_.activation(); }
  NoiseT& noise() noexcept { return model_.noise(); }
  const NoiseT& noise() const noexcept { return model_.noise(); }
  RegularizerT& regularizer() noexcept { return regularizer_; }
  const RegularizerT& regularizer() const noexcept { return regularizer_; }
  SamplerT& sampler() noexcept { return sampler_; }
  const SamplerT& sampler() const noexcept { return sampler_; }
  StepRuleT& step_rule() noexcept { return step_rule_; }
  const StepRuleT& step_rule() const noexcept { return step_rule_; }
  /// The product backend (the model's).
  BackendT& backend() noexcept { return model_.parameters().backend(); }
  const BackendT& backend() const noexcept { return model_.parameters().backend(); }

  /// The initialisation stream (J, chains, restarts, `random_states`), for checkpoints.
  std::vector<std::uint64_t> initialisation_state() const { return detail::save_engine(init_engine_); }
  void set_initialisation_state(std::span<const std::uint64_t> w) {
    detail::restore_engine(init_engine_, w, "initialisation stream");
  }

  /// `count` states drawn from N(0, I), the starting point of generation.
  matrix_type random_states(std::size_t count) {
    detail::checked_buffer(count, hp_.neurons, sizeof(S), "LangevinMachine::random_states");
    matrix_type m = matrix_type::from_shape({count, hp_.neurons});
    detail::fill_normal<S>(init_engine_, std::span<S>(m.data(), m.size()));
    return m;
  }

  // ---- the model's members samplers see (DriftModel, EnergyModel), forwarded ----------
  /// The learner forwards them so that code written for a machine keeps working; they are
  /// the model's (langevin_model.hpp), which is where the energy and force are written.
  using Drift = typename model_type::Drift;
  void prepare(const matrix_type& x, ForceWorkspace<S>& ws) const { model_.prepare(x, ws); }
  void prepare_span(const S* x, ForceWorkspace<S>& ws, std::size_t off, std::size_t c0, std::size_t len) const {
    model_.prepare_span(x, ws, off, c0, len);
  }
  void products(ForceWorkspace<S>& ws) const { model_.products(ws); }
  Drift drift_terms(const ForceWorkspace<S>& ws) const noexcept { return model_.drift_terms(ws); }
  void energies(ForceWorkspace<S>& ws) const { model_.energies(ws); }
  void evaluate(const matrix_type& x, ForceWorkspace<S>& ws, bool with_energy) const {
    model_.evaluate(x, ws, with_energy);
  }
  /// E(x) for every row of `x` (LangevinModel::energy).
  vector_type energy(const matrix_type& x) const { return model_.energy(x); }
  /// −∇E(x) for every row of `x` (LangevinModel::force).
  matrix_type force(const matrix_type& x) const { return model_.force(x); }

  /// Advances `chains` by `steps` steps of the sampler (observer(step, states) after each).
  template <class Observer = NoObserver>
  void sample(Chains<S>& chains, std::size_t steps, Observer&& observer = {}) {
    detail::require_columns(chains.states(), hp_.neurons, who, "chains");
    sampler_.advance(model_, chains, steps, std::forward<Observer>(observer));
  }
  /// The same for the rows of `x` (advanced in place through a kept workspace: the steady
  /// state does not allocate).
  template <class Observer = NoObserver>
  void sample(matrix_type& x, std::size_t steps, Observer&& observer = {}) {
    detail::require_columns(x, hp_.neurons, who, "chains");
    scratch_.swap_states(x);
    struct SwapBack {
      Chains<S>& c;
      matrix_type& x;
      ~SwapBack() { c.swap_states(x); }
    } back{scratch_, x};
    sampler_.advance(model_, scratch_, steps, std::forward<Observer>(observer));
  }

  // ---- statistics ----------------------------------------------------------------------
  /// Data phase: \f[ D = \frac{1}{T B} \sum_b (x_b - J\phi(x_b) - b)\,\phi(x_b)^\top \f]
  /// i.e. D = −(1/T) ∂⟨E⟩_batch/∂J, written into `d` (N×N).
  void data_statistics(const matrix_type& batch, matrix_type& d) { statistics_into(batch, data_ws_, d, S(1), S(0)); }
  /// Model phase: the same average over the persistent chains as they are now.
  void model_statistics(matrix_type& m) { statistics_into(chains_.states(), chains_.workspace(), m, S(1), S(0)); }
  /// The field's data statistics \f[ \frac{1}{T B} \sum_b (x_b - J\phi(x_b) - b) \f]
  /// = −(1/T) ∂⟨E⟩_batch/∂b, written into `out` (N).
  void field_statistics(const matrix_type& batch, vector_type& out) {
    detail::require_columns(batch, hp_.neurons, who, "batch");
    model_.residual_of(batch, data_ws_);
    detail::ensure_size(out, hp_.neurons);
    detail::column_means_into(data_ws_.residual, out, -S(1) / model_.temperature(), S(0));
  }
  /// The moments of a dataset (rows) under this machine's activation, accumulated over
  /// blocks of 1000 rows: two N×N products per block, done once before training.
  DataMoments<S> data_moments(const matrix_type& data) const { return model_.data_moments(data); }

  // ---- the learning seam: signal -> (reduce) -> step -> (observe) -> apply -------------
  // Names, said once: the **learning signal** is M − D, the model statistics minus the data
  // statistics (−(1/T) times the difference of ⟨∂E/∂J⟩ under the chains and under the data);
  // J moves by −k times it. Its **mean square**, mean((M − D)²) over the N² entries, is what
  // `update` returns, the training curve plots and the progress bar prints (`signal ms`); the
  // upstream scripts print the same number as "KL norm" (it is not a divergence). It is a
  // gradient of E's averages, but nlm calls it the learning signal everywhere.
  /// One step of the local asymmetric rule on a data mini-batch (rows = images): advance the
  /// persistent chains n_t steps, then \f[ J \leftarrow J - k\,(M - D) - \text{regularizer} \f]
  /// (with WeightDecay: J ← (1 − λ)J − k(M − D)). Returns the learning signal's mean square,
  /// mean((M − D)²). Throws numerical_error, leaving J unchanged, if M − D is not finite.
  double update(const matrix_type& batch) {
    compute_signal(batch);
    const double gms = compute_step();
    apply_step();
    return gms;
  }
  /// The same rule with the data phase taken over a whole dataset at once, from its moments
  /// (`DataMoments`, computed once): D = (⟨xφᵀ⟩ − J⟨φφᵀ⟩ − b⟨φ⟩ᵀ)/T. One N×N×N product
  /// replaces the two N×N×B products of a mini-batch, and D carries no mini-batch noise.
  double update(const DataMoments<S>& data) {
    compute_signal(data);
    const double gms = compute_step();
    apply_step();
    return gms;
  }

  /// The learning signal of one update: M − D (`couplings`), the field's (`field`, zero
  /// unless learn_field), and how many persistent chains and data rows it came from. Mutable,
  /// so that a reduction across processes can replace it with the sum over all of them.
  struct LearningSignal {
    matrix_type& couplings;
    vector_type& field;
    std::size_t chains;
    std::size_t images;
  };
  LearningSignal learning_signal() noexcept {
    return {signal_, field_signal_, chains_.size(), signal_images_};
  }
  /// The learning signal M − D of the last update, and the field's.
  const matrix_type& signal() const noexcept { return signal_; }
  const vector_type& field_signal() const noexcept { return field_signal_; }

  /// First part of `update`: advances the persistent chains n_t steps (model phase) and
  /// writes M − D for the data batch into `learning_signal()`.
  void compute_signal(const matrix_type& batch) {
    detail::require_columns(batch, hp_.neurons, who, "data batch");
    if (mean_images_ != 0 && batch.shape(0) > mean_images_)
      throw std::invalid_argument("LangevinMachine::compute_signal: a batch of " + std::to_string(batch.shape(0)) +
                                  " rows is more than the " + std::to_string(mean_images_) +
                                  " rows its means are over (set_mean_counts)");
    model_phase();
    const std::size_t images = mean_images_ != 0 ? mean_images_ : batch.shape(0);
    statistics_into(batch, data_ws_, signal_, S(-1), S(1), images);
    if (hp_.learn_field)  // residual = −(x − h − b): the data term of (1/T)(⟨·⟩_model − ⟨·⟩_data)
      detail::column_means_into(data_ws_.residual, field_signal_,
                                share(batch.shape(0), mean_images_) / model_.temperature(), S(1));
    signal_images_ = batch.shape(0);
  }
  /// The same from a dataset's moments.
  void compute_signal(const DataMoments<S>& data) {
    if (mean_chains_ != 0)
      throw std::invalid_argument("LangevinMachine::compute_signal: the data moments are whole means and cannot "
                                  "be a part of larger ones (set_mean_counts); give each machine its rows of a batch");
    if (data.x_phi.shape(0) != hp_.neurons || data.x_phi.shape(1) != hp_.neurons)
      throw std::invalid_argument("LangevinMachine::update: the data moments are for " +
                                  std::to_string(data.x_phi.shape(0)) + " neurons, the machine has " +
                                  std::to_string(hp_.neurons));
    model_phase();
    const S inv_t = S(1) / model_.temperature();
    const std::size_t n = hp_.neurons;
    const parameters_type& couplings = model_.parameters();
    const vector_type& b = couplings.field();
    // gradient −= D: += (1/T) J⟨φφᵀ⟩ − (1/T)⟨xφᵀ⟩ (+ (1/T) b⟨φ⟩ᵀ); every product through the
    // backend, on kept 1×N and N×1 buffers.
    couplings.multiply(data.phi_phi, signal_, inv_t, S(1));
    xt::noalias(signal_) -= inv_t * data.x_phi;
    if (couplings.has_field()) {  // b⟨φ⟩ᵀ = Aᵀ B with A = bᵀ, B = ⟨φ⟩ᵀ (1×N each): one correlate
      detail::ensure_shape(moments_row_a_, 1, n);
      detail::ensure_shape(moments_row_b_, 1, n);
      std::copy_n(b.data(), n, moments_row_a_.data());
      std::copy_n(data.mean_phi.data(), n, moments_row_b_.data());
      couplings.correlate(moments_row_a_, moments_row_b_, signal_, inv_t, S(1));
    }
    if (hp_.learn_field) {  // field gradient −= (⟨x⟩ − J⟨φ⟩ − b)/T, J⟨φ⟩ by one multiply
      detail::ensure_shape(moments_column_, n, 1);
      detail::ensure_shape(moments_drive_, n, 1);
      std::copy_n(data.mean_phi.data(), n, moments_column_.data());
      couplings.multiply(moments_column_, moments_drive_, S(1), S(0));
      for (std::size_t i = 0; i < n; ++i)
        field_signal_(i) -= inv_t * (data.mean_x(i) - moments_drive_(i, 0) - b(i));
    }
    signal_images_ = data.count;
  }

  /// The counts the means of the learning signal divide by: the model statistics by `chains`
  /// and the data statistics by `images`, instead of this machine's own persistent chains and
  /// batch rows. The signal is then this machine's part of a sum over more chains and rows,
  /// and the parts of machines that share the counts add up to the signal of all their chains
  /// and rows together: what nlm/distributed gives each process. `set_mean_counts(0, 0)`
  /// restores the machine's own counts (the default).
  void set_mean_counts(std::size_t chains, std::size_t images) {
    if ((chains == 0) != (images == 0))
      throw std::invalid_argument("LangevinMachine::set_mean_counts: give both totals or neither (0, 0)");
    if (chains != 0 && chains < hp_.persistent_chains)
      throw std::invalid_argument("LangevinMachine::set_mean_counts: " + std::to_string(chains) +
                                  " chains in all is fewer than this machine's " +
                                  std::to_string(hp_.persistent_chains) + " (N_model)");
    mean_chains_ = chains;
    mean_images_ = images;
  }
  /// The totals `set_mean_counts` set ({0, 0}: the machine's own counts).
  std::pair<std::size_t, std::size_t> mean_counts() const noexcept { return {mean_chains_, mean_images_}; }

  /// Scales k (and the field's rate) in the updates that follow; `train` sets it from its
  /// schedule (learning/schedule.hpp). 1 by default.
  void set_learning_rate_scale(double s) {
    if (!(std::isfinite(s) && s >= 0.0))
      throw std::invalid_argument("LangevinMachine: learning-rate scale must be finite and >= 0, got " +
                                  std::to_string(s));
    rate_scale_ = s;
  }
  double learning_rate_scale() const noexcept { return rate_scale_; }
  std::uint64_t updates() const noexcept { return updates_; }
  void set_updates(std::uint64_t n) noexcept { updates_ = n; }

  /// Second part: refuses a non-finite signal (numerical_error, nothing changed), counts the
  /// update, and forms the step the step rule and the regularizer make of the signal:
  /// `step()` (J ← J − step) and `field_step()` (b ← b − field_step). Returns mean((M − D)²).
  double compute_step() {
    const double gms = detail::mean_square(signal_);
    if (!std::isfinite(gms))
      throw numerical_error("nlm: the learning signal M - D is not finite at update " + std::to_string(updates_ + 1) +
                            " (the persistent chains diverged?); the couplings were left "
                            "unchanged. Lower time_step (dt) or learning_rate (k).");
    if (hp_.learn_field)
      for (std::size_t i = 0; i < field_signal_.size(); ++i)
        if (!std::isfinite(field_signal_(i)))
          throw numerical_error("nlm: the field's learning signal is not finite at update " +
                                std::to_string(updates_ + 1) + "; the couplings were left unchanged.");
    ++updates_;
    const S k = S(hp_.learning_rate * rate_scale_);
    step_rule_.couplings_step(signal_, step_, k, updates_);
    if (hp_.learn_field) step_rule_.field_step(field_signal_, field_step_, k, updates_);
    regularizer_.add_to_step(model_.couplings(), step_);
    return gms;
  }
  /// The step `compute_step` formed, before `apply_step` subtracts it (a regularizer's
  /// constraint, such as ZeroDiagonal's, is imposed after it).
  const matrix_type& step() const noexcept { return step_; }
  /// The field's step (empty unless learn_field).
  const vector_type& field_step() const noexcept { return field_step_; }
  /// Last part: J ← J − step and the regularizer's constraint (through `Couplings`, so the
  /// backend refreshes), b ← b − field_step.
  void apply_step() {
    model_.parameters().apply_step(step_, regularizer_);
    if (hp_.learn_field) model_.parameters().apply_field_step(field_step_);
  }

 private:
  static constexpr const char* who = "LangevinMachine";

  // Restarts chains (chain_restart), advances the persistent chains n_t steps and writes the
  // model statistics M into signal_ (and the field's model term into field_signal_).
  void model_phase() {
    if (!(model_.temperature() > S(0)))
      throw std::invalid_argument("LangevinMachine::update: learning needs temperature (T) > 0, got " +
                                  std::to_string(double(model_.temperature())));
    if (hp_.chain_restart > 0.0) chains_.restart(init_engine_, hp_.chain_restart);
    sampler_.advance(model_, chains_, hp_.langevin_steps, NoObserver{});
    const std::size_t own = chains_.size(), chains = mean_chains_ != 0 ? mean_chains_ : own;
    statistics_into(chains_.states(), chains_.workspace(), signal_, S(1), S(0), chains);
    if (hp_.learn_field)
      detail::column_means_into(chains_.workspace().residual, field_signal_,
                                -share(own, mean_chains_) / model_.temperature(), S(0));
  }

  // This process's share of a mean over `total` rows (1 without set_mean_counts).
  static S share(std::size_t own, std::size_t total) noexcept {
    return total == 0 ? S(1) : S(double(own) / double(total));
  }

  static const Hyperparameters& validated(const Hyperparameters& hp) {
    hp.validate();
    detail::require_machine_memory(hp, sizeof(S));
    return hp;
  }

  // out ← sign·(1/(T B)) Σ_b (x_b − h_b − b) φ(x_b)ᵀ + beta·out (LangevinModel::statistics_into).
  void statistics_into(const matrix_type& x, ForceWorkspace<S>& ws, matrix_type& out, S sign, S beta,
                       std::size_t count = 0) {
    detail::require_columns(x, hp_.neurons, who, "batch");
    model_.statistics_into(x, ws, out, sign, beta, count);
  }

  Hyperparameters hp_;
  RegularizerT regularizer_;
  SamplerT sampler_;
  StepRuleT step_rule_;
  detail::Xoshiro256 init_engine_;
  model_type model_;  // after init_engine_: J is drawn first, then the chains
  Chains<S> chains_;
  Chains<S> scratch_;  // a caller's matrix advanced by sample(matrix&)
  matrix_type signal_, step_;
  vector_type field_signal_, field_step_;
  ForceWorkspace<S> data_ws_;
  matrix_type moments_row_a_, moments_row_b_, moments_column_, moments_drive_;  // the data-moments update's products
  double rate_scale_ = 1.0;
  std::uint64_t updates_ = 0;
  std::size_t signal_images_ = 0;
  std::size_t mean_chains_ = 0, mean_images_ = 0;  // set_mean_counts
};

/// The paper's configuration: tanh, Gaussian noise, weight decay λ = 2·10⁻⁶ (diagonal zero
/// only at initialisation, as in the upstream scripts), Euler–Maruyama, float.
using PaperMachine = LangevinMachine<Tanh, GaussianNoise, WeightDecay, EulerMaruyama, float>;

}  // namespace nlm
