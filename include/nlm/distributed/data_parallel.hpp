/// @file data_parallel.hpp
/// @brief Data-parallel training and generation over MPI processes (link `nlm::mpi`).
///
/// Each process holds a machine with its share of the run's persistent chains (N_model/P)
/// and takes its share of the rows of every mini-batch (b_size/P) from one shuffle that all
/// processes draw alike. Its learning signal is its part of the sum (the machine normalises by
/// the run's counts: `LangevinMachine::set_mean_counts`); one all-reduce per update adds the
/// parts (with the counts, checked), and every process makes the same step, so J stays the
/// same everywhere (checked by a checksum every `check_every` updates and at the end).
/// J is drawn from the run's initialisation stream on every process; rank 0 keeps the run's
/// chain, noise and sampler streams (a run on one process is `nlm::train`'s, bit for bit),
/// and rank r > 0 derives its own from them.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../detail/checksum.hpp"
#include "../detail/engine_state.hpp"
#include "../detail/random.hpp"
#include "../errors.hpp"
#include "../hyperparameters.hpp"
#include "../io/atomic_file.hpp"
#include "../io/sections.hpp"
#include "../training/checkpoint.hpp"
#include "../langevin_machine.hpp"
#include "../training/train.hpp"
#include "../types.hpp"
#include "communicator.hpp"

namespace nlm::distributed {

/// `count` items shared among `ranks` processes as evenly as possible (the first
/// count % ranks take one more): {offset, count} of `rank`'s.
constexpr std::pair<std::size_t, std::size_t> share_of(std::size_t count, int rank, int ranks) noexcept {
  const std::size_t p = std::size_t(ranks), r = std::size_t(rank), q = count / p, extra = count % p;
  return {r * q + std::min(r, extra), q + (r < extra ? 1 : 0)};
}

/// How a run's persistent chains and mini-batch rows are divided among the processes.
struct Partition {
  Hyperparameters run;  ///< the whole run's hyperparameters (N_model and b_size in all)
  int rank = 0, ranks = 1;
  std::size_t chains_offset = 0, chains = 0;  ///< this process's rows of the run's chains
  std::size_t batch_offset = 0, batch = 0;    ///< its rows of every mini-batch

  static Partition of(const Hyperparameters& run, int rank, int ranks) {
    run.validate();
    if (ranks < 1 || rank < 0 || rank >= ranks)
      throw std::invalid_argument("nlm::distributed: rank " + std::to_string(rank) + " of " + std::to_string(ranks));
    const auto few = [&](const char* what, std::size_t n) {
      if (n < std::size_t(ranks))
        throw std::invalid_argument(std::string("nlm::distributed: ") + what + " " + std::to_string(n) +
                                    " cannot be shared among " + std::to_string(ranks) +
                                    " processes (each needs at least one)");
    };
    few("persistent_chains (N_model)", run.persistent_chains);
    few("batch_size (b_size)", run.batch_size);
    Partition p{run, rank, ranks, 0, 0, 0, 0};
    std::tie(p.chains_offset, p.chains) = share_of(run.persistent_chains, rank, ranks);
    std::tie(p.batch_offset, p.batch) = share_of(run.batch_size, rank, ranks);
    return p;
  }
  /// The hyperparameters of this process's machine: the run's, with its N_model and b_size.
  Hyperparameters local() const {
    Hyperparameters h = run;
    h.persistent_chains = chains;
    h.batch_size = batch;
    return h;
  }
};

/// The seed of `stream` on `rank`: the run's own on rank 0, one derived from it elsewhere.
constexpr std::uint64_t rank_seed(std::uint64_t seed, Stream stream, int rank) noexcept {
  const std::uint64_t base = nlm::detail::derive_seed(seed, std::uint64_t(stream));
  return rank == 0 ? base : nlm::detail::derive_seed(base, std::uint64_t(rank));
}

/// A machine of type `Machine` holding this process's share of a data-parallel run, with the
/// collective operations of the run: `train`, `save_checkpoint`, `load_checkpoint`,
/// `gather_chains`, `generate`. Every process constructs one with the same hyperparameters
/// and calls the same operations in the same order. Anything else that changes J or b (such
/// as `fit_field`) must be done alike on every process (from the same data).
template <class Machine>
class DataParallel {
 public:
  using machine_type = Machine;
  using S = typename Machine::scalar_type;

  /// `run`: the whole run's hyperparameters; `policies`: the machine's constructor arguments
  /// after the hyperparameters (activation, noise, regularizer, ...).
  template <class... Policies>
  DataParallel(Communicator& comm, const Hyperparameters& run, Policies&&... policies)
      : comm_(&comm),
        partition_(Partition::of(run, comm.rank(), comm.size())),
        machine_(partition_.local(), std::forward<Policies>(policies)...) {
    if (comm.rank() != 0) {  // J is the run's; the chains and their noise are this process's own
      nlm::detail::Xoshiro256 init(rank_seed(run.seed, Stream::initialisation, comm.rank()));
      machine_.set_initialisation_state(nlm::detail::save_engine(init));
      machine_.set_persistent_chains(machine_.random_states(partition_.chains));
      machine_.noise().seed(rank_seed(run.seed, Stream::noise, comm.rank()));
      machine_.sampler().seed(rank_seed(run.seed, Stream::sampler, comm.rank()));
    }
    machine_.set_mean_counts(run.persistent_chains, run.batch_size);
  }

  Machine& machine() noexcept { return machine_; }
  const Machine& machine() const noexcept { return machine_; }
  const Partition& partition() const noexcept { return partition_; }
  const Hyperparameters& run_hyperparameters() const noexcept { return partition_.run; }
  Communicator& communicator() noexcept { return *comm_; }
  /// Updates between the checks that J is the same on every process (0: only at the end).
  void set_check_every(std::uint64_t updates) noexcept { check_every_ = updates; }
  /// Seconds this process spent in the learning signal's all-reduces (waiting for the slowest
  /// process included), and how many it made, over this object's `train` calls.
  double reduce_seconds() const noexcept { return reduce_seconds_; }
  std::uint64_t reductions() const noexcept { return reductions_; }
  /// Floats each all-reduce sums: M − D, the field's signal and three counts.
  std::size_t reduce_elements() const noexcept { return machine_.neurons() * (machine_.neurons() + 1) + 3; }

  /// The state a fresh run starts from (the same on every process).
  TrainingState initial_state() const { return initial_training_state(machine_); }

  /// `nlm::train` on every process, each on its rows of every mini-batch of the same shuffle
  /// of `data` (the same on every process: checked), with one all-reduce per update before
  /// the callbacks' `on_signal`. SIGINT/SIGTERM on any process stops all of them after the
  /// same update: the callbacks see `on_end` (a checkpoint callback saves there), then
  /// `interrupted` is thrown on every process.
  template <class... Callbacks>
  TrainingState train(const Matrix<S>& data, TrainingOptions options, TrainingState state,
                      Callbacks&&... callbacks) {
    require_same_data(data);
    options.batch_slice = {partition_.run.batch_size, partition_.batch_offset};
    const bool signals = options.handle_signals;
    options.handle_signals = false;  // the reduction agrees on a signal across processes first
    nlm::detail::SignalGuard guard(signals);
    Reduction reduction(*this, signals);
    state = nlm::train(machine_, data, options, std::move(state), reduction, callbacks...);
    require_same_couplings(state.updates);
    if (reduction.interrupted_processes() != 0)
      throw interrupted("training interrupted by a signal on " + std::to_string(reduction.interrupted_processes()) +
                        " of " + std::to_string(comm_->size()) + " processes after update " +
                        std::to_string(state.updates));
    return state;
  }
  template <class... Callbacks>
  TrainingState train(const Matrix<S>& data, const TrainingOptions& options, Callbacks&&... callbacks) {
    return train(data, options, initial_state(), std::forward<Callbacks>(callbacks)...);
  }

  /// Throws distributed_error on every process unless J and b are bit for bit the same on all
  /// of them (one all-reduce of a checksum).
  void require_same_couplings(std::uint64_t update) {
    const std::uint64_t mine = parameters_checksum();
    const std::uint64_t high = comm_->all_reduce_max(mine), low = comm_->all_reduce_min(mine);
    if (high != low)
      throw distributed_error("nlm::distributed: the couplings differ between processes after update " +
                              std::to_string(update) + " (checksums " + nlm::detail::hex64(low) + " to " +
                              nlm::detail::hex64(high) + "): a process changed J or b on its own");
  }

  /// All processes' persistent chains in the run's order on rank 0 (empty elsewhere).
  Matrix<S> gather_chains() { return gather_rows(machine_.persistent_chains()); }

  /// Generation sharded over the processes: `count` states in all, each process drawing its
  /// share from N(0, 1) from its own initialisation stream and advancing it `steps` steps; the
  /// samples in rank order on rank 0 (an empty matrix elsewhere).
  Matrix<S> generate(std::size_t count, std::size_t steps) {
    const std::size_t mine = share_of(count, comm_->rank(), comm_->size()).second;
    Matrix<S> x = machine_.random_states(mine);
    if (mine != 0) machine_.sample(x, steps);
    return gather_rows(x);
  }

  /// One checkpoint of the whole run, written atomically by rank 0 (collective): the run's
  /// hyperparameters, J, b, the training state, every process's chains (in the run's order)
  /// and, in a section "ranks", every process's streams and parts' sections. `nlm::
  /// read_checkpoint` reads it; `nlm::load_checkpoint` refuses it (it takes P processes).
  void save_checkpoint(const std::filesystem::path& path, const TrainingState& state) {
    const std::string shard = shard_bytes();
    std::vector<std::uint64_t> sizes;
    const std::vector<char> shards = comm_->gather(std::span<const char>(shard.data(), shard.size()), 0, &sizes);
    const Matrix<S> chains = gather_chains();
    if (!comm_->is_root()) return;
    io::SectionWriter ranks;  // the process count, then each process's shard with its length
    ranks.put(std::uint64_t(comm_->size()));
    std::size_t at = 0;
    for (const std::uint64_t n : sizes) {
      ranks.put_bytes(std::string_view(shards.data() + at, std::size_t(n)));
      at += std::size_t(n);
    }
    auto file = nlm::detail::checkpoint_sections(machine_, state, partition_.run, chains);
    file.add("ranks", ranks);
    const std::string bytes = std::move(file).finish(nlm::detail::checkpoint_end);
    io::write_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
  }

  /// Restores this process's share of a run from a checkpoint `save_checkpoint` wrote
  /// (collective: rank 0 reads the file and sends it to the others, so it need only be on
  /// rank 0's file system) and returns the training state. Refuses, on every process, a
  /// checkpoint written by another number of processes or by a differently configured run.
  /// A single-process checkpoint (`nlm::save_checkpoint`) loads on one process.
  TrainingState load_checkpoint(const std::filesystem::path& path) {
    const std::string f = path.string();
    std::string bytes;
    if (comm_->is_root()) {
      std::ifstream in(path, std::ios::binary);
      bytes = in ? "C" + std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())
                 : "E" + f + ": cannot open checkpoint for reading";
    }
    comm_->broadcast(bytes);
    if (bytes.empty() || bytes[0] != 'C') throw std::runtime_error(bytes.empty() ? f + ": empty" : bytes.substr(1));
    Checkpoint<S> c = parse_checkpoint<S>(std::string_view(bytes).substr(1), f);
    bytes.clear();
    const int ranks = comm_->size(), rank = comm_->rank();
    if (c.ranks.empty()) {
      if (ranks != 1)
        throw distributed_error(f + ": the checkpoint was written by one process; this run has " +
                                std::to_string(ranks) + " (a checkpoint resumes on as many processes as wrote it)");
      return nlm::detail::restore_checkpoint(std::move(c), machine_, f);
    }
    io::SectionReader in(c.ranks, f + " (section 'ranks')");
    const auto written = in.get<std::uint64_t>("the process count");
    if (written != std::uint64_t(ranks))
      throw distributed_error(f + ": the checkpoint was written by " + std::to_string(written) +
                              " processes; this run has " + std::to_string(ranks) + ". Resume it with mpirun -np " +
                              std::to_string(written) + " (a checkpoint resumes on as many processes as wrote it)");
    std::string shard;
    for (int r = 0; r < ranks; ++r) {
      std::string s = in.bytes("a process's streams and sections");
      if (r == rank) shard = std::move(s);
    }
    in.finish();
    const Partition p = Partition::of(c.hyperparameters, rank, ranks);
    if (c.persistent_chains.shape(0) != c.hyperparameters.persistent_chains)
      throw std::runtime_error(f + ": " + std::to_string(c.persistent_chains.shape(0)) + " chains for N_model " +
                               std::to_string(c.hyperparameters.persistent_chains));
    c.hyperparameters = p.local();
    Matrix<S> mine = Matrix<S>::from_shape({p.chains, c.persistent_chains.shape(1)});
    std::copy_n(c.persistent_chains.data() + p.chains_offset * mine.shape(1), mine.size(), mine.data());
    c.persistent_chains = std::move(mine);
    read_shard(shard, c, f + " (section 'ranks', rank " + std::to_string(rank) + ")");
    c.ranks.clear();
    return nlm::detail::restore_checkpoint(std::move(c), machine_, f);
  }

 private:
  // The on_signal / on_update callback `train` runs first: the all-reduce, the counts, the
  // agreed interrupt and the periodic check of J.
  class Reduction {
   public:
    Reduction(DataParallel& dp, bool signals) : dp_(&dp), signals_(signals) {
      const std::size_t n = dp.machine_.neurons();
      buffer_.resize(n * n + n + 3);
    }
    template <class Signal>
    void on_signal(Machine&, Signal& signal, const TrainingState& state) {
      const std::size_t nn = signal.couplings.size(), n = signal.field.size();
      if (buffer_.size() != nn + n + 3) buffer_.resize(nn + n + 3);
      std::copy_n(signal.couplings.data(), nn, buffer_.data());
      std::copy_n(signal.field.data(), n, buffer_.data() + nn);
      buffer_[nn + n] = S(signal.chains);
      buffer_[nn + n + 1] = S(signal.images);
      buffer_[nn + n + 2] = signals_ && nlm::detail::pending_signal().exchange(0) != 0 ? S(1) : S(0);
      const auto start = std::chrono::steady_clock::now();
      dp_->comm_->all_reduce_sum(std::span<S>(buffer_));
      dp_->reduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++dp_->reductions_;
      std::copy_n(buffer_.data(), nn, signal.couplings.data());
      std::copy_n(buffer_.data() + nn, n, signal.field.data());
      const Hyperparameters& run = dp_->partition_.run;
      if (buffer_[nn + n] != S(run.persistent_chains) || buffer_[nn + n + 1] != S(run.batch_size))
        throw distributed_error("nlm::distributed: update " + std::to_string(state.updates + 1) + " summed " +
                                std::to_string(double(buffer_[nn + n])) + " chains and " +
                                std::to_string(double(buffer_[nn + n + 1])) + " batch rows; the run has " +
                                std::to_string(run.persistent_chains) + " and " + std::to_string(run.batch_size));
      interrupted_ += std::size_t(buffer_[nn + n + 2]);
    }
    bool on_update(Machine&, const TrainingState& state) {
      if (dp_->check_every_ != 0 && state.updates % dp_->check_every_ == 0) dp_->require_same_couplings(state.updates);
      return interrupted_ != 0;
    }
    std::size_t interrupted_processes() const noexcept { return interrupted_; }

   private:
    DataParallel* dp_;
    bool signals_;
    std::vector<S> buffer_;
    std::size_t interrupted_ = 0;
  };

  void require_same_data(const Matrix<S>& data) {
    const std::uint64_t mine = nlm::detail::data_checksum(data) ^ (std::uint64_t(data.shape(0)) << 1);
    if (comm_->all_reduce_max(mine) != comm_->all_reduce_min(mine))
      throw distributed_error("nlm::distributed: the processes were given different training data (" +
                              std::to_string(data.shape(0)) + " images here): every process needs the whole "
                              "training set, in the same order");
  }

  std::uint64_t parameters_checksum() const {
    const auto bytes = [](const auto& a) {
      return std::string_view(reinterpret_cast<const char*>(a.data()), a.size() * sizeof(S));
    };
    return nlm::detail::fnv1a(bytes(machine_.couplings())) ^ (nlm::detail::fnv1a(bytes(machine_.field())) << 1);
  }

  Matrix<S> gather_rows(const Matrix<S>& x) {
    const std::size_t n = machine_.neurons();
    const std::vector<S> all = comm_->gather(std::span<const S>(x.data(), x.size()));
    if (!comm_->is_root()) return Matrix<S>::from_shape({0, n});
    Matrix<S> out = Matrix<S>::from_shape({all.size() / n, n});
    std::copy(all.begin(), all.end(), out.data());
    return out;
  }

  // This process's streams and the sections its machine's parts keep.
  std::string shard_bytes() const {
    io::SectionWriter out;
    out.put_bytes(nlm::detail::streams_section(machine_));
    std::vector<std::pair<std::string, std::string>> parts;
    nlm::detail::for_each_part_section(machine_, [&](const std::string& name, const std::string& bytes) {
      parts.emplace_back(name, bytes);
    });
    out.put(std::uint64_t(parts.size()));
    for (const auto& [name, bytes] : parts) {
      out.put_bytes(name);
      out.put_bytes(bytes);
    }
    return std::move(out).bytes();
  }
  // A shard's streams and sections into `c`: a part's section replaces the file's own of that
  // name (format 4 kept Adam's moments, the same on every process, only in the file's).
  static void read_shard(std::string_view shard, Checkpoint<S>& c, const std::string& where) {
    io::SectionReader in(shard, where);
    nlm::detail::read_streams(io::SectionReader(in.bytes("the streams"), where + " (streams)"), c);
    const auto parts = in.get<std::uint64_t>("the parts' count");
    for (std::uint64_t i = 0; i < parts; ++i) {
      io::Section part{in.bytes("a part's name"), in.bytes("a part's section")};
      const auto at = std::find_if(c.sections.begin(), c.sections.end(), [&](const auto& s) { return s.name == part.name; });
      if (at != c.sections.end())
        *at = std::move(part);
      else
        c.sections.push_back(std::move(part));
    }
    in.finish();
  }

  Communicator* comm_;
  Partition partition_;
  Machine machine_;
  std::uint64_t check_every_ = 100;
  double reduce_seconds_ = 0;
  std::uint64_t reductions_ = 0;
};

/// The checkpoint callback of a data-parallel run (what `nlm::PeriodicCheckpoint` is for one
/// process): every `every_updates` updates (0: never periodically) and at the end of training
/// (an interrupted run ends there too), `DataParallel::save_checkpoint` gathers every rank's
/// chains and streams into one file (collective; rank 0 writes).
template <class Machine>
class GatheredCheckpoint {
 public:
  GatheredCheckpoint(DataParallel<Machine>& run, std::filesystem::path path, std::uint64_t every_updates = 0)
      : run_(&run), path_(std::move(path)), every_(every_updates) {}
  void on_update(const Machine&, const TrainingState& s) {
    if (every_ != 0 && s.updates % every_ == 0) save(s);
  }
  void on_end(const Machine&, const TrainingState& s) { save(s); }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::uint64_t saves() const noexcept { return saves_; }

 private:
  void save(const TrainingState& s) {
    run_->save_checkpoint(path_, s);
    ++saves_;
  }
  DataParallel<Machine>* run_;
  std::filesystem::path path_;
  std::uint64_t every_;
  std::uint64_t saves_ = 0;
};

}  // namespace nlm::distributed
