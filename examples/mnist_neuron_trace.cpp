// The paper's Fig. 2 (4trajectory.py): the activity x_i(t) of single neurons of one
// generating chain over a window of the run (the scripts plot neuron 234).
//
//   mnist_neuron_trace --couplings out/quick/J.npy --neurons 234,350,500
#include <iostream>

#include <nlm/nlm.hpp>
#include <nlm_examples/picture.hpp>

#include "common/generation.hpp"
#include "common/mnist_common.hpp"

namespace ex = nlm::examples;

int main(int argc, char** argv) try {
  CLI::App app{"Single-neuron activity of a generating NLM chain (nlm)"};
  nlm::examples::last_option_wins(app);
  ex::GenerationOptions g;
  g.add_to(app);
  std::vector<std::size_t> neurons{234};
  ex::TrajectoryOptions t;  // chain 35 from step 10 000, every step
  std::string out = "out/neuron_trace";
  app.add_option("--neurons", neurons, "neurons to record (comma-separated)")->delimiter(',')->capture_default_str()->transform(ex::count());
  t.add_to(app, "which chain");
  ex::add_output_option(app, out);
  CLI11_PARSE(app, argc, argv);
  t.check(g);
  const ex::fs::path dir(out);
  ex::require_output_dir(dir);
  const std::size_t n = ex::couplings_neurons(g);
  for (const auto i : neurons)
    if (i >= n)
      throw std::invalid_argument("--neurons: " + std::to_string(i) + " is not below N = " + std::to_string(n));

  nlm::NeuronTrace<float> trace(t.chain, neurons, t.from, g.steps, t.every);
  ex::generate(g, trace);

  std::vector<std::vector<double>> rows;
  std::vector<ex::Panel> panels;
  std::vector<double> steps(trace.steps().begin(), trace.steps().end());
  for (std::size_t k = 0; k < neurons.size(); ++k) {
    std::vector<double> ys;
    for (std::size_t t = 0; t < trace.steps().size(); ++t) ys.push_back(trace.value(t, k));
    panels.push_back(ex::Panel{{ex::Series{"neuron " + std::to_string(neurons[k]), steps, ys}},
                               "x_" + std::to_string(neurons[k])});
  }
  std::string header = "step";
  for (const auto i : neurons) header += ",x_" + std::to_string(i);
  for (std::size_t t = 0; t < trace.steps().size(); ++t) {
    std::vector<double> r{steps[t]};
    for (std::size_t k = 0; k < neurons.size(); ++k) r.push_back(trace.value(t, k));
    rows.push_back(std::move(r));
  }
  ex::write_csv(dir / "neuron_trace.csv", header, rows);
  ex::line_plot_panels(dir / "neuron_trace.png", panels,
                       "single-neuron activity, chain " + std::to_string(t.chain), "step");
  std::cout << "wrote " << (dir / "neuron_trace.png").string() << ", "
            << (dir / "neuron_trace.csv").string() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "mnist_neuron_trace: " << e.what() << "\n";
  return 1;
}
