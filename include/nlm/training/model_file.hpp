/// @file model_file.hpp
/// @brief One file for a trained model: what programs that sample, complete, classify or
/// analyse need (couplings J, field b, the unit layout, the hyperparameters and the policies
/// it was trained with), without the learner's state a checkpoint adds (persistent chains,
/// random streams, step rule moments, training curve).
///
/// Format 1 (little-endian), in the section codec of io/sections.hpp after the magic
/// `NLMMODEL` and the version: `machine` and `hyperparameters` as `key=value` text lines (as
/// in a checkpoint), `learner` (the update count), `couplings` and `field` as embedded .npy
/// arrays, and `layout` as the text of layout_text(). read_model() reads such a file or a
/// checkpoint (whose layout is then unknown), and says which it read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../hyperparameters.hpp"
#include "../io/atomic_file.hpp"
#include "../io/sections.hpp"
#include "../types.hpp"
#include "../unit_layout.hpp"
#include "checkpoint.hpp"

namespace nlm {
namespace detail {

inline constexpr std::string_view model_magic{"NLMMODEL", 8};
inline constexpr std::string_view model_end{"NLMMDEND", 8};
inline constexpr std::uint32_t model_version = 1;

}  // namespace detail

/// A trained model as read from a model file or a checkpoint.
template <Scalar S>
struct SavedModel {
  /// What was read: "model file (format 1)" or "checkpoint (format 5)".
  std::string kind;
  /// Scalar type and policies as written.
  io::Configuration machine;
  Hyperparameters hyperparameters;
  std::uint64_t updates = 0;
  Matrix<S> couplings;
  Vector<S> field;
  /// The unit layout: a model file's; none from a checkpoint.
  std::optional<UnitLayout> layout;

  std::size_t neurons() const noexcept { return couplings.shape(0); }
};

/// The bytes of a model file of `machine`'s model with `layout` (what save_model writes).
/// @throws std::invalid_argument when the layout does not have the machine's neurons.
template <class Machine>
std::string model_file_bytes(const Machine& machine, const UnitLayout& layout) {
  layout.require_neurons(machine.neurons(), "save_model: the machine");
  io::FileWriter file(detail::model_magic, detail::model_version);
  file.add("machine", io::configuration_text(detail::machine_configuration(machine)));
  file.add("hyperparameters", io::configuration_text(detail::hyperparameter_configuration(machine.hyperparameters())));
  const auto section = [&](const char* name, auto&& write) {
    io::SectionWriter w;
    write(w);
    file.add(name, w);
  };
  section("learner", [&](io::SectionWriter& w) { w.put<std::uint64_t>(machine.updates()); });
  section("couplings", [&](io::SectionWriter& w) { w.put_array(machine.couplings()); });
  section("field", [&](io::SectionWriter& w) { w.put_array(machine.field()); });
  file.add("layout", layout_text(layout));
  return std::move(file).finish(detail::model_end);
}

/// Writes the model file of `machine`'s model with `layout` to `path`, atomically.
template <class Machine>
void save_model(const std::filesystem::path& path, const Machine& machine, const UnitLayout& layout) {
  const std::string bytes = model_file_bytes(machine, layout);
  io::write_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
}

/// Parses model file or checkpoint bytes; `name` starts every error message.
template <Scalar S>
SavedModel<S> parse_model(std::string_view bytes, const std::string& name) {
  SavedModel<S> m;
  if (bytes.substr(0, detail::checkpoint_magic.size()) == detail::checkpoint_magic) {
    Checkpoint<S> c = parse_checkpoint<S>(bytes, name);
    m.kind = "checkpoint (format " + std::to_string(c.version) + ")";
    m.machine = std::move(c.machine);
    m.hyperparameters = c.hyperparameters;
    m.updates = c.machine_updates;
    m.couplings = std::move(c.couplings);
    m.field = std::move(c.field);
    return m;
  }
  if (bytes.substr(0, detail::model_magic.size()) != detail::model_magic)
    throw std::runtime_error(name + ": neither a model file nor a checkpoint (its first bytes are not " +
                             std::string(detail::model_magic) + " or " + std::string(detail::checkpoint_magic) + ")");
  io::File file(bytes, detail::model_magic, detail::model_end, name, "model file");
  if (file.version() != detail::model_version)
    throw std::runtime_error(name + ": model file format version " + std::to_string(file.version()) +
                             " is not supported (expected " + std::to_string(detail::model_version) + ")");
  file.split();
  m.kind = "model file (format " + std::to_string(file.version()) + ")";
  const auto text = [&](const char* section) -> const std::string& {
    const io::Section* s = file.find(section);
    if (s == nullptr) throw std::runtime_error(name + ": model file has no '" + std::string(section) + "' section");
    return s->payload;
  };
  m.machine = io::parse_configuration(text("machine"), file.where("machine"));
  m.hyperparameters =
      detail::hyperparameters_from(io::parse_configuration(text("hyperparameters"), file.where("hyperparameters")),
                                   file.where("hyperparameters"));
  {
    io::SectionReader r = file.reader("learner");
    m.updates = r.get<std::uint64_t>("the update count");
    r.finish();
  }
  {
    io::SectionReader r = file.reader("couplings");
    m.couplings = r.array<S, 2>("the couplings");
    r.finish();
  }
  {
    io::SectionReader r = file.reader("field");
    m.field = r.array<S, 1>("the field");
    r.finish();
  }
  m.layout = parse_layout(text("layout"), file.where("layout"));
  const std::size_t n = m.couplings.shape(0);
  if (m.couplings.shape(1) != n || n == 0)
    throw std::runtime_error(file.where("couplings") + ": the couplings are " + std::to_string(n) + "x" +
                             std::to_string(m.couplings.shape(1)) + ", not a square N x N matrix");
  if (m.field.shape(0) != n)
    throw std::runtime_error(file.where("field") + ": the field has " + std::to_string(m.field.shape(0)) +
                             " values for " + std::to_string(n) + " neurons");
  try {
    m.layout->require_neurons(n, "the model");
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(file.where("layout") + ": " + e.what());
  }
  m.hyperparameters.validate();
  return m;
}

/// Reads the model in a model file (save_model) or a checkpoint (save_checkpoint) at `path`.
template <Scalar S>
SavedModel<S> read_model(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(name + ": cannot open the model file for reading");
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return parse_model<S>(bytes, name);
}

}  // namespace nlm
