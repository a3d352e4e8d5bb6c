// The free-energy attractor network from Python (float32 and float64): AttractorModel (a network
// on given couplings: steps, runs, the reference's relaxation, the census, the free energy),
// AttractorLearner (the predictive rule, presentations, checkpoints that resume bit for bit,
// the fused update), and the family's helpers: the Langevin function, the orthogonality measure,
// the UCI digits and their preprocessing.
#include <limits>

#include <nlm/data/uci_digits.hpp>

#include "common.hpp"

namespace nlm_python {
namespace {

nlm::UpdateMode to_mode(const std::string& mode) {
  if (mode == "sampled") return nlm::UpdateMode::sampled;
  if (mode == "deterministic") return nlm::UpdateMode::deterministic;
  throw py::value_error("mode: '" + mode + "' is not one of 'sampled', 'deterministic'");
}

nlm::RelaxCriterion to_criterion(const std::string& c) {
  if (c == "state") return nlm::RelaxCriterion::state;
  if (c == "free_energy") return nlm::RelaxCriterion::free_energy;
  throw py::value_error("criterion: '" + c + "' is not one of 'state', 'free_energy'");
}

template <class S>
py::array_t<double> free_energy_array(const std::vector<nlm::FreeEnergy>& f) {
  py::array_t<double> a({py::ssize_t(f.size()), py::ssize_t(3)});
  auto r = a.mutable_unchecked<2>();
  for (std::size_t i = 0; i < f.size(); ++i) {
    r(i, 0) = f[i].free_energy;
    r(i, 1) = f[i].accuracy;
    r(i, 2) = f[i].complexity;
  }
  return a;
}

template <class S>
void bind_model(py::module_& m, const char* name) {
  using Model = nlm::AttractorNetwork<S>;
  py::class_<Model>(m, name, R"(The free-energy attractor network on given couplings: units in [-1, 1]
with continuous-Bernoulli conditionals, theta = beta (b + J sigma), synchronous updates.)")
      .def(py::init([](const py::object& J, const py::object& b, double beta, std::uint64_t seed) {
             nlm::Matrix<S> j = to_matrix<S>(J, "J");
             nlm::Vector<S> field = b.is_none() ? nlm::Vector<S>() : to_vector<S>(b, "b", j.shape(1));
             return Model(std::move(j), std::move(field), beta, seed);
           }),
           py::arg("J"), py::arg("b") = py::none(), py::arg("beta") = 1.0, py::arg("seed") = 0)
      .def_property_readonly("J", [](const py::object& self) { return view_of(self.cast<const Model&>().couplings(), self); })
      .def_property_readonly("b", [](const py::object& self) { return view_of(self.cast<const Model&>().field(), self); })
      .def_property("beta", &Model::beta, &Model::set_beta)
      .def_property_readonly("neurons", &Model::neurons)
      .def(
          "run",
          [](Model& net, const py::object& states, std::size_t steps, const std::string& mode, bool record,
             const py::object& clamp_mask, const py::object& clamp_values, const py::object& temperatures) -> py::object {
            nlm::Chains<S> chains(to_matrix<S>(states, "states", net.neurons()));
            configure_chains(chains, clamp_mask, clamp_values, temperatures);
            const nlm::UpdateMode u = to_mode(mode);
            nlm::Matrix<S> frames;
            if (record) frames = nlm::Matrix<S>::from_shape({steps * chains.size(), net.neurons()});
            {
              py::gil_scoped_release release;
              net.run(chains, steps, u, [&](std::size_t t, const nlm::Matrix<S>& x) {
                if (record) std::copy_n(x.data(), x.size(), frames.data() + (t - 1) * x.size());
              });
            }
            if (!record) return to_numpy(chains.states());
            py::array_t<S> a = to_numpy(frames);
            return a.attr("reshape")(py::make_tuple(steps, chains.size(), net.neurons()));
          },
          py::arg("states"), py::arg("steps") = 1, py::arg("mode") = "sampled", py::arg("record") = false,
          py::arg("clamp_mask") = py::none(), py::arg("clamp_values") = py::none(), py::arg("temperatures") = py::none(),
          R"(`steps` synchronous updates of the rows of `states` ('sampled' or 'deterministic'); the final
states, or with record=True every step's states as (steps, chains, N). The noise stream continues
from call to call.)")
      .def(
          "relax",
          [](const Model& net, const py::object& starts, std::size_t max_steps, double tolerance,
             const std::string& criterion, int decimals) {
            nlm::RelaxOptions o;
            o.max_steps = max_steps;
            o.tolerance = tolerance;
            o.criterion = to_criterion(criterion);
            o.decimals = decimals;
            const nlm::Matrix<S> s = to_matrix<S>(starts, "starts", net.neurons());
            nlm::Relaxation<S> r;
            {
              py::gil_scoped_release release;
              r = nlm::relax(net, s, o);
            }
            py::dict d;
            d["ends"] = to_numpy(r.ends);
            d["steps"] = r.steps;
            d["settled"] = r.settled;
            d["attractors"] = to_numpy(r.attractors);
            d["attractor_of"] = r.attractor_of;
            d["basin"] = r.basin;
            return d;
          },
          py::arg("starts"), py::arg("max_steps") = 1000, py::arg("tolerance") = 1e-12, py::arg("criterion") = "state",
          py::arg("decimals") = 2,
          R"(The deterministic map from each start until it settles ('state': max |change| < tolerance;
'free_energy': |change of F| < tolerance, the reference's test): a dict with each start's end,
steps and whether it settled, the distinct ends after rounding to `decimals` ('attractors'),
each start's attractor (-1: did not settle) and each attractor's basin count.)")
      .def(
          "census",
          [](const Model& net, const py::object& starts) {
            const nlm::Matrix<S> s = to_matrix<S>(starts, "starts", net.neurons());
            nlm::FixedPointCensus c;
            {
              py::gil_scoped_release release;
              c = nlm::attractor_census(net, s);
            }
            py::dict d = census_dict(c, net.neurons());
            const nlm::Matrix<double> sigma = nlm::attractor_states(c.fixed_points, net.neurons());
            d["attractor_states"] = to_numpy(sigma);
            return d;
          },
          py::arg("starts"),
          R"(nlm's fixed-point census of sigma = L(beta (J sigma + b)) from the given states (in the inputs
x = beta (J sigma + b)); 'attractor_states' are the fixed points as states, L(x*).)")
      .def(
          "free_energy",
          [](const Model& net, const py::object& states) {
            return free_energy_array<S>(
                nlm::AttractorLearner<S>::free_energy_of(net, to_matrix<S>(states, "states", net.neurons())));
          },
          py::arg("states"), "(rows, 3): the free energy, accuracy and complexity of each state (the reference's)");
}

/// A learner with the training state of its last learn call (what a checkpoint saves).
template <class S>
struct Learner {
  nlm::AttractorLearner<S> learner;
  nlm::TrainingState state;
};

template <class S>
void bind_learner(py::module_& m, const char* name) {
  using L = Learner<S>;
  py::class_<L>(m, name, R"(The attractor network with its local, asymmetric predictive rule:
dJ_ij = eta (sigma_i sigma_j - L(h_i) sigma_j), i != j, h = J sigma_old, after every update.)")
      .def(py::init([](std::size_t neurons, double beta, double learning_rate, std::size_t chains, const std::string& mode,
                       bool field_in_rule, const std::string& step_rule, std::uint64_t seed) {
             nlm::AttractorHyperparameters hp;
             hp.neurons = neurons;
             hp.beta = beta;
             hp.learning_rate = learning_rate;
             hp.chains = chains;
             hp.mode = to_mode(mode);
             hp.field_in_rule = field_in_rule;
             if (step_rule == "adam") hp.step_rule = nlm::LearningParameters::StepRule::adam;
             else if (step_rule != "plain")
               throw py::value_error("step_rule: '" + step_rule + "' is not one of 'plain', 'adam'");
             hp.seed = seed;
             try {
               return L{nlm::AttractorLearner<S>(hp), nlm::TrainingState()};
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }),
           py::arg("neurons"), py::arg("beta") = 1.0, py::arg("learning_rate") = 1e-3, py::arg("chains") = 1,
           py::arg("mode") = "sampled", py::arg("field_in_rule") = false, py::arg("step_rule") = "plain",
           py::arg("seed") = 0)
      .def_property_readonly("J", [](const py::object& self) { return view_of(self.cast<const L&>().learner.couplings(), self); })
      .def_property_readonly("b", [](const py::object& self) { return view_of(self.cast<const L&>().learner.field(), self); })
      .def_property_readonly("states", [](const py::object& self) { return view_of(self.cast<const L&>().learner.states(), self); })
      .def_property_readonly("updates", [](const L& l) { return l.learner.updates(); })
      .def_property_readonly("neurons", [](const L& l) { return l.learner.neurons(); })
      .def("set_couplings", [](L& l, const py::object& J) { l.learner.set_couplings(to_matrix<S>(J, "J", l.learner.neurons())); },
           py::arg("J"))
      .def("set_field", [](L& l, const py::object& b) { l.learner.set_field(to_vector<S>(b, "b", l.learner.neurons())); },
           py::arg("b"))
      .def(
          "learn",
          [](L& l, const py::object& patterns, std::size_t presentations, double evidence, std::size_t steps,
             bool random_order, bool reset_state, bool resume, const py::object& statistics) {
            const nlm::Matrix<S> p = to_matrix<S>(patterns, "patterns", l.learner.neurons());
            nlm::PresentationOptions present;
            present.evidence = evidence;
            present.steps_per_presentation = steps;
            present.random_order = random_order;
            present.reset_state = reset_state;
            nlm::TrainingOptions t;
            if (p.shape(0) == 0) throw py::value_error("patterns: no rows");
            if (steps == 0) throw py::value_error("steps_per_presentation must be > 0");
            t.epochs = std::numeric_limits<decltype(t.epochs)>::max();  // presentations count, not epochs
            t.max_updates = (resume ? l.state.updates : 0) + presentations * steps;
            t.handle_signals = true;
            nlm::TrainingState from = resume ? l.state : nlm::TrainingState();
            nlm::UpdateStatistics* stats = statistics.is_none() ? nullptr : statistics.cast<nlm::UpdateStatistics*>();
            py::gil_scoped_release release;
            try {
              if (stats) l.state = nlm::learn_presentations(l.learner, p, t, present, from, *stats);
              else l.state = nlm::learn_presentations(l.learner, p, t, present, from);
            } catch (const std::invalid_argument& e) {
              throw py::value_error(e.what());
            }
            return l.state.updates;
          },
          py::arg("patterns"), py::arg("presentations"), py::arg("evidence") = 1.0, py::arg("steps_per_presentation") = 1,
          py::arg("random_order") = false, py::arg("reset_state") = false, py::arg("resume") = false,
          py::arg("statistics") = py::none(),
          R"(Presents the rows of `patterns` as b = evidence * pattern, `steps_per_presentation` sampled
updates each, in order or drawn at random; `presentations` presentations in all (from a fresh
training state, or with resume=True from the last one: a learner loaded from a checkpoint
continues bit for bit). Returns the update count. Ctrl-C raises KeyboardInterrupt.)")
      .def("update", [](L& l) {
        py::gil_scoped_release release;
        return l.learner.update();
      }, "one update and one step of the rule; returns mean(G^2)")
      .def(
          "fused_steps",
          [](L& l, std::size_t steps) {
            try {
              py::gil_scoped_release release;
              return l.learner.fused_steps(steps);
            } catch (const std::logic_error& e) {
              throw py::value_error(e.what());
            }
          },
          py::arg("steps"), "`steps` updates of the single chain with one pass over J each (the plain rule only)")
      .def("free_energy", [](const L& l) { return free_energy_array<S>(l.learner.free_energy()); },
           "(chains, 3): the free energy, accuracy and complexity of each chain's state")
      .def("model", [](const L& l) { return l.learner.model(); }, "a copy of the network (AttractorModel)")
      .def("save_checkpoint", [](const L& l, const std::string& path) { nlm::save_attractor_checkpoint(path, l.learner, l.state); },
           py::arg("path"), "the learner and its training state, written atomically")
      .def(
          "load_checkpoint",
          [](L& l, const std::string& path) {
            require_file(path);
            reading_file([&] {
              try {
                l.state = nlm::load_attractor_checkpoint(path, l.learner);
              } catch (const std::invalid_argument& e) {
                throw py::value_error(e.what());
              }
              return 0;
            });
          },
          py::arg("path"), "restores a learner configured as the one that wrote the file (learn(..., resume=True) goes on)");
}

}  // namespace

void bind_attractor(py::module_& m) {
  bind_model<float>(m, "AttractorModel32");
  bind_model<double>(m, "AttractorModel64");
  bind_learner<float>(m, "AttractorLearner32");
  bind_learner<double>(m, "AttractorLearner64");
  m.def(
      "langevin",
      [](const py::object& theta) {
        Array<double> a = as_array<double>(theta, "theta");
        Array<double> out(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
        for (py::ssize_t i = 0; i < a.size(); ++i) out.mutable_data()[i] = nlm::langevin_function(a.data()[i]);
        return out;
      },
      py::arg("theta"), "L(theta) = coth(theta) - 1/theta, the continuous Bernoulli's mean, elementwise");
  m.def(
      "orthogonality",
      [](const py::object& x, double keep_above, double keep_below, bool with_diagonal) {
        nlm::OrthogonalityOptions o;
        o.keep_above = keep_above;
        o.keep_below = keep_below;
        o.with_diagonal = with_diagonal;
        try {
          return nlm::orthogonality(to_matrix<double>(x, "x"), o).mean_deviation;
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("x"), py::arg("keep_above") = -1.0, py::arg("keep_below") = 181.0, py::arg("with_diagonal") = false,
      "mean |90 - angle| (degrees) over the pairs of rows, angles kept in (keep_above, keep_below)");
  m.def(
      "load_uci_digits",
      [](const std::string& path) {
        require_file(path);
        const nlm::data::uci_digits d = nlm::data::read_uci_digits(path);
        py::array_t<std::uint8_t> images({py::ssize_t(d.count), py::ssize_t(64)});
        std::copy(d.pixels.begin(), d.pixels.end(), images.mutable_data());
        py::array_t<std::uint8_t> labels(py::ssize_t(d.count));
        std::copy(d.labels.begin(), d.labels.end(), labels.mutable_data());
        return py::make_tuple(images, labels);
      },
      py::arg("path"), "the UCI 8x8 digits (digits.csv.gz, scripts/get_digits.sh): (images (n, 64) 0-16, labels)");
  m.def(
      "uci_digit_patterns",
      [](const py::object& images) {
        const nlm::Matrix<double> x = to_matrix<double>(images, "images", 64);
        nlm::data::uci_digits d;
        d.count = x.shape(0);
        d.labels.assign(d.count, 0);
        for (double v : x) {
          if (!(v >= 0 && v <= 16 && v == double(int(v))))
            throw py::value_error("images: " + std::to_string(v) + " is not a whole number 0-16");
          d.pixels.push_back(std::uint8_t(v));
        }
        return to_numpy(nlm::data::uci_digit_patterns<double>(d));
      },
      py::arg("images"), "the reference's preprocessing: pixels squared, each image z-scored (population SD)");
}

}  // namespace nlm_python
