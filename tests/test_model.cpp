// LangevinModel: the NLM's energy and force apart from any learner (langevin_model.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include <nlm/nlm.hpp>

namespace {

template <class S>
nlm::Matrix<S> random_matrix(std::size_t rows, std::size_t cols, double scale, std::uint64_t seed) {
  nlm::detail::Xoshiro256 engine(seed);
  nlm::Matrix<S> m = nlm::Matrix<S>::from_shape({rows, cols});
  nlm::detail::fill_normal<S>(engine, std::span<S>(m.data(), m.size()));
  m *= S(scale);
  return m;
}

template <class S>
bool same_bits(const nlm::Matrix<S>& a, const nlm::Matrix<S>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(S)) == 0;
}

}  // namespace

TEST_SUITE("model") {

TEST_CASE("a model on given J and b: its energy is ½‖x − Jφ(x) − b‖² and its force −∇E") {
  constexpr std::size_t n = 5, rows = 3;
  const auto j = random_matrix<double>(n, n, 0.8, 1);
  const nlm::Vector<double> b = xt::view(random_matrix<double>(1, n, 0.3, 2), 0, xt::all());
  const nlm::LangevinModel<nlm::Tanh, nlm::GaussianNoise, double> model(j, b, 0.7);
  CHECK(model.neurons() == n);
  CHECK(model.temperature() == 0.7);
  const auto x = random_matrix<double>(rows, n, 1.2, 3);

  // The energy, written out element by element.
  const auto e = model.energy(x);
  for (std::size_t r = 0; r < rows; ++r) {
    double want = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double h = b(i);
      for (std::size_t c = 0; c < n; ++c) h += j(i, c) * std::tanh(x(r, c));
      want += 0.5 * (x(r, i) - h) * (x(r, i) - h);
    }
    CHECK(e(r) == doctest::Approx(want).epsilon(1e-13));
  }
  // The force against central differences of E: the truncation error is h²/6·E''' (~1e-12
  // here, E''' of order 10) and the rounding error ε·E/h ~ 1e-16·10/1e-5 = 1e-10; 1e-7 absolute
  // leaves three orders of magnitude and fails any wrong term of the force (order 0.1 to 1).
  const auto f = model.force(x);
  constexpr double h = 1e-5;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < n; ++i) {
      nlm::Matrix<double> up = xt::view(x, xt::range(r, r + 1), xt::all()), down = up;
      up(0, i) += h;
      down(0, i) -= h;
      const double numeric = -(model.energy(up)(0) - model.energy(down)(0)) / (2 * h);
      CHECK(f(r, i) == doctest::Approx(numeric).scale(1).epsilon(1e-7));
    }
}

TEST_CASE("a learner's model samples without the learner, to the learner's bits") {
  nlm::Hyperparameters hp;
  hp.neurons = 12;
  hp.persistent_chains = hp.batch_size = 6;
  hp.seed = 5;
  SUBCASE("Euler-Maruyama, float") {
    nlm::PaperMachine machine(hp);
    machine.set_field(nlm::Vector<float>(xt::view(random_matrix<float>(1, 12, 0.2, 9), 0, xt::all())));
    auto model = machine.model();  // a copy: couplings, field, activation, noise stream, T
    auto sampler = machine.sampler();
    nlm::Matrix<float> start = machine.random_states(7), by_machine = start;
    machine.sample(by_machine, 40);
    nlm::Chains<float> chains(start);
    sampler.advance(model, chains, 40, nlm::NoObserver{});
    CHECK(same_bits(chains.states(), by_machine));
    CHECK(model.noise().state() == machine.noise().state());
  }
  SUBCASE("MALA, double") {
    using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, nlm::Mala, double>;
    Machine machine(hp);
    auto model = machine.model();
    auto sampler = machine.sampler();
    nlm::Matrix<double> start = machine.random_states(7), by_machine = start;
    machine.sample(by_machine, 40);
    nlm::Chains<double> chains(start);
    sampler.advance(model, chains, 40, nlm::NoObserver{});
    CHECK(same_bits(chains.states(), by_machine));
    CHECK(sampler.accepted() == machine.sampler().accepted());
  }
}

TEST_CASE("a model alone samples exp(-E/T): identity φ, the Gaussian closed form") {
  // With φ(x) = x, E = ½‖A x − b‖², A = I − J: exp(−E/T) is the Gaussian with mean μ = A⁻¹b
  // and covariance Σ = T (AᵀA)⁻¹. MALA leaves it invariant at any Δt.
  constexpr double t = 0.7;
  nlm::Matrix<double> j = {{0.3, -0.9}, {0.6, 0.2}};
  nlm::Vector<double> b = {0.5, -0.8};
  nlm::LangevinModel<nlm::Identity, nlm::GaussianNoise, double> model(j, b, t, /*seed=*/11);
  const double a11 = 1 - j(0, 0), a12 = -j(0, 1), a21 = -j(1, 0), a22 = 1 - j(1, 1);
  const double det = a11 * a22 - a12 * a21;
  const double mu[2] = {(a22 * b(0) - a12 * b(1)) / det, (-a21 * b(0) + a11 * b(1)) / det};
  // Σ = T A⁻¹ A⁻ᵀ
  const double i11 = a22 / det, i12 = -a12 / det, i21 = -a21 / det, i22 = a11 / det;
  const double sigma[2][2] = {{t * (i11 * i11 + i12 * i12), t * (i11 * i21 + i12 * i22)},
                              {t * (i21 * i11 + i22 * i12), t * (i21 * i21 + i22 * i22)}};

  // 4000 independent chains from N(0, I), 600 MALA steps of Δt = 0.05 (30 time units; the
  // slowest relaxation rate is the smallest eigenvalue of AᵀA, 0.81 here, so the start is
  // forgotten to e^{−0.81·30} ≈ 3e-11).
  constexpr std::size_t chains_n = 4000;
  nlm::Chains<double> chains(random_matrix<double>(chains_n, 2, 1.0, 12));
  nlm::Mala sampler(13, 0.05);
  sampler.advance(model, chains, 600, nlm::NoObserver{});
  CHECK(sampler.acceptance_rate() > 0.9);

  // Tolerances: the chains are independent draws, so the sample mean of coordinate i has
  // SE √(Σᵢᵢ/n) and the sample covariance Σ̂ᵢⱼ has SE √((ΣᵢᵢΣⱼⱼ + Σᵢⱼ²)/n) (Gaussian fourth
  // moments). 4 SE: a false failure has probability below 1e-4 per check (6 checks). A force
  // without the feedback (Onsager) term, the plain drift −Ax + b, has the stationary covariance
  // P of AP + PAᵀ = 2T I instead: for this J, 13 and 30 SE away on the two variances.
  const auto& x = chains.states();
  double m[2] = {0, 0}, c[2][2] = {{0, 0}, {0, 0}};
  for (std::size_t r = 0; r < chains_n; ++r)
    for (int i = 0; i < 2; ++i) m[i] += x(r, i) / chains_n;
  for (std::size_t r = 0; r < chains_n; ++r)
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 2; ++k) c[i][k] += (x(r, i) - m[i]) * (x(r, k) - m[k]) / (chains_n - 1);
  for (int i = 0; i < 2; ++i) {
    const double se = std::sqrt(sigma[i][i] / chains_n);
    CAPTURE(i);
    CHECK(std::abs(m[i] - mu[i]) < 4 * se);
    for (int k = 0; k < 2; ++k) {
      const double se_c = std::sqrt((sigma[i][i] * sigma[k][k] + sigma[i][k] * sigma[i][k]) / chains_n);
      CAPTURE(k);
      CHECK(std::abs(c[i][k] - sigma[i][k]) < 4 * se_c);
    }
  }
}

TEST_CASE("a model refuses J, b and T that cannot be right, naming itself") {
  using Model = nlm::LangevinModel<>;
  CHECK_THROWS_WITH_AS(Model(nlm::Matrix<float>::from_shape({3, 4}), {}, 1.0),
                       "LangevinModel: J must be a non-empty square matrix, got 3 x 4", std::invalid_argument);
  nlm::Matrix<float> j = xt::zeros<float>({3, 3});
  CHECK_THROWS_WITH_AS(Model(j, nlm::Vector<float>::from_shape({2}), 1.0),
                       "LangevinModel: field must have 3 values, got 2", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Model(j, {}, -1.0), "LangevinModel: temperature (T) must be finite and >= 0, got -1.000000",
                       std::invalid_argument);
  nlm::Matrix<float> bad = j;
  bad(1, 1) = std::nanf("");
  CHECK_THROWS_WITH_AS(Model(bad, {}, 1.0), "LangevinModel: couplings contain a non-finite value at flat index 4",
                       nlm::numerical_error);
  Model model(j, {}, 1.0);
  CHECK_THROWS_WITH_AS(model.set_couplings(nlm::Matrix<float>::from_shape({2, 2})),
                       "LangevinModel: couplings must be 3x3, got 2x2", std::invalid_argument);
  CHECK_THROWS_WITH_AS(model.energy(nlm::Matrix<float>::from_shape({1, 4})),
                       "LangevinModel: batch has 4 columns, the machine has 3 neurons", std::invalid_argument);
  Model cold(j, {}, 0.0);
  nlm::ForceWorkspace<float> ws;
  nlm::Matrix<float> out = nlm::Matrix<float>::from_shape({3, 3});
  CHECK_THROWS_WITH_AS(cold.statistics_into(nlm::Matrix<float>::from_shape({2, 3}), ws, out, 1.0f, 0.0f),
                       "LangevinModel: statistics need temperature (T) > 0, got 0.000000", std::invalid_argument);
  // The plain network's messages name it, not the machine.
  CHECK_THROWS_WITH_AS(nlm::RecurrentNetwork<>(nlm::Matrix<float>::from_shape({2, 3}), {}, 1.0),
                       "RecurrentNetwork: J must be a non-empty square matrix, got 2 x 3", std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::RecurrentNetwork<>(j, nlm::Vector<float>::from_shape({4}), 1.0),
                       "RecurrentNetwork: field must have 3 values, got 4", std::invalid_argument);
}

TEST_CASE_TEMPLATE("products of one row (GEMV), of inner size 1 (outer products) and the rest (GEMM) equal the sums written out", S, float,
                   double) {
  // c = alpha op(A) op(B) + beta c for every pair of transposes, with 1 and 3 rows of c and
  // inner sizes 1 (the outer-product path) and 7; sums of up to 7 terms agree with the loop to a
  // few roundings of S.
  const std::size_t n = 5;
  nlm::detail::Xoshiro256 rng(12);
  for (const std::size_t k : {std::size_t(1), std::size_t(7)})
  for (const std::size_t m : {std::size_t(1), std::size_t(3)})
    for (const auto op_a : {nlm::detail::Op::none, nlm::detail::Op::transpose})
      for (const auto op_b : {nlm::detail::Op::none, nlm::detail::Op::transpose}) {
        nlm::Matrix<S> a = op_a == nlm::detail::Op::none ? nlm::Matrix<S>::from_shape({m, k}) : nlm::Matrix<S>::from_shape({k, m});
        nlm::Matrix<S> b = op_b == nlm::detail::Op::none ? nlm::Matrix<S>::from_shape({k, n}) : nlm::Matrix<S>::from_shape({n, k});
        nlm::Matrix<S> c = nlm::Matrix<S>::from_shape({m, n});
        nlm::detail::fill_normal<S>(rng, std::span<S>(a.data(), a.size()));
        nlm::detail::fill_normal<S>(rng, std::span<S>(b.data(), b.size()));
        nlm::detail::fill_normal<S>(rng, std::span<S>(c.data(), c.size()));
        const nlm::Matrix<S> before = c;
        nlm::detail::gemm(a, op_a, b, op_b, c, S(0.5), S(2));
        for (std::size_t r = 0; r < m; ++r)
          for (std::size_t j = 0; j < n; ++j) {
            double sum = 0;
            for (std::size_t t = 0; t < k; ++t)
              sum += double(op_a == nlm::detail::Op::none ? a(r, t) : a(t, r)) *
                     double(op_b == nlm::detail::Op::none ? b(t, j) : b(j, t));
            CHECK(double(c(r, j)) == doctest::Approx(0.5 * sum + 2.0 * double(before(r, j)))
                                         .epsilon(std::is_same_v<S, float> ? 1e-5 : 1e-13));
          }
      }
}

}  // TEST_SUITE
