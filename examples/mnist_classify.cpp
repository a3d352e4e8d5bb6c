// Classifies held-out digits with a model trained with label units (mnist_train --labels):
// each image is clamped on the visible units, the label units (and any latent units) follow
// the Langevin dynamics of p(labels | image), and the prediction is the label unit with the
// largest time-averaged value.
//
//   mnist_classify --couplings out/labels/J.npy --field out/labels/field.npy
//   mnist_classify --couplings J.npy --relax          # T = 0 descent instead of sampling
//
// Beside it, the library's softmax regression trained on the model's own training digits and
// scored on the same held-out digits.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlm/analysis/classifier.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"
#include "common/model_files.hpp"

namespace ex = nlm::examples;

namespace {

struct Options : ex::ClampedRunOptions {
  std::string digits;
  std::size_t images = 0;
  bool relax = false;
};

void print_confusion(const std::vector<std::uint8_t>& classes, const std::vector<std::uint8_t>& truth,
                     const std::vector<std::uint8_t>& predicted) {
  std::printf("confusion (rows: true digit, columns: predicted)\n      ");
  for (const auto c : classes) std::printf("%6d", int(c));
  std::printf("\n");
  for (const auto t : classes) {
    std::printf("%6d", int(t));
    for (const auto p : classes) {
      std::size_t n = 0;
      for (std::size_t i = 0; i < truth.size(); ++i) n += truth[i] == t && predicted[i] == p;
      std::printf("%6zu", n);
    }
    std::printf("\n");
  }
}

double fraction_right(const std::vector<std::uint8_t>& truth, const std::vector<std::uint8_t>& predicted) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) right += truth[i] == predicted[i];
  return double(right) / double(truth.size());
}

int run(const Options& o) {
  const ex::fs::path out(o.out);
  ex::require_output_dir(out);
  const std::size_t neurons = ex::couplings_neurons(o.gen);
  const nlm::UnitLayout layout = ex::model_layout(o.gen, neurons, o.layout);
  if (layout.labels() == 0)
    throw std::invalid_argument(o.gen.source() + ": the model has no label units (train it with mnist_train --labels)");
  const std::string digits = ex::model_digits(layout, "");
  if (!o.digits.empty()) {  // given: they must be the digits the label units were trained for
    auto asked = ex::parse_digits(o.digits), trained = layout.classes;
    std::sort(asked.begin(), asked.end());
    std::sort(trained.begin(), trained.end());
    if (asked != trained)
      throw std::invalid_argument("--digits " + o.digits + ": the model's label units are for digits " + digits);
  }
  const auto all = ex::load_digits(o.data, digits, 0);
  if (all.x.shape(1) != layout.visible)
    throw std::invalid_argument(o.data.path + ": images of " + std::to_string(all.x.shape(1)) + " pixels, the model has " +
                                std::to_string(layout.visible) + " visible units");
  const auto split = ex::split_for_model(all, layout, o.held_out, o.data.path);
  const std::size_t b = o.images == 0 ? split.held.count() : std::min(o.images, split.held.count());
  const nlm::Matrix<float> images = xt::view(split.held.x, xt::range(0, b), xt::all());
  const std::vector<std::uint8_t> truth(split.held.labels.begin(), split.held.labels.begin() + std::ptrdiff_t(b));
  std::printf("classifying %zu held-out digits %s by %s the label units (%zu steps, dt=%g%s)\n", b, digits.c_str(),
              o.relax ? "relaxing (T = 0)" : "sampling", o.gen.steps, o.gen.dt,
              o.relax ? "" : (", T=" + std::to_string(o.gen.temperature) + ", averaged over the second half").c_str());

  // One chain per image, every pixel clamped; the label units start from N(0, 1).
  auto generator = ex::make_generator<nlm::EulerMaruyama>(o.gen);
  nlm::Chains<float> chains(generator.random_states(b));
  const auto clamp = layout.image_clamp(images, xt::xtensor<std::uint8_t, 2>(xt::ones<std::uint8_t>({std::size_t(1), layout.visible})));
  chains.clamp(clamp.mask, clamp.values);
  const std::size_t k = layout.labels(), first = layout.first_label();
  nlm::Matrix<double> average = xt::zeros<double>({b, k});
  std::size_t averaged = 0;
  const auto observer = [&](std::size_t step, const nlm::Matrix<float>& x) {
    if (step > o.gen.steps / 2) {
      for (std::size_t r = 0; r < b; ++r)
        for (std::size_t j = 0; j < k; ++j) average(r, j) += double(x(r, first + j));
      ++averaged;
    }
  };
  if (o.relax) {
    ex::descend(generator, chains, o.gen.steps, observer);
  } else {
    generator.sample(chains, o.gen.steps, observer);
  }
  ex::require_finite_states(chains.states());
  const auto predicted = layout.predict(nlm::Matrix<double>(average / double(std::max<std::size_t>(averaged, 1))));
  const double accuracy = fraction_right(truth, predicted);
  print_confusion(layout.classes, truth, predicted);

  // The same split for the library's logistic regression.
  const nlm::SoftmaxClassifier logistic(nlm::Matrix<float>(split.train.x), split.train.labels);
  const auto logistic_predicted = logistic.predict(images);
  const double logistic_accuracy = fraction_right(truth, logistic_predicted);
  std::printf("\n%-48s %8s\n", "classifier", "accuracy");
  std::printf("%-48s %8.4f\n", "nlm label units (clamped image)", accuracy);
  std::printf("%-48s %8.4f\n", ("softmax regression on the " + std::to_string(split.train.count()) + " training digits").c_str(),
              logistic_accuracy);

  std::vector<std::vector<double>> rows;
  std::vector<float> wrong;
  for (std::size_t i = 0; i < b; ++i) {
    std::vector<double> r{double(truth[i]), double(predicted[i])};
    for (std::size_t j = 0; j < k; ++j) r.push_back(average(i, j) / double(std::max<std::size_t>(averaged, 1)));
    rows.push_back(r);
    if (truth[i] != predicted[i])
      for (std::size_t p = 0; p < layout.visible; ++p) wrong.push_back((images(i, p) + 1.0f) * 0.5f);
  }
  std::string header = "true,predicted";
  for (const auto c : layout.classes)
    for (std::size_t u = 0; u < layout.units_per_class; ++u) {
      // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "_" + to_string(u).
      header += ",label_";
      header += std::to_string(c);
      if (layout.units_per_class > 1) {
        header += '_';
        header += std::to_string(u);
      }
    }
  ex::write_csv(out / "predictions.csv", header, rows);
  std::printf("wrote %s", (out / "predictions.csv").c_str());
  if (!wrong.empty()) {
    const std::size_t n = wrong.size() / layout.visible, cols = std::min<std::size_t>(n, 10);
    ex::write_image_grid(out / "misclassified.png", wrong.data(), n, layout.visible, (n + cols - 1) / cols, cols, 3,
                         std::to_string(n) + " misclassified held-out digits");
    std::printf(", %s", (out / "misclassified.png").c_str());
  }
  std::printf("\naccuracy: %.4f\n", accuracy);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Classify held-out digits with a model's label units (nlm)"};
  nlm::examples::last_option_wins(app);
  Options o;
  o.gen.steps = 1000;
  o.out = "out/classify";
  o.add_to(app, "Langevin steps (averaged over the second half)");
  app.add_option("--images", o.images, "held-out digits to classify (0: all)")->capture_default_str()->transform(ex::count());
  app.add_flag("--relax", o.relax, "descend at T = 0 instead of sampling");
  ex::add_digits_option(app, o.digits, "the digits to classify (default: the label units' digits; others are refused)");
  CLI11_PARSE(app, argc, argv);
  return run(o);
} catch (const std::exception& e) {
  std::cerr << "mnist_classify: " << e.what() << "\n";
  return 1;
}
