// Pattern completion: held-out digits with a region hidden, the visible pixels clamped, the
// hidden ones (and any label or latent units) sampled from p(hidden | visible) by the
// model's Langevin dynamics.
//
//   mnist_complete --couplings out/quick/J.npy --field out/quick/field.npy --mask bottom
//   mnist_complete --couplings J.npy --mask random:0.5 --quench 500
//
// The completions are compared, on the hidden pixels, with three baselines computed here from
// the model's training digits: the training mean, the nearest training image on the visible
// pixels, and the conditional mean of a Gaussian fitted to the training digits. The classifier
// (softmax regression trained on the same training digits) says whether each completed image is
// still its digit. Pixels are compared as the pictures show them: tanh(x) for the chains, the
// data values 2p/255 − 1 for the rest, all in [−1, 1].
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include <nlm/analysis/classifier.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"
#include "common/model_files.hpp"

namespace ex = nlm::examples;
using Mask = xt::xtensor<std::uint8_t, 2>;

namespace {

struct Options : ex::ClampedRunOptions {
  std::string digits = "1,3,6", mask = "bottom";
  std::size_t images = 100, completions = 4, quench = 0, shown = 10;
};

/// 1 where a pixel is observed (clamped), 0 where hidden: one row for a fixed region, one row
/// per image for `random:F`. A mask that hides every pixel or none of them is refused.
Mask observed_pixels(const std::string& spec, std::size_t side, std::size_t images, std::uint64_t seed) {
  const std::size_t n = side * side, h = side / 2, q = side / 4;
  Mask m;
  if (spec == "bottom" || spec == "right" || spec == "centre" || spec == "center") {
    m = xt::ones<std::uint8_t>({std::size_t(1), n});
    for (std::size_t r = 0; r < side; ++r)
      for (std::size_t c = 0; c < side; ++c) {
        const bool hidden = spec == "bottom" ? r >= h
                            : spec == "right" ? c >= h
                                              : (r >= q && r < side - q && c >= q && c < side - q);
        if (hidden) m(0, r * side + c) = 0;
      }
  } else if (spec.rfind("random:", 0) == 0) {
    const std::string f_text = spec.substr(7);
    std::size_t used = 0;
    double f = std::numeric_limits<double>::quiet_NaN();
    try {
      f = std::stod(f_text, &used);
    } catch (const std::exception&) {
    }
    if (used == 0 || used != f_text.size() || !(f > 0 && f < 1))
      throw std::invalid_argument("--mask random:F: F is the fraction of pixels hidden, a number in (0, 1); got '" +
                                  f_text + "'" + (f == 0 || f == 1 ? " (a mask must hide some pixels and keep some)" : ""));
    m = Mask::from_shape({images, n});
    nlm::detail::Xoshiro256 engine(nlm::detail::derive_seed(seed, 7));
    for (auto& v : m) v = nlm::detail::uniform_open0<double>(engine()) <= f ? 0 : 1;
  } else {
    throw std::invalid_argument("--mask: unknown mask '" + spec + "' (use bottom, right, centre or random:F)");
  }
  for (std::size_t r = 0; r < m.shape(0); ++r) {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < n; ++i) seen += m(r, i);
    if (seen == 0) throw std::invalid_argument("--mask " + spec + " hides every pixel of image " + std::to_string(r));
    if (seen == n) throw std::invalid_argument("--mask " + spec + " hides no pixel of image " + std::to_string(r));
  }
  return m;
}

const std::uint8_t* mask_row(const Mask& m, std::size_t i) { return m.data() + (m.shape(0) == 1 ? 0 : i) * m.shape(1); }

/// Mean squared error over the hidden pixels of all images (`guess` rows: one per image).
double hidden_mse(const nlm::Matrix<float>& guess, const nlm::Matrix<float>& truth, const Mask& observed) {
  double sum = 0;
  std::size_t count = 0;
  const std::size_t n = truth.shape(1);
  for (std::size_t i = 0; i < truth.shape(0); ++i) {
    const std::uint8_t* m = mask_row(observed, i);
    for (std::size_t p = 0; p < n; ++p)
      if (!m[p]) {
        const double d = double(guess(i, p)) - double(truth(i, p));
        sum += d * d;
        ++count;
      }
  }
  return sum / double(count);
}

/// The images with their hidden pixels replaced by `fill(i, p)`.
template <class Fill>
nlm::Matrix<float> filled(const nlm::Matrix<float>& images, const Mask& observed, Fill&& fill) {
  nlm::Matrix<float> out = images;
  for (std::size_t i = 0; i < images.shape(0); ++i) {
    const std::uint8_t* m = mask_row(observed, i);
    for (std::size_t p = 0; p < images.shape(1); ++p)
      if (!m[p]) out(i, p) = fill(i, p);
  }
  return out;
}

/// The conditional mean of the hidden pixels under N(μ, Σ + εI) fitted to `train`, with
/// ε = 10⁻² × the mean pixel variance (the digits' border pixels never vary, so Σ alone is
/// singular): μ_h + Σ_hv (Σ_vv + εI)⁻¹ (v − μ_v).
nlm::Matrix<float> gaussian_completion(const nlm::Matrix<float>& train, const nlm::Matrix<float>& images,
                                       const Mask& observed) {
  const std::size_t n = train.shape(1), t = train.shape(0);
  const xt::xtensor<double, 2> x = xt::cast<double>(train);
  const xt::xtensor<double, 1> mu = xt::mean(x, {0});
  const xt::xtensor<double, 2> centred = x - mu;
  const xt::xtensor<double, 2> cov = xt::linalg::dot(xt::transpose(centred), centred) / double(t - 1);
  double ridge = 0;
  for (std::size_t p = 0; p < n; ++p) ridge += cov(p, p);
  ridge = 1e-2 * ridge / double(n);
  nlm::Matrix<float> out = images;
  const std::size_t groups = observed.shape(0);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint8_t* m = observed.data() + g * n;
    std::vector<std::size_t> vis, hid;
    for (std::size_t p = 0; p < n; ++p) (m[p] ? vis : hid).push_back(p);
    // The images that use this mask: all of them for a fixed region, image g for random masks.
    const std::size_t first = groups == 1 ? 0 : g, count = groups == 1 ? images.shape(0) : 1;
    xt::xtensor<double, 2> a = xt::empty<double>({vis.size(), vis.size()});
    for (std::size_t i = 0; i < vis.size(); ++i)
      for (std::size_t j = 0; j < vis.size(); ++j) a(i, j) = cov(vis[i], vis[j]) + (i == j ? ridge : 0.0);
    xt::xtensor<double, 2> rhs = xt::empty<double>({vis.size(), count});
    for (std::size_t i = 0; i < vis.size(); ++i)
      for (std::size_t k = 0; k < count; ++k) rhs(i, k) = double(images(first + k, vis[i])) - mu(vis[i]);
    const xt::xtensor<double, 2> w = xt::linalg::solve(a, rhs);
    for (std::size_t k = 0; k < count; ++k)
      for (const std::size_t h : hid) {
        double s = mu(h);
        for (std::size_t i = 0; i < vis.size(); ++i) s += cov(h, vis[i]) * w(i, k);
        out(first + k, h) = float(std::clamp(s, -1.0, 1.0));
      }
  }
  return out;
}

/// For each image, the hidden pixels of the training image nearest on its visible pixels.
nlm::Matrix<float> nearest_completion(const nlm::Matrix<float>& train, const nlm::Matrix<float>& images,
                                      const Mask& observed) {
  const std::size_t n = train.shape(1);
  std::vector<std::size_t> best(images.shape(0));
  for (std::size_t i = 0; i < images.shape(0); ++i) {
    const std::uint8_t* m = mask_row(observed, i);
    double best_d = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < train.shape(0); ++r) {
      double d = 0;
      for (std::size_t p = 0; p < n; ++p)
        if (m[p]) {
          const double e = double(train(r, p)) - double(images(i, p));
          d += e * e;
        }
      if (d < best_d) best_d = d, best[i] = r;
    }
  }
  return filled(images, observed, [&](std::size_t i, std::size_t p) { return train(best[i], p); });
}

int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  const std::size_t neurons = ex::couplings_neurons(o.gen);
  const nlm::UnitLayout layout = ex::model_layout(o.gen, neurons, o.layout);
  const std::size_t v = layout.visible;
  const auto side = std::size_t(std::lround(std::sqrt(double(v))));
  if (side * side != v) throw std::invalid_argument("the model's " + std::to_string(v) + " visible units are not a square image");
  const std::string digits = ex::model_digits(layout, o.digits);
  const auto all = ex::load_digits(o.data, digits, 0);
  if (all.x.shape(1) != v)
    throw std::invalid_argument(o.data.path + ": images of " + std::to_string(all.x.shape(1)) + " pixels, the model has " +
                                std::to_string(v) + " visible units");
  const auto split = ex::split_for_model(all, layout, o.held_out, o.data.path);
  const std::size_t b = std::min(o.images, split.held.count());
  const nlm::Matrix<float> truth = xt::view(split.held.x, xt::range(0, b), xt::all());
  const std::vector<std::uint8_t> truth_labels(split.held.labels.begin(), split.held.labels.begin() + std::ptrdiff_t(b));
  const Mask observed = observed_pixels(o.mask, side, b, o.gen.seed);
  std::size_t hidden = 0;
  for (const auto m : observed) hidden += !m;
  std::printf("completing %zu held-out digits %s (mask %s: %.1f%% of the pixels hidden), %zu chains each, "
              "%zu steps at T=%g dt=%g%s; baselines from %zu training digits\n",
              b, digits.c_str(), o.mask.c_str(), 100.0 * double(hidden) / double(observed.size()), o.completions,
              o.gen.steps, o.gen.temperature, o.gen.dt,
              o.quench ? (", then " + std::to_string(o.quench) + " steps at T=0").c_str() : "", split.train.count());
  std::printf("model: %zu neurons (%zu image, %zu label, %zu latent)\n", neurons, v, layout.labels(), layout.latent);

  // The chains: image i's completion c is row i·C + c, its visible pixels clamped.
  const std::size_t c_per = o.completions, rows = b * c_per;
  nlm::Matrix<float> images_rep = nlm::Matrix<float>::from_shape({rows, v});
  Mask observed_rep = Mask::from_shape({rows, v});
  for (std::size_t r = 0; r < rows; ++r) {
    std::copy_n(truth.data() + (r / c_per) * v, v, images_rep.data() + r * v);
    std::copy_n(mask_row(observed, r / c_per), v, observed_rep.data() + r * v);
  }
  auto generator = ex::make_generator<nlm::EulerMaruyama>(o.gen);
  nlm::Chains<float> chains(generator.random_states(rows));
  const auto clamp = layout.image_clamp(images_rep, observed_rep);
  chains.clamp(clamp.mask, clamp.values);

  // Time average of tanh(x) over the second half of the run: the posterior mean's estimate.
  nlm::Matrix<double> average = xt::zeros<double>({rows, v});
  std::size_t averaged = 0, shown = 0;
  const std::size_t from = o.gen.steps / 2;
  const auto observer = [&](std::size_t step, const nlm::Matrix<float>& x) {
    if (step > from) {
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t p = 0; p < v; ++p) average(r, p) += std::tanh(double(x(r, p)));
      ++averaged;
    }
    const std::size_t pct = 10 * (10 * step / o.gen.steps);
    if (pct != shown) {
      shown = pct;
      std::fprintf(stderr, "completing: step %zu/%zu (%zu%%)\n", step, o.gen.steps, pct);
    }
  };
  generator.sample(chains, o.gen.steps, observer);
  ex::require_finite_states(chains.states());
  average /= double(std::max<std::size_t>(averaged, 1));
  const nlm::Matrix<float> samples_all = xt::tanh(xt::view(chains.states(), xt::all(), xt::range(0, v)));

  nlm::Matrix<float> quenched_all;
  if (o.quench > 0) {  // the same J and b without noise: descent on E from where each chain is
    ex::descend(generator, chains, o.quench);
    ex::require_finite_states(chains.states());
    quenched_all = xt::tanh(xt::view(chains.states(), xt::all(), xt::range(0, v)));
  }

  // Per image: the mean over its chains of the time averages (nlm mean), and sample c of each.
  const nlm::Matrix<float> nlm_mean = filled(truth, observed, [&](std::size_t i, std::size_t p) {
    double s = 0;
    for (std::size_t c = 0; c < c_per; ++c) s += average(i * c_per + c, p);
    return float(s / double(c_per));
  });
  const auto sample_k = [&](const nlm::Matrix<float>& all_rows, std::size_t c) {
    return filled(truth, observed, [&](std::size_t i, std::size_t p) { return all_rows(i * c_per + c, p); });
  };

  const nlm::Matrix<float> train = split.train.x;
  const xt::xtensor<float, 1> mu = xt::mean(train, {0});
  const auto mean_fill = filled(truth, observed, [&](std::size_t, std::size_t p) { return mu(p); });
  const auto masked = filled(truth, observed, [](std::size_t, std::size_t) { return 0.0f; });
  const auto nearest = nearest_completion(train, truth, observed);
  const auto gaussian = gaussian_completion(train, truth, observed);

  nlm::ClassifierOptions copt;
  copt.flip_noise = 0.35;  // as mnist_evaluate: sampled pictures carry salt-and-pepper noise
  copt.seed = o.gen.seed;
  const nlm::SoftmaxClassifier classifier(train, split.train.labels, copt);
  const auto accuracy = [&](const nlm::Matrix<float>& x) { return classifier.accuracy(x, truth_labels); };

  struct Row {
    std::string method;
    double mse, acc;
  };
  std::vector<Row> table;
  table.push_back({"original (nothing hidden)", 0.0, accuracy(truth)});
  table.push_back({"masked (hidden pixels at 0)", hidden_mse(masked, truth, observed), accuracy(masked)});
  table.push_back({"training mean", hidden_mse(mean_fill, truth, observed), accuracy(mean_fill)});
  table.push_back({"nearest training image", hidden_mse(nearest, truth, observed), accuracy(nearest)});
  table.push_back({"Gaussian conditional mean", hidden_mse(gaussian, truth, observed), accuracy(gaussian)});
  double sample_mse = 0, sample_acc = 0, quench_mse = 0, quench_acc = 0;
  for (std::size_t c = 0; c < c_per; ++c) {
    const auto s = sample_k(samples_all, c);
    sample_mse += hidden_mse(s, truth, observed) / double(c_per);
    sample_acc += accuracy(s) / double(c_per);
    if (o.quench > 0) {
      const auto q = sample_k(quenched_all, c);
      quench_mse += hidden_mse(q, truth, observed) / double(c_per);
      quench_acc += accuracy(q) / double(c_per);
    }
  }
  table.push_back({"nlm: one sample (final state)", sample_mse, sample_acc});
  if (o.quench > 0) table.push_back({"nlm: sample quenched to T=0", quench_mse, quench_acc});
  table.push_back({"nlm: chain mean (2nd half, " + std::to_string(c_per) + " chains)", hidden_mse(nlm_mean, truth, observed),
                   accuracy(nlm_mean)});

  std::printf("\n%-44s %16s %20s\n", "completion", "hidden-pixel MSE", "classifier accuracy");
  std::vector<std::vector<double>> csv;
  for (std::size_t i = 0; i < table.size(); ++i) {
    std::printf("%-44s %16.4f %20.3f\n", table[i].method.c_str(), table[i].mse, table[i].acc);
    csv.push_back({double(i), table[i].mse, table[i].acc});
  }
  ex::write_csv(out / "completion.csv", "row,hidden_mse,classifier_accuracy", csv);

  // The picture: one row per method, the first --shown images.
  const std::size_t k = std::min(o.shown, b);
  const auto strip_row = [&](const std::string& label, const nlm::Matrix<float>& x) {
    const nlm::Matrix<float> pixels = (xt::view(x, xt::range(0, k), xt::all()) + 1.0f) * 0.5f;
    ex::Snapshot s = ex::make_snapshot(0, pixels);
    s.label = label;
    return s;
  };
  std::vector<ex::Snapshot> strip{strip_row("original", truth), strip_row("masked", masked),
                                  strip_row("train mean", mean_fill), strip_row("nearest", nearest),
                                  strip_row("Gaussian", gaussian), strip_row("nlm mean", nlm_mean)};
  for (std::size_t c = 0; c < std::min<std::size_t>(c_per, 3); ++c)
    strip.push_back(strip_row("nlm sample " + std::to_string(c + 1), sample_k(samples_all, c)));
  if (o.quench > 0) strip.push_back(strip_row("quenched", sample_k(quenched_all, 0)));
  ex::write_snapshot_strip(out / "completion.png", strip, k, 2, "completion, mask " + o.mask);
  std::printf("wrote %s, %s\n", (out / "completion.png").c_str(), (out / "completion.csv").c_str());
  std::printf("hidden-pixel MSE: %.4f (mean %.4f, nearest %.4f, gaussian %.4f)\n", table.back().mse, table[2].mse,
              table[3].mse, table[4].mse);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Complete held-out digits with a region hidden (nlm)"};
  nlm::examples::last_option_wins(app);
  Options o;
  o.gen.steps = 2000;
  o.out = "out/complete";
  o.add_to(app, "Langevin steps (the chain mean averages the second half)");
  ex::add_digits_option(app, o.digits, "digits (a model with label units: its classes)");
  app.add_option("--mask", o.mask, "hidden region: bottom, right, centre or random:F")->capture_default_str();
  app.add_option("--images", o.images, "held-out digits to complete")->capture_default_str()->transform(ex::count(true));
  app.add_option("--completions", o.completions, "chains per digit")->capture_default_str()->transform(ex::count(true));
  app.add_option("--quench", o.quench, "steps at T = 0 after the sampling (0: none)")->capture_default_str()->transform(ex::count());
  app.add_option("--shown", o.shown, "digits in the picture")->capture_default_str()->transform(ex::count(true));
  CLI11_PARSE(app, argc, argv);
  return run(o);
} catch (const std::exception& e) {
  std::cerr << "mnist_complete: " << e.what() << "\n";
  return 1;
}
