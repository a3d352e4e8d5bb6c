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
  std::size_t from = 10000, chain = 35, every = 1;
  std::string out = "out/neuron_trace";
  app.add_option("--neurons", neurons, "neurons to record (comma-separated)")->delimiter(',')->capture_default_str()->transform(ex::count());
  app.add_option("--chain", chain, "which chain")->capture_default_str()->transform(ex::count());
  app.add_option("--from", from, "first recorded step")->capture_default_str()->transform(ex::count());
  app.add_option("--every", every, "record every this many steps")->capture_default_str()->transform(ex::count(true));
  app.add_option("--out", out, "output folder")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (chain >= g.chains) throw std::invalid_argument("--chain must be < --chains");
  if (from >= g.steps)
    throw std::invalid_argument("--from (" + std::to_string(from) + ") must be below --steps (" +
                                std::to_string(g.steps) + "): nothing would be recorded");
  const ex::fs::path dir(out);
  ex::require_output_dir(dir);
  const std::size_t n = ex::couplings_neurons(g);
  for (const auto i : neurons)
    if (i >= n)
      throw std::invalid_argument("--neurons: " + std::to_string(i) + " is not below N = " + std::to_string(n));

  nlm::NeuronTrace<float> trace(chain, neurons, from, g.steps, every);
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
                       "single-neuron activity, chain " + std::to_string(chain), "step");
  std::cout << "wrote " << (dir / "neuron_trace.png").string() << ", "
            << (dir / "neuron_trace.csv").string() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "mnist_neuron_trace: " << e.what() << "\n";
  return 1;
}
