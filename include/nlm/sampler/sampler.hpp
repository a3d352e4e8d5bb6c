/// @file sampler.hpp
/// @brief What a sampler sees of a model (the DriftModel and EnergyModel concepts), and the
/// Sampler concept: how a set of `Chains` is advanced in time.
///
/// A sampler never sees the machine: it sees a model that fills the drift of a batch
/// (DriftModel), and, for samplers that need one, its energy (EnergyModel, drift = −∇E). The
/// step Δt, the noise scale per chain and the clamp belong to the sampler's side, so a new
/// integrator, or a new model (the plain recurrent drift, which has no energy), is written
/// without touching the other.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include "../chains.hpp"
#include "../detail/engine_state.hpp"
#include "../force_workspace.hpp"
#include "../types.hpp"

namespace nlm {

/// Observer that records nothing: the default for `advance`.
struct NoObserver {
  template <class M>
  constexpr void operator()(std::size_t, const M&) const noexcept {}
};

/// A model whose drift a sampler can follow: dx = f(x) dt + √(2T) dW.
/// - `m.neurons()`, `m.temperature()` (T as `scalar_type`), `m.noise()`: its Noise policy;
/// - `m.prepare(X, ws)`: the elementwise part of the drift at the batch X (resizing `ws`);
/// - `m.products(ws)`: the matrix products on a prepared workspace;
/// - `m.drift_terms(ws)`: a small callable `d` with `d(i)` the drift at flat index i of the
///   evaluated batch, inlined into the sampler's fused pass.
/// Optional, for speed: `M::prepares_spans` true and `m.prepare_span(x, ws, offset, column,
/// length)`, the elementwise part for `length` new states from flat `offset`, which the fused
/// pass calls on each block it has just written (otherwise it calls `prepare` after the pass).
template <class M>
concept DriftModel = requires(M& m, const M& cm, const Matrix<typename M::scalar_type>& x,
                              ForceWorkspace<typename M::scalar_type>& ws, std::size_t i) {
  requires Scalar<typename M::scalar_type>;
  { cm.neurons() } -> std::convertible_to<std::size_t>;
  { cm.temperature() } -> std::convertible_to<typename M::scalar_type>;
  m.noise();
  cm.prepare(x, ws);
  cm.products(ws);
  { cm.drift_terms(std::as_const(ws))(i) } -> std::convertible_to<typename M::scalar_type>;
};

/// A drift model with an energy E whose drift is −∇E: `m.energies(ws)` writes ½‖R_b‖² style
/// energies E(x_b) of an evaluated batch into `ws.energy`. What MALA, AIS and replica exchange
/// need (their acceptance tests and weights are ratios of exp(−E/T)).
template <class M>
concept EnergyModel = DriftModel<M> && requires(const M& cm, ForceWorkspace<typename M::scalar_type>& ws) {
  cm.energies(ws);
};

namespace detail {

template <class M>
concept model_prepares_spans = requires(const M& m, const typename M::scalar_type* x,
                                        ForceWorkspace<typename M::scalar_type>& ws, std::size_t n) {
  requires M::prepares_spans;
  m.prepare_span(x, ws, n, n, n);
};

template <class M>
using model_noise_t = std::remove_cvref_t<decltype(std::declval<M&>().noise())>;

/// The model's drift at X into `ws` (its elementwise part and its products), and its energies
/// when asked.
template <DriftModel M>
void evaluate(const M& model, const Matrix<typename M::scalar_type>& x,
              ForceWorkspace<typename M::scalar_type>& ws, bool with_energy) {
  model.prepare(x, ws);
  model.products(ws);
  if constexpr (EnergyModel<M>)
    if (with_energy) model.energies(ws);
}

/// The smallest type modelling EnergyModel, used to check Sampler policies where the machine
/// type is not yet complete.
template <Scalar S>
struct ModelArchetype {
  using scalar_type = S;
  struct NoiseArchetype {
    static constexpr bool deterministic = false;
    void fill(Matrix<S>&);
  };
  struct Drift {
    S operator()(std::size_t) const;
  };
  std::size_t neurons() const;
  S temperature() const;
  NoiseArchetype& noise();
  void prepare(const Matrix<S>&, ForceWorkspace<S>&) const;
  void products(ForceWorkspace<S>&) const;
  Drift drift_terms(const ForceWorkspace<S>&) const;
  void energies(ForceWorkspace<S>&) const;
};

template <class P, class S>
concept sampler_has_advance = requires(P& p, ModelArchetype<S>& m, Chains<S>& x, std::size_t steps) {
  p.advance(m, x, steps, NoObserver{});
};

template <class P>
concept sampler_has_time_step = requires(P& p, const P& cp, double dt) {
  p.set_time_step(dt);
  { cp.time_step() } -> std::convertible_to<double>;
};

}  // namespace detail

/// `s.advance(model, chains, steps, observer)` moves every chain forward `steps` steps and
/// calls `observer(step, chains.states())` after each (step counts from 1); `time_step()` and
/// `set_time_step(dt)`: its Δt (a machine sets it from `Hyperparameters::time_step`). Plus
/// `seed`, `state`, `set_state` for any random stream of its own (empty for samplers without
/// one).
template <class P, class S>
concept Sampler = std::copy_constructible<P> && detail::sampler_has_advance<P, S> &&
                  detail::sampler_has_time_step<P> && detail::has_engine_state<P>;

namespace detail {

template <class P, class S>
consteval bool diagnose_sampler() {
  static_assert(std::copy_constructible<P>,
                "nlm: a Sampler policy must be copy-constructible (the machine stores it by value).");
  if constexpr (requires { typename P::scalar_type; })
    static_assert(std::is_same_v<typename P::scalar_type, S>,
                  "nlm: this sampler keeps chains of another scalar type than the machine's: give it the "
                  "machine's scalar (ParallelTempering<Inner, S>).");
  static_assert(sampler_has_advance<P, S>,
                "nlm: a Sampler policy needs `template <nlm::DriftModel M, class Observer> void "
                "advance(M& model, nlm::Chains<S>& chains, std::size_t steps, Observer&& observer)`.");
  static_assert(sampler_has_time_step<P>,
                "nlm: a Sampler policy needs `void set_time_step(double)` and `double time_step() "
                "const` (its step, dt).");
  static_assert(has_engine_state<P>,
                "nlm: a Sampler policy needs `void seed(std::uint64_t)`, `std::vector<std::uint64_t> "
                "state() const` and `void set_state(std::span<const std::uint64_t>)` (empty state "
                "if it draws no random numbers of its own).");
  return Sampler<P, S>;
}

}  // namespace detail
}  // namespace nlm
