/// @file sequence.hpp
/// @brief Sequence learning: the time-shifted delta rule over a cyclic sequence of patterns
/// ξ¹ → ξ² → … → ξᴷ → ξ¹, on a machine's couplings, with `train`'s callbacks.
///
/// Presentation t (one update) makes the synaptic current of pattern t point at its target
/// y = γ ξ^{t+1} + (1 − γ) ξ^t:
/// \f[ \Delta J = k\,(y - J\phi(\xi^t) - b)\,\phi(\xi^t)^\top,\qquad \Delta b = k\,(y - J\phi(\xi^t) - b) \f]
/// the gradient step of ½‖y − Jφ(ξ^t) − b‖²: the NLM's data statistic with the target shifted
/// one step in time (γ = 1, the default), or mixing storage in (γ < 1; γ = 0 stores the
/// patterns as fixed points). The signal goes through the machine's learning seam: its step
/// rule (k = `learning_rate`, the schedule), its regularizer and its backend, so the callbacks
/// of `train` (progress, checkpoints, update statistics, time limits) work unchanged, and a
/// checkpoint resumes the run bit for bit. There is no model phase: the persistent chains are
/// not touched. `RecurrentNetwork::of(machine, T)` then replays the sequence.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "../types.hpp"
#include "train.hpp"
#include "training_state.hpp"

namespace nlm {

struct SequenceOptions {
  double next_weight = 1.0;  ///< γ: the target's weight on the next pattern (1: pure sequence)
};

namespace detail {

template <class Machine>
void sequence_signal(Machine& machine, const Matrix<typename Machine::scalar_type>& patterns, std::size_t t,
                     double gamma, Matrix<typename Machine::scalar_type>& x, Matrix<typename Machine::scalar_type>& phi,
                     Matrix<typename Machine::scalar_type>& r, Matrix<typename Machine::scalar_type>& y) {
  using S = typename Machine::scalar_type;
  const std::size_t k = patterns.shape(0), n = patterns.shape(1);
  const S* now = patterns.data() + t * n;
  const S* next = patterns.data() + ((t + 1) % k) * n;
  std::copy_n(now, n, x.data());
  const S g = S(gamma);
  for (std::size_t i = 0; i < n; ++i) y.data()[i] = g * next[i] + (S(1) - g) * now[i];
  machine.activation().value(x, phi);
  const auto& c = machine.parameters();
  c.start_residual(y.data(), r.data(), 0, n);  // b − y
  c.drive(phi, r);                             // + Jφ: R = Jφ(ξ^t) + b − y
  auto signal = machine.learning_signal();
  c.correlate(r, phi, signal.couplings, S(1), S(0));  // R φᵀ: J ← J − k R φᵀ
  if (machine.hyperparameters().learn_field)
    for (std::size_t i = 0; i < n; ++i) signal.field(i) = r(0, i);
}

}  // namespace detail

/// Learns the cycle of `patterns` (one pattern per row, K ≥ 2 rows, N columns) on `machine`
/// from `state` (fresh, or loaded from a checkpoint of this run): one update per presented
/// transition, in order; an epoch is one pass round the cycle (K updates). Callbacks as in
/// `train`: on_begin, on_signal, on_step, on_update, on_epoch_end, on_interrupt, on_end
/// (on_batch is not called: there is no mini-batch).
template <class Machine, class... Callbacks>
TrainingState learn_sequence(Machine& machine, const Matrix<typename Machine::scalar_type>& patterns,
                             const TrainingOptions& options, const SequenceOptions& sequence, TrainingState state,
                             Callbacks&&... callbacks) {
  using S = typename Machine::scalar_type;
  const std::size_t n = machine.neurons(), k = patterns.shape(0);
  if (patterns.shape(1) != n)
    throw std::invalid_argument("learn_sequence: the patterns have " + std::to_string(patterns.shape(1)) +
                                " columns, the machine has " + std::to_string(n) + " neurons");
  if (k < 2) throw std::invalid_argument("learn_sequence: a sequence needs at least 2 patterns, got " + std::to_string(k));
  if (!(sequence.next_weight >= 0.0 && sequence.next_weight <= 1.0))
    throw std::invalid_argument("learn_sequence: next_weight (gamma) must be in [0, 1], got " +
                                std::to_string(sequence.next_weight));
  for (std::size_t i = 0; i < patterns.size(); ++i)
    if (!std::isfinite(patterns.data()[i]))
      throw std::invalid_argument("learn_sequence: pattern " + std::to_string(i / n) + " has a non-finite value at neuron " +
                                  std::to_string(i % n));
  const std::uint64_t checksum = detail::data_checksum(patterns);
  if (state.started) {
    if (state.batches_per_epoch != k)
      throw std::invalid_argument("learn_sequence: the state to resume has " + std::to_string(state.batches_per_epoch) +
                                  " transitions per cycle, the sequence " + std::to_string(k));
    if (state.data_checksum != 0 && state.data_checksum != checksum)
      throw std::invalid_argument("learn_sequence: the state to resume was trained on another sequence: checksum " +
                                  detail::hex64(state.data_checksum) + " in the state, " + detail::hex64(checksum) +
                                  " for these " + std::to_string(k) + " patterns");
  } else {
    state.started = true;
    state.batches_per_epoch = k;
    state.order.resize(k);
    std::iota(state.order.begin(), state.order.end(), std::uint32_t{0});
    state.data_images = k;
    state.data_checksum = checksum;
  }
  const std::uint64_t by_epochs = options.epochs >= std::uint64_t(-1) / k ? ~std::uint64_t{0}
                                                                          : std::uint64_t(options.epochs) * k;
  state.planned_updates = options.max_updates == 0 ? by_epochs : std::min<std::uint64_t>(by_epochs, options.max_updates);
  if (!(options.anneal_fraction >= 0.0 && options.anneal_fraction <= 1.0))
    throw std::invalid_argument("learn_sequence: anneal_fraction must be in [0, 1], got " +
                                std::to_string(options.anneal_fraction));

  Matrix<S> x = Matrix<S>::from_shape({1, n}), phi = x, r = x, y = x;
  detail::SignalGuard guard(options.handle_signals);
  (detail::call_on_begin(callbacks, machine, state), ...);
  while (state.updates < state.planned_updates && state.epoch < options.epochs) {
    if (state.batch == 0) state.epoch_signal_sum = 0;
    machine.set_learning_rate_scale(options.learning_rate_scale(state.updates + 1, state.planned_updates));
    detail::sequence_signal(machine, patterns, state.batch, sequence.next_weight, x, phi, r, y);
    const bool stop = detail::finish_update(machine, state, options.handle_signals, "sequence learning", callbacks...);
    if (stop) break;
  }
  machine.set_learning_rate_scale(1.0);
  (detail::call_on_end(callbacks, machine, state), ...);
  return state;
}

/// From a fresh state.
template <class Machine, class... Callbacks>
TrainingState learn_sequence(Machine& machine, const Matrix<typename Machine::scalar_type>& patterns,
                             const TrainingOptions& options, const SequenceOptions& sequence = {},
                             Callbacks&&... callbacks) {
  return learn_sequence(machine, patterns, options, sequence, TrainingState(), std::forward<Callbacks>(callbacks)...);
}

}  // namespace nlm
