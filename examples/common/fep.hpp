// What the free-energy attractor network's examples (fep_*) share: training as the reference
// trains (patterns drawn at random, b = s ξ for a number of sampled steps each, the predictive
// rule after every step, through the fused one-pass update), its attractor search (the deterministic map at b = 0 from L(0.1 x),
// stopped when the free energy stops changing, distinct ends after rounding to 2 decimals), its
// retrieval and generalization scores, Pearson correlations and statistics over seeds.
// The reference is pni-lab/fep-attractor-network (simulation/network.py, simulation/utils.py);
// docs/attractor_network.md says where we follow it and where it differs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>

namespace nlm::examples::fep {

/// One training run's settings: s, β, η, presentations × steps per presentation.
struct Setting {
  double evidence = 1, beta = 1, eta = 1e-3;
  std::size_t presentations = 1000, steps = 10;
  bool reset_state = false;  ///< each presentation from σ = 0 (the reference's capacity code)
};

struct Trained {
  Matrix<double> couplings;
  Matrix<double> state;  ///< the chain's last state (the reference's evaluation starts from it)
};

/// A learner of patterns.shape(1) units trained from J = 0 on the rows of `patterns` (ξ, before
/// the evidence level): one chain, sampled steps, a pattern drawn uniformly for each
/// presentation (from the seed's own stream), b = s ξ for its steps, the state carried over (or
/// reset, `reset_state`). The steps run through `fused_steps` (one pass over J per update; the
/// same rule as the learning seam's, to rounding).
inline AttractorLearner<double> trained_learner(const Matrix<double>& patterns, const Setting& s, std::uint64_t seed) {
  AttractorHyperparameters hp;
  hp.neurons = patterns.shape(1);
  hp.beta = s.beta;
  hp.learning_rate = s.eta;
  hp.seed = seed;
  hp.mode = UpdateMode::sampled;
  AttractorLearner<double> learner(hp);
  nlm::detail::Xoshiro256 pick(nlm::detail::derive_seed(seed, 31));
  const std::size_t n = patterns.shape(1), k = patterns.shape(0);
  Vector<double> b = Vector<double>::from_shape({n});
  for (std::size_t p = 0; p < s.presentations; ++p) {
    const std::size_t at = std::size_t(pick() % k);
    for (std::size_t i = 0; i < n; ++i) b(i) = s.evidence * patterns(at, i);
    learner.set_field(b);
    if (s.reset_state) learner.chains().states().fill(0.0);
    (void)learner.fused_steps(s.steps);
  }
  return learner;
}

/// trained_learner's couplings and last state.
inline Trained train(const Matrix<double>& patterns, const Setting& s, std::uint64_t seed) {
  const AttractorLearner<double> learner = trained_learner(patterns, s, seed);
  return {learner.couplings(), learner.states()};
}

/// L(0.1 x) row by row: the reference's start for the attractor search from a pattern x (its
/// data as scaled for the measure).
inline Matrix<double> reference_starts(const Matrix<double>& x) {
  Matrix<double> s = x;
  for (auto& v : s) v = langevin_function(0.1 * v);
  return s;
}

/// The reference's attractor search: the deterministic map with b = 0 at `beta` from
/// `starts`, stopped when |ΔF| < 1e-12 (at most 1 000 steps).
inline Relaxation<double> attractors(const Matrix<double>& j, const Matrix<double>& starts, double beta = 1.0) {
  const AttractorNetwork<double> net(j, Vector<double>(), beta);
  RelaxOptions o;
  o.criterion = RelaxCriterion::free_energy;
  return relax(net, starts, o);
}

/// Pearson's r of two equally long sequences (0 when either is constant).
inline double pearson(std::span<const double> a, std::span<const double> b) {
  const std::size_t n = a.size();
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) ma += a[i] / double(n), mb += b[i] / double(n);
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

inline std::span<const double> row(const Matrix<double>& x, std::size_t r) {
  return {x.data() + r * x.shape(1), x.shape(1)};
}

/// The rows of `x` that are not all zero (an angle needs a direction).
inline Matrix<double> nonzero_rows(const Matrix<double>& x) {
  std::vector<std::size_t> keep;
  for (std::size_t r = 0; r < x.shape(0); ++r)
    if (std::any_of(row(x, r).begin(), row(x, r).end(), [](double v) { return v != 0.0; })) keep.push_back(r);
  Matrix<double> out = Matrix<double>::from_shape({keep.size(), x.shape(1)});
  for (std::size_t k = 0; k < keep.size(); ++k) std::copy_n(x.data() + keep[k] * x.shape(1), x.shape(1), out.data() + k * x.shape(1));
  return out;
}

/// The reference's orthogonality of attractors: over the ends of the settled starts (one per
/// start, not the distinct attractors: two starts that end together give an angle of 0°, left
/// out, but each pair of starts counts), angles kept strictly inside (1°, 179°), zero ends left
/// out; NaN when no angle is kept.
inline double attractor_orthogonality(const Relaxation<double>& a) {
  Matrix<double> settled = Matrix<double>::from_shape({a.ends.shape(0) - a.unsettled(), a.ends.shape(1)});
  for (std::size_t r = 0, k = 0; r < a.ends.shape(0); ++r)
    if (a.settled[r]) std::copy_n(a.ends.data() + r * a.ends.shape(1), a.ends.shape(1), settled.data() + k++ * a.ends.shape(1));
  const Matrix<double> ends = nonzero_rows(settled);
  if (ends.shape(0) < 2) return std::nan("");
  OrthogonalityOptions o;
  o.keep_above = 1;
  o.keep_below = 179;
  return orthogonality(ends, o).mean_deviation;
}

/// The median (the mean of the middle two for an even count), as NumPy's.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? std::nan("") : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// The reference's reconstruction score: `trials` trials, each a pattern x (row `pick(t)` of
/// `data`, already × s), its signal o = 0.1 x and a noisy test o + N(0, sd(o)²) (SNR 1) as the
/// bias; `steps` sampled steps at β = 1 with learning off, the chain carried over from trial to
/// trial (from `state`); r² of the mean activity with o, minus r² of the test with o (each
/// rounded to 3 decimals, as the reference does); the median over trials.
template <class Pick>
double reconstruction(const Matrix<double>& j, const Matrix<double>& data, Matrix<double> state, Pick&& pick,
                      std::uint64_t seed, std::size_t trials = 100, std::size_t steps = 100) {
  const std::size_t n = data.shape(1);
  AttractorNetwork<double> net(j, Vector<double>(), 1.0, nlm::detail::derive_seed(seed, 1));
  Chains<double> chain(std::move(state));
  nlm::detail::Xoshiro256 rng(nlm::detail::derive_seed(seed, 2));
  std::vector<double> o(n), test(n), mean(n), gains;
  Vector<double> b = Vector<double>::from_shape({n});
  const auto r2 = [](double r) { return std::round(r * r * 1000.0) / 1000.0; };
  for (std::size_t t = 0; t < trials; ++t) {
    const std::size_t p = pick(t, rng);
    double m = 0, sd = 0;
    for (std::size_t i = 0; i < n; ++i) o[i] = 0.1 * data(p, i), m += o[i] / double(n);
    for (std::size_t i = 0; i < n; ++i) sd += (o[i] - m) * (o[i] - m) / double(n);
    sd = std::sqrt(sd);
    std::vector<double> z(n);
    nlm::detail::fill_normal<double>(rng, std::span<double>(z));
    for (std::size_t i = 0; i < n; ++i) b(i) = test[i] = o[i] + sd * z[i];
    net.set_field(b);
    std::fill(mean.begin(), mean.end(), 0.0);
    net.run(chain, steps, UpdateMode::sampled, [&](std::size_t, const Matrix<double>& x) {
      for (std::size_t i = 0; i < n; ++i) mean[i] += x(0, i) / double(steps);
    });
    gains.push_back(r2(pearson(mean, o)) - r2(pearson(test, o)));
  }
  return median(gains);
}

/// Mean and sample SD over seeds (NaNs left out; SD 0 for one value).
struct Spread {
  double mean = std::nan(""), sd = 0;
  std::size_t count = 0;
};
inline Spread spread(const std::vector<double>& v) {
  Spread s;
  double sum = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++s.count;
  if (s.count == 0) return s;
  s.mean = sum / double(s.count);
  double ss = 0;
  for (double x : v)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  s.sd = s.count > 1 ? std::sqrt(ss / double(s.count - 1)) : 0.0;
  return s;
}
inline std::string format(const Spread& s, const char* f = "%.3f") {
  char a[32], b[32];
  std::snprintf(a, sizeof a, f, s.mean);
  std::snprintf(b, sizeof b, f, s.sd);
  return std::string(a) + " +- " + b;
}
inline std::string number(double v, const char* f = "%.3f") {
  char a[32];
  std::snprintf(a, sizeof a, f, v);
  return a;
}

}  // namespace nlm::examples::fep
