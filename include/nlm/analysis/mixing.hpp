/// @file mixing.hpp
/// @brief Mixing diagnostics of scalar chain statistics (an energy, a PC projection):
/// integrated autocorrelation time, effective sample size and split-R̂ (issue 14's first part).
///
/// - τ_int = 1 + 2 Σ_{t≥1} ρ(t), the autocorrelations averaged over the chains, summed up to
///   Sokal's self-consistent window M (the smallest M with M ≥ c·τ_int(M), c = 5): the
///   truncation bias is Σ_{t>M} 2ρ(t), small once M is a few τ, and the variance is
///   ≈ 2(2M + 1)/n · τ² (Sokal 1997; Madras & Sokal 1988).
/// - ESS = (chains × draws) / τ_int.
/// - split-R̂ (Gelman et al., BDA3 §11.4): every chain cut in halves, R̂ = √(var⁺/W) with
///   W the mean within-half variance and var⁺ = (L − 1)/L·W + B/L, B/L the variance of the
///   half means; ≈ 1 when the chains agree, > 1.01 when they have not mixed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace nlm {

struct MixingSummary {
  double tau = 1;            ///< integrated autocorrelation time, in draws
  std::size_t window = 0;    ///< the window M it was summed to
  double ess = 0;            ///< effective sample size over all chains
  double split_rhat = 1;     ///< split-R̂
  std::size_t chains = 0, draws = 0;
};

namespace detail {

inline void require_chains(const std::vector<std::vector<double>>& chains, std::size_t min_draws, const char* who) {
  if (chains.empty()) throw std::invalid_argument(std::string(who) + ": no chains");
  for (const auto& c : chains) {
    if (c.size() != chains[0].size())
      throw std::invalid_argument(std::string(who) + ": chains of different lengths (" + std::to_string(c.size()) +
                                  " and " + std::to_string(chains[0].size()) + " draws)");
    for (const double v : c)
      if (!std::isfinite(v)) throw std::invalid_argument(std::string(who) + ": a draw is not finite");
  }
  if (chains[0].size() < min_draws)
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(chains[0].size()) +
                                " draws per chain; at least " + std::to_string(min_draws) + " are needed");
}

}  // namespace detail

/// τ_int of the draws `chains[c][t]` (every chain the same length, ≥ 4 draws), with the
/// autocovariances averaged over chains (each about its own mean) and Sokal's window, c = 5.
/// Returns {τ, M}. A constant statistic has τ = 1 by convention.
inline std::pair<double, std::size_t> integrated_autocorrelation_time(const std::vector<std::vector<double>>& chains,
                                                                      double c = 5.0) {
  detail::require_chains(chains, 4, "integrated_autocorrelation_time");
  const std::size_t n = chains[0].size(), m = chains.size();
  std::vector<std::vector<double>> centred(m);
  for (std::size_t k = 0; k < m; ++k) {
    double mean = 0;
    for (const double v : chains[k]) mean += v;
    mean /= double(n);
    centred[k].resize(n);
    for (std::size_t t = 0; t < n; ++t) centred[k][t] = chains[k][t] - mean;
  }
  const auto autocovariance = [&](std::size_t lag) {
    double s = 0;
    for (const auto& x : centred)
      for (std::size_t t = 0; t + lag < n; ++t) s += x[t] * x[t + lag];
    return s / double(m * n);
  };
  const double c0 = autocovariance(0);
  if (!(c0 > 0)) return {1.0, 0};
  double tau = 1;
  for (std::size_t lag = 1; lag < n; ++lag) {
    tau += 2 * autocovariance(lag) / c0;
    if (double(lag) >= c * tau) return {tau, lag};
  }
  return {tau, n - 1};  // no self-consistent window: the chains are too short for their τ
}

/// Split-R̂ of `chains` (≥ 2 draws per half).
inline double split_rhat(const std::vector<std::vector<double>>& chains) {
  detail::require_chains(chains, 4, "split_rhat");
  const std::size_t half = chains[0].size() / 2;
  std::vector<double> means, variances;
  for (const auto& ch : chains)
    for (int h = 0; h < 2; ++h) {
      const auto* x = ch.data() + (h == 0 ? 0 : ch.size() - half);  // odd lengths drop the middle draw
      double mean = 0;
      for (std::size_t t = 0; t < half; ++t) mean += x[t];
      mean /= double(half);
      double var = 0;
      for (std::size_t t = 0; t < half; ++t) var += (x[t] - mean) * (x[t] - mean);
      means.push_back(mean);
      variances.push_back(var / double(half - 1));
    }
  const double k = double(means.size()), l = double(half);
  double grand = 0, w = 0;
  for (std::size_t j = 0; j < means.size(); ++j) {
    grand += means[j] / k;
    w += variances[j] / k;
  }
  double between = 0;  // B / L: the variance of the half means
  for (const double mean : means) between += (mean - grand) * (mean - grand) / (k - 1);
  if (!(w > 0)) return between > 0 ? INFINITY : 1.0;
  const double var_plus = (l - 1) / l * w + between;
  return std::sqrt(var_plus / w);
}

/// τ_int, ESS and split-R̂ of one scalar statistic's chains.
inline MixingSummary mixing_summary(const std::vector<std::vector<double>>& chains) {
  MixingSummary s;
  std::tie(s.tau, s.window) = integrated_autocorrelation_time(chains);
  s.chains = chains.size();
  s.draws = chains[0].size();
  s.ess = double(s.chains * s.draws) / s.tau;
  s.split_rhat = split_rhat(chains);
  return s;
}

}  // namespace nlm
