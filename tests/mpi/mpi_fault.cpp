// A data-parallel job for tests/mpi/run_mpi_fault.cmake:
//   mpi_fault train DIR      10 updates, a checkpoint every 2; rank 1 throws in update 5
//   mpi_fault interrupt DIR  the same, but rank 1 receives SIGINT in update 7 (exit 130)
//   mpi_fault resume DIR     resumes DIR/run.ckpt and trains to update 10
//   mpi_fault straight DIR   10 updates without a fault
// Each run that reaches update 10 prints a checksum of J.
// Failures end the job through Communicator::fail (rank 0 prints the message, non-zero exit).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <nlm/distributed.hpp>
#include <nlm/nlm.hpp>

namespace {

// Throws on `rank` when the update it is about to make is `update` (1-based).
struct ThrowOnRank {
  int rank, me;
  std::uint64_t update;
  template <class M, class Batch>
  void on_batch(M&, Batch&, std::span<const std::uint32_t>, const nlm::TrainingState& s) {
    if (me == rank && s.updates + 1 == update)
      throw std::runtime_error("bad data on rank " + std::to_string(me) + " at update " + std::to_string(update));
  }
};

// Raises SIGINT in `rank`'s process when it is about to make update `update`.
struct SignalOnRank {
  int rank, me;
  std::uint64_t update;
  template <class M, class Batch>
  void on_batch(M&, Batch&, std::span<const std::uint32_t>, const nlm::TrainingState& s) {
    if (me == rank && s.updates + 1 == update) std::raise(SIGINT);
  }
};

}  // namespace

int main(int argc, char** argv) {
  nlm::distributed::Environment mpi(argc, argv);
  nlm::distributed::Communicator comm;
  try {
    if (argc != 3) throw std::invalid_argument("usage: mpi_fault train|resume DIR");
    const std::string mode = argv[1];
    const std::filesystem::path dir = argv[2], checkpoint = dir / "run.ckpt";
    nlm::Hyperparameters hp;
    hp.neurons = 16;
    hp.persistent_chains = 6;
    hp.batch_size = 4;
    hp.langevin_steps = 3;
    hp.learning_rate = 1e-2;
    hp.seed = 11;
    nlm::Matrix<float> data = nlm::Matrix<float>::from_shape({40, hp.neurons});
    nlm::detail::Xoshiro256 rng(5);
    nlm::detail::fill_normal<float>(rng, std::span<float>(data.data(), data.size()));

    nlm::distributed::DataParallel<nlm::PaperMachine> run(comm, hp);
    run.set_check_every(1);
    nlm::TrainingState state = run.initial_state();
    if (mode == "resume") {
      state = run.load_checkpoint(checkpoint);
      if (comm.is_root()) std::printf("resumed at update %llu\n", static_cast<unsigned long long>(state.updates));
    } else if (mode == "train" || mode == "interrupt" || mode == "straight") {
      if (comm.is_root()) std::filesystem::create_directories(dir);
      comm.barrier();
    } else {
      throw std::invalid_argument("mpi_fault: unknown mode " + mode);
    }
    try {
      state = run.train(data, nlm::TrainingOptions::for_updates(10), state,
                        nlm::distributed::GatheredCheckpoint<nlm::PaperMachine>(run, checkpoint, 2),
                        ThrowOnRank{1, comm.rank(), mode == "train" ? 5u : 0u},
                        SignalOnRank{1, comm.rank(), mode == "interrupt" ? 7u : 0u});
    } catch (const nlm::interrupted& e) {
      if (comm.is_root()) std::printf("%s\n", e.what());
      return 130;
    }
    if (comm.is_root()) {
      const auto& j = run.machine().couplings();
      const std::uint64_t sum = nlm::detail::fnv1a(
          std::string_view(reinterpret_cast<const char*>(j.data()), j.size() * sizeof(float)));
      std::printf("J identical on all %d processes after update %llu; J checksum %s\n", comm.size(),
                  static_cast<unsigned long long>(state.updates), nlm::detail::hex64(sum).c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    comm.fail("mpi_fault", e);
  }
}
