/// @file hyperparameters.hpp
/// @brief The machine's hyperparameters as named fields, validated on construction of the
/// machine; defaults are the paper's Table 1.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "detail/sizes.hpp"

namespace nlm {

/// Helpers shared by the groups' `validate`.
struct HyperparameterChecks {
 protected:
  static std::string show(double v) {
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
  }
  static void positive_count(const char* name, std::size_t v) {
    if (v == 0) throw std::invalid_argument(std::string("Hyperparameters: ") + name + " must be > 0, got 0");
  }
  static void below_one(const char* name, double v) {
    if (!(std::isfinite(v) && v >= 0.0 && v < 1.0))
      throw std::invalid_argument(std::string("Hyperparameters: ") + name + " must be in [0, 1), got " + show(v));
  }
  static void finite_at_least(const char* name, double v, double bound, bool inclusive) {
    const bool ok = std::isfinite(v) && (inclusive ? v >= bound : v > bound);
    if (!ok)
      throw std::invalid_argument(std::string("Hyperparameters: ") + name + " must be finite and " +
                                  (inclusive ? ">= " : "> ") + show(bound) + ", got " + show(v));
  }
};

/// What the model is: its size, its couplings' scale at initialisation, its temperature and
/// whether it has a field. Read by `Couplings` and the energy.
struct ModelParameters : HyperparameterChecks {
  std::size_t neurons = 784;       ///< N: neurons (pixels)
  double coupling_strength = 2.0;  ///< g: J_ij ~ N(0, g²/N) at initialisation
  double temperature = 1.0;        ///< T: the density is exp(−E/T)/Z
  /// Learn a field (bias) b with E(x) = ½‖x − Jφ(x) − b‖². Off in the paper, whose energy is
  /// even, E(−x) = E(x), so it generates inverted digits as often as real ones; a learned b
  /// breaks that symmetry.
  bool learn_field = false;

  void validate() const {
    positive_count("neurons (N)", neurons);
    finite_at_least("coupling_strength (g)", coupling_strength, 0.0, true);
    finite_at_least("temperature (T)", temperature, 0.0, true);
  }
};

/// How the model phase samples: the sampler's step, the steps per update and the persistent
/// chains. Read by the Sampler policy (Δt) and the persistent `Chains`.
struct SamplingParameters : HyperparameterChecks {
  double time_step = 0.01;               ///< Δt: the sampler's step
  std::size_t langevin_steps = 10;       ///< n_t: Langevin steps of the chains per update
  std::size_t persistent_chains = 1000;  ///< N_model: persistent model chains
  /// Fraction of the persistent chains restarted from N(0, I) before each update's model
  /// phase (0, the paper: chains persist for the whole run). Persistent chains only visit the
  /// states they already occupy, so a mode they never reach (such as a disordered,
  /// high-activity phase that chains started from noise fall into) is never pushed up by the
  /// model term; restarted chains bring such states into it (as the noise-restarted replay
  /// buffers of Du & Mordatch, 2019), drawn from the seed's initialisation stream.
  double chain_restart = 0.0;

  void validate() const {
    positive_count("langevin_steps (n_t)", langevin_steps);
    positive_count("persistent_chains (N_model)", persistent_chains);
    finite_at_least("time_step (dt)", time_step, 0.0, false);
    if (!(std::isfinite(chain_restart) && chain_restart >= 0.0 && chain_restart <= 1.0))
      throw std::invalid_argument("Hyperparameters: chain_restart must be in [0, 1], got " + show(chain_restart));
  }
};

/// How the learning signal becomes a step: the rate, the mini-batch and the step rule
/// (learning/step_rule.hpp). Read by the step rule and `train`.
struct LearningParameters : HyperparameterChecks {
  double learning_rate = 5e-4;  ///< k
  std::size_t batch_size = 1000;  ///< b_size: data mini-batch
  /// How the learning signal becomes a step. `plain` is the paper's J ← J − k(M − D);
  /// `adam` scales each coupling's step by Adam's running moments (Kingma & Ba, 2015) with
  /// the regularizer applied to the step afterwards (decoupled, as in AdamW). Read by the
  /// default step rule, `ConfiguredStep`; a machine given a step rule type ignores it.
  enum class StepRule { plain, adam };
  StepRule step_rule = StepRule::plain;
  double adam_beta1 = 0.9;     ///< Adam's first-moment decay (step_rule = adam)
  double adam_beta2 = 0.999;   ///< Adam's second-moment decay
  double adam_epsilon = 1e-8;  ///< Adam's denominator guard

  void validate() const {
    positive_count("batch_size (b_size)", batch_size);
    finite_at_least("learning_rate (k)", learning_rate, 0.0, false);
    if (step_rule == StepRule::adam) {
      below_one("adam_beta1", adam_beta1);
      below_one("adam_beta2", adam_beta2);
      finite_at_least("adam_epsilon", adam_epsilon, 0.0, false);
    }
  }
};

/// All of a machine's hyperparameters, grouped by what they configure: `model()`,
/// `sampling()`, `learning()` (each a base, so `hp.neurons`, `hp.time_step`, ... keep the
/// spec's names), plus the seed. The training length (epochs n) belongs to
/// `TrainingOptions`, the weight decay λ to the `WeightDecay` policy.
struct Hyperparameters : ModelParameters, SamplingParameters, LearningParameters {
  std::uint64_t seed = 0;  ///< fixes every random stream of a run

  ModelParameters& model() noexcept { return *this; }
  const ModelParameters& model() const noexcept { return *this; }
  SamplingParameters& sampling() noexcept { return *this; }
  const SamplingParameters& sampling() const noexcept { return *this; }
  LearningParameters& learning() noexcept { return *this; }
  const LearningParameters& learning() const noexcept { return *this; }

  /// Throws std::invalid_argument naming the first bad field and its value.
  void validate() const {
    ModelParameters::validate();
    SamplingParameters::validate();
    LearningParameters::validate();
  }
};

/// One hyperparameter as everything outside the struct names it: its key (the struct's field
/// and the checkpoint's), the paper's symbol, the examples' command-line option ("" where the
/// command line does not set it), a line of help, and whether a resume depends on it (the seed
/// and g only shape the initialisation, which a checkpoint replaces). `member` is the field.
template <auto Member>
struct HyperparameterField {
  static constexpr auto member = Member;
  using value_type = std::remove_cvref_t<decltype(std::declval<Hyperparameters&>().*Member)>;
  std::string_view key, symbol, option, help;
  bool resume_checked;

  /// "key (symbol)", as messages name it.
  std::string label() const {
    return symbol.empty() ? std::string(key) : std::string(key) + " (" + std::string(symbol) + ")";
  }
  /// The value as text (reals with 17 digits: it reads back to the same bits).
  std::string text(const Hyperparameters& h) const {
    const value_type& v = h.*Member;
    if constexpr (std::is_same_v<value_type, bool>) {
      return v ? "1" : "0";
    } else if constexpr (std::is_same_v<value_type, LearningParameters::StepRule>) {
      return v == LearningParameters::StepRule::adam ? "adam" : "plain";
    } else if constexpr (std::is_floating_point_v<value_type>) {
      std::ostringstream m;
      m.precision(17);
      m << v;
      return m.str();
    } else {
      return std::to_string(v);
    }
  }
  /// Sets the field from `text`; std::invalid_argument saying what the text is not.
  void parse(Hyperparameters& h, const std::string& t) const {
    value_type& v = h.*Member;
    if constexpr (std::is_same_v<value_type, bool>) {
      if (t != "0" && t != "1") throw std::invalid_argument("not 0 or 1: " + t);
      v = t == "1";
    } else if constexpr (std::is_same_v<value_type, LearningParameters::StepRule>) {
      if (t != "plain" && t != "adam") throw std::invalid_argument("unknown step rule " + t);
      v = t == "adam" ? LearningParameters::StepRule::adam : LearningParameters::StepRule::plain;
    } else if constexpr (std::is_floating_point_v<value_type>) {
      std::size_t used = 0;
      const double d = std::stod(t, &used);
      if (used != t.size()) throw std::invalid_argument("not a number: " + t);
      v = d;
    } else {
      if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("not a count: " + t);
      v = value_type(std::stoull(t));
    }
  }
};

/// Every hyperparameter, once, in the order checkpoints write them. Checkpoints
/// (training/checkpoint.hpp) and the examples' command line (examples/common/presets.hpp)
/// are built from this list; a field added to the struct is added here.
inline constexpr auto hyperparameter_list = std::make_tuple(
    HyperparameterField<&Hyperparameters::neurons>{"neurons", "N", "", "neurons (pixels)", true},
    HyperparameterField<&Hyperparameters::persistent_chains>{"persistent_chains", "N_model", "--N_model",
                                                             "persistent chains N_model", true},
    HyperparameterField<&Hyperparameters::batch_size>{"batch_size", "b_size", "--b_size", "mini-batch size b_size",
                                                      true},
    HyperparameterField<&Hyperparameters::langevin_steps>{"langevin_steps", "n_t", "--n_t",
                                                          "Langevin steps per update n_t", true},
    HyperparameterField<&Hyperparameters::seed>{"seed", "", "--seed", "seed of every random stream", false},
    HyperparameterField<&Hyperparameters::coupling_strength>{"coupling_strength", "g", "--g",
                                                             "initial coupling strength g", false},
    HyperparameterField<&Hyperparameters::time_step>{"time_step", "dt", "--dt", "time step dt", true},
    HyperparameterField<&Hyperparameters::temperature>{"temperature", "T", "--T", "temperature T", true},
    HyperparameterField<&Hyperparameters::learning_rate>{"learning_rate", "k", "--k", "learning rate k", true},
    HyperparameterField<&Hyperparameters::learn_field>{"learn_field", "", "", "learn a field b", true},
    HyperparameterField<&Hyperparameters::step_rule>{"step_rule", "", "", "plain or adam", true},
    HyperparameterField<&Hyperparameters::adam_beta1>{"adam_beta1", "", "", "Adam's first-moment decay", true},
    HyperparameterField<&Hyperparameters::adam_beta2>{"adam_beta2", "", "", "Adam's second-moment decay", true},
    HyperparameterField<&Hyperparameters::adam_epsilon>{"adam_epsilon", "", "", "Adam's denominator guard", true},
    HyperparameterField<&Hyperparameters::chain_restart>{
        "chain_restart", "", "--chain-restart",
        "fraction of the persistent chains restarted from noise before each update (0: the paper's; quick: 0.01)",
        true});

/// f(field) for each hyperparameter of `hyperparameter_list`, in order.
template <class F>
constexpr void for_each_hyperparameter(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, hyperparameter_list);
}

namespace detail {

/// Refuses, before anything is allocated, a machine whose large buffers overflow the address
/// space or exceed the memory here: J with the learning signal and the step (and Adam's two
/// moments), and about six N-wide rows per chain and per batch row (states, φ, φ', residual,
/// feedback, noise).
inline void require_machine_memory(const Hyperparameters& hp, std::size_t scalar_size) {
  const std::string w = "LangevinMachine: N = " + std::to_string(hp.neurons);
  const double n = double(checked_elements(hp.neurons, hp.neurons, w + " couplings"));
  const double chains = double(checked_elements(hp.persistent_chains, hp.neurons,
                                                w + ", N_model = " + std::to_string(hp.persistent_chains)));
  const double batch = double(checked_elements(hp.batch_size, hp.neurons,
                                               w + ", b_size = " + std::to_string(hp.batch_size)));
  const double j_copies = hp.step_rule == Hyperparameters::StepRule::adam ? 5 : 3;
  require_memory(double(scalar_size) * (j_copies * n + 6 * (chains + batch)),
                 w + ", N_model = " + std::to_string(hp.persistent_chains) + " and b_size = " +
                     std::to_string(hp.batch_size));
}

}  // namespace detail
}  // namespace nlm
