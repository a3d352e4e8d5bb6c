/// @file types.hpp
/// @brief The container types every part of nlm agrees on.
///
/// States are stored one per row: a batch of B states of N neurons is a row-major B×N
/// matrix, so each state is contiguous and the two products of a Langevin step map onto
/// BLAS calls with transpose flags (no transposed copies). The spec's column convention
/// `X (N×B)` is the transpose of what is stored here.
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

#include <xtensor/xtensor.hpp>

namespace nlm {

/// The floating-point types nlm is instantiated for.
template <class S>
concept Scalar = std::same_as<S, float> || std::same_as<S, double>;

/// Row-major matrix: couplings (N×N) and batches of states (B×N, one state per row).
template <Scalar S>
using Matrix = xt::xtensor<S, 2>;

/// One value per state of a batch (energies, acceptance flags).
template <Scalar S>
using Vector = xt::xtensor<S, 1>;

}  // namespace nlm
