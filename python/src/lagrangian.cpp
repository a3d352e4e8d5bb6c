// The least-action model from Python (float32 and float64, hard sigmoid, sigmoid or ReLU):
// LagrangianLearner — the network, its neurons' state and the real-time plasticity; supervised
// presentations with the cross-fade, prediction, recordings, one step at a time, back-propagation
// of the same network, checkpoints that resume bit for bit.
#include <limits>

#include "common.hpp"

namespace nlm_python {
namespace {

template <class R, class S>
struct LagrangianHolder {
  nlm::LagrangianLearner<R, S> learner;
  nlm::TrainingState state;
};

nlm::LagrangianSolve to_solve(const std::string& s) {
  if (s == "automatic") return nlm::LagrangianSolve::automatic;
  if (s == "dense") return nlm::LagrangianSolve::dense;
  if (s == "layered") return nlm::LagrangianSolve::layered;
  throw py::value_error("solve: '" + s + "' is not one of 'automatic', 'dense', 'layered'");
}

nlm::Topology to_topology(const std::string& architecture, const std::vector<std::size_t>& layers,
                          const std::vector<double>& rates, bool inputs, const py::object& mask, std::size_t n_inputs) {
  try {
    if (architecture == "layered") return nlm::Topology::layered(layers, rates, inputs);
    if (architecture == "layered_feedback") return nlm::Topology::layered_feedback(layers, rates, inputs);
    if (architecture == "all_to_all") {
      if (layers.size() != 2) throw py::value_error("all_to_all: layers must be [hidden, outputs]");
      return nlm::Topology::all_to_all(layers[0], layers[1], rates.empty() ? 1.0 : rates[0]);
    }
    if (architecture == "custom") {
      if (mask.is_none()) throw py::value_error("custom: give the mask (N x N learning-rate factors, 0 = no synapse)");
      if (layers.size() != 1) throw py::value_error("custom: layers must be [outputs]");
      return nlm::Topology::custom(to_matrix<double>(mask, "mask"), n_inputs, layers[0]);
    }
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  throw py::value_error("architecture: '" + architecture +
                        "' is not one of 'layered', 'layered_feedback', 'all_to_all', 'custom'");
}

/// Keeps the training state when Ctrl-C ends a run (the loop saves it through on_interrupt), so
/// that resume=True goes on from where the run stopped.
struct KeepOnInterrupt {
  nlm::TrainingState* into;
  template <class M>
  void on_interrupt(const M&, const nlm::TrainingState& s) {
    *into = s;
  }
};

template <class F>
auto value_errors(F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

template <class R, class S>
void bind_lagrangian(py::module_& m, const char* name) {
  using H = LagrangianHolder<R, S>;
  py::class_<H>(m, name, R"(The least-action model (Senn et al., eLife 2024): neurons with prospective rates,
the u-dot system solved every step (dense, or layered in O(synapses)), continuous plasticity
dW = eta M * <(u - W r - b) r^T>. Use nlm.LagrangianLearner(...) to construct.)")
      .def(py::init([](const std::string& architecture, const std::vector<std::size_t>& layers,
                       const std::vector<double>& rates, bool inputs, const py::object& mask, std::size_t n_inputs,
                       std::size_t batch, double tau, double dt, double beta, double learning_rate,
                       double bias_learning_rate, bool biases, double init_std, double init_clip, std::uint64_t seed,
                       const std::string& solve) {
             nlm::LagrangianHyperparameters hp;
             hp.batch = batch;
             hp.tau = tau;
             hp.dt = dt;
             hp.beta = beta;
             hp.learning_rate = learning_rate;
             hp.bias_learning_rate = bias_learning_rate;
             hp.biases = biases;
             hp.init_std = init_std;
             hp.init_clip = init_clip;
             hp.seed = seed;
             hp.solve = to_solve(solve);
             nlm::Topology t = to_topology(architecture, layers, rates, inputs, mask, n_inputs);
             return value_errors([&] {
               nlm::LagrangianLearner<R, S> l(std::move(t), hp);
               nlm::TrainingState st = nlm::initial_training_state(l);
               return H{std::move(l), std::move(st)};
             });
           }),
           py::arg("architecture"), py::arg("layers"), py::arg("rates"), py::arg("inputs"), py::arg("mask"),
           py::arg("n_inputs"), py::arg("batch"), py::arg("tau"), py::arg("dt"), py::arg("beta"),
           py::arg("learning_rate"), py::arg("bias_learning_rate"), py::arg("biases"), py::arg("init_std"),
           py::arg("init_clip"), py::arg("seed"), py::arg("solve"))
      .def_property_readonly("W", [](const py::object& self) { return view_of(self.cast<const H&>().learner.weights(), self); })
      .def_property_readonly("b", [](const py::object& self) { return view_of(self.cast<const H&>().learner.biases(), self); })
      .def_property_readonly("potentials", [](const H& h) { return to_numpy(h.learner.potentials()); },
                             "(batch, N): the membrane potentials (a copy)")
      .def_property_readonly("outputs", [](const H& h) { return to_numpy(h.learner.output_potentials()); },
                             "(batch, outputs): the output neurons' potentials (a copy)")
      .def_property_readonly("mismatch", [](const H& h) { return to_numpy(h.learner.mismatch()); },
                             "(batch, N): u - W r - b of the last step (0 on inputs)")
      .def_property_readonly("updates", [](const H& h) { return h.learner.updates(); })
      .def_property_readonly("neurons", [](const H& h) { return h.learner.neurons(); })
      .def_property_readonly("inputs", [](const H& h) { return h.learner.topology().inputs(); })
      .def_property_readonly("n_outputs", [](const H& h) { return h.learner.topology().outputs(); })
      .def_property_readonly("topology", [](const H& h) { return h.learner.topology().describe(); })
      .def_property_readonly("solve", [](const H& h) { return std::string(nlm::solve_name(h.learner.model().solve())); })
      .def("set_weights", [](H& h, const py::object& w) { value_errors([&] { h.learner.model().set_weights(to_matrix<S>(w, "W")); return 0; }); },
           py::arg("W"))
      .def("set_biases", [](H& h, const py::object& b) { value_errors([&] { h.learner.model().set_biases(to_vector<S>(b, "b")); return 0; }); },
           py::arg("b"))
      .def(
          "step",
          [](H& h, const py::object& input, const py::object& target, bool plasticity) {
            value_errors([&] {
              if (!input.is_none()) h.learner.set_input(to_matrix<S>(input, "input"));
              if (!target.is_none()) h.learner.set_target(to_matrix<S>(target, "target"));
              h.learner.set_plasticity(plasticity);
              return 0;
            });
            py::gil_scoped_release release;
            return h.learner.update();
          },
          py::arg("input") = py::none(), py::arg("target") = py::none(), py::arg("plasticity") = true,
          R"(One step with this input and target (batch rows; None keeps the last ones), the plasticity on or
off, the nudging as set (set_nudging). Returns the mean square of the plasticity's signal.)")
      .def(
          "set_nudging",
          [](H& h, const py::object& beta) {
            value_errors([&] {
              if (py::isinstance<py::float_>(beta) || py::isinstance<py::int_>(beta)) h.learner.set_nudging(beta.cast<double>());
              else h.learner.set_nudging(to_vector<S>(beta, "beta"));
              return 0;
            });
          },
          py::arg("beta"), "beta on every output (a number) or per output (an array)")
      .def(
          "learn_supervised",
          [](H& h, const py::object& inputs, const py::object& targets, std::size_t epochs, std::size_t steps,
             bool cross_fade, bool resume) {
            const nlm::Matrix<S> x = to_matrix<S>(inputs, "inputs"), y = to_matrix<S>(targets, "targets");
            nlm::LagrangianPresentation p;
            p.steps = steps;
            p.cross_fade = cross_fade;
            nlm::TrainingOptions o = nlm::TrainingOptions::for_epochs((resume ? h.state.epoch : 0) + epochs);
            nlm::TrainingState from = resume ? h.state : nlm::initial_training_state(h.learner);
            py::gil_scoped_release release;
            h.state = value_errors([&] { return nlm::learn_supervised(h.learner, x, y, o, p, from, KeepOnInterrupt{&h.state}); });
            return h.state.updates;
          },
          py::arg("inputs"), py::arg("targets"), py::arg("epochs") = 1, py::arg("steps") = 100, py::arg("cross_fade") = true,
          py::arg("resume") = false,
          R"(Presents batches of rows of `inputs` with their `targets`, `steps` steps each with the reference's
cross-fade, beta on the outputs and the plasticity on, for `epochs` epochs (resume=True goes on
from the last call or a loaded checkpoint). Returns the step count. Ctrl-C raises KeyboardInterrupt.)")
      .def(
          "predict",
          [](H& h, const py::object& inputs, std::size_t steps, bool cross_fade) {
            const nlm::Matrix<S> x = to_matrix<S>(inputs, "inputs");
            nlm::LagrangianPresentation p;
            p.steps = steps;
            p.cross_fade = cross_fade;
            nlm::Matrix<S> out;
            {
              py::gil_scoped_release release;
              out = value_errors([&] { return nlm::predict(h.learner, x, p); });
            }
            return to_numpy(out);
          },
          py::arg("inputs"), py::arg("steps") = 100, py::arg("cross_fade") = true,
          "(rows, outputs): the output potentials after presenting each row, plasticity off, beta 0")
      .def(
          "learn_trace",
          [](H& h, const py::object& targets, const py::object& inputs, std::size_t epochs, bool resume) {
            const nlm::Matrix<S> y = to_matrix<S>(targets, "targets");
            const nlm::Matrix<S> x = inputs.is_none() ? nlm::Matrix<S>::from_shape({y.shape(0), 0}) : to_matrix<S>(inputs, "inputs");
            nlm::TrainingOptions o = nlm::TrainingOptions::for_epochs((resume ? h.state.epoch : 0) + epochs);
            nlm::TrainingState from = resume ? h.state : nlm::initial_training_state(h.learner);
            py::gil_scoped_release release;
            h.state = value_errors([&] { return nlm::learn_trace(h.learner, x, y, o, from, KeepOnInterrupt{&h.state}); });
            return h.state.updates;
          },
          py::arg("targets"), py::arg("inputs") = py::none(), py::arg("epochs") = 1, py::arg("resume") = false,
          "learns a recording: row s of `targets` (steps, outputs) is the outputs' target at step s; batch 1")
      .def(
          "run_trace",
          [](H& h, const py::object& targets, const py::object& nudging, const py::object& inputs) {
            const nlm::Matrix<S> y = to_matrix<S>(targets, "targets");
            const nlm::Matrix<S> x = inputs.is_none() ? nlm::Matrix<S>::from_shape({y.shape(0), 0}) : to_matrix<S>(inputs, "inputs");
            const nlm::Vector<S> beta = to_vector<S>(nudging, "nudging");
            nlm::Matrix<S> out;
            {
              py::gil_scoped_release release;
              out = value_errors([&] { return nlm::run_trace(h.learner, x, y, beta); });
            }
            return to_numpy(out);
          },
          py::arg("targets"), py::arg("nudging"), py::arg("inputs") = py::none(),
          "(steps, outputs): the outputs while the recording runs, plasticity off, nudging per output (0: free)")
      .def(
          "backprop_gradients",
          [](const H& h, const py::object& inputs, const py::object& targets) {
            const nlm::Matrix<S> x = to_matrix<S>(inputs, "inputs"), y = to_matrix<S>(targets, "targets");
            nlm::Matrix<S> u, gw;
            nlm::Vector<S> gb;
            const double c = value_errors([&] { return nlm::backprop_gradients(h.learner.model(), x, y, u, gw, gb); });
            return py::make_tuple(c, to_numpy(gw), to_numpy(gb));
          },
          py::arg("inputs"), py::arg("targets"),
          "(cost, dC/dW, dC/db) of plain back-propagation through the same layered network, C = 1/2 <|u* - u_out|^2>")
      .def("save_checkpoint", [](const H& h, const std::string& path) { nlm::save_lagrangian_checkpoint(path, h.learner, h.state); },
           py::arg("path"), "the learner, its neurons' state and its training state, written atomically")
      .def(
          "load_checkpoint",
          [](H& h, const std::string& path) {
            require_file(path);
            reading_file([&] {
              h.state = value_errors([&] { return nlm::load_lagrangian_checkpoint(path, h.learner); });
              return 0;
            });
          },
          py::arg("path"), "restores a learner configured as the one that wrote the file (resume=True goes on)");
}

}  // namespace

void bind_lagrangian(py::module_& m) {
  bind_lagrangian<nlm::HardSigmoid, float>(m, "LagrangianHardSigmoid32");
  bind_lagrangian<nlm::HardSigmoid, double>(m, "LagrangianHardSigmoid64");
  bind_lagrangian<nlm::Sigmoid, float>(m, "LagrangianSigmoid32");
  bind_lagrangian<nlm::Sigmoid, double>(m, "LagrangianSigmoid64");
  bind_lagrangian<nlm::Relu, float>(m, "LagrangianRelu32");
  bind_lagrangian<nlm::Relu, double>(m, "LagrangianRelu64");
}

}  // namespace nlm_python
