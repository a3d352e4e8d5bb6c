/// @file blas.hpp
/// @brief Thin, typed wrappers over CBLAS GEMM on row-major matrices, writing into existing
/// buffers (the hot loop's only products).
#pragma once

#include <cassert>
#include <cstddef>

#include <xtensor-blas/xblas.hpp>

#include "../types.hpp"

namespace nlm::detail {

enum class Op { none, transpose };

/// C ← alpha · op(A) · op(B) + beta · C, all row-major and contiguous; C must already have
/// the result's shape. (xtensor-blas's gemm passes the transpose flags straight to the
/// BLAS; it is used rather than <cblas.h> because xtensor-blas declares its own CBLAS enums.)
template <Scalar S>
void gemm(const Matrix<S>& a, Op op_a, const Matrix<S>& b, Op op_b, Matrix<S>& c, S alpha,
          S beta) {
  assert((op_a == Op::none ? a.shape(1) : a.shape(0)) == (op_b == Op::none ? b.shape(0) : b.shape(1)));
  assert(c.shape(0) == (op_a == Op::none ? a.shape(0) : a.shape(1)));
  assert(c.shape(1) == (op_b == Op::none ? b.shape(1) : b.shape(0)));
  const std::size_t inner = op_a == Op::none ? a.shape(1) : a.shape(0);
  if (inner == 1) {
    // An outer product (one chain's correlate): one pass over C; a GEMM of inner size 1 packs
    // its operands and clears C first.
    const std::size_t m = c.shape(0), n = c.shape(1);
    const S* ap = a.data();  // m × 1 or 1 × m: contiguous either way
    const S* bp = b.data();  // 1 × n or n × 1: likewise
    S* cp = c.data();
    for (std::size_t i = 0; i < m; ++i) {
      const S ai = alpha * ap[i];
      S* ci = cp + i * n;
      if (beta == S(0))
        for (std::size_t j = 0; j < n; ++j) ci[j] = ai * bp[j];
      else
        for (std::size_t j = 0; j < n; ++j) ci[j] = ai * bp[j] + beta * ci[j];
    }
    return;
  }
  if (c.shape(0) == 1) {
    // One row (a single chain): c = α op(B)ᵀ a + β c is a matrix-vector product. As a GEMM of
    // one row, OpenBLAS packs all of B first (a copy of J per step); GEMV reads it once.
    using index = xt::blas_index_t;
    const std::size_t k = inner, n = c.shape(1);
    // Row-major B (k × n) times a: Bᵀa; B given transposed (n × k): B a.
    if (op_b == Op::none)
      cxxblas::gemv<index>(cxxblas::StorageOrder::RowMajor, cxxblas::Transpose::Trans, index(k), index(n), alpha,
                           b.data(), index(n), a.data(), index(1), beta, c.data(), index(1));
    else
      cxxblas::gemv<index>(cxxblas::StorageOrder::RowMajor, cxxblas::Transpose::NoTrans, index(n), index(k), alpha,
                           b.data(), index(k), a.data(), index(1), beta, c.data(), index(1));
    return;
  }
  xt::blas::gemm(a, b, c, op_a == Op::transpose, op_b == Op::transpose, alpha, beta);
}

/// The same product on raw row-major storage: op(A) is m×k, op(B) is k×n, C is m×n, each
/// contiguous (leading dimension = its stored row length). For buffers that keep their capacity
/// while the shapes they hold change (no container to resize).
template <Scalar S>
void gemm(const S* a, Op op_a, const S* b, Op op_b, S* c, std::size_t m, std::size_t n, std::size_t k, S alpha,
          S beta) {
  using index = xt::blas_index_t;
  const auto trans = [](Op op) { return op == Op::transpose ? cxxblas::Transpose::Trans : cxxblas::Transpose::NoTrans; };
  cxxblas::gemm<index>(cxxblas::StorageOrder::RowMajor, trans(op_a), trans(op_b), index(m), index(n), index(k), alpha,
                       a, index(op_a == Op::none ? k : m), b, index(op_b == Op::none ? n : k), beta, c, index(n));
}

/// C ← alpha · op(A) · op(B) + beta · C on row-major blocks inside larger matrices: op(A) is
/// m×k, op(B) is k×n, C is m×n, with leading dimensions lda, ldb, ldc (each block's stored row
/// length). One row of C goes through GEMV (a one-row GEMM packs all of B first).
template <Scalar S>
void gemm_strided(const S* a, std::size_t lda, Op op_a, const S* b, std::size_t ldb, Op op_b, S* c, std::size_t ldc,
                  std::size_t m, std::size_t n, std::size_t k, S alpha, S beta) {
  using index = xt::blas_index_t;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == S(0) ? S(0) : beta * c[i * ldc + j];
    return;
  }
  if (m == 1 && op_a == Op::none) {
    // c = α op(B)ᵀ a + β c. Row-major B (k × n): Bᵀa; B given transposed (n × k): B a.
    if (op_b == Op::none)
      cxxblas::gemv<index>(cxxblas::StorageOrder::RowMajor, cxxblas::Transpose::Trans, index(k), index(n), alpha, b,
                           index(ldb), a, index(1), beta, c, index(1));
    else
      cxxblas::gemv<index>(cxxblas::StorageOrder::RowMajor, cxxblas::Transpose::NoTrans, index(n), index(k), alpha, b,
                           index(ldb), a, index(1), beta, c, index(1));
    return;
  }
  const auto trans = [](Op op) { return op == Op::transpose ? cxxblas::Transpose::Trans : cxxblas::Transpose::NoTrans; };
  cxxblas::gemm<index>(cxxblas::StorageOrder::RowMajor, trans(op_a), trans(op_b), index(m), index(n), index(k), alpha,
                       a, index(lda), b, index(ldb), beta, c, index(ldc));
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
