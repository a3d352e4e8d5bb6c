/// @file presentations.hpp
/// @brief The least-action model's loops: supervised presentations (a batch of inputs with its
/// targets held for a number of steps, faded in smoothly from the previous batch as the
/// reference does), prediction with the plasticity off, and time series (one target row per
/// step, the recording repeated each epoch).
///
/// An update is one time step (the learning seam once); an epoch is ⌊K / batch⌋ presentations
/// of `steps` updates each (a partial batch is dropped), the rows in a fresh permutation each
/// epoch from the training state's shuffle stream, or one pass over a recording's T rows. The
/// cross-fade's start (the input and target the network saw when a presentation began) is part of
/// the neurons' state, so a checkpoint written mid-presentation resumes bit for bit. Callbacks as
/// in `train`: on_begin, on_signal, on_step, on_update, on_epoch_end, on_interrupt, on_end.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "../training/train.hpp"
#include "../training/training_state.hpp"
#include "lagrangian_learner.hpp"

namespace nlm {

struct LagrangianPresentation {
  std::size_t steps = 100;  ///< updates per presented batch (the reference: 100 = 10 τ)
  bool cross_fade = true;   ///< fade from the previous batch: x = x_old + (x_new − x_old) σ(s/4), s from −20 to 90
};

namespace detail {

/// The reference's fade weight at step k of `steps`: σ(s/4), s = −20 + 110 k / (steps − 1).
inline double cross_fade_weight(std::size_t k, std::size_t steps) noexcept {
  if (steps <= 1) return 1.0;
  const double s = -20.0 + 110.0 * double(k) / double(steps - 1);
  return 1.0 / (1.0 + std::exp(-s / 4.0));
}

/// Puts the learner's plasticity switch and nudging back, and its rate scale to 1, when a loop
/// ends — also by an exception (Ctrl-C, a numerical error).
template <class Learner>
struct KeepLearnerSettings {
  explicit KeepLearnerSettings(Learner& learner)
      : l(learner), plastic(learner.plasticity()), beta(learner.state().beta) {}
  ~KeepLearnerSettings() {
    l.set_plasticity(plastic);
    l.state().beta = beta;
    l.set_learning_rate_scale(1.0);
  }
  KeepLearnerSettings(const KeepLearnerSettings&) = delete;
  KeepLearnerSettings& operator=(const KeepLearnerSettings&) = delete;
  Learner& l;
  bool plastic;
  Vector<typename Learner::scalar_type> beta;
};

template <class S>
void require_finite_rows(const Matrix<S>& m, const char* who, const char* what) {
  for (std::size_t k = 0; k < m.size(); ++k)
    if (!std::isfinite(m.data()[k]))
      throw std::invalid_argument(std::string(who) + ": the " + what + " have a non-finite value at row " +
                                  std::to_string(k / m.shape(1)) + ", column " + std::to_string(k % m.shape(1)));
}

/// Sets the learner's input and target for step k of a presentation of `x`, `t` (batch rows each):
/// at k = 0 the current ones become the fade's start.
template <class Learner, class S = typename Learner::scalar_type>
void present_step(Learner& l, const Matrix<S>& x, const Matrix<S>* t, std::size_t k, const LagrangianPresentation& p,
                  Matrix<S>& xs, Matrix<S>& ts) {
  NeuronState<S>& st = l.state();
  if (k == 0) {
    const bool fresh = !st.has_previous || st.input.shape(0) != x.shape(0);
    st.fade_input = fresh ? x : st.input;
    if (t != nullptr) st.fade_target = fresh ? *t : st.target;
  }
  const S w = S(p.cross_fade ? cross_fade_weight(k, p.steps) : 1.0);
  xs = x;
  for (std::size_t i = 0; i < x.size(); ++i)
    xs.data()[i] = st.fade_input.data()[i] + (x.data()[i] - st.fade_input.data()[i]) * w;
  l.set_input(xs);
  if (t != nullptr) {
    ts = *t;
    for (std::size_t i = 0; i < t->size(); ++i)
      ts.data()[i] = st.fade_target.data()[i] + (t->data()[i] - st.fade_target.data()[i]) * w;
    l.set_target(ts);
  }
}

/// The loop both learning entry points share: `options`' epochs of `per_epoch` steps from
/// `state`, the plasticity on and the learner's β on every output, `next_step(state)` setting the
/// step's input and target before each step; the learner's plasticity switch and nudging are
/// restored and its rate scale reset to 1 at the end, also when an exception ends the loop.
template <class Learner, class NextStep, class... Callbacks>
TrainingState lagrangian_loop(Learner& learner, std::size_t per_epoch, const TrainingOptions& options, TrainingState state,
                              NextStep&& next_step, Callbacks&... callbacks) {
  const std::uint64_t by_epochs =
      options.epochs >= std::uint64_t(-1) / per_epoch ? ~std::uint64_t{0} : std::uint64_t(options.epochs) * per_epoch;
  state.planned_updates = options.max_updates == 0 ? by_epochs : std::min<std::uint64_t>(by_epochs, options.max_updates);
  KeepLearnerSettings keep(learner);
  learner.set_plasticity(true);
  learner.set_nudging(learner.hyperparameters().beta);
  SignalGuard guard(options.handle_signals);
  (call_on_begin(callbacks, learner, state), ...);
  while (state.updates < state.planned_updates && state.epoch < options.epochs) {
    next_step(state);
    learner.set_learning_rate_scale(options.learning_rate_scale(state.updates + 1, state.planned_updates));
    learner.compute_signal();
    if (finish_update(learner, state, options.handle_signals, "learning", callbacks...)) break;
  }
  learner.set_learning_rate_scale(1.0);
  (call_on_end(callbacks, learner, state), ...);
  return state;
}

}  // namespace detail

/// Supervised learning: rows of `inputs` (K × inputs) with their `targets` (K × outputs), each
/// batch presented for `present.steps` updates with the plasticity on and the learner's β
/// (hyperparameters().beta) on every output. From `state` (fresh or from a checkpoint).
template <class Learner, class... Callbacks>
TrainingState learn_supervised(Learner& learner, const Matrix<typename Learner::scalar_type>& inputs,
                               const Matrix<typename Learner::scalar_type>& targets, const TrainingOptions& options,
                               const LagrangianPresentation& present, TrainingState state, Callbacks&&... callbacks) {
  using S = typename Learner::scalar_type;
  const char* who = "learn_supervised";
  const std::size_t k = inputs.shape(0), b = learner.hyperparameters().batch, steps = present.steps;
  const Topology& t = learner.topology();
  if (inputs.shape(1) != t.inputs())
    throw std::invalid_argument(std::string(who) + ": the inputs have " + std::to_string(inputs.shape(1)) +
                                " columns, the network has " + std::to_string(t.inputs()) + " input neurons");
  if (targets.shape(0) != k || targets.shape(1) != t.outputs())
    throw std::invalid_argument(std::string(who) + ": the targets must be " + std::to_string(k) + " x " +
                                std::to_string(t.outputs()) + " (one row per input, one column per output), got " +
                                std::to_string(targets.shape(0)) + " x " + std::to_string(targets.shape(1)));
  if (k < b)
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(k) + " samples do not fill one batch of " +
                                std::to_string(b));
  if (steps == 0) throw std::invalid_argument(std::string(who) + ": steps per presentation must be > 0");
  detail::require_finite_rows(inputs, who, "inputs");
  detail::require_finite_rows(targets, who, "targets");
  const std::uint64_t checksum = detail::data_checksum(inputs) ^ (detail::data_checksum(targets) * 0x9e3779b97f4a7c15ULL);
  const std::size_t per_epoch = (k / b) * steps;
  if (state.started) {
    if (state.batches_per_epoch != per_epoch || state.order.size() != k)
      throw std::invalid_argument(std::string(who) + ": the state to resume has " +
                                  std::to_string(state.batches_per_epoch) + " steps per epoch over " +
                                  std::to_string(state.order.size()) + " samples, these data " +
                                  std::to_string(per_epoch) + " over " + std::to_string(k));
    if (state.data_checksum != 0 && state.data_checksum != checksum)
      throw std::invalid_argument(std::string(who) + ": the state to resume was trained on other data");
  } else {
    state.batches_per_epoch = per_epoch;
    state.data_images = k;
    state.data_checksum = checksum;
  }
  Matrix<S> x = Matrix<S>::from_shape({b, t.inputs()}), y = Matrix<S>::from_shape({b, t.outputs()}), xs, ts;
  return detail::lagrangian_loop(learner, per_epoch, options, std::move(state), [&](TrainingState& st) {
    if (!st.started || st.batch == 0) {  // a new epoch: a fresh permutation
      if (!st.started) {
        st.order.resize(k);
        st.started = true;
      }
      std::iota(st.order.begin(), st.order.end(), std::uint32_t{0});
      for (std::size_t i = k - 1; i > 0; --i) std::swap(st.order[i], st.order[std::size_t(st.shuffle() % (i + 1))]);
      st.epoch_signal_sum = 0;
    }
    const std::uint32_t* rows = st.order.data() + (st.batch / steps) * b;
    for (std::size_t r = 0; r < b; ++r) {
      std::copy_n(inputs.data() + std::size_t(rows[r]) * inputs.shape(1), inputs.shape(1), x.data() + r * x.shape(1));
      std::copy_n(targets.data() + std::size_t(rows[r]) * targets.shape(1), targets.shape(1), y.data() + r * y.shape(1));
    }
    detail::present_step(learner, x, &y, st.batch % steps, present, xs, ts);
  }, callbacks...);
}

/// The output potentials after presenting each row of `inputs` (K × inputs) for `present.steps`
/// steps, in batches of the learner's batch size (the last one smaller), plasticity off and
/// β = 0; the learner's plasticity switch and nudging are restored afterwards (its potentials are
/// not: the network runs on, as the reference's does). K × outputs.
template <class Learner>
Matrix<typename Learner::scalar_type> predict(Learner& learner, const Matrix<typename Learner::scalar_type>& inputs,
                                              const LagrangianPresentation& present = {}) {
  using S = typename Learner::scalar_type;
  const Topology& t = learner.topology();
  const std::size_t k = inputs.shape(0), b = learner.hyperparameters().batch;
  if (inputs.shape(1) != t.inputs())
    throw std::invalid_argument("predict: the inputs have " + std::to_string(inputs.shape(1)) +
                                " columns, the network has " + std::to_string(t.inputs()) + " input neurons");
  if (present.steps == 0) throw std::invalid_argument("predict: steps per presentation must be > 0");
  detail::require_finite_rows(inputs, "predict", "inputs");
  detail::KeepLearnerSettings keep(learner);
  learner.set_plasticity(false);
  learner.set_nudging(0.0);
  Matrix<S> out = Matrix<S>::from_shape({k, t.outputs()}), x, xs, ts;
  for (std::size_t r0 = 0; r0 < k; r0 += b) {
    const std::size_t rows = std::min(b, k - r0);
    x = Matrix<S>::from_shape({rows, t.inputs()});
    std::copy_n(inputs.data() + r0 * t.inputs(), rows * t.inputs(), x.data());
    for (std::size_t s = 0; s < present.steps; ++s) {
      detail::present_step(learner, x, static_cast<const Matrix<S>*>(nullptr), s, present, xs, ts);
      learner.update();
    }
    const Matrix<S> o = learner.output_potentials();
    std::copy_n(o.data(), o.size(), out.data() + r0 * t.outputs());
  }
  return out;
}

/// Learning a recording: row s of `targets` (T × outputs) is the outputs' target u* at step s
/// (and row s of `inputs`, T × inputs or empty without input neurons, the input), the plasticity
/// on and the learner's β on every output; an epoch is the T steps, the recording repeated.
/// The learner's batch must be 1.
template <class Learner, class... Callbacks>
TrainingState learn_trace(Learner& learner, const Matrix<typename Learner::scalar_type>& inputs,
                          const Matrix<typename Learner::scalar_type>& targets, const TrainingOptions& options,
                          TrainingState state, Callbacks&&... callbacks) {
  using S = typename Learner::scalar_type;
  const char* who = "learn_trace";
  const Topology& t = learner.topology();
  const std::size_t steps = targets.shape(0);
  if (learner.state().batch() != 1)
    throw std::invalid_argument(std::string(who) + ": a recording is one sample; the learner's batch is " +
                                std::to_string(learner.state().batch()));
  if (targets.shape(1) != t.outputs() || steps == 0)
    throw std::invalid_argument(std::string(who) + ": the recording has " + std::to_string(targets.shape(1)) +
                                " channels and " + std::to_string(steps) + " steps; the network has " +
                                std::to_string(t.outputs()) + " output neurons");
  if (t.inputs() > 0 && (inputs.shape(0) != steps || inputs.shape(1) != t.inputs()))
    throw std::invalid_argument(std::string(who) + ": the inputs must be " + std::to_string(steps) + " x " +
                                std::to_string(t.inputs()));
  detail::require_finite_rows(targets, who, "targets");
  if (t.inputs() > 0) detail::require_finite_rows(inputs, who, "inputs");
  const std::uint64_t checksum = detail::data_checksum(targets);
  if (state.started) {
    if (state.batches_per_epoch != steps)
      throw std::invalid_argument(std::string(who) + ": the state to resume has " +
                                  std::to_string(state.batches_per_epoch) + " steps per epoch, this recording " +
                                  std::to_string(steps));
    if (state.data_checksum != 0 && state.data_checksum != checksum)
      throw std::invalid_argument(std::string(who) + ": the state to resume was trained on another recording");
  } else {
    state.started = true;
    state.batches_per_epoch = steps;
    state.data_images = steps;
    state.data_checksum = checksum;
  }
  Matrix<S> x = Matrix<S>::from_shape({1, t.inputs()}), y = Matrix<S>::from_shape({1, t.outputs()});
  return detail::lagrangian_loop(learner, steps, options, std::move(state), [&](TrainingState& st) {
    if (st.batch == 0) st.epoch_signal_sum = 0;
    std::copy_n(targets.data() + st.batch * t.outputs(), t.outputs(), y.data());
    if (t.inputs() > 0) {
      std::copy_n(inputs.data() + st.batch * t.inputs(), t.inputs(), x.data());
      learner.set_input(x);
    }
    learner.set_target(y);
  }, callbacks...);
}

/// Runs a recording with the plasticity off and the given nudging per output (0: free), returning
/// the output potentials after each step (T × outputs). The learner's settings are restored.
template <class Learner>
Matrix<typename Learner::scalar_type> run_trace(Learner& learner, const Matrix<typename Learner::scalar_type>& inputs,
                                                const Matrix<typename Learner::scalar_type>& targets,
                                                const Vector<typename Learner::scalar_type>& nudging) {
  using S = typename Learner::scalar_type;
  const Topology& t = learner.topology();
  const std::size_t steps = targets.shape(0);
  if (learner.state().batch() != 1)
    throw std::invalid_argument("run_trace: a recording is one sample; the learner's batch is " +
                                std::to_string(learner.state().batch()));
  if (targets.shape(1) != t.outputs())
    throw std::invalid_argument("run_trace: the recording has " + std::to_string(targets.shape(1)) +
                                " channels, the network has " + std::to_string(t.outputs()) + " output neurons");
  if (t.inputs() > 0 && (inputs.shape(0) != steps || inputs.shape(1) != t.inputs()))
    throw std::invalid_argument("run_trace: the inputs must be " + std::to_string(steps) + " x " + std::to_string(t.inputs()));
  detail::require_finite_rows(targets, "run_trace", "targets");
  detail::KeepLearnerSettings keep(learner);
  learner.set_nudging(nudging);  // checked before anything changes
  learner.set_plasticity(false);
  Matrix<S> out = Matrix<S>::from_shape({steps, t.outputs()});
  Matrix<S> x = Matrix<S>::from_shape({1, t.inputs()}), y = Matrix<S>::from_shape({1, t.outputs()});
  const std::size_t o0 = t.neurons() - t.outputs();
  for (std::size_t s = 0; s < steps; ++s) {
    std::copy_n(targets.data() + s * t.outputs(), t.outputs(), y.data());
    if (t.inputs() > 0) {
      std::copy_n(inputs.data() + s * t.inputs(), t.inputs(), x.data());
      learner.set_input(x);
    }
    learner.set_target(y);
    learner.update();
    for (std::size_t o = 0; o < t.outputs(); ++o) out(s, o) = learner.potentials()(0, o0 + o);
  }
  return out;
}

}  // namespace nlm
