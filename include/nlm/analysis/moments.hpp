/// @file moments.hpp
/// @brief Sample-quality measures built on first and second moments: mean and covariance of a
/// set of samples (the Gaussian every Fréchet distance is taken between), the errors of a
/// generated set's moments against real data's, and the mean energy a machine gives to
/// samples and to data.
///
/// A perfect generator reproduces every moment of the data; the first two are the cheapest
/// to check and the ones a symmetric energy (E(−x) = E(x), the paper's model) gets visibly
/// wrong: inverted digits pull the pixel means towards zero. Samples are rows, as everywhere
/// in nlm; everything is accumulated in double whatever the samples' type.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <xtensor/xtensor.hpp>

#include "../detail/blas.hpp"
#include "../types.hpp"

namespace nlm {

namespace detail {

/// Throws unless `rows` has at least `minimum` rows; `who` names the caller in the message.
template <Scalar S>
void require_rows(const Matrix<S>& rows, std::size_t minimum, const std::string& who,
                  const std::string& what) {
  if (rows.shape(0) < minimum)
    throw std::invalid_argument(who + ": " + what + " needs at least " + std::to_string(minimum) +
                                " rows, got " + std::to_string(rows.shape(0)));
}

/// Throws unless two sets of samples have the same width.
inline void require_same_width(std::size_t a, std::size_t b, const std::string& who,
                               const char* name_a, const char* name_b) {
  if (a != b)
    throw std::invalid_argument(who + ": mismatched widths: " + name_a + " have " +
                                std::to_string(a) + " values per row, " + name_b + " have " +
                                std::to_string(b));
}

}  // namespace detail

/// Mean and (unbiased) covariance of a set of samples: the Gaussian fitted to them.
struct Moments {
  Vector<double> mean;        ///< d
  Matrix<double> covariance;  ///< d×d, divided by count − 1
  std::size_t count = 0;      ///< samples the moments were estimated from
};

/// \f[ \mu = \frac1n \sum_a x_a, \qquad
///     \Sigma = \frac{1}{n-1} \sum_a (x_a - \mu)(x_a - \mu)^\top \f]
/// over the rows \f$x_a\f$ of `rows` (n ≥ 2), by one GEMM in double precision.
template <Scalar S>
Moments moments(const Matrix<S>& rows) {
  detail::require_rows(rows, 2, "moments", "a covariance");
  const std::size_t n = rows.shape(0), d = rows.shape(1);
  Moments m;
  m.count = n;
  const Matrix<double> x = xt::cast<double>(rows);
  m.mean = xt::mean(x, {0});
  const Matrix<double> centred = x - m.mean;
  m.covariance = Matrix<double>::from_shape({d, d});
  detail::gemm(centred, detail::Op::transpose, centred, detail::Op::none, m.covariance,
               1.0 / double(n - 1), 0.0);
  return m;
}

/// How far a generated set's first two moments are from the reference's (d values per row).
struct MomentErrors {
  /// \f$ \sqrt{\frac1d \sum_i (\mu^s_i - \mu^r_i)^2} \f$: RMS error of the per-pixel means,
  /// in the samples' units (pixels in [−1, 1]).
  double mean_rms = 0;
  /// \f$ \sqrt{\frac{1}{d^2} \sum_{ij} (\Sigma^s_{ij} - \Sigma^r_{ij})^2} \f$: RMS error of
  /// the covariance entries, in squared units.
  double covariance_rms = 0;
  /// \f$ \|\Sigma^s - \Sigma^r\|_F / \|\Sigma^r\|_F \f$: the same error relative to the size
  /// of the reference covariance, so runs on different data can be compared (0 is perfect;
  /// 1 is as wrong as a zero covariance).
  double covariance_relative = 0;
};

/// Moment errors of `samples` against `reference` (the real data).
/// @throws std::invalid_argument for moments of different dimensions.
inline MomentErrors moment_errors(const Moments& samples, const Moments& reference) {
  const std::size_t d = reference.mean.size();
  detail::require_same_width(samples.mean.size(), d, "moment_errors", "samples", "reference");
  MomentErrors e;
  double mean_sq = 0;
  for (std::size_t i = 0; i < d; ++i) {
    const double diff = samples.mean(i) - reference.mean(i);
    mean_sq += diff * diff;
  }
  double cov_sq = 0, ref_sq = 0;
  for (std::size_t i = 0; i < d * d; ++i) {
    const double r = reference.covariance.data()[i];
    const double diff = samples.covariance.data()[i] - r;
    cov_sq += diff * diff;
    ref_sq += r * r;
  }
  e.mean_rms = std::sqrt(mean_sq / double(d));
  e.covariance_rms = std::sqrt(cov_sq / double(d * d));
  // A constant reference has no scale to be relative to: any error at all is infinitely large.
  e.covariance_relative = ref_sq > 0   ? std::sqrt(cov_sq / ref_sq)
                          : cov_sq > 0 ? std::numeric_limits<double>::infinity()
                                       : 0.0;
  return e;
}

/// Moment errors of the rows of `samples` against those of `reference`.
/// @throws std::invalid_argument for mismatched widths or fewer than 2 rows in either.
template <Scalar S, Scalar R>
MomentErrors moment_errors(const Matrix<S>& samples, const Matrix<R>& reference) {
  detail::require_same_width(samples.shape(1), reference.shape(1), "moment_errors", "samples",
                             "reference");
  return moment_errors(moments(samples), moments(reference));
}

/// Mean and spread of the energies of a set of states.
struct EnergyStatistics {
  double mean = 0;
  double standard_deviation = 0;  ///< over the states (divided by count − 1; 0 for one state)
  std::size_t count = 0;
};

/// Statistics of the energy `model` gives each row of `states`. `model` is either a machine
/// (anything with `energy(states)`, e.g. nlm::PaperMachine) or a callable `energy(states)`;
/// either must return one energy per row. The states are whatever the energy is defined on:
/// for an NLM that is x, so generated pictures tanh(x) must be mapped back (atanh) to get the
/// chains' own energies, while real digits enter as x = 2p − 1, as in training.
/// @throws std::invalid_argument if the energy does not return one value per row; whatever
///         the model throws (a LangevinMachine rejects states of the wrong width).
template <class Model, Scalar S>
EnergyStatistics energy_statistics(const Model& model, const Matrix<S>& states) {
  const auto energies = [&] {
    if constexpr (requires { model.energy(states); })
      return model.energy(states);
    else if constexpr (std::invocable<const Model&, const Matrix<S>&>)
      return model(states);
    else
      static_assert(std::is_void_v<Model> && false,
                    "energy_statistics needs a machine with `energy(states)` or a callable "
                    "`energy(states)` returning one energy per row");
  }();
  const std::size_t n = states.shape(0);
  if (std::size_t(energies.size()) != n)
    throw std::invalid_argument("energy_statistics: the energy returned " +
                                std::to_string(energies.size()) + " values for " +
                                std::to_string(n) + " states");
  EnergyStatistics s;
  s.count = n;
  if (n == 0) return s;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += double(energies[i]);
  s.mean = sum / double(n);
  double sq = 0;
  for (std::size_t i = 0; i < n; ++i) sq += (double(energies[i]) - s.mean) * (double(energies[i]) - s.mean);
  s.standard_deviation = n > 1 ? std::sqrt(sq / double(n - 1)) : 0.0;
  return s;
}

/// Mean energies of generated samples and of data under one model: a model that fits the
/// data gives its samples (drawn at T = 1) and the data similar energies; samples far above
/// the data sit in regions the data never visit, far below means the data are not where the
/// model puts its mass.
struct EnergyComparison {
  EnergyStatistics samples;
  EnergyStatistics data;
  /// ⟨E⟩_samples − ⟨E⟩_data.
  double difference() const noexcept { return samples.mean - data.mean; }
};

/// energy_statistics() of `samples` and of `data` under the same `model`.
template <class Model, Scalar S, Scalar R>
EnergyComparison compare_energies(const Model& model, const Matrix<S>& samples,
                                  const Matrix<R>& data) {
  detail::require_same_width(samples.shape(1), data.shape(1), "compare_energies", "samples",
                             "data");
  return {energy_statistics(model, samples), energy_statistics(model, data)};
}

}  // namespace nlm
