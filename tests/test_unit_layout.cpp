// Unit layouts (issue 12): which neurons are image, label and latent units; the data vectors
// with label codes, the clamps that condition on an image or a class, the file that travels
// with J, and the sentences for bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlm/nlm.hpp>

#include "test_support.hpp"

using nlm::Matrix;

TEST_SUITE_BEGIN("unit layout");

namespace {

nlm::UnitLayout labelled() {
  nlm::UnitLayout l;
  l.visible = 4;
  l.classes = {1, 3, 6};
  l.label_scale = 0.75;
  l.latent = 2;
  l.images = 17;
  l.held_out = 5;
  return l;
}

std::filesystem::path scratch(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() / "nlm-unit-layout-test";
  std::filesystem::create_directories(dir);
  return dir / name;
}

void write_text(const std::filesystem::path& p, const char* text) {
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("the units are ordered image, labels, latent") {
  const auto l = labelled();
  CHECK(l.neurons() == 4 + 3 + 2);
  CHECK(l.first_label() == 4);
  CHECK(l.first_latent() == 7);
  CHECK(l.label_of(3) == 1);
  CHECK_THROWS_WITH_AS(l.label_of(7), "class 7 is not among the trained classes (1,3,6)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(l.require_neurons(784, "J.npy"),
                       "J.npy has 784 neurons, the unit layout 9 (4 image + 3 label + 2 latent units)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::image_layout(4).label_of(1),
                       "class 1 is not among the trained classes (the model has no label units)",
                       std::invalid_argument);
}

TEST_CASE("data rows carry the image, +-a label codes and zero latent units") {
  const auto l = labelled();
  Matrix<float> images = {{0.5f, -1, 1, 0}, {-0.25f, 0.125f, 1, -1}};
  const Matrix<float> rows = l.data_rows(images, {6, 1});
  REQUIRE(rows.shape(0) == 2);
  REQUIRE(rows.shape(1) == 9);
  const Matrix<float> expected = {{0.5f, -1, 1, 0, -0.75f, -0.75f, 0.75f, 0, 0},
                                  {-0.25f, 0.125f, 1, -1, 0.75f, -0.75f, -0.75f, 0, 0}};
  CHECK(rows == expected);
  CHECK_THROWS_WITH_AS(l.data_rows(images, {6, 2}), "class 2 is not among the trained classes (1,3,6)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(l.data_rows(images, {6}), "unit layout: 1 labels for 2 images", std::invalid_argument);
  const Matrix<float> wide = xt::zeros<float>({std::size_t(1), std::size_t(5)});
  CHECK_THROWS_WITH_AS(l.data_rows(wide, {1}), "unit layout: the images have 5 pixels, the layout 4",
                       std::invalid_argument);
  // The largest label value names the class.
  const Matrix<double> values = {{0.1, -0.2, 0.3}, {0.9, -1.0, 0.2}, {-0.5, -0.4, -0.6}};
  CHECK(l.predict(values) == std::vector<std::uint8_t>{6, 1, 3});
  // Two units per class: class k's are units 2k and 2k + 1, and their mean decides.
  auto pairs = l;
  pairs.units_per_class = 2;
  CHECK(pairs.labels() == 6);
  CHECK(pairs.neurons() == 4 + 6 + 2);
  const Matrix<float> two = pairs.data_rows(Matrix<float>{{0, 0, 0, 0}}, {3});
  const Matrix<float> code = {{0, 0, 0, 0, -0.75f, -0.75f, 0.75f, 0.75f, -0.75f, -0.75f, 0, 0}};
  CHECK(two == code);
  const Matrix<double> pair_values = {{0.9, -0.5, 0.3, 0.3, 0.0, 0.0}};
  CHECK(pairs.predict(pair_values) == std::vector<std::uint8_t>{3});  // means 0.2, 0.3, 0 (not the largest unit)
}

TEST_CASE("an image clamp and a label clamp hold exactly their units under Euler-Maruyama") {
  const auto l = labelled();
  nlm::Hyperparameters hp;
  hp.neurons = l.neurons();
  hp.persistent_chains = 1;
  hp.seed = 11;
  nlm::PaperMachine machine(hp);
  // Image clamp: chain 0 observes pixels 0 and 2, chain 1 pixels 1 and 3.
  const Matrix<float> images = {{0.5f, -1, 1, 0.25f}, {-0.25f, 0.125f, 1, -1}};
  const xt::xtensor<std::uint8_t, 2> observed = {{1, 0, 1, 0}, {0, 1, 0, 1}};
  const auto c = l.image_clamp(images, observed);
  nlm::Chains<float> chains(machine.random_states(2));
  chains.clamp(c.mask, c.values);
  const Matrix<float> start = chains.states();
  machine.sample(chains, 200);
  const auto& x = chains.states();
  CHECK(x(0, 0) == 0.5f);
  CHECK(x(0, 2) == 1.0f);
  CHECK(x(1, 1) == 0.125f);
  CHECK(x(1, 3) == -1.0f);
  for (std::size_t j : {1, 3, 4, 5, 6, 7, 8}) CHECK(x(0, j) != start(0, j));  // hidden, labels, latent move
  // Label clamp: chain r at class wanted[r]'s code, every other unit free.
  const auto lc = l.label_clamp<float>({3, 6});
  nlm::Chains<float> conditioned(machine.random_states(2));
  conditioned.clamp(lc.mask, lc.values);
  machine.sample(conditioned, 200);
  const auto& y = conditioned.states();
  CHECK(y(0, 4) == -0.75f);
  CHECK(y(0, 5) == 0.75f);
  CHECK(y(0, 6) == -0.75f);
  CHECK(y(1, 6) == 0.75f);
  for (std::size_t j = 0; j < 4; ++j) CHECK(lc.mask(0, j) == 0);
  CHECK_THROWS_WITH_AS(nlm::image_layout(4).label_clamp<float>({1}), "unit layout: the model has no label units",
                       std::invalid_argument);
  const xt::xtensor<std::uint8_t, 2> short_mask = {{1, 0, 1}};
  CHECK_THROWS_WITH_AS(l.image_clamp(images, short_mask),
                       "unit layout: image clamp of 4 values and a mask of 3 pixels, the layout has 4 visible units",
                       std::invalid_argument);
}

TEST_CASE("a layout file round-trips and a bad one is refused with its line") {
  auto l = labelled();
  l.units_per_class = 2;
  const auto p = scratch("layout.txt");
  nlm::save_layout(p, l);
  const auto back = nlm::load_layout(p);
  CHECK(back.visible == l.visible);
  CHECK(back.classes == l.classes);
  CHECK(back.label_scale == l.label_scale);
  CHECK(back.latent == l.latent);
  CHECK(back.images == l.images);
  CHECK(back.held_out == l.held_out);
  CHECK(back.units_per_class == l.units_per_class);

  const auto bad = scratch("bad.txt");
  write_text(bad, "visible: 784\nclasses: 1 3\nlabel_scale: 1\nlatent: 0\ncolour: red\n");
  CHECK_THROWS_WITH_AS(nlm::load_layout(bad), (bad.string() + ":5: unknown key 'colour'").c_str(), std::runtime_error);
  write_text(bad, "visible: -784\n");
  CHECK_THROWS_WITH_AS(nlm::load_layout(bad), (bad.string() + ":1: '-784' is not a count").c_str(), std::runtime_error);
  write_text(bad, "visible: 784\nclasses: 1 3 300\n");
  CHECK_THROWS_WITH_AS(nlm::load_layout(bad), (bad.string() + ":2: '300' is not a count").c_str(), std::runtime_error);
  write_text(bad, "visible: 784\nclasses: 1 1\nlabel_scale: 1\nlatent: 0\n");
  CHECK_THROWS_WITH_AS(nlm::load_layout(bad), (bad.string() + ": unit layout: class 1 has two label units").c_str(),
                       std::runtime_error);
  write_text(bad, "visible: 784\nclasses: 1\nlabel_scale: 1x\nlatent: 0\n");
  CHECK_THROWS_WITH_AS(nlm::load_layout(bad), (bad.string() + ":3: '1x' is not a number").c_str(), std::runtime_error);
  write_text(bad, "visible: 784\nclasses:\nlatent: 0\n");
  CHECK_THROWS_WITH_AS(nlm::load_layout(bad), (bad.string() + ": the unit layout has no 'label_scale' line").c_str(),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(nlm::load_layout(scratch("missing.txt")),
                       (scratch("missing.txt").string() + ": cannot open the unit layout").c_str(), std::runtime_error);
}

TEST_CASE("the image shape: given and round-tripped, a square by default, none for other widths") {
  CHECK(nlm::image_layout(784).image_shape() == std::array<std::size_t, 2>{28, 28});
  CHECK(nlm::image_layout(12).image_shape() == std::array<std::size_t, 2>{0, 0});
  auto l = nlm::image_layout(12);
  l.image_rows = 3;
  l.image_cols = 4;
  CHECK(l.image_shape() == std::array<std::size_t, 2>{3, 4});
  // Old files have no image_shape line; a written one reads back; text and file agree.
  CHECK(nlm::layout_text(nlm::image_layout(784)).find("image_shape") == std::string::npos);
  CHECK(nlm::layout_text(l).find("\nimage_shape: 3x4\n") != std::string::npos);
  const auto back = nlm::parse_layout(nlm::layout_text(l), "text");
  CHECK(back.image_rows == 3);
  CHECK(back.image_cols == 4);
  const auto p = scratch("shaped.txt");
  nlm::save_layout(p, l);
  CHECK(nlm::load_layout(p).image_shape() == std::array<std::size_t, 2>{3, 4});

  const std::string head = "visible: 12\nclasses:\nlabel_scale: 1\nlatent: 0\n";
  CHECK_THROWS_WITH_AS(nlm::parse_layout(head + "image_shape: 5x5\n", "t"),
                       "t: unit layout: the image shape 5x5 is not 12 visible units", std::runtime_error);
  CHECK_THROWS_WITH_AS(nlm::parse_layout(head + "image_shape: 12\n", "t"),
                       "t:5: '12' is not an image shape (rows x cols, as 28x28)", std::runtime_error);
  CHECK_THROWS_WITH_AS(nlm::parse_layout(head + "image_shape: 0x12\n", "t"), "t:5: the image shape '0x12' is empty",
                       std::runtime_error);
  l.image_cols = 5;
  CHECK_THROWS_WITH_AS(nlm::layout_text(l), "unit layout: the image shape 3x5 is not 12 visible units",
                       std::invalid_argument);
}

TEST_CASE("the latent data phase keeps each image's latent state and leaves the data's units alone") {
  nlm::Hyperparameters hp;
  hp.neurons = 3;
  hp.persistent_chains = 1;
  hp.seed = 5;
  nlm::PaperMachine machine(hp);
  nlm::TrainingState state;
  nlm::LatentPhaseOptions o;
  o.first_latent = 2;
  o.steps = 0;
  o.start = nlm::LatentPhaseOptions::Start::persistent;
  nlm::LatentDataPhase<float> still(5, 3, o);
  REQUIRE(still.latent_states().shape(0) == 5);
  Matrix<float> batch = {{0.5f, -0.5f, 9}, {0.25f, 1, 9}};
  const std::vector<std::uint32_t> rows{3, 1};
  still.on_batch(machine, batch, rows, state);
  CHECK(batch(0, 2) == still.latent_states()(3, 0));  // no steps: the stored starts, row by row
  CHECK(batch(1, 2) == still.latent_states()(1, 0));
  CHECK(batch(0, 0) == 0.5f);
  CHECK(batch(1, 1) == 1.0f);
  o.steps = 20;
  nlm::LatentDataPhase<float> moving(5, 3, o);
  const Matrix<float> before = moving.latent_states();
  moving.on_batch(machine, batch, rows, state);
  CHECK(batch(0, 2) == moving.latent_states()(3, 0));  // the store follows the chains
  CHECK(moving.latent_states()(3, 0) != before(3, 0));
  CHECK(moving.latent_states()(0, 0) == before(0, 0));  // images not in the batch keep theirs
  CHECK(batch(0, 0) == 0.5f);
  CHECK(batch(1, 1) == 1.0f);
  o.first_latent = 3;
  CHECK_THROWS_WITH_AS(nlm::LatentDataPhase<float>(5, 3, o),
                       "LatentDataPhase: the latent units must start after the data's units and before 3, got column 3",
                       std::invalid_argument);
}

// The data phase samples p(z | v): two neurons, x1 = v = 0.8 clamped, x2 = z latent, tanh,
// J = [[0.3, -0.8], [0.6, 0.2]], b = 0, T = 1. The reference is the quadrature of
// exp(−E(v, z)) over z ∈ [−12, 12] (20 001 points; the density is below e^-40 at the ends).
// B = 4000 batch rows of the same image give 4000 independent chains restarted from N(0, 1),
// run 5000 steps of Δt = 0.002 (10 time units; E's curvature in z is about 1, so the start is
// forgotten to e^-10). The sample mean has standard error √(var/B) ≈ 0.011 and the sample
// variance a relative one of √(2/(B − 1)) ≈ 0.022 (normal-like data); Euler–Maruyama's
// stationary law differs from the target by O(Δt) (Talay–Tubaro), here about 2·10⁻³ with
// derivatives of E of order 1. Allowed: 4 standard errors + 0.005 on the mean, 4 relative
// standard errors + 0.01 on the variance.
TEST_CASE("the latent data phase samples p(z | v) against quadrature") {
  const double j[2][2] = {{0.3, -0.8}, {0.6, 0.2}}, v = 0.8;
  const auto energy = [&](double z) {
    const double p1 = std::tanh(v), p2 = std::tanh(z);
    const double f1 = v - j[0][0] * p1 - j[0][1] * p2, f2 = z - j[1][0] * p1 - j[1][1] * p2;
    return 0.5 * (f1 * f1 + f2 * f2);
  };
  double w = 0, m1 = 0, m2 = 0;
  for (int i = 0; i <= 20000; ++i) {
    const double z = -12.0 + 24.0 * i / 20000.0, p = std::exp(-energy(z));
    w += p, m1 += p * z, m2 += p * z * z;
  }
  const double mean = m1 / w, var = m2 / w - mean * mean;

  nlm::Hyperparameters hp;
  hp.neurons = 2;
  hp.persistent_chains = 1;
  hp.time_step = 0.002;
  hp.seed = 17;
  nlm::PaperMachine machine(hp);
  machine.set_couplings(Matrix<float>{{0.3f, -0.8f}, {0.6f, 0.2f}});
  nlm::LatentPhaseOptions o;
  o.first_latent = 1;
  o.steps = 5000;
  o.start = nlm::LatentPhaseOptions::Start::restart;
  const std::size_t b = 4000;
  nlm::LatentDataPhase<float> phase(b, 2, o);
  Matrix<float> batch = xt::zeros<float>({b, std::size_t(2)});
  for (std::size_t r = 0; r < b; ++r) batch(r, 0) = float(v);
  std::vector<std::uint32_t> rows(b);
  for (std::size_t r = 0; r < b; ++r) rows[r] = std::uint32_t(r);
  const nlm::TrainingState state;
  phase.on_batch(machine, batch, rows, state);
  double s1 = 0, s2 = 0;
  for (std::size_t r = 0; r < b; ++r) {
    REQUIRE(batch(r, 0) == float(v));
    s1 += batch(r, 1);
    s2 += double(batch(r, 1)) * batch(r, 1);
  }
  const double got_mean = s1 / double(b), got_var = s2 / double(b) - got_mean * got_mean;
  INFO("quadrature mean " << mean << " var " << var << "; sampled mean " << got_mean << " var " << got_var);
  CHECK(std::abs(got_mean - mean) <= 4 * std::sqrt(var / double(b)) + 0.005);
  CHECK(std::abs(got_var / var - 1) <= 4 * std::sqrt(2.0 / double(b - 1)) + 0.01);
}

TEST_SUITE_END();
