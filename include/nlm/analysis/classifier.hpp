/// @file classifier.hpp
/// @brief A multinomial logistic-regression (softmax) classifier trained on real images, to
/// ask of generated ones: does each look clearly like one of the trained classes, and are the
/// classes produced in balance? Small, deterministic and quick: it needs no random
/// initialisation (the problem is strictly convex and solved from zero by L-BFGS), trains on
/// a few thousand MNIST digits in a second or two, and its one random ingredient, the optional
/// noise augmentation, comes from a seed in its options.
///
/// With inputs \f$x_a\f$ (rows, a constant 1 appended for the bias), one-hot labels
/// \f$y_a\f$ and weights W (C×(d + 1), one row per class), the class probabilities are
/// \f$p_a = \mathrm{softmax}(W x_a)\f$ and the objective is
/// \f[ L(W) = -\frac1n \sum_a \log p_{a, y_a} + \frac{\lambda}{2} \sum_{c,\, i \le d} W_{ci}^2 \f]
/// (the bias column is not penalised), with gradient
/// \f$ \nabla L = \frac1n (P - Y)^\top X + \lambda W \f$. The L2 term keeps the weights, and
/// so the confidence on inputs unlike any training image, finite even when the classes are
/// separable.
///
/// Noise augmentation (ClassifierOptions::flip_noise). Chains sampled at T = 1 leave
/// salt-and-pepper noise on every picture, and a linear classifier trained on clean digits
/// reads scattered ink as the digit with the most ink: on held-out MNIST 1/3/6 with 30% of the
/// pixels sign-flipped, one trained on clean digits calls 93% of them "3" (accuracy 0.46),
/// which would make any noisy sample set look unbalanced. Training also on one copy of each
/// row whose values are sign-flipped with probability \f$q \sim U[0, q_{max}]\f$ (per row)
/// keeps the classes balanced under such noise (accuracy 0.83 at 30% flips, 0.99 on clean
/// digits, with q_max = 0.35).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "../detail/blas.hpp"
#include "../detail/random.hpp"
#include "../types.hpp"

namespace nlm {

/// Training settings of SoftmaxClassifier.
struct ClassifierOptions {
  /// λ, the L2 penalty on the non-bias weights. 10⁻² keeps 95% of held-out MNIST 1/3/6
  /// above 0.9 confidence while random ±1 pictures mostly stay below it (10⁻³: 97% and
  /// 50% with flip_noise = 0.35; held-out accuracy 0.99 either way).
  double l2 = 1e-2;
  std::size_t max_iterations = 500;   ///< L-BFGS iterations at most
  double gradient_tolerance = 1e-5;   ///< converged when max |∂L/∂W| falls below this
  std::size_t history = 10;           ///< L-BFGS memory (pairs of steps kept)
  /// q_max of the noise augmentation (see the file's description), in [0, 0.5]; 0 trains on
  /// the rows as given. Meant for values symmetric about 0 (pixels in [−1, 1]).
  double flip_noise = 0.0;
  std::uint64_t seed = 0;             ///< seeds the augmentation's noise
};

/// How a classifier's probabilities spread a set of samples over the classes.
struct ClassAssignment {
  std::vector<std::uint8_t> classes;  ///< the labels, in the columns' order
  std::size_t count = 0;              ///< samples assessed
  std::size_t confident = 0;          ///< samples whose largest probability is ≥ the confidence
  double confident_fraction = 0;      ///< confident / count
  /// Among the confident samples: how many went to each class, and the fraction.
  std::vector<std::size_t> class_counts;
  std::vector<double> class_fractions;
  /// max/min of class_counts: 1 is perfect balance, +∞ when a class is never produced, NaN
  /// when no sample is confident.
  double balance_ratio = 0;
  /// \f$ -\sum_c f_c \log f_c / \log C \f$ over class_fractions f: 1 for uniform, 0 for a
  /// single class (1 when C = 1), NaN when no sample is confident.
  double balance_entropy = 0;
};

/// Counts, for each row of `probabilities` (samples × classes, rows summing to 1), whether its
/// largest probability reaches `confidence` and to which class it goes.
/// @throws std::invalid_argument when the columns do not match `classes` or `confidence` is
///         not in (0, 1].
inline ClassAssignment assign_classes(const Matrix<double>& probabilities,
                                      std::span<const std::uint8_t> classes,
                                      double confidence = 0.9) {
  const std::size_t c = classes.size();
  if (probabilities.shape(1) != c)
    throw std::invalid_argument("assign_classes: mismatched widths: probabilities have " +
                                std::to_string(probabilities.shape(1)) + " columns for " +
                                std::to_string(c) + " classes");
  if (!(confidence > 0.0 && confidence <= 1.0))
    throw std::invalid_argument("assign_classes: confidence must be in (0, 1], got " +
                                std::to_string(confidence));
  ClassAssignment a;
  a.classes.assign(classes.begin(), classes.end());
  a.count = probabilities.shape(0);
  a.class_counts.assign(c, 0);
  a.class_fractions.assign(c, 0.0);
  for (std::size_t i = 0; i < a.count; ++i) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < c; ++k)
      if (probabilities(i, k) > probabilities(i, best)) best = k;
    if (probabilities(i, best) >= confidence) {
      ++a.confident;
      ++a.class_counts[best];
    }
  }
  a.confident_fraction = a.count ? double(a.confident) / double(a.count) : 0.0;
  if (a.confident == 0) {
    a.balance_ratio = a.balance_entropy = std::numeric_limits<double>::quiet_NaN();
    return a;
  }
  double entropy = 0;
  for (std::size_t k = 0; k < c; ++k) {
    const double f = double(a.class_counts[k]) / double(a.confident);
    a.class_fractions[k] = f;
    if (f > 0) entropy -= f * std::log(f);
  }
  const auto [lo, hi] = std::minmax_element(a.class_counts.begin(), a.class_counts.end());
  a.balance_ratio = *lo == 0 ? std::numeric_limits<double>::infinity() : double(*hi) / double(*lo);
  a.balance_entropy = c > 1 ? entropy / std::log(double(c)) : 1.0;
  return a;
}

/// Multinomial logistic regression on the rows of a matrix (see the file's description).
class SoftmaxClassifier {
 public:
  /// Trains on `x` (one sample per row) with `labels[i]` the class of row i; the classes are
  /// the distinct labels, in increasing order.
  /// @throws std::invalid_argument for a label count other than the row count, fewer than two
  ///         classes, λ ≤ 0 (the problem would have no minimiser on separable data) or
  ///         non-finite inputs.
  template <Scalar S>
  SoftmaxClassifier(const Matrix<S>& x, std::span<const std::uint8_t> labels,
                    const ClassifierOptions& options = {})
      : options_(options) {
    const std::size_t n = x.shape(0), d = x.shape(1);
    if (labels.size() != n)
      throw std::invalid_argument("SoftmaxClassifier: " + std::to_string(labels.size()) +
                                  " labels for " + std::to_string(n) + " rows");
    if (!(options.l2 > 0.0))
      throw std::invalid_argument("SoftmaxClassifier: l2 must be > 0, got " +
                                  std::to_string(options.l2));
    if (options.history == 0)
      throw std::invalid_argument("SoftmaxClassifier: history must be at least 1");
    if (!(options.flip_noise >= 0.0 && options.flip_noise <= 0.5))
      throw std::invalid_argument("SoftmaxClassifier: flip_noise must be in [0, 0.5], got " +
                                  std::to_string(options.flip_noise));
    classes_.assign(labels.begin(), labels.end());
    std::sort(classes_.begin(), classes_.end());
    classes_.erase(std::unique(classes_.begin(), classes_.end()), classes_.end());
    if (classes_.size() < 2)
      throw std::invalid_argument("SoftmaxClassifier: needs at least 2 classes, got " +
                                  std::to_string(classes_.size()));
    features_ = d;
    Matrix<double> xa = augmented(x, "SoftmaxClassifier");
    std::vector<std::size_t> y(n);
    for (std::size_t i = 0; i < n; ++i)
      y[i] = std::size_t(std::lower_bound(classes_.begin(), classes_.end(), labels[i]) -
                         classes_.begin());
    if (options.flip_noise > 0) add_flipped_copies(xa, y);
    train(xa, y);
  }

  /// Class probabilities of each row of `x`: (rows, classes()), columns in classes()' order.
  /// @throws std::invalid_argument for rows of another width than the training data's.
  template <Scalar S>
  Matrix<double> probabilities(const Matrix<S>& x) const {
    if (x.shape(1) != features_)
      throw std::invalid_argument("SoftmaxClassifier: mismatched widths: rows have " +
                                  std::to_string(x.shape(1)) + " values, the classifier was "
                                  "trained on " + std::to_string(features_));
    const Matrix<double> xa = augmented(x, "SoftmaxClassifier::probabilities");
    Matrix<double> p = Matrix<double>::from_shape({xa.shape(0), classes_.size()});
    detail::gemm(xa, detail::Op::none, weights_, detail::Op::transpose, p, 1.0, 0.0);
    softmax_rows(p);
    return p;
  }

  /// The most probable class of each row of `x`.
  template <Scalar S>
  std::vector<std::uint8_t> predict(const Matrix<S>& x) const {
    const Matrix<double> p = probabilities(x);
    std::vector<std::uint8_t> out(p.shape(0));
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::size_t best = 0;
      for (std::size_t k = 1; k < classes_.size(); ++k)
        if (p(i, k) > p(i, best)) best = k;
      out[i] = classes_[best];
    }
    return out;
  }

  /// Fraction of rows of `x` predicted as their label.
  /// @throws std::invalid_argument for a label count other than the row count.
  template <Scalar S>
  double accuracy(const Matrix<S>& x, std::span<const std::uint8_t> labels) const {
    if (labels.size() != x.shape(0))
      throw std::invalid_argument("SoftmaxClassifier::accuracy: " + std::to_string(labels.size()) +
                                  " labels for " + std::to_string(x.shape(0)) + " rows");
    if (labels.empty()) throw std::invalid_argument("SoftmaxClassifier::accuracy: no rows");
    const auto predicted = predict(x);
    std::size_t right = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
    return double(right) / double(labels.size());
  }

  /// assign_classes() of this classifier's probabilities for the rows of `x`.
  template <Scalar S>
  ClassAssignment assign(const Matrix<S>& x, double confidence = 0.9) const {
    return assign_classes(probabilities(x), classes_, confidence);
  }

  const std::vector<std::uint8_t>& classes() const noexcept { return classes_; }
  std::size_t features() const noexcept { return features_; }
  /// classes×(features + 1), one row per class in classes()' order; the last column holds
  /// the biases.
  const Matrix<double>& weights() const noexcept { return weights_; }
  const ClassifierOptions& options() const noexcept { return options_; }
  /// L-BFGS iterations used, the final objective L(W), and whether the gradient tolerance
  /// was reached (rather than max_iterations or a line search that could not progress).
  std::size_t iterations() const noexcept { return iterations_; }
  double loss() const noexcept { return loss_; }
  bool converged() const noexcept { return converged_; }

 private:
  /// x in double with a column of ones appended (the bias input).
  template <Scalar S>
  static Matrix<double> augmented(const Matrix<S>& x, const char* who) {
    const std::size_t n = x.shape(0), d = x.shape(1);
    Matrix<double> xa = Matrix<double>::from_shape({n, d + 1});
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < d; ++j) {
        const double v = double(x(i, j));
        if (!std::isfinite(v))
          throw std::invalid_argument(std::string(who) + ": row " + std::to_string(i) +
                                      " holds a non-finite value");
        xa(i, j) = v;
      }
      xa(i, d) = 1.0;
    }
    return xa;
  }

  /// Appends to `xa` one copy of each row with every value (not the bias input) negated with
  /// probability q, q uniform in [0, flip_noise] per row, and the labels to match.
  void add_flipped_copies(Matrix<double>& xa, std::vector<std::size_t>& y) const {
    const std::size_t n = xa.shape(0), m = xa.shape(1);
    Matrix<double> both = Matrix<double>::from_shape({2 * n, m});
    std::copy(xa.begin(), xa.end(), both.begin());
    detail::Xoshiro256 engine(options_.seed);
    for (std::size_t i = 0; i < n; ++i) {
      const double q = options_.flip_noise * detail::uniform_open0<double>(engine());
      const double* from = xa.data() + i * m;
      double* to = both.data() + (n + i) * m;
      for (std::size_t j = 0; j + 1 < m; ++j)
        to[j] = detail::uniform_open0<double>(engine()) <= q ? -from[j] : from[j];
      to[m - 1] = 1.0;
    }
    xa = std::move(both);
    y.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) y.push_back(y[i]);
  }

  /// Row-wise softmax in place, shifted by the row maximum so exp never overflows.
  static void softmax_rows(Matrix<double>& z) {
    for (std::size_t i = 0; i < z.shape(0); ++i) {
      double top = z(i, 0);
      for (std::size_t k = 1; k < z.shape(1); ++k) top = std::max(top, z(i, k));
      double sum = 0;
      for (std::size_t k = 0; k < z.shape(1); ++k) sum += (z(i, k) = std::exp(z(i, k) - top));
      for (std::size_t k = 0; k < z.shape(1); ++k) z(i, k) /= sum;
    }
  }

  /// Dot product with four partial sums, which the compiler can keep in vector registers
  /// (a single running sum is a dependency chain it may not reorder).
  static double dot(const double* a, const double* b, std::size_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t j = 0;
    for (; j + 4 <= n; j += 4) {
      s0 += a[j] * b[j];
      s1 += a[j + 1] * b[j + 1];
      s2 += a[j + 2] * b[j + 2];
      s3 += a[j + 3] * b[j + 3];
    }
    for (; j < n; ++j) s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
  }

  /// L(W), with ∇L written into `gradient`. One pass over the rows computes the logits and
  /// accumulates the gradient while the row is still in cache: with C a handful of classes
  /// the two GEMMs this replaces are bound by reading X, so one pass is twice as fast.
  double objective(const Matrix<double>& xa, const std::vector<std::size_t>& y,
                   const Matrix<double>& w, Matrix<double>& gradient) const {
    const std::size_t n = xa.shape(0), m = xa.shape(1), c = classes_.size();
    std::vector<double> z(c);
    gradient.fill(0.0);
    double loss = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double* row = xa.data() + i * m;
      double top = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < c; ++k) top = std::max(top, z[k] = dot(row, w.data() + k * m, m));
      double sum = 0;
      for (std::size_t k = 0; k < c; ++k) sum += (z[k] = std::exp(z[k] - top));
      loss -= std::log(z[y[i]] / sum);
      for (std::size_t k = 0; k < c; ++k) {
        const double r = z[k] / sum - (k == y[i] ? 1.0 : 0.0);  // P − Y
        double* g = gradient.data() + k * m;
        for (std::size_t j = 0; j < m; ++j) g[j] += r * row[j];
      }
    }
    const double l2 = options_.l2, scale = 1.0 / double(n);
    loss *= scale;
    for (std::size_t k = 0; k < c; ++k)
      for (std::size_t j = 0; j < m; ++j) {
        gradient(k, j) *= scale;
        if (j + 1 < m) {
          loss += 0.5 * l2 * w(k, j) * w(k, j);
          gradient(k, j) += l2 * w(k, j);
        }
      }
    return loss;
  }

  static double dot(const Matrix<double>& a, const Matrix<double>& b) {
    return dot(a.data(), b.data(), a.size());
  }

  static double max_abs(const Matrix<double>& a) {
    double m = 0;
    for (const double v : a) m = std::max(m, std::abs(v));
    return m;
  }

  /// L-BFGS (Nocedal & Wright, Algorithm 7.4) with a backtracking Armijo line search.
  void train(const Matrix<double>& xa, const std::vector<std::size_t>& y) {
    const std::size_t c = classes_.size();
    const std::array<std::size_t, 2> shape{c, features_ + 1};
    Matrix<double> w = Matrix<double>::from_shape(shape);
    w.fill(0.0);
    Matrix<double> g = Matrix<double>::from_shape(shape), g_new = g, w_new = w, dir = w;
    double f = objective(xa, y, w, g);
    std::deque<Matrix<double>> s_hist, y_hist;
    std::deque<double> rho_hist;
    std::vector<double> alpha(options_.history);
    converged_ = false;
    iterations_ = 0;
    while (iterations_ < options_.max_iterations) {
      if (max_abs(g) < options_.gradient_tolerance) {
        converged_ = true;
        break;
      }
      // Two-loop recursion: dir = −H g with H the inverse-Hessian estimate of the last pairs.
      dir = g;
      const std::size_t m = s_hist.size();
      for (std::size_t j = m; j-- > 0;) {
        alpha[j] = rho_hist[j] * dot(s_hist[j], dir);
        dir -= alpha[j] * y_hist[j];
      }
      if (m > 0) dir *= dot(s_hist[m - 1], y_hist[m - 1]) / dot(y_hist[m - 1], y_hist[m - 1]);
      for (std::size_t j = 0; j < m; ++j) {
        const double beta = rho_hist[j] * dot(y_hist[j], dir);
        dir += (alpha[j] - beta) * s_hist[j];
      }
      dir *= -1.0;
      double slope = dot(g, dir);
      if (!(slope < 0)) {  // lost descent to rounding: restart from steepest descent
        s_hist.clear();
        y_hist.clear();
        rho_hist.clear();
        dir = -g;
        slope = dot(g, dir);
      }
      // The first step has no curvature information: scale it to a unit-size move.
      double step = m == 0 ? std::min(1.0, 1.0 / std::sqrt(-slope)) : 1.0;
      double f_new = 0;
      bool accepted = false;
      for (int tries = 0; tries < 60; ++tries, step *= 0.5) {
        w_new = w + step * dir;
        f_new = objective(xa, y, w_new, g_new);
        if (f_new <= f + 1e-4 * step * slope) {
          accepted = true;
          break;
        }
      }
      if (!accepted) break;  // no decrease possible at this precision: as good as it gets
      Matrix<double> s_step = w_new - w;
      Matrix<double> y_step = g_new - g;
      const double sy = dot(s_step, y_step);
      if (sy > 1e-12 * std::sqrt(dot(s_step, s_step) * dot(y_step, y_step))) {
        if (s_hist.size() == options_.history) {
          s_hist.pop_front();
          y_hist.pop_front();
          rho_hist.pop_front();
        }
        s_hist.push_back(std::move(s_step));
        y_hist.push_back(std::move(y_step));
        rho_hist.push_back(1.0 / sy);
      }
      std::swap(w, w_new);
      std::swap(g, g_new);
      f = f_new;
      ++iterations_;
    }
    if (!converged_ && max_abs(g) < options_.gradient_tolerance) converged_ = true;
    weights_ = std::move(w);
    loss_ = f;
  }

  ClassifierOptions options_;
  std::vector<std::uint8_t> classes_;
  std::size_t features_ = 0;
  Matrix<double> weights_;
  std::size_t iterations_ = 0;
  double loss_ = 0;
  bool converged_ = false;
};

}  // namespace nlm
