/// @file parallel.hpp
/// @brief Splits the elementwise work of a batch over OpenMP threads (when the library is
/// built with OpenMP; serial otherwise). Results never depend on the number of threads:
/// each row is computed the same way whoever computes it. `nlm::set_threads` sets that number
/// apart from OpenMP's default, which OpenBLAS's OpenMP build follows for its products.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nlm {
namespace detail {

inline std::atomic<int>& thread_setting() {
  static std::atomic<int> n{0};
  return n;
}

}  // namespace detail

/// Threads for nlm's own elementwise work (the fused Langevin pass, noise, restarts): `n` > 0
/// fixes the count, 0 (the default) follows OpenMP's (`OMP_NUM_THREADS`,
/// `omp_set_num_threads`). The products are BLAS's and follow BLAS's own setting. Results are
/// bit-identical whatever this count (docs/reliability.md).
inline void set_threads(int n) {
  if (n < 0) throw std::invalid_argument("nlm::set_threads: thread count must be >= 0, got " + std::to_string(n));
  detail::thread_setting().store(n);
}

/// The number of threads nlm's elementwise work uses (1 without OpenMP).
inline int threads() {
#ifdef _OPENMP
  const int n = detail::thread_setting().load();
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

namespace detail {

/// Below this many elements a batch is done by the calling thread alone (a parallel region
/// costs microseconds; a 36×784 batch takes about as long).
inline constexpr std::size_t parallel_threshold = 1u << 16;

/// Calls f(r0, r1) on disjoint row ranges covering [0, rows), in parallel for large batches.
template <class F>
void parallel_rows(std::size_t rows, std::size_t cols, F&& f) {
#ifdef _OPENMP
  const int team = threads();
  if (rows * cols >= parallel_threshold && rows > 1 && team > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(team)
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

}  // namespace detail
}  // namespace nlm
