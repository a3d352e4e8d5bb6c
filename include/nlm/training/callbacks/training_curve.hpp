/// @file training_curve.hpp
/// @brief The training curve as `train` keeps it in the state.
#pragma once

#include <vector>

#include "../training_state.hpp"

namespace nlm {

/// The training curve (the mean of mean((M − D)²) over each epoch) as `train` keeps it in the
/// state: after a resume it holds the epochs before the checkpoint too.
class TrainingCurve {
 public:
  using Point = CurvePoint;
  template <class M>
  void on_begin(const M&, const TrainingState& s) {
    points_ = s.curve;
  }
  template <class M>
  void on_epoch_end(const M&, const TrainingState& s) {
    points_.push_back(s.curve.back());
  }
  const std::vector<Point>& points() const noexcept { return points_; }

 private:
  std::vector<Point> points_;
};

}  // namespace nlm
