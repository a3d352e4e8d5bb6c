/// @file random.hpp
/// @brief Fast, reproducible random numbers for the hot loop: xoshiro256++ for bits and a
/// vectorised Box–Muller transform for Gaussians.
///
/// `std::normal_distribution` and `xt::random` cost about one 784×784×1000 GEMM per
/// 784×1000 draw, which would double the price of a Langevin step; this engine fills the
/// same buffer in a small fraction of that. Every stream is fully described by four 64-bit
/// words, so checkpoints can store it and a resumed run continues bit for bit.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <stdexcept>
#include <vector>

#include <xsimd/xsimd.hpp>

namespace nlm::detail {

/// SplitMix64: turns one user seed into well-mixed words (used to seed xoshiro and to derive
/// independent streams from one seed).
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Seed of stream `stream` derived from a user seed: distinct streams for the couplings'
/// initialisation, the Langevin noise, the sampler's acceptance draws and the data shuffle.
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) noexcept {
  std::uint64_t s = seed ^ (0x6a09e667f3bcc909ULL * (stream + 1));
  splitmix64(s);
  return splitmix64(s);
}

/// xoshiro256++ (Blackman & Vigna, 2019): 256 bits of state, period 2^256 − 1.
class Xoshiro256 {
 public:
  using result_type = std::uint64_t;
  using state_type = std::array<std::uint64_t, 4>;

  explicit Xoshiro256(std::uint64_t seed = 0) noexcept { reseed(seed); }

  void reseed(std::uint64_t seed) noexcept {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(sm);
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  result_type operator()() noexcept {
    const std::uint64_t result = std::rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

  const state_type& state() const noexcept { return s_; }
  void set_state(const state_type& s) {
    if (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0)
      throw std::invalid_argument("xoshiro256++ state must not be all zero");
    s_ = s;
  }

 private:
  state_type s_{};
};

/// Uniform in (0, 1]: never 0, so log(u) is finite.
template <class S>
inline S uniform_open0(std::uint64_t bits) noexcept {
  if constexpr (sizeof(S) == 4)
    return static_cast<S>((bits >> 40) + 1) * S(0x1.0p-24);
  else
    return static_cast<S>((bits >> 11) + 1) * S(0x1.0p-53);
}

/// Fills `out` with uniforms in (0, 1].
template <class S>
void fill_uniform(Xoshiro256& engine, std::span<S> out) noexcept {
  for (auto& v : out) v = uniform_open0<S>(engine());
}

/// Fills `out` with independent standard normal variates (Box–Muller on pairs, vectorised
/// with xsimd: the transcendental functions dominate and run one register at a time).
template <class S>
void fill_normal(Xoshiro256& engine, std::span<S> out) {
  using batch = xsimd::batch<S>;
  constexpr std::size_t W = batch::size;
  constexpr S two_pi = S(2) * std::numbers::pi_v<S>;
  alignas(64) S u1[W];
  alignas(64) S u2[W];
  const std::size_t n = out.size();
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    for (std::size_t l = 0; l < W; ++l) {
      u1[l] = uniform_open0<S>(engine());
      u2[l] = uniform_open0<S>(engine());
    }
    const batch r = xsimd::sqrt(S(-2) * xsimd::log(batch::load_aligned(u1)));
    const auto [s, c] = xsimd::sincos(two_pi * batch::load_aligned(u2));
    (r * c).store_unaligned(out.data() + i);
    (r * s).store_unaligned(out.data() + i + W);
  }
  for (; i < n; i += 2) {
    const S r = std::sqrt(S(-2) * std::log(uniform_open0<S>(engine())));
    const S a = two_pi * uniform_open0<S>(engine());
    out[i] = r * std::cos(a);
    if (i + 1 < n) out[i + 1] = r * std::sin(a);
  }
}

}  // namespace nlm::detail
