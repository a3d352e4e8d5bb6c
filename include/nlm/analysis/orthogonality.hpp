/// @file orthogonality.hpp
/// @brief How far a set of patterns is from mutual orthogonality: the mean absolute deviation
/// of the pairwise angles from 90°, the measure of Spisak & Friston's self-orthogonalizing
/// attractor network (its reference code's `angle_between` and orthogonality metric).
///
/// For rows a, b the angle is θ = arccos(a·b / (‖a‖‖b‖)) in degrees, and the measure is the
/// mean of |90° − θ| over the ordered pairs a ≠ b (each unordered pair counts twice, which
/// leaves the mean unchanged). Lower is more orthogonal; 0 for mutually orthogonal rows.
/// Two of the reference's choices are options: `keep_above` and `keep_below` keep only angles
/// strictly between them (the reference uses (1°, 179°) for attractors, so that an attractor and its
/// negation, or two equal ends, do not count), and `with_diagonal` adds the K diagonal entries of
/// the K × K angle matrix that the reference leaves at 0° (each a deviation of 90°): the
/// reference's figure for the data (29.9° for the ten training digits, 23.3° without).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "../types.hpp"

namespace nlm {

struct OrthogonalityOptions {
  double keep_above = -1.0;    ///< keep angles θ > keep_above (degrees)
  double keep_below = 181.0;   ///< keep angles θ < keep_below (degrees)
  bool with_diagonal = false;  ///< count the K diagonal entries as 0° (the reference's data figure)
};

struct Orthogonality {
  double mean_deviation = 0;  ///< degrees; NaN when no angle is kept
  std::size_t angles = 0;     ///< how many entries the mean is over (ordered pairs kept, + K with the diagonal)
};

/// The measure over the rows of `x` (K × N, K ≥ 2).
/// @throws std::invalid_argument for fewer than two rows, a zero row or non-finite values.
template <Scalar S>
Orthogonality orthogonality(const Matrix<S>& x, const OrthogonalityOptions& options = {}) {
  const std::size_t k = x.shape(0), n = x.shape(1);
  if (k < 2) throw std::invalid_argument("orthogonality: needs at least 2 rows, got " + std::to_string(k));
  std::vector<double> norm(k, 0.0);
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t i = 0; i < n; ++i) {
      const double v = double(x(a, i));
      if (!std::isfinite(v))
        throw std::invalid_argument("orthogonality: row " + std::to_string(a) + " has a non-finite value at column " +
                                    std::to_string(i));
      norm[a] += v * v;
    }
    norm[a] = std::sqrt(norm[a]);
    if (norm[a] == 0) throw std::invalid_argument("orthogonality: row " + std::to_string(a) + " is zero (no angle)");
  }
  double sum = 0;
  Orthogonality o;
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = a + 1; b < k; ++b) {
      double dot = 0;
      for (std::size_t i = 0; i < n; ++i) dot += double(x(a, i)) * double(x(b, i));
      const double theta = std::acos(std::clamp(dot / (norm[a] * norm[b]), -1.0, 1.0)) * 180.0 / std::numbers::pi;
      if (theta > options.keep_above && theta < options.keep_below) sum += 2 * std::fabs(90.0 - theta), o.angles += 2;
    }
  if (options.with_diagonal) sum += 90.0 * double(k), o.angles += k;
  o.mean_deviation = o.angles ? sum / double(o.angles) : std::numeric_limits<double>::quiet_NaN();
  return o;
}

}  // namespace nlm
