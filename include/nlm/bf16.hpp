/// @file bf16.hpp
/// @brief Mixed precision: the products in bfloat16 through oneDNN, everything else (J's
/// master copy, the elementwise pass, the statistics' accumulation) in float32. Not part of
/// <nlm/nlm.hpp> (the core needs no oneDNN); link `nlm::onednn` (CMake option NLM_ONEDNN, or
/// find_package(nlm) where oneDNN is installed). docs/performance.md, "bf16".
#pragma once

#include "backend/bf16_products.hpp"
#include "nlm.hpp"

namespace nlm {

/// The paper's machine (PaperMachine) with its products in bf16: a checkpoint of either
/// loads into the other (J is float32 in both).
using PaperMachineBf16 = LangevinMachine<Tanh, GaussianNoise, WeightDecay, EulerMaruyama, float, Bf16Products>;

}  // namespace nlm
