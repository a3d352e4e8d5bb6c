/// @file gaussian_noise.hpp
/// @brief Gaussian white noise from xoshiro256++ and a vectorised Box–Muller transform.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "../detail/engine_state.hpp"
#include "../detail/random.hpp"
#include "../types.hpp"

namespace nlm {

/// Fast, reproducible N(0, 1) noise. The same seed and the same sequence of buffer shapes give
/// the same numbers on the same build. Builds for different instruction sets (e.g. with and
/// without NLM_NATIVE) give different streams: Box–Muller pairs are laid out in blocks of the
/// SIMD width. Resume a checkpoint with a binary built the same way to reproduce a run bit
/// for bit.
class GaussianNoise {
 public:
  static constexpr bool deterministic = false;

  explicit GaussianNoise(std::uint64_t seed = 0) : engine_(seed) {}

  void seed(std::uint64_t s) { engine_.reseed(s); }
  std::vector<std::uint64_t> state() const { return detail::save_engine(engine_); }
  void set_state(std::span<const std::uint64_t> words) {
    detail::restore_engine(engine_, words, "GaussianNoise");
  }

  template <Scalar S>
  void fill(Matrix<S>& xi) {
    detail::fill_normal<S>(engine_, std::span<S>(xi.data(), xi.size()));
  }

 private:
  detail::Xoshiro256 engine_;
};

}  // namespace nlm
