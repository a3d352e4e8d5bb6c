/// @file euler_maruyama.hpp
/// @brief The paper's integrator: one Euler–Maruyama step of dx = F dt + √(2T) dW.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xnoalias.hpp>

#include "../detail/blas.hpp"
#include "../force_workspace.hpp"
#include "sampler.hpp"

namespace nlm {

/// \f[ X \leftarrow X + \Delta t\,\bigl(R - \phi'(X) \odot G\bigr) + \sqrt{2T\Delta t}\;\Xi \f]
/// with R and G as in ForceWorkspace. Two products per step; the rest is one fused
/// elementwise pass (noise generated in it, φ and φ' of the new states computed in it, split
/// over threads for large batches). Its stationary density differs from exp(−E/T) by O(Δt); use `Mala`
/// where that bias matters.
class EulerMaruyama {
 public:
  std::string describe() const { return "EulerMaruyama"; }
  void seed(std::uint64_t) noexcept {}
  std::vector<std::uint64_t> state() const { return {}; }
  void set_state(std::span<const std::uint64_t> words) {
    if (!words.empty())
      throw std::invalid_argument("EulerMaruyama: has no state, got " +
                                  std::to_string(words.size()) + " words");
  }

  template <LangevinModel M, class Observer = NoObserver>
  void advance(M& model, Matrix<typename M::scalar_type>& x, std::size_t steps,
               Observer&& observer = {}) {
    using S = typename M::scalar_type;
    auto& ws = workspaces_.template get<S>().for_shape(x.shape(0), x.shape(1));
    const S dt = model.time_step();
    const S sigma = M::deterministic_noise ? S(0) : std::sqrt(S(2) * model.temperature() * dt);
    if (steps == 0) return;
    model.prepare(x, ws);
    for (std::size_t step = 1; step <= steps; ++step) {
      model.products(ws);
      model.euler_step(x, ws, dt, sigma);
      observer(step, std::as_const(x));
    }
  }

 private:
  detail::PerScalar<WorkspaceCache> workspaces_;
};

}  // namespace nlm
