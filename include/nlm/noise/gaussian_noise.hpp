/// @file gaussian_noise.hpp
/// @brief Gaussian white noise from a counter-based generator (SplitMix64 words, vectorised
/// Box–Muller), so that any block of a draw can be produced by any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../detail/parallel.hpp"
#include "../detail/random.hpp"
#include "../types.hpp"

namespace nlm {

/// Fast, reproducible N(0, 1) noise. Its whole state is two words (a key derived from the
/// seed and a counter), every element of a draw is a function of (key, counter, index) only,
/// so the numbers are the same whatever the number of threads that produce them, and a
/// checkpoint that stores the two words resumes the stream bit for bit.
class GaussianNoise {
 public:
  std::string describe() const { return "GaussianNoise"; }
  static constexpr bool deterministic = false;

  /// One draw of `size` normals, reserved from the stream: `fill(first, out)` writes elements
  /// [first, first + out.size()) of it. Const and thread-safe.
  template <Scalar S>
  struct Draw {
    std::uint64_t key, base;
    std::size_t size;
    void fill(std::size_t first, std::span<S> out) const {
      detail::CounterNormal<S>::fill(key, base, first, out);
    }
  };

  explicit GaussianNoise(std::uint64_t seed = 0) { this->seed(seed); }

  void seed(std::uint64_t s) noexcept {
    std::uint64_t sm = s;
    key_ = detail::splitmix64(sm);
    counter_ = 0;
  }
  std::vector<std::uint64_t> state() const { return {key_, counter_}; }
  void set_state(std::span<const std::uint64_t> words) {
    if (words.size() != 2)
      throw std::invalid_argument("GaussianNoise: expected 2 state words (key, counter), got " +
                                  std::to_string(words.size()));
    key_ = words[0];
    counter_ = words[1];
  }

  /// Reserves the next `size` normals of the stream.
  template <Scalar S>
  Draw<S> draw(std::size_t size) noexcept {
    const Draw<S> d{key_, counter_, size};
    counter_ += detail::CounterNormal<S>::words_for(size);
    return d;
  }

  /// Fills every element of `xi` (one draw; large buffers are split over threads).
  template <Scalar S>
  void fill(Matrix<S>& xi) {
    const Draw<S> d = draw<S>(xi.size());
    const std::size_t rows = xi.shape(0), cols = xi.shape(1);
    detail::parallel_rows(rows, cols, [&](std::size_t r0, std::size_t r1) {
      d.fill(r0 * cols, std::span<S>(xi.data() + r0 * cols, (r1 - r0) * cols));
    });
  }

 private:
  std::uint64_t key_ = 0, counter_ = 0;
};

}  // namespace nlm
