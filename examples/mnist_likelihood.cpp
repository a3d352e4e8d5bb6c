// The model's partition function by annealed importance sampling, and the log-likelihood of
// held-out digits beside two Gaussian baselines on the same representation (x = 2p − 1).
//
//   mnist_likelihood --couplings out/quick/J.npy --field out/quick/field.npy
//   mnist_likelihood --couplings J_cupy1.npy     # the paper authors' trained couplings (from their code release)
//
// log p(x) = −E(x)/T − log Z, in nats per image. AIS (nlm/analysis/ais.hpp) anneals particles
// from N(0, σ₀² I) to exp(−E/T) with MALA; Ẑ is unbiased, so log Ẑ is a stochastic lower bound
// and the log-likelihoods it gives are biased high by the same amount. Its ± is the larger of the
// particles' standard error and the independent runs' spread / √runs, with warnings in words
// when the weights' ESS or the runs' agreement say not to trust it. Then (unless --reverse-burn-in
// 0) the forward particles, after --reverse-burn-in more MALA steps at the model, anneal back to
// the base: a stochastic upper bound, if those particles are draws of the model. The two give
// an interval for log Z (--level, Markov's inequality on each side; bidirectional Monte Carlo)
// and so for the log-likelihood. A model with label or latent units h (mnist_train
// --labels, --latent) has the image's density p(v) = Z(v)/Z, Z(v) = ∫ exp(−E(v, h)/T) dh: a
// second, per-image AIS over h with the image clamped (conditional_annealed_importance_sampling)
// gives log Z(v) for the first --images held-out digits (default 30); both logs are biased low, so
// their difference may be biased either way. The baselines are fitted on the model's training
// digits, their ridge chosen on the last tenth of them, and scored on the same held-out digits.
// Writes likelihood.png: the held-out digits the model finds most and least likely.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <numeric>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <nlm/nlm.hpp>
#include <nlm/analysis/ais.hpp>
#include <nlm_examples/picture.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"
#include "common/model_files.hpp"

namespace ex = nlm::examples;

namespace {

struct Options : ex::GenerationOptions {
  std::string out = "out/likelihood", digits = "1,3,6", layout;
  ex::DataSource data;
  std::size_t held_out = 100, images = 0, marginal_temperatures = 5000, reverse_burn_in = 2000;
  double level = 0.95;
  nlm::AisOptions ais;
  Options() {
    dt = 0.03;  // docs/quality.md's settings (about 80 s each way for a quick model, 2 threads)
    ais.temperatures = 20000;
    ais.particles = 16;
    ais.runs = 2;
    ais.schedule_power = 2.0;
    ais.base_sd = 1.25;
  }
};

/// Per-image log-densities of a Gaussian N(μ, C) at the rows of `x`, with the part from the
/// `constant` pixels (those equal in every training digit) apart, in double.
struct GaussianScore {
  std::vector<double> total, constant_part;
  double mean_total() const { return std::accumulate(total.begin(), total.end(), 0.0) / double(total.size()); }
  double mean_constant() const {
    return std::accumulate(constant_part.begin(), constant_part.end(), 0.0) / double(constant_part.size());
  }
};

/// Column means and covariance of `x` (rows are digits), in double.
struct Moments {
  xt::xtensor<double, 1> mean;
  xt::xtensor<double, 2> cov;
  std::vector<bool> constant;
};
Moments moments_of(const nlm::Matrix<float>& x) {
  const std::size_t n = x.shape(0), d = x.shape(1);
  Moments m;
  xt::xtensor<double, 2> c = xt::cast<double>(x);
  m.mean = xt::mean(c, {0});
  c -= m.mean;
  m.cov = xt::linalg::dot(xt::transpose(c), c) / double(n - 1);
  m.constant.resize(d);
  for (std::size_t j = 0; j < d; ++j) {
    bool same = true;
    for (std::size_t i = 1; i < n && same; ++i) same = x(i, j) == x(0, j);
    m.constant[j] = same;
  }
  return m;
}

/// Diagonal Gaussian: variances + ridge.
GaussianScore diagonal_score(const Moments& m, double ridge, const nlm::Matrix<float>& x) {
  const std::size_t n = x.shape(0), d = x.shape(1);
  GaussianScore s{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  for (std::size_t j = 0; j < d; ++j) {
    const double v = m.cov(j, j) + ridge, norm = -0.5 * std::log(2 * std::numbers::pi * v);
    for (std::size_t i = 0; i < n; ++i) {
      const double z = double(x(i, j)) - m.mean(j), l = norm - 0.5 * z * z / v;
      s.total[i] += l;
      if (m.constant[j]) s.constant_part[i] += l;
    }
  }
  return s;
}

/// Full-covariance Gaussian: C + ridge·I. The constant pixels have zero variance and
/// covariance in C, so the density factorises into theirs (each N(μ_j, ridge)) and the
/// varying pixels' Gaussian: the constant part is exact.
GaussianScore full_score(const Moments& m, double ridge, const nlm::Matrix<float>& x) {
  const std::size_t n = x.shape(0), d = x.shape(1);
  std::vector<std::size_t> vary;
  for (std::size_t j = 0; j < d; ++j)
    if (!m.constant[j]) vary.push_back(j);
  GaussianScore s = diagonal_score(m, ridge, x);  // the constant pixels' part (and a total to replace)
  const std::size_t k = vary.size();
  xt::xtensor<double, 2> c = xt::xtensor<double, 2>::from_shape({k, k});
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = 0; b < k; ++b) c(a, b) = m.cov(vary[a], vary[b]) + (a == b ? ridge : 0.0);
  const xt::xtensor<double, 2> l = xt::linalg::cholesky(c);
  double logdet = 0;
  for (std::size_t a = 0; a < k; ++a) logdet += 2 * std::log(l(a, a));
  std::vector<double> z(k);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t a = 0; a < k; ++a) {  // forward substitution L y = x − μ
      double v = double(x(i, vary[a])) - m.mean(vary[a]);
      for (std::size_t b = 0; b < a; ++b) v -= l(a, b) * z[b];
      z[a] = v / l(a, a);
    }
    double q = 0;
    for (double v : z) q += v * v;
    s.total[i] = s.constant_part[i] - 0.5 * (double(k) * std::log(2 * std::numbers::pi) + logdet + q);
  }
  return s;
}

/// The ridge of `score` with the best mean log-density on `validation`, fitted on `fit`.
template <class Score>
double choose_ridge(const nlm::Matrix<float>& fit, const nlm::Matrix<float>& validation, Score score) {
  const Moments m = moments_of(fit);
  double best = 0, best_ll = -INFINITY;
  for (double ridge : {1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0}) {
    const double ll = score(m, ridge, validation).mean_total();
    if (ll > best_ll) best_ll = ll, best = ridge;
  }
  return best;
}

int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  o.data.check();
  auto generator = ex::make_generator(o);
  const auto& model = generator.model();
  const std::size_t neurons = model.neurons();
  const double temperature = double(model.temperature());
  const nlm::UnitLayout layout = ex::model_layout(o, neurons, o.layout);
  const std::size_t hidden = neurons - layout.visible;  // label and latent units
  const std::string digits = ex::model_digits(layout, o.digits);
  const auto all = ex::load_digits(o.data, digits, 0);
  if (all.x.shape(1) != layout.visible)
    throw std::invalid_argument("the digits have " + std::to_string(all.x.shape(1)) + " pixels, the model " +
                                std::to_string(layout.visible) + " image units");
  auto split = ex::split_for_model(all, layout, o.held_out, o.data.path);
  // The held-out digits are interleaved class by class, so the first ones are balanced.
  const std::size_t scored = std::min(o.images > 0 ? o.images : hidden > 0 ? 30 : split.held.count(),
                                      split.held.count());
  split.held = ex::first_rows_of(split.held, scored);
  const nlm::Matrix<float> train(split.train.x), held(split.held.x);
  std::printf("model: %s, N = %zu (%zu image, %zu label, %zu latent units), T = %g, field %s\n", o.source().c_str(),
              neurons, layout.visible, layout.labels(), layout.latent, temperature,
              !model.parameters().has_field() ? "none"
              : o.field.empty()                 ? "from the model file"
                                                : o.field.c_str());
  std::printf("digits %s: %zu held-out digits scored (from the last %zu of each class, class by class), %zu for "
              "the baselines\n", digits.c_str(), held.shape(0), layout.held_out > 0 ? layout.held_out : o.held_out,
              train.shape(0));

  nlm::AisOptions a = o.ais;
  a.time_step = o.dt;
  a.seed = o.seed;
  std::size_t shown = 0;
  a.progress = [&](std::size_t done, std::size_t total) {
    const std::size_t pct = 10 * (10 * done / total);
    if (pct != shown) {
      shown = pct;
      std::fprintf(stderr, "AIS: %zu/%zu distributions (%zu%%)\n", done, total, pct);
    }
  };
  std::printf("AIS: %zu runs x %zu particles, K = %zu distributions (beta_k = (k/K)^%g), %zu MALA step(s) each, "
              "dt = %g, base N(0, %g^2 I)\n",
              a.runs, a.particles, a.temperatures, a.schedule_power, a.steps_per_temperature, a.time_step, a.base_sd);
  const bool both_ways = o.reverse_burn_in > 0;
  nlm::BidirectionalAis bi;
  if (both_ways)
    bi = nlm::bidirectional_annealed_importance_sampling(model, a, o.reverse_burn_in, o.level);
  else
    bi.forward = nlm::annealed_importance_sampling(model, a);
  const nlm::AisResult& z = bi.forward;
  const auto describe = [&](const nlm::AisResult& r, const char* what) {
    std::printf("  %s: MALA acceptance %.3f (%.3f nearest the model), ESS of the weights %.1f of %zu (%.0f %%); "
                "each run's log Z:", what, r.acceptance, r.model_end_acceptance, r.ess, r.particles(),
                100.0 * r.ess_fraction());
    for (std::size_t i = 0; i < r.run_log_z.size(); ++i)
      std::printf("%s %.2f ± %.2f (ESS %.1f)", i ? "," : "", r.run_log_z[i], r.run_standard_error[i], r.run_ess[i]);
    std::printf("\n");
    for (const std::string& w : nlm::ais_warnings(r, a)) std::printf("  warning (%s): %s\n", what, w.c_str());
  };
  describe(z, "forward");
  std::printf("log Z: %.2f ± %.2f (the larger of the particles' SE %.2f and the runs' spread / sqrt(%zu) %.2f; a "
              "stochastic lower bound: Z-hat is unbiased)\n",
              z.log_z, z.uncertainty, z.standard_error, z.run_log_z.size(),
              z.run_log_z.size() > 1 ? z.run_spread / std::sqrt(double(z.run_log_z.size())) : 0.0);
  if (both_ways) {
    std::printf("reverse AIS (model to base) from the forward particles after %zu more MALA steps at T (acceptance "
                "%.3f):\n", bi.burn_in, bi.burn_in_acceptance);
    if (bi.burn_in_acceptance < 0.2)
      std::printf("  warning (reverse): the burn-in accepted %.1f %% of its moves: the reverse particles start "
                  "about where the forward ones ended, so the upper end is only as good as the forward path's end; "
                  "lower --dt\n", 100.0 * bi.burn_in_acceptance);
    describe(bi.reverse, "reverse");
    std::printf("log Z from above: %.2f ± %.2f (a stochastic upper bound if the particles were draws of the model)\n",
                bi.reverse.log_z, bi.reverse.uncertainty);
    std::printf("log Z interval (%g %%): [%.2f, %.2f], gap between the two estimates %.2f nats (the forward "
                "estimate - %.2f, the reverse + %.2f, by Markov's inequality on each side; the upper end assumes "
                "the burnt-in particles are draws of the model)\n",
                100.0 * bi.interval.level, bi.interval.lower, bi.interval.upper, bi.interval.gap,
                std::log(2.0 / (1.0 - o.level)), std::log(2.0 / (1.0 - o.level)));
    if (!bi.interval.consistent)
      std::printf("warning: the reverse estimate lies more than %.2f nats below the forward one: its particles "
                  "were not draws of the model (or this is a draw of probability < %g %%); do not use this "
                  "interval: raise --reverse-burn-in and K\n", std::log(2.0 / (1.0 - o.level)),
                  50.0 * (1.0 - o.level));
  } else {
    std::printf("log Z >= %.2f with probability >= %g %% (Markov's inequality); no upper end without "
                "--reverse-burn-in\n", z.bound(o.level), 100.0 * o.level);
  }

  // The model on the held-out digits: −E(v)/T − log Z, or log Z(v) − log Z with hidden units.
  std::vector<double> ll(held.shape(0));
  if (hidden == 0) {
    const auto e = model.energy(held);
    for (std::size_t i = 0; i < ll.size(); ++i) ll[i] = -double(e(i)) / temperature - z.log_z;
  } else {
    nlm::AisOptions c = a;
    c.temperatures = o.marginal_temperatures;
    c.seed = o.seed + 1;
    shown = 0;
    const auto observed = xt::ones<std::uint8_t>({std::size_t(1), layout.visible});
    const nlm::Clamp<float> clamp = layout.image_clamp(held, xt::xtensor<std::uint8_t, 2>(observed));
    std::printf("per-image AIS over the %zu label and latent units, image clamped: %zu digits x %zu runs x %zu "
                "particles, K = %zu\n", hidden, held.shape(0), c.runs, c.particles, c.temperatures);
    const auto zv = nlm::conditional_annealed_importance_sampling(model, clamp, c);
    std::vector<double> se, ess;
    for (std::size_t i = 0; i < ll.size(); ++i) {
      ll[i] = zv[i].log_z - z.log_z;
      se.push_back(zv[i].standard_error);
      ess.push_back(zv[i].ess);
    }
    std::sort(se.begin(), se.end());
    std::sort(ess.begin(), ess.end());
    std::printf("  MALA acceptance %.3f; per image: median SE of log Z(v) %.2f (largest %.2f), median ESS %.1f of %zu\n",
                zv[0].acceptance, se[se.size() / 2], se.back(), ess[ess.size() / 2], zv[0].particles());
  }
  const double model_ll = std::accumulate(ll.begin(), ll.end(), 0.0) / double(ll.size());

  // Baselines: ridge on the last tenth of the training digits, then fitted on all of them.
  const std::size_t fit_rows = train.shape(0) - train.shape(0) / 10;
  const nlm::Matrix<float> fit = xt::view(train, xt::range(0, fit_rows), xt::all());
  const nlm::Matrix<float> validation = xt::view(train, xt::range(fit_rows, train.shape(0)), xt::all());
  const double diag_ridge = choose_ridge(fit, validation, diagonal_score);
  const double full_ridge = choose_ridge(fit, validation, full_score);
  const Moments m = moments_of(train);
  const std::size_t constant = std::size_t(std::count(m.constant.begin(), m.constant.end(), true));
  const GaussianScore diag = diagonal_score(m, diag_ridge, held), full = full_score(m, full_ridge, held);
  std::printf("held-out log-likelihood, nats/image (x = 2p - 1 in R^%zu; %zu pixels are the same in every "
              "training digit):\n", layout.visible, constant);
  std::printf("  %-34s %10s %14s %14s\n", "", "total", "const. pixels", "other pixels");
  std::printf("  %-34s %10.1f %14s %14s\n", hidden > 0 ? "NLM (log Z(v) - log Z)" : "NLM (-E/T - log Z)", model_ll,
              "-", "-");
  std::printf("  %-34s %10.1f %14.1f %14.1f\n", ("diagonal Gaussian, ridge " + std::to_string(diag_ridge).substr(0, 6)).c_str(),
              diag.mean_total(), diag.mean_constant(), diag.mean_total() - diag.mean_constant());
  std::printf("  %-34s %10.1f %14.1f %14.1f\n", ("full-cov. Gaussian, ridge " + std::to_string(full_ridge).substr(0, 6)).c_str(),
              full.mean_total(), full.mean_constant(), full.mean_total() - full.mean_constant());

  // The most and least likely held-out digits under the model.
  std::vector<std::size_t> order(ll.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return ll[i] > ll[j]; });
  const std::size_t show = std::min<std::size_t>(12, order.size() / 2);
  std::vector<float> tiles;
  std::vector<std::string> captions;
  for (std::size_t k = 0; k < 2 * show; ++k) {
    const std::size_t i = k < show ? order[k] : order[order.size() - 2 * show + k];
    for (std::size_t j = 0; j < held.shape(1); ++j) tiles.push_back((held(i, j) + 1.0f) * 0.5f);
    char c[64];
    std::snprintf(c, sizeof c, "%s\nlog p = %.0f", k < show ? "most likely" : "least likely", ll[i]);
    captions.emplace_back(c);
  }
  ex::write_captioned_grid(out / "likelihood.png", tiles.data(), 2 * show, held.shape(1), captions, show, 3,
                           "held-out digits by NLM log-likelihood (nats)");
  std::printf("wrote %s\n", (out / "likelihood.png").c_str());
  // The mean log-likelihood moves with log Z one for one: its interval is log Z's, mirrored.
  char range[160] = "";
  if (both_ways)
    std::snprintf(range, sizeof range, " (%g %% interval from log Z's: [%.1f, %.1f]%s)", 100.0 * o.level,
                  model_ll + z.log_z - bi.interval.upper, model_ll + z.log_z - bi.interval.lower,
                  hidden > 0 ? "; log Z(v) adds its own error" : "");
  else
    std::snprintf(range, sizeof range, " (at most %.1f with probability >= %g %%%s)",
                  model_ll + z.log_z - z.bound(o.level), 100.0 * o.level,
                  hidden > 0 ? "; log Z(v) adds its own error" : "");
  std::printf("test log-likelihood: %.1f nats/image%s\n", model_ll, range);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"log Z of an NLM by annealed importance sampling, and held-out log-likelihoods (nlm)"};
  nlm::examples::last_option_wins(app);
  Options o;
  o.add_to(app);
  app.get_option("--dt")->description("MALA's time step dt of the AIS transitions");
  app.get_option("--chains")->description("(unused here; see --particles)");
  o.data.add_to(app);
  ex::add_digits_option(app, o.digits, "the model's digits (held-out and baseline digits; a label model's own)");
  ex::add_held_out_option(app, o.held_out, "held-out digits per class (the model's own count if its layout has one)");
  ex::add_layout_option(app, o.layout);
  ex::add_output_option(app, o.out);
  app.add_option("--particles", o.ais.particles, "AIS particles per run")->capture_default_str()->transform(ex::count(true));
  app.add_option("--runs", o.ais.runs, "independent AIS runs")->capture_default_str()->transform(ex::count(true));
  app.add_option("--temperatures,-K", o.ais.temperatures, "intermediate distributions K")
      ->capture_default_str()
      ->transform(ex::count(true));
  app.add_option("--steps-per-temperature", o.ais.steps_per_temperature, "MALA steps at each distribution")
      ->capture_default_str()
      ->transform(ex::count(true));
  app.add_option("--base-sd", o.ais.base_sd, "sd of the Gaussian the path starts from")->capture_default_str();
  app.add_option("--schedule-power", o.ais.schedule_power, "beta_k = (k/K)^power")->capture_default_str();
  app.add_option("--reverse-burn-in", o.reverse_burn_in,
                 "MALA steps at the model for the forward particles before they anneal back to the base (the "
                 "reverse AIS, an upper end for log Z); 0: forward only")
      ->capture_default_str()
      ->transform(ex::count());
  app.add_option("--level", o.level, "probability of the interval for log Z")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 0.9999));
  app.add_option("--images", o.images,
                 "held-out digits scored, taken class by class (0: all of them, or 30 for a model with label or "
                 "latent units, where each needs its own AIS over those units)")
      ->capture_default_str()
      ->transform(ex::count());
  app.add_option("--marginal-temperatures", o.marginal_temperatures,
                 "models with label or latent units: distributions K of the per-image AIS")
      ->capture_default_str()
      ->transform(ex::count(true));
  CLI11_PARSE(app, argc, argv);
  return run(o);
} catch (const std::exception& e) {
  std::fprintf(stderr, "mnist_likelihood: %s\n", e.what());
  return 1;
}
