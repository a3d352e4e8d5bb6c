/// @file checkpoint.hpp
/// @brief Checkpoints: everything needed to resume training bit for bit (couplings,
/// persistent chains, every random stream, counters, the epoch's shuffle, the training curve),
/// and everything needed to refuse a resume that would not be exact (scalar type, policies
/// and their parameters, hyperparameters, identity of the training data), written atomically
/// and protected by a checksum.
///
/// Layout of format 4 (little-endian): the magic `NLMCKPT1`, the version, then named sections
/// (u32 name length, name, u64 payload length, payload): `machine` and `hyperparameters` as
/// `key=value` text lines, `training` (counters, data identity, shuffle, curve), `streams`
/// (random generator states), `couplings`, `chains`, `field` and optionally `adam` as
/// embedded .npy arrays; then a 64-bit FNV-1a checksum of everything before it and the end
/// marker `NLMCKEND`. A file cut short or altered fails the checksum with an error naming the
/// file. Formats 2 and 3 (fields by position) are still read.
#pragma once

#include <algorithm>
#include <array>
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

#include "../detail/checksum.hpp"
#include "../detail/describe.hpp"
#include "../detail/engine_state.hpp"
#include "../hyperparameters.hpp"
#include "../training/training_state.hpp"
#include "../types.hpp"
#include "atomic_file.hpp"
#include "npy.hpp"

namespace nlm::io {
namespace detail {

inline constexpr char checkpoint_magic[8] = {'N', 'L', 'M', 'C', 'K', 'P', 'T', '1'};
inline constexpr char checkpoint_end[8] = {'N', 'L', 'M', 'C', 'K', 'E', 'N', 'D'};
// 2: two-word counter-based noise stream; 3: chain_restart (version 2 files read as 0)
// 4: named sections; the machine's policies and every hyperparameter as text; data identity
//    and the training curve in the state
inline constexpr std::uint32_t checkpoint_version = 4;

using nlm::detail::fnv1a;

template <class T>
void put(std::ostream& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

inline void put_words(std::ostream& out, const std::vector<std::uint64_t>& words) {
  put<std::uint64_t>(out, words.size());
  for (const auto w : words) put(out, w);
}

class Reader {
 public:
  Reader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}
  template <class T>
  T get(const char* what) {
    T value;
    if (!in_.read(reinterpret_cast<char*>(&value), sizeof(T)))
      throw std::runtime_error(name_ + ": checkpoint ends while reading " + what);
    return value;
  }
  std::vector<std::uint64_t> words(const char* what) {
    const auto n = get<std::uint64_t>(what);
    if (n > 1024) throw std::runtime_error(name_ + ": implausible length for " + what);
    std::vector<std::uint64_t> w(n);
    for (auto& x : w) x = get<std::uint64_t>(what);
    return w;
  }
  std::istream& stream() { return in_; }
  const std::string& name() const { return name_; }

 private:
  std::istream& in_;
  std::string name_;
};

// ---- named sections (format 4) -----------------------------------------------------------

/// Builds a format-4 file: the magic, the version, then named sections (u32 name length,
/// name, u64 payload length, payload), then the checksum of everything before it and the
/// end marker.
class SectionWriter {
 public:
  SectionWriter() {
    bytes_.append(checkpoint_magic, 8);
    append(checkpoint_version);
  }
  void add(std::string_view name, const std::string& payload) {
    append(std::uint32_t(name.size()));
    bytes_.append(name);
    append(std::uint64_t(payload.size()));
    bytes_.append(payload);
  }
  std::string finish() && {
    const std::uint64_t sum = fnv1a(bytes_);
    append(sum);
    bytes_.append(checkpoint_end, 8);
    return std::move(bytes_);
  }

 private:
  template <class T>
  void append(T v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  std::string bytes_;
};

struct Section {
  std::string name;
  std::string_view payload;
};

/// Splits the body of a format-4 file (after magic and version) into its sections.
inline std::vector<Section> split_sections(std::string_view body, const std::string& file) {
  std::vector<Section> out;
  auto take = [&](std::size_t n, const char* what) {
    if (body.size() < n)
      throw std::runtime_error(file + ": checkpoint ends inside " + std::string(what));
    const std::string_view v = body.substr(0, n);
    body.remove_prefix(n);
    return v;
  };
  while (!body.empty()) {
    std::uint32_t name_length;
    std::memcpy(&name_length, take(4, "a section header").data(), 4);
    if (name_length == 0 || name_length > 64)
      throw std::runtime_error(file + ": checkpoint has a section name of " +
                               std::to_string(name_length) + " bytes");
    std::string name(take(name_length, "a section name"));
    std::uint64_t length;
    std::memcpy(&length, take(8, "a section header").data(), 8);
    if (length > body.size())
      throw std::runtime_error(file + ": section '" + name + "' announces " + std::to_string(length) +
                               " bytes, " + std::to_string(body.size()) + " remain");
    for (const auto& s : out)
      if (s.name == name) throw std::runtime_error(file + ": section '" + name + "' appears twice");
    out.push_back({std::move(name), take(std::size_t(length), "a section")});
  }
  return out;
}

inline const Section* find_section(const std::vector<Section>& sections, std::string_view name) {
  for (const auto& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}

inline std::string_view require_section(const std::vector<Section>& sections, std::string_view name,
                                        const std::string& file) {
  const Section* s = find_section(sections, name);
  if (s == nullptr)
    throw std::runtime_error(file + ": checkpoint has no '" + std::string(name) + "' section");
  return s->payload;
}

/// Reads one binary section and checks that nothing is left over.
class SectionReader {
 public:
  SectionReader(std::string_view payload, std::string file, std::string section)
      : in_(std::string(payload), std::ios::binary),
        file_(std::move(file)),
        section_(std::move(section)),
        reader_(in_, file_ + " (section '" + section_ + "')") {}
  template <class T>
  T get(const char* what) {
    return reader_.template get<T>(what);
  }
  std::vector<std::uint64_t> words(const char* what) { return reader_.words(what); }
  /// `count` elements of `size` bytes follow: refuse counts the section cannot hold before
  /// allocating for them.
  void require_room(std::uint64_t count, std::size_t size, const char* what) {
    const auto here = std::uint64_t(in_.tellg());
    const std::uint64_t total = in_.str().size();
    if (count > (total - here) / size)
      throw std::runtime_error(where() + ": " + what + " announces " + std::to_string(count) +
                               " entries, more than the section holds");
  }
  std::istream& stream() { return in_; }
  std::string where() const { return file_ + " (section '" + section_ + "')"; }
  void finish() {
    in_.peek();
    if (!in_.eof())
      throw std::runtime_error(where() + ": unexpected bytes at the end of the section");
  }

 private:
  std::istringstream in_;
  std::string file_, section_;
  Reader reader_;
};

template <class Array>
std::string npy_bytes(const Array& a) {
  std::ostringstream out(std::ios::binary);
  write_npy(out, a);
  return std::move(out).str();
}

// ---- configuration: what makes a resume exact, as text -----------------------------------

/// Ordered `key=value` lines.
using Configuration = std::vector<std::pair<std::string, std::string>>;

inline std::string configuration_text(const Configuration& c) {
  std::string out;
  for (const auto& [k, v] : c) out += k + "=" + v + "\n";
  return out;
}

inline Configuration parse_configuration(std::string_view text, const std::string& where) {
  Configuration c;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    if (eol == std::string_view::npos)
      throw std::runtime_error(where + ": unterminated line");
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw std::runtime_error(where + ": line without key=value");
    c.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return c;
}

inline const std::string* lookup(const Configuration& c, std::string_view key) {
  for (const auto& [k, v] : c)
    if (k == key) return &v;
  return nullptr;
}

inline std::string show_double(double v) {
  std::ostringstream m;
  m.precision(17);
  m << v;
  return m.str();
}

template <Scalar S>
constexpr const char* scalar_name() {
  return sizeof(S) == 4 ? "float32" : "float64";
}

/// The machine's scalar type and policies, each with its parameters.
template <class Machine>
Configuration machine_configuration(const Machine& m) {
  using nlm::detail::describe_policy;
  return {{"scalar", scalar_name<typename Machine::scalar_type>()},
          {"activation", describe_policy(m.activation())},
          {"noise", describe_policy(m.noise())},
          {"regularizer", describe_policy(m.regularizer())},
          {"sampler", describe_policy(m.sampler())}};
}

/// One hyperparameter: its key in the file, its label in messages (the spec's symbol), and
/// whether a resume depends on it (g and the seed only shape the initialisation, which the
/// checkpoint replaces).
struct HyperparameterField {
  const char* key;
  const char* label;
  bool checked;
  std::string (*get)(const Hyperparameters&);
  void (*set)(Hyperparameters&, const std::string&);
};

inline double parse_double(const std::string& text) {
  std::size_t used = 0;
  const double v = std::stod(text, &used);
  if (used != text.size()) throw std::invalid_argument("not a number: " + text);
  return v;
}
inline std::uint64_t parse_count(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument("not a count: " + text);
  return std::stoull(text);
}

#define NLM_HP_COUNT(field, label, checked)                                                   \
  HyperparameterField {                                                                        \
    #field, label, checked, [](const Hyperparameters& h) { return std::to_string(h.field); }, \
        [](Hyperparameters& h, const std::string& t) { h.field = decltype(h.field)(parse_count(t)); } \
  }
#define NLM_HP_REAL(field, label, checked)                                                   \
  HyperparameterField {                                                                       \
    #field, label, checked, [](const Hyperparameters& h) { return show_double(h.field); },   \
        [](Hyperparameters& h, const std::string& t) { h.field = parse_double(t); }           \
  }

inline const std::vector<HyperparameterField>& hyperparameter_fields() {
  static const std::vector<HyperparameterField> fields = {
      NLM_HP_COUNT(neurons, "neurons (N)", true),
      NLM_HP_COUNT(persistent_chains, "persistent_chains (N_model)", true),
      NLM_HP_COUNT(batch_size, "batch_size (b_size)", true),
      NLM_HP_COUNT(langevin_steps, "langevin_steps (n_t)", true),
      NLM_HP_COUNT(seed, "seed", false),
      NLM_HP_REAL(coupling_strength, "coupling_strength (g)", false),
      NLM_HP_REAL(time_step, "time_step (dt)", true),
      NLM_HP_REAL(temperature, "temperature (T)", true),
      NLM_HP_REAL(learning_rate, "learning_rate (k)", true),
      HyperparameterField{"learn_field", "learn_field", true,
                          [](const Hyperparameters& h) { return std::string(h.learn_field ? "1" : "0"); },
                          [](Hyperparameters& h, const std::string& t) {
                            if (t != "0" && t != "1") throw std::invalid_argument("not 0 or 1: " + t);
                            h.learn_field = t == "1";
                          }},
      HyperparameterField{"step_rule", "step_rule", true,
                          [](const Hyperparameters& h) {
                            return std::string(h.step_rule == Hyperparameters::StepRule::adam ? "adam" : "plain");
                          },
                          [](Hyperparameters& h, const std::string& t) {
                            if (t != "plain" && t != "adam") throw std::invalid_argument("unknown step rule " + t);
                            h.step_rule = t == "adam" ? Hyperparameters::StepRule::adam
                                                      : Hyperparameters::StepRule::plain;
                          }},
      NLM_HP_REAL(adam_beta1, "adam_beta1", true),
      NLM_HP_REAL(adam_beta2, "adam_beta2", true),
      NLM_HP_REAL(adam_epsilon, "adam_epsilon", true),
      NLM_HP_REAL(chain_restart, "chain_restart", true),
  };
  return fields;
}
#undef NLM_HP_COUNT
#undef NLM_HP_REAL

inline Configuration hyperparameter_configuration(const Hyperparameters& hp) {
  Configuration c;
  for (const auto& f : hyperparameter_fields()) c.emplace_back(f.key, f.get(hp));
  return c;
}

inline Hyperparameters hyperparameters_from(const Configuration& c, const std::string& where) {
  Hyperparameters hp;
  for (const auto& f : hyperparameter_fields()) {
    const std::string* v = lookup(c, f.key);
    if (v == nullptr) throw std::runtime_error(where + ": no value for " + f.key);
    try {
      f.set(hp, *v);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": bad value for " + f.key + " (" + e.what() + ")");
    }
  }
  return hp;
}

[[noreturn]] inline void mismatch(const std::string& file, std::string_view label,
                                  const std::string& saved, const std::string& now) {
  throw std::invalid_argument(file + ": the checkpoint was written with " + std::string(label) +
                              " = " + saved + ", the machine has " + now);
}

/// The sections nlm itself writes; a part's own section may not take one of these names.
inline bool reserved_section(std::string_view name) {
  for (const char* r : {"machine", "hyperparameters", "training", "streams", "couplings", "chains", "field", "adam",
                        "ranks"})
    if (name == r) return true;
  return false;
}

/// A part of the machine (a policy, the step rule, the product backend) that keeps state of
/// its own beyond a random stream: it names a section and writes and reads it. Detected with
/// `requires`, so a part without one costs nothing.
template <class P>
concept PolicySection = requires(const P& cp, P& p, std::string_view bytes) {
  { cp.section_name() } -> std::convertible_to<std::string>;
  { cp.save_section() } -> std::convertible_to<std::string>;
  p.load_section(bytes);
};

/// f(part) for each part of the machine that may keep a section of its own.
template <class Machine, class F>
void for_each_part(Machine& m, F&& f) {
  f(m.activation());
  f(m.noise());
  f(m.regularizer());
  f(m.sampler());
  f(m.step_rule());
}

}  // namespace detail

/// The contents of a checkpoint file.
template <Scalar S>
struct Checkpoint {
  std::uint32_t version = 0;
  /// Scalar type and policies as written (format 4; format 2 and 3 files record only the
  /// scalar's size, as "scalar").
  detail::Configuration machine;
  Hyperparameters hyperparameters;
  std::uint64_t machine_updates = 0;
  Matrix<S> couplings;
  Matrix<S> persistent_chains;
  Vector<S> field;
  struct {
    Matrix<S> first, second;
  } adam_couplings;
  struct {
    Vector<S> first, second;
  } adam_field;
  std::vector<std::uint64_t> initialisation_stream, noise_stream, sampler_stream;
  TrainingState state;
  /// Sections written by the machine's parts themselves (see `detail::PolicySection`), by
  /// name, as stored.
  std::vector<std::pair<std::string, std::string>> policy_sections;
  /// Written by a run on several processes (nlm/distributed): each process's streams and
  /// sections, as stored; empty for a single process.
  std::string ranks;
};

namespace detail {

/// The streams section of `machine`: its initialisation, noise and sampler streams.
template <class Machine>
std::string streams_bytes(const Machine& machine) {
  std::ostringstream r(std::ios::binary);
  put_words(r, machine.initialisation_state());
  put_words(r, machine.noise().state());
  put_words(r, machine.sampler().state());
  return std::move(r).str();
}

/// f(section name, bytes) for each section the machine's parts keep themselves.
template <class Machine, class F>
void for_each_part_section(const Machine& machine, F&& f) {
  for_each_part(machine, [&](const auto& part) {
    if constexpr (PolicySection<std::remove_cvref_t<decltype(part)>>) {
      const std::string section = part.section_name();
      if (reserved_section(section))
        throw std::invalid_argument("save_checkpoint: a part of the machine names its section '" + section +
                                    "', which nlm uses itself");
      f(section, part.save_section());
    }
  });
}

/// The sections of a checkpoint of `machine` and `state`, with `hp` and `chains` in place of
/// the machine's own (nlm/distributed writes the run's hyperparameters and all processes'
/// chains), ready for more sections and `finish`.
template <class Machine>
SectionWriter checkpoint_sections(const Machine& machine, const TrainingState& state, const Hyperparameters& hp,
                                  const Matrix<typename Machine::scalar_type>& chains) {
  SectionWriter file;
  file.add("machine", configuration_text(machine_configuration(machine)));
  file.add("hyperparameters", configuration_text(hyperparameter_configuration(hp)));

  std::ostringstream t(std::ios::binary);
  for (const std::uint64_t v : {std::uint64_t(state.epoch), std::uint64_t(state.batch),
                                std::uint64_t(state.batches_per_epoch), state.updates,
                                state.planned_updates, machine.updates(), state.data_images,
                                state.data_checksum})
    put(t, v);
  put<std::uint8_t>(t, state.started ? 1 : 0);
  put(t, state.signal_mean_square);
  put(t, state.epoch_signal_sum);
  put_words(t, nlm::detail::save_engine(state.shuffle));
  put<std::uint64_t>(t, state.order.size());
  t.write(reinterpret_cast<const char*>(state.order.data()),
          std::streamsize(state.order.size() * sizeof(std::uint32_t)));
  detail::put<std::uint64_t>(t, state.curve.size());
  for (const auto& p : state.curve) {
    put<std::uint64_t>(t, p.epoch);
    put<std::uint64_t>(t, p.updates);
    put<double>(t, p.signal_mean_square);
  }
  file.add("training", std::move(t).str());

  file.add("streams", streams_bytes(machine));
  file.add("couplings", npy_bytes(machine.couplings()));
  file.add("chains", npy_bytes(chains));
  file.add("field", npy_bytes(machine.field()));
  if (machine.adam_couplings().first.size() != 0) {
    std::string a = npy_bytes(machine.adam_couplings().first) + npy_bytes(machine.adam_couplings().second);
    if (machine.adam_field().first.size() != 0)
      a += npy_bytes(machine.adam_field().first) + npy_bytes(machine.adam_field().second);
    file.add("adam", a);
  }
  for_each_part_section(machine, [&](const std::string& name, const std::string& bytes) { file.add(name, bytes); });
  return file;
}

}  // namespace detail

/// The bytes of a checkpoint of `machine` and `state` (what `save_checkpoint` writes).
template <class Machine>
std::string checkpoint_bytes(const Machine& machine, const TrainingState& state) {
  return detail::checkpoint_sections(machine, state, machine.hyperparameters(), machine.persistent_chains()).finish();
}

/// Writes a checkpoint of `machine` and `state` to `path` atomically: the previous file at
/// `path` survives any failure (or crash) during the write.
template <class Machine>
void save_checkpoint(const std::filesystem::path& path, const Machine& machine,
                     const TrainingState& state) {
  const std::string bytes = checkpoint_bytes(machine, state);
  write_atomically(path, [&](std::ostream& out) {
    // In two halves with the fault-injection hook between them (a kill mid-write).
    const std::size_t half = bytes.size() / 2;
    out.write(bytes.data(), std::streamsize(half));
    if (auto* hook = detail::write_step_hook()) {
      out.flush();
      hook(path, "half-written");
    }
    out.write(bytes.data() + half, std::streamsize(bytes.size() - half));
  });
}

namespace detail {

template <Scalar S>
void parse_legacy(std::string_view payload, const std::string& name, std::uint32_t version,
                  Checkpoint<S>& c);

template <Scalar S>
void parse_sections(std::string_view body, const std::string& name, Checkpoint<S>& c) {
  const auto sections = split_sections(body, name);
  c.machine = parse_configuration(require_section(sections, "machine", name), name + " (section 'machine')");
  c.hyperparameters = hyperparameters_from(
      parse_configuration(require_section(sections, "hyperparameters", name), name + " (section 'hyperparameters')"),
      name + " (section 'hyperparameters')");
  if (const std::string* scalar = lookup(c.machine, "scalar"); scalar == nullptr)
    throw std::runtime_error(name + " (section 'machine'): no value for scalar");

  {
    SectionReader t(require_section(sections, "training", name), name, "training");
    auto& s = c.state;
    s.epoch = t.get<std::uint64_t>("epoch");
    s.batch = t.get<std::uint64_t>("batch");
    s.batches_per_epoch = t.get<std::uint64_t>("batches_per_epoch");
    s.updates = t.get<std::uint64_t>("updates");
    s.planned_updates = t.get<std::uint64_t>("planned_updates");
    c.machine_updates = t.get<std::uint64_t>("machine updates");
    s.data_images = t.get<std::uint64_t>("data_images");
    s.data_checksum = t.get<std::uint64_t>("data_checksum");
    s.started = t.get<std::uint8_t>("started") != 0;
    s.signal_mean_square = t.get<double>("signal_mean_square");
    s.epoch_signal_sum = t.get<double>("epoch_signal_sum");
    nlm::detail::restore_engine(s.shuffle, t.words("shuffle stream"), "shuffle stream");
    const auto n_order = t.get<std::uint64_t>("shuffle length");
    t.require_room(n_order, sizeof(std::uint32_t), "the shuffle");
    s.order.resize(n_order);
    t.stream().read(reinterpret_cast<char*>(s.order.data()), std::streamsize(n_order * sizeof(std::uint32_t)));
    const auto n_curve = t.get<std::uint64_t>("curve length");
    t.require_room(n_curve, 24, "the training curve");
    s.curve.resize(n_curve);
    for (auto& p : s.curve) {
      p.epoch = t.get<std::uint64_t>("curve epoch");
      p.updates = t.get<std::uint64_t>("curve updates");
      p.signal_mean_square = t.get<double>("curve value");
    }
    t.finish();
    for (const auto i : s.order)
      if (i >= n_order) throw std::runtime_error(t.where() + ": the shuffle holds image " +
                                                 std::to_string(i) + " of " + std::to_string(n_order));
    if (s.started && s.batches_per_epoch != 0 && s.batch >= s.batches_per_epoch)
      throw std::runtime_error(t.where() + ": batch " + std::to_string(s.batch) + " of an epoch of " +
                               std::to_string(s.batches_per_epoch));
  }
  {
    SectionReader r(require_section(sections, "streams", name), name, "streams");
    c.initialisation_stream = r.words("initialisation stream");
    c.noise_stream = r.words("noise stream");
    c.sampler_stream = r.words("sampler stream");
    r.finish();
  }
  const auto array = [&](const char* section) {
    return std::pair{require_section(sections, section, name), name + " (section '" + section + "')"};
  };
  {
    auto [bytes, where] = array("couplings");
    SectionReader r(bytes, name, "couplings");
    c.couplings = read_npy<S, 2>(r.stream(), where);
    r.finish();
  }
  {
    auto [bytes, where] = array("chains");
    SectionReader r(bytes, name, "chains");
    c.persistent_chains = read_npy<S, 2>(r.stream(), where);
    r.finish();
  }
  {
    auto [bytes, where] = array("field");
    SectionReader r(bytes, name, "field");
    c.field = read_npy<S, 1>(r.stream(), where);
    r.finish();
  }
  for (const auto& section : sections)
    if (!reserved_section(section.name)) c.policy_sections.emplace_back(section.name, std::string(section.payload));
  if (const Section* ranks = find_section(sections, "ranks")) c.ranks = std::string(ranks->payload);
  if (find_section(sections, "adam") != nullptr) {
    auto [bytes, where] = array("adam");
    SectionReader r(bytes, name, "adam");
    c.adam_couplings.first = read_npy<S, 2>(r.stream(), where);
    c.adam_couplings.second = read_npy<S, 2>(r.stream(), where);
    r.stream().peek();
    if (!r.stream().eof()) {
      c.adam_field.first = read_npy<S, 1>(r.stream(), where);
      c.adam_field.second = read_npy<S, 1>(r.stream(), where);
    }
    r.finish();
  }
}

}  // namespace detail

/// Parses and verifies checkpoint bytes (magic, version, checksum, every section); `name`
/// starts every error message. The in-memory entry point of `read_checkpoint` (and of the
/// fuzz target).
template <Scalar S>
Checkpoint<S> parse_checkpoint(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 8 + 16 || std::memcmp(bytes.data(), detail::checkpoint_magic, 8) != 0)
    throw std::runtime_error(name + ": not an nlm checkpoint (bad magic)");
  if (std::memcmp(bytes.data() + bytes.size() - 8, detail::checkpoint_end, 8) != 0)
    throw std::runtime_error(name + ": checkpoint is truncated (no end marker)");
  std::uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 16, 8);
  const std::string_view payload(bytes.data(), bytes.size() - 16);
  if (detail::fnv1a(payload) != stored)
    throw std::runtime_error(name + ": checkpoint is corrupt (checksum mismatch)");
  if (payload.size() < 12) throw std::runtime_error(name + ": checkpoint ends while reading version");
  std::uint32_t version;
  std::memcpy(&version, payload.data() + 8, 4);
  Checkpoint<S> c;
  c.version = version;
  if (version == detail::checkpoint_version)
    detail::parse_sections(payload.substr(12), name, c);
  else if (version == 2 || version == 3)
    detail::parse_legacy(payload, name, version, c);
  else
    throw std::runtime_error(name + ": checkpoint format version " + std::to_string(version) +
                             " is not supported (expected 2 to " +
                             std::to_string(detail::checkpoint_version) + ")");
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

/// Throws std::invalid_argument unless `c` was written by a machine configured as `machine`
/// is: scalar type, every policy with its parameters (format 4), and every hyperparameter a
/// resume depends on. The message names the first difference and both values.
template <class Machine>
void require_same_configuration(const Checkpoint<typename Machine::scalar_type>& c,
                                const Machine& machine, const std::string& file) {
  const auto now = detail::machine_configuration(machine);
  for (const auto& [key, value] : now) {
    const std::string* saved = detail::lookup(c.machine, key);
    if (saved == nullptr) continue;  // format 2/3: policies not recorded
    if (*saved != value) detail::mismatch(file, key, *saved, value);
  }
  const Hyperparameters& mine = machine.hyperparameters();
  for (const auto& f : detail::hyperparameter_fields()) {
    if (!f.checked) continue;
    const std::string saved = f.get(c.hyperparameters), current = f.get(mine);
    if (saved != current) detail::mismatch(file, f.label, saved, current);
  }
}

namespace detail {

/// Puts the contents of a read checkpoint into `machine` (configured as the one that wrote
/// it) and returns its training state: `load_checkpoint`'s second half.
template <class Machine>
TrainingState restore(Checkpoint<typename Machine::scalar_type>&& c, Machine& machine, const std::string& f) {
  using S = typename Machine::scalar_type;
  require_same_configuration(c, machine, f);
  const Hyperparameters& hp = c.hyperparameters;
  if (c.field.shape(0) != hp.neurons)
    throw std::runtime_error(f + ": the field has " + std::to_string(c.field.shape(0)) +
                             " values, the checkpoint's machine " + std::to_string(hp.neurons) + " neurons");
  // The parts' own sections first: a missing or bad one leaves J and the chains as they were.
  detail::for_each_part(machine, [&](auto& part) {
    if constexpr (detail::PolicySection<std::remove_cvref_t<decltype(part)>>) {
      const std::string section = part.section_name();
      const auto at = std::find_if(c.policy_sections.begin(), c.policy_sections.end(),
                                   [&](const auto& s) { return s.first == section; });
      if (at == c.policy_sections.end())
        throw std::runtime_error(f + ": the checkpoint has no section '" + section + "', which the machine's " +
                                 nlm::detail::describe_policy(part) + " keeps its state in");
      try {
        part.load_section(at->second);
      } catch (const std::exception& e) {
        throw std::runtime_error(f + " (section '" + section + "'): " + e.what());
      }
    }
  });
  machine.set_couplings(std::move(c.couplings));
  machine.set_persistent_chains(std::move(c.persistent_chains));
  if (hp.learn_field || xt::any(xt::not_equal(c.field, S(0)))) machine.set_field(std::move(c.field));
  machine.set_adam_state({std::move(c.adam_couplings.first), std::move(c.adam_couplings.second)},
                         {std::move(c.adam_field.first), std::move(c.adam_field.second)});
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
  return detail::restore(std::move(c), machine, f);
}

namespace detail {

/// Formats 2 and 3 (nlm before named sections): fields by position.
template <Scalar S>
void parse_legacy(std::string_view payload, const std::string& name, std::uint32_t version,
                  Checkpoint<S>& c) {
  std::istringstream in{std::string(payload), std::ios::binary};
  Reader r(in, name);
  in.ignore(12);
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
  nlm::detail::restore_engine(s.shuffle, r.words("shuffle stream"), "shuffle stream");
  const auto n_order = r.get<std::uint64_t>("shuffle length");
  if (n_order > (std::uint64_t(1) << 32) || n_order * 4 > payload.size())
    throw std::runtime_error(name + ": implausible shuffle length");
  s.order.resize(n_order);
  if (!in.read(reinterpret_cast<char*>(s.order.data()),
               std::streamsize(n_order * sizeof(std::uint32_t))))
    throw std::runtime_error(name + ": checkpoint ends inside the shuffle");
  c.couplings = read_npy<S, 2>(in, name + " (couplings)");
  c.persistent_chains = read_npy<S, 2>(in, name + " (persistent chains)");
  c.field = read_npy<S, 1>(in, name + " (field)");
  if (r.get<std::uint8_t>("adam flag") != 0) {
    c.adam_couplings.first = read_npy<S, 2>(in, name + " (Adam first moments)");
    c.adam_couplings.second = read_npy<S, 2>(in, name + " (Adam second moments)");
    if (r.get<std::uint8_t>("adam field flag") != 0) {
      c.adam_field.first = read_npy<S, 1>(in, name + " (Adam field first moments)");
      c.adam_field.second = read_npy<S, 1>(in, name + " (Adam field second moments)");
    }
  }
  if (c.state.batches_per_epoch != 0 && c.state.batch > c.state.batches_per_epoch)
    throw std::runtime_error(name + ": batch " + std::to_string(c.state.batch) + " of an epoch of " +
                             std::to_string(c.state.batches_per_epoch));
  for (const auto i : c.state.order)
    if (i >= c.state.order.size())
      throw std::runtime_error(name + ": the shuffle holds image " + std::to_string(i) + " of " +
                               std::to_string(c.state.order.size()));
}

}  // namespace detail
}  // namespace nlm::io
