// The least-action model (lagrangian/): the rate functions' derivatives against central
// differences; the solved u̇ against the defining equation τu̇ = −u + (v + τv̇) + (ē + τdē/dt)
// with v̇ and dē/dt taken by central differences along the step's own direction (an independent
// check of the matrix and the right-hand side); the layered solve against the dense one; the
// plasticity against β × the back-propagation gradient; the bad inputs' messages.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <limits>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>

#include "test_support.hpp"

using nlm::Matrix;
using nlm::Vector;

namespace {

template <class S>
Matrix<S> uniform_matrix(std::mt19937_64& g, std::size_t r, std::size_t c, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  Matrix<S> m = Matrix<S>::from_shape({r, c});
  for (auto& v : m) v = S(u(g));
  return m;
}

/// W ~ N(0, scale²) on the topology's synapses, b ~ U(lo, hi) on the non-inputs.
template <class Learner>
void randomize(Learner& l, std::mt19937_64& g, double scale, double lo, double hi) {
  using S = typename Learner::scalar_type;
  const nlm::Topology& t = l.topology();
  const std::size_t n = t.neurons();
  std::normal_distribution<double> nd(0.0, scale);
  std::uniform_real_distribution<double> ud(lo, hi);
  Matrix<S> w = Matrix<S>::from_shape({n, n});
  w.fill(S(0));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (t.factor(i, j) > 0) w(i, j) = S(nd(g));
  Vector<S> b = Vector<S>::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) b(i) = i < t.inputs() ? S(0) : S(ud(g));
  l.model().set_weights(w);
  l.model().set_biases(b);
}

/// Potentials in [lo, hi] but at least `gap` from the hard sigmoid's kinks 0 and 1.
template <class S>
Matrix<S> potentials(std::mt19937_64& g, std::size_t rows, std::size_t n, double lo, double hi, double gap) {
  Matrix<S> u = uniform_matrix<S>(g, rows, n, lo, hi);
  for (auto& v : u)
    for (double k : {0.0, 1.0})
      if (std::abs(double(v) - k) < gap) v = S(k + (double(v) < k ? -gap : gap));
  return u;
}

/// A learner in a random state with a previous input and target (so ẋ, u̇* ≠ 0), nudging
/// strengths in [0, 0.5] with the first output's 0, and W, b random.
template <class R, class S>
nlm::LagrangianLearner<R, S> random_learner(nlm::Topology t, nlm::LagrangianSolve solve, std::uint64_t seed,
                                           std::size_t batch, double eta) {
  nlm::LagrangianHyperparameters hp;
  hp.batch = batch;
  hp.tau = 10.0;
  hp.dt = 1.0;
  hp.learning_rate = eta;
  hp.bias_learning_rate = eta;
  hp.solve = solve;
  nlm::LagrangianLearner<R, S> l(std::move(t), hp);
  std::mt19937_64 g(seed);
  randomize(l, g, 0.5, 0.1, 0.6);
  const std::size_t n = l.neurons(), ni = l.topology().inputs(), no = l.topology().outputs();
  l.set_potentials(potentials<S>(g, batch, n, -0.4, 1.4, 0.05));
  if (ni > 0) {
    l.set_input(uniform_matrix<S>(g, batch, ni, 0.05, 0.95));
    l.state().input_prev = uniform_matrix<S>(g, batch, ni, 0.05, 0.95);
  }
  l.set_target(uniform_matrix<S>(g, batch, no, 0.0, 1.0));
  l.state().target_prev = uniform_matrix<S>(g, batch, no, 0.0, 1.0);
  l.state().has_previous = true;
  Vector<S> beta = Vector<S>::from_shape({no});
  std::uniform_real_distribution<double> ub(0.0, 0.5);
  for (std::size_t o = 0; o < no; ++o) beta(o) = o == 0 ? S(0) : S(ub(g));
  l.set_nudging(beta);
  return l;
}

/// v = W ρ(u) + b and ē = ρ'(u) ⊙ Wᵀ(u − v) + β ⊙ (u* − u) (outputs), written out per neuron;
/// inputs: u = x, no mismatch.
template <class R>
void drive_and_error(const R& rate, const nlm::Topology& t, const std::vector<double>& u, const std::vector<double>& w,
                     const std::vector<double>& b, const std::vector<double>& target, const std::vector<double>& beta,
                     std::vector<double>& v, std::vector<double>& e) {
  const std::size_t n = t.neurons(), ni = t.inputs(), no = t.outputs(), o0 = n - no;
  v.assign(n, 0.0);
  e.assign(n, 0.0);
  std::vector<double> m(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double acc = b[i];
    for (std::size_t j = 0; j < n; ++j) acc += w[i * n + j] * rate.rate(u[j]);
    v[i] = acc;
    m[i] = i < ni ? 0.0 : u[i] - acc;
  }
  for (std::size_t j = ni; j < n; ++j) {
    double acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc += w[i * n + j] * m[i];
    e[j] = rate.slope(u[j]) * acc;
  }
  for (std::size_t o = 0; o < no; ++o) e[o0 + o] += beta[o] * (target[o] - u[o0 + o]);
}

/// The defining equation's residual after one compute_step: max over free neurons and samples of
/// |τu̇ − (−u + v + τv̇ + ē + τdē/dt)|, v̇ and dē/dt by central differences (step h) along
/// u + s u̇, W + s Ẇ, b + s ḃ, x + s ẋ, u* + s u̇*.
template <class Learner>
double equation_residual(Learner& l, double h) {
  l.compute_signal();
  l.compute_step();
  const nlm::Topology& t = l.topology();
  const auto& st = l.state();
  const std::size_t n = t.neurons(), ni = t.inputs(), no = t.outputs(), o0 = n - no;
  const double tau = l.hyperparameters().tau, dt = l.hyperparameters().dt;
  const bool plastic = l.plasticity();
  double worst = 0;
  for (std::size_t r = 0; r < st.batch(); ++r) {
    const auto at = [&](double s, std::vector<double>& v, std::vector<double>& e) {
      std::vector<double> u(n), w(n * n), b(n), target(no), beta(no);
      for (std::size_t i = 0; i < n; ++i) {
        // The step starts at the previous input and target (NeuronState: they move over the step).
        const double ui = i < ni ? double(st.input_prev(r, i)) : double(st.u(r, i));
        const double di = i < ni ? (double(st.input(r, i)) - double(st.input_prev(r, i))) / dt : double(st.udot(r, i));
        u[i] = ui + s * di;
        b[i] = double(l.biases()(i)) - (plastic ? s * double(l.field_step()(i)) / dt : 0.0);
        for (std::size_t j = 0; j < n; ++j)
          w[i * n + j] = double(l.weights()(i, j)) - (plastic ? s * double(l.step()(i, j)) / dt : 0.0);
      }
      for (std::size_t o = 0; o < no; ++o) {
        target[o] = double(st.target_prev(r, o)) + s * (double(st.target(r, o)) - double(st.target_prev(r, o))) / dt;
        beta[o] = double(st.beta(o));
      }
      drive_and_error(l.model().rate_function(), t, u, w, b, target, beta, v, e);
    };
    std::vector<double> v0, e0, vp, ep, vm, em;
    at(0.0, v0, e0);
    at(h, vp, ep);
    at(-h, vm, em);
    for (std::size_t i = ni; i < n; ++i) {
      const double vdot = (vp[i] - vm[i]) / (2 * h), edot = (ep[i] - em[i]) / (2 * h);
      const double rhs = -double(st.u(r, i)) + v0[i] + tau * vdot + e0[i] + tau * edot;
      worst = std::max(worst, std::abs(tau * double(st.udot(r, i)) - rhs));
    }
    (void)o0;
  }
  return worst;
}

template <class S>
double max_abs_diff(const Matrix<S>& a, const Matrix<S>& b, std::size_t from_col = 0) {
  double d = 0;
  for (std::size_t r = 0; r < a.shape(0); ++r)
    for (std::size_t i = from_col; i < a.shape(1); ++i) d = std::max(d, std::abs(double(a(r, i)) - double(b(r, i))));
  return d;
}

template <class S>
bool bitwise_equal(const xt::xarray<S>& a, const xt::xarray<S>& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin(), [](S x, S y) {
           return std::bit_cast<std::uint64_t>(double(x)) == std::bit_cast<std::uint64_t>(double(y));
         });
}

/// Saves a least-action checkpoint at one update, from inside on_update.
struct SaveLagrangianAt {
  std::filesystem::path path;
  std::uint64_t at;
  template <class M>
  void on_update(const M& m, const nlm::TrainingState& s) const {
    if (s.updates == at) nlm::save_lagrangian_checkpoint(path, m, s);
  }
};

}  // namespace

TEST_SUITE("lagrangian") {

TEST_CASE("rate functions: ρ' and ρ'' against central differences away from the kinks; NLM activations too") {
  // Central differences of step h = 1e-5 in double: truncation h²ρ'''/6 < 1e-10, rounding 1e-16/h.
  const double h = 1e-5;
  const auto check = [&](const auto& f, double lo, double hi) {
    for (double u = lo; u <= hi; u += 0.173) {
      if (std::abs(u) < 1e-3 || std::abs(u - 1) < 1e-3) continue;
      CHECK(f.slope(u) == doctest::Approx((f.rate(u + h) - f.rate(u - h)) / (2 * h)).epsilon(1e-8));
      CHECK(f.curvature(u) + 1.0 == doctest::Approx((f.slope(u + h) - f.slope(u - h)) / (2 * h) + 1.0).epsilon(1e-8));
    }
  };
  check(nlm::HardSigmoid{}, -2.0, 3.0);
  check(nlm::Sigmoid{}, -6.0, 6.0);
  check(nlm::Relu{}, -2.0, 3.0);
  CHECK(nlm::HardSigmoid{}.slope(0.0) == 1.0);  // the reference's closed interval
  CHECK(nlm::HardSigmoid{}.slope(1.0) == 1.0);
  CHECK(nlm::Relu{}.slope(0.0) == 0.0);
  static_assert(nlm::Activation<nlm::HardSigmoid, float> && nlm::Activation<nlm::Sigmoid, double>);
  static_assert(nlm::RateFunction<nlm::Relu, float> && !nlm::RateFunction<nlm::Tanh, float>);
}

TEST_CASE("topologies: blocks, factors, names and the masks that are refused") {
  const nlm::Topology ff = nlm::Topology::layered({4, 3, 2}, {1.0, 0.5});
  CHECK(ff.describe() == "layered 4-3-2");
  CHECK(ff.neurons() == 9);
  CHECK(ff.inputs() == 4);
  CHECK(ff.outputs() == 2);
  REQUIRE(ff.blocks().size() == 2);
  CHECK(ff.factor(5, 2) == 1.0);
  CHECK(ff.factor(7, 5) == 0.5);
  CHECK(ff.factor(5, 7) == 0.0);
  CHECK(ff.bias_factor(0) == 0.0);
  CHECK(ff.bias_factor(8) == 0.5);
  CHECK(ff.feed_forward_chain());
  const nlm::Topology fb = nlm::Topology::layered_feedback({40, 100, 56});
  CHECK(fb.describe() == "layered_feedback 40-100-56");
  CHECK(fb.inputs() == 0);
  CHECK(fb.blocks().size() == 4);
  CHECK(fb.factor(10, 50) == 1.0);
  CHECK(!fb.feed_forward_chain());
  const nlm::Topology all = nlm::Topology::all_to_all(40, 56);
  CHECK(all.describe() == "all_to_all 40+56");
  CHECK(all.factor(3, 3) == 0.0);
  CHECK(all.factor(3, 4) == 1.0);
  CHECK_THROWS_WITH(nlm::Topology::layered({4, 3, 2}, {1.0}),
                    "Topology::layered: 3 layers need 2 learning-rate factors (one per projection), got 1");
  CHECK_THROWS_WITH(nlm::Topology::layered({4, 0, 2}), "Topology::layered: layer 1 has no neurons");
  Matrix<double> mask = Matrix<double>::from_shape({3, 3});
  mask.fill(0.0);
  mask(2, 1) = 1.0;
  mask(1, 1) = 1.0;
  CHECK_THROWS_WITH(nlm::Topology::custom(mask, 1, 1), "Topology: the mask has a self-loop at neuron 1");
  mask(1, 1) = 0.0;
  mask(0, 2) = 1.0;
  CHECK_THROWS_WITH(nlm::Topology::custom(mask, 1, 1),
                    "Topology: the mask gives input neuron 0 a synapse from neuron 2; input neurons are clamped to x "
                    "and receive none");
  mask(0, 2) = -1.0;
  CHECK_THROWS_WITH(nlm::Topology::custom(mask, 1, 1), "Topology: mask entry (0, 2) must be finite and >= 0, got -1.000000");
}

TEST_CASE("the solved u-dot satisfies the defining equation with prospective rates, errors and plasticity") {
  // Central differences (h = 1e-5) of v and ē along the step's direction: truncation
  // h² |v'''| ≲ 1e-10 (the hard sigmoid is piecewise linear and no potential comes within
  // 0.05 of a kink, so |u̇| h ≪ 0.05 keeps D constant), rounding ~1e-16 / h · |v| ≈ 1e-11; the
  // solve itself is backward stable (~1e-14). 1e-7 leaves room and still fails any wrong term
  // (each is O(0.1) or larger with these weights).
  const double h = 1e-5, tol = 1e-7;
  SUBCASE("layered, hard sigmoid, layered solve") {
    auto l = random_learner<nlm::HardSigmoid, double>(nlm::Topology::layered({5, 4, 3, 3}, {1.0, 0.5, 0.2}),
                                                      nlm::LagrangianSolve::layered, 1, 3, 0.05);
    CHECK(l.model().solve() == nlm::LagrangianSolve::layered);
    CHECK(equation_residual(l, h) < tol);
  }
  SUBCASE("layered, hard sigmoid, dense solve") {
    auto l = random_learner<nlm::HardSigmoid, double>(nlm::Topology::layered({5, 4, 3, 3}, {1.0, 0.5, 0.2}),
                                                      nlm::LagrangianSolve::dense, 1, 3, 0.05);
    CHECK(equation_residual(l, h) < tol);
  }
  SUBCASE("wide layers, batch 2: the plasticity's drive through the batch x batch Gram matrix") {
    auto l = random_learner<nlm::HardSigmoid, double>(nlm::Topology::layered({20, 16, 3}, {1.0, 0.5}),
                                                      nlm::LagrangianSolve::layered, 5, 2, 0.05);
    CHECK(equation_residual(l, h) < tol);
  }
  SUBCASE("layered with feedback, sigmoid (rho'' != 0), dense solve") {
    auto l = random_learner<nlm::Sigmoid, double>(nlm::Topology::layered_feedback({3, 4, 3}), nlm::LagrangianSolve::automatic,
                                                  2, 2, 0.05);
    CHECK(l.model().solve() == nlm::LagrangianSolve::dense);
    CHECK(equation_residual(l, h) < tol);
  }
  SUBCASE("all-to-all, ReLU, no plasticity") {
    auto l = random_learner<nlm::Relu, double>(nlm::Topology::all_to_all(4, 3), nlm::LagrangianSolve::automatic, 3, 2, 0.0);
    l.set_plasticity(false);
    CHECK(equation_residual(l, h) < tol);
  }
  SUBCASE("layered with inputs, sigmoid, dense solve") {
    auto l = random_learner<nlm::Sigmoid, double>(nlm::Topology::layered({3, 5, 2}), nlm::LagrangianSolve::automatic, 4, 2,
                                                  0.05);
    CHECK(equation_residual(l, h) < tol);
  }
}

TEST_CASE("a moving input: the free neurons follow it with no lag (the moving equilibrium, exact for linear units)") {
  // Linear units (every potential inside the hard sigmoid's [0, 1]) at the feed-forward fixed
  // point, β = 0, no plasticity, the input ramping linearly: the prospective dynamics keep m = 0,
  // and with x moving over each step (forward differences) the Euler step is exact — the
  // potentials equal the feed-forward pass of each step's input to rounding. A step that saw the
  // input one step late would leave m = W D Δx ≈ 1e-3 here.
  nlm::LagrangianHyperparameters hp;
  hp.beta = 0.0;
  nlm::LagrangianLearner<nlm::HardSigmoid, double> l(nlm::Topology::layered({6, 5, 4}), hp);
  l.set_plasticity(false);
  std::mt19937_64 g(31);
  randomize(l, g, 0.1, 0.4, 0.6);
  Matrix<double> x = uniform_matrix<double>(g, 1, 6, 0.3, 0.7), u;
  const Matrix<double> v = uniform_matrix<double>(g, 1, 6, -0.004, 0.004);
  l.model().forward(x, u);
  const Matrix<double> start = u;
  l.set_potentials(u);
  l.set_input(x);
  l.update();  // the first step: no previous input, nothing moves
  double worst = 0, moved = 0;
  for (int k = 0; k < 50; ++k) {
    x += v;
    l.set_input(x);
    l.update();
    l.model().forward(x, u);
    for (std::size_t i = 6; i < l.neurons(); ++i) {
      REQUIRE(u(0, i) > 0.0);
      REQUIRE(u(0, i) < 1.0);
      worst = std::max(worst, std::abs(l.potentials()(0, i) - u(0, i)));
      moved = std::max(moved, std::abs(u(0, i) - start(0, i)));
    }
  }
  CHECK(moved > 1e-3);  // the potentials really moved
  CHECK(worst < 1e-12);
}

TEST_CASE("the layered solve equals the dense one to rounding (double and float)") {
  const nlm::Topology t = nlm::Topology::layered({12, 9, 7, 4}, {1.0, 0.2, 0.1});
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    auto fast = random_learner<nlm::HardSigmoid, double>(t, nlm::LagrangianSolve::layered, seed, 5, 0.1);
    auto dense = random_learner<nlm::HardSigmoid, double>(t, nlm::LagrangianSolve::dense, seed, 5, 0.1);
    fast.update();
    dense.update();
    // Both solve one symmetric positive definite system with condition number ≲ 1e3 here: the
    // answers agree to ~1e-13 relative; u̇ is O(0.1).
    CHECK(max_abs_diff(fast.state().udot, dense.state().udot) < 1e-12);
    CHECK(max_abs_diff(fast.potentials(), dense.potentials()) < 1e-12);
    CHECK(max_abs_diff(fast.weights(), dense.weights()) == 0.0);  // the plasticity precedes the solve
  }
  // float: ~1e-7 relative rounding per operation through a few hundred operations.
  auto fast = random_learner<nlm::HardSigmoid, float>(t, nlm::LagrangianSolve::layered, 14, 5, 0.1);
  auto dense = random_learner<nlm::HardSigmoid, float>(t, nlm::LagrangianSolve::dense, 14, 5, 0.1);
  fast.update();
  dense.update();
  CHECK(max_abs_diff(fast.state().udot, dense.state().udot) < 1e-4);
}

TEST_CASE("back-propagation's gradients against central differences of the cost") {
  // Central differences (h = 1e-6) of the batch cost, away from the hard sigmoid's kinks: exact
  // up to rounding (the cost is piecewise quadratic in one weight), ~1e-16/h relative.
  nlm::LagrangianHyperparameters hp;
  nlm::LagrangianLearner<nlm::HardSigmoid, double> l(nlm::Topology::layered({5, 4, 3, 2}), hp);
  std::mt19937_64 g(17);
  randomize(l, g, 0.5, 0.2, 0.6);
  const Matrix<double> x = uniform_matrix<double>(g, 3, 5, 0.0, 1.0), target = uniform_matrix<double>(g, 3, 2, 0.0, 1.0);
  Matrix<double> u, gw;
  Vector<double> gb;
  nlm::backprop_gradients(l.model(), x, target, u, gw, gb);
  const double h = 1e-6;
  const auto cost = [&](const Matrix<double>& w, const Vector<double>& b) {
    auto net = l.model();
    net.set_weights(w);
    net.set_biases(b);
    Matrix<double> uu, gg;
    Vector<double> bb;
    return nlm::backprop_gradients(net, x, target, uu, gg, bb);
  };
  const Matrix<double> w = l.weights();
  const Vector<double> b = l.biases();
  std::size_t checked = 0;
  for (std::size_t i = 0; i < l.neurons(); ++i) {
    for (std::size_t j = 0; j < l.neurons(); ++j) {
      if (l.topology().factor(i, j) == 0) continue;
      Matrix<double> wp = w, wm = w;
      wp(i, j) += h;
      wm(i, j) -= h;
      CHECK(gw(i, j) == doctest::Approx((cost(wp, b) - cost(wm, b)) / (2 * h)).epsilon(1e-6).scale(1e-3));
      ++checked;
    }
    if (i < 5) continue;
    Vector<double> bp = b, bm = b;
    bp(i) += h;
    bm(i) -= h;
    CHECK(gb(i) == doctest::Approx((cost(w, bp) - cost(w, bm)) / (2 * h)).epsilon(1e-6).scale(1e-3));
  }
  CHECK(checked == 5 * 4 + 4 * 3 + 3 * 2);
}

TEST_CASE("the plasticity at small beta is beta times the back-propagation gradient") {
  // At a fixed point with constant x and u*, the mismatch obeys Aᵀm = Pᵀβ(u* − u_out), so
  // m = β Z (u* − u_out) with Z = A⁻ᵀPᵀ; u = u⁰ + O(β) (u⁰ the feed-forward pass), hence
  // m r̄ᵀ = −β ∂C/∂W + O(β²): the relative error e(β) of Ẇ/η against −β∇C is κβ + O(β²). The
  // test checks that error is first order: e(β) < 0.05 at β = 0.01, and e(β/10) ≈ e(β)/10 within
  // 30 % (a wrong rule gives an error that does not vanish with β). The dynamics are run for 60 τ
  // (m decays as e^{−t/τ} from its start, so 60 τ leaves e^{−60}: converged to rounding).
  const nlm::Topology t = nlm::Topology::layered({6, 5, 4, 3});
  const auto error_at = [&](double beta) {
    nlm::LagrangianHyperparameters hp;
    hp.learning_rate = 0.0;  // the signal is formed, W stays
    hp.bias_learning_rate = 0.0;
    hp.beta = beta;
    nlm::LagrangianLearner<nlm::HardSigmoid, double> l(t, hp);
    std::mt19937_64 g(7);
    randomize(l, g, 0.4, 0.3, 0.6);
    const Matrix<double> x = uniform_matrix<double>(g, 1, 6, 0.1, 0.9);
    const Matrix<double> target = uniform_matrix<double>(g, 1, 3, 0.0, 1.0);
    l.set_input(x);
    l.set_target(target);
    for (int k = 0; k < 600; ++k) l.update();
    l.compute_signal();
    Matrix<double> u, gw;
    Vector<double> gb;
    nlm::backprop_gradients(l.model(), x, target, u, gw, gb);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < l.neurons(); ++i) {
      for (std::size_t j = 0; j < l.neurons(); ++j) {
        const double rule = -l.signal()(i, j), bp = -beta * gw(i, j);
        num += (rule - bp) * (rule - bp);
        den += bp * bp;
      }
      const double rule_b = -l.learning_signal().field(i), bp_b = -beta * gb(i);
      num += (rule_b - bp_b) * (rule_b - bp_b);
      den += bp_b * bp_b;
    }
    REQUIRE(den > 0);
    return std::sqrt(num / den);
  };
  const double e2 = error_at(1e-2), e3 = error_at(1e-3), e4 = error_at(1e-4);
  MESSAGE("relative error against beta x backprop: beta 1e-2 " << e2 << ", 1e-3 " << e3 << ", 1e-4 " << e4);
  CHECK(e2 < 0.05);
  CHECK(e3 / e2 == doctest::Approx(0.1).epsilon(0.3));
  CHECK(e4 / e3 == doctest::Approx(0.1).epsilon(0.3));
}

TEST_CASE("bad inputs are refused with a sentence naming the problem") {
  nlm::LagrangianHyperparameters hp;
  hp.dt = 10.0;
  CHECK_THROWS_WITH(nlm::LagrangianLearner<>(nlm::Topology::layered({3, 2}), hp),
                    "LagrangianLearner: dt = 10.000000 must be smaller than tau = 10.000000 (forward Euler on the "
                    "membrane potentials; the experiments use dt = tau / 10)");
  hp.dt = 1.0;
  nlm::LagrangianLearner<nlm::HardSigmoid, double> l(nlm::Topology::layered({3, 2}), hp);
  Matrix<double> x = Matrix<double>::from_shape({1, 3});
  x.fill(0.5);
  x(0, 1) = std::nan("");
  CHECK_THROWS_WITH(l.set_input(x), "LagrangianLearner: the input has a non-finite value at row 0, column 1");
  CHECK_THROWS_WITH(l.set_input(Matrix<double>::from_shape({1, 4})),
                    "LagrangianLearner: the input has 4 columns, the network has 3 input neurons");
  CHECK_THROWS_WITH(l.set_target(Matrix<double>::from_shape({2, 2})),
                    "LagrangianLearner: the target must be 1 x 2 (batch x outputs), got 2 x 2");
  Matrix<double> w = l.weights();
  w(0, 4) = 0.5;
  CHECK_THROWS_WITH(l.model().set_weights(w),
                    "LagrangianNetwork: weight (0, 4) is 0.500000 where layered 3-2 has no synapse");
  CHECK_THROWS_WITH(
      (nlm::LagrangianNetwork<nlm::Sigmoid, double>(nlm::Topology::layered({3, 2}), 10.0, {}, nlm::LagrangianSolve::layered)),
      "LagrangianNetwork: the layered solve needs a rate function with rho'' = 0, and Sigmoid has not");
  CHECK_THROWS_WITH(
      (nlm::LagrangianNetwork<nlm::HardSigmoid, double>(nlm::Topology::all_to_all(3, 2), 10.0, {}, nlm::LagrangianSolve::layered)),
      "LagrangianNetwork: the layered solve needs a layered network, and all_to_all 3+2 is not one");
  CHECK_THROWS_WITH(nlm::Topology::layered({3, 2}, {0.0}),
                    "Topology::layered: learning-rate factors must be finite and > 0 (a factor marks a synapse; to freeze a "
                    "projection, give it a tiny factor), got 0.000000");
  Matrix<double> u_ff;
  CHECK_THROWS_WITH(l.model().forward(Matrix<double>::from_shape({1, 2}), u_ff),
                    "LagrangianNetwork: forward got inputs of 2 columns, the network has 3 input neurons");
  SUBCASE("a system that does not solve is reported, nothing is changed") {
    // Two neurons coupled by W = [[0, 1], [1, 0]] with ρ' = 1: A = I − W is singular, and with
    // β = 0 so is AᵀA: whether Cholesky stops or LU finds a zero pivot, the condition estimate says so.
    Matrix<double> mask = Matrix<double>::from_shape({2, 2});
    mask.fill(1.0);
    mask(0, 0) = mask(1, 1) = 0.0;
    nlm::LagrangianHyperparameters q;
    q.beta = 0.0;
    nlm::LagrangianLearner<nlm::HardSigmoid, double> s(nlm::Topology::custom(mask, 0, 1), q);
    Matrix<double> ws = Matrix<double>::from_shape({2, 2});
    ws.fill(0.0);
    ws(0, 1) = ws(1, 0) = 1.0;
    s.model().set_weights(ws);
    Vector<double> zero = Vector<double>::from_shape({2});
    zero.fill(0.0);
    s.model().set_biases(zero);
    Matrix<double> u = Matrix<double>::from_shape({1, 2});
    u(0, 0) = 0.3;
    u(0, 1) = 0.6;
    s.set_potentials(u);
    std::string what;
    try {
      s.update();
    } catch (const nlm::numerical_error& e) {
      what = e.what();
    }
    // The estimate itself is rounding (≈ 1e-17 here); the sentence around it is fixed.
    CHECK(what.starts_with("LagrangianNetwork: the system for u-dot is singular for sample 0 (reciprocal condition number "));
    CHECK(what.ends_with(" of 2 x 2); the potentials and weights were left unchanged"));
    CHECK(s.potentials()(0, 0) == 0.3);
    CHECK(s.weights()(0, 1) == 1.0);
  }
}

TEST_CASE("supervised presentations and a recording resume bit for bit from a checkpoint written mid-presentation") {
  nlm::test::TempDir dir;
  std::mt19937_64 g(21);
  const Matrix<float> inputs = uniform_matrix<float>(g, 7, 5, 0.0, 1.0);
  const Matrix<float> targets = uniform_matrix<float>(g, 7, 3, 0.0, 1.0);
  nlm::LagrangianHyperparameters hp;
  hp.batch = 2;
  hp.learning_rate = 0.05;
  hp.bias_learning_rate = 0.05;
  hp.seed = 4;
  const nlm::Topology t = nlm::Topology::layered({5, 4, 3}, {1.0, 0.5});
  nlm::LagrangianPresentation p;
  p.steps = 20;  // 3 presentations of 2 (of 7 samples) per epoch: 60 steps
  const auto path = dir.path() / "lagrangian.ckpt";
  nlm::LagrangianLearner<nlm::HardSigmoid, float> a(t, hp);
  nlm::learn_supervised(a, inputs, targets, nlm::test::quiet(250), p, nlm::TrainingState(), SaveLagrangianAt{path, 130});
  nlm::LagrangianLearner<nlm::HardSigmoid, float> b(t, hp);
  nlm::TrainingState s = nlm::load_lagrangian_checkpoint(path, b);
  CHECK(s.updates == 130);
  CHECK(s.batch == 10);  // mid-presentation, the cross-fade half done
  nlm::learn_supervised(b, inputs, targets, nlm::test::quiet(250), p, std::move(s));
  CHECK(bitwise_equal<float>(a.weights(), b.weights()));
  CHECK(bitwise_equal<float>(a.biases(), b.biases()));
  CHECK(bitwise_equal<float>(a.potentials(), b.potentials()));
  CHECK(a.updates() == 250);
  CHECK(b.updates() == 250);

  // A recording on the layered network with feedback (no inputs, dense solve).
  const Matrix<double> trace = uniform_matrix<double>(g, 40, 3, 0.0, 1.0);
  const Matrix<double> none = Matrix<double>::from_shape({40, 0});
  hp.batch = 1;
  const nlm::Topology fb = nlm::Topology::layered_feedback({2, 3, 3});
  nlm::LagrangianLearner<nlm::HardSigmoid, double> c(fb, hp), d(fb, hp);
  nlm::learn_trace(c, none, trace, nlm::test::quiet(100), nlm::TrainingState(), SaveLagrangianAt{path, 55});
  nlm::TrainingState s2 = nlm::load_lagrangian_checkpoint(path, d);
  nlm::learn_trace(d, none, trace, nlm::test::quiet(100), std::move(s2));
  CHECK(bitwise_equal<double>(c.weights(), d.weights()));
  CHECK(bitwise_equal<double>(c.potentials(), d.potentials()));

  // The other families' loaders name this file, and this loader refuses a changed setting.
  CHECK_THROWS_WITH(nlm::read_checkpoint<float>(path),
                    (path.string() + ": a checkpoint of the least-action model (LagrangianLearner), not of a "
                                     "LangevinMachine: load it with nlm::load_lagrangian_checkpoint").c_str());
  hp.tau = 20.0;
  nlm::LagrangianLearner<nlm::HardSigmoid, double> e(fb, hp);
  CHECK_THROWS_WITH(nlm::load_lagrangian_checkpoint(path, e),
                    (path.string() + ": the checkpoint was written with tau = 10, the learner has 20").c_str());
}

TEST_CASE("presentations: the cross-fade, prediction without plasticity, and the loops' bad inputs") {
  CHECK(nlm::detail::cross_fade_weight(0, 100) == doctest::Approx(1.0 / (1.0 + std::exp(5.0))));
  CHECK(nlm::detail::cross_fade_weight(99, 100) == doctest::Approx(1.0 / (1.0 + std::exp(-22.5))));
  nlm::LagrangianHyperparameters hp;
  hp.batch = 3;
  nlm::LagrangianLearner<nlm::HardSigmoid, double> l(nlm::Topology::layered({4, 3, 2}), hp);
  std::mt19937_64 g(3);
  const Matrix<double> x = uniform_matrix<double>(g, 5, 4, 0.0, 1.0);
  const Matrix<double> w0 = l.weights();
  nlm::LagrangianPresentation p;
  p.steps = 400;  // 40 τ: the potentials settle to the feed-forward pass (m decays as e^{−t/τ})
  p.cross_fade = false;
  const Matrix<double> out = nlm::predict(l, x, p);
  CHECK(bitwise_equal<double>(l.weights(), w0));
  CHECK(l.plasticity());
  Matrix<double> u;
  l.model().forward(x, u);
  for (std::size_t r = 0; r < 5; ++r)
    for (std::size_t o = 0; o < 2; ++o) CHECK(out(r, o) == doctest::Approx(u(r, 7 + o)).epsilon(1e-9));
  // The NLM's callbacks apply through the learning seam: update statistics see every step.
  nlm::UpdateStatistics stats;
  nlm::LagrangianPresentation q;
  q.steps = 5;
  const Matrix<double> y = uniform_matrix<double>(g, 5, 2, 0.0, 1.0);
  nlm::learn_supervised(l, x, y, nlm::test::quiet(12), q, nlm::TrainingState(), stats);
  REQUIRE(stats.step_windows().size() == 2);  // updates 1-9 and 10-12
  CHECK(stats.step_windows()[0].updates == 9);
  CHECK(stats.step_windows()[1].updates == 3);
  Matrix<double> bad = uniform_matrix<double>(g, 5, 2, 0.0, 1.0);
  CHECK_THROWS_WITH(nlm::learn_supervised(l, x, bad.shape(0) == 5 ? Matrix<double>::from_shape({4, 2}) : bad,
                                          nlm::test::quiet(1), p, nlm::TrainingState()),
                    "learn_supervised: the targets must be 5 x 2 (one row per input, one column per output), got 4 x 2");
  bad(1, 1) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(nlm::learn_supervised(l, x, bad, nlm::test::quiet(1), p, nlm::TrainingState()),
                    "learn_supervised: the targets have a non-finite value at row 1, column 1");
}

}  // TEST_SUITE
