/// @file elementwise.hpp
/// @brief The elementwise part of a drift at a batch of states, φ(X), φ'(X) and R = b − X,
/// shared by the models over `Couplings` (LangevinMachine, RecurrentNetwork).
#pragma once

#include <cstddef>
#include <span>

#include <xtensor/xnoalias.hpp>

#include "activation/activation.hpp"
#include "force_workspace.hpp"
#include "types.hpp"
#include "detail/parallel.hpp"

namespace nlm::detail {

/// φ, φ' and b − x for `len` states from flat offset `off` (column c0) of `ws`.
template <class Activation, class Couplings, Scalar S>
void prepare_span(const Activation& activation, const Couplings& couplings, const S* x, ForceWorkspace<S>& ws,
                  std::size_t off, std::size_t c0, std::size_t len) {
  activation.value_and_derivative(std::span<const S>(x, len), std::span<S>(ws.phi.data() + off, len),
                                  std::span<S>(ws.dphi.data() + off, len));
  couplings.start_residual(x, ws.residual.data() + off, c0, len);
}

/// The same for every row of `x` (resizing `ws`): one pass, split over threads for large
/// batches when the activation works on spans.
template <class Activation, class Couplings, Scalar S>
void prepare_rows(const Activation& activation, const Couplings& couplings, const Matrix<S>& x, ForceWorkspace<S>& ws) {
  ws.resize(x.shape(0), x.shape(1));
  if constexpr (activation_has_rows<Activation, S>) {
    const std::size_t n = x.shape(1);
    parallel_rows(x.shape(0), n, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t r = r0; r < r1; ++r) prepare_span(activation, couplings, x.data() + r * n, ws, r * n, 0, n);
    });
  } else {
    activation.value_and_derivative(x, ws.phi, ws.dphi);
    if (couplings.has_field())
      xt::noalias(ws.residual) = couplings.field() - x;
    else
      xt::noalias(ws.residual) = -x;
  }
}

}  // namespace nlm::detail
