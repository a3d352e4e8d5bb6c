// nlm's Python module, its models: Model (the NLM's energy and Langevin dynamics on given
// couplings; float32, float64 and, where oneDNN is built, bf16 products), Network (the plain
// recurrent network) and UnitLayout (image, label and latent units).
#include <pybind11/complex.h>

#include <complex>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

namespace nlm_python {
namespace {

/// Runs `steps` steps of the sampler `name` on `chains` without the GIL.
template <class S, class M>
void run_sampler(M& model, nlm::Chains<S>& chains, std::size_t steps, const std::string& name, double dt,
                 std::uint64_t seed, std::size_t replicas, double t_max, std::size_t swap_every,
                 double* acceptance, std::vector<double>* swap_rates, const nlm::AnnealSchedule* anneal = nullptr) {
  // Annealed: the first anneal->steps cool the chains from anneal->t_start to T (nlm/sampler/annealed.hpp).
  const auto advance = [&](auto& sampler) {
    py::gil_scoped_release release;
    if (anneal) nlm::advance_annealed(sampler, model, chains, steps, *anneal);
    else sampler.advance(model, chains, steps);
  };
  if (name == "em") {
    nlm::EulerMaruyama sampler(dt);
    advance(sampler);
  } else if (name == "mala") {
    nlm::Mala sampler(nlm::detail::derive_seed(seed, std::uint64_t(nlm::Stream::sampler)), dt);
    advance(sampler);
    *acceptance = sampler.acceptance_rate();
  } else if (name == "pt") {
    if (anneal) throw py::value_error("anneal_from: parallel tempering sets the chains' temperatures itself; use 'em' or 'mala'");
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

template <class S, class Backend>
void bind_model(py::module_& m, const char* name, const char* precision) {
  using Model = nlm::LangevinModel<nlm::Tanh, nlm::GaussianNoise, S, Backend>;
  py::class_<Model>(m, name, R"(A Neural Langevin Machine's model on given couplings: the energy
E(x) = ½‖x − J tanh(x) − b‖² at temperature T, and its Langevin dynamics.)")
      .def(py::init([](const py::object& J, const py::object& b, double T, std::uint64_t seed) {
             nlm::Matrix<S> j = to_matrix<S>(J, "J");
             nlm::Vector<S> field = b.is_none() ? nlm::Vector<S>() : to_vector<S>(b, "b", j.shape(0));
             return Model(std::move(j), std::move(field), T, nlm::detail::derive_seed(seed, std::uint64_t(nlm::Stream::noise)));
           }),
           py::arg("J"), py::arg("b") = py::none(), py::arg("T") = 1.0, py::arg("seed") = 0,
           "J: (N, N) couplings (J[i, j] the synapse from j to i); b: (N,) field or None; T: temperature >= 0; "
           "seed: the noise stream's seed.")
      .def_property_readonly("neurons", &Model::neurons, "N, the number of neurons")
      .def_property("T", [](const Model& s) { return double(s.temperature()); }, &Model::set_temperature,
                    "the temperature T")
      .def_property_readonly("J", [](const py::object& self) { return view_of(self.cast<const Model&>().couplings(), self); },
                             "J (a read-only view; the model keeps it)")
      .def_property_readonly("b", [](const py::object& self) { return view_of(self.cast<const Model&>().field(), self); },
                             "b (a read-only view; zeros when the model has no field)")
      .def_property_readonly("precision", [precision](const Model&) { return std::string(precision); },
                             "the products' precision: 'float32', 'float64' or 'bf16' (bf16 products, float32 J)")
      .def("energy", [](const Model& s, const py::object& x) {
             const nlm::Matrix<S> states = to_matrix<S>(x, "x", s.neurons());
             return to_numpy(s.energy(states));
           }, py::arg("x"), "E(x) of every row of x (shape (B, N)) as an array of B values")
      .def("force", [](const Model& s, const py::object& x) {
             const nlm::Matrix<S> states = to_matrix<S>(x, "x", s.neurons());
             return to_numpy(s.force(states));
           }, py::arg("x"), "−∇E at every row of x (shape (B, N))")
      .def("sample",
           [](Model& s, const py::object& x, std::size_t steps, double dt, const std::string& sampler,
              std::uint64_t seed, const py::object& clamp_mask, const py::object& clamp_values,
              const py::object& temperatures, std::size_t replicas, double t_max, std::size_t swap_every,
              bool info, double anneal_from, std::size_t anneal_steps) -> py::object {
             nlm::Chains<S> chains(starting_states<S>(x, s.neurons(), seed));
             configure_chains(chains, clamp_mask, clamp_values, temperatures);
             if (anneal_from > 0 && !temperatures.is_none())
               throw py::value_error("sample: anneal_from and temperatures exclude each other (annealing sets every "
                                     "chain's temperature)");
             const nlm::AnnealSchedule schedule{anneal_from, anneal_steps, 50};
             double acceptance = -1;
             std::vector<double> swap_rates;
             run_sampler<S>(s, chains, steps, sampler, dt, seed, replicas, t_max, swap_every, &acceptance, &swap_rates,
                            anneal_from > 0 ? &schedule : nullptr);
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
           py::arg("swap_every") = 10, py::arg("info") = false, py::arg("anneal_from") = 0.0,
           py::arg("anneal_steps") = 0,
           R"(Runs chains for `steps` steps and returns their final states x (tanh(x) are the samples).
x: the starting states (B, N), or a number of chains started from N(0, I) (drawn from `seed`).
sampler: 'em' (Euler–Maruyama, the paper's), 'mala' or 'pt' (parallel tempering over
Euler–Maruyama: `replicas` on a geometric ladder T..t_max, swaps every `swap_every` steps).
clamp_mask, clamp_values: units held fixed (mask != 0) at the values; one row per chain or one
shared row. temperatures: one T per chain. info=True also returns a dict with MALA's
acceptance rate or parallel tempering's swap rates. anneal_from > 0: annealed sampling, the
first `anneal_steps` of the steps cool every chain geometrically from anneal_from to T ('em' or
'mala'; docs/quality.md, "Balance": from 2 over 10 000 steps balances a label model's digits).)")
      .def("log_z",
           [](const Model& s, std::size_t temperatures, std::size_t particles, std::size_t runs,
              std::size_t steps_per_temperature, double time_step, double base_sd, double schedule_power,
              std::uint64_t seed, std::size_t reverse_burn_in, double level, const py::object& reverse_from) {
             const nlm::AisOptions o = ais_options(temperatures, particles, runs, steps_per_temperature, time_step, base_sd,
                                                  schedule_power, seed);
             if (!reverse_from.is_none()) {
               if (reverse_burn_in > 0)
                 throw py::value_error("log_z: reverse_from and reverse_burn_in exclude each other (reverse_from runs "
                                       "only the reverse path, from the given draws)");
               const nlm::Matrix<S> start = to_matrix<S>(reverse_from, "reverse_from", s.neurons());
               nlm::AisResult r;
               {
                 py::gil_scoped_release release;
                 r = nlm::reverse_annealed_importance_sampling(s, start, o);
               }
               return ais_result_dict(r, o);
             }
             if (reverse_burn_in == 0) {
               nlm::AisResult r;
               {
                 py::gil_scoped_release release;
                 r = nlm::annealed_importance_sampling(s, o);
               }
               return ais_result_dict(r, o);
             }
             nlm::BidirectionalAis b;
             {
               py::gil_scoped_release release;
               b = nlm::bidirectional_annealed_importance_sampling(s, o, reverse_burn_in, level);
             }
             py::dict d = ais_result_dict(b.forward, o);
             d["reverse_result"] = ais_result_dict(b.reverse, o);
             d["interval"] = py::make_tuple(b.interval.lower, b.interval.upper);
             d["consistent"] = b.interval.consistent;
             d["gap"] = b.interval.gap;
             d["level"] = b.interval.level;
             d["burn_in_acceptance"] = b.burn_in_acceptance;
             return d;
           },
           py::arg("temperatures") = 1000, py::arg("particles") = 64, py::arg("runs") = 4,
           py::arg("steps_per_temperature") = 1, py::arg("time_step") = 0.01, py::arg("base_sd") = 1.0,
           py::arg("schedule_power") = 4.0, py::arg("seed") = 0, py::arg("reverse_burn_in") = 0,
           py::arg("level") = 0.95, py::arg("reverse_from") = py::none(),
           R"(log Z of the model by annealed importance sampling from N(0, base_sd^2 I): `temperatures`
distributions beta_k = (k/K)^schedule_power, MALA steps of `time_step`, `runs` runs of
`particles` particles. Returns a dict: log_z (a stochastic lower bound), standard_error (the
particles' delta method), uncertainty (the ± to report: the larger of standard_error and the
runs' spread / sqrt(runs)), ess, run_log_z, run_standard_error, run_ess, run_spread, acceptance,
model_end_acceptance, reverse, warnings (in words, with what to change), log_weights.
reverse_burn_in > 0: also anneal back from the forward particles after that many MALA steps at
the model; the dict then has reverse_result (the same keys; a stochastic upper bound if those
particles are draws of the model), interval (lower, upper) holding log Z with probability >= level
(Markov's inequality on each side), gap, consistent (False: the reverse estimate lies too far
below the forward one; do not use the interval) and burn_in_acceptance (a low one means the
reverse particles start where the forward ones ended).
reverse_from: draws of the model (particles * runs rows): runs only the reverse path from them
and returns its dict (not with reverse_burn_in).)")
      .def("conditional_log_z",
           [](const Model& s, const py::object& clamp_mask, const py::object& clamp_values, std::size_t temperatures,
              std::size_t particles, std::size_t runs, std::size_t steps_per_temperature, double time_step,
              double base_sd, double schedule_power, std::uint64_t seed) {
             const nlm::AisOptions o = ais_options(temperatures, particles, runs, steps_per_temperature, time_step, base_sd,
                                                  schedule_power, seed);
             const nlm::Clamp<S> clamp = to_clamp<S>(clamp_mask, clamp_values, s.neurons());
             std::vector<nlm::AisResult> r;
             {
               py::gil_scoped_release release;
               r = nlm::conditional_annealed_importance_sampling(s, clamp, o);
             }
             std::vector<double> log_z, se, ess;
             for (const nlm::AisResult& g : r) {
               log_z.push_back(g.log_z);
               se.push_back(g.standard_error);
               ess.push_back(g.ess);
             }
             py::dict d;
             d["log_z"] = py::array_t<double>(py::ssize_t(log_z.size()), log_z.data());
             d["standard_error"] = py::array_t<double>(py::ssize_t(se.size()), se.data());
             d["ess"] = py::array_t<double>(py::ssize_t(ess.size()), ess.data());
             d["acceptance"] = r.empty() ? 0.0 : r.front().acceptance;
             py::list each;
             for (const nlm::AisResult& g : r) each.append(ais_result_dict(g, o));
             d["conditions"] = each;
             return d;
           },
           py::arg("clamp_mask"), py::arg("clamp_values"), py::arg("temperatures") = 1000, py::arg("particles") = 64,
           py::arg("runs") = 4, py::arg("steps_per_temperature") = 1, py::arg("time_step") = 0.01,
           py::arg("base_sd") = 1.0, py::arg("schedule_power") = 4.0, py::arg("seed") = 0,
           R"(log Z(v) = log ∫ exp(−E(v, h)/T) dh over the units a clamp leaves free, one per condition:
the rows of clamp_values (G, N) with clamp_mask (one row per condition or one shared row; non-zero:
held at the value). With the model's log_z(), log Z(v) − log Z is the marginal log-density of
the clamped units (an image's log-likelihood under a model with label or latent units). The
AIS options as for log_z; `particles` per condition. Returns a dict: log_z, standard_error,
ess (arrays of G), acceptance, and conditions (one log_z() dict each).)")
      .def("fixed_points",
           [](const Model& s, const py::object& starts, std::size_t descent_steps, double gradient_tolerance,
              double newton_tolerance, double distance, bool eigenvalues) {
             nlm::FixedPointOptions o;
             o.descent_steps = descent_steps;
             o.gradient_tolerance = gradient_tolerance;
             o.newton_tolerance = newton_tolerance;
             o.distance = distance;
             o.eigenvalues = eigenvalues;
             // The census runs on a plain network over copies of J and b (float32/float64
             // products whatever the model's backend: Newton steps need more than bf16).
             const nlm::RecurrentNetwork<nlm::Tanh, nlm::GaussianNoise, S> net(s.couplings(), s.field(), 0.0);
             const nlm::Matrix<S> x = to_matrix<S>(starts, "starts", s.neurons());
             nlm::FixedPointCensus c;
             {
               py::gil_scoped_release release;
               c = nlm::find_fixed_points(net, x, o);
             }
             return census_dict(c, s.neurons());
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

void bind_layout(py::module_& m) {
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
      .def_property_readonly("J", [](const py::object& self) { return view_of(self.cast<const Network<S>&>().couplings(), self); },
                             "J (a read-only view)")
      .def_property_readonly("b", [](const py::object& self) { return view_of(self.cast<const Network<S>&>().field(), self); },
                             "b (a read-only view)")
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


}  // namespace

void bind_models(py::module_& m) {
  bind_model<float, nlm::BlasProducts>(m, "Model32", "float32");
  bind_model<double, nlm::BlasProducts>(m, "Model64", "float64");
#if NLM_HAVE_ONEDNN
  bind_model<float, nlm::Bf16Products>(m, "ModelBf16", "bf16");
#endif
  bind_layout(m);
  bind_network<float>(m, "Network32");
  bind_network<double>(m, "Network64");
}

}  // namespace nlm_python
