/// @file annealed.hpp
/// @brief Annealed sampling: chains start hot and are cooled to the model's temperature.
///
/// The first `anneal_steps` of a run set every chain's temperature to a geometric schedule
/// from `t_start` down to the model's T, a new temperature every `block` steps (block k of
/// K = ⌈anneal_steps / block⌉ at T·(t_start/T)^(1 − (k+1)/K), so the last block is at T); the
/// remaining steps run at T. A hot start lets a chain cross between the basins it would fall
/// into from N(0, I) at T, so where the chains end depends less on where they fell first
/// (docs/quality.md, "Balance"). Any sampler that honours per-chain temperatures
/// (`Chains::set_temperatures`: Euler–Maruyama, MALA) can be annealed; parallel tempering sets
/// them itself and cannot.
///
///     nlm::advance_annealed(sampler, model, chains, 25000, {.t_start = 2, .steps = 10000});
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "../chains.hpp"
#include "../types.hpp"
#include "sampler.hpp"

namespace nlm {

struct AnnealSchedule {
  double t_start = 2.0;     ///< the chains' temperature in the first block
  std::size_t steps = 0;    ///< steps of the cooling, counted in the run's steps
  std::size_t block = 50;   ///< steps between temperature changes
};

/// The temperature of block `k` (0-based) of `schedule` for a model at temperature `t`.
inline double anneal_temperature(const AnnealSchedule& schedule, double t, std::size_t k) {
  const std::size_t blocks = (schedule.steps + schedule.block - 1) / schedule.block;
  return t * std::pow(schedule.t_start / t, 1.0 - double(k + 1) / double(blocks));
}

/// Advances `chains` by `steps` steps of `sampler` on `model`, the first `schedule.steps` of
/// them annealed; `observer(step, states)` sees the run's step numbers 1 … steps. The chains'
/// own temperatures are replaced, and left empty (every chain at the model's T) afterwards.
template <class SamplerT, class M, class Observer = NoObserver>
void advance_annealed(SamplerT& sampler, M& model, Chains<typename M::scalar_type>& chains, std::size_t steps,
                      const AnnealSchedule& schedule, Observer&& observer = {}) {
  using S = typename M::scalar_type;
  const double t = double(model.temperature());
  if (!(t > 0)) throw std::invalid_argument("advance_annealed: the model's temperature must be > 0, got " + std::to_string(t));
  if (!(std::isfinite(schedule.t_start) && schedule.t_start > 0))
    throw std::invalid_argument("advance_annealed: the starting temperature must be finite and > 0, got " +
                                std::to_string(schedule.t_start));
  if (schedule.block == 0) throw std::invalid_argument("advance_annealed: the block must be > 0 steps");
  if (schedule.steps > steps)
    throw std::invalid_argument("advance_annealed: " + std::to_string(schedule.steps) + " annealing steps in a run of " +
                                std::to_string(steps));
  std::size_t done = 0;
  const auto shifted = [&](std::size_t step, const Matrix<S>& x) { observer(done + step, x); };
  for (std::size_t k = 0; done < schedule.steps; ++k) {
    const std::size_t n = std::min(schedule.block, schedule.steps - done);
    Vector<S> temperatures = Vector<S>::from_shape({chains.size()});
    temperatures.fill(S(anneal_temperature(schedule, t, k)));
    chains.set_temperatures(std::move(temperatures));
    sampler.advance(model, chains, n, shifted);
    done += n;
  }
  chains.set_temperatures({});
  sampler.advance(model, chains, steps - done, shifted);
}

}  // namespace nlm
