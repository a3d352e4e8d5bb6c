/// @file intervals.hpp
/// @brief Confidence intervals for the sample metrics that count: a fraction (how many samples a
/// classifier recognises), each class's share among them, and the balance entropy of the shares.
///
/// Samples are taken as independent draws (one per chain; several snapshots of one chain are
/// not independent and make every interval here too narrow).
///
/// - A fraction k/n: the Wilson score interval (Wilson 1927), whose coverage stays near the
///   nominal level for small n and fractions near 0 or 1, where the normal (Wald) interval
///   fails; it is never empty and stays in [0, 1].
/// - Class shares among the m confident samples: Wilson intervals at level 1 − (1 − level)/C
///   each (Bonferroni), so that all C hold together with probability ≥ `level` (to the Wilson
///   approximation).
/// - Balance entropy H(f)/log C: its range over every share vector the joint box above allows
///   (the box intersected with the simplex): the largest by water-filling (entropy is concave
///   and symmetric, so the maximiser is f_c = clamp(λ, l_c, u_c) with Σ f_c = 1), the smallest
///   at a vertex of that polytope (a concave function's minimum over a polytope lies at a
///   vertex; the vertices hold C − 1 shares at a bound). The entropy of the counts themselves is
///   biased low (by about (C − 1)/(2m) nats: 0.034 of log 3 for m = 27 with C = 3), and its
///   bootstrap intervals miss a balanced truth (their upper end stays below 1); this range does
///   not: its coverage was measured at 0.94–1.00 for m = 27 … 270 (tests/test_metrics.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "classifier.hpp"

namespace nlm {

/// A closed interval [lower, upper].
struct Interval {
  double lower = 0, upper = 0;
  bool contains(double v) const noexcept { return lower <= v && v <= upper; }
  double half_width() const noexcept { return 0.5 * (upper - lower); }
};

namespace detail {

inline void check_level(double level, const char* who) {
  if (!(level > 0.0 && level < 1.0))
    throw std::invalid_argument(std::string(who) + ": level must be in (0, 1), got " + std::to_string(level));
}

/// z with P(|N(0, 1)| ≤ z) = level, by bisection on erfc (to 1e-12).
inline double two_sided_normal_quantile(double level) {
  const double tail = 1.0 - level;
  double lo = 0.0, hi = 40.0;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erfc(mid / std::numbers::sqrt2) > tail ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

/// H(f)/log C, 0 log 0 = 0; 1 when C = 1.
inline double normalized_entropy(const std::vector<double>& f) {
  if (f.size() < 2) return 1.0;
  double h = 0;
  for (double v : f)
    if (v > 0) h -= v * std::log(v);
  return h / std::log(double(f.size()));
}

}  // namespace detail

/// The Wilson score interval of a proportion: k successes in n trials, two-sided at `level`.
/// @throws std::invalid_argument when n = 0, k > n or level ∉ (0, 1).
inline Interval wilson_interval(std::size_t k, std::size_t n, double level = 0.95) {
  detail::check_level(level, "wilson_interval");
  if (n == 0) throw std::invalid_argument("wilson_interval: no trials (n = 0)");
  if (k > n)
    throw std::invalid_argument("wilson_interval: " + std::to_string(k) + " successes in " + std::to_string(n) +
                                " trials");
  const double z = detail::two_sided_normal_quantile(level), nn = double(n), p = double(k) / nn;
  const double d = 1.0 + z * z / nn, centre = (p + z * z / (2.0 * nn)) / d;
  const double half = z * std::sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn)) / d;
  // k = 0 or k = n: the end at 0 or 1 is exact; keep it so against rounding
  return {k == 0 ? 0.0 : std::max(0.0, centre - half), k == n ? 1.0 : std::min(1.0, centre + half)};
}

/// The range of H(f)/log C over the share vectors f with `box[c].lower ≤ f_c ≤ box[c].upper`
/// and Σ f = 1 (see the file's comment). Above 12 classes the vertex search (2^(C−1) per class)
/// gives way to a bound that is safe but not tight: H ≥ −log max_c u_c (Shannon entropy is at
/// least the min-entropy). @throws std::invalid_argument when a bound is not in [0, 1], a lower
/// end exceeds its upper end, or no such f exists.
inline Interval entropy_range(const std::vector<Interval>& box) {
  const std::size_t c = box.size();
  if (c == 0) throw std::invalid_argument("entropy_range: no classes");
  for (std::size_t k = 0; k < c; ++k)
    if (!(box[k].lower >= 0.0 && box[k].lower <= box[k].upper && box[k].upper <= 1.0))
      throw std::invalid_argument("entropy_range: class " + std::to_string(k) + "'s interval [" +
                                  std::to_string(box[k].lower) + ", " + std::to_string(box[k].upper) +
                                  "] is not a sub-interval of [0, 1]");
  double low_sum = 0, high_sum = 0;
  for (const Interval& b : box) low_sum += b.lower, high_sum += b.upper;
  if (low_sum > 1.0 + 1e-12 || high_sum < 1.0 - 1e-12)
    throw std::invalid_argument("entropy_range: the intervals allow no shares that sum to 1");
  if (c == 1) return {1.0, 1.0};
  // largest: f_c = clamp(λ, l_c, u_c), Σ f_c = 1, by bisection on λ
  std::vector<double> f(c);
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 200; ++i) {
    const double lambda = 0.5 * (lo + hi);
    double s = 0;
    for (std::size_t k = 0; k < c; ++k) s += std::clamp(lambda, box[k].lower, box[k].upper);
    (s > 1.0 ? hi : lo) = lambda;
  }
  for (std::size_t k = 0; k < c; ++k) f[k] = std::clamp(0.5 * (lo + hi), box[k].lower, box[k].upper);
  const double largest = detail::normalized_entropy(f);
  if (c > 12) {  // the min-entropy bound
    double top = 0;
    for (const Interval& b : box) top = std::max(top, b.upper);
    return {std::min(largest, -std::log(std::min(1.0, top)) / std::log(double(c))), largest};
  }
  // smallest: over the vertices, C − 1 shares at a bound and the last one what is left
  double smallest = largest;
  for (std::size_t free = 0; free < c; ++free)
    for (std::size_t bits = 0; bits < (std::size_t(1) << (c - 1)); ++bits) {
      double s = 0;
      for (std::size_t k = 0, b = 0; k < c; ++k) {
        if (k == free) continue;
        f[k] = (bits >> b++) & 1 ? box[k].upper : box[k].lower;
        s += f[k];
      }
      f[free] = 1.0 - s;
      if (f[free] < box[free].lower - 1e-12 || f[free] > box[free].upper + 1e-12) continue;
      f[free] = std::clamp(f[free], 0.0, 1.0);
      smallest = std::min(smallest, detail::normalized_entropy(f));
    }
  return {std::min(smallest, largest), largest};
}

/// Intervals for a `ClassAssignment`'s figures, all at `level`: the confident fraction (Wilson),
/// each class share among the confident samples (Wilson at 1 − (1 − level)/C, jointly at
/// `level`), the balance entropy (its range over those shares). With no confident sample the
/// shares and entropy are unknown: [0, 1] each.
struct AssignmentIntervals {
  double level = 0.95;
  Interval confident_fraction;
  std::vector<Interval> class_fractions;
  Interval balance_entropy;
};

inline AssignmentIntervals assignment_intervals(const ClassAssignment& a, double level = 0.95) {
  detail::check_level(level, "assignment_intervals");
  if (a.count == 0) throw std::invalid_argument("assignment_intervals: no samples");
  AssignmentIntervals out;
  out.level = level;
  out.confident_fraction = wilson_interval(a.confident, a.count, level);
  const std::size_t c = a.class_counts.size();
  if (a.confident == 0) {
    out.class_fractions.assign(c, Interval{0.0, 1.0});
    out.balance_entropy = {0.0, 1.0};
    return out;
  }
  const double joint = 1.0 - (1.0 - level) / double(std::max<std::size_t>(c, 1));
  for (std::size_t k = 0; k < c; ++k) out.class_fractions.push_back(wilson_interval(a.class_counts[k], a.confident, joint));
  out.balance_entropy = entropy_range(out.class_fractions);
  return out;
}

}  // namespace nlm
