/// @file parallel.hpp
/// @brief Splits the elementwise work of a batch over OpenMP threads (when the library is
/// built with OpenMP; serial otherwise). Results never depend on the number of threads:
/// each row is computed the same way whoever computes it.
#pragma once

#include <algorithm>
#include <cstddef>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nlm::detail {

/// Below this many elements a batch is done by the calling thread alone (a parallel region
/// costs microseconds; a 36×784 batch takes about as long).
inline constexpr std::size_t parallel_threshold = 1u << 16;

/// Calls f(r0, r1) on disjoint row ranges covering [0, rows), in parallel for large batches.
template <class F>
void parallel_rows(std::size_t rows, std::size_t cols, F&& f) {
#ifdef _OPENMP
  if (rows * cols >= parallel_threshold && rows > 1 && omp_get_max_threads() > 1 &&
      !omp_in_parallel()) {
#pragma omp parallel
    {
      const std::size_t t = std::size_t(omp_get_thread_num());
      const std::size_t n = std::size_t(omp_get_num_threads());
      const std::size_t r0 = rows * t / n, r1 = rows * (t + 1) / n;
      if (r0 < r1) f(r0, r1);
    }
    return;
  }
#endif
  f(std::size_t(0), rows);
}

}  // namespace nlm::detail
