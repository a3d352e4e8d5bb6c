// nlm's Python module (`import nlm`): the same headers, NumPy arrays in and out.
//
// The parts (common.hpp lists them): models.cpp (Model, Network, UnitLayout), machines.cpp
// (Machine), analysis.cpp (AIS, census, metrics, statistics, files). Arrays are converted in
// (any real dtype, copied) and returned as ordinary numpy.ndarray: copies, except J, b and
// the persistent chains, which are read-only views kept alive by their owner. Long work
// (sampling, training, AIS, censuses) runs without the GIL; Ctrl-C during training saves the
// checkpoint (when one is named) and raises KeyboardInterrupt.
#include <nlm/data/idx.hpp>
#include <nlm/version.hpp>

#include "common.hpp"

PYBIND11_MODULE(_nlm, m) {
  namespace py = pybind11;
  m.doc() = "nlm: the Neural Langevin Machine (header-only C++20 library) from Python";
  m.attr("__version__") = std::to_string(NLM_VERSION_MAJOR) + "." + std::to_string(NLM_VERSION_MINOR) + "." +
                          std::to_string(NLM_VERSION_PATCH);
  m.attr("has_bf16") = bool(NLM_HAVE_ONEDNN);
  py::register_exception<nlm::numerical_error>(m, "NumericalError", PyExc_ArithmeticError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const nlm::io::npy_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const nlm::data::idx_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const nlm::interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    }
  });
  nlm_python::bind_models(m);
  nlm_python::bind_machines(m);
  nlm_python::bind_analysis(m);
}
