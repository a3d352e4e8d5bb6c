/// @file lagrangian_network.hpp
/// @brief The neuronal least-action model (Senn et al., eLife 2024) in the form its experiments
/// run (weight transport, no interneurons): membrane potentials u with prospective rates, the
/// somato-basal mismatch and the apical error, output nudging, and the step that solves for u̇.
///
/// With r̄ = ρ(u), D = diag ρ'(u), the drive v = W r̄ + b and the mismatch m = u − v, the
/// prospective dynamics τu̇ = −u + W r + b + e, r = r̄ + τρ'(u)u̇, e = ē + τ dē/dt,
/// ē = D Wᵀ m + β ⊙ (u* − u), have u̇ on both sides. Collecting it, with A = I − W D:
/// \f[ \big(A^\top A - \mathrm{diag}(\rho'' \odot W^\top m) + \mathrm{diag}\,\beta\big)\,\tau\dot u
///     = A^\top(\tau g - m) + \beta \odot (u^* - u + \tau \dot u^*) + \tau D \dot W^\top m, \f]
/// g = Ẇ r̄ + ḃ + W D ẋ the change of the drive that does not go through u̇ (ẋ, u̇* as the
/// differences over the step, NeuronState; the first step sees none). Input neurons are clamped to x (u = x, u̇ = ẋ; no
/// synapses onto them, no bias, no error), so the system is over the free neurons only.
///
/// Two solves: `dense` forms the matrix per sample and factors it (Cholesky; LU when Cholesky
/// fails or ρ'' ≠ 0 leaves it indefinite), O(N³); `layered`, for a chain of layers and a rate
/// function with ρ'' = 0 (hard sigmoid, ReLU), uses that A is then unit block-lower-bidiagonal:
/// t = A⁻ᵀy and Z = A⁻ᵀPᵀ (P picks the outputs) by back substitution through the layers, the
/// nudged rows by Woodbury, q = B½ (I + B½ ZᵀZ B½)⁻¹ B½ Zᵀt with B½ = diag √β, and τu̇ =
/// A⁻¹(t − Zq) by forward substitution — (outputs + 2) passes over the synapses between free
/// layers and one small Cholesky per sample, every layer's product one GEMM over the batch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xlapack.hpp>

#include "../activation/rate_functions.hpp"
#include "../backend/blas_products.hpp"
#include "../couplings.hpp"
#include "../detail/blas.hpp"
#include "../detail/random.hpp"
#include "../errors.hpp"
#include "../types.hpp"
#include "topology.hpp"

namespace nlm {

enum class LagrangianSolve { automatic, dense, layered };

inline const char* solve_name(LagrangianSolve s) noexcept {
  return s == LagrangianSolve::dense ? "dense" : s == LagrangianSolve::layered ? "layered" : "automatic";
}

/// The neurons of a batch of samples that advance together: potentials and their rates of
/// change, the external input x and the output targets u* at the end of this step and at its start
/// (the previous step's: *_prev), and the nudging strength of each output neuron.
///
/// A step goes from t to t + dt: the inputs sit at x(t) while the step is computed, with
/// ẋ = (x(t + dt) − x(t)) / dt, and are at x(t + dt) after it; likewise u*. This forward difference
/// makes the Euler step exact for the moving equilibrium of linear units under inputs that
/// change linearly within a step (a backward difference would leave the free neurons one step
/// behind a moving input: a mismatch of W D Δx every step, which the plasticity then learns).
template <Scalar S>
struct NeuronState {
  Matrix<S> u, udot;                 ///< B × N
  Matrix<S> input, input_prev;       ///< B × inputs
  Matrix<S> target, target_prev;     ///< B × outputs
  Vector<S> beta;                    ///< outputs (0: the output runs free)
  Matrix<S> fade_input, fade_target; ///< where the current presentation's cross-fade started
  bool has_previous = false;         ///< whether *_prev hold the previous step's input and target

  std::size_t batch() const noexcept { return u.shape(0); }
};

/// The plasticity a step's prospective terms see: Ẇ = scale · *weight_step, ḃ = scale · *bias_step.
/// `low_rank`: the weight step is rank_scale · M ⊙ (mᵀ r̄) of the step's own mismatch and rates
/// (the learner's rule), so over a full block Ẇ r̄ = scale · rank_scale · f (r̄ r̄ᵀ) m goes
/// through the batch × batch Gram matrix instead of a pass over the block.
template <Scalar S>
struct PlasticityTerms {
  const Matrix<S>* weight_step = nullptr;
  const Vector<S>* bias_step = nullptr;
  S scale = S(0);
  bool low_rank = false;
  S rank_scale = S(0);
};

/// Buffers of one step (reused; no allocation once the batch size is fixed).
template <Scalar S>
struct LagrangianWorkspace {
  Matrix<S> rate, slope, curvature;  ///< r̄, ρ', ρ'' (B × N)
  Matrix<S> mismatch;                ///< m = u − W r̄ − b (0 on inputs)
  Matrix<S> drive;                   ///< v, then the right-hand side's pieces
  Matrix<S> c, y, back, tmp;         ///< τg − m; the right-hand side; products with W
  Matrix<S> zbuf;                    ///< layered solve: Z per sample (B·outputs × N)
  Matrix<S> gram;                    ///< low-rank plasticity: r̄ r̄ᵀ over a block's columns (B × B)
  Matrix<S> a, h;                    ///< dense solve: A and H (free × free)
  std::vector<xt::blas_index_t> pivots, iwork;
  std::vector<S> work;                ///< dense solve: the condition estimate's
  std::vector<S> small;              ///< layered solve: the outputs × outputs systems; dense: the right-hand side
};

template <class RateT = HardSigmoid, Scalar S = float, class BackendT = BlasProducts>
class LagrangianNetwork {
  static_assert(RateFunction<RateT, S>, "nlm: the Lagrangian model's rate function needs rate, slope and curvature "
                                        "(ρ, ρ', ρ'') on scalars, describe() and zero_curvature");

 public:
  using scalar_type = S;
  using matrix_type = Matrix<S>;
  using vector_type = Vector<S>;
  using rate_type = RateT;
  using parameters_type = Couplings<S, BackendT>;
  static constexpr const char* who = "LagrangianNetwork";

  /// W = 0, b = 0 on `topology`, membrane time constant τ > 0.
  LagrangianNetwork(Topology topology, double tau, RateT rate = RateT(), LagrangianSolve solve = LagrangianSolve::automatic,
                    BackendT backend = BackendT())
      : topology_(std::move(topology)),
        couplings_(parameters_type::given(zeros(topology_.neurons()), Vector<S>(), std::move(backend), who)),
        rate_(std::move(rate)) {
    set_tau(tau);
    set_solve(solve);
    for (const SynapseBlock& b : topology_.blocks()) full_mask_ = full_mask_ && b.full;
    if (!full_mask_) mask_ = topology_.template mask<S>();
  }

  const Topology& topology() const noexcept { return topology_; }
  std::size_t neurons() const noexcept { return topology_.neurons(); }
  std::size_t inputs() const noexcept { return topology_.inputs(); }
  std::size_t outputs() const noexcept { return topology_.outputs(); }
  const RateT& rate_function() const noexcept { return rate_; }
  double tau() const noexcept { return tau_; }
  void set_tau(double tau) {
    if (!(std::isfinite(tau) && tau > 0))
      throw std::invalid_argument(std::string(who) + ": tau (the membrane time constant) must be finite and > 0, got " +
                                  std::to_string(tau));
    tau_ = tau;
  }
  /// The solve asked for (`automatic`: layered where it applies, dense otherwise).
  LagrangianSolve requested_solve() const noexcept { return solve_; }
  /// The solve the steps use.
  LagrangianSolve solve() const noexcept {
    return solve_ == LagrangianSolve::automatic ? (layered_applies() ? LagrangianSolve::layered : LagrangianSolve::dense)
                                                : solve_;
  }
  bool layered_applies() const noexcept { return topology_.feed_forward_chain() && RateT::zero_curvature; }
  void set_solve(LagrangianSolve s) {
    if (s == LagrangianSolve::layered && !layered_applies()) {
      std::string why;
      if (!topology_.feed_forward_chain()) why = "a layered network, and " + topology_.describe() + " is not one";
      if (!RateT::zero_curvature)
        why += std::string(why.empty() ? "" : "; and ") + "a rate function with rho'' = 0, and " + rate_.describe() +
               " has not";
      throw std::invalid_argument(std::string(who) + ": the layered solve needs " + why);
    }
    solve_ = s;
  }

  /// W, with W(i, j) the synapse from neuron j to neuron i (0 where the topology has none).
  const Matrix<S>& weights() const noexcept { return couplings_.matrix(); }
  const Vector<S>& biases() const noexcept { return couplings_.field(); }
  parameters_type& parameters() noexcept { return couplings_; }
  const parameters_type& parameters() const noexcept { return couplings_; }
  /// The learning-rate factors of the synapses (N × N; empty when every block is full).
  const Matrix<S>& mask() const noexcept { return mask_; }
  bool full_blocks() const noexcept { return full_mask_; }

  /// Sets W: N × N, finite, zero where the topology has no synapse (the first such entry named).
  void set_weights(Matrix<S> w) {
    const std::size_t n = neurons();
    if (w.shape(0) != n || w.shape(1) != n)
      throw std::invalid_argument(std::string(who) + ": the weights must be " + std::to_string(n) + " x " +
                                  std::to_string(n) + ", got " + std::to_string(w.shape(0)) + " x " +
                                  std::to_string(w.shape(1)));
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const S v = w(i, j);
        if (!std::isfinite(v))
          throw std::invalid_argument(std::string(who) + ": weight (" + std::to_string(i) + ", " + std::to_string(j) +
                                      ") is not finite");
        if (v != S(0) && topology_.factor(i, j) == 0.0)
          throw std::invalid_argument(std::string(who) + ": weight (" + std::to_string(i) + ", " + std::to_string(j) +
                                      ") is " + std::to_string(double(v)) + " where " + topology_.describe() +
                                      " has no synapse");
      }
    couplings_.set(std::move(w));
  }
  /// Sets b: N finite values, 0 on the input neurons.
  void set_biases(Vector<S> b) {
    if (b.shape(0) != neurons())
      throw std::invalid_argument(std::string(who) + ": the biases must have " + std::to_string(neurons()) +
                                  " values, got " + std::to_string(b.shape(0)));
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (!std::isfinite(b(i)))
        throw std::invalid_argument(std::string(who) + ": bias " + std::to_string(i) + " is not finite");
      if (i < inputs() && b(i) != S(0))
        throw std::invalid_argument(std::string(who) + ": bias " + std::to_string(i) +
                                    " belongs to an input neuron (clamped to x) and must be 0");
    }
    couplings_.set_field(std::move(b));
  }
  /// W ~ N(mean, std²) clipped to ±clip on the synapses, b likewise on the non-input neurons
  /// (the reference's initialisation: 0, 0.1, 0.3), from `engine`.
  void initialize(detail::Xoshiro256& engine, double mean = 0.0, double std = 0.1, double clip = 0.3) {
    if (!(std::isfinite(mean) && std::isfinite(std) && std >= 0 && std::isfinite(clip) && clip >= 0))
      throw std::invalid_argument(std::string(who) + ": initialisation needs finite mean, std >= 0 and clip >= 0");
    const std::size_t n = neurons();
    Matrix<S> w = zeros(n);
    const auto draw = [&](S& into) {
      S v;
      detail::fill_normal<S>(engine, std::span<S>(&v, 1));
      into = S(std::clamp(mean + std * double(v), -clip, clip));
    };
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (topology_.factor(i, j) > 0) draw(w(i, j));
    Vector<S> b = Vector<S>::from_shape({n});
    b.fill(S(0));
    for (std::size_t i = inputs(); i < n; ++i) draw(b(i));
    couplings_.set(std::move(w));
    couplings_.set_field(std::move(b));
  }

  // ---- block products (rows = samples, B × N, row-major) --------------------------------------
  /// Y[:, rows of each block] += α X[:, its columns] M_blockᵀ (Y += α X Mᵀ), over the blocks whose
  /// presynaptic neurons lie in [col_from, col_to) only (their part of it).
  void drive(const Matrix<S>& m, const Matrix<S>& x, Matrix<S>& y, S alpha, std::size_t col_from = 0,
             std::size_t col_to = std::size_t(-1)) const {
    const std::size_t n = neurons(), rows = x.shape(0);
    for (const SynapseBlock& b : topology_.blocks()) {
      const std::size_t c0 = std::max(b.c0, col_from), c1 = std::min(b.c1, col_to);
      if (c0 >= c1) continue;
      detail::gemm_strided(x.data() + c0, n, detail::Op::none, m.data() + b.r0 * n + c0, n, detail::Op::transpose,
                           y.data() + b.r0, n, rows, b.r1 - b.r0, c1 - c0, alpha, S(1));
    }
  }
  /// Y[:, columns of each block] += α C[:, its rows] M_block (Y += α C M: the row form of Mᵀc),
  /// for the columns ≥ col_from only.
  void back(const Matrix<S>& m, const Matrix<S>& c, Matrix<S>& y, S alpha, std::size_t col_from = 0) const {
    const std::size_t n = neurons(), rows = c.shape(0);
    for (const SynapseBlock& b : topology_.blocks()) {
      const std::size_t c0 = std::max(b.c0, col_from);
      if (c0 >= b.c1) continue;
      detail::gemm_strided(c.data() + b.r0, n, detail::Op::none, m.data() + b.r0 * n + c0, n, detail::Op::none,
                           y.data() + c0, n, rows, b.c1 - c0, b.r1 - b.r0, alpha, S(1));
    }
  }
  /// G[block] = α · factor ⊙ Mᵀ R over each block (the masked correlate of the plasticity);
  /// entries outside the blocks are left as they are.
  void correlate(const Matrix<S>& mm, const Matrix<S>& r, Matrix<S>& g, S alpha) const {
    const std::size_t n = neurons(), rows = mm.shape(0);
    for (const SynapseBlock& b : topology_.blocks()) {
      detail::gemm_strided(mm.data() + b.r0, n, detail::Op::transpose, r.data() + b.c0, n, detail::Op::none,
                           g.data() + b.r0 * n + b.c0, n, b.r1 - b.r0, b.c1 - b.c0, rows,
                           S(double(alpha) * (b.full ? b.rate : 1.0)), S(0));
      if (!b.full)
        for (std::size_t i = b.r0; i < b.r1; ++i)
          for (std::size_t j = b.c0; j < b.c1; ++j) g(i, j) *= mask_(i, j);
    }
  }

  // ---- one step's parts -------------------------------------------------------------------
  /// Clamps the inputs (u = x), then r̄, ρ', ρ'' and the mismatch m = u − W r̄ − b (0 on inputs).
  void prepare(NeuronState<S>& s, LagrangianWorkspace<S>& ws) const {
    const std::size_t rows = s.batch(), n = neurons(), ni = inputs();
    shape(ws, rows);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < ni; ++i) s.u(r, i) = s.has_previous ? s.input_prev(r, i) : s.input(r, i);
    {
      const S* u = s.u.data();
      S* rate = ws.rate.data();
      S* slope = ws.slope.data();
      for (std::size_t k = 0; k < s.u.size(); ++k) {
        rate[k] = rate_.rate(u[k]);
        slope[k] = rate_.slope(u[k]);
      }
      if constexpr (!RateT::zero_curvature)
        for (std::size_t k = 0; k < s.u.size(); ++k) ws.curvature.data()[k] = rate_.curvature(u[k]);
    }
    const S* b = biases().data();
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(b, n, ws.drive.data() + r * n);
    drive(weights(), ws.rate, ws.drive, S(1));
    for (std::size_t r = 0; r < rows; ++r) {
      const S* u = s.u.data() + r * n;
      const S* v = ws.drive.data() + r * n;
      S* m = ws.mismatch.data() + r * n;
      std::fill_n(m, ni, S(0));
      for (std::size_t i = ni; i < n; ++i) m[i] = u[i] - v[i];
    }
  }

  /// τu̇ from the prepared state: the right-hand side, then the solve, into s.udot (u̇; the
  /// inputs' u̇ = ẋ). `plasticity` gives Ẇ and ḃ (none: W and b fixed). `dt` dates the previous
  /// input and target.
  /// @throws numerical_error when the system does not solve or gives a non-finite u̇.
  void velocity(NeuronState<S>& s, LagrangianWorkspace<S>& ws, const PlasticityTerms<S>& plasticity, double dt) const {
    const Matrix<S>* wdot = plasticity.weight_step;
    const Vector<S>* bdot = plasticity.bias_step;
    const S wdot_scale = plasticity.scale;
    const std::size_t rows = s.batch(), n = neurons(), ni = inputs(), no = outputs(), o0 = n - no;
    const S tau = S(tau_), inv_dt = S(1.0 / dt);
    // ẋ and the inputs' prospective rates D ẋ (into tmp's input columns).
    ws.tmp.fill(S(0));
    bool moving = false;
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < ni; ++i) {
        const S xdot = s.has_previous ? (s.input(r, i) - s.input_prev(r, i)) * inv_dt : S(0);
        s.udot(r, i) = xdot;
        ws.tmp(r, i) = ws.slope(r, i) * xdot;
        moving = moving || ws.tmp(r, i) != S(0);
      }
    // g = Ẇ r̄ + ḃ + W D ẋ, then c = τ g − m on the free neurons.
    ws.c.fill(S(0));
    if (moving) drive(weights(), ws.tmp, ws.c, S(1), 0, ni);
    if (wdot != nullptr) {
      if (plasticity.low_rank)
        drive_low_rank(*wdot, ws, wdot_scale * plasticity.rank_scale, wdot_scale);
      else
        drive(*wdot, ws.rate, ws.c, wdot_scale);
    }
    for (std::size_t r = 0; r < rows; ++r) {
      S* c = ws.c.data() + r * n;
      const S* m = ws.mismatch.data() + r * n;
      std::fill_n(c, ni, S(0));
      if (bdot != nullptr) {
        const S* bd = bdot->data();
        for (std::size_t i = ni; i < n; ++i) c[i] = tau * (c[i] + wdot_scale * bd[i]) - m[i];
      } else {
        for (std::size_t i = ni; i < n; ++i) c[i] = tau * c[i] - m[i];
      }
    }
    // y = Aᵀc + τ D Ẇᵀ m + β (u* − u + τ u̇*), Aᵀc = c − D ⊙ Wᵀc.
    ws.back.fill(S(0));
    back(weights(), ws.c, ws.back, S(-1), ni);
    if (wdot != nullptr) back(*wdot, ws.mismatch, ws.back, tau * wdot_scale, ni);
    for (std::size_t r = 0; r < rows; ++r) {
      const S* c = ws.c.data() + r * n;
      const S* d = ws.slope.data() + r * n;
      const S* bk = ws.back.data() + r * n;
      S* y = ws.y.data() + r * n;
      for (std::size_t i = ni; i < n; ++i) y[i] = c[i] + d[i] * bk[i];
    }
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < no; ++o) {
        const S beta = s.beta(o);
        if (beta == S(0)) continue;
        const S tdot = s.has_previous ? (s.target(r, o) - s.target_prev(r, o)) * inv_dt : S(0);
        const S start = s.has_previous ? s.target_prev(r, o) : s.target(r, o);
        ws.y(r, o0 + o) += beta * (start - s.u(r, o0 + o) + tau * tdot);
      }
    if (solve() == LagrangianSolve::layered)
      solve_layered(s, ws);
    else
      solve_dense(s, ws);
    const S inv_tau = S(1) / tau;
    for (std::size_t r = 0; r < rows; ++r) {
      const S* y = ws.y.data() + r * n;
      S* ud = s.udot.data() + r * n;
      bool finite = true;
      for (std::size_t i = ni; i < n; ++i) {
        ud[i] = y[i] * inv_tau;
        finite = finite && std::isfinite(ud[i]);
      }
      if (!finite)
        for (std::size_t i = ni; i < n; ++i)
          if (!std::isfinite(ud[i]))
            throw numerical_error(std::string(who) + ": u-dot of neuron " + std::to_string(i) + " (sample " +
                                  std::to_string(r) + ") is not finite; the potentials were left unchanged");
      }
  }

  /// u ← u + dt u̇ on the free neurons, the inputs to this step's x; x and u* become the previous ones.
  void advance(NeuronState<S>& s, double dt) const {
    const std::size_t rows = s.batch(), n = neurons(), ni = inputs();
    const S h = S(dt);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t i = 0; i < ni; ++i) s.u(r, i) = s.input(r, i);
      for (std::size_t i = ni; i < n; ++i) s.u(r, i) += h * s.udot(r, i);
    }
    s.input_prev = s.input;
    s.target_prev = s.target;
    s.has_previous = true;
  }

  /// The feed-forward pass of a layered network: u_0 = x, u_l = W_l ρ(u_{l−1}) + b_l, for each row
  /// of `x` (B × inputs) into `u` (B × N) — the fixed point the dynamics approach with β = 0 and
  /// a constant input.
  void forward(const Matrix<S>& x, Matrix<S>& u) const {
    if (!topology_.feed_forward_chain() || inputs() == 0)
      throw std::invalid_argument(std::string(who) + ": forward needs a layered network with inputs, not " +
                                  topology_.describe());
    const std::size_t rows = x.shape(0), n = neurons();
    if (x.shape(1) != inputs())
      throw std::invalid_argument(std::string(who) + ": forward got inputs of " + std::to_string(x.shape(1)) +
                                  " columns, the network has " + std::to_string(inputs()) + " input neurons");
    detail::ensure_shape(u, rows, n);
    Matrix<S> r = Matrix<S>::from_shape({rows, n});
    r.fill(S(0));
    const auto& layers = topology_.layers();
    for (std::size_t q = 0; q < rows; ++q)
      for (std::size_t i = 0; i < layers[0]; ++i) u(q, i) = x(q, i), r(q, i) = rate_.rate(x(q, i));
    for (std::size_t l = 1; l < layers.size(); ++l) {
      const std::size_t a = topology_.offset(l - 1), b0 = topology_.offset(l), b1 = topology_.offset(l + 1);
      for (std::size_t q = 0; q < rows; ++q)
        for (std::size_t i = b0; i < b1; ++i) u(q, i) = biases()(i);
      detail::gemm_strided(r.data() + a, n, detail::Op::none, weights().data() + b0 * n + a, n, detail::Op::transpose,
                           u.data() + b0, n, rows, b1 - b0, b0 - a, S(1), S(1));
      for (std::size_t q = 0; q < rows; ++q)
        for (std::size_t i = b0; i < b1; ++i) r(q, i) = rate_.rate(u(q, i));
    }
  }

 private:
  static Matrix<S> zeros(std::size_t n) {
    if (n == 0) throw std::invalid_argument(std::string(who) + ": the network has no neurons");
    Matrix<S> m = Matrix<S>::from_shape({n, n});
    m.fill(S(0));
    return m;
  }
  void shape(LagrangianWorkspace<S>& ws, std::size_t rows) const {
    const std::size_t n = neurons();
    for (Matrix<S>* m : {&ws.rate, &ws.slope, &ws.curvature, &ws.mismatch, &ws.drive, &ws.c, &ws.y, &ws.back, &ws.tmp})
      detail::ensure_shape(*m, rows, n);
  }

  /// ws.c += Ẇ r̄ for Ẇ = alpha · f (mᵀ r̄) on each full block whose Gram product is cheaper than
  /// a pass over it (B (rows + columns) < rows × columns), and wdot_scale · *wdot r̄ on the others.
  void drive_low_rank(const Matrix<S>& wstep, LagrangianWorkspace<S>& ws, S alpha, S wdot_scale) const {
    const std::size_t n = neurons(), rows = ws.rate.shape(0);
    detail::ensure_shape(ws.gram, rows, rows);
    for (const SynapseBlock& b : topology_.blocks()) {
      const std::size_t nr = b.r1 - b.r0, nc = b.c1 - b.c0;
      if (b.full && rows * (nr + nc) < nr * nc) {
        // K = R_c R_cᵀ, then c[:, rows] += alpha f K m[:, rows].
        detail::gemm_strided(ws.rate.data() + b.c0, n, detail::Op::none, ws.rate.data() + b.c0, n, detail::Op::transpose,
                             ws.gram.data(), rows, rows, rows, nc, S(1), S(0));
        detail::gemm_strided(ws.gram.data(), rows, detail::Op::none, ws.mismatch.data() + b.r0, n, detail::Op::none,
                             ws.c.data() + b.r0, n, rows, nr, rows, S(double(alpha) * b.rate), S(1));
      } else {
        detail::gemm_strided(ws.rate.data() + b.c0, n, detail::Op::none, wstep.data() + b.r0 * n + b.c0, n,
                             detail::Op::transpose, ws.c.data() + b.r0, n, rows, nr, nc, wdot_scale, S(1));
      }
    }
  }

  /// H z = y over the free neurons, H formed and factored per sample; z into ws.y.
  void solve_dense(NeuronState<S>& s, LagrangianWorkspace<S>& ws) const {
    using index = xt::blas_index_t;
    const std::size_t rows = s.batch(), n = neurons(), ni = inputs(), nf = n - ni, o0 = n - outputs();
    detail::ensure_shape(ws.a, nf, nf);
    detail::ensure_shape(ws.h, nf, nf);
    ws.pivots.resize(nf);
    ws.work.resize(4 * nf);
    ws.iwork.resize(nf);
    // Wᵀm for the curvature term (ρ'' ≠ 0 only).
    if (!RateT::zero_curvature) {
      ws.back.fill(S(0));
      back(weights(), ws.mismatch, ws.back, S(1), ni);
    }
    const Matrix<S>& w = weights();
    ws.small.resize(nf);
    S* z = ws.small.data();
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t i = 0; i < nf; ++i)
        for (std::size_t j = 0; j < nf; ++j)
          ws.a(i, j) = (i == j ? S(1) : S(0)) - w(ni + i, ni + j) * ws.slope(r, ni + j);
      const auto form = [&] {
        detail::gemm(ws.a, detail::Op::transpose, ws.a, detail::Op::none, ws.h, S(1), S(0));
        for (std::size_t i = 0; i < nf; ++i) {
          if (!RateT::zero_curvature) ws.h(i, i) -= ws.curvature(r, ni + i) * ws.back(r, ni + i);
          if (ni + i >= o0) ws.h(i, i) += s.beta(ni + i - o0);
        }
      };
      form();
      for (std::size_t i = 0; i < nf; ++i) z[i] = ws.y(r, ni + i);
      // ‖H‖₁ for the condition estimate (H symmetric: column sums = row sums).
      S norm = S(0);
      for (std::size_t i = 0; i < nf; ++i) {
        S acc = S(0);
        for (std::size_t j = 0; j < nf; ++j) acc += std::abs(ws.h(i, j));
        norm = std::max(norm, acc);
      }
      // H is symmetric, so its row-major storage is its column-major storage.
      S rcond = S(0);
      index info = cxxlapack::potrf<index>('L', index(nf), ws.h.data(), index(nf));
      if (info == 0) {
        cxxlapack::pocon<index>('L', index(nf), ws.h.data(), index(nf), norm, rcond, ws.work.data(), ws.iwork.data());
        if (rcond >= std::numeric_limits<S>::epsilon())
          info = cxxlapack::potrs<index>('L', index(nf), 1, ws.h.data(), index(nf), z, index(nf));
      } else {
        form();
        info = cxxlapack::getrf<index>(index(nf), index(nf), ws.h.data(), index(nf), ws.pivots.data());
        if (info == 0) {
          cxxlapack::gecon<index>('1', index(nf), ws.h.data(), index(nf), norm, rcond, ws.work.data(), ws.iwork.data());
          if (rcond >= std::numeric_limits<S>::epsilon())
            info = cxxlapack::getrs<index>('N', index(nf), 1, ws.h.data(), index(nf), ws.pivots.data(), z, index(nf));
        }
      }
      if (info > 0 || rcond < std::numeric_limits<S>::epsilon()) {
        std::ostringstream why;
        why << std::setprecision(3) << rcond;
        throw numerical_error(std::string(who) + ": the system for u-dot is singular for sample " + std::to_string(r) +
                              " (reciprocal condition number " + why.str() + " of " + std::to_string(nf) +
                              " x " + std::to_string(nf) + "); the potentials and weights were left unchanged");
      }
      if (info != 0)
        throw numerical_error(std::string(who) + ": LAPACK refused the system for u-dot of sample " + std::to_string(r) +
                              " (info " + std::to_string(info) + ")");
      for (std::size_t i = 0; i < nf; ++i) ws.y(r, ni + i) = z[i];
    }
  }

  /// The layered solve (see the file's comment); z into ws.y.
  void solve_layered(NeuronState<S>& s, LagrangianWorkspace<S>& ws) const {
    const std::size_t rows = s.batch(), n = neurons(), no = outputs(), o0 = n - no;
    const auto& layers = topology_.layers();
    const std::size_t last = layers.size() - 1, first = inputs() > 0 ? 1 : 0;
    const Matrix<S>& w = weights();
    const auto block = [&](std::size_t l) { return w.data() + topology_.offset(l) * n + topology_.offset(l - 1); };
    const auto off = [&](std::size_t l) { return topology_.offset(l); };
    // t = A⁻ᵀ y (in ws.y): t_l = y_l + D_l ⊙ (t_{l+1} W_{l+1}).
    for (std::size_t l = last; l-- > first;) {
      detail::gemm_strided(ws.y.data() + off(l + 1), n, detail::Op::none, block(l + 1), n, detail::Op::none,
                           ws.tmp.data() + off(l), n, rows, layers[l], layers[l + 1], S(1), S(0));
      for (std::size_t r = 0; r < rows; ++r) {
        S* y = ws.y.data() + r * n;
        const S* d = ws.slope.data() + r * n;
        const S* t = ws.tmp.data() + r * n;
        for (std::size_t i = off(l); i < off(l + 1); ++i) y[i] += d[i] * t[i];
      }
    }
    // Z = A⁻ᵀ Pᵀ, one row per (sample, output) over the free neurons.
    bool nudged = false;
    for (std::size_t o = 0; o < no; ++o) nudged = nudged || s.beta(o) != S(0);
    if (nudged) {
      const std::size_t zr = rows * no;
      detail::ensure_shape(ws.zbuf, zr, n);
      for (std::size_t q = 0; q < zr; ++q)
        for (std::size_t o = 0; o < no; ++o) ws.zbuf(q, o0 + o) = (q % no == o) ? S(1) : S(0);
      for (std::size_t l = last; l-- > first;) {
        detail::gemm_strided(ws.zbuf.data() + off(l + 1), n, detail::Op::none, block(l + 1), n, detail::Op::none,
                             ws.zbuf.data() + off(l), n, zr, layers[l], layers[l + 1], S(1), S(0));
        for (std::size_t q = 0; q < zr; ++q) {
          S* z = ws.zbuf.data() + q * n;
          const S* d = ws.slope.data() + (q / no) * n;
          for (std::size_t i = off(l); i < off(l + 1); ++i) z[i] *= d[i];
        }
      }
      // Per sample: G = I + B½ Z Zᵀ B½ (outputs × outputs), w = Z t, q = B½ G⁻¹ B½ w, t −= Zᵀ q.
      const std::size_t f0 = off(first), nf = n - f0;
      ws.small.resize(no * no + 2 * no);
      S* g = ws.small.data();
      S* wv = g + no * no;
      S* root = wv + no;
      for (std::size_t o = 0; o < no; ++o) root[o] = S(std::sqrt(double(s.beta(o))));
      for (std::size_t r = 0; r < rows; ++r) {
        // The outputs × outputs products by hand: BLAS calls this small cost more than they do.
        const S* zb = ws.zbuf.data() + r * no * n + f0;
        const S* yr = ws.y.data() + r * n + f0;
        for (std::size_t a = 0; a < no; ++a) {
          const S* za = zb + a * n;
          for (std::size_t b = 0; b <= a; ++b) g[a * no + b] = g[b * no + a] = dot(za, zb + b * n, nf);
          wv[a] = dot(za, yr, nf);
        }
        for (std::size_t a = 0; a < no; ++a) {
          for (std::size_t b = 0; b < no; ++b) g[a * no + b] *= root[a] * root[b];
          g[a * no + a] += S(1);
          wv[a] *= root[a];
        }
        small_cholesky_solve(g, wv, no);  // G is I + a positive semi-definite matrix: never singular
        for (std::size_t a = 0; a < no; ++a) wv[a] *= root[a];
        S* yw = ws.y.data() + r * n + f0;
        for (std::size_t a = 0; a < no; ++a) {
          const S* za = zb + a * n;
          const S qa = wv[a];
#pragma omp simd
          for (std::size_t i = 0; i < nf; ++i) yw[i] -= qa * za[i];
        }
      }
    }
    // z = A⁻¹ s: z_l = s_l + (D_{l−1} ⊙ z_{l−1}) W_lᵀ.
    for (std::size_t l = first + 1; l <= last; ++l) {
      for (std::size_t r = 0; r < rows; ++r) {
        S* t = ws.tmp.data() + r * n;
        const S* d = ws.slope.data() + r * n;
        const S* y = ws.y.data() + r * n;
        for (std::size_t i = off(l - 1); i < off(l); ++i) t[i] = d[i] * y[i];
      }
      detail::gemm_strided(ws.tmp.data() + off(l - 1), n, detail::Op::none, block(l), n, detail::Op::transpose,
                           ws.y.data() + off(l), n, rows, layers[l], layers[l - 1], S(1), S(1));
    }
  }

  static S dot(const S* __restrict a, const S* __restrict b, std::size_t n) noexcept {
    S acc = S(0);
#pragma omp simd reduction(+ : acc)
    for (std::size_t i = 0; i < n; ++i) acc += a[i] * b[i];
    return acc;
  }

  /// Solves G x = v in place (G symmetric positive definite, n × n, overwritten by its factor).
  static void small_cholesky_solve(S* g, S* v, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) {
      S d = g[j * n + j];
      for (std::size_t k = 0; k < j; ++k) d -= g[j * n + k] * g[j * n + k];
      d = std::sqrt(d);
      g[j * n + j] = d;
      for (std::size_t i = j + 1; i < n; ++i) {
        S a = g[i * n + j];
        for (std::size_t k = 0; k < j; ++k) a -= g[i * n + k] * g[j * n + k];
        g[i * n + j] = a / d;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      S a = v[i];
      for (std::size_t k = 0; k < i; ++k) a -= g[i * n + k] * v[k];
      v[i] = a / g[i * n + i];
    }
    for (std::size_t i = n; i-- > 0;) {
      S a = v[i];
      for (std::size_t k = i + 1; k < n; ++k) a -= g[k * n + i] * v[k];
      v[i] = a / g[i * n + i];
    }
  }

  Topology topology_;
  parameters_type couplings_;
  RateT rate_;
  double tau_ = 10.0;
  LagrangianSolve solve_ = LagrangianSolve::automatic;
  bool full_mask_ = true;
  Matrix<S> mask_;
};

}  // namespace nlm
