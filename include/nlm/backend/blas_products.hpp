/// @file blas_products.hpp
/// @brief The default product backend: CBLAS GEMM in the machine's scalar type, straight on
/// the float32/float64 J (nothing derived, so `refresh` does nothing).
#pragma once

#include <string>

#include "../detail/blas.hpp"
#include "../types.hpp"
#include "backend.hpp"

namespace nlm {

class BlasProducts {
 public:
  std::string describe() const { return "BlasProducts"; }

  template <Scalar S>
  void refresh(const Matrix<S>&) noexcept {}

  template <Scalar S>
  void drive(const Matrix<S>& phi, const Matrix<S>& j, Matrix<S>& r) const {
    detail::gemm(phi, detail::Op::none, j, detail::Op::transpose, r, S(1), S(1));
  }
  template <Scalar S>
  void feedback(const Matrix<S>& r, const Matrix<S>& j, Matrix<S>& g) const {
    detail::gemm(r, detail::Op::none, j, detail::Op::none, g, S(1), S(0));
  }
  template <Scalar S>
  void correlate(const Matrix<S>& a, const Matrix<S>& b, Matrix<S>& out, S alpha, S beta) const {
    detail::gemm(a, detail::Op::transpose, b, detail::Op::none, out, alpha, beta);
  }
  template <Scalar S>
  void multiply(const Matrix<S>& j, const Matrix<S>& a, Matrix<S>& out, S alpha, S beta) const {
    detail::gemm(j, detail::Op::none, a, detail::Op::none, out, alpha, beta);
  }
};

}  // namespace nlm
