/// @file chains.hpp
/// @brief A set of Langevin chains: the states a sampler advances, with everything that
/// belongs to them rather than to the model — their force workspace, an optional clamp, a
/// temperature per chain and a log-weight per chain.
///
/// The machine's persistent chains are one `Chains`; a generation batch is another. Samplers
/// advance a `Chains` (sampler/sampler.hpp): clamped coordinates get no drift and no noise
/// and keep their values to the bit; a chain with its own temperature gets its own noise
/// scale √(2 T_c Δt) (and MALA its own acceptance test).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "detail/blas.hpp"
#include "detail/random.hpp"
#include "force_workspace.hpp"
#include "types.hpp"

namespace nlm {

template <Scalar S>
class Chains {
 public:
  Chains() = default;
  /// Chains at the given states, one per row.
  explicit Chains(Matrix<S> states) : states_(std::move(states)) {}

  /// The number of chains (rows).
  std::size_t size() const noexcept { return states_.shape(0); }
  /// The number of coordinates of each chain (columns).
  std::size_t neurons() const noexcept { return states_.shape(1); }

  Matrix<S>& states() noexcept { return states_; }
  const Matrix<S>& states() const noexcept { return states_; }
  /// Replaces the states; a clamp or temperatures of another number of chains are dropped,
  /// clamped coordinates are set to their values again. States of the same shape are copied
  /// into the existing buffer (its memory stays put).
  void set_states(Matrix<S> x) {
    if (x.shape() == states_.shape())
      std::copy_n(x.data(), x.size(), states_.data());
    else
      states_ = std::move(x);
    fit_extras();
  }
  /// Exchanges the states with `x` without copying (used to advance a caller's matrix).
  void swap_states(Matrix<S>& x) noexcept { std::swap(states_, x); }

  /// The sampler's force workspace for these chains, kept between calls so that the steady
  /// state never allocates.
  ForceWorkspace<S>& workspace() noexcept { return workspace_; }

  // ---- clamp ---------------------------------------------------------------------------
  /// Holds the coordinates where `mask` is non-zero at `values`. `mask` and `values` each have
  /// one row per chain or a single row shared by all chains (one mask over different images:
  /// a shared mask row with a row of values per chain); the states are set to the values at
  /// once. Samplers leave clamped coordinates exactly where they are.
  void clamp(const xt::xtensor<std::uint8_t, 2>& mask, const Matrix<S>& values) {
    check_rows(mask.shape(0), mask.shape(1), "clamp mask");
    check_rows(values.shape(0), values.shape(1), "clamp values");
    mask_ = mask;
    values_ = values;
    apply_clamp();
  }
  void unclamp() noexcept {
    mask_ = {};
    values_ = {};
  }
  bool clamped() const noexcept { return mask_.size() != 0; }
  /// The clamp mask of chain `c` (nullptr when nothing is clamped).
  const std::uint8_t* clamp_row(std::size_t c) const noexcept {
    if (!clamped()) return nullptr;
    return mask_.data() + (mask_.shape(0) == 1 ? 0 : c) * mask_.shape(1);
  }

  // ---- temperatures --------------------------------------------------------------------
  /// One temperature per chain (for replica ladders); empty: every chain at the model's T.
  void set_temperatures(Vector<S> t) {
    if (t.size() != 0 && t.size() != size())
      throw std::invalid_argument("Chains::set_temperatures: " + std::to_string(t.size()) +
                                  " temperatures for " + std::to_string(size()) + " chains");
    for (std::size_t i = 0; i < t.size(); ++i)
      if (!(std::isfinite(t(i)) && t(i) > S(0)))
        throw std::invalid_argument("Chains::set_temperatures: temperature " + std::to_string(i) +
                                    " must be finite and > 0, got " + std::to_string(t(i)));
    temperatures_ = std::move(t);
  }
  bool has_temperatures() const noexcept { return temperatures_.size() != 0; }
  const Vector<S>& temperatures() const noexcept { return temperatures_; }
  /// Chain c's temperature, `model_t` unless the chains have their own.
  S temperature(std::size_t c, S model_t) const noexcept {
    return has_temperatures() ? temperatures_(c) : model_t;
  }

  /// Room for one log-weight per chain (importance weights of annealed importance sampling);
  /// samplers do not touch it.
  std::vector<double>& log_weights() noexcept { return log_weights_; }
  const std::vector<double>& log_weights() const noexcept { return log_weights_; }

  /// Restarts each chain from N(0, I) with probability `probability`, drawing the choice and
  /// the new state from `engine` (one uniform per chain, then N normals for a restarted one).
  void restart(detail::Xoshiro256& engine, double probability) {
    const std::size_t n = neurons();
    for (std::size_t c = 0; c < size(); ++c)
      if (double(engine() >> 11) * 0x1.0p-53 < probability)
        detail::fill_normal<S>(engine, std::span<S>(states_.data() + c * n, n));
    apply_clamp();
  }

 private:
  void check_rows(std::size_t rows, std::size_t cols, const char* what) const {
    if (cols != neurons())
      throw std::invalid_argument(std::string("Chains::clamp: the ") + what + " has " + std::to_string(cols) +
                                  " columns, the chains have " + std::to_string(neurons()));
    if (rows != 1 && rows != size())
      throw std::invalid_argument(std::string("Chains::clamp: the ") + what + " has " + std::to_string(rows) +
                                  " rows, expected 1 or " + std::to_string(size()) + " (one per chain)");
  }
  void apply_clamp() noexcept {
    if (!clamped()) return;
    const std::size_t n = neurons();
    for (std::size_t c = 0; c < size(); ++c) {
      const std::uint8_t* m = clamp_row(c);
      const S* v = values_.data() + (values_.shape(0) == 1 ? 0 : c) * n;
      S* x = states_.data() + c * n;
      for (std::size_t j = 0; j < n; ++j)
        if (m[j]) x[j] = v[j];
    }
  }
  void fit_extras() {
    if (clamped() && ((mask_.shape(0) != 1 && mask_.shape(0) != size()) || mask_.shape(1) != neurons()))
      unclamp();
    if (has_temperatures() && temperatures_.size() != size()) temperatures_ = {};
    apply_clamp();
  }

  Matrix<S> states_;
  ForceWorkspace<S> workspace_;
  xt::xtensor<std::uint8_t, 2> mask_;
  Matrix<S> values_;
  Vector<S> temperatures_;
  std::vector<double> log_weights_;
};

}  // namespace nlm
