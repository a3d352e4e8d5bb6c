/// @file frechet.hpp
/// @brief Fréchet distance between Gaussians fitted to two sets of samples, and the same
/// measured in a PCA space fitted on real data: the "FID" of generative modelling with the
/// Inception network replaced by principal components of the real digits, so that it needs
/// nothing beyond the data.
///
/// The 2-Wasserstein distance between \f$N(\mu_1, \Sigma_1)\f$ and \f$N(\mu_2, \Sigma_2)\f$
/// (Dowson & Landau 1982; Heusel et al. 2017 for its use on samples) is
/// \f[ \mathrm{FD} = \|\mu_1 - \mu_2\|^2
///     + \mathrm{Tr}\left(\Sigma_1 + \Sigma_2 - 2\,(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2}\right). \f]
/// Both square roots are taken through symmetric eigendecompositions (LAPACK's `syevd` via
/// xt::linalg::eigh) with negative rounding noise in the eigenvalues clipped to zero: unlike
/// the general `sqrtm(Σ1 Σ2)` used by common FID code, this never produces complex values
/// or a loss of symmetry, and stays exact for singular covariances.
///
/// The estimate from finite samples is biased upwards (by roughly Tr Σ/n per set and more
/// for the covariance term), so a distance is only meaningful next to a real-vs-real value
/// computed with the same sample sizes: see PcaFrechetDistance.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xtensor.hpp>

#include "../types.hpp"
#include "moments.hpp"
#include "pca.hpp"

namespace nlm {

namespace detail {

/// \f$ A^{1/2} = V \sqrt{\Lambda} V^\top \f$ of a symmetric positive semi-definite A.
inline Matrix<double> symmetric_sqrt(const Matrix<double>& a) {
  const auto [values, vectors] = xt::linalg::eigh(a);
  const std::size_t d = a.shape(0);
  Matrix<double> scaled = vectors;  // V √Λ, column by column
  for (std::size_t k = 0; k < d; ++k) {
    const double root = std::sqrt(std::max(0.0, double(values(k))));
    for (std::size_t i = 0; i < d; ++i) scaled(i, k) *= root;
  }
  Matrix<double> out = Matrix<double>::from_shape({d, d});
  const Matrix<double> v = vectors;
  gemm(scaled, Op::none, v, Op::transpose, out, 1.0, 0.0);
  return out;
}

}  // namespace detail

/// Fréchet distance between the Gaussians N(a.mean, a.covariance) and N(b.mean, b.covariance).
/// Never negative: rounding that would make it so is clipped to 0.
/// @throws std::invalid_argument for moments of different dimensions.
inline double frechet_distance(const Moments& a, const Moments& b) {
  const std::size_t d = a.mean.size();
  detail::require_same_width(d, b.mean.size(), "frechet_distance", "the first samples",
                             "the second");
  double mean_term = 0, traces = 0;
  for (std::size_t i = 0; i < d; ++i) {
    const double diff = a.mean(i) - b.mean(i);
    mean_term += diff * diff;
    traces += a.covariance(i, i) + b.covariance(i, i);
  }
  // Tr (Σ1^½ Σ2 Σ1^½)^½ = Σ √eig: the middle matrix is symmetric PSD, so eigh applies; it is
  // symmetrised first because the two products leave rounding asymmetry behind.
  const Matrix<double> root_a = detail::symmetric_sqrt(a.covariance);
  Matrix<double> tmp = Matrix<double>::from_shape({d, d});
  Matrix<double> middle = Matrix<double>::from_shape({d, d});
  detail::gemm(root_a, detail::Op::none, b.covariance, detail::Op::none, tmp, 1.0, 0.0);
  detail::gemm(tmp, detail::Op::none, root_a, detail::Op::none, middle, 1.0, 0.0);
  const Matrix<double> symmetric = 0.5 * (middle + xt::transpose(middle));
  const auto values = xt::linalg::eigvalsh(symmetric);
  double cross = 0;
  for (std::size_t k = 0; k < d; ++k) cross += std::sqrt(std::max(0.0, double(values(k))));
  return std::max(0.0, mean_term + traces - 2.0 * cross);
}

/// Fréchet distance between Gaussians fitted (moments()) to the rows of `a` and of `b`.
/// @throws std::invalid_argument for mismatched widths or fewer than 2 rows in either.
template <Scalar S, Scalar R>
double frechet_distance(const Matrix<S>& a, const Matrix<R>& b) {
  detail::require_same_width(a.shape(1), b.shape(1), "frechet_distance", "the first samples",
                             "the second");
  return frechet_distance(moments(a), moments(b));
}

/// Fréchet distance to a fixed set of real samples in the space of its first k principal
/// components: the PCA and the reference Gaussian are fitted once, on the reference (real,
/// held-out) rows, and every set compared with it is projected on the same basis. Fitting
/// the basis on the reference rather than on another real set means generated samples and a
/// real comparison set (for the real-vs-real baseline) are both out-of-sample for the PCA,
/// so neither is favoured.
///
/// Usage: the ratio distance(generated) / distance(real) with a real set disjoint from the
/// reference and of the same size as the generated one (the bias of the estimate depends on
/// the sizes) is ≈ 1 for a generator as good as the data itself.
template <Scalar S>
class PcaFrechetDistance {
 public:
  /// @param reference  real samples, one per row (at least 2, and more than `components`
  ///                   for a full-rank covariance).
  /// @param components k, the dimension of the space the distance is measured in.
  /// @throws std::invalid_argument from Pca for k outside [1, width] or fewer than 2 rows.
  explicit PcaFrechetDistance(const Matrix<S>& reference, std::size_t components = 20)
      : pca_(reference, components), reference_(moments(pca_.transform(reference))) {}

  /// FD between the Gaussian of `samples` and the reference's, both in the PCA space.
  /// @throws std::invalid_argument for rows of another width than the reference's or fewer
  ///         than 2 rows.
  double distance(const Matrix<S>& samples) const {
    if (samples.shape(1) != pca_.mean().size())
      throw std::invalid_argument("PcaFrechetDistance: mismatched widths: samples have " +
                                  std::to_string(samples.shape(1)) +
                                  " values per row, the reference has " +
                                  std::to_string(pca_.mean().size()));
    detail::require_rows(samples, 2, "PcaFrechetDistance", "a covariance");
    return frechet_distance(moments(pca_.transform(samples)), reference_);
  }

  const Pca<S>& pca() const noexcept { return pca_; }
  /// The reference's Gaussian in the PCA space (its mean is 0 up to rounding).
  const Moments& reference_moments() const noexcept { return reference_; }
  std::size_t components() const noexcept { return reference_.mean.size(); }

 private:
  Pca<S> pca_;
  Moments reference_;
};

}  // namespace nlm
