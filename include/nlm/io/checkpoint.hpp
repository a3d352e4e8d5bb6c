/// @file checkpoint.hpp
/// @brief Checkpoints: everything needed to resume training bit for bit (couplings,
/// persistent chains, every random stream, counters, the epoch's shuffle), written atomically
/// and protected by a checksum.
///
/// Layout (little-endian): the magic `NLMCKPT1`, a format version, the hyperparameters, the
/// counters, the random streams, the shuffle, then J and the chains as embedded .npy arrays,
/// then a 64-bit FNV-1a checksum of everything before it and the end marker `NLMCKEND`. A
/// file cut short or altered fails the checksum with an error naming the file.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xoperation.hpp>

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
inline constexpr std::uint32_t checkpoint_version = 3;

inline std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

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

}  // namespace detail

/// The contents of a checkpoint file.
template <Scalar S>
struct Checkpoint {
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
};

/// Writes a checkpoint of `machine` and `state` to `path` atomically: the previous file at
/// `path` survives any failure (or crash) during the write.
template <class Machine>
void save_checkpoint(const std::filesystem::path& path, const Machine& machine,
                     const TrainingState& state) {
  using S = typename Machine::scalar_type;
  std::ostringstream body(std::ios::binary);
  const Hyperparameters& hp = machine.hyperparameters();
  body.write(detail::checkpoint_magic, 8);
  detail::put<std::uint32_t>(body, detail::checkpoint_version);
  detail::put<std::uint32_t>(body, sizeof(S));
  for (const std::uint64_t v : {std::uint64_t(hp.neurons), std::uint64_t(hp.persistent_chains),
                                std::uint64_t(hp.batch_size), std::uint64_t(hp.langevin_steps),
                                hp.seed})
    detail::put(body, v);
  for (const double v : {hp.coupling_strength, hp.time_step, hp.temperature, hp.learning_rate})
    detail::put(body, v);
  detail::put<std::uint8_t>(body, hp.learn_field ? 1 : 0);
  detail::put<std::uint8_t>(body, std::uint8_t(hp.step_rule));
  for (const double v : {hp.adam_beta1, hp.adam_beta2, hp.adam_epsilon, hp.chain_restart})
    detail::put(body, v);
  detail::put<std::uint64_t>(body, machine.updates());
  for (const std::uint64_t v : {std::uint64_t(state.epoch), std::uint64_t(state.batch),
                                std::uint64_t(state.batches_per_epoch), state.updates,
                                state.planned_updates})
    detail::put(body, v);
  detail::put<std::uint8_t>(body, state.started ? 1 : 0);
  detail::put(body, state.gradient_mean_square);
  detail::put(body, state.epoch_gradient_sum);
  detail::put_words(body, machine.initialisation_state());
  detail::put_words(body, machine.noise().state());
  detail::put_words(body, machine.sampler().state());
  detail::put_words(body, nlm::detail::save_engine(state.shuffle));
  detail::put<std::uint64_t>(body, state.order.size());
  body.write(reinterpret_cast<const char*>(state.order.data()),
             std::streamsize(state.order.size() * sizeof(std::uint32_t)));
  write_npy(body, machine.couplings());
  write_npy(body, machine.persistent_chains());
  write_npy(body, machine.field());
  const bool adam = machine.adam_couplings().first.size() != 0;
  detail::put<std::uint8_t>(body, adam ? 1 : 0);
  if (adam) {
    write_npy(body, machine.adam_couplings().first);
    write_npy(body, machine.adam_couplings().second);
    const bool field_moments = machine.adam_field().first.size() != 0;
    detail::put<std::uint8_t>(body, field_moments ? 1 : 0);
    if (field_moments) {
      write_npy(body, machine.adam_field().first);
      write_npy(body, machine.adam_field().second);
    }
  }
  std::string bytes = std::move(body).str();
  const std::uint64_t sum = detail::fnv1a(bytes);
  write_atomically(path, [&](std::ostream& out) {
    out.write(bytes.data(), std::streamsize(bytes.size()));
    detail::put(out, sum);
    out.write(detail::checkpoint_end, 8);
  });
}

/// Reads and verifies a checkpoint (magic, version, checksum) without a machine.
template <Scalar S>
Checkpoint<S> read_checkpoint(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(name + ": cannot open checkpoint for reading");
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8 + 16 || std::memcmp(bytes.data(), detail::checkpoint_magic, 8) != 0)
    throw std::runtime_error(name + ": not an nlm checkpoint (bad magic)");
  if (std::memcmp(bytes.data() + bytes.size() - 8, detail::checkpoint_end, 8) != 0)
    throw std::runtime_error(name + ": checkpoint is truncated (no end marker)");
  std::uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 16, 8);
  const std::string_view payload(bytes.data(), bytes.size() - 16);
  if (detail::fnv1a(payload) != stored)
    throw std::runtime_error(name + ": checkpoint is corrupt (checksum mismatch)");

  std::istringstream in(std::string(payload), std::ios::binary);
  detail::Reader r(in, name);
  in.ignore(8);
  const auto version = r.get<std::uint32_t>("version");
  if (version != detail::checkpoint_version && version != 2)
    throw std::runtime_error(name + ": checkpoint format version " + std::to_string(version) +
                             " is not supported (expected " +
                             std::to_string(detail::checkpoint_version) + ")");
  r.get<std::uint32_t>("scalar size");
  Checkpoint<S> c;
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
  s.gradient_mean_square = r.get<double>("gradient_mean_square");
  s.epoch_gradient_sum = r.get<double>("epoch_gradient_sum");
  c.initialisation_stream = r.words("initialisation stream");
  c.noise_stream = r.words("noise stream");
  c.sampler_stream = r.words("sampler stream");
  nlm::detail::restore_engine(s.shuffle, r.words("shuffle stream"), "shuffle stream");
  const auto n_order = r.get<std::uint64_t>("shuffle length");
  if (n_order > (std::uint64_t(1) << 32)) throw std::runtime_error(name + ": implausible shuffle length");
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
  hp.validate();
  return c;
}

namespace detail {
inline void require_same(const std::string& file, const char* field, double saved, double now) {
  if (saved != now) {
    std::ostringstream m;
    m.precision(17);
    m << file << ": the checkpoint was written with " << field << " = " << saved
      << ", the machine has " << now;
    throw std::invalid_argument(m.str());
  }
}
}  // namespace detail

/// Restores `machine` from the checkpoint at `path` and returns the training state to pass to
/// `nlm::train`. The machine must have been built with the same hyperparameters (the error
/// names the first one that differs); build it from `read_checkpoint(path).hyperparameters`
/// to resume without knowing them.
template <class Machine>
TrainingState load_checkpoint(const std::filesystem::path& path, Machine& machine) {
  using S = typename Machine::scalar_type;
  Checkpoint<S> c = read_checkpoint<S>(path);
  const auto& a = c.hyperparameters;
  const auto& b = machine.hyperparameters();
  const std::string f = path.string();
  detail::require_same(f, "neurons (N)", double(a.neurons), double(b.neurons));
  detail::require_same(f, "persistent_chains (N_model)", double(a.persistent_chains), double(b.persistent_chains));
  detail::require_same(f, "batch_size (b_size)", double(a.batch_size), double(b.batch_size));
  detail::require_same(f, "langevin_steps (n_t)", double(a.langevin_steps), double(b.langevin_steps));
  detail::require_same(f, "time_step (dt)", a.time_step, b.time_step);
  detail::require_same(f, "temperature (T)", a.temperature, b.temperature);
  detail::require_same(f, "learning_rate (k)", a.learning_rate, b.learning_rate);
  detail::require_same(f, "learn_field", double(a.learn_field), double(b.learn_field));
  detail::require_same(f, "step_rule (0 plain, 1 adam)", double(a.step_rule), double(b.step_rule));
  detail::require_same(f, "chain_restart", a.chain_restart, b.chain_restart);
  machine.set_couplings(std::move(c.couplings));
  machine.set_persistent_chains(std::move(c.persistent_chains));
  if (a.learn_field || xt::any(xt::not_equal(c.field, S(0)))) machine.set_field(std::move(c.field));
  machine.set_adam_state({std::move(c.adam_couplings.first), std::move(c.adam_couplings.second)},
                         {std::move(c.adam_field.first), std::move(c.adam_field.second)});
  machine.set_initialisation_state(c.initialisation_stream);
  machine.noise().set_state(c.noise_stream);
  machine.sampler().set_state(c.sampler_stream);
  machine.set_updates(c.machine_updates);
  return std::move(c.state);
}

}  // namespace nlm::io
