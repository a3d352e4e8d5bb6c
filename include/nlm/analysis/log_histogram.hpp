/// @file log_histogram.hpp
/// @brief A histogram of positive magnitudes in logarithmic bins (`per_octave` bins per
/// factor of two), filled without allocating and without a logarithm per value: the bin
/// comes from the value's binary exponent and mantissa, then one exact comparison with the
/// bin's edge. Zeros, values below the first edge, above the last one and non-finite values
/// are counted apart, so nothing is lost: `total()` is every value ever added.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace nlm {

class LogHistogram {
 public:
  /// Bins cover [2^lowest_exponent, 2^highest_exponent), `per_octave` bins per factor two,
  /// edges 2^(e + i/per_octave).
  explicit LogHistogram(int lowest_exponent = -64, int highest_exponent = 16, int per_octave = 4)
      : lo_(lowest_exponent), hi_(highest_exponent), per_octave_(per_octave) {
    if (per_octave < 1 || per_octave > 64)
      throw std::invalid_argument("LogHistogram: per_octave must be in [1, 64], got " + std::to_string(per_octave));
    if (highest_exponent <= lowest_exponent || lowest_exponent < -1000 || highest_exponent > 1000)
      throw std::invalid_argument("LogHistogram: need -1000 <= lowest_exponent < highest_exponent <= 1000, got " +
                                  std::to_string(lowest_exponent) + " and " + std::to_string(highest_exponent));
    std::vector<double> octave(std::size_t(per_octave) + 1);
    for (int i = 0; i <= per_octave; ++i) octave[std::size_t(i)] = i == per_octave ? 2.0 : std::exp2(double(i) / per_octave);
    edges_.reserve(std::size_t(hi_ - lo_) * std::size_t(per_octave) + 1);
    for (int e = lo_; e < hi_; ++e)
      for (int i = 0; i < per_octave; ++i) edges_.push_back(std::ldexp(octave[std::size_t(i)], e));
    edges_.push_back(std::ldexp(1.0, hi_));
    counts_.assign(edges_.size() - 1, 0);
    // guess_[t]: the last bin of an octave whose lower edge is <= 1 + t/256 (a mantissa whose
    // top 8 bits are t lies in that bin or the next).
    for (int t = 0; t < 256; ++t) {
      int i = 0;
      while (i + 1 < per_octave && octave[std::size_t(i + 1)] <= 1.0 + t / 256.0) ++i;
      guess_[std::size_t(t)] = std::uint8_t(i);
    }
  }

  /// Adds |v| for every v.
  template <class T>
  void add(std::span<const T> values) noexcept {
    for (const T v : values) add(double(v));
  }
  void add(double v) noexcept {
    const double x = std::fabs(v);
    if (x == 0.0) {
      ++zeros_;
      return;
    }
    if (!std::isfinite(x)) {
      ++non_finite_;
      return;
    }
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
    const int biased = int(bits >> 52);
    if (biased == 0 || biased - 1023 < lo_) {  // subnormal doubles lie below any allowed range
      ++below_;
      return;
    }
    const int e = biased - 1023;
    if (e >= hi_) {
      ++above_;
      return;
    }
    std::size_t bin = std::size_t(e - lo_) * std::size_t(per_octave_) + guess_[(bits >> 44) & 0xff];
    if (x >= edges_[bin + 1]) ++bin;  // at most one edge between the guess and the value
    ++counts_[bin];
  }

  /// Adds another histogram with the same bins.
  void merge(const LogHistogram& o) {
    if (o.edges_ != edges_) throw std::invalid_argument("LogHistogram::merge: the bins differ");
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    zeros_ += o.zeros_;
    below_ += o.below_;
    above_ += o.above_;
    non_finite_ += o.non_finite_;
  }

  const std::vector<double>& edges() const noexcept { return edges_; }
  const std::vector<std::uint64_t>& counts() const noexcept { return counts_; }
  std::uint64_t zeros() const noexcept { return zeros_; }
  std::uint64_t below() const noexcept { return below_; }
  std::uint64_t above() const noexcept { return above_; }
  std::uint64_t non_finite() const noexcept { return non_finite_; }
  /// Every value added: the bins, zeros, below, above and non-finite together.
  std::uint64_t total() const noexcept {
    std::uint64_t t = zeros_ + below_ + above_ + non_finite_;
    for (const auto c : counts_) t += c;
    return t;
  }

 private:
  int lo_, hi_, per_octave_;
  std::vector<double> edges_;
  std::vector<std::uint64_t> counts_;
  std::uint8_t guess_[256]{};
  std::uint64_t zeros_ = 0, below_ = 0, above_ = 0, non_finite_ = 0;
};

}  // namespace nlm
