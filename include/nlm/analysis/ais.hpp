/// @file ais.hpp
/// @brief Annealed importance sampling (Neal 2001): an estimate of the partition function
/// \f$ Z = \int e^{-E(x)/T}\,dx \f$ of any `EnergyModel`, hence of log-likelihoods
/// \f$ \log p(x) = -E(x)/T - \log Z \f$.
///
/// The path runs from the Gaussian base \f$ p_0 = N(0, \sigma_0^2 I) \f$ to the model through
/// \f[ E_\beta(x) = (1 - \beta)\,q(x) + \beta E(x), \qquad q(x) = \frac{T\|x\|^2}{2\sigma_0^2},
///     \qquad 0 = \beta_0 < \beta_1 < \dots < \beta_K = 1. \f]
/// Each particle starts from p₀, gains \f$ \log w \mathrel{+}= -(\beta_k - \beta_{k-1})(E(x) - q(x))/T \f$
/// at its current state before each β_k, then takes MALA steps that leave
/// \f$ e^{-E_{\beta_k}/T} \f$ invariant (so the estimate is unbiased for Z at any Δt; Δt only
/// changes its variance). \f$ \hat Z = Z_0 \cdot \mathrm{mean}(w) \f$, \f$ Z_0 = (2\pi\sigma_0^2)^{N/2} \f$.
/// Because Ẑ is unbiased, log Ẑ is biased low (by about Var(w)/(2 M mean(w)²) for M particles),
/// and a badly mixing path underestimates log Z: the effective sample size of the weights and
/// the spread of independent runs say how far to trust it.
///
/// How far to trust it: `AisResult::uncertainty` (the larger of the particles' standard error
/// and the independent runs' spread), `ais_warnings` (in words, with what to change), and an
/// interval from the other side: `reverse_annealed_importance_sampling` anneals from draws of
/// the model back to the base, a stochastic upper bound, and `ais_interval` /
/// `bidirectional_annealed_importance_sampling` put the two together (Grosse et al. 2015).
///
/// `conditional_annealed_importance_sampling` does the same with some units clamped, one
/// condition per row of a `Clamp`: log Z(v) = log ∫ e^{−E(v, h)/T} dh over the free units h, so
/// that log p(v) = log Z(v) − log Z is the marginal density of the clamped units (an image's
/// likelihood under a model with label or latent units).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../chains.hpp"
#include "../detail/random.hpp"
#include "../errors.hpp"
#include "../force_workspace.hpp"
#include "../types.hpp"
#include "../unit_layout.hpp"
#include "../sampler/mala.hpp"
#include "../sampler/sampler.hpp"

namespace nlm {

/// The model on the annealing path at inverse-temperature-like β: energy
/// \f$ E_\beta = (1-\beta)\,T\|x\|^2/(2\sigma_0^2) + \beta E \f$ and drift
/// \f$ \beta F(x) - (1-\beta)\,T x/\sigma_0^2 \f$, over the same workspaces and products as the
/// model itself, with a noise stream of its own. An `EnergyModel`, so `Mala` samples it.
/// `drift_terms(ws)` and `energies(ws)` read the states last prepared into `ws` (kept by
/// address, for the two workspaces a sampler uses): those states must stay where they are
/// until then, as a sampler's do.
template <EnergyModel M>
class AnnealedModel {
 public:
  using scalar_type = typename M::scalar_type;
  using S = scalar_type;
  using noise_type = detail::model_noise_t<M>;

  AnnealedModel(const M& model, double base_sd, noise_type noise)
      : model_(&model), base_sd_(base_sd), noise_(std::move(noise)) {
    if (!(std::isfinite(base_sd) && base_sd > 0.0))
      throw std::invalid_argument("AnnealedModel: the base distribution's sd must be finite and > 0, got " +
                                  std::to_string(base_sd));
  }

  void set_beta(double beta) {
    if (!(beta >= 0.0 && beta <= 1.0))
      throw std::invalid_argument("AnnealedModel: beta must be in [0, 1], got " + std::to_string(beta));
    beta_ = beta;
  }
  double beta() const noexcept { return beta_; }
  double base_sd() const noexcept { return base_sd_; }

  std::size_t neurons() const { return model_->neurons(); }
  S temperature() const { return model_->temperature(); }
  noise_type& noise() noexcept { return noise_; }

  void prepare(const Matrix<S>& x, ForceWorkspace<S>& ws) const {
    model_->prepare(x, ws);
    remember(ws, x);
  }
  void products(ForceWorkspace<S>& ws) const { model_->products(ws); }

  using inner_drift = decltype(std::declval<const M&>().drift_terms(std::declval<const ForceWorkspace<S>&>()));
  struct Drift {
    inner_drift inner;
    const S* x;
    S beta, pull;
    S operator()(std::size_t i) const noexcept { return beta * inner(i) - pull * x[i]; }
  };
  Drift drift_terms(const ForceWorkspace<S>& ws) const {
    return {model_->drift_terms(ws), states_of(ws).data(), S(beta_),
            S((1.0 - beta_) * double(temperature()) / (base_sd_ * base_sd_))};
  }
  /// E_β of each row; the model's own E at β = 1.
  void energies(ForceWorkspace<S>& ws) const {
    model_->energies(ws);
    if (beta_ == 1.0) return;
    const Matrix<S>& x = states_of(ws);
    for (std::size_t r = 0; r < x.shape(0); ++r)
      ws.energy(r) = S(beta_ * double(ws.energy(r)) + (1.0 - beta_) * base_energy(x, r));
  }
  /// q(x_r) = T‖x_r‖²/(2σ₀²), in double.
  double base_energy(const Matrix<S>& x, std::size_t r) const {
    const std::size_t n = x.shape(1);
    const S* row = x.data() + r * n;
    double s = 0;
    for (std::size_t c = 0; c < n; ++c) s += double(row[c]) * double(row[c]);
    return double(temperature()) * s / (2.0 * base_sd_ * base_sd_);
  }

 private:
  void remember(const ForceWorkspace<S>& ws, const Matrix<S>& x) const {
    for (auto& [w, m] : seen_)
      if (w == &ws) {
        m = &x;
        return;
      }
    seen_.emplace_back(&ws, &x);
  }
  const Matrix<S>& states_of(const ForceWorkspace<S>& ws) const {
    for (const auto& [w, m] : seen_)
      if (w == &ws) return *m;
    throw std::logic_error("AnnealedModel: a workspace was used before prepare");
  }

  const M* model_;
  double base_sd_;
  double beta_ = 1.0;
  noise_type noise_;
  mutable std::vector<std::pair<const ForceWorkspace<S>*, const Matrix<S>*>> seen_;
};

/// Settings of `annealed_importance_sampling`.
struct AisOptions {
  std::size_t temperatures = 1000;         ///< K: the distributions β₁ … β_K = 1 after the base
  std::size_t particles = 64;              ///< particles per run (one batch, advanced together)
  std::size_t runs = 4;                    ///< independent runs (their spread is reported)
  std::size_t steps_per_temperature = 1;   ///< MALA steps at each intermediate β
  double time_step = 0.01;                 ///< MALA's Δt
  double base_sd = 1.0;                    ///< σ₀ of the base N(0, σ₀² I)
  double schedule_power = 4.0;             ///< β_k = (k/K)^power: finer steps near the base
  std::uint64_t seed = 0;
  /// Called after each β with (distributions done, of all runs' distributions).
  std::function<void(std::size_t, std::size_t)> progress;

  void validate() const {
    const auto fail = [](const std::string& what) { throw std::invalid_argument("AisOptions: " + what); };
    if (temperatures == 0) fail("temperatures (K) must be >= 1");
    if (particles < 2) fail("particles must be >= 2 (the standard error needs two)");
    if (runs == 0) fail("runs must be >= 1");
    if (steps_per_temperature == 0) fail("steps_per_temperature must be >= 1");
    if (!(std::isfinite(time_step) && time_step > 0.0))
      fail("time_step (dt) must be finite and > 0, got " + std::to_string(time_step));
    if (!(std::isfinite(base_sd) && base_sd > 0.0)) fail("base_sd must be finite and > 0, got " + std::to_string(base_sd));
    if (!(std::isfinite(schedule_power) && schedule_power > 0.0))
      fail("schedule_power must be finite and > 0, got " + std::to_string(schedule_power));
  }
  /// β_0 = 0, …, β_K = 1.
  std::vector<double> schedule() const {
    std::vector<double> b(temperatures + 1);
    for (std::size_t k = 0; k <= temperatures; ++k)
      b[k] = std::pow(double(k) / double(temperatures), schedule_power);
    b.back() = 1.0;
    return b;
  }
};

/// What AIS found.
///
/// - `log_z`: log Ẑ over all particles of all runs. From the forward path (base → model) Ẑ is
///   unbiased for Z, so log Ẑ is a *stochastic lower bound*: E[log Ẑ] ≤ log Z and, by Markov's
///   inequality on Ẑ ≥ 0, P(log Ẑ > log Z + a) ≤ e^{−a} whatever the path's quality. From the
///   reverse path (`reverse_annealed_importance_sampling`, model → base) it is a stochastic upper
///   bound, P(log Ẑ < log Z − a) ≤ e^{−a}, provided the reverse particles started from the
///   model's own distribution.
/// - `standard_error`: the delta method over all particles, sd(w)/(mean(w)·√M). It cannot exceed
///   about 1 (sd/mean ≤ √M), so when a few particles carry the weights (small `ess`) it says
///   little: a run that missed mass also misses it in its own spread.
/// - `uncertainty`: the ± to report: the larger of `standard_error` and the independent runs'
///   spread over √R (`run_spread`/√R, the standard error of a mean of R run estimates); with one
///   run, the standard error alone.
/// - `ess`: (Σw)²/Σw² over all particles; `run_ess`, `run_standard_error`, `run_log_z`: the same
///   per run; `run_spread`: the runs' log Ẑ standard deviation.
/// - `log_z_base`: log Z₀ of the base; `log_weights`: every particle's log-weight (for the
///   reverse path, log w estimates log(Z₀/Z)); `acceptance`: MALA's over the whole path,
///   `model_end_acceptance` over its tenth nearest the model.
struct AisResult {
  double log_z = 0, standard_error = 0, uncertainty = 0, ess = 0, log_z_base = 0;
  std::vector<double> run_log_z, run_standard_error, run_ess;
  double run_spread = 0;
  std::vector<double> log_weights;
  double acceptance = 0;
  /// MALA's acceptance over the tenth of the path nearest the model (the distributions
  /// k ≥ 0.9 K forward, k ≤ 0.1 K reverse: β ≥ 0.9^power). Far below `acceptance` when Δt suits
  /// the broad early distributions but not the model, where the particles then barely move.
  double model_end_acceptance = 0;
  bool reverse = false;  ///< from the reverse path: log_z is an upper, not a lower, estimate
  std::size_t particles() const noexcept { return log_weights.size(); }
  /// ess / particles.
  double ess_fraction() const noexcept { return log_weights.empty() ? 0.0 : ess / double(log_weights.size()); }
  /// The one-sided bound that holds with probability ≥ `level` by Markov's inequality: for the
  /// forward path log Z ≥ log_z − ln(1/(1 − level)), for the reverse path
  /// log Z ≤ log_z + ln(1/(1 − level)) (if its particles started from the model).
  double bound(double level) const {
    if (!(level > 0.0 && level < 1.0))
      throw std::invalid_argument("AisResult::bound: level must be in (0, 1), got " + std::to_string(level));
    const double slack = std::log(1.0 / (1.0 - level));
    return reverse ? log_z + slack : log_z - slack;
  }
};

/// An interval for log Z from a forward and a reverse AIS (bidirectional Monte Carlo, Grosse et
/// al. 2015): [forward.log_z − a, reverse.log_z + a] with a = ln(2/(1 − level)), so that each
/// side fails with probability ≤ (1 − level)/2 by Markov's inequality and the interval holds
/// with probability ≥ `level` — with no assumption on how well the particles mix, except that
/// the reverse particles started from the model's distribution. `gap` = reverse − forward
/// estimate: near 0 when both paths are converged, large when the annealing is too fast.
///
/// `consistent` is false when the reverse estimate lies more than a below the forward one
/// (gap < −a): then the forward estimate falls outside the interval, and lower > upper once the
/// gap passes −2a — either a draw of probability below (1 − level)/2, or reverse particles that
/// were not draws of the model. Do not use such an interval.
struct AisInterval {
  double lower = 0, upper = 0, level = 0, gap = 0;
  bool consistent = true;
};

inline AisInterval ais_interval(const AisResult& forward, const AisResult& reverse, double level = 0.95) {
  if (forward.reverse || !reverse.reverse)
    throw std::invalid_argument("ais_interval: needs a forward result (first) and a reverse result (second)");
  if (!(level > 0.0 && level < 1.0))
    throw std::invalid_argument("ais_interval: level must be in (0, 1), got " + std::to_string(level));
  const double slack = std::log(2.0 / (1.0 - level)), gap = reverse.log_z - forward.log_z;
  return {forward.log_z - slack, reverse.log_z + slack, level, gap, gap >= -slack};
}

namespace detail {

/// log mean exp of `w`, with the mean and sd of exp(w − max) for the standard error.
struct WeightSummary {
  double log_mean, relative_sd, ess;
};
inline WeightSummary summarize_log_weights(std::span<const double> w) {
  const double top = *std::max_element(w.begin(), w.end());
  double s = 0, s2 = 0;
  for (double v : w) {
    const double e = std::exp(v - top);
    s += e;
    s2 += e * e;
  }
  const double m = double(w.size());
  const double mean = s / m;
  const double var = std::max(0.0, s2 / m - mean * mean) * m / (m - 1.0);
  return {top + std::log(mean), std::sqrt(var) / mean, s * s / s2};
}

inline std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace detail

/// When an AIS result should not be trusted, in words, with what to change: an ESS below
/// `min_ess_fraction` of the particles, independent runs that disagree beyond their standard
/// errors (a pair more than 3 combined SEs apart), a single run (nothing to check the SE
/// against), MALA accepting under half its proposals overall or under a fifth near the model.
/// Empty when none applies.
inline std::vector<std::string> ais_warnings(const AisResult& r, const AisOptions& o, double min_ess_fraction = 0.1) {
  std::vector<std::string> out;
  const std::string slower = "anneal more slowly: raise K (temperatures, now " + std::to_string(o.temperatures) +
                             ") or the MALA steps per distribution (now " + std::to_string(o.steps_per_temperature) + ")";
  if (r.ess_fraction() < min_ess_fraction) {
    std::string w = "the weights' ESS is " + detail::fixed(r.ess, 1) + " of " + std::to_string(r.particles()) +
                    " particles (" + detail::fixed(100.0 * r.ess_fraction(), 0) + " %, below " +
                    detail::fixed(100.0 * min_ess_fraction, 0) + " %): a few particles carry the estimate, so its " +
                    "standard error is unreliable and log Z is probably too " + std::string(r.reverse ? "high" : "low") + "; ";
    w += slower;
    w += "; more particles (now " + std::to_string(o.particles) + " per run) alone do not help while a few carry "
         "the weights";
    out.push_back(std::move(w));
  }
  const std::size_t runs = std::min(r.run_log_z.size(), r.run_standard_error.size());
  if (runs >= 2) {
    double worst = 0, apart = 0;
    for (std::size_t a = 0; a < runs; ++a)
      for (std::size_t b = a + 1; b < runs; ++b) {
        const double se = std::hypot(r.run_standard_error[a], r.run_standard_error[b]);
        const double d = std::abs(r.run_log_z[a] - r.run_log_z[b]);
        const double z = se > 0 ? d / se : (d > 0 ? INFINITY : 0.0);
        if (z > worst) worst = z, apart = d;
      }
    if (worst > 3.0) {
      std::string w = "two runs' log Z differ by " + detail::fixed(apart, 2) + " nats, " +
                      (std::isfinite(worst) ? detail::fixed(worst, 1) + " times" : std::string("far beyond")) +
                      " their standard errors: each run's SE understates its error (the ± reported is the larger "
                      "of the SE and the runs' spread / sqrt(runs)); ";
      w += slower;
      out.push_back(std::move(w));
    }
  } else if (r.run_log_z.size() == 1) {
    out.push_back("one run: nothing checks the particles' standard error against independent runs; use runs >= 2");
  }
  if (o.temperatures > 1 && (r.acceptance < 0.5 || r.model_end_acceptance < 0.2))  // K = 1: no MALA step
    out.push_back("MALA accepted " + detail::fixed(100.0 * r.acceptance, 0) + " % of its proposals, " +
                  detail::fixed(100.0 * r.model_end_acceptance, 1) + " % in the tenth of the path nearest the model: "
                  "lower the time step (now " + detail::fixed(o.time_step, 4) + ") so the particles keep up with the path");
  return out;
}

namespace detail {

/// The AIS loop for `groups` conditions of `options.particles` particles each, advanced together
/// (rows g·P … g·P + P − 1 are condition g's). Without a clamp there is one condition: the whole
/// model. With one, condition g holds the units where its mask row is set at its values and
/// integrates over the others: the base is N(0, σ₀²) on the free units only, so
/// log Z₀ = (F_g/2) log(2πσ₀²), and the clamped units' share of q, a constant along each path,
/// is taken out of the weights at the end (it enters them as +q_clamped/T: Σ_k (β_k − β_{k−1}) = 1).
///
/// With `start` (no clamp) the path runs backwards, from the model (β = 1) to the base, from
/// the rows of `start` (run r takes rows r·P … r·P + P − 1): log w then estimates log(Z₀/Z) and
/// log Ẑ = log Z₀ − log mean(w). `end_states`, if given, receives every run's particles after
/// the last transition (rows as in `start`).
template <EnergyModel M>
std::vector<AisResult> annealed_importance_sampling_groups(const M& model, const AisOptions& options,
                                                           const Clamp<typename M::scalar_type>* clamp,
                                                           const Matrix<typename M::scalar_type>* start = nullptr,
                                                           Matrix<typename M::scalar_type>* end_states = nullptr) {
  options.validate();
  using S = typename M::scalar_type;
  const bool reverse = start != nullptr;
  const char* who = reverse ? "reverse_annealed_importance_sampling"
                    : clamp ? "conditional_annealed_importance_sampling"
                            : "annealed_importance_sampling";
  if (reverse && clamp) throw std::logic_error("annealed_importance_sampling_groups: a reverse path takes no clamp");
  const double t = double(model.temperature());
  if (!(t > 0.0)) throw std::invalid_argument(std::string(who) + ": the model's temperature must be > 0");
  const std::size_t n = model.neurons(), p = options.particles, k_max = options.temperatures;
  const std::size_t groups = clamp ? clamp->values.shape(0) : 1, rows = groups * p;
  const double sd = options.base_sd;
  std::vector<double> beta = options.schedule();
  if (reverse) {
    std::reverse(beta.begin(), beta.end());
    if (start->shape(0) != rows * options.runs || start->shape(1) != n)
      throw std::invalid_argument(std::string(who) + ": the start states are " + std::to_string(start->shape(0)) +
                                  " x " + std::to_string(start->shape(1)) + ", expected particles x runs = " +
                                  std::to_string(rows * options.runs) + " rows of the model's " + std::to_string(n) +
                                  " units");
    for (std::size_t i = 0; i < start->size(); ++i)
      if (!std::isfinite(double(start->data()[i])))
        throw std::invalid_argument(std::string(who) + ": start state " + std::to_string(i / n) + " has a value that is not finite");
  }
  if (end_states) *end_states = Matrix<S>::from_shape({rows * options.runs, n});

  // Each condition's free units and the clamped units' q = T‖v‖²/(2σ₀²); the clamp per particle.
  std::vector<std::size_t> free_units(groups, n);
  std::vector<double> clamped_q(groups, 0.0);
  xt::xtensor<std::uint8_t, 2> mask;
  Matrix<S> values;
  if (clamp) {
    const auto fail = [&](const std::string& what) { throw std::invalid_argument(std::string(who) + ": " + what); };
    if (groups == 0) fail("the clamp has no rows (no conditions)");
    if (clamp->values.shape(1) != n || clamp->mask.shape(1) != n)
      fail("the clamp has " + std::to_string(clamp->mask.shape(1)) + " mask and " +
           std::to_string(clamp->values.shape(1)) + " value columns, the model " + std::to_string(n) + " units");
    const std::size_t mask_rows = clamp->mask.shape(0);
    if (mask_rows != 1 && mask_rows != groups)
      fail("the clamp mask has " + std::to_string(mask_rows) + " rows, expected 1 or " + std::to_string(groups) +
           " (one per row of values)");
    mask = xt::xtensor<std::uint8_t, 2>::from_shape({rows, n});
    values = Matrix<S>::from_shape({rows, n});
    for (std::size_t g = 0; g < groups; ++g) {
      const std::uint8_t* m = clamp->mask.data() + (mask_rows == 1 ? 0 : g) * n;
      const S* v = clamp->values.data() + g * n;
      std::size_t held = 0;
      double q = 0;
      for (std::size_t j = 0; j < n; ++j)
        if (m[j]) {
          if (!std::isfinite(double(v[j])))
            fail("clamp value " + std::to_string(j) + " of condition " + std::to_string(g) + " is not finite");
          ++held;
          q += double(v[j]) * double(v[j]);
        }
      if (held == n) fail("condition " + std::to_string(g) + " clamps every unit: there is nothing to integrate");
      free_units[g] = n - held;
      clamped_q[g] = t * q / (2.0 * sd * sd);
      for (std::size_t i = 0; i < p; ++i) {
        std::copy_n(v, n, values.data() + (g * p + i) * n);
        std::copy_n(m, n, mask.data() + (g * p + i) * n);
      }
    }
  }

  std::vector<AisResult> out(groups);
  for (std::size_t g = 0; g < groups; ++g) {
    out[g].log_z_base = 0.5 * double(free_units[g]) * std::log(2.0 * std::numbers::pi * sd * sd);
    out[g].reverse = reverse;
  }
  // The reverse path draws from streams of its own, so a forward and a reverse run with one seed
  // share no random numbers.
  const std::uint64_t stream0 = reverse ? std::uint64_t(1) << 40 : 0;
  std::uint64_t proposed = 0, accepted = 0, end_proposed = 0, end_accepted = 0;
  // the transitions k < K nearest the model: k ≥ 0.9 K forward, k ≤ 0.1 K reverse
  const std::size_t tenth = std::max<std::size_t>(1, k_max / 10);
  const auto near_model = [&](std::size_t k) { return reverse ? k <= tenth : k + tenth >= k_max; };
  std::vector<double> e_minus_q(rows), logw(rows);
  for (std::size_t run = 0; run < options.runs; ++run) {
    const std::uint64_t base = stream0 + 4 * run;
    model_noise_t<M> noise = model.noise();
    noise.seed(derive_seed(options.seed, base));
    AnnealedModel<M> path(model, sd, std::move(noise));
    Mala mala(derive_seed(options.seed, base + 1), options.time_step);
    Matrix<S> x = Matrix<S>::from_shape({rows, n});
    if (reverse) {
      std::copy_n(start->data() + run * rows * n, rows * n, x.data());
    } else {
      Xoshiro256 engine(derive_seed(options.seed, base + 2));
      fill_normal<S>(engine, std::span<S>(x.data(), x.size()));
      x *= S(sd);
    }
    Chains<S> chains(std::move(x));
    if (clamp) chains.clamp(mask, values);
    {  // E(x) at the start: the path at β = 1 is the model
      path.set_beta(1.0);
      evaluate(path, chains.states(), chains.workspace(), true);
      for (std::size_t i = 0; i < rows; ++i)
        e_minus_q[i] = double(chains.workspace().energy(i)) - path.base_energy(chains.states(), i);
    }
    std::fill(logw.begin(), logw.end(), 0.0);
    for (std::size_t k = 1; k <= k_max; ++k) {
      const double step = beta[k] - beta[k - 1];  // < 0 on the reverse path
      for (std::size_t i = 0; i < rows; ++i) logw[i] -= step * e_minus_q[i] / t;
      if (k == k_max) break;  // the last transition would not change the weights
      path.set_beta(beta[k]);
      const std::uint64_t p0 = mala.proposed(), a0 = mala.accepted();
      mala.advance(path, chains, options.steps_per_temperature);
      if (near_model(k)) end_proposed += mala.proposed() - p0, end_accepted += mala.accepted() - a0;
      const ForceWorkspace<S>& ws = chains.workspace();
      for (std::size_t i = 0; i < rows; ++i) {
        const double q = path.base_energy(chains.states(), i);
        e_minus_q[i] = (double(ws.energy(i)) - q) / beta[k];
      }
      if (options.progress) options.progress(run * k_max + k, options.runs * k_max);
    }
    if (end_states) std::copy_n(chains.states().data(), rows * n, end_states->data() + run * rows * n);
    for (std::size_t g = 0; g < groups; ++g) {
      const std::span<double> w(logw.data() + g * p, p);
      for (double& v : w) {
        v -= clamped_q[g] / t;
        if (!std::isfinite(v))
          throw numerical_error(std::string(who) + ": a log-weight is not finite in run " + std::to_string(run) +
                                (clamp ? " (condition " + std::to_string(g) + ")" : std::string()) +
                                " (the particles diverged?); lower time_step");
      }
      const WeightSummary s = summarize_log_weights(w);
      out[g].run_log_z.push_back(reverse ? out[g].log_z_base - s.log_mean : out[g].log_z_base + s.log_mean);
      out[g].run_standard_error.push_back(s.relative_sd / std::sqrt(double(p)));
      out[g].run_ess.push_back(s.ess);
      out[g].log_weights.insert(out[g].log_weights.end(), w.begin(), w.end());
    }
    proposed += mala.proposed();
    accepted += mala.accepted();
    if (options.progress) options.progress((run + 1) * k_max, options.runs * k_max);
  }
  for (AisResult& r : out) {
    const auto all = summarize_log_weights(r.log_weights);
    r.log_z = reverse ? r.log_z_base - all.log_mean : r.log_z_base + all.log_mean;
    r.standard_error = all.relative_sd / std::sqrt(double(r.log_weights.size()));
    r.ess = all.ess;
    r.uncertainty = r.standard_error;
    if (r.run_log_z.size() > 1) {
      double m = 0, v = 0;
      for (double z : r.run_log_z) m += z;
      m /= double(r.run_log_z.size());
      for (double z : r.run_log_z) v += (z - m) * (z - m);
      r.run_spread = std::sqrt(v / double(r.run_log_z.size() - 1));
      r.uncertainty = std::max(r.standard_error, r.run_spread / std::sqrt(double(r.run_log_z.size())));
    }
    r.acceptance = proposed == 0 ? 0.0 : double(accepted) / double(proposed);
    r.model_end_acceptance = end_proposed == 0 ? r.acceptance : double(end_accepted) / double(end_proposed);
  }
  return out;
}

}  // namespace detail

/// Estimates log Z of `model` at its temperature by annealed importance sampling
/// (`options.runs` runs of `options.particles` particles, MALA transitions). Reproducible for
/// a seed. The model is only read: the path has its own noise and sampler streams.
///
/// Precision: the weight increments need E(x) − q(x) at each particle's state; it is recovered
/// from the MALA-maintained E_β(x) as (E_β − q)/β, which amplifies the float rounding of E_β
/// (≈ 10⁻⁷·|E_β|) by 1/β, but each increment is multiplied by β_{k+1} − β_k, so the error in
/// log w is ≈ 10⁻⁷·|E|·Σ_k (β_{k+1} − β_k)/β_k ≈ 10⁻⁷·|E|·(power·ln K + 10): below 10⁻³ for
/// the MNIST models, far under the standard errors.
template <EnergyModel M>
AisResult annealed_importance_sampling(const M& model, const AisOptions& options) {
  return std::move(detail::annealed_importance_sampling_groups(model, options, nullptr).front());
}

/// The partition function of the units a clamp leaves free, one per condition (row of
/// `clamp.values`): \f$ \log Z(v_g) = \log \int e^{-E(v_g, h)/T}\,dh \f$ over the units h where
/// condition g's mask (its row, or the single row) is zero, the others held at v_g. With the
/// model's log Z, \f$ \log p(v) = \log Z(v) - \log Z \f$ is the marginal log-density of the
/// clamped units: an image's log-likelihood under a model with label or latent units. Each
/// condition has `options.particles` particles per run, all conditions advance together (one
/// batch of conditions × particles rows), and each gets its own AisResult (log Ẑ(v_g), its
/// standard error, ESS, runs; the MALA acceptance is the batch's). As for log Z, log Ẑ(v) is
/// biased low; the difference log Ẑ(v) − log Ẑ may be biased either way.
template <EnergyModel M>
std::vector<AisResult> conditional_annealed_importance_sampling(const M& model,
                                                                const Clamp<typename M::scalar_type>& clamp,
                                                                const AisOptions& options) {
  return detail::annealed_importance_sampling_groups(model, options, &clamp);
}

/// Reverse AIS: the same path run from the model (β = 1) back to the base, from `start`
/// (particles × runs rows; run r takes rows r·P … r·P + P − 1). The weights estimate Z₀/Z
/// without bias when the start rows are draws from the model's own density e^{−E/T}/Z, so the
/// returned log Ẑ = log Z₀ − log mean(w) is then a stochastic *upper* bound of log Z
/// (`AisResult::reverse` is set): P(log Ẑ < log Z − a) ≤ e^{−a}. Exact draws exist for test
/// models (Gaussians, separable energies); for a trained model, long-run chains are an
/// approximation, and the bound holds only as far as they have reached the model's
/// distribution (chains that never visit a mode leave its mass out, as the forward path does).
template <EnergyModel M>
AisResult reverse_annealed_importance_sampling(const M& model, const Matrix<typename M::scalar_type>& start,
                                               const AisOptions& options) {
  return std::move(detail::annealed_importance_sampling_groups(model, options, nullptr, &start).front());
}

/// Both directions on one model (bidirectional Monte Carlo): a forward AIS, then its particles,
/// after `burn_in` further MALA steps each at β = 1 (the model; same Δt), start a reverse AIS
/// with the same options. `interval` = `ais_interval(forward, reverse, level)`. Its lower end
/// holds with probability ≥ (1 + level)/2 whatever the path; the upper end assumes that the
/// forward particles, once burnt in, are draws from the model — true in the limit of a slow
/// path and a long burn-in, not guaranteed for a model with modes the particles do not cross
/// between. `burn_in_acceptance` is MALA's over the burn-in.
struct BidirectionalAis {
  AisResult forward, reverse;
  AisInterval interval;
  std::size_t burn_in = 0;
  double burn_in_acceptance = 0;
};

template <EnergyModel M>
BidirectionalAis bidirectional_annealed_importance_sampling(const M& model, const AisOptions& options,
                                                            std::size_t burn_in, double level = 0.95) {
  using S = typename M::scalar_type;
  options.validate();
  if (!(level > 0.0 && level < 1.0))
    throw std::invalid_argument("bidirectional_annealed_importance_sampling: level must be in (0, 1), got " +
                                std::to_string(level));
  BidirectionalAis out;
  out.burn_in = burn_in;
  const std::size_t total = 2 * options.runs * options.temperatures;
  AisOptions forward = options, backward = options;
  if (options.progress) {
    forward.progress = [&](std::size_t done, std::size_t) { options.progress(done, total); };
    backward.progress = [&](std::size_t done, std::size_t) { options.progress(total / 2 + done, total); };
  }
  Matrix<S> states;
  out.forward = std::move(detail::annealed_importance_sampling_groups(model, forward, nullptr, nullptr, &states).front());
  if (burn_in > 0) {
    const std::uint64_t stream = (std::uint64_t(1) << 41);
    detail::model_noise_t<M> noise = model.noise();
    noise.seed(detail::derive_seed(options.seed, stream));
    AnnealedModel<M> at_model(model, options.base_sd, std::move(noise));
    at_model.set_beta(1.0);
    Mala mala(detail::derive_seed(options.seed, stream + 1), options.time_step);
    Chains<S> chains(std::move(states));
    mala.advance(at_model, chains, burn_in);
    out.burn_in_acceptance = mala.acceptance_rate();
    states = chains.states();
  }
  out.reverse = reverse_annealed_importance_sampling(model, states, backward);
  out.interval = ais_interval(out.forward, out.reverse, level);
  return out;
}

}  // namespace nlm
