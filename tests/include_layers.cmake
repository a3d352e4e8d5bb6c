# The layers of include/nlm, from the bottom up: a header includes headers of its own layer
# or of layers below, never above (run: cmake -DROOT=<repo> -P tests/include_layers.cmake).
# A new header is placed by the first pattern that matches its path under include/nlm; one
# that matches none is an error, so every new file is given a layer on purpose.
#
#   base        the scalar types, errors, version and the internal helpers
#   parts       what the model and learner are made of: hyperparameters, the codec and file
#               formats (io/), policies (activation, noise, regularizer), product backends,
#               data loading (data/)
#   state       couplings, chains, unit layouts, step rules: the state the parts act on
#   dynamics    samplers (what advances chains of any model)
#   model       the models: their common part, the NLM energy model, the plain recurrent drift,
#               the free-energy attractor network (attractor/; its unit distribution is a part)
#   learner     the learner, and the analyses of a model
#   training    the training loop, its state, callbacks and checkpoints
#   extensions  data parallelism over MPI
#   umbrella    the headers users include
set(NLM_LAYERS base parts state dynamics model learner training extensions umbrella)
set(NLM_LAYER_base "^(types|errors|version)\\.hpp$;^detail/")
set(NLM_LAYER_parts "^(hyperparameters|observers|data_moments|force_workspace)\\.hpp$;^io/;^activation/;^noise/;^regularizer/;^backend/;^data/;^attractor/continuous_bernoulli\\.hpp$;^lagrangian/topology\\.hpp$")
set(NLM_LAYER_state "^(couplings|chains|elementwise|unit_layout)\\.hpp$;^learning/")
set(NLM_LAYER_dynamics "^sampler/")
set(NLM_LAYER_model "^(network_model|langevin_model|recurrent_network)\\.hpp$;^attractor/attractor_network\\.hpp$;^lagrangian/lagrangian_network\\.hpp$")
set(NLM_LAYER_learner "^langevin_machine\\.hpp$;^analysis/;^attractor/attractor_learner\\.hpp$;^attractor/attractor_census\\.hpp$;^lagrangian/lagrangian_learner\\.hpp$;^lagrangian/backprop\\.hpp$")
set(NLM_LAYER_training "^training/;^attractor/presentations\\.hpp$;^attractor/attractor_checkpoint\\.hpp$;^lagrangian/presentations\\.hpp$;^lagrangian/lagrangian_checkpoint\\.hpp$")
set(NLM_LAYER_extensions "^distributed/")
set(NLM_LAYER_umbrella "^(nlm|bf16|distributed)\\.hpp$")

if(NOT ROOT)
  message(FATAL_ERROR "include_layers: pass -DROOT=<the repository>")
endif()
set(base_dir "${ROOT}/include/nlm")

function(layer_of path out)
  set(index 0)
  foreach(layer IN LISTS NLM_LAYERS)
    foreach(pattern IN LISTS NLM_LAYER_${layer})
      if(path MATCHES "${pattern}")
        set(${out} ${index} PARENT_SCOPE)
        return()
      endif()
    endforeach()
    math(EXPR index "${index} + 1")
  endforeach()
  set(${out} -1 PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE headers RELATIVE "${base_dir}" "${base_dir}/*.hpp")
list(SORT headers)
set(problems "")
set(arrows 0)
foreach(header IN LISTS headers)
  layer_of("${header}" mine)
  if(mine EQUAL -1)
    string(APPEND problems "  ${header}: in no layer (add it to tests/include_layers.cmake)\n")
    continue()
  endif()
  list(GET NLM_LAYERS ${mine} mine_name)
  file(STRINGS "${base_dir}/${header}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
  get_filename_component(dir "${header}" DIRECTORY)
  foreach(line IN LISTS lines)
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      set(target "${CMAKE_MATCH_1}")
      if(dir)
        set(target "${dir}/${target}")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<nlm/([^>]+)>")
      set(target "${CMAKE_MATCH_1}")
    else()
      continue()  # a system or third-party header
    endif()
    # Resolve "a/../b" by hand (the path need not exist relative to the working directory).
    string(REPLACE "/./" "/" target "/${target}")
    while(target MATCHES "/[^/.][^/]*/\\.\\./")
      string(REGEX REPLACE "/[^/.][^/]*/\\.\\./" "/" target "${target}")
    endwhile()
    string(REGEX REPLACE "^/" "" target "${target}")
    if(NOT EXISTS "${base_dir}/${target}")
      string(APPEND problems "  ${header}: includes ${target}, which is not a header of include/nlm\n")
      continue()
    endif()
    math(EXPR arrows "${arrows} + 1")
    layer_of("${target}" theirs)
    if(theirs GREATER mine)
      list(GET NLM_LAYERS ${theirs} theirs_name)
      string(APPEND problems "  ${header} (${mine_name}) includes ${target} (${theirs_name}), a layer above\n")
    endif()
  endforeach()
endforeach()

list(LENGTH headers count)
if(problems)
  message(FATAL_ERROR "include_layers: an include runs back up the layers of include/nlm:\n${problems}")
endif()
message(STATUS "include_layers: ${count} headers, ${arrows} includes within include/nlm, none runs back up")
