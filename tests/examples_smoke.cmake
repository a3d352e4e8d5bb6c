# Runs every MNIST example's code path on 60 real digits with a few steps (not timed), then
# checks that each promised file exists and that a resumed training run continues.
# Invoked by ctest with -DBIN_DIR=<examples dir> -DDATA=<mnist-mini dir> -DOUT=<scratch dir>.
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

# Runs a command that must fail (an exit status, not a crash) with `expected` in its error output.
function(expect_error expected)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(FIND "${err}" "${expected}" at)
  # A crash gives a text ("Segmentation fault"), an error a status: 1, or 105 from CLI11.
  if(NOT rc MATCHES "^[0-9]+$" OR rc EQUAL 0 OR at EQUAL -1)
    message(FATAL_ERROR "expected an error exit and \"${expected}\" from: ${ARGN}\n"
                        "got status ${rc}:\n${out}\n${err}")
  endif()
  message(STATUS "refused as expected: ${expected}")
endfunction()

# Runs a program (the arguments after the regex) and requires status 0 and a last line that
# matches `last_line` (a regex for the line without its newline).
function(expect_last_line last_line)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX MATCH "\n${last_line}\n$" line "${out}")
  if(NOT rc EQUAL 0 OR line STREQUAL "")
    message(FATAL_ERROR "expected status 0 and a last line matching '${last_line}' from: ${ARGN}\n"
                        "got status ${rc}:\n${out}\n${err}")
  endif()
endfunction()

function(expect_files)
  foreach(f IN LISTS ARGN)
    if(NOT EXISTS "${OUT}/${f}")
      message(FATAL_ERROR "missing output ${OUT}/${f}")
    endif()
  endforeach()
endfunction()

set(train "${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/train" --N_image 60
          --b_size 10 --N_model 10 --n_t 2 --seed 4)
run(${train} --preset paper --n 1 --updates 3)
execute_process(COMMAND ${train} --preset paper --n 2 --resume RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
string(FIND "${out}" "9 updates in" at)  # the rate counts this run's updates only
if(NOT rc EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "resumed training (${rc}) did not report its own 9 updates:\n${out}\n${err}")
endif()
expect_files(train/J.npy train/checkpoint.nlm train/training_curve.csv train/training_curve.png)
file(STRINGS "${OUT}/train/training_curve.csv" curve)
list(LENGTH curve lines)
if(NOT lines EQUAL 3)  # header + epochs 1 and 2
  message(FATAL_ERROR "training_curve.csv has ${lines} lines, expected 3:\n${curve}")
endif()

# The quick preset learns a field (started at the data's mean residual) and anneals k; Adam steps.
run("${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/quick" --N_image 60 --b_size 10
    --N_model 10 --n_t 2 --seed 4 --preset quick --updates 4 --step-rule adam --k 1e-4)
expect_files(quick/J.npy quick/field.npy quick/checkpoint.nlm)

# Weight-update statistics: histograms in the seed's layout, tail fits, one picture per window.
execute_process(COMMAND "${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/stats" --N_image 60
                --b_size 10 --N_model 10 --n_t 2 --seed 4 --preset quick --updates 12 --update-window 6
                --bootstrap 5 --update-stats "${OUT}/stats/updates"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "window 7-13: alpha [0-9.]+ ± [0-9.]+, xmin" line "${out}")
if(NOT rc EQUAL 0 OR line STREQUAL "")
  message(FATAL_ERROR "mnist_train --update-stats (${rc}) printed no line for window 7-13:\n${out}\n${err}")
endif()
expect_files(stats/updates/1-7_nums.npy stats/updates/1-7_xbins.npy stats/updates/7-13_nums.npy
             stats/updates/signal_7-13_nums.npy stats/updates/windows.csv stats/updates/tail.csv
             stats/updates/window_1-7.png)
run("${BIN_DIR}/mnist_generate" --couplings "${OUT}/quick/J.npy" --field "${OUT}/quick/field.npy"
    --chains 4 --steps 20 --snapshot-start 100 --out "${OUT}/gen_field"
    --samples-npy "${OUT}/gen_field/samples.npy")
run("${BIN_DIR}/mnist_evaluate" --samples "${OUT}/gen_field/samples.npy" --data "${DATA}"
    --couplings "${OUT}/quick/J.npy" --field "${OUT}/quick/field.npy" --held-out 20
    --classifier-images 30 --pca-components 3 --csv "${OUT}/gen_field/metrics.csv"
    --picture "${OUT}/gen_field/first.png")
expect_files(gen_field/samples.png gen_field/metrics.csv gen_field/first.png)
# The counts carry their 95 % intervals (issue 35), in the table and in the CSV; 4 samples are
# far too few, and the program says so.
execute_process(COMMAND "${BIN_DIR}/mnist_evaluate" --samples "${OUT}/gen_field/samples.npy" --data "${DATA}"
                --held-out 20 --classifier-images 30 --pca-components 3 --csv "${OUT}/gen_field/metrics.csv"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "confidently classified \\(max p >= 0.9\\) +[0-9.]+ +\\[[0-9.]+, [0-9.]+\\]" cline "${out}")
string(REGEX MATCH "class balance entropy / log C \\(1 ideal\\) +[-0-9.na]+ +\\[[0-9.]+, [0-9.]+\\]" eline "${out}")
string(REGEX MATCH "note: with 4 samples the confident fraction is known to about ±[0-9]+ points" nline "${out}")
file(READ "${OUT}/gen_field/metrics.csv" csv)
string(FIND "${csv}" "metric,samples,real,samples_lower,samples_upper" header)
if(NOT rc EQUAL 0 OR cline STREQUAL "" OR eline STREQUAL "" OR nline STREQUAL "" OR header LESS 0)
  message(FATAL_ERROR "mnist_evaluate (${rc}) printed no intervals, no small-sample note or no interval columns "
                      "in its CSV:\n${out}\n${err}\n${csv}")
endif()

# Likelihood (issue 14): AIS's log Z and the held-out log-likelihood lines, the picture.
execute_process(COMMAND "${BIN_DIR}/mnist_likelihood" --couplings "${OUT}/quick/J.npy" --field "${OUT}/quick/field.npy"
                --data "${DATA}" --held-out 3 -K 20 --particles 4 --runs 2 --out "${OUT}/likelihood"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
# Issue 35: the forward ± (never below the runs' spread), each run's SE and ESS, the reverse
# path and the interval.
string(REGEX MATCH "log Z: -?[0-9.]+ ± [0-9.]+ \\(the larger of the particles' SE" zline "${out}")
string(REGEX MATCH "log Z interval \\(95 %\\): \\[-?[0-9.]+, -?[0-9.]+\\]" iline "${out}")
string(REGEX MATCH "forward: MALA acceptance [0-9.]+ \\([0-9.]+ nearest the model\\), ESS of the weights [0-9.]+ of 8 \\([0-9]+ %\\); each run's log Z: -?[0-9.]+ ± [0-9.]+ \\(ESS [0-9.]+\\), -?[0-9.]+ ± [0-9.]+ \\(ESS [0-9.]+\\)"
       wline "${out}")
string(REGEX MATCH "test log-likelihood: -?[0-9.]+ nats/image \\(95 % interval from log Z's: \\[-?[0-9.]+, -?[0-9.]+\\]\\)\n$"
       lline "${out}")
if(NOT rc EQUAL 0 OR zline STREQUAL "" OR iline STREQUAL "" OR wline STREQUAL "" OR lline STREQUAL "")
  message(FATAL_ERROR "mnist_likelihood (${rc}) did not print 'log Z: <v> ± <u> (the larger of ...', the "
                      "interval, each run's SE and ESS, and end with 'test log-likelihood: <v> nats/image (95 % "
                      "interval from log Z's: [<lo>, <hi>])':\n${out}\n${err}")
endif()
execute_process(COMMAND "${BIN_DIR}/mnist_likelihood" --couplings "${OUT}/quick/J.npy" --field "${OUT}/quick/field.npy"
                --data "${DATA}" --held-out 3 -K 20 --particles 4 --runs 2 --reverse-burn-in 0 --out "${OUT}/likelihood"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "log Z >= -?[0-9.]+ with probability >= 95 %" bline "${out}")
string(REGEX MATCH "test log-likelihood: -?[0-9.]+ nats/image \\(at most -?[0-9.]+ with probability >= 95 %\\)\n$"
       lline "${out}")
if(NOT rc EQUAL 0 OR bline STREQUAL "" OR lline STREQUAL "")
  message(FATAL_ERROR "mnist_likelihood --reverse-burn-in 0 (${rc}) did not give the one-sided bound:\n${out}\n${err}")
endif()
expect_files(likelihood/likelihood.png)
expect_error("AisOptions: particles must be >= 2" "${BIN_DIR}/mnist_likelihood" --couplings "${OUT}/quick/J.npy"
             --data "${DATA}" --held-out 3 -K 5 --particles 1 --out "${OUT}/likelihood")

# Parallel tempering: generation with the swap rates printed, and the model phase with a resume.
execute_process(COMMAND "${BIN_DIR}/mnist_generate" --couplings "${OUT}/quick/J.npy" --field "${OUT}/quick/field.npy"
                --sampler pt --replicas 3 --t-max 1.5 --swap-every 2 --chains 4 --steps 20 --snapshot-start 100
                --out "${OUT}/gen_pt" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "swap rates of the pairs \\(T_r, T_r\\+1\\), every 2 steps: [0-9.]+ [0-9.]+" sline "${out}")
if(NOT rc EQUAL 0 OR sline STREQUAL "")
  message(FATAL_ERROR "mnist_generate --sampler pt (${rc}) printed no swap rates of two pairs:\n${out}\n${err}")
endif()
set(train_pt "${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/train_pt" --N_image 60 --b_size 10
             --N_model 10 --n_t 3 --seed 4 --preset quick --model-phase pt --t-max 1.5 --swap-every 2)
run(${train_pt} --replicas 3 --updates 3)
run(${train_pt} --replicas 3 --updates 6 --resume)
expect_files(train_pt/J.npy train_pt/checkpoint.nlm)
expect_error("ParallelTempering<EulerMaruyama>(replicas=3" ${train_pt} --replicas 4 --updates 8 --resume)
# One sampler layer (examples/common/options.hpp): parallel tempering's defaults are the same in
# training and generation, and its refusal of bf16 is the same sentence in both.
foreach(program mnist_train mnist_generate)
  execute_process(COMMAND "${BIN_DIR}/${program}" --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  string(REGEX MATCH "--replicas[^\n]*=4[ \n]" replicas_default "${help}")
  string(REGEX MATCH "--t-max[^\n]*=1\\.5[ \n]" t_max_default "${help}")
  string(REGEX MATCH "--swap-every[^\n]*=10[ \n]" swap_default "${help}")
  if(NOT rc EQUAL 0 OR replicas_default STREQUAL "" OR t_max_default STREQUAL "" OR swap_default STREQUAL "")
    message(FATAL_ERROR "${program} --help: parallel tempering's defaults are not 4 replicas, t-max 1.5, "
                        "swap every 10:\n${help}")
  endif()
endforeach()
expect_error("pt (parallel tempering): with --precision fp32 only" ${train_pt} --precision bf16 --updates 1)
expect_error("pt (parallel tempering): with --precision fp32 only" "${BIN_DIR}/mnist_generate"
             --couplings "${OUT}/quick/J.npy" --sampler pt --precision bf16 --out "${OUT}/gen_pt")

set(J "${OUT}/train/J.npy")
run("${BIN_DIR}/mnist_generate" --couplings "${J}" --chains 4 --steps 20 --snapshot-start 5
    --snapshot-every 5 --out "${OUT}/gen" --samples-npy "${OUT}/gen/samples.npy")
expect_files(gen/samples.png gen/snapshots.png gen/samples.npy)
file(SIZE "${OUT}/gen/samples.npy" npy_size)
if(NOT npy_size EQUAL 12672)  # 128-byte header + 4 x 784 float32
  message(FATAL_ERROR "samples.npy has ${npy_size} bytes, expected 12672")
endif()
run("${BIN_DIR}/mnist_generate" --couplings "${J}" --chains 2 --steps 10 --sampler mala
    --snapshot-start 100 --out "${OUT}/gen_mala")
expect_files(gen_mala/samples.png)

# --diagnostics: the mixing lines (tau_int, ESS, split-R-hat of the energy and two PC
# projections, class switches) from the second half of 200 steps.
execute_process(COMMAND "${BIN_DIR}/mnist_generate" --couplings "${J}" --chains 3 --steps 200 --diagnostics
                --data "${DATA}" --snapshot-start 1000 --out "${OUT}/gen_diag"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "diagnostics: 3 chains, steps 100..200 every 10 \\(11 draws per chain\\)"
   OR NOT out MATCHES "energy +tau_int .* split-R-hat" OR NOT out MATCHES "PC2 +tau_int"
   OR NOT out MATCHES "class switches per 10 000 steps")
  message(FATAL_ERROR "mnist_generate --diagnostics (${rc}):\n${out}\n${err}")
endif()

run("${BIN_DIR}/mnist_pca" --couplings "${J}" --data "${DATA}" --N_image1 60 --chains 2
    --chain 1 --steps 40 --from 10 --every 2 --out "${OUT}/pca")
expect_files(pca/pca.png pca/pca_data.csv pca/pca_trajectory.csv)

run("${BIN_DIR}/mnist_neuron_trace" --couplings "${J}" --chains 2 --chain 0 --neurons 234,300
    --steps 40 --from 10 --out "${OUT}/trace")
expect_files(trace/neuron_trace.png trace/neuron_trace.csv)

# Bad input is refused with the option's name, before any work.
expect_error("--updates: must be a whole number >= 0, got -5" ${train} --preset paper --updates -5)
expect_error("--threads: must be a whole number >= 0, got -3" ${train} --preset paper --threads -3)
set(train_bare "${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/bad" --N_image 60 --preset paper)
expect_error("elements overflow the address space" ${train_bare} --updates 1 --N_model 4611686018427387904)
expect_error("of memory here" ${train_bare} --updates 1 --N_model 1e9)
expect_error("the checkpoint was written with regularizer = WeightDecay(lambda=2e-06), the machine has WeightDecay(lambda=0.001)"
             ${train} --preset paper --n 3 --resume --lambda 1e-3)
expect_error("train: the state to resume shuffles 60 images, the data have 40"
             ${train} --preset paper --n 3 --resume --digits 1,3)
expect_error("--chains: must be a whole number > 0, got 0"
             "${BIN_DIR}/mnist_generate" --couplings "${J}" --chains 0 --out "${OUT}/bad")
expect_error("elements overflow the address space"
             "${BIN_DIR}/mnist_generate" --couplings "${J}" --chains 4611686018427387904 --out "${OUT}/bad")
expect_error("--steps: must be a whole number > 0, got -1"
             "${BIN_DIR}/mnist_generate" --couplings "${J}" --steps -1 --out "${OUT}/bad")
expect_error("of its proposals at dt = 5: the chains stayed near their noise start"
             "${BIN_DIR}/mnist_generate" --couplings "${J}" --chains 2 --steps 30 --sampler mala --dt 5
             --out "${OUT}/bad_mala")
if(EXISTS "${OUT}/bad_mala/samples.png")
  message(FATAL_ERROR "mnist_generate wrote samples.png although MALA rejected every proposal")
endif()
expect_error("cannot create the output folder"
             "${BIN_DIR}/mnist_generate" --couplings "${J}" --chains 2 --steps 100000000 --out "${J}/sub")
expect_error("--from (500) must be below --steps (300): nothing would be recorded"
             "${BIN_DIR}/mnist_neuron_trace" --couplings "${J}" --from 500 --steps 300 --out "${OUT}/bad")
expect_error("--neurons: 900 is not below N = 784"
             "${BIN_DIR}/mnist_neuron_trace" --couplings "${J}" --neurons 900 --steps 100000000 --out "${OUT}/bad")
expect_error("samples.npy: couplings must be a square N x N array, got shape (4, 784)"
             "${BIN_DIR}/mnist_pca" --couplings "${OUT}/gen/samples.npy" --data "${DATA}" --N_image1 60
             --steps 100000000 --out "${OUT}/bad")

# Clamped units (issue 12): label units learned with the joint model, classification by
# clamping the image, class-conditional generation, pattern completion; the last 4 digits
# of each class held out.
set(labels_train "${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/labels" --held-out 4 --b_size 10
                 --N_model 10 --n_t 2 --seed 4 --preset quick --updates 6 --labels --label-scale 1.5)
run(${labels_train})
expect_files(labels/J.npy labels/field.npy labels/layout.txt)
file(READ "${OUT}/labels/layout.txt" layout)
string(FIND "${layout}" "classes: 1 3 6" at)
if(at EQUAL -1)
  message(FATAL_ERROR "layout.txt does not name the label units' classes:\n${layout}")
endif()
set(LJ --couplings "${OUT}/labels/J.npy" --field "${OUT}/labels/field.npy")
execute_process(COMMAND "${BIN_DIR}/mnist_classify" ${LJ} --data "${DATA}" --steps 20
                --out "${OUT}/classify" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "\naccuracy: [0-9.]+\n$" line "${out}")
if(NOT rc EQUAL 0 OR line STREQUAL "")
  message(FATAL_ERROR "mnist_classify (${rc}) did not end with 'accuracy: <fraction>':\n${out}\n${err}")
endif()
expect_files(classify/predictions.csv)
run("${BIN_DIR}/mnist_classify" ${LJ} --data "${DATA}" --steps 20 --relax --out "${OUT}/classify")
execute_process(COMMAND "${BIN_DIR}/mnist_generate" ${LJ} --data "${DATA}" --class all --chains 3 --steps 20
                --out "${OUT}/gen_class" --samples-npy "${OUT}/gen_class/samples.npy"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "recognised as requested: [0-9.]+\n$" line "${out}")
if(NOT rc EQUAL 0 OR line STREQUAL "")
  message(FATAL_ERROR "mnist_generate --class all (${rc}) printed no recognition rate:\n${out}\n${err}")
endif()
expect_files(gen_class/samples.png gen_class/samples.npy)
file(SIZE "${OUT}/gen_class/samples.npy" class_npy)
math(EXPR expected_class_npy "128 + 9 * 784 * 4")  # 3 chains x 3 digits, image units only
if(NOT class_npy EQUAL expected_class_npy)
  message(FATAL_ERROR "--class samples.npy has ${class_npy} bytes, expected ${expected_class_npy}")
endif()
# Issue 34: labels free, annealed from T = 2 and quenched to T = 0 (raw and quenched samples,
# image units only); mnist_evaluate and mnist_pca take the label model (its image units);
# restarts from data in training.
run("${BIN_DIR}/mnist_generate" --model "${OUT}/labels/model.nlm" --chains 4 --steps 30 --anneal-from 2
    --anneal-steps 20 --quench 5 --snapshot-start 100 --out "${OUT}/gen_free" --samples-npy "${OUT}/gen_free/samples.npy"
    --quenched-npy "${OUT}/gen_free/quenched.npy")
expect_files(gen_free/samples.png gen_free/quenched.png gen_free/samples.npy gen_free/quenched.npy)
file(SIZE "${OUT}/gen_free/quenched.npy" quenched_npy)
math(EXPR expected_quenched_npy "128 + 4 * 784 * 4")
if(NOT quenched_npy EQUAL expected_quenched_npy)
  message(FATAL_ERROR "quenched.npy has ${quenched_npy} bytes, expected ${expected_quenched_npy}")
endif()
execute_process(COMMAND "${BIN_DIR}/mnist_evaluate" --samples "${OUT}/gen_free/quenched.npy" --model "${OUT}/labels/model.nlm"
                --data "${DATA}" --held-out 20 --classifier-images 30 --pca-components 3
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${out}" "note: the model has 30 units beyond the 784 image units (labels or latent units)" at)
if(NOT rc EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "mnist_evaluate on a label model (${rc}) did not leave the energy rows out with a note:\n${out}\n${err}")
endif()
run("${BIN_DIR}/mnist_pca" --model "${OUT}/labels/model.nlm" --data "${DATA}" --N_image1 30 --chains 2 --chain 1
    --steps 30 --from 0 --every 5 --out "${OUT}/pca_labels")
expect_files(pca_labels/pca.png)
expect_error("--anneal-steps 50 is more than --steps 30" "${BIN_DIR}/mnist_generate" --model "${OUT}/labels/model.nlm"
             --chains 2 --steps 30 --anneal-from 2 --anneal-steps 50 --out "${OUT}/gen_free")
expect_error("--quenched-npy needs --quench STEPS > 0" "${BIN_DIR}/mnist_generate" --model "${OUT}/labels/model.nlm"
             --chains 2 --steps 30 --quenched-npy "${OUT}/gen_free/q.npy" --out "${OUT}/gen_free")
expect_error("parallel tempering sets the chains' temperatures itself" "${BIN_DIR}/mnist_generate"
             --model "${OUT}/labels/model.nlm" --chains 2 --steps 30 --anneal-from 2 --anneal-steps 20 --sampler pt
             --out "${OUT}/gen_free")
execute_process(COMMAND ${labels_train} --out "${OUT}/labels_dr" --data-restart 0.5 --data-restart-noise 0.3
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${out}" "restarts from data: 0.5 of the persistent chains per update from a random training image + N(0, 0.3^2) noise" at)
if(NOT rc EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "mnist_train --data-restart (${rc}) did not say what it restarts:\n${out}\n${err}")
endif()
expect_error("--full-batch: not with --data-restart" ${labels_train} --out "${OUT}/labels_dr" --data-restart 0.5 --full-batch)

foreach(mask IN ITEMS bottom right centre random:0.5)
  execute_process(COMMAND "${BIN_DIR}/mnist_complete" ${LJ} --data "${DATA}" --images 4
                  --completions 2 --steps 20 --quench 5 --mask ${mask} --out "${OUT}/complete"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX MATCH "hidden-pixel MSE: [0-9.]+ \\(mean [0-9.]+, nearest [0-9.]+, gaussian [0-9.]+\\)\n$" line "${out}")
  if(NOT rc EQUAL 0 OR line STREQUAL "")
    message(FATAL_ERROR "mnist_complete --mask ${mask} (${rc}) did not end with its MSE line:\n${out}\n${err}")
  endif()
endforeach()
expect_files(complete/completion.png complete/completion.csv)
run("${BIN_DIR}/mnist_complete" --couplings "${J}" --data "${DATA}" --held-out 3 --images 2 --completions 1
    --steps 10 --out "${OUT}/complete_plain")
expect_error("class 7 is not among the trained classes (1,3,6)"
             "${BIN_DIR}/mnist_generate" ${LJ} --class 7 --chains 2 --steps 10 --out "${OUT}/bad")
expect_error("--digits 1,3,7: the model's label units are for digits 1,3,6"
             "${BIN_DIR}/mnist_classify" ${LJ} --data "${DATA}" --digits 1,3,7 --out "${OUT}/bad")
run("${BIN_DIR}/mnist_classify" ${LJ} --data "${DATA}" --digits 6,3,1 --steps 4 --out "${OUT}/classify")
expect_error("has no label units (train it with mnist_train --labels)"
             "${BIN_DIR}/mnist_classify" --couplings "${J}" --data "${DATA}" --out "${OUT}/bad")
expect_error("J.npy has 784 neurons, the unit layout 814 (784 image + 30 label + 0 latent units)"
             "${BIN_DIR}/mnist_classify" --couplings "${J}" --layout "${OUT}/labels/layout.txt" --data "${DATA}"
             --out "${OUT}/bad")
expect_error("--mask random:F: F is the fraction of pixels hidden, a number in (0, 1); got '1' (a mask must hide some pixels and keep some)"
             "${BIN_DIR}/mnist_complete" ${LJ} --data "${DATA}" --mask random:1 --out "${OUT}/bad")
expect_error("--mask: unknown mask 'top'"
             "${BIN_DIR}/mnist_complete" ${LJ} --data "${DATA}" --mask top --out "${OUT}/bad")
expect_error("--label-scale needs --labels" ${train} --preset paper --updates 1 --label-scale 2)
expect_error("--label-units needs --labels" ${train} --preset paper --updates 1 --label-units 2)

# Latent units: the data phase samples them with the image and labels clamped, both starts.
foreach(start IN ITEMS persistent restart)
  run("${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/latent_${start}" --held-out 4 --b_size 10
      --N_model 10 --n_t 2 --seed 4 --preset quick --updates 4 --labels --label-units 2 --latent 6
      --latent-start ${start} --latent-steps 3)
endforeach()
file(READ "${OUT}/latent_restart/layout.txt" layout)
string(FIND "${layout}" "latent: 6" at)
if(at EQUAL -1)
  message(FATAL_ERROR "layout.txt of a --latent 6 run does not say so:\n${layout}")
endif()
run("${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/latent_restart" --held-out 4 --b_size 10
    --N_model 10 --n_t 2 --seed 4 --preset quick --updates 6 --labels --label-units 2 --latent 6
    --latent-start restart --latent-steps 3 --resume)
run("${BIN_DIR}/mnist_classify" --couplings "${OUT}/latent_restart/J.npy" --field "${OUT}/latent_restart/field.npy"
    --data "${DATA}" --steps 10 --out "${OUT}/classify_latent")
run("${BIN_DIR}/mnist_generate" --couplings "${OUT}/latent_restart/J.npy" --field "${OUT}/latent_restart/field.npy"
    --data "${DATA}" --class 3 --chains 2 --steps 10 --out "${OUT}/gen_latent")
# The likelihood of an image under a model with label and latent units: a per-image AIS over them.
execute_process(COMMAND "${BIN_DIR}/mnist_likelihood" --couplings "${OUT}/latent_restart/J.npy"
                --field "${OUT}/latent_restart/field.npy" --data "${DATA}" -K 20 --particles 4 --runs 2
                --images 6 --marginal-temperatures 10 --out "${OUT}/likelihood_latent"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "per-image AIS over the 12 label and latent units, image clamped: 6 digits" aline "${out}")
string(REGEX MATCH "test log-likelihood: -?[0-9.]+ nats/image \\(95 % interval from log Z's: [^\n]*; log Z\\(v\\) adds its own error\\)\n$"
       lline "${out}")
if(NOT rc EQUAL 0 OR aline STREQUAL "" OR lline STREQUAL "")
  message(FATAL_ERROR "mnist_likelihood on a label and latent model (${rc}) ran no per-image AIS over its 12 "
                      "hidden units or printed no test log-likelihood:\n${out}\n${err}")
endif()
expect_error("the persistent latent states of each image are not in the checkpoint"
             "${BIN_DIR}/mnist_train" --data "${DATA}" --out "${OUT}/latent_persistent" --held-out 4 --b_size 10
             --N_model 10 --n_t 2 --seed 4 --preset quick --updates 6 --labels --label-units 2 --latent 6
             --latent-start persistent --resume)

# Attractors and sequences: the census of a model's fixed points, sequence learning and replay.
execute_process(COMMAND "${BIN_DIR}/mnist_attractors" --couplings "${J}" --data "${DATA}" --held-out 3 --starts 6
                --data-starts 3 --descent-steps 300 --out "${OUT}/attractors"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "\nattractors: [0-9]+\n$" line "${out}")
if(NOT rc EQUAL 0 OR line STREQUAL "")
  message(FATAL_ERROR "mnist_attractors (${rc}) did not end with 'attractors: <count>':\n${out}\n${err}")
endif()
expect_files(attractors/couplings.png attractors/census/census.csv attractors/census/fixed_points.npy
             attractors/census/eigenvalues.npy)
expect_error("--starts and --data-starts are both 0: no starts"
             "${BIN_DIR}/mnist_attractors" --couplings "${J}" --data "${DATA}" --starts 0 --data-starts 0 --out "${OUT}/bad")
execute_process(COMMAND "${BIN_DIR}/sequence_replay" --data "${DATA}" --digits 1,3,6 --cycles 50 --chains 2
                --frames 8 --burn-in 2 --sym-starts 3 --out "${OUT}/sequence"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "\norder accuracy: [0-9.]+\n$" line "${out}")
if(NOT rc EQUAL 0 OR line STREQUAL "")
  message(FATAL_ERROR "sequence_replay (${rc}) did not end with 'order accuracy: <fraction>':\n${out}\n${err}")
endif()
expect_files(sequence/replay.png sequence/couplings.png sequence/sym_census/census.csv)
expect_error("--digits: digit 3 appears twice in 1,3,3"
             "${BIN_DIR}/sequence_replay" --data "${DATA}" --digits 1,3,3 --out "${OUT}/bad")
expect_error("--burn-in 8 leaves none of the 8 frames to score"
             "${BIN_DIR}/sequence_replay" --data "${DATA}" --digits 1,3,6 --frames 8 --burn-in 8 --out "${OUT}/bad")

# A user's own data: a .npy matrix of 12-value rows (not images: drawn as plots) with labels;
# trained, then generated from the one model file it writes, which carries the layout.
run("${MAKE_DATA}" "${OUT}/user")
set(user_train "${BIN_DIR}/mnist_train" --data "${OUT}/user/points.npy" --preset quick --updates 20 --b_size 20
               --N_model 20 --n_t 2 --seed 4)
execute_process(COMMAND ${user_train} --data-labels "${OUT}/user/points_labels.npy" --digits 0,2
                --out "${OUT}/user/model" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${out}" "data: ${OUT}/user/points.npy, 160 samples of 12 values (not images: drawn as plots), labels ${OUT}/user/points_labels.npy, classes 0,2, unit: x = 2v - 1" at)
string(FIND "${out}" "training on 160 samples of classes 0,2: N=12" at2)
if(NOT rc EQUAL 0 OR at EQUAL -1 OR at2 EQUAL -1)
  message(FATAL_ERROR "mnist_train on a .npy (${rc}) did not say what it read and trained on:\n${out}\n${err}")
endif()
expect_files(user/model/model.nlm user/model/J.npy user/model/layout.txt user/model/checkpoint.nlm)
# Without --digits a labelled .npy trains on every class its labels hold, not MNIST's 1,3,6.
execute_process(COMMAND ${user_train} --data-labels "${OUT}/user/points_labels.npy" --labels
                --out "${OUT}/user/all" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${out}" "training on 240 samples of classes 0,1,2: N=42" at)
if(NOT rc EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "mnist_train on a labelled .npy without --digits (${rc}) did not take all its classes:\n${out}\n${err}")
endif()
execute_process(COMMAND "${BIN_DIR}/mnist_generate" --model "${OUT}/user/model/model.nlm" --chains 4 --steps 20
                --snapshot-start 5 --snapshot-every 5 --out "${OUT}/user/gen"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${out}" "model: ${OUT}/user/model/model.nlm, model file (format 1), 20 updates: N = 12, field b, its unit layout" at)
if(NOT rc EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "mnist_generate --model (${rc}) did not say which model it read:\n${out}\n${err}")
endif()
expect_files(user/gen/samples.png user/gen/snapshots.png)
# The checkpoint is a model too (its layout from layout.txt beside it).
run("${BIN_DIR}/mnist_generate" --model "${OUT}/user/model/checkpoint.nlm" --chains 2 --steps 5 --out "${OUT}/user/gen2")
# Unlabelled data trains on every row; what needs labels says so.
run(${user_train} --out "${OUT}/user/plain" --data-range minmax)
expect_error("--labels: the data has no labels to put on label units (--data-labels)"
             ${user_train} --out "${OUT}/user/bad" --labels)
expect_error("${OUT}/user/points.npy: the image shape 5x5 does not fit rows of 12 values" ${user_train}
             --out "${OUT}/user/bad" --image-shape 5x5)
expect_error("${OUT}/user/missing.npy: cannot open for reading" ${user_train} --out "${OUT}/user/bad"
             --data-labels "${OUT}/user/missing.npy")
expect_error("--model and --couplings: give one" "${BIN_DIR}/mnist_generate" --model "${OUT}/user/model/model.nlm"
             --couplings "${OUT}/user/model/J.npy" --out "${OUT}/user/bad")
# Data that is not there fails before the run, not after it.
expect_error("${OUT}/nowhere: no such file or folder" "${BIN_DIR}/mnist_generate" ${LJ} --class 1 --steps 25000
             --data "${OUT}/nowhere" --out "${OUT}/user/bad")

# The free-energy attractor network's sequence (the seed's simulation) on synthetic 8x8 digits in
# the UCI file's format (16 images: labels r mod 10, pixel i of image r = (3r + 5i) mod 17; the
# readout classifier learns from the images after the first ten): CI has no
# UCI file (scripts/get_digits.sh fetches it); the run checks the program's path and its line.
if(EXISTS "${BIN_DIR}/fep_sequence")
  set(digits_csv "")
  foreach(r RANGE 15)
    set(line "")
    foreach(i RANGE 63)
      math(EXPR v "(3 * ${r} + 5 * ${i}) % 17")
      string(APPEND line "${v},")
    endforeach()
    math(EXPR label "${r} % 10")
    string(APPEND digits_csv "${line}${label}\n")
    if(r EQUAL 10)
      file(WRITE "${OUT}/digits/eleven.csv" "${digits_csv}")
    endif()
  endforeach()
  file(WRITE "${OUT}/digits/digits.csv" "${digits_csv}")
  expect_last_line("J_sym attractors: [^\n]+; order accuracy: [0-9.]+"
                   "${BIN_DIR}/fep_sequence" --data "${OUT}/digits/digits.csv" --seeds 2 --presentations 30 --frames 12 --out "${OUT}/fep_sequence")
  expect_files(fep_sequence/sequence.png)
  expect_error("${OUT}/digits/missing.csv.gz: no such file" "${BIN_DIR}/fep_sequence" --data
               "${OUT}/digits/missing.csv.gz" --out "${OUT}/fep_bad")
  expect_error("--beta must be finite and > 0" "${BIN_DIR}/fep_sequence" --data "${OUT}/digits/digits.csv" --beta 0
               --out "${OUT}/fep_bad")
  expect_error("eleven.csv: 11 images; the readout learns from the images after the first ten and needs at least 12"
               "${BIN_DIR}/fep_sequence" --data "${OUT}/digits/eleven.csv" --out "${OUT}/fep_bad")
  # Simulations 2 and 4 on the same synthetic digits, at a tiny size (the coarse grid's maps too).
  expect_last_line("orthogonality: data [0-9.]+ deg, attractors (nan|[0-9.]+) deg; attractors [0-9.]+; retrieval -?[0-9.]+; generalization -?[0-9.]+"
                   "${BIN_DIR}/fep_digits" --data "${OUT}/digits/digits.csv" --seeds 2 --presentations 10 --steps 2 --trials 3 --grid coarse --out "${OUT}/fep_digits")
  expect_files(fep_digits/maps.png fep_digits/attractors.png)
  expect_error("--eta must be finite and > 0" "${BIN_DIR}/fep_digits" --data "${OUT}/digits/digits.csv" --eta 0
               --out "${OUT}/fep_bad")
  expect_last_line("J correlation before/after: -?[0-9.]+"
                   "${BIN_DIR}/fep_free_run" --data "${OUT}/digits/digits.csv" --seeds 1 --presentations 10 --steps 2 --free-steps 20 --trials 3 --out "${OUT}/fep_free_run")
  expect_files(fep_free_run/couplings.png)
endif()

# Simulation 1 (two bars) and the capacity study need no data file.
if(EXISTS "${BIN_DIR}/fep_bars")
  expect_last_line("correlation: data 0.771, attractors -?[0-9.]+"
                   "${BIN_DIR}/fep_bars" --seeds 2 --presentations 20 --out "${OUT}/fep_bars")
  expect_files(fep_bars/bars.png)
  expect_error("--attractor-beta must be finite and > 0" "${BIN_DIR}/fep_bars" --attractor-beta -1 --out "${OUT}/fep_bad")
  expect_last_line("retention: -?[0-9.]+ -?[0-9.]+; reconstruction: -?[0-9.]+ -?[0-9.]+"
                   "${BIN_DIR}/fep_capacity" --seeds 1 --neurons 20 --patterns 2,4 --presentations 20 --steps 2 --out "${OUT}/fep_capacity")
  expect_files(fep_capacity/capacity.png)
  expect_error("--patterns: every K must be > 0" "${BIN_DIR}/fep_capacity" --patterns 0,4 --out "${OUT}/fep_bad")
endif()

# The least-action model: MNIST beside back-propagation at a tiny size, and the completion of the
# synthetic recording (written as .npy and read back as a user's recording).
if(EXISTS "${BIN_DIR}/nla_mnist")
  expect_last_line("accuracy: [0-9.]+ \\(backprop [0-9.]+\\)"
                   "${BIN_DIR}/nla_mnist" --data "${DATA}" --train 40 --test 20 --epochs 1 --batch 10 --steps 10
                   --layers 784-20-10 --out "${OUT}/nla_mnist")
  expect_files(nla_mnist/accuracy.png nla_mnist/weights.png)
  expect_error("--layers 784-20-9: the output layer must have 10 neurons (the digits)" "${BIN_DIR}/nla_mnist"
               --data "${DATA}" --layers 784-20-9 --out "${OUT}/nla_bad")
  expect_last_line("completion r: -?[0-9.]+ \\(linear bound -?[0-9.]+\\)"
                   "${BIN_DIR}/nla_timeseries" --epochs 1 --train-steps 300 --test-steps 300 --skip 50
                   --save-recording "${OUT}/recording.npy" --out "${OUT}/nla_timeseries")
  expect_files(nla_timeseries/traces.png recording.npy)
  expect_last_line("completion r: -?[0-9.]+ \\(linear bound -?[0-9.]+\\)"
                   "${BIN_DIR}/nla_timeseries" --data "${OUT}/recording.npy" --network recurrent --epochs 1 --skip 50
                   --out "${OUT}/nla_user")
  expect_error("--nudged 56: between 1 and 55" "${BIN_DIR}/nla_timeseries" --nudged 56 --out "${OUT}/nla_bad")
endif()
