#include <doctest/doctest.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>

namespace {

// An activation that forgot φ'.
struct ValueOnly {
  template <nlm::Scalar S>
  void value(const nlm::Matrix<S>&, nlm::Matrix<S>&) const {}
};

// A noise policy that cannot be checkpointed.
struct StatelessNoise {
  static constexpr bool deterministic = false;
  template <nlm::Scalar S>
  void fill(nlm::Matrix<S>&) {}
};

// A noise policy without the deterministic flag.
struct NoFlagNoise {
  void seed(std::uint64_t) {}
  std::vector<std::uint64_t> state() const { return {}; }
  void set_state(std::span<const std::uint64_t>) {}
  template <nlm::Scalar S>
  void fill(nlm::Matrix<S>&) {}
};

// A regularizer with no constraint hook.
struct StepOnly {
  template <nlm::Scalar S>
  void add_to_step(const nlm::Matrix<S>&, nlm::Matrix<S>&) const {}
};

// A sampler that advances but cannot save its state.
struct Forgetful {
  template <class M, class O>
  void advance(M&, nlm::Matrix<typename M::scalar_type>&, std::size_t, O&&) {}
};

}  // namespace

// Shipped policies model their concepts, for both scalar types.
static_assert(nlm::Activation<nlm::Tanh, float> && nlm::Activation<nlm::Tanh, double>);
static_assert(nlm::Activation<nlm::ScaledTanh, float> && nlm::Activation<nlm::Softsign, double>);
static_assert(nlm::Noise<nlm::GaussianNoise, float> && nlm::Noise<nlm::NoNoise, double>);
static_assert(nlm::Regularizer<nlm::WeightDecay, float> && nlm::Regularizer<nlm::NoRegularizer, double>);
static_assert(nlm::Regularizer<nlm::ZeroDiagonal<nlm::WeightDecay>, float>);
static_assert(nlm::Sampler<nlm::EulerMaruyama, float> && nlm::Sampler<nlm::Mala, double>);
static_assert(nlm::EnergyModel<nlm::PaperMachine>);  // the learner forwards its model's members
static_assert(nlm::EnergyModel<nlm::LangevinModel<>> && nlm::EnergyModel<nlm::LangevinModel<nlm::Tanh, nlm::GaussianNoise, double>>);
static_assert(nlm::DriftModel<nlm::RecurrentNetwork<>> && !nlm::EnergyModel<nlm::RecurrentNetwork<>>);

// Broken ones do not.
static_assert(!nlm::Activation<ValueOnly, float>);
static_assert(!nlm::Noise<StatelessNoise, float>);
static_assert(!nlm::Noise<NoFlagNoise, float>);
static_assert(!nlm::Regularizer<StepOnly, float>);
static_assert(!nlm::Sampler<Forgetful, float>);
static_assert(!nlm::Activation<int, float>);

TEST_SUITE("concepts") {

TEST_CASE("the paper alias is the documented configuration") {
  static_assert(std::is_same_v<nlm::PaperMachine,
                               nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay,
                                                    nlm::EulerMaruyama, float>>);
  nlm::PaperMachine m{nlm::Hyperparameters{}};
  CHECK(m.neurons() == 784);
  CHECK(m.regularizer().lambda() == doctest::Approx(2e-6));
  // J ~ N(0, g²/N) with zero diagonal (Table 1: g = 2).
  double sum2 = 0;
  for (std::size_t i = 0; i < 784; ++i) {
    CHECK(m.couplings()(i, i) == 0.0f);
    for (std::size_t j = 0; j < 784; ++j) sum2 += double(m.couplings()(i, j)) * m.couplings()(i, j);
  }
  // Variance estimate from 784·783 draws: relative standard error √(2/n) ≈ 0.002.
  CHECK(sum2 / (784.0 * 783.0) == doctest::Approx(4.0 / 784.0).epsilon(0.01));
}

TEST_CASE("hyperparameters are validated with their name and value") {
  const auto message = [](auto mutate) {
    nlm::Hyperparameters hp;
    hp.neurons = 3;
    hp.persistent_chains = 2;
    mutate(hp);
    try {
      nlm::PaperMachine m(hp);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message([](auto& h) { h.time_step = 0; }) ==
        "Hyperparameters: time_step (dt) must be finite and > 0, got 0");
  CHECK(message([](auto& h) { h.time_step = -0.5; }) ==
        "Hyperparameters: time_step (dt) must be finite and > 0, got -0.5");
  CHECK(message([](auto& h) { h.temperature = -1; }) ==
        "Hyperparameters: temperature (T) must be finite and >= 0, got -1");
  CHECK(message([](auto& h) { h.temperature = std::numeric_limits<double>::quiet_NaN(); }) ==
        "Hyperparameters: temperature (T) must be finite and >= 0, got nan");
  CHECK(message([](auto& h) { h.learning_rate = std::numeric_limits<double>::infinity(); }) ==
        "Hyperparameters: learning_rate (k) must be finite and > 0, got inf");
  CHECK(message([](auto& h) { h.neurons = 0; }) == "Hyperparameters: neurons (N) must be > 0, got 0");
  CHECK(message([](auto& h) { h.persistent_chains = 0; }) ==
        "Hyperparameters: persistent_chains (N_model) must be > 0, got 0");
  CHECK(message([](auto& h) { h.batch_size = 0; }) == "Hyperparameters: batch_size (b_size) must be > 0, got 0");
  CHECK(message([](auto& h) { h.langevin_steps = 0; }) ==
        "Hyperparameters: langevin_steps (n_t) must be > 0, got 0");
  CHECK(message([](auto& h) { h.coupling_strength = -2; }) ==
        "Hyperparameters: coupling_strength (g) must be finite and >= 0, got -2");
  CHECK(message([](auto&) {}) == "no error");
  CHECK_THROWS_WITH(nlm::WeightDecay(1.5), "WeightDecay: weight_decay (lambda) must be in [0, 1), got 1.500000");
  CHECK_THROWS_WITH(nlm::ScaledTanh(0.0), "ScaledTanh: gain must be finite and > 0, got 0.000000");
}

TEST_CASE("shape errors name the offending input") {
  nlm::Hyperparameters hp;
  hp.neurons = 4;
  hp.persistent_chains = 2;
  nlm::PaperMachine m(hp);
  CHECK_THROWS_WITH(m.set_couplings(nlm::Matrix<float>::from_shape({4, 3})),
                    "LangevinMachine: couplings must be 4x4, got 4x3");
  nlm::Matrix<float> x = nlm::Matrix<float>::from_shape({2, 5});
  CHECK_THROWS_WITH(m.energy(x), "LangevinMachine: batch has 5 columns, the machine has 4 neurons");
  nlm::Matrix<float> j = m.couplings();
  j(1, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(m.set_couplings(j), nlm::numerical_error);
  CHECK_THROWS_WITH(m.set_couplings(j),
                    "LangevinMachine: couplings contain a non-finite value at flat index 6");
}

}  // TEST_SUITE
