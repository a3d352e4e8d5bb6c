/// @file adversarial_accuracy.hpp
/// @brief Nearest-neighbour adversarial accuracy (Yale et al., "Generation and evaluation of
/// privacy preserving synthetic health data", Neurocomputing 416, 2020): how well a
/// 1-nearest-neighbour rule tells generated samples from real ones, with no model to train.
///
/// With real samples T and synthetic samples S of equal size n, and Euclidean distances
/// \f$d_{TS}(i) = \min_j \|T_i - S_j\|\f$, \f$d_{ST}(i) = \min_j \|S_i - T_j\|\f$ and the
/// leave-one-out \f$d_{TT}(i) = \min_{j \ne i} \|T_i - T_j\|\f$,
/// \f$d_{SS}(i) = \min_{j \ne i} \|S_i - S_j\|\f$,
/// \f[ AA_{TS} = \frac12 \left[ \frac1n \sum_i \mathbb{1}\big(d_{TS}(i) > d_{TT}(i)\big)
///                            + \frac1n \sum_i \mathbb{1}\big(d_{ST}(i) > d_{SS}(i)\big) \right]. \f]
/// 0.5 is ideal (samples indistinguishable from data); 1.0 means every point's nearest
/// neighbour is in its own set (perfectly separable); values well below 0.5 mean the samples
/// sit closer to the data than the data to itself, i.e. copies (memorisation).
///
/// Under the null hypothesis each indicator is 1 with probability (n − 1)/(2n − 1), a hair
/// under ½ (a point's own set has one point fewer to offer). Were the 2n indicators
/// independent, AA would have a standard deviation of \f$\sqrt{1/(8n)}\f$ (0.011 for
/// n = 1000); nearest-neighbour relations correlate them, and the spread measured over 200
/// pairs of Gaussian sets (n = 500, d = 10) is 1.2 times that.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "../detail/blas.hpp"
#include "../types.hpp"
#include "moments.hpp"

namespace nlm {

/// AA_TS and its two halves.
struct AdversarialAccuracy {
  double value = 0;      ///< AA_TS, the mean of the two halves below
  double real = 0;       ///< fraction of real rows whose nearest synthetic is farther than their nearest other real
  double synthetic = 0;  ///< fraction of synthetic rows whose nearest real is farther than their nearest other synthetic
  std::size_t count = 0; ///< n, the rows of each set
};

namespace detail {

/// Nearest squared Euclidean distances between the rows of `a` and those of `b`: for each
/// row of `a` its nearest row of `b` (`a_to_b`) and, when `b_to_a` is given, for each row of
/// `b` its nearest row of `a`. With `leave_one_out` (a and b the same set) j == i is skipped.
/// Distances come from \f$\|a\|^2 + \|b\|^2 - 2\,a b^\top\f$, one GEMM per block of rows of
/// `a`, so memory stays at block×n rather than n×n.
inline void nearest_squared_distances(const Matrix<double>& a, const Matrix<double>& b,
                                      bool leave_one_out, std::vector<double>& a_to_b,
                                      std::vector<double>* b_to_a = nullptr) {
  const std::size_t na = a.shape(0), nb = b.shape(0), d = a.shape(1);
  const auto row_norms = [d](const Matrix<double>& m) {
    std::vector<double> norms(m.shape(0));
    for (std::size_t i = 0; i < m.shape(0); ++i) {
      double acc = 0;
      for (std::size_t c = 0; c < d; ++c) acc += m(i, c) * m(i, c);
      norms[i] = acc;
    }
    return norms;
  };
  const std::vector<double> an = row_norms(a), bn = row_norms(b);
  constexpr double inf = std::numeric_limits<double>::infinity();
  a_to_b.assign(na, inf);
  if (b_to_a) b_to_a->assign(nb, inf);
  constexpr std::size_t block = 256;
  Matrix<double> cross;
  for (std::size_t first = 0; first < na; first += block) {
    const std::size_t rows = std::min(block, na - first);
    const Matrix<double> q = xt::view(a, xt::range(first, first + rows), xt::all());
    ensure_shape(cross, rows, nb);
    gemm(q, Op::none, b, Op::transpose, cross, 1.0, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t i = first + r;
      for (std::size_t j = 0; j < nb; ++j) {
        if (leave_one_out && j == i) continue;
        const double dist = an[i] + bn[j] - 2.0 * cross(r, j);
        a_to_b[i] = std::min(a_to_b[i], dist);
        if (b_to_a) (*b_to_a)[j] = std::min((*b_to_a)[j], dist);
      }
    }
  }
  // Cancellation can leave a tiny negative value for (near-)duplicates.
  for (double& v : a_to_b) v = std::max(0.0, v);
  if (b_to_a)
    for (double& v : *b_to_a) v = std::max(0.0, v);
}

}  // namespace detail

/// AA_TS of `synthetic` against `real` (equal numbers of rows, at least 2, same width).
/// Distances are Euclidean in the rows' own space (pixels for images), computed in double.
/// Ties count as "not farther", so a set compared with an exact copy of itself scores 0.
/// @throws std::invalid_argument for mismatched widths, unequal row counts (pass subsets of
///         equal size: the measure is defined for them) or fewer than 2 rows.
template <Scalar S, Scalar R>
AdversarialAccuracy adversarial_accuracy(const Matrix<R>& real, const Matrix<S>& synthetic) {
  const std::string who = "adversarial_accuracy";
  detail::require_same_width(real.shape(1), synthetic.shape(1), who, "real samples",
                             "synthetic samples");
  if (real.shape(0) != synthetic.shape(0))
    throw std::invalid_argument(who + ": needs equal numbers of real and synthetic samples, got " +
                                std::to_string(real.shape(0)) + " and " +
                                std::to_string(synthetic.shape(0)) +
                                "; pass subsets of the same size");
  detail::require_rows(real, 2, who, "leave-one-out nearest neighbours");
  const Matrix<double> t = xt::cast<double>(real);
  const Matrix<double> s = xt::cast<double>(synthetic);
  const std::size_t n = t.shape(0);
  std::vector<double> tt, ss, ts, st;
  detail::nearest_squared_distances(t, t, true, tt);
  detail::nearest_squared_distances(s, s, true, ss);
  detail::nearest_squared_distances(t, s, false, ts, &st);
  std::size_t real_hits = 0, synthetic_hits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    real_hits += ts[i] > tt[i];
    synthetic_hits += st[i] > ss[i];
  }
  AdversarialAccuracy aa;
  aa.count = n;
  aa.real = double(real_hits) / double(n);
  aa.synthetic = double(synthetic_hits) / double(n);
  aa.value = 0.5 * (aa.real + aa.synthetic);
  return aa;
}

}  // namespace nlm
