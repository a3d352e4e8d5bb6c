// Stationarity: the samplers' long-run distribution is the Boltzmann–Gibbs density
// p(x) ∝ exp(−E(x)/T), E(x) = ½‖x − Jφ(x)‖², checked against quadrature of that density, and
// T = 0 descent on E ends on fixed points of x = Jφ(x).
//
// How the statistics are done (read this once; the test cases refer to it).
// * C independent chains (rows of one batch) start from N(0, I), run a burn-in of t_burn time
//   units, then a window of t_run time units in which a feature vector f(x) is recorded every
//   t_snap time units. Features: the means E[x_i], the central second moments
//   E[(x_i − μ_i)(x_j − μ_j)] about the quadrature mean μ (so their expectations are the
//   variances/covariance) and the indicators of histogram bins.
// * Standard errors by batch means with one batch per chain: each chain's time average a_c of f
//   is one draw, and the C draws are independent and identically distributed (independent
//   initial states and independent noise), so SE = sd_c(a_c)/√C holds whatever the
//   autocorrelation inside a chain. (The integrated autocorrelation time this implies,
//   τ = SE² · C · snapshots / Var(f) in snapshots, is printed with each moment: the effective
//   sample size is C · snapshots / τ.)
// * Moments pass when |estimate − exact| < 4.5 SE (two-sided tail probability 7·10⁻⁶ each).
// * Histograms: the K bin frequencies are compared all at once with Hotelling's statistic
//   Q = C (ā − p)ᵀ Σ̂⁻¹ (ā − p) over the first K − 1 bins (the K-th is 1 − the others), with Σ̂
//   the covariance of the per-chain frequency vectors a_c. Under the null,
//   Q (C − K + 1)/((K − 1)(C − 1)) ~ F(K − 1, C − K + 1) ≈ χ²_{K−1}/(K − 1) since C ≫ K. We
//   reject at the 1 − 10⁻⁵ quantile of χ²_{K−1} (Wilson–Hilferty: its tail there is
//   0.85–0.92·10⁻⁵ for K − 1 = 21–46, checked against the incomplete gamma function), scaled by
//   (C − 1)/(C − K + 1) and by 1.05 for the remaining F-vs-χ² difference (the F denominator
//   χ²_{C−K+1}/(C−K+1) has sd √(2/3950) = 2.2%, so 1.05 is > 2 of its sds). This is the
//   multivariate form of Pearson's χ² that stays valid for autocorrelated samples.
// * Exact values: E is evaluated with machine.energy on the centres of a fine grid of cells
//   (cell size h) over [−L, L]^N, weights exp(−E/T) normalised. Bin edges are multiples of h so
//   each bin is a union of cells: the midpoint rule's relative error is ≈ (h²/24)·|p''/p|, below
//   10⁻⁶ for h = 10⁻³ in 1-D and 10⁻⁴ for h = 0.02 in 2-D, and E ≥ 12.5 on the boundary of
//   [−8, 8]^N, so the mass outside is below e^{−25}. Both are far below the statistical
//   errors (≥ 10⁻² relative for a bin, ≥ 4·10⁻³ for a moment).
// * Burn-in: from N(0, I) the second moment relaxes with a time constant of ≈ 2.5 time units
//   (measured: a 20 000-chain MALA run has <x²> within 0.03 of 4.75 after 12 time units,
//   starting 3.75 away, for the one-neuron problem). t_burn = 25 leaves ≈ 3.75·e^{−10} ≈ 2·10⁻⁴,
//   1% of one standard error.
// * Float and double are held to the same bounds: float rounds each step's update at ~10⁻⁷
//   relative, unbiased and orders of magnitude below the standard errors (≥ 4·10⁻³ relative);
//   only the check of machine.energy against the closed form has a float-specific tolerance.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <sstream>
#include <string>
#include <vector>

#include <nlm/langevin_machine.hpp>
#include <nlm/noise/gaussian_noise.hpp>
#include <nlm/noise/no_noise.hpp>
#include <nlm/regularizer/no_regularizer.hpp>
#include <nlm/sampler/euler_maruyama.hpp>
#include <nlm/sampler/mala.hpp>

#ifdef NLM_HAVE_ONEDNN
#include <nlm/backend/bf16_products.hpp>
#endif

#include "test_support.hpp"

using nlm::Matrix;

namespace {

template <class SamplerT, class S, class Backend = nlm::BlasProducts>
using StochasticMachine =
    nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::NoRegularizer, SamplerT, S, Backend>;

using nlm::test::chi2_quantile;  // Wilson–Hilferty (test_support.hpp)
using nlm::test::z_1e5;          // Φ⁻¹(1 − 10⁻⁵)

/// Solves A y = b for symmetric positive definite A (n×n, row-major) by Cholesky; returns
/// false if A is not positive definite.
bool cholesky_solve(std::vector<double> a, std::size_t n, std::vector<double>& b) {
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    const double l = std::sqrt(d);
    a[j * n + j] = l;
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / l;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {  // L z = b
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) s -= a[i * n + k] * b[k];
    b[i] = s / a[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {  // Lᵀ y = z
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= a[k * n + i] * b[k];
    b[i] = s / a[i * n + i];
  }
  return true;
}

/// A density to sample: N neurons, couplings J (row-major), temperature, quadrature grid and
/// histogram bins: the same interior edges on every axis (outer bins open-ended), giving
/// `raw_bins()` cells of which those with exact probability below `min_bin_probability` are
/// pooled into one bin (so every bin holds ≥ 1600 of the 320 000 snapshots and the normal
/// approximation behind Hotelling's statistic holds).
struct Problem {
  std::size_t neurons;            // the free coordinates x_1 .. x_neurons
  std::vector<double> clamped{};  // values of the coordinates after them, held fixed (a clamp)
  std::vector<double> couplings;  // J of all neurons + clamped.size() coordinates
  double temperature;
  double half_width;  // L
  double cell;        // h
  std::vector<double> edges;
  double min_bin_probability = 0.005;
  double burn_in = 25.0;  // time units (see the header comment; longer for slowly mixing problems)
  std::vector<std::size_t> bin_map;  // raw bin -> bin, filled by `quadrature`
  std::size_t pooled_bins = 0;       // number of bins after pooling

  std::size_t bins_per_axis() const { return edges.size() + 1; }
  std::size_t raw_bins() const {
    std::size_t b = 1;
    for (std::size_t i = 0; i < neurons; ++i) b *= bins_per_axis();
    return b;
  }
  std::size_t bins() const { return pooled_bins; }
  std::size_t moments() const { return neurons + neurons * (neurons + 1) / 2; }
  std::size_t features() const { return moments() + bins(); }

  std::string moment_name(std::size_t k) const {
    if (k < neurons) return "E[x" + std::to_string(k + 1) + "]";
    k -= neurons;
    for (std::size_t i = 0; i < neurons; ++i)
      for (std::size_t j = i; j < neurons; ++j, --k)
        if (k == 0)
          return i == j ? "Var[x" + std::to_string(i + 1) + "]"
                        : "Cov[x" + std::to_string(i + 1) + ",x" + std::to_string(j + 1) + "]";
    return "?";
  }

  std::size_t all() const { return neurons + clamped.size(); }

  template <class S>
  Matrix<S> coupling_matrix() const {
    Matrix<S> j = Matrix<S>::from_shape({all(), all()});
    for (std::size_t k = 0; k < couplings.size(); ++k) j.data()[k] = S(couplings[k]);
    return j;
  }

  /// E(x) = ½‖x − J tanh x‖² written out independently of the library, in double.
  /// (x holds all coordinates, the clamped ones included.)
  double closed_form_energy(const double* x) const {
    const std::size_t n = all();
    double e = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double r = x[i];
      for (std::size_t j = 0; j < n; ++j) r -= couplings[i * n + j] * std::tanh(x[j]);
      e += 0.5 * r * r;
    }
    return e;
  }

  template <class S>
  std::size_t raw_bin_of(const S* x) const {
    std::size_t bin = 0;
    for (std::size_t i = 0; i < neurons; ++i) {
      const auto axis = std::size_t(std::upper_bound(edges.begin(), edges.end(), double(x[i])) -
                                    edges.begin());
      bin = bin * bins_per_axis() + axis;
    }
    return bin;
  }

  /// Writes f(x) into out[0 .. features()): means, central second moments about `center`,
  /// then the one-hot histogram bin.
  template <class S>
  void features_of(const S* x, const std::vector<double>& center, double* out) const {
    std::size_t k = 0;
    for (std::size_t i = 0; i < neurons; ++i) out[k++] = double(x[i]);
    for (std::size_t i = 0; i < neurons; ++i)
      for (std::size_t j = i; j < neurons; ++j)
        out[k++] = (double(x[i]) - center[i]) * (double(x[j]) - center[j]);
    for (std::size_t b = 0; b < bins(); ++b) out[k + b] = 0;
    out[k + bin_map[raw_bin_of(x)]] = 1;
  }
};

/// Expectations of the features under exp(−E/T)/Z by the midpoint rule on the problem's grid,
/// the energies coming from `machine.energy` (itself checked against the closed form).
struct Reference {
  std::vector<double> mean;      // μ, used as the centre of the second moments
  std::vector<double> expected;  // E[f] for every feature
};

template <class Machine>
Reference quadrature(Problem& p, const Machine& machine) {
  using S = typename Machine::scalar_type;
  const auto per_axis = std::size_t(std::llround(2 * p.half_width / p.cell));
  std::size_t points = 1;
  for (std::size_t i = 0; i < p.neurons; ++i) points *= per_axis;
  Matrix<S> grid = Matrix<S>::from_shape({points, p.all()});
  for (std::size_t g = 0; g < points; ++g) {
    std::size_t rest = g;
    for (std::size_t i = p.neurons; i-- > 0;) {
      grid(g, i) = S(-p.half_width + (double(rest % per_axis) + 0.5) * p.cell);
      rest /= per_axis;
    }
    for (std::size_t i = 0; i < p.clamped.size(); ++i) grid(g, p.neurons + i) = S(p.clamped[i]);
  }
  const auto energy = machine.energy(grid);
  // The reference is only as good as the energy it integrates: compare with the closed form.
  // Float: E ≤ 60 on the grid with ~1e-7 relative rounding per operation.
  const double rel = sizeof(S) == 4 ? 1e-5 : 1e-12;
  double worst = 0;
  std::vector<double> xd(p.all());
  std::vector<double> weight(points);
  double z = 0;
  for (std::size_t g = 0; g < points; ++g) {
    for (std::size_t i = 0; i < p.all(); ++i) xd[i] = double(grid(g, i));
    const double exact = p.closed_form_energy(xd.data());
    worst = std::max(worst, std::abs(double(energy(g)) - exact) / (1.0 + exact));
    weight[g] = std::exp(-double(energy(g)) / p.temperature);
    z += weight[g];
  }
  CHECK(worst < rel);

  // Pool the rare bins.
  std::vector<double> raw(p.raw_bins(), 0.0);
  for (std::size_t g = 0; g < points; ++g) raw[p.raw_bin_of(&grid(g, 0))] += weight[g] / z;
  p.bin_map.assign(p.raw_bins(), 0);
  p.pooled_bins = 0;
  double pooled = 0;
  for (std::size_t b = 0; b < raw.size(); ++b)
    if (raw[b] >= p.min_bin_probability) p.bin_map[b] = p.pooled_bins++;
    else pooled += raw[b];
  if (pooled > 0) {
    for (std::size_t b = 0; b < raw.size(); ++b)
      if (raw[b] < p.min_bin_probability) p.bin_map[b] = p.pooled_bins;
    ++p.pooled_bins;
    CHECK(pooled >= p.min_bin_probability);
  }

  Reference ref;
  ref.mean.assign(p.neurons, 0.0);
  for (std::size_t g = 0; g < points; ++g)
    for (std::size_t i = 0; i < p.neurons; ++i) ref.mean[i] += weight[g] / z * double(grid(g, i));
  ref.expected.assign(p.features(), 0.0);
  std::vector<double> f(p.features());
  for (std::size_t g = 0; g < points; ++g) {
    p.features_of(&grid(g, 0), ref.mean, f.data());
    for (std::size_t k = 0; k < f.size(); ++k) ref.expected[k] += weight[g] / z * f[k];
  }
  return ref;
}

/// Per-chain time averages of the features (C × F, row-major) and how they were taken.
struct ChainAverages {
  std::size_t chains = 0, features = 0, snapshots = 0;
  std::vector<double> avg;
  std::vector<double> pooled_square;  // Σ f² over all chains and snapshots, per feature
  double seconds = 0;

  /// Var(f) over all recorded states, and the integrated autocorrelation time (in snapshots)
  /// implied by the batch-means SE.
  double pooled_variance(std::size_t k) const {
    const double m = mean(k);
    return pooled_square[k] / double(chains * snapshots) - m * m;
  }
  double autocorrelation_time(std::size_t k) const {
    const double se = standard_error(k);
    return se * se * double(chains * snapshots) / pooled_variance(k);
  }

  double mean(std::size_t k) const {
    double s = 0;
    for (std::size_t c = 0; c < chains; ++c) s += avg[c * features + k];
    return s / double(chains);
  }
  double covariance(std::size_t k, std::size_t l, double mk, double ml) const {
    double s = 0;
    for (std::size_t c = 0; c < chains; ++c)
      s += (avg[c * features + k] - mk) * (avg[c * features + l] - ml);
    return s / double(chains - 1);
  }
  double standard_error(std::size_t k) const {
    const double m = mean(k);
    return std::sqrt(covariance(k, k, m, m) / double(chains));
  }
};

/// Runs `chains` chains of `machine` from N(0, I): burn-in, then records the features every
/// `every` steps for `steps` steps.
template <class Machine>
ChainAverages run_chains(Machine& machine, const Problem& p, const Reference& ref,
                         std::size_t chains, std::size_t burn_in, std::size_t steps,
                         std::size_t every) {
  using S = typename Machine::scalar_type;
  const auto start = std::chrono::steady_clock::now();
  ChainAverages out;
  out.chains = chains;
  out.features = p.features();
  out.avg.assign(chains * out.features, 0.0);
  out.pooled_square.assign(out.features, 0.0);
  nlm::Chains<S> x(machine.random_states(chains));
  if (!p.clamped.empty()) {  // the coordinates after the free ones held at their values
    xt::xtensor<std::uint8_t, 2> mask = xt::zeros<std::uint8_t>({std::size_t(1), p.all()});
    Matrix<S> values = xt::zeros<S>({std::size_t(1), p.all()});
    for (std::size_t i = 0; i < p.clamped.size(); ++i) {
      mask(0, p.neurons + i) = 1;
      values(0, p.neurons + i) = S(p.clamped[i]);
    }
    x.clamp(mask, values);
  }
  machine.sample(x, burn_in);
  std::vector<double> f(out.features);
  machine.sample(x, steps, [&](std::size_t step, const Matrix<S>& xs) {
    if (step % every != 0) return;
    ++out.snapshots;
    for (std::size_t c = 0; c < chains; ++c) {
      p.features_of(&xs(c, 0), ref.mean, f.data());
      double* a = out.avg.data() + c * out.features;
      for (std::size_t k = 0; k < out.features; ++k) {
        a[k] += f[k];
        out.pooled_square[k] += f[k] * f[k];
      }
    }
  });
  for (double& v : out.avg) v /= double(out.snapshots);
  for (std::size_t c = 0; c < chains; ++c)  // a clamp holds its coordinates to the bit
    for (std::size_t i = 0; i < p.clamped.size(); ++i) REQUIRE(x.states()(c, p.neurons + i) == S(p.clamped[i]));
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

/// The comparison of a run with the exact expectations.
struct Verdict {
  std::vector<double> moment_z;  // (estimate − exact)/SE for each moment
  std::vector<double> bin_z;     // the same for each histogram bin
  double hotelling = 0;          // Q over the first K − 1 bins
  double threshold = 0;          // rejection threshold for Q (tail 1e-5)
  bool covariance_ok = false;
  std::string report;

  double max_abs_moment_z() const {
    double m = 0;
    for (double z : moment_z) m = std::max(m, std::abs(z));
    return m;
  }
  double max_abs_bin_z() const {
    double m = 0;
    for (double z : bin_z) m = std::max(m, std::abs(z));
    return m;
  }
};

Verdict compare(const Problem& p, const Reference& ref, const ChainAverages& run,
                const std::string& label) {
  Verdict v;
  std::ostringstream msg;
  msg.precision(4);
  msg << label << " (" << run.chains << " chains x " << run.snapshots << " snapshots, "
      << run.seconds << " s)\n";
  for (std::size_t k = 0; k < p.moments(); ++k) {
    const double m = run.mean(k), se = run.standard_error(k);
    v.moment_z.push_back((m - ref.expected[k]) / se);
    msg << "  " << p.moment_name(k) << ": " << m << " exact " << ref.expected[k] << " SE " << se
        << " z " << v.moment_z.back() << " (tau_int " << run.autocorrelation_time(k)
        << " snapshots)\n";
  }
  const std::size_t first = p.moments(), dof = p.bins() - 1;
  std::vector<double> mean(dof), d(dof), cov(dof * dof);
  for (std::size_t a = 0; a < dof; ++a) {
    mean[a] = run.mean(first + a);
    d[a] = mean[a] - ref.expected[first + a];
  }
  for (std::size_t a = 0; a < dof; ++a)
    for (std::size_t b = 0; b <= a; ++b)
      cov[a * dof + b] = cov[b * dof + a] = run.covariance(first + a, first + b, mean[a], mean[b]);
  for (std::size_t a = 0; a <= dof; ++a) {
    const double se = run.standard_error(first + a);
    v.bin_z.push_back((run.mean(first + a) - ref.expected[first + a]) / se);
  }
  std::vector<double> y = d;
  v.covariance_ok = cholesky_solve(cov, dof, y);
  for (std::size_t a = 0; a < dof; ++a) v.hotelling += double(run.chains) * d[a] * y[a];
  const double c = double(run.chains), kk = double(p.bins());
  v.threshold = chi2_quantile(double(dof), z_1e5) * (c - 1) / (c - kk + 1) * 1.05;
  msg << "  histogram: " << p.bins() << " bins, Hotelling Q " << v.hotelling << " (dof " << dof
      << ", reject above " << v.threshold << "), max |bin z| " << v.max_abs_bin_z();
  v.report = msg.str();
  return v;
}

void require_match(const Verdict& v) {
  MESSAGE(v.report);
  CHECK(v.covariance_ok);
  for (double z : v.moment_z) CHECK(std::abs(z) < 4.5);
  CHECK(v.hotelling < v.threshold);
}

// One neuron, J = 2.5, T = 0.5: E(x) = ½(x − 2.5 tanh x)² vanishes at x = 0 and x = ±2.37 (the
// fixed points of x = 2.5 tanh x), so exp(−E/T) is trimodal with dips to 0.44 of the peak at
// x = ±1.03 — far from Gaussian (kurtosis E[x⁴]/E[x²]² = 1.76).
Problem one_neuron() {
  Problem p;
  p.neurons = 1;
  p.couplings = {2.5};
  p.temperature = 0.5;
  p.half_width = 8.0;  // E(±8) = 15.1: mass outside < e^{-30}
  p.cell = 1e-3;
  for (int k = -10; k <= 10; ++k) p.edges.push_back(0.4 * k);  // 22 bins, outer ones open
  return p;
}

// Two neurons, asymmetric J = [[2, 1], [−1, 1.5]], T = 0.5. E has five local minima: x = 0 (the
// only fixed point, E = 0) and ±(0.86, −2.13) (E = 0.097), ±(2.52, 0.64) (E = 0.30), so
// exp(−E/T) is five-modal and not elliptical (marginal kurtosis of x1 2.53, Gaussian 3).
Problem two_neurons() {
  Problem p;
  p.neurons = 2;
  p.couplings = {2.0, 1.0, -1.0, 1.5};
  p.temperature = 0.5;
  p.half_width = 8.0;
  p.cell = 0.02;
  p.edges = {-2.4, -1.6, -0.8, 0.0, 0.8, 1.6, 2.4};  // 8 × 8 cells, rare ones pooled
  return p;
}

// The two neurons' density with x2 clamped at 1: p(x1 | x2 = 1) ∝ exp(−E(x1, 1)/T), a 1-D
// density (bimodal: E(x1, 1) has minima at x1 = −0.30 (E = 0.21) and x1 = 2.73 (E = 0.36);
// mean 0.84, variance 3.23, by numpy on a 10⁻⁵ grid). The free coordinate is checked as the
// one-neuron problem is, on 18 bins of width 0.4 between −2.4 and 4 (the least probable holds
// 0.011, so none is pooled).
// Burn-in: the barrier between the two wells makes this problem mix slowly. A first run with
// the default 25 time units measured τ_int ≈ 32 snapshots (16 time units) for E[x1], i.e. a
// correlation time τ_exp ≈ τ_int·Δt_snap/2 ≈ 8 time units, and every E[x1] below the exact
// value (z −1.3 to −4.3): the chains start from N(0, 1), 0.84 below the mean, and 25 time
// units leave 0.84·e^{−25/8} ≈ 0.037 ≈ 2 SE of it. 100 time units leave 0.84·e^{−12.5} ≈ 3·10⁻⁶,
// below 10⁻³ SE.
Problem two_neurons_x2_clamped() {
  Problem p = two_neurons();
  p.neurons = 1;
  p.clamped = {1.0};
  p.cell = 1e-3;
  p.burn_in = 100.0;
  p.edges.clear();
  for (int k = -6; k <= 10; ++k) p.edges.push_back(0.4 * k);
  return p;
}

template <class SamplerT, class S, class Backend = nlm::BlasProducts>
StochasticMachine<SamplerT, S, Backend> make_machine(const Problem& p, double dt, std::uint64_t seed) {
  nlm::Hyperparameters hp;
  hp.neurons = p.all();
  hp.persistent_chains = 1;
  hp.temperature = p.temperature;
  hp.time_step = dt;
  hp.seed = seed;
  StochasticMachine<SamplerT, S, Backend> m(hp);
  m.set_couplings(p.coupling_matrix<S>());
  return m;
}

// Run lengths in time units (see the header comment): 4000 chains, burn-in 25, window 40 with a
// snapshot every 0.5, i.e. 80 snapshots per chain and 320 000 in all.
constexpr std::size_t chains = 4000;
constexpr double window_time = 40.0, snapshot_time = 0.5;  // burn-in: Problem::burn_in

// Small Δt: EM's bias is O(Δt) (weak order 1). We make it negligible rather than add it to the
// tolerance: at Δt = 0.25 it is measured below (same number of chains and snapshots) as 13.5
// (one neuron) and 25 (two neurons) standard errors in the worst histogram bin, so at
// Δt = 0.005 = 0.25/50 it is ≈ 0.3–0.5 SE, and it raises the expected Hotelling Q by
// ≈ (1/50)² · Q(0.25) ≤ 1.4 against a rejection threshold ≥ dof + 40: EM at this Δt is held to
// the same bounds as an exact sampler. (`check_euler_maruyama_biased` re-checks the premise:
// the large-Δt bias scaled down by 50 must stay below 1 SE.)
constexpr double small_dt = 0.005;
constexpr double large_dt = 0.25;

struct Sampled {
  Verdict verdict;
  double acceptance = -1;  // MALA only
};

template <class SamplerT, class S, class Backend = nlm::BlasProducts>
Sampled sample_and_compare(const Problem& p, const Reference& ref, double dt, std::uint64_t seed,
                           const std::string& label) {
  auto m = make_machine<SamplerT, S, Backend>(p, dt, seed);
  const auto steps = [dt](double t) { return std::size_t(std::llround(t / dt)); };
  const ChainAverages run = run_chains(m, p, ref, chains, steps(p.burn_in),
                                       steps(window_time), steps(snapshot_time));
  Sampled out;
  out.verdict = compare(p, ref, run, label + " (" + (sizeof(S) == 4 ? "float" : "double") +
                                         ", dt " + std::to_string(dt) + ")");
  if constexpr (std::is_same_v<SamplerT, nlm::Mala>) {
    out.acceptance = m.sampler().acceptance_rate();
    out.verdict.report += "\n  MALA acceptance rate " + std::to_string(out.acceptance);
  }
  return out;
}

/// The checks for an exact sampler or for EM at small Δt.
template <class SamplerT, class S, class Backend = nlm::BlasProducts>
Sampled check_samples_density(const Problem& p, const Reference& ref, double dt,
                              std::uint64_t seed, const std::string& label) {
  Sampled s = sample_and_compare<SamplerT, S, Backend>(p, ref, dt, seed, label);
  require_match(s.verdict);
  return s;
}

/// EM at large Δt must be rejected: its histogram fails Hotelling's test and its worst bin is
/// more than 6 standard errors off.
template <class S>
void check_euler_maruyama_biased(const Problem& p, const Reference& ref, std::uint64_t seed,
                                 const std::string& label) {
  const Sampled s = sample_and_compare<nlm::EulerMaruyama, S>(p, ref, large_dt, seed, label);
  MESSAGE(s.verdict.report);
  CHECK(s.verdict.covariance_ok);
  CHECK(s.verdict.hotelling > s.verdict.threshold);
  CHECK(s.verdict.max_abs_bin_z() > 6.0);
  // The premise of the small-Δt tests (see small_dt): the bias, linear in Δt, is < 1 SE there.
  CHECK(s.verdict.max_abs_bin_z() * (small_dt / large_dt) < 1.0);
}

/// MALA's acceptance rate: at small Δt the rejection probability is O(Δt^{3/2}) (3.4% at
/// Δt = 0.25 here, so ≈ 0.01% at 0.005): above 0.99. At large Δt it must be sane (> 0.2,
/// the chains move) and below 0.995: the Metropolis correction is really rejecting, which is
/// what removes EM's bias.
void check_acceptance(double rate, double dt) {
  if (dt == small_dt) {
    CHECK(rate > 0.99);
  } else {
    CHECK(rate > 0.2);
    CHECK(rate < 0.995);
  }
}

}  // namespace

TEST_SUITE("stationarity") {

TEST_CASE_TEMPLATE("one neuron, trimodal exp(-E/T): Euler-Maruyama and MALA at small dt sample it",
                   S, float, double) {
  Problem p = one_neuron();
  const Reference ref = quadrature(p, make_machine<nlm::EulerMaruyama, S>(p, small_dt, 0));
  check_samples_density<nlm::EulerMaruyama, S>(p, ref, small_dt, 101, "one neuron, EM");
  const Sampled mala = check_samples_density<nlm::Mala, S>(p, ref, small_dt, 102, "one neuron, MALA");
  check_acceptance(mala.acceptance, small_dt);
}

TEST_CASE_TEMPLATE("one neuron at large dt: MALA still samples exp(-E/T), Euler-Maruyama is biased",
                   S, float, double) {
  Problem p = one_neuron();
  const Reference ref = quadrature(p, make_machine<nlm::EulerMaruyama, S>(p, small_dt, 0));
  const Sampled mala = check_samples_density<nlm::Mala, S>(p, ref, large_dt, 103, "one neuron, MALA");
  check_acceptance(mala.acceptance, large_dt);
  check_euler_maruyama_biased<S>(p, ref, 104, "one neuron, EM (must be rejected)");
}

TEST_CASE_TEMPLATE("two neurons, asymmetric J: Euler-Maruyama and MALA at small dt sample exp(-E/T)",
                   S, float, double) {
  Problem p = two_neurons();
  const Reference ref = quadrature(p, make_machine<nlm::EulerMaruyama, S>(p, small_dt, 0));
  check_samples_density<nlm::EulerMaruyama, S>(p, ref, small_dt, 201, "two neurons, EM");
  const Sampled mala = check_samples_density<nlm::Mala, S>(p, ref, small_dt, 202, "two neurons, MALA");
  check_acceptance(mala.acceptance, small_dt);
}

TEST_CASE_TEMPLATE("two neurons at large dt: MALA still samples exp(-E/T), Euler-Maruyama is biased",
                   S, float, double) {
  Problem p = two_neurons();
  const Reference ref = quadrature(p, make_machine<nlm::EulerMaruyama, S>(p, small_dt, 0));
  const Sampled mala = check_samples_density<nlm::Mala, S>(p, ref, large_dt, 203, "two neurons, MALA");
  check_acceptance(mala.acceptance, large_dt);
  check_euler_maruyama_biased<S>(p, ref, 204, "two neurons, EM (must be rejected)");
}

// Clamping (issue 12): clamped coordinates get no drift and no noise, so the free ones follow
// the Langevin dynamics of exp(−E(x1, c)/T) in x1 alone; EM at small Δt and MALA (whose
// proposal and acceptance use the free coordinates only) must sample p(x1 | x2 = c), checked
// with the statistics above against its quadrature; the clamped coordinate keeps its bits.
TEST_CASE_TEMPLATE("two neurons with x2 clamped: Euler-Maruyama and MALA sample p(x1 | x2) by quadrature",
                   S, float, double) {
  Problem p = two_neurons_x2_clamped();
  const Reference ref = quadrature(p, make_machine<nlm::EulerMaruyama, S>(p, small_dt, 0));
  check_samples_density<nlm::EulerMaruyama, S>(p, ref, small_dt, 301, "x2 clamped, EM");
  const Sampled mala = check_samples_density<nlm::Mala, S>(p, ref, large_dt, 302, "x2 clamped, MALA");
  check_acceptance(mala.acceptance, large_dt);
}

#ifdef NLM_HAVE_ONEDNN
// bf16 products (issue 17): the same tests, the same tolerances. The couplings here (2.5; 2, 1,
// −1, 1.5) are exact in bf16; what changes is that φ(x) and R are rounded to bf16 (relative
// 2⁻⁹) inside every product, so the drift is the exact one up to ≈ 0.2 %·|J||φ| per step, a
// perturbation of E of that relative size. exp(−E/T) at T = 0.5 then moves by
// ≈ 0.002·E/T ≲ 0.004 of a bin's probability where E ≲ 1 (all the mass), against a worst-bin
// standard error of ≈ 1–2 % of the bin (320 000 snapshots): a fraction of a standard error,
// so the float32 tolerances hold unchanged if the backend is right.
TEST_CASE("bf16 products: one and two neurons, Euler-Maruyama and MALA at small dt sample exp(-E/T)") {
  for (const Problem& problem : {one_neuron(), two_neurons()}) {
    Problem p = problem;
    const Reference ref = quadrature(p, make_machine<nlm::EulerMaruyama, float>(p, small_dt, 0));
    const std::string name = p.neurons == 1 ? "one neuron" : "two neurons";
    check_samples_density<nlm::EulerMaruyama, float, nlm::Bf16Products>(p, ref, small_dt, 401, name + ", EM, bf16");
    const Sampled mala =
        check_samples_density<nlm::Mala, float, nlm::Bf16Products>(p, ref, small_dt, 402, name + ", MALA, bf16");
    check_acceptance(mala.acceptance, small_dt);
  }
}
#endif

// T = 0: with NoNoise, Euler–Maruyama is gradient descent x ← x + Δt F(x) = x − Δt ∇E(x) on
// E = ½‖x − J tanh x‖² ≥ 0, whose zeros are the fixed points of x = J tanh(x).
// J is built to have a chosen fixed point x*: with φ* = tanh(x*) and P = I − φ*φ*ᵀ/‖φ*‖²,
//   J = x* φ*ᵀ/‖φ*‖² + K P,   K a fixed 6×6 matrix (entries of size ≈ 3),
// so J φ* = x* (and J φ(−x*) = −x*: −x* is one too), while J is full-rank and asymmetric.
// K is large enough that x* is an UNSTABLE fixed point of the plain recurrent dynamics
// dx/dt = −x + Jφ(x) (checked below): every non-degenerate zero of E is a minimum of E, so the
// descent with the Onsager term lands on x* while the plain drift runs away from it.
TEST_CASE_TEMPLATE("T = 0 descent (NoNoise + Euler-Maruyama) ends on a fixed point of x = J tanh x",
                   S, float, double) {
  constexpr std::size_t n = 6;
  const std::vector<double> target = {1.5, -1.2, 2.0, -0.8, 1.0, -1.7};
  const double kmat[n * n] = {-2.30, -1.09, -5.39, -1.56, 2.08,  4.11,   //
                              0.87,  3.40,  1.58,  -0.61, 1.00,  8.68,   //
                              -1.06, 1.37,  2.47,  -4.54, 1.56,  0.85,   //
                              3.96,  2.94,  -1.57, 0.92,  0.19,  3.06,   //
                              -0.79, 0.15,  1.89,  -0.08, 2.78,  -1.03,  //
                              2.57,  -3.14, 2.07,  4.92,  -2.00, -2.00};
  constexpr double dt = 0.025;
  nlm::Hyperparameters hp;
  hp.neurons = n;
  hp.persistent_chains = 1;
  hp.time_step = dt;
  hp.seed = 31;
  nlm::LangevinMachine<nlm::Tanh, nlm::NoNoise, nlm::NoRegularizer, nlm::EulerMaruyama, S> m(hp);

  std::vector<double> phi(n), jd(n * n);
  double phi2 = 0;
  for (std::size_t i = 0; i < n; ++i) phi2 += (phi[i] = std::tanh(target[i])) * phi[i];
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double kp = 0;  // (K P)_ij
      for (std::size_t l = 0; l < n; ++l)
        kp += kmat[i * n + l] * ((l == j ? 1.0 : 0.0) - phi[l] * phi[j] / phi2);
      jd[i * n + j] = target[i] * phi[j] / phi2 + kp;
    }
  Matrix<S> j = Matrix<S>::from_shape({n, n});
  for (std::size_t a = 0; a < n * n; ++a) j.data()[a] = S(jd[a]);
  m.set_couplings(j);
  for (std::size_t a = 0; a < n * n; ++a) jd[a] = double(j.data()[a]);  // J as stored

  // Residual x − J tanh x in double, independently of the library.
  const auto residual = [&](const Matrix<S>& x, std::size_t row) {
    double worst = 0;
    for (std::size_t a = 0; a < n; ++a) {
      double r = double(x(row, a));
      for (std::size_t b = 0; b < n; ++b) r -= jd[a * n + b] * std::tanh(double(x(row, b)));
      worst = std::max(worst, std::abs(r));
    }
    return worst;
  };
  const auto distance_to = [&](const auto& x, std::size_t row, double sign) {
    double d = 0;
    for (std::size_t a = 0; a < n; ++a) d = std::max(d, std::abs(double(x(row, a)) - sign * target[a]));
    return d;
  };

  // 16 starts: rows 0–7 near x*, rows 8–15 near −x* (perturbations N(0, 0.2²)).
  constexpr std::size_t rows = 16;
  const auto side = [](std::size_t r) { return r < rows / 2 ? 1.0 : -1.0; };
  Matrix<S> x = m.random_states(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t a = 0; a < n; ++a) x(r, a) = S(side(r) * target[a] + 0.2 * double(x(r, a)));

  // Precondition: the plain recurrent dynamics, written out here in double, leave ±x* from the
  // same starts (200 time units), so landing on ±x* is the work of the descent on E.
  {
    std::vector<double> xp(x.begin(), x.end()), ph(n);
    for (int step = 0; step < 8000; ++step)
      for (std::size_t r = 0; r < rows; ++r) {
        double* xr = xp.data() + r * n;
        for (std::size_t a = 0; a < n; ++a) ph[a] = std::tanh(xr[a]);
        for (std::size_t a = 0; a < n; ++a) {
          double h = 0;
          for (std::size_t b = 0; b < n; ++b) h += jd[a * n + b] * ph[b];
          xr[a] += dt * (h - xr[a]);
        }
      }
    double nearest = 1e300;
    for (std::size_t r = 0; r < rows; ++r) {
      double d = 0;
      for (std::size_t a = 0; a < n; ++a) d = std::max(d, std::abs(xp[r * n + a] - side(r) * target[a]));
      nearest = std::min(nearest, d);
    }
    INFO("plain dynamics: closest end point to the start's fixed point at distance " << nearest);
    REQUIRE(nearest > 0.5);
  }

  // Monotonicity. Near x*, ∇²E ≈ AᵀA with A = I − J diag(φ'(x*)); λ_max(AᵀA) is found by power
  // iteration and Δt·λ_max must be < 1 (gradient descent decreases E when Δt·L < 2; the margin
  // covers the Hessian's variation over the 0.2-neighbourhood the descent runs through). Only
  // rounding can then make a computed E rise: the residual r = x − Jφ(x) of a row carries an
  // error of norm η ≤ 16 ε √N (max|x| + max_i Σ_j |J_ij|) (a few roundings per term), which
  // moves E = ½‖r‖² by at most ‖r‖η + η²/2; a rise beyond twice that fails.
  {
    std::vector<double> a(n * n), v(n, 1.0), w(n), u(n);
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = 0; q < n; ++q)
        a[p * n + q] = (p == q ? 1.0 : 0.0) - jd[p * n + q] * (1 - phi[q] * phi[q]);
    double lambda = 0;
    for (int it = 0; it < 500; ++it) {
      for (std::size_t p = 0; p < n; ++p) {
        w[p] = 0;
        for (std::size_t q = 0; q < n; ++q) w[p] += a[p * n + q] * v[q];
      }
      for (std::size_t q = 0; q < n; ++q) {
        u[q] = 0;
        for (std::size_t p = 0; p < n; ++p) u[q] += a[p * n + q] * w[p];
      }
      double norm = 0;
      for (double t : u) norm += t * t;
      norm = std::sqrt(norm);
      double vnorm = 0;
      for (double t : v) vnorm += t * t;
      lambda = norm / std::sqrt(vnorm);
      for (std::size_t q = 0; q < n; ++q) v[q] = u[q] / norm;
    }
    INFO("lambda_max(A^T A) at x* = " << lambda);
    REQUIRE(dt * lambda < 1.0);
  }
  double row_sum = 0;
  for (std::size_t a = 0; a < n; ++a) {
    double s = 0;
    for (std::size_t b = 0; b < n; ++b) s += std::abs(jd[a * n + b]);
    row_sum = std::max(row_sum, s);
  }
  const double eps = std::numeric_limits<S>::epsilon();
  const double eta = 16 * eps * std::sqrt(double(n)) * (3.0 + row_sum);
  auto previous = m.energy(x);
  const double initial_min = double(*std::min_element(previous.begin(), previous.end()));
  std::size_t rises = 0;
  double worst_rise = 0;
  constexpr std::size_t steps = 24000;  // 600 time units
  m.sample(x, steps, [&](std::size_t, const Matrix<S>& xs) {
    const auto e = m.energy(xs);
    for (std::size_t r = 0; r < rows; ++r) {
      const double before = double(previous(r)), after = double(e(r));
      const double slack = 2 * (std::sqrt(2 * before) * eta + eta * eta / 2);
      if (after > before + slack) ++rises;
      worst_rise = std::max(worst_rise, after - before);
    }
    previous = e;
  });
  INFO("largest rise of E in one step: " << worst_rise);
  CHECK(initial_min > 1e-3);  // the starts really are away from the fixed points
  CHECK(rises == 0);

  // E → 0 and the end points are fixed points: x*, or −x*, matching where each started.
  const double energy_bound = sizeof(S) == 4 ? 1e-5 : 1e-8;
  const auto final_energy = m.energy(x);
  for (std::size_t r = 0; r < rows; ++r) {
    INFO("row " << r << ", E = " << final_energy(r) << ", max |x - J tanh x| = " << residual(x, r));
    CHECK(double(final_energy(r)) < energy_bound);
    // E < bound means ‖r‖ < √(2·bound); checked again with the residual computed here in double
    // (float: plus the rounding of a float state, η).
    CHECK(residual(x, r) < std::sqrt(2 * energy_bound) + eta);
    // Any other fixed point is O(1) away; 0.01 tells "the one it started next to".
    CHECK(distance_to(x, r, side(r)) < 0.01);
  }
}

}  // TEST_SUITE
