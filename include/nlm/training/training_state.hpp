/// @file training_state.hpp
/// @brief Where a training run stands: counters, the current epoch's shuffle, the shuffle
/// stream and the running learning-signal statistics. Together with the machine it is all a
/// checkpoint needs to resume a run bit for bit; it writes and reads its own checkpoint
/// section ("training") with the io codec.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../detail/engine_state.hpp"
#include "../detail/random.hpp"
#include "../io/sections.hpp"
#include "../learning/schedule.hpp"

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
  /// A slice of larger mini-batches: draw batches of `drawn` rows from each epoch's shuffle
  /// (the batches a machine of that b_size would see) and train on rows [first, first + b_size)
  /// of each (b_size: this machine's). Machines that share a seed and take disjoint slices
  /// together see whole batches: what nlm/distributed gives each process. `drawn` = 0: the
  /// machine's own b_size, all of it.
  struct BatchSlice {
    std::size_t drawn = 0;
    std::size_t first = 0;
  };
  BatchSlice batch_slice;

  /// The schedule this makes of `anneal_fraction`.
  LinearAnneal schedule() const noexcept { return LinearAnneal{anneal_fraction}; }
  /// k's scale factor for update number `t` (1-based) of a run of `planned` updates.
  double learning_rate_scale(std::uint64_t t, std::uint64_t planned) const noexcept {
    return schedule().scale(t, planned);
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

/// One point of the training curve: the mean of mean((M − D)²) over a completed epoch.
struct CurvePoint {
  std::size_t epoch;             ///< the epoch's number, from 1
  std::uint64_t updates;         ///< updates done when it ended
  double signal_mean_square;   ///< its mean of mean((M − D)²)
};

/// Invariant between updates (whenever a callback sees it, and so in every checkpoint):
/// `batch < batches_per_epoch`. An epoch's last update records its curve point and moves to
/// the next epoch (batch 0) before any callback runs, so a checkpoint written then resumes at
/// the next epoch's shuffle.
struct TrainingState {
  std::size_t epoch = 0;              ///< completed epochs (the current one, from 0)
  std::size_t batch = 0;              ///< next mini-batch within the epoch
  std::size_t batches_per_epoch = 0;  ///< floor(N_image / b_size): a partial batch is dropped
  std::uint64_t updates = 0;          ///< updates done in this run, resumed runs included
  std::uint64_t planned_updates = 0;  ///< updates the run will make if nothing stops it
  double signal_mean_square = 0;    ///< mean((M − D)²) of the last update
  double epoch_signal_sum = 0;      ///< sum of the above over the current epoch's updates
  std::vector<std::uint32_t> order;   ///< the current epoch's permutation of the images
  detail::Xoshiro256 shuffle;         ///< draws each epoch's permutation
  bool started = false;               ///< false until the first epoch has been shuffled
  /// The training curve: one point per completed epoch, from the run's first update (a
  /// resumed run keeps the points of the part before the checkpoint).
  std::vector<CurvePoint> curve;
  /// Identity of the training data, fixed at the first update and checked on every later
  /// `train` call with this state: the image count and an FNV-1a checksum of their bytes
  /// (0: not recorded, as in checkpoints before format 4).
  std::uint64_t data_images = 0;
  std::uint64_t data_checksum = 0;

  /// Mean of mean((M − D)²) over the updates of the current epoch so far (the upstream
  /// per-epoch value); between epochs, the last completed epoch's.
  double epoch_signal_mean_square() const {
    if (batch != 0) return epoch_signal_sum / double(batch);
    return curve.empty() ? signal_mean_square : curve.back().signal_mean_square;
  }

  // ---- checkpoint section (io::StatefulPart) ----------------------------------------------
  std::string section_name() const { return "training"; }
  /// The counters, the data's identity, the running statistics, the shuffle stream, the
  /// epoch's permutation and the curve.
  void save_section(io::SectionWriter& out) const {
    for (const std::uint64_t v : {std::uint64_t(epoch), std::uint64_t(batch), std::uint64_t(batches_per_epoch),
                                  updates, planned_updates, data_images, data_checksum})
      out.put(v);
    out.put<std::uint8_t>(started ? 1 : 0);
    out.put(signal_mean_square);
    out.put(epoch_signal_sum);
    out.put_words(detail::save_engine(shuffle));
    out.put_values(order);
    out.put<std::uint64_t>(curve.size());
    for (const auto& p : curve) {
      out.put<std::uint64_t>(p.epoch);
      out.put<std::uint64_t>(p.updates);
      out.put<double>(p.signal_mean_square);
    }
  }
  /// Reads `save_section`'s bytes; refuses a shuffle that is not a set of image indices or a
  /// batch past its epoch, and then changes nothing.
  void load_section(io::SectionReader& in) {
    TrainingState s;
    s.epoch = in.get<std::uint64_t>("epoch");
    s.batch = in.get<std::uint64_t>("batch");
    s.batches_per_epoch = in.get<std::uint64_t>("batches_per_epoch");
    s.updates = in.get<std::uint64_t>("updates");
    s.planned_updates = in.get<std::uint64_t>("planned_updates");
    s.data_images = in.get<std::uint64_t>("data_images");
    s.data_checksum = in.get<std::uint64_t>("data_checksum");
    s.started = in.get<std::uint8_t>("started") != 0;
    s.signal_mean_square = in.get<double>("signal_mean_square");
    s.epoch_signal_sum = in.get<double>("epoch_signal_sum");
    detail::restore_engine(s.shuffle, in.words("shuffle stream"), "shuffle stream");
    s.order = in.values<std::uint32_t>("the shuffle");
    const auto n_curve = in.get<std::uint64_t>("curve length");
    in.require_room(n_curve, 24, "the training curve");
    s.curve.resize(n_curve);
    for (auto& p : s.curve) {
      p.epoch = in.get<std::uint64_t>("curve epoch");
      p.updates = in.get<std::uint64_t>("curve updates");
      p.signal_mean_square = in.get<double>("curve value");
    }
    for (const auto i : s.order)
      if (i >= s.order.size())
        in.fail("the shuffle holds image " + std::to_string(i) + " of " + std::to_string(s.order.size()));
    if (s.started && s.batches_per_epoch != 0 && s.batch >= s.batches_per_epoch)
      in.fail("batch " + std::to_string(s.batch) + " of an epoch of " + std::to_string(s.batches_per_epoch));
    *this = std::move(s);
  }
};

}  // namespace nlm
