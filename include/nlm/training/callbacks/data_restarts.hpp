/// @file data_restarts.hpp
/// @brief Restarts of persistent chains from noisy copies of training images: before each
/// update, each persistent chain starts again, with probability `fraction`, from a random row
/// of the mini-batch just drawn (itself a uniform draw of the training set) plus Gaussian
/// noise of standard deviation `noise` on every unit. Restarts from N(0, I)
/// (`Hyperparameters::chain_restart`) show the model phase the states chains fall into from
/// noise; restarts from data bring in chains with the data's class mix, which then relax
/// under the model before they count (docs/quality.md, "Balance").
///
/// The choices and the noise come from a stream derived from (seed, update number), so a
/// resumed run repeats them, and they do not depend on the thread count.
///
///     nlm::DataRestarts<float> restarts({.fraction = 0.01, .noise = 0.5, .seed = hp.seed});
///     nlm::train(machine, data, training, state, restarts, nlm::ProgressBar(...));
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "../../detail/random.hpp"
#include "../../types.hpp"
#include "../training_state.hpp"

namespace nlm {

struct DataRestartOptions {
  double fraction = 0.0;  ///< each persistent chain's probability of a restart, per update
  double noise = 0.5;     ///< standard deviation of the Gaussian noise added to the image's state x
  std::uint64_t seed = 0;
};

template <Scalar S>
class DataRestarts {
 public:
  explicit DataRestarts(DataRestartOptions options) : options_(options) {
    if (!(std::isfinite(options.fraction) && options.fraction >= 0.0 && options.fraction <= 1.0))
      throw std::invalid_argument("DataRestarts: fraction must be in [0, 1], got " + std::to_string(options.fraction));
    if (!(std::isfinite(options.noise) && options.noise >= 0.0))
      throw std::invalid_argument("DataRestarts: noise must be finite and >= 0, got " + std::to_string(options.noise));
  }

  const DataRestartOptions& options() const noexcept { return options_; }
  /// Chains restarted so far by this object.
  std::uint64_t restarted() const noexcept { return restarted_; }

  /// Called by `train` with the mini-batch just gathered, before the update's model phase.
  template <class Machine>
  void on_batch(Machine& machine, const Matrix<S>& batch, std::span<const std::uint32_t>, const TrainingState& state) {
    if (options_.fraction == 0.0) return;
    restart(machine.model_chains(), batch, state.updates);
  }

  /// Restarts `chains` from the rows of `pool` with the stream of update `update`.
  template <class ChainsT>
  void restart(ChainsT& chains, const Matrix<S>& pool, std::uint64_t update) {
    const std::size_t n = chains.neurons(), rows = pool.shape(0);
    if (pool.shape(1) != n)
      throw std::invalid_argument("DataRestarts: the batch has " + std::to_string(pool.shape(1)) + " units, the chains " +
                                  std::to_string(n));
    if (rows == 0) throw std::invalid_argument("DataRestarts: an empty batch");
    if (chains.clamped())
      throw std::invalid_argument("DataRestarts: the persistent chains are clamped; a restart would overwrite the clamp");
    detail::Xoshiro256 engine(detail::derive_seed(detail::derive_seed(options_.seed, stream), update));
    S* x = chains.states().data();
    for (std::size_t c = 0; c < chains.size(); ++c) {
      if (!(double(engine() >> 11) * 0x1.0p-53 < options_.fraction)) continue;
      // A row by the multiply-shift map of 32 random bits: bias below rows / 2^32.
      const std::size_t r = std::size_t((std::uint64_t(engine() >> 32) * std::uint64_t(rows)) >> 32);
      S* dst = x + c * n;
      detail::fill_normal<S>(engine, std::span<S>(dst, n));
      const S* src = pool.data() + r * n;
      const S sigma = S(options_.noise);
      for (std::size_t j = 0; j < n; ++j) dst[j] = src[j] + sigma * dst[j];
      ++restarted_;
    }
  }

 private:
  static constexpr std::uint64_t stream = 0xda7a5e;  // the data restarts' own random stream
  DataRestartOptions options_;
  std::uint64_t restarted_ = 0;
};

}  // namespace nlm
