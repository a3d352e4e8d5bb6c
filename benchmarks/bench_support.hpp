/// @file bench_support.hpp
/// @brief What the benchmark programs share: the OpenBLAS controls, the bare-GEMM reference
/// (the machine's products replayed as plain xt::blas::gemm calls into preallocated buffers)
/// and small statistics.
///
/// Every timing in benchmarks/ is reported next to the bare GEMMs of the same shapes, timed
/// in the same process and interleaved with it, so the ratio survives a noisy machine.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <xtensor-blas/xblas.hpp>

#include <nlm/detail/random.hpp>
#include <nlm/types.hpp>

// OpenBLAS's own extensions (not in the CBLAS interface xtensor-blas declares).
extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
char* openblas_get_corename(void);
char* openblas_get_config(void);
}

namespace nlm_bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

inline std::string blas_description() {
  return std::string(openblas_get_corename()) + ", " +
         std::to_string(openblas_get_num_threads()) + " thread(s); " + openblas_get_config();
}

/// Fills `m` with N(0, scale²) values: GEMM timings do not depend on the values, but
/// denormals and NaNs would distort them.
template <nlm::Scalar S>
nlm::Matrix<S> random_matrix(std::size_t rows, std::size_t cols, S scale, std::uint64_t seed) {
  nlm::Matrix<S> m = nlm::Matrix<S>::from_shape({rows, cols});
  nlm::detail::Xoshiro256 engine(seed);
  nlm::detail::fill_normal<S>(engine, std::span<S>(m.data(), m.size()));
  m *= scale;
  return m;
}

/// The products a LangevinMachine issues, by their role (row convention: B×N batches).
enum class Product {
  residual,    ///< R ← Φ Jᵀ + R: (B×N)·(N×N)ᵀ, beta = 1
  feedback,    ///< G ← R J: (B×N)·(N×N)
  statistics,  ///< S ← α Rᵀ Φ: (B×N)ᵀ·(B×N) → N×N
  cube,        ///< D ← C − J P: (N×N)·(N×N), the sufficient-statistics data term
};

/// 2·m·n·k for one product.
inline double product_flops(Product p, std::size_t batch, std::size_t n) {
  const double b = double(batch), nn = double(n);
  return p == Product::cube ? 2.0 * nn * nn * nn : 2.0 * b * nn * nn;
}

/// A fixed sequence of products, replayed as plain xt::blas::gemm calls on buffers allocated
/// once: what the machine would cost if everything but its GEMMs were free.
template <nlm::Scalar S>
class BareGemms {
 public:
  using Step = std::pair<Product, std::size_t>;  // (role, batch rows)

  BareGemms(std::size_t n, std::vector<Step> sequence) : n_(n), sequence_(std::move(sequence)) {
    const S js = S(2) / S(std::sqrt(double(n)));
    j_ = random_matrix<S>(n, n, js, 11);
    square_ = random_matrix<S>(n, n, S(0.1), 12);
    out_ = random_matrix<S>(n, n, S(0.1), 13);
    for (const auto& [p, b] : sequence_) {
      if (p == Product::cube || batches_.count(b)) continue;
      Buffers buf{random_matrix<S>(b, n, S(0.5), 21 + b), random_matrix<S>(b, n, S(0.5), 22 + b),
                  random_matrix<S>(b, n, S(0.5), 23 + b)};
      batches_.emplace(b, std::move(buf));
    }
  }

  /// The two products of one sampler step: {residual, feedback}.
  static std::vector<Step> step(std::size_t batch) {
    return {{Product::residual, batch}, {Product::feedback, batch}};
  }
  /// A statistics evaluation (data or model phase): {residual, statistics}.
  static std::vector<Step> statistics(std::size_t batch) {
    return {{Product::residual, batch}, {Product::statistics, batch}};
  }
  /// One training update: n_t steps on the chains, then model and data statistics.
  static std::vector<Step> update(std::size_t chains, std::size_t batch, std::size_t steps) {
    std::vector<Step> s;
    for (std::size_t i = 0; i < steps; ++i)
      for (const auto& p : step(chains)) s.push_back(p);
    for (const auto& p : statistics(chains)) s.push_back(p);
    for (const auto& p : statistics(batch)) s.push_back(p);
    return s;
  }

  double flops() const {
    double f = 0;
    for (const auto& [p, b] : sequence_) f += product_flops(p, b, n_);
    return f;
  }
  std::size_t products() const noexcept { return sequence_.size(); }

  void run() {
    for (const auto& [p, b] : sequence_) {
      switch (p) {
        case Product::residual: {
          auto& buf = batches_.at(b);
          xt::blas::gemm(buf.phi, j_, buf.r, false, true, S(1), S(1));
          break;
        }
        case Product::feedback: {
          auto& buf = batches_.at(b);
          xt::blas::gemm(buf.r, j_, buf.g, false, false, S(1), S(0));
          break;
        }
        case Product::statistics: {
          auto& buf = batches_.at(b);
          xt::blas::gemm(buf.r, buf.phi, out_, true, false, S(-1) / S(b), S(0));
          break;
        }
        case Product::cube:
          xt::blas::gemm(j_, square_, out_, false, false, S(-1), S(1));
          break;
      }
    }
    benchmark_sink_ = out_.data();
  }

  /// Keeps the results observable (the caller passes this to benchmark::DoNotOptimize).
  const S* sink() const noexcept { return benchmark_sink_; }

 private:
  struct Buffers {
    nlm::Matrix<S> phi, r, g;
  };
  std::size_t n_;
  std::vector<Step> sequence_;
  nlm::Matrix<S> j_, square_, out_;
  std::map<std::size_t, Buffers> batches_;
  const S* benchmark_sink_ = nullptr;
};

}  // namespace nlm_bench
