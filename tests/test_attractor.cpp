// The free-energy attractor network's units and dynamics: the continuous Bernoulli on [−1, 1]
// (its mean L, variance L', log-normaliser and inverse-CDF sampler) against closed forms,
// quadrature and a KS bound, and the synchronous update against a hand computation.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>
#include <vector>

#include <nlm/nlm.hpp>

#include "test_support.hpp"

using nlm::Matrix;
using nlm::Vector;

namespace {

long double langevin_direct(long double t) { return 1.0L / std::tanh(t) - 1.0L / t; }

/// ∫_{-1}^{1} e^{θσ} dσ by composite Simpson with `m` (even) intervals.
double simpson_normalizer(double theta, int m) {
  const double h = 2.0 / m;
  double s = std::exp(-theta) + std::exp(theta);
  for (int k = 1; k < m; ++k) s += (k % 2 ? 4.0 : 2.0) * std::exp(theta * (-1.0 + k * h));
  return s * h / 3.0;
}

}  // namespace

TEST_SUITE("attractor") {

TEST_CASE("the Langevin function L(θ) = coth θ − 1/θ to double rounding, series and direct branches alike") {
  // Reference: coth θ − 1/θ in long double (64-bit mantissa). Its cancellation costs
  // (1/θ)/L(θ) ≈ 3/θ² ulps of long double: below 1e−15 relative for θ ≥ 0.02. Below that the
  // series θ/3 − θ³/45 + 2θ⁵/945 in long double, whose truncation (θ⁶/1575 relative) is below
  // 1e−18 for θ ≤ 1e−3. The double result must be within 8 ulps (1.8e−15) of either.
  for (double t = 0.02; t < 600; t *= 1.07) {
    for (const double s : {t, -t}) {
      const long double ref = langevin_direct(s);
      CHECK(std::fabs(double((nlm::langevin_function(s) - ref) / ref)) < 1.8e-15);
    }
  }
  for (double t = 1e-9; t <= 1e-3; t *= 3) {
    const long double lt = t, ref = lt / 3 - lt * lt * lt / 45 + 2 * std::pow(lt, 5.0L) / 945;
    CHECK(std::fabs(double((nlm::langevin_function(t) - ref) / ref)) < 1.8e-15);
  }
  CHECK(nlm::langevin_function(0.0) == 0.0);
  CHECK(nlm::langevin_function(500.0) == doctest::Approx(1.0 - 1.0 / 500).epsilon(1e-15));
  CHECK(nlm::langevin_function(-1e6) == doctest::Approx(-1.0 + 1e-6).epsilon(1e-15));
  // float: the double result rounded once.
  for (const float t : {0.0f, 1e-6f, 0.05f, 0.19f, 0.21f, 1.0f, 30.0f, -400.0f})
    CHECK(nlm::langevin_function(t) == float(nlm::langevin_function(double(t))));
}

TEST_CASE("L'(θ) is the derivative of L and ln Z(θ) the log of ∫ e^{θσ} dσ over [−1, 1]") {
  // Central differences of L with h = 1e−5: truncation h²|L'''|/6 < 1e−11, rounding
  // 1e−16/h = 1e−11: 1e−9 absolute is ample.
  for (const double t : {0.0, 1e-4, 0.1, 0.19, 0.2, 0.21, 0.5, 1.0, 3.0, 39.0, 41.0, 300.0, -2.0}) {
    const double h = 1e-5;
    const double fd = (nlm::langevin_function(t + h) - nlm::langevin_function(t - h)) / (2 * h);
    CHECK(nlm::langevin_derivative(t) == doctest::Approx(fd).epsilon(0).scale(1).epsilon(1e-9));
  }
  CHECK(nlm::langevin_derivative(0.0) == doctest::Approx(1.0 / 3).epsilon(1e-16));
  CHECK(nlm::langevin_derivative(1e4) == doctest::Approx(1e-8).epsilon(1e-15));
  // Simpson with 20 000 intervals: error ≤ h⁴ θ⁴ e^{|θ|}·2/180 relative to ∫ ≥ e^{|θ|}/|θ|·(1 − e^{−2|θ|}),
  // below 1e−13 for |θ| ≤ 20.
  for (const double t : {0.0, 1e-3, 0.1, 0.2, 0.3, 1.0, 5.0, -7.0, 20.0}) {
    CHECK(nlm::continuous_bernoulli_log_normalizer(t) ==
          doctest::Approx(std::log(simpson_normalizer(t, 20000))).epsilon(1e-12));
  }
  // Far out only the closed form is left: ln(2 sinh θ/θ) = θ − ln θ + log1p(−e^{−2θ}).
  CHECK(nlm::continuous_bernoulli_log_normalizer(800.0) == doctest::Approx(800.0 - std::log(800.0)).epsilon(1e-15));
  CHECK(std::isfinite(nlm::continuous_bernoulli_log_normalizer(-1e5)));
}

TEST_CASE("the sampler inverts the CDF without overflow, uniform at θ = 0") {
  // F(σ) = (e^{θσ} − e^{−θ}) / (e^{θ} − e^{−θ}) = expm1(θ(σ + 1)) / expm1(2θ), evaluated in long
  // double in the second form (the first cancels for small θ). F(σ(u)) = u up to rounding: the
  // draw's absolute error is a few ulps (δσ ≈ 4e−16) and F' = θ e^{θσ}/(2 sinh θ) ≤ |θ| + 1, so
  // |F(σ(u)) − u| < 1e−13 for |θ| ≤ 30.
  for (const double t : {-30.0, -3.0, -0.2, -1e-7, 1e-7, 0.2, 1.0, 3.0, 30.0}) {
    for (double u = 1e-6; u <= 1.0; u += 0.0625) {
      const long double lt = t, s = nlm::continuous_bernoulli_sample(t, u);
      const long double f = std::expm1(lt * (s + 1)) / std::expm1(2 * lt);
      CHECK(std::fabs(double(f - u)) < 1e-13);
    }
  }
  for (double u = 0.0625; u <= 1.0; u += 0.0625) CHECK(nlm::continuous_bernoulli_sample(0.0, u) == 2 * u - 1);
  // |θ| in the hundreds and beyond: σ = 1 + ln(u)/θ (up to e^{−2θ}), finite, in [−1, 1], a tiny u
  // kept (u = 1e−300 at θ = 500 is σ = 1 − 690.8/500, not −1); θ < 0 mirrors it with 1 − u (where 1 − u is exact).
  for (const double t : {500.0, 1e4}) {
    for (const double u : {1e-300, 1e-9, 0.3, 1.0}) {
      const double s = nlm::continuous_bernoulli_sample(t, u);
      CHECK(s == doctest::Approx(std::max(-1.0, 1.0 + std::log(u) / t)).epsilon(1e-14));
      if (u >= 0.3) CHECK(nlm::continuous_bernoulli_sample(-t, 1.0 - u) == doctest::Approx(-s).epsilon(1e-14));
    }
  }
  CHECK(nlm::continuous_bernoulli_sample(500.0f, 1e-30f) >= -1.0f);
}

TEST_CASE_TEMPLATE("sampled units follow the continuous Bernoulli: mean, and the KS distance to the CDF", S, float, double) {
  // J = 0, b = θ/β: every unit draws from p(σ) ∝ e^{θσ} independently. With n = 40 000 draws the
  // mean's standard error is sqrt(L'(θ)/n); 5 of them bound it (a false failure has probability
  // 6e−7 per θ). The KS distance of n draws from their own CDF exceeds 1.95/sqrt(n) with
  // probability 0.001.
  const std::size_t chains = 100, n = 400;
  for (const double theta : {0.0, 0.7, -2.5, 12.0}) {
    Vector<S> b = Vector<S>::from_shape({n});
    b.fill(S(theta / 0.5));
    nlm::AttractorNetwork<S> net(Matrix<S>(xt::zeros<S>({n, n})), b, /*beta=*/0.5, /*seed=*/7);
    nlm::Chains<S> c(Matrix<S>(xt::zeros<S>({chains, n})));
    net.step(c, nlm::UpdateMode::sampled);
    std::vector<double> draws(c.states().begin(), c.states().end());
    double mean = 0;
    for (const double v : draws) mean += v;
    mean /= double(draws.size());
    const double se = std::sqrt(nlm::langevin_derivative(theta) / double(draws.size()));
    CHECK(std::fabs(mean - nlm::langevin_function(theta)) < 5 * se);
    std::sort(draws.begin(), draws.end());
    double d = 0;
    for (std::size_t k = 0; k < draws.size(); ++k) {
      const double s = draws[k];
      const double f = theta == 0 ? (s + 1) / 2
                                  : std::expm1(theta * (s + 1)) / std::expm1(2 * theta);  // F(σ)
      d = std::max({d, std::fabs(f - double(k) / draws.size()), std::fabs(f - double(k + 1) / draws.size())});
    }
    CHECK(d < 1.95 / std::sqrt(double(draws.size())));
  }
}

TEST_CASE("the update is synchronous, deterministic mode is L(β(b + Jσ)), clamps and per-chain β hold") {
  // Two units coupled both ways, b = 0: from (1, −1) a synchronous update gives
  // (L(−β), L(β)); unit by unit it would give (L(−β), L(β L(−β))).
  Matrix<double> j = {{0.0, 1.0}, {1.0, 0.0}};
  nlm::AttractorNetwork<double> pair(j, Vector<double>(), 3.0);
  nlm::Chains<double> c(Matrix<double>({{1.0, -1.0}}));
  pair.step(c, nlm::UpdateMode::deterministic);
  CHECK(c.states()(0, 0) == doctest::Approx(nlm::langevin_function(-3.0)).epsilon(1e-15));
  CHECK(c.states()(0, 1) == doctest::Approx(nlm::langevin_function(3.0)).epsilon(1e-15));

  // A random J and b: every chain's new state is L(β_c (b + J σ)) by hand, β_c = 1/T_c.
  const std::size_t n = 7;
  nlm::detail::Xoshiro256 engine(5);
  Matrix<double> jr = Matrix<double>::from_shape({n, n}), x = Matrix<double>::from_shape({3, n});
  Vector<double> b = Vector<double>::from_shape({n});
  nlm::detail::fill_normal<double>(engine, std::span<double>(jr.data(), jr.size()));
  nlm::detail::fill_normal<double>(engine, std::span<double>(b.data(), b.size()));
  nlm::detail::fill_uniform<double>(engine, std::span<double>(x.data(), x.size()));
  nlm::AttractorNetwork<double> net(jr, b, 0.8);
  nlm::Chains<double> chains(x);
  chains.set_temperatures(Vector<double>({1.25, 0.5, 2.0}));  // β_c = 0.8, 2, 0.5
  xt::xtensor<std::uint8_t, 2> mask = xt::zeros<std::uint8_t>({std::size_t(1), n});
  mask(0, 2) = 1;
  chains.clamp(mask, Matrix<double>(xt::ones<double>({std::size_t(1), n}) * 0.25));
  const Matrix<double> before = chains.states();
  net.step(chains, nlm::UpdateMode::deterministic);
  for (std::size_t r = 0; r < 3; ++r) {
    const double beta = 1.0 / chains.temperatures()(r);
    for (std::size_t i = 0; i < n; ++i) {
      double h = b(i);
      for (std::size_t k = 0; k < n; ++k) h += jr(i, k) * before(r, k);
      const double expected = i == 2 ? 0.25 : nlm::langevin_function(beta * h);
      CHECK(chains.states()(r, i) == doctest::Approx(expected).epsilon(1e-13));
    }
  }
  // A deterministic step draws nothing; a sampled one reserves rows × N uniforms.
  CHECK(net.noise_state()[1] == 0);
  net.step(chains, nlm::UpdateMode::sampled);
  CHECK(net.noise_state()[1] == 3 * n);
  CHECK(chains.states()(1, 2) == 0.25);
}

TEST_CASE("sampled runs resume bit for bit from the noise state and do not depend on the thread count") {
  const std::size_t n = 300;
  nlm::detail::Xoshiro256 engine(9);
  Matrix<float> j = Matrix<float>::from_shape({n, n});
  nlm::detail::fill_normal<float>(engine, std::span<float>(j.data(), j.size()));
  j *= 0.05f;
  nlm::AttractorNetwork<float> net(j, Vector<float>(), 1.0, 3);
  nlm::Chains<float> a(Matrix<float>(xt::zeros<float>({std::size_t(400), n})));
  net.run(a, 2, nlm::UpdateMode::sampled);
  const auto saved_noise = net.noise_state();
  nlm::Chains<float> b(a.states());
  nlm::set_threads(1);
  net.run(a, 3, nlm::UpdateMode::sampled);
  nlm::AttractorNetwork<float> other(j, Vector<float>(), 1.0, 99);
  other.set_noise_state(saved_noise);
  nlm::set_threads(2);
  other.run(b, 3, nlm::UpdateMode::sampled);
  nlm::set_threads(0);
  CHECK(a.states() == b.states());
}

TEST_CASE("bad arguments are refused with a sentence") {
  CHECK_THROWS_WITH_AS(nlm::AttractorNetwork<float>(4, 0.0),
                       "AttractorNetwork: beta (the inverse temperature) must be finite and > 0, got 0.000000",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::AttractorNetwork<float>(4, std::nan("")),
                       "AttractorNetwork: beta (the inverse temperature) must be finite and > 0, got nan",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::AttractorNetwork<float>(0, 1.0), "AttractorNetwork: the number of units must be > 0",
                       std::invalid_argument);
  nlm::AttractorNetwork<float> net(3, 1.0);
  Matrix<float> h;
  CHECK_THROWS_WITH_AS(net.inputs(Matrix<float>(xt::zeros<float>({2, 4})), h),
                       "AttractorNetwork: states of 4 units, the network has 3", std::invalid_argument);
  CHECK_THROWS_WITH_AS(net.set_noise_state(std::vector<std::uint64_t>{1}),
                       "AttractorNetwork: expected 2 noise state words (key, counter), got 1", std::invalid_argument);
}



namespace {
nlm::AttractorHyperparameters small_hp(std::size_t n, std::size_t chains = 1) {
  nlm::AttractorHyperparameters hp;
  hp.neurons = n;
  hp.chains = chains;
  hp.beta = 0.7;
  hp.learning_rate = 0.05;
  hp.mode = nlm::UpdateMode::deterministic;
  return hp;
}
}  // namespace

TEST_CASE("one update is the rule computed by hand: L(h) with h = J sigma_old, the mean over chains, J_ii = 0") {
  for (const bool field_in_rule : {false, true}) {
    nlm::AttractorHyperparameters hp = small_hp(3, 2);
    hp.field_in_rule = field_in_rule;
    nlm::AttractorLearner<double> learner(hp);
    const Matrix<double> j = {{0.0, 0.4, -0.3}, {0.2, 0.0, 0.5}, {-0.6, 0.1, 0.0}};
    const Vector<double> b = {0.3, -0.2, 0.8};
    const Matrix<double> old = {{0.5, -0.4, 0.1}, {-0.2, 0.9, -0.7}};
    learner.set_couplings(j);
    learner.set_field(b);
    learner.chains().set_states(old);
    learner.update();
    // By hand: σ_new = L(β(b + J σ_old)) (deterministic mode), then
    // J_ij += η mean_c (σ_ci σ_cj − L(h_ci) σ_cj), h = J σ_old (+ b with field_in_rule), i ≠ j.
    double sigma[2][3], lh[2][3];
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 3; ++i) {
        double h = 0;
        for (int k = 0; k < 3; ++k) h += j(i, k) * old(c, k);
        sigma[c][i] = nlm::langevin_function(0.7 * (b(i) + h));
        lh[c][i] = nlm::langevin_function(field_in_rule ? b(i) + h : h);
      }
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 3; ++k) {
        double expected = 0;
        if (i != k) {
          double d = 0;
          for (int c = 0; c < 2; ++c) d += sigma[c][i] * sigma[c][k] - lh[c][i] * sigma[c][k];
          expected = j(i, k) + 0.05 * d / 2;
        }
        CHECK(learner.couplings()(i, k) == doctest::Approx(expected).epsilon(1e-14));
      }
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 3; ++i) CHECK(learner.states()(c, i) == doctest::Approx(sigma[c][i]).epsilon(1e-15));
    CHECK(learner.updates() == 1);
  }
}

TEST_CASE("fused_steps: one pass over J per update gives update()'s trajectory to rounding; bad uses refused") {
  // Starting from the same random J, b, state and seed, 25 fused steps and 25 update() calls
  // must agree to rounding: the inputs differ only in the order of their sums (relative 1e-15),
  // and the sampler and L are smooth in theta, so the trajectories stay within ~1e-12 over a
  // few dozen steps (checked for both modes and both readings of the rule's input).
  const std::size_t n = 40;
  nlm::detail::Xoshiro256 rng(5);
  Matrix<double> j = Matrix<double>::from_shape({n, n});
  nlm::detail::fill_normal<double>(rng, std::span<double>(j.data(), j.size()));
  j *= 0.2;
  for (std::size_t i = 0; i < n; ++i) j(i, i) = 0;
  Vector<double> b = Vector<double>::from_shape({n});
  nlm::detail::fill_normal<double>(rng, std::span<double>(b.data(), b.size()));
  for (const auto mode : {nlm::UpdateMode::sampled, nlm::UpdateMode::deterministic})
    for (const bool field_in_rule : {false, true}) {
      nlm::AttractorHyperparameters hp = small_hp(n);
      hp.mode = mode;
      hp.field_in_rule = field_in_rule;
      hp.seed = 11;
      nlm::AttractorLearner<double> a(hp), f(hp);
      for (auto* l : {&a, &f}) {
        l->set_couplings(j);
        l->set_field(b);
        l->chains().states().fill(0.3);
      }
      for (int t = 0; t < 25; ++t) (void)a.update();
      (void)f.fused_steps(25);
      CHECK(f.updates() == 25);
      CHECK(f.model().noise_state() == a.model().noise_state());
      double dj = 0, dx = 0;
      for (std::size_t k = 0; k < n * n; ++k) dj = std::max(dj, std::fabs(a.couplings().data()[k] - f.couplings().data()[k]));
      for (std::size_t k = 0; k < n; ++k) dx = std::max(dx, std::fabs(a.states()(0, k) - f.states()(0, k)));
      CHECK(dj < 1e-12);
      CHECK(dx < 1e-12);
      for (std::size_t i = 0; i < n; ++i) CHECK(f.couplings()(i, i) == 0.0);
    }
  nlm::AttractorLearner<double> two(small_hp(n, 2));
  CHECK_THROWS_WITH_AS(two.fused_steps(1), "AttractorLearner::fused_steps: one chain only, the learner has 2", std::logic_error);
  nlm::AttractorHyperparameters adam_hp = small_hp(n);
  adam_hp.step_rule = nlm::LearningParameters::StepRule::adam;
  nlm::AttractorLearner<double> adam(adam_hp);
  CHECK_THROWS_WITH_AS(adam.fused_steps(1), "AttractorLearner::fused_steps: the plain step rule only (the learner's is Adam)",
                       std::logic_error);
  // A non-finite state (here written into the chain by hand) makes the inputs and the signal
  // NaN: refused before J changes.
  nlm::AttractorLearner<double> broken(small_hp(n));
  broken.set_couplings(j);
  broken.chains().states()(0, 4) = std::nan("");
  CHECK_THROWS_WITH_AS(broken.fused_steps(3),
                       "AttractorLearner: the learning signal is not finite at update 1; the couplings were left unchanged",
                       nlm::numerical_error);
  CHECK(broken.updates() == 0);
  CHECK(broken.couplings() == j);
}

TEST_CASE("the free energy is the reference's complexity minus accuracy") {
  nlm::AttractorLearner<double> learner(small_hp(3));
  const Matrix<double> j = {{0.0, 0.4, -0.3}, {0.2, 0.0, 0.5}, {-0.6, 0.1, 0.0}};
  const Vector<double> b = {0.3, -0.2, 0.8};
  learner.set_couplings(j);
  learner.set_field(b);
  learner.chains().set_states(Matrix<double>({{0.5, -0.4, 0.1}}));
  const nlm::FreeEnergy f = learner.free_energy().front();
  // The reference's formulas as written: b_q = b + Jσ; accuracy = b·L(b_q) + L(b_q)ᵀ J L(b_q);
  // complexity = Σ ln(b_q/sinh b_q) + b_q L(b_q) − ln(b/sinh b) − b L(b_q).
  const double s[3] = {0.5, -0.4, 0.1};
  double bq[3], l[3], accuracy = 0, complexity = 0;
  for (int i = 0; i < 3; ++i) {
    bq[i] = b(i);
    for (int k = 0; k < 3; ++k) bq[i] += j(i, k) * s[k];
    l[i] = 1 / std::tanh(bq[i]) - 1 / bq[i];
  }
  for (int i = 0; i < 3; ++i) {
    double jl = 0;
    for (int k = 0; k < 3; ++k) jl += j(i, k) * l[k];
    accuracy += b(i) * l[i] + l[i] * jl;
    complexity += std::log(bq[i] / std::sinh(bq[i])) + bq[i] * l[i] - std::log(b(i) / std::sinh(b(i))) - b(i) * l[i];
  }
  CHECK(f.accuracy == doctest::Approx(accuracy).epsilon(1e-12));
  CHECK(f.complexity == doctest::Approx(complexity).epsilon(1e-12));
  CHECK(f.free_energy == doctest::Approx(complexity - accuracy).epsilon(1e-12));
  // b = 0 and b_q = 0 need no guard: both terms vanish there.
  nlm::AttractorLearner<double> zero(small_hp(3));
  CHECK(zero.free_energy().front().free_energy == 0.0);
}

TEST_CASE("presentations: patterns in order as b = s xi, steps each, the callbacks and statistics of the seam") {
  nlm::AttractorHyperparameters hp = small_hp(4);
  hp.mode = nlm::UpdateMode::sampled;
  nlm::AttractorLearner<float> learner(hp);
  const Matrix<float> patterns = {{1, -1, 1, -1}, {1, 1, -1, -1}, {-1, 1, 1, -1}};
  struct Recorder {
    std::vector<float> first_b;
    void on_update(const nlm::AttractorLearner<float>& l, const nlm::TrainingState&) { first_b.push_back(l.field()(1)); }
  } recorder;
  nlm::UpdateStatistics stats;
  nlm::PresentationOptions present;
  present.evidence = 2.5;
  present.steps_per_presentation = 2;
  const nlm::TrainingState s =
      nlm::learn_presentations(learner, patterns, nlm::TrainingOptions::for_epochs(2), present, recorder, stats);
  CHECK(s.updates == 12);
  CHECK(s.epoch == 2);
  const std::vector<float> expected = {-2.5f, -2.5f, 2.5f, 2.5f, 2.5f, 2.5f, -2.5f, -2.5f, 2.5f, 2.5f, 2.5f, 2.5f};
  CHECK(recorder.first_b == expected);
  std::uint64_t total = 0;
  for (const auto& w : stats.step_windows()) total += w.histogram.total();
  CHECK(total == 12 * 16);
  for (std::size_t i = 0; i < 4; ++i) CHECK(learner.couplings()(i, i) == 0.0f);
}

TEST_CASE("presentations with reset_state start each from sigma = 0: one deterministic step each is Hebb's rule") {
  // From sigma = 0 the input h = J 0 = 0, so one deterministic step gives sigma = L(beta s xi^p)
  // and the rule adds eta (sigma sigma^T - L(0) sigma^T) = eta sigma sigma^T off the diagonal:
  // after the K patterns once, J = eta sum_p L(beta s xi^p) L(beta s xi^p)^T exactly. Carrying the
  // state over (the default) breaks this from the second presentation on.
  nlm::AttractorHyperparameters hp = small_hp(4);
  hp.mode = nlm::UpdateMode::deterministic;
  hp.beta = 0.7;
  hp.learning_rate = 0.05;
  const Matrix<double> patterns = {{1, -1, 0.5, -1}, {1, 1, -1, -0.25}, {-1, 1, 1, -1}};
  nlm::PresentationOptions present;
  present.evidence = 2.0;
  present.reset_state = true;
  nlm::AttractorLearner<double> reset(hp), carried(hp);
  (void)nlm::learn_presentations(reset, patterns, nlm::TrainingOptions::for_epochs(1), present);
  present.reset_state = false;
  (void)nlm::learn_presentations(carried, patterns, nlm::TrainingOptions::for_epochs(1), present);
  double furthest = 0;
  for (std::size_t a = 0; a < 4; ++a)
    for (std::size_t c = 0; c < 4; ++c) {
      double hebb = 0;
      for (std::size_t p = 0; p < 3; ++p)
        if (a != c)
          hebb += 0.05 * nlm::langevin_function(1.4 * patterns(p, a)) * nlm::langevin_function(1.4 * patterns(p, c));
      CHECK(reset.couplings()(a, c) == doctest::Approx(hebb).epsilon(1e-12));
      furthest = std::max(furthest, std::fabs(carried.couplings()(a, c) - hebb));
    }
  CHECK(furthest > 1e-6);  // second order in eta (8e-5 here): h = J sigma_prev with J = O(eta)
}

TEST_CASE("bad settings and patterns are refused with a sentence") {
  nlm::AttractorHyperparameters hp = small_hp(4);
  hp.beta = 0;
  CHECK_THROWS_WITH_AS(nlm::AttractorLearner<float>{hp}, "AttractorLearner: beta must be finite and > 0, got 0.000000",
                       std::invalid_argument);
  hp = small_hp(0);
  CHECK_THROWS_WITH_AS(nlm::AttractorLearner<float>{hp}, "AttractorLearner: neurons must be > 0", std::invalid_argument);
  hp = small_hp(std::size_t(1) << 62);
  CHECK_THROWS_WITH_AS(nlm::AttractorLearner<float>{hp},
                       "AttractorLearner: neurons = 4611686018427387904: the N x N couplings overflow the address space",
                       std::invalid_argument);
  nlm::AttractorLearner<float> learner(small_hp(4));
  Matrix<float> bad = {{1, 0, 0, std::nanf("")}};
  CHECK_THROWS_WITH_AS(nlm::learn_presentations(learner, bad, nlm::TrainingOptions::for_epochs(1)),
                       "learn_presentations: pattern 0 has a non-finite value at unit 3", std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::learn_presentations(learner, Matrix<float>({{1, 0, 0}}), nlm::TrainingOptions::for_epochs(1)),
                       "learn_presentations: the patterns have 3 columns, the network has 4 units", std::invalid_argument);
  CHECK(learner.updates() == 0);
}

TEST_CASE_TEMPLATE("a checkpoint mid-presentation resumes bit for bit; the other family's loader names the file", S, float,
                   double) {
  for (const auto rule : {nlm::LearningParameters::StepRule::plain, nlm::LearningParameters::StepRule::adam}) {
    nlm::AttractorHyperparameters hp = small_hp(6, 2);
    hp.mode = nlm::UpdateMode::sampled;
    hp.step_rule = rule;
    hp.seed = 4;
    const Matrix<S> patterns = {{1, -1, 1, -1, 1, 1}, {1, 1, -1, -1, 1, -1}, {-1, 1, 1, -1, -1, 1}};
    nlm::PresentationOptions present;
    present.evidence = 3;
    present.steps_per_presentation = 3;
    present.random_order = true;
    nlm::TrainingOptions all = nlm::TrainingOptions::for_epochs(100);
    all.max_updates = 20;
    nlm::TrainingOptions first = all;
    first.max_updates = 8;  // stops inside a presentation (8 = 2 * 3 + 2)
    nlm::test::TempDir dir;
    nlm::AttractorLearner<S> straight(hp);
    nlm::learn_presentations(straight, patterns, all, present);
    nlm::AttractorLearner<S> a(hp);
    const nlm::TrainingState s = nlm::learn_presentations(a, patterns, first, present);
    nlm::save_attractor_checkpoint(dir / "run.nlm", a, s);
    hp.seed = 99;  // another seed: the checkpoint's streams replace it
    nlm::AttractorLearner<S> b(hp);
    const nlm::TrainingState loaded = nlm::load_attractor_checkpoint(dir / "run.nlm", b);
    CHECK(b.updates() == 8);
    nlm::learn_presentations(b, patterns, all, present, loaded);
    CHECK(b.couplings() == straight.couplings());
    CHECK(b.states() == straight.states());
    CHECK(b.field() == straight.field());
    // Refusals: another beta; the NLM's loader on this file, this loader on an NLM checkpoint.
    hp.beta = 0.9;
    nlm::AttractorLearner<S> other(hp);
    const std::string f = (dir / "run.nlm").string();
    CHECK_THROWS_WITH_AS(nlm::load_attractor_checkpoint(f, other),
                         (f + ": the checkpoint was written with beta = 0.69999999999999996, the learner has "
                              "0.90000000000000002").c_str(),
                         std::invalid_argument);
    CHECK(other.couplings() == Matrix<S>(xt::zeros<S>({6, 6})));  // unchanged
    nlm::Hyperparameters nh;
    nh.neurons = 6;
    nh.persistent_chains = 2;
    nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, nlm::EulerMaruyama, S> nlm_machine(nh);
    CHECK_THROWS_WITH_AS(nlm::load_checkpoint(f, nlm_machine),
                         (f + ": a checkpoint of the free-energy attractor network (AttractorLearner), not of a "
                              "LangevinMachine: load it with nlm::load_attractor_checkpoint").c_str(),
                         std::runtime_error);
    nlm::save_checkpoint(dir / "nlm.nlm", nlm_machine, nlm::initial_training_state(nlm_machine));
    const std::string g = (dir / "nlm.nlm").string();
    CHECK_THROWS_WITH_AS(nlm::load_attractor_checkpoint(g, b),
                         (g + ": a checkpoint of a Neural Langevin Machine (LangevinMachine), not of the attractor "
                              "network: load it with nlm::load_checkpoint").c_str(),
                         std::runtime_error);
  }
}

/// K orthogonal +-1 patterns (rows 1 ... K of a Sylvester-Hadamard matrix of size N, a power of
/// two) and their Hebbian couplings J = (1/N) sum_k xi^k xi^kT with a zero diagonal.
std::pair<Matrix<double>, Matrix<double>> hadamard_hebbian(std::size_t n, std::size_t k) {
  Matrix<double> xi = Matrix<double>::from_shape({k, n});
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t i = 0; i < n; ++i) xi(p, i) = (std::popcount((p + 1) & i) % 2) ? -1.0 : 1.0;
  Matrix<double> j = xt::zeros<double>({n, n});
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t a = 0; a < n; ++a)
      for (std::size_t c = 0; c < n; ++c)
        if (a != c) j(a, c) += xi(p, a) * xi(p, c) / double(n);
  return {xi, j};
}

TEST_CASE("the census of sigma = L(beta (J sigma + b)) from the stored patterns finds them and says where each start ended") {
  // Hebbian couplings J = (1/N) sum_k xi^k xi^kT (zero diagonal) of three orthogonal patterns
  // (rows of a Sylvester-Hadamard matrix, N = 32) at beta = 4: sigma = m xi^k is an exact fixed
  // point with m = L(4 m (N - K)/N) ~ 0.57 (no crosstalk). Each start (0.5 xi^k) must end at a
  // fixed point that correlates with its own pattern above 0.99, stable, and satisfies the map to
  // 1e-8. (Random +-1 patterns of this size overlap enough to merge into one mixture state.)
  const std::size_t n = 32, k = 3;
  const auto [xi, j] = hadamard_hebbian(n, k);
  const nlm::AttractorNetwork<double> net(j, Vector<double>(), 4.0);
  const Matrix<double> starts = 0.5 * xi;
  const nlm::FixedPointCensus census = nlm::attractor_census(net, starts);
  const Matrix<double> sigma = nlm::attractor_states(census.fixed_points, n);
  REQUIRE(census.outcome.size() == k);
  for (std::size_t p = 0; p < k; ++p) {
    REQUIRE(census.outcome[p] >= 0);
    const std::size_t f = std::size_t(census.outcome[p]);
    double dot = 0, norm = 0;
    for (std::size_t i = 0; i < n; ++i) {
      dot += sigma(f, i) * xi(p, i);
      norm += sigma(f, i) * sigma(f, i);
    }
    CHECK(dot / std::sqrt(norm * double(n)) > 0.99);
    CHECK(census.fixed_points[f].stable);
    for (std::size_t i = 0; i < n; ++i) {
      double h = 0;
      for (std::size_t c = 0; c < n; ++c) h += j(i, c) * sigma(f, c);
      CHECK(std::fabs(sigma(f, i) - nlm::langevin_function(4.0 * h)) < 1e-8);
    }
  }
}

TEST_CASE("relax: the map from each start to where it settles, the distinct ends, and starts that never settle") {
  // The Hadamard network of the census test (three orthogonal patterns, N = 32, beta 4): from
  // 0.5 xi^k the map ends at m xi^k, m the root of m = L(4 m 29/32) found here by iterating the
  // scalar map; from -0.5 xi^1 at -m xi^1 (the map is odd); from 0 at 0 (L(0) = 0). Five
  // distinct ends for six starts (xi^1 twice), whichever stopping test.
  const std::size_t n = 32, k = 3;
  const auto [xi, j] = hadamard_hebbian(n, k);
  const nlm::AttractorNetwork<double> net(j, Vector<double>(), 4.0);
  double m = 0.5;
  // (J xi^k)_i = xi^k_i (1 - K/N): the zero diagonal removes K/N of each pattern's own drive.
  for (int t = 0; t < 10000; ++t) m = nlm::langevin_function(4.0 * m * 29.0 / 32.0);
  Matrix<double> starts = xt::zeros<double>({std::size_t(6), n});
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t p = 0; p < k; ++p) starts(p, i) = 0.5 * xi(p, i);
    starts(3, i) = -0.5 * xi(0, i);
    starts(5, i) = 0.8 * xi(0, i);
  }
  for (const auto criterion : {nlm::RelaxCriterion::state, nlm::RelaxCriterion::free_energy}) {
    nlm::RelaxOptions o;
    o.criterion = criterion;
    const nlm::Relaxation<double> r = nlm::relax(net, starts, o);
    CHECK(r.unsettled() == 0);
    REQUIRE(r.attractors.shape(0) == 5);
    CHECK(r.attractor_of == std::vector<std::ptrdiff_t>{0, 1, 2, 3, 4, 0});
    CHECK(r.basin == std::vector<std::size_t>{2, 1, 1, 1, 1});
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t p = 0; p < k; ++p) CHECK(r.ends(p, i) == doctest::Approx(m * xi(p, i)).epsilon(1e-9));
      CHECK(r.ends(3, i) == doctest::Approx(-m * xi(0, i)).epsilon(1e-9));
      CHECK(r.ends(4, i) == 0.0);
      CHECK(r.attractors(0, i) == std::round(100 * m * xi(0, i)) / 100);
    }
    for (std::size_t c = 0; c < 6; ++c) CHECK((r.steps[c] > 0 && r.steps[c] < o.max_steps));
  }
  // A rotation never settles: with J = [[0, -w], [w, 0]] the map L(beta J sigma) at beta w = 50
  // sends (s, s) round the four corners (+-0.98, +-0.98), a 4-cycle.
  Matrix<double> rot = {{0.0, -50.0}, {50.0, 0.0}};
  const nlm::AttractorNetwork<double> cycle(rot, Vector<double>(), 1.0);
  nlm::RelaxOptions few;
  few.max_steps = 50;
  const nlm::Relaxation<double> r = nlm::relax(cycle, Matrix<double>{{0.5, 0.5}}, few);
  CHECK(r.unsettled() == 1);
  CHECK(r.attractor_of[0] == -1);
  CHECK(r.steps[0] == 50);
  CHECK(r.attractors.shape(0) == 0);

  const auto refused = [&](const Matrix<double>& s, const nlm::RelaxOptions& o) {
    try {
      (void)nlm::relax(net, s, o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(nothing thrown)");
  };
  CHECK(refused(Matrix<double>{{0.1, 0.2}}, {}) == "relax: starts of 2 units, the network has 32");
  Matrix<double> bad = starts;
  bad(1, 7) = std::nan("");
  CHECK(refused(bad, {}) == "relax: start 1 has a non-finite value at unit 7");
  nlm::RelaxOptions zero;
  zero.max_steps = 0;
  CHECK(refused(starts, zero) == "relax: max_steps must be > 0");
  nlm::RelaxOptions digits;
  digits.decimals = 16;
  CHECK(refused(starts, digits) == "relax: decimals must be in 0 ... 15, got 16");
}

TEST_CASE("orthogonality: the mean deviation of the pairwise angles from 90 degrees, with the reference's options") {
  // Rows (1, 0), (0, 1), (1, 1): angles 90, 45, 45 -> mean |90 - theta| = 30; the reference's
  // matrix with its zero diagonal: (2 (0 + 45 + 45) + 3 * 90) / 9 = 50.
  const Matrix<double> x = {{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}};
  CHECK(nlm::orthogonality(x).mean_deviation == doctest::Approx(30.0).epsilon(1e-12));
  CHECK(nlm::orthogonality(x).angles == 6);
  nlm::OrthogonalityOptions diag;
  diag.with_diagonal = true;
  CHECK(nlm::orthogonality(x, diag).mean_deviation == doctest::Approx(50.0).epsilon(1e-12));
  CHECK(nlm::orthogonality(x, diag).angles == 9);
  // Keeping 1 < theta < 179 drops a row's negation (180) and a repeat (0): rows a, -a, a, b with
  // a _|_ b leave only the angles to b, all 90 -> 0.
  const Matrix<double> y = {{1.0, 2.0}, {-1.0, -2.0}, {1.0, 2.0}, {2.0, -1.0}};
  nlm::OrthogonalityOptions keep;
  keep.keep_above = 1;
  keep.keep_below = 179;
  CHECK(nlm::orthogonality(y, keep).mean_deviation == doctest::Approx(0.0));
  CHECK(nlm::orthogonality(y, keep).angles == 6);
  // Unfiltered: the six pairs deviate by 90 (a, -a), 90 (a, a), 90 (-a, a) and 0 three times -> 45.
  CHECK(nlm::orthogonality(y).mean_deviation == doctest::Approx(45.0));
  const auto refused = [](const Matrix<double>& m) {
    try {
      (void)nlm::orthogonality(m);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(nothing thrown)");
  };
  CHECK(refused(Matrix<double>{{1.0, 0.0}}) == "orthogonality: needs at least 2 rows, got 1");
  CHECK(refused(Matrix<double>{{1.0, 0.0}, {0.0, 0.0}}) == "orthogonality: row 1 is zero (no angle)");
  CHECK(refused(Matrix<double>{{1.0, 0.0}, {INFINITY, 0.0}}) == "orthogonality: row 1 has a non-finite value at column 0");
}

}  // TEST_SUITE
