# ctest mpi_fault: a 2-process job whose rank 1 throws in update 5 must end (no hang) with a
# non-zero exit and rank 1's message printed by rank 0; the checkpoint of update 4 must resume
# on 2 processes and be refused on 1. A SIGINT on rank 1 in update 7 must stop both processes
# after the same update with a checkpoint, from which the run ends bit for bit as one without
# the signal.
#   cmake -DMPIEXEC="mpirun;flags...;-np" -DPROGRAM=mpi_fault -DDIR=dir -P run_mpi_fault.cmake
# job(VAR NP MODE DIR): runs the program on NP processes, VAR_rc / VAR_out / VAR_err set.
function(job var np mode dir)
  execute_process(COMMAND ${MPIEXEC} ${np} ${PROGRAM} ${mode} ${dir}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  message(STATUS "${mode} on ${np}: exit ${rc}\n${out}${err}")
  set(${var}_rc "${rc}" PARENT_SCOPE)
  set(${var}_out "${out}" PARENT_SCOPE)
  set(${var}_err "${err}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${DIR}")

job(j 2 train ${DIR})
set(rc "${j_rc}")
set(out "${j_out}")
set(err "${j_err}")
if(rc EQUAL 0 OR NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "the job whose rank 1 throws should end with a non-zero exit, got '${rc}'")
endif()
if(NOT "${err}" MATCHES "mpi_fault: rank 1: bad data on rank 1 at update 5")
  message(FATAL_ERROR "rank 0 did not print rank 1's message")
endif()

job(j 2 resume ${DIR})
set(rc "${j_rc}")
set(out "${j_out}")
set(err "${j_err}")
if(NOT rc EQUAL 0 OR NOT "${out}" MATCHES "resumed at update 4" OR
   NOT "${out}" MATCHES "J identical on all 2 processes after update 10")
  message(FATAL_ERROR "the last checkpoint (update 4) did not resume on 2 processes")
endif()

job(j 1 resume ${DIR})
set(rc "${j_rc}")
set(out "${j_out}")
set(err "${j_err}")
if(rc EQUAL 0 OR NOT "${err}" MATCHES "written by 2 processes; this run has 1. Resume it with mpirun -np 2")
  message(FATAL_ERROR "a 2-process checkpoint should be refused on 1 process with the count named")
endif()

# SIGINT on rank 1 only: both stop after update 7, exit 130, and the resumed run's J is the
# uninterrupted run's.
job(j 2 straight ${DIR}/straight)
set(rc "${j_rc}")
set(straight "${j_out}")
set(err "${j_err}")
string(REGEX MATCH "J checksum 0x[0-9a-f]+" straight_sum "${straight}")
if(NOT rc EQUAL 0 OR straight_sum STREQUAL "")
  message(FATAL_ERROR "the run without faults failed")
endif()
job(j 2 interrupt ${DIR}/interrupt)
set(rc "${j_rc}")
set(out "${j_out}")
set(err "${j_err}")
if(NOT rc EQUAL 130 OR NOT "${out}" MATCHES "training interrupted by a signal on 1 of 2 processes after update 7")
  message(FATAL_ERROR "a SIGINT on rank 1 should stop both processes after update 7 with exit 130")
endif()
job(j 2 resume ${DIR}/interrupt)
set(rc "${j_rc}")
set(out "${j_out}")
set(err "${j_err}")
string(REGEX MATCH "J checksum 0x[0-9a-f]+" resumed_sum "${out}")
if(NOT rc EQUAL 0 OR NOT "${out}" MATCHES "resumed at update 7" OR NOT resumed_sum STREQUAL straight_sum)
  message(FATAL_ERROR "the run resumed after the interrupt should end as the uninterrupted one (${straight_sum}), got '${resumed_sum}'")
endif()
