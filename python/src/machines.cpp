// nlm's Python module, its learners: Machine, the NLM that learns (LangevinMachine with tanh,
// Gaussian noise and weight decay), with the model phase 'em' (Euler-Maruyama) or 'pt'
// (parallel tempering), in float32 and float64, and with bf16 products where oneDNN is built.
#include <chrono>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

#include "common.hpp"

namespace nlm_python {

namespace {

/// A Python callable called every `every` updates with (updates, signal_mean_square); a true
/// result stops training.
struct PythonCallback {
  py::object fn;
  std::uint64_t every;
  template <class M>
  bool on_update(const M&, const nlm::TrainingState& s) {
    if (fn.is_none() || every == 0 || s.updates % every != 0) return false;
    py::gil_scoped_acquire acquire;
    const py::object r = fn(s.updates, s.signal_mean_square);
    return !r.is_none() && r.cast<bool>();
  }
};

/// Sets `hp`'s fields from keyword arguments named as nlm::hyperparameter_list's keys;
/// anything else is refused with the list of keys.
std::vector<std::string> hyperparameter_keys_list() {
  std::vector<std::string> keys;
  nlm::for_each_hyperparameter([&](const auto& f) { keys.emplace_back(f.key); });
  return keys;
}

inline nlm::Hyperparameters hyperparameters_from(const py::dict& kwargs) {
  nlm::Hyperparameters hp;
  py::dict rest = kwargs;
  nlm::for_each_hyperparameter([&](const auto& f) {
    const py::str key{std::string(f.key)};
    if (!rest.contains(key)) return;
    using T = typename std::remove_cvref_t<decltype(f)>::value_type;
    const py::object v = rest[key];
    if constexpr (std::is_same_v<T, nlm::LearningParameters::StepRule>) {
      f.parse(hp, v.cast<std::string>());
    } else if constexpr (std::is_same_v<T, bool>) {
      hp.*f.member = v.cast<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      const long long n = v.cast<long long>();
      if (n < 0) throw py::value_error(std::string(f.key) + " must be >= 0, got " + std::to_string(n));
      hp.*f.member = T(n);
    } else {
      hp.*f.member = v.cast<T>();
    }
    PyDict_DelItem(rest.ptr(), key.ptr());
  });
  if (!rest.empty()) {
    std::string keys;
    for (const auto& k : hyperparameter_keys_list()) keys += (keys.empty() ? "" : ", ") + k;
    throw py::type_error("unknown hyperparameter '" + std::string(py::str(rest.begin()->first)) +
                         "' (the hyperparameters: " + keys + ")");
  }
  return hp;
}

template <class S, class SamplerT, class Backend>
using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, SamplerT, S, Backend>;

/// UpdateStatistics (bound in analysis.cpp) given to train, or none: the callback forwards the
/// learning signal and the steps to it.
struct OptionalStatistics {
  nlm::UpdateStatistics* statistics = nullptr;
  template <class M, class Signal>
  void on_signal(const M& m, const Signal& signal, const nlm::TrainingState& s) {
    if (statistics) statistics->on_signal(m, signal, s);
  }
  template <class M, class Step>
  void on_step(const M& m, const Step& step, const nlm::TrainingState& s) {
    if (statistics) statistics->on_step(m, step, s);
  }
};

/// A machine with the training state of its run so far.
template <class M>
struct Learner {
  M machine;
  nlm::TrainingState state;
  explicit Learner(M m) : machine(std::move(m)), state(nlm::initial_training_state(machine)) {}
};

template <class M>
py::dict hyperparameters_dict(const M& machine) {
  py::dict d;
  const nlm::Hyperparameters& hp = machine.hyperparameters();
  nlm::for_each_hyperparameter([&](const auto& f) {
    using T = typename std::remove_cvref_t<decltype(f)>::value_type;
    if constexpr (std::is_same_v<T, nlm::LearningParameters::StepRule>)
      d[py::str(std::string(f.key))] = f.text(hp);
    else
      d[py::str(std::string(f.key))] = hp.*f.member;
  });
  return d;
}

template <class S, class SamplerT, class Backend = nlm::BlasProducts>
void bind_machine(py::module_& m, const char* name, const char* precision) {
  using M = Machine<S, SamplerT, Backend>;
  using L = Learner<M>;
  constexpr bool tempering = !std::is_same_v<SamplerT, nlm::EulerMaruyama>;
  py::class_<L>(m, name, R"(A Neural Langevin Machine that learns: J (and b) trained by the local rule
J <- (1 - lambda) J - k (M - D) from data and persistent Langevin chains.)")
      .def(py::init([](double weight_decay, std::size_t replicas, double t_max, std::size_t swap_every,
                       const py::kwargs& kwargs) {
             const nlm::Hyperparameters hp = hyperparameters_from(kwargs);
             if constexpr (tempering)
               return L(M(hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{weight_decay},
                          SamplerT(replicas, t_max, swap_every)));
             else
               return L(M(hp, nlm::Tanh{}, nlm::GaussianNoise{}, nlm::WeightDecay{weight_decay}));
           }),
           py::arg("weight_decay") = 2e-6, py::arg("replicas") = 4, py::arg("t_max") = 1.5,
           py::arg("swap_every") = 10)
      .def_property_readonly("neurons", [](const L& l) { return l.machine.neurons(); })
      .def_property_readonly("J", [](const py::object& self) { return view_of(self.cast<const L&>().machine.couplings(), self); },
                             "J (a read-only view: it follows training; np.array(machine.J) is a snapshot)")
      .def_property_readonly("b", [](const py::object& self) { return view_of(self.cast<const L&>().machine.field(), self); },
                             "b (a read-only view, as J)")
      .def_property_readonly("precision", [precision](const L&) { return std::string(precision); },
                             "the products' precision: 'float32', 'float64' or 'bf16' (bf16 products, float32 J)")
      .def_property_readonly("updates", [](const L& l) { return l.state.updates; }, "updates made so far")
      .def_property_readonly("hyperparameters", [](const L& l) { return hyperparameters_dict(l.machine); })
      .def_property_readonly("persistent_chains",
                             [](const py::object& self) { return view_of(self.cast<const L&>().machine.persistent_chains(), self); },
                             "the model phase's chains x (a read-only view, as J)")
      .def_property_readonly("curve", [](const L& l) {
             py::array_t<double> a({l.state.curve.size(), std::size_t(3)});
             auto r = a.mutable_unchecked<2>();
             for (std::size_t i = 0; i < l.state.curve.size(); ++i) {
               r(i, 0) = double(l.state.curve[i].epoch);
               r(i, 1) = double(l.state.curve[i].updates);
               r(i, 2) = l.state.curve[i].signal_mean_square;
             }
             return a;
           }, "the training curve: rows (epoch, updates, mean((M - D)^2) of the epoch)")
      .def("fit_field", [](L& l, const py::object& data) {
             l.machine.fit_field(to_matrix<S>(data, "data", l.machine.neurons()));
           }, py::arg("data"), "starts b where the data's mean residual is zero (with learn_field=True)")
      .def("energy", [](const L& l, const py::object& x) {
             return to_numpy(l.machine.energy(to_matrix<S>(x, "x", l.machine.neurons())));
           }, py::arg("x"))
      .def("train",
           [](L& l, const py::object& data, std::uint64_t updates, std::size_t epochs, double anneal,
              const std::string& checkpoint, std::uint64_t checkpoint_every, const py::object& callback,
              std::uint64_t every, bool progress, const py::object& statistics) {
             const nlm::Matrix<S> x = to_matrix<S>(data, "data", l.machine.neurons());
             if (updates == 0 && epochs == 0) throw py::value_error("train: give updates=U or epochs=E (> 0)");
             nlm::TrainingOptions options = updates ? nlm::TrainingOptions::for_updates(l.state.updates + updates)
                                                    : nlm::TrainingOptions::for_epochs(l.state.epoch + epochs);
             options.anneal_fraction = anneal;
             std::ostream silent(nullptr);
             PythonCallback cb{callback, every};
             OptionalStatistics stats;
             if (!statistics.is_none()) stats.statistics = statistics.cast<nlm::UpdateStatistics*>();
             try {
               py::gil_scoped_release release;
               nlm::ProgressBar bar(progress ? std::cerr : silent, 30, 10);
               if (checkpoint.empty())
                 l.state = nlm::train(l.machine, x, options, l.state, bar, cb, stats);
               else
                 l.state = nlm::train(l.machine, x, options, l.state, bar, cb, stats,
                                      nlm::PeriodicCheckpoint(checkpoint, checkpoint_every));
             } catch (const nlm::interrupted& e) {
               PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
               throw py::error_already_set();
             }
             return l.state.updates;
           },
           py::arg("data"), py::arg("updates") = 0, py::arg("epochs") = 0, py::arg("anneal") = 0.0,
           py::arg("checkpoint") = "", py::arg("checkpoint_every") = 500, py::arg("callback") = py::none(),
           py::arg("every") = 100, py::arg("progress") = false, py::arg("statistics") = py::none(),
           R"(Trains on `data` (one sample per row, N columns, values in [-1, 1]) for `updates` more
updates (or `epochs` more epochs), continuing this machine's run. anneal: k falls linearly to 0
over this last fraction of the updates. checkpoint: a file written every `checkpoint_every`
updates, at the end and on Ctrl-C (then KeyboardInterrupt is raised; `resume` continues bit for
bit). callback(updates, signal_mean_square), called every `every` updates, stops training by
returning True. progress: a text bar on stderr. statistics: an nlm.UpdateStatistics that records
the magnitudes of the steps (and the learning signal) of these updates. Returns the updates made
in all.)")
      .def("resume", [](L& l, const std::string& checkpoint) {
             require_file(checkpoint);
             l.state = reading_file([&] { return nlm::load_checkpoint(checkpoint, l.machine); });
             return l.state.updates;
           }, py::arg("checkpoint"),
           "loads J, b, the chains, the streams and the training state from a checkpoint of a machine configured "
           "the same way; refuses one that would not resume exactly")
      .def("save_checkpoint", [](const L& l, const std::string& path) { nlm::save_checkpoint(path, l.machine, l.state); },
           py::arg("path"), "writes a checkpoint (atomically): what `resume` and the C++ library read")
      .def("save_model", [](const L& l, const std::string& path, const py::object& layout) {
             nlm::save_model(path, l.machine,
                             layout.is_none() ? nlm::image_layout(l.machine.neurons()) : layout.cast<nlm::UnitLayout>());
           }, py::arg("path"), py::arg("layout") = py::none(),
           "writes model.nlm (J, b, the unit layout: all units visible unless `layout` says otherwise, hyperparameters, "
           "policies), which every nlm program reads")
      .def("set_field", [](L& l, const py::object& b) { l.machine.set_field(to_vector<S>(b, "b", l.machine.neurons())); },
           py::arg("b"), "sets b (N values); with learn_field=True the rule learns it from there")
      .def("set_couplings", [](L& l, const py::object& J) {
             l.machine.set_couplings(to_matrix<S>(J, "J", l.machine.neurons()));
           }, py::arg("J"), "sets J (N, N)")
      .def("learn_sequence",
           [](L& l, const py::object& patterns, std::size_t cycles, double next_weight) {
             const nlm::Matrix<S> p = to_matrix<S>(patterns, "patterns", l.machine.neurons());
             nlm::TrainingState s;
             {
               py::gil_scoped_release release;
               s = nlm::learn_sequence(l.machine, p, nlm::TrainingOptions::for_epochs(cycles),
                                       nlm::SequenceOptions{next_weight});
             }
             return s.updates;
           },
           py::arg("patterns"), py::arg("cycles"), py::arg("next_weight") = 1.0,
           R"(Teaches the cycle patterns[0] -> patterns[1] -> ... -> patterns[0] by the time-shifted
delta rule dJ = k (y - J tanh(x_t) - b) tanh(x_t)^T with y = next_weight x_{t+1} +
(1 - next_weight) x_t, one update per transition, `cycles` times round; returns the updates.
The plain network nlm.Network(machine.J, machine.b) then replays it.)")
      .def("update", [](L& l, const py::object& batch) {
             const nlm::Matrix<S> b = to_matrix<S>(batch, "batch", l.machine.neurons());
             py::gil_scoped_release release;
             return l.machine.update(b);
           }, py::arg("batch"),
           R"(One update of the local rule on `batch` (rows of data, N columns): the data phase on the
batch, the model phase on the persistent chains, the step. The C++ LangevinMachine::update: it
does not count in `updates` or the curve (train() is the training loop, with its checkpoints).
Returns mean((M - D)^2).)")
      .def("_timed_updates", [](L& l, const py::object& batch, std::size_t count) {
             const nlm::Matrix<S> b = to_matrix<S>(batch, "batch", l.machine.neurons());
             std::vector<double> seconds(count);
             py::gil_scoped_release release;
             for (double& t : seconds) {
               const auto t0 = std::chrono::steady_clock::now();
               l.machine.update(b);
               t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
             }
             return seconds;
           }, py::arg("batch"), py::arg("count"),
           "benchmarks: `count` updates as update() makes them, each timed in C++ (seconds), for the Python "
           "layer's cost (benchmarks/peer/nlm_python_peer.py)")
      .def("_timed_sample", [](L& l, const py::object& x, std::size_t steps, std::size_t blocks) {
             nlm::Matrix<S> states = to_matrix<S>(x, "x", l.machine.neurons());
             std::vector<double> seconds(blocks);
             py::gil_scoped_release release;
             for (double& t : seconds) {
               const auto t0 = std::chrono::steady_clock::now();
               l.machine.sample(states, steps);
               t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
             }
             return seconds;
           }, py::arg("x"), py::arg("steps"), py::arg("blocks"),
           "benchmarks: `blocks` calls of `steps` sampler steps on x, each timed in C++ (seconds)")
      .def("sample", [](L& l, const py::object& x, std::size_t steps, std::uint64_t seed) {
             nlm::Matrix<S> states = starting_states<S>(x, l.machine.neurons(), seed);
             {
               py::gil_scoped_release release;
               l.machine.sample(states, steps);
             }
             return to_numpy(states);
           }, py::arg("x"), py::arg("steps"), py::arg("seed") = 0,
           "runs chains with the machine's sampler from x (B, N) or a number of N(0, I) starts; returns x");
}


}  // namespace

void bind_machines(py::module_& m) {
  bind_machine<float, nlm::EulerMaruyama>(m, "Machine32", "float32");
  bind_machine<double, nlm::EulerMaruyama>(m, "Machine64", "float64");
  bind_machine<float, nlm::ParallelTempering<nlm::EulerMaruyama, float>>(m, "MachinePt32", "float32");
  bind_machine<double, nlm::ParallelTempering<nlm::EulerMaruyama, double>>(m, "MachinePt64", "float64");
#if NLM_HAVE_ONEDNN
  bind_machine<float, nlm::EulerMaruyama, nlm::Bf16Products>(m, "MachineBf16", "bf16");
#endif
  m.def("hyperparameter_keys", &hyperparameter_keys_list, "the names the Machine takes as keyword arguments");
}

}  // namespace nlm_python
