/// @file lagrangian_learner.hpp
/// @brief The least-action model's learner: a batch of samples advancing together under the
/// network's dynamics, with continuous plasticity every step,
/// \f[ \dot W = \eta\, M \odot \langle (u - W\bar r - b)\, \bar r^\top \rangle, \qquad
///     \dot b = \eta_b\, m_b \odot \langle u - W\bar r - b \rangle, \f]
/// (⟨·⟩ the batch mean, M and m_b the topology's per-layer factors), and forward Euler for u, W
/// and b with the same dt.
///
/// One step goes through nlm's learning seam, as the NLM's update does: `compute_signal()`
/// clamps the inputs and forms G = −M ⊙ ⟨m r̄ᵀ⟩ (so Ẇ = −η G), `compute_step()` refuses a
/// non-finite signal, forms the step dt·η·G and solves the dynamics for u̇ with that Ẇ (the
/// prospective terms see it), `apply_step()` moves W, b and u. `train`'s callbacks (on_signal,
/// on_step, on_update, update statistics) apply unchanged; they may read the signal, not edit it
/// (the prospective terms use the rule's own Ẇ of this step); `present` (lagrangian/presentations.hpp)
/// is the loop that feeds inputs and targets. With plasticity off (testing), the step is u's alone.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "../detail/parallel.hpp"
#include "../detail/random.hpp"
#include "../errors.hpp"
#include "../types.hpp"
#include "lagrangian_network.hpp"

namespace nlm {

/// The learner's settings (the reference's MNIST values as defaults).
struct LagrangianHyperparameters {
  std::size_t batch = 1;             ///< samples advancing together
  double tau = 10.0;                 ///< τ, the membrane time constant (ms)
  double dt = 1.0;                   ///< the Euler step (ms), < τ
  double beta = 0.1;                 ///< nudging strength of the output neurons while training
  double learning_rate = 1e-4;       ///< η of the weights
  double bias_learning_rate = 1e-4;  ///< η_b of the biases
  double init_mean = 0.0, init_std = 0.1, init_clip = 0.3;  ///< W, b ~ N(mean, std²) clipped
  std::uint64_t seed = 0;            ///< the initial W and b
  bool biases = true;                ///< false: b = 0 and not learned (the reference's time-series runs)
  LagrangianSolve solve = LagrangianSolve::automatic;

  void validate() const {
    const auto fail = [](const std::string& what) { throw std::invalid_argument("LagrangianLearner: " + what); };
    const auto num = [](double v) { return std::to_string(v); };
    if (batch == 0) fail("batch must be > 0");
    if (!(std::isfinite(tau) && tau > 0)) fail("tau must be finite and > 0, got " + num(tau));
    if (!(std::isfinite(dt) && dt > 0)) fail("dt must be finite and > 0, got " + num(dt));
    if (!(dt < tau))
      fail("dt = " + num(dt) + " must be smaller than tau = " + num(tau) +
           " (forward Euler on the membrane potentials; the experiments use dt = tau / 10)");
    if (!(std::isfinite(beta) && beta >= 0)) fail("beta must be finite and >= 0, got " + num(beta));
    if (!(std::isfinite(learning_rate) && learning_rate >= 0))
      fail("learning_rate must be finite and >= 0, got " + num(learning_rate));
    if (!(std::isfinite(bias_learning_rate) && bias_learning_rate >= 0))
      fail("bias_learning_rate must be finite and >= 0, got " + num(bias_learning_rate));
    if (!(std::isfinite(init_std) && init_std >= 0 && std::isfinite(init_clip) && init_clip >= 0 &&
          std::isfinite(init_mean)))
      fail("the initialisation needs a finite mean, std >= 0 and clip >= 0");
  }
};

template <class RateT = HardSigmoid, Scalar S = float, class BackendT = BlasProducts>
class LagrangianLearner {
 public:
  using scalar_type = S;
  using matrix_type = Matrix<S>;
  using vector_type = Vector<S>;
  using model_type = LagrangianNetwork<RateT, S, BackendT>;
  static constexpr const char* who = "LagrangianLearner";
  /// The initial weights' stream under the seed.
  static constexpr std::uint64_t init_stream = 5;

  LagrangianLearner(Topology topology, const LagrangianHyperparameters& hp, RateT rate = RateT(),
                    BackendT backend = BackendT())
      : hp_(validated(hp)), model_(std::move(topology), hp.tau, std::move(rate), hp.solve, std::move(backend)) {
    model_.parameters().set_owner(who);
    detail::Xoshiro256 engine(detail::derive_seed(hp.seed, init_stream));
    model_.initialize(engine, hp.init_mean, hp.init_std, hp.init_clip);
    if (!hp.biases) {
      vector_type zero = vector_type::from_shape({model_.neurons()});
      zero.fill(S(0));
      model_.set_biases(std::move(zero));
    }
    const std::size_t n = model_.neurons();
    signal_ = matrix_type::from_shape({n, n});
    signal_.fill(S(0));
    step_ = signal_;
    field_signal_ = vector_type::from_shape({n});
    field_signal_.fill(S(0));
    field_step_ = field_signal_;
    resize_state(hp.batch);
    set_nudging(hp.beta);
  }

  const LagrangianHyperparameters& hyperparameters() const noexcept { return hp_; }
  std::size_t neurons() const noexcept { return model_.neurons(); }
  model_type& model() noexcept { return model_; }
  const model_type& model() const noexcept { return model_; }
  const Topology& topology() const noexcept { return model_.topology(); }
  const matrix_type& weights() const noexcept { return model_.weights(); }
  const vector_type& biases() const noexcept { return model_.biases(); }
  NeuronState<S>& state() noexcept { return state_; }
  const NeuronState<S>& state() const noexcept { return state_; }
  /// The membrane potentials (batch × N) and the outputs' (batch × outputs, a copy).
  const matrix_type& potentials() const noexcept { return state_.u; }
  matrix_type output_potentials() const {
    const std::size_t rows = state_.batch(), no = model_.outputs(), o0 = neurons() - no;
    matrix_type out = matrix_type::from_shape({rows, no});
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < no; ++o) out(r, o) = state_.u(r, o0 + o);
    return out;
  }
  /// The mismatch m = u − W r̄ − b of the last step (batch × N; 0 on inputs).
  const matrix_type& mismatch() const noexcept { return ws_.mismatch; }

  /// This step's external input (batch × inputs, finite). A new batch size re-sizes the state,
  /// its rows taken cyclically from the old ones.
  void set_input(const matrix_type& x) {
    const std::size_t ni = model_.inputs();
    if (x.shape(1) != ni)
      throw std::invalid_argument(std::string(who) + ": the input has " + std::to_string(x.shape(1)) +
                                  " columns, the network has " + std::to_string(ni) + " input neurons");
    require_finite(x, "input");
    if (x.shape(0) != state_.batch()) resize_state(x.shape(0));
    std::copy_n(x.data(), x.size(), state_.input.data());
  }
  /// This step's target u* of the output neurons (batch × outputs, finite).
  void set_target(const matrix_type& t) {
    const std::size_t no = model_.outputs();
    if (t.shape(1) != no || t.shape(0) != state_.batch())
      throw std::invalid_argument(std::string(who) + ": the target must be " + std::to_string(state_.batch()) + " x " +
                                  std::to_string(no) + " (batch x outputs), got " + std::to_string(t.shape(0)) + " x " +
                                  std::to_string(t.shape(1)));
    require_finite(t, "target");
    std::copy_n(t.data(), t.size(), state_.target.data());
  }
  /// β on every output neuron (finite, ≥ 0; 0 lets the outputs run free).
  void set_nudging(double beta) {
    if (!(std::isfinite(beta) && beta >= 0))
      throw std::invalid_argument(std::string(who) + ": the nudging beta must be finite and >= 0, got " +
                                  std::to_string(beta));
    state_.beta.fill(S(beta));
  }
  /// β per output neuron (outputs values, finite, ≥ 0): nudged channels and free ones.
  void set_nudging(const vector_type& beta) {
    if (beta.size() != model_.outputs())
      throw std::invalid_argument(std::string(who) + ": " + std::to_string(beta.size()) + " nudging strengths for " +
                                  std::to_string(model_.outputs()) + " output neurons");
    for (std::size_t o = 0; o < beta.size(); ++o)
      if (!(std::isfinite(beta(o)) && beta(o) >= 0))
        throw std::invalid_argument(std::string(who) + ": the nudging beta of output " + std::to_string(o) +
                                    " must be finite and >= 0");
    state_.beta = beta;
  }
  /// Plasticity on (training) or off (W, b fixed; the step moves u only).
  void set_plasticity(bool on) noexcept { plastic_ = on; }
  bool plasticity() const noexcept { return plastic_; }
  /// Sets the potentials (batch × N, finite); the inputs' are overwritten by x at the next step.
  void set_potentials(const matrix_type& u) {
    if (u.shape(0) != state_.batch() || u.shape(1) != neurons())
      throw std::invalid_argument(std::string(who) + ": the potentials must be " + std::to_string(state_.batch()) +
                                  " x " + std::to_string(neurons()));
    require_finite(u, "potentials");
    state_.u = u;
  }
  /// Forgets the previous input and target (the next step sees ẋ = u̇* = 0).
  void forget_previous() noexcept { state_.has_previous = false; }

  // ---- the learning seam -------------------------------------------------------------------
  /// Clamps the inputs, forms r̄, ρ', m and, with plasticity, G = −M ⊙ ⟨m r̄ᵀ⟩, g_b = −m_b ⊙ ⟨m⟩.
  void compute_signal() {
    model_.prepare(state_, ws_);
    if (!plastic_) return;
    const std::size_t rows = state_.batch(), n = neurons();
    model_.correlate(ws_.mismatch, ws_.rate, signal_, S(-1.0 / double(rows)));
    for (std::size_t i = 0; i < n; ++i) {
      double acc = 0;
      for (std::size_t r = 0; r < rows; ++r) acc += double(ws_.mismatch(r, i));
      field_signal_(i) = S(-acc / double(rows) * model_.topology().bias_factor(i));
    }
  }

  struct LearningSignal {
    matrix_type& couplings;
    vector_type& field;
    std::size_t chains;
    std::size_t images;
  };
  LearningSignal learning_signal() noexcept { return {signal_, field_signal_, state_.batch(), state_.batch()}; }
  const matrix_type& signal() const noexcept { return signal_; }

  /// Refuses a non-finite signal (numerical_error; nothing changed), counts the step, forms
  /// step = dt η·scale G and the bias step, and solves for u̇ with Ẇ = −step / dt. Returns the
  /// mean of G² over the synapses.
  double compute_step() {
    double gms = 0;
    const double dt = hp_.dt;
    if (plastic_) {
      const S k = S(dt * hp_.learning_rate * rate_scale_),
              kb = hp_.biases ? S(dt * hp_.bias_learning_rate * rate_scale_) : S(0);
      gms = block_mean_square(signal_);
      if (!std::isfinite(gms))
        throw numerical_error(std::string(who) + ": the plasticity is not finite at step " + std::to_string(updates_ + 1) +
                              "; the weights were left unchanged");
      for_rows([&](S* step, const S* signal, std::size_t len) {
#pragma omp simd
        for (std::size_t j = 0; j < len; ++j) step[j] = k * signal[j];
      }, step_, signal_);
      for (std::size_t i = 0; i < neurons(); ++i) field_step_(i) = kb * field_signal_(i);
      // step = k G and G = −(1/B) M ⊙ mᵀ r̄ of this step: the model may use the low-rank form.
      PlasticityTerms<S> p{&step_, &field_step_, S(-1.0 / dt), true, S(-double(k) / double(state_.batch()))};
      model_.velocity(state_, ws_, p, dt);
    } else {
      model_.velocity(state_, ws_, PlasticityTerms<S>{}, dt);
    }
    ++updates_;
    return gms;
  }
  const matrix_type& step() const noexcept { return step_; }
  const vector_type& field_step() const noexcept { return field_step_; }

  /// W ← W − step, b ← b − bias step (with plasticity), u ← u + dt u̇.
  void apply_step() {
    if (plastic_) {
      model_.parameters().edit([&](matrix_type& w) {
        for_rows([](S* wi, const S* step, std::size_t len) {
#pragma omp simd
          for (std::size_t j = 0; j < len; ++j) wi[j] -= step[j];
        }, w, step_);
      });
      model_.parameters().apply_field_step(field_step_);
    }
    model_.advance(state_, hp_.dt);
  }

  /// One step: compute_signal, compute_step, apply_step. Returns the signal's mean square.
  double update() {
    compute_signal();
    const double gms = compute_step();
    apply_step();
    return gms;
  }

  void set_learning_rate_scale(double s) {
    if (!(std::isfinite(s) && s >= 0.0))
      throw std::invalid_argument(std::string(who) + ": learning-rate scale must be finite and >= 0, got " +
                                  std::to_string(s));
    rate_scale_ = s;
  }
  std::uint64_t updates() const noexcept { return updates_; }
  void set_updates(std::uint64_t n) noexcept { updates_ = n; }

 private:
  /// f(a's row part, b's row part, length) over each block's rows (contiguous runs of W's
  /// storage), the rows split over threads.
  template <class F>
  void for_rows(F&& f, matrix_type& a, const matrix_type& b) const {
    const std::size_t n = neurons();
    for (const SynapseBlock& blk : model_.topology().blocks())
      detail::parallel_rows(blk.r1 - blk.r0, blk.c1 - blk.c0, [&](std::size_t q0, std::size_t q1) {
        for (std::size_t i = blk.r0 + q0; i < blk.r0 + q1; ++i)
          f(a.data() + i * n + blk.c0, b.data() + i * n + blk.c0, blk.c1 - blk.c0);
      });
  }
  /// mean(G²) over the blocks' entries (a block's mask holes count as zeros): each row's sum in S
  /// (vector lanes), the rows' in double.
  double block_mean_square(const matrix_type& g) const {
    double acc = 0;
    std::size_t count = 0;
    for (const SynapseBlock& b : model_.topology().blocks()) {
      const std::size_t len = b.c1 - b.c0;
      for (std::size_t i = b.r0; i < b.r1; ++i) {
        S row = S(0);
        const S* gi = g.data() + i * neurons() + b.c0;
#pragma omp simd reduction(+ : row)
        for (std::size_t j = 0; j < len; ++j) row += gi[j] * gi[j];
        acc += double(row);
      }
      count += (b.r1 - b.r0) * len;
    }
    return count ? acc / double(count) : 0.0;
  }
  void require_finite(const matrix_type& m, const char* what) const {
    for (std::size_t k = 0; k < m.size(); ++k)
      if (!std::isfinite(m.data()[k]))
        throw std::invalid_argument(std::string(who) + ": the " + what + " has a non-finite value at row " +
                                    std::to_string(k / m.shape(1)) + ", column " + std::to_string(k % m.shape(1)));
  }
  void resize_state(std::size_t rows) {
    const std::size_t n = neurons(), ni = model_.inputs(), no = model_.outputs();
    const auto cyclic = [&](matrix_type& m, std::size_t cols) {
      matrix_type out = matrix_type::from_shape({rows, cols});
      const std::size_t old = m.shape(0);
      if (old == 0 || m.shape(1) != cols)
        out.fill(S(0));
      else
        for (std::size_t r = 0; r < rows; ++r) std::copy_n(m.data() + (r % old) * cols, cols, out.data() + r * cols);
      m = std::move(out);
    };
    cyclic(state_.u, n);
    cyclic(state_.udot, n);
    cyclic(state_.input, ni);
    cyclic(state_.input_prev, ni);
    cyclic(state_.target, no);
    cyclic(state_.target_prev, no);
    cyclic(state_.fade_input, ni);
    cyclic(state_.fade_target, no);
    if (state_.beta.size() != no) {
      state_.beta = vector_type::from_shape({no});
      state_.beta.fill(S(0));
    }
  }
  static const LagrangianHyperparameters& validated(const LagrangianHyperparameters& hp) {
    hp.validate();
    return hp;
  }

  LagrangianHyperparameters hp_;
  model_type model_;
  NeuronState<S> state_;
  LagrangianWorkspace<S> ws_;
  matrix_type signal_, step_;
  vector_type field_signal_, field_step_;
  double rate_scale_ = 1.0;
  std::uint64_t updates_ = 0;
  bool plastic_ = true;
};

}  // namespace nlm
