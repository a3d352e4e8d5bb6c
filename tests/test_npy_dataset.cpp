// A user's own data from .npy files: every value rule against its formula, the automatic
// choice from dtype and range, labels and class selection, image shapes, and a sentence for
// every file that cannot be used.
#include <nlm/data/npy_dataset.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <utility>
#include <string>
#include <vector>

#include "npy_bytes.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace nlm::data;

/// Writes a .npy file of dtype `descr` and `shape` holding `values` stored as T.
template <class T>
void write_npy_of(const fs::path& path, const std::string& descr, const std::string& shape,
                  const std::vector<T>& values) {
  const std::string bytes = nlm::test::npy_bytes_with_header(
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }",
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE(out);
}

template <class Action>
std::string error_of(Action&& action) {
  return nlm::test::message_of(std::forward<Action>(action));
}

}  // namespace

TEST_SUITE("npy data") {

TEST_CASE("each value rule maps by its formula, and auto picks it from dtype and range") {
  nlm::test::TempDir dir;
  const fs::path bytes = dir / "bytes.npy", unit = dir / "unit.npy", sym = dir / "sym.npy",
                 wide = dir / "wide.npy", flags = dir / "flags.npy", ints = dir / "ints.npy";
  write_npy_of<std::uint8_t>(bytes, "|u1", "(2, 3)", {0, 51, 255, 102, 204, 1});
  write_npy_of<float>(unit, "<f4", "(2, 2)", {0.0f, 0.25f, 1.0f, 0.5f});
  write_npy_of<double>(sym, "<f8", "(1, 4)", {-1.0, -0.5, 0.0, 1.0});
  write_npy_of<double>(wide, "<f8", "(2, 2)", {-3.0, 1.0, 5.0, 2.0});
  write_npy_of<std::uint8_t>(flags, "|b1", "(1, 3)", {1, 0, 1});
  write_npy_of<std::int64_t>(ints, "<i8", "(1, 3)", {0, 200, 17});

  const auto load = [](const fs::path& p, value_rule rule = value_rule::automatic) {
    npy_source s;
    s.data = p;
    s.rule = rule;
    return load_npy_dataset<double>(s, selection{{}, {}});
  };
  // bytes: x = 2v/255 - 1, exactly the IDX pixel map.
  const auto b = load(bytes);
  CHECK(b.rule == "bytes: x = 2v/255 - 1");
  for (std::size_t k = 0; k < 6; ++k)
    CHECK(b.x.data()[k] == pixel_to_state<double>(std::uint8_t(std::vector<int>{0, 51, 255, 102, 204, 1}[k])));
  CHECK(b.x(0, 0) == -1.0);
  CHECK(b.x(0, 2) == 1.0);
  // unit: x = 2v - 1.
  const auto u = load(unit);
  CHECK(u.rule == "unit: x = 2v - 1");
  CHECK(u.x == xt::xtensor<double, 2>{{-1.0, -0.5}, {1.0, 0.0}});
  // symmetric: unchanged.
  const auto s = load(sym);
  CHECK(s.rule == "symmetric: x = v");
  CHECK(s.x == xt::xtensor<double, 2>{{-1.0, -0.5, 0.0, 1.0}});
  // minmax over the whole matrix: min -3 -> -1, max 5 -> +1, 1 -> 2(4/8) - 1 = 0.
  const auto w = load(wide);
  CHECK(w.rule == "minmax: x = 2(v + 3)/8 - 1");
  CHECK(w.x == xt::xtensor<double, 2>{{-1.0, 0.0}, {1.0, 0.25}});
  // bool: unit, so {-1, +1}.
  const auto f = load(flags);
  CHECK(f.rule == "unit: x = 2v - 1");
  CHECK(f.x == xt::xtensor<double, 2>{{1.0, -1.0, 1.0}});
  // integers within 0-255 are bytes.
  const auto i = load(ints);
  CHECK(i.rule == "bytes: x = 2v/255 - 1");
  CHECK(i.x(0, 1) == pixel_to_state<double>(200));
  // raw keeps any finite value; a rule given explicitly is applied as given.
  CHECK(load(wide, value_rule::raw).x == xt::xtensor<double, 2>{{-3.0, 1.0}, {5.0, 2.0}});
  CHECK(load(unit, value_rule::symmetric).x == xt::xtensor<double, 2>{{0.0, 0.25}, {1.0, 0.5}});
  CHECK(load(unit, value_rule::min_max).rule == "minmax: x = 2v/1 - 1");

  // Values outside the chosen rule's range are refused with both ranges named.
  CHECK(error_of([&] { load(wide, value_rule::unit); }) ==
        wide.string() + ": values span [-3, 5], outside the [0, 1] of the value rule 'unit' "
                        "(use minmax to rescale, or raw to keep them)");
  CHECK(error_of([&] { load(wide, value_rule::bytes); }) ==
        wide.string() + ": values span [-3, 5], outside the [0, 255] of the value rule 'bytes' "
                        "(use minmax to rescale, or raw to keep them)");
  const fs::path flat = dir / "flat.npy";
  write_npy_of<float>(flat, "<f4", "(2, 2)", {3, 3, 3, 3});
  CHECK(error_of([&] { load(flat); }) ==
        flat.string() + ": every value is 3, so the value rule 'minmax' has no range to map");
  const fs::path nan = dir / "nan.npy";
  write_npy_of<float>(nan, "<f4", "(2, 2)", {0, 1, std::nanf(""), 0});
  CHECK(error_of([&] { load(nan); }) == nan.string() + ": sample 1, value 0 is nan (every value must be finite)");

  CHECK(parse_value_rule("minmax") == value_rule::min_max);
  CHECK(error_of([] { parse_value_rule("scale"); }) ==
        "unknown value rule 'scale' (use auto, bytes, unit, symmetric, minmax or raw)");
}

TEST_CASE("labels select classes; unlabelled data keeps every row") {
  nlm::test::TempDir dir;
  const fs::path data = dir / "x.npy", labels = dir / "y.npy";
  // Row i holds the value i / 10 in both columns.
  write_npy_of<float>(data, "<f4", "(5, 2)", {0.0f, 0.0f, 0.1f, 0.1f, 0.2f, 0.2f, 0.3f, 0.3f, 0.4f, 0.4f});
  write_npy_of<std::int64_t>(labels, "<i8", "(5,)", {3, 7, 3, 9, 7});

  npy_source src;
  src.data = data;
  src.labels = labels;
  src.rule = value_rule::raw;
  const auto all = load_npy_dataset<float>(src, selection{{}, {}});
  CHECK(all.labelled);
  CHECK(all.labels == std::vector<std::uint8_t>{3, 7, 3, 9, 7});
  const auto some = load_npy_dataset<float>(src, selection{{7, 3}, {}});
  CHECK(some.labels == std::vector<std::uint8_t>{3, 7, 3, 7});
  CHECK(some.x(3, 1) == 0.4f);  // row 4 of the file
  const auto first = load_npy_dataset<float>(src, selection{{7}, 1});
  CHECK(first.labels == std::vector<std::uint8_t>{7});
  CHECK(first.x(0, 0) == 0.1f);

  src.labels.clear();
  const auto plain = load_npy_dataset<float>(src, selection{{}, {}});
  CHECK_FALSE(plain.labelled);
  CHECK(plain.count() == 5);
  CHECK(plain.labels == std::vector<std::uint8_t>(5, 0));
  CHECK(error_of([&] { load_npy_dataset<float>(src, selection{{1, 3, 6}, {}}); }) ==
        data.string() + ": cannot keep only some classes of data without labels (give a labels .npy, or keep "
                        "every class)");

  // Bad labels: the count, a fraction, a negative, a class above 255, a matrix.
  src.labels = labels;
  const auto labels_error = [&](const std::string& descr, const std::string& shape, const std::vector<double>& v) {
    write_npy_of<double>(labels, descr, shape, v);
    return error_of([&] { load_npy_dataset<float>(src, selection{{}, {}}); });
  };
  CHECK(labels_error("<f8", "(4,)", {1, 2, 3, 4}) ==
        labels.string() + ": 4 labels for the 5 samples of " + data.string());
  CHECK(labels_error("<f8", "(5,)", {1, 2, 3.5, 4, 5}) ==
        labels.string() + ": the label of sample 2 is 3.5, not a whole number from 0 to 255");
  CHECK(labels_error("<f8", "(5,)", {1, -1, 3, 4, 5}) ==
        labels.string() + ": the label of sample 1 is -1, not a whole number from 0 to 255");
  CHECK(labels_error("<f8", "(5,)", {1, 2, 3, 4, 256}) ==
        labels.string() + ": the label of sample 4 is 256, not a whole number from 0 to 255");
  CHECK(labels_error("<f8", "(5, 1)", {1, 2, 3, 4, 5}) ==
        labels.string() + ": shape (5, 1) has rank 2, expected rank 1");
}

TEST_CASE("image shapes: a square width, a stack of images, a shape given, or none") {
  nlm::test::TempDir dir;
  const auto shape_of = [&](const std::string& npy_shape, std::size_t values, std::size_t rows = 0,
                            std::size_t cols = 0) {
    const fs::path p = dir / "d.npy";
    write_npy_of<float>(p, "<f4", npy_shape, std::vector<float>(values, 0.5f));
    npy_source s;
    s.data = p;
    s.image_rows = rows;
    s.image_cols = cols;
    const auto d = load_npy_dataset<float>(s, selection{{}, {}});
    return std::to_string(d.count()) + ": " + std::to_string(d.rows) + "x" + std::to_string(d.cols) + ", width " +
           std::to_string(d.x.shape(1));
  };
  CHECK(shape_of("(2, 16)", 32) == "2: 4x4, width 16");
  CHECK(shape_of("(2, 12)", 24) == "2: 0x0, width 12");         // not a square: plots
  CHECK(shape_of("(2, 12)", 24, 3, 4) == "2: 3x4, width 12");   // unless a shape is given
  CHECK(shape_of("(3, 2, 5)", 30) == "3: 2x5, width 10");       // a stack of 2x5 images
  const fs::path p = dir / "d.npy";
  CHECK(error_of([&] { shape_of("(2, 12)", 24, 5, 5); }) ==
        p.string() + ": the image shape 5x5 does not fit rows of 12 values");
  CHECK(error_of([&] { shape_of("(3, 2, 5)", 30, 5, 2); }) ==
        p.string() + ": the image shape 5x2 does not fit its images of 2x5");
  CHECK(error_of([&] { shape_of("(6,)", 6); }) ==
        p.string() + ": shape (6,) is not (samples, width) or (samples, height, width)");
  CHECK(error_of([&] { shape_of("(0, 4)", 0); }) == p.string() + ": shape (0, 4) holds no values");
  CHECK(error_of([&] { npy_source s; s.data = dir / "missing.npy"; load_npy_dataset<float>(s); }) ==
        (dir / "missing.npy").string() + ": cannot open for reading: No such file or directory");
}

}  // TEST_SUITE
