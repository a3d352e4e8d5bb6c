// fep_digits: the free-energy attractor network's second simulation (Spisak & Friston, sim. 2):
// the ten UCI digits 0-9 (images 0-9, z-scored squares), trained as the reference trains (5 000
// presentations of a randomly drawn digit × 10 sampled steps, b = s ξ, η 0.001), at the three
// published settings and over an s × β grid drawn as the paper's maps. Per run, as the
// reference measures (its data × s first):
//  - attractors: from L(0.1 s ξ) by the deterministic map at b = 0, β 1 (stopped when the free
//    energy stops changing), distinct after rounding to 2 decimals;
//  - orthogonality: mean |90° − angle| between the starts' ends (angles in (1°, 179°)); for the
//    data as the reference computes it (its zero diagonal included: 29.9°) and over pairs;
//  - retrieval and generalization: median over 100 trials of r²(mean activity, o) − r²(test, o),
//    o = 0.1 s ξ, test = o + N(0, sd(o)²), 100 sampled steps at β 1 without learning; the
//    training digits in turn (retrieval) or random held-out images (generalization).
// Published (the reference is unseeded): s 11, β 0.1668: 10 attractors, 17.3°, 0.29, 0.07;
// s 16, β 0.359: 10, 27.6°, 0.27, −0.05; s 6, β 0.0278: 1 attractor, retrieval 0.16, 0.08.
//
//   fep_digits --data data/digits/digits.csv.gz --seeds 5 --grid coarse
//   fep_digits --mnist data/mnist --seeds 5 --grid none     (the larger case: MNIST, N = 784)
//
// Draws maps.png (the four measures over the grid, the published settings outlined) and
// attractors.png (the digits and the attractors of the first seed at each published setting).
// Last line (s 11, β 0.1668, means over seeds): "orthogonality: data <deg>, attractors <deg>;
// attractors <n>; retrieval <dr2>; generalization <dr2>".
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlm/data/idx.hpp>
#include <nlm/data/uci_digits.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/fep.hpp"
#include "common/mnist_common.hpp"
#include "common/options.hpp"

namespace ex = nlm::examples;
namespace fep = nlm::examples::fep;

namespace {

struct Options {
  std::string data = "data/digits/digits.csv.gz", mnist, out = "out/fep_digits", grid = "coarse";
  std::size_t seeds = 5, grid_seeds = 1, presentations = 5000, steps = 10, trials = 100, held_out = 2000;
  std::uint64_t first_seed = 0;
  double eta = std::nan("");  // 0.001, or with --mnist 0.001 x 64 / N
  int threads = 0;
};

struct Measures {
  double attractors = 0, orthogonality = 0, retrieval = 0, generalization = 0;
  std::size_t unsettled = 0;
};

/// One training run and its four measures.
Measures measure(const nlm::Matrix<double>& xi, const nlm::Matrix<double>& held_out, double s, double beta,
                 const Options& o, std::uint64_t seed, nlm::Matrix<double>* ends = nullptr) {
  const fep::Trained t = fep::train(xi, {s, beta, o.eta, o.presentations, o.steps}, seed);
  const nlm::Matrix<double> train_s = s * xi, test_s = s * held_out;
  const nlm::Relaxation<double> a = fep::attractors(t.couplings, fep::reference_starts(train_s));
  if (ends) *ends = a.ends;
  Measures m;
  m.attractors = double(a.attractors.shape(0));
  m.unsettled = a.unsettled();
  m.orthogonality = fep::attractor_orthogonality(a);
  const std::size_t k = xi.shape(0), held = held_out.shape(0);
  m.retrieval = fep::reconstruction(
      t.couplings, train_s, t.state, [&](std::size_t trial, auto&) { return trial % k; },
      nlm::detail::derive_seed(seed, 11), o.trials);
  m.generalization = fep::reconstruction(
      t.couplings, test_s, t.state, [&](std::size_t, auto& rng) { return std::size_t(rng() % held); },
      nlm::detail::derive_seed(seed, 12), o.trials);
  return m;
}

int run(const Options& o) {
  ex::set_blas_threads(o.threads);
  // The training digits (one of each, 0-9) and the held-out images, preprocessed as the
  // reference does (pixels squared, each image z-scored): the UCI digits' images 0-9 and the
  // other 1 787, or with --mnist the first image of each digit in the file and the next
  // --held-out images after the last of them.
  nlm::Matrix<double> xi, held_out;
  std::size_t rows = 8, cols = 8;
  if (o.mnist.empty()) {
    const nlm::data::uci_digits digits = nlm::data::read_uci_digits(o.data);
    if (digits.count < 11)
      throw std::invalid_argument(o.data + ": " + std::to_string(digits.count) +
                                  " images; the simulation trains on the first ten and tests on the others");
    std::vector<std::size_t> train_rows, test_rows;
    for (std::size_t i = 0; i < digits.count; ++i) (i < 10 ? train_rows : test_rows).push_back(i);
    xi = nlm::data::uci_digit_patterns<double>(digits, train_rows);
    held_out = nlm::data::uci_digit_patterns<double>(digits, test_rows);
    std::printf("data: %s, %zu images; training: images 0-9 (digits", o.data.c_str(), digits.count);
    for (std::size_t i = 0; i < 10; ++i) std::printf(" %d", digits.labels[i]);
    std::printf("), z-scored squares; held out: the other %zu\n", test_rows.size());
  } else {
    const auto files = ex::find_mnist(o.mnist);
    if (files.empty()) throw std::invalid_argument(o.mnist + ": no MNIST IDX files (--mnist: an MNIST folder, scripts/get_mnist.sh)");
    const nlm::data::labelled_images d = nlm::data::read_idx_pair(files.front().images, files.front().labels);
    rows = d.images.rows, cols = d.images.cols;
    const std::size_t n = rows * cols;
    std::vector<std::size_t> first(10, d.images.count), test_rows;
    for (std::size_t i = 0; i < d.images.count; ++i)
      if (d.labels[i] < 10 && first[d.labels[i]] == d.images.count) first[d.labels[i]] = i;
    const std::size_t last = *std::max_element(first.begin(), first.end());
    if (last == d.images.count) throw std::invalid_argument(o.mnist + ": not every digit 0-9 occurs");
    for (std::size_t i = last + 1; i < d.images.count && test_rows.size() < o.held_out; ++i) test_rows.push_back(i);
    if (test_rows.empty()) throw std::invalid_argument(o.mnist + ": no images after the training digits to hold out");
    const auto patterns = [&](const std::vector<std::size_t>& which) {
      nlm::Matrix<double> x = nlm::Matrix<double>::from_shape({which.size(), n});
      for (std::size_t r = 0; r < which.size(); ++r) {
        double m = 0, v = 0;
        for (std::size_t i = 0; i < n; ++i) m += std::pow(double(d.images.pixels[which[r] * n + i]), 2) / double(n);
        for (std::size_t i = 0; i < n; ++i) v += std::pow(std::pow(double(d.images.pixels[which[r] * n + i]), 2) - m, 2) / double(n);
        for (std::size_t i = 0; i < n; ++i)
          x(r, i) = v > 0 ? (std::pow(double(d.images.pixels[which[r] * n + i]), 2) - m) / std::sqrt(v) : 0.0;
      }
      return x;
    };
    xi = patterns(first);
    held_out = patterns(test_rows);
    std::printf("data: %s (MNIST, %zux%zu), the larger case: training: the first image of each digit 0-9 (images", o.mnist.c_str(), rows, cols);
    for (std::size_t i : first) std::printf(" %zu", i);
    std::printf("), z-scored squares; held out: the next %zu\n", test_rows.size());
  }
  const std::size_t pixels = rows * cols;
  // The rule changes each unit's input by about eta |sigma|^2 per step, N times more at N units
  // than at 64: the larger case keeps the small case's rate of change (eta 0.001 x 64 / N).
  Options run_options = o;
  if (std::isnan(o.eta)) run_options.eta = 1e-3 * 64.0 / double(pixels);
  const Options& p_o = run_options;
  nlm::OrthogonalityOptions with_diagonal;
  with_diagonal.with_diagonal = true;
  const double data_reference = nlm::orthogonality(xi, with_diagonal).mean_deviation,
               data_pairs = nlm::orthogonality(xi).mean_deviation;
  std::printf("data orthogonality: %.2f deg as the reference computes it (its zero diagonal counted), %.2f over pairs%s\n",
              data_reference, data_pairs, o.mnist.empty() ? " (published 29.9)" : "");
  std::printf("learning: %zu presentations x %zu sampled steps, a digit drawn at random each, b = s xi, eta %g%s\n\n",
              o.presentations, o.steps, p_o.eta, std::isnan(o.eta) && pixels != 64 ? " (0.001 x 64 / N)" : "");

  struct Published {
    double s, beta, attractors, orthogonality, retrieval, generalization;
  };
  const Published published[3] = {{11, 0.1668, 10, 17.3, 0.29, 0.07},
                                  {16, 0.359, 10, 27.6, 0.27, -0.05},
                                  {6, 0.0278, 1, std::nan(""), 0.16, 0.08}};
  std::vector<ex::Snapshot> strip;
  const auto picture = [&](const nlm::Matrix<double>& x, const std::string& label, bool z) {
    ex::Snapshot snap{0, {}, pixels, label, ex::TileShape::image(rows, cols)};
    for (double v : x) snap.images.push_back(float(std::clamp(z ? 0.5 + v / 6.0 : 0.5 + 0.5 * v, 0.0, 1.0)));
    strip.push_back(snap);
  };
  picture(xi, "digits (z)", true);
  std::printf("%-18s %-18s %-20s %-18s %-18s\n", "setting", "attractors", "orthogonality (deg)", "retrieval",
              "generalization");
  fep::Spread headline[4];
  for (std::size_t p = 0; p < 3; ++p) {
    std::vector<double> v[4];
    std::size_t unsettled = 0;
    for (std::size_t s = 0; s < o.seeds; ++s) {
      nlm::Matrix<double> ends;
      const Measures m = measure(xi, held_out, published[p].s, published[p].beta, p_o, o.first_seed + s, s == 0 ? &ends : nullptr);
      v[0].push_back(m.attractors);
      v[1].push_back(m.orthogonality);
      v[2].push_back(m.retrieval);
      v[3].push_back(m.generalization);
      unsettled += m.unsettled;
      if (s == 0) picture(ends, "s " + fep::number(published[p].s, "%g") + ", beta " + fep::number(published[p].beta, "%g"), false);
    }
    char name[40];
    std::snprintf(name, sizeof name, "s %g, beta %g", published[p].s, published[p].beta);
    std::printf("%-18s %-18s %-20s %-18s %-18s\n", name, fep::format(fep::spread(v[0]), "%.1f").c_str(),
                fep::format(fep::spread(v[1]), "%.1f").c_str(), fep::format(fep::spread(v[2])).c_str(),
                fep::format(fep::spread(v[3])).c_str());
    std::printf("%-18s %-18s %-20s %-18s %-18s%s\n", pixels == 64 ? "  published" : "  published (N 64)", fep::number(published[p].attractors, "%.0f").c_str(),
                std::isnan(published[p].orthogonality) ? "-" : fep::number(published[p].orthogonality, "%.1f").c_str(),
                fep::number(published[p].retrieval, "%.2f").c_str(), fep::number(published[p].generalization, "%.2f").c_str(),
                unsettled ? ("  (" + std::to_string(unsettled) + " starts did not settle)").c_str() : "");
    if (p == 0)
      for (std::size_t q = 0; q < 4; ++q) headline[q] = fep::spread(v[q]);
  }
  const std::filesystem::path out(o.out);
  std::filesystem::create_directories(out);
  ex::write_snapshot_strip(out / "attractors.png", strip, 10, rows > 8 ? 2 : 6,
                           "the digits; the first seed's attractors at each published setting");

  if (o.grid != "none") {
    // The reference's grid: s = 1 ... 20, beta log-spaced 0.01 ... 1 (19 values); coarse: s 1, 6,
    // 11, 16, 20 and every other beta.
    std::vector<double> ss, bs;
    for (int i = 0; i < 19; ++i)
      if (o.grid == "full" || i % 2 == 0 || i == 11 || i == 14) bs.push_back(std::pow(10.0, -2.0 + 2.0 * i / 18.0));
    if (o.grid == "full")
      for (int s = 1; s <= 20; ++s) ss.push_back(s);
    else
      ss = {1, 6, 11, 16, 20};
    std::vector<ex::GridMap> maps = {{{}, bs.size(), ss.size(), "retrieval (delta r2)", -0.35, 0.35, false},
                                     {{}, bs.size(), ss.size(), "generalization (delta r2)", -0.1, 0.1, false},
                                     {{}, bs.size(), ss.size(), "orthogonality of attractors (deg)", 0, 60, true},
                                     {{}, bs.size(), ss.size(), "attractors", 0, 10, false}};
    std::printf("\ngrid: %zu s x %zu beta, %zu seed(s) each\n", ss.size(), bs.size(), o.grid_seeds);
    std::vector<std::pair<std::size_t, std::size_t>> marked;
    for (std::size_t b = 0; b < bs.size(); ++b) {
      for (std::size_t c = 0; c < ss.size(); ++c) {
        std::vector<double> v[4];
        for (std::size_t s = 0; s < o.grid_seeds; ++s) {
          const Measures m = measure(xi, held_out, ss[c], bs[b], p_o, o.first_seed + 1000 + s);
          v[0].push_back(m.retrieval);
          v[1].push_back(m.generalization);
          v[2].push_back(m.orthogonality);
          v[3].push_back(m.attractors);
        }
        for (std::size_t q = 0; q < 4; ++q) maps[q].values.push_back(fep::spread(v[q]).mean);
        for (const auto& p : published)
          if (p.s == ss[c] && std::fabs(bs[b] / p.beta - 1) < 0.01) marked.push_back({b, c});
      }
      std::printf("  beta %.4g: retrieval", bs[b]);
      for (std::size_t c = 0; c < ss.size(); ++c) std::printf(" %6.3f", maps[0].values[b * ss.size() + c]);
      std::printf("; attractors");
      for (std::size_t c = 0; c < ss.size(); ++c) std::printf(" %2.0f", maps[3].values[b * ss.size() + c]);
      std::printf("\n");
      std::fflush(stdout);
    }
    std::vector<std::string> cols, rows;
    for (double s : ss) cols.push_back(fep::number(s, "%g"));
    for (double b : bs) rows.push_back(fep::number(b, "%.3g"));
    ex::write_grid_maps(out / "maps.png", maps, cols, rows, "evidence level s", "beta", marked,
                        "the digits over s x beta (the published settings outlined)", o.grid == "full" ? 16 : 28);
    std::printf("wrote %s\n", (out / "maps.png").c_str());
  }
  std::printf("wrote %s\n", (out / "attractors.png").c_str());
  std::printf("\nat s 11, beta 0.1668 over %zu seeds: attractors %s, orthogonality %s deg, retrieval %s, generalization %s\n",
              o.seeds, fep::format(headline[0], "%.1f").c_str(), fep::format(headline[1], "%.1f").c_str(),
              fep::format(headline[2]).c_str(), fep::format(headline[3]).c_str());
  std::printf("orthogonality: data %.1f deg, attractors %.1f deg; attractors %.1f; retrieval %.3f; generalization %.3f\n",
              data_reference, headline[1].mean, headline[0].mean, headline[2].mean, headline[3].mean);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"The free-energy attractor network learns the ten digits (Spisak & Friston, sim. 2) (nlm)"};
  ex::last_option_wins(app);
  Options o;
  app.add_option("--data", o.data, "the UCI digits (scripts/get_digits.sh)")->capture_default_str();
  app.add_option("--mnist", o.mnist, "instead of the UCI digits: an MNIST folder (the larger case, N = 784)");
  app.add_option("--held-out", o.held_out, "held-out MNIST images (with --mnist)")->capture_default_str()->transform(ex::count(true));
  app.add_option("--seeds", o.seeds, "seeds (runs) per published setting")->capture_default_str()->transform(ex::count(true));
  app.add_option("--first-seed", o.first_seed, "the first seed")->capture_default_str();
  app.add_option("--presentations", o.presentations, "presentations")->capture_default_str()->transform(ex::count(true));
  app.add_option("--steps", o.steps, "sampled steps per presentation")->capture_default_str()->transform(ex::count(true));
  app.add_option("--eta", o.eta, "learning rate (default 0.001; with --mnist 0.001 x 64 / N)");
  app.add_option("--trials", o.trials, "trials of the retrieval and generalization scores")
      ->capture_default_str()
      ->transform(ex::count(true));
  app.add_option("--grid", o.grid, "the s x beta grid: coarse (5 x 11), full (20 x 19, the paper's) or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"coarse", "full", "none"}));
  app.add_option("--grid-seeds", o.grid_seeds, "seeds per grid cell")->capture_default_str()->transform(ex::count(true));
  ex::add_output_option(app, o.out);
  ex::add_threads_option(app, o.threads);
  CLI11_PARSE(app, argc, argv);
  if (!std::isnan(o.eta) && !(o.eta > 0 && std::isfinite(o.eta))) throw std::invalid_argument("--eta must be finite and > 0");
  return run(o);
} catch (const std::exception& e) {
  std::fprintf(stderr, "fep_digits: %s\n", e.what());
  return 1;
}
