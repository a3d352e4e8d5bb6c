/// @file inverted_background.hpp
/// @brief Detects images whose background is inverted (light background, dark strokes).
///
/// The paper's energy is even, E(−x) = E(x) (tanh is odd and there is no bias), so a machine
/// trained on dark-background digits gives their negatives the same probability and samples
/// them as often. An image is called inverted when its border, which in MNIST is background
/// (digits are centred in a 20×20 box inside the 28×28 frame, so the outer frame holds no
/// ink: ≈ −1 as x = 2p − 1), is on average light:
/// \f[ \mathrm{inverted}(v) \iff \frac{1}{|B|}\sum_{p \in B} v_p > \theta, \f]
/// with B the outer frame of `width` pixels (default 2) and θ = 0 (the midpoint of [−1, 1]).
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor/xtensor.hpp>

#include "../types.hpp"

namespace nlm {

/// Which pixels count as background and where light begins.
struct BorderRule {
  std::size_t width = 2;   ///< the outer frame of this many pixels on each side
  double threshold = 0.0;  ///< inverted when the frame's mean exceeds this (values in [−1, 1])
};

/// Mean of the outer frame of `rule.width` pixels of each row of `images`, each row a square
/// image in row-major order.
/// @throws std::invalid_argument if the rows are not square images, or the frame leaves no
///         interior (2·width ≥ side) or has width 0.
template <Scalar S>
Vector<double> border_means(const Matrix<S>& images, const BorderRule& rule = {}) {
  const std::size_t pixels = images.shape(1);
  const auto side = std::size_t(std::llround(std::sqrt(double(pixels))));
  if (side * side != pixels || pixels == 0)
    throw std::invalid_argument("border_means: rows of " + std::to_string(pixels) +
                                " values are not square images");
  if (rule.width == 0 || 2 * rule.width >= side)
    throw std::invalid_argument("border_means: a border of " + std::to_string(rule.width) +
                                " pixels does not fit a " + std::to_string(side) + "x" +
                                std::to_string(side) + " image with an interior left");
  const std::size_t w = rule.width;
  const std::size_t frame = side * side - (side - 2 * w) * (side - 2 * w);
  Vector<double> means = Vector<double>::from_shape({images.shape(0)});
  for (std::size_t n = 0; n < images.shape(0); ++n) {
    double sum = 0;
    for (std::size_t r = 0; r < side; ++r) {
      const bool edge_row = r < w || r >= side - w;
      for (std::size_t c = 0; c < side; ++c)
        if (edge_row || c < w || c >= side - w) sum += double(images(n, r * side + c));
    }
    means(n) = sum / double(frame);
  }
  return means;
}

/// Fraction of the rows of `images` whose border mean exceeds `rule.threshold`.
/// @throws std::invalid_argument as border_means(), or for an empty set.
template <Scalar S>
double inverted_fraction(const Matrix<S>& images, const BorderRule& rule = {}) {
  if (images.shape(0) == 0) throw std::invalid_argument("inverted_fraction: no images");
  const Vector<double> means = border_means(images, rule);
  std::size_t inverted = 0;
  for (const double m : means) inverted += m > rule.threshold;
  return double(inverted) / double(means.size());
}

}  // namespace nlm
