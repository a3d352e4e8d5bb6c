/// @file train.hpp
/// @brief Training with persistent chains over shuffled mini-batches, with callbacks
/// composed at the call site (ensmallen style): `nlm::train(machine, data, options,
/// ProgressBar(), PeriodicCheckpoint("run.ckpt", 100))`.
///
/// Each callback may define any of these hooks (all optional; a hook returning `true` stops
/// training after the current update):
/// - `on_begin(machine, state)`
/// - `on_batch(machine, batch, rows, state)` with the mini-batch just gathered (`rows`: the
///   data rows it holds, in order), before its statistics are taken: the place to fill units
///   the data do not specify (training/callbacks/latent_data_phase.hpp); it may change `batch`
/// - `on_signal(machine, signal, state)` when an update's learning signal (M − D and the
///   field's, `machine.learning_signal()`) is computed, before it becomes a step: the place to
///   reduce it across processes (it may change the signal)
/// - `on_step(machine, step, state)` with the step about to be applied (J ← J − step, after
///   the step rule and the regularizer's term; `machine.field_step()` for b), before J
///   changes: the place to record update statistics
/// - `on_update(machine, state)` after every update
/// - `on_epoch_end(machine, state)` after the last update of an epoch (after `on_update`; the
///   state has already moved to the next epoch, and `state.curve.back()` is the one that ended)
/// - `on_end(machine, state)` when training stops normally
/// - `on_interrupt(machine, state)` on SIGINT/SIGTERM, before `nlm::interrupted` is thrown
#pragma once

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "../detail/checksum.hpp"
#include "../detail/random.hpp"
#include "../errors.hpp"
#include "../types.hpp"
#include "training_state.hpp"

namespace nlm {
namespace detail {

inline std::atomic<int>& pending_signal() {
  static std::atomic<int> s{0};
  return s;
}

/// Installs SIGINT/SIGTERM handlers that only raise a flag, restoring the previous handlers
/// on destruction: the training loop polls the flag between updates, so a checkpoint is never
/// written from inside a signal handler and never torn.
class SignalGuard {
 public:
  explicit SignalGuard(bool active) : active_(active) {
    if (!active_) return;
    pending_signal().store(0);
    previous_int_ = std::signal(SIGINT, &SignalGuard::handle);
    previous_term_ = std::signal(SIGTERM, &SignalGuard::handle);
  }
  ~SignalGuard() {
    if (!active_) return;
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  static void handle(int sig) { pending_signal().store(sig); }
  bool active_;
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

template <class Callback, class Machine>
bool call_on_update(Callback& c, Machine& m, const TrainingState& s) {
  if constexpr (requires { { c.on_update(m, s) } -> std::convertible_to<bool>; })
    return c.on_update(m, s);
  else if constexpr (requires { c.on_update(m, s); })
    return c.on_update(m, s), false;
  else
    return false;
}
template <class Callback, class Machine>
bool call_on_epoch_end(Callback& c, Machine& m, const TrainingState& s) {
  if constexpr (requires { { c.on_epoch_end(m, s) } -> std::convertible_to<bool>; })
    return c.on_epoch_end(m, s);
  else if constexpr (requires { c.on_epoch_end(m, s); })
    return c.on_epoch_end(m, s), false;
  else
    return false;
}
template <class Callback, class Machine, class Signal>
void call_on_signal(Callback& c, Machine& m, Signal& signal, const TrainingState& s) {
  if constexpr (requires { c.on_signal(m, signal, s); }) c.on_signal(m, signal, s);
}
template <class Callback, class Machine, class Step>
void call_on_step(Callback& c, Machine& m, const Step& step, const TrainingState& s) {
  if constexpr (requires { c.on_step(m, step, s); }) c.on_step(m, step, s);
}
template <class Callback, class Machine, class Batch>
void call_on_batch(Callback& c, Machine& m, Batch& batch, std::span<const std::uint32_t> rows, const TrainingState& s) {
  if constexpr (requires { c.on_batch(m, batch, rows, s); }) c.on_batch(m, batch, rows, s);
}
template <class Callback, class Machine>
void call_on_begin(Callback& c, Machine& m, const TrainingState& s) {
  if constexpr (requires { c.on_begin(m, s); }) c.on_begin(m, s);
}
template <class Callback, class Machine>
void call_on_end(Callback& c, Machine& m, const TrainingState& s) {
  if constexpr (requires { c.on_end(m, s); }) c.on_end(m, s);
}
template <class Callback, class Machine>
void call_on_interrupt(Callback& c, Machine& m, const TrainingState& s) {
  if constexpr (requires { c.on_interrupt(m, s); }) c.on_interrupt(m, s);
}

/// FNV-1a over the bytes of `data` (tens of milliseconds for MNIST, once per `train` call);
/// never 0, which means "not recorded".
template <Scalar S>
std::uint64_t data_checksum(const Matrix<S>& data) {
  const std::uint64_t h =
      fnv1a(std::string_view(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(S)));
  return h == 0 ? 1 : h;
}

inline std::string hex64(std::uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

template <Scalar S>
void gather_rows(const Matrix<S>& data, const std::uint32_t* rows, Matrix<S>& batch) {
  const std::size_t cols = data.shape(1);
  for (std::size_t r = 0; r < batch.shape(0); ++r)
    std::copy_n(data.data() + std::size_t(rows[r]) * cols, cols, batch.data() + r * cols);
}

/// The rest of an update once `machine` holds its learning signal: on_signal, the step and
/// on_step, J ← J − step, the counters (an epoch is closed before any callback sees the
/// state), on_update and on_epoch_end, and a pending SIGINT/SIGTERM (on_interrupt, then
/// `interrupted` naming `what`). Returns whether a callback asked to stop. Shared by `train`
/// and `learn_sequence`.
template <class Machine, class... Callbacks>
bool finish_update(Machine& machine, TrainingState& state, bool handle_signals, const char* what,
                   Callbacks&... callbacks) {
  {
    [[maybe_unused]] auto signal = machine.learning_signal();  // references into the machine: no copy
    (call_on_signal(callbacks, machine, signal, state), ...);
  }
  state.signal_mean_square = machine.compute_step();
  (call_on_step(callbacks, machine, machine.step(), state), ...);
  machine.apply_step();
  state.epoch_signal_sum += state.signal_mean_square;
  ++state.updates;
  ++state.batch;
  const bool epoch_ended = state.batch == state.batches_per_epoch;
  if (epoch_ended) {  // close the epoch before any callback sees (or saves) the state
    state.curve.push_back({state.epoch + 1, state.updates, state.epoch_signal_sum / double(state.batch)});
    state.batch = 0;
    ++state.epoch;
  }
  bool stop = (call_on_update(callbacks, machine, state) | ... | false);
  if (epoch_ended) stop = (call_on_epoch_end(callbacks, machine, state) | ... | stop);
  // Without handle_signals the flag is left for whoever installed the handler (nlm/distributed
  // agrees on it across processes first).
  if (const int sig = handle_signals ? pending_signal().exchange(0) : 0; sig != 0) {
    (call_on_interrupt(callbacks, machine, state), ...);
    throw interrupted(std::string(what) + " interrupted by signal " + std::to_string(sig) + " after update " +
                      std::to_string(state.updates));
  }
  return stop;
}

}  // namespace detail

/// A fresh state for `machine`'s seed (the shuffle stream is derived from it).
template <class Machine>
TrainingState initial_training_state(const Machine& machine) {
  TrainingState s;
  s.shuffle.reseed(detail::derive_seed(machine.hyperparameters().seed, 3));
  return s;
}

/// Trains `machine` on `data` (one image per row, N columns) from `state` (a fresh state or
/// one loaded from a checkpoint), returning the state at the end. Mini-batches are
/// `batch_size` rows of a fresh permutation each epoch; the last partial batch is dropped.
template <class Machine, class... Callbacks>
TrainingState train(Machine& machine, const Matrix<typename Machine::scalar_type>& data,
                    const TrainingOptions& options, TrainingState state,
                    Callbacks&&... callbacks) {
  using S = typename Machine::scalar_type;
  const auto& hp = machine.hyperparameters();
  if (data.shape(1) != hp.neurons)
    throw std::invalid_argument("train: the data have " + std::to_string(data.shape(1)) +
                                " columns, the machine has " + std::to_string(hp.neurons) +
                                " neurons");
  // A slice of larger mini-batches (TrainingOptions::batch_slice): `batch_rows` rows drawn per
  // update, this machine's rows start at `offset` within them.
  const auto& slice = options.batch_slice;
  const std::size_t batch_rows = slice.drawn != 0 ? slice.drawn : hp.batch_size;
  const std::size_t offset = slice.drawn != 0 ? slice.first : 0;
  if (offset > batch_rows || hp.batch_size > batch_rows - offset)
    throw std::invalid_argument("train: the batch slice's rows " + std::to_string(offset) + " to " +
                                std::to_string(offset + hp.batch_size) + " are not within the " +
                                std::to_string(batch_rows) + " rows drawn per batch");
  if (data.shape(0) < batch_rows)
    throw std::invalid_argument("train: batch_size (b_size) " + std::to_string(batch_rows) +
                                " exceeds the " + std::to_string(data.shape(0)) +
                                " training images");
  if (data.shape(0) > std::size_t(UINT32_MAX))
    throw std::invalid_argument("train: more than 2^32 training images");
  for (std::size_t i = 0; i < data.size(); ++i)
    if (!std::isfinite(data.data()[i]))
      throw std::invalid_argument("train: the data contain a non-finite value (image " +
                                  std::to_string(i / hp.neurons) + ", pixel " +
                                  std::to_string(i % hp.neurons) + ")");

  state.batches_per_epoch = data.shape(0) / batch_rows;
  if (state.started && state.order.size() != data.shape(0))
    throw std::invalid_argument("train: the state to resume shuffles " +
                                std::to_string(state.order.size()) + " images, the data have " +
                                std::to_string(data.shape(0)));
  const std::uint64_t checksum = detail::data_checksum(data);
  if (state.started && state.data_checksum != 0 && state.data_checksum != checksum)
    throw std::invalid_argument("train: the state to resume was trained on other data: data checksum " +
                                detail::hex64(state.data_checksum) + " in the state, " +
                                detail::hex64(checksum) + " for these " +
                                std::to_string(data.shape(0)) + " images");
  if (!state.started || state.data_checksum == 0) {
    state.data_images = data.shape(0);
    state.data_checksum = checksum;
  }
  if (state.started && state.batch > state.batches_per_epoch)
    throw std::invalid_argument("train: the state to resume is at batch " + std::to_string(state.batch) +
                                " of an epoch of " + std::to_string(state.batches_per_epoch) + " batches");
  if (state.started && state.batch == state.batches_per_epoch) {
    // Checkpoints before format 4 could be written at an epoch's end before the epoch was
    // closed (batch == batches_per_epoch): close it now.
    state.batch = 0;
    ++state.epoch;
  }
  const std::uint64_t by_epochs =
      options.epochs >= std::uint64_t(-1) / std::max<std::size_t>(state.batches_per_epoch, 1)
          ? ~std::uint64_t{0}
          : std::uint64_t(options.epochs) * state.batches_per_epoch;
  state.planned_updates =
      options.max_updates == 0 ? by_epochs : std::min<std::uint64_t>(by_epochs, options.max_updates);
  if (!(options.anneal_fraction >= 0.0 && options.anneal_fraction <= 1.0))
    throw std::invalid_argument("train: anneal_fraction must be in [0, 1], got " +
                                std::to_string(options.anneal_fraction));
  if (options.anneal_fraction > 0.0 && state.planned_updates == ~std::uint64_t{0})
    throw std::invalid_argument("train: anneal_fraction needs a finite run (epochs or max_updates)");

  Matrix<S> batch = Matrix<S>::from_shape({hp.batch_size, hp.neurons});
  detail::SignalGuard guard(options.handle_signals);
  (detail::call_on_begin(callbacks, machine, state), ...);

  while (state.updates < state.planned_updates && state.epoch < options.epochs) {
    if (!state.started || state.batch == 0) {
      if (!state.started) {
        state.order.resize(data.shape(0));
        state.started = true;
      }
      std::iota(state.order.begin(), state.order.end(), std::uint32_t{0});
      for (std::size_t i = state.order.size() - 1; i > 0; --i) {
        const std::size_t j = std::size_t(state.shuffle() % (i + 1));
        std::swap(state.order[i], state.order[j]);
      }
      state.epoch_signal_sum = 0;
    }
    const std::uint32_t* first_row = state.order.data() + state.batch * batch_rows + offset;
    detail::gather_rows(data, first_row, batch);
    {
      const std::span<const std::uint32_t> rows(first_row, hp.batch_size);
      (detail::call_on_batch(callbacks, machine, batch, rows, state), ...);
    }
    machine.set_learning_rate_scale(options.learning_rate_scale(state.updates + 1, state.planned_updates));
    // machine.update(batch), with the hooks between its parts
    machine.compute_signal(batch);
    const bool stop = detail::finish_update(machine, state, options.handle_signals, "training", callbacks...);
    if (stop) break;
  }
  machine.set_learning_rate_scale(1.0);
  (detail::call_on_end(callbacks, machine, state), ...);
  return state;
}

/// Trains from a fresh state.
template <class Machine, class... Callbacks>
TrainingState train(Machine& machine, const Matrix<typename Machine::scalar_type>& data,
                    const TrainingOptions& options, Callbacks&&... callbacks) {
  return train(machine, data, options, initial_training_state(machine),
               std::forward<Callbacks>(callbacks)...);
}

}  // namespace nlm
