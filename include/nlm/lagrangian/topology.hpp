/// @file topology.hpp
/// @brief Which synapses of the Lagrangian model exist, and at what learning-rate factor: a
/// layered network (each layer driven by the one before), a layered network with feedback (the
/// same plus the transpose: each layer also driven by the one after), all-to-all without
/// self-loops, or a user's mask. Neurons are numbered layer after layer; the first
/// `inputs()` are input neurons (clamped to the external input x, no incoming synapses, no
/// bias), the last `outputs()` are output neurons (the ones that can be nudged towards a target).
///
/// The synapses are kept as rectangular blocks W[r0:r1, c0:c1] of the N × N matrix (from the
/// neurons c0..c1 to r0..r1), each with its factor; a block is `full` when every synapse in it
/// exists (a layer-to-layer projection) and otherwise carries the mask's zeros (the all-to-all
/// block's diagonal, a user's mask). Products and the plasticity run block by block, so a
/// layered network costs its number of synapses, not N².
#pragma once

#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../types.hpp"

namespace nlm {

enum class Architecture { layered, layered_feedback, all_to_all, custom };

struct SynapseBlock {
  std::size_t r0 = 0, r1 = 0, c0 = 0, c1 = 0;  ///< rows (postsynaptic) and columns (presynaptic)
  double rate = 1.0;                           ///< the block's learning-rate factor (full blocks)
  bool full = true;                            ///< every entry exists at factor `rate`
};

class Topology {
 public:
  /// Layers l = 0, 1, …: layer l + 1 driven by layer l with factor rates[l] (default 1 each).
  /// With `inputs`, layer 0 is the input layer; the last layer is the output layer.
  static Topology layered(std::vector<std::size_t> layers, std::vector<double> rates = {}, bool inputs = true) {
    Topology t = start(std::move(layers), std::move(rates), inputs, Architecture::layered, "layered");
    for (std::size_t l = 0; l + 1 < t.layers_.size(); ++l)
      t.blocks_.push_back({t.offset(l + 1), t.offset(l + 2), t.offset(l), t.offset(l + 1), t.rates_[l], true});
    return t.finished();
  }
  /// The layered network and its transpose: layer l also driven by layer l + 1 (factor rates[l],
  /// the forward block's). The input layer, if any, receives nothing.
  static Topology layered_feedback(std::vector<std::size_t> layers, std::vector<double> rates = {}, bool inputs = false) {
    Topology t = start(std::move(layers), std::move(rates), inputs, Architecture::layered_feedback, "layered_feedback");
    for (std::size_t l = 0; l + 1 < t.layers_.size(); ++l) {
      t.blocks_.push_back({t.offset(l + 1), t.offset(l + 2), t.offset(l), t.offset(l + 1), t.rates_[l], true});
      if (!(inputs && l == 0))
        t.blocks_.push_back({t.offset(l), t.offset(l + 1), t.offset(l + 1), t.offset(l + 2), t.rates_[l], true});
    }
    return t.finished();
  }
  /// All-to-all without self-loops over `hidden` + `outputs` neurons (no inputs), factor `rate`.
  static Topology all_to_all(std::size_t hidden, std::size_t outputs, double rate = 1.0) {
    Topology t = start({hidden, outputs}, {rate}, false, Architecture::all_to_all, "all_to_all");
    if (hidden == 0) t.layers_ = {outputs};
    const std::size_t n = hidden + outputs;
    t.blocks_.push_back({0, n, 0, n, rate, false});
    t.mask_.assign(n * n, rate);
    for (std::size_t i = 0; i < n; ++i) t.mask_[i * n + i] = 0.0;
    return t.finished();
  }
  /// A user's mask (N × N, mask(i, j) ≥ 0 the factor of the synapse from j to i, 0 = none), the
  /// first `inputs` neurons inputs, the last `outputs` neurons outputs. Refused: a non-finite or
  /// negative entry, a self-loop, a synapse onto an input neuron.
  static Topology custom(const Matrix<double>& mask, std::size_t inputs, std::size_t outputs) {
    const std::size_t n = mask.shape(0);
    if (mask.shape(1) != n || n == 0)
      throw std::invalid_argument("Topology: the mask must be square and non-empty, got " + std::to_string(mask.shape(0)) +
                                  " x " + std::to_string(mask.shape(1)));
    if (outputs == 0 || inputs + outputs > n)
      throw std::invalid_argument("Topology: " + std::to_string(inputs) + " inputs and " + std::to_string(outputs) +
                                  " outputs do not fit " + std::to_string(n) + " neurons (outputs must be > 0)");
    Topology t;
    t.architecture_ = Architecture::custom;
    t.layers_ = inputs > 0 ? std::vector<std::size_t>{inputs, n - inputs - outputs, outputs}
                           : std::vector<std::size_t>{n - outputs, outputs};
    if (t.layers_[t.layers_.size() - 2] == 0) t.layers_.erase(t.layers_.end() - 2);
    t.inputs_ = inputs;
    t.neurons_ = n;
    t.name_ = "custom";
    t.mask_.assign(mask.data(), mask.data() + n * n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const double v = mask(i, j);
        std::string at = "(";
        at += std::to_string(i);
        at += ", ";
        at += std::to_string(j);
        at += ")";
        if (!std::isfinite(v) || v < 0)
          throw std::invalid_argument("Topology: mask entry " + at + " must be finite and >= 0, got " + std::to_string(v));
        if (v > 0 && i == j) throw std::invalid_argument("Topology: the mask has a self-loop at neuron " + std::to_string(i));
        if (v > 0 && i < inputs)
          throw std::invalid_argument("Topology: the mask gives input neuron " + std::to_string(i) +
                                      " a synapse from neuron " + std::to_string(j) +
                                      "; input neurons are clamped to x and receive none");
      }
    t.blocks_.push_back({0, n, 0, n, 1.0, false});
    t.bias_rates_.assign(n, 1.0);
    for (std::size_t i = 0; i < inputs; ++i) t.bias_rates_[i] = 0.0;
    return t;
  }

  Architecture architecture() const noexcept { return architecture_; }
  const std::string& name() const noexcept { return name_; }
  /// "layered 784-500-10", "all_to_all 40+56", "custom 96 (0 inputs, 56 outputs)".
  std::string describe() const {
    std::string s = name_ + " ";
    if (architecture_ == Architecture::custom)
      return s + std::to_string(neurons_) + " (" + std::to_string(inputs_) + " inputs, " + std::to_string(outputs()) +
             " outputs)";
    const char* sep = architecture_ == Architecture::all_to_all ? "+" : "-";
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      if (l > 0) s += sep;
      s += std::to_string(layers_[l]);
    }
    return s;
  }
  std::size_t neurons() const noexcept { return neurons_; }
  std::size_t inputs() const noexcept { return inputs_; }
  std::size_t outputs() const noexcept { return layers_.back(); }
  /// The first neuron that is not an input.
  std::size_t first_free() const noexcept { return inputs_; }
  const std::vector<std::size_t>& layers() const noexcept { return layers_; }
  const std::vector<double>& rates() const noexcept { return rates_; }
  const std::vector<SynapseBlock>& blocks() const noexcept { return blocks_; }
  /// The factor of synapse (i, j) (0: none).
  double factor(std::size_t i, std::size_t j) const {
    if (!mask_.empty()) return mask_[i * neurons_ + j];
    for (const SynapseBlock& b : blocks_)
      if (i >= b.r0 && i < b.r1 && j >= b.c0 && j < b.c1) return b.rate;
    return 0.0;
  }
  /// The factor of neuron i's bias (0 for inputs; the layer's factor otherwise).
  double bias_factor(std::size_t i) const { return bias_rates_[i]; }
  /// The N × N factors (0 where no synapse).
  template <Scalar S>
  Matrix<S> mask() const {
    Matrix<S> m = Matrix<S>::from_shape({neurons_, neurons_});
    for (std::size_t i = 0; i < neurons_; ++i)
      for (std::size_t j = 0; j < neurons_; ++j) m(i, j) = S(factor(i, j));
    return m;
  }
  /// Whether the free neurons form a chain of layers each driven only by the one before (the
  /// blocks layer l ← l − 1 and nothing else): the fast layered solve applies.
  bool feed_forward_chain() const noexcept { return architecture_ == Architecture::layered; }
  /// Offset of layer l's first neuron (l = layers().size(): N).
  std::size_t offset(std::size_t l) const noexcept {
    return std::accumulate(layers_.begin(), layers_.begin() + std::ptrdiff_t(l), std::size_t{0});
  }

 private:
  static Topology start(std::vector<std::size_t> layers, std::vector<double> rates, bool inputs, Architecture a,
                        const char* name) {
    const std::string who = std::string("Topology::") + name;
    if (layers.size() < (a == Architecture::all_to_all ? 1u : 2u))
      throw std::invalid_argument(who + ": at least two layers are needed, got " + std::to_string(layers.size()));
    for (std::size_t l = 0; l < layers.size(); ++l)
      if (layers[l] == 0 && !(a == Architecture::all_to_all && l == 0))
        throw std::invalid_argument(who + ": layer " + std::to_string(l) + " has no neurons");
    if (rates.empty()) rates.assign(layers.size() - 1, 1.0);
    if (a != Architecture::all_to_all && rates.size() != layers.size() - 1)
      throw std::invalid_argument(who + ": " + std::to_string(layers.size()) + " layers need " +
                                  std::to_string(layers.size() - 1) + " learning-rate factors (one per projection), got " +
                                  std::to_string(rates.size()));
    for (double r : rates)
      if (!(std::isfinite(r) && r > 0))
        throw std::invalid_argument(who + ": learning-rate factors must be finite and > 0 (a factor marks a synapse; to "
                                          "freeze a projection, give it a tiny factor), got " + std::to_string(r));
    Topology t;
    t.architecture_ = a;
    t.name_ = name;
    t.layers_ = std::move(layers);
    t.rates_ = std::move(rates);
    t.inputs_ = inputs ? t.layers_[0] : 0;
    t.neurons_ = std::accumulate(t.layers_.begin(), t.layers_.end(), std::size_t{0});
    return t;
  }
  Topology finished() {
    // A layer's bias learns at the factor of the projection into it (the input layer's bias is
    // not learned; without inputs, the first layer's at the first factor).
    bias_rates_.assign(neurons_, 0.0);
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const double f = (l == 0) ? (inputs_ > 0 ? 0.0 : rates_[0]) : rates_[std::min(l - 1, rates_.size() - 1)];
      for (std::size_t i = offset(l); i < offset(l + 1); ++i) bias_rates_[i] = f;
    }
    return std::move(*this);
  }

  Architecture architecture_ = Architecture::layered;
  std::string name_;
  std::vector<std::size_t> layers_;
  std::vector<double> rates_;
  std::vector<SynapseBlock> blocks_;
  std::vector<double> mask_;  // N × N factors when some block is not full
  std::vector<double> bias_rates_;
  std::size_t inputs_ = 0, neurons_ = 0;
};

}  // namespace nlm
