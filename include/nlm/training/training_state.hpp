/// @file training_state.hpp
/// @brief Where a training run stands: counters, the current epoch's shuffle, the shuffle
/// stream and the running learning-signal statistics. Together with the machine it is all a
/// checkpoint needs to resume a run bit for bit.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../detail/random.hpp"

namespace nlm {

/// How long to train: whole epochs over the shuffled data, or a fixed number of updates
/// (whichever limit is reached first when both are set).
struct TrainingOptions {
  std::size_t epochs = 3000;      ///< n: passes over the training images
  std::uint64_t max_updates = 0;  ///< stop after this many updates in total (0: no limit)
  bool handle_signals = true;     ///< SIGINT/SIGTERM: let callbacks save, then throw `interrupted`
  /// Anneal the learning rate over the last fraction of the planned updates: k is scaled by
  /// 1 until then, then falls linearly towards 0 (U annealed updates use k·U/(U+1), ...,
  /// k/(U+1)). 0 (the default, and the paper) keeps k constant. Persistent-chain learning
  /// with a constant k keeps J moving between configurations whose samples favour one class
  /// or another; annealing lets J settle at the average (see docs/quality.md).
  double anneal_fraction = 0.0;

  /// k's scale factor for update number `t` (1-based) of a run of `planned` updates.
  double learning_rate_scale(std::uint64_t t, std::uint64_t planned) const noexcept {
    if (anneal_fraction <= 0.0 || planned == 0 || planned == ~std::uint64_t{0}) return 1.0;
    const auto annealed = std::uint64_t(std::ceil(anneal_fraction * double(planned)));
    const std::uint64_t start = planned - std::min(annealed, planned);  // last full-k update
    if (t <= start) return 1.0;
    return double(planned - std::min(t, planned) + 1) / double(planned - start + 1);
  }

  static TrainingOptions for_epochs(std::size_t n) {
    TrainingOptions o;
    o.epochs = n;
    return o;
  }
  static TrainingOptions for_updates(std::uint64_t n) {
    TrainingOptions o;
    o.epochs = ~std::size_t{0};
    o.max_updates = n;
    return o;
  }
};

struct TrainingState {
  std::size_t epoch = 0;              ///< current epoch, from 0
  std::size_t batch = 0;              ///< next mini-batch within the epoch
  std::size_t batches_per_epoch = 0;  ///< floor(N_image / b_size): a partial batch is dropped
  std::uint64_t updates = 0;          ///< updates done in this run, resumed runs included
  std::uint64_t planned_updates = 0;  ///< updates the run will make if nothing stops it
  double gradient_mean_square = 0;    ///< mean((M − D)²) of the last update
  double epoch_gradient_sum = 0;      ///< sum of the above over the current epoch's updates
  std::vector<std::uint32_t> order;   ///< the current epoch's permutation of the images
  detail::Xoshiro256 shuffle;         ///< draws each epoch's permutation
  bool started = false;               ///< false until the first epoch has been shuffled

  /// Mean of mean((M − D)²) over the updates of the current epoch so far (the upstream
  /// per-epoch "KL norm").
  double epoch_gradient_mean_square() const {
    return batch == 0 ? gradient_mean_square : epoch_gradient_sum / double(batch);
  }
};

}  // namespace nlm
