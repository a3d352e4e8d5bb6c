// nlm's Python module (`import nlm`): the same headers, NumPy arrays in and out.
//
// What is bound, for float32 and float64 (the Python package `nlm` chooses the class by dtype):
//   Model<S>    LangevinModel<Tanh, GaussianNoise, S> on J, b, T: energy, force, sample (Euler–
//               Maruyama, MALA or parallel tempering; clamps, per-chain temperatures)
//   Machine<S>  the learner, LangevinMachine<Tanh, GaussianNoise, WeightDecay, Sampler, S> with
//               the model phase "em" (Euler–Maruyama) or "pt" (parallel tempering): train with
//               progress, a Python callback, checkpoints and resume; save_model
//   read_model  a model file or checkpoint as arrays and a dict
// Arrays are copied in (any real dtype, converted to the class's) and copied out as ordinary
// numpy.ndarray. Long work (sampling, training) runs without the GIL; Ctrl-C during training
// saves the checkpoint (when one is named) and raises KeyboardInterrupt.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <complex>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlm/nlm.hpp>
#include <nlm/version.hpp>

namespace py = pybind11;

namespace {

template <class S>
using Array = py::array_t<S, py::array::c_style | py::array::forcecast>;

/// Refuses what NumPy cannot read as real numbers, naming the argument and the expected dtype.
template <class S>
Array<S> as_array(const py::handle& h, const char* what) {
  const py::array a = py::array::ensure(h);
  if (!a) throw py::type_error(std::string(what) + ": expected a NumPy array (or a nested list) of real numbers");
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw py::type_error(std::string(what) + ": expected real numbers (float32 or float64), got dtype " +
                         std::string(py::str(a.dtype())));
  return Array<S>::ensure(a);
}

/// A (rows, cols) matrix from `h`; `cols` = 0 accepts any width.
template <class S>
nlm::Matrix<S> to_matrix(const py::handle& h, const char* what, std::size_t cols = 0) {
  const Array<S> a = as_array<S>(h, what);
  if (a.ndim() != 2)
    throw py::value_error(std::string(what) + ": expected a 2-D array of shape (rows, " +
                          (cols ? std::to_string(cols) : std::string("columns")) + "), got " +
                          std::to_string(a.ndim()) + " dimensions");
  if (cols != 0 && std::size_t(a.shape(1)) != cols)
    throw py::value_error(std::string(what) + ": expected " + std::to_string(cols) + " columns (one per neuron), got " +
                          std::to_string(a.shape(1)));
  nlm::Matrix<S> m = nlm::Matrix<S>::from_shape({std::size_t(a.shape(0)), std::size_t(a.shape(1))});
  std::copy_n(a.data(), m.size(), m.data());
  return m;
}

/// A vector of `n` values from `h` (n = 0: any length).
template <class S>
nlm::Vector<S> to_vector(const py::handle& h, const char* what, std::size_t n = 0) {
  const Array<S> a = as_array<S>(h, what);
  if (a.ndim() != 1 || (n != 0 && std::size_t(a.shape(0)) != n))
    throw py::value_error(std::string(what) + ": expected a 1-D array of " +
                          (n ? std::to_string(n) : std::string("any number of")) + " values");
  nlm::Vector<S> v = nlm::Vector<S>::from_shape({std::size_t(a.shape(0))});
  std::copy_n(a.data(), v.size(), v.data());
  return v;
}

template <class T>
py::array_t<T> to_numpy(const xt::xtensor<T, 2>& m) {
  py::array_t<T> a({m.shape(0), m.shape(1)});
  std::copy_n(m.data(), m.size(), a.mutable_data());
  return a;
}
template <class T>
py::array_t<T> to_numpy(const xt::xtensor<T, 1>& v) {
  py::array_t<T> a(v.shape(0));
  std::copy_n(v.data(), v.size(), a.mutable_data());
  return a;
}

/// The clamp (mask and values: one row per chain or one shared row) and per-chain
/// temperatures a sample call was given, applied to `chains`.
template <class S>
void configure_chains(nlm::Chains<S>& chains, const py::object& clamp_mask, const py::object& clamp_values,
                      const py::object& temperatures) {
  const std::size_t n = chains.neurons();
  if (clamp_mask.is_none() != clamp_values.is_none())
    throw py::value_error("clamp_mask and clamp_values: give both (the mask says which units are held, the values where)");
  if (!clamp_mask.is_none()) {
    const nlm::Matrix<double> mask = to_matrix<double>(clamp_mask, "clamp_mask", n);
    xt::xtensor<std::uint8_t, 2> m = xt::xtensor<std::uint8_t, 2>::from_shape({mask.shape(0), mask.shape(1)});
    for (std::size_t i = 0; i < mask.size(); ++i) m.data()[i] = mask.data()[i] != 0.0;
    chains.clamp(m, to_matrix<S>(clamp_values, "clamp_values", n));
  }
  if (!temperatures.is_none()) chains.set_temperatures(to_vector<S>(temperatures, "temperatures", chains.size()));
}

/// The starting states: `count` rows from N(0, I) (a seeded stream), or the given array.
template <class S>
nlm::Matrix<S> starting_states(const py::object& x, std::size_t neurons, std::uint64_t seed) {
  if (py::isinstance<py::int_>(x)) {
    const long long count = x.cast<long long>();
    if (count <= 0) throw py::value_error("sample: the number of chains must be > 0, got " + std::to_string(count));
    nlm::Matrix<S> m = nlm::Matrix<S>::from_shape({std::size_t(count), neurons});
    nlm::detail::Xoshiro256 engine(nlm::detail::derive_seed(seed, std::uint64_t(nlm::Stream::initialisation)));
    nlm::detail::fill_normal<S>(engine, std::span<S>(m.data(), m.size()));
    return m;
  }
  return to_matrix<S>(x, "x (the starting states)", neurons);
}

/// FileNotFoundError (an OSError) for a file that is not there, before C++ tries to open it.
inline void require_file(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    errno = ENOENT;
    PyErr_SetFromErrnoWithFilename(PyExc_FileNotFoundError, path.c_str());
    throw py::error_already_set();
  }
}

template <class S>
using Model = nlm::LangevinModel<nlm::Tanh, nlm::GaussianNoise, S>;

/// Runs `steps` steps of the sampler `name` on `chains` without the GIL.
template <class S, class M>
void run_sampler(M& model, nlm::Chains<S>& chains, std::size_t steps, const std::string& name, double dt,
                 std::uint64_t seed, std::size_t replicas, double t_max, std::size_t swap_every,
                 double* acceptance, std::vector<double>* swap_rates) {
  if (name == "em") {
    nlm::EulerMaruyama sampler(dt);
    py::gil_scoped_release release;
    sampler.advance(model, chains, steps);
  } else if (name == "mala") {
    nlm::Mala sampler(nlm::detail::derive_seed(seed, std::uint64_t(nlm::Stream::sampler)), dt);
    {
      py::gil_scoped_release release;
      sampler.advance(model, chains, steps);
    }
    *acceptance = sampler.acceptance_rate();
  } else if (name == "pt") {
    nlm::ParallelTempering<nlm::EulerMaruyama, S> sampler(replicas, t_max, swap_every);
    sampler.set_time_step(dt);
    sampler.seed(nlm::detail::derive_seed(seed, std::uint64_t(nlm::Stream::sampler)));
    {
      py::gil_scoped_release release;
      sampler.advance(model, chains, steps);
    }
    *swap_rates = sampler.swap_rates();
  } else {
    throw py::value_error("sampler: unknown sampler '" + name + "' (choose 'em', 'mala' or 'pt')");
  }
}

template <class S>
void bind_model(py::module_& m, const char* name) {
  py::class_<Model<S>>(m, name, R"(A Neural Langevin Machine's model on given couplings: the energy
E(x) = ½‖x − J tanh(x) − b‖² at temperature T, and its Langevin dynamics.)")
      .def(py::init([](const py::object& J, const py::object& b, double T, std::uint64_t seed) {
             nlm::Matrix<S> j = to_matrix<S>(J, "J");
             nlm::Vector<S> field = b.is_none() ? nlm::Vector<S>() : to_vector<S>(b, "b", j.shape(0));
             return Model<S>(std::move(j), std::move(field), T, nlm::detail::derive_seed(seed, std::uint64_t(nlm::Stream::noise)));
           }),
           py::arg("J"), py::arg("b") = py::none(), py::arg("T") = 1.0, py::arg("seed") = 0,
           "J: (N, N) couplings (J[i, j] the synapse from j to i); b: (N,) field or None; T: temperature >= 0; "
           "seed: the noise stream's seed.")
      .def_property_readonly("neurons", &Model<S>::neurons, "N, the number of neurons")
      .def_property("T", [](const Model<S>& s) { return double(s.temperature()); }, &Model<S>::set_temperature,
                    "the temperature T")
      .def_property_readonly("J", [](const Model<S>& s) { return to_numpy(s.couplings()); }, "J (a copy)")
      .def_property_readonly("b", [](const Model<S>& s) { return to_numpy(s.field()); }, "b (a copy; zeros when none)")
      .def("energy", [](const Model<S>& s, const py::object& x) {
             const nlm::Matrix<S> states = to_matrix<S>(x, "x", s.neurons());
             return to_numpy(s.energy(states));
           }, py::arg("x"), "E(x) of every row of x (shape (B, N)) as an array of B values")
      .def("force", [](const Model<S>& s, const py::object& x) {
             const nlm::Matrix<S> states = to_matrix<S>(x, "x", s.neurons());
             return to_numpy(s.force(states));
           }, py::arg("x"), "−∇E at every row of x (shape (B, N))")
      .def("sample",
           [](Model<S>& s, const py::object& x, std::size_t steps, double dt, const std::string& sampler,
              std::uint64_t seed, const py::object& clamp_mask, const py::object& clamp_values,
              const py::object& temperatures, std::size_t replicas, double t_max, std::size_t swap_every,
              bool info) -> py::object {
             nlm::Chains<S> chains(starting_states<S>(x, s.neurons(), seed));
             configure_chains(chains, clamp_mask, clamp_values, temperatures);
             double acceptance = -1;
             std::vector<double> swap_rates;
             run_sampler<S>(s, chains, steps, sampler, dt, seed, replicas, t_max, swap_every, &acceptance, &swap_rates);
             py::array_t<S> out = to_numpy(chains.states());
             if (!info) return out;
             py::dict d;
             if (acceptance >= 0) d["acceptance_rate"] = acceptance;
             if (!swap_rates.empty()) d["swap_rates"] = swap_rates;
             return py::make_tuple(out, d);
           },
           py::arg("x"), py::arg("steps"), py::arg("dt") = 0.01, py::arg("sampler") = "em", py::arg("seed") = 0,
           py::arg("clamp_mask") = py::none(), py::arg("clamp_values") = py::none(),
           py::arg("temperatures") = py::none(), py::arg("replicas") = 4, py::arg("t_max") = 1.5,
           py::arg("swap_every") = 10, py::arg("info") = false,
           R"(Runs chains for `steps` steps and returns their final states x (tanh(x) are the samples).
x: the starting states (B, N), or a number of chains started from N(0, I) (drawn from `seed`).
sampler: 'em' (Euler–Maruyama, the paper's), 'mala' or 'pt' (parallel tempering over
Euler–Maruyama: `replicas` on a geometric ladder T..t_max, swaps every `swap_every` steps).
clamp_mask, clamp_values: units held fixed (mask != 0) at the values; one row per chain or one
shared row. temperatures: one T per chain. info=True also returns a dict with MALA's
acceptance rate or parallel tempering's swap rates.)")
      .def("log_z",
           [](const Model<S>& s, std::size_t temperatures, std::size_t particles, std::size_t runs,
              std::size_t steps_per_temperature, double time_step, double base_sd, double schedule_power,
              std::uint64_t seed) {
             nlm::AisOptions o;
             o.temperatures = temperatures;
             o.particles = particles;
             o.runs = runs;
             o.steps_per_temperature = steps_per_temperature;
             o.time_step = time_step;
             o.base_sd = base_sd;
             o.schedule_power = schedule_power;
             o.seed = seed;
             nlm::AisResult r;
             {
               py::gil_scoped_release release;
               r = nlm::annealed_importance_sampling(s, o);
             }
             py::dict d;
             d["log_z"] = r.log_z;
             d["standard_error"] = r.standard_error;
             d["ess"] = r.ess;
             d["run_log_z"] = r.run_log_z;
             d["run_spread"] = r.run_spread;
             d["acceptance"] = r.acceptance;
             d["log_weights"] = py::array_t<double>(py::ssize_t(r.log_weights.size()), r.log_weights.data());
             return d;
           },
           py::arg("temperatures") = 1000, py::arg("particles") = 64, py::arg("runs") = 4,
           py::arg("steps_per_temperature") = 1, py::arg("time_step") = 0.01, py::arg("base_sd") = 1.0,
           py::arg("schedule_power") = 4.0, py::arg("seed") = 0,
           R"(log Z of the model by annealed importance sampling from N(0, base_sd^2 I): `temperatures`
distributions beta_k = (k/K)^schedule_power, MALA steps of `time_step`, `runs` runs of
`particles` particles. Returns a dict: log_z, standard_error, ess, run_log_z, run_spread,
acceptance, log_weights.)")
      .def("fixed_points",
           [](const Model<S>& s, const py::object& starts, std::size_t descent_steps, double gradient_tolerance,
              double newton_tolerance, double distance, bool eigenvalues) {
             nlm::FixedPointOptions o;
             o.descent_steps = descent_steps;
             o.gradient_tolerance = gradient_tolerance;
             o.newton_tolerance = newton_tolerance;
             o.distance = distance;
             o.eigenvalues = eigenvalues;
             const nlm::RecurrentNetwork<nlm::Tanh, nlm::GaussianNoise, S> net(s.parameters(), 0.0);
             const nlm::Matrix<S> x = to_matrix<S>(starts, "starts", s.neurons());
             nlm::FixedPointCensus c;
             {
               py::gil_scoped_release release;
               c = nlm::find_fixed_points(net, x, o);
             }
             const auto points = [&](const std::vector<nlm::CriticalPoint>& ps) {
               py::dict d;
               nlm::Matrix<double> states = nlm::Matrix<double>::from_shape({ps.size(), s.neurons()});
               std::vector<double> energy, basin, max_real;
               std::vector<bool> stable;
               py::list spectra;
               for (std::size_t i = 0; i < ps.size(); ++i) {
                 std::copy_n(ps[i].state.data(), s.neurons(), states.data() + i * s.neurons());
                 energy.push_back(ps[i].energy);
                 basin.push_back(ps[i].basin);
                 max_real.push_back(ps[i].max_real);
                 stable.push_back(ps[i].stable);
                 spectra.append(py::array_t<std::complex<double>>(py::ssize_t(ps[i].eigenvalues.size()),
                                                                  ps[i].eigenvalues.data()));
               }
               d["states"] = to_numpy(states);
               d["energy"] = energy;
               d["basin"] = basin;
               d["max_real"] = max_real;
               d["stable"] = stable;
               d["eigenvalues"] = spectra;
               return d;
             };
             py::dict d;
             d["fixed_points"] = points(c.fixed_points);
             d["slow_points"] = points(c.slow_points);
             d["starts"] = c.starts;
             d["not_converged"] = c.not_converged;
             d["outcome"] = c.outcome;
             return d;
           },
           py::arg("starts"), py::arg("descent_steps") = 2000, py::arg("gradient_tolerance") = 1e-6,
           py::arg("newton_tolerance") = 1e-9, py::arg("distance") = 1e-3, py::arg("eigenvalues") = true,
           R"(The census of the plain network's fixed points x = J tanh(x) + b (and of the slow points,
minima of E with E > 0) from the rows of `starts`: gradient descent on E, then Levenberg-Marquardt.
Returns a dict: fixed_points and slow_points (each states, energy, basin, max_real, stable,
eigenvalues of A = -I + J diag tanh'(x*), largest real part first), starts, not_converged,
outcome (per start: index of its fixed point, -1 - index of its slow point, or a large negative
mark when neither). T and the noise play no part.)");
}

/// Class labels (whole numbers 0-255) from a 1-D array.
inline std::vector<std::uint8_t> to_classes(const py::handle& h, const char* what) {
  const nlm::Vector<double> v = to_vector<double>(h, what);
  std::vector<std::uint8_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!(v(i) >= 0 && v(i) <= 255 && v(i) == double(int(v(i)))))
      throw py::value_error(std::string(what) + ": " + std::to_string(v(i)) + " is not a whole number 0-255");
    out[i] = std::uint8_t(v(i));
  }
  return out;
}

inline py::array_t<std::uint8_t> mask_to_numpy(const xt::xtensor<std::uint8_t, 2>& m) {
  py::array_t<std::uint8_t> a({m.shape(0), m.shape(1)});
  std::copy_n(m.data(), m.size(), a.mutable_data());
  return a;
}

inline void bind_layout(py::module_& m) {
  using nlm::UnitLayout;
  py::class_<UnitLayout>(m, "UnitLayout", R"(Which units of a model are image (visible), label and latent units:
[visible][len(classes) * units_per_class label units][latent]. A label unit's data value is
+label_scale for its class and -label_scale for the others.)")
      .def(py::init([](std::size_t visible, const std::vector<int>& classes, std::size_t units_per_class,
                       double label_scale, std::size_t latent) {
             UnitLayout l;
             l.visible = visible;
             for (const int c : classes) {
               if (c < 0 || c > 255) throw py::value_error("classes: " + std::to_string(c) + " is not 0-255");
               l.classes.push_back(std::uint8_t(c));
             }
             l.units_per_class = units_per_class;
             l.label_scale = label_scale;
             l.latent = latent;
             l.validate();
             return l;
           }),
           py::arg("visible"), py::arg("classes") = std::vector<int>{}, py::arg("units_per_class") = 1,
           py::arg("label_scale") = 1.0, py::arg("latent") = 0)
      .def_readonly("visible", &UnitLayout::visible)
      .def_property_readonly("classes", [](const UnitLayout& l) { return std::vector<int>(l.classes.begin(), l.classes.end()); })
      .def_readonly("units_per_class", &UnitLayout::units_per_class)
      .def_readonly("label_scale", &UnitLayout::label_scale)
      .def_readonly("latent", &UnitLayout::latent)
      .def_property_readonly("neurons", &UnitLayout::neurons)
      .def_property_readonly("labels", &UnitLayout::labels, "label units in all")
      .def_property_readonly("first_label", &UnitLayout::first_label)
      .def_property_readonly("first_latent", &UnitLayout::first_latent)
      .def("data_rows", [](const UnitLayout& l, const py::object& images, const py::object& labels) {
             const std::vector<std::uint8_t> classes = labels.is_none() ? std::vector<std::uint8_t>{}
                                                                        : to_classes(labels, "labels");
             return to_numpy(l.data_rows(to_matrix<double>(images, "images", l.visible), classes));
           }, py::arg("images"), py::arg("labels") = py::none(),
           "the training rows: each image, its label code, the latent units at 0 (float64)")
      .def("label_clamp", [](const UnitLayout& l, const py::object& wanted) {
             const nlm::Clamp<double> c = l.label_clamp<double>(to_classes(wanted, "wanted"));
             return py::make_tuple(mask_to_numpy(c.mask), to_numpy(c.values));
           }, py::arg("wanted"),
           "(mask, values) holding each chain's label units at its class's code: Model.sample(clamp_mask=..., "
           "clamp_values=...) then generates that class")
      .def("image_clamp", [](const UnitLayout& l, const py::object& images, const py::object& observed) {
             const nlm::Matrix<double> o = to_matrix<double>(observed, "observed", l.visible);
             xt::xtensor<std::uint8_t, 2> mask = xt::xtensor<std::uint8_t, 2>::from_shape({o.shape(0), o.shape(1)});
             for (std::size_t i = 0; i < o.size(); ++i) mask.data()[i] = o.data()[i] != 0.0;
             const nlm::Clamp<double> c = l.image_clamp(to_matrix<double>(images, "images", l.visible), mask);
             return py::make_tuple(mask_to_numpy(c.mask), to_numpy(c.values));
           }, py::arg("images"), py::arg("observed"),
           "(mask, values) holding each chain's image units where `observed` (one row per image or one for all) is "
           "non-zero: completion, or classification with every pixel observed")
      .def("predict", [](const UnitLayout& l, const py::object& label_values) {
             const std::vector<std::uint8_t> p = l.predict(to_matrix<double>(label_values, "label_values", l.labels()));
             py::array_t<std::uint8_t> a(py::ssize_t(p.size()));
             std::copy(p.begin(), p.end(), a.mutable_data());
             return a;
           }, py::arg("label_values"), "for each row of (time-averaged) label units, the class whose units sum highest")
      .def("text", [](const UnitLayout& l) { return nlm::layout_text(l); }, "the layout as layout.txt holds it");
  m.def("parse_layout", [](const std::string& text) { return nlm::parse_layout(text, "parse_layout"); },
        py::arg("text"), "a UnitLayout from the text of layout.txt");
}

template <class S>
using Network = nlm::RecurrentNetwork<nlm::Tanh, nlm::GaussianNoise, S>;

template <class S>
void bind_network(py::module_& m, const char* name) {
  py::class_<Network<S>>(m, name, R"(The plain recurrent network dx = (-x + J tanh(x) + b) dt + sqrt(2T) dW: the NLM's
couplings without the Onsager term, so its drift is not a gradient and it can circulate
(sequences). Euler-Maruyama with dt = 1 is the synchronous map x <- J tanh(x) + b + noise.)")
      .def(py::init([](const py::object& J, const py::object& b, double T, std::uint64_t seed) {
             nlm::Matrix<S> j = to_matrix<S>(J, "J");
             nlm::Vector<S> field = b.is_none() ? nlm::Vector<S>() : to_vector<S>(b, "b", j.shape(0));
             Network<S> net(std::move(j), std::move(field), T);
             net.noise().seed(nlm::detail::derive_seed(seed, std::uint64_t(nlm::Stream::noise)));
             return net;
           }),
           py::arg("J"), py::arg("b") = py::none(), py::arg("T") = 0.0, py::arg("seed") = 0)
      .def_property_readonly("neurons", &Network<S>::neurons)
      .def("drift", [](const Network<S>& n, const py::object& x) {
             return to_numpy(n.drift(to_matrix<S>(x, "x", n.neurons())));
           }, py::arg("x"), "f(x) = -x + J tanh(x) + b at every row of x")
      .def("run",
           [](Network<S>& n, const py::object& x, std::size_t steps, double dt, std::uint64_t seed,
              std::size_t every) -> py::object {
             nlm::Chains<S> chains(starting_states<S>(x, n.neurons(), seed));
             std::vector<nlm::Matrix<S>> frames;
             {
               py::gil_scoped_release release;
               nlm::EulerMaruyama(dt).advance(n, chains, steps, [&](std::size_t step, const nlm::Matrix<S>& states) {
                 if (every != 0 && step % every == 0) frames.push_back(states);
               });
             }
             py::array_t<S> out = to_numpy(chains.states());
             if (every == 0) return out;
             py::array_t<S> f({frames.size(), chains.size(), n.neurons()});
             for (std::size_t i = 0; i < frames.size(); ++i)
               std::copy_n(frames[i].data(), frames[i].size(), f.mutable_data() + i * frames[i].size());
             return py::make_tuple(out, f);
           },
           py::arg("x"), py::arg("steps"), py::arg("dt") = 1.0, py::arg("seed") = 0, py::arg("every") = 0,
           R"(Runs the network by Euler-Maruyama for `steps` steps from x (B, N) or a number of N(0, I)
starts; returns the final states, and with every=K also the states after every K-th step as an
array (frames, B, N).)");
}

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
inline std::vector<std::string> hyperparameter_keys() {
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
    for (const auto& k : hyperparameter_keys()) keys += (keys.empty() ? "" : ", ") + k;
    throw py::type_error("unknown hyperparameter '" + std::string(py::str(rest.begin()->first)) +
                         "' (the hyperparameters: " + keys + ")");
  }
  return hp;
}

template <class S, class SamplerT>
using Machine = nlm::LangevinMachine<nlm::Tanh, nlm::GaussianNoise, nlm::WeightDecay, SamplerT, S>;

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

template <class S, class SamplerT>
void bind_machine(py::module_& m, const char* name) {
  using M = Machine<S, SamplerT>;
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
      .def_property_readonly("J", [](const L& l) { return to_numpy(l.machine.couplings()); }, "J (a copy)")
      .def_property_readonly("b", [](const L& l) { return to_numpy(l.machine.field()); }, "b (a copy)")
      .def_property_readonly("updates", [](const L& l) { return l.state.updates; }, "updates made so far")
      .def_property_readonly("hyperparameters", [](const L& l) { return hyperparameters_dict(l.machine); })
      .def_property_readonly("persistent_chains", [](const L& l) { return to_numpy(l.machine.persistent_chains()); },
                             "the model phase's chains (a copy)")
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
              std::uint64_t every, bool progress) {
             const nlm::Matrix<S> x = to_matrix<S>(data, "data", l.machine.neurons());
             if (updates == 0 && epochs == 0) throw py::value_error("train: give updates=U or epochs=E (> 0)");
             nlm::TrainingOptions options = updates ? nlm::TrainingOptions::for_updates(l.state.updates + updates)
                                                    : nlm::TrainingOptions::for_epochs(l.state.epoch + epochs);
             options.anneal_fraction = anneal;
             std::ostream silent(nullptr);
             PythonCallback cb{callback, every};
             try {
               py::gil_scoped_release release;
               nlm::ProgressBar bar(progress ? std::cerr : silent, 30, 10);
               if (checkpoint.empty())
                 l.state = nlm::train(l.machine, x, options, l.state, bar, cb);
               else
                 l.state = nlm::train(l.machine, x, options, l.state, bar, cb,
                                      nlm::PeriodicCheckpoint(checkpoint, checkpoint_every));
             } catch (const nlm::interrupted& e) {
               PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
               throw py::error_already_set();
             }
             return l.state.updates;
           },
           py::arg("data"), py::arg("updates") = 0, py::arg("epochs") = 0, py::arg("anneal") = 0.0,
           py::arg("checkpoint") = "", py::arg("checkpoint_every") = 500, py::arg("callback") = py::none(),
           py::arg("every") = 100, py::arg("progress") = false,
           R"(Trains on `data` (one sample per row, N columns, values in [-1, 1]) for `updates` more
updates (or `epochs` more epochs), continuing this machine's run. anneal: k falls linearly to 0
over this last fraction of the updates. checkpoint: a file written every `checkpoint_every`
updates, at the end and on Ctrl-C (then KeyboardInterrupt is raised; `resume` continues bit for
bit). callback(updates, signal_mean_square), called every `every` updates, stops training by
returning True. progress: a text bar on stderr. Returns the updates made in all.)")
      .def("resume", [](L& l, const std::string& checkpoint) {
             require_file(checkpoint);
             l.state = nlm::load_checkpoint(checkpoint, l.machine);
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

PYBIND11_MODULE(_nlm, m) {
  m.doc() = "nlm: the Neural Langevin Machine (header-only C++20 library) from Python";
  m.attr("__version__") = std::to_string(NLM_VERSION_MAJOR) + "." + std::to_string(NLM_VERSION_MINOR) + "." +
                          std::to_string(NLM_VERSION_PATCH);
  py::register_exception<nlm::numerical_error>(m, "NumericalError", PyExc_ArithmeticError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const nlm::io::npy_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const nlm::interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    }
  });
  bind_model<float>(m, "Model32");
  bind_model<double>(m, "Model64");
  bind_layout(m);
  bind_network<float>(m, "Network32");
  bind_network<double>(m, "Network64");
  bind_machine<float, nlm::EulerMaruyama>(m, "Machine32");
  bind_machine<double, nlm::EulerMaruyama>(m, "Machine64");
  bind_machine<float, nlm::ParallelTempering<nlm::EulerMaruyama, float>>(m, "MachinePt32");
  bind_machine<double, nlm::ParallelTempering<nlm::EulerMaruyama, double>>(m, "MachinePt64");
  m.def("asymmetry", [](const py::object& J) { return nlm::asymmetry(to_matrix<double>(J, "J")); }, py::arg("J"),
        "||J - J^T|| / ||J|| (Frobenius): 0 for a symmetric J, 2 for an antisymmetric one");
  m.def("split_symmetric", [](const py::object& J) {
    const nlm::SymmetricSplit split = nlm::split_symmetric(to_matrix<double>(J, "J"));
    return py::make_tuple(to_numpy(split.symmetric), to_numpy(split.antisymmetric));
  }, py::arg("J"), "(J_sym, J_anti) = ((J + J^T)/2, (J - J^T)/2), float64");
  m.def("mixing_summary", [](const py::object& draws) {
    const nlm::Matrix<double> x = to_matrix<double>(draws, "draws (chains, draws per chain)");
    std::vector<std::vector<double>> chains(x.shape(0));
    for (std::size_t c = 0; c < x.shape(0); ++c) chains[c].assign(x.data() + c * x.shape(1), x.data() + (c + 1) * x.shape(1));
    const nlm::MixingSummary m = nlm::mixing_summary(chains);
    py::dict d;
    d["tau"] = m.tau;
    d["window"] = m.window;
    d["ess"] = m.ess;
    d["split_rhat"] = m.split_rhat;
    return d;
  }, py::arg("draws"),
        "tau_int (in draws), the window it was summed to, ESS and split-R-hat of a statistic recorded along "
        "several chains: draws of shape (chains, draws per chain)");
  m.def("hyperparameter_keys", &hyperparameter_keys, "the names the Machine takes as keyword arguments");
  m.def("read_model", [](const std::string& path) {
    require_file(path);
    nlm::SavedModel<double> s = nlm::read_model<double>(path);
    py::dict d;
    d["kind"] = s.kind;
    d["J"] = to_numpy(s.couplings);
    d["b"] = to_numpy(s.field);
    d["updates"] = s.updates;
    d["neurons"] = s.neurons();
    d["layout"] = s.layout ? py::cast(*s.layout) : py::none();
    return d;
  }, py::arg("path"), "reads a model file or checkpoint: a dict with kind, J, b (float64), updates, neurons");
}
