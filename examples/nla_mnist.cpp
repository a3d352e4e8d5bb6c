// nla_mnist: the least-action model learns MNIST in real time (Senn et al., eLife 2024): a
// layered network (784-500-10 by default, or 784-300-100-10) with the hard sigmoid, each batch
// of digits presented for 100 steps (10 τ) with the reference's cross-fade, the labels nudging
// the output neurons (β on while training only), the plasticity running every step. Beside it,
// in the same program: plain back-propagation of the same network from the same initial
// weights, on the same batches, at the learning rate the real-time rule has per presentation
// (steps × dt × η × β on the batch-mean gradient), so the two curves compare the rule with the
// gradient it claims to follow.
//
//   nla_mnist --data data/mnist --epochs 5
//
// Prints each epoch's held-out accuracy of both and the time per presented sample; draws
// accuracy.png (the two curves) and weights.png (the first layer's receptive fields). Last line:
// "accuracy: <fraction> (backprop <fraction>)".
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlm/data/idx.hpp>
#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/mnist_common.hpp"
#include "common/options.hpp"

namespace ex = nlm::examples;
namespace fs = std::filesystem;

namespace {

using S = float;
using Learner = nlm::LagrangianLearner<nlm::HardSigmoid, S>;

struct Options {
  std::string data = "data/mnist", out = "out/nla_mnist", layers = "784-500-10", rates;
  std::size_t train = 8000, test = 2000, epochs = 10, batch = 32, steps = 100;
  double beta = 0.1, eta = 0.01, tau = 10, dt = 1, bp_rate = 0;
  std::uint64_t seed = 0;
  int threads = 0;
};

std::vector<std::size_t> parse_layers(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, '-')) {
    std::size_t used = 0;
    const unsigned long v = part.empty() ? 0 : std::stoul(part, &used);
    if (part.empty() || used != part.size() || v == 0)
      throw std::invalid_argument("--layers " + s + ": expected sizes joined by '-', such as 784-500-10");
    out.push_back(v);
  }
  if (out.size() < 2) throw std::invalid_argument("--layers " + s + ": at least an input and an output layer");
  return out;
}

std::vector<double> parse_rates(const std::string& s, std::size_t projections) {
  if (s.empty()) {  // the reference's factors 1, 0.2, 0.1 (784-300-100-10); 1, 0.2 for two projections
    const std::vector<double> reference{1.0, 0.2, 0.1};
    std::vector<double> r(projections, 0.1);
    for (std::size_t i = 0; i < projections && i < 3; ++i) r[i] = reference[i];
    return r;
  }
  std::vector<double> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) out.push_back(std::stod(part));
  if (out.size() != projections)
    throw std::invalid_argument("--rates " + s + ": " + std::to_string(projections) + " factors needed, one per projection");
  return out;
}

struct Digits {
  nlm::Matrix<S> x, y;             // pixels / 255, one-hot labels
  std::vector<std::uint8_t> label;
};

Digits take(const nlm::data::labelled_images& d, const std::vector<std::size_t>& rows) {
  const std::size_t px = d.images.rows * d.images.cols, count = rows.size();
  Digits out{nlm::Matrix<S>::from_shape({count, px}), nlm::Matrix<S>::from_shape({count, 10}), {}};
  out.y.fill(S(0));
  for (std::size_t r = 0; r < count; ++r) {
    for (std::size_t i = 0; i < px; ++i) out.x(r, i) = S(d.images.pixels[rows[r] * px + i]) / S(255);
    out.y(r, d.labels[rows[r]]) = S(1);
    out.label.push_back(d.labels[rows[r]]);
  }
  return out;
}

/// The file's indices in a fixed random order (files may be sorted by digit).
std::vector<std::size_t> shuffled(std::size_t count, std::uint64_t seed) {
  std::vector<std::size_t> idx(count);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::mt19937_64 g(seed);
  std::shuffle(idx.begin(), idx.end(), g);
  return idx;
}

double accuracy(const nlm::Matrix<S>& out, const std::vector<std::uint8_t>& label) {
  std::size_t right = 0;
  for (std::size_t r = 0; r < out.shape(0); ++r) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < out.shape(1); ++c)
      if (out(r, c) > out(r, best)) best = c;
    right += best == label[r];
  }
  return double(right) / double(out.shape(0));
}

int run(const Options& o) {
  ex::set_blas_threads(o.threads);
  const std::vector<std::size_t> layers = parse_layers(o.layers);
  if (layers.back() != 10) throw std::invalid_argument("--layers " + o.layers + ": the output layer must have 10 neurons (the digits)");
  const auto files = ex::find_mnist(o.data);
  const nlm::data::labelled_images first = nlm::data::read_idx_pair(files.front().images, files.front().labels);
  const std::size_t px = first.images.rows * first.images.cols;
  if (layers.front() != px)
    throw std::invalid_argument("--layers " + o.layers + ": the input layer must have " + std::to_string(px) +
                                " neurons (the images' pixels)");
  // Held-out digits: from the t10k file when there is one, else from the rest of the one file;
  // both drawn in a fixed random order (a file may be sorted by digit).
  Digits train, test;
  const std::vector<std::size_t> order = shuffled(first.images.count, 20240);
  if (files.size() > 1) {
    const nlm::data::labelled_images second = nlm::data::read_idx_pair(files[1].images, files[1].labels);
    if (o.train > first.images.count || o.test > second.images.count)
      throw std::invalid_argument("--train " + std::to_string(o.train) + " / --test " + std::to_string(o.test) +
                                  ": the files hold " + std::to_string(first.images.count) + " and " +
                                  std::to_string(second.images.count) + " images");
    train = take(first, std::vector<std::size_t>(order.begin(), order.begin() + std::ptrdiff_t(o.train)));
    const std::vector<std::size_t> held = shuffled(second.images.count, 20241);
    test = take(second, std::vector<std::size_t>(held.begin(), held.begin() + std::ptrdiff_t(o.test)));
  } else {
    if (o.train + o.test > first.images.count)
      throw std::invalid_argument("--train " + std::to_string(o.train) + " + --test " + std::to_string(o.test) + " exceed the " +
                                  std::to_string(first.images.count) + " images of " + files.front().images.string());
    train = take(first, std::vector<std::size_t>(order.begin(), order.begin() + std::ptrdiff_t(o.train)));
    test = take(first, std::vector<std::size_t>(order.end() - std::ptrdiff_t(o.test), order.end()));
  }
  nlm::LagrangianHyperparameters hp;
  hp.batch = o.batch;
  hp.tau = o.tau;
  hp.dt = o.dt;
  hp.beta = o.beta;
  hp.learning_rate = o.eta;
  hp.bias_learning_rate = o.eta;
  hp.seed = o.seed;
  const nlm::Topology topology = nlm::Topology::layered(layers, parse_rates(o.rates, layers.size() - 1));
  Learner learner(topology, hp);
  auto bp = learner.model();  // back-propagation: the same network and initial weights
  const double bp_rate = o.bp_rate > 0 ? o.bp_rate : double(o.steps) * o.dt * o.eta * o.beta;
  nlm::LagrangianPresentation present;
  present.steps = o.steps;
  std::size_t synapses = 0;
  for (const auto& b : topology.blocks()) synapses += (b.r1 - b.r0) * (b.c1 - b.c0);
  std::printf("data: %s, %zu training and %zu held-out digits; network %s (%zu synapses), hard sigmoid, solve %s\n",
              o.data.c_str(), train.x.shape(0), test.x.shape(0), topology.describe().c_str(), synapses,
              nlm::solve_name(learner.model().solve()));
  std::printf("least action: batches of %zu presented %zu steps (dt %g, tau %g) with the cross-fade, beta %g while "
              "training, eta %g (factors %s)\n",
              o.batch, o.steps, o.dt, o.tau, o.beta, o.eta, o.rates.empty() ? "reference" : o.rates.c_str());
  std::printf("backprop: the same batches in the same order, gradient descent at %g%s\n\n", bp_rate,
              o.bp_rate > 0 ? " (--bp-rate)" : " (= steps x dt x eta x beta)");
  const fs::path out(o.out);
  fs::create_directories(out);
  std::vector<double> epochs{0}, acc_la, acc_bp;
  const auto score = [&] {
    acc_la.push_back(accuracy(nlm::predict(learner, test.x, present), test.label));
    nlm::Matrix<S> u;
    bp.forward(test.x, u);
    nlm::Matrix<S> bp_out = nlm::Matrix<S>::from_shape({u.shape(0), 10});
    for (std::size_t r = 0; r < u.shape(0); ++r)
      for (std::size_t c = 0; c < 10; ++c) bp_out(r, c) = u(r, u.shape(1) - 10 + c);
    acc_bp.push_back(accuracy(bp_out, test.label));
  };
  score();
  std::printf("epoch 0: held-out accuracy least action %.4f, backprop %.4f\n", acc_la.back(), acc_bp.back());
  nlm::TrainingState state = nlm::initial_training_state(learner);
  nlm::TrainingOptions options = nlm::TrainingOptions::for_epochs(0);
  nlm::Matrix<S> xb = nlm::Matrix<S>::from_shape({o.batch, px}), yb = nlm::Matrix<S>::from_shape({o.batch, 10});
  double la_seconds = 0;
  for (std::size_t e = 1; e <= o.epochs; ++e) {
    options.epochs = e;
    const auto t0 = std::chrono::steady_clock::now();
    state = nlm::learn_supervised(learner, train.x, train.y, options, present, std::move(state));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    la_seconds += secs;
    // Back-propagation on the batches the least-action run just saw (its epoch's permutation).
    for (std::size_t b0 = 0; b0 + o.batch <= train.x.shape(0); b0 += o.batch) {
      for (std::size_t r = 0; r < o.batch; ++r) {
        const std::size_t row = state.order[b0 + r];
        std::copy_n(train.x.data() + row * px, px, xb.data() + r * px);
        std::copy_n(train.y.data() + row * 10, 10, yb.data() + r * 10);
      }
      nlm::backprop_step(bp, xb, yb, bp_rate, bp_rate);
    }
    score();
    epochs.push_back(double(e));
    const double per_sample = secs / double((train.x.shape(0) / o.batch) * o.batch) * 1e3;
    std::printf("epoch %zu: held-out accuracy least action %.4f, backprop %.4f; %.1f s (%.2f ms per presented sample)\n",
                e, acc_la.back(), acc_bp.back(), secs, per_sample);
    std::fflush(stdout);
  }
  ex::line_plot(out / "accuracy.png",
                {ex::Series{"least action (real time)", epochs, acc_la, std::nullopt, true},
                 ex::Series{"back-propagation", epochs, acc_bp, std::nullopt, true}},
                "MNIST " + topology.describe() + ": held-out accuracy", "epoch", "accuracy");
  // The first hidden layer's receptive fields (its first 100 neurons' weights from the pixels).
  const std::size_t fields = std::min<std::size_t>(100, layers[1]);
  std::vector<float> tiles(fields * px);
  for (std::size_t k = 0; k < fields; ++k) {
    double lim = 1e-12;
    for (std::size_t i = 0; i < px; ++i) lim = std::max(lim, std::abs(double(learner.weights()(px + k, i))));
    for (std::size_t i = 0; i < px; ++i) tiles[k * px + i] = float(0.5 + 0.5 * learner.weights()(px + k, i) / lim);
  }
  ex::write_image_grid(out / "weights.png", tiles.data(), fields, px, (fields + 9) / 10, 10, 3,
                       "first hidden layer: weights from the pixels (grey 0)",
                       ex::TileShape::image(first.images.rows, first.images.cols));
  std::printf("\nwrote %s and %s\n", (out / "accuracy.png").c_str(), (out / "weights.png").c_str());
  std::printf("least action: %.1f s training in all (%.2f ms per presented sample, %zu steps each)\n", la_seconds,
              la_seconds / double(o.epochs * (train.x.shape(0) / o.batch) * o.batch) * 1e3, o.steps);
  std::printf("accuracy: %.4f (backprop %.4f)\n", acc_la.back(), acc_bp.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"The least-action model learns MNIST in real time, beside back-propagation (nlm)"};
  ex::last_option_wins(app);
  Options o;
  app.add_option("--data", o.data, "an MNIST folder (scripts/get_mnist.sh)")->capture_default_str();
  app.add_option("--layers", o.layers, "layer sizes, such as 784-500-10 or 784-300-100-10")->capture_default_str();
  app.add_option("--rates", o.rates, "learning-rate factor per projection, comma-separated (default: 1, 0.2, 0.1)");
  app.add_option("--train", o.train, "training digits")->capture_default_str()->transform(ex::count(true));
  app.add_option("--test", o.test, "held-out digits")->capture_default_str()->transform(ex::count(true));
  app.add_option("--epochs", o.epochs, "epochs")->capture_default_str()->transform(ex::count(true));
  app.add_option("--batch", o.batch, "digits presented together")->capture_default_str()->transform(ex::count(true));
  app.add_option("--steps", o.steps, "steps per presentation")->capture_default_str()->transform(ex::count(true));
  app.add_option("--beta", o.beta, "nudging of the outputs while training")->capture_default_str();
  app.add_option("--eta", o.eta, "learning rate of weights and biases")->capture_default_str();
  app.add_option("--bp-rate", o.bp_rate, "back-propagation's learning rate (default: steps x dt x eta x beta)");
  app.add_option("--tau", o.tau, "membrane time constant (ms)")->capture_default_str();
  app.add_option("--dt", o.dt, "Euler step (ms)")->capture_default_str();
  ex::add_seed_option(app, o.seed, "seed of the initial weights and the batches' order");
  ex::add_output_option(app, o.out);
  ex::add_threads_option(app, o.threads);
  CLI11_PARSE(app, argc, argv);
  return run(o);
} catch (const std::exception& e) {
  std::fprintf(stderr, "nla_mnist: %s\n", e.what());
  return 1;
}
