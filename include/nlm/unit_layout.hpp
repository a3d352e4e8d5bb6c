/// @file unit_layout.hpp
/// @brief Which neurons are what: image (visible) units, label units, latent units.
///
/// A machine trained with label or latent units has more neurons than an image has pixels:
/// label units carry the class (clamped in training, read out or clamped later), latent units
/// are hidden and sampled from p(z | v) in the data phase. The layout is the order every part of nlm uses:
///
///     [ visible 0 .. V ) [ labels V .. V+K ) [ latent V+K .. V+K+H )
///
/// Each class has `units_per_class` label units (class k's are units V + k·m … V + k·m + m − 1);
/// their data value is `+label_scale` for an image of that class and `−label_scale` otherwise.
/// More units per class give the labels a stronger pull on the image (their drive adds up). The layout travels with the couplings as a small
/// text file (`save_layout`, `load_layout`), so that the programs using a J know which of its
/// units are labels. It also builds the clamps that condition on an image or on a class.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "types.hpp"

namespace nlm {

/// A clamp for a set of chains: `mask` (1 where held) and the values held there, one row per
/// chain or a single row for all (Chains::clamp's arguments).
template <Scalar S>
struct Clamp {
  xt::xtensor<std::uint8_t, 2> mask;
  Matrix<S> values;
};

struct UnitLayout {
  std::size_t visible = 0;             ///< image units (pixels), first
  std::vector<std::uint8_t> classes;   ///< the classes of the label units, after the image
  std::size_t units_per_class = 1;     ///< m: label units per class
  double label_scale = 1.0;            ///< a: a label unit's data value is ±a
  std::size_t latent = 0;              ///< units the data never specify, last
  std::size_t images = 0;              ///< training images, 0: unknown
  std::size_t held_out = 0;            ///< digits of each class held out of training (the last ones)
  /// The image shape of the visible units (rows × cols = visible); 0 × 0: a square when
  /// `visible` is one, else the visible units are not an image (see image_shape()).
  std::size_t image_rows = 0, image_cols = 0;

  std::size_t labels() const noexcept { return classes.size() * units_per_class; }
  std::size_t neurons() const noexcept { return visible + labels() + latent; }
  std::size_t first_label() const noexcept { return visible; }
  std::size_t first_latent() const noexcept { return visible + labels(); }

  /// The visible units' image shape {rows, cols}: the one given, else a square when `visible`
  /// is one (784: 28 × 28), else {0, 0} (not an image: drawn as plots).
  std::array<std::size_t, 2> image_shape() const noexcept {
    if (image_rows != 0) return {image_rows, image_cols};
    const auto side = std::size_t(std::llround(std::sqrt(double(visible))));
    if (side * side == visible) return {side, side};
    return {0, 0};
  }

  /// Throws unless the layout is usable: some visible units, distinct classes, a finite a > 0,
  /// an image shape (when given) of `visible` pixels.
  void validate() const {
    if (visible == 0) throw std::invalid_argument("unit layout: no visible units");
    if ((image_rows != 0 || image_cols != 0) && image_rows * image_cols != visible)
      throw std::invalid_argument("unit layout: the image shape " + std::to_string(image_rows) + "x" +
                                  std::to_string(image_cols) + " is not " + std::to_string(visible) +
                                  " visible units");
    for (std::size_t i = 0; i < classes.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (classes[i] == classes[j])
          throw std::invalid_argument("unit layout: class " + std::to_string(classes[i]) +
                                      " has two label units");
    if (units_per_class == 0) throw std::invalid_argument("unit layout: units_per_class must be > 0");
    if (!(std::isfinite(label_scale) && label_scale > 0))
      throw std::invalid_argument("unit layout: the label scale must be finite and > 0, got " +
                                  std::to_string(label_scale));
  }

  /// Throws unless a machine (or J) of `n` neurons has this layout, naming both sizes.
  void require_neurons(std::size_t n, const std::string& what) const {
    if (n != neurons())
      throw std::invalid_argument(what + " has " + std::to_string(n) + " neurons, the unit layout " +
                                  std::to_string(neurons()) + " (" + std::to_string(visible) + " image + " +
                                  std::to_string(labels()) + " label + " + std::to_string(latent) +
                                  " latent units)");
  }

  /// The index of class `c` among the classes, or a sentence naming the classes.
  std::size_t label_of(std::uint8_t c) const {
    const auto it = std::find(classes.begin(), classes.end(), c);
    if (it == classes.end()) {
      std::string known;
      for (const auto k : classes) {
        if (!known.empty()) known += ',';
        known += std::to_string(k);
      }
      throw std::invalid_argument("class " + std::to_string(c) + " is not among the trained classes (" +
                                  (known.empty() ? "the model has no label units" : known) + ")");
    }
    return std::size_t(it - classes.begin());
  }

  /// The data vectors of `images` (one per row, `visible` columns) with their labels' codes
  /// appended and the latent units at 0: rows of `neurons()` values.
  template <Scalar S>
  Matrix<S> data_rows(const Matrix<S>& images, const std::vector<std::uint8_t>& image_labels) const {
    if (images.shape(1) != visible)
      throw std::invalid_argument("unit layout: the images have " + std::to_string(images.shape(1)) +
                                  " pixels, the layout " + std::to_string(visible));
    if (labels() > 0 && image_labels.size() != images.shape(0))
      throw std::invalid_argument("unit layout: " + std::to_string(image_labels.size()) + " labels for " +
                                  std::to_string(images.shape(0)) + " images");
    const std::size_t n = neurons();
    Matrix<S> out = xt::zeros<S>({images.shape(0), n});
    for (std::size_t r = 0; r < images.shape(0); ++r) {
      std::copy_n(images.data() + r * visible, visible, out.data() + r * n);
      if (labels() > 0) write_code(label_of(image_labels[r]), out.data() + r * n + first_label());
    }
    return out;
  }

  /// The clamp that holds the visible units of each chain at its image where `observed` (one
  /// row per image, or one row for all) is non-zero; labels and latent units stay free.
  template <Scalar S>
  Clamp<S> image_clamp(const Matrix<S>& images, const xt::xtensor<std::uint8_t, 2>& observed) const {
    if (images.shape(1) != visible || observed.shape(1) != visible)
      throw std::invalid_argument("unit layout: image clamp of " + std::to_string(images.shape(1)) +
                                  " values and a mask of " + std::to_string(observed.shape(1)) +
                                  " pixels, the layout has " + std::to_string(visible) + " visible units");
    if (observed.shape(0) != 1 && observed.shape(0) != images.shape(0))
      throw std::invalid_argument("unit layout: the observed-pixel mask has " + std::to_string(observed.shape(0)) +
                                  " rows for " + std::to_string(images.shape(0)) + " images");
    const std::size_t n = neurons(), b = images.shape(0);
    Clamp<S> c{xt::zeros<std::uint8_t>({b, n}), xt::zeros<S>({b, n})};
    for (std::size_t r = 0; r < b; ++r) {
      const std::uint8_t* m = observed.data() + (observed.shape(0) == 1 ? 0 : r) * visible;
      std::copy_n(m, visible, c.mask.data() + r * n);
      std::copy_n(images.data() + r * visible, visible, c.values.data() + r * n);
    }
    return c;
  }

  /// The clamp that holds the label units of chain r at class `wanted[r]`'s code (one class
  /// for all chains if `wanted` has one entry); the image and latent units stay free.
  template <Scalar S>
  Clamp<S> label_clamp(const std::vector<std::uint8_t>& wanted) const {
    if (labels() == 0) throw std::invalid_argument("unit layout: the model has no label units");
    const std::size_t n = neurons();
    Clamp<S> c{xt::zeros<std::uint8_t>({wanted.size(), n}), xt::zeros<S>({wanted.size(), n})};
    for (std::size_t r = 0; r < wanted.size(); ++r) {
      std::fill_n(c.mask.data() + r * n + first_label(), labels(), std::uint8_t(1));
      write_code(label_of(wanted[r]), c.values.data() + r * n + first_label());
    }
    return c;
  }

  /// For each row of `label_values` (rows × labels(): time-averaged label units), the class
  /// whose units have the largest mean.
  template <Scalar S>
  std::vector<std::uint8_t> predict(const Matrix<S>& label_values) const {
    if (labels() == 0 || label_values.shape(1) != labels())
      throw std::invalid_argument("unit layout: " + std::to_string(label_values.shape(1)) +
                                  " label values per row, the layout has " + std::to_string(labels()));
    std::vector<std::uint8_t> out(label_values.shape(0));
    const std::size_t m = units_per_class;
    for (std::size_t r = 0; r < out.size(); ++r) {
      const S* row = label_values.data() + r * labels();
      std::size_t best = 0;
      double best_sum = 0;
      for (std::size_t k = 0; k < classes.size(); ++k) {
        double sum = 0;
        for (std::size_t u = 0; u < m; ++u) sum += double(row[k * m + u]);
        if (k == 0 || sum > best_sum) best = k, best_sum = sum;
      }
      out[r] = classes[best];
    }
    return out;
  }

 private:
  template <class S>
  void write_code(std::size_t k, S* out) const {
    for (std::size_t j = 0; j < labels(); ++j) out[j] = S(j / units_per_class == k ? label_scale : -label_scale);
  }
};

/// `layout` as `key: value` lines (what save_layout writes and parse_layout reads).
inline std::string layout_text(const UnitLayout& layout) {
  layout.validate();
  std::ostringstream out;
  out << "# nlm unit layout: [visible][labels][latent]\n";
  out << "visible: " << layout.visible << "\n";
  out << "classes:";
  for (const auto c : layout.classes) out << ' ' << int(c);
  out << "\n";
  out.precision(17);
  out << "units_per_class: " << layout.units_per_class << "\n";
  out << "label_scale: " << layout.label_scale << "\n";
  out << "latent: " << layout.latent << "\n";
  out << "images: " << layout.images << "\n";
  out << "held_out: " << layout.held_out << "\n";
  if (layout.image_rows != 0) out << "image_shape: " << layout.image_rows << "x" << layout.image_cols << "\n";
  return out.str();
}

/// Writes `layout` to `path` as `key: value` lines, atomically.
inline void save_layout(const std::filesystem::path& path, const UnitLayout& layout) {
  const std::string text = layout_text(layout);
  io::write_atomically(path, [&](std::ostream& out) { out << text; });
}

/// Reads a layout from the text layout_text writes; a missing key, an unknown key or a bad
/// number is an error naming `name` (a file, or a file's section) and the line.
inline UnitLayout parse_layout(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  UnitLayout l;
  constexpr std::size_t key_count = 8;
  bool seen[key_count] = {};
  std::string line;
  std::size_t number = 0;
  const auto bad = [&](const std::string& why) {
    return std::runtime_error(name + ":" + std::to_string(number) + ": " + why);
  };
  const auto whole = [&](const std::string& v, unsigned long long max) {
    std::size_t used = 0;
    unsigned long long x = 0;
    try {
      x = std::stoull(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != v.size() || v[0] == '-' || x > max) throw bad("'" + v + "' is not a count");
    return std::size_t(x);
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) throw bad("expected 'key: value', got '" + line + "'");
    const std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    static const char* keys[key_count] = {"visible", "classes",  "label_scale",     "latent",
                                          "images",  "held_out", "units_per_class", "image_shape"};
    const auto k = std::size_t(std::find_if(keys, keys + key_count, [&](const char* s) { return key == s; }) - keys);
    if (k == key_count) throw bad("unknown key '" + key + "'");
    if (seen[k]) throw bad("'" + key + "' given twice");
    seen[k] = true;
    if (k == 0) l.visible = whole(value, ~0ull);
    if (k == 1) {
      std::istringstream items(value);
      std::string item;
      while (items >> item) l.classes.push_back(std::uint8_t(whole(item, 255)));
    }
    if (k == 2) {
      std::size_t used = 0;
      try {
        l.label_scale = std::stod(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != value.size()) throw bad("'" + value + "' is not a number");
    }
    if (k == 3) l.latent = whole(value, ~0ull);
    if (k == 4) l.images = whole(value, ~0ull);
    if (k == 5) l.held_out = whole(value, ~0ull);
    if (k == 6) l.units_per_class = whole(value, ~0ull);
    if (k == 7) {
      const auto x = value.find('x');
      if (x == std::string::npos) throw bad("'" + value + "' is not an image shape (rows x cols, as 28x28)");
      l.image_rows = whole(value.substr(0, x), ~0ull);
      l.image_cols = whole(value.substr(x + 1), ~0ull);
      if (l.image_rows == 0 || l.image_cols == 0) throw bad("the image shape '" + value + "' is empty");
    }
  }
  for (std::size_t k = 0; k < 4; ++k)
    if (!seen[k]) throw std::runtime_error(name + ": the unit layout has no '" +
                                           std::string(k == 0 ? "visible" : k == 1 ? "classes" : k == 2 ? "label_scale" : "latent") +
                                           "' line");
  try {
    l.validate();
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(name + ": " + e.what());
  }
  return l;
}

/// Reads a layout written by save_layout (parse_layout of the file's text).
inline UnitLayout load_layout(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open the unit layout");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_layout(text.str(), path.string());
}

/// The layout of a plain image model of `visible` pixels (no labels, no latent units).
inline UnitLayout image_layout(std::size_t visible) {
  UnitLayout l;
  l.visible = visible;
  return l;
}

}  // namespace nlm
