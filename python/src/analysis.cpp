// nlm's Python module, its analyses and files: AIS results, the fixed-point census as a dict,
// J_sym/J_anti and asymmetry, mixing diagnostics, update statistics and power-law fits, the
// sample-quality metrics (Fréchet distances, adversarial accuracy, moments, inverted
// backgrounds, a softmax classifier), model files and IDX data.
#include <pybind11/complex.h>

#include <array>
#include <complex>
#include <cstdio>
#include <string>
#include <vector>

#include <nlm/data/idx.hpp>
#include <nlm/training/callbacks/update_statistics.hpp>

#include "common.hpp"

namespace nlm_python {

py::dict ais_result_dict(const nlm::AisResult& r, const nlm::AisOptions& o) {
  py::dict d;
  d["log_z"] = r.log_z;
  d["standard_error"] = r.standard_error;
  d["uncertainty"] = r.uncertainty;
  d["ess"] = r.ess;
  d["run_log_z"] = r.run_log_z;
  d["run_standard_error"] = r.run_standard_error;
  d["run_ess"] = r.run_ess;
  d["run_spread"] = r.run_spread;
  d["acceptance"] = r.acceptance;
  d["model_end_acceptance"] = r.model_end_acceptance;
  d["reverse"] = r.reverse;
  d["warnings"] = nlm::ais_warnings(r, o);
  d["log_weights"] = py::array_t<double>(py::ssize_t(r.log_weights.size()), r.log_weights.data());
  return d;
}

py::dict census_dict(const nlm::FixedPointCensus& c, std::size_t neurons) {
  const auto points = [&](const std::vector<nlm::CriticalPoint>& ps) {
    py::dict d;
    nlm::Matrix<double> states = nlm::Matrix<double>::from_shape({ps.size(), neurons});
    std::vector<double> energy, basin, max_real;
    std::vector<bool> stable;
    py::list spectra;
    for (std::size_t i = 0; i < ps.size(); ++i) {
      std::copy_n(ps[i].state.data(), neurons, states.data() + i * neurons);
      energy.push_back(ps[i].energy);
      basin.push_back(ps[i].basin);
      max_real.push_back(ps[i].max_real);
      stable.push_back(ps[i].stable);
      spectra.append(py::array_t<std::complex<double>>(py::ssize_t(ps[i].eigenvalues.size()), ps[i].eigenvalues.data()));
    }
    d["states"] = to_numpy(states);
    d["energy"] = energy;
    d["basin"] = basin;
    d["max_real"] = max_real;
    d["stable"] = stable;
    d["eigenvalues"] = spectra;
    return d;
  };
  py::dict d;
  d["fixed_points"] = points(c.fixed_points);
  d["slow_points"] = points(c.slow_points);
  d["starts"] = c.starts;
  d["not_converged"] = c.not_converged;
  d["outcome"] = c.outcome;
  return d;
}

namespace {

py::dict window_dict(const nlm::UpdateWindow& w) {
  const nlm::LogHistogram& h = w.histogram;
  py::dict d;
  d["first"] = w.first;
  d["end"] = w.end;
  d["updates"] = w.updates;
  d["values_per_update"] = w.values_per_update;
  std::vector<double> counts(h.counts().begin(), h.counts().end());
  d["counts"] = py::array_t<double>(py::ssize_t(counts.size()), counts.data());
  d["edges"] = py::array_t<double>(py::ssize_t(h.edges().size()), h.edges().data());
  d["zeros"] = h.zeros();
  d["below"] = h.below();
  d["above"] = h.above();
  d["non_finite"] = h.non_finite();
  d["total"] = h.total();
  d["sample"] = py::array_t<double>(py::ssize_t(w.sample.size()), w.sample.data());
  return d;
}

py::dict power_law_dict(const nlm::PowerLawFit& f) {
  py::dict d;
  d["alpha"] = f.alpha;
  d["alpha_se"] = f.alpha_se;
  d["xmin"] = f.xmin;
  d["ks"] = f.ks;
  d["n"] = f.n;
  d["n_tail"] = f.n_tail;
  d["p_value"] = f.p_value;
  d["decades"] = f.decades;
  d["vs_exponential"] = py::make_tuple(f.vs_exponential.r, f.vs_exponential.p);
  d["vs_lognormal"] = py::make_tuple(f.vs_lognormal.r, f.vs_lognormal.p);
  d["lognormal_mu"] = f.lognormal_mu;
  d["lognormal_sigma"] = f.lognormal_sigma;
  d["plausible"] = f.plausible_power_law();
  d["verdict"] = f.verdict();
  return d;
}

py::dict assignment_dict(const nlm::ClassAssignment& a) {
  py::dict d;
  d["classes"] = std::vector<int>(a.classes.begin(), a.classes.end());
  d["count"] = a.count;
  d["confident"] = a.confident;
  d["confident_fraction"] = a.confident_fraction;
  d["class_counts"] = a.class_counts;
  d["class_fractions"] = a.class_fractions;
  d["balance_ratio"] = a.balance_ratio;
  d["balance_entropy"] = a.balance_entropy;
  // 95 % intervals (nlm/analysis/intervals.hpp): Wilson; the shares jointly; the entropy's range
  if (a.count > 0) {
    const nlm::AssignmentIntervals iv = nlm::assignment_intervals(a);
    const auto pair = [](const nlm::Interval& i) { return py::make_tuple(i.lower, i.upper); };
    d["confident_fraction_interval"] = pair(iv.confident_fraction);
    py::list shares;
    for (const nlm::Interval& i : iv.class_fractions) shares.append(pair(i));
    d["class_fraction_intervals"] = shares;
    d["balance_entropy_interval"] = pair(iv.balance_entropy);
  }
  return d;
}

/// The magic number of an IDX file (plain or gzipped: the first 4 decompressed bytes), 0 when
/// the file is shorter; a wrong one is left to the reader's message.
std::uint32_t idx_magic(const std::string& path) {
  nlm::data::detail::byte_source in{std::filesystem::path(path)};
  std::array<std::uint8_t, 4> head{};
  if (in.read(head.data(), head.size()) < head.size()) return 0;
  return (std::uint32_t(head[0]) << 24) | (std::uint32_t(head[1]) << 16) | (std::uint32_t(head[2]) << 8) | head[3];
}

}  // namespace

void bind_analysis(py::module_& m) {
  m.def("asymmetry", [](const py::object& J) { return nlm::asymmetry(to_matrix<double>(J, "J")); }, py::arg("J"),
        "||J - J^T|| / ||J|| (Frobenius): 0 for a symmetric J, 2 for an antisymmetric one");
  m.def("split_symmetric", [](const py::object& J) {
    const nlm::SymmetricSplit split = nlm::split_symmetric(to_matrix<double>(J, "J"));
    return py::make_tuple(to_numpy(split.symmetric), to_numpy(split.antisymmetric));
  }, py::arg("J"), "(J_sym, J_anti) = ((J + J^T)/2, (J - J^T)/2), float64");
  m.def("mixing_summary", [](const py::object& draws) {
    const nlm::Matrix<double> x = to_matrix<double>(draws, "draws (chains, draws per chain)");
    std::vector<std::vector<double>> chains(x.shape(0));
    for (std::size_t c = 0; c < x.shape(0); ++c) chains[c].assign(x.data() + c * x.shape(1), x.data() + (c + 1) * x.shape(1));
    const nlm::MixingSummary s = nlm::mixing_summary(chains);
    py::dict d;
    d["tau"] = s.tau;
    d["window"] = s.window;
    d["ess"] = s.ess;
    d["split_rhat"] = s.split_rhat;
    return d;
  }, py::arg("draws"),
        "tau_int (in draws), the window it was summed to, ESS and split-R-hat of a statistic recorded along "
        "several chains: draws of shape (chains, draws per chain)");

  // ---- update statistics and power laws -------------------------------------------------
  py::class_<nlm::UpdateStatistics>(m, "UpdateStatistics", R"(Records the magnitudes |ΔJ_ij| of every
coupling step a Machine.train(statistics=...) call applies (and, with record_signal, of the
learning signal M − D before the step rule) into log-binned histograms per window of updates,
with a uniform sample of the values per window for fit_power_law. Windows: decades of the
update number [1, 10), [10, 100), ... (window_length=0) or runs of window_length updates.)")
      .def(py::init([](std::uint64_t window_length, bool record_signal, int per_octave, std::size_t samples_per_update,
                       std::size_t sample_capacity, std::uint64_t seed) {
             nlm::UpdateStatisticsOptions o;
             o.window_length = window_length;
             o.record_signal = record_signal;
             o.per_octave = per_octave;
             o.samples_per_update = samples_per_update;
             o.sample_capacity = sample_capacity;
             o.seed = seed;
             return nlm::UpdateStatistics(o);
           }),
           py::arg("window_length") = 0, py::arg("record_signal") = false, py::arg("per_octave") = 4,
           py::arg("samples_per_update") = 2000, py::arg("sample_capacity") = 10000, py::arg("seed") = 0)
      .def("step_windows", [](const nlm::UpdateStatistics& s) {
             py::list l;
             for (const auto& w : s.step_windows()) l.append(window_dict(w));
             return l;
           },
           "the windows of the applied steps, each a dict: first, end, updates, values_per_update, counts and "
           "edges (the log-binned histogram; one more edge than counts), zeros, below, above, non_finite, total, "
           "sample (|values| kept for the tail fit)")
      .def("signal_windows", [](const nlm::UpdateStatistics& s) {
             py::list l;
             for (const auto& w : s.signal_windows()) l.append(window_dict(w));
             return l;
           }, "the windows of the learning signal (empty unless record_signal)")
      .def("save", [](const nlm::UpdateStatistics& s, const std::string& directory) {
             nlm::save_update_windows(directory, s.step_windows(), "steps_");
             if (!s.signal_windows().empty()) nlm::save_update_windows(directory, s.signal_windows(), "signal_");
           }, py::arg("directory"),
           "writes steps_<a>-<b>_nums.npy / _xbins.npy per window and steps_windows.csv (and signal_...), the "
           "files mnist_train --update-stats writes");
  m.def("fit_power_law",
        [](const py::object& values, std::size_t candidates, std::size_t min_tail, std::size_t bootstrap,
           std::uint64_t seed, double fixed_xmin) {
          const nlm::Vector<double> v = to_vector<double>(values, "values");
          nlm::PowerLawOptions o;
          o.candidates = candidates;
          o.min_tail = min_tail;
          o.bootstrap = bootstrap;
          o.seed = seed;
          o.fixed_xmin = fixed_xmin;
          nlm::PowerLawFit f;
          {
            py::gil_scoped_release release;
            f = nlm::fit_power_law(std::span<const double>(v.data(), v.size()), o);
          }
          return power_law_dict(f);
        },
        py::arg("values"), py::arg("candidates") = 100, py::arg("min_tail") = 50, py::arg("bootstrap") = 100,
        py::arg("seed") = 0, py::arg("fixed_xmin") = 0.0,
        R"(The Clauset-Shalizi-Newman fit of a power-law tail p(x) ∝ x^−alpha to the positive `values`:
x_min by the KS distance over `candidates` quantiles (or fixed_xmin > 0), alpha by maximum
likelihood, the bootstrap p-value over `bootstrap` synthetic sets, Vuong's tests against the
exponential and the log-normal. Returns a dict: alpha, alpha_se, xmin, ks, n, n_tail, p_value,
decades, vs_exponential and vs_lognormal (R, p), lognormal_mu, lognormal_sigma, plausible,
verdict.)");

  // ---- sample-quality metrics (rows are samples, values in [-1, 1]) --------------------
  m.def("frechet_distance", [](const py::object& a, const py::object& b) {
    return nlm::frechet_distance(to_matrix<double>(a, "a"), to_matrix<double>(b, "b"));
  }, py::arg("a"), py::arg("b"), "the Fréchet distance between the Gaussians fitted to the rows of a and of b");
  m.def("pca_frechet_distance", [](const py::object& samples, const py::object& reference, std::size_t components) {
    const nlm::Matrix<double> ref = to_matrix<double>(reference, "reference");
    const nlm::PcaFrechetDistance<double> fd(ref, components);
    return fd.distance(to_matrix<double>(samples, "samples", ref.shape(1)));
  }, py::arg("samples"), py::arg("reference"), py::arg("components") = 20,
        "the Fréchet distance in the space of the reference's first `components` principal components (report "
        "it as a ratio to the same distance of other real data)");
  m.def("adversarial_accuracy", [](const py::object& real, const py::object& synthetic) {
    const nlm::Matrix<double> r = to_matrix<double>(real, "real");
    const nlm::AdversarialAccuracy a = nlm::adversarial_accuracy(r, to_matrix<double>(synthetic, "synthetic", r.shape(1)));
    py::dict d;
    d["value"] = a.value;
    d["real"] = a.real;
    d["synthetic"] = a.synthetic;
    d["count"] = a.count;
    return d;
  }, py::arg("real"), py::arg("synthetic"),
        "the nearest-neighbour adversarial accuracy AA_TS (0.5 ideal; well below 0.5: copies) of two sets of "
        "equal size: a dict value, real, synthetic, count");
  m.def("moment_errors", [](const py::object& samples, const py::object& reference) {
    const nlm::Matrix<double> r = to_matrix<double>(reference, "reference");
    const nlm::MomentErrors e =
        nlm::moment_errors(nlm::moments(to_matrix<double>(samples, "samples", r.shape(1))), nlm::moments(r));
    py::dict d;
    d["mean_rms"] = e.mean_rms;
    d["covariance_rms"] = e.covariance_rms;
    d["covariance_relative"] = e.covariance_relative;
    return d;
  }, py::arg("samples"), py::arg("reference"),
        "errors of the samples' means and covariance against the reference's: mean_rms, covariance_rms, "
        "covariance_relative (||Σs − Σr||_F / ||Σr||_F)");
  m.def("inverted_fraction", [](const py::object& images, std::size_t border, double threshold) {
    return nlm::inverted_fraction(to_matrix<double>(images, "images"), nlm::BorderRule{border, threshold});
  }, py::arg("images"), py::arg("border") = 2, py::arg("threshold") = 0.0,
        "the fraction of square images (one per row, values in [-1, 1]) whose outer frame of `border` pixels "
        "has a mean above `threshold`: a light, inverted background");
  py::class_<nlm::SoftmaxClassifier>(m, "Classifier", R"(A softmax (multinomial logistic) classifier with L2
penalty trained by L-BFGS on real images: how many generated samples it confidently assigns to
the classes, and how balanced they are.)")
      .def(py::init([](const py::object& x, const py::object& labels, double l2, std::size_t max_iterations,
                       double flip_noise, std::uint64_t seed) {
             const nlm::Matrix<double> images = to_matrix<double>(x, "x");
             const std::vector<std::uint8_t> l = to_classes(labels, "labels");
             nlm::ClassifierOptions o;
             o.l2 = l2;
             o.max_iterations = max_iterations;
             o.flip_noise = flip_noise;
             o.seed = seed;
             py::gil_scoped_release release;
             return nlm::SoftmaxClassifier(images, l, o);
           }),
           py::arg("x"), py::arg("labels"), py::arg("l2") = nlm::ClassifierOptions{}.l2,
           py::arg("max_iterations") = nlm::ClassifierOptions{}.max_iterations, py::arg("flip_noise") = 0.0,
           py::arg("seed") = 0,
           "trains on x (samples, features) with labels 0-255; flip_noise: the fraction of pixels flipped in an "
           "augmented copy of the data (robustness to the samples' speckle)")
      .def_property_readonly("classes", [](const nlm::SoftmaxClassifier& c) {
             return std::vector<int>(c.classes().begin(), c.classes().end());
           })
      .def_property_readonly("converged", &nlm::SoftmaxClassifier::converged)
      .def_property_readonly("iterations", &nlm::SoftmaxClassifier::iterations)
      .def("probabilities", [](const nlm::SoftmaxClassifier& c, const py::object& x) {
             return to_numpy(c.probabilities(to_matrix<double>(x, "x")));
           }, py::arg("x"), "class probabilities, (rows, classes) in the order of .classes")
      .def("predict", [](const nlm::SoftmaxClassifier& c, const py::object& x) {
             const std::vector<std::uint8_t> p = c.predict(to_matrix<double>(x, "x"));
             py::array_t<std::uint8_t> a(py::ssize_t(p.size()));
             std::copy(p.begin(), p.end(), a.mutable_data());
             return a;
           }, py::arg("x"))
      .def("accuracy", [](const nlm::SoftmaxClassifier& c, const py::object& x, const py::object& labels) {
             return c.accuracy(to_matrix<double>(x, "x"), to_classes(labels, "labels"));
           }, py::arg("x"), py::arg("labels"))
      .def("assign", [](const nlm::SoftmaxClassifier& c, const py::object& x, double confidence) {
             return assignment_dict(c.assign(to_matrix<double>(x, "x"), confidence));
           }, py::arg("x"), py::arg("confidence") = 0.9,
           "a dict: count, confident (max p >= confidence), confident_fraction, class_counts and class_fractions "
           "of the confident ones, balance_ratio (max/min count), balance_entropy (entropy / log C, 1 ideal), and "
           "95 % intervals: confident_fraction_interval (Wilson), class_fraction_intervals (jointly), "
           "balance_entropy_interval (its range over those shares); samples taken as independent draws");

  // ---- files ----------------------------------------------------------------------------
  m.def("read_model", [](const std::string& path) {
    require_file(path);
    nlm::SavedModel<double> s = reading_file([&] { return nlm::read_model<double>(path); });
    py::dict d;
    d["kind"] = s.kind;
    d["J"] = to_numpy(s.couplings);
    d["b"] = to_numpy(s.field);
    d["updates"] = s.updates;
    d["neurons"] = s.neurons();
    d["layout"] = s.layout ? py::cast(*s.layout) : py::none();
    return d;
  }, py::arg("path"), "reads a model file or checkpoint: a dict with kind, J, b (float64), updates, neurons, layout");
  m.def("load_idx", [](const std::string& path) -> py::object {
    require_file(path);
    if (idx_magic(path) == nlm::data::idx1_magic) {
      const std::vector<std::uint8_t> labels = nlm::data::read_idx_labels(path);
      py::array_t<std::uint8_t> a(py::ssize_t(labels.size()));
      std::copy(labels.begin(), labels.end(), a.mutable_data());
      return a;
    }
    const nlm::data::images im = nlm::data::read_idx_images(path);
    py::array_t<std::uint8_t> a({im.count, im.rows, im.cols});
    std::copy(im.pixels.begin(), im.pixels.end(), a.mutable_data());
    return a;
  }, py::arg("path"),
        "reads an IDX file (MNIST's format; plain or gzipped): images as uint8 (count, rows, cols), labels as "
        "uint8 (count,). Bytes are 0-255: x = 2 v / 255 − 1 are the NLM's values.");
}

}  // namespace nlm_python
