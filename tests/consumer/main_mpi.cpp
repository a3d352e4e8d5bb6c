// Uses the installed nlm/distributed: a data-parallel run of 5 updates on a toy problem.
#include <cmath>
#include <cstdio>

#include <nlm/distributed.hpp>
#include <nlm/nlm.hpp>

int main(int argc, char** argv) {
  nlm::distributed::Environment mpi(argc, argv);
  nlm::distributed::Communicator comm;
  try {
    nlm::Hyperparameters hp;
    hp.neurons = 8;
    hp.persistent_chains = 4;
    hp.batch_size = 4;
    nlm::distributed::DataParallel<nlm::PaperMachine> run(comm, hp);
    nlm::Matrix<float> data = nlm::Matrix<float>::from_shape({16, 8});  // the same on every process
    for (std::size_t i = 0; i < data.size(); ++i) data.data()[i] = float(std::sin(0.7 * double(i)));
    const auto state = run.train(data, nlm::TrainingOptions::for_updates(5));
    if (comm.is_root()) std::printf("ranks: %d, updates: %llu\n", comm.size(), static_cast<unsigned long long>(state.updates));
    return 0;
  } catch (const std::exception& e) {
    comm.fail("nlm_consumer_mpi", e);
  }
}
