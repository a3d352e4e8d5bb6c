/// @file attractor_learner.hpp
/// @brief The free-energy attractor network's learner: the local, asymmetric predictive rule
/// \f[ \Delta J_{ij} = \eta\,(\sigma_i \sigma_j - L(h_i)\,\sigma_j), \qquad i \ne j, \f]
/// after each synchronous update, with \f$ h = J\sigma^{old} \f$ the recurrent input before the
/// update (without b and β: the reference code's form; `field_in_rule` gives the paper's
/// L(b + h)) and σ the new state. Over C chains the rule is their mean.
///
/// It goes through nlm's learning seam, as LangevinMachine's does: `learning_signal()` holds
/// G = mean_c (L(h_c) − σ_c) σ_cᵀ with a zero diagonal (so J ← J − η G is the rule),
/// `compute_step()` turns it into the step by the step rule (plain or Adam, k = η times the
/// schedule's scale), `apply_step()` subtracts it and keeps J_ii = 0 (ZeroDiagonal) through the
/// couplings, so the backend refreshes. `train`'s callbacks (on_signal, on_step, on_update,
/// update statistics, time limits) apply unchanged; `learn_presentations`
/// (attractor/presentations.hpp) is the loop that presents patterns.
///
/// The update reuses the input the network's step computed (H = b + Jσ^old, one product), so
/// an update passes over J twice: that product, and the rank-C correlate of the rule.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../chains.hpp"
#include "../detail/rows.hpp"
#include "../errors.hpp"
#include "../hyperparameters.hpp"
#include "../learning/step_rule.hpp"
#include "../regularizer/zero_diagonal.hpp"
#include "../types.hpp"
#include "attractor_network.hpp"

namespace nlm {

/// The attractor learner's settings.
struct AttractorHyperparameters {
  std::size_t neurons = 0;
  std::size_t chains = 1;          ///< chains learned from at once (the reference: 1)
  double beta = 1.0;               ///< β, the inverse temperature of the updates
  double learning_rate = 1e-3;     ///< η
  UpdateMode mode = UpdateMode::sampled;
  bool field_in_rule = false;      ///< the paper's L(b + h) instead of the code's L(h)
  std::uint64_t seed = 0;          ///< the uniforms of the sampled updates
  LearningParameters::StepRule step_rule = LearningParameters::StepRule::plain;

  void validate() const {
    const auto fail = [](const std::string& what) { throw std::invalid_argument("AttractorLearner: " + what); };
    if (neurons == 0) fail("neurons must be > 0");
    if (chains == 0) fail("chains must be > 0");
    if (neurons > std::numeric_limits<std::size_t>::max() / neurons / sizeof(double))
      fail("neurons = " + std::to_string(neurons) + ": the N x N couplings overflow the address space");
    if (!(std::isfinite(beta) && beta > 0)) fail("beta must be finite and > 0, got " + std::to_string(beta));
    if (!(std::isfinite(learning_rate) && learning_rate >= 0))
      fail("learning_rate (eta) must be finite and >= 0, got " + std::to_string(learning_rate));
  }
  LearningParameters learning() const {
    LearningParameters p;
    p.learning_rate = learning_rate;
    p.step_rule = step_rule;
    return p;
  }
};

/// The reference's variational free energy of a state σ under field b: with b_q = b + Jσ,
/// accuracy = b·L(b_q) + L(b_q)ᵀ J L(b_q), complexity = Σ_i [ln Z(b_i) − ln Z(b_q,i) + (b_q,i − b_i) L(b_q,i)]
/// (the reference's ln(b_q/sinh b_q) + b_q L(b_q) − ln(b/sinh b) − b L(b_q), written with the
/// log-normaliser so that b, b_q → 0 need no guard), F = complexity − accuracy.
struct FreeEnergy {
  double free_energy = 0, accuracy = 0, complexity = 0;
};

template <Scalar S = float, class BackendT = BlasProducts, class StepRuleT = ConfiguredStep<S>>
class AttractorLearner {
 public:
  using scalar_type = S;
  using matrix_type = Matrix<S>;
  using vector_type = Vector<S>;
  using model_type = AttractorNetwork<S, BackendT>;
  using regularizer_type = ZeroDiagonal<>;
  static constexpr const char* who = "AttractorLearner";
  /// The uniforms' stream number under the seed (LangevinMachine's noise stream is the same 1).
  static constexpr std::uint64_t noise_stream = 1;

  explicit AttractorLearner(const AttractorHyperparameters& hp, BackendT backend = BackendT(),
                            StepRuleT step_rule = StepRuleT())
      : hp_(validated(hp)),
        model_(hp.neurons, hp.beta, detail::derive_seed(hp.seed, noise_stream), std::move(backend)),
        chains_(zero_states(hp.chains, hp.neurons)),
        step_rule_(std::move(step_rule)) {
    step_rule_.configure(hp_.learning());
    // The signal and the step (N × N each) are made by the first compute_signal: fused_steps
    // needs neither, which leaves memory for a larger J.
    field_signal_ = vector_type::from_shape({hp.neurons});
    field_signal_.fill(S(0));
  }

  const AttractorHyperparameters& hyperparameters() const noexcept { return hp_; }
  std::size_t neurons() const noexcept { return hp_.neurons; }
  model_type& model() noexcept { return model_; }
  const model_type& model() const noexcept { return model_; }
  const matrix_type& couplings() const noexcept { return model_.couplings(); }
  const vector_type& field() const noexcept { return model_.field(); }
  Chains<S>& chains() noexcept { return chains_; }
  const Chains<S>& chains() const noexcept { return chains_; }
  const matrix_type& states() const noexcept { return chains_.states(); }
  void set_couplings(matrix_type j) { model_.set_couplings(std::move(j)); }
  /// Presents a pattern: b = the evidence (s ξ).
  void set_field(vector_type b) { model_.set_field(std::move(b)); }

  // ---- the learning seam -------------------------------------------------------------------
  /// One synchronous update of the chains, then the rule's signal G into `learning_signal()`.
  void compute_signal() {
    const std::size_t c = chains_.size(), n = hp_.neurons;
    model_.step(chains_, hp_.mode);
    // The step left H = b + Jσ^old in the chains' workspace: h = H − b, or H with field_in_rule.
    const matrix_type& h = chains_.workspace().residual;
    if (error_.shape(0) != c || error_.shape(1) != n) error_ = matrix_type::from_shape({c, n});
    const S* b = model_.field().data();
    const matrix_type& x = chains_.states();
    for (std::size_t r = 0; r < c; ++r)
      for (std::size_t i = 0; i < n; ++i) {
        const S hi = hp_.field_in_rule ? h(r, i) : h(r, i) - b[i];
        error_(r, i) = langevin_function(hi) - x(r, i);
      }
    // G = (1/C) (L(h) − σ)ᵀ σ: one correlate through the backend.
    if (signal_.shape(0) != n) {
      signal_ = matrix_type::from_shape({n, n});
      step_ = matrix_type::from_shape({n, n});
      step_.fill(S(0));
    }
    model_.parameters().correlate(error_, x, signal_, S(1) / S(c), S(0));
    for (std::size_t i = 0; i < n; ++i) signal_(i, i) = S(0);
  }

  struct LearningSignal {
    matrix_type& couplings;
    vector_type& field;  ///< zero: b is the data's entry, not learned
    std::size_t chains;
    std::size_t images;
  };
  LearningSignal learning_signal() noexcept { return {signal_, field_signal_, chains_.size(), 1}; }
  const matrix_type& signal() const noexcept { return signal_; }

  /// Refuses a non-finite signal (numerical_error, J unchanged), counts the update and forms the
  /// step: step = the step rule's image of G at k = η · scale. Returns mean(G²).
  double compute_step() {
    const double gms = detail::mean_square(signal_);
    if (!std::isfinite(gms))
      throw numerical_error(std::string(who) + ": the learning signal is not finite at update " +
                            std::to_string(updates_ + 1) + "; the couplings were left unchanged");
    ++updates_;
    step_rule_.couplings_step(signal_, step_, S(hp_.learning_rate * rate_scale_), updates_);
    return gms;
  }
  const matrix_type& step() const noexcept { return step_; }

  /// `steps` updates of the single chain with the plain rule, passing over J once per update
  /// (update() reads J for the input, then writes G, the step and J: four passes). The change
  /// J += k (σ' − L(h)) σ'ᵀ (k = η × scale, off the diagonal) is rank one, and the next input
  /// J'σ' is the updated row's product with σ' — so one sweep over the rows does both; one more
  /// sweep at the start forms Jσ. The same dynamics, noise stream, counts and checks as
  /// update() (clamps, per-chain β, `field_in_rule`); the inputs differ from update()'s by
  /// rounding (the sums run in another order). The learning seam is not used: the step rule must
  /// be the plain one, and no on_signal/on_step callback sees these steps. Returns the last
  /// step's mean(G²).
  /// @throws std::logic_error with more than one chain or a step rule other than the plain
  ///         one; numerical_error for a non-finite signal (that step's J change not applied).
  double fused_steps(std::size_t steps) {
    if (chains_.size() != 1)
      throw std::logic_error(std::string(who) + "::fused_steps: one chain only, the learner has " +
                             std::to_string(chains_.size()));
    if constexpr (std::is_same_v<StepRuleT, ConfiguredStep<S>>) {
      if (hp_.step_rule != LearningParameters::StepRule::plain)
        throw std::logic_error(std::string(who) + "::fused_steps: the plain step rule only (the learner's is Adam)");
    } else if constexpr (!std::is_same_v<StepRuleT, PlainStep>) {
      throw std::logic_error(std::string(who) + "::fused_steps: the plain step rule only");
    }
    const std::size_t n = hp_.neurons;
    double gms = 0;
    model_.parameters().edit([&](matrix_type& j) {
      S* x = chains_.states().data();
      const S* b = model_.field().data();
      const std::uint8_t* held = chains_.clamp_row(0);
      const S beta = chains_.has_temperatures() ? S(1) / chains_.temperatures()(0) : S(model_.beta());
      if (fused_h_.size() != n) fused_h_ = vector_type::from_shape({n}), fused_e_ = vector_type::from_shape({n});
      S* h = fused_h_.data();
      S* e = fused_e_.data();
      detail::parallel_rows(n, n, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t i = r0; i < r1; ++i) {
          h[i] = row_dot(j.data() + i * n, x, n);
        }
      });
      const std::vector<std::uint64_t> start = model_.noise_state();
      std::array<std::uint64_t, 2> noise = {start[0], start[1]};
      const bool sampled = hp_.mode == UpdateMode::sampled;
      for (std::size_t t = 0; t < steps; ++t) {
        for (std::size_t i = 0; i < n; ++i) {
          const S input = b[i] + h[i];
          if (!(held && held[i]))
            x[i] = sampled ? continuous_bernoulli_sample(beta * input, model_type::uniform(noise[0], noise[1] + i))
                           : langevin_function(beta * input);
          e[i] = langevin_function(hp_.field_in_rule ? input : h[i]) - x[i];
        }
        if (sampled) {
          noise[1] += n;
          model_.set_noise_state(noise);
        }
        double ee = 0, xx = 0, diag = 0;
        for (std::size_t i = 0; i < n; ++i) {
          ee += double(e[i]) * double(e[i]);
          xx += double(x[i]) * double(x[i]);
          diag += double(e[i]) * double(e[i]) * double(x[i]) * double(x[i]);
        }
        gms = (ee * xx - diag) / (double(n) * double(n));
        if (!std::isfinite(gms))
          throw numerical_error(std::string(who) + ": the learning signal is not finite at update " +
                                std::to_string(updates_ + 1) + "; the couplings were left unchanged");
        ++updates_;
        const S k = S(hp_.learning_rate * rate_scale_);
        detail::parallel_rows(n, n, [&](std::size_t r0, std::size_t r1) {
          for (std::size_t i = r0; i < r1; ++i) {
            S* ji = j.data() + i * n;
            const S acc = rank_one_row(ji, x, k * e[i], n);
            h[i] = acc - ji[i] * x[i];  // J_ii stays 0
            ji[i] = S(0);
          }
        });
      }
    });
    return gms;
  }
  /// J ← J − step, J_ii = 0, through the couplings (the backend refreshes).
  void apply_step() { model_.parameters().apply_step(step_, regularizer_); }

  /// One update: compute_signal, compute_step, apply_step. Returns mean(G²).
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
  StepRuleT& step_rule() noexcept { return step_rule_; }
  const StepRuleT& step_rule() const noexcept { return step_rule_; }

  /// The free energy of each chain's state under the current b and J.
  std::vector<FreeEnergy> free_energy() const { return free_energy_of(model_, chains_.states()); }

  /// The free energy of the rows of `sigma` under `net`'s b and J.
  static std::vector<FreeEnergy> free_energy_of(const model_type& net, const matrix_type& sigma) {
    const std::size_t c = sigma.shape(0), n = net.neurons();
    matrix_type bq, lq = matrix_type::from_shape({c, n}), jl = matrix_type::from_shape({c, n});
    net.inputs(sigma, bq);  // b_q = b + Jσ
    for (std::size_t k = 0; k < lq.size(); ++k) lq.data()[k] = langevin_function(bq.data()[k]);
    jl.fill(S(0));
    net.parameters().drive(lq, jl);  // J L(b_q), row form
    const S* b = net.field().data();
    std::vector<FreeEnergy> out(c);
    for (std::size_t r = 0; r < c; ++r) {
      double accuracy = 0, complexity = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double q = double(bq(r, i)), l = double(lq(r, i)), bi = double(b[i]);
        accuracy += bi * l + l * double(jl(r, i));
        complexity += continuous_bernoulli_log_normalizer(bi) - continuous_bernoulli_log_normalizer(q) + (q - bi) * l;
      }
      out[r] = {complexity - accuracy, accuracy, complexity};
    }
    return out;
  }

 private:
  // The fused update's kernels. Vector lanes hold partial sums: the order of a sum's terms is
  // fixed by the build's vector width, not by the thread count.
  static S row_dot(const S* __restrict a, const S* __restrict b, std::size_t n) noexcept {
    S acc = S(0);
#pragma omp simd reduction(+ : acc)
    for (std::size_t k = 0; k < n; ++k) acc += a[k] * b[k];
    return acc;
  }
  /// row −= c x, and returns the new row · x.
  static S rank_one_row(S* __restrict row, const S* __restrict x, S c, std::size_t n) noexcept {
    S acc = S(0);
#pragma omp simd reduction(+ : acc)
    for (std::size_t k = 0; k < n; ++k) {
      row[k] -= c * x[k];
      acc += row[k] * x[k];
    }
    return acc;
  }

  static const AttractorHyperparameters& validated(const AttractorHyperparameters& hp) {
    hp.validate();
    return hp;
  }
  static matrix_type zero_states(std::size_t c, std::size_t n) {
    matrix_type x = matrix_type::from_shape({c, n});
    x.fill(S(0));
    return x;
  }

  AttractorHyperparameters hp_;
  model_type model_;
  Chains<S> chains_;
  StepRuleT step_rule_;
  regularizer_type regularizer_{};
  matrix_type signal_, step_, error_;
  vector_type field_signal_, fused_h_, fused_e_;
  double rate_scale_ = 1.0;
  std::uint64_t updates_ = 0;
};

}  // namespace nlm
