// The census of a trained model's fixed points: what its network stores.
//
//   mnist_attractors --couplings out/quick/J.npy --field out/quick/field.npy
//   mnist_attractors --couplings J_cupy1.npy     # the paper authors' trained J (from their code release)
//
// From --starts states drawn from N(0, s²) and --data-starts real digits (held out of the
// model's training when its layout says so), each start descends on E (the NLM at T = 0) and
// is polished by Newton's method on the plain drift f = −x + Jφ(x) + b. Every distinct fixed
// point (f = 0) is a zero-energy minimum of E, an attractor of the NLM's gradient dynamics; the
// eigenvalues of A = −I + J diag φ'(x*) say whether the plain recurrent network finds it stable
// too. Minima with E > 0 (slow points) are listed apart; starts that reached neither are
// counted. Writes attractors.png (the fixed and slow points labelled by the evaluation
// classifier), soft_modes.png (the softest directions of E at the main minimum: where exp(−E/T)
// spreads), couplings.png (J, J_sym, J_anti) and census/ (points, spectra, census.csv).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/dynamics.hpp"
#include "common/generation.hpp"
#include "common/mnist_common.hpp"
#include "common/model_files.hpp"

namespace ex = nlm::examples;

namespace {

struct Options : ex::ModelFiles {
  std::string layout, digits = "1,3,6", out = "out/attractors";
  ex::DataSource data;
  std::size_t starts = 200, data_starts = 100, held_out = 100;
  double start_scale = 1.0;
  std::uint64_t seed = 13;
  nlm::FixedPointOptions census;
  int threads = 0;
};

int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  ex::set_blas_threads(o.threads);
  const std::size_t n = ex::couplings_neurons(o);
  const nlm::UnitLayout layout = ex::model_layout(o, n, o.layout);
  const std::string digits = ex::model_digits(layout, o.digits);
  o.data.check();
  ex::LoadedModel model = ex::load_model(o);
  std::printf("model: %s\n", model.description.c_str());
  nlm::Matrix<float> j = std::move(model.couplings);
  const nlm::RecurrentNetwork<> net(j, model.field, 0.0);

  // The digits: the evaluation classifier's training set and the data starts (held out).
  const auto all = ex::load_digits(o.data, digits, 0);
  if (all.x.shape(1) != layout.visible)
    throw std::invalid_argument(o.data.path + ": images of " + std::to_string(all.x.shape(1)) + " pixels, the model has " +
                                std::to_string(layout.visible) + " visible units");
  const auto split = ex::hold_out(all, o.held_out, o.data.path);
  const auto classifier = ex::evaluation_classifier(nlm::Matrix<float>(split.train.x), split.train.labels);

  const std::size_t from_data = std::min(o.data_starts, split.held.count());
  nlm::Matrix<float> starts = nlm::Matrix<float>::from_shape({o.starts + from_data, n});
  {
    nlm::detail::Xoshiro256 e(o.seed);
    nlm::detail::fill_normal<float>(e, std::span<float>(starts.data(), o.starts * n));
    for (std::size_t i = 0; i < o.starts * n; ++i) starts.data()[i] *= float(o.start_scale);
    for (std::size_t r = 0; r < from_data; ++r)
      for (std::size_t c = 0; c < n; ++c)
        starts(o.starts + r, c) = c < layout.visible ? split.held.x(r, c) : 0.0f;  // label/latent units from 0
  }
  const double asym = nlm::asymmetry(j);
  std::printf("couplings %s: N = %zu, ||J||_F = %.4g, asymmetry ||J - J^T|| / ||J|| = %.4f (0 symmetric, 2 antisymmetric)\n",
              o.source().c_str(), n, std::sqrt(double(xt::sum(j * j)())), asym);
  std::printf("census from %zu starts: %zu from N(0, %g^2), %zu held-out digits %s\n", starts.shape(0), o.starts,
              o.start_scale, from_data, digits.c_str());
  nlm::FixedPointOptions copt = o.census;
  copt.progress = [](std::size_t step, std::size_t left) {
    if (step % 1000 == 0) std::fprintf(stderr, "  descent step %zu: %zu starts still descending\n", step, left);
  };
  copt.polish_progress = [](std::size_t done, std::size_t all) {
    if (done % 50 == 0 || done == all) std::fprintf(stderr, "  polished %zu of %zu starts\n", done, all);
  };
  const auto census = nlm::find_fixed_points(net, starts, copt);
  const auto names = ex::report_census(census, classifier, layout.visible, out / "census", out / "attractors.png",
                                       "fixed points of " + ex::fs::path(o.source()).filename().string() +
                                           " (class by the evaluation classifier; basin = share of starts)");
  ex::write_coupling_heatmaps(out / "couplings.png", j,
                              "couplings, asymmetry " + std::to_string(asym).substr(0, 6));
  // Where the two kinds of start went.
  auto tally = [&](std::size_t r0, std::size_t r1) {
    std::size_t fixed = 0, slow = 0;
    for (std::size_t r = r0; r < r1; ++r) {
      const long v = census.outcome[r];
      fixed += v >= 0;
      slow += v < 0 && v != nlm::FixedPointCensus::not_converged_mark;
    }
    return std::pair{fixed, slow};
  };
  const auto [nf, ns] = tally(0, o.starts);
  const auto [df, ds] = tally(o.starts, starts.shape(0));
  std::printf("noise starts: %zu at fixed points, %zu at slow points; digit starts: %zu at fixed points, %zu at slow points\n",
              nf, ns, df, ds);
  // The soft directions of E at the main minimum: fixed point #0, else slow point #0 (where
  // AᵀA is the Gauss–Newton part of the Hessian only).
  const bool fixed = !census.fixed_points.empty();
  if (fixed || !census.slow_points.empty()) {
    const std::string where = fixed ? "fixed point #0" : "slow point #0";
    const auto lambda = ex::write_soft_modes(out / "soft_modes.png", net,
                                             fixed ? census.fixed_points[0].state : census.slow_points[0].state, 16,
                                             layout.visible, 1.0, "softest directions of E at " + where + " (eigenvectors of A^T A)");
    std::printf("softest eigenvalues of A^T A at %s (SD at T = 1 in the quadratic approximation):", where.c_str());
    for (std::size_t m = 0; m < std::min<std::size_t>(lambda.size(), 6); ++m)
      std::printf(" %.3g (%.2g)", lambda[m], std::sqrt(1.0 / std::max(lambda[m], 0.0)));
    std::printf("\n");
  }
  std::size_t classed = 0;
  for (const auto& s : names) classed += s != "?";
  std::printf("fixed points: %zu (%zu stable under the plain dynamics, %zu recognised as digits), slow points: %zu\n",
              census.fixed_points.size(), census.stable_count(), classed, census.slow_points.size());
  std::printf("wrote %s, %s, %s, %s/\n", (out / "attractors.png").c_str(), (out / "soft_modes.png").c_str(),
              (out / "couplings.png").c_str(), (out / "census").c_str());
  std::printf("attractors: %zu\n", census.fixed_points.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Census of a trained model's fixed points and slow points (nlm)"};
  nlm::examples::last_option_wins(app);
  Options o;
  o.add_model_options(app);
  ex::add_layout_option(app, o.layout);
  o.data.add_to(app);
  ex::add_digits_option(app, o.digits, "digits of the model (default: its label units', else these)");
  ex::add_held_out_option(app, o.held_out, "held-out digits per class (the data starts come from them)");
  app.add_option("--starts", o.starts, "starts from noise")->capture_default_str()->transform(ex::count());
  app.add_option("--start-scale", o.start_scale, "SD of the noise starts")->capture_default_str();
  app.add_option("--data-starts", o.data_starts, "starts from held-out digits")->capture_default_str()->transform(ex::count());
  app.add_option("--descent-steps", o.census.descent_steps, "descent steps at most per start")->capture_default_str()
      ->transform(ex::count(true));
  app.add_option("--distance", o.census.distance, "points closer than this (RMS) are one")->capture_default_str();
  ex::add_seed_option(app, o.seed, "seed of the noise starts");
  ex::add_output_option(app, o.out);
  ex::add_threads_option(app, o.threads);
  CLI11_PARSE(app, argc, argv);
  if (o.starts == 0 && o.data_starts == 0) throw std::invalid_argument("--starts and --data-starts are both 0: no starts");
  return run(o);
} catch (const std::exception& e) {
  std::cerr << "mnist_attractors: " << e.what() << "\n";
  return 1;
}
