// Measures generated digits against real ones: the sample-quality metrics of
// nlm/analysis/metrics.hpp as a table, for the samples of mnist_generate --samples-npy.
//
//   mnist_evaluate --samples out/s.npy                       # against 1000 held-out real digits
//   mnist_evaluate --samples out/s.npy --couplings out/quick/J.npy --csv out/metrics.csv
//   mnist_evaluate --samples out/s.npy --couplings out/f/J.npy --field out/f/field.npy
//
// The real digits of --digits are shuffled (seeded) and split three ways, disjoint:
//   held-out  (--held-out, default 1000): the reference every metric compares with; the PCA
//             of the Fréchet distance is fitted on it, and the classifier is scored on it;
//   baseline  (as many as there are samples): real digits evaluated exactly like the samples,
//             the "real" column: what an ideal generator would score with this many samples;
//   classifier training (the rest, at most --classifier-images): softmax regression on the
//             pixels, also trained on copies with salt-and-pepper noise (--flip-noise) like
//             that of pictures sampled at T = 1 (see nlm/analysis/classifier.hpp for why).
// Each metric is printed for the samples and for the baseline; the confident fraction, the class
// shares and the balance entropy also with a 95 % interval for the samples (--level;
// nlm/analysis/intervals.hpp: Wilson intervals, the shares jointly, the entropy's range over
// them), which takes the samples as independent draws (one per chain). The Fréchet ratio is
// FD(samples, held-out) / FD(baseline, held-out) with both sets of the same size, because the
// Fréchet estimate is biased upwards by an amount that depends on the sample sizes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <random>
#include <span>
#include <sstream>

#include <nlm/analysis/metrics.hpp>
#include <nlm/nlm.hpp>

#include <nlm_examples/picture.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"

namespace ex = nlm::examples;

namespace {

struct Options : ex::ModelFiles {
  std::string samples, digits = "1,3,6", csv, picture;
  ex::DataSource data;
  std::size_t held_out = 1000, components = 20, classifier_images = 2000, border = 2;
  double confidence = 0.9, l2 = nlm::ClassifierOptions{}.l2, flip_noise = 0.35, level = 0.95;
  std::uint64_t seed = 1;
};

constexpr double none = std::numeric_limits<double>::quiet_NaN();

/// One line of the table: a value for the samples and one for the real baseline (NaN: none),
/// and an interval for the samples' value where there is one.
struct Row {
  std::string metric;
  double samples;
  double real;
  nlm::Interval interval{none, none};
};

nlm::Matrix<float> rows_of(const nlm::Matrix<float>& x, std::span<const std::size_t> index) {
  nlm::Matrix<float> out = nlm::Matrix<float>::from_shape({index.size(), x.shape(1)});
  for (std::size_t r = 0; r < index.size(); ++r)
    std::copy_n(x.data() + index[r] * x.shape(1), x.shape(1), out.data() + r * x.shape(1));
  return out;
}

nlm::Matrix<float> first_rows(const nlm::Matrix<float>& x, std::size_t n) {
  return xt::view(x, xt::range(0, n), xt::all());
}

/// Fisher–Yates with a 64-bit Mersenne Twister, whose output sequence the standard fixes, so
/// the split is the same with every compiler and library (std::shuffle's is not).
std::vector<std::size_t> shuffled(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> index(n);
  for (std::size_t i = 0; i < n; ++i) index[i] = i;
  std::mt19937_64 engine(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(index[i - 1], index[engine() % i]);
  return index;
}

/// The samples as states the chains had: x = atanh(v). Pictures saturate (tanh of a float
/// is exactly ±1 beyond |x| ≈ 9), so |v| is capped at 1 − 10⁻⁶ (|x| ≤ 7.25).
nlm::Matrix<float> chain_states(const nlm::Matrix<float>& v) {
  nlm::Matrix<float> x = nlm::Matrix<float>::from_shape(v.shape());
  std::transform(v.begin(), v.end(), x.begin(), [](float value) {
    return float(std::atanh(std::clamp(double(value), -1.0 + 1e-6, 1.0 - 1e-6)));
  });
  return x;
}

std::string format(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

int run(const Options& o) {
  const nlm::Matrix<float> samples = nlm::io::load_npy_matrix<float>(o.samples);
  const auto digits = ex::load_digits(o.data, o.digits, 0);
  const std::size_t width = digits.x.shape(1), n = samples.shape(0);
  if (samples.shape(1) != width)
    throw std::invalid_argument(o.samples + ": mismatched widths: samples have " +
                                std::to_string(samples.shape(1)) + " values per row, the digits " +
                                std::to_string(width));
  if (n < 2) throw std::invalid_argument(o.samples + ": needs at least 2 samples, got " + std::to_string(n));
  for (const float v : samples)
    if (!(std::abs(v) <= 1.0f + 1e-6f))
      throw std::invalid_argument(o.samples + ": holds " + std::to_string(v) +
                                  ", outside [-1, 1]: pass pictures tanh(x), as mnist_generate "
                                  "--samples-npy writes them");

  // Split the real digits: held-out | baseline (size-matched) | classifier training.
  // At least 200 classifier images, unless fewer are asked for (--classifier-images).
  const std::size_t min_classifier = std::min<std::size_t>(200, o.classifier_images);
  if (min_classifier < 10)
    throw std::invalid_argument("--classifier-images must be at least 10, got " +
                                std::to_string(o.classifier_images));
  const std::size_t total = digits.count();
  if (o.held_out < 2 || o.held_out + 2 + min_classifier > total)
    throw std::invalid_argument("--held-out " + std::to_string(o.held_out) + " leaves too few of the " +
                                std::to_string(total) + " real digits for a baseline and " +
                                std::to_string(min_classifier) + " classifier images");
  const std::size_t baseline_n = std::min(n, total - o.held_out - min_classifier);
  const std::size_t train_n = std::min(o.classifier_images, total - o.held_out - baseline_n);
  const auto order = shuffled(total, o.seed);
  const std::span<const std::size_t> all(order);
  const auto held_index = all.first(o.held_out);
  const auto base_index = all.subspan(o.held_out, baseline_n);
  const auto train_index = all.subspan(o.held_out + baseline_n, train_n);
  const nlm::Matrix<float> held = rows_of(digits.x, held_index);
  const nlm::Matrix<float> baseline = rows_of(digits.x, base_index);
  const nlm::Matrix<float> train = rows_of(digits.x, train_index);
  const auto labels_of = [&](std::span<const std::size_t> index) {
    std::vector<std::uint8_t> l;
    for (const std::size_t i : index) l.push_back(digits.labels[i]);
    return l;
  };

  if (!o.picture.empty()) {
    ex::require_output_file(o.picture);
    const std::size_t shown = std::min<std::size_t>(n, 36);
    const nlm::Matrix<float> pixels = (xt::view(samples, xt::range(0, shown), xt::all()) + 1.0f) * 0.5f;
    ex::write_image_grid(o.picture, pixels, (shown + 11) / 12, 12, 2,
                         "the first " + std::to_string(shown) + " of " + std::to_string(n) + " samples");
  }
  std::printf("samples: %zu from %s\n", n, o.samples.c_str());
  std::printf("real digits %s from %s: %zu, shuffled (seed %llu) into %zu held-out (reference), "
              "%zu baseline (the 'real' column), %zu to train the classifier\n",
              o.digits.c_str(), o.data.path.c_str(), total, (unsigned long long)o.seed, o.held_out,
              baseline_n, train_n);
  std::printf("note: these real digits may be among the NLM's training images (mnist_train uses "
              "the first N_image digits of the same files), so the 'real' column is what copying "
              "the training set would score; AAI well below 0.5 is the sign of copies.\n");
  if (baseline_n < n)
    std::printf("note: only %zu real digits are left for the baseline; its values are for %zu "
                "rather than %zu samples\n", baseline_n, baseline_n, n);

  std::vector<Row> table;
  // Fréchet distance in the held-out digits' PCA space.
  const nlm::PcaFrechetDistance<float> frechet(held, o.components);
  const double fd_samples = frechet.distance(samples), fd_real = frechet.distance(baseline);
  table.push_back({"PCA Frechet distance (" + std::to_string(o.components) + " components)",
                   fd_samples, fd_real});
  table.push_back({"  ratio to real-vs-real", fd_samples / fd_real, 1.0});

  // Adversarial accuracy against an equal number of held-out digits.
  const std::size_t aa_n = std::min(n, o.held_out), aa_real_n = std::min(baseline_n, o.held_out);
  const auto aa_samples = nlm::adversarial_accuracy(first_rows(held, aa_n), first_rows(samples, aa_n));
  const auto aa_real = nlm::adversarial_accuracy(first_rows(held, aa_real_n), first_rows(baseline, aa_real_n));
  table.push_back({"adversarial accuracy AAI (0.5 ideal, n=" + std::to_string(aa_n) + ")",
                   aa_samples.value, aa_real.value});
  table.push_back({"  AA real side (held-out)", aa_samples.real, aa_real.real});
  table.push_back({"  AA synthetic side", aa_samples.synthetic, aa_real.synthetic});

  // Moments against the held-out digits.
  const nlm::Moments held_moments = nlm::moments(held);
  const auto me_samples = nlm::moment_errors(nlm::moments(samples), held_moments);
  const auto me_real = nlm::moment_errors(nlm::moments(baseline), held_moments);
  table.push_back({"mean error (RMS over pixels)", me_samples.mean_rms, me_real.mean_rms});
  table.push_back({"covariance error (RMS over entries)", me_samples.covariance_rms, me_real.covariance_rms});
  table.push_back({"covariance error (relative Frobenius)", me_samples.covariance_relative,
                   me_real.covariance_relative});

  if (!o.couplings.empty() || !o.model.empty()) {
    ex::LoadedModel loaded = ex::load_model(o);
    std::printf("model: %s\n", loaded.description.c_str());
    // only its energy is used
    const std::size_t neurons = loaded.couplings.shape(0);
    if (loaded.layout && loaded.layout->visible == width && neurons > width) {
      // Label or latent units: E of the image alone needs them integrated out (mnist_likelihood does).
      std::printf("note: the model has %zu units beyond the %zu image units (labels or latent units); the "
                  "energy rows need those integrated out and are left out (mnist_likelihood gives the image's density)\n",
                  neurons - width, width);
    } else {
      const nlm::LangevinModel<> model(std::move(loaded.couplings), std::move(loaded.field), /*temperature=*/1.0);
      if (model.neurons() != width)
        throw std::invalid_argument(o.source() + ": couplings for " + std::to_string(model.neurons()) +
                                    " neurons, the samples have " + std::to_string(width) + " values");
      const auto as_pictures = nlm::compare_energies(model, samples, baseline);
      table.push_back({"mean energy E(v), v the pictures (data: x=2p-1)", as_pictures.samples.mean,
                       as_pictures.data.mean});
      table.push_back({"mean energy of chain states E(atanh v) (chain output only)",
                       nlm::energy_statistics(model, chain_states(samples)).mean, none});
    }
  }

  const nlm::BorderRule rule{o.border, 0.0};
  table.push_back({"inverted background (border mean > 0)", nlm::inverted_fraction(samples, rule),
                   nlm::inverted_fraction(baseline, rule)});

  // Classifier: trained on its own part, scored on the held-out digits.
  nlm::ClassifierOptions copt;
  copt.l2 = o.l2;
  copt.flip_noise = o.flip_noise;
  copt.seed = o.seed;
  const auto train_labels = labels_of(train_index), held_labels = labels_of(held_index);
  const nlm::SoftmaxClassifier classifier(train, train_labels, copt);
  table.push_back({"classifier accuracy on held-out real digits", none,
                   classifier.accuracy(held, held_labels)});
  const auto as_samples = classifier.assign(samples, o.confidence);
  const auto as_real = classifier.assign(baseline, o.confidence);
  const nlm::AssignmentIntervals iv = nlm::assignment_intervals(as_samples, o.level);
  std::ostringstream conf;
  conf << "confidently classified (max p >= " << o.confidence << ")";
  table.push_back({conf.str(), as_samples.confident_fraction, as_real.confident_fraction, iv.confident_fraction});
  for (std::size_t k = 0; k < as_samples.classes.size(); ++k)
    table.push_back({"  share of digit " + std::to_string(as_samples.classes[k]) + " among them",
                     as_samples.class_fractions[k], as_real.class_fractions[k], iv.class_fractions[k]});
  table.push_back({"  class balance max/min count", as_samples.balance_ratio, as_real.balance_ratio});
  table.push_back({"  class balance entropy / log C (1 ideal)", as_samples.balance_entropy,
                   as_real.balance_entropy, iv.balance_entropy});

  std::size_t label_width = 0;
  for (const Row& r : table) label_width = std::max(label_width, r.metric.size());
  char level_name[32];
  std::snprintf(level_name, sizeof level_name, "%g %% interval", 100.0 * o.level);
  std::printf("\n%-*s %12s %18s %12s\n", int(label_width), "metric", "samples", level_name, "real");
  for (const Row& r : table) {
    std::string range = "";
    if (!std::isnan(r.interval.lower)) {
      range = "[";
      range += format(r.interval.lower);
      range += ", ";
      range += format(r.interval.upper);
      range += "]";
    }
    std::printf("%-*s %12s %18s %12s\n", int(label_width), r.metric.c_str(), format(r.samples).c_str(),
                range.c_str(), format(r.real).c_str());
  }
  std::printf("(intervals: Wilson for the fraction; the shares jointly, each at 1 - %g/%zu; the entropy's range "
              "over those shares; they take the %zu samples as independent draws, one per chain)\n",
              1.0 - o.level, as_samples.classes.size(), n);
  // How far apart two runs' figures must be before the difference means something.
  const double half = iv.confident_fraction.half_width();
  if (half > 0.03) {
    const double z = nlm::detail::two_sided_normal_quantile(o.level);
    const double p = std::clamp(as_samples.confident_fraction, 0.1, 0.9);
    const auto needed = std::size_t(std::ceil(z * z * p * (1.0 - p) / (0.03 * 0.03)));
    std::printf("note: with %zu samples the confident fraction is known to about ±%.0f points and the balance "
                "entropy to [%.2f, %.2f]: differences between runs smaller than that are noise; about %zu samples "
                "give ±3 points\n", n, 100.0 * half, iv.balance_entropy.lower, iv.balance_entropy.upper, needed);
  }
  if (!classifier.converged())
    std::printf("note: the classifier stopped after %zu iterations before reaching its tolerance\n",
                classifier.iterations());

  if (!o.csv.empty()) {
    nlm::io::write_atomically(o.csv, [&](std::ostream& out) {
      out << "metric,samples,real,samples_lower,samples_upper\n";
      out.precision(9);
      const auto cell = [&](double v) {
        if (!std::isnan(v)) out << v;
      };
      for (const Row& r : table) {
        std::string name = r.metric;
        name.erase(0, name.find_first_not_of(' '));
        std::replace(name.begin(), name.end(), ',', ';');
        out << '"' << name << "\",";
        cell(r.samples);
        out << ',';
        cell(r.real);
        out << ',';
        cell(r.interval.lower);
        out << ',';
        cell(r.interval.upper);
        out << '\n';
      }
    });
    std::printf("wrote %s\n", o.csv.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Sample-quality metrics of generated digits against held-out real ones (nlm)"};
  nlm::examples::last_option_wins(app);
  Options o;
  int threads = 0;
  app.add_option("--samples", o.samples,
                 "samples as .npy (count x 784, float32 or float64, values in [-1, 1]: "
                 "mnist_generate --samples-npy)")->required();
  o.data.add_to(app);
  ex::add_digits_option(app, o.digits, "the digits the NLM was trained on");
  o.add_model_options(app);  // optional here: a model adds mean energies at T = 1
  ex::add_held_out_option(app, o.held_out, "real digits held out as the reference");
  app.add_option("--pca-components", o.components, "PCA components of the Frechet distance")->capture_default_str()->transform(ex::count(true));
  app.add_option("--classifier-images", o.classifier_images, "real digits to train the classifier on, at most")->capture_default_str()->transform(ex::count());
  app.add_option("--confidence", o.confidence, "probability a classification must reach to count")->capture_default_str();
  app.add_option("--level", o.level, "probability of the intervals of the confident fraction, shares and balance")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 0.9999));
  app.add_option("--l2", o.l2, "L2 penalty of the classifier")->capture_default_str();
  app.add_option("--flip-noise", o.flip_noise,
                 "classifier also trains on copies of its digits with up to this fraction of "
                 "pixels sign-flipped, so noisy samples are not all read as the inkiest digit "
                 "(0: clean digits only)")->capture_default_str();
  app.add_option("--border", o.border, "border width (pixels) of the inverted-background test")->capture_default_str()->transform(ex::count());
  ex::add_seed_option(app, o.seed, "seed of the real digits' split");
  app.add_option("--csv", o.csv, "also write the table here as CSV");
  app.add_option("--picture", o.picture, "also draw the first 36 samples here (PNG, 3 rows of 12)");
  ex::add_threads_option(app, threads);
  CLI11_PARSE(app, argc, argv);
  if (!o.field.empty() && o.couplings.empty())
    throw std::invalid_argument("--field needs --couplings (the energy uses both)");
  if (!o.model.empty() || !o.couplings.empty()) o.require_one();
  ex::set_blas_threads(threads);
  return run(o);
} catch (const std::exception& e) {
  std::cerr << "mnist_evaluate: " << e.what() << "\n";
  return 1;
}
