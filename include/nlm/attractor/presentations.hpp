/// @file presentations.hpp
/// @brief The attractor network's training loop: patterns presented one after another as the
/// field b = s ξ (s the evidence level) for a number of synchronous updates each, with the
/// learning rule after every update; the chains' state carries over between presentations.
///
/// An update is one synchronous step and one step of the rule; an epoch is one pass over the K
/// patterns (K × `steps_per_presentation` updates). Patterns come in order (ξ¹, ξ², …, the
/// sequence protocol) or drawn uniformly at each presentation from the training state's
/// shuffle stream (`random_order`), so a resumed state draws the same patterns. Callbacks as in
/// `train`: on_begin, on_signal, on_step, on_update, on_epoch_end, on_interrupt, on_end.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "../training/train.hpp"
#include "../training/training_state.hpp"
#include "attractor_learner.hpp"

namespace nlm {

struct PresentationOptions {
  double evidence = 1.0;                  ///< s: b = s ξ
  std::size_t steps_per_presentation = 1; ///< updates per presentation
  bool random_order = false;              ///< a uniformly drawn pattern per presentation
  /// Each presentation starts from σ = 0 (the reference's capacity study resets the state every
  /// epoch; its other simulations carry the state over, the default).
  bool reset_state = false;
};

/// Presents the rows of `patterns` (K × N, finite) to `learner` from `state`; see the file's
/// comment. `options.epochs` passes (or `max_updates` updates) in all.
template <class Learner, class... Callbacks>
TrainingState learn_presentations(Learner& learner, const Matrix<typename Learner::scalar_type>& patterns,
                                  const TrainingOptions& options, const PresentationOptions& present,
                                  TrainingState state, Callbacks&&... callbacks) {
  using S = typename Learner::scalar_type;
  const std::size_t n = learner.neurons(), k = patterns.shape(0), steps = present.steps_per_presentation;
  const char* who = "learn_presentations";
  if (patterns.shape(1) != n)
    throw std::invalid_argument(std::string(who) + ": the patterns have " + std::to_string(patterns.shape(1)) +
                                " columns, the network has " + std::to_string(n) + " units");
  if (k == 0) throw std::invalid_argument(std::string(who) + ": no patterns");
  if (steps == 0) throw std::invalid_argument(std::string(who) + ": steps_per_presentation must be > 0");
  if (!std::isfinite(present.evidence))
    throw std::invalid_argument(std::string(who) + ": the evidence level s must be finite, got " +
                                std::to_string(present.evidence));
  for (std::size_t i = 0; i < patterns.size(); ++i)
    if (!std::isfinite(patterns.data()[i]))
      throw std::invalid_argument(std::string(who) + ": pattern " + std::to_string(i / n) +
                                  " has a non-finite value at unit " + std::to_string(i % n));
  const std::uint64_t checksum = detail::data_checksum(patterns);
  const std::size_t per_epoch = k * steps;
  if (state.started) {
    if (state.batches_per_epoch != per_epoch)
      throw std::invalid_argument(std::string(who) + ": the state to resume has " +
                                  std::to_string(state.batches_per_epoch) + " updates per epoch, these patterns " +
                                  std::to_string(per_epoch));
    if (state.data_checksum != 0 && state.data_checksum != checksum)
      throw std::invalid_argument(std::string(who) + ": the state to resume was trained on other patterns");
  } else {
    state.started = true;
    state.batches_per_epoch = per_epoch;
    state.data_images = k;
    state.data_checksum = checksum;
    state.order.resize(k);
    std::iota(state.order.begin(), state.order.end(), std::uint32_t{0});
  }
  const std::uint64_t by_epochs =
      options.epochs >= std::uint64_t(-1) / per_epoch ? ~std::uint64_t{0} : std::uint64_t(options.epochs) * per_epoch;
  state.planned_updates = options.max_updates == 0 ? by_epochs : std::min<std::uint64_t>(by_epochs, options.max_updates);

  Vector<S> b = Vector<S>::from_shape({n});
  // The pattern being presented is order[0]; order stays a permutation of the K patterns (the
  // training state's invariant, checked when a checkpoint is read).
  const auto present_pattern = [&](std::size_t p) {
    std::iota(state.order.begin(), state.order.end(), std::uint32_t{0});
    std::swap(state.order[0], state.order[p]);
    for (std::size_t i = 0; i < n; ++i) b(i) = S(present.evidence) * patterns(p, i);
    learner.set_field(b);
  };
  const auto start_presentation = [&](std::size_t p) {
    present_pattern(p);
    if (present.reset_state) learner.chains().states().fill(S(0));
  };
  if (state.order.size() != k) throw std::invalid_argument(std::string(who) + ": the state's order is not of these patterns");
  if (state.batch % steps != 0) present_pattern(state.order[0]);  // resumed mid-presentation
  detail::SignalGuard guard(options.handle_signals);
  (detail::call_on_begin(callbacks, learner, state), ...);
  while (state.updates < state.planned_updates && state.epoch < options.epochs) {
    if (state.batch == 0) state.epoch_signal_sum = 0;
    if (state.batch % steps == 0)  // a new presentation
      start_presentation(present.random_order ? std::size_t(state.shuffle() % k) : state.batch / steps);
    learner.set_learning_rate_scale(options.learning_rate_scale(state.updates + 1, state.planned_updates));
    learner.compute_signal();
    if (detail::finish_update(learner, state, options.handle_signals, "learning", callbacks...)) break;
  }
  learner.set_learning_rate_scale(1.0);
  (detail::call_on_end(callbacks, learner, state), ...);
  return state;
}

/// From a fresh state.
template <class Learner, class... Callbacks>
TrainingState learn_presentations(Learner& learner, const Matrix<typename Learner::scalar_type>& patterns,
                                  const TrainingOptions& options, const PresentationOptions& present = {},
                                  Callbacks&&... callbacks) {
  return learn_presentations(learner, patterns, options, present, TrainingState(),
                             std::forward<Callbacks>(callbacks)...);
}

}  // namespace nlm
