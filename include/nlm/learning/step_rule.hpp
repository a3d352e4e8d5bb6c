/// @file step_rule.hpp
/// @brief Step rules: how a learning signal g (M − D for J, the field's for b) becomes the
/// step subtracted from a parameter, in the style of ensmallen's update policies.
///
/// A step rule has `configure(const LearningParameters&)` (called by the machine), and
/// `couplings_step(g, step, k, t)` / `field_step(g, step, k, t)` writing the step for update
/// number t (from 1) at rate k into an existing buffer. The regularizer's term is added to the
/// couplings' step afterwards, by the machine. Rules with state (Adam's moments) expose it for
/// checkpoints.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "../force_workspace.hpp"
#include "../hyperparameters.hpp"
#include "../types.hpp"

namespace nlm {

/// The paper's rule: step = k·g.
struct PlainStep {
  std::string describe() const { return "PlainStep"; }
  void configure(const LearningParameters&) noexcept {}
  template <Scalar S>
  void couplings_step(const Matrix<S>& g, Matrix<S>& step, S k, std::uint64_t) const {
    xt::noalias(step) = k * g;
  }
  template <Scalar S>
  void field_step(const Vector<S>& g, Vector<S>& step, S k, std::uint64_t) const {
    detail::ensure_size(step, g.size());
    xt::noalias(step) = k * g;
  }
};

/// Adam's running moments of one parameter's signal (empty until the first step).
template <class T>
struct AdamMoments {
  T first, second;
};

/// Adam (Kingma & Ba, 2015): step = k·m̂/(√v̂ + ε), elementwise, with bias-corrected moments
/// m̂, v̂ of the signal; the regularizer is applied to the step afterwards (decoupled, as in
/// AdamW).
class Adam {
 public:
  std::string describe() const { return "Adam"; }
  void configure(const LearningParameters& p) noexcept {
    beta1_ = p.adam_beta1;
    beta2_ = p.adam_beta2;
    epsilon_ = p.adam_epsilon;
  }
  template <Scalar S>
  void couplings_step(const Matrix<S>& g, Matrix<S>& step, S k, std::uint64_t t) {
    direction(moments_.template get<S>().couplings, g, step, t);
    step *= k;
  }
  template <Scalar S>
  void field_step(const Vector<S>& g, Vector<S>& step, S k, std::uint64_t t) {
    direction(moments_.template get<S>().field, g, step, t);
    step *= k;
  }

  template <Scalar S>
  struct State {
    AdamMoments<Matrix<S>> couplings;
    AdamMoments<Vector<S>> field;
  };
  /// The moments, for checkpoints.
  template <Scalar S>
  State<S>& state() noexcept {
    return moments_.template get<S>();
  }
  template <Scalar S>
  const State<S>& state() const noexcept {
    return const_cast<Adam*>(this)->moments_.template get<S>();
  }

 private:
  // out = m̂ / (√v̂ + ε) for the signal g at update t.
  template <class T>
  void direction(AdamMoments<T>& mom, const T& g, T& out, std::uint64_t t) const {
    using S = typename T::value_type;
    if (mom.first.shape() != g.shape()) {
      mom.first = xt::zeros_like(g);
      mom.second = xt::zeros_like(g);
    }
    if (out.shape() != g.shape()) out.resize(g.shape());
    const S b1 = S(beta1_), b2 = S(beta2_), eps = S(epsilon_);
    const S c1 = S(1) / S(1 - std::pow(beta1_, double(t)));
    const S c2 = S(1) / S(1 - std::pow(beta2_, double(t)));
    xt::noalias(mom.first) = b1 * mom.first + (S(1) - b1) * g;
    xt::noalias(mom.second) = b2 * mom.second + (S(1) - b2) * g * g;
    xt::noalias(out) = (c1 * mom.first) / (xt::sqrt(c2 * mom.second) + eps);
  }

  double beta1_ = 0.9, beta2_ = 0.999, epsilon_ = 1e-8;
  detail::PerScalar<State> moments_;
};

/// The default: the rule `Hyperparameters::step_rule` names (plain or Adam), chosen once per
/// update, so that a program picks it at run time.
class ConfiguredStep {
 public:
  std::string describe() const { return rule_ == LearningParameters::StepRule::adam ? "Adam" : "PlainStep"; }
  void configure(const LearningParameters& p) noexcept {
    rule_ = p.step_rule;
    adam_.configure(p);
  }
  template <Scalar S>
  void couplings_step(const Matrix<S>& g, Matrix<S>& step, S k, std::uint64_t t) {
    if (rule_ == LearningParameters::StepRule::adam)
      adam_.couplings_step(g, step, k, t);
    else
      plain_.couplings_step(g, step, k, t);
  }
  template <Scalar S>
  void field_step(const Vector<S>& g, Vector<S>& step, S k, std::uint64_t t) {
    if (rule_ == LearningParameters::StepRule::adam)
      adam_.field_step(g, step, k, t);
    else
      plain_.field_step(g, step, k, t);
  }
  Adam& adam() noexcept { return adam_; }
  const Adam& adam() const noexcept { return adam_; }

 private:
  LearningParameters::StepRule rule_ = LearningParameters::StepRule::plain;
  PlainStep plain_;
  Adam adam_;
};

/// What a machine asks of its step rule.
template <class R, class S>
concept StepRule = std::copy_constructible<R> &&
    requires(R& r, const LearningParameters& p, const Matrix<S>& g, Matrix<S>& step,
             const Vector<S>& gb, Vector<S>& stepb, S k, std::uint64_t t) {
      r.configure(p);
      r.couplings_step(g, step, k, t);
      r.field_step(gb, stepb, k, t);
    };

namespace detail {

/// The Adam a step rule holds (Adam itself, or the configured rule's), or a null pointer.
template <class R>
auto* adam_of(R& rule) noexcept {
  using Pointer = std::conditional_t<std::is_const_v<R>, const Adam*, Adam*>;
  if constexpr (std::is_same_v<std::remove_const_t<R>, Adam>)
    return Pointer(&rule);
  else if constexpr (requires { rule.adam(); })
    return Pointer(&rule.adam());
  else
    return Pointer(nullptr);
}

template <class R, class S>
consteval bool diagnose_step_rule() {
  static_assert(StepRule<R, S>,
                "nlm: a step rule needs `configure(const nlm::LearningParameters&)`, "
                "`couplings_step(const Matrix<S>& g, Matrix<S>& step, S k, std::uint64_t t)` and "
                "`field_step(const Vector<S>& g, Vector<S>& step, S k, std::uint64_t t)`; see "
                "learning/step_rule.hpp.");
  return StepRule<R, S>;
}

}  // namespace detail
}  // namespace nlm
