/// @file
/// @brief Axes for the example plots: data ranges, "nice" tick values (1, 2, 5 × 10^k on
/// linear axes, decades on log axes) thinned until their labels no longer overlap, tick
/// labels with real minus signs and superscript exponents, the frame, and a legend placed in
/// the corner of the plot that hides the fewest data points.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nlm_examples/detail/canvas.hpp"

namespace nlm::examples::detail {

inline constexpr double tick_font = 12.0;
inline constexpr double label_font = 13.0;
inline constexpr double title_font = 16.0;
inline constexpr double tick_length = 5.0;

/// An interval on an axis, in the axis' own coordinate: the value, or log10 of it on a
/// log axis.
struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();

  bool empty() const { return !(lo <= hi); }
  void add(double t) {
    if (std::isfinite(t)) {
      lo = std::min(lo, t);
      hi = std::max(hi, t);
    }
  }
};

/// One axis: a range in axis coordinates mapped onto pixels [p0, p1] (p1 < p0 for y).
struct Axis {
  Range range;
  bool log = false;
  double p0 = 0.0;
  double p1 = 1.0;

  /// The axis coordinate of a value: NaN for values a log axis cannot show.
  double coordinate(double v) const {
    if (!log) return v;
    return v > 0.0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN();
  }
  double pixel_of_coordinate(double t) const {
    return p0 + (t - range.lo) / (range.hi - range.lo) * (p1 - p0);
  }
  double pixel(double v) const { return pixel_of_coordinate(coordinate(v)); }
};

/// Widens an empty or zero-width range so it can be drawn, then pads it by `pad` of its
/// width on each side so no point sits on the frame.
inline Range padded(Range r, double pad) {
  if (r.empty()) return {0.0, 1.0};
  if (r.hi - r.lo <= 1e-12 * std::max(1.0, std::abs(r.lo))) {
    const double half = std::max(0.5, 0.1 * std::abs(r.lo));
    return {r.lo - half, r.hi + half};
  }
  const double d = (r.hi - r.lo) * pad;
  return {r.lo - d, r.hi + d};
}

struct Ticks {
  std::vector<double> major;  ///< axis coordinates, each with a label
  std::vector<std::string> labels;
  std::vector<double> minor;  ///< axis coordinates, unlabelled
};

inline std::string superscript(long long k) {
  static constexpr std::array<const char*, 10> digits = {
      "\xE2\x81\xB0", "\xC2\xB9",     "\xC2\xB2",     "\xC2\xB3",     "\xE2\x81\xB4",
      "\xE2\x81\xB5", "\xE2\x81\xB6", "\xE2\x81\xB7", "\xE2\x81\xB8", "\xE2\x81\xB9"};
  std::string out = k < 0 ? "\xE2\x81\xBB" : "";
  for (const char c : std::to_string(k < 0 ? -k : k))
    out += digits[static_cast<std::size_t>(c - '0')];
  return out;
}

/// Replaces a leading hyphen by the typographic minus sign U+2212.
inline std::string with_minus(std::string s) {
  if (!s.empty() && s.front() == '-') s.replace(0, 1, "\xE2\x88\x92");
  return s;
}

inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 12), v);
  return buf;
}

/// "2.5×10⁻⁵": mantissa to as many decimals as `step` needs at that exponent.
inline std::string scientific(double v, double step) {
  const int e = static_cast<int>(std::floor(std::log10(std::abs(v)) + 1e-9));
  const double unit = std::pow(10.0, e);
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step / unit) + 1e-9)));
  std::string mantissa = fixed(v / unit, std::min(decimals, 6));
  if (mantissa.find('.') != std::string::npos) {
    while (mantissa.back() == '0') mantissa.pop_back();
    if (mantissa.back() == '.') mantissa.pop_back();
  }
  if (mantissa == "1") return "10" + superscript(e);
  if (mantissa == "-1") return with_minus("-10" + superscript(e));
  const std::string times_ten = "\xC3\x97" "10";
  return with_minus(mantissa + times_ten + superscript(e));
}

/// Label of the linear tick v on an axis whose ticks are `step` apart and whose values
/// reach `magnitude`: fixed-point with the decimals the step needs, scientific when all
/// values are very large or very small.
inline std::string linear_label(double v, double step, double magnitude) {
  if (std::abs(v) < step * 1e-6) return "0";
  if (magnitude >= 1e6 || magnitude < 1e-3) return scientific(v, step);
  return with_minus(fixed(v, -static_cast<int>(std::floor(std::log10(step) + 1e-9))));
}

/// The step among 1, 2, 5 × 10^k closest to dividing `span` into `target` intervals.
inline double nice_step(double span, int target) {
  const double raw = span / std::max(1, target);
  const double unit = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / unit;
  return unit * (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0);
}

inline Ticks linear_ticks(Range r, int target) {
  Ticks t;
  const double step = nice_step(r.hi - r.lo, target);
  const double magnitude = std::max(std::abs(r.lo), std::abs(r.hi));
  for (auto k = static_cast<long long>(std::ceil(r.lo / step - 1e-9));
       k * step <= r.hi + step * 1e-9; ++k) {
    const double v = static_cast<double>(k) * step;
    t.major.push_back(v);
    t.labels.push_back(linear_label(v, step, magnitude));
  }
  return t;
}

/// Labels for values on a log axis, all in one style: plain numbers when every value lies
/// in [0.001, 10000), else 10ᵏ and m×10ᵏ.
inline std::vector<std::string> log_labels(const std::vector<double>& coordinates) {
  const bool plain = std::all_of(coordinates.begin(), coordinates.end(),
                                 [](double c) { return c >= -3.0 - 1e-9 && c < 4.0 - 1e-9; });
  std::vector<std::string> labels;
  for (const double c : coordinates) {
    const double v = std::pow(10.0, c);
    if (plain) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", v);
      labels.emplace_back(buf);
    } else {
      labels.push_back(scientific(v, v / 10.0));
    }
  }
  return labels;
}

/// Ticks for a log axis whose range is given in decades (log10 of the values): every
/// decade (or every few) when the range spans three or more, else 1, 2, 5 × 10^k when that
/// gives a few ticks, else linear ticks on the values themselves.
inline Ticks log_ticks(Range r, int target) {
  Ticks t;
  const auto first = static_cast<long long>(std::ceil(r.lo - 1e-9));
  const auto last = static_cast<long long>(std::floor(r.hi + 1e-9));
  const long long decades = last - first + 1;
  const auto decade_ticks = [&] {
    const long long every =
        std::max<long long>(1, static_cast<long long>(std::ceil(double(decades) / target)));
    for (long long k = first - 1; k <= last; ++k) {
      if (k >= first) (k % every == 0 ? t.major : t.minor).push_back(static_cast<double>(k));
      if (every == 1) {
        for (int m = 2; m <= 9; ++m) {
          const double c = static_cast<double>(k) + std::log10(m);
          if (c > r.lo && c < r.hi) t.minor.push_back(c);
        }
      }
    }
    for (const double c : t.major) t.labels.push_back("10" + superscript(std::llround(c)));
    return t;
  };
  if (decades >= 3) return decade_ticks();
  for (long long k = first - 2; k <= last + 1; ++k) {
    for (const double m : {1.0, 2.0, 5.0}) {
      const double c = static_cast<double>(k) + std::log10(m);
      if (c >= r.lo - 1e-9 && c <= r.hi + 1e-9) t.major.push_back(c);
    }
  }
  if (t.major.size() >= 2 && t.major.size() <= static_cast<std::size_t>(target) + 1) {
    t.labels = log_labels(t.major);
    return t;
  }
  t = {};
  if (decades == 2) return decade_ticks();
  const Ticks linear = linear_ticks({std::pow(10.0, r.lo), std::pow(10.0, r.hi)}, target);
  for (std::size_t i = 0; i < linear.major.size(); ++i) {
    if (linear.major[i] > 0.0) {
      t.major.push_back(std::log10(linear.major[i]));
      t.labels.push_back(linear.labels[i]);
    }
  }
  return t;
}

/// The densest ticks (at most `target` intervals) whose labels do not collide along an axis
/// of `length` pixels.
inline Ticks fitted_ticks(const Canvas& canvas, const Axis& axis, double length, int target,
                          bool horizontal) {
  const double scale = length / (axis.range.hi - axis.range.lo);
  Ticks t;
  for (int n = target; n >= 1; --n) {
    t = axis.log ? log_ticks(axis.range, n) : linear_ticks(axis.range, n);
    bool clear = true;
    for (std::size_t i = 1; i < t.major.size() && clear; ++i) {
      const double gap = (t.major[i] - t.major[i - 1]) * scale;
      const double half_widths = (canvas.text_width(t.labels[i - 1], tick_font) +
                                  canvas.text_width(t.labels[i], tick_font)) / 2.0;
      const double need = horizontal ? half_widths + 12.0 : canvas.line_height(tick_font) + 4.0;
      clear = gap >= need;
    }
    if (clear) return t;
  }
  return t;
}

inline double widest_label(const Canvas& canvas, const Ticks& t) {
  double w = 0.0;
  for (const auto& s : t.labels) w = std::max(w, canvas.text_width(s, tick_font));
  return w;
}

/// Grid lines behind the data of `plot`.
inline void draw_grid(const Canvas& c, Rect plot, const Axis& x, const Ticks& xt, const Axis& y,
                      const Ticks& yt) {
  for (const double t : xt.major) {
    const double px = x.pixel_of_coordinate(t);
    c.hairline(px, plot.y, px, plot.bottom(), grid_grey);
  }
  for (const double t : yt.major) {
    const double py = y.pixel_of_coordinate(t);
    c.hairline(plot.x, py, plot.right(), py, grid_grey);
  }
}

/// Frame, outward ticks on the bottom and left edges, and their labels (the x labels only
/// when `x_labels`, so stacked panels can share the bottom panel's).
inline void draw_frame(const Canvas& c, Rect plot, const Axis& x, const Ticks& xt, const Axis& y,
                       const Ticks& yt, bool x_labels) {
  const auto tick = [&](double x0, double y0, double x1, double y1) {
    c.hairline(x0, y0, x1, y1, ink);
  };
  for (std::size_t i = 0; i < xt.major.size(); ++i) {
    const double px = x.pixel_of_coordinate(xt.major[i]);
    tick(px, plot.bottom(), px, plot.bottom() + tick_length);
    if (x_labels) {
      c.text(xt.labels[i], std::floor(px) + 0.5, plot.bottom() + tick_length + 3.0, tick_font,
             HAlign::centre, VAlign::top);
    }
  }
  for (const double t : xt.minor) {
    const double px = x.pixel_of_coordinate(t);
    tick(px, plot.bottom(), px, plot.bottom() + tick_length / 2.0);
  }
  for (std::size_t i = 0; i < yt.major.size(); ++i) {
    const double py = y.pixel_of_coordinate(yt.major[i]);
    tick(plot.x - tick_length, py, plot.x, py);
    c.text(yt.labels[i], plot.x - tick_length - 4.0, std::floor(py) + 0.5, tick_font, HAlign::right,
           VAlign::middle);
  }
  for (const double t : yt.minor) {
    const double py = y.pixel_of_coordinate(t);
    tick(plot.x - tick_length / 2.0, py, plot.x, py);
  }
  c.colour(ink);
  cairo_set_line_width(c.cr(), 1.0);
  cairo_rectangle(c.cr(), std::floor(plot.x) + 0.5, std::floor(plot.y) + 0.5,
                  std::floor(plot.right()) - std::floor(plot.x),
                  std::floor(plot.bottom()) - std::floor(plot.y));
  cairo_stroke(c.cr());
}

struct LegendEntry {
  std::string name;
  Colour colour;
  enum class Kind { line, marker } kind = Kind::line;
  Marker marker = Marker::circle;
  std::optional<Colour> edge = std::nullopt;
  bool line_marker = false;  ///< a dot on the line sample, for series drawn with markers
};

inline constexpr double legend_font = 12.0;

inline void draw_legend_symbol(const Canvas& c, const LegendEntry& e, double x, double cy) {
  if (e.kind == LegendEntry::Kind::line) {
    c.colour(e.colour);
    cairo_set_line_width(c.cr(), 2.0);
    cairo_move_to(c.cr(), x, cy);
    cairo_line_to(c.cr(), x + 22.0, cy);
    cairo_stroke(c.cr());
    if (e.line_marker) c.marker(Marker::circle, x + 11.0, cy, 3.5, e.colour);
  } else {
    c.marker(e.marker, x + 11.0, cy, 4.0, e.colour, 1.0, e.edge ? &*e.edge : nullptr);
  }
}

/// A boxed legend inside `plot`, in whichever corner covers the fewest of `points` (pixel
/// coordinates), preferring top right, top left, bottom right, bottom left on ties.
inline void draw_legend(const Canvas& c, Rect plot, const std::vector<LegendEntry>& entries,
                        std::span<const std::array<double, 2>> points) {
  if (entries.empty()) return;
  const double row = c.line_height(legend_font) + 4.0;
  double w = 0.0;
  for (const auto& e : entries) w = std::max(w, c.text_width(e.name, legend_font));
  w += 22.0 + 8.0 + 16.0;
  const double h = row * static_cast<double>(entries.size()) + 8.0;
  const double m = 8.0;
  const std::array<Rect, 4> corners = {Rect{plot.right() - m - w, plot.y + m, w, h},
                                       Rect{plot.x + m, plot.y + m, w, h},
                                       Rect{plot.right() - m - w, plot.bottom() - m - h, w, h},
                                       Rect{plot.x + m, plot.bottom() - m - h, w, h}};
  std::size_t best = 0;
  std::size_t fewest = std::numeric_limits<std::size_t>::max();
  for (std::size_t i = 0; i < corners.size(); ++i) {
    const auto n =
        static_cast<std::size_t>(std::count_if(points.begin(), points.end(), [&](const auto& p) {
          return corners[i].contains(p[0], p[1]);
        }));
    if (n < fewest) {
      fewest = n;
      best = i;
    }
  }
  const Rect box = corners[best];
  c.colour({1.0, 1.0, 1.0}, 0.85);
  cairo_rectangle(c.cr(), std::floor(box.x) + 0.5, std::floor(box.y) + 0.5, std::floor(box.w),
                  std::floor(box.h));
  cairo_fill_preserve(c.cr());
  c.colour(rgb(0xcccccc));
  cairo_set_line_width(c.cr(), 1.0);
  cairo_stroke(c.cr());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const double cy = box.y + 4.0 + row * (static_cast<double>(i) + 0.5);
    draw_legend_symbol(c, entries[i], box.x + 8.0, cy);
    c.text(entries[i].name, box.x + 8.0 + 22.0 + 8.0, cy, legend_font, HAlign::left,
           VAlign::middle);
  }
}

}  // namespace nlm::examples::detail
