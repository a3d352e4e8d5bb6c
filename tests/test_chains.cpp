// The seams of the architecture (issue 11): Chains (clamp, per-chain temperature, restarts),
// the DriftModel/EnergyModel split, the product backend behind Couplings, step rules as
// policies.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>

#include <nlm/nlm.hpp>

#include "support/ornstein_uhlenbeck.hpp"
#include "test_support.hpp"

using nlm::Matrix;
using nlm::Vector;

TEST_SUITE_BEGIN("chains");

static_assert(nlm::DriftModel<OrnsteinUhlenbeck>);
static_assert(!nlm::EnergyModel<OrnsteinUhlenbeck>);
static_assert(nlm::EnergyModel<nlm::PaperMachine>);

// Euler–Maruyama on the drift-only Ornstein–Uhlenbeck model, dx = −x dt + √(2T_c) dW, is the
// AR(1) map x' = (1 − Δt)x + √(2T_cΔt) ξ, whose stationary variance is exactly
//   v = 2T_cΔt / (1 − (1 − Δt)²) = 2T_c / (2 − Δt).
// From x = 0 the variance after k steps is v(1 − (1 − Δt)^{2k}); k = 300, Δt = 0.1 leaves
// 0.9^600 ≈ 2e-28 of it out. The chains are independent, so the sample variance of n of them
// has relative standard error √(2/(n − 1)) (normal data): n = 20 000 per temperature gives
// 0.0100; we allow 4 of them. The sample mean has standard error √(v/n); we allow 4.
TEST_CASE("Euler-Maruyama on a drift-only model: per-chain temperatures, clamped coordinates untouched") {
  const std::size_t n = 20000;
  const double dt = 0.1;
  OrnsteinUhlenbeck model;
  Matrix<double> x = Matrix<double>::from_shape({2 * n, 2});
  x.fill(0.0);
  nlm::Chains<double> chains(x);
  Vector<double> t = Vector<double>::from_shape({2 * n});
  for (std::size_t c = 0; c < 2 * n; ++c) t(c) = c < n ? 1.0 : 4.0;
  chains.set_temperatures(t);
  xt::xtensor<std::uint8_t, 2> mask = {{0, 1}};
  Matrix<double> values = {{0.0, 0.7}};
  chains.clamp(mask, values);
  nlm::EulerMaruyama(dt).advance(model, chains, 300);

  for (const double temperature : {1.0, 4.0}) {
    const std::size_t first = temperature == 1.0 ? 0 : n;
    double sum = 0, sum2 = 0;
    for (std::size_t c = first; c < first + n; ++c) sum += chains.states()(c, 0);
    const double mean = sum / double(n);
    for (std::size_t c = first; c < first + n; ++c) sum2 += (chains.states()(c, 0) - mean) * (chains.states()(c, 0) - mean);
    const double var = sum2 / double(n - 1);
    const double exact = 2 * temperature / (2 - dt);
    MESSAGE("T = " << temperature << ": variance " << var << ", exact " << exact << ", mean " << mean);
    CHECK(std::abs(var / exact - 1) < 4 * std::sqrt(2.0 / double(n - 1)));
    CHECK(std::abs(mean) < 4 * std::sqrt(exact / double(n)));
  }
  for (std::size_t c = 0; c < 2 * n; ++c) REQUIRE(chains.states()(c, 1) == 0.7);
}

TEST_CASE("clamped coordinates of the machine's chains keep their bits under Euler-Maruyama and MALA") {
  nlm::Hyperparameters hp = nlm::test::small_hyperparameters();
  using Em = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, nlm::EulerMaruyama, double>;
  using Mala = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, nlm::Mala, double>;
  auto check = [&](auto& machine) {
    nlm::Chains<double> chains(machine.random_states(6));
    xt::xtensor<std::uint8_t, 2> mask = xt::zeros<std::uint8_t>({std::size_t(6), hp.neurons});
    Matrix<double> values = xt::zeros<double>({std::size_t(6), hp.neurons});
    for (std::size_t c = 0; c < 6; ++c)
      for (std::size_t j = 0; j < hp.neurons; j += 3) {
        mask(c, j) = 1;
        values(c, j) = 0.1 * double(c) - 0.3 + 1e-17 * double(j);
      }
    chains.clamp(mask, values);
    const Matrix<double> before = chains.states();
    machine.sample(chains, 200);
    std::size_t moved = 0;
    for (std::size_t c = 0; c < 6; ++c)
      for (std::size_t j = 0; j < hp.neurons; ++j) {
        if (mask(c, j))
          REQUIRE(chains.states()(c, j) == values(c, j));
        else
          moved += chains.states()(c, j) != before(c, j);
      }
    CHECK(moved == 6 * (hp.neurons - 4));  // every free coordinate moved
  };
  Em em(hp);
  check(em);
  Mala mala(hp);
  check(mala);
}

TEST_CASE("a clamp or temperatures of the wrong size are refused with both sizes named") {
  nlm::Chains<float> chains(Matrix<float>::from_shape({4, 5}));
  CHECK_THROWS_WITH_AS(chains.clamp(xt::xtensor<std::uint8_t, 2>::from_shape({1, 3}), Matrix<float>::from_shape({1, 5})),
                       "Chains::clamp: the clamp mask has 3 columns, the chains have 5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(chains.clamp(xt::xtensor<std::uint8_t, 2>::from_shape({1, 5}), Matrix<float>::from_shape({1, 6})),
                       "Chains::clamp: the clamp values has 6 columns, the chains have 5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(chains.clamp(xt::xtensor<std::uint8_t, 2>::from_shape({2, 5}), Matrix<float>::from_shape({2, 5})),
                       "Chains::clamp: the clamp mask has 2 rows, expected 1 or 4 (one per chain)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(chains.set_temperatures(Vector<float>::from_shape({3})),
                       "Chains::set_temperatures: 3 temperatures for 4 chains", std::invalid_argument);
  CHECK_FALSE(chains.clamped());
}

// A shared mask over different images (completion) and per-chain masks over shared values:
// each chain holds its own values where its mask says, and nothing else is touched.
TEST_CASE("a clamp's mask and values each have one row per chain or one shared row") {
  OrnsteinUhlenbeck model;
  Matrix<double> x = Matrix<double>::from_shape({3, 2});
  x.fill(0.0);
  {
    nlm::Chains<double> chains(x);
    const xt::xtensor<std::uint8_t, 2> shared_mask = {{0, 1}};
    const Matrix<double> per_chain = {{9.0, 0.1}, {9.0, 0.2}, {9.0, 0.3}};
    chains.clamp(shared_mask, per_chain);
    nlm::EulerMaruyama(0.1).advance(model, chains, 20);
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(chains.states()(c, 1) == per_chain(c, 1));
      CHECK(chains.states()(c, 0) != 9.0);  // unclamped: moved by the dynamics, not set
    }
  }
  {
    nlm::Chains<double> chains(x);
    const xt::xtensor<std::uint8_t, 2> per_chain_mask = {{1, 0}, {0, 1}, {1, 1}};
    const Matrix<double> shared_values = {{0.5, -0.5}};
    chains.clamp(per_chain_mask, shared_values);
    nlm::EulerMaruyama(0.1).advance(model, chains, 20);
    CHECK(chains.states()(0, 0) == 0.5);
    CHECK(chains.states()(1, 1) == -0.5);
    CHECK(chains.states()(2, 0) == 0.5);
    CHECK(chains.states()(2, 1) == -0.5);
    CHECK(chains.states()(0, 1) != -0.5);
    CHECK(chains.states()(1, 0) != 0.5);
  }
}

TEST_CASE("chain restarts: probability 1 redraws every chain from the stream, 0 none (one draw each)") {
  nlm::Chains<double> chains(Matrix<double>::from_shape({3, 4}));
  chains.states().fill(5.0);
  nlm::detail::Xoshiro256 a(11), b(11);
  chains.restart(a, 0.0);
  CHECK(xt::all(xt::equal(chains.states(), 5.0)));
  for (int i = 0; i < 3; ++i) b();  // one uniform per chain
  CHECK(a() == b());
  chains.restart(a, 1.0);
  CHECK(xt::all(xt::not_equal(chains.states(), 5.0)));
}

namespace {
// A backend that does the BLAS products and counts how often J was refreshed.
struct CountingBackend : nlm::BlasProducts {
  int* refreshes;
  explicit CountingBackend(int* r = nullptr) : refreshes(r) {}
  template <nlm::Scalar S>
  void refresh(const Matrix<S>&) noexcept {
    if (refreshes) ++*refreshes;
  }
};
}  // namespace

TEST_CASE("every change of J reaches the product backend, and a backend type or a step rule type gives the same bits") {
  nlm::Hyperparameters hp = nlm::test::small_hyperparameters();
  hp.step_rule = nlm::Hyperparameters::StepRule::adam;
  const Matrix<double> data = nlm::test::toy_data<double>();
  const Matrix<double> batch = xt::view(data, xt::range(0, 5), xt::all());
  int refreshes = 0;
  nlm::test::TrainingMachine<double> plain(hp);
  nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, nlm::EulerMaruyama, double,
                       CountingBackend, nlm::Adam<double>>
      counted(hp, nlm::Tanh(), nlm::GaussianNoise(), nlm::WeightDecay(), nlm::EulerMaruyama(), CountingBackend(&refreshes));
  CHECK(refreshes == 1);  // J drawn
  for (int u = 0; u < 4; ++u) {
    plain.update(batch);
    counted.update(batch);
  }
  CHECK(refreshes == 5);  // one per update
  counted.set_couplings(counted.couplings());
  CHECK(refreshes == 6);
  CHECK(plain.couplings() == counted.couplings());
  CHECK(plain.step_rule().adam().state().couplings.second == counted.step_rule().state().couplings.second);
  CHECK(plain.persistent_chains() == counted.persistent_chains());
}

TEST_SUITE_END();
