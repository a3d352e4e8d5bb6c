// fep_capacity: the free-energy attractor network's capacity at N = 100 (Spisak & Friston, the
// reference's JAX study): K random ±1 patterns, K = 10 … 90, trained as that code trains (10 000
// presentations of a randomly drawn pattern × 10 sampled steps, each presentation from σ = 0,
// b = 2 ξ, β 1, η 5e-4), then
//  - retention: from each pattern, 200 deterministic steps at β 100 with b = 0; the Pearson r
//    of the last state with the pattern, averaged over the patterns;
//  - reconstruction: a noisy copy x = ξ + N(0, (2 sd ξ)²) (r with ξ ≈ 0.45) as start and bias,
//    20 sampled steps at β 1; r of the mean activity with ξ, averaged over the patterns.
// Published (means over 20 repeats): retention 1.00 (K ≤ 20), 0.998 (50), 0.97 (70), 0.81 (90);
// reconstruction 0.98 (10) … 0.52 (90).
//
//   fep_capacity --seeds 5
//
// Prints the table (mean ± SD over seeds beside the published values) and draws capacity.png.
// Last line: "retention: <r at K = 10 … 90>; reconstruction: <r at K = 10 … 90>".
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/fep.hpp"
#include "common/options.hpp"

namespace ex = nlm::examples;
namespace fep = nlm::examples::fep;

namespace {

struct Options {
  std::string out = "out/fep_capacity";
  std::size_t seeds = 5, neurons = 100, presentations = 10000, steps = 10, retention_steps = 200, reconstruction_steps = 20;
  std::vector<std::size_t> counts = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  std::uint64_t first_seed = 0;
  double evidence = 2, beta = 1, eta = 5e-4, retention_beta = 100, noise = 2;
  int threads = 0;
};

struct Scores {
  double retention = 0, noisy = 0, reconstruction = 0;
};

Scores capacity(std::size_t k, const Options& o, std::uint64_t seed) {
  const std::size_t n = o.neurons;
  nlm::detail::Xoshiro256 rng(nlm::detail::derive_seed(seed, 21));
  nlm::Matrix<double> xi = nlm::Matrix<double>::from_shape({k, n});
  for (auto& v : xi) v = (rng() >> 63) ? 1.0 : -1.0;
  fep::Setting setting{o.evidence, o.beta, o.eta, o.presentations, o.steps};
  setting.reset_state = true;
  const fep::Trained t = fep::train(xi, setting, seed);
  Scores s;
  // Retention: every pattern a chain, the deterministic map at beta 100, b = 0.
  {
    nlm::AttractorNetwork<double> net(t.couplings, nlm::Vector<double>(), o.retention_beta);
    nlm::Chains<double> chains(xi);
    net.run(chains, o.retention_steps, nlm::UpdateMode::deterministic);
    for (std::size_t p = 0; p < k; ++p) s.retention += fep::pearson(fep::row(chains.states(), p), fep::row(xi, p)) / double(k);
  }
  // Reconstruction: each pattern's noisy copy as start and bias, sampled steps at beta 1.
  {
    nlm::AttractorNetwork<double> net(t.couplings, nlm::Vector<double>(), 1.0, nlm::detail::derive_seed(seed, 22));
    nlm::Vector<double> b = nlm::Vector<double>::from_shape({n});
    std::vector<double> z(n), mean(n);
    for (std::size_t p = 0; p < k; ++p) {
      double m = 0, sd = 0;
      for (std::size_t i = 0; i < n; ++i) m += xi(p, i) / double(n);
      for (std::size_t i = 0; i < n; ++i) sd += (xi(p, i) - m) * (xi(p, i) - m) / double(n);
      sd = std::sqrt(sd);
      nlm::detail::fill_normal<double>(rng, std::span<double>(z));
      nlm::Matrix<double> x0 = nlm::Matrix<double>::from_shape({1, n});
      for (std::size_t i = 0; i < n; ++i) b(i) = x0(0, i) = xi(p, i) + o.noise * sd * z[i];
      s.noisy += fep::pearson(fep::row(x0, 0), fep::row(xi, p)) / double(k);
      net.set_field(b);
      nlm::Chains<double> chain(x0);
      std::fill(mean.begin(), mean.end(), 0.0);
      net.run(chain, o.reconstruction_steps, nlm::UpdateMode::sampled, [&](std::size_t, const nlm::Matrix<double>& x) {
        for (std::size_t i = 0; i < n; ++i) mean[i] += x(0, i) / double(o.reconstruction_steps);
      });
      s.reconstruction += fep::pearson(mean, fep::row(xi, p)) / double(k);
    }
  }
  return s;
}

int run(const Options& o) {
  ex::set_blas_threads(o.threads);
  // The reference's table (its notebook's output, means over 20 repeats), K = 10 ... 90.
  const double published_retention[9] = {1.000000, 1.000000, 0.999934, 0.998900, 0.997519, 0.991946, 0.968615, 0.897834, 0.813377};
  const double published_reconstruction[9] = {0.9798, 0.8985, 0.7852, 0.6827, 0.6106, 0.5718, 0.5478, 0.5340, 0.5208};
  std::printf("N %zu, K random +-1 patterns; learning: %zu presentations x %zu sampled steps, each from sigma = 0, b = %g xi, "
              "beta %g, eta %g\nretention: %zu deterministic steps at beta %g from xi, b = 0; reconstruction: x = xi + "
              "N(0, (%g sd xi)^2) as start and bias, %zu sampled steps at beta 1\n\n",
              o.neurons, o.presentations, o.steps, o.evidence, o.beta, o.eta, o.retention_steps, o.retention_beta, o.noise,
              o.reconstruction_steps);
  std::printf("%4s  %-18s %-10s  %-18s %-10s  %s\n", "K", "retention", "published", "reconstruction", "published",
              "r of the noisy input");
  ex::Series ret{"retention"}, rec{"reconstruction"}, pret{"retention, published"}, prec{"reconstruction, published"};
  pret.colour = ret.colour = ex::rgb(0x1f77b4);
  prec.colour = rec.colour = ex::rgb(0xd62728);
  pret.line_width = prec.line_width = 1.0;
  ret.markers = rec.markers = true;
  std::string last_ret, last_rec;
  for (std::size_t k : o.counts) {
    std::vector<double> r, c, noisy;
    for (std::size_t s = 0; s < o.seeds; ++s) {
      const Scores sc = capacity(k, o, nlm::detail::derive_seed(o.first_seed + s, k));
      r.push_back(sc.retention);
      c.push_back(sc.reconstruction);
      noisy.push_back(sc.noisy);
    }
    const bool listed = k % 10 == 0 && k >= 10 && k <= 90 && o.neurons == 100;
    const std::size_t at = k / 10 - 1;
    std::printf("%4zu  %-18s %-10s  %-18s %-10s  %s\n", k, fep::format(fep::spread(r)).c_str(),
                listed ? fep::number(published_retention[at]).c_str() : "-", fep::format(fep::spread(c)).c_str(),
                listed ? fep::number(published_reconstruction[at]).c_str() : "-", fep::format(fep::spread(noisy)).c_str());
    std::fflush(stdout);
    ret.xs.push_back(double(k)), ret.ys.push_back(fep::spread(r).mean);
    rec.xs.push_back(double(k)), rec.ys.push_back(fep::spread(c).mean);
    if (listed) {
      pret.xs.push_back(double(k)), pret.ys.push_back(published_retention[at]);
      prec.xs.push_back(double(k)), prec.ys.push_back(published_reconstruction[at]);
    }
    last_ret += (last_ret.empty() ? "" : " ") + fep::number(fep::spread(r).mean);
    last_rec += (last_rec.empty() ? "" : " ") + fep::number(fep::spread(c).mean);
  }
  const std::filesystem::path out(o.out);
  std::filesystem::create_directories(out);
  std::vector<ex::Series> series = {ret, rec};
  if (!pret.xs.empty()) series.push_back(pret), series.push_back(prec);
  ex::line_plot(out / "capacity.png", series,
                "capacity at N = " + std::to_string(o.neurons) + " (means over " + std::to_string(o.seeds) +
                    " seeds; thin lines: published)",
                "patterns K", "Pearson r with the pattern");
  std::printf("wrote %s\n", (out / "capacity.png").c_str());
  std::printf("retention: %s; reconstruction: %s\n", last_ret.c_str(), last_rec.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"The free-energy attractor network's capacity: random patterns at N = 100 (nlm)"};
  ex::last_option_wins(app);
  Options o;
  app.add_option("--seeds", o.seeds, "seeds (repeats) per K")->capture_default_str()->transform(ex::count(true));
  app.add_option("--first-seed", o.first_seed, "the first seed")->capture_default_str();
  app.add_option("--neurons", o.neurons, "N")->capture_default_str()->transform(ex::count(true));
  app.add_option("--patterns", o.counts, "the pattern counts K")->capture_default_str()->delimiter(',');
  app.add_option("--presentations", o.presentations, "presentations")->capture_default_str()->transform(ex::count(true));
  app.add_option("--steps", o.steps, "sampled steps per presentation")->capture_default_str()->transform(ex::count(true));
  app.add_option("--evidence", o.evidence, "s: b = s xi")->capture_default_str();
  app.add_option("--beta", o.beta, "inverse temperature while learning")->capture_default_str();
  app.add_option("--eta", o.eta, "learning rate")->capture_default_str();
  app.add_option("--retention-beta", o.retention_beta, "inverse temperature of the retention test")->capture_default_str();
  app.add_option("--noise", o.noise, "the reconstruction input's noise SD, in units of sd(xi)")->capture_default_str();
  ex::add_output_option(app, o.out);
  ex::add_threads_option(app, o.threads);
  CLI11_PARSE(app, argc, argv);
  for (std::size_t k : o.counts)
    if (k == 0) throw std::invalid_argument("--patterns: every K must be > 0");
  for (const auto& [name, v] : {std::pair{"--beta", o.beta}, std::pair{"--retention-beta", o.retention_beta}})
    if (!(v > 0 && std::isfinite(v))) throw std::invalid_argument(std::string(name) + " must be finite and > 0");
  return run(o);
} catch (const std::exception& e) {
  std::fprintf(stderr, "fep_capacity: %s\n", e.what());
  return 1;
}
