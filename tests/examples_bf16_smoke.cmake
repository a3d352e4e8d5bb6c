# --precision bf16 in mnist_train and mnist_generate on 60 real digits, a few steps (not timed):
# on this CPU (ISA = NATIVE) or with oneDNN told it runs on a lower class (DNNL_MAX_CPU_ISA set
# by ctest; ISA names it). Below AVX-512 BF16 the programs must say, once, that the products
# keep bf16 rounding without bf16 instructions, and still write every promised file.
# Invoked by ctest with -DBIN_DIR=<examples dir> -DDATA=<mnist-mini dir> -DOUT=<scratch dir>.
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
set(isa "$ENV{DNNL_MAX_CPU_ISA}")

function(run_bf16 name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  string(FIND "${err}" "no bf16 instructions on this CPU" told)
  if(isa MATCHES "^(AVX2|AVX512_CORE)$" AND told EQUAL -1)
    message(FATAL_ERROR "${name} with DNNL_MAX_CPU_ISA=${isa} did not say it has no bf16 instructions:\n${err}")
  endif()
  message(STATUS "${name} (${isa}):\n${out}")
endfunction()

run_bf16(mnist_train "${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/train" --N_image 60 --b_size 10
         --N_model 10 --n_t 2 --seed 4 --preset quick --updates 3 --precision bf16)
run_bf16(mnist_generate "${BIN_DIR}/mnist_generate" --couplings "${OUT}/train/J.npy" --field "${OUT}/train/field.npy"
         --chains 4 --steps 20 --precision bf16 --out "${OUT}/generate" --samples-npy "${OUT}/generate/samples.npy")
foreach(f IN ITEMS train/J.npy train/field.npy train/checkpoint.nlm generate/samples.png generate/samples.npy)
  if(NOT EXISTS "${OUT}/${f}")
    message(FATAL_ERROR "missing output ${OUT}/${f}")
  endif()
endforeach()
