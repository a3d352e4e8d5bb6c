#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <nlm/nlm.hpp>

#include "test_support.hpp"

using nlm::Matrix;

TEST_SUITE("machine") {

TEST_CASE_TEMPLATE("force is minus the gradient of the energy (central differences)", S, float,
                   double) {
  const auto check = [](auto activation) {
    nlm::Hyperparameters hp;
    hp.neurons = 7;
    hp.persistent_chains = 2;
    hp.coupling_strength = 1.5;
    hp.seed = 11;
    nlm::LangevinMachine<decltype(activation), nlm::GaussianNoise, nlm::WeightDecay,
                         nlm::EulerMaruyama, S>
        m(hp, activation);
    // A random asymmetric J with a non-zero diagonal (the machine zeroes it at init only).
    Matrix<S> j = m.random_states(7) * S(0.6);
    m.set_couplings(j);
    Matrix<S> x = m.random_states(3) * S(0.8);
    const Matrix<S> f = m.force(x);
    const double h = nlm::test::fd_step<S>();
    for (std::size_t b = 0; b < x.shape(0); ++b)
      for (std::size_t i = 0; i < x.shape(1); ++i) {
        Matrix<S> xp = x, xm = x;
        xp(b, i) += S(h);
        xm(b, i) -= S(h);
        const double numeric = (double(m.energy(xp)(b)) - double(m.energy(xm)(b))) / (2 * h);
        CHECK(double(f(b, i)) == doctest::Approx(-numeric).epsilon(nlm::test::fd_tolerance<S>()).scale(1.0));
      }
  };
  SUBCASE("tanh") { check(nlm::Tanh{}); }
  SUBCASE("scaled tanh") { check(nlm::ScaledTanh{1.7}); }
  SUBCASE("softsign") { check(nlm::Softsign{}); }
}

TEST_CASE_TEMPLATE("data statistics are -(1/T) d<E>/dJ (central differences)", S, float, double) {
  nlm::Hyperparameters hp;
  hp.neurons = 6;
  hp.persistent_chains = 1;
  hp.temperature = 0.7;
  hp.seed = 5;
  nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, nlm::EulerMaruyama, S> m(hp);
  Matrix<S> j = m.random_states(6) * S(0.5);
  m.set_couplings(j);
  const Matrix<S> batch = m.random_states(9);
  Matrix<S> d = Matrix<S>::from_shape({6, 6});
  m.data_statistics(batch, d);
  const double h = nlm::test::fd_step<S>();
  const auto mean_energy = [&](const Matrix<S>& jj) {
    m.set_couplings(jj);
    const auto e = m.energy(batch);
    double s = 0;
    for (auto v : e) s += double(v);
    return s / double(e.size());
  };
  for (std::size_t a = 0; a < 6; ++a)
    for (std::size_t c = 0; c < 6; ++c) {
      Matrix<S> jp = j, jm = j;
      jp(a, c) += S(h);
      jm(a, c) -= S(h);
      const double grad = (mean_energy(jp) - mean_energy(jm)) / (2 * h);
      CHECK(double(d(a, c)) == doctest::Approx(-grad / hp.temperature).epsilon(nlm::test::fd_tolerance<S>()).scale(1.0));
    }
}

}  // TEST_SUITE
