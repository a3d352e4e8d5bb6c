// Uses the installed parts that bring dependencies of their own: nlm::analysis (PCA through
// LAPACK's eigensolver) and nlm::data (IDX files, gzipped through zlib). Exit status 0 iff both
// give what they must.
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <nlm/analysis/pca.hpp>
#include <nlm/data/idx.hpp>

int main() {
  // PCA of points spread along (1, 1)/√2 (variance 2) and (1, −1)/√2 (variance 0.02).
  nlm::Matrix<double> x = nlm::Matrix<double>::from_shape({4, 2});
  const double pts[4][2] = {{1.1, 0.9}, {-0.9, -1.1}, {1.0, 1.0}, {-1.0, -1.0}};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 2; ++c) x(r, c) = pts[r][c];
  const nlm::Pca<double> pca(x, 1);
  const bool pca_ok = std::abs(std::abs(pca.components()(0, 0)) - std::sqrt(0.5)) < 1e-3;

  // A 2-image, 2×3 idx3 file, gzipped, read back.
  const std::vector<std::uint8_t> idx = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3,
                                         1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  gzFile out = gzopen("consumer_images.idx3.gz", "wb");
  if (out == nullptr || gzwrite(out, idx.data(), unsigned(idx.size())) != int(idx.size()) || gzclose(out) != Z_OK) {
    std::printf("could not write consumer_images.idx3.gz\n");
    return 1;
  }
  const auto images = nlm::data::read_idx_images("consumer_images.idx3.gz");
  const bool idx_ok = images.count == 2 && images.rows == 2 && images.cols == 3 && images.pixels.size() == 12 &&
                      images.pixels[11] == 12;

  std::printf("PCA first component (%.4f, %.4f): %s; gzipped IDX read back: %s\n", pca.components()(0, 0),
              pca.components()(0, 1), pca_ok ? "ok" : "WRONG", idx_ok ? "ok" : "WRONG");
  return pca_ok && idx_ok ? 0 : 1;
}
