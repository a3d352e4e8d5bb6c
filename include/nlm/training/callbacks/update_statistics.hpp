/// @file update_statistics.hpp
/// @brief Records the magnitudes |ΔJ_ij| of every applied coupling step (and, optionally, of
/// the learning signal M − D before the step rule) into log-binned histograms over windows of
/// updates, with a uniform sample of the values per window for the tail fit
/// (analysis/power_law.hpp). No copy of J, no allocation per update.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../analysis/log_histogram.hpp"
#include "../../analysis/power_law.hpp"
#include "../../detail/random.hpp"
#include "../../io/atomic_file.hpp"
#include "../../io/npy.hpp"
#include "../training_state.hpp"

namespace nlm {

struct UpdateStatisticsOptions {
  /// 0: windows of decades of the update number, [1, 10), [10, 100), ...; otherwise windows of
  /// this many updates, [1, 1 + L), [1 + L, 1 + 2L), ...
  std::uint64_t window_length = 0;
  bool record_signal = false;          ///< also the learning signal M − D before the step rule
  int per_octave = 4;                  ///< histogram bins per factor two
  std::size_t samples_per_update = 2000;  ///< values kept per update for the tail fit (strided)
  std::size_t sample_capacity = 10000;    ///< reservoir per window
  std::uint64_t seed = 0;              ///< the sample's stride offsets and reservoir choices
};

/// One window of updates [first, end): its histogram of |values| (zeros counted apart), how
/// many updates and values it saw, and a uniform sample of its non-zero |values|.
struct UpdateWindow {
  std::uint64_t first = 0, end = 0;
  std::uint64_t updates = 0;
  std::uint64_t values_per_update = 0;
  LogHistogram histogram;
  std::vector<double> sample;
  std::uint64_t offered = 0;  // values offered to the reservoir
  std::string label() const { return std::to_string(first) + "-" + std::to_string(end); }
};

class UpdateStatistics {
 public:
  explicit UpdateStatistics(UpdateStatisticsOptions o = {}) : o_(o), rng_(o.seed) {
    if (o.samples_per_update == 0 || o.sample_capacity == 0)
      throw std::invalid_argument("UpdateStatistics: samples_per_update and sample_capacity must be > 0");
    if (o.per_octave < 1 || o.per_octave > 64)  // here, not at the first update's histogram
      throw std::invalid_argument("UpdateStatistics: per_octave must be in [1, 64], got " + std::to_string(o.per_octave));
  }

  template <class M, class Signal>
  void on_signal(const M&, const Signal& signal, const TrainingState& s) {
    if (o_.record_signal) record(signal_, signal.couplings, s.updates + 1);
  }
  template <class M, class Step>
  void on_step(const M&, const Step& step, const TrainingState& s) {
    record(steps_, step, s.updates + 1);
  }

  /// The windows of the applied steps, and of the learning signal (empty unless recorded).
  const std::vector<UpdateWindow>& step_windows() const noexcept { return steps_; }
  const std::vector<UpdateWindow>& signal_windows() const noexcept { return signal_; }

  /// The window update `t` (from 1) falls in.
  std::pair<std::uint64_t, std::uint64_t> window_of(std::uint64_t t) const noexcept {
    if (o_.window_length > 0) {
      const std::uint64_t first = 1 + (t - 1) / o_.window_length * o_.window_length;
      return {first, first + o_.window_length};
    }
    std::uint64_t first = 1;
    while (first * 10 <= t) first *= 10;
    return {first, first * 10};
  }

 private:
  template <class Matrix>
  void record(std::vector<UpdateWindow>& windows, const Matrix& values, std::uint64_t t) {
    using S = typename Matrix::value_type;
    if (windows.empty() || t < windows.back().first || t >= windows.back().end) {
      const auto [first, end] = window_of(t);
      windows.push_back(UpdateWindow{first, end, 0, values.size(), LogHistogram(-64, 16, o_.per_octave), {}, 0});
      windows.back().sample.reserve(o_.sample_capacity);
    }
    UpdateWindow& w = windows.back();
    ++w.updates;
    const std::span<const S> all(values.data(), values.size());
    w.histogram.add(all);
    // A strided sample from a random offset, fed to the window's reservoir (Algorithm R), so
    // that the window's sample is uniform over its updates and couplings.
    const std::size_t stride = std::max<std::size_t>(1, all.size() / o_.samples_per_update);
    for (std::size_t i = std::size_t(rng_() % stride); i < all.size(); i += stride) {
      const double v = std::fabs(double(all[i]));
      if (!(v > 0) || !std::isfinite(v)) continue;
      ++w.offered;
      if (w.sample.size() < o_.sample_capacity) {
        w.sample.push_back(v);
      } else {
        const std::uint64_t j = rng_() % w.offered;
        if (j < o_.sample_capacity) w.sample[std::size_t(j)] = v;
      }
    }
  }

  UpdateStatisticsOptions o_;
  detail::Xoshiro256 rng_;
  std::vector<UpdateWindow> steps_, signal_;
};

/// Writes `<prefix><a>-<b>_nums.npy` (counts per bin, float64) and `<prefix><a>-<b>_xbins.npy`
/// (the bin edges, float64; one more than the counts), the layout of the heavy-tailed-updates
/// study, for every window, and `<prefix>windows.csv` with what lies outside the bins (zeros,
/// below, above, non-finite) so that each window's counts add up to updates × couplings.
inline void save_update_windows(const std::filesystem::path& dir, const std::vector<UpdateWindow>& windows,
                                const std::string& prefix) {
  std::filesystem::create_directories(dir);
  std::string csv = "window,first,end,updates,values_per_update,binned,zeros,below,above,non_finite,total\n";
  for (const auto& w : windows) {
    const auto& h = w.histogram;
    xt::xtensor<double, 1> nums = xt::xtensor<double, 1>::from_shape({h.counts().size()});
    xt::xtensor<double, 1> edges = xt::xtensor<double, 1>::from_shape({h.edges().size()});
    std::uint64_t binned = 0;
    for (std::size_t i = 0; i < h.counts().size(); ++i) {
      nums(i) = double(h.counts()[i]);
      binned += h.counts()[i];
    }
    for (std::size_t i = 0; i < h.edges().size(); ++i) edges(i) = h.edges()[i];
    io::save_npy(dir / (prefix + w.label() + "_nums.npy"), nums);
    io::save_npy(dir / (prefix + w.label() + "_xbins.npy"), edges);
    csv += prefix + w.label() + "," + std::to_string(w.first) + "," + std::to_string(w.end) + "," +
           std::to_string(w.updates) + "," + std::to_string(w.values_per_update) + "," + std::to_string(binned) +
           "," + std::to_string(h.zeros()) + "," + std::to_string(h.below()) + "," + std::to_string(h.above()) +
           "," + std::to_string(h.non_finite()) + "," + std::to_string(h.total()) + "\n";
  }
  io::write_atomically(dir / (prefix + "windows.csv"), [&](std::ostream& out) { out << csv; });
}

}  // namespace nlm
