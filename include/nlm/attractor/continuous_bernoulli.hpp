/// @file continuous_bernoulli.hpp
/// @brief The continuous-Bernoulli distribution on [−1, 1] of the free-energy attractor network's
/// units: density \f$ p(\sigma \mid \theta) = e^{\theta\sigma} / Z(\theta) \f$,
/// \f$ Z(\theta) = 2\sinh\theta/\theta \f$ (Z(0) = 2, the uniform distribution).
///
/// - its mean is the Langevin function \f$ L(\theta) = \coth\theta - 1/\theta \f$;
/// - its variance is \f$ L'(\theta) = 1/\theta^2 - 1/\sinh^2\theta \f$;
/// - \f$ \ln Z(\theta) \f$ is its log-normaliser (the free energy's complexity term uses it);
/// - `continuous_bernoulli_sample` inverts the CDF \f$ F(\sigma) = (e^{\theta\sigma} - e^{-\theta})
///   / (e^{\theta} - e^{-\theta}) \f$.
///
/// Each is written for every θ: series where coth θ − 1/θ and the like cancel (|θ| < 0.6), and
/// forms without e^{|θ|} elsewhere, so |θ| in the hundreds (the reference clips at 500) or the
/// thousands neither overflows nor loses the result; in double they are within a few ulps. L, L'
/// and ln Z of a float are computed in double (float's cancellation in coth θ − 1/θ would cost
/// ~1e−6) and rounded once.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>

namespace nlm {

namespace detail {
/// Below this |θ| the series are used: there the first omitted term is below 1e−17 of the
/// result, and above it the direct forms' cancellation costs at most 3e−16/θ² (4 ulps).
inline constexpr double series_limit = 0.6;
/// a_n = 2^{2n} B_{2n} / (2n)!, n = 1 … 13: L(θ) = Σ a_n θ^{2n−1} (B the Bernoulli numbers).
inline constexpr double langevin_series[13] = {
    1.0 / 3, -1.0 / 45, 2.0 / 945, -1.0 / 4725, 2.0 / 93555, -1382.0 / 638512875, 4.0 / 18243225,
    -3617.0 / 162820783125, 87734.0 / 38979295480125, -349222.0 / 1531329465290625,
    310732.0 / 13447856940643125, -472728182.0 / 201919571963756521875.0, 2631724.0 / 11094481976030578125.0};
}  // namespace detail

/// L(θ) = coth θ − 1/θ, the mean of the continuous Bernoulli on [−1, 1] (L(0) = 0, odd, |L| < 1).
template <class S>
S langevin_function(S theta) noexcept {
  if constexpr (sizeof(S) < sizeof(double)) {
    return S(langevin_function(double(theta)));
  } else {
    if (std::fabs(theta) < S(detail::series_limit)) {
      const S t2 = theta * theta;
      S sum = 0;
      for (int n = 12; n >= 0; --n) sum = sum * t2 + S(detail::langevin_series[n]);
      return theta * sum;
    }
    return S(1) / std::tanh(theta) - S(1) / theta;
  }
}

/// L'(θ) = 1/θ² − 1/sinh²θ, the variance of the continuous Bernoulli (1/3 at θ = 0).
template <class S>
S langevin_derivative(S theta) noexcept {
  if constexpr (sizeof(S) < sizeof(double)) {
    return S(langevin_derivative(double(theta)));
  } else {
    const S a = std::fabs(theta);
    if (a < S(detail::series_limit)) {  // Σ (2n − 1) a_n θ^{2n−2}
      const S t2 = a * a;
      S sum = 0;
      for (int n = 12; n >= 0; --n) sum = sum * t2 + S(2 * n + 1) * S(detail::langevin_series[n]);
      return sum;
    }
    if (a > S(40)) return S(1) / (a * a);  // 1/sinh²θ < 4e^{−80}: nothing left of it
    const S s = std::sinh(a);
    return S(1) / (a * a) - S(1) / (s * s);
  }
}

/// ln Z(θ) = ln(2 sinh θ / θ), the log-normaliser of the continuous Bernoulli on [−1, 1].
template <class S>
S continuous_bernoulli_log_normalizer(S theta) noexcept {
  if constexpr (sizeof(S) < sizeof(double)) {
    return S(continuous_bernoulli_log_normalizer(double(theta)));
  } else {
    const S a = std::fabs(theta);
    if (a < S(detail::series_limit)) {  // ln 2 + Σ a_n θ^{2n} / (2n)  (its derivative is L)
      const S t2 = a * a;
      S sum = 0;
      for (int n = 12; n >= 0; --n) sum = sum * t2 + S(detail::langevin_series[n]) / S(2 * n + 2);
      return std::numbers::ln2_v<S> + t2 * sum;
    }
    return a + std::log1p(-std::exp(S(-2) * a)) - std::log(a);  // 2 sinh a = e^a (1 − e^{−2a})
  }
}

/// The draw with uniform u ∈ (0, 1] (u ↦ F⁻¹(u), increasing in u). For θ = a > 0,
/// σ = 1 + ln(u + (1 − u) e^{−2a}) / a: for a ≥ 1 the logarithm's argument is a sum of two
/// non-negative terms (no cancellation, no overflow at any a, and a tiny u is kept where e^{−2a}
/// underflows); for a < 1 it is formed as 1 + (1 − u) expm1(−2a) inside log1p, exact as a → 0.
/// θ < 0 is the mirror image −σ(−θ, 1 − u), and θ = 0 gives 2u − 1. The result is clipped to
/// [−1, 1] against rounding.
template <class S>
S continuous_bernoulli_sample(S theta, S u) noexcept {
  if (theta == S(0)) return S(2) * u - S(1);
  const bool negative = theta < S(0);
  const S a = negative ? -theta : theta;
  const S w = negative ? S(1) - u : u;  // the mirrored draw's uniform
  const S v = negative ? u : S(1) - u;  // 1 − w
  const S log_tail = a < S(1) ? std::log1p(v * std::expm1(S(-2) * a)) : std::log(w + v * std::exp(S(-2) * a));
  const S s = std::clamp(S(1) + log_tail / a, S(-1), S(1));
  return negative ? -s : s;
}

}  // namespace nlm
