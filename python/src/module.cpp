// nlm's Python module (`import nlm`): the same headers, NumPy arrays in and out.
//
// The parts (common.hpp lists them): models.cpp (Model, Network, UnitLayout), machines.cpp
// (Machine), analysis.cpp (AIS, census, metrics, statistics, files), attractor.cpp (the
// free-energy attractor network), lagrangian.cpp (the least-action model). Arrays are converted in
// (any real dtype, copied) and returned as ordinary numpy.ndarray: copies, except J, b and
// the persistent chains, which are read-only views kept alive by their owner. Long work
// (sampling, training, AIS, censuses) runs without the GIL; Ctrl-C during training saves the
// checkpoint (when one is named) and raises KeyboardInterrupt.
#include <cstdlib>

#include <nlm/data/idx.hpp>
#include <nlm/version.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.hpp"

// OpenBLAS's own query, where the BLAS is OpenBLAS (weak: absent under another BLAS).
extern "C" int openblas_get_parallel(void) __attribute__((weak));  // 0 serial, 1 pthreads, 2 OpenMP

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
  // As the example programs do: OpenBLAS's pthread build (Debian's default) keeps its own
  // threads spinning beside nlm's OpenMP threads, and on few cores the two pools fight (2-3x
  // slower updates on 2 cores); unless OMP_NUM_THREADS says otherwise, nlm's elementwise work then
  // runs on one thread. nlm.set_threads(n) overrides it; OpenBLAS's OpenMP build
  // (libopenblas0-openmp) shares one pool and needs none of this.
#ifdef _OPENMP
  if (openblas_get_parallel != nullptr && openblas_get_parallel() == 1 && std::getenv("OMP_NUM_THREADS") == nullptr &&
      omp_get_max_threads() > 1)
    nlm::set_threads(1);
#endif
  m.def("set_threads", &nlm::set_threads, py::arg("n"),
        "threads for nlm's own elementwise work (0: OpenMP's count, OMP_NUM_THREADS); the products follow "
        "OpenBLAS's setting (OPENBLAS_NUM_THREADS). Results do not depend on it.");
  m.def("threads", &nlm::threads, "the threads nlm's elementwise work uses now");
  nlm_python::bind_models(m);
  nlm_python::bind_machines(m);
  nlm_python::bind_analysis(m);
  nlm_python::bind_attractor(m);
  nlm_python::bind_lagrangian(m);
}
