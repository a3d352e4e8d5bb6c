/// @file rows.hpp
/// @brief Small reductions over the rows of a batch, shared by the machine's statistics.
#pragma once

#include <cstddef>

#include "../types.hpp"

namespace nlm::detail {

/// out ← scale · (column means of m) + beta · out.
template <Scalar S>
void column_means_into(const Matrix<S>& m, Vector<S>& out, S scale, S beta) {
  const std::size_t rows = m.shape(0), cols = m.shape(1);
  const S w = scale / S(rows);
  for (std::size_t c = 0; c < cols; ++c) out(c) = beta == S(0) ? S(0) : beta * out(c);
  for (std::size_t r = 0; r < rows; ++r) {
    const S* row = m.data() + r * cols;
    for (std::size_t c = 0; c < cols; ++c) out(c) += w * row[c];
  }
}

/// e(b) ← ½‖r_b‖² for every row b.
template <Scalar S>
void row_half_squares(const Matrix<S>& r, Vector<S>& e) {
  const std::size_t cols = r.shape(1);
  for (std::size_t b = 0; b < r.shape(0); ++b) {
    const S* row = r.data() + b * cols;
    S acc = 0;
    for (std::size_t c = 0; c < cols; ++c) acc += row[c] * row[c];
    e(b) = S(0.5) * acc;
  }
}

/// mean(m²) in double. Eight running sums over the entries in turn (k mod 8), added in a fixed
/// order at the end: one sum's chain of dependent additions would take four cycles an entry;
/// eight let the additions overlap (and vectorise), with the same result on every CPU.
template <Scalar S>
double mean_square(const Matrix<S>& m) {
  const S* p = m.data();
  const std::size_t n = m.size();
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (std::size_t l = 0; l < 8; ++l) a[l] += double(p[k + l]) * double(p[k + l]);
  for (std::size_t l = 0; k < n; ++k, ++l) a[l] += double(p[k]) * double(p[k]);
  return (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))) / double(n);
}

}  // namespace nlm::detail
