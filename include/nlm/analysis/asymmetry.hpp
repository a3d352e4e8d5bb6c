/// @file asymmetry.hpp
/// @brief J = J_sym + J_anti with J_sym = (J + Jᵀ)/2, J_anti = (J − Jᵀ)/2, and the asymmetry
/// ‖J − Jᵀ‖_F / ‖J‖_F (0: symmetric, 2: antisymmetric, about √2 for independent entries).
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "../types.hpp"

namespace nlm {

/// The two parts of J, in double.
struct SymmetricSplit {
  Matrix<double> symmetric;
  Matrix<double> antisymmetric;
};

namespace detail {
template <Scalar S>
void require_square(const Matrix<S>& j, const char* who) {
  if (j.shape(0) != j.shape(1) || j.shape(0) == 0)
    throw std::invalid_argument(std::string(who) + ": J must be a non-empty square matrix, got " +
                                std::to_string(j.shape(0)) + " x " + std::to_string(j.shape(1)));
}
}  // namespace detail

/// J_sym and J_anti in double. For a float J the sum J_sym + J_anti rounded to float is J
/// bit for bit whenever each pair J_ij, J_ji is within a factor 2²⁹ of each other or one of
/// them is zero (then J_ij ± J_ji is exact in double and halving is exact); for a double J
/// the parts are exact to one rounding.
template <Scalar S>
SymmetricSplit split_symmetric(const Matrix<S>& j) {
  detail::require_square(j, "split_symmetric");
  const std::size_t n = j.shape(0);
  SymmetricSplit s{Matrix<double>::from_shape({n, n}), Matrix<double>::from_shape({n, n})};
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < n; ++c) {
      const double a = double(j(r, c)), b = double(j(c, r));
      s.symmetric(r, c) = (a + b) * 0.5;
      s.antisymmetric(r, c) = (a - b) * 0.5;
    }
  return s;
}

/// ‖J − Jᵀ‖_F / ‖J‖_F, summed in double (0 for J = 0).
template <Scalar S>
double asymmetry(const Matrix<S>& j) {
  detail::require_square(j, "asymmetry");
  const std::size_t n = j.shape(0);
  double num = 0, den = 0;
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < n; ++c) {
      const double a = double(j(r, c)), d = a - double(j(c, r));
      num += d * d;
      den += a * a;
    }
  return den > 0 ? std::sqrt(num / den) : 0.0;
}

}  // namespace nlm
