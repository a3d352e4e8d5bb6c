/// @file attractor_census.hpp
/// @brief The fixed points of the attractor network's deterministic map σ = L(β(Jσ + b)), by
/// nlm's fixed-point census (analysis/fixed_points.hpp), from given starts.
///
/// In the inputs x = β(Jσ + b) the map is the plain recurrent drift −x + (βJ) L(x) + βb with the
/// Langevin activation, whose fixed points x* give σ* = L(x*); stability is the drift's (the
/// eigenvalues of −I + βJ diag L'(x*)): a stable point of the drift is a point the map's
/// continuous-time relaxation settles into. A start σ₀ (say, a training pattern as the reference
/// scales it, L(0.1 ξ + noise)) becomes x₀ = β(Jσ₀ + b), and the census's `outcome` says for
/// each start where it ended: fixed point k (≥ 0), slow point −1 − k, or not converged. Starts
/// from given states matter: noise and held-out data can miss attractors whose basins they never
/// enter.
///
/// `relax` is the reference's own search: the map itself, iterated from each start until the
/// state (or, as the reference stops, the free energy) stops changing, with the distinct ends
/// after rounding — what the published attractor counts are.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "../activation/langevin_activation.hpp"
#include "../analysis/fixed_points.hpp"
#include "../noise/no_noise.hpp"
#include "../recurrent_network.hpp"
#include "attractor_learner.hpp"
#include "attractor_network.hpp"

namespace nlm {

/// The census of σ = L(β(Jσ + b)) from the rows of `starts` (states σ₀ in [−1, 1]): a
/// FixedPointCensus whose points' `state` is x* (the inputs); `attractor_states` turns them into σ*.
template <Scalar S, class Backend>
FixedPointCensus attractor_census(const AttractorNetwork<S, Backend>& net, const Matrix<S>& starts,
                                  const FixedPointOptions& options = {}) {
  const std::size_t n = net.neurons();
  Matrix<double> j = Matrix<double>::from_shape({n, n});
  Vector<double> b = Vector<double>::from_shape({n});
  for (std::size_t k = 0; k < j.size(); ++k) j.data()[k] = net.beta() * double(net.couplings().data()[k]);
  for (std::size_t i = 0; i < n; ++i) b(i) = net.beta() * double(net.field()(i));
  const RecurrentNetwork<LangevinActivation, NoNoise, double> drift(j, b, 0.0);
  Matrix<S> h;
  net.inputs(starts, h);  // b + Jσ₀
  Matrix<double> x = Matrix<double>::from_shape(h.shape());
  for (std::size_t k = 0; k < h.size(); ++k) x.data()[k] = net.beta() * double(h.data()[k]);
  return find_fixed_points(drift, x, options);
}

/// σ* = L(x*) of the census's fixed points, one row each.
inline Matrix<double> attractor_states(const std::vector<CriticalPoint>& points, std::size_t neurons) {
  Matrix<double> s = Matrix<double>::from_shape({points.size(), neurons});
  for (std::size_t p = 0; p < points.size(); ++p)
    for (std::size_t i = 0; i < neurons; ++i) s(p, i) = langevin_function(double(points[p].state(i)));
  return s;
}

/// When `relax` calls a start settled.
enum class RelaxCriterion {
  state,        ///< max_i |σ_i(t) − σ_i(t−1)| < tolerance
  free_energy,  ///< |F(t) − F(t−1)| < tolerance (the reference's test, F as FreeEnergy, b of the network)
};

struct RelaxOptions {
  std::size_t max_steps = 1000;  ///< deterministic steps at most (the reference's 1 000)
  double tolerance = 1e-12;      ///< the reference's
  RelaxCriterion criterion = RelaxCriterion::state;
  int decimals = 2;              ///< ends equal after rounding to this many decimals are one attractor
};

/// Where each start of `relax` ended.
template <Scalar S>
struct Relaxation {
  Matrix<S> ends;                      ///< one row per start: its state when it settled (or after max_steps)
  std::vector<std::size_t> steps;      ///< the step at which each start settled (max_steps when it did not)
  std::vector<bool> settled;
  Matrix<S> attractors;                ///< the distinct ends of the settled starts (rounded), in order of first arrival
  std::vector<std::ptrdiff_t> attractor_of;  ///< per start: its row of `attractors`, −1 when it did not settle
  std::vector<std::size_t> basin;      ///< per attractor: how many starts ended there
  std::size_t unsettled() const { return std::size_t(std::count(settled.begin(), settled.end(), false)); }
};

/// The deterministic map σ ← L(β(b + Jσ)) (clamps and per-chain temperatures are not used)
/// from each row of `starts` until it settles (RelaxOptions), and the distinct ends: ends whose
/// values agree after rounding to `decimals` decimals are one attractor (the reference's
/// `np.unique(np.round(ends, 2), axis=0)`, unsettled starts left out and counted apart).
/// @throws std::invalid_argument for starts of the wrong width, non-finite starts, max_steps 0,
///         a negative or non-finite tolerance, or decimals outside 0 … 15.
template <Scalar S, class Backend>
Relaxation<S> relax(const AttractorNetwork<S, Backend>& network, const Matrix<S>& starts, const RelaxOptions& options = {}) {
  const char* who = "relax";
  const std::size_t n = network.neurons(), rows = starts.shape(0);
  if (starts.shape(1) != n)
    throw std::invalid_argument(std::string(who) + ": starts of " + std::to_string(starts.shape(1)) +
                                " units, the network has " + std::to_string(n));
  if (options.max_steps == 0) throw std::invalid_argument(std::string(who) + ": max_steps must be > 0");
  if (!(options.tolerance >= 0 && std::isfinite(options.tolerance)))
    throw std::invalid_argument(std::string(who) + ": the tolerance must be finite and >= 0, got " +
                                std::to_string(options.tolerance));
  if (options.decimals < 0 || options.decimals > 15)
    throw std::invalid_argument(std::string(who) + ": decimals must be in 0 ... 15, got " + std::to_string(options.decimals));
  for (std::size_t k = 0; k < starts.size(); ++k)
    if (!std::isfinite(double(starts.data()[k])))
      throw std::invalid_argument(std::string(who) + ": start " + std::to_string(k / n) +
                                  " has a non-finite value at unit " + std::to_string(k % n));
  AttractorNetwork<S, Backend> net = network;  // deterministic steps draw no noise; a copy keeps `network` const
  Relaxation<S> r;
  r.ends = starts;
  r.steps.assign(rows, options.max_steps);
  r.settled.assign(rows, false);
  r.attractor_of.assign(rows, -1);
  Chains<S> chains(starts);
  std::vector<double> energy(rows, 0.0);
  const bool by_energy = options.criterion == RelaxCriterion::free_energy;
  if (by_energy) {
    const auto f = AttractorLearner<S, Backend>::free_energy_of(net, chains.states());
    for (std::size_t c = 0; c < rows; ++c) energy[c] = f[c].free_energy;
  }
  std::size_t open = rows;
  Matrix<S> before = starts;  // the previous step's states, one buffer for the whole search
  for (std::size_t t = 1; t <= options.max_steps && open > 0; ++t) {
    before = chains.states();
    net.step(chains, UpdateMode::deterministic);
    const Matrix<S>& x = chains.states();
    std::vector<FreeEnergy> f;
    if (by_energy) f = AttractorLearner<S, Backend>::free_energy_of(net, x);
    for (std::size_t c = 0; c < rows; ++c) {
      if (r.settled[c]) continue;
      bool done;
      if (by_energy) {
        done = std::fabs(f[c].free_energy - energy[c]) < options.tolerance;
        energy[c] = f[c].free_energy;
      } else {
        double change = 0;
        for (std::size_t i = 0; i < n; ++i) change = std::max(change, std::fabs(double(x(c, i)) - double(before(c, i))));
        done = change < options.tolerance;
      }
      std::copy_n(x.data() + c * n, n, r.ends.data() + c * n);
      if (done) r.settled[c] = true, r.steps[c] = t, --open;
    }
  }
  // Distinct ends after rounding, in order of first arrival.
  const double scale = std::pow(10.0, options.decimals);
  std::map<std::vector<long long>, std::size_t> seen;
  std::vector<std::size_t> first;
  for (std::size_t c = 0; c < rows; ++c) {
    if (!r.settled[c]) continue;
    std::vector<long long> key(n);
    for (std::size_t i = 0; i < n; ++i) key[i] = std::llround(double(r.ends(c, i)) * scale);
    const auto [at, inserted] = seen.emplace(std::move(key), first.size());
    if (inserted) first.push_back(c), r.basin.push_back(0);
    r.attractor_of[c] = std::ptrdiff_t(at->second);
    ++r.basin[at->second];
  }
  r.attractors = Matrix<S>::from_shape({first.size(), n});
  for (std::size_t a = 0; a < first.size(); ++a)
    for (std::size_t i = 0; i < n; ++i) r.attractors(a, i) = S(std::round(double(r.ends(first[a], i)) * scale) / scale);
  return r;
}

}  // namespace nlm
