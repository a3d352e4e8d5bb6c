// Sample-quality metrics: Fréchet distance against closed forms and an independent matrix
// square root, adversarial accuracy against its null distribution and its extremes, moment
// and energy summaries against hand computations, the inverted-background rule on images
// built pixel by pixel, and the softmax classifier on synthetic clusters and real digits.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include <nlm/analysis/metrics.hpp>
#include <nlm/data/dataset.hpp>
#include <nlm/detail/random.hpp>
#include <nlm/langevin_machine.hpp>

using nlm::Matrix;
using nlm::Vector;

namespace {

Matrix<double> gaussian_rows(std::size_t n, std::size_t d, std::uint64_t seed) {
  nlm::detail::Xoshiro256 engine(seed);
  Matrix<double> x = Matrix<double>::from_shape({n, d});
  nlm::detail::fill_normal<double>(engine, std::span<double>(x.data(), x.size()));
  return x;
}

/// Rows z L^T + mu: samples of N(mu, L L^T) from standard normal rows z.
Matrix<double> correlated(const Matrix<double>& z, const Matrix<double>& l, const Vector<double>& mu) {
  return xt::linalg::dot(z, xt::transpose(l)) + mu;
}

nlm::Moments gaussian(Vector<double> mean, Matrix<double> cov) {
  nlm::Moments m;
  m.mean = std::move(mean);
  m.covariance = std::move(cov);
  m.count = 0;
  return m;
}

/// Tr (A B)^{1/2} by the Denman–Beavers iteration on the (non-symmetric) product: the
/// textbook route of common FID code, independent of the eigendecompositions under test.
double trace_sqrt_product(const Matrix<double>& a, const Matrix<double>& b) {
  Matrix<double> y = xt::linalg::dot(a, b);
  Matrix<double> z = xt::eye<double>(a.shape(0));
  for (int it = 0; it < 100; ++it) {
    const Matrix<double> y_inv = xt::linalg::inv(y), z_inv = xt::linalg::inv(z);
    const Matrix<double> y_next = 0.5 * (y + z_inv);
    z = 0.5 * (z + y_inv);
    y = y_next;
  }
  double t = 0;
  for (std::size_t i = 0; i < a.shape(0); ++i) t += y(i, i);
  return t;
}

/// A 28×28 image of value `inside` with the concentric one-pixel rings 0, 1, 2, … (from the
/// edge inwards) set to ring_values[k].
Matrix<float> framed_image(float inside, const std::vector<float>& ring_values) {
  Matrix<float> img = Matrix<float>::from_shape({1, 784});
  for (std::size_t r = 0; r < 28; ++r)
    for (std::size_t c = 0; c < 28; ++c) {
      const std::size_t ring = std::min(std::min(r, c), std::min(27 - r, 27 - c));
      img(0, r * 28 + c) = ring < ring_values.size() ? ring_values[ring] : inside;
    }
  return img;
}

}  // namespace

TEST_SUITE("metrics") {

TEST_CASE("moments are the sample mean and the unbiased covariance") {
  const Matrix<float> x = {{1, 2}, {3, 0}, {5, 4}};
  const nlm::Moments m = nlm::moments(x);
  CHECK(m.count == 3);
  CHECK(m.mean(0) == doctest::Approx(3.0));
  CHECK(m.mean(1) == doctest::Approx(2.0));
  // deviations (−2, 0), (0, −2), (2, 2): sums of products 8, 4, 8 over n − 1 = 2
  CHECK(m.covariance(0, 0) == doctest::Approx(4.0));
  CHECK(m.covariance(0, 1) == doctest::Approx(2.0));
  CHECK(m.covariance(1, 0) == doctest::Approx(2.0));
  CHECK(m.covariance(1, 1) == doctest::Approx(4.0));
  CHECK_THROWS_WITH_AS(nlm::moments(Matrix<float>{{1, 2}}), doctest::Contains("at least 2 rows"),
                       std::invalid_argument);
}

TEST_CASE("Frechet distance of a Gaussian to itself is zero, also when singular") {
  const Matrix<double> full = gaussian_rows(400, 6, 1);
  const nlm::Moments m = nlm::moments(full);
  CHECK(nlm::frechet_distance(m, m) == doctest::Approx(0.0).scale(1.0).epsilon(1e-9));
  CHECK(nlm::frechet_distance(full, full) == doctest::Approx(0.0).scale(1.0).epsilon(1e-9));
  // 4 samples in 6 dimensions: rank-3 covariance, its zero eigenvalues come out of LAPACK as
  // ±1e-17 and must not turn into NaN or a negative distance.
  const Matrix<double> few = gaussian_rows(4, 6, 2);
  const double fd = nlm::frechet_distance(few, few);
  CHECK(std::isfinite(fd));
  CHECK(fd >= 0.0);
  CHECK(fd < 1e-6);
}

TEST_CASE("Frechet distance between diagonal Gaussians matches the closed form") {
  // FD = ||mu1 - mu2||^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2 for commuting (diagonal) covariances.
  const Vector<double> mu1 = {0.5, -1.0, 2.0, 0.0}, mu2 = {1.5, 1.0, 2.0, -0.25};
  const Vector<double> a = {1.0, 4.0, 0.25, 9.0}, b = {2.0, 1.0, 0.25, 0.0};
  double expected = 0;
  for (std::size_t i = 0; i < 4; ++i)
    expected += (mu1(i) - mu2(i)) * (mu1(i) - mu2(i)) +
                (std::sqrt(a(i)) - std::sqrt(b(i))) * (std::sqrt(a(i)) - std::sqrt(b(i)));
  const auto g1 = gaussian(mu1, xt::diag(a)), g2 = gaussian(mu2, xt::diag(b));
  CHECK(nlm::frechet_distance(g1, g2) == doctest::Approx(expected).epsilon(1e-12));
  CHECK(nlm::frechet_distance(g2, g1) == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("Frechet distance between non-commuting full covariances") {
  SUBCASE("2x2: Tr sqrt(S1 S2) = sqrt(Tr(S1 S2) + 2 sqrt(det S1 det S2))") {
    const Matrix<double> s1 = {{2.0, 0.9}, {0.9, 1.0}}, s2 = {{1.0, -0.7}, {-0.7, 3.0}};
    REQUIRE(xt::amax(xt::abs(xt::linalg::dot(s1, s2) - xt::linalg::dot(s2, s1)))() > 0.5);
    const Vector<double> mu1 = {0.3, -0.2}, mu2 = {-0.1, 0.4};
    const double tr12 = s1(0, 0) * s2(0, 0) + s1(0, 1) * s2(1, 0) + s1(1, 0) * s2(0, 1) +
                        s1(1, 1) * s2(1, 1);
    const double det1 = s1(0, 0) * s1(1, 1) - s1(0, 1) * s1(1, 0);
    const double det2 = s2(0, 0) * s2(1, 1) - s2(0, 1) * s2(1, 0);
    const double cross = std::sqrt(tr12 + 2 * std::sqrt(det1 * det2));
    const double expected = 0.16 + 0.36 + (3.0 + 4.0) - 2 * cross;
    CHECK(nlm::frechet_distance(gaussian(mu1, s1), gaussian(mu2, s2)) ==
          doctest::Approx(expected).epsilon(1e-12));
  }
  SUBCASE("7x7 random covariances against a Denman-Beavers square root") {
    const std::size_t d = 7;
    const Matrix<double> l1 = gaussian_rows(d, d, 3), l2 = gaussian_rows(d, d, 4);
    const Matrix<double> s1 = xt::linalg::dot(l1, xt::transpose(l1)) + 0.1 * xt::eye<double>(d);
    const Matrix<double> s2 = xt::linalg::dot(l2, xt::transpose(l2)) + 0.1 * xt::eye<double>(d);
    const Vector<double> mu1 = xt::row(gaussian_rows(1, d, 5), 0);
    const Vector<double> mu2 = xt::row(gaussian_rows(1, d, 6), 0);
    double expected = 0;
    for (std::size_t i = 0; i < d; ++i)
      expected += (mu1(i) - mu2(i)) * (mu1(i) - mu2(i)) + s1(i, i) + s2(i, i);
    expected -= 2 * trace_sqrt_product(s1, s2);
    const double fd = nlm::frechet_distance(gaussian(mu1, s1), gaussian(mu2, s2));
    CHECK(fd == doctest::Approx(expected).epsilon(1e-9));
    CHECK(nlm::frechet_distance(gaussian(mu2, s2), gaussian(mu1, s1)) ==
          doctest::Approx(fd).epsilon(1e-9));
  }
}

TEST_CASE("Frechet distance in a PCA space") {
  // Anisotropic data: the first principal components carry most of the variance.
  const std::size_t d = 12;
  Matrix<double> l = gaussian_rows(d, d, 7);
  for (std::size_t j = 0; j < d; ++j) xt::col(l, j) *= 3.0 / double(1 + j);
  const Vector<double> mu = xt::zeros<double>({d});
  const Matrix<double> reference = correlated(gaussian_rows(2000, d, 8), l, mu);
  const nlm::PcaFrechetDistance<double> fd(reference, 4);
  CHECK(fd.components() == 4);
  CHECK(fd.distance(reference) == doctest::Approx(0.0).scale(1.0).epsilon(1e-9));

  // A shift v changes only the mean: FD = ||P v||^2 with P the components.
  Vector<double> v = xt::zeros<double>({d});
  v(0) = 0.7;
  v(3) = -0.4;
  const Matrix<double> shifted = reference + v;
  const Vector<double> pv = xt::linalg::dot(fd.pca().components(), v);
  CHECK(fd.distance(shifted) == doctest::Approx(xt::sum(pv * pv)()).epsilon(1e-9));

  // Same distribution, independent draw: far smaller than a distribution twice as wide.
  const Matrix<double> same = correlated(gaussian_rows(2000, d, 9), l, mu);
  const Matrix<double> wider = 2.0 * same;
  CHECK(fd.distance(same) < 0.1 * fd.distance(wider));

  CHECK_THROWS_WITH_AS(fd.distance(Matrix<double>::from_shape({5, d + 1})),
                       doctest::Contains("mismatched widths"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::frechet_distance(reference, Matrix<double>::from_shape({5, 3})),
                       doctest::Contains("mismatched widths"), std::invalid_argument);
}

TEST_CASE("adversarial accuracy is 0.5 for two samples of one distribution") {
  // Null: each indicator is 1 with probability (n-1)/(2n-1); AA = mean of 2n of them, sd
  // sqrt(1/(8n)) = 0.0158 for n = 500 if they were independent. Nearest-neighbour indicators
  // are correlated (the spread measured over 200 pairs is 0.019), so allow 4.5 binomial sds
  // (0.071, 3.7 measured sds) for each of 4 independent pairs and, tighter, for their mean
  // (0.036, 3.7 measured sds of a mean of 4).
  const std::size_t n = 500, d = 10;
  const double p = double(n - 1) / double(2 * n - 1);
  const double sd = std::sqrt(1.0 / (8.0 * double(n)));
  double total = 0;
  for (std::uint64_t pair = 0; pair < 4; ++pair) {
    const auto aa = nlm::adversarial_accuracy(gaussian_rows(n, d, 100 + pair),
                                              gaussian_rows(n, d, 200 + pair));
    CHECK(aa.count == n);
    CHECK(aa.value == doctest::Approx(0.5 * (aa.real + aa.synthetic)));
    CHECK(std::abs(aa.value - p) < 4.5 * sd);
    total += aa.value;
  }
  CHECK(std::abs(total / 4 - p) < 4.5 * sd / 2);
}

TEST_CASE("adversarial accuracy is 1 for separated sets and 0 for a copy") {
  const Matrix<float> real = xt::cast<float>(gaussian_rows(200, 5, 11));
  const Matrix<float> far = real + 30.0f;
  const auto separated = nlm::adversarial_accuracy(real, far);
  CHECK(separated.value == 1.0);
  CHECK(separated.real == 1.0);
  CHECK(separated.synthetic == 1.0);
  // Every point's nearest neighbour across is itself, at distance 0: never farther.
  const auto copy = nlm::adversarial_accuracy(real, real);
  CHECK(copy.value == 0.0);
  // Half copied, half far away. Synthetic side: the copies score 0, the far half 1. Real
  // side: the copied half scores 0; a real row of the other half scores 1 exactly when its
  // nearest other real row is in its own half (the copies of the first half are as near as
  // the first half itself), counted here by brute force.
  Matrix<float> half = real;
  xt::view(half, xt::range(100, 200), xt::all()) += 30.0f;
  const auto mixed = nlm::adversarial_accuracy(real, half);
  CHECK(mixed.synthetic == 0.5);
  std::size_t own_half = 0;
  for (std::size_t i = 100; i < 200; ++i) {
    double best_first = std::numeric_limits<double>::infinity(), best_second = best_first;
    for (std::size_t j = 0; j < 200; ++j) {
      if (j == i) continue;
      double dist = 0;
      for (std::size_t c = 0; c < 5; ++c)
        dist += double(real(i, c) - real(j, c)) * double(real(i, c) - real(j, c));
      if (j < 100)
        best_first = std::min(best_first, dist);
      else
        best_second = std::min(best_second, dist);
    }
    own_half += best_second < best_first;
  }
  CHECK(mixed.real == double(own_half) / 200.0);
  CHECK(own_half > 20);  // the case is not degenerate

  CHECK_THROWS_WITH_AS(nlm::adversarial_accuracy(real, Matrix<float>::from_shape({199, 5})),
                       doctest::Contains("equal numbers"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::adversarial_accuracy(real, Matrix<float>::from_shape({200, 6})),
                       doctest::Contains("mismatched widths"), std::invalid_argument);
}

TEST_CASE("moment errors of shifted and scaled copies") {
  const Matrix<double> ref = gaussian_rows(300, 8, 21);
  const auto exact = nlm::moment_errors(ref, ref);
  CHECK(exact.mean_rms == 0.0);
  CHECK(exact.covariance_rms == 0.0);
  CHECK(exact.covariance_relative == 0.0);

  Vector<double> shift = xt::zeros<double>({8});
  shift(2) = 0.4;  // RMS over 8 pixels: sqrt(0.16/8)
  const auto shifted = nlm::moment_errors(Matrix<double>(ref + shift), ref);
  CHECK(shifted.mean_rms == doctest::Approx(std::sqrt(0.16 / 8)).epsilon(1e-12));
  CHECK(shifted.covariance_rms == doctest::Approx(0.0).scale(1.0).epsilon(1e-12));

  // Scaling about the mean by s multiplies the covariance by s^2: relative error s^2 - 1.
  const nlm::Moments m = nlm::moments(ref);
  const Matrix<double> scaled = 1.5 * (ref - m.mean) + m.mean;
  const auto e = nlm::moment_errors(scaled, ref);
  CHECK(e.mean_rms == doctest::Approx(0.0).scale(1.0).epsilon(1e-12));
  CHECK(e.covariance_relative == doctest::Approx(1.25).epsilon(1e-12));
  const double fro = std::sqrt(xt::sum(m.covariance * m.covariance)());
  CHECK(e.covariance_rms == doctest::Approx(1.25 * fro / 8.0).epsilon(1e-12));

  CHECK_THROWS_WITH_AS(nlm::moment_errors(ref, Matrix<float>::from_shape({4, 7})),
                       doctest::Contains("mismatched widths"), std::invalid_argument);
}

TEST_CASE("energy statistics under a machine or a callable") {
  nlm::Hyperparameters hp;
  hp.neurons = 9;
  hp.persistent_chains = 1;
  hp.seed = 3;
  nlm::PaperMachine machine(hp);
  const Matrix<float> samples = machine.random_states(40), data = 0.5f * machine.random_states(30);
  const Vector<float> e = machine.energy(samples);
  double mean = 0;
  for (const float v : e) mean += v;
  mean /= 40;
  double var = 0;
  for (const float v : e) var += (v - mean) * (v - mean);
  const auto stats = nlm::energy_statistics(machine, samples);
  CHECK(stats.count == 40);
  CHECK(stats.mean == doctest::Approx(mean).epsilon(1e-12));
  CHECK(stats.standard_deviation == doctest::Approx(std::sqrt(var / 39)).epsilon(1e-12));

  const auto callable = [&](const Matrix<float>& x) { return machine.energy(x); };
  CHECK(nlm::energy_statistics(callable, samples).mean == doctest::Approx(mean).epsilon(1e-12));
  const auto cmp = nlm::compare_energies(machine, samples, data);
  CHECK(cmp.data.mean == doctest::Approx(nlm::energy_statistics(machine, data).mean));
  CHECK(cmp.difference() == doctest::Approx(cmp.samples.mean - cmp.data.mean));
  // Halving the states lowers ½||x − Jφ(x)||² on average for this J.
  CHECK(cmp.difference() > 0);

  const auto short_energy = [](const Matrix<float>& x) {
    return std::vector<double>(x.shape(0) - 1, 0.0);
  };
  CHECK_THROWS_WITH_AS(nlm::energy_statistics(short_energy, samples),
                       doctest::Contains("returned 39 values for 40 states"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::energy_statistics(machine, Matrix<float>::from_shape({3, 8})),
                       doctest::Contains("8 columns"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::compare_energies(machine, samples, Matrix<float>::from_shape({3, 8})),
                       doctest::Contains("mismatched widths"), std::invalid_argument);
}

TEST_CASE("inverted backgrounds are counted exactly on constructed images") {
  // Ring sizes of a 28x28 image: 108 pixels in the outermost ring, 100 in the next, 92 next.
  std::vector<Matrix<float>> images = {
      framed_image(+1.0f, {-1.0f, -1.0f}),         // dark frame, all ink inside: normal
      framed_image(-1.0f, {+1.0f, +1.0f}),         // light frame: inverted
      framed_image(-1.0f, {+1.0f, -1.0f}),         // (108 - 100)/208 > 0: inverted
      framed_image(+1.0f, {-1.0f, +1.0f}),         // (-108 + 100)/208 < 0: normal
      framed_image(-1.0f, {0.0f, 0.0f}),           // exactly 0: not above the threshold
      framed_image(-1.0f, {0.05f, 0.05f}),         // slightly light: inverted
      framed_image(+1.0f, {-0.9f, -0.9f, +1.0f}),  // third ring ignored at width 2: normal
      framed_image(-1.0f, {-1.0f, -1.0f}),         // all dark: normal
  };
  Matrix<float> all = Matrix<float>::from_shape({images.size(), 784});
  for (std::size_t i = 0; i < images.size(); ++i) xt::row(all, i) = xt::row(images[i], 0);

  const Vector<double> means = nlm::border_means(all);
  CHECK(means(2) == doctest::Approx(8.0 / 208.0));
  CHECK(means(3) == doctest::Approx(-8.0 / 208.0));
  CHECK(means(4) == 0.0);
  CHECK(nlm::inverted_fraction(all) == 3.0 / 8.0);
  // Width 1 sees only the outermost ring: images 1, 2 and 5 light, 3 dark; width 3 adds the
  // third ring (92 pixels): image 6 becomes (-0.9·208 + 92)/300 < 0, still normal.
  CHECK(nlm::inverted_fraction(all, {1, 0.0}) == 3.0 / 8.0);
  CHECK(nlm::border_means(all, {3, 0.0})(6) == doctest::Approx((-0.9 * 208 + 92) / 300.0));
  CHECK(nlm::border_means(all, {1, 0.0})(3) == -1.0);
  // A higher threshold keeps only clearly light frames.
  CHECK(nlm::inverted_fraction(all, {2, 0.5}) == 1.0 / 8.0);

  CHECK_THROWS_WITH_AS(nlm::inverted_fraction(Matrix<float>::from_shape({2, 783})),
                       doctest::Contains("not square images"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::inverted_fraction(all, {14, 0.0}),
                       doctest::Contains("does not fit a 28x28 image"), std::invalid_argument);
}

TEST_CASE("class assignment on constructed probabilities") {
  const std::vector<std::uint8_t> classes = {1, 3, 6};
  const Matrix<double> p = {
      {0.95, 0.03, 0.02},  // 1, confident
      {0.50, 0.40, 0.10},  // not confident
      {0.90, 0.05, 0.05},  // exactly at the threshold: confident
      {0.02, 0.03, 0.95},  // 6
      {0.30, 0.35, 0.35},  // not confident
      {0.05, 0.05, 0.90},  // 6
  };
  const auto a = nlm::assign_classes(p, classes, 0.9);
  CHECK(a.count == 6);
  CHECK(a.confident == 4);
  CHECK(a.confident_fraction == doctest::Approx(4.0 / 6.0));
  CHECK(a.class_counts == std::vector<std::size_t>{2, 0, 2});
  CHECK(a.class_fractions == std::vector<double>{0.5, 0.0, 0.5});
  CHECK(a.balance_ratio == std::numeric_limits<double>::infinity());
  CHECK(a.balance_entropy == doctest::Approx(std::log(2.0) / std::log(3.0)));

  // A lower threshold admits rows 1 (to class 1) and 4 (tie 0.35/0.35: the first, class 3).
  const auto low = nlm::assign_classes(p, classes, 0.35);
  CHECK(low.confident == 6);
  CHECK(low.class_counts == std::vector<std::size_t>{3, 1, 2});
  CHECK(low.balance_ratio == doctest::Approx(3.0));
  const double h = -(0.5 * std::log(0.5) + (1.0 / 6) * std::log(1.0 / 6) + (1.0 / 3) * std::log(1.0 / 3));
  CHECK(low.balance_entropy == doctest::Approx(h / std::log(3.0)));

  const Matrix<double> balanced = {{0.91, 0.05, 0.04}, {0.0, 1.0, 0.0}, {0.01, 0.01, 0.98}};
  const auto b = nlm::assign_classes(balanced, classes);
  CHECK(b.balance_ratio == 1.0);
  CHECK(b.balance_entropy == doctest::Approx(1.0));

  const auto none = nlm::assign_classes(Matrix<double>{{0.4, 0.3, 0.3}}, classes);
  CHECK(none.confident == 0);
  CHECK(std::isnan(none.balance_ratio));
  CHECK(std::isnan(none.balance_entropy));

  CHECK_THROWS_WITH_AS(nlm::assign_classes(Matrix<double>::from_shape({2, 2}), classes),
                       doctest::Contains("mismatched widths"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::assign_classes(p, classes, 1.5), doctest::Contains("(0, 1]"),
                       std::invalid_argument);
}

TEST_CASE("softmax classifier separates synthetic clusters and reaches its optimum") {
  // Three Gaussian clusters with labels 7, 2, 5 (not contiguous, not sorted) in 10 dimensions.
  const std::size_t d = 10, per_class = 100;
  const std::vector<std::uint8_t> names = {7, 2, 5};
  const auto make = [&](std::uint64_t seed, Matrix<float>& x, std::vector<std::uint8_t>& y) {
    const Matrix<double> noise = gaussian_rows(3 * per_class, d, seed);
    x = Matrix<float>::from_shape({3 * per_class, d});
    y.clear();
    for (std::size_t i = 0; i < 3 * per_class; ++i) {
      const std::size_t k = i % 3;
      for (std::size_t j = 0; j < d; ++j) x(i, j) = float(noise(i, j) + (j == k ? 4.0 : 0.0));
      y.push_back(names[k]);
    }
  };
  Matrix<float> train, test;
  std::vector<std::uint8_t> train_y, test_y;
  make(31, train, train_y);
  make(32, test, test_y);
  const nlm::ClassifierOptions options{.l2 = 1e-2};
  const nlm::SoftmaxClassifier c(train, train_y, options);
  CHECK(c.classes() == std::vector<std::uint8_t>{2, 5, 7});
  CHECK(c.converged());
  // Bayes error of this problem is ~0.2% per point (distance 4·√2 between centres).
  CHECK(c.accuracy(test, test_y) >= 0.98);
  const Matrix<double> p = c.probabilities(test);
  for (std::size_t i = 0; i < p.shape(0); ++i)
    CHECK(xt::sum(xt::row(p, i))() == doctest::Approx(1.0).epsilon(1e-12));

  // Optimality, computed independently with plain loops: (1/n) (P − Y)^T X + λW = 0 (the
  // bias column without λW).
  const Matrix<double> w = c.weights();
  const Matrix<double> pt = c.probabilities(train);
  const std::size_t n = train.shape(0);
  double worst = 0;
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t j = 0; j <= d; ++j) {
      double g = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double xij = j < d ? double(train(i, j)) : 1.0;
        const double yik = train_y[i] == c.classes()[k] ? 1.0 : 0.0;
        g += xij * (pt(i, k) - yik);
      }
      g /= double(n);
      if (j < d) g += options.l2 * w(k, j);
      worst = std::max(worst, std::abs(g));
    }
  CHECK(worst < 10 * options.gradient_tolerance);

  // Deterministic: no random state anywhere.
  const nlm::SoftmaxClassifier again(train, train_y, options);
  CHECK(xt::amax(xt::abs(again.weights() - w))() == 0.0);

  // The augmentation is the one random ingredient: fixed by its seed.
  const nlm::ClassifierOptions noisy{.l2 = 1e-2, .flip_noise = 0.3, .seed = 5};
  const nlm::SoftmaxClassifier a1(train, train_y, noisy), a2(train, train_y, noisy);
  CHECK(xt::amax(xt::abs(a1.weights() - a2.weights()))() == 0.0);
  const nlm::SoftmaxClassifier a3(train, train_y, {.l2 = 1e-2, .flip_noise = 0.3, .seed = 6});
  CHECK(xt::amax(xt::abs(a3.weights() - a1.weights()))() > 0.0);
  CHECK(xt::amax(xt::abs(a1.weights() - w))() > 0.0);
  CHECK(a1.accuracy(test, test_y) >= 0.97);
  CHECK_THROWS_WITH_AS(nlm::SoftmaxClassifier(train, train_y, {.flip_noise = 0.6}),
                       doctest::Contains("flip_noise must be in [0, 0.5]"), std::invalid_argument);

  CHECK_THROWS_WITH_AS(c.probabilities(Matrix<float>::from_shape({2, d + 1})),
                       doctest::Contains("mismatched widths"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::SoftmaxClassifier(train, std::span(train_y).first(10)),
                       doctest::Contains("10 labels for 300 rows"), std::invalid_argument);
  const std::vector<std::uint8_t> one_class(300, 4);
  CHECK_THROWS_WITH_AS(nlm::SoftmaxClassifier(train, one_class),
                       doctest::Contains("at least 2 classes"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(c.accuracy(test, std::span(test_y).first(5)),
                       doctest::Contains("5 labels for 300 rows"), std::invalid_argument);
}

TEST_CASE("metrics on real MNIST digits 1, 3, 6") {
  namespace fs = std::filesystem;
  const fs::path images = fs::path(NLM_SHARED_DATA) / "mnist10k-images-idx3-ubyte.gz";
  const fs::path labels = fs::path(NLM_SHARED_DATA) / "mnist10k-labels-idx1-ubyte.gz";
  if (!fs::exists(images) || !fs::exists(labels)) {
    MESSAGE("skipped: " << images.string() << " or its labels are absent");
    return;
  }
  const auto digits = nlm::data::load_dataset<float>(nlm::data::idx_files{images, labels});
  REQUIRE(digits.count() == 3173);
  // The file lists the digits class by class, so a contiguous split would train without 6s:
  // every third image is held out instead (1058 held out, 2115 for training).
  std::vector<std::size_t> train_rows, test_rows;
  std::vector<std::uint8_t> train_y, test_y;
  for (std::size_t i = 0; i < digits.count(); ++i) {
    (i % 3 == 0 ? test_rows : train_rows).push_back(i);
    (i % 3 == 0 ? test_y : train_y).push_back(digits.labels[i]);
  }
  const Matrix<float> train = xt::view(digits.x, xt::keep(train_rows), xt::all());
  const Matrix<float> test = xt::view(digits.x, xt::keep(test_rows), xt::all());

  // As mnist_evaluate trains it: with sign-flip noise augmentation.
  const nlm::SoftmaxClassifier c(train, train_y, {.flip_noise = 0.35, .seed = 1});
  const double accuracy = c.accuracy(test, test_y);
  MESSAGE("held-out accuracy on " << test.shape(0) << " digits: " << accuracy << " after "
                                  << c.iterations() << " L-BFGS iterations");
  CHECK(accuracy >= 0.95);
  const auto assigned = c.assign(test);
  CHECK(assigned.confident_fraction >= 0.9);
  CHECK(assigned.balance_ratio < 1.2);  // 376, 344 and 338 of 1, 3 and 6 are held out

  // With 30% of the pixels sign-flipped (the salt-and-pepper noise of T = 1 samples) the
  // digits are still told apart and no class absorbs the others; a classifier trained on
  // clean digits only calls 93% of them "3" here (see classifier.hpp).
  Matrix<float> noisy = test;
  nlm::detail::Xoshiro256 engine(9);
  for (float& v : noisy)
    if (nlm::detail::uniform_open0<double>(engine()) <= 0.3) v = -v;
  const double noisy_accuracy = c.accuracy(noisy, test_y);
  MESSAGE("accuracy with 30% of the pixels flipped: " << noisy_accuracy);
  CHECK(noisy_accuracy >= 0.75);
  const auto noisy_assigned = c.assign(noisy, 0.5);
  CHECK(noisy_assigned.balance_ratio < 1.5);

  // MNIST backgrounds are dark; their negatives are all inverted.
  CHECK(nlm::inverted_fraction(test) == 0.0);
  CHECK(nlm::inverted_fraction(Matrix<float>(-test)) == 1.0);
}

}  // TEST_SUITE

// ---- intervals (nlm/analysis/intervals.hpp) ----
//
// The Wilson interval's coverage at a given p is a finite sum, Σ_k C(n,k) p^k (1−p)^(n−k) over
// the k whose interval holds p: computed exactly here, no simulation. It oscillates with p
// (the counts are discrete): averaged over p it is the nominal 95 %, at single p it dips to
// about 0.90 near p = 0 or 1 for n = 36 (0.92 for n = 100); the test asserts both.
// The entropy range is checked by simulation: 1 000 multinomial draws per case, fixed seed; a
// method with coverage exactly 95 % would show ≥ 0.95 − 3·√(0.95·0.05/1000) = 0.929 with
// probability 99.9 %.

namespace {

double binomial_log_pmf(std::size_t k, std::size_t n, double p) {
  return std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1) +
         double(k) * std::log(p) + double(n - k) * std::log1p(-p);
}

double wilson_coverage(std::size_t n, double p) {
  double c = 0;
  for (std::size_t k = 0; k <= n; ++k)
    if (nlm::wilson_interval(k, n).contains(p)) c += std::exp(binomial_log_pmf(k, n, p));
  return c;
}

}  // namespace

TEST_CASE("Wilson interval: values by hand, exact ends at 0 and n, exact coverage near 95 %") {
  // 27 of 36 at 95 %: z = 1.959964, centre (p + z²/2n)/(1 + z²/n), half-width z√(p(1−p)/n + z²/4n²)/(1 + z²/n)
  const nlm::Interval a = nlm::wilson_interval(27, 36);
  CHECK(a.lower == doctest::Approx(0.5892954623).epsilon(1e-8));
  CHECK(a.upper == doctest::Approx(0.8624952234).epsilon(1e-8));
  CHECK(nlm::wilson_interval(0, 36).lower == 0.0);
  CHECK(nlm::wilson_interval(0, 36).upper == doctest::Approx(0.0964186286).epsilon(1e-8));
  CHECK(nlm::wilson_interval(36, 36).upper == 1.0);
  CHECK(nlm::wilson_interval(36, 36).lower == doctest::Approx(0.9035813714).epsilon(1e-8));
  for (const std::size_t n : {36, 100}) {
    double sum = 0, lowest = 1;
    std::size_t count = 0;
    for (double p = 0.05; p <= 0.95 + 1e-9; p += 0.005, ++count) {
      const double c = wilson_coverage(n, p);
      sum += c;
      lowest = std::min(lowest, c);
    }
    INFO("n = " << n << ": mean coverage " << sum / double(count) << ", lowest " << lowest);
    CHECK(std::abs(sum / double(count) - 0.95) < 0.01);
    CHECK(lowest > 0.90);
  }
  CHECK_THROWS_WITH_AS(nlm::wilson_interval(3, 2), "wilson_interval: 3 successes in 2 trials", std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::wilson_interval(0, 0), "wilson_interval: no trials (n = 0)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::wilson_interval(1, 2, 1.0), "wilson_interval: level must be in (0, 1), got 1.000000",
                       std::invalid_argument);
}

TEST_CASE("entropy range: exact on boxes worked by hand, and covers the true balance entropy") {
  // a point box gives the point's entropy
  const double third = 1.0 / 3.0;
  const nlm::Interval point = nlm::entropy_range({{third, third}, {third, third}, {third, third}});
  CHECK(point.lower == doctest::Approx(1.0));
  CHECK(point.upper == doctest::Approx(1.0));
  // f₁ ∈ [0.5, 0.7], f₂, f₃ ∈ [0, 0.5]: largest at (0.5, 0.25, 0.25), smallest at (0.7, 0.3, 0) or (0.7, 0, 0.3)
  const nlm::Interval r = nlm::entropy_range({{0.5, 0.7}, {0.0, 0.5}, {0.0, 0.5}});
  const auto h = [](std::vector<double> f) {
    double s = 0;
    for (double v : f)
      if (v > 0) s -= v * std::log(v);
    return s / std::log(3.0);
  };
  CHECK(r.upper == doctest::Approx(h({0.5, 0.25, 0.25})).epsilon(1e-9));
  CHECK(r.lower == doctest::Approx(h({0.7, 0.3, 0.0})).epsilon(1e-9));
  CHECK_THROWS_WITH_AS(nlm::entropy_range({{0.6, 0.7}, {0.5, 0.6}}),
                       "entropy_range: the intervals allow no shares that sum to 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(nlm::entropy_range({{0.6, 0.5}, {0.0, 0.6}}),
                       "entropy_range: class 0's interval [0.600000, 0.500000] is not a sub-interval of [0, 1]",
                       std::invalid_argument);
  // above 12 classes: the min-entropy bound −log max u / log C, here with every share in [0.01, 0.1]
  const std::vector<nlm::Interval> many(26, nlm::Interval{0.01, 0.1});
  const nlm::Interval wide = nlm::entropy_range(many);
  CHECK(wide.upper == doctest::Approx(1.0));
  CHECK(wide.lower == doctest::Approx(std::log(10.0) / std::log(26.0)));

  // coverage of assignment_intervals' balance entropy (and of its shares jointly)
  struct Case {
    std::vector<double> p;  // not confident, then the class shares' weights
    std::size_t n;
  };
  const std::vector<Case> cases = {{{0.25, 0.27, 0.255, 0.225}, 36},  {{0.0, 1.0, 1.0, 1.0}, 100},
                                   {{0.1, 0.7, 0.117, 0.083}, 300},   {{0.2, 0.712, 0.0, 0.088}, 100},
                                   {{0.05, 0.57, 0.285, 0.095}, 270}};
  nlm::detail::Xoshiro256 engine(61);
  for (const Case& c : cases) {
    double total = 0;
    for (double v : c.p) total += v;
    std::vector<double> shares(c.p.begin() + 1, c.p.end());
    double share_total = 0;
    for (double v : shares) share_total += v;
    for (double& v : shares) v /= share_total;
    double truth = 0;
    for (double v : shares)
      if (v > 0) truth -= v * std::log(v);
    truth /= std::log(3.0);
    std::size_t covered = 0, jointly = 0;
    const std::size_t draws = 1000;
    for (std::size_t d = 0; d < draws; ++d) {
      nlm::ClassAssignment a;
      a.classes = {1, 3, 6};
      a.count = c.n;
      a.class_counts.assign(3, 0);
      for (std::size_t i = 0; i < c.n; ++i) {  // one categorical draw per sample
        double u = nlm::detail::uniform_open0<double>(engine()) * total;
        std::size_t k = 0;
        while (k + 1 < c.p.size() && u > c.p[k]) u -= c.p[k++];
        if (k > 0) ++a.confident, ++a.class_counts[k - 1];
      }
      if (a.confident == 0) continue;
      const nlm::AssignmentIntervals iv = nlm::assignment_intervals(a);
      covered += iv.balance_entropy.contains(truth);
      bool all = true;
      for (std::size_t k = 0; k < 3; ++k) all = all && iv.class_fractions[k].contains(shares[k]);
      jointly += all;
    }
    INFO("n = " << c.n << ", true balance entropy " << truth << ": covered " << covered << ", shares jointly "
                << jointly << " of " << draws);
    CHECK(double(covered) / double(draws) >= 0.929);
    CHECK(double(jointly) / double(draws) >= 0.929);
  }
}
