/// @file checkpoint.hpp
/// @brief Checkpoints of a training run: everything needed to resume it bit for bit (the
/// model's couplings and field, the learner's persistent chains and update count, every random
/// stream, the state of every part that keeps one, the training state with the epoch's shuffle
/// and the curve), and everything needed to refuse a resume that would not be exact (scalar
/// type, policies and their parameters, hyperparameters, identity of the training data),
/// written atomically in the one section codec of io/sections.hpp, protected by a checksum.
///
/// Format 5 (little-endian), after the magic `NLMCKPT1` and the version: `machine` and
/// `hyperparameters` as `key=value` text lines; `training` (the `TrainingState`'s own section);
/// `learner` (the machine's update count); `streams` (the initialisation, noise and sampler
/// generators); `couplings`, `chains` and `field` as embedded .npy arrays; then one section per
/// part with state of its own (`io::StatefulPart`: `adam` for the step rule's moments,
/// `parallel_tempering`, a user's policy's), and `ranks` for a run on several processes. Files
/// of formats 2 to 4 are still read: they are translated into format 5's sections on reading.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xoperation.hpp>

#include "../detail/describe.hpp"
#include "../detail/engine_state.hpp"
#include "../hyperparameters.hpp"
#include "../io/atomic_file.hpp"
#include "../io/npy.hpp"
#include "../io/sections.hpp"
#include "../types.hpp"
#include "training_state.hpp"

namespace nlm {
namespace detail {

inline constexpr std::string_view checkpoint_magic{"NLMCKPT1", 8};
inline constexpr std::string_view checkpoint_end{"NLMCKEND", 8};
/// The free-energy attractor network's checkpoints (attractor/attractor_checkpoint.hpp): named
/// here so that this loader can say what such a file is.
inline constexpr std::string_view attractor_checkpoint_magic{"NLMATCK1", 8};
/// The least-action model's checkpoints (lagrangian/lagrangian_checkpoint.hpp), likewise.
inline constexpr std::string_view lagrangian_checkpoint_magic{"NLMLGCK1", 8};
// 2: two-word counter-based noise stream; 3: chain_restart (version 2 files read as 0)
// 4: named sections; the machine's policies and every hyperparameter as text; data identity
//    and the training curve in the state
// 5: one codec: the training state's own section, the learner's update count in `learner`,
//    every stateful part's section always written (Adam's moments in `adam`, empty or not)
inline constexpr std::uint32_t checkpoint_version = 5;

template <Scalar S>
constexpr const char* scalar_name() {
  return sizeof(S) == 4 ? "float32" : "float64";
}

/// The machine's scalar type and policies, each with its parameters.
template <class Machine>
io::Configuration machine_configuration(const Machine& m) {
  return {{"scalar", scalar_name<typename Machine::scalar_type>()},
          {"activation", describe_policy(m.activation())},
          {"noise", describe_policy(m.noise())},
          {"regularizer", describe_policy(m.regularizer())},
          {"sampler", describe_policy(m.sampler())}};
}

inline io::Configuration hyperparameter_configuration(const Hyperparameters& hp) {
  io::Configuration c;
  for_each_hyperparameter([&](const auto& f) { c.emplace_back(std::string(f.key), f.text(hp)); });
  return c;
}

inline Hyperparameters hyperparameters_from(const io::Configuration& c, const std::string& where) {
  Hyperparameters hp;
  for_each_hyperparameter([&](const auto& f) {
    const std::string key(f.key);
    const std::string* v = io::lookup(c, key);
    if (v == nullptr) throw std::runtime_error(where + ": no value for " + key);
    try {
      f.parse(hp, *v);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": bad value for " + key + " (" + e.what() + ")");
    }
  });
  return hp;
}

[[noreturn]] inline void mismatch(const std::string& file, std::string_view label, const std::string& saved,
                                  const std::string& now) {
  throw std::invalid_argument(file + ": the checkpoint was written with " + std::string(label) + " = " + saved +
                              ", the machine has " + now);
}

/// The sections nlm itself writes; a part's own section may not take one of these names.
inline bool reserved_section(std::string_view name) {
  for (const char* r : {"machine", "hyperparameters", "training", "learner", "streams", "couplings", "chains", "field",
                        "ranks"})
    if (name == r) return true;
  return false;
}

/// f(part) for each part of the machine that may keep a section of its own.
template <class Machine, class F>
void for_each_part(Machine& m, F&& f) {
  f(m.activation());
  f(m.noise());
  f(m.regularizer());
  f(m.sampler());
  f(m.step_rule());
  f(m.backend());
}

}  // namespace detail

/// The contents of a checkpoint file, as format 5 has them.
template <Scalar S>
struct Checkpoint {
  std::uint32_t version = 0;  ///< the format the file was written in
  /// Scalar type and policies as written (format 2 and 3 files record only the scalar's size,
  /// as "scalar").
  io::Configuration machine;
  Hyperparameters hyperparameters;
  std::uint64_t machine_updates = 0;
  Matrix<S> couplings;
  Matrix<S> persistent_chains;
  Vector<S> field;
  std::vector<std::uint64_t> initialisation_stream, noise_stream, sampler_stream;
  TrainingState state;
  /// The sections of the machine's parts with state of their own (`io::StatefulPart`), by
  /// name, as stored: `adam`, `parallel_tempering`, a user's.
  std::vector<io::Section> sections;
  /// Written by a run on several processes (nlm/distributed): each process's streams and
  /// sections, as stored; empty for a single process.
  std::string ranks;

  /// The section a part keeps its state in, or null.
  const io::Section* section(std::string_view name) const {
    for (const auto& s : sections)
      if (s.name == name) return &s;
    return nullptr;
  }
};

namespace detail {

/// The streams section of `machine`: its initialisation, noise and sampler streams.
template <class Machine>
std::string streams_section(const Machine& machine) {
  io::SectionWriter r;
  r.put_words(machine.initialisation_state());
  r.put_words(machine.noise().state());
  r.put_words(machine.sampler().state());
  return std::move(r).bytes();
}

template <Scalar S>
void read_streams(io::SectionReader r, Checkpoint<S>& c) {
  c.initialisation_stream = r.words("initialisation stream");
  c.noise_stream = r.words("noise stream");
  c.sampler_stream = r.words("sampler stream");
  r.finish();
}

/// f(section name, bytes) for each section the machine's parts keep themselves.
template <class Machine, class F>
void for_each_part_section(const Machine& machine, F&& f) {
  for_each_part(machine, [&](const auto& part) {
    if constexpr (io::StatefulPart<std::remove_cvref_t<decltype(part)>>) {
      const std::string section = part.section_name();
      if (reserved_section(section))
        throw std::invalid_argument("save_checkpoint: a part of the machine names its section '" + section +
                                    "', which nlm uses itself");
      io::SectionWriter w;
      part.save_section(w);
      f(section, std::move(w).bytes());
    }
  });
}

/// The sections of a checkpoint of `machine` and `state`, with `hp` and `chains` in place of
/// the machine's own (nlm/distributed writes the run's hyperparameters and all processes'
/// chains), ready for more sections and `finish`.
template <class Machine>
io::FileWriter checkpoint_sections(const Machine& machine, const TrainingState& state, const Hyperparameters& hp,
                                   const Matrix<typename Machine::scalar_type>& chains) {
  io::FileWriter file(checkpoint_magic, checkpoint_version);
  file.add("machine", io::configuration_text(machine_configuration(machine)));
  file.add("hyperparameters", io::configuration_text(hyperparameter_configuration(hp)));
  const auto section = [&](const char* name, auto&& write) {
    io::SectionWriter w;
    write(w);
    file.add(name, w);
  };
  section("training", [&](io::SectionWriter& w) { state.save_section(w); });
  section("learner", [&](io::SectionWriter& w) { w.put<std::uint64_t>(machine.updates()); });
  file.add("streams", streams_section(machine));
  section("couplings", [&](io::SectionWriter& w) { w.put_array(machine.couplings()); });
  section("chains", [&](io::SectionWriter& w) { w.put_array(chains); });
  section("field", [&](io::SectionWriter& w) { w.put_array(machine.field()); });
  for_each_part_section(machine, [&](const std::string& name, const std::string& bytes) { file.add(name, bytes); });
  return file;
}

inline void upgrade_to_5(io::File& file);
template <Scalar S>
void parse_legacy(const io::File& file, Checkpoint<S>& c);

template <Scalar S>
void parse_sections(const io::File& file, Checkpoint<S>& c) {
  const std::string& name = file.name();
  const auto text = [&](const char* section) {
    const io::Section* s = file.find(section);
    if (s == nullptr) throw std::runtime_error(name + ": checkpoint has no '" + std::string(section) + "' section");
    return io::parse_configuration(s->payload, file.where(section));
  };
  c.machine = text("machine");
  c.hyperparameters = hyperparameters_from(text("hyperparameters"), file.where("hyperparameters"));
  if (io::lookup(c.machine, "scalar") == nullptr)
    throw std::runtime_error(file.where("machine") + ": no value for scalar");
  {
    io::SectionReader r = file.reader("training");
    c.state.load_section(r);
    r.finish();
  }
  {
    io::SectionReader r = file.reader("learner");
    c.machine_updates = r.get<std::uint64_t>("the update count");
    r.finish();
  }
  read_streams(file.reader("streams"), c);
  const auto array = [&]<std::size_t R>(const char* section, std::integral_constant<std::size_t, R>) {
    io::SectionReader r = file.reader(section);
    auto a = r.array<S, R>("the array");
    r.finish();
    return a;
  };
  c.couplings = array("couplings", std::integral_constant<std::size_t, 2>{});
  c.persistent_chains = array("chains", std::integral_constant<std::size_t, 2>{});
  c.field = array("field", std::integral_constant<std::size_t, 1>{});
  for (const auto& section : file.sections())
    if (!reserved_section(section.name)) c.sections.push_back(section);
  if (const io::Section* ranks = file.find("ranks")) c.ranks = ranks->payload;
}

}  // namespace detail

/// Parses and verifies checkpoint bytes (magic, version, checksum, every section); `name`
/// starts every error message. The in-memory entry point of `read_checkpoint` (and of the
/// fuzz target).
template <Scalar S>
Checkpoint<S> parse_checkpoint(std::string_view bytes, const std::string& name) {
  if (bytes.substr(0, detail::attractor_checkpoint_magic.size()) == detail::attractor_checkpoint_magic)
    throw std::runtime_error(name + ": a checkpoint of the free-energy attractor network (AttractorLearner), not of "
                                    "a LangevinMachine: load it with nlm::load_attractor_checkpoint");
  if (bytes.substr(0, detail::lagrangian_checkpoint_magic.size()) == detail::lagrangian_checkpoint_magic)
    throw std::runtime_error(name + ": a checkpoint of the least-action model (LagrangianLearner), not of a "
                                    "LangevinMachine: load it with nlm::load_lagrangian_checkpoint");
  io::File file(bytes, detail::checkpoint_magic, detail::checkpoint_end, name, "checkpoint");
  Checkpoint<S> c;
  c.version = file.version();
  if (c.version == 4 || c.version == detail::checkpoint_version) {
    file.split();
    if (c.version == 4) detail::upgrade_to_5(file);
    detail::parse_sections(file, c);
  } else if (c.version == 2 || c.version == 3) {
    detail::parse_legacy(file, c);
  } else {
    throw std::runtime_error(name + ": checkpoint format version " + std::to_string(c.version) +
                             " is not supported (expected 2 to " + std::to_string(detail::checkpoint_version) + ")");
  }
  c.hyperparameters.validate();
  return c;
}

/// Reads and verifies a checkpoint file without a machine.
template <Scalar S>
Checkpoint<S> read_checkpoint(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(name + ": cannot open checkpoint for reading");
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return parse_checkpoint<S>(bytes, name);
}

/// The bytes of a checkpoint of `machine` and `state` (what `save_checkpoint` writes).
template <class Machine>
std::string checkpoint_bytes(const Machine& machine, const TrainingState& state) {
  return detail::checkpoint_sections(machine, state, machine.hyperparameters(), machine.persistent_chains())
      .finish(detail::checkpoint_end);
}

/// Writes a checkpoint of `machine` and `state` to `path` atomically: the previous file at
/// `path` survives any failure (or crash) during the write.
template <class Machine>
void save_checkpoint(const std::filesystem::path& path, const Machine& machine, const TrainingState& state) {
  const std::string bytes = checkpoint_bytes(machine, state);
  io::write_atomically(path, [&](std::ostream& out) {
    // In two halves with the fault-injection hook between them (a kill mid-write).
    const std::size_t half = bytes.size() / 2;
    out.write(bytes.data(), std::streamsize(half));
    if (auto* hook = io::detail::write_step_hook()) {
      out.flush();
      hook(path, "half-written");
    }
    out.write(bytes.data() + half, std::streamsize(bytes.size() - half));
  });
}

/// Throws std::invalid_argument unless `c` was written by a machine configured as `machine`
/// is: scalar type, every policy with its parameters (format 4 on), and every hyperparameter a
/// resume depends on. The message names the first difference and both values.
template <class Machine>
void require_same_configuration(const Checkpoint<typename Machine::scalar_type>& c, const Machine& machine,
                                const std::string& file) {
  const auto now = detail::machine_configuration(machine);
  for (const auto& [key, value] : now) {
    const std::string* saved = io::lookup(c.machine, key);
    if (saved == nullptr) continue;  // format 2/3: policies not recorded
    if (*saved != value) detail::mismatch(file, key, *saved, value);
  }
  const Hyperparameters& mine = machine.hyperparameters();
  for_each_hyperparameter([&](const auto& f) {
    if (!f.resume_checked) return;
    const std::string saved = f.text(c.hyperparameters), current = f.text(mine);
    if (saved != current) detail::mismatch(file, f.label(), saved, current);
  });
}

namespace detail {

/// Puts the contents of a read checkpoint into `machine` (configured as the one that wrote
/// it) and returns its training state: `load_checkpoint`'s second half.
template <class Machine>
TrainingState restore_checkpoint(Checkpoint<typename Machine::scalar_type>&& c, Machine& machine,
                                 const std::string& f) {
  using S = typename Machine::scalar_type;
  require_same_configuration(c, machine, f);
  const Hyperparameters& hp = c.hyperparameters;
  if (c.field.shape(0) != hp.neurons)
    throw std::runtime_error(f + ": the field has " + std::to_string(c.field.shape(0)) +
                             " values, the checkpoint's machine " + std::to_string(hp.neurons) + " neurons");
  // The parts' own sections are read into copies first: a missing or bad one leaves the
  // machine as it was.
  const auto section_of = [&](const auto& part) {
    const std::string name = part.section_name();
    const io::Section* s = c.section(name);
    if (s == nullptr)
      throw std::runtime_error(f + ": the checkpoint has no section '" + name + "', which the machine's " +
                               describe_policy(part) + " keeps its state in");
    return io::SectionReader(s->payload, f + " (section '" + name + "')");
  };
  for_each_part(machine, [&](const auto& part) {
    using Part = std::remove_cvref_t<decltype(part)>;
    if constexpr (io::StatefulPart<Part>) {
      Part trial = part;
      io::SectionReader r = section_of(part);
      trial.load_section(r);
      r.finish();
    }
  });
  machine.set_couplings(std::move(c.couplings));
  machine.set_persistent_chains(std::move(c.persistent_chains));
  if (hp.learn_field || xt::any(xt::not_equal(c.field, S(0)))) machine.set_field(std::move(c.field));
  for_each_part(machine, [&](auto& part) {
    if constexpr (io::StatefulPart<std::remove_cvref_t<decltype(part)>>) {
      io::SectionReader r = section_of(part);
      part.load_section(r);
    }
  });
  machine.set_initialisation_state(c.initialisation_stream);
  machine.noise().set_state(c.noise_stream);
  machine.sampler().set_state(c.sampler_stream);
  machine.set_updates(c.machine_updates);
  return std::move(c.state);
}

}  // namespace detail

/// Restores `machine` from the checkpoint at `path` and returns the training state to pass to
/// `nlm::train`. The machine must be configured as the one that wrote it (scalar type,
/// policies and their parameters, hyperparameters but the seed and g): the error names the
/// first difference. Build it from `read_checkpoint(path).hyperparameters` to resume without
/// knowing them. `train` then checks that it is given the same data.
template <class Machine>
TrainingState load_checkpoint(const std::filesystem::path& path, Machine& machine) {
  using S = typename Machine::scalar_type;
  Checkpoint<S> c = read_checkpoint<S>(path);
  const std::string f = path.string();
  if (!c.ranks.empty())
    throw std::runtime_error(f + ": the checkpoint was written by a run on several MPI processes; resume it "
                                 "with nlm::distributed::DataParallel on as many processes (mpirun -np P)");
  return detail::restore_checkpoint(std::move(c), machine, f);
}

namespace detail {

/// Format 4 as format 5: the machine's update count moves from the `training` section (after
/// the planned updates) to `learner`, and a file without an `adam` section (format 4 wrote one
/// only once Adam had moments) gets an empty one.
inline void upgrade_to_5(io::File& file) {
  auto& sections = file.sections();
  const auto at = std::find_if(sections.begin(), sections.end(), [](const auto& s) { return s.name == "training"; });
  if (at != sections.end()) {
    if (at->payload.size() < 48)
      throw std::runtime_error(file.where("training") + ": the section ends while reading machine updates");
    std::string updates = at->payload.substr(40, 8);
    at->payload.erase(40, 8);
    sections.push_back({"learner", std::move(updates)});  // `at` is not used after this
  }
  if (file.find("adam") == nullptr) sections.push_back({"adam", std::string()});
}

/// Formats 2 and 3 (nlm before named sections): fields by position.
template <Scalar S>
void parse_legacy(const io::File& file, Checkpoint<S>& c) {
  const std::string& name = file.name();
  const std::uint32_t version = c.version;
  io::SectionReader r(file.body().substr(12), name);
  const auto scalar_size = r.get<std::uint32_t>("scalar size");
  if (scalar_size != 4 && scalar_size != 8)
    throw std::runtime_error(name + ": scalar size " + std::to_string(scalar_size));
  c.machine = {{"scalar", scalar_size == 4 ? "float32" : "float64"}};
  auto& hp = c.hyperparameters;
  hp.neurons = r.get<std::uint64_t>("neurons");
  hp.persistent_chains = r.get<std::uint64_t>("persistent_chains");
  hp.batch_size = r.get<std::uint64_t>("batch_size");
  hp.langevin_steps = r.get<std::uint64_t>("langevin_steps");
  hp.seed = r.get<std::uint64_t>("seed");
  hp.coupling_strength = r.get<double>("coupling_strength");
  hp.time_step = r.get<double>("time_step");
  hp.temperature = r.get<double>("temperature");
  hp.learning_rate = r.get<double>("learning_rate");
  hp.learn_field = r.get<std::uint8_t>("learn_field") != 0;
  const auto rule = r.get<std::uint8_t>("step_rule");
  if (rule > std::uint8_t(Hyperparameters::StepRule::adam))
    throw std::runtime_error(name + ": unknown step rule " + std::to_string(rule));
  hp.step_rule = Hyperparameters::StepRule(rule);
  hp.adam_beta1 = r.get<double>("adam_beta1");
  hp.adam_beta2 = r.get<double>("adam_beta2");
  hp.adam_epsilon = r.get<double>("adam_epsilon");
  hp.chain_restart = version >= 3 ? r.get<double>("chain_restart") : 0.0;
  c.machine_updates = r.get<std::uint64_t>("updates");
  auto& s = c.state;
  s.epoch = r.get<std::uint64_t>("epoch");
  s.batch = r.get<std::uint64_t>("batch");
  s.batches_per_epoch = r.get<std::uint64_t>("batches_per_epoch");
  s.updates = r.get<std::uint64_t>("updates");
  s.planned_updates = r.get<std::uint64_t>("planned_updates");
  s.started = r.get<std::uint8_t>("started") != 0;
  s.signal_mean_square = r.get<double>("signal_mean_square");
  s.epoch_signal_sum = r.get<double>("epoch_signal_sum");
  c.initialisation_stream = r.words("initialisation stream");
  c.noise_stream = r.words("noise stream");
  c.sampler_stream = r.words("sampler stream");
  restore_engine(s.shuffle, r.words("shuffle stream"), "shuffle stream");
  s.order = r.values<std::uint32_t>("the shuffle", std::uint64_t(1) << 32);
  c.couplings = r.array<S, 2>("couplings");
  c.persistent_chains = r.array<S, 2>("persistent chains");
  c.field = r.array<S, 1>("field");
  io::SectionWriter adam;  // format 5's `adam` section: J's moments, then b's
  if (r.get<std::uint8_t>("adam flag") != 0) {
    adam.put_array(r.array<S, 2>("Adam first moments"));
    adam.put_array(r.array<S, 2>("Adam second moments"));
    if (r.get<std::uint8_t>("adam field flag") != 0) {
      adam.put_array(r.array<S, 1>("Adam field first moments"));
      adam.put_array(r.array<S, 1>("Adam field second moments"));
    }
  }
  c.sections.push_back({"adam", std::move(adam).bytes()});
  if (c.state.batches_per_epoch != 0 && c.state.batch > c.state.batches_per_epoch)
    throw std::runtime_error(name + ": batch " + std::to_string(c.state.batch) + " of an epoch of " +
                             std::to_string(c.state.batches_per_epoch));
  for (const auto i : c.state.order)
    if (i >= c.state.order.size())
      throw std::runtime_error(name + ": the shuffle holds image " + std::to_string(i) + " of " +
                               std::to_string(c.state.order.size()));
}

}  // namespace detail
}  // namespace nlm
