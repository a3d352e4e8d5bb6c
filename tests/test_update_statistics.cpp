// Weight-update statistics (issue 15): log-binned histograms that lose nothing, and the
// Clauset–Shalizi–Newman tail analysis on samples whose law is known.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include <nlm/nlm.hpp>
#include <nlm/analysis/power_law.hpp>
#include <nlm/training/callbacks/update_statistics.hpp>

#include "test_support.hpp"

TEST_SUITE_BEGIN("update statistics");

namespace {
// Pareto(α, x_min) by inversion, from a fixed stream.
std::vector<double> pareto(double alpha, double xmin, std::size_t n, std::uint64_t seed) {
  nlm::detail::Xoshiro256 rng(seed);
  std::vector<double> x(n);
  for (double& v : x) v = xmin * std::pow((double(rng() >> 11) + 0.5) * 0x1.0p-53, -1.0 / (alpha - 1));
  return x;
}
}  // namespace

TEST_CASE("histogram edges and counts are exact on constructed values, and nothing is lost") {
  nlm::LogHistogram h(-2, 3, 2);  // [1/4, 8), two bins per octave
  REQUIRE(h.edges().size() == 11);
  CHECK(h.edges()[0] == 0.25);
  CHECK(h.edges()[2] == 0.5);
  CHECK(h.edges()[4] == 1.0);
  CHECK(h.edges()[5] == std::sqrt(2.0));
  CHECK(h.edges()[10] == 8.0);
  const double r2 = std::sqrt(2.0);
  // One value on each bin's lower edge, one just below the next edge, and the outsiders.
  std::vector<double> v = {0.25, 0.5, 1.0, r2, 2.0, 4.0, 7.999,
                           std::nextafter(r2, 0.0), -1.0, 0.0, -0.0, 0.2, 8.0, 1e300, INFINITY, NAN};
  h.add(std::span<const double>(v));
  const std::vector<std::uint64_t> expected = {1, 0, 1, 0, 3, 1, 1, 0, 1, 1};
  CHECK(h.counts() == expected);  // 1.0, nextafter(√2, 0) and −1 share the bin [1, √2)
  CHECK(h.zeros() == 2);
  CHECK(h.below() == 1);
  CHECK(h.above() == 2);
  CHECK(h.non_finite() == 2);
  CHECK(h.total() == v.size());
  // A float's every value lands in the bin whose edges bracket it (checked against the edges).
  nlm::LogHistogram f(-40, 8, 4);
  nlm::detail::Xoshiro256 rng(3);
  for (int i = 0; i < 20000; ++i) {
    const float x = float(std::ldexp(1.0 + double(rng() >> 11) * 0x1.0p-53, int(rng() % 40) - 36));
    nlm::LogHistogram one(-40, 8, 4);
    one.add(double(x));
    std::size_t bin = 0;
    while (one.counts()[bin] == 0) ++bin;
    REQUIRE(one.edges()[bin] <= double(x));
    REQUIRE(double(x) < one.edges()[bin + 1]);
  }
}

// The MLE α̂ = 1 + n/Σ ln(x/x_min) at the true x_min has standard error (α − 1)/√n
// (asymptotically normal); with n = 10 000 the bound of 2 standard errors is the issue's.
TEST_CASE("the power-law MLE recovers alpha of Pareto samples within 2 standard errors") {
  for (const double alpha : {1.5, 2.5, 3.5}) {
    auto x = pareto(alpha, 1.0, 10000, 17);
    const double a = nlm::detail::power_law_alpha(x, 1.0);
    const double se = (a - 1) / std::sqrt(double(x.size()));
    MESSAGE("alpha " << alpha << ": estimate " << a << " +- " << se);
    CHECK(std::fabs(a - alpha) < 2 * se);
  }
}

// A log-normal body (μ = 0, σ = 1) below g = 4 glued to a Pareto tail (α = 2.5) above it,
// 60 % of the mass in the tail. Below g the data bend away from any power law, so the KS scan
// must not go much below g; above it every x_min fits, and the KS noise of the smaller tail
// (~1/√n_tail) favours x_min near g. We ask for x̂_min within a factor 1.5 of g and α̂ within
// 3 of its standard errors.
TEST_CASE("the KS choice of x_min lands near the glue point of a power-law tail on a log-normal body") {
  const double g = 4.0;
  const std::size_t n = 20000;
  std::normal_distribution<double> normal;
  std::mt19937_64 gen(5);
  std::vector<double> x;
  auto tail = pareto(2.5, g, std::size_t(0.6 * n), 23);
  x.insert(x.end(), tail.begin(), tail.end());
  while (x.size() < n) {
    const double v = std::exp(normal(gen));
    if (v < g) x.push_back(v);
  }
  nlm::PowerLawOptions o;
  o.bootstrap = 0;
  o.candidates = 200;
  const auto fit = nlm::fit_power_law(x, o);
  MESSAGE("xmin " << fit.xmin << " (glue " << g << "), alpha " << fit.alpha << " +- " << fit.alpha_se << ", tail "
                  << fit.n_tail);
  CHECK(fit.xmin > g / 1.5);
  CHECK(fit.xmin < g * 1.5);
  CHECK(std::fabs(fit.alpha - 2.5) < 3 * fit.alpha_se);
}

// Exponential samples: above any x_min the tail is again exponential, whose log-likelihood
// beats the power law's by O(n_tail) while the ratio's noise grows as √n_tail. Above the
// median (2500 values) that is decisive: R < 0 with a Vuong p far below 0.001. The KS scan
// alone picks x_min in the last few hundred values, a third of a decade, where a steep power
// law cannot be told from the exponential (R < 0 but not significant, as the MESSAGE shows):
// the verdict refuses a tail that spans less than a decade.
TEST_CASE("exponential samples are not called power laws") {
  nlm::detail::Xoshiro256 rng(9);
  std::vector<double> x(5000);
  for (double& v : x) v = 1.0 - std::log((double(rng() >> 11) + 0.5) * 0x1.0p-53);
  nlm::PowerLawOptions o;
  o.bootstrap = 50;
  o.seed = 4;
  const auto fit = nlm::fit_power_law(x, o);
  MESSAGE("xmin " << fit.xmin << ", alpha " << fit.alpha << ", tail " << fit.n_tail << ", p " << fit.p_value
                  << ", R_exp " << fit.vs_exponential.r << " (p " << fit.vs_exponential.p << "), R_lognormal "
                  << fit.vs_lognormal.r << ", verdict " << fit.verdict());
  CHECK(fit.vs_exponential.r < 0);
  CHECK(fit.decades < 1.0);
  CHECK_FALSE(fit.plausible_power_law());
  nlm::PowerLawOptions at_median = o;
  at_median.fixed_xmin = 1.0 + std::log(2.0);
  const auto half = nlm::fit_power_law(x, at_median);
  MESSAGE("above the median: tail " << half.n_tail << ", R_exp " << half.vs_exponential.r << " (p "
                                    << half.vs_exponential.p << "), bootstrap p " << half.p_value);
  CHECK(half.vs_exponential.r < 0);
  CHECK(half.vs_exponential.p < 1e-3);
  CHECK(half.p_value < 0.1);
  CHECK_FALSE(half.plausible_power_law());
  // ...while Pareto samples are.
  const auto pl = nlm::fit_power_law(pareto(2.5, 1.0, 5000, 31), o);
  MESSAGE("Pareto: xmin " << pl.xmin << ", alpha " << pl.alpha << ", p " << pl.p_value << ", R_exp "
                          << pl.vs_exponential.r << ", R_lognormal " << pl.vs_lognormal.r << ", verdict " << pl.verdict());
  CHECK(pl.vs_exponential.r > 0);
  CHECK(pl.plausible_power_law());
}

TEST_CASE("every applied step lands in its window: counts sum to updates x couplings, zeros included") {
  nlm::Hyperparameters hp = nlm::test::small_hyperparameters();
  using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::ZeroDiagonal<nlm::NoRegularizer>,
                                       nlm::EulerMaruyama, double>;
  Machine m(hp);
  const auto data = nlm::test::toy_data<double>();
  nlm::UpdateStatisticsOptions o;
  o.window_length = 7;
  o.record_signal = true;
  nlm::UpdateStatistics stats(o);
  nlm::TrainingOptions t = nlm::TrainingOptions::for_updates(23);
  t.handle_signals = false;
  nlm::train(m, data, t, stats);
  const auto& w = stats.step_windows();
  REQUIRE(w.size() == 4);  // 1-8, 8-15, 15-22, 22-29
  CHECK(w[0].label() == "1-8");
  CHECK(w[3].label() == "22-29");
  std::uint64_t updates = 0;
  for (const auto& win : w) {
    CHECK(win.histogram.total() == win.updates * hp.neurons * hp.neurons);
    updates += win.updates;
  }
  CHECK(updates == 23);
  CHECK(stats.signal_windows().size() == 4);
  // Decade windows.
  nlm::UpdateStatistics decades;
  CHECK(decades.window_of(1) == std::pair<std::uint64_t, std::uint64_t>{1, 10});
  CHECK(decades.window_of(10) == std::pair<std::uint64_t, std::uint64_t>{10, 100});
  CHECK(decades.window_of(999) == std::pair<std::uint64_t, std::uint64_t>{100, 1000});

  nlm::test::TempDir dir;
  nlm::save_update_windows(dir.path(), w, "");
  const auto nums = nlm::io::load_npy<double, 1>(dir.path() / "1-8_nums.npy");
  const auto bins = nlm::io::load_npy<double, 1>(dir.path() / "1-8_xbins.npy");
  CHECK(bins.size() == nums.size() + 1);
  double sum = 0;
  for (const double c : nums) sum += c;
  CHECK(sum + double(w[0].histogram.zeros() + w[0].histogram.below() + w[0].histogram.above()) ==
        double(w[0].updates * hp.neurons * hp.neurons));
}

TEST_CASE("bad UpdateStatistics options are refused when constructed, naming the option") {
  nlm::UpdateStatisticsOptions o;
  o.per_octave = 0;
  CHECK_THROWS_WITH_AS(nlm::UpdateStatistics{o}, "UpdateStatistics: per_octave must be in [1, 64], got 0",
                       std::invalid_argument);
  o.per_octave = 4;
  o.sample_capacity = 0;
  CHECK_THROWS_WITH_AS(nlm::UpdateStatistics{o},
                       "UpdateStatistics: samples_per_update and sample_capacity must be > 0", std::invalid_argument);
}

TEST_SUITE_END();
