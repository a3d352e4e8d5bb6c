// Parallel tempering (sampler/parallel_tempering.hpp): the T = 1 marginal of a double well that
// plain MALA cannot cross, the even/odd alternation and the exchange probability, bit-exact
// resume through checkpoints, the error messages, and what the observer sees.
//
// The statistical test (the double well), derived once here:
// * E(x) = h(x² − 1)² + a·x with h = 12, a = 0.5, T = 1, one coordinate. E'(x) = 4h·x(x² − 1) + a,
//   E''(x) = 4h(3x² − 1): E''(±1) = 8h = 96, E''(0) = −4h = −48. The minima sit at
//   x ≈ ±1 − a/96 with E ≈ ±a − a²/192 = −0.5013 (left), +0.4987 (right); the barrier top at
//   x ≈ a/4h with E ≈ h + a²/8h = 12.003. Barrier seen from the left well: ΔE = 12.504.
// * Kramers' rate out of the left well (overdamped Langevin, which MALA at Δt = 0.01 follows):
//   k = √(E''(−1)·|E''(0)|)/(2π) · e^{−ΔE/T} = √(96·48)/(2π) · e^{−12.504} = 10.80 · 3.72·10⁻⁶
//   = 4.0·10⁻⁵ per time unit. In the t = 5 time units of the test, a chain started at x = −1
//   crosses with probability ≈ k·t = 2·10⁻⁴: of C = 20 000 chains ≈ 4 are expected on the
//   right, while the right well's true mass (quadrature) is 0.2723, ≈ 5 400 chains.
//   (a) plain MALA must leave fewer than 1% (200 chains) there: even a rate 10× Kramers' gives
//   a Poisson(40) count, P(≥ 200) < 10⁻⁵⁰; and 1% is 27× below the true mass, so the check
//   says that MALA alone does not mix, which is what (b) fixes.
// * (b) ParallelTempering<Mala> with R = 8 replicas up to t_max = 16 (T_r = 16^{r/7}: 1, 1.49,
//   2.21, 3.28, 4.88, 7.25, 10.8, 16; at T = 16 the barrier is 12.5/16 = 0.78 kT and is crossed
//   ≈ 5 times per time unit), swaps every 2 steps, Δt = 0.01. Columns are independent PT
//   systems (their own noise, their own MALA and exchange uniforms, the same deterministic
//   start), so the C = 20 000 final T = 1 states are i.i.d. draws from the chain's law at time t.
// * Burn-in: all replicas start at x = −1, so what is slow is the mass of the right well at
//   T = 1. Measured with this configuration (other seeds than the test's, 100 000 columns):
//   the right-well fraction of the T = 1 rows falls short of 0.2723 by 0.120, 0.042,
//   0.013, 0.0034 at t = 0.5, 1, 1.5, 2, a decay with time constant τ ≤ 0.47 (shrinking to
//   0.37). Bounding with τ = 0.5 from t = 1: at t = 5 the shortfall is ≤ 0.042·e^{−8} = 1.4·10⁻⁵,
//   0.5% of the standard error of the fraction √(0.27·0.73/20 000) = 3.1·10⁻³. The shape within
//   each well relaxes in 1/E'' ≈ 0.01 time units. So t = 5 (500 steps) leaves a bias far below
//   the statistical error, and the draws follow exp(−E)/Z to that precision.
// * Pearson's χ²: K bins of width 0.04 over [−1.4, 1.4] (open-ended outer bins), those of exact
//   probability below 0.005 pooled into one (the barrier region and the far tails), so every
//   bin expects ≥ 100 draws and X² = Σ (O_k − C p_k)²/(C p_k) ~ χ²_{K−1} holds well. Rejected
//   above the 1 − 10⁻⁵ quantile of χ²_{K−1} by Wilson–Hilferty (test_support.hpp). Here K = 25:
//   the quantile is 66.02, where χ²_24's exact tail (incomplete gamma function) is 0.86·10⁻⁵.
// * Well masses: |fraction − p| < 4.5·√(p(1 − p)/C) (two-sided 7·10⁻⁶), for each well.
// * Exact values: midpoint rule on cells of 10⁻⁴ over [−3, 3] (E ≥ 766 outside, mass
//   < e^{−700}); bin edges are multiples of the cell, so each bin is a union of cells. The
//   midpoint rule's relative error (h²/24)|p''/p| = (h²/24)|E'² − E''| is below 2·10⁻⁶ on
//   |x| ≤ 1.4 (E'² ≤ 4 300), and the cells beyond hold < 10⁻⁴ of the mass: far below the
//   relative error of the smallest bin, 1/√100 = 0.1.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlm/chains.hpp>
#include <nlm/training/checkpoint.hpp>
#include <nlm/langevin_machine.hpp>
#include <nlm/noise/gaussian_noise.hpp>
#include <nlm/noise/no_noise.hpp>
#include <nlm/regularizer/no_regularizer.hpp>
#include <nlm/sampler/euler_maruyama.hpp>
#include <nlm/sampler/mala.hpp>
#include <nlm/sampler/parallel_tempering.hpp>

#include "test_support.hpp"

using nlm::Matrix;

namespace {

/// E(x) = Σ_j h(x_j² − 1)² + a·x_j for each row x (independent double wells, one per column),
/// drift −∇E. `prepare` keeps x in ws.phi, `products` writes the force into ws.residual.
template <class NoiseT = nlm::GaussianNoise>
struct DoubleWell {
  using scalar_type = double;
  double height = 12.0, tilt = 0.5, t = 1.0;
  std::size_t n = 1;
  NoiseT noise_{};

  static double energy_at(double h, double a, double x) {
    const double q = x * x - 1.0;
    return h * q * q + a * x;
  }
  std::size_t neurons() const { return n; }
  double temperature() const { return t; }
  NoiseT& noise() { return noise_; }
  void prepare(const Matrix<double>& x, nlm::ForceWorkspace<double>& ws) const {
    ws.resize(x.shape(0), x.shape(1));
    std::copy_n(x.data(), x.size(), ws.phi.data());
  }
  void products(nlm::ForceWorkspace<double>& ws) const {
    const double* x = ws.phi.data();
    double* f = ws.residual.data();
    for (std::size_t i = 0, size = ws.phi.size(); i < size; ++i)
      f[i] = -(4.0 * height * x[i] * (x[i] * x[i] - 1.0) + tilt);
  }
  struct Drift {
    const double* f;
    double operator()(std::size_t i) const { return f[i]; }
  };
  Drift drift_terms(const nlm::ForceWorkspace<double>& ws) const { return {ws.residual.data()}; }
  void energies(nlm::ForceWorkspace<double>& ws) const {
    const std::size_t cols = ws.phi.shape(1);
    for (std::size_t b = 0; b < ws.phi.shape(0); ++b) {
      double e = 0;
      for (std::size_t j = 0; j < cols; ++j) e += energy_at(height, tilt, ws.phi(b, j));
      ws.energy(b) = e;
    }
  }
};
static_assert(nlm::EnergyModel<DoubleWell<>>);
static_assert(nlm::Sampler<nlm::ParallelTempering<nlm::Mala, double>, double>);
static_assert(nlm::Sampler<nlm::ParallelTempering<nlm::EulerMaruyama>, float>);
// Typed on the scalar of the replicas it keeps: a float sampler does not take double chains.
static_assert(!nlm::Sampler<nlm::ParallelTempering<nlm::Mala, float>, double>);

Matrix<double> filled(std::size_t rows, std::size_t cols, double v) {
  Matrix<double> m = Matrix<double>::from_shape({rows, cols});
  m.fill(v);
  return m;
}

template <class A>
bool same_bits(const A& a, const A& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(*a.data())) == 0;
}

/// A "parallel_tempering" section with the given replica states (double) and no swaps, in the
/// layout save_section documents: to start replicas at chosen, distinct states.
std::string section_with(const Matrix<double>& x, std::size_t pairs) {
  std::string s("NLMPTRX1", 8);
  const auto put = [&s](auto v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(std::uint32_t(8));
  put(std::uint64_t(x.shape(0)));
  put(std::uint64_t(x.shape(1)));
  s.append(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(double));
  put(std::uint64_t(pairs));
  for (std::size_t p = 0; p < 2 * pairs; ++p) put(std::uint64_t(0));
  return s;
}

/// Loads `bytes` into `pt` as a checkpoint does: its section reader, then nothing left over.
template <class Pt>
void load(Pt& pt, const std::string& bytes) {
  nlm::io::SectionReader r(bytes, "pt");
  pt.load_section(r);
  r.finish();
}

/// `pt`'s section bytes.
template <class Pt>
std::string saved(const Pt& pt) {
  nlm::io::SectionWriter w;
  pt.save_section(w);
  return std::move(w).bytes();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_SUITE("parallel_tempering") {

TEST_CASE("a double well: MALA alone stays in the left well, PT's T = 1 replicas sample exp(-E)/Z") {
  constexpr std::size_t chains = 20000, steps = 500;  // t = 5 at dt = 0.01 (header comment)
  constexpr double dt = 0.01;
  DoubleWell<> model;
  const double cell = 1e-4, half_width = 3.0;

  // Exact bin probabilities and well masses by the midpoint rule.
  std::vector<double> edges;
  for (int k = 0; k <= 70; ++k) edges.push_back(-1.4 + 0.04 * k);
  const auto raw_bin = [&](double x) { return std::size_t(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin()); };
  std::vector<double> raw(edges.size() + 1, 0.0);
  double z = 0, right_mass = 0;
  const auto cells = std::size_t(std::llround(2 * half_width / cell));
  for (std::size_t i = 0; i < cells; ++i) {
    const double x = -half_width + (double(i) + 0.5) * cell;
    const double w = std::exp(-DoubleWell<>::energy_at(model.height, model.tilt, x) / model.t);
    raw[raw_bin(x)] += w;
    z += w;
    if (x > 0) right_mass += w;
  }
  right_mass /= z;
  std::vector<std::size_t> bin_of(raw.size());
  std::vector<double> p;
  double pooled = 0;
  for (std::size_t b = 0; b < raw.size(); ++b) {
    raw[b] /= z;
    if (raw[b] >= 0.005) {
      bin_of[b] = p.size();
      p.push_back(raw[b]);
    } else {
      bin_of[b] = std::size_t(-1);
      pooled += raw[b];
    }
  }
  for (auto& b : bin_of)
    if (b == std::size_t(-1)) b = p.size();
  p.push_back(pooled);
  const std::size_t k = p.size();
  REQUIRE(k == 25);  // the K of the header comment
  CHECK(right_mass == doctest::Approx(0.2723).epsilon(1e-3));  // the value the header comment uses
  const auto right_fraction = [&](const Matrix<double>& x) {
    std::size_t right = 0;
    for (std::size_t c = 0; c < chains; ++c) right += x(c, 0) > 0.0;
    return double(right) / double(chains);
  };

  SUBCASE("(a) plain MALA at T = 1 does not cross the barrier") {
    const auto t0 = std::chrono::steady_clock::now();
    model.noise_.seed(101);
    nlm::Mala mala(102, dt);
    nlm::Chains<double> x(filled(chains, 1, -1.0));
    mala.advance(model, x, steps);
    const double f = right_fraction(x.states());
    MESSAGE("plain MALA: right-well fraction ", f, " (true mass ", right_mass, "), acceptance ",
            mala.acceptance_rate(), ", ", seconds_since(t0), " s");
    CHECK(f < 0.01);
  }

  SUBCASE("(b) ParallelTempering<Mala>, 8 replicas up to T = 16") {
    const auto t0 = std::chrono::steady_clock::now();
    model.noise_.seed(201);
    nlm::ParallelTempering<nlm::Mala, double> pt(8, 16.0, 2, nlm::Mala(0, dt));
    pt.seed(202);
    nlm::Chains<double> x(filled(chains, 1, -1.0));
    pt.advance(model, x, steps);

    std::vector<double> count(k, 0.0);
    for (std::size_t c = 0; c < chains; ++c) count[bin_of[raw_bin(x.states()(c, 0))]] += 1.0;
    double x2 = 0;
    for (std::size_t b = 0; b < k; ++b) {
      const double expected = double(chains) * p[b];
      x2 += (count[b] - expected) * (count[b] - expected) / expected;
    }
    const double threshold = nlm::test::chi2_quantile(double(k - 1), nlm::test::z_1e5);
    const double f = right_fraction(x.states());
    const double se = std::sqrt(right_mass * (1 - right_mass) / double(chains));
    std::string rates;
    for (const double r : pt.swap_rates()) rates += " " + std::to_string(r);
    MESSAGE("PT: X^2 = ", x2, " over ", k, " bins (threshold ", threshold, "); right well ", f, " vs ",
            right_mass, " (SE ", se, "); MALA acceptance ", pt.acceptance_rate(), "; swap rates", rates, "; ",
            seconds_since(t0), " s");
    CHECK(x2 < threshold);
    CHECK(std::abs(f - right_mass) < 4.5 * se);
    CHECK(std::abs((1 - f) - (1 - right_mass)) < 4.5 * se);  // the left well holds its mass too
    // 250 rounds: the even pairs (0,1) (2,3) (4,5) (6,7) in 125, the odd pairs in the other 125.
    REQUIRE(pt.swap_attempts().size() == 7);
    for (std::size_t pair = 0; pair < 7; ++pair) CHECK(pt.swap_attempts()[pair] == 125 * chains);
    // The T = 1 replicas are the caller's chains.
    const auto& rows = pt.replica_states();
    CHECK(std::equal(x.states().begin(), x.states().end(), rows.begin()));
  }
}

TEST_CASE("swap rounds alternate even and odd pairs; flat energies swap always") {
  // E ≡ 0 (h = a = 0): every exchange has probability min(1, e⁰) = 1. With no noise and no
  // drift the states only move by exchanges, so their places follow the alternation exactly.
  constexpr std::size_t replicas = 4, cols = 3, n = 2;
  DoubleWell<nlm::NoNoise> flat;
  flat.height = flat.tilt = 0.0;
  flat.n = n;
  nlm::ParallelTempering<nlm::EulerMaruyama, double> pt(replicas, 8.0, 1);
  Matrix<double> start = Matrix<double>::from_shape({replicas * cols, n});
  for (std::size_t r = 0; r < replicas; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      start(r * cols + c, 0) = double(100 * r + c);
      start(r * cols + c, 1) = -double(100 * r + c);
    }
  load(pt, section_with(start, replicas - 1));
  Matrix<double> caller = Matrix<double>::from_shape({cols, n});
  std::copy_n(start.data(), cols * n, caller.data());
  nlm::Chains<double> x(caller);

  std::vector<std::size_t> at = {0, 1, 2, 3};  // at[rung] = the replica whose states it holds
  for (std::size_t round = 1; round <= 6; ++round) {
    CAPTURE(round);
    std::vector<Matrix<double>> seen;
    pt.advance(flat, x, 1, [&](std::size_t, const Matrix<double>& m) { seen.push_back(m); });
    for (std::size_t r = (round - 1) % 2; r + 1 < replicas; r += 2) std::swap(at[r], at[r + 1]);
    const auto& rows = pt.replica_states();
    for (std::size_t r = 0; r < replicas; ++r)
      for (std::size_t c = 0; c < cols; ++c) {
        CHECK(rows(r * cols + c, 0) == double(100 * at[r] + c));
        CHECK(rows(r * cols + c, 1) == -double(100 * at[r] + c));
      }
    // Even pairs (0 and 2) in rounds 1, 3, 5; the odd pair 1 in rounds 2, 4, 6: C each.
    const std::uint64_t even = cols * ((round + 1) / 2), odd = cols * (round / 2);
    CHECK(pt.swap_attempts() == std::vector<std::uint64_t>{even, odd, even});
    CHECK(pt.swap_accepts() == pt.swap_attempts());
    REQUIRE(seen.size() == 1);  // the observer sees the states after the round
    CHECK(seen[0](0, 0) == double(100 * at[0]));
  }
  CHECK(pt.swap_rates() == std::vector<double>{1.0, 1.0, 1.0});
  pt.reset_swap_statistics();
  CHECK(pt.swap_rates() == std::vector<double>{0.0, 0.0, 0.0});

  SUBCASE("rounds are counted across calls") {
    nlm::ParallelTempering<nlm::EulerMaruyama, double> every3(replicas, 8.0, 3);
    nlm::Chains<double> y(caller);
    every3.advance(flat, y, 2);
    CHECK(every3.swap_attempts() == std::vector<std::uint64_t>{0, 0, 0});
    every3.advance(flat, y, 2);  // the round after the 3rd step, in the second call
    CHECK(every3.swap_attempts() == std::vector<std::uint64_t>{cols, 0, cols});
    CHECK(every3.state().back() == 1);  // one step since that round
    every3.advance(flat, y, 2);         // the next round (odd) after step 6
    CHECK(every3.swap_attempts() == std::vector<std::uint64_t>{cols, cols, cols});
  }
}

TEST_CASE("the exchange is accepted with probability min(1, exp((1/T_r - 1/T_r+1)(E_r - E_r+1)))") {
  // E(x) = x (h = 0, a = 1), two replicas at T = 1 and 2: 1/T₀ − 1/T₁ = 1/2. Even columns start
  // with x = 0 at T₀ and x = 1 at T₁ (E₀ − E₁ = −1: probability e^{−1/2} = 0.6065), odd columns
  // the other way round (+1: probability 1). The drift −1 moves every state by −Δt per step, so
  // the differences stay 1 (to rounding) until the one round after the first step.
  // Accepted even columns ~ Binomial(C/2, e^{−1/2}); the check at 4.5 SE has tail 7·10⁻⁶; a
  // reversed sign (probability 1 both ways) or a missing factor (e^{−1} = 0.37) fails it by
  // > 40 SE.
  constexpr std::size_t cols = 20000;
  DoubleWell<nlm::NoNoise> line;
  line.height = 0.0;
  line.tilt = 1.0;
  nlm::ParallelTempering<nlm::EulerMaruyama, double> pt(2, 2.0, 1);
  pt.seed(7);
  Matrix<double> start = Matrix<double>::from_shape({2 * cols, 1});
  for (std::size_t c = 0; c < cols; ++c) {
    start(c, 0) = c % 2 == 0 ? 0.0 : 1.0;
    start(cols + c, 0) = c % 2 == 0 ? 1.0 : 0.0;
  }
  load(pt, section_with(start, 1));
  Matrix<double> caller = Matrix<double>::from_shape({cols, 1});
  std::copy_n(start.data(), cols, caller.data());
  nlm::Chains<double> x(caller);
  pt.advance(line, x, 1);
  std::size_t even_swapped = 0, odd_swapped = 0;
  for (std::size_t c = 0; c < cols; ++c) {  // T₀ holds 1 − Δt where it received the other state
    const bool high = x.states()(c, 0) > 0.5;
    if (c % 2 == 0)
      even_swapped += high;
    else
      odd_swapped += !high;
  }
  const double alpha = std::exp(-0.5), half = cols / 2;
  const double rate = double(even_swapped) / half;
  MESSAGE("uphill exchanges accepted: ", rate, " (exact ", alpha, ")");
  CHECK(std::abs(rate - alpha) < 4.5 * std::sqrt(alpha * (1 - alpha) / half));
  CHECK(odd_swapped == cols / 2);
  CHECK(pt.swap_attempts()[0] == cols);
  CHECK(pt.swap_accepts()[0] == even_swapped + odd_swapped);
}

namespace {

template <class S, class Inner>
using PtMachine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::NoRegularizer, nlm::ParallelTempering<Inner, S>, S>;

using nlm::test::quiet;
using nlm::test::SaveAt;

// 10 updates, a checkpoint, 10 more in a fresh machine = 20 straight updates, bit for bit.
// swap_every = 4 with n_t = 3 steps per update: after 30 steps the checkpoint falls 2 steps
// after the 7th round, so the step count and the parity (odd next) must both travel.
template <class S, class Inner>
void check_resume(const nlm::ParallelTempering<Inner, S>& pt) {
  using Machine = PtMachine<S, Inner>;
  const auto data = nlm::test::toy_data<S>();
  const nlm::Hyperparameters hp = nlm::test::small_hyperparameters();
  const auto make = [&](const nlm::Hyperparameters& h) {
    return Machine(h, nlm::Tanh(), nlm::GaussianNoise(), nlm::NoRegularizer(), pt);
  };
  Machine straight = make(hp);
  nlm::train(straight, data, quiet(20));
  nlm::test::TempDir dir;
  const auto path = dir / "pt.ckpt";
  Machine first = make(hp);
  nlm::train(first, data, quiet(10), SaveAt{path, 10});
  CHECK(first.sampler().state()[first.sampler().state().size() - 1] == 2);  // steps since the round
  CHECK(first.sampler().state()[first.sampler().state().size() - 2] == 1);  // next round: odd pairs
  nlm::Hyperparameters other = hp;
  other.seed = 4242;  // everything the seed shaped comes from the checkpoint
  Machine second = make(other);
  auto state = nlm::load_checkpoint(path, second);
  CHECK(same_bits(second.sampler().replica_states(), first.sampler().replica_states()));
  nlm::train(second, data, quiet(20), state);
  CHECK(same_bits(second.couplings(), straight.couplings()));
  CHECK(same_bits(second.persistent_chains(), straight.persistent_chains()));
  CHECK(same_bits(second.sampler().replica_states(), straight.sampler().replica_states()));
  CHECK(second.sampler().state() == straight.sampler().state());
  CHECK(second.sampler().swap_attempts() == straight.sampler().swap_attempts());
  CHECK(second.sampler().swap_accepts() == straight.sampler().swap_accepts());
  CHECK(second.noise().state() == straight.noise().state());
  // The replicas did move apart: the hotter rows are not copies of the T = 1 rows.
  const auto& rows = straight.sampler().replica_states();
  REQUIRE(rows.shape(0) == pt.replicas() * hp.persistent_chains);
  CHECK(!std::equal(rows.begin(), rows.begin() + rows.shape(0) / pt.replicas() * rows.shape(1),
                    rows.begin() + rows.shape(0) / pt.replicas() * rows.shape(1)));
  CHECK(straight.sampler().swap_attempts()[0] == 8 * hp.persistent_chains);  // 15 rounds: 8 even
}

}  // namespace

TEST_CASE("a checkpoint resumes PT bit for bit, refuses other PT settings and a damaged section") {
  check_resume<float>(nlm::ParallelTempering<nlm::EulerMaruyama>(4, 4.0, 4));
  check_resume<double>(nlm::ParallelTempering<nlm::Mala, double>(3, 2.5, 4, nlm::Mala(0, 0.05)));

  nlm::test::TempDir dir;
  const auto path = dir / "pt.ckpt";
  const std::string f = path.string();
  const auto data = nlm::test::toy_data<float>();
  const nlm::Hyperparameters hp = nlm::test::small_hyperparameters();
  using Machine = PtMachine<float, nlm::EulerMaruyama>;
  using Pt = nlm::ParallelTempering<nlm::EulerMaruyama>;
  Machine m(hp, nlm::Tanh(), nlm::GaussianNoise(), nlm::NoRegularizer(), Pt(4, 4.0, 4));
  nlm::train(m, data, quiet(3), SaveAt{path, 3});

  Machine fewer(hp, nlm::Tanh(), nlm::GaussianNoise(), nlm::NoRegularizer(), Pt(3, 4.0, 4));
  CHECK_THROWS_WITH_AS((void)nlm::load_checkpoint(path, fewer),
                       (f + ": the checkpoint was written with sampler = ParallelTempering<EulerMaruyama>(replicas=4, "
                            "t_max=4, swap_every=4), the machine has ParallelTempering<EulerMaruyama>(replicas=3, "
                            "t_max=4, swap_every=4)").c_str(),
                       std::invalid_argument);
  Machine mala_inner_differs(hp, nlm::Tanh(), nlm::GaussianNoise(), nlm::NoRegularizer(), Pt(4, 4.5, 4));
  CHECK_THROWS_WITH_AS((void)nlm::load_checkpoint(path, mala_inner_differs),
                       (f + ": the checkpoint was written with sampler = ParallelTempering<EulerMaruyama>(replicas=4, "
                            "t_max=4, swap_every=4), the machine has ParallelTempering<EulerMaruyama>(replicas=4, "
                            "t_max=4.5, swap_every=4)").c_str(),
                       std::invalid_argument);

  // The section itself: 8 chains of 12 neurons at 4 replicas (32 rows), float.
  const std::string good = saved(m.sampler());
  REQUIRE(good.size() == 8 + 4 + 8 + 8 + 32 * 12 * 4 + 8 + 3 * 16);
  Pt fresh(4, 4.0, 4);
  CHECK_NOTHROW(load(fresh, good));
  CHECK(same_bits(fresh.replica_states(), m.sampler().replica_states()));
  CHECK(fresh.swap_attempts() == m.sampler().swap_attempts());
  const auto refused = [&](const std::string& bytes, const std::string& message) {
    Pt p(4, 4.0, 4);
    load(p, good);
    CHECK_THROWS_WITH_AS(load(p, bytes), message.c_str(), std::runtime_error);
    CHECK(same_bits(p.replica_states(), m.sampler().replica_states()));  // unchanged
  };
  refused(good.substr(0, good.size() - 1), "pt: the section ends while reading the swap counts");
  refused(good.substr(0, 100),
          "pt: ParallelTempering: the section is truncated: 32 x 12 replica states of 4 bytes announced, 72 bytes left");
  std::string scalar = good;
  scalar[8] = 8;
  refused(scalar, "pt: ParallelTempering: the replica states have 8-byte scalars, the sampler's are 4-byte (float)");
  std::string magic = good;
  magic[0] = 'X';
  refused(magic, "pt: ParallelTempering: the section does not start with the magic NLMPTRX1 (not a parallel "
                 "tempering section)");
  refused(good + "x", "pt: 1 unexpected bytes at the end of the section");
  std::string rows = good;
  rows[12] = 47;
  refused(rows, "pt: ParallelTempering: the section holds 47 replica rows, not a multiple of replicas=4");
  Pt three(3, 4.0, 4);
  CHECK_THROWS_WITH_AS(load(three, good),
                       "pt: ParallelTempering: the section holds 32 replica rows, not a multiple of replicas=3",
                       std::runtime_error);
  std::string pairs = good.substr(0, good.size() - 3 * 16 - 8);
  const auto put = [&pairs](std::uint64_t v) { pairs.append(reinterpret_cast<const char*>(&v), 8); };
  put(2);
  for (int i = 0; i < 4; ++i) put(0);
  refused(pairs, "pt: ParallelTempering: the section holds swap counts of 2 pairs, the sampler has 3 (replicas=4)");

  // Through load_checkpoint: the message names the file and the section.
  std::string file;
  {
    std::ifstream in(path, std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto at = file.find("NLMPTRX1");
  REQUIRE(at != std::string::npos);
  std::string body = file.substr(0, file.size() - 16);
  body[at + 8] = 8;
  const std::uint64_t sum = nlm::detail::fnv1a(body);
  body.append(reinterpret_cast<const char*>(&sum), 8);
  body.append("NLMCKEND", 8);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << body;
  }
  Machine victim(hp, nlm::Tanh(), nlm::GaussianNoise(), nlm::NoRegularizer(), Pt(4, 4.0, 4));
  const auto j = victim.couplings();
  CHECK_THROWS_WITH_AS((void)nlm::load_checkpoint(path, victim),
                       (f + " (section 'parallel_tempering'): ParallelTempering: the replica states have 8-byte "
                            "scalars, the sampler's are 4-byte (float)").c_str(),
                       std::runtime_error);
  CHECK(same_bits(victim.couplings(), j));  // refused before J was touched
}

TEST_CASE("settings and models PT refuses, with a sentence") {
  using Pt = nlm::ParallelTempering<nlm::Mala, double>;
  CHECK_THROWS_WITH_AS(Pt(1), "ParallelTempering: replicas must be >= 2 (the model's temperature and at least one "
                              "above it), got 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Pt(4, std::numeric_limits<double>::infinity()), "ParallelTempering: t_max must be finite and > 0, got inf",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Pt(4, 4.0, 0), "ParallelTempering: swap_every must be >= 1, got 0", std::invalid_argument);

  DoubleWell<> model;
  nlm::Chains<double> x(filled(5, 1, -1.0));
  Pt low(4, 1.0);
  CHECK_THROWS_WITH_AS(low.advance(model, x, 1),
                       "ParallelTempering: t_max = 1 must be above the model's temperature T = 1 (the ladder rises "
                       "from T to t_max)", std::invalid_argument);
  model.t = 2.5;
  Pt below(4, 2.0);
  CHECK_THROWS_WITH_AS(below.advance(model, x, 1),
                       "ParallelTempering: t_max = 2 must be above the model's temperature T = 2.5 (the ladder "
                       "rises from T to t_max)", std::invalid_argument);
  CHECK_THROWS_WITH_AS((void)below.temperatures(2.5),
                       "ParallelTempering: t_max = 2 must be above the model's temperature T = 2.5 (the ladder "
                       "rises from T to t_max)", std::invalid_argument);
  model.t = 1.0;
  nlm::Vector<double> own = {1.0, 1.0, 2.0, 2.0, 3.0};
  x.set_temperatures(own);
  Pt pt;
  CHECK_THROWS_WITH_AS(pt.advance(model, x, 1),
                       "ParallelTempering: the chains have temperatures of their own; the replica ladder sets every "
                       "replica's temperature (the caller's chains run at the model's T)", std::invalid_argument);

  // The ladder, the description and a malformed state.
  const auto ladder = Pt(4, 8.0).temperatures(1.0);
  REQUIRE(ladder.size() == 4);
  CHECK(ladder[0] == 1.0);
  CHECK(ladder[1] == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(ladder[2] == doctest::Approx(4.0).epsilon(1e-15));
  CHECK(ladder[3] == 8.0);
  CHECK(Pt().describe() == "ParallelTempering<Mala>(replicas=4, t_max=4, swap_every=10)");
  CHECK(nlm::ParallelTempering<nlm::EulerMaruyama>(3, 2.5, 7).describe() ==
        "ParallelTempering<EulerMaruyama>(replicas=3, t_max=2.5, swap_every=7)");
  std::vector<std::uint64_t> words = pt.state();
  CHECK(words.size() == 1 + 4 + 4 + 2);
  words.pop_back();
  CHECK_THROWS_WITH_AS(pt.set_state(words),
                       "ParallelTempering: malformed state (10 words): expected 1 + 4 inner words + 4 stream words + "
                       "parity + step count", std::invalid_argument);
  words = pt.state();
  words.back() = 10;
  CHECK_THROWS_WITH_AS(pt.set_state(words),
                       "ParallelTempering: malformed state (11 words): 10 steps since the last swap round, swap_every "
                       "is 10", std::invalid_argument);
}

TEST_CASE("the observer sees the caller's chains, which hold the T = 1 replicas") {
  constexpr std::size_t cols = 6, n = 2, replicas = 3;
  DoubleWell<> model;
  model.n = n;
  const auto run = [&](std::vector<std::size_t> calls, std::vector<Matrix<double>>& seen,
                       std::vector<std::size_t>& steps, Matrix<double>& replica_rows) {
    model.noise_.seed(31);
    nlm::ParallelTempering<nlm::Mala, double> pt(replicas, 6.0, 3, nlm::Mala(0, 0.02));
    pt.seed(32);
    nlm::Chains<double> x(filled(cols, n, -1.0));
    for (const std::size_t count : calls)
      pt.advance(model, x, count, [&](std::size_t step, const Matrix<double>& m) {
        CHECK(&m == &x.states());  // the caller's own matrix, of its shape
        CHECK(m.shape(0) == cols);
        seen.push_back(m);
        steps.push_back(step);
      });
    replica_rows = pt.replica_states();
    CHECK(same_bits(seen.back(), x.states()));  // the last step's states are the final states
    return x.states();
  };
  std::vector<Matrix<double>> whole, split;
  std::vector<std::size_t> whole_steps, split_steps;
  Matrix<double> whole_rows, split_rows;
  const Matrix<double> end = run({10}, whole, whole_steps, whole_rows);
  CHECK(whole_steps == std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  // What the observer saw are the T = 1 rows of the replicas (rows 0 … C − 1) at each step.
  CHECK(std::equal(end.begin(), end.end(), whole_rows.begin()));
  CHECK(!same_bits(whole[0], whole[9]));
  // The same run in two calls (4 + 6 steps: the rounds after steps 3, 6, 9 fall at the same
  // places) shows the same states at every step, bit for bit.
  run({4, 6}, split, split_steps, split_rows);
  CHECK(split_steps == std::vector<std::size_t>{1, 2, 3, 4, 1, 2, 3, 4, 5, 6});
  REQUIRE(split.size() == whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) CHECK(same_bits(split[i], whole[i]));
  CHECK(same_bits(split_rows, whole_rows));
}

TEST_CASE("the caller's restarted states and clamp reach the replicas") {
  // No noise and no drift (E ≡ 0): nothing moves but what PT itself copies.
  constexpr std::size_t cols = 4, n = 3;
  DoubleWell<nlm::NoNoise> flat;
  flat.height = flat.tilt = 0.0;
  flat.n = n;
  nlm::ParallelTempering<nlm::EulerMaruyama, double> pt(3, 4.0, 100);
  nlm::Chains<double> x(filled(cols, n, 0.5));
  pt.advance(flat, x, 1);
  x.states()(2, 1) = 7.0;  // a restart of chain 2 by the caller
  pt.advance(flat, x, 1);
  CHECK(x.states()(2, 1) == 7.0);
  CHECK(pt.replica_states()(2, 1) == 7.0);
  CHECK(pt.replica_states()(cols + 2, 1) == 0.5);  // the hotter replica keeps its own

  // A clamp with one row per chain is held on every replica's column of that chain.
  xt::xtensor<std::uint8_t, 2> mask = xt::zeros<std::uint8_t>({cols, n});
  Matrix<double> values = filled(cols, n, 0.0);
  mask(1, 0) = 1;
  values(1, 0) = -3.0;
  x.clamp(mask, values);
  pt.advance(flat, x, 1);
  for (std::size_t r = 0; r < 3; ++r) {
    CHECK(pt.replica_states()(r * cols + 1, 0) == -3.0);
    CHECK(pt.replica_states()(r * cols + 2, 0) == 0.5);
  }
  // One shared mask row over a row of values per chain (completion of different images):
  // every replica of chain c is held at chain c's own value.
  xt::xtensor<std::uint8_t, 2> shared = xt::zeros<std::uint8_t>({std::size_t(1), n});
  shared(0, 2) = 1;
  Matrix<double> own = filled(cols, n, 0.0);
  for (std::size_t c = 0; c < cols; ++c) own(c, 2) = double(c) + 10.0;
  x.clamp(shared, own);
  pt.advance(flat, x, 1);
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t c = 0; c < cols; ++c) CHECK(pt.replica_states()(r * cols + c, 2) == double(c) + 10.0);
  x.clamp(mask, values);
  pt.advance(flat, x, 1);
  x.unclamp();
  x.states()(1, 0) = 2.0;
  pt.advance(flat, x, 1);
  CHECK(pt.replica_states()(1, 0) == 2.0);
  CHECK(pt.replica_states()(cols + 1, 0) == -3.0);  // no longer clamped: left where it was
  // Another chain count starts the replicas afresh as copies of the caller's states.
  nlm::Chains<double> y(filled(2, n, 1.5));
  pt.advance(flat, y, 1);
  CHECK(pt.replica_states().shape(0) == 3 * 2);
  CHECK(pt.replica_states()(5, 2) == 1.5);
  CHECK(pt.swap_attempts() == std::vector<std::uint64_t>{0, 0});
}

}  // TEST_SUITE
