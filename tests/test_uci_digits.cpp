// The UCI 8x8 digits reader (data/uci_digits.hpp): round trips of plain and gzipped files, the
// reference's preprocessing by hand, and every malformed input named by line and field.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <string>

#include <nlm/data/uci_digits.hpp>

#include "test_support.hpp"

namespace {

/// `count` lines of the digits format: pixel i of image r is (3r + 5i) mod 17, label r mod 10.
std::string digits_text(std::size_t count) {
  std::string t;
  for (std::size_t r = 0; r < count; ++r) {
    for (std::size_t i = 0; i < 64; ++i) t += std::to_string((3 * r + 5 * i) % 17) + ",";
    t += std::to_string(r % 10) + "\n";
  }
  return t;
}

void write_gz(const std::filesystem::path& p, const std::string& text) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, text.data(), unsigned(text.size())) == int(text.size()));
  gzclose(f);
}

std::string error_of(const std::string& text) {
  try {
    nlm::data::detail::parse_uci_digits(text, "d.csv");
  } catch (const nlm::data::idx_error& e) {
    return e.what();
  }
  return "no idx_error";
}

}  // namespace

TEST_SUITE("uci digits") {

TEST_CASE("plain and gzipped files read back every pixel and label") {
  nlm::test::TempDir dir;
  const std::string text = digits_text(25);
  std::ofstream(dir / "digits.csv") << text;
  write_gz(dir / "digits.csv.gz", text);
  for (const char* name : {"digits.csv", "digits.csv.gz"}) {
    const nlm::data::uci_digits d = nlm::data::read_uci_digits(dir / name);
    REQUIRE(d.count == 25);
    REQUIRE(d.pixels.size() == 25 * 64);
    for (std::size_t r = 0; r < 25; ++r) {
      CHECK(d.labels[r] == r % 10);
      for (std::size_t i = 0; i < 64; ++i) CHECK(d.pixels[r * 64 + i] == (3 * r + 5 * i) % 17);
    }
  }
  // Whole numbers written as floats, CRLF line ends and no final newline read the same.
  std::string line = "3.0,0,1.00,16";
  for (int i = 4; i < 64; ++i) line += ",0";
  line += ",7";
  const std::string crlf = line + "\r\n" + line;
  const auto d = nlm::data::detail::parse_uci_digits(crlf, "x");
  CHECK(d.count == 2);
  CHECK(d.pixels[0] == 3);
  CHECK(d.pixels[2] == 1);
  CHECK(d.pixels[3] == 16);
  CHECK(d.labels[1] == 7);
}

TEST_CASE("the reference's patterns: pixels squared, each image z-scored with its population SD") {
  const nlm::data::uci_digits d = nlm::data::detail::parse_uci_digits(digits_text(3), "d");
  const std::size_t rows[] = {2, 0};
  const nlm::Matrix<double> x = nlm::data::uci_digit_patterns<double>(d, rows);
  REQUIRE(x.shape(0) == 2);
  for (std::size_t r = 0; r < 2; ++r) {
    const std::size_t image = rows[r];
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < 64; ++i) mean += std::pow(double(d.pixels[image * 64 + i]), 2) / 64;
    for (std::size_t i = 0; i < 64; ++i) var += std::pow(std::pow(double(d.pixels[image * 64 + i]), 2) - mean, 2) / 64;
    for (std::size_t i = 0; i < 64; ++i)
      CHECK(x(r, i) == doctest::Approx((std::pow(double(d.pixels[image * 64 + i]), 2) - mean) / std::sqrt(var)).epsilon(1e-14));
  }
}

TEST_CASE("malformed files are refused naming the file, the line and the field") {
  CHECK(error_of(digits_text(1) + "1,2\n") == "d.csv: line 2: 2 fields, expected 65 (64 pixels and a label)");
  CHECK(error_of(digits_text(1) + digits_text(1).substr(0, digits_text(1).size() - 1) + ",3\n") ==
        "d.csv: line 2: more than 65 fields (64 pixels and a label)");
  std::string bad = digits_text(1);
  bad.replace(0, 1, "x");
  CHECK(error_of(bad) == "d.csv: line 1: field 1: \"x\" is not a whole number");
  bad = digits_text(1);
  bad.replace(0, 1, "17");
  CHECK(error_of(bad) == "d.csv: line 1: field 1: pixel value 17 is not in 0-16");
  bad = digits_text(1);
  bad.replace(bad.size() - 2, 1, "12");
  CHECK(error_of(bad) == "d.csv: line 1: field 65: label 12 is not a digit 0-9");
  CHECK(error_of(digits_text(1) + "\n" + digits_text(1)) == "d.csv: line 2: empty line");
  CHECK(error_of("") == "d.csv: no images");
  CHECK(error_of("-1" + digits_text(1).substr(1)) == "d.csv: line 1: field 1: \"-1\" is not a whole number");

  nlm::test::TempDir dir;
  write_gz(dir / "full.gz", digits_text(40));
  const auto full = std::filesystem::file_size(dir / "full.gz");
  std::filesystem::copy_file(dir / "full.gz", dir / "cut.gz");
  std::filesystem::resize_file(dir / "cut.gz", full - 20);
  const std::string cut = (dir / "cut.gz").string();
  std::string message;
  try {
    nlm::data::read_uci_digits(cut);
  } catch (const nlm::data::idx_error& e) {
    message = e.what();
  }
  CHECK(message.starts_with(cut + ": "));
  CHECK((message.find("cut short") != std::string::npos || message.find("corrupt gzip") != std::string::npos));
  CHECK_THROWS_WITH_AS(nlm::data::read_uci_digits(dir / "missing.csv.gz"),
                       ((dir / "missing.csv.gz").string() + ": no such file").c_str(), nlm::data::idx_error);
}

}  // TEST_SUITE
