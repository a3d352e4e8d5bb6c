/// @file euler_maruyama.hpp
/// @brief The paper's integrator: one Euler–Maruyama step of dx = f(x) dt + √(2T) dW, in one
/// fused pass over memory per step.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../chains.hpp"
#include "../detail/blas.hpp"
#include "../detail/parallel.hpp"
#include "../noise/noise.hpp"
#include "sampler.hpp"

namespace nlm {

namespace detail {

/// Δt of a sampler, validated.
class SamplerTimeStep {
 public:
  explicit SamplerTimeStep(double dt) { set_time_step(dt); }
  double time_step() const noexcept { return dt_; }
  void set_time_step(double dt) {
    if (!(std::isfinite(dt) && dt > 0.0))
      throw std::invalid_argument("sampler: time_step (dt) must be finite and > 0, got " + std::to_string(dt));
    dt_ = dt;
  }

 private:
  double dt_;
};

}  // namespace detail

/// \f[ X \leftarrow X + \Delta t\, f(X) + \sqrt{2 T_c \Delta t}\;\Xi \f]
/// with f the model's drift (for the NLM, f = R − φ'(X) ⊙ G as in ForceWorkspace) and T_c the
/// chain's temperature. The model's products, then one fused elementwise pass: the drift's
/// terms read, the noise generated, the clamp kept, and the model's elementwise part for the
/// new states computed, block by block, split over threads for large batches. Its
/// stationary density differs from exp(−E/T) by O(Δt); use `Mala` where that bias matters.
class EulerMaruyama : public detail::SamplerTimeStep {
 public:
  explicit EulerMaruyama(double time_step = 0.01) : SamplerTimeStep(time_step) {}

  std::string describe() const { return "EulerMaruyama"; }
  void seed(std::uint64_t) noexcept {}
  std::vector<std::uint64_t> state() const { return {}; }
  void set_state(std::span<const std::uint64_t> words) {
    if (!words.empty())
      throw std::invalid_argument("EulerMaruyama: has no state, got " +
                                  std::to_string(words.size()) + " words");
  }

  template <DriftModel M, class Observer = NoObserver>
  void advance(M& model, Chains<typename M::scalar_type>& chains, std::size_t steps,
               Observer&& observer = {}) {
    if (steps == 0) return;
    auto& ws = chains.workspace();
    model.prepare(chains.states(), ws);
    for (std::size_t step = 1; step <= steps; ++step) {
      model.products(ws);
      fused_step(model, chains);
      observer(step, std::as_const(chains.states()));
    }
  }

  /// One step from a workspace already evaluated at the chains' states (prepare, products),
  /// leaving it prepared for the new states: the fused pass of `advance`.
  template <DriftModel M>
  void fused_step(M& model, Chains<typename M::scalar_type>& chains) const {
    using S = typename M::scalar_type;
    using NoiseT = detail::model_noise_t<M>;
    constexpr bool spans = detail::model_prepares_spans<M>;
    constexpr bool blocks = detail::noise_has_draw<NoiseT, S>;
    Matrix<S>& x = chains.states();
    auto& ws = chains.workspace();
    const std::size_t rows = x.shape(0), n = x.shape(1);
    const S dt = S(time_step());
    const S model_t = model.temperature();
    const bool noisy = !NoiseT::deterministic && (chains.has_temperatures() || model_t != S(0));
    const S sigma_all = NoiseT::deterministic ? S(0) : std::sqrt(S(2) * model_t * dt);
    const auto drift = model.drift_terms(std::as_const(ws));
    Matrix<S>& xi = ws.noise;  // used only by Noise policies without draws
    if (noisy && !blocks) {
      detail::ensure_shape(xi, rows, n);
      model.noise().fill(xi);
    }
    // noise_at(off, buf, len) points at the noise for `len` states from flat offset `off`.
    auto run = [&](auto&& noise_at) {
      detail::parallel_rows(rows, n, [&](std::size_t r0, std::size_t r1) {
        constexpr std::size_t chunk = 512;
        alignas(64) S buf[chunk];
        for (std::size_t r = r0; r < r1; ++r) {
          const S sigma = chains.has_temperatures() ? std::sqrt(S(2) * chains.temperatures()(r) * dt) : sigma_all;
          const std::uint8_t* mask = chains.clamp_row(r);
          for (std::size_t c0 = 0; c0 < n; c0 += chunk) {
            const std::size_t len = std::min(chunk, n - c0), off = r * n + c0;
            S* xr = x.data() + off;
            // A local copy whose address never escapes: the compiler keeps its pointers in
            // registers instead of reloading them after every store to xr, and vectorizes.
            const auto d = drift;
            if (mask) {
              const S* z = noisy ? noise_at(off, buf, len) : nullptr;
              const std::uint8_t* mr = mask + c0;
              for (std::size_t j = 0; j < len; ++j)
                if (!mr[j]) xr[j] += dt * d(off + j) + (noisy ? sigma * z[j] : S(0));
            } else if (noisy) {
              const S* z = noise_at(off, buf, len);
              for (std::size_t j = 0; j < len; ++j) xr[j] += dt * d(off + j) + sigma * z[j];
            } else {
              for (std::size_t j = 0; j < len; ++j) xr[j] += dt * d(off + j);
            }
            if constexpr (spans) model.prepare_span(xr, ws, off, c0, len);
          }
        }
      });
    };
    if constexpr (blocks) {
      if (noisy) {
        const auto draw = model.noise().template draw<S>(x.size());
        run([&](std::size_t off, S* buf, std::size_t len) -> const S* {
          draw.fill(off, std::span<S>(buf, len));
          return buf;
        });
      } else {
        run([](std::size_t, S* buf, std::size_t) -> const S* { return buf; });
      }
    } else {
      run([&](std::size_t off, S*, std::size_t) -> const S* { return xi.data() + off; });
    }
    if constexpr (!spans) model.prepare(x, ws);
  }
};

}  // namespace nlm
