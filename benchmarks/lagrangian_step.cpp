// The least-action model's training step (float32, plasticity on, β on the outputs, a moving
// input) at the MNIST shapes, timed with each solve in one process, for
// benchmarks/peer/lagrangian_step.py (which times NumPy's step of the same model in the same run):
//  - layered: the O(synapses) solve (LagrangianSolve::layered);
//  - dense:   the matrix formed and factored per sample (LagrangianSolve::dense), as the
//             reference code does.
// Each is the median over `repeats` timings of `steps` consecutive steps after one warm-up step;
// a presented sample costs `presentation` steps / batch of them. Prints one JSON object.
//
//   nlm_lagrangian_step --layers 784-500-10 --batch 32 --steps 5 --repeats 3
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<std::size_t> parse_layers(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, '-')) out.push_back(std::stoul(part));
  return out;
}

/// ms per step of `steps` steps (median of `repeats`), inputs in [0, 1] moving a little each step.
double time_step(const std::vector<std::size_t>& layers, nlm::LagrangianSolve solve, std::size_t batch, std::size_t steps,
                 std::size_t repeats) {
  nlm::LagrangianHyperparameters hp;
  hp.batch = batch;
  hp.learning_rate = 1e-3;
  hp.solve = solve;
  nlm::LagrangianLearner<nlm::HardSigmoid, float> l(nlm::Topology::layered(layers), hp);
  std::mt19937_64 g(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  nlm::Matrix<float> x = nlm::Matrix<float>::from_shape({batch, layers.front()});
  nlm::Matrix<float> y = nlm::Matrix<float>::from_shape({batch, layers.back()});
  for (auto& v : x) v = u(g);
  for (auto& v : y) v = u(g);
  l.set_input(x);
  l.set_target(y);
  const auto step = [&] {
    for (auto& v : x) v = std::min(1.0f, v + 1e-3f);
    l.set_input(x);
    l.update();
  };
  step();  // warm-up: the workspace's buffers
  std::vector<double> ms;
  for (std::size_t r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t k = 0; k < steps; ++k) step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / double(steps));
  }
  return median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  std::string layers = "784-500-10";
  std::size_t batch = 32, steps = 5, repeats = 3, presentation = 100, dense_steps = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--layers") layers = v;
    else if (k == "--batch") batch = std::stoul(v);
    else if (k == "--steps") steps = std::stoul(v);
    else if (k == "--dense-steps") dense_steps = std::stoul(v);
    else if (k == "--repeats") repeats = std::stoul(v);
    else if (k == "--presentation") presentation = std::stoul(v);
    else {
      std::fprintf(stderr, "nlm_lagrangian_step: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const std::vector<std::size_t> l = parse_layers(layers);
  const double layered = time_step(l, nlm::LagrangianSolve::layered, batch, steps, repeats);
  const double dense = time_step(l, nlm::LagrangianSolve::dense, batch, dense_steps ? dense_steps : steps, repeats);
  std::printf("{\"layers\": \"%s\", \"batch\": %zu, \"layered_ms_per_step\": %.4f, \"dense_ms_per_step\": %.4f, "
              "\"layered_ms_per_sample\": %.4f, \"dense_ms_per_sample\": %.4f, \"presentation_steps\": %zu}\n",
              layers.c_str(), batch, layered, dense, layered * double(presentation) / double(batch),
              dense * double(presentation) / double(batch), presentation);
  return 0;
}
