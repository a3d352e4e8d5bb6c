// The example pictures: each kind is written, read back as PNG and checked for its documented
// size and for pixels that only correct drawing puts where they are.
#include <nlm_examples/picture.hpp>
#include <doctest/doctest.h>
#include <cairo.h>
#include <xtensor/xtensor.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

// Cairo's toy text API keeps fontconfig patterns in process-wide caches that are only freed
// by cairo_debug_reset_static_data() plus FcFini(); LeakSanitizer (NLM_SANITIZE builds)
// reports them as leaks at exit. They are not nlm's, so they are suppressed here.
extern "C" [[gnu::used]] const char* __lsan_default_suppressions() {
  return "leak:libfontconfig.so\n";
}

namespace {

using nlm::examples::Colour;

/// A PNG read back through cairo, with pixels as 8-bit RGB.
class Png {
 public:
  explicit Png(const std::filesystem::path& path)
      : surface_(cairo_image_surface_create_from_png(path.string().c_str())) {
    REQUIRE_MESSAGE(cairo_surface_status(surface_.get()) == CAIRO_STATUS_SUCCESS,
                    "cannot read back ", path.string());
    const auto format = cairo_image_surface_get_format(surface_.get());
    REQUIRE((format == CAIRO_FORMAT_RGB24 || format == CAIRO_FORMAT_ARGB32));
  }
  int width() const { return cairo_image_surface_get_width(surface_.get()); }
  int height() const { return cairo_image_surface_get_height(surface_.get()); }
  std::array<int, 3> at(int x, int y) const {
    const auto* row =
        cairo_image_surface_get_data(surface_.get()) +
        static_cast<std::ptrdiff_t>(y) * cairo_image_surface_get_stride(surface_.get());
    const std::uint32_t p = reinterpret_cast<const std::uint32_t*>(row)[x];
    return {static_cast<int>((p >> 16) & 0xff), static_cast<int>((p >> 8) & 0xff),
            static_cast<int>(p & 0xff)};
  }
  int grey(int x, int y) const {
    const auto p = at(x, y);
    CHECK(p[0] == p[1]);
    CHECK(p[1] == p[2]);
    return p[0];
  }
  /// Pixels within `tolerance` (per channel) of `c`, in the box [x0, x1) × [y0, y1).
  std::vector<std::array<int, 2>> matching(Colour c, int x0, int y0, int x1, int y1,
                                           int tolerance = 2) const {
    const std::array<int, 3> want = {static_cast<int>(std::lround(c.r * 255)),
                                     static_cast<int>(std::lround(c.g * 255)),
                                     static_cast<int>(std::lround(c.b * 255))};
    std::vector<std::array<int, 2>> out;
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) {
        const auto p = at(x, y);
        if (std::abs(p[0] - want[0]) <= tolerance && std::abs(p[1] - want[1]) <= tolerance &&
            std::abs(p[2] - want[2]) <= tolerance) {
          out.push_back({x, y});
        }
      }
    }
    return out;
  }
  std::vector<std::array<int, 2>> matching(Colour c) const {
    return matching(c, 0, 0, width(), height());
  }

 private:
  struct Deleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
  };
  std::unique_ptr<cairo_surface_t, Deleter> surface_;
};

double mean_y(const std::vector<std::array<int, 2>>& pixels) {
  double sum = 0.0;
  for (const auto& p : pixels) sum += p[1];
  return sum / static_cast<double>(pixels.size());
}

/// Mean row of the pixels in columns [x - 2, x + 2].
double mean_y_near_column(const std::vector<std::array<int, 2>>& pixels, int x) {
  double sum = 0.0;
  int n = 0;
  for (const auto& p : pixels) {
    if (std::abs(p[0] - x) <= 2) {
      sum += p[1];
      ++n;
    }
  }
  REQUIRE(n > 0);
  return sum / n;
}

constexpr int side = 28;
constexpr std::size_t pixels = side * side;

}  // namespace

TEST_SUITE("plot") {
  TEST_CASE("image grid: size, tile grey levels at the documented positions, separators") {
    nlm::test::TempDir dir;
    // Image 0 white, 1 black, 2 a left-to-right ramp, 3 mid grey.
    std::vector<float> images(4 * pixels);
    for (std::size_t i = 0; i < pixels; ++i) {
      images[i] = 1.0f;
      images[pixels + i] = 0.0f;
      images[2 * pixels + i] = static_cast<float>(i % side) / (side - 1);
      images[3 * pixels + i] = 0.5f;
    }
    const int scale = 3;
    const int tile = side * scale;
    const int gap = nlm::examples::grid_gap;
    const auto origin = [&](int r, int c, int band) {
      return std::array{gap + c * (tile + gap), band + gap + r * (tile + gap)};
    };

    const auto path = dir / "grid.png";
    nlm::examples::write_image_grid(path, images.data(), 4, pixels, 2, 2, scale);
    const Png png(path);
    CHECK(png.width() == 2 * tile + 3 * gap);
    CHECK(png.height() == 2 * tile + 3 * gap);
    const auto centre = [&](int r, int c) {
      const auto o = origin(r, c, 0);
      return png.grey(o[0] + tile / 2, o[1] + tile / 2);
    };
    CHECK(centre(0, 0) == 255);
    CHECK(centre(0, 1) == 0);
    CHECK(centre(1, 1) == 128);
    // The ramp: first image column black, last white, each source pixel a scale × scale block.
    const auto ramp = origin(1, 0, 0);
    for (int d = 0; d < scale; ++d) {
      CHECK(png.grey(ramp[0] + d, ramp[1] + d) == 0);
      CHECK(png.grey(ramp[0] + tile - 1 - d, ramp[1] + d) == 255);
    }
    CHECK(png.grey(ramp[0] + 14 * scale, ramp[1]) == std::lround(14.0 / 27.0 * 255.0));
    CHECK(png.grey(ramp[0] + 14 * scale + scale - 1, ramp[1] + scale - 1) ==
          std::lround(14.0 / 27.0 * 255.0));
    // The black tile (0, 1) covers exactly its documented square, with white just outside.
    const auto black = origin(0, 1, 0);
    CHECK(png.grey(black[0], black[1]) == 0);
    CHECK(png.grey(black[0] + tile - 1, black[1] + tile - 1) == 0);
    CHECK(png.grey(black[0] - 1, black[1]) == 255);
    CHECK(png.grey(black[0], black[1] - 1) == 255);
    CHECK(png.grey(black[0] + tile, black[1] + tile - 1) == 255);
    // Between the black tile (0, 1) and the grey tile (1, 1) runs a white separator.
    const auto below_black = origin(0, 1, 0);
    CHECK(png.grey(below_black[0] + tile / 2, below_black[1] + tile - 1) == 0);
    CHECK(png.grey(below_black[0] + tile / 2, below_black[1] + tile) == 255);
    CHECK(png.grey(below_black[0] + tile / 2, below_black[1] + tile + gap) == 128);
  }

  TEST_CASE("image grid from an xtensor batch, with a title band and missing images") {
    nlm::test::TempDir dir;
    xt::xtensor<float, 2> images = xt::zeros<float>({std::size_t{3}, pixels});
    const int scale = 2;
    const int tile = side * scale;
    const int gap = nlm::examples::grid_gap;
    const int band = nlm::examples::grid_title_height;
    const auto path = dir / "titled.png";
    nlm::examples::write_image_grid(path, images, 2, 3, scale, "Final states");
    const Png png(path);
    CHECK(png.width() == 3 * tile + 4 * gap);
    CHECK(png.height() == band + 2 * tile + 3 * gap);
    // Three black images fill the first row; the second row stays white.
    for (int c = 0; c < 3; ++c) {
      const int x = gap + c * (tile + gap) + tile / 2;
      CHECK(png.grey(x, band + gap + tile / 2) == 0);
      CHECK(png.grey(x, band + 2 * gap + tile + tile / 2) == 255);
    }
    // The title is dark text in the band.
    int dark = 0;
    for (int y = 0; y < band; ++y) {
      for (int x = 0; x < png.width(); ++x) dark += png.at(x, y)[0] < 100;
    }
    CHECK(dark > 30);
  }

  TEST_CASE("image grid rejects images that are not square") {
    nlm::test::TempDir dir;
    const std::vector<float> images(2 * 30, 0.5f);
    CHECK_THROWS_AS(nlm::examples::write_image_grid(dir / "bad.png", images.data(), 2, 30, 1, 2),
                    std::invalid_argument);
  }

  TEST_CASE("image grid of another shape: rows x cols tiles, pixel (r, c) where documented") {
    nlm::test::TempDir dir;
    // Two 3 x 5 images: the first black but for a white pixel at row 1, column 4.
    std::vector<float> images(2 * 15, 0.0f);
    images[1 * 5 + 4] = 1.0f;
    const int scale = 4, gap = nlm::examples::grid_gap;
    const auto path = dir / "wide.png";
    nlm::examples::write_image_grid(path, images.data(), 2, 15, 1, 2, scale, {},
                                    nlm::examples::TileShape::image(3, 5));
    const Png png(path);
    CHECK(png.width() == 2 * 5 * scale + 3 * gap);
    CHECK(png.height() == 3 * scale + 2 * gap);
    CHECK(png.grey(gap + 4 * scale + 1, gap + 1 * scale + 1) == 255);
    CHECK(png.grey(gap + 3 * scale + 1, gap + 1 * scale + 1) == 0);
    CHECK(png.grey(gap + 4 * scale + 1, gap + 0 * scale + 1) == 0);
    CHECK_THROWS_WITH_AS(nlm::examples::write_image_grid(path, images.data(), 2, 15, 1, 2, scale, {},
                                                         nlm::examples::TileShape::image(4, 4)),
                         ("nlm::examples: images for '" + path.string() + "' have 15 pixels each, not 4x4").c_str(),
                         std::invalid_argument);
  }

  TEST_CASE("plot tiles: documented size, a rising row drawn rising, a constant row flat") {
    nlm::test::TempDir dir;
    const std::size_t width = 10;
    std::vector<float> rows(2 * width);
    for (std::size_t k = 0; k < width; ++k) {
      rows[k] = float(k) / float(width - 1);  // 0 .. 1
      rows[width + k] = 0.25f;
    }
    const int scale = 3, gap = nlm::examples::grid_gap;
    const int w = nlm::examples::plot_tile_width * scale, h = nlm::examples::plot_tile_height * scale;
    const auto path = dir / "plots.png";
    nlm::examples::write_image_grid(path, rows.data(), 2, width, 1, 2, scale, {}, nlm::examples::TileShape::plots());
    const Png png(path);
    CHECK(png.width() == 2 * w + 3 * gap);
    CHECK(png.height() == h + 2 * gap);
    // The ink of the first tile: low (large y) at its left, high at its right.
    const auto ink = png.matching(nlm::examples::ink, gap, gap, gap + w, gap + h, 60);
    REQUIRE(ink.size() > 10);
    CHECK(mean_y_near_column(ink, gap + 2) > gap + 0.8 * h);
    CHECK(mean_y_near_column(ink, gap + w - 3) < gap + 0.2 * h);
    // The second tile: flat at 1/4 from the bottom, y = 1 + (h - 2)(1 - 0.25).
    const auto flat = png.matching(nlm::examples::ink, 2 * gap + w, gap, 2 * gap + 2 * w, gap + h, 60);
    REQUIRE(flat.size() > 10);
    CHECK(std::abs(mean_y(flat) - (gap + 1 + (h - 2) * 0.75)) < 1.0);
  }

  TEST_CASE("snapshot strip: one labelled row per snapshot") {
    nlm::test::TempDir dir;
    xt::xtensor<float, 2> later = xt::zeros<float>({std::size_t{3}, pixels});
    for (std::size_t i = 0; i < pixels; ++i) {
      later(1, i) = 0.5f;
      later(2, i) = 1.0f;
    }
    const std::vector<nlm::examples::Snapshot> snapshots = {
        {10000, std::vector<float>(3 * pixels, 1.0f), pixels},
        nlm::examples::make_snapshot(11500, later)};
    const int scale = 2;
    const int tile = side * scale;
    const int gap = nlm::examples::grid_gap;
    const int label = nlm::examples::strip_label_width;
    const auto path = dir / "strip.png";
    nlm::examples::write_snapshot_strip(path, snapshots, 4, scale);
    const Png png(path);
    CHECK(png.width() == label + 4 * tile + 5 * gap);
    CHECK(png.height() == 2 * tile + 3 * gap);
    const auto centre = [&](int i, int j) {
      return png.grey(label + gap + j * (tile + gap) + tile / 2, gap + i * (tile + gap) + tile / 2);
    };
    CHECK(centre(0, 0) == 255);
    CHECK(centre(1, 0) == 0);
    CHECK(centre(1, 1) == 128);
    CHECK(centre(1, 2) == 255);
    // Only three images per snapshot: the fourth column stays white.
    CHECK(centre(1, 3) == 255);
    // The black image starts exactly at the documented corner, after the white label column.
    CHECK(png.grey(label + gap, 2 * gap + tile) == 0);
    CHECK(png.grey(label + gap + tile - 1, 2 * gap + 2 * tile - 1) == 0);
    CHECK(png.grey(label + gap - 1, 2 * gap + tile) == 255);
    CHECK(png.grey(label + gap, 2 * gap + tile - 1) == 255);
    // Each row has its step written in the label column.
    for (int i = 0; i < 2; ++i) {
      int dark = 0;
      for (int y = gap + i * (tile + gap); y < gap + i * (tile + gap) + tile; ++y) {
        for (int x = 0; x < label; ++x) dark += png.at(x, y)[0] < 100;
      }
      CHECK(dark > 20);
    }
  }

  TEST_CASE("line plot: size, series colour, rising data drawn rising") {
    nlm::test::TempDir dir;
    nlm::examples::Series rising{
        .name = {}, .xs = {}, .ys = {}, .colour = nlm::examples::rgb(0xd62728)};
    nlm::examples::Series flat;
    for (int i = 0; i <= 100; ++i) {
      rising.xs.push_back(i);
      rising.ys.push_back(i);
      flat.xs.push_back(i);
      flat.ys.push_back(20.0);
    }
    const auto path = dir / "line.png";
    nlm::examples::line_plot(path, {rising, flat}, "title", "epoch", "value");
    const Png png(path);
    CHECK(png.width() == nlm::examples::plot_width);
    CHECK(png.height() == nlm::examples::plot_height);
    const auto red = png.matching(nlm::examples::rgb(0xd62728));
    REQUIRE(red.size() > 200);
    // Unnamed series have no legend, so the second colour comes from the line alone.
    const auto second = png.matching(nlm::examples::tab10(1));
    REQUIRE(second.size() > 200);
    int left = png.width(), right = 0;
    for (const auto& p : red) {
      left = std::min(left, p[0]);
      right = std::max(right, p[0]);
    }
    CHECK(right - left > png.width() / 2);
    CHECK(mean_y_near_column(red, left + 20) > mean_y_near_column(red, right - 20) + 200);
    // The flat series is a horizontal line: every pixel of it on the same few rows.
    int top = png.height(), bottom = 0;
    for (const auto& p : second) {
      top = std::min(top, p[1]);
      bottom = std::max(bottom, p[1]);
    }
    CHECK(bottom - top <= 3);
  }

  TEST_CASE("line plot with log y draws an exponential as a straight line") {
    nlm::test::TempDir dir;
    nlm::examples::Series decay{
        .name = "gradient", .xs = {}, .ys = {}, .colour = nlm::examples::tab10(0)};
    for (int i = 0; i <= 200; ++i) {
      decay.xs.push_back(i);
      decay.ys.push_back(std::pow(10.0, -1.0 - i / 50.0));
    }
    const auto path = dir / "log.png";
    nlm::examples::line_plot(path, {decay}, "", "epoch", "mean square", true);
    const Png png(path);
    const auto blue = png.matching(nlm::examples::tab10(0));
    REQUIRE(blue.size() > 200);
    // Sample columns away from the legend in the top-right corner.
    const int x0 = 120, x1 = 320, x2 = 520;
    const double y0 = mean_y_near_column(blue, x0);
    const double y1 = mean_y_near_column(blue, x1);
    const double y2 = mean_y_near_column(blue, x2);
    CHECK(y0 < y1);
    CHECK(y1 < y2);
    CHECK(std::abs((y0 + y2) / 2.0 - y1) < 3.0);
  }

  TEST_CASE("line plot rejects series whose xs and ys differ in length") {
    nlm::test::TempDir dir;
    const nlm::examples::Series bad{.name = "bad", .xs = {1.0, 2.0}, .ys = {1.0}};
    CHECK_THROWS_AS(nlm::examples::line_plot(dir / "bad.png", {bad}, "", "", ""),
                    std::invalid_argument);
  }

  TEST_CASE("stacked panels: documented height, one panel above the next") {
    nlm::test::TempDir dir;
    std::vector<nlm::examples::Panel> panels(3);
    for (std::size_t p = 0; p < panels.size(); ++p) {
      nlm::examples::Series s;
      for (int t = 0; t <= 1000; ++t) {
        s.xs.push_back(10000 + t);
        s.ys.push_back(std::sin(t / (50.0 + 20.0 * p)));
      }
      panels[p] = {.series = {s}, .ylabel = "x(t)", .log_y = false};
    }
    const auto path = dir / "panels.png";
    nlm::examples::line_plot_panels(path, panels, "Single neurons", "step");
    const Png png(path);
    CHECK(png.width() == nlm::examples::plot_width);
    CHECK(png.height() == nlm::examples::panels_height(3));
    std::array<double, 3> centre{};
    for (std::size_t p = 0; p < 3; ++p) {
      const auto pixels_of = png.matching(nlm::examples::tab10(p));
      REQUIRE(pixels_of.size() > 200);
      centre[p] = mean_y(pixels_of);
    }
    CHECK(centre[0] + 100 < centre[1]);
    CHECK(centre[1] + 100 < centre[2]);
  }

  TEST_CASE("PCA figure: three panels with every class, the trajectory and its ends") {
    nlm::test::TempDir dir;
    std::vector<nlm::examples::Point3> points;
    std::vector<int> labels;
    const std::array<nlm::examples::Point3, 3> centres = {{{-5, 0, 0}, {5, 5, 0}, {0, -5, 5}}};
    for (int k = 0; k < 3; ++k) {
      for (int i = 0; i < 40; ++i) {
        const double a = 0.157 * i;
        points.push_back({centres[k][0] + std::cos(a), centres[k][1] + std::sin(a),
                          centres[k][2] + std::cos(2 * a)});
        labels.push_back(k);
      }
    }
    std::vector<nlm::examples::Point3> trajectory;
    for (int t = 0; t <= 100; ++t) {
      const double s = t / 100.0;
      trajectory.push_back({-5 + 10 * s, 5 * s, 0.0});
    }
    const auto path = dir / "pca.png";
    nlm::examples::pca_figure(path, points, labels, {"digit 1", "digit 3", "digit 6"}, trajectory,
                              "PCA");
    const Png png(path);
    CHECK(png.width() == nlm::examples::pca_width);
    CHECK(png.height() == nlm::examples::pca_height);
    // Below the title and the legend row, each third of the picture holds every class.
    const int panel_w = nlm::examples::pca_width / 3;
    const int below_legend = 100;
    for (int panel = 0; panel < 3; ++panel) {
      const int x0 = panel * panel_w;
      for (std::size_t k = 0; k < 3; ++k) {
        CHECK(png.matching(nlm::examples::class_colour(k), x0, below_legend, x0 + panel_w,
                           png.height())
                  .size() > 20);
      }
      CHECK(png.matching(nlm::examples::start_colour, x0, below_legend, x0 + panel_w, png.height())
                .size() > 10);
      CHECK(png.matching(nlm::examples::end_colour, x0, below_legend, x0 + panel_w, png.height())
                .size() > 10);
      int dark = 0;
      for (int y = below_legend; y < png.height() - 60; ++y) {
        for (int x = x0 + 80; x < x0 + panel_w - 20; ++x) {
          const auto p = png.at(x, y);
          dark += p[0] < 90 && p[1] < 90 && p[2] < 90;
        }
      }
      CHECK(dark > 100);
    }
  }

  TEST_CASE("PCA figure rejects labels without a class name") {
    nlm::test::TempDir dir;
    const std::vector<nlm::examples::Point3> points = {{0, 0, 0}, {1, 1, 1}};
    const std::vector<int> labels = {0, 2};
    CHECK_THROWS_AS(nlm::examples::pca_figure(dir / "bad.png", points, labels, {"a", "b"}, {}),
                    std::invalid_argument);
  }

  TEST_CASE("writing into a missing directory throws with the path in the message") {
    nlm::test::TempDir dir;
    const auto missing = dir / "no-such-dir";
    const std::vector<float> images(pixels, 0.5f);
    const nlm::examples::Series series{.name = "s", .xs = {0.0, 1.0}, .ys = {1.0, 2.0}};
    const std::vector<nlm::examples::Point3> points = {{0, 0, 0}, {1, 1, 1}};
    const std::vector<int> labels = {0, 0};
    const std::vector<std::pair<std::string, std::function<void(const std::filesystem::path&)>>>
        writers = {
            {"grid.png",
             [&](const auto& p) {
               nlm::examples::write_image_grid(p, images.data(), 1, pixels, 1, 1);
             }},
            {"strip.png",
             [&](const auto& p) {
               nlm::examples::write_snapshot_strip(p, {{0, images, pixels}}, 1);
             }},
            {"line.png", [&](const auto& p) { nlm::examples::line_plot(p, {series}, "", "", ""); }},
            {"panels.png",
             [&](const auto& p) {
               nlm::examples::line_plot_panels(p, {{.series = {series}}}, "", "");
             }},
            {"pca.png",
             [&](const auto& p) { nlm::examples::pca_figure(p, points, labels, {"a"}, points); }},
        };
    for (const auto& [name, write] : writers) {
      const auto path = missing / name;
      CAPTURE(path.string());
      std::string message;
      try {
        write(path);
      } catch (const std::runtime_error& e) {
        message = e.what();
      }
      CHECK(message.find(path.string()) != std::string::npos);
      CHECK(message.find(cairo_status_to_string(CAIRO_STATUS_WRITE_ERROR)) != std::string::npos);
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }

  TEST_CASE("heatmaps: documented size, diverging colours at their entries, block means for large matrices") {
    nlm::test::TempDir dir;
    // 3 × 3: entry (0, 0) = +limit (red), (1, 1) = −limit (blue), (2, 2) = 0 (white),
    // (0, 2) = +2·limit (clipped to red), (2, 0) = +limit/2 (halfway to red).
    std::vector<double> v(9, 0.0);
    v[0] = 1.0;
    v[4] = -1.0;
    v[2] = 2.0;
    v[6] = 0.5;
    const auto path = dir / "heat.png";
    nlm::examples::write_heatmaps(path, {{v, 3, "a"}, {v, 3, "b"}}, 1.0);
    const Png png(path);
    const int gap = 16, band = 40, foot = 28;
    CHECK(png.width() == 2 * 3 + 3 * gap);
    CHECK(png.height() == band + 3 + foot);
    const auto red = std::array<int, 3>{0xb2, 0x18, 0x2b}, blue = std::array<int, 3>{0x21, 0x66, 0xac};
    for (const int x0 : {gap, gap + 3 + gap}) {  // both panels
      CHECK(png.at(x0 + 0, band + 0) == red);
      CHECK(png.at(x0 + 1, band + 1) == blue);
      CHECK(png.at(x0 + 2, band + 2) == std::array<int, 3>{255, 255, 255});
      CHECK(png.at(x0 + 2, band + 0) == red);
      const auto half = png.at(x0 + 0, band + 2);
      CHECK(half[0] == std::lround((1.0 + 0xb2 / 255.0) / 2 * 255));
      CHECK(half[1] == std::lround((1.0 + 0x18 / 255.0) / 2 * 255));
    }
    // 800 × 800 (> 400): 2 × 2 block means (b = ceil(800 / 400)), 400 pixels a side; the
    // block of {+1, +1, −1, +1} reads as +0.5.
    std::vector<double> big(800 * 800, 0.0);
    big[0] = big[1] = big[800 + 1] = 1.0;
    big[800] = -1.0;
    const auto large = dir / "large.png";
    nlm::examples::write_heatmaps(large, {{big, 800, "J"}}, 1.0);
    const Png l(large);
    CHECK(l.width() == 400 + 2 * gap);
    CHECK(l.height() == band + 400 + foot);
    CHECK(l.at(gap, band)[0] == std::lround((1.0 + 0xb2 / 255.0) / 2 * 255));
    CHECK(l.at(gap + 1, band + 1) == std::array<int, 3>{255, 255, 255});
    CHECK_THROWS_AS(nlm::examples::write_heatmaps(dir / "bad.png", {{v, 3, "a"}, {big, 800, "b"}}, 1.0),
                    std::invalid_argument);
  }

  TEST_CASE("grid maps: documented size, the colour of each cell from its range, grey for missing, marked cells outlined") {
    nlm::test::TempDir dir;
    // 2 rows x 3 columns, range [0, 10] (middle 5): 10 is red, 0 blue, 5 white, 7.5 halfway to
    // red, NaN grey; the reversed map swaps red and blue.
    const std::vector<double> v = {10.0, 0.0, 5.0, 7.5, std::nan(""), 20.0};
    nlm::examples::GridMap a{v, 2, 3, "a", 0.0, 10.0, false}, b{v, 2, 3, "b", 0.0, 10.0, true};
    const auto path = dir / "maps.png";
    const int cell = 10, left = 64, band = 40, below = 52, gap = 24;
    nlm::examples::write_grid_maps(path, {a, b}, {"1", "2", "3"}, {"x", "y"}, "s", "beta", {{1, 2}}, "", cell);
    const Png png(path);
    CHECK(png.width() == 2 * (left + 3 * cell + gap) + gap);
    CHECK(png.height() == band + 2 * cell + below);
    const auto red = std::array<int, 3>{0xb2, 0x18, 0x2b}, blue = std::array<int, 3>{0x21, 0x66, 0xac};
    const auto at = [&](int panel, int r, int c) {
      return png.at(gap + panel * (left + 3 * cell + gap) + left + c * cell + cell / 2, band + r * cell + cell / 2);
    };
    CHECK(at(0, 0, 0) == red);
    CHECK(at(0, 0, 1) == blue);
    CHECK(at(0, 0, 2) == std::array<int, 3>{255, 255, 255});
    CHECK(at(0, 1, 0)[0] == std::lround((1.0 + 0xb2 / 255.0) / 2 * 255));
    CHECK(at(0, 1, 1) == std::array<int, 3>{0xe0, 0xe0, 0xe0});
    CHECK(at(0, 1, 2) == red);  // 20 clipped to the top of the range
    CHECK(at(1, 0, 0) == blue);
    CHECK(at(1, 0, 1) == red);
    // The outline of the marked cell (1, 2): its top-left corner pixel is dark.
    const auto corner = png.at(gap + left + 2 * cell, band + cell);
    CHECK(corner[0] < 0x80);
    CHECK_THROWS_AS(nlm::examples::write_grid_maps(dir / "bad.png", {a}, {"1", "2"}, {"x", "y"}, "s", "beta"),
                    std::invalid_argument);
    CHECK_THROWS_AS(nlm::examples::write_grid_maps(dir / "bad.png", {a}, {"1", "2", "3"}, {"x", "y"}, "s", "beta", {{2, 0}}),
                    std::invalid_argument);
  }

  TEST_CASE("captioned grid: cells at least 150 pixels wide, tiles centred, caption band below") {
    nlm::test::TempDir dir;
    std::vector<float> images(3 * pixels, 1.0f);
    const auto path = dir / "captioned.png";
    nlm::examples::write_captioned_grid(path, images.data(), 3, pixels, {"a\nb", "c", "d"}, 2, 2);
    const Png png(path);
    const int gap = nlm::examples::grid_gap, tile = side * 2, cell = 150, h = tile + nlm::examples::caption_height;
    CHECK(png.width() == 2 * cell + 3 * gap);
    CHECK(png.height() == 2 * h + 3 * gap);
    // Tile 1 (row 0, column 1) is white, centred in its cell, on a white background: its
    // first row of pixels lies (cell − tile)/2 in.
    CHECK(png.grey(gap + cell + gap + (cell - tile) / 2 + tile / 2, gap + tile / 2) == 255);
    CHECK_THROWS_AS(nlm::examples::write_captioned_grid(dir / "bad.png", images.data(), 3, pixels, {"a"}, 2),
                    std::invalid_argument);
  }
}
