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

/// mean(m²) in double.
template <Scalar S>
double mean_square(const Matrix<S>& m) {
  double acc = 0;
  for (const S v : m) acc += double(v) * double(v);
  return acc / double(m.size());
}

}  // namespace nlm::detail
