/// @file stop_on_non_finite.hpp
/// @brief Stops with numerical_error as soon as the couplings or the persistent chains hold a NaN or
/// an infinity.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "../../errors.hpp"
#include "../training_state.hpp"

namespace nlm {

/// Stops with `numerical_error` naming what went wrong as soon as the couplings or the
/// persistent chains hold a NaN or an infinity (checked every `every_updates` updates).
class StopOnNonFinite {
 public:
  explicit StopOnNonFinite(std::uint64_t every_updates = 1)
      : every_(every_updates == 0 ? 1 : every_updates) {}

  template <class M>
  void on_update(const M& m, const TrainingState& s) {
    if (s.updates % every_ != 0) return;
    check(m.couplings(), "couplings J", s);
    check(m.persistent_chains(), "persistent chains", s);
  }

 private:
  template <class Mat>
  static void check(const Mat& a, const char* what, const TrainingState& s) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!std::isfinite(a.data()[i]))
        throw numerical_error(std::string("nlm: the ") + what + " became non-finite at update " +
                              std::to_string(s.updates) + " (epoch " + std::to_string(s.epoch + 1) +
                              ", element " + std::to_string(i / a.shape(1)) + "," +
                              std::to_string(i % a.shape(1)) +
                              "). Lower time_step (dt) or learning_rate (k).");
  }
  std::uint64_t every_;
};

}  // namespace nlm
