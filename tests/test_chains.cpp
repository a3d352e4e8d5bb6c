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

// Annealed sampling (nlm/sampler/annealed.hpp) on the Ornstein–Uhlenbeck model: Euler–Maruyama
// is the AR(1) map x' = (1 − Δt)x + √(2T_nΔt) ξ, so from x = 0 the variance of independent
// chains follows exactly v_{n+1} = (1 − Δt)² v_n + 2T_nΔt with T_n the schedule's temperature at
// step n. n = 20 000 chains: the sample variance's relative standard error is √(2/(n − 1)) =
// 0.0100 (normal data); 4 of them are allowed at each of the checked steps.
TEST_CASE("annealed sampling: the schedule's temperatures, seen in the exact variance recursion") {
  const std::size_t n = 20000, steps = 230;
  const double dt = 0.1;
  OrnsteinUhlenbeck model;
  model.n = 1;
  model.t = 1.0;
  nlm::Chains<double> chains(Matrix<double>(xt::zeros<double>({n, std::size_t(1)})));
  const nlm::AnnealSchedule schedule{4.0, 200, 50};  // blocks at 4^(3/4), 4^(1/2), 4^(1/4), 1
  CHECK(nlm::anneal_temperature(schedule, 1.0, 0) == doctest::Approx(std::pow(4.0, 0.75)));
  CHECK(nlm::anneal_temperature(schedule, 1.0, 3) == doctest::Approx(1.0));
  std::vector<double> exact(steps + 1, 0.0);
  for (std::size_t s = 0; s < steps; ++s) {
    const double t = s < 200 ? nlm::anneal_temperature(schedule, 1.0, s / 50) : 1.0;
    exact[s + 1] = (1 - dt) * (1 - dt) * exact[s] + 2 * t * dt;
  }
  std::vector<std::size_t> seen;
  std::vector<std::pair<std::size_t, double>> variances;
  nlm::EulerMaruyama sampler(dt);
  nlm::advance_annealed(sampler, model, chains, steps, schedule, [&](std::size_t step, const Matrix<double>& x) {
    seen.push_back(step);
    if (step == 50 || step == 100 || step == 150 || step == 200 || step == 230) {
      double sum = 0, sum2 = 0;
      for (std::size_t c = 0; c < n; ++c) sum += x(c, 0);
      for (std::size_t c = 0; c < n; ++c) sum2 += (x(c, 0) - sum / double(n)) * (x(c, 0) - sum / double(n));
      variances.emplace_back(step, sum2 / double(n - 1));
    }
  });
  REQUIRE(seen.size() == steps);
  for (std::size_t s = 0; s < steps; ++s) REQUIRE(seen[s] == s + 1);
  REQUIRE(variances.size() == 5);
  for (const auto& [step, var] : variances) {
    MESSAGE("step " << step << ": variance " << var << ", exact " << exact[step]);
    CHECK(std::abs(var / exact[step] - 1) < 4 * std::sqrt(2.0 / double(n - 1)));
  }
  // Cooling is seen: the variance at the end of the first block is well above the T = 1
  // stationary value 2/(2 − Δt) = 1.053, the last one is near it.
  CHECK(exact[50] > 2.5);
  CHECK(!chains.has_temperatures());
}

TEST_CASE("annealed sampling from the model's own temperature is plain sampling, bit for bit; bad schedules are refused") {
  OrnsteinUhlenbeck a, b;
  a.n = b.n = 3;
  a.t = b.t = 0.7;
  nlm::Chains<double> ca(Matrix<double>(xt::zeros<double>({std::size_t(5), std::size_t(3)})));
  nlm::Chains<double> cb(ca.states());
  nlm::EulerMaruyama sa(0.05), sb(0.05);
  nlm::advance_annealed(sa, a, ca, 120, {0.7, 100, 30});
  sb.advance(b, cb, 120);
  CHECK(xt::all(xt::equal(ca.states(), cb.states())));
  const auto refused = [&](nlm::AnnealSchedule s, std::size_t steps) {
    try {
      nlm::advance_annealed(sa, a, ca, steps, s);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused({2.0, 200, 50}, 100) == "advance_annealed: 200 annealing steps in a run of 100");
  CHECK(refused({0.0, 10, 5}, 100) == "advance_annealed: the starting temperature must be finite and > 0, got 0.000000");
  CHECK(refused({2.0, 10, 0}, 100) == "advance_annealed: the block must be > 0 steps");
}

// DataRestarts (training/callbacks/data_restarts.hpp). Counts: each chain restarts with
// probability p independently, so the count of n chains is Binomial(n, p), standard deviation
// √(np(1 − p)); a restart's row is uniform over the pool's r rows, so each row's count among m
// restarts is Binomial(m, 1/r). 4 standard deviations are allowed. The noise: m·N values of
// N(0, σ²); the sample variance's relative standard error is √(2/(mN − 1)).
TEST_CASE("restarts from data: the fraction, a uniform row of the batch, the noise's variance, one stream per update") {
  const std::size_t chains_n = 20000, n = 4;
  Matrix<float> pool = {{1, 2, 3, 4}, {-1, -2, -3, -4}, {0.5f, 0.5f, 0.5f, 0.5f}};
  nlm::Chains<float> chains(Matrix<float>(xt::zeros<float>({chains_n, n}) + 9.0f));
  nlm::DataRestarts<float> none({0.0, 0.5, 3});
  none.restart(chains, pool, 0);
  CHECK(xt::all(xt::equal(chains.states(), 9.0f)));
  CHECK(none.restarted() == 0);

  nlm::DataRestarts<float> exact({1.0, 0.0, 3});
  exact.restart(chains, pool, 0);
  std::size_t counts[3] = {0, 0, 0};
  for (std::size_t c = 0; c < chains_n; ++c) {
    int row = -1;
    for (int r = 0; r < 3; ++r)
      if (xt::all(xt::equal(xt::view(chains.states(), c, xt::all()), xt::view(pool, r, xt::all())))) row = r;
    REQUIRE(row >= 0);
    ++counts[row];
  }
  const double sd_row = std::sqrt(double(chains_n) * (1.0 / 3) * (2.0 / 3));
  for (const std::size_t k : counts) CHECK(std::abs(double(k) - double(chains_n) / 3) < 4 * sd_row);
  CHECK(exact.restarted() == chains_n);

  chains.states().fill(9.0f);
  const double p = 0.1;
  nlm::DataRestarts<float> some({p, 0.5, 3});
  some.restart(chains, Matrix<float>(xt::zeros<float>({std::size_t(1), n})), 7);
  std::size_t restarted = 0;
  double sum = 0, sum2 = 0;
  for (std::size_t c = 0; c < chains_n; ++c) {
    if (chains.states()(c, 0) == 9.0f) continue;
    ++restarted;
    for (std::size_t j = 0; j < n; ++j) sum += chains.states()(c, j), sum2 += double(chains.states()(c, j)) * chains.states()(c, j);
  }
  CHECK(some.restarted() == restarted);
  CHECK(std::abs(double(restarted) - p * double(chains_n)) < 4 * std::sqrt(double(chains_n) * p * (1 - p)));
  const double m = double(restarted * n), var = (sum2 - sum * sum / m) / (m - 1);
  MESSAGE(restarted << " restarted of " << chains_n << "; noise variance " << var << " (0.25 expected)");
  CHECK(std::abs(var / 0.25 - 1) < 4 * std::sqrt(2.0 / (m - 1)));
  CHECK(std::abs(sum / m) < 4 * std::sqrt(0.25 / m));

  // The stream is (seed, update): the same update repeats, the next one differs.
  nlm::Chains<float> a(Matrix<float>(xt::zeros<float>({std::size_t(50), n}))), b(a.states()), c(a.states());
  nlm::DataRestarts<float> r({0.5, 0.5, 3});
  r.restart(a, pool, 12);
  r.restart(b, pool, 12);
  r.restart(c, pool, 13);
  CHECK(xt::all(xt::equal(a.states(), b.states())));
  CHECK(!xt::all(xt::equal(a.states(), c.states())));
}

TEST_CASE("restarts from data: bad options, a batch of the wrong width and clamped chains are refused by name") {
  const auto message = [](auto&& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(message([] { nlm::DataRestarts<float>({1.5, 0.5, 0}); }) == "DataRestarts: fraction must be in [0, 1], got 1.500000");
  CHECK(message([] { nlm::DataRestarts<float>({0.1, -1.0, 0}); }) == "DataRestarts: noise must be finite and >= 0, got -1.000000");
  nlm::DataRestarts<float> r({0.5, 0.5, 0});
  nlm::Chains<float> chains(Matrix<float>(xt::zeros<float>({std::size_t(4), std::size_t(3)})));
  CHECK(message([&] { r.restart(chains, Matrix<float>(xt::zeros<float>({std::size_t(2), std::size_t(5)})), 0); }) ==
        "DataRestarts: the batch has 5 units, the chains 3");
  xt::xtensor<std::uint8_t, 2> mask = {{1, 0, 0}};
  chains.clamp(mask, Matrix<float>{{0.5f, 0.0f, 0.0f}});
  CHECK(message([&] { r.restart(chains, Matrix<float>(xt::zeros<float>({std::size_t(2), std::size_t(3)})), 0); }) ==
        "DataRestarts: the persistent chains are clamped; a restart would overwrite the clamp");
}

TEST_CASE("restarts from data through train: every update's batch reaches the callback before the model phase") {
  nlm::Hyperparameters hp;
  hp.neurons = 6;
  hp.persistent_chains = 8;
  hp.batch_size = 4;
  hp.langevin_steps = 2;
  hp.seed = 5;
  nlm::PaperMachine machine(hp);
  Matrix<float> data = xt::zeros<float>({std::size_t(12), std::size_t(6)});
  for (std::size_t i = 0; i < data.size(); ++i) data.data()[i] = float(i % 7) / 7.0f - 0.5f;
  nlm::DataRestarts<float> restarts({1.0, 0.0, 5});
  nlm::TrainingState state = nlm::initial_training_state(machine);
  nlm::TrainingOptions options = nlm::TrainingOptions::for_epochs(1);
  options.max_updates = 3;
  state = nlm::train(machine, data, options, state, restarts);
  CHECK(state.updates == 3);
  CHECK(restarts.restarted() == 3 * hp.persistent_chains);
}
