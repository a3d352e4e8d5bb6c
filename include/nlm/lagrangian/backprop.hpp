/// @file backprop.hpp
/// @brief Plain error back-propagation through the same layered network (the model's W, b and
/// ρ): the yardstick the least-action principle claims to approximate in real time. The cost of
/// a batch is C = ½ ⟨‖u* − u_out‖²⟩ at the feed-forward pass u_l = W_l ρ(u_{l−1}) + b_l, u_0 = x.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "../detail/blas.hpp"
#include "../types.hpp"
#include "lagrangian_network.hpp"

namespace nlm {

/// C and its gradients ∂C/∂W (N × N, on the synapses only) and ∂C/∂b (N, 0 on inputs) for the
/// rows of `x` (batch × inputs) and `target` (batch × outputs); `u` receives the forward pass.
template <class Net, Scalar S = typename Net::scalar_type>
double backprop_gradients(const Net& net, const Matrix<S>& x, const Matrix<S>& target, Matrix<S>& u, Matrix<S>& gw,
                          Vector<S>& gb) {
  const Topology& t = net.topology();
  const std::size_t rows = x.shape(0), n = net.neurons(), no = net.outputs(), o0 = n - no;
  if (target.shape(0) != rows || target.shape(1) != no)
    throw std::invalid_argument("backprop_gradients: the targets must be " + std::to_string(rows) + " x " +
                                std::to_string(no));
  net.forward(x, u);
  Matrix<S> delta = Matrix<S>::from_shape({rows, n}), rate = Matrix<S>::from_shape({rows, n});
  delta.fill(S(0));
  double cost = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t i = 0; i < n; ++i) rate(r, i) = net.rate_function().rate(u(r, i));
    for (std::size_t o = 0; o < no; ++o) {
      const double e = double(target(r, o)) - double(u(r, o0 + o));
      cost += 0.5 * e * e;
      delta(r, o0 + o) = S(-e / double(rows));
    }
  }
  const auto& layers = t.layers();
  const S* w = net.weights().data();
  for (std::size_t l = layers.size() - 1; l >= 2; --l) {  // δ_{l−1} = D_{l−1} ⊙ W_lᵀ δ_l
    const std::size_t a = t.offset(l - 1), b = t.offset(l);
    detail::gemm_strided(delta.data() + b, n, detail::Op::none, w + b * n + a, n, detail::Op::none, delta.data() + a, n,
                         rows, layers[l - 1], layers[l], S(1), S(0));
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = a; i < b; ++i) delta(r, i) *= net.rate_function().slope(u(r, i));
  }
  detail::ensure_shape(gw, n, n);
  gw.fill(S(0));
  detail::ensure_size(gb, n);
  gb.fill(S(0));
  for (std::size_t l = 1; l < layers.size(); ++l) {  // ∂C/∂W_l = δ_lᵀ ρ(u_{l−1})
    const std::size_t a = t.offset(l - 1), b = t.offset(l), e = t.offset(l + 1);
    detail::gemm_strided(delta.data() + b, n, detail::Op::transpose, rate.data() + a, n, detail::Op::none,
                         gw.data() + b * n + a, n, e - b, b - a, rows, S(1), S(0));
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = b; i < e; ++i) gb(i) += delta(r, i);
  }
  return cost / double(rows);
}

/// One step of plain gradient descent with the topology's per-layer factors:
/// W ← W − η M ⊙ ∂C/∂W, b ← b − η_b m_b ⊙ ∂C/∂b. Returns the batch's cost before the step.
template <class Net, Scalar S = typename Net::scalar_type>
double backprop_step(Net& net, const Matrix<S>& x, const Matrix<S>& target, double learning_rate,
                     double bias_learning_rate) {
  Matrix<S> u, gw;
  Vector<S> gb;
  const double cost = backprop_gradients(net, x, target, u, gw, gb);
  const Topology& t = net.topology();
  net.parameters().edit([&](Matrix<S>& w) {
    for (const SynapseBlock& b : t.blocks())
      for (std::size_t i = b.r0; i < b.r1; ++i)
        for (std::size_t j = b.c0; j < b.c1; ++j) w(i, j) -= S(learning_rate * (b.full ? b.rate : t.factor(i, j))) * gw(i, j);
  });
  Vector<S> step = Vector<S>::from_shape({net.neurons()});
  for (std::size_t i = 0; i < net.neurons(); ++i) step(i) = S(bias_learning_rate * t.bias_factor(i)) * gb(i);
  net.parameters().apply_field_step(step);
  return cost;
}

}  // namespace nlm
