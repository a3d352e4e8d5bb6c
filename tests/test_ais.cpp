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
