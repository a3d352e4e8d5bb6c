/// @file engine_state.hpp
/// @brief The part of the policy interfaces that lets checkpoints save and restore random
/// streams: a policy that draws random numbers exposes its generator state as 64-bit words.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "random.hpp"

namespace nlm::detail {

template <class P>
concept has_engine_state = requires(P& p, const P& cp, std::span<const std::uint64_t> words,
                                    std::uint64_t seed) {
  p.seed(seed);
  { cp.state() } -> std::convertible_to<std::vector<std::uint64_t>>;
  p.set_state(words);
};

inline std::vector<std::uint64_t> save_engine(const Xoshiro256& e) {
  const auto& s = e.state();
  return {s.begin(), s.end()};
}

inline void restore_engine(Xoshiro256& e, std::span<const std::uint64_t> words,
                           const char* owner) {
  if (words.size() != 4)
    throw std::invalid_argument(std::string(owner) + ": expected 4 state words, got " +
                                std::to_string(words.size()));
  e.set_state({words[0], words[1], words[2], words[3]});
}

}  // namespace nlm::detail
