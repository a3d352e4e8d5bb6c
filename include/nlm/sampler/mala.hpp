/// @file mala.hpp
/// @brief Metropolis-adjusted Langevin: an Euler–Maruyama proposal corrected by an
/// accept/reject test, so the chains sample exp(−E/T)/Z exactly at any Δt.
///
/// NLM's energy is known in closed form up to Z, which is all the Metropolis–Hastings ratio
/// needs. Each step costs one force evaluation (two products), like Euler–Maruyama, plus one
/// at the start of every `advance` call (the couplings may have changed in between).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xnoalias.hpp>

#include "../detail/blas.hpp"
#include "../detail/engine_state.hpp"
#include "../detail/random.hpp"
#include "../force_workspace.hpp"
#include "sampler.hpp"

namespace nlm {

/// Proposal \f$ y = x + \Delta t\,F(x) + \sqrt{2T\Delta t}\,\xi \f$, accepted with probability
/// \f[ \min\Bigl(1,\; e^{-(E(y)-E(x))/T}\,
///     \frac{\exp(-\|x - y - \Delta t F(y)\|^2 / 4T\Delta t)}{\exp(-\|\xi\|^2/2)}\Bigr) \f]
/// independently for every chain (row). Requires T > 0 and a stochastic Noise policy.
class Mala {
 public:
  std::string describe() const { return "Mala"; }
  explicit Mala(std::uint64_t seed = 0) : engine_(seed) {}

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

  template <LangevinModel M, class Observer = NoObserver>
  void advance(M& model, Matrix<typename M::scalar_type>& x, std::size_t steps,
               Observer&& observer = {}) {
    using S = typename M::scalar_type;
    static_assert(!M::deterministic_noise,
                  "nlm: Mala needs a stochastic Noise policy (with NoNoise there is nothing to "
                  "accept or reject: use EulerMaruyama for deterministic descent).");
    auto& b = buffers_.template get<S>();
    const std::size_t rows = x.shape(0), cols = x.shape(1);
    b.resize(rows, cols);
    const S dt = model.time_step();
    const S temperature = model.temperature();
    if (!(temperature > S(0)))
      throw std::invalid_argument("Mala: temperature must be > 0, got " +
                                  std::to_string(temperature));
    const S sigma = std::sqrt(S(2) * temperature * dt);

    model.evaluate(x, b.at_x, true);
    xt::noalias(b.force_x) = b.at_x.residual - b.at_x.dphi * b.at_x.feedback;
    for (std::size_t step = 1; step <= steps; ++step) {
      model.draw_noise(b.xi);
      xt::noalias(b.y) = x + dt * b.force_x + sigma * b.xi;
      model.evaluate(b.y, b.at_y, true);
      xt::noalias(b.force_y) = b.at_y.residual - b.at_y.dphi * b.at_y.feedback;
      for (std::size_t r = 0; r < rows; ++r) {
        const S* xr = x.data() + r * cols;
        const S* yr = b.y.data() + r * cols;
        const S* fy = b.force_y.data() + r * cols;
        const S* xir = b.xi.data() + r * cols;
        S backward = 0, forward = 0;
        for (std::size_t c = 0; c < cols; ++c) {
          const S d = xr[c] - yr[c] - dt * fy[c];
          backward += d * d;
          forward += xir[c] * xir[c];
        }
        const S log_alpha = -(b.at_y.energy(r) - b.at_x.energy(r)) / temperature -
                            backward / (S(4) * temperature * dt) + forward / S(2);
        const S u = detail::uniform_open0<S>(engine_());
        ++proposed_;
        if (std::log(u) < log_alpha) {
          ++accepted_;
          std::copy_n(yr, cols, x.data() + r * cols);
          std::copy_n(fy, cols, b.force_x.data() + r * cols);
          b.at_x.energy(r) = b.at_y.energy(r);
        }
      }
      observer(step, std::as_const(x));
    }
  }

 private:
  template <Scalar S>
  struct Buffers {
    ForceWorkspace<S> at_x, at_y;
    Matrix<S> force_x, force_y, y, xi;
    void resize(std::size_t rows, std::size_t cols) {
      at_x.resize(rows, cols);
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
