/// @file
/// @brief Pictures for the examples, drawn and written as PNG by cairo: grids of generated
/// images (the paper's Fig. 3), rows of chain snapshots over time, line plots (training
/// curves, single-neuron traces x_i(t) as in Fig. 2, stacked panels sharing x), and the
/// three-panel PCA figure of Fig. 1 (data coloured by class, one chain's trajectory on top).
///
/// Every function writes one PNG at `path` and throws std::runtime_error naming the path and
/// cairo's reason when it cannot (a missing directory reads "error while writing to output
/// stream"); malformed arguments throw std::invalid_argument. Sizes are fixed and
/// documented per function so callers and tests can rely on them.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nlm_examples/colour.hpp"
#include "nlm_examples/detail/axes.hpp"
#include "nlm_examples/detail/canvas.hpp"

namespace nlm::examples {

// ---------------------------------------------------------------------------------------
// Image grids

/// Width in pixels of the separators between tiles (and of the border around them).
inline constexpr int grid_gap = 2;
/// Height of the band above the tiles that holds the title, when there is one.
inline constexpr int grid_title_height = 32;
/// Width of the column left of the tiles that holds the step labels of a snapshot strip.
inline constexpr int strip_label_width = 96;

/// A row-major batch of square images, one image per row: xt::xtensor<float, 2> of shape
/// (count, side²) is one (anything with shape() and a contiguous data() of floating point).
template <class M>
concept ImageRows = requires(const M& m) {
  { m.shape()[0] } -> std::convertible_to<std::size_t>;
  { m.shape()[1] } -> std::convertible_to<std::size_t>;
  requires std::floating_point<std::remove_cvref_t<decltype(*m.data())>>;
};

/// How one row of values is drawn in a tile: as a rows × cols grey image, as a square image
/// when no shape is given (the default: 784 values are 28 × 28), or, for rows that are not
/// images (a user's vectors), as a plot of the values against their index.
struct TileShape {
  std::size_t rows = 0, cols = 0;
  bool plot = false;

  static TileShape image(std::size_t rows, std::size_t cols) { return {rows, cols, false}; }
  static TileShape plots() { return {0, 0, true}; }
  /// From an image shape {rows, cols} where {0, 0} means "not an image" (UnitLayout's).
  static TileShape of(const std::array<std::size_t, 2>& shape) {
    return shape[0] == 0 ? plots() : image(shape[0], shape[1]);
  }
};

/// Width and height in pixels of a plot tile at scale 1 (each is multiplied by the scale).
inline constexpr int plot_tile_width = 40, plot_tile_height = 20;

/// Images taken from `count` chains at one step of a run, for write_snapshot_strip.
struct Snapshot {
  long long step = 0;
  std::vector<float> images{};  ///< count × pixels_per_image values in [0, 1], row-major
  std::size_t pixels_per_image = 784;
  std::string label{};  ///< the row's label in a strip; empty: "step <step>"
  TileShape shape{};    ///< how each image is drawn (default: a square)
};

namespace detail {

inline std::size_t image_side(std::size_t pixels, const std::filesystem::path& path) {
  const auto side = static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(pixels))));
  if (pixels == 0 || side * side != pixels) {
    throw std::invalid_argument("nlm::examples: images for '" + path.string() + "' have " +
                                std::to_string(pixels) +
                                " pixels each, which is not the area of a square image");
  }
  return side;
}

/// A tile resolved for drawing: its size in values and in pixels.
struct Tile {
  std::size_t rows = 0, cols = 0, values = 0;  // rows × cols = values for an image
  bool plot = false;
  int width = 0, height = 0;                   // in pixels, scale applied
};

inline Tile resolve_tile(const TileShape& shape, std::size_t values, int scale, const std::filesystem::path& path) {
  Tile t;
  t.values = values;
  if (shape.plot) {
    if (values == 0) throw std::invalid_argument("nlm::examples: rows for '" + path.string() + "' have no values");
    t.plot = true;
    t.width = plot_tile_width * scale;
    t.height = plot_tile_height * scale;
    return t;
  }
  if (shape.rows == 0 && shape.cols == 0) {
    t.rows = t.cols = image_side(values, path);
  } else {
    if (shape.rows * shape.cols != values || values == 0)
      throw std::invalid_argument("nlm::examples: images for '" + path.string() + "' have " + std::to_string(values) +
                                  " pixels each, not " + std::to_string(shape.rows) + "x" +
                                  std::to_string(shape.cols));
    t.rows = shape.rows;
    t.cols = shape.cols;
  }
  t.width = static_cast<int>(t.cols) * scale;
  t.height = static_cast<int>(t.rows) * scale;
  return t;
}

inline void check_scale(int scale, const std::filesystem::path& path) {
  if (scale < 1) {
    throw std::invalid_argument("nlm::examples: scale must be at least 1 for '" + path.string() +
                                "', got " + std::to_string(scale));
  }
}

/// Grey level of a value in [0, 1] (white = 1); out-of-range values are clamped and NaN is
/// drawn black.
template <std::floating_point T>
std::uint8_t grey_level(T v) {
  if (!(v > T(0))) return 0;
  if (v >= T(1)) return 255;
  return static_cast<std::uint8_t>(std::lround(static_cast<double>(v) * 255.0));
}

/// Draws the first `n` images of `images` as a row-major grid of tiles with `cols` columns
/// whose top-left tile starts at (x0, y0): grey images, or plots of each row's values
/// (clamped to [0, 1], 1 at the top) on a light grid line at 1/2.
template <std::floating_point T>
void draw_tiles(Canvas& canvas, const T* images, std::size_t n, const Tile& tile, int scale, int x0, int y0,
                std::size_t cols) {
  const auto origin = [&](std::size_t i) {
    return std::array<int, 2>{x0 + static_cast<int>(i % cols) * (tile.width + grid_gap),
                              y0 + static_cast<int>(i / cols) * (tile.height + grid_gap)};
  };
  if (tile.plot) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto [tx, ty] = origin(i);
      const T* values = images + i * tile.values;
      canvas.fill_rect({double(tx), double(ty), double(tile.width), double(tile.height)}, rgb(0xf7f7f7));
      canvas.hairline(tx, ty + tile.height / 2, tx + tile.width - 1, ty + tile.height / 2, grid_grey);
      const auto point = [&](std::size_t k) {
        const double v = std::clamp(std::isnan(double(values[k])) ? 0.0 : double(values[k]), 0.0, 1.0);
        const double x = tile.values == 1 ? tile.width / 2.0
                                          : 1.0 + (tile.width - 2.0) * double(k) / double(tile.values - 1);
        return std::array<double, 2>{tx + x, ty + 1.0 + (tile.height - 2.0) * (1.0 - v)};
      };
      if (tile.values == 1) {
        const auto [px, py] = point(0);
        canvas.marker(detail::Marker::circle, px, py, 1.5, ink);
        continue;
      }
      canvas.polyline(tile.values, point, ink, 1.0);
    }
    return;
  }
  canvas.begin_pixels();
  for (std::size_t i = 0; i < n; ++i) {
    const auto [tx, ty] = origin(i);
    const T* image = images + i * tile.values;
    for (std::size_t py = 0; py < tile.rows; ++py) {
      for (std::size_t px = 0; px < tile.cols; ++px) {
        const std::uint8_t level = grey_level(image[py * tile.cols + px]);
        for (int sy = 0; sy < scale; ++sy) {
          for (int sx = 0; sx < scale; ++sx) {
            canvas.put_grey(tx + static_cast<int>(px) * scale + sx, ty + static_cast<int>(py) * scale + sy, level);
          }
        }
      }
    }
  }
  canvas.end_pixels();
}

template <ImageRows M>
const auto* row_major_data(const M& m) {
  if constexpr (requires { m.dimension(); }) {
    if (m.dimension() != 2) throw std::invalid_argument("nlm::examples: image batch must be 2-D");
  }
  if constexpr (requires { m.strides(); }) {
    const auto& st = m.strides();
    const bool rows_ok = m.shape()[0] <= 1 || static_cast<std::size_t>(st[0]) == m.shape()[1];
    const bool cols_ok = m.shape()[1] <= 1 || st[1] == 1;
    if (!rows_ok || !cols_ok) {
      throw std::invalid_argument("nlm::examples: image batch must be row-major and contiguous");
    }
  }
  return m.data();
}

}  // namespace detail

/// Writes `count` images of `pixels_per_image` values each (a square side × side image, row
/// by row, values in [0, 1], white = 1) as a grid of `rows` × `cols` grey tiles, each pixel
/// enlarged to `scale` × `scale`. Tiles are filled row by row with the first rows·cols
/// images; missing images leave their tile white.
///
/// Layout, with tile = side·scale and band = grid_title_height if `title` is not empty, else 0:
/// width = cols·tile + (cols + 1)·grid_gap, height = band + rows·tile + (rows + 1)·grid_gap,
/// and tile (r, c) has its top-left pixel at
/// (grid_gap + c·(tile + grid_gap), band + grid_gap + r·(tile + grid_gap)).
///
/// `shape` says how a row is drawn (TileShape): by default a square image as above; an image
/// of another shape has tiles of cols·scale × rows·scale pixels, a plot tiles of
/// plot_tile_width·scale × plot_tile_height·scale.
template <std::floating_point T>
void write_image_grid(const std::filesystem::path& path, const T* images, std::size_t count,
                      std::size_t pixels_per_image, std::size_t rows, std::size_t cols,
                      int scale = 3, const std::string& title = {}, const TileShape& shape = {}) {
  detail::check_scale(scale, path);
  const detail::Tile tile = detail::resolve_tile(shape, pixels_per_image, scale, path);
  if (rows == 0 || cols == 0) {
    throw std::invalid_argument("nlm::examples: image grid '" + path.string() +
                                "' needs at least one row and one column");
  }
  const int band = title.empty() ? 0 : grid_title_height;
  const int width = static_cast<int>(cols) * tile.width + static_cast<int>(cols + 1) * grid_gap;
  const int height = band + static_cast<int>(rows) * tile.height + static_cast<int>(rows + 1) * grid_gap;
  detail::Canvas canvas(path, width, height);
  detail::draw_tiles(canvas, images, std::min(count, rows * cols), tile, scale, grid_gap,
                     band + grid_gap, cols);
  if (!title.empty()) {
    canvas.fitted_text(title, width / 2.0, band / 2.0, width - 8.0, 14.0, detail::VAlign::middle,
                       true);
  }
  canvas.write_png();
}

/// The same grid from a (count, side²) batch such as xt::xtensor<float, 2>.
template <ImageRows M>
void write_image_grid(const std::filesystem::path& path, const M& images, std::size_t rows,
                      std::size_t cols, int scale = 3, const std::string& title = {},
                      const TileShape& shape = {}) {
  write_image_grid(path, detail::row_major_data(images),
                   static_cast<std::size_t>(images.shape()[0]),
                   static_cast<std::size_t>(images.shape()[1]), rows, cols, scale, title, shape);
}

/// A Snapshot of a (count, side²) batch such as xt::xtensor<float, 2>.
template <ImageRows M>
Snapshot make_snapshot(long long step, const M& images, const TileShape& shape = {}) {
  const auto* data = detail::row_major_data(images);
  const auto count = static_cast<std::size_t>(images.shape()[0]);
  const auto pixels = static_cast<std::size_t>(images.shape()[1]);
  return {step, std::vector<float>(data, data + count * pixels), pixels, {}, shape};
}

/// Writes how samples evolve: one row of tiles per snapshot, top to bottom in the order
/// given, showing its first `per_row` images (fewer leave white tiles), with "step N"
/// written in the label column at the left.
///
/// Layout, with tile = side·scale and band as in write_image_grid:
/// width = strip_label_width + per_row·tile + (per_row + 1)·grid_gap,
/// height = band + snapshots·tile + (snapshots + 1)·grid_gap, and image j of snapshot i has
/// its top-left pixel at
/// (strip_label_width + grid_gap + j·(tile + grid_gap), band + grid_gap + i·(tile + grid_gap)).
inline void write_snapshot_strip(const std::filesystem::path& path,
                                 const std::vector<Snapshot>& snapshots, std::size_t per_row,
                                 int scale = 2, const std::string& title = {}) {
  if (snapshots.empty() || per_row == 0) {
    throw std::invalid_argument("nlm::examples: snapshot strip '" + path.string() +
                                "' needs at least one snapshot and one image per row");
  }
  detail::check_scale(scale, path);
  const detail::Tile tile =
      detail::resolve_tile(snapshots.front().shape, snapshots.front().pixels_per_image, scale, path);
  for (const auto& s : snapshots) {
    if (s.pixels_per_image != tile.values || s.images.size() % s.pixels_per_image != 0) {
      throw std::invalid_argument("nlm::examples: snapshot at step " + std::to_string(s.step) +
                                  " for '" + path.string() +
                                  "' does not hold whole images of the first snapshot's size");
    }
  }
  const int band = title.empty() ? 0 : grid_title_height;
  const auto n = static_cast<int>(snapshots.size());
  const int width = strip_label_width + static_cast<int>(per_row) * tile.width +
                    static_cast<int>(per_row + 1) * grid_gap;
  const int height = band + n * tile.height + (n + 1) * grid_gap;
  detail::Canvas canvas(path, width, height);
  for (int i = 0; i < n; ++i) {
    const auto& s = snapshots[static_cast<std::size_t>(i)];
    const int y0 = band + grid_gap + i * (tile.height + grid_gap);
    detail::draw_tiles(canvas, s.images.data(),
                       std::min(per_row, s.images.size() / s.pixels_per_image), tile, scale,
                       strip_label_width + grid_gap, y0, per_row);
    const std::string label = s.label.empty() ? "step " + std::to_string(s.step) : s.label;
    const double room = strip_label_width - 12.0;
    const double size = std::min(12.0, 12.0 * room / canvas.text_width(label, 12.0));
    canvas.text(label, strip_label_width - 6.0, y0 + tile.height / 2.0, std::max(7.0, size),
                detail::HAlign::right, detail::VAlign::middle);
  }
  if (!title.empty()) {
    canvas.fitted_text(title, width / 2.0, band / 2.0, width - 8.0, 14.0, detail::VAlign::middle,
                       true);
  }
  canvas.write_png();
}

/// Height of the caption band under each tile of a captioned grid (two lines of text).
inline constexpr int caption_height = 30;

/// A grid as write_image_grid, with up to two lines of caption (separated by '\n') under each
/// tile; tiles are at least 150 pixels wide so the captions stay legible, and a titled picture
/// at least 560. Layout as write_image_grid with each tile's height increased by
/// caption_height.
template <std::floating_point T>
void write_captioned_grid(const std::filesystem::path& path, const T* images, std::size_t count,
                          std::size_t pixels_per_image, const std::vector<std::string>& captions,
                          std::size_t cols, int scale = 3, const std::string& title = {}) {
  detail::check_scale(scale, path);
  const detail::Tile square = detail::resolve_tile({}, pixels_per_image, scale, path);
  if (count == 0 || cols == 0 || captions.size() != count) {
    throw std::invalid_argument("nlm::examples: captioned grid '" + path.string() +
                                "' needs images, one caption per image and at least one column");
  }
  const std::size_t rows = (count + cols - 1) / cols;
  const int tile = square.width;
  const int cell_w = std::max(tile, 150), cell_h = tile + caption_height;
  const int band = title.empty() ? 0 : grid_title_height;
  const int width = std::max(static_cast<int>(cols) * cell_w + static_cast<int>(cols + 1) * grid_gap,
                             title.empty() ? 0 : 560);  // room for the title above a short grid
  const int height = band + static_cast<int>(rows) * cell_h + static_cast<int>(rows + 1) * grid_gap;
  detail::Canvas canvas(path, width, height);
  for (std::size_t i = 0; i < count; ++i) {
    const int x0 = grid_gap + static_cast<int>(i % cols) * (cell_w + grid_gap);
    const int y0 = band + grid_gap + static_cast<int>(i / cols) * (cell_h + grid_gap);
    detail::draw_tiles(canvas, images + i * pixels_per_image, 1, square, scale, x0 + (cell_w - tile) / 2, y0, 1);
    const std::string& c = captions[i];
    const auto nl = c.find('\n');
    const std::string first = c.substr(0, nl), second = nl == std::string::npos ? "" : c.substr(nl + 1);
    canvas.fitted_text(first, x0 + cell_w / 2.0, y0 + tile + 8.0, cell_w - 4.0, 11.0, detail::VAlign::middle);
    if (!second.empty())
      canvas.fitted_text(second, x0 + cell_w / 2.0, y0 + tile + 22.0, cell_w - 4.0, 11.0, detail::VAlign::middle);
  }
  if (!title.empty()) {
    canvas.fitted_text(title, width / 2.0, band / 2.0, width - 8.0, 14.0, detail::VAlign::middle, true);
  }
  canvas.write_png();
}

/// The diverging colour of v in [−1, 1]: blue (−1) through white (0) to red (+1).
inline Colour diverging(double v) {
  v = std::clamp(v, -1.0, 1.0);
  const Colour blue = rgb(0x2166ac), red = rgb(0xb2182b), white{1.0, 1.0, 1.0};
  const Colour& end = v < 0 ? blue : red;
  const double t = std::abs(v);
  return {white.r + t * (end.r - white.r), white.g + t * (end.g - white.g), white.b + t * (end.b - white.b)};
}

/// One heatmap panel: an n × n matrix (row-major, `values`), its title.
struct HeatmapPanel {
  std::vector<double> values{};
  std::size_t n = 0;
  std::string title{};
};

/// Heatmaps side by side on one colour scale: white 0, red +limit, blue −limit (values beyond
/// are clipped). Matrices wider than 400 are averaged over b × b blocks (b = ceil(n / 400)).
/// Each panel is m = ceil(n / b) pixels square under a 40-pixel title band; the caption at the
/// bottom gives the scale.
inline void write_heatmaps(const std::filesystem::path& path, const std::vector<HeatmapPanel>& panels, double limit,
                           const std::string& title = {}) {
  if (panels.empty() || !(limit > 0.0) || !std::isfinite(limit))
    throw std::invalid_argument("nlm::examples: heatmaps '" + path.string() + "' need panels and a positive limit");
  const std::size_t n = panels.front().n;
  for (const auto& p : panels)
    if (p.n != n || p.values.size() != n * n || n == 0)
      throw std::invalid_argument("nlm::examples: heatmaps '" + path.string() + "' need square panels of one size");
  const std::size_t b = (n + 399) / 400, m = (n + b - 1) / b;
  const int band = 40, foot = 28, gap = 16;
  const int top = title.empty() ? 0 : grid_title_height;
  const int width = static_cast<int>(panels.size() * m) + gap * static_cast<int>(panels.size() + 1);
  const int height = top + band + static_cast<int>(m) + foot;
  detail::Canvas canvas(path, width, height);
  canvas.begin_pixels();
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const int x0 = gap + static_cast<int>(k * (m + static_cast<std::size_t>(gap)));
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t c = 0; c < m; ++c) {
        double s = 0;
        std::size_t cnt = 0;
        for (std::size_t i = r * b; i < std::min(n, (r + 1) * b); ++i)
          for (std::size_t j = c * b; j < std::min(n, (c + 1) * b); ++j, ++cnt) s += panels[k].values[i * n + j];
        canvas.put_rgb(x0 + static_cast<int>(c), top + band + static_cast<int>(r), diverging(s / double(cnt) / limit));
      }
  }
  canvas.end_pixels();
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const double x0 = gap + double(k * (m + static_cast<std::size_t>(gap)));
    canvas.fitted_text(panels[k].title, x0 + double(m) / 2.0, top + band / 2.0, double(m), 13.0, detail::VAlign::middle, true);
  }
  char scale[160];
  std::snprintf(scale, sizeof scale, "blue -%.3g  |  white 0  |  red +%.3g%s", limit, limit,
                b > 1 ? ("  (means of " + std::to_string(b) + "x" + std::to_string(b) + " blocks)").c_str() : "");
  canvas.fitted_text(scale, width / 2.0, top + band + double(m) + foot / 2.0, width - 8.0, 11.0, detail::VAlign::middle);
  if (!title.empty()) canvas.fitted_text(title, width / 2.0, top / 2.0, width - 8.0, 14.0, detail::VAlign::middle, true);
  canvas.write_png();
}

// ---------------------------------------------------------------------------------------
// Maps over a grid of settings

/// One map over a rows × cols grid of settings (row-major `values`; a non-finite cell is drawn
/// grey): the colour runs blue (lo) through white (the middle) to red (hi), clipped, or the
/// other way with `reversed` (for measures where lower is better).
struct GridMap {
  std::vector<double> values{};
  std::size_t rows = 0, cols = 0;
  std::string title{};
  double lo = -1.0, hi = 1.0;
  bool reversed = false;
};

/// The maps side by side (one row of panels), each cell `cell` pixels square, under a band with
/// its title; the columns labelled below (`x_name` and `col_labels`), the rows on the left
/// (`y_name` and `row_labels`, row 0 at the top); the cells in `marked` (row, col) outlined in
/// black on every map; the colour range under each map.
inline void write_grid_maps(const std::filesystem::path& path, const std::vector<GridMap>& maps,
                            const std::vector<std::string>& col_labels, const std::vector<std::string>& row_labels,
                            const std::string& x_name, const std::string& y_name,
                            const std::vector<std::pair<std::size_t, std::size_t>>& marked = {},
                            const std::string& title = {}, int cell = 24) {
  if (maps.empty() || cell < 4)
    throw std::invalid_argument("nlm::examples: grid maps '" + path.string() + "' need maps and cells of 4 pixels or more");
  const std::size_t rows = maps.front().rows, cols = maps.front().cols;
  for (const auto& m : maps)
    if (m.rows != rows || m.cols != cols || m.values.size() != rows * cols || rows == 0 || cols == 0 ||
        !(m.hi > m.lo))
      throw std::invalid_argument("nlm::examples: grid maps '" + path.string() +
                                  "' need maps of one non-empty shape and a range lo < hi");
  if (col_labels.size() != cols || row_labels.size() != rows)
    throw std::invalid_argument("nlm::examples: grid maps '" + path.string() + "' need a label per row and per column");
  for (const auto& [r, c] : marked)
    if (r >= rows || c >= cols)
      throw std::invalid_argument("nlm::examples: grid maps '" + path.string() + "': a marked cell is off the grid");
  const int left = 64, band = 40, below = 52, gap = 24;
  const int top = title.empty() ? 0 : grid_title_height;
  const int pw = static_cast<int>(cols) * cell, ph = static_cast<int>(rows) * cell;
  const int width = static_cast<int>(maps.size()) * (left + pw + gap) + gap;
  const int height = top + band + ph + below;
  detail::Canvas canvas(path, width, height);
  for (std::size_t k = 0; k < maps.size(); ++k) {
    const GridMap& m = maps[k];
    const double x0 = gap + double(k) * (left + pw + gap) + left, y0 = top + band;
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) {
        const double v = m.values[r * cols + c];
        double t = (v - m.lo) / (m.hi - m.lo) * 2.0 - 1.0;
        if (m.reversed) t = -t;
        canvas.fill_rect({x0 + double(c) * cell, y0 + double(r) * cell, double(cell), double(cell)},
                         std::isfinite(v) ? diverging(t) : grid_grey);
      }
    for (const auto& [r, c] : marked) {
      const double x = x0 + double(c) * cell + 0.5, y = y0 + double(r) * cell + 0.5, e = cell - 1.0;
      canvas.hairline(x, y, x + e, y, ink);
      canvas.hairline(x + e, y, x + e, y + e, ink);
      canvas.hairline(x + e, y + e, x, y + e, ink);
      canvas.hairline(x, y + e, x, y, ink);
    }
    canvas.fitted_text(m.title, x0 + pw / 2.0, top + band / 2.0, double(pw + left), 13.0, detail::VAlign::middle, true);
    for (std::size_t c = 0; c < cols; ++c)
      canvas.text(col_labels[c], x0 + (double(c) + 0.5) * cell, y0 + ph + 4, 9.0, detail::HAlign::centre,
                  detail::VAlign::top);
    for (std::size_t r = 0; r < rows; ++r)
      canvas.text(row_labels[r], x0 - 4, y0 + (double(r) + 0.5) * cell, 9.0, detail::HAlign::right,
                  detail::VAlign::middle);
    char range[160];
    std::snprintf(range, sizeof range, "%s %.3g | white %.3g | %s %.3g", m.reversed ? "red" : "blue", m.lo,
                  (m.lo + m.hi) / 2.0, m.reversed ? "blue" : "red", m.hi);
    canvas.fitted_text(x_name, x0 + pw / 2.0, y0 + ph + 17, double(pw), 10.0, detail::VAlign::top);
    canvas.fitted_text(range, x0 + pw / 2.0, y0 + ph + 33, double(pw), 10.0, detail::VAlign::top);
    canvas.text(y_name, x0 - left + 4, y0 - 6, 10.0, detail::HAlign::left, detail::VAlign::bottom);
  }
  if (!title.empty()) canvas.fitted_text(title, width / 2.0, top / 2.0, width - 8.0, 14.0, detail::VAlign::middle, true);
  canvas.write_png();
}

// ---------------------------------------------------------------------------------------
// Line plots

/// Size of a line_plot and width of every line plot.
inline constexpr int plot_width = 900;
inline constexpr int plot_height = 600;

/// Height of a line_plot_panels picture with `panels` panels.
constexpr int panels_height(std::size_t panels) { return 100 + 200 * static_cast<int>(panels); }

/// One curve. Points whose x or y is not finite (or whose y is not positive on a log axis)
/// are skipped and break the line there.
struct Series {
  std::string name{};  ///< shown in the legend; series with an empty name are left out of it
  std::vector<double> xs{};
  std::vector<double> ys{};
  /// Default: tab10 by the series' position in the picture.
  std::optional<Colour> colour = std::nullopt;
  bool markers = false;  ///< a dot at each point, for short series such as epochs
  double line_width = 2.0;
};

/// One panel of a vertical stack sharing the x axis.
struct Panel {
  std::vector<Series> series{};
  std::string ylabel{};
  bool log_y = false;
};

namespace detail {

inline void check_series(const Series& s, const std::filesystem::path& path) {
  if (s.xs.size() != s.ys.size()) {
    throw std::invalid_argument("nlm::examples: series '" + s.name + "' for '" + path.string() +
                                "' has " + std::to_string(s.xs.size()) + " x values and " +
                                std::to_string(s.ys.size()) + " y values");
  }
}

inline void draw_series(const Canvas& c, const Series& s, Colour colour, const Axis& x,
                        const Axis& y) {
  const auto at = [&](std::size_t i) { return std::array{x.pixel(s.xs[i]), y.pixel(s.ys[i])}; };
  const auto shown = [](const std::array<double, 2>& p) {
    return std::isfinite(p[0]) && std::isfinite(p[1]);
  };
  c.colour(colour);
  cairo_set_line_width(c.cr(), s.line_width);
  cairo_set_line_join(c.cr(), CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(c.cr(), CAIRO_LINE_CAP_ROUND);
  std::vector<std::array<double, 2>> lone;  // points with no shown neighbour: no line shows them
  std::size_t run = 0;
  for (std::size_t i = 0; i <= s.xs.size(); ++i) {
    const bool ok = i < s.xs.size() && shown(at(i));
    if (ok) {
      const auto p = at(i);
      if (run == 0) {
        cairo_move_to(c.cr(), p[0], p[1]);
      } else {
        cairo_line_to(c.cr(), p[0], p[1]);
      }
      ++run;
    } else {
      if (run == 1) lone.push_back(at(i - 1));
      run = 0;
    }
  }
  cairo_stroke(c.cr());
  const double radius = s.line_width + 1.5;
  for (const auto& p : lone) c.marker(Marker::circle, p[0], p[1], radius, colour);
  if (s.markers) {
    for (std::size_t i = 0; i < s.xs.size(); ++i) {
      if (const auto p = at(i); shown(p)) c.marker(Marker::circle, p[0], p[1], radius, colour);
    }
  }
}

/// Pixel positions of up to ~2000 points per series, for placing the legend.
inline void sample_points(const Series& s, const Axis& x, const Axis& y,
                          std::vector<std::array<double, 2>>& out) {
  const std::size_t stride = std::max<std::size_t>(1, s.xs.size() / 2000);
  for (std::size_t i = 0; i < s.xs.size(); i += stride) {
    const double px = x.pixel(s.xs[i]);
    const double py = y.pixel(s.ys[i]);
    if (std::isfinite(px) && std::isfinite(py)) out.push_back({px, py});
  }
}

inline void draw_panels(const std::filesystem::path& path, int height,
                        const std::vector<Panel>& panels, const std::string& title,
                        const std::string& xlabel) {
  if (panels.empty()) {
    throw std::invalid_argument("nlm::examples: plot '" + path.string() + "' has no panels");
  }
  Canvas c(path, plot_width, height);
  const auto n = static_cast<double>(panels.size());
  const double top = title.empty() ? 16.0 : 44.0;
  const double bottom = 16.0 + tick_length + 3.0 + c.line_height(tick_font) +
                        (xlabel.empty() ? 0.0 : 6.0 + c.line_height(label_font));
  const double gap = 16.0;
  const double panel_h = (height - top - bottom - gap * (n - 1.0)) / n;

  Axis x;
  std::vector<Axis> ys(panels.size());
  for (std::size_t p = 0; p < panels.size(); ++p) {
    ys[p].log = panels[p].log_y;
    for (const auto& s : panels[p].series) {
      check_series(s, path);
      for (std::size_t i = 0; i < s.xs.size(); ++i) {
        const double t = ys[p].coordinate(s.ys[i]);
        if (std::isfinite(s.xs[i]) && std::isfinite(t)) {
          x.range.add(s.xs[i]);
          ys[p].range.add(t);
        }
      }
    }
    ys[p].range = padded(ys[p].range, 0.05);
    ys[p].p0 = top + (panel_h + gap) * static_cast<double>(p) + panel_h;
    ys[p].p1 = ys[p].p0 - panel_h;
  }
  x.range = padded(x.range, 0.02);

  const int y_target = std::max(2, static_cast<int>(panel_h / 55.0));
  std::vector<Ticks> yticks;
  double label_w = 0.0;
  bool any_ylabel = false;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    yticks.push_back(fitted_ticks(c, ys[p], panel_h, y_target, false));
    label_w = std::max(label_w, widest_label(c, yticks.back()));
    any_ylabel = any_ylabel || !panels[p].ylabel.empty();
  }
  const double ylabel_h = c.line_height(label_font);
  const double left = 14.0 + (any_ylabel ? ylabel_h + 10.0 : 0.0) + label_w + tick_length + 4.0;
  // Widen the right margin when the last x tick label would stick out of the picture.
  double right = 28.0;
  Ticks xticks;
  for (int attempt = 0; attempt < 2; ++attempt) {
    x.p0 = left;
    x.p1 = plot_width - right;
    xticks =
        fitted_ticks(c, x, x.p1 - x.p0, std::max(2, static_cast<int>((x.p1 - x.p0) / 90.0)), true);
    if (xticks.major.empty()) break;
    const double overhang = x.pixel_of_coordinate(xticks.major.back()) +
                            c.text_width(xticks.labels.back(), tick_font) / 2.0 + 6.0 - plot_width;
    if (overhang <= 0.0) break;
    right += overhang;
  }
  const double plot_w = x.p1 - x.p0;

  std::size_t colour_index = 0;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const Rect plot{left, ys[p].p1, plot_w, panel_h};
    draw_grid(c, plot, x, xticks, ys[p], yticks[p]);
    cairo_save(c.cr());
    cairo_rectangle(c.cr(), plot.x, plot.y, plot.w, plot.h);
    cairo_clip(c.cr());
    std::vector<LegendEntry> legend;
    std::vector<std::array<double, 2>> points;
    for (const auto& s : panels[p].series) {
      const Colour colour = s.colour.value_or(tab10(colour_index++));
      draw_series(c, s, colour, x, ys[p]);
      sample_points(s, x, ys[p], points);
      if (!s.name.empty()) {
        legend.push_back({.name = s.name, .colour = colour, .line_marker = s.markers});
      }
    }
    cairo_restore(c.cr());
    draw_frame(c, plot, x, xticks, ys[p], yticks[p], p + 1 == panels.size());
    draw_legend(c, plot, legend, points);
    if (!panels[p].ylabel.empty()) {
      c.text(panels[p].ylabel, 14.0 + ylabel_h / 2.0, plot.y + plot.h / 2.0, label_font,
             HAlign::centre, VAlign::middle, ink, false, -std::numbers::pi / 2.0);
    }
  }
  if (!title.empty()) {
    c.fitted_text(title, plot_width / 2.0, 22.0, plot_width - 20.0, title_font, VAlign::middle,
                  true);
  }
  if (!xlabel.empty()) {
    c.text(xlabel, left + plot_w / 2.0, height - 12.0, label_font, HAlign::centre, VAlign::bottom);
  }
  c.write_png();
}

}  // namespace detail

/// Writes a plot_width × plot_height line plot of `series` with nice tick values, grid lines
/// and a legend of the named series; `log_y` puts y on a log scale (decades labelled 10ᵏ).
inline void line_plot(const std::filesystem::path& path, const std::vector<Series>& series,
                      const std::string& title, const std::string& xlabel,
                      const std::string& ylabel, bool log_y = false) {
  detail::draw_panels(path, plot_height, {Panel{series, ylabel, log_y}}, title, xlabel);
}

/// Writes panels stacked top to bottom, plot_width × panels_height(panels.size()), all
/// sharing one x range whose tick labels and `xlabel` sit under the bottom panel; each
/// panel has its own y range, label and legend. Series without a colour take tab10 colours
/// in order across all panels, so stacked neurons differ in colour too.
inline void line_plot_panels(const std::filesystem::path& path, const std::vector<Panel>& panels,
                             const std::string& title, const std::string& xlabel) {
  detail::draw_panels(path, panels_height(panels.size()), panels, title, xlabel);
}

// ---------------------------------------------------------------------------------------
// PCA figure

/// Size of a pca_figure.
inline constexpr int pca_width = 1500;
inline constexpr int pca_height = 560;

/// Coordinates on the first three principal components.
using Point3 = std::array<double, 3>;

/// Rows of an (n, 3) matrix, such as xt::xtensor<double, 2>, as points.
template <class M>
  requires requires(const M& m, std::size_t i) {
    { m.shape()[0] } -> std::convertible_to<std::size_t>;
    { m(i, i) } -> std::convertible_to<double>;
  }
std::vector<Point3> rows3(const M& m) {
  if (static_cast<std::size_t>(m.shape()[1]) != 3) {
    throw std::invalid_argument("nlm::examples: rows3 needs an (n, 3) matrix, got " +
                                std::to_string(m.shape()[1]) + " columns");
  }
  std::vector<Point3> out(static_cast<std::size_t>(m.shape()[0]));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = {static_cast<double>(m(i, 0)), static_cast<double>(m(i, 1)),
              static_cast<double>(m(i, 2))};
  }
  return out;
}

/// Writes the paper's Fig. 1 layout, pca_width × pca_height: three panels side by side
/// (PC1–PC2, PC1–PC3, PC2–PC3). Data point i is an opaque dot of class_colour(labels[i]),
/// where labels index `class_names`; the trajectory is drawn over them as small dark dots
/// (joined by a faint line when `connect_trajectory`), its first point marked by a green
/// triangle and its last by a red square. One legend row under the title names the classes
/// and the trajectory markers. An empty trajectory draws the data alone.
inline void pca_figure(const std::filesystem::path& path, std::span<const Point3> points,
                       std::span<const int> labels, const std::vector<std::string>& class_names,
                       std::span<const Point3> trajectory, const std::string& title = {},
                       bool connect_trajectory = true) {
  using namespace detail;
  if (labels.size() != points.size()) {
    throw std::invalid_argument("nlm::examples: pca_figure '" + path.string() + "' has " +
                                std::to_string(points.size()) + " points but " +
                                std::to_string(labels.size()) + " labels");
  }
  for (const int l : labels) {
    if (l < 0 || static_cast<std::size_t>(l) >= class_names.size()) {
      throw std::invalid_argument("nlm::examples: pca_figure '" + path.string() + "': label " +
                                  std::to_string(l) + " has no class name (" +
                                  std::to_string(class_names.size()) + " given)");
    }
  }
  Canvas c(path, pca_width, pca_height);

  std::array<Range, 3> ranges;
  for (const auto* set : {&points, &trajectory}) {
    for (const auto& p : *set) {
      for (std::size_t d = 0; d < 3; ++d) ranges[d].add(p[d]);
    }
  }
  for (auto& r : ranges) r = padded(r, 0.05);

  const double top = (title.empty() ? 12.0 : 44.0) + 30.0;
  const double bottom =
      16.0 + tick_length + 3.0 + c.line_height(tick_font) + 6.0 + c.line_height(label_font);
  const double plot_h = pca_height - top - bottom;
  constexpr std::array<std::array<std::size_t, 2>, 3> pairs = {{{0, 1}, {0, 2}, {1, 2}}};

  std::array<Axis, 3> horizontal, vertical;
  std::array<Ticks, 3> vticks;
  double label_w = 0.0;
  for (std::size_t k = 0; k < 3; ++k) {
    vertical[k] = {ranges[pairs[k][1]], false, top + plot_h, top};
    vticks[k] = fitted_ticks(c, vertical[k], plot_h, 6, false);
    label_w = std::max(label_w, widest_label(c, vticks[k]));
  }
  const double ylabel_h = c.line_height(label_font);
  const double left = 14.0 + ylabel_h + 8.0 + label_w + tick_length + 4.0;
  const double region = pca_width / 3.0;
  const double plot_w = region - left - 20.0;

  for (std::size_t k = 0; k < 3; ++k) {
    const auto [a, b] = pairs[k];
    const double x0 = region * static_cast<double>(k) + left;
    horizontal[k] = {ranges[a], false, x0, x0 + plot_w};
    const Ticks hticks = fitted_ticks(c, horizontal[k], plot_w, 6, true);
    const Axis& hx = horizontal[k];
    const Axis& vy = vertical[k];
    const Rect plot{x0, top, plot_w, plot_h};
    draw_grid(c, plot, hx, hticks, vy, vticks[k]);

    cairo_save(c.cr());
    cairo_rectangle(c.cr(), plot.x, plot.y, plot.w, plot.h);
    cairo_clip(c.cr());
    for (std::size_t i = 0; i < points.size(); ++i) {
      c.marker(Marker::circle, hx.pixel(points[i][a]), vy.pixel(points[i][b]), 2.6,
               class_colour(static_cast<std::size_t>(labels[i])));
    }
    if (!trajectory.empty()) {
      if (connect_trajectory && trajectory.size() > 1) {
        c.colour(trajectory_colour, 0.3);
        cairo_set_line_width(c.cr(), 0.8);
        cairo_set_line_join(c.cr(), CAIRO_LINE_JOIN_ROUND);
        for (const auto& p : trajectory) cairo_line_to(c.cr(), hx.pixel(p[a]), vy.pixel(p[b]));
        cairo_stroke(c.cr());
      }
      for (const auto& p : trajectory) {
        c.marker(Marker::circle, hx.pixel(p[a]), vy.pixel(p[b]), 1.4, trajectory_colour, 0.7);
      }
      const Point3& first = trajectory.front();
      const Point3& last = trajectory.back();
      c.marker(Marker::triangle, hx.pixel(first[a]), vy.pixel(first[b]), 7.0, start_colour, 1.0,
               &ink);
      c.marker(Marker::square, hx.pixel(last[a]), vy.pixel(last[b]), 5.5, end_colour, 1.0, &ink);
    }
    cairo_restore(c.cr());

    draw_frame(c, plot, hx, hticks, vy, vticks[k], true);
    c.text("PC" + std::to_string(a + 1), plot.x + plot.w / 2.0, pca_height - 12.0, label_font,
           HAlign::centre, VAlign::bottom);
    c.text("PC" + std::to_string(b + 1), region * static_cast<double>(k) + 14.0 + ylabel_h / 2.0,
           plot.y + plot.h / 2.0, label_font, HAlign::centre, VAlign::middle, ink, false,
           -std::numbers::pi / 2.0);
  }

  std::vector<LegendEntry> legend;
  for (std::size_t k = 0; k < class_names.size(); ++k) {
    legend.push_back(
        {.name = class_names[k], .colour = class_colour(k), .kind = LegendEntry::Kind::marker});
  }
  if (!trajectory.empty()) {
    const auto kind = LegendEntry::Kind::marker;
    legend.push_back({.name = "trajectory", .colour = trajectory_colour, .kind = kind});
    legend.push_back({.name = "start",
                      .colour = start_colour,
                      .kind = kind,
                      .marker = Marker::triangle,
                      .edge = ink});
    legend.push_back(
        {.name = "end", .colour = end_colour, .kind = kind, .marker = Marker::square, .edge = ink});
  }
  double total = 0.0;
  for (const auto& e : legend) total += 22.0 + 6.0 + c.text_width(e.name, legend_font) + 24.0;
  double lx = (pca_width - total) / 2.0;
  const double ly = top - 22.0;
  for (const auto& e : legend) {
    draw_legend_symbol(c, e, lx, ly);
    c.text(e.name, lx + 28.0, ly, legend_font, HAlign::left, VAlign::middle);
    lx += 22.0 + 6.0 + c.text_width(e.name, legend_font) + 24.0;
  }
  if (!title.empty()) {
    c.fitted_text(title, pca_width / 2.0, 22.0, pca_width - 20.0, title_font, VAlign::middle, true);
  }
  c.write_png();
}

}  // namespace nlm::examples
