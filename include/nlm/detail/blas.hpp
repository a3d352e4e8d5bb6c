/// @file blas.hpp
/// @brief Thin, typed wrappers over CBLAS GEMM on row-major matrices, writing into existing
/// buffers (the hot loop's only products).
#pragma once

#include <cassert>
#include <cstddef>

#include <cblas.h>

#include "../types.hpp"

namespace nlm::detail {

enum class Op { none, transpose };

/// C ← alpha · op(A) · op(B) + beta · C, all row-major and contiguous; C must already have
/// the result's shape.
template <Scalar S>
void gemm(const Matrix<S>& a, Op op_a, const Matrix<S>& b, Op op_b, Matrix<S>& c, S alpha,
          S beta) {
  const auto m = static_cast<blasint>(op_a == Op::none ? a.shape(0) : a.shape(1));
  const auto k = static_cast<blasint>(op_a == Op::none ? a.shape(1) : a.shape(0));
  const auto n = static_cast<blasint>(op_b == Op::none ? b.shape(1) : b.shape(0));
  assert(static_cast<blasint>(op_b == Op::none ? b.shape(0) : b.shape(1)) == k);
  assert(static_cast<blasint>(c.shape(0)) == m && static_cast<blasint>(c.shape(1)) == n);
  const auto ta = op_a == Op::none ? CblasNoTrans : CblasTrans;
  const auto tb = op_b == Op::none ? CblasNoTrans : CblasTrans;
  const auto lda = static_cast<blasint>(a.shape(1));
  const auto ldb = static_cast<blasint>(b.shape(1));
  const auto ldc = static_cast<blasint>(c.shape(1));
  if constexpr (std::is_same_v<S, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta,
                c.data(), ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta,
                c.data(), ldc);
}

/// Gives `m` the shape rows×cols, allocating only when the shape changes.
template <Scalar S>
void ensure_shape(Matrix<S>& m, std::size_t rows, std::size_t cols) {
  if (m.shape(0) != rows || m.shape(1) != cols) m.resize({rows, cols});
}

template <Scalar S>
void ensure_size(Vector<S>& v, std::size_t n) {
  if (v.shape(0) != n) v.resize({n});
}

}  // namespace nlm::detail
