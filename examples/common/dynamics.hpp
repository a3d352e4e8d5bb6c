// Shared by mnist_attractors and sequence_replay: the heatmaps of J, J_sym and J_anti, the
// census table and its picture, and the evaluation classifier's labels for states.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlm/analysis/classifier.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "mnist_common.hpp"

namespace nlm::examples {

/// The classifier the examples label pictures with: softmax regression with the noise
/// augmentation of mnist_evaluate (flip_noise 0.35), on digits in [−1, 1].
inline SoftmaxClassifier evaluation_classifier(const Matrix<float>& x, const std::vector<std::uint8_t>& labels) {
  ClassifierOptions o;
  o.flip_noise = 0.35;
  return SoftmaxClassifier(x, labels, o);
}

/// The first `visible` units of each state, clipped to [−1, 1] (what the classifier and the
/// pictures see).
inline Matrix<float> visible_part(const Matrix<double>& states, std::size_t visible) {
  Matrix<float> v = Matrix<float>::from_shape({states.shape(0), visible});
  for (std::size_t r = 0; r < states.shape(0); ++r)
    for (std::size_t c = 0; c < visible; ++c) v(r, c) = float(std::clamp(states(r, c), -1.0, 1.0));
  return v;
}

/// Each row's digit by `classifier`, or "?" where its largest probability is below
/// `confidence`.
inline std::vector<std::string> class_names(const SoftmaxClassifier& classifier, const Matrix<float>& x,
                                            double confidence = 0.9) {
  const Matrix<double> p = classifier.probabilities(x);
  std::vector<std::string> names;
  for (std::size_t r = 0; r < p.shape(0); ++r) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < p.shape(1); ++c)
      if (p(r, c) > p(r, best)) best = c;
    names.push_back(p(r, best) >= confidence ? std::to_string(int(classifier.classes()[best])) : std::string("?"));
  }
  return names;
}

/// J, J_sym and J_anti side by side on one colour scale (the 99.5th percentile of |J|).
template <Scalar S>
void write_coupling_heatmaps(const fs::path& path, const Matrix<S>& j, const std::string& title) {
  const auto parts = split_symmetric(j);
  const std::size_t n = j.shape(0);
  std::vector<double> mags(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) mags[i] = std::abs(double(j.data()[i]));
  std::nth_element(mags.begin(), mags.begin() + std::ptrdiff_t(mags.size() * 995 / 1000), mags.end());
  const double limit = std::max(mags[mags.size() * 995 / 1000], 1e-30);
  HeatmapPanel pj{std::vector<double>(j.begin(), j.end()), n, "J"};
  HeatmapPanel ps{std::vector<double>(parts.symmetric.begin(), parts.symmetric.end()), n, "J_sym = (J + J^T)/2"};
  HeatmapPanel pa{std::vector<double>(parts.antisymmetric.begin(), parts.antisymmetric.end()), n,
                  "J_anti = (J - J^T)/2"};
  write_heatmaps(path, {pj, ps, pa}, limit, title);
}

/// Prints the census as a table (one line per point: class by `classifier`, E, ‖f‖, max Re λ,
/// stable, basin), writes its files into `dir` and a captioned grid of its fixed points and
/// slow points (at most 40) as `picture`. Returns the fixed points' class names.
inline std::vector<std::string> report_census(const FixedPointCensus& census, const SoftmaxClassifier& classifier,
                                              std::size_t visible, const fs::path& dir, const fs::path& picture,
                                              const std::string& title) {
  save_census(dir, census);
  auto states_of = [&](const std::vector<CriticalPoint>& points) {
    Matrix<double> m = Matrix<double>::from_shape({points.size(), points.empty() ? 0 : points[0].state.size()});
    for (std::size_t k = 0; k < points.size(); ++k) std::copy_n(points[k].state.data(), m.shape(1), m.data() + k * m.shape(1));
    return m;
  };
  std::vector<std::string> names;
  std::printf("%-6s %-5s %-6s %12s %12s %12s %-7s %7s\n", "kind", "index", "class", "E", "|f|", "max Re l", "plain", "basin");
  auto table = [&](const std::vector<CriticalPoint>& points, const char* kind, bool fixed) {
    if (points.empty()) return;
    const Matrix<float> v = visible_part(states_of(points), visible);
    const auto assigned = class_names(classifier, v);
    for (std::size_t k = 0; k < points.size(); ++k) {
      const auto& p = points[k];
      const std::string& name = assigned[k];
      if (fixed) names.push_back(name);
      std::printf("%-6s %-5zu %-6s %12.3e %12.3e %12.4f %-7s %7.3f\n", kind, k, name.c_str(), p.energy, p.drift_norm,
                  p.max_real, fixed ? (p.stable ? "stable" : "unstable") : "-", p.basin);
    }
  };
  table(census.fixed_points, "fixed", true);
  table(census.slow_points, "slow", false);
  std::printf("not converged: %zu of %zu starts (%.3f)\n", census.not_converged, census.starts,
              census.not_converged_share());
  // The picture: fixed points, then slow points, at most 40 in all.
  std::vector<const CriticalPoint*> shown;
  std::vector<std::string> captions;
  std::vector<std::string> slow_names;
  if (!census.slow_points.empty()) slow_names = class_names(classifier, visible_part(states_of(census.slow_points), visible));
  for (std::size_t k = 0; k < census.fixed_points.size() && shown.size() < 40; ++k) {
    const auto& p = census.fixed_points[k];
    char c[96];
    std::snprintf(c, sizeof c, "fixed #%zu  class %s\n%s  basin %.1f%%", k, names[k].c_str(),
                  p.stable ? "stable" : "unstable", 100.0 * p.basin);
    shown.push_back(&p);
    captions.push_back(c);
  }
  for (std::size_t k = 0; k < census.slow_points.size() && shown.size() < 40; ++k) {
    const auto& p = census.slow_points[k];
    char c[96];
    std::snprintf(c, sizeof c, "slow #%zu  class %s\nE %.3g  basin %.1f%%", k, slow_names[k].c_str(), p.energy,
                  100.0 * p.basin);
    shown.push_back(&p);
    captions.push_back(c);
  }
  if (!shown.empty()) {
    std::vector<float> tiles;
    for (const auto* p : shown)
      for (std::size_t i = 0; i < visible; ++i) tiles.push_back(float(0.5 + 0.5 * std::clamp(p->state(i), -1.0, 1.0)));
    write_captioned_grid(picture, tiles.data(), shown.size(), visible, captions, std::min<std::size_t>(shown.size(), 8), 2,
                         title);
  }
  return names;
}

/// The `count` softest directions of E at a fixed point x*: the eigenvectors of the Hessian
/// ∇²E = AᵀA (A = −I + J diag φ'(x*)) with the smallest eigenvalues, the directions in which
/// exp(−E/T) spreads most (SD √(T/λ) in the quadratic approximation). Written as a captioned
/// grid of their first `visible` coordinates (each scaled to its largest magnitude, sign chosen
/// so that it is positive; white +, black −); returns the eigenvalues, smallest first.
template <class Net>
std::vector<double> write_soft_modes(const fs::path& path, const Net& net, const Vector<double>& x, std::size_t count,
                                     std::size_t visible, double temperature, const std::string& title) {
  const std::size_t n = x.size();
  Matrix<double> xs = Matrix<double>::from_shape({1, n}), phi = xs, dphi = xs;
  std::copy_n(x.data(), n, xs.data());
  net.activation().value_and_derivative(xs, phi, dphi);
  Matrix<double> a = Matrix<double>::from_shape({n, n});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < n; ++k) a(i, k) = double(net.couplings()(i, k)) * dphi(0, k) - (i == k ? 1.0 : 0.0);
  const Matrix<double> h = xt::linalg::dot(xt::transpose(a), a);
  const auto [lambda, vectors] = xt::linalg::eigh(h);  // ascending
  count = std::min(count, n);
  std::vector<double> values(lambda.begin(), lambda.begin() + std::ptrdiff_t(count));
  std::vector<float> tiles(count * visible);
  std::vector<std::string> captions;
  for (std::size_t m = 0; m < count; ++m) {
    double big = 0;
    for (std::size_t i = 0; i < visible; ++i)
      if (std::abs(vectors(i, m)) > std::abs(big)) big = vectors(i, m);
    for (std::size_t i = 0; i < visible; ++i)
      tiles[m * visible + i] = float(0.5 + 0.5 * vectors(i, m) / (big == 0 ? 1.0 : big));
    char c[96];
    std::snprintf(c, sizeof c, "mode %zu\nlambda %.3g, SD %.2g", m + 1, values[m], std::sqrt(temperature / std::max(values[m], 0.0)));
    captions.push_back(c);
  }
  write_captioned_grid(path, tiles.data(), count, visible, captions, std::min<std::size_t>(count, 8), 2, title);
  return values;
}

}  // namespace nlm::examples
