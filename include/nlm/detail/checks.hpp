/// @file checks.hpp
/// @brief Argument checks shared by the machine's parts, each message naming who refused what.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../errors.hpp"
#include "../types.hpp"

namespace nlm::detail {

template <Scalar S>
void require_shape(const Matrix<S>& m, std::size_t rows, std::size_t cols, std::string_view who,
                   const char* what) {
  if (m.shape(0) != rows || m.shape(1) != cols)
    throw std::invalid_argument(std::string(who) + ": " + what + " must be " + std::to_string(rows) + "x" +
                                std::to_string(cols) + ", got " + std::to_string(m.shape(0)) + "x" +
                                std::to_string(m.shape(1)));
}

template <Scalar S>
void require_columns(const Matrix<S>& x, std::size_t neurons, std::string_view who, const char* what) {
  if (x.shape(1) != neurons)
    throw std::invalid_argument(std::string(who) + ": " + what + " has " + std::to_string(x.shape(1)) +
                                " columns, the machine has " + std::to_string(neurons) + " neurons");
}

/// Throws numerical_error naming the first non-finite element's flat index.
template <class T>
void require_finite(const T& m, std::string_view who, const char* what, const char* at = "flat index") {
  for (std::size_t i = 0; i < m.size(); ++i)
    if (!std::isfinite(m.data()[i]))
      throw numerical_error(std::string(who) + ": " + what + " a non-finite value at " + at + " " + std::to_string(i));
}

}  // namespace nlm::detail
