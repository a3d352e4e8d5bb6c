/// @file schedule.hpp
/// @brief Learning-rate schedules: the factor k is scaled by at update t of a planned run.
/// `train` asks its `TrainingOptions` for one and hands the factor to the machine.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace nlm {

/// k unchanged (the paper).
struct ConstantRate {
  double scale(std::uint64_t, std::uint64_t) const noexcept { return 1.0; }
};

/// k constant until the last `fraction` of the planned updates, then falling linearly towards
/// 0: U annealed updates use k·U/(U+1), ..., k/(U+1). A run of unknown length is not annealed.
struct LinearAnneal {
  double fraction = 0.0;
  /// The factor for update `t` (from 1) of a run of `planned` updates.
  double scale(std::uint64_t t, std::uint64_t planned) const noexcept {
    if (fraction <= 0.0 || planned == 0 || planned == ~std::uint64_t{0}) return 1.0;
    const auto annealed = std::uint64_t(std::ceil(fraction * double(planned)));
    const std::uint64_t start = planned - std::min(annealed, planned);  // last full-k update
    if (t <= start) return 1.0;
    return double(planned - std::min(t, planned) + 1) / double(planned - start + 1);
  }
};

}  // namespace nlm
