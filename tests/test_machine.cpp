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

TEST_SUITE("field") {

template <class S>
using FieldMachine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay,
                                          nlm::EulerMaruyama, S>;

template <class S>
FieldMachine<S> machine_with_field(double temperature) {
  nlm::Hyperparameters hp;
  hp.neurons = 6;
  hp.persistent_chains = 3;
  hp.temperature = temperature;
  hp.learn_field = true;
  hp.seed = 21;
  FieldMachine<S> m(hp);
  m.set_couplings(m.random_states(6) * S(0.5));
  nlm::Vector<S> b = xt::view(m.random_states(1), 0, xt::all());
  m.set_field(b);
  return m;
}

TEST_CASE_TEMPLATE("with a field the force is still minus the gradient of the energy", S, float, double) {
  auto m = machine_with_field<S>(1.0);
  Matrix<S> x = m.random_states(2);
  const Matrix<S> f = m.force(x);
  const double h = nlm::test::fd_step<S>();
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 6; ++i) {
      Matrix<S> xp = x, xm = x;
      xp(b, i) += S(h);
      xm(b, i) -= S(h);
      const double numeric = (double(m.energy(xp)(b)) - double(m.energy(xm)(b))) / (2 * h);
      CHECK(double(f(b, i)) == doctest::Approx(-numeric).epsilon(nlm::test::fd_tolerance<S>()).scale(1.0));
    }
  // The field really enters the energy: E(x) = ½‖x − Jφ(x) − b‖².
  auto plain = machine_with_field<S>(1.0);
  plain.set_field(xt::zeros<S>({std::size_t(6)}));
  CHECK(double(plain.energy(x)(0)) != doctest::Approx(double(m.energy(x)(0))));
}

TEST_CASE_TEMPLATE("field and coupling statistics are -(1/T) d<E>/db and -(1/T) d<E>/dJ", S, float, double) {
  const double temperature = 0.6;
  auto m = machine_with_field<S>(temperature);
  const Matrix<S> batch = m.random_states(7);
  nlm::Vector<S> fb;
  m.field_statistics(batch, fb);
  Matrix<S> d = Matrix<S>::from_shape({6, 6});
  m.data_statistics(batch, d);
  const nlm::Vector<S> b0 = m.field();
  const Matrix<S> j0 = m.couplings();
  const auto mean_energy = [&](const Matrix<S>& j, const nlm::Vector<S>& b) {
    m.set_couplings(j);
    m.set_field(b);
    double s = 0;
    for (auto v : m.energy(batch)) s += double(v);
    return s / double(batch.shape(0));
  };
  const double h = nlm::test::fd_step<S>();
  for (std::size_t i = 0; i < 6; ++i) {
    nlm::Vector<S> bp = b0, bm = b0;
    bp(i) += S(h);
    bm(i) -= S(h);
    const double grad = (mean_energy(j0, bp) - mean_energy(j0, bm)) / (2 * h);
    CHECK(double(fb(i)) == doctest::Approx(-grad / temperature).epsilon(nlm::test::fd_tolerance<S>()).scale(1.0));
    for (std::size_t c = 0; c < 6; ++c) {
      Matrix<S> jp = j0, jm = j0;
      jp(i, c) += S(h);
      jm(i, c) -= S(h);
      const double gj = (mean_energy(jp, b0) - mean_energy(jm, b0)) / (2 * h);
      CHECK(double(d(i, c)) == doctest::Approx(-gj / temperature).epsilon(nlm::test::fd_tolerance<S>()).scale(1.0));
    }
  }
}

TEST_CASE("the update moves the field by -k times its learning signal, and not without learn_field") {
  auto m = machine_with_field<double>(1.0);
  const nlm::Vector<double> before = m.field();
  const Matrix<double> batch = m.random_states(4);
  m.update(batch);
  const nlm::Vector<double> expected = before - m.hyperparameters().learning_rate * m.field_signal();
  for (std::size_t i = 0; i < 6; ++i) CHECK(m.field()(i) == doctest::Approx(expected(i)).epsilon(1e-12));
  CHECK(xt::amax(xt::abs(m.field_signal()))() > 0.0);

  nlm::Hyperparameters hp = m.hyperparameters();
  hp.learn_field = false;
  FieldMachine<double> paper(hp);
  paper.update(paper.random_states(4));
  CHECK(xt::amax(xt::abs(paper.field()))() == 0.0);
  CHECK(xt::amax(xt::abs(paper.field_signal()))() == 0.0);
}

TEST_CASE_TEMPLATE("an update from the dataset's moments equals an update on the whole dataset as one batch",
                   S, float, double) {
  for (const bool field : {false, true}) {
    CAPTURE(field);
    nlm::Hyperparameters hp;
    hp.neurons = 12;
    hp.persistent_chains = 5;
    hp.batch_size = 40;
    hp.temperature = 0.8;
    hp.learning_rate = 0.01;
    hp.learn_field = field;
    hp.seed = 21;
    using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay,
                                         nlm::EulerMaruyama, S>;
    Machine a(hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{1e-3}),
        b(hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{1e-3});
    const Matrix<S> data = a.random_states(2500);  // more than one block of 1000 rows
    const auto moments = b.data_moments(data);
    CHECK(moments.count == 2500);
    for (int u = 0; u < 3; ++u) {
      const double ga = a.update(data), gb = b.update(moments);
      CHECK(gb == doctest::Approx(ga).epsilon(1e-4));
    }
    for (std::size_t i = 0; i < a.couplings().size(); ++i)
      CHECK(double(b.couplings().data()[i]) ==
            doctest::Approx(double(a.couplings().data()[i])).epsilon(1e-4).scale(1e-3));
    for (std::size_t i = 0; i < a.field().size(); ++i)
      CHECK(double(b.field()(i)) == doctest::Approx(double(a.field()(i))).epsilon(1e-4).scale(1e-3));
  }
}

TEST_CASE("data moments must match the machine's size") {
  nlm::Hyperparameters hp;
  hp.neurons = 6;
  hp.persistent_chains = 2;
  nlm::PaperMachine m(hp);
  nlm::Hyperparameters big = hp;
  big.neurons = 7;
  nlm::PaperMachine other(big);
  const auto moments = other.data_moments(other.random_states(3));
  CHECK_THROWS_WITH_AS(m.update(moments),
                       "LangevinMachine::update: the data moments are for 7 neurons, the machine has 6",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.data_moments(Matrix<float>::from_shape({0, 6})),
                       "LangevinMachine::data_moments: the dataset is empty", std::invalid_argument);
}

TEST_CASE("setting J, b and the persistent chains writes into their buffers, which stay where they are") {
  // The Python module hands out read-only NumPy views of these buffers (kept alive by their
  // machine): a setter or a checkpoint's load that moved them would leave the views dangling.
  nlm::Hyperparameters hp;
  hp.neurons = 5;
  hp.persistent_chains = 3;
  hp.learn_field = true;
  nlm::PaperMachine m(hp);
  const float* j = m.couplings().data();
  const float* b = m.field().data();
  const float* x = m.persistent_chains().data();
  const Matrix<float> new_j = m.random_states(5) * 0.1f;
  const Matrix<float> new_x = m.random_states(3);
  nlm::Vector<float> new_b = nlm::Vector<float>::from_shape({5});
  for (std::size_t i = 0; i < 5; ++i) new_b(i) = 0.25f * float(i);
  m.set_couplings(new_j);
  m.set_field(new_b);
  m.set_persistent_chains(new_x);
  CHECK(m.couplings().data() == j);
  CHECK(m.field().data() == b);
  CHECK(m.persistent_chains().data() == x);
  CHECK(m.couplings() == new_j);
  CHECK(m.field() == new_b);
  CHECK(m.persistent_chains() == new_x);
}

}  // TEST_SUITE
