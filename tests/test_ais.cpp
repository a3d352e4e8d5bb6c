// Annealed importance sampling (nlm/analysis/ais.hpp) against partition functions known exactly.
//
// * Identity activation: E = ½‖(I − J)x − b‖² is quadratic and
//   log Z = (N/2) log(2πT) − log|det(I − J)| (b only shifts the Gaussian). Checked at N = 20 and
//   N = 784 with J = s·G/√N, G standard normal, so the singular values of I − J lie in about
//   [1 − 2s, 1 + 2s] (s = 0.2: well conditioned) and the path from N(0, I) is short.
// * tanh at N = 1 and N = 2: log Z by the midpoint rule on a grid of cells of side h over
//   [−L, L]^N. E ≥ ½(|x| − ‖J‖·1 − ‖b‖)² grows quadratically, so with L = 12 the mass outside
//   is below e^{−25}; the midpoint rule's relative error ≈ (h²/24)·|p''/p| is below 10⁻⁵ for
//   h = 10⁻³ (1-D) and 10⁻⁴ for h = 0.01 (2-D): both far below the standard errors.
//
// The tolerance. With M particles and i.i.d. weights w_m, Ẑ = Z₀·mean(w) is unbiased; the
// delta method gives SE(log Ẑ) = sd(w)/(√M·mean(w)), the standard error AIS reports. log Ẑ
// is biased low by ≈ SE²/2 (second-order term of the log), which for the SE here (< 0.1) is
// under 0.005: inside the 3 SE window, as the issue asks. Fixed seeds: each case is one draw,
// with a probability ≈ 0.3 % of falling outside 3 SE if the estimator is right. The SE
// itself is estimated; the ESS bound (≥ 20 % of the particles) makes sure the estimate of
// sd(w) is not dominated by a handful of weights (when it is, the SE is unreliable, and the
// check would pass for the wrong reason).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <nlm/activation/identity.hpp>
#include <nlm/activation/tanh.hpp>
#include <nlm/detail/random.hpp>
#include <nlm/langevin_machine.hpp>
#include <nlm/noise/gaussian_noise.hpp>
#include <nlm/regularizer/no_regularizer.hpp>
#include <nlm/analysis/ais.hpp>
#include <nlm/sampler/euler_maruyama.hpp>

using nlm::Matrix;

namespace {

template <class Act, class S>
using Machine = nlm::LangevinMachine<Act, nlm::GaussianNoise, nlm::NoRegularizer, nlm::EulerMaruyama, S>;

template <class Act, class S>
Machine<Act, S> make(std::size_t n, double temperature) {
  nlm::Hyperparameters hp;
  hp.neurons = n;
  hp.persistent_chains = 1;
  hp.temperature = temperature;
  hp.seed = 5;
  return Machine<Act, S>(hp);
}

/// J = d·I + s·(G + Gᵀ)/√(2N) + a·H/√N (G, H standard normal) and b with N(0, 0.2²) entries,
/// from `seed`: the eigenvalues of I − J lie near 1 − d ± 2s (plus the small asymmetric part),
/// so I − J is well conditioned and log|det(I − J)| ≈ N log(1 − d) is far from zero.
template <class S>
std::pair<Matrix<S>, nlm::Vector<S>> random_couplings(std::size_t n, double d, double s, double a,
                                                      std::uint64_t seed) {
  nlm::detail::Xoshiro256 engine(seed);
  Matrix<S> g = Matrix<S>::from_shape({n, n}), h = g;
  nlm::detail::fill_normal<S>(engine, std::span<S>(g.data(), g.size()));
  nlm::detail::fill_normal<S>(engine, std::span<S>(h.data(), h.size()));
  Matrix<S> j = (g + xt::transpose(g)) * S(s / std::sqrt(2.0 * double(n))) + h * S(a / std::sqrt(double(n)));
  for (std::size_t i = 0; i < n; ++i) j(i, i) += S(d);
  nlm::Vector<S> b = nlm::Vector<S>::from_shape({n});
  nlm::detail::fill_normal<S>(engine, std::span<S>(b.data(), b.size()));
  b *= S(0.2);
  return {std::move(j), std::move(b)};
}

/// (N/2) log(2πT) − log|det(I − J)|, in double.
template <class S>
double gaussian_log_z(const Matrix<S>& j, double temperature) {
  const std::size_t n = j.shape(0);
  Matrix<double> a = -xt::cast<double>(j);
  for (std::size_t i = 0; i < n; ++i) a(i, i) += 1.0;
  const auto [sign, logdet] = xt::linalg::slogdet(a);
  REQUIRE(sign != 0);
  return 0.5 * double(n) * std::log(2.0 * std::numbers::pi * temperature) - logdet;
}

void require_within(const nlm::AisResult& r, double exact, double standard_errors = 3.0) {
  INFO("log Z estimate " << r.log_z << " +- " << r.standard_error << " (runs spread " << r.run_spread
                         << "), exact " << exact << ", ESS " << r.ess << " of " << r.particles()
                         << ", MALA acceptance " << r.acceptance);
  CHECK(r.ess >= std::max(20.0, 0.1 * double(r.particles())));
  CHECK(r.standard_error > 0.0);
  CHECK(std::abs(r.log_z - exact) < standard_errors * r.standard_error);
}

/// log ∫ exp(−E/T) over [−L, L]^N (N = 1, 2) by the midpoint rule, cells of side h.
template <class M>
double quadrature_log_z(const M& machine, double half_width, double h) {
  const std::size_t n = machine.neurons();
  const auto cells = std::size_t(std::llround(2 * half_width / h));
  const std::size_t count = n == 1 ? cells : cells * cells;
  Matrix<double> grid = Matrix<double>::from_shape({count, n});
  for (std::size_t i = 0; i < count; ++i) {
    grid(i, 0) = -half_width + (double(i % cells) + 0.5) * h;
    if (n == 2) grid(i, 1) = -half_width + (double(i / cells) + 0.5) * h;
  }
  const auto e = machine.energy(grid);
  const double t = machine.temperature();
  double low = e(0);
  for (std::size_t i = 0; i < count; ++i) low = std::min(low, double(e(i)));
  double s = 0;
  for (std::size_t i = 0; i < count; ++i) s += std::exp(-(double(e(i)) - low) / t);
  return -low / t + std::log(s) + double(n) * std::log(h);
}

/// The settings the Gaussian closed-form tests share: a linear schedule from a base near the
/// target's scale (σ₀ ≈ 1/(1 − d) for J's diagonal d = 0.15).
nlm::AisOptions gaussian_options(std::uint64_t seed, std::size_t temperatures = 500, std::size_t particles = 256) {
  nlm::AisOptions o;
  o.temperatures = temperatures;
  o.particles = particles;
  o.runs = 2;
  o.time_step = 0.1;
  o.schedule_power = 1;
  o.base_sd = 1.18;
  o.seed = seed;
  return o;
}

/// The settings the tanh quadrature tests share: many particles, two MALA steps per β.
nlm::AisOptions quadrature_options(std::uint64_t seed) {
  nlm::AisOptions o;
  o.temperatures = 300;
  o.particles = 2000;
  o.runs = 2;
  o.time_step = 0.05;
  o.steps_per_temperature = 2;
  o.seed = seed;
  return o;
}

/// A short run for reproducibility and error checks.
nlm::AisOptions short_options(std::uint64_t seed) {
  nlm::AisOptions o;
  o.temperatures = 20;
  o.particles = 16;
  o.runs = 2;
  o.seed = seed;
  return o;
}

}  // namespace

TEST_SUITE("ais") {

TEST_CASE_TEMPLATE("identity activation, N = 20: log Z = (N/2) log(2 pi T) - log|det(I - J)| within 3 SE", S,
                   float, double) {
  const double t = 1.3;
  auto m = make<nlm::Identity, S>(20, t);
  auto [j, b] = random_couplings<S>(20, 0.15, 0.1, 0.1, 11);
  m.set_couplings(j);
  m.set_field(b);
  const nlm::AisOptions o = gaussian_options(3);
  const auto r = nlm::annealed_importance_sampling(m, o);
  require_within(r, gaussian_log_z(j, t));
  CHECK(r.run_log_z.size() == 2);
  CHECK(r.acceptance > 0.5);
}

TEST_CASE("identity activation, N = 784: log Z within 3 SE") {
  const double t = 1.0;
  auto m = make<nlm::Identity, float>(784, t);
  auto [j, b] = random_couplings<float>(784, 0.15, 0.1, 0.0, 12);
  m.set_couplings(j);
  m.set_field(b);
  const nlm::AisOptions o = gaussian_options(4, 1000, 128);  // 30 s here
  const auto r = nlm::annealed_importance_sampling(m, o);
  require_within(r, gaussian_log_z(j, t));
}

TEST_CASE_TEMPLATE("tanh, N = 1 (three wells) and N = 2 (asymmetric J, field): log Z against quadrature", S, float,
                   double) {
  SUBCASE("N = 1, J = 3, b = 0.4, T = 0.7") {
    auto m = make<nlm::Tanh, S>(1, 0.7);
    Matrix<S> j = {{S(3)}};
    m.set_couplings(j);
    m.set_field(nlm::Vector<S>{S(0.4)});
    const nlm::AisOptions o = quadrature_options(7);
    const auto r = nlm::annealed_importance_sampling(m, o);
    require_within(r, quadrature_log_z(m, 12.0, 1e-3));
  }
  SUBCASE("N = 2, J = [[1.5, -2], [1, 1.2]], b = (0.3, -0.2), T = 1") {
    auto m = make<nlm::Tanh, S>(2, 1.0);
    Matrix<S> j = {{S(1.5), S(-2)}, {S(1), S(1.2)}};
    m.set_couplings(j);
    m.set_field(nlm::Vector<S>{S(0.3), S(-0.2)});
    const nlm::AisOptions o = quadrature_options(8);
    const auto r = nlm::annealed_importance_sampling(m, o);
    require_within(r, quadrature_log_z(m, 12.0, 0.01));
  }
}

TEST_CASE("AIS is reproducible for a seed and refuses bad options with the option named") {
  auto m = make<nlm::Tanh, float>(3, 1.0);
  nlm::AisOptions o = short_options(9);
  const auto a = nlm::annealed_importance_sampling(m, o);
  const auto b = nlm::annealed_importance_sampling(m, o);
  CHECK(a.log_weights == b.log_weights);
  o.seed = 10;
  CHECK(nlm::annealed_importance_sampling(m, o).log_weights != a.log_weights);

  nlm::AisOptions bad = o;
  bad.particles = 1;
  CHECK_THROWS_WITH_AS(nlm::annealed_importance_sampling(m, bad),
                       "AisOptions: particles must be >= 2 (the standard error needs two)", std::invalid_argument);
  bad = o;
  bad.time_step = -1;
  CHECK_THROWS_WITH_AS(nlm::annealed_importance_sampling(m, bad),
                       "AisOptions: time_step (dt) must be finite and > 0, got -1.000000", std::invalid_argument);
  bad = o;
  bad.temperatures = 0;
  CHECK_THROWS_WITH_AS(nlm::annealed_importance_sampling(m, bad), "AisOptions: temperatures (K) must be >= 1",
                       std::invalid_argument);
}

TEST_CASE("the annealed model's drift is minus the gradient of its energy (central differences)") {
  auto m = make<nlm::Tanh, double>(4, 0.8);
  auto [j, b] = random_couplings<double>(4, 0.5, 1.0, 1.0, 21);
  m.set_couplings(j);
  m.set_field(b);
  nlm::AnnealedModel<decltype(m)> path(m, 1.7, nlm::GaussianNoise(1));
  path.set_beta(0.35);
  Matrix<double> x = {{0.3, -1.2, 0.8, 2.0}, {-0.5, 0.1, -2.2, 0.4}};
  nlm::ForceWorkspace<double> ws;
  nlm::detail::evaluate(path, x, ws, true);
  const auto drift = path.drift_terms(ws);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double h = 1e-5;
    Matrix<double> up = x, down = x;
    up.data()[i] += h;
    down.data()[i] -= h;
    nlm::ForceWorkspace<double> wu, wd;
    nlm::detail::evaluate(path, up, wu, true);
    nlm::detail::evaluate(path, down, wd, true);
    const std::size_t row = i / 4;
    const double gradient = (wu.energy(row) - wd.energy(row)) / (2 * h);
    CHECK(drift(i) == doctest::Approx(-gradient).epsilon(1e-7));
  }
  // at β = 0 the energy is the base's T‖x‖²/(2σ₀²)
  path.set_beta(0.0);
  nlm::detail::evaluate(path, x, ws, true);
  CHECK(ws.energy(0) == doctest::Approx(0.8 * (0.09 + 1.44 + 0.64 + 4.0) / (2 * 1.7 * 1.7)).epsilon(1e-12));
}

// ---- conditional AIS: log Z(v) = log ∫ exp(−E(v, h)/T) dh over the units a clamp leaves free ----
//
// Identity activation: with x = (v on the clamped set C, h on the free set F),
// E = ½‖A_F h + c‖², A = I − J, c = A_C v − b, so
//   log Z(v) = (|F|/2) log(2πT) − ½ log det(A_Fᵀ A_F) − ‖c − A_F h*‖²/(2T),
// h* the least-squares solution of A_F h = −c. Same tolerance argument as above.

namespace {

/// The closed form above, in double, for the free units where `mask` (length N) is 0.
template <class S>
double gaussian_conditional_log_z(const Matrix<S>& j, const nlm::Vector<S>& b, const std::uint8_t* mask,
                                  const S* v, double temperature) {
  const std::size_t n = j.shape(0);
  std::vector<std::size_t> free_units;
  nlm::Vector<double> c = -xt::cast<double>(b);
  for (std::size_t col = 0; col < n; ++col) {
    if (!mask[col]) {
      free_units.push_back(col);
      continue;
    }
    for (std::size_t row = 0; row < n; ++row)
      c(row) += ((row == col ? 1.0 : 0.0) - double(j(row, col))) * double(v[col]);
  }
  const std::size_t f = free_units.size();
  Matrix<double> af = Matrix<double>::from_shape({n, f});
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t k = 0; k < f; ++k)
      af(row, k) = (row == free_units[k] ? 1.0 : 0.0) - double(j(row, free_units[k]));
  const Matrix<double> g = xt::linalg::dot(xt::transpose(af), af);
  const nlm::Vector<double> h = xt::linalg::solve(g, nlm::Vector<double>(-xt::linalg::dot(xt::transpose(af), c)));
  const nlm::Vector<double> r = c + xt::linalg::dot(af, h);
  const auto [sign, logdet] = xt::linalg::slogdet(g);
  REQUIRE(sign > 0);
  const double residual = xt::linalg::dot(r, r)();
  return 0.5 * double(f) * std::log(2.0 * std::numbers::pi * temperature) - 0.5 * logdet -
         residual / (2.0 * temperature);
}

}  // namespace

TEST_CASE_TEMPLATE("conditional AIS, identity activation, N = 12: log Z(v) of the free units within 3 SE", S, float,
                   double) {
  const std::size_t n = 12;
  const double t = 1.1;
  auto m = make<nlm::Identity, S>(n, t);
  auto [j, b] = random_couplings<S>(n, 0.15, 0.1, 0.1, 13);
  m.set_couplings(j);
  m.set_field(b);
  // three conditions, each with its own mask: the first 7 units, the last 5, every other unit
  nlm::Clamp<S> clamp{xt::zeros<std::uint8_t>({std::size_t(3), n}), Matrix<S>::from_shape({3, n})};
  for (std::size_t u = 0; u < n; ++u) {
    clamp.mask(0, u) = u < 7;
    clamp.mask(1, u) = u >= 7;
    clamp.mask(2, u) = u % 2 == 0;
  }
  nlm::detail::Xoshiro256 engine(14);
  nlm::detail::fill_normal<S>(engine, std::span<S>(clamp.values.data(), clamp.values.size()));
  const nlm::AisOptions o = gaussian_options(15);
  const auto r = nlm::conditional_annealed_importance_sampling(m, clamp, o);
  REQUIRE(r.size() == 3);
  for (std::size_t g = 0; g < 3; ++g) {
    INFO("condition " << g);
    CHECK(r[g].particles() == 512);
    require_within(r[g], gaussian_conditional_log_z(j, b, &clamp.mask(g, 0), &clamp.values(g, 0), t));
  }
}

TEST_CASE_TEMPLATE("conditional AIS, tanh, N = 2: log Z(v) against 1-D quadrature over the free unit", S, float,
                   double) {
  auto m = make<nlm::Tanh, S>(2, 1.0);
  Matrix<S> j = {{S(1.5), S(-2)}, {S(1), S(1.2)}};
  m.set_couplings(j);
  m.set_field(nlm::Vector<S>{S(0.3), S(-0.2)});
  // condition 0 holds unit 0 at 0.7, condition 1 holds unit 1 at −1.4 (one mask row each)
  nlm::Clamp<S> clamp{{{1, 0}, {0, 1}}, {{S(0.7), S(0)}, {S(0), S(-1.4)}}};
  const nlm::AisOptions o = quadrature_options(16);
  const auto r = nlm::conditional_annealed_importance_sampling(m, clamp, o);
  REQUIRE(r.size() == 2);
  for (std::size_t g = 0; g < 2; ++g) {
    // log ∫ exp(−E/T) over the free unit by the midpoint rule, h = 10⁻³ on [−12, 12]
    const std::size_t cells = 24000, free_unit = 1 - g;
    Matrix<double> grid = Matrix<double>::from_shape({cells, 2});
    for (std::size_t i = 0; i < cells; ++i) {
      grid(i, g) = double(clamp.values(g, g));
      grid(i, free_unit) = -12.0 + (double(i) + 0.5) * 1e-3;
    }
    auto md = make<nlm::Tanh, double>(2, 1.0);
    md.set_couplings(xt::cast<double>(j));
    md.set_field(nlm::Vector<double>{0.3, -0.2});
    const auto e = md.energy(grid);
    double low = e(0), s = 0;
    for (std::size_t i = 0; i < cells; ++i) low = std::min(low, double(e(i)));
    for (std::size_t i = 0; i < cells; ++i) s += std::exp(-(double(e(i)) - low));
    INFO("condition " << g);
    require_within(r[g], -low + std::log(s) + std::log(1e-3));
  }
}

TEST_CASE("conditional AIS: a clamp that holds nothing is plain AIS; bad clamps are refused with the reason") {
  auto m = make<nlm::Tanh, float>(3, 1.0);
  nlm::AisOptions o = short_options(9);
  const nlm::Clamp<float> none{xt::zeros<std::uint8_t>({std::size_t(1), std::size_t(3)}),
                               xt::zeros<float>({std::size_t(1), std::size_t(3)})};
  const auto plain = nlm::annealed_importance_sampling(m, o);
  const auto conditional = nlm::conditional_annealed_importance_sampling(m, none, o);
  REQUIRE(conditional.size() == 1);
  CHECK(conditional[0].log_weights == plain.log_weights);
  CHECK(conditional[0].log_z == plain.log_z);

  const auto refused = [&](const nlm::Clamp<float>& c, const std::string& why) {
    CHECK_THROWS_WITH_AS(nlm::conditional_annealed_importance_sampling(m, c, o),
                         ("conditional_annealed_importance_sampling: " + why).c_str(), std::invalid_argument);
  };
  refused({xt::zeros<std::uint8_t>({std::size_t(1), std::size_t(2)}), xt::zeros<float>({std::size_t(1), std::size_t(2)})},
          "the clamp has 2 mask and 2 value columns, the model 3 units");
  refused({xt::zeros<std::uint8_t>({std::size_t(2), std::size_t(3)}), xt::zeros<float>({std::size_t(3), std::size_t(3)})},
          "the clamp mask has 2 rows, expected 1 or 3 (one per row of values)");
  refused({{{1, 0, 0}, {1, 1, 1}}, {{0.5f, 0.f, 0.f}, {0.1f, 0.2f, 0.3f}}},
          "condition 1 clamps every unit: there is nothing to integrate");
  refused({{{0, 1, 0}}, {{0.f, NAN, 0.f}}}, "clamp value 1 of condition 0 is not finite");
}

}  // TEST_SUITE

// ---- the other side: reverse AIS from exact draws, the bidirectional interval, the warnings ----
//
// Reverse AIS from draws of the model estimates Z₀/Z without bias, so log Ẑ_reverse is a
// stochastic upper bound of log Z: P(log Ẑ_r < log Z − a) ≤ e^{−a} (Markov), as the forward
// log Ẑ is a lower one. `ais_interval` widens each end by a = ln(2/(1 − level)) (3.69 nats at
// 95 %), so each end fails with probability ≤ 2.5 % whatever the path's quality.
//
// Independent wells: with J = a·I (diagonal) and tanh, E = Σ_i ½(x_i − a tanh x_i − b_i)² is a
// sum of one-dimensional energies, so log Z = Σ_i log ∫ exp(−E_i/T) dx_i, each by the midpoint
// rule (as above), and exact draws come from each one-dimensional density on the same grid
// (inverse CDF over the cells, uniform inside a cell: the cells are 10⁻³ wide, under 1 % of the
// narrowest well's width √(T/(a − 1)²), so the draws' error is far below the Monte Carlo noise).
// For a = 4, |b_i| ≤ 0.5, every coordinate has three wells (x = a tanh x + b has three roots)
// at zero energy, at about −4, 0 and 4, with barriers of about 2 between them: at T = 0.3 a
// particle at β = 1 stays in its well for the whole path, and 3^N modes share the mass.

namespace {

struct Wells {
  std::size_t n;
  double a, t;
  std::vector<double> b;
  std::vector<std::vector<double>> cdf;  // per coordinate, over the cells
  double log_z = 0;
  static constexpr double half_width = 10.0, h = 1e-3;

  Wells(std::size_t n_, double a_, double t_, std::uint64_t seed) : n(n_), a(a_), t(t_) {
    nlm::detail::Xoshiro256 engine(seed);
    const std::size_t cells = std::size_t(std::llround(2 * half_width / h));
    for (std::size_t i = 0; i < n; ++i) {
      b.push_back(-0.5 + nlm::detail::uniform_open0<double>(engine()));
      std::vector<double> c(cells);
      double s = 0;
      for (std::size_t k = 0; k < cells; ++k) {
        const double x = -half_width + (double(k) + 0.5) * h, f = x - a * std::tanh(x) - b.back();
        s += std::exp(-0.5 * f * f / t);
        c[k] = s;
      }
      for (double& v : c) v /= s;
      log_z += std::log(s * h);
      cdf.push_back(std::move(c));
    }
  }
  template <class S>
  Machine<nlm::Tanh, S> machine() const {
    auto m = make<nlm::Tanh, S>(n, t);
    Matrix<S> j = xt::zeros<S>({n, n});
    nlm::Vector<S> field = nlm::Vector<S>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) j(i, i) = S(a), field(i) = S(b[i]);
    m.set_couplings(j);
    m.set_field(field);
    return m;
  }
  template <class S>
  Matrix<S> draws(std::size_t rows, std::uint64_t seed) const {
    nlm::detail::Xoshiro256 engine(seed);
    Matrix<S> x = Matrix<S>::from_shape({rows, n});
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < n; ++i) {
        const auto& c = cdf[i];
        const std::size_t k = std::size_t(std::lower_bound(c.begin(), c.end(), nlm::detail::uniform_open0<double>(engine())) - c.begin());
        x(r, i) = S(-half_width + (double(std::min(k, c.size() - 1)) + nlm::detail::uniform_open0<double>(engine())) * h);
      }
    return x;
  }
};

}  // namespace

TEST_CASE("reverse AIS from exact Gaussian draws: log Z within 3 SE, from above") {
  const double t = 1.3;
  const std::size_t n = 20;
  auto m = make<nlm::Identity, double>(n, t);
  auto [j, b] = random_couplings<double>(n, 0.15, 0.1, 0.1, 11);
  m.set_couplings(j);
  m.set_field(b);
  // E = ½‖(I − J)x − b‖²: (I − J)x − b ~ N(0, T I), so x = (I − J)⁻¹(b + √T z)
  nlm::AisOptions o = gaussian_options(31);
  Matrix<double> a = -j;
  for (std::size_t i = 0; i < n; ++i) a(i, i) += 1.0;
  nlm::detail::Xoshiro256 engine(32);
  Matrix<double> z = Matrix<double>::from_shape({o.particles * o.runs, n});
  nlm::detail::fill_normal<double>(engine, std::span<double>(z.data(), z.size()));
  const Matrix<double> rhs = xt::transpose(z * std::sqrt(t) + b);
  const Matrix<double> start = xt::transpose(xt::linalg::solve(a, rhs));
  const auto r = nlm::reverse_annealed_importance_sampling(m, start, o);
  CHECK(r.reverse);
  require_within(r, gaussian_log_z(j, t));

  // the start must be particles x runs rows of the model's width, and finite
  CHECK_THROWS_WITH_AS(nlm::reverse_annealed_importance_sampling(m, Matrix<double>(xt::zeros<double>({3, 20})), o),
                       "reverse_annealed_importance_sampling: the start states are 3 x 20, expected particles x runs "
                       "= 512 rows of the model's 20 units",
                       std::invalid_argument);
  Matrix<double> bad = start;
  bad(7, 3) = NAN;
  CHECK_THROWS_WITH_AS(nlm::reverse_annealed_importance_sampling(m, bad, o),
                       "reverse_annealed_importance_sampling: start state 7 has a value that is not finite",
                       std::invalid_argument);
}

TEST_CASE("independent wells, N = 200: the forward estimate falls short, the bidirectional interval brackets "
          "log Z at least as often as promised (20 seeds)") {
  // a = 3, T = 0.5: wells at about −3, 0 and 3 in every coordinate, barriers of 1.7 T; K = 1 000
  // is too fast a path for 3^200 modes: the forward estimate lands typically 3–9 nats (often many
  // of its own standard errors) short, and the reverse one about as far above.
  const Wells wells(200, 3.0, 0.5, 41);
  const auto m = wells.machine<double>();
  nlm::AisOptions o;
  o.temperatures = 1000;
  o.particles = 32;
  o.runs = 2;
  o.time_step = 0.02;
  o.schedule_power = 2;
  o.base_sd = 2.5;
  std::size_t inside = 0, forward_below = 0, forward_short = 0, warned = 0;
  double closest = INFINITY;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    o.seed = seed;
    const auto forward = nlm::annealed_importance_sampling(m, o);
    const auto reverse = nlm::reverse_annealed_importance_sampling(m, wells.draws<double>(64, 100 + seed), o);
    const nlm::AisInterval i = nlm::ais_interval(forward, reverse);
    INFO("seed " << seed << ": exact " << wells.log_z << ", forward " << forward.log_z << " +- " << forward.uncertainty
                 << " (ESS " << forward.ess << "), reverse " << reverse.log_z << " +- " << reverse.uncertainty
                 << " (ESS " << reverse.ess << "), interval [" << i.lower << ", " << i.upper << "]");
    CHECK(i.upper - i.lower == doctest::Approx(i.gap + 2 * std::log(40.0)));
    CHECK(i.consistent);
    inside += i.lower <= wells.log_z && wells.log_z <= i.upper;
    forward_below += forward.log_z < wells.log_z;
    forward_short += forward.log_z + 3 * forward.uncertainty < wells.log_z;
    warned += !nlm::ais_warnings(forward, o).empty();
    closest = std::min({closest, wells.log_z - i.lower, i.upper - wells.log_z});
  }
  MESSAGE("independent wells: interval holds in " << inside << " of 20 seeds (closest end " << closest
                                                  << " nats from the truth); the forward estimate is more than 3 of "
                                                     "its own uncertainties short in " << forward_short
                                                  << ", below the truth in " << forward_below);
  // Promised: ≥ 95 %, so at least 19 of 20 (the seeds are fixed; were the true miss rate at the
  // promised limit, a set of 20 seeds would show 2 or more misses with probability 26 %, so this
  // asserts the promise itself, not a looser bound).
  CHECK(inside >= 19);
  // The case is as hard as meant: the forward estimate is below the truth in at least 15 of 20
  // seeds (were it as often above as below, P(≥ 15 of 20) = 2 %), and its warnings say so.
  CHECK(forward_below >= 15);
  CHECK(warned == 20);
}

TEST_CASE("bidirectional AIS: its forward half is the plain forward AIS, and on a Gaussian the interval is narrow "
          "and holds") {
  const double t = 1.3;
  auto m = make<nlm::Identity, double>(20, t);
  auto [j, b] = random_couplings<double>(20, 0.15, 0.1, 0.1, 11);
  m.set_couplings(j);
  m.set_field(b);
  const nlm::AisOptions o = gaussian_options(51);
  const auto both = nlm::bidirectional_annealed_importance_sampling(m, o, 200);
  CHECK(both.forward.log_weights == nlm::annealed_importance_sampling(m, o).log_weights);
  CHECK(both.reverse.reverse);
  CHECK(both.burn_in == 200);
  CHECK(both.burn_in_acceptance > 0.5);
  const double exact = gaussian_log_z(j, t);
  INFO("exact " << exact << ", forward " << both.forward.log_z << ", reverse " << both.reverse.log_z << ", interval ["
                << both.interval.lower << ", " << both.interval.upper << "]");
  CHECK(both.interval.lower <= exact);
  CHECK(exact <= both.interval.upper);
  // a slow enough path on a unimodal density: both estimates within 3 SE, so the gap is small
  CHECK(std::abs(both.interval.gap) < 3 * std::hypot(both.forward.standard_error, both.reverse.standard_error));
  CHECK(nlm::ais_warnings(both.forward, o).empty());
  CHECK(nlm::ais_warnings(both.reverse, o).empty());
}

TEST_CASE("the reported uncertainty is never below the runs' spread, and the warnings name the cause and the remedy") {
  nlm::AisResult r;
  r.log_weights.assign(32, 0.0);
  r.log_weights[0] = 30.0;  // one particle carries the weights
  r.ess = 1.0;
  r.run_log_z = {-343.47, -326.09};
  r.run_standard_error = {0.9, 1.0};
  r.acceptance = 0.438;
  r.model_end_acceptance = 0.001;
  nlm::AisOptions o;
  o.temperatures = 20000;
  o.time_step = 0.03;
  const auto w = nlm::ais_warnings(r, o);
  REQUIRE(w.size() == 3);
  CHECK(w[0] == "the weights' ESS is 1.0 of 32 particles (3 %, below 10 %): a few particles carry the estimate, so "
                "its standard error is unreliable and log Z is probably too low; anneal more slowly: raise K "
                "(temperatures, now 20000) or the MALA steps per distribution (now 1); more particles (now 64 per run) alone do "
                "not help while a few carry the weights");
  CHECK(w[1] == "two runs' log Z differ by 17.38 nats, 12.9 times their standard errors: each run's SE "
                "understates its error (the ± reported is the larger of the SE and the runs' spread / sqrt(runs)); "
                "anneal more slowly: raise K (temperatures, now 20000) or the MALA steps per distribution (now 1)");
  CHECK(w[2] == "MALA accepted 44 % of its proposals, 0.1 % in the tenth of the path nearest the model: lower the time "
                "step (now 0.0300) so the particles keep up with the path");
  r.reverse = true;  // the reverse path's estimate errs the other way
  CHECK(nlm::ais_warnings(r, o)[0].find("log Z is probably too high;") != std::string::npos);
  r.reverse = false;
  r.run_log_z = {-330.0};
  r.run_standard_error = {0.9};
  r.ess = 16;
  r.acceptance = 0.9;
  r.model_end_acceptance = 0.8;
  const auto one = nlm::ais_warnings(r, o);
  REQUIRE(one.size() == 1);
  CHECK(one[0] == "one run: nothing checks the particles' standard error against independent runs; use runs >= 2");

  // from a run: the ± is max(SE, spread/√R)
  auto m = make<nlm::Tanh, double>(3, 1.0);
  nlm::AisOptions s = short_options(9);
  s.runs = 4;
  const auto a = nlm::annealed_importance_sampling(m, s);
  CHECK(a.run_standard_error.size() == 4);
  CHECK(a.run_ess.size() == 4);
  CHECK(a.uncertainty == std::max(a.standard_error, a.run_spread / 2.0));
  CHECK(a.uncertainty >= a.run_spread / 2.0);
  CHECK(a.bound(0.95) == doctest::Approx(a.log_z - std::log(20.0)));
  // a reverse estimate far below the forward one: the interval says it is not to be used
  nlm::AisResult low = a;
  low.reverse = true;
  low.log_z = a.log_z - 5.0;
  CHECK_FALSE(nlm::ais_interval(a, low).consistent);
  low.log_z = a.log_z - 3.0;  // within a = ln 40 = 3.69
  CHECK(nlm::ais_interval(a, low).consistent);
  CHECK_THROWS_WITH_AS(nlm::ais_interval(a, a), "ais_interval: needs a forward result (first) and a reverse result (second)",
                       std::invalid_argument);
}
