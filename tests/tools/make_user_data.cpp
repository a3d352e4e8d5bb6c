// Writes a small data set as a user would bring it, for the examples' smoke test:
// <dir>/points.npy, 240 rows of 12 values in [0, 1] (three classes, each a bump at its own
// place plus noise; not images), and <dir>/points_labels.npy, the class 0, 1 or 2 of each row.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include <nlm/io/npy.hpp>

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_user_data <dir>\n");
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);
  constexpr std::size_t rows = 240, width = 12;
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({rows, width});
  xt::xtensor<double, 1> labels = xt::xtensor<double, 1>::from_shape({rows});
  std::mt19937_64 engine(5);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  for (std::size_t i = 0; i < rows; ++i) {
    const std::size_t c = i % 3;
    labels(i) = double(c);
    const double centre = 2.0 + 4.0 * double(c);
    for (std::size_t k = 0; k < width; ++k) {
      const double bump = std::exp(-0.5 * (double(k) - centre) * (double(k) - centre) / 2.0);
      x(i, k) = std::clamp(float(0.1 + 0.8 * bump) + noise(engine), 0.0f, 1.0f);
    }
  }
  nlm::io::save_npy(dir / "points.npy", x);
  nlm::io::save_npy(dir / "points_labels.npy", labels);
  std::printf("wrote %s, %s\n", (dir / "points.npy").c_str(), (dir / "points_labels.npy").c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "make_user_data: %s\n", e.what());
  return 1;
}
