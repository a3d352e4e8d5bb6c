// Mixing diagnostics (nlm/analysis/mixing.hpp) against closed forms.
//
// AR(1), x_t = φ x_{t−1} + √(1 − φ²) ε_t (stationary, unit variance): ρ(t) = φ^t, so
// τ_int = (1 + φ)/(1 − φ) exactly (19 at φ = 0.9). Sokal's estimate with window M has
// relative standard deviation ≈ √(2(2M + 1)/n) (Madras & Sokal 1988) and truncation bias
// 2φ^{M+1}/(1 − φ)/τ (below 10⁻³ here, M ≈ 5τ ≈ 95): with 4 chains of 50 000 draws
// (n = 200 000) the sd is ≈ 0.044·τ, and the tolerance is 4 sd. Independent draws: τ = 1 with
// sd ≈ √(2·11/n) (M ≈ 5). Split-R̂: four chains of i.i.d. N(0, 1) give R̂ − 1 of order
// 1/L (L = 25 000 draws per half): |R̂ − 1| < 0.01 holds with room. Two chains at +δ and two
// at −δ (δ = 1, unit variance) give 8 halves whose means are ±δ: B/L = 8δ²/7, W = 1, so
// R̂ → √(1 + 8/7) = 1.4639; the half means' own noise (sd 1/√L = 0.0063) moves R̂ by < 0.01,
// tolerance 0.02.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <nlm/analysis/mixing.hpp>
#include <nlm/detail/random.hpp>

namespace {

std::vector<std::vector<double>> ar1(double phi, std::size_t chains, std::size_t n, std::uint64_t seed,
                                     double offset_of_odd_chains = 0) {
  nlm::detail::Xoshiro256 rng(seed);
  std::vector<float> noise(n);
  std::vector<std::vector<double>> out(chains);
  for (std::size_t c = 0; c < chains; ++c) {
    nlm::detail::fill_normal<float>(rng, std::span<float>(noise.data(), noise.size()));
    double x = noise[0];
    const double offset = c % 2 == 1 ? offset_of_odd_chains : -offset_of_odd_chains;
    for (std::size_t t = 0; t < n; ++t) {
      if (t > 0) x = phi * x + std::sqrt(1 - phi * phi) * double(noise[t]);
      out[c].push_back(x + offset);
    }
  }
  return out;
}

}  // namespace

TEST_SUITE("mixing") {

TEST_CASE("the integrated autocorrelation time of AR(1) is (1 + phi)/(1 - phi)") {
  const double phi = 0.9, exact = (1 + phi) / (1 - phi);
  const auto chains = ar1(phi, 4, 50000, 11);
  const nlm::MixingSummary s = nlm::mixing_summary(chains);
  const double sd = std::sqrt(2.0 * (2.0 * double(s.window) + 1) / 200000.0) * exact;
  MESSAGE("tau " << s.tau << " (exact " << exact << ", sd " << sd << "), window " << s.window << ", ESS " << s.ess);
  CHECK(std::abs(s.tau - exact) < 4 * sd);
  CHECK(s.window >= std::size_t(5 * s.tau));
  CHECK(s.ess == doctest::Approx(200000.0 / s.tau));
  CHECK(std::abs(s.split_rhat - 1) < 0.01);
}

TEST_CASE("independent draws: tau 1, ESS the number of draws") {
  const auto chains = ar1(0.0, 4, 50000, 12);
  const nlm::MixingSummary s = nlm::mixing_summary(chains);
  const double sd = std::sqrt(2.0 * 11.0 / 200000.0);
  CHECK(std::abs(s.tau - 1) < 4 * sd);
  CHECK(std::abs(s.ess - 200000) < 200000 * 4 * sd * 1.1);
}

TEST_CASE("split-R-hat flags chains stuck at different levels, and not mixed ones") {
  CHECK(std::abs(nlm::split_rhat(ar1(0.0, 4, 50000, 13)) - 1) < 0.01);
  const double rhat = nlm::split_rhat(ar1(0.0, 4, 50000, 14, 1.0));
  CHECK(rhat == doctest::Approx(std::sqrt(1 + 8.0 / 7.0)).epsilon(0.02 / 1.4639));
}

TEST_CASE("bad input is refused with the reason") {
  CHECK_THROWS_WITH_AS(nlm::mixing_summary({{1, 2, 3, 4}, {1, 2, 3}}),
                       "integrated_autocorrelation_time: chains of different lengths (3 and 4 draws)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::split_rhat({{1, 2}}), "split_rhat: 2 draws per chain; at least 4 are needed",
                       std::invalid_argument);
  CHECK(nlm::integrated_autocorrelation_time({{2, 2, 2, 2, 2}}).first == 1.0);
}

}  // TEST_SUITE
