// fep_free_run: the free-energy attractor network's fourth simulation (Spisak & Friston, sim. 4):
// after learning the ten digits (sim. 2's training at s 11, β 0.1668), the network runs free —
// b = 0, β 1, sampled steps — with learning on (η 0.001) for 50 000 steps. The couplings change
// little: the published correlation of J before and after (its upper triangle) is 0.97, no
// catastrophic forgetting. Beside it, the attractors (from L(0.1 s ξ), as fep_digits finds them)
// and the retrieval score before and after.
//
//   fep_free_run --data data/digits/digits.csv.gz --seeds 5
//
// Draws couplings.png (J before, J after, their difference, the first seed). Last line:
// "J correlation before/after: <r>" (the mean over seeds).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlm/data/uci_digits.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/fep.hpp"
#include "common/options.hpp"

namespace ex = nlm::examples;
namespace fep = nlm::examples::fep;

namespace {

struct Options {
  std::string data = "data/digits/digits.csv.gz", out = "out/fep_free_run";
  std::size_t seeds = 5, presentations = 5000, steps = 10, free_steps = 50000, trials = 100;
  std::uint64_t first_seed = 0;
  double evidence = 11, beta = 0.1668, eta = 1e-3, free_beta = 1;
  int threads = 0;
};

/// Pearson's r over the entries above the diagonal.
double upper_correlation(const nlm::Matrix<double>& a, const nlm::Matrix<double>& b) {
  std::vector<double> x, y;
  for (std::size_t i = 0; i < a.shape(0); ++i)
    for (std::size_t j = i + 1; j < a.shape(1); ++j) x.push_back(a(i, j)), y.push_back(b(i, j));
  return fep::pearson(x, y);
}

int run(const Options& o) {
  ex::set_blas_threads(o.threads);
  const nlm::data::uci_digits digits = nlm::data::read_uci_digits(o.data);
  if (digits.count < 10)
    throw std::invalid_argument(o.data + ": " + std::to_string(digits.count) + " images; the simulation trains on the first ten");
  std::vector<std::size_t> rows = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const nlm::Matrix<double> xi = nlm::data::uci_digit_patterns<double>(digits, rows), train_s = o.evidence * xi;
  std::printf("data: %s, images 0-9, z-scored squares\n", o.data.c_str());
  std::printf("learning: %zu presentations x %zu sampled steps, b = %g xi, beta %g, eta %g; then %zu free steps: b = 0, "
              "beta %g, eta %g\n\n",
              o.presentations, o.steps, o.evidence, o.beta, o.eta, o.free_steps, o.free_beta, o.eta);
  std::vector<double> rs, before_n, after_n, before_r, after_r;
  for (std::size_t s = 0; s < o.seeds; ++s) {
    const std::uint64_t seed = o.first_seed + s;
    nlm::AttractorLearner<double> learner =
        fep::trained_learner(xi, {o.evidence, o.beta, o.eta, o.presentations, o.steps}, seed);
    const nlm::Matrix<double> before = learner.couplings();
    const auto retrieval = [&](const nlm::Matrix<double>& j) {
      return fep::reconstruction(j, train_s, learner.states(), [&](std::size_t t, auto&) { return t % 10; },
                                 nlm::detail::derive_seed(seed, 11), o.trials);
    };
    before_n.push_back(double(fep::attractors(before, fep::reference_starts(train_s)).attractors.shape(0)));
    before_r.push_back(retrieval(before));
    nlm::Vector<double> zero = nlm::Vector<double>::from_shape({xi.shape(1)});
    zero.fill(0.0);
    learner.set_field(zero);
    learner.model().set_beta(o.free_beta);
    for (std::size_t t = 0; t < o.free_steps; ++t) (void)learner.update();
    const nlm::Matrix<double> after = learner.couplings();
    rs.push_back(upper_correlation(before, after));
    after_n.push_back(double(fep::attractors(after, fep::reference_starts(train_s)).attractors.shape(0)));
    after_r.push_back(retrieval(after));
    std::printf("seed %llu: J correlation %.4f; attractors %.0f -> %.0f; retrieval %.3f -> %.3f\n",
                (unsigned long long)seed, rs.back(), before_n.back(), after_n.back(), before_r.back(), after_r.back());
    if (s == 0) {
      const std::filesystem::path out(o.out);
      std::filesystem::create_directories(out);
      std::vector<double> mags;
      for (double v : before) mags.push_back(std::fabs(v));
      std::sort(mags.begin(), mags.end());
      const double limit = std::max(mags[mags.size() * 995 / 1000], 1e-12);
      const std::size_t n = xi.shape(1);
      ex::write_heatmaps(out / "couplings.png",
                         {{std::vector<double>(before.begin(), before.end()), n, "J before"},
                          {std::vector<double>(after.begin(), after.end()), n, "J after the free run"},
                          {[&] {
                             std::vector<double> d(n * n);
                             for (std::size_t i = 0; i < n * n; ++i) d[i] = after.data()[i] - before.data()[i];
                             return d;
                           }(),
                           n, "after - before"}},
                         limit, "seed " + std::to_string(seed) + ": J before and after " + std::to_string(o.free_steps) + " free steps");
    }
  }
  std::printf("\nover %zu seeds: J correlation %s (published 0.97); attractors %s -> %s; retrieval %s -> %s\n", o.seeds,
              fep::format(fep::spread(rs)).c_str(), fep::format(fep::spread(before_n), "%.1f").c_str(),
              fep::format(fep::spread(after_n), "%.1f").c_str(), fep::format(fep::spread(before_r)).c_str(),
              fep::format(fep::spread(after_r)).c_str());
  std::printf("wrote %s\n", (std::filesystem::path(o.out) / "couplings.png").c_str());
  std::printf("J correlation before/after: %.3f\n", fep::spread(rs).mean);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"The free-energy attractor network runs free after learning the digits (Spisak & Friston, sim. 4) (nlm)"};
  ex::last_option_wins(app);
  Options o;
  app.add_option("--data", o.data, "the UCI digits (scripts/get_digits.sh)")->capture_default_str();
  app.add_option("--seeds", o.seeds, "seeds (runs)")->capture_default_str()->transform(ex::count(true));
  app.add_option("--first-seed", o.first_seed, "the first seed")->capture_default_str();
  app.add_option("--presentations", o.presentations, "presentations")->capture_default_str()->transform(ex::count(true));
  app.add_option("--steps", o.steps, "sampled steps per presentation")->capture_default_str()->transform(ex::count(true));
  app.add_option("--free-steps", o.free_steps, "free-running steps")->capture_default_str()->transform(ex::count(true));
  app.add_option("--evidence", o.evidence, "s while learning: b = s xi")->capture_default_str();
  app.add_option("--beta", o.beta, "inverse temperature while learning")->capture_default_str();
  app.add_option("--free-beta", o.free_beta, "inverse temperature of the free run")->capture_default_str();
  app.add_option("--eta", o.eta, "learning rate")->capture_default_str();
  app.add_option("--trials", o.trials, "trials of the retrieval score")->capture_default_str()->transform(ex::count(true));
  ex::add_output_option(app, o.out);
  ex::add_threads_option(app, o.threads);
  CLI11_PARSE(app, argc, argv);
  for (const auto& [name, v] : {std::pair{"--beta", o.beta}, std::pair{"--free-beta", o.free_beta}})
    if (!(v > 0 && std::isfinite(v))) throw std::invalid_argument(std::string(name) + " must be finite and > 0");
  return run(o);
} catch (const std::exception& e) {
  std::fprintf(stderr, "fep_free_run: %s\n", e.what());
  return 1;
}
