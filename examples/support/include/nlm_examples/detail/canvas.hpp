/// @file
/// @brief A white cairo image surface with the few drawing operations the example pictures
/// need (aligned text, markers, polylines), and PNG output that reports cairo's own reason
/// when writing fails.
#pragma once

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

#include "nlm_examples/colour.hpp"

namespace nlm::examples::detail {

/// The font of all text; fontconfig substitutes a sans-serif face where DejaVu is missing.
inline constexpr const char* font_family = "DejaVu Sans";

enum class HAlign { left, centre, right };
/// Where the anchor point sits on the text: its baseline, or the top, middle or bottom of
/// the font's line box (ascent to descent), so labels line up whatever letters they hold.
enum class VAlign { baseline, top, middle, bottom };

enum class Marker { circle, square, triangle };

struct Rect {
  double x = 0.0;
  double y = 0.0;
  double w = 0.0;
  double h = 0.0;
  double right() const { return x + w; }
  double bottom() const { return y + h; }
  bool contains(double px, double py) const {
    return px >= x && px <= right() && py >= y && py <= bottom();
  }
};

[[noreturn]] inline void fail(const std::filesystem::path& path, const std::string& what,
                              cairo_status_t status) {
  throw std::runtime_error("nlm::examples: cannot " + what + " '" + path.string() +
                           "': " + cairo_status_to_string(status));
}

class Canvas {
 public:
  /// A width × height picture for `path`, filled white. The path is only used in messages
  /// until write_png.
  Canvas(std::filesystem::path path, int width, int height)
      : path_(std::move(path)),
        surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)),
        cr_(cairo_create(surface_.get())) {
    if (const auto status = cairo_status(cr_.get()); status != CAIRO_STATUS_SUCCESS) {
      fail(path_,
           "create a " + std::to_string(width) + "x" + std::to_string(height) + " picture for",
           status);
    }
    cairo_set_source_rgb(cr_.get(), 1.0, 1.0, 1.0);
    cairo_paint(cr_.get());
  }

  cairo_t* cr() const { return cr_.get(); }
  int width() const { return cairo_image_surface_get_width(surface_.get()); }
  int height() const { return cairo_image_surface_get_height(surface_.get()); }

  /// Sets one pixel's grey level directly, bypassing cairo's rasteriser, so image tiles are
  /// exact nearest-neighbour enlargements. Call begin_pixels / end_pixels around a batch.
  void begin_pixels() { cairo_surface_flush(surface_.get()); }
  void end_pixels() { cairo_surface_mark_dirty(surface_.get()); }
  void put_grey(int x, int y, std::uint8_t level) {
    auto* row = cairo_image_surface_get_data(surface_.get()) +
                static_cast<std::ptrdiff_t>(y) * cairo_image_surface_get_stride(surface_.get());
    reinterpret_cast<std::uint32_t*>(row)[x] =
        (std::uint32_t{level} << 16) | (std::uint32_t{level} << 8) | level;
  }

  /// Sets one pixel's colour directly (components in [0, 1]), as put_grey.
  void put_rgb(int x, int y, Colour c) {
    auto* row = cairo_image_surface_get_data(surface_.get()) +
                static_cast<std::ptrdiff_t>(y) * cairo_image_surface_get_stride(surface_.get());
    auto level = [](double v) { return std::uint32_t(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
    reinterpret_cast<std::uint32_t*>(row)[x] = (level(c.r) << 16) | (level(c.g) << 8) | level(c.b);
  }
  void colour(Colour c, double alpha = 1.0) const {
    cairo_set_source_rgba(cr(), c.r, c.g, c.b, alpha);
  }

  void fill_rect(Rect r, Colour c) const {
    colour(c);
    cairo_rectangle(cr(), r.x, r.y, r.w, r.h);
    cairo_fill(cr());
  }

  /// A one-pixel line between pixel centres, so horizontal and vertical rules stay sharp.
  void hairline(double x0, double y0, double x1, double y1, Colour c) const {
    colour(c);
    cairo_set_line_width(cr(), 1.0);
    cairo_move_to(cr(), std::floor(x0) + 0.5, std::floor(y0) + 0.5);
    cairo_line_to(cr(), std::floor(x1) + 0.5, std::floor(y1) + 0.5);
    cairo_stroke(cr());
  }

  /// A line through `count` points point(0) .. point(count − 1), each an {x, y} pair.
  template <class Point>
  void polyline(std::size_t count, Point&& point, Colour c, double width) const {
    if (count == 0) return;
    colour(c);
    cairo_set_line_width(cr(), width);
    cairo_set_line_join(cr(), CAIRO_LINE_JOIN_ROUND);
    const auto first = point(std::size_t{0});
    cairo_move_to(cr(), first[0], first[1]);
    for (std::size_t k = 1; k < count; ++k) {
      const auto p = point(k);
      cairo_line_to(cr(), p[0], p[1]);
    }
    cairo_stroke(cr());
  }

  void marker(Marker kind, double x, double y, double radius, Colour fill, double alpha = 1.0,
              const Colour* edge = nullptr) const {
    switch (kind) {
      case Marker::circle:
        cairo_new_sub_path(cr());
        cairo_arc(cr(), x, y, radius, 0.0, 2.0 * std::numbers::pi);
        break;
      case Marker::square:
        cairo_rectangle(cr(), x - radius, y - radius, 2.0 * radius, 2.0 * radius);
        break;
      case Marker::triangle:
        cairo_move_to(cr(), x, y - 1.25 * radius);
        cairo_line_to(cr(), x + 1.1 * radius, y + 0.75 * radius);
        cairo_line_to(cr(), x - 1.1 * radius, y + 0.75 * radius);
        cairo_close_path(cr());
        break;
    }
    colour(fill, alpha);
    if (edge != nullptr) {
      cairo_fill_preserve(cr());
      colour(*edge);
      cairo_set_line_width(cr(), 1.0);
      cairo_stroke(cr());
    } else {
      cairo_fill(cr());
    }
  }

  void font(double size, bool bold = false) const {
    cairo_select_font_face(cr(), font_family, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr(), size);
  }

  double text_width(const std::string& s, double size, bool bold = false) const {
    font(size, bold);
    cairo_text_extents_t ext;
    cairo_text_extents(cr(), s.c_str(), &ext);
    return ext.x_advance;
  }

  /// Height of the font's line box (ascent + descent) at this size.
  double line_height(double size, bool bold = false) const {
    font(size, bold);
    cairo_font_extents_t fe;
    cairo_font_extents(cr(), &fe);
    return fe.ascent + fe.descent;
  }

  /// Writes `s` (UTF-8) anchored at (x, y), turned by `angle` radians about the anchor.
  void text(const std::string& s, double x, double y, double size, HAlign h, VAlign v,
            Colour c = ink, bool bold = false, double angle = 0.0) const {
    font(size, bold);
    cairo_font_extents_t fe;
    cairo_font_extents(cr(), &fe);
    cairo_text_extents_t te;
    cairo_text_extents(cr(), s.c_str(), &te);
    const double dx = h == HAlign::left     ? 0.0
                      : h == HAlign::centre ? -te.x_advance / 2.0
                                            : -te.x_advance;
    const double dy = v == VAlign::baseline ? 0.0
                      : v == VAlign::top    ? fe.ascent
                      : v == VAlign::middle ? (fe.ascent - fe.descent) / 2.0
                                            : -fe.descent;
    cairo_save(cr());
    cairo_translate(cr(), x, y);
    cairo_rotate(cr(), angle);
    cairo_move_to(cr(), dx, dy);
    colour(c);
    cairo_show_text(cr(), s.c_str());
    cairo_restore(cr());
  }

  /// Writes `s` centred in `width` pixels at `size`, shrunk (down to 7 px) until it fits.
  void fitted_text(const std::string& s, double cx, double y, double width, double size, VAlign v,
                   bool bold = false) const {
    const double w = text_width(s, size, bold);
    const double fitted = w > width ? std::max(7.0, size * width / w) : size;
    text(s, cx, y, fitted, HAlign::centre, v, ink, bold);
  }

  void write_png() const {
    cairo_surface_flush(surface_.get());
    if (const auto status = cairo_status(cr_.get()); status != CAIRO_STATUS_SUCCESS) {
      fail(path_, "draw", status);
    }
    const std::string name = path_.string();
    if (const auto status = cairo_surface_write_to_png(surface_.get(), name.c_str());
        status != CAIRO_STATUS_SUCCESS) {
      fail(path_, "write PNG", status);
    }
  }

 private:
  struct SurfaceDeleter {
    void operator()(cairo_surface_t* s) const noexcept { cairo_surface_destroy(s); }
  };
  struct ContextDeleter {
    void operator()(cairo_t* c) const noexcept { cairo_destroy(c); }
  };

  std::filesystem::path path_;
  std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface_;
  std::unique_ptr<cairo_t, ContextDeleter> cr_;
};

}  // namespace nlm::examples::detail
