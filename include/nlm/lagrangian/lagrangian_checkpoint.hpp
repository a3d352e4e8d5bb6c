/// @file lagrangian_checkpoint.hpp
/// @brief Checkpoints of the least-action model's learning: everything a bit-for-bit resume
/// needs (W, b, the neurons' state — potentials, the inputs and targets of this step and the one
/// before, where the cross-fade started, the nudging — the step count, the plasticity switch, the
/// training state) and everything that refuses one that would not be exact (scalar type, rate
/// function, topology, the settings of the dynamics and the plasticity; not the seed and the
/// initialisation, which only drew the first weights), in the section codec of io/sections.hpp,
/// written atomically with a checksum, under a magic of its own (`NLMLGCK1`): the NLM's and the
/// attractor network's loaders name this file instead of misreading it, and this one theirs.
///
/// Sections: `learner` (key=value text), `training`, `updates`, `weights`, `biases`, and `state`
/// (flags, then the state's arrays as embedded .npy).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "../io/atomic_file.hpp"
#include "../io/sections.hpp"
#include "../training/checkpoint.hpp"
#include "../training/training_state.hpp"
#include "lagrangian_learner.hpp"

namespace nlm {
namespace detail {

inline constexpr std::string_view lagrangian_checkpoint_end{"NLMLGEND", 8};
inline constexpr std::uint32_t lagrangian_checkpoint_version = 1;

template <class Learner>
io::Configuration lagrangian_configuration(const Learner& l) {
  const LagrangianHyperparameters& hp = l.hyperparameters();
  const auto number = [](double v) {
    std::ostringstream o;
    o.precision(17);
    o << v;
    return o.str();
  };
  std::string rates;
  for (double r : l.topology().rates()) {
    if (!rates.empty()) rates += ",";
    rates += number(r);
  }
  std::uint64_t mask = 0;
  if (l.topology().architecture() == Architecture::custom) {
    const Matrix<double> m = l.topology().template mask<double>();
    mask = data_checksum(m);
  }
  return {{"scalar", scalar_name<typename Learner::scalar_type>()},
          {"rate_function", l.model().rate_function().describe()},
          {"topology", l.topology().describe()},
          {"inputs", std::to_string(l.topology().inputs())},
          {"layer_rates", rates},
          {"mask_checksum", std::to_string(mask)},
          {"batch", std::to_string(hp.batch)},
          {"tau", number(hp.tau)},
          {"dt", number(hp.dt)},
          {"beta", number(hp.beta)},
          {"learning_rate", number(hp.learning_rate)},
          {"bias_learning_rate", number(hp.bias_learning_rate)},
          {"biases", hp.biases ? "true" : "false"},
          {"solve", solve_name(l.model().solve())},
          {"seed", std::to_string(hp.seed)}};
}

}  // namespace detail

/// The bytes of a checkpoint of `learner` and `state` (what `save_lagrangian_checkpoint` writes).
template <class Learner>
std::string lagrangian_checkpoint_bytes(const Learner& learner, const TrainingState& state) {
  io::FileWriter file(detail::lagrangian_checkpoint_magic, detail::lagrangian_checkpoint_version);
  file.add("learner", io::configuration_text(detail::lagrangian_configuration(learner)));
  const auto section = [&](const char* name, auto&& write) {
    io::SectionWriter w;
    write(w);
    file.add(name, w);
  };
  const auto& st = learner.state();
  section("training", [&](io::SectionWriter& w) { state.save_section(w); });
  section("updates", [&](io::SectionWriter& w) { w.put<std::uint64_t>(learner.updates()); });
  section("weights", [&](io::SectionWriter& w) { w.put_array(learner.weights()); });
  section("biases", [&](io::SectionWriter& w) { w.put_array(learner.biases()); });
  section("state", [&](io::SectionWriter& w) {
    w.put<std::uint8_t>(st.has_previous ? 1 : 0);
    w.put<std::uint8_t>(learner.plasticity() ? 1 : 0);
    for (const auto* m : {&st.u, &st.udot, &st.input, &st.input_prev, &st.target, &st.target_prev, &st.fade_input,
                          &st.fade_target})
      w.put_array(*m);
    w.put_array(st.beta);
  });
  return std::move(file).finish(detail::lagrangian_checkpoint_end);
}

/// Writes the checkpoint to `path` atomically: the previous file survives any failure.
template <class Learner>
void save_lagrangian_checkpoint(const std::filesystem::path& path, const Learner& learner, const TrainingState& state) {
  const std::string bytes = lagrangian_checkpoint_bytes(learner, state);
  io::write_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
}

/// Restores `learner` (configured as the one that wrote the file: the first difference is named)
/// from the checkpoint at `path` and returns the training state for `learn_supervised` or
/// `learn_trace`. Nothing of the learner changes unless the whole file reads.
template <class Learner>
TrainingState load_lagrangian_checkpoint(const std::filesystem::path& path, Learner& learner) {
  using S = typename Learner::scalar_type;
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(name + ": cannot open checkpoint for reading");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string_view head = std::string_view(bytes).substr(0, 8);
  if (head == detail::checkpoint_magic)
    throw std::runtime_error(name + ": a checkpoint of a Neural Langevin Machine (LangevinMachine), not of the "
                                    "least-action model: load it with nlm::load_checkpoint");
  if (head == detail::attractor_checkpoint_magic)
    throw std::runtime_error(name + ": a checkpoint of the free-energy attractor network (AttractorLearner), not of "
                                    "the least-action model: load it with nlm::load_attractor_checkpoint");
  io::File file(bytes, detail::lagrangian_checkpoint_magic, detail::lagrangian_checkpoint_end, name,
                "least-action model checkpoint");
  if (file.version() != detail::lagrangian_checkpoint_version)
    throw std::runtime_error(name + ": least-action checkpoint format version " + std::to_string(file.version()) +
                             " is not supported (expected " + std::to_string(detail::lagrangian_checkpoint_version) + ")");
  file.split();
  const io::Configuration saved = io::parse_configuration(
      std::string_view(file.find("learner") ? file.find("learner")->payload : std::string()), file.where("learner"));
  if (saved.empty()) throw std::runtime_error(name + ": least-action model checkpoint has no 'learner' section");
  for (const auto& [key, value] : detail::lagrangian_configuration(learner)) {
    if (key == "seed") continue;  // the weights are restored; the seed only drew them
    const std::string* s = io::lookup(saved, key);
    if (s == nullptr) throw std::runtime_error(file.where("learner") + ": no value for " + key);
    if (*s != value)
      throw std::invalid_argument(name + ": the checkpoint was written with " + key + " = " + *s + ", the learner has " +
                                  value);
  }
  TrainingState state;
  {
    io::SectionReader r = file.reader("training");
    state.load_section(r);
    r.finish();
  }
  io::SectionReader ur = file.reader("updates");
  const auto updates = ur.get<std::uint64_t>("the step count");
  ur.finish();
  Matrix<S> w;
  Vector<S> b;
  {
    io::SectionReader r = file.reader("weights");
    w = r.template array<S, 2>("weights");
    r.finish();
  }
  {
    io::SectionReader r = file.reader("biases");
    b = r.template array<S, 1>("biases");
    r.finish();
  }
  NeuronState<S> st;
  bool plastic = true;
  {
    io::SectionReader r = file.reader("state");
    st.has_previous = r.get<std::uint8_t>("has_previous") != 0;
    plastic = r.get<std::uint8_t>("plasticity") != 0;
    for (auto* m : {&st.u, &st.udot, &st.input, &st.input_prev, &st.target, &st.target_prev, &st.fade_input,
                    &st.fade_target})
      *m = r.template array<S, 2>("the neurons' state");
    st.beta = r.template array<S, 1>("the nudging");
    r.finish();
  }
  const std::size_t n = learner.neurons(), rows = st.u.shape(0), ni = learner.topology().inputs(),
                    no = learner.topology().outputs();
  const auto fits = [&](const Matrix<S>& m, std::size_t cols) { return m.shape(0) == rows && m.shape(1) == cols; };
  if (w.shape(0) != n || w.shape(1) != n || b.shape(0) != n || rows == 0 || !fits(st.udot, n) || !fits(st.u, n) ||
      !fits(st.input, ni) || !fits(st.input_prev, ni) || !fits(st.target, no) || !fits(st.target_prev, no) ||
      !(st.fade_input.size() == 0 || fits(st.fade_input, ni)) || !(st.fade_target.size() == 0 || fits(st.fade_target, no)) ||
      st.beta.shape(0) != no)
    throw std::runtime_error(name + ": the arrays' shapes do not match " + std::to_string(n) + " neurons (" +
                             std::to_string(ni) + " inputs, " + std::to_string(no) + " outputs)");
  // Everything read and checked (set_weights refuses synapses the topology lacks): now the learner changes.
  auto probe = learner.model();
  probe.set_weights(w);
  probe.set_biases(b);
  for (std::size_t o = 0; o < no; ++o)
    if (!(std::isfinite(st.beta(o)) && st.beta(o) >= 0))
      throw std::runtime_error(name + ": the nudging of output " + std::to_string(o) + " is not finite and >= 0");
  learner.model().set_weights(std::move(w));
  learner.model().set_biases(std::move(b));
  learner.state() = std::move(st);
  learner.set_plasticity(plastic);
  learner.set_updates(updates);
  return state;
}

}  // namespace nlm
