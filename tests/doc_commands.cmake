# Runs every example command quoted in README.md and docs/examples.md, at a small size, so that
# a doc cannot quote a program or an option that does not exist.
#
# A quoted command is a line of a ```sh block that starts with `build-demo/examples/<program>`
# or `mpirun -np P build-demo/examples/<program>`; other lines (cmake, bash scripts/...) are not
# run. Commands run in the order of the docs (docs/examples.md first, whose first command trains
# the quick model the README's commands use), from a scratch folder laid out as
# the repository after the quick start: build-demo/examples (the built programs), data/mnist
# (the repository's 60 mini digits), my/points.npy and my/points_labels.npy (a user's data),
# data/digits/digits.csv.gz (16 synthetic 8x8 digits in the UCI file's format, written plain:
# the reader takes gzipped and plain files alike; CI has no copy of the UCI digits).
# Each program's size options below are appended to its commands; every program takes an
# option's last value, so they override the docs' full sizes.
#
# Invoked by ctest with -DBIN_DIR=<examples dir> -DDATA=<mnist-mini> -DMAKE_DATA=<make_user_data>
# -DSOURCE=<repository> -DOUT=<scratch> -DMPIEXEC=<mpiexec;flags;-np> (empty without MPI).
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}/build-demo" "${OUT}/data")
file(CREATE_LINK "${BIN_DIR}" "${OUT}/build-demo/examples" SYMBOLIC)
file(CREATE_LINK "${DATA}" "${OUT}/data/mnist" SYMBOLIC)
set(digits_csv "")
foreach(r RANGE 15)
  set(row "")
  foreach(i RANGE 63)
    math(EXPR v "(3 * ${r} + 5 * ${i}) % 17")
    string(APPEND row "${v},")
  endforeach()
  math(EXPR label "${r} % 10")
  string(APPEND digits_csv "${row}${label}\n")
endforeach()
file(WRITE "${OUT}/data/digits/digits.csv.gz" "${digits_csv}")
execute_process(COMMAND "${MAKE_DATA}" "${OUT}/my" RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_user_data failed (${rc})")
endif()

set(small_mnist_train --N_image 60 --b_size 10 --N_model 10 --n_t 2 --updates 3 --held-out 4)
set(small_mnist_train_mpi --N_image 60 --b_size 10 --N_model 10 --n_t 2 --updates 3 --held-out 4)
set(small_mnist_generate --chains 4 --steps 20 --anneal-steps 10 --snapshot-start 5 --snapshot-every 5 --replicas 2
                         --diagnostics-every 2)
set(small_mnist_evaluate --held-out 20 --classifier-images 30 --pca-components 3)
set(small_mnist_pca --N_image1 30 --chains 2 --chain 1 --steps 40 --from 10 --every 2)
set(small_mnist_neuron_trace --chains 2 --chain 0 --steps 40 --from 10)
set(small_mnist_complete --images 4 --completions 2 --steps 20 --quench 5)
set(small_mnist_classify --steps 20)
set(small_mnist_attractors --held-out 3 --starts 6 --data-starts 3 --descent-steps 300)
set(small_mnist_likelihood --held-out 3 -K 20 --particles 4 --runs 2)
set(small_sequence_replay --cycles 50 --chains 2 --frames 8 --burn-in 2 --sym-starts 3)
set(small_fep_bars --seeds 2 --presentations 20)
set(small_fep_digits --seeds 1 --presentations 10 --steps 2 --trials 3 --grid none)
set(small_fep_sequence --seeds 1 --presentations 30 --frames 12)
set(small_fep_free_run --seeds 1 --presentations 10 --steps 2 --free-steps 20 --trials 3)
set(small_fep_capacity --seeds 1 --neurons 20 --patterns 2,4 --presentations 20 --steps 2)
set(small_nla_mnist --train 40 --test 20 --epochs 1 --batch 10 --steps 10 --layers 784-20-10)
set(small_nla_timeseries --epochs 1 --train-steps 300 --test-steps 300 --skip 50)

set(count 0)
foreach(doc IN ITEMS docs/examples.md README.md)
  file(STRINGS "${SOURCE}/${doc}" lines)
  set(in_block FALSE)
  foreach(line IN LISTS lines)
    if(line MATCHES "^```sh")
      set(in_block TRUE)
      continue()
    elseif(line MATCHES "^```")
      set(in_block FALSE)
      continue()
    endif()
    if(NOT in_block OR NOT line MATCHES "^(mpirun -np [0-9]+ )?build-demo/examples/([a-z_]+)( |$)")
      continue()
    endif()
    set(program "${CMAKE_MATCH_2}")
    if(NOT EXISTS "${BIN_DIR}/${program}")
      if(CMAKE_MATCH_1)
        message(STATUS "not run (no MPI in this build): ${line}")
        continue()
      endif()
      message(FATAL_ERROR "${doc} quotes ${program}, which is not an example program:\n${line}")
    endif()
    if(NOT DEFINED small_${program})
      message(FATAL_ERROR "doc_commands.cmake has no small size for ${program} (quoted in ${doc})")
    endif()
    separate_arguments(command UNIX_COMMAND "${line}")
    if(CMAKE_MATCH_1)
      if(MPIEXEC STREQUAL "")
        message(STATUS "not run (no MPI in this build): ${line}")
        continue()
      endif()
      list(REMOVE_AT command 0 1 2)  # mpirun -np P: this build's launcher on 2 processes
      set(command ${MPIEXEC} 2 ${command})
    endif()
    execute_process(COMMAND ${command} ${small_${program}} WORKING_DIRECTORY "${OUT}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${doc}: the quoted command failed (${rc}):\n${line}\n"
                          "run as: ${command} ${small_${program}}\n${out}\n${err}")
    endif()
    math(EXPR count "${count} + 1")
    message(STATUS "ran: ${line}")
  endforeach()
endforeach()
if(count LESS 10)
  message(FATAL_ERROR "only ${count} quoted commands found in README.md and docs/examples.md")
endif()
message(STATUS "${count} quoted commands ran")
