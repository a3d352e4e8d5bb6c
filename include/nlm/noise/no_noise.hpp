/// @file no_noise.hpp
/// @brief T = 0 dynamics: no noise, so the sampler performs deterministic descent on E and
/// relaxes states into fixed points of the recurrent network.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "../types.hpp"

namespace nlm {

struct NoNoise {
  std::string describe() const { return "NoNoise"; }
  static constexpr bool deterministic = true;

  void seed(std::uint64_t) noexcept {}
  std::vector<std::uint64_t> state() const { return {}; }
  void set_state(std::span<const std::uint64_t> words) {
    if (!words.empty())
      throw std::invalid_argument("NoNoise: has no state, got " + std::to_string(words.size()) +
                                  " words");
  }
  template <Scalar S>
  void fill(Matrix<S>& xi) const {
    xi.fill(S(0));
  }
};

}  // namespace nlm
