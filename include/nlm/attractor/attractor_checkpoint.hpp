/// @file attractor_checkpoint.hpp
/// @brief Checkpoints of the attractor network's training: everything a bit-for-bit resume needs
/// (J, b, the chains' states, the uniform stream, the update count, the step rule's state, the
/// training state) and everything that refuses one that would not be exact (scalar type, step
/// rule, every setting but the seed), in the section codec of io/sections.hpp, written
/// atomically and protected by a checksum like the NLM's checkpoints, under a magic of its own
/// (`NLMATCK1`): either family's loader names the other's file instead of misreading it.
///
/// Sections: `learner` (key=value text: scalar, step rule, the settings), `training`, `updates`,
/// `streams` (the uniforms' two words), `couplings`, `field`, `chains` (embedded .npy), and the
/// step rule's own (`adam`).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <type_traits>
#include <utility>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../io/atomic_file.hpp"
#include "../io/sections.hpp"
#include "../training/checkpoint.hpp"
#include "../training/training_state.hpp"
#include "attractor_learner.hpp"

namespace nlm {
namespace detail {

inline constexpr std::string_view attractor_checkpoint_end{"NLMATEND", 8};
inline constexpr std::uint32_t attractor_checkpoint_version = 1;

template <class Learner>
io::Configuration attractor_configuration(const Learner& l) {
  const AttractorHyperparameters& hp = l.hyperparameters();
  const auto number = [](double v) {
    std::ostringstream o;
    o.precision(17);
    o << v;
    return o.str();
  };
  return {{"scalar", scalar_name<typename Learner::scalar_type>()},
          {"step_rule", l.step_rule().describe()},
          {"neurons", std::to_string(hp.neurons)},
          {"chains", std::to_string(hp.chains)},
          {"beta", number(hp.beta)},
          {"learning_rate", number(hp.learning_rate)},
          {"mode", hp.mode == UpdateMode::sampled ? "sampled" : "deterministic"},
          {"field_in_rule", hp.field_in_rule ? "true" : "false"},
          {"seed", std::to_string(hp.seed)}};
}

}  // namespace detail

/// The bytes of a checkpoint of `learner` and `state` (what `save_attractor_checkpoint` writes).
template <class Learner>
std::string attractor_checkpoint_bytes(const Learner& learner, const TrainingState& state) {
  io::FileWriter file(detail::attractor_checkpoint_magic, detail::attractor_checkpoint_version);
  file.add("learner", io::configuration_text(detail::attractor_configuration(learner)));
  const auto section = [&](const char* name, auto&& write) {
    io::SectionWriter w;
    write(w);
    file.add(name, w);
  };
  section("training", [&](io::SectionWriter& w) { state.save_section(w); });
  section("updates", [&](io::SectionWriter& w) { w.put<std::uint64_t>(learner.updates()); });
  section("streams", [&](io::SectionWriter& w) { w.put_words(learner.model().noise_state()); });
  section("couplings", [&](io::SectionWriter& w) { w.put_array(learner.couplings()); });
  section("field", [&](io::SectionWriter& w) { w.put_array(learner.field()); });
  section("chains", [&](io::SectionWriter& w) { w.put_array(learner.states()); });
  if constexpr (io::StatefulPart<std::remove_cvref_t<decltype(learner.step_rule())>>) {
    io::SectionWriter w;
    learner.step_rule().save_section(w);
    file.add(learner.step_rule().section_name(), w);
  }
  return std::move(file).finish(detail::attractor_checkpoint_end);
}

/// Writes the checkpoint to `path` atomically: the previous file survives any failure.
template <class Learner>
void save_attractor_checkpoint(const std::filesystem::path& path, const Learner& learner, const TrainingState& state) {
  const std::string bytes = attractor_checkpoint_bytes(learner, state);
  io::write_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
}

/// Restores `learner` (configured as the one that wrote the file: the first difference is named)
/// from the checkpoint at `path` and returns the training state for `learn_presentations`.
/// Nothing of the learner changes unless the whole file reads.
template <class Learner>
TrainingState load_attractor_checkpoint(const std::filesystem::path& path, Learner& learner) {
  using S = typename Learner::scalar_type;
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(name + ": cannot open checkpoint for reading");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (std::string_view(bytes).substr(0, detail::checkpoint_magic.size()) == detail::checkpoint_magic)
    throw std::runtime_error(name + ": a checkpoint of a Neural Langevin Machine (LangevinMachine), not of the "
                                    "attractor network: load it with nlm::load_checkpoint");
  io::File file(bytes, detail::attractor_checkpoint_magic, detail::attractor_checkpoint_end, name,
                "attractor network checkpoint");
  if (file.version() != detail::attractor_checkpoint_version)
    throw std::runtime_error(name + ": attractor checkpoint format version " + std::to_string(file.version()) +
                             " is not supported (expected " + std::to_string(detail::attractor_checkpoint_version) + ")");
  file.split();
  const io::Configuration saved = io::parse_configuration(
      std::string_view(file.find("learner") ? file.find("learner")->payload : std::string()), file.where("learner"));
  if (saved.empty()) throw std::runtime_error(name + ": attractor network checkpoint has no 'learner' section");
  for (const auto& [key, value] : detail::attractor_configuration(learner)) {
    if (key == "seed") continue;  // the streams are restored; the seed only started them
    const std::string* s = io::lookup(saved, key);
    if (s == nullptr) throw std::runtime_error(file.where("learner") + ": no value for " + key);
    if (*s != value)
      throw std::invalid_argument(name + ": the checkpoint was written with " + key + " = " + *s +
                                  ", the learner has " + value);
  }
  TrainingState state;
  {
    io::SectionReader r = file.reader("training");
    state.load_section(r);
    r.finish();
  }
  io::SectionReader ur = file.reader("updates");
  const auto updates = ur.get<std::uint64_t>("the update count");
  ur.finish();
  io::SectionReader sr = file.reader("streams");
  const std::vector<std::uint64_t> noise = sr.words("the uniforms' stream");
  sr.finish();
  const std::size_t n = learner.neurons(), c = learner.hyperparameters().chains;
  const auto read_array = [&](const char* section, auto& into) {
    io::SectionReader r = file.reader(section);
    into = r.template array<S, std::remove_reference_t<decltype(into)>::rank>(section);
    r.finish();
  };
  Matrix<S> j;
  Vector<S> b;
  Matrix<S> x;
  read_array("couplings", j);
  read_array("field", b);
  read_array("chains", x);
  if (j.shape(0) != n || j.shape(1) != n || b.shape(0) != n || x.shape(0) != c || x.shape(1) != n)
    throw std::runtime_error(name + ": the arrays' shapes do not match " + std::to_string(n) + " units and " +
                             std::to_string(c) + " chains");
  auto step_rule = learner.step_rule();
  if constexpr (io::StatefulPart<std::remove_cvref_t<decltype(step_rule)>>) {
    io::SectionReader r = file.reader(step_rule.section_name());
    step_rule.load_section(r);
    r.finish();
  }
  // Everything read: now the learner changes.
  learner.set_couplings(std::move(j));
  learner.set_field(std::move(b));
  learner.chains().set_states(std::move(x));
  learner.model().set_noise_state(noise);
  learner.set_updates(updates);
  learner.step_rule() = std::move(step_rule);
  return state;
}

}  // namespace nlm
