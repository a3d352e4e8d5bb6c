// Attractors and sequences (issue 13): the plain recurrent drift and its Jacobian, the
// fixed-point census (Newton, stability, slow points, basins), J_sym / J_anti, and the
// time-shifted delta rule whose J replays a sequence under the Δt = 1 map.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>

#include "test_support.hpp"

using nlm::Matrix;
using nlm::Vector;

TEST_SUITE_BEGIN("dynamics");

namespace {

using PlainD = nlm::RecurrentNetwork<nlm::Tanh, nlm::NoNoise, double>;

Vector<double> vec(std::initializer_list<double> v) {
  Vector<double> x = Vector<double>::from_shape({v.size()});
  std::copy(v.begin(), v.end(), x.begin());
  return x;
}

// The root of x = g tanh(x) + c on [lo, hi] by bisection (to the last bit).
double root(double g, double c, double lo, double hi) {
  auto f = [&](double x) { return -x + g * std::tanh(x) + c; };
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if ((f(mid) > 0) == (f(lo) > 0))
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

Matrix<double> random_matrix(std::size_t rows, std::size_t cols, double scale, std::uint64_t seed) {
  nlm::detail::Xoshiro256 e(seed);
  Matrix<double> m = Matrix<double>::from_shape({rows, cols});
  nlm::detail::fill_normal<double>(e, std::span<double>(m.data(), m.size()));
  m *= scale;
  return m;
}

double basin_total(const nlm::FixedPointCensus& c) {
  double s = c.not_converged_share();
  for (const auto& p : c.fixed_points) s += p.basin;
  for (const auto& p : c.slow_points) s += p.basin;
  return s;
}

std::size_t counted_starts(const nlm::FixedPointCensus& c) {
  std::size_t s = c.not_converged;
  for (const auto& p : c.fixed_points) s += p.starts;
  for (const auto& p : c.slow_points) s += p.starts;
  return s;
}

}  // namespace

TEST_CASE("the plain drift is -x + J phi(x) + b; its Jacobian matches central differences of f") {
  const std::size_t n = 6;
  Matrix<double> j = random_matrix(n, n, 1.2 / std::sqrt(double(n)), 11);
  Matrix<double> b2 = random_matrix(1, n, 0.3, 12);
  Vector<double> b = Vector<double>::from_shape({n});
  std::copy_n(b2.data(), n, b.data());
  const PlainD net(j, b, 0.0);
  const Matrix<double> x = random_matrix(1, n, 1.0, 13);

  const Matrix<double> f = net.drift(x);
  for (std::size_t i = 0; i < n; ++i) {
    double h = b(i) - x(0, i);
    for (std::size_t c = 0; c < n; ++c) h += j(i, c) * std::tanh(x(0, c));
    CHECK(f(0, i) == doctest::Approx(h).epsilon(1e-14));
  }

  Vector<double> xv = Vector<double>::from_shape({n});
  std::copy_n(x.data(), n, xv.data());
  const Matrix<double> a = net.jacobian(xv);
  // Central differences, h = 1e-5: truncation ~h² f''' ~ 1e-10, rounding ~1e-16/h ~ 1e-11.
  const double step = 1e-5;
  for (std::size_t c = 0; c < n; ++c) {
    Matrix<double> xp = x, xm = x;
    xp(0, c) += step;
    xm(0, c) -= step;
    const Matrix<double> fp = net.drift(xp), fm = net.drift(xm);
    for (std::size_t i = 0; i < n; ++i) CHECK(a(i, c) == doctest::Approx((fp(0, i) - fm(0, i)) / (2 * step)).epsilon(1e-8).scale(1.0));
  }
}

TEST_CASE("Euler-Maruyama with dt = 1 and no noise is the synchronous map x <- J phi(x) + b") {
  const std::size_t n = 5;
  Matrix<double> j = random_matrix(n, n, 1.0, 21);
  const PlainD net(j, vec({0.1, -0.2, 0.3, 0.0, 0.5}), 0.0);
  Matrix<double> x = random_matrix(3, n, 1.0, 22);
  const Matrix<double> expected = net.drift(x) + x;
  nlm::Chains<double> chains(x);
  nlm::EulerMaruyama em(1.0);
  em.advance(net, chains, 1);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(chains.states().data()[i] == doctest::Approx(expected.data()[i]).epsilon(1e-15).scale(1.0));
}

TEST_CASE("census of a 2-D network with J = 2I: the nine fixed points, Newton-exact, with the plain stability of each") {
  // f_i = -x_i + 2 tanh(x_i): zeros at 0 and ±x*, x* = 2 tanh x*; A = diag(-1 + 2 sech²(x_i)).
  // Every fixed point is a zero-energy minimum of E, so the descent finds saddles too.
  Matrix<double> j = Matrix<double>::from_shape({2, 2});
  j.fill(0.0);
  j(0, 0) = j(1, 1) = 2.0;
  const PlainD net(j, Vector<double>{}, 0.0);
  const double xs = root(2.0, 0.0, 1.0, 3.0);
  Matrix<double> starts = Matrix<double>::from_shape({21 * 21, 2});
  for (std::size_t a = 0; a < 21; ++a)
    for (std::size_t c = 0; c < 21; ++c) {
      starts(a * 21 + c, 0) = -3.0 + 0.3 * double(a);
      starts(a * 21 + c, 1) = -3.0 + 0.3 * double(c);
    }
  nlm::FixedPointOptions o;
  o.newton_tolerance = 1e-13;
  const auto census = nlm::find_fixed_points(net, starts, o);
  REQUIRE(census.fixed_points.size() == 9);
  CHECK(census.slow_points.empty());
  CHECK(census.not_converged == 0);
  CHECK(counted_starts(census) == starts.shape(0));
  CHECK(basin_total(census) == doctest::Approx(1.0).epsilon(1e-12));
  auto lambda = [&](double x) { return -1.0 + 2.0 / (std::cosh(x) * std::cosh(x)); };
  std::size_t stable = 0;
  for (const auto& p : census.fixed_points) {
    std::vector<double> expected_eigen;
    for (std::size_t i = 0; i < 2; ++i) {
      const double v = p.state(i);
      const double nearest = std::abs(v) < 1.0 ? 0.0 : std::copysign(xs, v);
      CHECK(std::abs(v - nearest) < 1e-12);  // Newton's limit of the polish: far below the descent's 1e-4
      expected_eigen.push_back(lambda(nearest));
    }
    std::sort(expected_eigen.rbegin(), expected_eigen.rend());
    REQUIRE(p.eigenvalues.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(p.eigenvalues[i].real() == doctest::Approx(expected_eigen[i]).epsilon(1e-9));
      CHECK(p.eigenvalues[i].imag() == 0.0);
    }
    CHECK(p.stable == (std::abs(p.state(0)) > 1.0 && std::abs(p.state(1)) > 1.0));
    CHECK(p.energy < 1e-24);
    stable += p.stable;
  }
  CHECK(stable == 4);
  CHECK(census.stable_count() == 4);
}

TEST_CASE("a minimum of E with E > 0 is listed as a slow point, apart from the fixed point") {
  // 1-D: f(x) = -x + 2 tanh(x) + 1.5 has one zero (x ~ 3.4) and a local minimum of E = f²/2
  // where f' = 0 and f > 0: sech²(x) = 1/2 at x = -acosh(√2).
  Matrix<double> j = Matrix<double>::from_shape({1, 1});
  j(0, 0) = 2.0;
  const PlainD net(j, vec({1.5}), 0.0);
  Matrix<double> starts = Matrix<double>::from_shape({46, 1});
  for (std::size_t s = 0; s < 46; ++s) starts(s, 0) = -4.0 + 0.2 * double(s);
  const auto census = nlm::find_fixed_points(net, starts);
  REQUIRE(census.fixed_points.size() == 1);
  REQUIRE(census.slow_points.size() == 1);
  const double xf = root(2.0, 1.5, 2.0, 5.0);
  // The polish stops at |f| ≤ 1e-9 (newton_tolerance), and |f'(x)| ≈ 0.99 there.
  CHECK(std::abs(census.fixed_points[0].state(0) - xf) < 2e-9);
  CHECK(census.fixed_points[0].stable);
  const double x_slow = -std::acosh(std::sqrt(2.0));
  const double f_slow = -x_slow + 2.0 * std::tanh(x_slow) + 1.5;
  // The polish stops at |E'| ≤ 1e-6 (the gradient tolerance) where E'' = f·f'' ≈ 1.37:
  // |x − x_slow| < 1e-6 / 1.37; E is flat there, so E agrees to ~(1e-6)²·E''.
  CHECK(std::abs(census.slow_points[0].state(0) - x_slow) < 1e-6);
  CHECK(census.slow_points[0].energy == doctest::Approx(0.5 * f_slow * f_slow).epsilon(1e-10));
  CHECK(census.slow_points[0].starts > 0);
  CHECK(census.fixed_points[0].starts > 0);
  CHECK(counted_starts(census) == 46);
  CHECK(basin_total(census) == doctest::Approx(1.0).epsilon(1e-12));
  // Every start's outcome points at the right list.
  // E' = f f' < 0 left of x_slow and > 0 on (x_slow, -x_slow): the slow point's basin is
  // x < -x_slow = 0.8814 (where f has its local maximum, a maximum of E).
  for (std::size_t s = 0; s < 46; ++s) {
    const long o = census.outcome[s];
    CAPTURE(starts(s, 0));
    CHECK(o != nlm::FixedPointCensus::not_converged_mark);
    if (o >= 0) CHECK(starts(s, 0) > -x_slow);
    if (o < 0) CHECK(starts(s, 0) < -x_slow);
  }
}

TEST_CASE("the census recovers all planted patterns of a projection-rule J (N = 50), basins summing to 1") {
  // J = X (ΦᵀΦ)⁻¹ Φᵀ with Φ = tanh(X): J φ(ξ) = ξ for every pattern (and for -ξ, tanh being odd).
  const std::size_t n = 50, p = 3;
  nlm::detail::Xoshiro256 e(31);
  Matrix<double> x = Matrix<double>::from_shape({n, p});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = (e() & 1) ? 2.0 : -2.0;
  const Matrix<double> phi = xt::tanh(x);
  const Matrix<double> gram = xt::linalg::dot(xt::transpose(phi), phi);
  const Matrix<double> j = xt::linalg::dot(xt::linalg::dot(x, xt::linalg::inv(gram)), xt::transpose(phi));
  const PlainD net(j, Vector<double>{}, 0.0);
  // 200 starts from noise (most descend to the origin, a zero-energy minimum of E that the
  // plain dynamics find unstable) and 20 noisy copies (noise SD 0.7) of each ±ξ.
  Matrix<double> starts = random_matrix(320, n, 2.0, 32);
  const Matrix<double> jitter = random_matrix(120, n, 0.7, 33);
  for (std::size_t s = 0; s < 120; ++s)
    for (std::size_t i = 0; i < n; ++i)
      starts(200 + s, i) = (s % 2 ? -1.0 : 1.0) * x(i, (s / 2) % p) + jitter(s, i);
  const auto census = nlm::find_fixed_points(net, starts);
  for (std::size_t mu = 0; mu < p; ++mu)
    for (const double sign : {1.0, -1.0}) {
      bool found = false;
      for (const auto& pt : census.fixed_points) {
        double d = 0;
        for (std::size_t i = 0; i < n; ++i) d = std::max(d, std::abs(pt.state(i) - sign * x(i, mu)));
        if (d < 1e-8) {
          found = true;
          CHECK(pt.stable);  // φ'(±2) = 0.07: A ≈ -I + small
          CHECK(pt.starts > 0);
        }
      }
      CAPTURE(mu);
      CAPTURE(sign);
      CHECK(found);
    }
  CHECK(counted_starts(census) == starts.shape(0));
  CHECK(basin_total(census) == doctest::Approx(1.0).epsilon(1e-12));

  // The census files: points, spectra and one CSV row per point plus the not-converged row.
  const nlm::test::TempDir tmp;
  const auto dir = tmp.path();
  nlm::save_census(dir, census);
  const auto points = nlm::io::load_npy<double, 2>(dir / "fixed_points.npy");
  CHECK(points.shape(0) == census.fixed_points.size());
  CHECK(points(0, 7) == census.fixed_points[0].state(7));
  const auto ev = nlm::io::load_npy<double, 3>(dir / "eigenvalues.npy");
  CHECK(ev(0, 0, 0) == census.fixed_points[0].max_real);
  std::ifstream csv(dir / "census.csv");
  std::size_t lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  CHECK(lines == 1 + census.fixed_points.size() + census.slow_points.size() + 1);
}

TEST_CASE("J_sym + J_anti rebuilds J to the last bit; the asymmetry of symmetric, antisymmetric and random J") {
  nlm::Hyperparameters hp;
  hp.neurons = 200;
  hp.persistent_chains = 2;
  hp.batch_size = 2;
  hp.seed = 41;
  const nlm::PaperMachine m(hp);
  const Matrix<float>& j = m.couplings();
  const auto parts = nlm::split_symmetric(j);
  std::size_t exact = 0;
  for (std::size_t r = 0; r < hp.neurons; ++r)
    for (std::size_t c = 0; c < hp.neurons; ++c) {
      exact += float(parts.symmetric(r, c) + parts.antisymmetric(r, c)) == j(r, c);
      REQUIRE(parts.symmetric(r, c) == parts.symmetric(c, r));
      REQUIRE(parts.antisymmetric(r, c) == -parts.antisymmetric(c, r));
    }
  CHECK(exact == hp.neurons * hp.neurons);

  const Matrix<double> sym = parts.symmetric, anti = parts.antisymmetric;
  CHECK(nlm::asymmetry(sym) == 0.0);
  CHECK(nlm::asymmetry(anti) == doctest::Approx(2.0).epsilon(1e-14));
  // Independent N(0, g²/N) entries, zero diagonal: asymmetry² = 2 − 2 Σ J_ij J_ji / Σ J², whose
  // second term has mean 0 and SD 2·√(2/(N(N−1))) = 0.020 at N = 200: asymmetry √2 ± 0.007; 4 SD.
  CHECK(std::abs(nlm::asymmetry(j) - std::sqrt(2.0)) < 0.03);
  CHECK_THROWS_WITH(nlm::asymmetry(Matrix<float>::from_shape({2, 3})),
                    "asymmetry: J must be a non-empty square matrix, got 2 x 3");
}

namespace {

using SequenceMachine = nlm::LangevinMachine<nlm::Tanh, nlm::NoNoise, nlm::NoRegularizer, nlm::EulerMaruyama, double>;

nlm::Hyperparameters sequence_hp() {
  nlm::Hyperparameters hp;
  hp.neurons = 50;
  hp.persistent_chains = 1;
  hp.batch_size = 1;
  hp.coupling_strength = 0.5;
  hp.learning_rate = 0.02;  // LMS: stable for k‖φ(ξ)‖² = 0.02 · 50 tanh²(1) = 0.58 < 2
  hp.learn_field = true;
  hp.seed = 51;
  return hp;
}

Matrix<double> sequence_patterns() {
  nlm::detail::Xoshiro256 e(52);
  Matrix<double> x = Matrix<double>::from_shape({3, 50});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = (e() & 1) ? 1.0 : -1.0;
  return x;
}

}  // namespace

TEST_CASE("the time-shifted delta rule learns a 3-pattern cycle that the noiseless dt = 1 map replays exactly") {
  SequenceMachine m(sequence_hp());
  const Matrix<double> xi = sequence_patterns();
  std::ostringstream progress;
  const auto state = nlm::learn_sequence(m, xi, nlm::TrainingOptions::for_epochs(300), nlm::SequenceOptions{},
                                         nlm::ProgressBar(progress));
  CHECK(state.updates == 900);
  CHECK(state.curve.size() == 300);
  CHECK(state.curve.back().signal_mean_square < 1e-20);
  CHECK(progress.str().find("epoch 300") != std::string::npos);

  auto net = nlm::RecurrentNetwork<nlm::Tanh, nlm::NoNoise, double>::of(m, 0.0);
  nlm::Chains<double> chains(Matrix<double>(xt::view(xi, xt::range(0, 1), xt::all())));
  nlm::EulerMaruyama em(1.0);
  double worst = 0;
  em.advance(net, chains, 30, [&](std::size_t step, const Matrix<double>& x) {
    const std::size_t want = step % 3;
    for (std::size_t i = 0; i < 50; ++i) worst = std::max(worst, std::abs(x(0, i) - xi(want, i)));
  });
  // The fit's residual is ~1e-12 after 300 cycles; 30 steps of the map amplify it at most by
  // ‖J diag φ'‖^30, still far below 1e-6.
  CHECK(worst < 1e-6);
  CHECK(nlm::asymmetry(m.couplings()) > 0.5);

  // γ = 0 stores instead: each pattern becomes a fixed point of the map.
  SequenceMachine store(sequence_hp());
  nlm::learn_sequence(store, xi, nlm::TrainingOptions::for_epochs(300), nlm::SequenceOptions{0.0});
  const auto still = nlm::RecurrentNetwork<nlm::Tanh, nlm::NoNoise, double>::of(store, 0.0).drift(xi);
  CHECK(xt::amax(xt::abs(still))() < 1e-9);
}

TEST_CASE("sequence learning resumes from a checkpoint bit for bit, and refuses another sequence") {
  const Matrix<double> xi = sequence_patterns();
  SequenceMachine straight(sequence_hp());
  nlm::learn_sequence(straight, xi, nlm::TrainingOptions::for_updates(20));

  const nlm::test::TempDir tmp;
  const auto dir = tmp.path();
  SequenceMachine first(sequence_hp());
  nlm::learn_sequence(first, xi, nlm::TrainingOptions::for_updates(8), nlm::SequenceOptions{},
                      nlm::PeriodicCheckpoint(dir / "seq.ckpt"));
  SequenceMachine second(sequence_hp());
  nlm::TrainingState s = nlm::load_checkpoint(dir / "seq.ckpt", second);
  CHECK(s.updates == 8);
  CHECK(s.batch == 2);
  s = nlm::learn_sequence(second, xi, nlm::TrainingOptions::for_updates(20), nlm::SequenceOptions{}, s);
  CHECK(s.updates == 20);
  CHECK(xt::all(xt::equal(second.couplings(), straight.couplings())));
  CHECK(xt::all(xt::equal(second.field(), straight.field())));

  Matrix<double> other = xi;
  other(1, 3) = -other(1, 3);
  CHECK_THROWS_WITH_AS(nlm::learn_sequence(second, other, nlm::TrainingOptions::for_updates(30), nlm::SequenceOptions{}, s),
                       doctest::Contains("was trained on another sequence"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::learn_sequence(second, xi, nlm::TrainingOptions::for_updates(30), nlm::SequenceOptions{1.5}),
                       "learn_sequence: next_weight (gamma) must be in [0, 1], got 1.500000", std::invalid_argument);
}

TEST_SUITE_END();
