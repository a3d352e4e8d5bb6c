# mnist_train_mpi on 2 processes with mnist_train's options, on the repository's mini digits:
#  1. label units, held-out digits, bf16 products and Adam steps: the same files as mnist_train
#     (model.nlm, J.npy, layout.txt, checkpoint, field, training curve), a layout with labels;
#  2. parallel tempering as the model phase, stopped at update 4 and resumed to 6, against an
#     uninterrupted run of 6 updates: J the same bit for bit (the hot replicas of every process
#     travel in the gathered checkpoint).
# Invoked by ctest with -DPROGRAM=<mnist_train_mpi> -DDATA=<mnist-mini> -DOUT=<scratch>
# -DMPIEXEC=<mpiexec;flags;-np> -DONEDNN=<ON|OFF>.
file(REMOVE_RECURSE "${OUT}")
set(small --data "${DATA}" --N_image 60 --b_size 10 --N_model 10 --n_t 2 --anneal 0)

function(run_mpi name)
  execute_process(COMMAND ${MPIEXEC} 2 "${PROGRAM}" ${small} ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: exit ${rc}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(precision fp32)
if(ONEDNN)
  set(precision bf16)
endif()
run_mpi(labels --updates 4 --labels --held-out 2 --precision ${precision} --step-rule adam --k 1e-4
        --checkpoint-every 2 --out "${OUT}/labels")
foreach(f model.nlm J.npy layout.txt checkpoint.nlm field.npy training_curve.csv)
  if(NOT EXISTS "${OUT}/labels/${f}")
    message(FATAL_ERROR "labels: ${f} not written\n${run_output}")
  endif()
endforeach()
if(NOT run_output MATCHES "ranks: 2.*label units: 30 .*4 updates in .* on 2 processes.*wrote .*model.nlm")
  message(FATAL_ERROR "labels: unexpected output\n${run_output}")
endif()
file(READ "${OUT}/labels/layout.txt" layout)
if(NOT layout MATCHES "held_out: 2" OR NOT layout MATCHES "classes: 1 3 6")
  message(FATAL_ERROR "labels: layout.txt lacks the labels or the held-out count:\n${layout}")
endif()

run_mpi(pt-first --updates 4 --model-phase pt --checkpoint-every 2 --out "${OUT}/pt")
run_mpi(pt-resumed --updates 6 --model-phase pt --checkpoint-every 2 --out "${OUT}/pt" --resume)
if(NOT run_output MATCHES "resumed from .* at update 4.*parallel tempering: ladder 1 ")
  message(FATAL_ERROR "pt-resumed: unexpected output\n${run_output}")
endif()
run_mpi(pt-whole --updates 6 --model-phase pt --checkpoint-every 2 --out "${OUT}/pt-whole")
file(SHA256 "${OUT}/pt/J.npy" resumed)
file(SHA256 "${OUT}/pt-whole/J.npy" whole)
if(NOT resumed STREQUAL whole)
  message(FATAL_ERROR "pt: J after a resume at update 4 differs from the uninterrupted run's")
endif()
message(STATUS "mnist_train_mpi: labels, held-out, ${precision}, adam; pt resumed bit for bit")
