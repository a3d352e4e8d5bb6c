/// @file mala.hpp
/// @brief Metropolis-adjusted Langevin: an Euler–Maruyama proposal corrected by an
/// accept/reject test, so the chains sample exp(−E/T)/Z exactly at any Δt.
///
/// NLM's energy is known in closed form up to Z, which is all the Metropolis–Hastings ratio
/// needs; a model without an energy (the plain recurrent drift) cannot be handed to it. Each
/// step costs one force evaluation (two products), like Euler–Maruyama, plus one at the start
/// of every `advance` call (the couplings may have changed in between).
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
#include "../detail/engine_state.hpp"
#include "../detail/random.hpp"
#include "../force_workspace.hpp"
#include "euler_maruyama.hpp"
#include "sampler.hpp"

namespace nlm {

/// Proposal \f$ y = x + \Delta t\,F(x) + \sqrt{2T\Delta t}\,\xi \f$, accepted with probability
/// \f[ \min\Bigl(1,\; e^{-(E(y)-E(x))/T}\,
///     \frac{\exp(-\|x - y - \Delta t F(y)\|^2 / 4T\Delta t)}{\exp(-\|\xi\|^2/2)}\Bigr) \f]
/// independently for every chain (row), with the chain's own T when the chains have
/// temperatures. Clamped coordinates are not proposed: the norms run over the free ones, so
/// the chains sample the conditional density of the free coordinates exactly. Requires T > 0
/// and a stochastic Noise policy.
class Mala : public detail::SamplerTimeStep {
 public:
  std::string describe() const { return "Mala"; }
  explicit Mala(std::uint64_t seed = 0, double time_step = 0.01) : SamplerTimeStep(time_step), engine_(seed) {}

  void seed(std::uint64_t s) { engine_.reseed(s); }
  std::vector<std::uint64_t> state() const { return detail::save_engine(engine_); }
  void set_state(std::span<const std::uint64_t> words) {
    detail::restore_engine(engine_, words, "Mala");
  }

  /// Fraction of proposals accepted since construction or the last reset.
  double acceptance_rate() const noexcept {
    return proposed_ == 0 ? 0.0 : static_cast<double>(accepted_) / static_cast<double>(proposed_);
  }
  std::uint64_t proposed() const noexcept { return proposed_; }
  std::uint64_t accepted() const noexcept { return accepted_; }
  void reset_acceptance() noexcept { proposed_ = accepted_ = 0; }

  template <class M, class Observer = NoObserver>
  void advance(M& model, Chains<typename M::scalar_type>& chains, std::size_t steps,
               Observer&& observer = {}) {
    static_assert(EnergyModel<M>,
                  "nlm: Mala needs an energy model (its acceptance test is a ratio of exp(-E/T)); "
                  "this model only has a drift: use EulerMaruyama for it.");
    using S = typename M::scalar_type;
    static_assert(!detail::model_noise_t<M>::deterministic,
                  "nlm: Mala needs a stochastic Noise policy (with NoNoise there is nothing to "
                  "accept or reject: use EulerMaruyama for deterministic descent).");
    Matrix<S>& x = chains.states();
    auto& b = buffers_.template get<S>();
    const std::size_t rows = x.shape(0), cols = x.shape(1);
    b.resize(rows, cols);
    const S dt = S(time_step());
    const S model_t = model.temperature();
    for (std::size_t r = 0; r < rows; ++r) {
      const S t = chains.temperature(r, model_t);
      if (!(t > S(0)))
        throw std::invalid_argument("Mala: temperature must be > 0, got " + std::to_string(t));
    }
    auto force_into = [&](const ForceWorkspace<S>& ws, Matrix<S>& f) {
      const auto drift = model.drift_terms(ws);
      S* out = f.data();
      for (std::size_t i = 0, n = f.size(); i < n; ++i) out[i] = drift(i);
    };

    ForceWorkspace<S>& at_x = chains.workspace();
    detail::evaluate(model, x, at_x, true);
    force_into(at_x, b.force_x);
    for (std::size_t step = 1; step <= steps; ++step) {
      model.noise().fill(b.xi);
      for (std::size_t r = 0; r < rows; ++r) {
        const S sigma = std::sqrt(S(2) * chains.temperature(r, model_t) * dt);
        const std::uint8_t* mask = chains.clamp_row(r);
        const std::size_t o = r * cols;
        for (std::size_t c = 0; c < cols; ++c) {
          if (mask && mask[c]) {
            b.y.data()[o + c] = x.data()[o + c];
            b.xi.data()[o + c] = S(0);
          } else {
            b.y.data()[o + c] = x.data()[o + c] + dt * b.force_x.data()[o + c] + sigma * b.xi.data()[o + c];
          }
        }
      }
      detail::evaluate(model, b.y, b.at_y, true);
      force_into(b.at_y, b.force_y);
      for (std::size_t r = 0; r < rows; ++r) {
        const S temperature = chains.temperature(r, model_t);
        const std::uint8_t* mask = chains.clamp_row(r);
        const S* xr = x.data() + r * cols;
        const S* yr = b.y.data() + r * cols;
        const S* fy = b.force_y.data() + r * cols;
        const S* xir = b.xi.data() + r * cols;
        S backward = 0, forward = 0;
        for (std::size_t c = 0; c < cols; ++c) {
          if (mask && mask[c]) continue;
          const S d = xr[c] - yr[c] - dt * fy[c];
          backward += d * d;
          forward += xir[c] * xir[c];
        }
        const S log_alpha = -(b.at_y.energy(r) - at_x.energy(r)) / temperature -
                            backward / (S(4) * temperature * dt) + forward / S(2);
        const S u = detail::uniform_open0<S>(engine_());
        ++proposed_;
        if (std::log(u) < log_alpha) {
          ++accepted_;
          std::copy_n(yr, cols, x.data() + r * cols);
          std::copy_n(fy, cols, b.force_x.data() + r * cols);
          at_x.energy(r) = b.at_y.energy(r);
        }
      }
      observer(step, std::as_const(x));
    }
  }

 private:
  template <Scalar S>
  struct Buffers {
    ForceWorkspace<S> at_y;
    Matrix<S> force_x, force_y, y, xi;
    void resize(std::size_t rows, std::size_t cols) {
      at_y.resize(rows, cols);
      for (auto* m : {&force_x, &force_y, &y, &xi}) detail::ensure_shape(*m, rows, cols);
    }
  };

  detail::Xoshiro256 engine_;
  detail::PerScalar<Buffers> buffers_;
  std::uint64_t proposed_ = 0;
  std::uint64_t accepted_ = 0;
};

}  // namespace nlm
