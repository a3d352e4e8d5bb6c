// Shared helpers for the test suite: per-type tolerances, the χ² quantile of the statistical
// tests and temporary directories.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <nlm/nlm.hpp>

namespace nlm::test {

/// Central-difference step: balances truncation O(h²) against rounding O(ε/h).
template <class S>
constexpr double fd_step() {
  return sizeof(S) == 4 ? 1e-2 : 1e-5;
}
/// Relative tolerance for a central difference of an O(1) energy at fd_step: float carries
/// ~1e-7 relative rounding in E, amplified by 1/h = 100; double is far below 1e-6.
template <class S>
constexpr double fd_tolerance() {
  return sizeof(S) == 4 ? 5e-3 : 1e-6;
}

/// Upper quantile of χ²_k at tail probability given by the standard normal quantile z
/// (Wilson–Hilferty; relative error < 1% for k ≥ 10 at z ≈ 4.3).
inline double chi2_quantile(double k, double z) {
  const double a = 2.0 / (9.0 * k);
  const double c = 1.0 - a + z * std::sqrt(a);
  return k * c * c * c;
}
inline constexpr double z_1e5 = 4.2649;  // Φ⁻¹(1 − 10⁻⁵)

/// A training callback that saves a checkpoint at one update only, from inside on_update as
/// PeriodicCheckpoint does.
struct SaveAt {
  std::filesystem::path path;
  std::uint64_t at;
  template <class M>
  void on_update(const M& m, const TrainingState& s) const {
    if (s.updates == at) save_checkpoint(path, m, s);
  }
};

/// Options for `updates` updates without the SIGINT handler (the tests train many machines).
inline TrainingOptions quiet(std::uint64_t updates) {
  TrainingOptions o = TrainingOptions::for_updates(updates);
  o.handle_signals = false;
  return o;
}

/// The training tests' machine: the paper's policies at either precision.
template <class S>
using TrainingMachine = LangevinMachine<Tanh, GaussianNoise, WeightDecay, EulerMaruyama, S>;

/// A machine small enough to train in milliseconds: 12 neurons, 8 chains, batches of 5.
inline Hyperparameters small_hyperparameters(std::uint64_t seed = 7) {
  Hyperparameters hp;
  hp.neurons = 12;
  hp.persistent_chains = 8;
  hp.batch_size = 5;
  hp.langevin_steps = 3;
  hp.time_step = 0.05;
  hp.learning_rate = 0.01;
  hp.seed = seed;
  return hp;
}

/// 23 images for it (4 full batches of 5 per epoch, the last 3 images dropped each epoch):
/// tanh of normal states drawn by a machine with seed `seed`.
template <class S>
Matrix<S> toy_data(std::uint64_t seed = 99) {
  TrainingMachine<S> source(small_hyperparameters(seed));
  Matrix<S> d = xt::tanh(source.random_states(23));
  return d;
}

/// The message of the exception `action` throws, or "<no exception>".
template <class Action>
std::string message_of(Action&& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no exception>";
}

/// A fresh directory removed when the object dies.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("nlm-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace nlm::test
