/// @file uci_digits.hpp
/// @brief The UCI 8×8 handwritten digits (1 797 images; the data of scikit-learn's
/// `load_digits`), as Debian's python3-sklearn ships them: `digits.csv.gz`, one image per line,
/// 64 pixel values 0–16 (row-major) and the label 0–9, comma-separated. scripts/get_digits.sh
/// fetches the file. The free-energy attractor network's reference trains on them.
///
/// `read_uci_digits` reads the file (gzipped or plain) strictly: every malformed input (a damaged
/// or truncated gzip stream, a line of another width, a value that is not a whole number in
/// range) is an `idx_error` naming the file, the line and the field. `uci_digit_patterns` is the
/// reference's preprocessing: pixels squared, then each image z-scored (its mean subtracted,
/// divided by its population standard deviation).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <array>
#include <vector>

#include "../types.hpp"
#include "idx.hpp"

namespace nlm::data {

struct uci_digits {
  static constexpr std::size_t pixels_per_image = 64;  ///< 8 × 8
  std::size_t count = 0;
  std::vector<std::uint8_t> pixels;  ///< count × 64, image after image, 0–16
  std::vector<std::uint8_t> labels;  ///< 0–9
};

namespace detail {

/// A whole number written as digits, optionally followed by ".0…" ("3", "3.0"); -1 otherwise
/// (or above 255).
inline int whole_number(std::string_view t) {
  std::size_t i = 0;
  int value = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
    value = value * 10 + (t[i] - '0');
    if (value > 255) return -1;
    ++i;
  }
  if (i == 0) return -1;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] == '0') ++i;
  }
  return i == t.size() ? value : -1;
}

/// Parses the CSV text of the digits (see the file's comment); `name` starts the messages.
inline uci_digits parse_uci_digits(std::string_view text, const std::string& name) {
  uci_digits d;
  std::size_t line = 0;
  while (!text.empty()) {
    ++line;
    const std::size_t end = text.find('\n');
    std::string_view row = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    const auto fail = [&](const std::string& what) {
      throw idx_error(name + ": line " + std::to_string(line) + ": " + what);
    };
    if (row.empty()) {
      if (text.empty()) break;  // a final newline
      fail("empty line");
    }
    std::size_t field = 0;
    while (true) {
      const std::size_t comma = row.find(',');
      const std::string_view token = row.substr(0, comma);
      ++field;
      if (field > 65) fail("more than 65 fields (64 pixels and a label)");
      const int v = whole_number(token);
      if (v < 0) fail("field " + std::to_string(field) + ": \"" + std::string(token.substr(0, 20)) + "\" is not a whole number");
      if (field < 65 && v > 16) fail("field " + std::to_string(field) + ": pixel value " + std::to_string(v) + " is not in 0-16");
      if (field == 65 && v > 9) fail("field 65: label " + std::to_string(v) + " is not a digit 0-9");
      (field == 65 ? d.labels : d.pixels).push_back(std::uint8_t(v));
      if (comma == std::string_view::npos) break;
      row.remove_prefix(comma + 1);
    }
    if (field != 65) fail(std::to_string(field) + " fields, expected 65 (64 pixels and a label)");
    ++d.count;
  }
  if (d.count == 0) throw idx_error(name + ": no images");
  return d;
}

}  // namespace detail

namespace detail {
inline uci_digits read_uci_digits(byte_source& in, const std::string& name) {
  std::string text;
  std::array<std::uint8_t, 1 << 16> buf{};
  for (std::size_t got; (got = in.read(buf.data(), buf.size())) > 0;) {
    text.append(reinterpret_cast<const char*>(buf.data()), got);
    if (text.size() > (std::size_t(1) << 30)) throw idx_error(in.where() + "more than 1 GiB of text: not the digits file");
  }
  if (in.cut_short()) throw idx_error(in.where() + "gzip stream cut short after " + std::to_string(text.size()) + " bytes");
  return parse_uci_digits(text, name);
}
}  // namespace detail

/// Reads digits.csv.gz (or the plain CSV). @throws idx_error as described in the file's comment.
inline uci_digits read_uci_digits(const std::filesystem::path& path) {
  detail::byte_source in(path);
  return detail::read_uci_digits(in, path.string());
}

/// The same from bytes in memory (gzipped or plain); messages start with `name`.
inline uci_digits read_uci_digits(std::span<const std::uint8_t> bytes, const std::string& name) {
  detail::byte_source in(bytes, name);
  return detail::read_uci_digits(in, name);
}

/// The reference's patterns of the images `rows` (all when empty): x = v², then each image
/// z-scored with its population SD (an image of one value, SD 0, is left at 0).
template <Scalar S>
Matrix<S> uci_digit_patterns(const uci_digits& d, std::span<const std::size_t> rows = {}) {
  const std::size_t n = uci_digits::pixels_per_image, count = rows.empty() ? d.count : rows.size();
  Matrix<S> x = Matrix<S>::from_shape({count, n});
  for (std::size_t r = 0; r < count; ++r) {
    const std::size_t image = rows.empty() ? r : rows[r];
    if (image >= d.count)
      throw std::invalid_argument("uci_digit_patterns: image " + std::to_string(image) + " of " + std::to_string(d.count));
    double mean = 0, sq = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = double(d.pixels[image * n + i]);
      mean += v * v;
    }
    mean /= double(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double v = double(d.pixels[image * n + i]);
      sq += (v * v - mean) * (v * v - mean);
    }
    const double sd = std::sqrt(sq / double(n));
    for (std::size_t i = 0; i < n; ++i) {
      const double v = double(d.pixels[image * n + i]);
      x(r, i) = sd > 0 ? S((v * v - mean) / sd) : S(0);
    }
  }
  return x;
}

}  // namespace nlm::data
