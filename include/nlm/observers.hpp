/// @file observers.hpp
/// @brief Observers for `machine.sample(X, steps, observer)`: record snapshots of all chains
/// or the trajectory of a few coordinates without storing the whole run (the upstream scripts
/// keep N×36×25 001 floats, 2.8 GB; these keep only what is asked for).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <algorithm>
#include <vector>

#include "types.hpp"

namespace nlm {

/// Copies of all chains at steps `first, first + every, ...` (step counts from 1).
template <Scalar S>
class Snapshots {
 public:
  Snapshots(std::size_t first, std::size_t every) : first_(first), every_(every) {
    if (every == 0) throw std::invalid_argument("Snapshots: every must be > 0");
  }
  void operator()(std::size_t step, const Matrix<S>& x) {
    if (step >= first_ && (step - first_) % every_ == 0) taken_.emplace_back(step, x);
  }
  const std::vector<std::pair<std::size_t, Matrix<S>>>& taken() const noexcept { return taken_; }

 private:
  std::size_t first_, every_;
  std::vector<std::pair<std::size_t, Matrix<S>>> taken_;
};

/// x_i(t) of chosen neurons of one chain, every `every` steps within [first, last].
template <Scalar S>
class NeuronTrace {
 public:
  NeuronTrace(std::size_t chain, std::vector<std::size_t> neurons, std::size_t first = 1,
              std::size_t last = ~std::size_t{0}, std::size_t every = 1)
      : chain_(chain), neurons_(std::move(neurons)), first_(first), last_(last), every_(every) {
    if (every == 0) throw std::invalid_argument("NeuronTrace: every must be > 0");
  }
  void operator()(std::size_t step, const Matrix<S>& x) {
    if (step < first_ || step > last_ || (step - first_) % every_ != 0) return;
    if (chain_ >= x.shape(0))
      throw std::out_of_range("NeuronTrace: chain " + std::to_string(chain_) + " of " +
                              std::to_string(x.shape(0)));
    steps_.push_back(step);
    for (const std::size_t i : neurons_) {
      if (i >= x.shape(1))
        throw std::out_of_range("NeuronTrace: neuron " + std::to_string(i) + " of " +
                                std::to_string(x.shape(1)));
      values_.push_back(x(chain_, i));
    }
  }
  const std::vector<std::size_t>& neurons() const noexcept { return neurons_; }
  const std::vector<std::size_t>& steps() const noexcept { return steps_; }
  /// Value of neuron `neurons()[k]` at `steps()[t]`.
  S value(std::size_t t, std::size_t k) const { return values_[t * neurons_.size() + k]; }

 private:
  std::size_t chain_;
  std::vector<std::size_t> neurons_;
  std::size_t first_, last_, every_;
  std::vector<std::size_t> steps_;
  std::vector<S> values_;
};

/// One chain's whole state every `every` steps within [first, last] (for PCA trajectories).
template <Scalar S>
class ChainTrajectory {
 public:
  ChainTrajectory(std::size_t chain, std::size_t first, std::size_t last, std::size_t every)
      : chain_(chain), first_(first), last_(last), every_(every) {
    if (every == 0) throw std::invalid_argument("ChainTrajectory: every must be > 0");
  }
  void operator()(std::size_t step, const Matrix<S>& x) {
    if (step < first_ || step > last_ || (step - first_) % every_ != 0) return;
    steps_.push_back(step);
    const S* row = x.data() + chain_ * x.shape(1);
    states_.insert(states_.end(), row, row + x.shape(1));
    width_ = x.shape(1);
  }
  const std::vector<std::size_t>& steps() const noexcept { return steps_; }
  /// The recorded states, one per row.
  Matrix<S> states() const {
    Matrix<S> m = Matrix<S>::from_shape({steps_.size(), width_});
    std::copy(states_.begin(), states_.end(), m.begin());
    return m;
  }

 private:
  std::size_t chain_, first_, last_, every_, width_ = 0;
  std::vector<std::size_t> steps_;
  std::vector<S> states_;
};

/// Calls several observers in turn.
template <class... Observers>
struct Observe {
  std::tuple<Observers&...> each;
  explicit Observe(Observers&... o) : each(o...) {}
  template <class M>
  void operator()(std::size_t step, const M& x) {
    std::apply([&](auto&... o) { (o(step, x), ...); }, each);
  }
};

}  // namespace nlm
