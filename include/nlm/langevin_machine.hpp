/// @file langevin_machine.hpp
/// @brief The Neural Langevin Machine: couplings J, the energy E(x) = ½‖x − Jφ(x)‖², its
/// force, Langevin sampling, and the local asymmetric learning rule, composed from four
/// policies at compile time.
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
#include "detail/blas.hpp"
#include "detail/parallel.hpp"
#include "detail/random.hpp"
#include "detail/sizes.hpp"
#include "data_moments.hpp"
#include "errors.hpp"
#include "force_workspace.hpp"
#include "hyperparameters.hpp"
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

/// @tparam ActivationT  φ (see activation/activation.hpp); default tanh.
/// @tparam NoiseT       the Langevin noise (noise/noise.hpp); default Gaussian.
/// @tparam RegularizerT added to each coupling update (regularizer/regularizer.hpp).
/// @tparam SamplerT     advances chains (sampler/sampler.hpp); default Euler–Maruyama.
/// @tparam S            float or double.
template <class ActivationT = Tanh, class NoiseT = GaussianNoise,
          class RegularizerT = WeightDecay, class SamplerT = EulerMaruyama, Scalar S = float>
class LangevinMachine {
  // Checked here rather than in the template head so that a type missing part of an
  // interface is reported with a sentence naming what is missing.
  static_assert(detail::diagnose_activation<ActivationT, S>());
  static_assert(detail::diagnose_noise<NoiseT, S>());
  static_assert(detail::diagnose_regularizer<RegularizerT, S>());
  static_assert(detail::diagnose_sampler<SamplerT, S>());

 public:
  using scalar_type = S;
  using matrix_type = Matrix<S>;
  using vector_type = Vector<S>;
  using activation_type = ActivationT;
  using noise_type = NoiseT;
  using regularizer_type = RegularizerT;
  using sampler_type = SamplerT;
  static constexpr bool deterministic_noise = NoiseT::deterministic;

  /// Validates `hp`, draws J_ij ~ N(0, g²/N) with J_ii = 0 and the persistent chains from
  /// N(0, 1), and seeds the noise and sampler streams from `hp.seed`.
  explicit LangevinMachine(const Hyperparameters& hp, ActivationT activation = ActivationT(),
                           NoiseT noise = NoiseT(), RegularizerT regularizer = RegularizerT(),
                           SamplerT sampler = SamplerT())
      : hp_(validated(hp)),
        activation_(std::move(activation)),
        noise_(std::move(noise)),
        regularizer_(std::move(regularizer)),
        sampler_(std::move(sampler)),
        init_engine_(detail::derive_seed(hp.seed, std::uint64_t(Stream::initialisation))) {
    noise_.seed(detail::derive_seed(hp.seed, std::uint64_t(Stream::noise)));
    sampler_.seed(detail::derive_seed(hp.seed, std::uint64_t(Stream::sampler)));
    const std::size_t n = hp_.neurons;
    couplings_ = random_normal(n, n, S(hp_.coupling_strength / std::sqrt(double(n))));
    for (std::size_t i = 0; i < n; ++i) couplings_(i, i) = S(0);
    chains_ = random_states(hp_.persistent_chains);
    gradient_ = matrix_type::from_shape({n, n});
    step_ = matrix_type::from_shape({n, n});
    gradient_.fill(S(0));
    field_ = vector_type::from_shape({n});
    field_.fill(S(0));
    field_gradient_ = field_;
    use_field_ = hp_.learn_field;
  }

  // ---- parameters and state ------------------------------------------------------------
  const Hyperparameters& hyperparameters() const noexcept { return hp_; }
  std::size_t neurons() const noexcept { return hp_.neurons; }
  S time_step() const noexcept { return S(hp_.time_step); }
  S temperature() const noexcept { return S(hp_.temperature); }

  /// J, with J(i, j) the synapse from neuron j to neuron i.
  const matrix_type& couplings() const noexcept { return couplings_; }
  void set_couplings(matrix_type j) {
    require_shape(j, hp_.neurons, hp_.neurons, "couplings");
    require_finite(j, "couplings");
    couplings_ = std::move(j);
  }
  /// The N_model persistent chains of the model phase, one per row.
  const matrix_type& persistent_chains() const noexcept { return chains_; }
  void set_persistent_chains(matrix_type chains) {
    require_shape(chains, hp_.persistent_chains, hp_.neurons, "persistent chains");
    require_finite(chains, "persistent chains");
    chains_ = std::move(chains);
  }
  /// The field b (zero unless learned or set).
  const vector_type& field() const noexcept { return field_; }
  /// Sets b; from then on the energy includes it, learned or not.
  void set_field(vector_type b) {
    if (b.shape(0) != hp_.neurons)
      throw std::invalid_argument("LangevinMachine: field must have " +
                                  std::to_string(hp_.neurons) + " values, got " +
                                  std::to_string(b.shape(0)));
    for (std::size_t i = 0; i < b.size(); ++i)
      if (!std::isfinite(b(i)))
        throw numerical_error("LangevinMachine: field contains a non-finite value at index " +
                              std::to_string(i));
    field_ = std::move(b);
    use_field_ = true;
  }
  /// Sets b to ⟨x − Jφ(x)⟩ over the rows of `data`, the field at which the data's mean
  /// residual is zero for the current J — a starting point for learning the field that
  /// breaks E's symmetry from the first update (as an RBM's visible biases are started at the
  /// data's log-odds). Turns the field on.
  void fit_field(const matrix_type& data) {
    vector_type b = vector_type::from_shape({hp_.neurons});
    matrix_type r;
    for_each_block(data, "fit_field", [&](const matrix_type& x, const matrix_type& phi, S weight, S beta) {
      r = -x;  // h − x, without any field
      detail::gemm(phi, detail::Op::none, couplings_, detail::Op::transpose, r, S(1), S(1));
      column_means_into(r, b, -weight, beta);
    });
    set_field(std::move(b));
  }

  /// Scales k (and the field's rate) in the updates that follow; `train` sets it from
  /// `TrainingOptions::anneal_fraction`. 1 by default.
  void set_learning_rate_scale(double s) {
    if (!(std::isfinite(s) && s >= 0.0))
      throw std::invalid_argument("LangevinMachine: learning-rate scale must be finite and >= 0, got " +
                                  std::to_string(s));
    rate_scale_ = s;
  }
  double learning_rate_scale() const noexcept { return rate_scale_; }

  /// The learning signal M − D of the last update.
  const matrix_type& gradient() const noexcept { return gradient_; }
  /// The field's learning signal of the last update (zero unless learn_field).
  const vector_type& field_gradient() const noexcept { return field_gradient_; }
  std::uint64_t updates() const noexcept { return updates_; }
  void set_updates(std::uint64_t n) noexcept { updates_ = n; }

  ActivationT& activation() noexcept { return activation_; }
  const ActivationT& activation() const noexcept { return activation_; }
  NoiseT& noise() noexcept { return noise_; }
  const NoiseT& noise() const noexcept { return noise_; }
  RegularizerT& regularizer() noexcept { return regularizer_; }
  const RegularizerT& regularizer() const noexcept { return regularizer_; }
  SamplerT& sampler() noexcept { return sampler_; }
  const SamplerT& sampler() const noexcept { return sampler_; }

  /// The initialisation stream (J, chains, `random_states`), for checkpoints.
  std::vector<std::uint64_t> initialisation_state() const {
    return detail::save_engine(init_engine_);
  }
  void set_initialisation_state(std::span<const std::uint64_t> w) {
    detail::restore_engine(init_engine_, w, "initialisation stream");
  }

  /// `count` states drawn from N(0, I), the starting point of generation.
  matrix_type random_states(std::size_t count) {
    return random_normal(count, hp_.neurons, S(1));
  }

  // ---- energy and force ----------------------------------------------------------------
  /// The hot path: fills `ws` for the batch `x` (B×N) without allocating once `ws` has the
  /// batch's shape. Two products: R = φ(X) Jᵀ − X and G = R J.
  void evaluate(const matrix_type& x, ForceWorkspace<S>& ws, bool with_energy) const {
    prepare(x, ws);
    products(ws);
    if (with_energy) row_half_squares(ws.residual, ws.energy);
  }

  /// The elementwise half of `evaluate`: φ(X), φ'(X) and R ← b − X (one pass, split over
  /// threads for large batches when the activation works on spans).
  void prepare(const matrix_type& x, ForceWorkspace<S>& ws) const {
    require_columns(x, "batch");
    ws.resize(x.shape(0), x.shape(1));
    if constexpr (detail::activation_has_rows<ActivationT, S>) {
      const std::size_t n = x.shape(1);
      detail::parallel_rows(x.shape(0), n, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) prepare_row(x.data() + r * n, ws, r * n);
      });
    } else {
      activation_.value_and_derivative(x, ws.phi, ws.dphi);
      if (use_field_)
        xt::noalias(ws.residual) = field_ - x;
      else
        xt::noalias(ws.residual) = -x;
    }
  }

  /// The two products of `evaluate` on a prepared workspace: R += φ(X) Jᵀ, G = R J.
  void products(ForceWorkspace<S>& ws) const {
    detail::gemm(ws.phi, detail::Op::none, couplings_, detail::Op::transpose, ws.residual, S(1),
                 S(1));
    detail::gemm(ws.residual, detail::Op::none, couplings_, detail::Op::none, ws.feedback, S(1),
                 S(0));
  }

  /// One Euler–Maruyama step on a workspace evaluated at `x`, fused into one pass over memory
  /// that also prepares `ws` for the new states (call `products` before the next step):
  /// \f[ X \leftarrow X + \Delta t\,(R - \phi'(X) \odot G) + \sigma\,\Xi \f]
  /// The noise Ξ comes from the Noise policy (generated block by block inside the pass when
  /// the policy offers draws); σ = 0 skips it.
  void euler_step(matrix_type& x, ForceWorkspace<S>& ws, S dt, S sigma) {
    const std::size_t rows = x.shape(0), n = x.shape(1);
    constexpr bool rowwise = detail::activation_has_rows<ActivationT, S>;
    constexpr bool blocks = detail::noise_has_draw<NoiseT, S>;
    const bool noisy = !deterministic_noise && sigma != S(0);
    matrix_type& xi = ws.noise;  // used only by Noise policies without draws
    if (noisy && !blocks) {
      detail::ensure_shape(xi, rows, n);
      noise_.fill(xi);
    }
    // noise_at(off, buf, len) points at the noise for `len` states from flat offset `off`.
    auto run = [&](auto&& noise_at) {
      detail::parallel_rows(rows, n, [&](std::size_t r0, std::size_t r1) {
        constexpr std::size_t chunk = 512;
        alignas(64) S buf[chunk];
        for (std::size_t r = r0; r < r1; ++r)
          for (std::size_t c0 = 0; c0 < n; c0 += chunk) {
            const std::size_t len = std::min(chunk, n - c0), off = r * n + c0;
            S* xr = x.data() + off;
            const S* rr = ws.residual.data() + off;
            const S* dp = ws.dphi.data() + off;
            const S* gr = ws.feedback.data() + off;
            if (noisy) {
              const S* z = noise_at(off, buf, len);
              for (std::size_t j = 0; j < len; ++j)
                xr[j] += dt * (rr[j] - dp[j] * gr[j]) + sigma * z[j];
            } else {
              for (std::size_t j = 0; j < len; ++j) xr[j] += dt * (rr[j] - dp[j] * gr[j]);
            }
            if constexpr (rowwise) prepare_span(xr, ws, off, c0, len);
          }
      });
    };
    if constexpr (blocks) {
      if (noisy) {
        const auto draw = noise_.template draw<S>(x.size());
        run([&](std::size_t off, S* buf, std::size_t len) -> const S* {
          draw.fill(off, std::span<S>(buf, len));
          return buf;
        });
      } else {
        run([](std::size_t, S* buf, std::size_t) -> const S* { return buf; });
      }
    } else {
      run([&](std::size_t off, S*, std::size_t) -> const S* { return xi.data() + off; });
    }
    if constexpr (!rowwise) prepare(x, ws);
  }

  /// \f[ E(x) = \tfrac12 \|x - J\phi(x) - b\|^2 \f] for every row of `x` (b = 0 unless a
  /// field is learned or set).
  vector_type energy(const matrix_type& x) const {
    require_columns(x, "batch");
    matrix_type phi = matrix_type::from_shape(x.shape());
    matrix_type r = matrix_type::from_shape(x.shape());
    activation_.value(x, phi);
    residual_into(x, phi, r);
    vector_type e = vector_type::from_shape({x.shape(0)});
    row_half_squares(r, e);
    return e;
  }

  /// \f[ F(x) = -\nabla E = -(x - h) + \phi'(x) \odot J^\top (x - h), \quad h = J\phi(x) \f]
  matrix_type force(const matrix_type& x) const {
    ForceWorkspace<S> ws;
    evaluate(x, ws, false);
    return ws.residual - ws.dphi * ws.feedback;
  }

  /// Advances every row of `x` by `steps` steps of the sampler (observer(step, x) after each).
  template <class Observer = NoObserver>
  void sample(matrix_type& x, std::size_t steps, Observer&& observer = {}) {
    require_columns(x, "chains");
    sampler_.advance(*this, x, steps, std::forward<Observer>(observer));
  }

  /// Fills `xi` from the Noise policy (part of the model interface samplers use).
  void draw_noise(matrix_type& xi) { noise_.fill(xi); }

  // ---- learning ------------------------------------------------------------------------
  /// Data phase: \f[ D = \frac{1}{T B} \sum_b (x_b - J\phi(x_b))\,\phi(x_b)^\top \f]
  /// i.e. D = −(1/T) ∂⟨E⟩_batch/∂J, written into `d` (N×N).
  void data_statistics(const matrix_type& batch, matrix_type& d) {
    statistics_into(batch, data_ws_, d, S(1), S(0));
  }
  /// Model phase: the same average over the persistent chains as they are now.
  void model_statistics(matrix_type& m) { statistics_into(chains_, model_ws_, m, S(1), S(0)); }

  /// The field's data statistics: \f[ \frac{1}{T B} \sum_b (x_b - J\phi(x_b) - b) \f]
  /// = −(1/T) ∂⟨E⟩_batch/∂b, written into `out` (N).
  void field_statistics(const matrix_type& batch, vector_type& out) {
    residual_of(batch, data_ws_);
    detail::ensure_size(out, hp_.neurons);
    column_means_into(data_ws_.residual, out, -S(1) / S(hp_.temperature), S(0));
  }

  /// One step of the local asymmetric rule on a data mini-batch (rows = images):
  /// advance the persistent chains n_t steps, then
  /// \f[ J \leftarrow J - k\,(M - D) - \text{regularizer} \f]
  /// (with WeightDecay: J ← (1 − λ)J − k(M − D)). Returns mean((M − D)²), the upstream
  /// "KL norm". Throws numerical_error, leaving J unchanged, if M − D is not finite.
  double update(const matrix_type& batch) {
    compute_signal(batch);
    const double gms = compute_step();
    apply_step();
    return gms;
  }

  // ---- the learning seam: signal -> (reduce) -> step -> (observe) -> apply -------------
  /// The learning signal of one update: M − D (`couplings`), the field's (`field`, zero
  /// unless learn_field), and how many persistent chains and data rows it came from. Mutable,
  /// so that a reduction across processes can replace it with the sum over all of them.
  struct LearningSignal {
    matrix_type& couplings;
    vector_type& field;
    std::size_t chains;
    std::size_t images;
  };

  /// First part of `update`: advances the persistent chains n_t steps (model phase) and
  /// writes M − D for the data batch into `learning_signal()`.
  void compute_signal(const matrix_type& batch) {
    require_columns(batch, "data batch");
    model_phase();
    statistics_into(batch, data_ws_, gradient_, S(-1), S(1));
    if (hp_.learn_field) {
      // ∂KL/∂b = (1/T)(⟨x − h − b⟩_model − ⟨x − h − b⟩_data); residual = −(x − h − b).
      column_means_into(data_ws_.residual, field_gradient_, S(1) / S(hp_.temperature), S(1));
    }
    signal_images_ = batch.shape(0);
  }

  LearningSignal learning_signal() noexcept {
    return {gradient_, field_gradient_, hp_.persistent_chains, signal_images_};
  }

  /// Second part: refuses a non-finite signal (numerical_error, nothing changed), counts the
  /// update, and forms the step the step rule and the regularizer make of the signal:
  /// `step()` (J ← J − step) and `field_step()` (b ← b − field_step). Returns mean((M − D)²).
  double compute_step() {
    const double gms = mean_square(gradient_);
    if (!std::isfinite(gms))
      throw numerical_error("nlm: the learning signal M - D is not finite at update " +
                            std::to_string(updates_ + 1) +
                            " (the persistent chains diverged?); the couplings were left "
                            "unchanged. Lower time_step (dt) or learning_rate (k).");
    if (hp_.learn_field)
      for (std::size_t i = 0; i < field_gradient_.size(); ++i)
        if (!std::isfinite(field_gradient_(i)))
          throw numerical_error("nlm: the field's learning signal is not finite at update " +
                                std::to_string(updates_ + 1) + "; the couplings were left unchanged.");
    ++updates_;
    const S k = S(hp_.learning_rate * rate_scale_);
    if (hp_.step_rule == Hyperparameters::StepRule::adam) {
      adam_step(adam_j_, gradient_, step_);
      if (hp_.learn_field) {
        adam_step(adam_b_, field_gradient_, field_step_);
        field_step_ *= k;
      }
      step_ *= k;
    } else {
      xt::noalias(step_) = k * gradient_;
      if (hp_.learn_field) {
        detail::ensure_size(field_step_, hp_.neurons);
        xt::noalias(field_step_) = k * field_gradient_;
      }
    }
    regularizer_.add_to_step(couplings_, step_);
    return gms;
  }

  /// The step `compute_step` formed, before `apply_step` subtracts it (a regularizer's
  /// constraint, such as ZeroDiagonal's, is imposed after it).
  const matrix_type& step() const noexcept { return step_; }
  /// The field's step (empty unless learn_field).
  const vector_type& field_step() const noexcept { return field_step_; }

  /// Last part: J ← J − step, the regularizer's constraint, b ← b − field_step.
  void apply_step() {
    xt::noalias(couplings_) -= step_;
    regularizer_.constrain(couplings_);
    if (hp_.learn_field) xt::noalias(field_) -= field_step_;
  }

  /// The moments of a dataset (rows) under this machine's activation, accumulated over
  /// blocks of 1000 rows: two N×N products per block, done once before training.
  DataMoments<S> data_moments(const matrix_type& data) const {
    const std::size_t n = hp_.neurons;
    DataMoments<S> m;
    m.count = data.shape(0);
    m.x_phi = matrix_type::from_shape({n, n});
    m.phi_phi = matrix_type::from_shape({n, n});
    m.mean_x = vector_type::from_shape({n});
    m.mean_phi = vector_type::from_shape({n});
    for_each_block(data, "data_moments", [&](const matrix_type& x, const matrix_type& phi, S weight, S beta) {
      const S w = weight / S(x.shape(0));  // 1 / rows of the dataset
      detail::gemm(x, detail::Op::transpose, phi, detail::Op::none, m.x_phi, w, beta);
      detail::gemm(phi, detail::Op::transpose, phi, detail::Op::none, m.phi_phi, w, beta);
      column_means_into(x, m.mean_x, weight, beta);
      column_means_into(phi, m.mean_phi, weight, beta);
    });
    return m;
  }

  /// The same rule with the data phase taken over a whole dataset at once, from its moments
  /// (`DataMoments`, computed once): D = (⟨xφᵀ⟩ − J⟨φφᵀ⟩ − b⟨φ⟩ᵀ)/T. One N×N×N product
  /// replaces the two N×N×B products of a mini-batch, and D carries no mini-batch noise:
  /// the updates are those of full-batch learning (model phase still stochastic).
  double update(const DataMoments<S>& data) {
    if (data.x_phi.shape(0) != hp_.neurons || data.x_phi.shape(1) != hp_.neurons)
      throw std::invalid_argument("LangevinMachine::update: the data moments are for " +
                                  std::to_string(data.x_phi.shape(0)) + " neurons, the machine has " +
                                  std::to_string(hp_.neurons));
    model_phase();
    const S inv_t = S(1) / S(hp_.temperature);
    // gradient −= D: += (1/T) J⟨φφᵀ⟩ − (1/T)⟨xφᵀ⟩ (+ (1/T) b⟨φ⟩ᵀ)
    detail::gemm(couplings_, detail::Op::none, data.phi_phi, detail::Op::none, gradient_, inv_t,
                 S(1));
    xt::noalias(gradient_) -= inv_t * data.x_phi;
    if (use_field_) {
      const std::size_t n = hp_.neurons;
      for (std::size_t i = 0; i < n; ++i) {
        S* row = gradient_.data() + i * n;
        const S bi = inv_t * field_(i);
        for (std::size_t j = 0; j < n; ++j) row[j] += bi * data.mean_phi(j);
      }
    }
    if (hp_.learn_field) {
      // field gradient −= (⟨x⟩ − J⟨φ⟩ − b)/T
      for (std::size_t i = 0; i < hp_.neurons; ++i) {
        const S* ji = couplings_.data() + i * hp_.neurons;
        S h = 0;
        for (std::size_t j = 0; j < hp_.neurons; ++j) h += ji[j] * data.mean_phi(j);
        field_gradient_(i) -= inv_t * (data.mean_x(i) - h - field_(i));
      }
    }
    signal_images_ = data.count;
    const double gms = compute_step();
    apply_step();
    return gms;
  }

  /// Adam's running moments of a parameter's learning signal (empty until the first Adam
  /// update), for checkpoints.
  template <class T>
  struct AdamMoments {
    T first, second;
  };
  const AdamMoments<matrix_type>& adam_couplings() const noexcept { return adam_j_; }
  const AdamMoments<vector_type>& adam_field() const noexcept { return adam_b_; }
  void set_adam_state(AdamMoments<matrix_type> j, AdamMoments<vector_type> b) {
    adam_j_ = std::move(j);
    adam_b_ = std::move(b);
  }

 private:
  // Advances the persistent chains n_t steps and writes the model statistics M into
  // gradient_ (and the field's model term into field_gradient_).
  void model_phase() {
    if (!(hp_.temperature > 0.0))
      throw std::invalid_argument("LangevinMachine::update: learning needs temperature (T) > 0, got " +
                                  std::to_string(hp_.temperature));
    if (hp_.chain_restart > 0.0) restart_chains();
    sampler_.advance(*this, chains_, hp_.langevin_steps, NoObserver{});
    statistics_into(chains_, model_ws_, gradient_, S(1), S(0));
    if (hp_.learn_field)
      column_means_into(model_ws_.residual, field_gradient_, -S(1) / S(hp_.temperature), S(0));
  }

  // Walks a dataset in blocks of 1000 rows, calling f(x, φ(x), weight, beta) per block, where
  // weight = block rows / dataset rows (a column mean scaled by it sums to the dataset's mean)
  // and beta is 0 for the first block and 1 after (overwrite, then accumulate).
  template <class F>
  void for_each_block(const matrix_type& data, const char* caller, F&& f) const {
    require_columns(data, "dataset");
    const std::size_t rows = data.shape(0);
    if (rows == 0)
      throw std::invalid_argument(std::string("LangevinMachine::") + caller + ": the dataset is empty");
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

  // Restarts each persistent chain from N(0, I) with probability chain_restart, drawing the
  // choice and the new states from the initialisation stream (which checkpoints keep, so a
  // resumed run restarts the same chains as an uninterrupted one).
  void restart_chains() {
    const std::size_t n = hp_.neurons;
    for (std::size_t c = 0; c < chains_.shape(0); ++c)
      if (double(init_engine_() >> 11) * 0x1.0p-53 < hp_.chain_restart)
        detail::fill_normal<S>(init_engine_, std::span<S>(chains_.data() + c * n, n));
  }

  static const Hyperparameters& validated(const Hyperparameters& hp) {
    hp.validate();
    // The large buffers, before any is allocated: J with the learning signal and the step
    // (and Adam's two moments), and about six N-wide rows per chain and per batch row
    // (states, φ, φ', residual, feedback, noise).
    const std::string who = "LangevinMachine: N = " + std::to_string(hp.neurons);
    const double n = double(detail::checked_elements(hp.neurons, hp.neurons, who + " couplings"));
    const double chains = double(detail::checked_elements(hp.persistent_chains, hp.neurons,
                                                          who + ", N_model = " + std::to_string(hp.persistent_chains)));
    const double batch = double(detail::checked_elements(hp.batch_size, hp.neurons,
                                                         who + ", b_size = " + std::to_string(hp.batch_size)));
    const double j_copies = hp.step_rule == Hyperparameters::StepRule::adam ? 5 : 3;
    detail::require_memory(double(sizeof(S)) * (j_copies * n + 6 * (chains + batch)),
                           who + ", N_model = " + std::to_string(hp.persistent_chains) + " and b_size = " +
                               std::to_string(hp.batch_size));
    return hp;
  }

  matrix_type random_normal(std::size_t rows, std::size_t cols, S scale) {
    detail::checked_buffer(rows, cols, sizeof(S), "LangevinMachine::random_states");
    matrix_type m = matrix_type::from_shape({rows, cols});
    detail::fill_normal<S>(init_engine_, std::span<S>(m.data(), m.size()));
    if (scale != S(1)) m *= scale;
    return m;
  }

  // φ, φ' and b − x for `len` states starting at flat offset `off` (column c0).
  void prepare_span(const S* x, ForceWorkspace<S>& ws, std::size_t off, std::size_t c0,
                    std::size_t len) const {
    activation_.value_and_derivative(std::span<const S>(x, len),
                                     std::span<S>(ws.phi.data() + off, len),
                                     std::span<S>(ws.dphi.data() + off, len));
    S* r = ws.residual.data() + off;
    if (use_field_) {
      const S* b = field_.data() + c0;
      for (std::size_t j = 0; j < len; ++j) r[j] = b[j] - x[j];
    } else {
      for (std::size_t j = 0; j < len; ++j) r[j] = -x[j];
    }
  }
  void prepare_row(const S* x, ForceWorkspace<S>& ws, std::size_t off) const {
    prepare_span(x, ws, off, 0, hp_.neurons);
  }

  /// r ← φ(X) Jᵀ + b − X (row form of h + b − x).
  void residual_into(const matrix_type& x, const matrix_type& phi, matrix_type& r) const {
    if (use_field_)
      xt::noalias(r) = field_ - x;  // b broadcast over rows
    else
      xt::noalias(r) = -x;
    detail::gemm(phi, detail::Op::none, couplings_, detail::Op::transpose, r, S(1), S(1));
  }

  /// out ← sign·(1/(T B)) Σ_b (x_b − h_b) φ(x_b)ᵀ + beta·out. With R = h − x this is
  /// −sign/(T B) · Rᵀ Φ: one product with a transpose flag.
  void statistics_into(const matrix_type& x, ForceWorkspace<S>& ws, matrix_type& out, S sign,
                       S beta) {
    residual_of(x, ws);
    const S alpha = -sign / (S(hp_.temperature) * S(x.shape(0)));
    detail::gemm(ws.residual, detail::Op::transpose, ws.phi, detail::Op::none, out, alpha, beta);
  }

  /// ws.phi ← φ(X), ws.residual ← φ(X) Jᵀ + b − X: what both statistics need.
  void residual_of(const matrix_type& x, ForceWorkspace<S>& ws) {
    require_columns(x, "batch");
    if (!(hp_.temperature > 0.0))
      throw std::invalid_argument("LangevinMachine: statistics need temperature (T) > 0, got " +
                                  std::to_string(hp_.temperature));
    if constexpr (detail::activation_has_rows<ActivationT, S>) {
      prepare(x, ws);  // one pass, split over threads (φ' comes along at little cost)
      detail::gemm(ws.phi, detail::Op::none, couplings_, detail::Op::transpose, ws.residual,
                   S(1), S(1));
    } else {
      detail::ensure_shape(ws.phi, x.shape(0), x.shape(1));
      detail::ensure_shape(ws.residual, x.shape(0), x.shape(1));
      activation_.value(x, ws.phi);
      residual_into(x, ws.phi, ws.residual);
    }
  }

  /// Adam's direction for learning signal g at update t = updates_ (bias-corrected moments):
  /// out = m̂ / (√v̂ + ε), elementwise.
  template <class T>
  void adam_step(AdamMoments<T>& mom, const T& g, T& out) {
    if (mom.first.shape() != g.shape()) {
      mom.first = xt::zeros_like(g);
      mom.second = xt::zeros_like(g);
    }
    if (out.shape() != g.shape()) out.resize(g.shape());
    const S b1 = S(hp_.adam_beta1), b2 = S(hp_.adam_beta2), eps = S(hp_.adam_epsilon);
    const S c1 = S(1) / S(1 - std::pow(hp_.adam_beta1, double(updates_)));
    const S c2 = S(1) / S(1 - std::pow(hp_.adam_beta2, double(updates_)));
    xt::noalias(mom.first) = b1 * mom.first + (S(1) - b1) * g;
    xt::noalias(mom.second) = b2 * mom.second + (S(1) - b2) * g * g;
    xt::noalias(out) = (c1 * mom.first) / (xt::sqrt(c2 * mom.second) + eps);
  }

  /// out ← scale · (column means of m) + beta · out.
  static void column_means_into(const matrix_type& m, vector_type& out, S scale, S beta) {
    const std::size_t rows = m.shape(0), cols = m.shape(1);
    const S w = scale / S(rows);
    for (std::size_t c = 0; c < cols; ++c) out(c) = beta == S(0) ? S(0) : beta * out(c);
    for (std::size_t r = 0; r < rows; ++r) {
      const S* row = m.data() + r * cols;
      for (std::size_t c = 0; c < cols; ++c) out(c) += w * row[c];
    }
  }

  static void row_half_squares(const matrix_type& r, vector_type& e) {
    const std::size_t cols = r.shape(1);
    for (std::size_t b = 0; b < r.shape(0); ++b) {
      const S* row = r.data() + b * cols;
      S acc = 0;
      for (std::size_t c = 0; c < cols; ++c) acc += row[c] * row[c];
      e(b) = S(0.5) * acc;
    }
  }

  static double mean_square(const matrix_type& m) {
    double acc = 0;
    for (const S v : m) acc += double(v) * double(v);
    return acc / double(m.size());
  }

  void require_columns(const matrix_type& x, const char* what) const {
    if (x.shape(1) != hp_.neurons)
      throw std::invalid_argument(std::string("LangevinMachine: ") + what + " has " +
                                  std::to_string(x.shape(1)) + " columns, the machine has " +
                                  std::to_string(hp_.neurons) + " neurons");
  }
  static void require_shape(const matrix_type& m, std::size_t rows, std::size_t cols,
                            const char* what) {
    if (m.shape(0) != rows || m.shape(1) != cols)
      throw std::invalid_argument(std::string("LangevinMachine: ") + what + " must be " +
                                  std::to_string(rows) + "x" + std::to_string(cols) + ", got " +
                                  std::to_string(m.shape(0)) + "x" + std::to_string(m.shape(1)));
  }
  static void require_finite(const matrix_type& m, const char* what) {
    for (std::size_t i = 0; i < m.size(); ++i)
      if (!std::isfinite(m.data()[i]))
        throw numerical_error(std::string("LangevinMachine: ") + what +
                              " contain a non-finite value at flat index " + std::to_string(i));
  }

  Hyperparameters hp_;
  ActivationT activation_;
  NoiseT noise_;
  RegularizerT regularizer_;
  SamplerT sampler_;
  detail::Xoshiro256 init_engine_;
  matrix_type couplings_;
  matrix_type chains_;
  matrix_type gradient_;
  matrix_type step_;
  vector_type field_;
  vector_type field_gradient_;
  vector_type field_step_;
  AdamMoments<matrix_type> adam_j_;
  AdamMoments<vector_type> adam_b_;
  bool use_field_ = false;
  double rate_scale_ = 1.0;
  ForceWorkspace<S> data_ws_;
  ForceWorkspace<S> model_ws_;
  std::uint64_t updates_ = 0;
  std::size_t signal_images_ = 0;
};

/// The paper's configuration: tanh, Gaussian noise, weight decay λ = 2·10⁻⁶ (diagonal zero
/// only at initialisation, as in the upstream scripts), Euler–Maruyama, float.
using PaperMachine = LangevinMachine<Tanh, GaussianNoise, WeightDecay, EulerMaruyama, float>;

}  // namespace nlm
