/// @file sampler.hpp
/// @brief The Sampler concept: how a batch of Langevin chains is advanced in time.
///
/// A sampler sees the machine only through the small model interface below (time step,
/// temperature, force evaluation into a workspace, noise), so a new integrator is written
/// without touching the machine.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

#include "../detail/engine_state.hpp"
#include "../force_workspace.hpp"
#include "../types.hpp"

namespace nlm {

/// Observer that records nothing: the default for `advance`.
struct NoObserver {
  template <class M>
  constexpr void operator()(std::size_t, const M&) const noexcept {}
};

/// What a sampler may call on the machine it advances.
/// - `m.time_step()`, `m.temperature()`: Δt and T as `scalar_type`;
/// - `m.evaluate(X, ws, with_energy)`: fills a `ForceWorkspace` for the batch X; it is
///   `m.prepare(X, ws)` (the elementwise part) followed by `m.products(ws)` (the two GEMMs);
/// - `m.euler_step(X, ws, dt, sigma)`: X += dt·F + sigma·Ξ from a workspace evaluated at X,
///   fused with `prepare` for the new X (the Euler–Maruyama step of the paper, one pass);
/// - `m.draw_noise(xi)`: i.i.d. N(0, 1) from the machine's Noise policy;
/// - `M::deterministic_noise`: true when the Noise policy adds nothing (T is then ignored).
template <class M>
concept LangevinModel = requires(M& m, const M& cm, const Matrix<typename M::scalar_type>& x,
                                 Matrix<typename M::scalar_type>& xi,
                                 ForceWorkspace<typename M::scalar_type>& ws) {
  requires Scalar<typename M::scalar_type>;
  { cm.time_step() } -> std::convertible_to<typename M::scalar_type>;
  { cm.temperature() } -> std::convertible_to<typename M::scalar_type>;
  cm.evaluate(x, ws, true);
  cm.prepare(x, ws);
  cm.products(ws);
  m.euler_step(xi, ws, cm.time_step(), cm.temperature());
  m.draw_noise(xi);
  { M::deterministic_noise } -> std::convertible_to<bool>;
};

namespace detail {

/// The smallest type modelling LangevinModel, used to check Sampler policies where the
/// machine type is not yet complete.
template <Scalar S>
struct ModelArchetype {
  using scalar_type = S;
  static constexpr bool deterministic_noise = false;
  S time_step() const;
  S temperature() const;
  void evaluate(const Matrix<S>&, ForceWorkspace<S>&, bool) const;
  void prepare(const Matrix<S>&, ForceWorkspace<S>&) const;
  void products(ForceWorkspace<S>&) const;
  void euler_step(Matrix<S>&, ForceWorkspace<S>&, S, S);
  void draw_noise(Matrix<S>&);
};

template <class P, class S>
concept sampler_has_advance = requires(P& p, ModelArchetype<S>& m, Matrix<S>& x,
                                       std::size_t steps) {
  p.advance(m, x, steps, NoObserver{});
};

}  // namespace detail

/// `s.advance(model, X, steps, observer)` moves every row of X forward `steps` steps and calls
/// `observer(step, X)` after each (step counts from 1). Plus `seed`, `state`, `set_state` for
/// any random stream of its own (empty for samplers without one).
template <class P, class S>
concept Sampler = std::copy_constructible<P> && detail::sampler_has_advance<P, S> &&
                  detail::has_engine_state<P>;

namespace detail {

template <class P, class S>
consteval bool diagnose_sampler() {
  static_assert(std::copy_constructible<P>,
                "nlm: a Sampler policy must be copy-constructible (the machine stores it by value).");
  static_assert(sampler_has_advance<P, S>,
                "nlm: a Sampler policy needs `template <LangevinModel M, class Observer> void "
                "advance(M& model, nlm::Matrix<S>& X, std::size_t steps, Observer&& observer)`.");
  static_assert(has_engine_state<P>,
                "nlm: a Sampler policy needs `void seed(std::uint64_t)`, `std::vector<std::uint64_t> "
                "state() const` and `void set_state(std::span<const std::uint64_t>)` (empty state "
                "if it draws no random numbers of its own).");
  return Sampler<P, S>;
}

}  // namespace detail
}  // namespace nlm
