/// @file latent_data_phase.hpp
/// @brief The data phase of a machine with latent units: for each mini-batch, chains with the
/// data's units clamped sample the latent ones from p(z | v) (the positive phase of a Boltzmann
/// machine with hidden units), and the batch's latent columns are set to where those chains are. The learning rule is
/// unchanged: its data statistics are then averages over v ~ data and z ~ p(z | v).
///
/// Two ways to start the chains, both measured in docs/quality.md (restart, the default, gave
/// the better samples at equal training time, and a resumed run repeats it exactly):
/// - `persistent`: each training image keeps its latent state from the last time it was in a
///   batch (a Boltzmann machine's persistent positive phase); the states start from N(0, 1).
/// - `restart`: the latent units start from N(0, 1) in every batch, drawn from a stream
///   derived from (seed, update number), so a resumed run repeats them.
///
///     nlm::LatentDataPhase<float> latent(data.shape(0), layout.first_latent(), options);
///     nlm::train(machine, data, training, state, latent, nlm::ProgressBar(...));
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "../../chains.hpp"
#include "../../detail/random.hpp"
#include "../../types.hpp"
#include "../training_state.hpp"

namespace nlm {

struct LatentPhaseOptions {
  enum class Start { persistent, restart };
  std::size_t first_latent = 0;  ///< the latent units are the columns from here on
  std::size_t steps = 10;        ///< Langevin steps of the data-phase chains per mini-batch
  Start start = Start::restart;  ///< measured better at equal training time (docs/quality.md)
  std::uint64_t seed = 0;
};

template <Scalar S>
class LatentDataPhase {
 public:
  /// For a training set of `images` rows of `neurons` units each.
  LatentDataPhase(std::size_t images, std::size_t neurons, LatentPhaseOptions options)
      : options_(options), neurons_(neurons) {
    if (options.first_latent == 0 || options.first_latent >= neurons)
      throw std::invalid_argument("LatentDataPhase: the latent units must start after the data's units and before " +
                                  std::to_string(neurons) + ", got column " + std::to_string(options.first_latent));
    if (options.start == LatentPhaseOptions::Start::persistent) {
      const std::size_t h = neurons - options.first_latent;
      store_ = Matrix<S>::from_shape({images, h});
      detail::Xoshiro256 engine(detail::derive_seed(options.seed, stream));
      detail::fill_normal<S>(engine, std::span<S>(store_.data(), store_.size()));
    }
  }

  std::size_t latent() const noexcept { return neurons_ - options_.first_latent; }
  const LatentPhaseOptions& options() const noexcept { return options_; }
  /// Persistent mode: the latent state of each training image (rows), else empty.
  const Matrix<S>& latent_states() const noexcept { return store_; }

  template <class Machine>
  void on_batch(Machine& machine, Matrix<S>& batch, std::span<const std::uint32_t> rows, const TrainingState& state) {
    const std::size_t b = batch.shape(0), n = neurons_, f = options_.first_latent, h = latent();
    if (batch.shape(1) != n)
      throw std::invalid_argument("LatentDataPhase: a batch of " + std::to_string(batch.shape(1)) + " units, expected " +
                                  std::to_string(n));
    if (chains_.size() != b) {  // first batch: the clamp mask and the chains' buffers, once
      chains_ = Chains<S>(Matrix<S>::from_shape({b, n}));
      mask_ = xt::zeros<std::uint8_t>({b, n});
      for (std::size_t r = 0; r < b; ++r) std::fill_n(mask_.data() + r * n, f, std::uint8_t(1));
    }
    Matrix<S>& x = chains_.states();
    std::copy_n(batch.data(), batch.size(), x.data());
    if (options_.start == LatentPhaseOptions::Start::persistent) {
      for (std::size_t r = 0; r < b; ++r) {
        if (rows[r] >= store_.shape(0))
          throw std::invalid_argument("LatentDataPhase: data row " + std::to_string(rows[r]) + " of a training set of " +
                                      std::to_string(store_.shape(0)));
        std::copy_n(store_.data() + std::size_t(rows[r]) * h, h, x.data() + r * n + f);
      }
    } else {
      detail::Xoshiro256 engine(detail::derive_seed(detail::derive_seed(options_.seed, stream), state.updates));
      for (std::size_t r = 0; r < b; ++r) detail::fill_normal<S>(engine, std::span<S>(x.data() + r * n + f, h));
    }
    chains_.clamp(mask_, x);
    if (options_.steps > 0) machine.sample(chains_, options_.steps);
    for (std::size_t r = 0; r < b; ++r) {
      std::copy_n(x.data() + r * n + f, h, batch.data() + r * n + f);
      if (options_.start == LatentPhaseOptions::Start::persistent)
        std::copy_n(x.data() + r * n + f, h, store_.data() + std::size_t(rows[r]) * h);
    }
  }

 private:
  static constexpr std::uint64_t stream = 0x1a7e47;  // the latent starts' own random stream
  LatentPhaseOptions options_;
  std::size_t neurons_;
  Matrix<S> store_;
  Chains<S> chains_;
  xt::xtensor<std::uint8_t, 2> mask_;
};

}  // namespace nlm
