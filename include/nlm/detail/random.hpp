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
#include <type_traits>
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

/// The SplitMix64 output function (Stafford's variant 13): a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Counter-based standard normals: element j of a draw is a pure function of (key, base, j),
/// so any block of a draw can be generated on its own, by any thread, in any order, and the
/// numbers do not depend on how the work is split. Word n of stream `key` is
/// mix64(key + (n + 1)·γ) — SplitMix64's sequence, random-access. Elements come in
/// Box–Muller pairs (2p, 2p + 1); pair p uses word base + p for float (two 24-bit uniforms)
/// and words base + 2p, base + 2p + 1 for double (two 53-bit uniforms).
template <class S>
struct CounterNormal {
  static constexpr std::uint64_t words_per_pair = sizeof(S) == 4 ? 1 : 2;
  /// Words a draw of `n` elements consumes: the next draw starts that far on.
  static constexpr std::uint64_t words_for(std::size_t n) noexcept {
    return words_per_pair * ((std::uint64_t(n) + 1) / 2);
  }

  /// Writes elements [first, first + out.size()) of the draw starting at word `base`.
  static void fill(std::uint64_t key, std::uint64_t base, std::size_t first, std::span<S> out) {
    constexpr std::size_t W = xsimd::batch<S>::size;
    alignas(64) S tmp[2 * W];
    std::uint64_t pair = base / words_per_pair + first / 2;
    if ((first & 1) && !out.empty()) {  // starts on the second element of a pair
      pairs(key, pair, W, tmp);
      out[0] = tmp[1];
      out = out.subspan(1);
      ++pair;
    }
    const std::size_t n = out.size();
    std::size_t i = 0;
    for (; i + 2 * chunk <= n; i += 2 * chunk, pair += chunk) pairs(key, pair, chunk, out.data() + i);
    for (; i + 2 * W <= n; i += 2 * W, pair += W) pairs(key, pair, W, out.data() + i);
    if (i < n) {
      pairs(key, pair, W, tmp);
      for (std::size_t l = 0; i + l < n; ++l) out[i + l] = tmp[l];
    }
  }

 private:
  static constexpr std::uint64_t gamma = 0x9e3779b97f4a7c15ULL;
  static constexpr std::size_t chunk = 128;  // pairs whose words are mixed in one loop

  // 2·count elements (count a multiple of the SIMD width, at most `chunk`) from the pairs
  // starting at index `pair`.
  static void pairs(std::uint64_t key, std::uint64_t pair, std::size_t count, S* dst) noexcept {
    using batch = xsimd::batch<S>;
    using ibatch = xsimd::batch<std::conditional_t<sizeof(S) == 4, std::int32_t, std::int64_t>>;
    using I = typename ibatch::value_type;
    constexpr std::size_t W = batch::size;
    constexpr int bits = sizeof(S) == 4 ? 24 : 53;
    constexpr S ulp = S(1) / S(std::uint64_t(1) << bits);
    alignas(64) I k1[chunk];
    alignas(64) I k2[chunk];
    // Integer uniforms first (a long loop the compiler vectorises), then whole registers.
    if constexpr (sizeof(S) == 4) {
      for (std::size_t l = 0; l < count; ++l) {
        const std::uint64_t w = mix64(key + (pair + l + 1) * gamma);
        k1[l] = I(w >> 40);
        k2[l] = I((w >> 8) & 0xffffffULL);
      }
    } else {
      for (std::size_t l = 0; l < count; ++l) {
        const std::uint64_t w = 2 * (pair + l);
        k1[l] = I(mix64(key + (w + 1) * gamma) >> 11);
        k2[l] = I(mix64(key + (w + 2) * gamma) >> 11);
      }
    }
    for (std::size_t l = 0; l < count; l += W, dst += 2 * W) {
      const batch u1 = (xsimd::batch_cast<S>(ibatch::load_aligned(k1 + l)) + S(1)) * ulp;  // (0, 1]
      const batch u2 = xsimd::batch_cast<S>(ibatch::load_aligned(k2 + l)) * ulp;           // [0, 1)
      const batch r = xsimd::sqrt(S(-2) * xsimd::log(u1));
      batch sin, cos;
      sincos_two_pi(u2, sin, cos);
      const batch c = r * cos, s = r * sin;
      xsimd::zip_lo(c, s).store_unaligned(dst);
      xsimd::zip_hi(c, s).store_unaligned(dst + W);
    }
  }

  // sin and cos of 2πu for u in [0, 1): reduce to the nearest quarter turn q/4, evaluate the
  // Taylor polynomials on |2π(u − q/4)| ≤ π/4 (truncation error below half an ulp of S), and
  // rotate by q quarter turns. A fraction of the cost of a general sincos.
  static void sincos_two_pi(const xsimd::batch<S>& u, xsimd::batch<S>& sin, xsimd::batch<S>& cos) noexcept {
    using batch = xsimd::batch<S>;
    const batch q = xsimd::round(u * S(4));
    const batch t = (u - q * S(0.25)) * (S(2) * std::numbers::pi_v<S>);
    const batch t2 = t * t;
    batch ps, pc;  // sin t / t and cos t as polynomials in t²
    if constexpr (sizeof(S) == 4) {
      ps = S(1) + t2 * (S(-1.0 / 6) + t2 * (S(1.0 / 120) + t2 * (S(-1.0 / 5040) + t2 * S(1.0 / 362880))));
      pc = S(1) + t2 * (S(-0.5) + t2 * (S(1.0 / 24) + t2 * (S(-1.0 / 720) + t2 * (S(1.0 / 40320) + t2 * S(-1.0 / 3628800)))));
    } else {
      ps = batch(S(-1.0) / S(1307674368000.0));  // −1/15!
      for (const S c : {S(1.0 / 6227020800.0), S(-1.0 / 39916800.0), S(1.0 / 362880.0),
                        S(-1.0 / 5040.0), S(1.0 / 120.0), S(-1.0 / 6.0), S(1.0)})
        ps = c + t2 * ps;
      pc = batch(S(1.0) / S(20922789888000.0));  // 1/16!
      for (const S c : {S(-1.0 / 87178291200.0), S(1.0 / 479001600.0), S(-1.0 / 3628800.0),
                        S(1.0 / 40320.0), S(-1.0 / 720.0), S(1.0 / 24.0), S(-0.5), S(1.0)})
        pc = c + t2 * pc;
    }
    const batch s0 = t * ps, c0 = pc;
    // q ∈ {0, 1, 2, 3, 4}: rotate (c0, s0) by q·90°.
    const auto odd = xsimd::abs(q - S(2) * xsimd::round(q * S(0.5))) > S(0.5);  // q = 1 or 3
    const auto flip_sin = (q > S(1.5)) & (q < S(3.5));                          // q = 2 or 3
    const auto flip_cos = (q > S(0.5)) & (q < S(2.5));                          // q = 1 or 2
    const batch s1 = xsimd::select(odd, c0, s0);
    const batch c1 = xsimd::select(odd, s0, c0);
    sin = xsimd::select(flip_sin, -s1, s1);
    cos = xsimd::select(flip_cos, -c1, c1);
  }
};

}  // namespace nlm::detail
