/// @file noise.hpp
/// @brief The Noise concept: where the Langevin dynamics' white noise comes from.
///
/// A Noise policy owns its generator (seeded by the machine from the machine's seed, so one
/// seed fixes a whole run) and fills a caller-owned buffer with i.i.d. standard normal
/// variates; the sampler scales them by √(2TΔt). A deterministic policy (`NoNoise`) turns the
/// dynamics into plain gradient descent on E, used to find fixed points.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../detail/engine_state.hpp"
#include "../types.hpp"

namespace nlm {
namespace detail {

template <class N, class S>
concept noise_has_fill = requires(N& n, Matrix<S>& xi) { n.fill(xi); };

/// Optional: `n.template draw<S>(size)` reserves a draw whose blocks `d.fill(first, span)`
/// can be written by any thread (GaussianNoise). Samplers then generate the noise inside
/// their fused pass instead of filling a whole buffer first.
template <class N, class S>
concept noise_has_draw = requires(N& n, std::size_t size, std::span<S> out) {
  n.template draw<S>(size).fill(size, out);
};

template <class N>
concept noise_has_deterministic_flag = requires {
  { N::deterministic } -> std::convertible_to<bool>;
};

}  // namespace detail

/// `n.fill(xi)` writes i.i.d. N(0, 1) variates into every element of `xi`;
/// `N::deterministic` is a `static constexpr bool`, true when the policy adds no noise at all
/// (the sampler then skips the noise term); `seed`, `state` and `set_state` make the stream
/// reproducible and checkpointable.
template <class N, class S>
concept Noise = std::copy_constructible<N> && detail::noise_has_fill<N, S> &&
                detail::noise_has_deterministic_flag<N> && detail::has_engine_state<N>;

namespace detail {

template <class N, class S>
consteval bool diagnose_noise() {
  static_assert(std::copy_constructible<N>,
                "nlm: a Noise policy must be copy-constructible (the machine stores it by value).");
  static_assert(noise_has_fill<N, S>,
                "nlm: a Noise policy needs `void fill(nlm::Matrix<S>& xi)` writing i.i.d. standard "
                "normal variates into xi.");
  static_assert(noise_has_deterministic_flag<N>,
                "nlm: a Noise policy needs `static constexpr bool deterministic` (true if it adds no "
                "noise).");
  static_assert(has_engine_state<N>,
                "nlm: a Noise policy needs `void seed(std::uint64_t)`, `std::vector<std::uint64_t> "
                "state() const` and `void set_state(std::span<const std::uint64_t>)` so runs are "
                "reproducible and checkpointable.");
  return Noise<N, S>;
}

}  // namespace detail
}  // namespace nlm
