#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <nlm/nlm.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

using nlm::Matrix;

TEST_SUITE("noise") {

// Sample moments of n i.i.d. N(0, 1) variates have known standard errors; every check below
// allows 5 of them (a false alarm about once in 1.7 million runs per check, and the seeds are
// fixed, so a pass is reproducible).
TEST_CASE_TEMPLATE("counter-based normals have the moments of N(0, 1) and no serial correlation",
                   S, float, double) {
  const std::size_t n = std::size_t(1) << 21;
  std::vector<S> z(n);
  nlm::detail::CounterNormal<S>::fill(0x1234abcdULL, 0, 0, std::span<S>(z));
  double m1 = 0, m2 = 0, m4 = 0, lag1 = 0, pair = 0, tail = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = z[i];
    m1 += v;
    m2 += v * v;
    m4 += v * v * v * v;
    if (i + 1 < n) lag1 += v * z[i + 1];
    if (i % 2 == 0) pair += v * v * z[i + 1] * z[i + 1];  // Box–Muller partners: E[a²b²] = 1
    tail += std::abs(v) > 3.0;
  }
  const double dn = double(n);
  m1 /= dn;
  m2 /= dn;
  m4 /= dn;
  lag1 /= dn - 1;
  pair /= dn / 2;
  tail /= dn;
  CHECK(std::abs(m1) < 5 * std::sqrt(1 / dn));
  CHECK(std::abs(m2 - 1) < 5 * std::sqrt(2 / dn));
  CHECK(std::abs(m4 - 3) < 5 * std::sqrt(96 / dn));  // Var z⁴ = 105 − 9
  CHECK(std::abs(lag1) < 5 * std::sqrt(1 / dn));
  CHECK(std::abs(pair - 1) < 5 * std::sqrt(8 / (dn / 2)));  // Var(a²b²) = 9 − 1
  const double p3 = std::erfc(3 / std::sqrt(2.0));         // P(|z| > 3) = 0.0027
  CHECK(std::abs(tail - p3) < 5 * std::sqrt(p3 * (1 - p3) / dn));
}

TEST_CASE_TEMPLATE("any block of a draw is the same numbers as the whole draw", S, float, double) {
  const std::size_t n = 1001;  // odd: the last pair is cut
  std::vector<S> whole(n), parts(n);
  nlm::detail::CounterNormal<S>::fill(77, 40, 0, std::span<S>(whole));
  // Blocks of awkward sizes, several starting on the second element of a pair.
  for (std::size_t first = 0, len = 1; first < n; first += len, len = len * 3 % 41 + 1) {
    const std::size_t take = std::min(len, n - first);
    nlm::detail::CounterNormal<S>::fill(77, 40, first, std::span<S>(parts.data() + first, take));
  }
  CHECK(whole == parts);
}

TEST_CASE("GaussianNoise: draws move on, and two state words resume the stream") {
  nlm::GaussianNoise a(3);
  Matrix<float> x = Matrix<float>::from_shape({5, 7}), y = x, z = x;
  a.fill(x);
  const auto saved = a.state();
  REQUIRE(saved.size() == 2);
  a.fill(y);
  CHECK(x != y);  // the counter moved on
  nlm::GaussianNoise b(99);
  b.set_state(saved);
  b.fill(z);
  CHECK(y == z);
  CHECK_THROWS_WITH_AS(b.set_state(std::vector<std::uint64_t>{1, 2, 3, 4}),
                       "GaussianNoise: expected 2 state words (key, counter), got 4",
                       std::invalid_argument);
}

TEST_CASE_TEMPLATE("span activations match the matrix ones", S, float, double) {
  const auto check = [](auto activation) {
    Matrix<S> x = Matrix<S>::from_shape({3, 37});  // ragged: not a multiple of any SIMD width
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = S(-4) + S(8) * S(i) / S(x.size());
    Matrix<S> phi = x, dphi = x, phi2 = x, dphi2 = x;
    activation.value_and_derivative(x, phi, dphi);
    activation.value_and_derivative(std::span<const S>(x.data(), x.size()),
                                    std::span<S>(phi2.data(), x.size()),
                                    std::span<S>(dphi2.data(), x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      CHECK(double(phi2.data()[i]) == doctest::Approx(double(phi.data()[i])).epsilon(1e-6));
      CHECK(double(dphi2.data()[i]) == doctest::Approx(double(dphi.data()[i])).epsilon(1e-6));
    }
  };
  check(nlm::Tanh{});
  check(nlm::ScaledTanh{1.7});
  check(nlm::Softsign{});
}

// The fused pass must be the Euler–Maruyama formula with the noise policy's next draw.
TEST_CASE_TEMPLATE("the fused Euler-Maruyama step is x + dt (R - phi' G) + sqrt(2 T dt) xi", S,
                   float, double) {
  nlm::Hyperparameters hp;
  hp.neurons = 29;
  hp.persistent_chains = 3;
  hp.temperature = 0.8;
  hp.time_step = 0.05;
  hp.seed = 4;
  hp.learn_field = true;
  using Machine =
      nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, nlm::EulerMaruyama, S>;
  Machine m(hp);
  nlm::Vector<S> b = nlm::Vector<S>::from_shape({29});
  for (std::size_t i = 0; i < 29; ++i) b(i) = S(0.1) * S(int(i % 5) - 2);
  m.set_field(b);
  Matrix<S> x = m.random_states(11);
  nlm::ForceWorkspace<S> ws;
  m.evaluate(x, ws, false);
  const Matrix<S> force = ws.residual - ws.dphi * ws.feedback;
  nlm::GaussianNoise copy = m.noise();
  Matrix<S> xi = Matrix<S>::from_shape(x.shape());
  copy.fill(xi);
  const S dt = S(hp.time_step), sigma = std::sqrt(S(2) * S(hp.temperature) * dt);
  const Matrix<S> expected = x + dt * force + sigma * xi;
  // The sampler's fused pass on chains whose workspace is evaluated at x.
  nlm::Chains<S> chains(x);
  m.evaluate(chains.states(), chains.workspace(), false);
  nlm::EulerMaruyama(hp.time_step).fused_step(m, chains);
  x = chains.states();
  for (std::size_t i = 0; i < x.size(); ++i)
    CHECK(double(x.data()[i]) == doctest::Approx(double(expected.data()[i])).epsilon(1e-6));
  // ...and leave the workspace prepared for the new states.
  nlm::ForceWorkspace<S> fresh;
  m.prepare(x, fresh);
  CHECK(chains.workspace().phi == fresh.phi);
  CHECK(chains.workspace().dphi == fresh.dphi);
  CHECK(chains.workspace().residual == fresh.residual);
}

#ifdef _OPENMP
// The promise (docs/reliability.md): for one BLAS (build, kernels, thread count), nlm's own
// thread count never changes a bit. OpenBLAS's OpenMP build follows OpenMP's thread count, so
// that count stays fixed here while nlm's changes.
TEST_CASE("sampling and training give the same bits on one nlm thread and on several") {
  nlm::Hyperparameters hp;
  hp.neurons = 784;
  hp.persistent_chains = 100;  // 78 400 states: above the threshold for splitting the pass
  hp.batch_size = 100;
  hp.langevin_steps = 2;
  hp.chain_restart = 0.1;
  hp.seed = 12;
  nlm::PaperMachine source(hp);
  const Matrix<float> data = xt::tanh(source.random_states(200));
  const auto run = [&](int threads) {
    nlm::set_threads(threads);
    nlm::PaperMachine m(hp);
    Matrix<float> x = m.random_states(100);
    m.sample(x, 5);
    nlm::TrainingOptions o = nlm::TrainingOptions::for_updates(3);
    o.handle_signals = false;
    nlm::train(m, data, o);
    nlm::set_threads(0);
    return std::pair{x, m.couplings()};
  };
  const auto one = run(1), three = run(3);
  CHECK(nlm::threads() == omp_get_max_threads());
  CHECK(one.first == three.first);
  CHECK(one.second == three.second);
  CHECK_THROWS_WITH(nlm::set_threads(-3), "nlm::set_threads: thread count must be >= 0, got -3");
}
#endif

}  // TEST_SUITE
