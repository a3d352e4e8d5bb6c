/// @file step_rule.hpp
/// @brief Step rules: how a learning signal g (M − D for J, the field's for b) becomes the
/// step subtracted from a parameter, in the style of ensmallen's update policies.
///
/// A step rule has `configure(const LearningParameters&)` (called by the machine), and
/// `couplings_step(g, step, k, t)` / `field_step(g, step, k, t)` writing the step for update
/// number t (from 1) at rate k into an existing buffer. The regularizer's term is added to the
/// couplings' step afterwards, by the machine. A rule with state (Adam's moments) is typed on
/// the machine's scalar and keeps its state in a checkpoint section of its own
/// (`io::StatefulPart`).
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
#include "../io/sections.hpp"
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
/// AdamW). Typed on the scalar of the machine it serves, whose moments it keeps; they travel
/// in a checkpoint section of their own, "adam" (an `io::StatefulPart`).
template <Scalar S = float>
class Adam {
 public:
  using scalar_type = S;
  /// The moments of J and of b.
  struct State {
    AdamMoments<Matrix<S>> couplings;
    AdamMoments<Vector<S>> field;
  };

  std::string describe() const { return "Adam"; }
  void configure(const LearningParameters& p) noexcept {
    beta1_ = p.adam_beta1;
    beta2_ = p.adam_beta2;
    epsilon_ = p.adam_epsilon;
  }
  void couplings_step(const Matrix<S>& g, Matrix<S>& step, S k, std::uint64_t t) {
    direction(moments_.couplings, g, step, t);
    step *= k;
  }
  void field_step(const Vector<S>& g, Vector<S>& step, S k, std::uint64_t t) {
    direction(moments_.field, g, step, t);
    step *= k;
  }

  /// The moments (empty before the first step).
  State& state() noexcept { return moments_; }
  const State& state() const noexcept { return moments_; }

  // ---- checkpoint section (io::StatefulPart) ------------------------------------------------
  std::string section_name() const { return "adam"; }
  /// J's first and second moments as .npy arrays, then b's when the field is learned; nothing
  /// before the first step.
  void save_section(io::SectionWriter& out) const {
    if (moments_.couplings.first.size() == 0) return;
    out.put_array(moments_.couplings.first);
    out.put_array(moments_.couplings.second);
    if (moments_.field.first.size() == 0) return;
    out.put_array(moments_.field.first);
    out.put_array(moments_.field.second);
  }
  /// Reads `save_section`'s arrays; refuses moments of unequal or non-square shapes, or a
  /// field's that do not match J, and then changes nothing.
  void load_section(io::SectionReader& in) {
    State s;
    if (!in.at_end()) {
      s.couplings.first = in.array<S, 2>("J's first moments");
      s.couplings.second = in.array<S, 2>("J's second moments");
      const auto& shape = s.couplings.first.shape();
      if (s.couplings.second.shape() != shape || shape[0] != shape[1])
        in.fail("Adam's moments of J have shapes " + shape_text(shape) + " and " +
                shape_text(s.couplings.second.shape()) + ", not one square shape");
      if (!in.at_end()) {
        s.field.first = in.array<S, 1>("b's first moments");
        s.field.second = in.array<S, 1>("b's second moments");
        if (s.field.first.size() != shape[0] || s.field.second.size() != shape[0])
          in.fail("Adam's moments of b have " + std::to_string(s.field.first.size()) + " and " +
                  std::to_string(s.field.second.size()) + " values, J's " + shape_text(shape));
      }
    }
    moments_ = std::move(s);
  }

 private:
  template <class Shape>
  static std::string shape_text(const Shape& shape) {
    return std::to_string(shape[0]) + " x " + std::to_string(shape[1]);
  }
  // out = m̂ / (√v̂ + ε) for the signal g at update t.
  template <class T>
  void direction(AdamMoments<T>& mom, const T& g, T& out, std::uint64_t t) const {
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
  State moments_;
};

/// The default: the rule `Hyperparameters::step_rule` names (plain or Adam), chosen once per
/// update, so that a program picks it at run time. Its Adam's moments travel in the "adam"
/// section (empty with the plain rule).
template <Scalar S = float>
class ConfiguredStep {
 public:
  using scalar_type = S;
  std::string describe() const { return rule_ == LearningParameters::StepRule::adam ? "Adam" : "PlainStep"; }
  void configure(const LearningParameters& p) noexcept {
    rule_ = p.step_rule;
    adam_.configure(p);
  }
  void couplings_step(const Matrix<S>& g, Matrix<S>& step, S k, std::uint64_t t) {
    if (rule_ == LearningParameters::StepRule::adam)
      adam_.couplings_step(g, step, k, t);
    else
      plain_.couplings_step(g, step, k, t);
  }
  void field_step(const Vector<S>& g, Vector<S>& step, S k, std::uint64_t t) {
    if (rule_ == LearningParameters::StepRule::adam)
      adam_.field_step(g, step, k, t);
    else
      plain_.field_step(g, step, k, t);
  }
  Adam<S>& adam() noexcept { return adam_; }
  const Adam<S>& adam() const noexcept { return adam_; }

  std::string section_name() const { return adam_.section_name(); }
  void save_section(io::SectionWriter& out) const { adam_.save_section(out); }
  void load_section(io::SectionReader& in) { adam_.load_section(in); }

 private:
  LearningParameters::StepRule rule_ = LearningParameters::StepRule::plain;
  PlainStep plain_;
  Adam<S> adam_;
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

template <class R, class S>
consteval bool diagnose_step_rule() {
  if constexpr (requires { typename R::scalar_type; })
    static_assert(std::is_same_v<typename R::scalar_type, S>,
                  "nlm: this step rule keeps state of another scalar type than the machine's: give it the "
                  "machine's scalar (Adam<S>, ConfiguredStep<S>).");
  static_assert(StepRule<R, S>,
                "nlm: a step rule needs `configure(const nlm::LearningParameters&)`, "
                "`couplings_step(const Matrix<S>& g, Matrix<S>& step, S k, std::uint64_t t)` and "
                "`field_step(const Vector<S>& g, Vector<S>& step, S k, std::uint64_t t)`; see "
                "learning/step_rule.hpp.");
  return StepRule<R, S>;
}

}  // namespace detail
}  // namespace nlm
