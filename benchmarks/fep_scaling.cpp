// The free-energy attractor network's learning update (one chain, float32) at size N, timed
// three ways in one process, for benchmarks/peer/fep_scaling.py (which times NumPy's update in
// the same run, interleaved):
//  - seam:  AttractorLearner::update() (the input Jσ, the signal G, the plain step, J − step:
//           four passes over N² floats), where memory allows three N × N matrices;
//  - fused: AttractorLearner::fused_steps (one read+write pass over J per update);
//  - pass:  one read+write pass over N² floats, J_ij −= c_i v_j, the memory-bandwidth bound of
//           any update that changes every J_ij.
// Each is the median over `repeats` timings of `updates` consecutive updates (ms per update).
// Prints one JSON object.
//
//   nlm_fep_scaling --n 5000 --updates 10 --repeats 5
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/// MemAvailable from /proc/meminfo in bytes (0 when unknown).
double available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024.0;
  return 0;
}

template <class F>
double time_ms(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 1000, updates = 10, repeats = 5;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string k = argv[a];
    const std::size_t v = std::strtoull(argv[a + 1], nullptr, 10);
    if (k == "--n") n = v;
    else if (k == "--updates") updates = v;
    else if (k == "--repeats") repeats = v;
    else {
      std::fprintf(stderr, "nlm_fep_scaling: unknown option %s (--n, --updates, --repeats)\n", k.c_str());
      return 2;
    }
  }
  if (n < 2 || updates == 0 || repeats == 0) {
    std::fprintf(stderr, "nlm_fep_scaling: --n must be >= 2, --updates and --repeats > 0\n");
    return 2;
  }
  const double matrix_bytes = double(n) * double(n) * sizeof(float);
  const bool seam = 3.2 * matrix_bytes < 0.8 * available_bytes();  // J, G and the step (+ slack)

  nlm::AttractorHyperparameters hp;
  hp.neurons = n;
  hp.beta = 1;
  hp.learning_rate = 1e-3;
  hp.seed = 1;
  nlm::AttractorLearner<float> learner(hp);
  nlm::Vector<float> b = nlm::Vector<float>::from_shape({n});
  nlm::detail::Xoshiro256 rng(3);
  nlm::detail::fill_normal<float>(rng, std::span<float>(b.data(), b.size()));
  learner.set_field(2.0f * b);

  std::vector<double> fused, seamed, pass;
  (void)learner.fused_steps(2);  // first touch of J's pages
  if (seam) (void)learner.update();  // the seam's signal and step made
  for (std::size_t r = 0; r < repeats; ++r) {
    fused.push_back(time_ms([&] { (void)learner.fused_steps(updates); }) / double(updates));
    if (seam) seamed.push_back(time_ms([&] {
                                 for (std::size_t t = 0; t < updates; ++t) (void)learner.update();
                               }) / double(updates));
  }
  // The bandwidth bound on the learner's own J (a copy would double the memory).
  std::vector<float> c(n), v(n);
  for (std::size_t i = 0; i < n; ++i) c[i] = 1e-7f * float(i % 7), v[i] = float(i % 5) - 2.0f;
  for (std::size_t r = 0; r < repeats; ++r)
    pass.push_back(time_ms([&] {
                     for (std::size_t t = 0; t < updates; ++t)
                       learner.model().parameters().edit([&](nlm::Matrix<float>& j) {
                         nlm::detail::parallel_rows(n, n, [&](std::size_t r0, std::size_t r1) {
                           for (std::size_t i = r0; i < r1; ++i) {
                             float* ji = j.data() + i * n;
                             const float ci = c[i];
                             for (std::size_t col = 0; col < n; ++col) ji[col] -= ci * v[col];
                           }
                         });
                       });
                   }) / double(updates));
  const double pass_ms = median(pass);
  std::printf("{\"n\": %zu, \"updates\": %zu, \"repeats\": %zu, \"fused_ms\": %.4f, \"seam_ms\": %s, \"pass_ms\": %.4f, "
              "\"pass_gb_per_s\": %.2f, \"threads\": %d}\n",
              n, updates, repeats, median(fused), seam ? std::to_string(median(seamed)).c_str() : "null", pass_ms,
              2.0 * matrix_bytes / (pass_ms * 1e-3) / 1e9, nlm::threads());
  return 0;
}
