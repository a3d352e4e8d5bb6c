/// @file callbacks.hpp
/// @brief Callbacks for `nlm::train`, one per file in callbacks/: a progress bar with ETA,
/// periodic and on-interrupt checkpoints, a guard against non-finite couplings or chains, the
/// training curve, a time limit and the weight-update statistics. Each is optional and they compose at the call site.
#pragma once

#include "callbacks/periodic_checkpoint.hpp"
#include "callbacks/progress_bar.hpp"
#include "callbacks/stop_on_non_finite.hpp"
#include "callbacks/time_limit.hpp"
#include "callbacks/data_restarts.hpp"
#include "callbacks/latent_data_phase.hpp"
#include "callbacks/training_curve.hpp"
#include "callbacks/update_statistics.hpp"
