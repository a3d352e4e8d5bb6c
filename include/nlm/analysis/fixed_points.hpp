/// @file fixed_points.hpp
/// @brief The fixed points of a plain recurrent network f(x) = −x + Jφ(x) + b, and the slow
/// points of the NLM's energy E = ½‖f‖² (minima with E > 0), found from many starts.
///
/// Each start first descends on E (the NLM at T = 0 with heavy-ball momentum, all starts at once
/// with the couplings' products, a step per start that halves and restarts the momentum
/// whenever E would rise and grows by a quarter when it falls, never moving a state by more
/// than `max_move`), then Levenberg–Marquardt on the least-squares problem ½‖f‖² in
/// double polishes it: solve (AᵀA + μI) δ = −Aᵀf with A = −I + J diag φ'(x), μ adapted so that
/// E falls at every step and no step is longer than `max_move` (a trust region: Gauss–Newton
/// steps near a slow point, where AᵀA is nearly singular, would otherwise leap out of its
/// basin); as μ → 0 this is Newton's method on f (A δ = −f), quadratic near a
/// fixed point. (Gradient descent alone stalls in the soft directions of a trained model's E,
/// where the Hessian AᵀA has a condition number of 10⁵ and more.) A start whose polish ends with
/// RMS(f) ≤ `newton_tolerance` is at a fixed point; one that ends at a minimum of E with f ≠ 0
/// (RMS(∇E) ≤ `gradient_tolerance`) at a slow point; any other is counted as not converged. Points closer than `distance` (RMS over neurons) are merged and their starts
/// pooled into a basin size. For each fixed point: E, ‖f‖, the eigenvalues of A (LAPACK geev)
/// and whether the plain dynamics find it stable (every Re λ < 0). Every fixed point is a
/// minimum of E (∇²E = AᵀA at f = 0), stable under the NLM dynamics whether or not the plain
/// dynamics find it so.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor-blas/xlapack.hpp>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xtensor.hpp>

#include "../detail/blas.hpp"
#include "../langevin_model.hpp"
#include "../noise/no_noise.hpp"
#include "../detail/checks.hpp"
#include "../force_workspace.hpp"
#include "../io/atomic_file.hpp"
#include "../io/npy.hpp"
#include "../types.hpp"

namespace nlm {

struct FixedPointOptions {
  std::size_t descent_steps = 2000;   ///< gradient-flow steps at most per start (batched, float)
  double descent_step = 0.05;         ///< the first step of every start (adapted per start)
  /// The descent and the polish move a state by at most this much per step (RMS over neurons),
  /// so that a start stays in its own basin instead of leaping over a barrier.
  double max_move = 0.05;
  double gradient_tolerance = 1e-6;   ///< a minimum of E: RMS(∇E) = RMS(Aᵀf) below this
  std::size_t polish_iterations = 100;  ///< Levenberg–Marquardt iterations at most per start
  double newton_tolerance = 1e-9;     ///< a fixed point: RMS(f) below this (in double)
  double distance = 1e-3;             ///< points closer than this (RMS over neurons) are one
  bool eigenvalues = true;            ///< compute A's spectrum for every fixed point
  /// Called during the descent with (steps done, starts still descending) every 100 steps, then
  /// with (starts polished, all starts) after every 10 starts of the polish.
  std::function<void(std::size_t, std::size_t)> progress = {};
  std::function<void(std::size_t, std::size_t)> polish_progress = {};

  void validate() const {
    auto positive = [](double v, const char* name) {
      if (!(std::isfinite(v) && v > 0.0))
        throw std::invalid_argument(std::string("find_fixed_points: ") + name + " must be finite and > 0, got " +
                                    std::to_string(v));
    };
    positive(descent_step, "descent_step");
    positive(gradient_tolerance, "gradient_tolerance");
    positive(newton_tolerance, "newton_tolerance");
    positive(distance, "distance");
    positive(max_move, "max_move");
  }
};

/// A fixed point (f = 0) or a slow point (a minimum of E with E > 0).
struct CriticalPoint {
  Vector<double> state;    ///< x*, N values
  double energy = 0;       ///< E(x*) = ½‖f(x*)‖²
  double drift_norm = 0;   ///< ‖f(x*)‖
  std::size_t starts = 0;  ///< starts that ended here
  double basin = 0;        ///< starts / all starts
  /// Of A = −I + J diag φ'(x*) (fixed points, when asked); largest real part first.
  std::vector<std::complex<double>> eigenvalues{};
  double max_real = NAN;   ///< max Re λ(A)
  bool stable = false;     ///< under the plain dynamics: max Re λ < 0
};

struct FixedPointCensus {
  std::vector<CriticalPoint> fixed_points;  ///< by basin, largest first
  std::vector<CriticalPoint> slow_points;   ///< minima of E with E > 0, by basin
  std::size_t starts = 0;
  std::size_t not_converged = 0;            ///< starts that ended at neither
  /// Per start: index into fixed_points (≥ 0), −1 − index into slow_points, or
  /// `not_converged_mark`.
  std::vector<long> outcome;
  static constexpr long not_converged_mark = std::numeric_limits<long>::min();

  std::size_t stable_count() const {
    return std::size_t(std::count_if(fixed_points.begin(), fixed_points.end(), [](const auto& p) { return p.stable; }));
  }
  double not_converged_share() const { return starts ? double(not_converged) / double(starts) : 0.0; }
};

namespace detail {

inline double rms(const double* v, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += v[i] * v[i];
  return std::sqrt(s / double(n));
}

/// f(x) = −x + Jφ(x) + b in double, with φ'(x) (row vectors of N).
template <class Net>
void plain_drift_double(const Net& net, const Matrix<double>& jd, const Matrix<double>& x, Matrix<double>& phi,
                        Matrix<double>& dphi, Matrix<double>& f) {
  net.activation().value_and_derivative(x, phi, dphi);
  const std::size_t n = x.shape(1);
  const auto& b = net.field();
  const bool field = net.parameters().has_field();
  for (std::size_t i = 0; i < n; ++i) {
    const double* ji = jd.data() + i * n;
    double h = 0;
    for (std::size_t c = 0; c < n; ++c) h += ji[c] * phi(0, c);
    f(0, i) = h - x(0, i) + (field ? double(b(i)) : 0.0);
  }
}

struct PolishEnd {
  double f_rms;     ///< RMS(f) at the end
  double grad_rms;  ///< RMS(∇E) = RMS(Aᵀf) at the end
};

/// Levenberg–Marquardt on ½‖f‖² from x (1×N, in place). Buffers are allocated once per call;
/// H = AᵀA by one dgemm, (H + μI) δ = −Aᵀf by Cholesky (LAPACK potrf/potrs).
template <class Net>
PolishEnd polish(const Net& net, const Matrix<double>& jd, Matrix<double>& x, const FixedPointOptions& o) {
  const std::size_t n = x.shape(1);
  Matrix<double> phi = Matrix<double>::from_shape({1, n}), dphi = phi, f = phi, trial = phi, tphi = phi, tdphi = phi,
                 tf = phi;
  Matrix<double> a = Matrix<double>::from_shape({n, n}), h = a;
  xt::xtensor<double, 2, xt::layout_type::column_major> m = xt::xtensor<double, 2, xt::layout_type::column_major>::from_shape({n, n});
  Vector<double> g = Vector<double>::from_shape({n}), delta = g;
  plain_drift_double(net, jd, x, phi, dphi, f);
  double e = 0.5 * rms(f.data(), n) * rms(f.data(), n) * double(n);
  double mu = -1.0, previous_f = NAN;
  PolishEnd end{rms(f.data(), n), NAN};
  for (std::size_t it = 0;; ++it) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t c = 0; c < n; ++c) a(i, c) = jd(i, c) * dphi(0, c);
      a(i, i) -= 1.0;
    }
    for (std::size_t c = 0; c < n; ++c) g(c) = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < n; ++c) g(c) += a(i, c) * f(0, i);  // ∇E = Aᵀ f
    end = {rms(f.data(), n), rms(g.data(), n)};
    if (end.f_rms <= o.newton_tolerance || it == o.polish_iterations) return end;
    // At a minimum of E where f does not head for zero (it fell by less than 10⁻⁶ of itself in
    // the last step: near a fixed point Newton's steps shrink it quadratically): a slow point.
    if (end.grad_rms <= o.gradient_tolerance && previous_f - end.f_rms < 1e-6 * end.f_rms) return end;
    previous_f = end.f_rms;
    detail::gemm(a, detail::Op::transpose, a, detail::Op::none, h, 1.0, 0.0);  // AᵀA
    if (mu < 0) {  // start at 10⁻⁶ of the largest curvature
      double big = 0;
      for (std::size_t i = 0; i < n; ++i) big = std::max(big, h(i, i));
      mu = 1e-6 * std::max(big, 1e-300);
    }
    bool accepted = false;
    for (int tries = 0; tries < 60 && !accepted; ++tries) {
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < n; ++c) m(i, c) = h(i, c);  // symmetric: either layout
      for (std::size_t i = 0; i < n; ++i) m(i, i) += mu;
      for (std::size_t i = 0; i < n; ++i) delta(i) = -g(i);
      if (xt::lapack::potr(m, 'L') != 0 || xt::lapack::potrs(m, delta, 'L') != 0) {  // not positive definite
        mu *= 4;
        continue;
      }
      if (rms(delta.data(), n) > o.max_move) {  // a trust region: stay in the start's basin
        mu *= 4;
        continue;
      }
      for (std::size_t i = 0; i < n; ++i) trial(0, i) = x(0, i) + delta(i);
      plain_drift_double(net, jd, trial, tphi, tdphi, tf);
      const double rt = rms(tf.data(), n), et = 0.5 * rt * rt * double(n);
      if (std::isfinite(et) && et < e) {
        accepted = true;
        std::swap(x, trial);
        std::swap(phi, tphi);
        std::swap(dphi, tdphi);
        std::swap(f, tf);
        e = et;
        mu = std::max(mu / 3.0, 1e-300);
      } else {
        mu *= 4;
      }
    }
    if (!accepted) return end;  // no step lowers E: at a minimum to rounding
  }
}

inline double rms_distance(const Vector<double>& a, const double* b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a(i) - b[i]) * (a(i) - b[i]);
  return std::sqrt(s / double(a.size()));
}

/// The index of the point within `distance` of x in `points`, adding x when there is none.
inline std::size_t merge_point(std::vector<CriticalPoint>& points, const double* x, std::size_t n, double distance,
                               double drift_norm) {
  for (std::size_t k = 0; k < points.size(); ++k)
    if (rms_distance(points[k].state, x) < distance) {
      ++points[k].starts;
      return k;
    }
  CriticalPoint p;
  p.state = Vector<double>::from_shape({n});
  std::copy_n(x, n, p.state.data());
  p.drift_norm = drift_norm;
  p.energy = 0.5 * drift_norm * drift_norm;
  p.starts = 1;
  points.push_back(std::move(p));
  return points.size() - 1;
}

}  // namespace detail

/// The census of `net`'s fixed and slow points from the rows of `starts` (one start per row).
/// `net` is a `RecurrentNetwork` (recurrent_network.hpp) or anything with its `parameters()`,
/// `activation()`, `field()`, `neurons()`, `activation_type` and `parameters_type`; its
/// activation must serve double as well. The descent follows the force of the
/// `LangevinModel` on the same J, b and φ at T = 0: `net`'s temperature and noise play no
/// part (fixed points of x = Jφ(x) + b do not depend on them).
template <class Net>
FixedPointCensus find_fixed_points(const Net& net, const Matrix<typename Net::scalar_type>& starts,
                                   const FixedPointOptions& options = {}) {
  using S = typename Net::scalar_type;
  options.validate();
  const std::size_t n = net.neurons(), rows = starts.shape(0);
  detail::require_columns(starts, n, "find_fixed_points", "starts");
  detail::require_finite(starts, "find_fixed_points", "starts contain");
  if (rows == 0) throw std::invalid_argument("find_fixed_points: no starts");
  const auto& c = net.parameters();
  // The NLM on the network's J, b and φ: its force −∇E drives the descent (T plays no part).
  const LangevinModel<typename Net::activation_type, NoNoise, S, typename Net::parameters_type::backend_type> model(
      c, 0.0, net.activation());

  // ---- descent on E, all starts at once -------------------------------------------------
  // ws: the current states' φ, φ', R = f(X), G = R J; wt: the trial states'.
  Matrix<S> x = starts, xt_trial = starts;
  ForceWorkspace<S> ws, wt;
  auto evaluate = [&](const Matrix<S>& states, ForceWorkspace<S>& w) { model.evaluate(states, w, false); };
  auto grad_rms = [&](const ForceWorkspace<S>& w, std::size_t r) {  // RMS of −∇E
    const auto force = model.drift_terms(w);
    double s = 0;
    for (std::size_t i = r * n; i < (r + 1) * n; ++i) {
      const double g = double(force(i));
      s += g * g;
    }
    return std::sqrt(s / double(n));
  };
  auto energy = [&](const ForceWorkspace<S>& w, std::size_t r) {
    double s = 0;
    for (std::size_t i = r * n; i < (r + 1) * n; ++i) s += double(w.residual.data()[i]) * double(w.residual.data()[i]);
    return 0.5 * s;
  };
  evaluate(x, ws);
  std::vector<double> dt(rows, options.descent_step), e(rows);
  std::vector<std::size_t> run(rows, 0);  // accepted steps since the last restart of the momentum
  std::vector<char> active(rows, 1);
  Matrix<S> x_prev = x;
  // The float descent only brings a start near its minimum; the polish in double finishes.
  const double descent_tolerance = std::max(options.gradient_tolerance, 1e-4);
  for (std::size_t r = 0; r < rows; ++r) e[r] = energy(ws, r);
  std::size_t left = rows;
  std::vector<double> move(n);
  for (std::size_t step = 0; step < options.descent_steps && left > 0; ++step) {
    for (std::size_t r = 0; r < rows; ++r) {
      S* xt_row = xt_trial.data() + r * n;
      const S* x_row = x.data() + r * n;
      const S* p_row = x_prev.data() + r * n;
      if (!active[r]) {
        std::copy_n(x_row, n, xt_row);
        continue;
      }
      // Heavy ball: h·(−∇E) plus β·(x − x_prev), β = k/(k + 3) after k accepted steps; a
      // rejected step restarts the momentum (O'Donoghue & Candès' gradient restart). The soft
      // directions of a trained E (condition numbers of 10⁵) need the momentum.
      const double beta = std::min(double(run[r]) / double(run[r] + 3), 0.995);
      double sq = 0;
      const auto force = model.drift_terms(ws);
      for (std::size_t i = 0; i < n; ++i) {
        move[i] = dt[r] * double(force(r * n + i)) + beta * (double(x_row[i]) - double(p_row[i]));
        sq += move[i] * move[i];
      }
      const double length = std::sqrt(sq / double(n));
      const double shrink = length > options.max_move ? options.max_move / length : 1.0;
      for (std::size_t i = 0; i < n; ++i) xt_row[i] = S(double(x_row[i]) + shrink * move[i]);
    }
    evaluate(xt_trial, wt);
    for (std::size_t r = 0; r < rows; ++r) {
      if (!active[r]) continue;
      const std::size_t o = r * n;
      const double et = energy(wt, r);
      std::copy_n(x.data() + o, n, x_prev.data() + o);  // accepted: the old state; rejected: no momentum
      if (std::isfinite(et) && et < e[r]) {  // accept the row: copy the trial's state and workspace
        std::copy_n(xt_trial.data() + o, n, x.data() + o);
        std::copy_n(wt.phi.data() + o, n, ws.phi.data() + o);
        std::copy_n(wt.dphi.data() + o, n, ws.dphi.data() + o);
        std::copy_n(wt.residual.data() + o, n, ws.residual.data() + o);
        std::copy_n(wt.feedback.data() + o, n, ws.feedback.data() + o);
        e[r] = et;
        dt[r] = std::min(dt[r] * 1.25, 1e3 * options.descent_step);
        ++run[r];
      } else {
        dt[r] *= 0.5;
        run[r] = 0;
      }
      if (grad_rms(ws, r) < descent_tolerance || dt[r] < 1e-12 * options.descent_step) {
        active[r] = 0;
        --left;
      }
    }
    if (options.progress && (step + 1) % 100 == 0) options.progress(step + 1, left);
  }

  // ---- polish, classification, merging -----------------------------------------------------
  Matrix<double> jd = Matrix<double>::from_shape({n, n});
  std::copy_n(c.matrix().data(), n * n, jd.data());  // exact widening
  FixedPointCensus census;
  census.starts = rows;
  census.outcome.assign(rows, FixedPointCensus::not_converged_mark);
  Matrix<double> xd = Matrix<double>::from_shape({1, n});
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t i = 0; i < n; ++i) xd(0, i) = double(x(r, i));
    const detail::PolishEnd end = detail::polish(net, jd, xd, options);
    if (end.f_rms <= options.newton_tolerance) {
      census.outcome[r] =
          long(detail::merge_point(census.fixed_points, xd.data(), n, options.distance, end.f_rms * std::sqrt(double(n))));
    } else if (end.grad_rms <= options.gradient_tolerance) {
      census.outcome[r] = -1 - long(detail::merge_point(census.slow_points, xd.data(), n, options.distance,
                                                        end.f_rms * std::sqrt(double(n))));
    } else {
      ++census.not_converged;
    }
    if (options.polish_progress && ((r + 1) % 10 == 0 || r + 1 == rows)) options.polish_progress(r + 1, rows);
  }

  // ---- spectra, basins, order ------------------------------------------------------------
  for (auto* points : {&census.fixed_points, &census.slow_points})
    for (auto& p : *points) p.basin = double(p.starts) / double(rows);
  if (options.eigenvalues)
    for (auto& p : census.fixed_points) {
      // A at the polished state in double, not at its rounding to S.
      Matrix<double> ad = Matrix<double>::from_shape({n, n});
      Matrix<double> xs = Matrix<double>::from_shape({1, n}), phi = xs, dphi = xs;
      std::copy_n(p.state.data(), n, xs.data());
      net.activation().value_and_derivative(xs, phi, dphi);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < n; ++k) ad(i, k) = jd(i, k) * dphi(0, k) - (i == k ? 1.0 : 0.0);
      const auto lambda = xt::linalg::eigvals(ad);
      p.eigenvalues.assign(lambda.begin(), lambda.end());
      std::sort(p.eigenvalues.begin(), p.eigenvalues.end(),
                [](const auto& u, const auto& v) { return u.real() > v.real(); });
      p.max_real = p.eigenvalues.empty() ? NAN : p.eigenvalues.front().real();
      p.stable = p.max_real < 0.0;
    }
  // Order by basin (largest first), remapping the per-start outcomes.
  auto reorder = [&](std::vector<CriticalPoint>& points, bool fixed) {
    std::vector<std::size_t> order(points.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return points[a].starts > points[b].starts; });
    std::vector<long> where(points.size());
    std::vector<CriticalPoint> sorted;
    for (std::size_t k = 0; k < order.size(); ++k) {
      where[order[k]] = long(k);
      sorted.push_back(std::move(points[order[k]]));
    }
    points = std::move(sorted);
    for (auto& o : census.outcome) {
      if (o == FixedPointCensus::not_converged_mark) continue;
      if (fixed && o >= 0) o = where[std::size_t(o)];
      if (!fixed && o < 0) o = -1 - where[std::size_t(-1 - o)];
    }
  };
  reorder(census.fixed_points, true);
  reorder(census.slow_points, false);
  return census;
}

/// Writes `census` into `dir` (created if needed), each file atomically:
/// `fixed_points.npy` (K×N float64), `slow_points.npy` (L×N), `eigenvalues.npy` (K×N×2: real,
/// imaginary; largest real part first) and `census.csv` (one row per point: kind, index, energy,
/// drift norm, max Re λ, stable, starts, basin; a last row with the not-converged starts).
inline void save_census(const std::filesystem::path& dir, const FixedPointCensus& census) {
  std::filesystem::create_directories(dir);
  auto stack = [](const std::vector<CriticalPoint>& points, std::size_t n) {
    Matrix<double> m = Matrix<double>::from_shape({points.size(), n});
    for (std::size_t k = 0; k < points.size(); ++k) std::copy_n(points[k].state.data(), n, m.data() + k * n);
    return m;
  };
  const std::size_t n = !census.fixed_points.empty()  ? census.fixed_points[0].state.size()
                        : !census.slow_points.empty() ? census.slow_points[0].state.size()
                                                      : 0;
  io::save_npy(dir / "fixed_points.npy", stack(census.fixed_points, n));
  io::save_npy(dir / "slow_points.npy", stack(census.slow_points, n));
  xt::xtensor<double, 3> ev = xt::xtensor<double, 3>::from_shape({census.fixed_points.size(), n, 2});
  ev.fill(NAN);
  for (std::size_t k = 0; k < census.fixed_points.size(); ++k)
    for (std::size_t i = 0; i < census.fixed_points[k].eigenvalues.size() && i < n; ++i) {
      ev(k, i, 0) = census.fixed_points[k].eigenvalues[i].real();
      ev(k, i, 1) = census.fixed_points[k].eigenvalues[i].imag();
    }
  io::save_npy(dir / "eigenvalues.npy", ev);
  io::write_atomically(dir / "census.csv", [&](std::ostream& out) {
    out.precision(10);
    out << "kind,index,energy,drift_norm,max_real_eigenvalue,stable,starts,basin\n";
    auto rows = [&](const std::vector<CriticalPoint>& points, const char* kind) {
      for (std::size_t k = 0; k < points.size(); ++k) {
        const auto& p = points[k];
        out << kind << ',' << k << ',' << p.energy << ',' << p.drift_norm << ',' << p.max_real << ','
            << (p.stable ? 1 : 0) << ',' << p.starts << ',' << p.basin << '\n';
      }
    };
    rows(census.fixed_points, "fixed");
    rows(census.slow_points, "slow");
    out << "not_converged,,,,,," << census.not_converged << ',' << census.not_converged_share() << '\n';
  });
}

}  // namespace nlm
