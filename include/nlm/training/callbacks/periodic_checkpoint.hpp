/// @file periodic_checkpoint.hpp
/// @brief Checkpoints every so many updates, at the end of training and on SIGINT/SIGTERM.
#pragma once

#include <cstdint>
#include <filesystem>

#include "../checkpoint.hpp"
#include "../training_state.hpp"

namespace nlm {

/// Saves a checkpoint every `every_updates` updates (0: never periodically), at the end of
/// training, and when training is interrupted by SIGINT/SIGTERM. Writes are atomic.
class PeriodicCheckpoint {
 public:
  explicit PeriodicCheckpoint(std::filesystem::path path, std::uint64_t every_updates = 0)
      : path_(std::move(path)), every_(every_updates) {}

  template <class M>
  void on_update(const M& m, const TrainingState& s) {
    if (every_ != 0 && s.updates % every_ == 0) save(m, s);
  }
  template <class M>
  void on_end(const M& m, const TrainingState& s) {
    save(m, s);
  }
  template <class M>
  void on_interrupt(const M& m, const TrainingState& s) {
    save(m, s);
  }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::uint64_t saves() const noexcept { return saves_; }

 private:
  template <class M>
  void save(const M& m, const TrainingState& s) {
    save_checkpoint(path_, m, s);
    ++saves_;
  }
  std::filesystem::path path_;
  std::uint64_t every_;
  std::uint64_t saves_ = 0;
};

}  // namespace nlm
