// The MPI suite's main: every process runs every test case in the same order (the cases call
// collectives), and the job fails if any process saw a failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <nlm/distributed/communicator.hpp>

int main(int argc, char** argv) {
  nlm::distributed::Environment mpi(argc, argv);
  int failures = 0;
  {
    doctest::Context context(argc, argv);
    failures = context.run();
  }
  int any = 0;
  MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any != 0 ? 1 : 0;
}
