/// @file time_limit.hpp
/// @brief Stops training normally once a wall-time limit has passed.
#pragma once

#include <chrono>

#include "../training_state.hpp"

namespace nlm {

/// Stops training (normally, so end-of-training checkpoints are written) once `limit` of wall
/// time has passed.
class TimeLimit {
 public:
  explicit TimeLimit(std::chrono::duration<double> limit) : limit_(limit) {}
  template <class M>
  void on_begin(const M&, const TrainingState&) {
    start_ = std::chrono::steady_clock::now();
  }
  template <class M>
  bool on_update(const M&, const TrainingState&) const {
    return std::chrono::steady_clock::now() - start_ >= limit_;
  }

 private:
  std::chrono::duration<double> limit_;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace nlm
