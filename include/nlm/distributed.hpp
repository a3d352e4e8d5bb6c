/// @file distributed.hpp
/// @brief nlm/distributed: data-parallel training, checkpoints and generation over MPI. Not
/// part of <nlm/nlm.hpp> (the core needs no MPI); link `nlm::mpi` (CMake option NLM_MPI, or
/// find_package(nlm) where an MPI for C++ is installed). docs/scaling.md.
#pragma once

#include "distributed/communicator.hpp"
#include "distributed/data_parallel.hpp"
