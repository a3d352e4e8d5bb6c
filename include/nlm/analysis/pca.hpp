/// @file pca.hpp
/// @brief Principal component analysis (LAPACK's symmetric eigensolver on the covariance):
/// the basis the paper projects generative trajectories onto (Fig. 1), and the feature space
/// of sample-quality metrics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include "../detail/blas.hpp"
#include "../types.hpp"

namespace nlm {

/// Fitted on rows of `data` (one sample per row). Components are unit vectors, ordered by
/// decreasing variance, each signed so that its largest-magnitude entry is positive (a fixed
/// choice, so pictures do not flip between runs).
template <Scalar S>
class Pca {
 public:
  Pca(const Matrix<S>& data, std::size_t components) {
    const std::size_t n = data.shape(0), d = data.shape(1);
    if (components == 0 || components > d)
      throw std::invalid_argument("Pca: components must be in [1, " + std::to_string(d) +
                                  "], got " + std::to_string(components));
    if (n < 2) throw std::invalid_argument("Pca: needs at least 2 samples, got " + std::to_string(n));
    // Double precision throughout the fit: the covariance of 784 pixels is ill-conditioned.
    const xt::xtensor<double, 2> x = xt::cast<double>(data);
    mean_ = xt::mean(x, {0});
    const Matrix<double> centred = x - mean_;
    Matrix<double> cov = Matrix<double>::from_shape({d, d});
    detail::gemm(centred, detail::Op::transpose, centred, detail::Op::none, cov,
                 1.0 / double(n - 1), 0.0);
    const auto [values, vectors] = xt::linalg::eigh(cov);  // ascending eigenvalues
    components_ = Matrix<double>::from_shape({components, d});
    variance_ = Vector<double>::from_shape({components});
    for (std::size_t k = 0; k < components; ++k) {
      const std::size_t col = d - 1 - k;
      variance_(k) = std::max(0.0, values(col));
      std::size_t arg = 0;
      for (std::size_t i = 0; i < d; ++i)
        if (std::abs(vectors(i, col)) > std::abs(vectors(arg, col))) arg = i;
      const double sign = vectors(arg, col) < 0 ? -1.0 : 1.0;
      for (std::size_t i = 0; i < d; ++i) components_(k, i) = sign * vectors(i, col);
    }
    total_variance_ = 0;
    for (std::size_t i = 0; i < d; ++i) total_variance_ += std::max(0.0, values(i));
  }

  /// Coordinates of each row of `x` in the principal basis: (rows, components).
  Matrix<S> transform(const Matrix<S>& x) const {
    if (x.shape(1) != mean_.shape(0))
      throw std::invalid_argument("Pca::transform: rows have " + std::to_string(x.shape(1)) +
                                  " values, the fit had " + std::to_string(mean_.shape(0)));
    const Matrix<double> centred = xt::cast<double>(x) - mean_;
    Matrix<double> out = Matrix<double>::from_shape({x.shape(0), components_.shape(0)});
    detail::gemm(centred, detail::Op::none, components_, detail::Op::transpose, out, 1.0, 0.0);
    return xt::cast<S>(out);
  }

  const Matrix<double>& components() const noexcept { return components_; }
  const Vector<double>& mean() const noexcept { return mean_; }
  /// Variance along each component (the covariance's eigenvalues).
  const Vector<double>& explained_variance() const noexcept { return variance_; }
  double explained_variance_ratio(std::size_t k) const { return variance_(k) / total_variance_; }

 private:
  Vector<double> mean_;
  Matrix<double> components_;
  Vector<double> variance_;
  double total_variance_ = 0;
};

}  // namespace nlm
