/// @file nlm.hpp
/// @brief The one header users include: the Neural Langevin Machine, its policies, training,
/// generation and persistence.
#pragma once

#include "version.hpp"
#include "types.hpp"
#include "errors.hpp"
#include "hyperparameters.hpp"

#include "activation/activation.hpp"
#include "activation/tanh.hpp"
#include "activation/scaled_tanh.hpp"
#include "activation/softsign.hpp"
#include "activation/identity.hpp"
#include "activation/langevin_activation.hpp"

#include "noise/noise.hpp"
#include "noise/gaussian_noise.hpp"
#include "noise/no_noise.hpp"

#include "regularizer/regularizer.hpp"
#include "regularizer/weight_decay.hpp"
#include "regularizer/no_regularizer.hpp"
#include "regularizer/zero_diagonal.hpp"

#include "sampler/sampler.hpp"
#include "sampler/euler_maruyama.hpp"
#include "sampler/mala.hpp"
#include "sampler/parallel_tempering.hpp"

#include "network_model.hpp"
#include "langevin_model.hpp"
#include "langevin_machine.hpp"
#include "recurrent_network.hpp"
#include "attractor/attractor_network.hpp"
#include "unit_layout.hpp"
#include "observers.hpp"
#include "analysis/pca.hpp"
#include "analysis/metrics.hpp"
#include "analysis/log_histogram.hpp"
#include "analysis/power_law.hpp"
#include "analysis/asymmetry.hpp"
#include "analysis/orthogonality.hpp"
#include "analysis/fixed_points.hpp"
#include "analysis/mixing.hpp"
#include "analysis/ais.hpp"

#include "io/atomic_file.hpp"
#include "io/npy.hpp"
#include "io/sections.hpp"

#include "training/training_state.hpp"
#include "training/checkpoint.hpp"
#include "training/model_file.hpp"
#include "training/train.hpp"
#include "training/callbacks.hpp"
#include "training/sequence.hpp"
#include "attractor/attractor_learner.hpp"
#include "attractor/attractor_census.hpp"
#include "attractor/presentations.hpp"
#include "attractor/attractor_checkpoint.hpp"
