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
#pragma once

#include <cstddef>

#include "../activation/langevin_activation.hpp"
#include "../analysis/fixed_points.hpp"
#include "../noise/no_noise.hpp"
#include "../recurrent_network.hpp"
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

}  // namespace nlm
