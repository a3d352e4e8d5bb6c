// What every part of nlm's Python module shares: NumPy arrays in (checked, converted) and out
// (copies or read-only views), the chains' options of a sample call, and the errors.
//
// The module is split by subject so that its parts compile in parallel and alone:
//   module.cpp    PYBIND11_MODULE: the exceptions, then the parts below
//   models.cpp    Model (float32, float64, bf16 where built), Network, UnitLayout
//   machines.cpp  Machine (em and pt model phases, float32, float64, bf16 where built)
//   analysis.cpp  AIS (conditional), fixed points' helpers, J_sym/J_anti, mixing, update
//                 statistics, power-law fits, the sample-quality metrics, model files, IDX data
//   attractor.cpp the free-energy attractor network: AttractorModel, AttractorLearner (float32,
//                 float64), the Langevin function, orthogonality, the UCI digits
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlm/nlm.hpp>
#if NLM_HAVE_ONEDNN
#include <nlm/bf16.hpp>
#endif

namespace nlm_python {

namespace py = pybind11;

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

template <class T, std::size_t N>
py::array_t<T> to_numpy(const xt::xtensor<T, N>& m) {
  std::vector<py::ssize_t> shape(m.shape().begin(), m.shape().end());
  py::array_t<T> a(shape);
  std::copy_n(m.data(), m.size(), a.mutable_data());
  return a;
}

/// A read-only NumPy view of `m`'s memory that keeps `owner` (the Python object holding `m`)
/// alive. Valid because nothing nlm does to J, b or the persistent chains moves their buffers
/// (Couplings::set, set_field and Chains::set_states write into them); the view shows every
/// later change (np.array(view) is a snapshot).
template <class T, std::size_t N>
py::array_t<T> view_of(const xt::xtensor<T, N>& m, const py::handle& owner) {
  std::vector<py::ssize_t> shape(m.shape().begin(), m.shape().end());
  py::array_t<T> a(shape, m.data(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return a;
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

/// A clamp from a mask (non-zero: held) and values, each one row per condition/chain or one
/// shared row, `n` columns.
template <class S>
nlm::Clamp<S> to_clamp(const py::object& mask, const py::object& values, std::size_t n) {
  const nlm::Matrix<double> m = to_matrix<double>(mask, "clamp_mask", n);
  nlm::Clamp<S> c;
  c.mask = xt::xtensor<std::uint8_t, 2>::from_shape({m.shape(0), m.shape(1)});
  for (std::size_t i = 0; i < m.size(); ++i) c.mask.data()[i] = m.data()[i] != 0.0;
  c.values = to_matrix<S>(values, "clamp_values", n);
  return c;
}

/// The clamp (mask and values: one row per chain or one shared row) and per-chain
/// temperatures a sample call was given, applied to `chains`.
template <class S>
void configure_chains(nlm::Chains<S>& chains, const py::object& clamp_mask, const py::object& clamp_values,
                      const py::object& temperatures) {
  if (clamp_mask.is_none() != clamp_values.is_none())
    throw py::value_error("clamp_mask and clamp_values: give both (the mask says which units are held, the values where)");
  if (!clamp_mask.is_none()) {
    const nlm::Clamp<S> c = to_clamp<S>(clamp_mask, clamp_values, chains.neurons());
    chains.clamp(c.mask, c.values);
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

/// FileNotFoundError or IsADirectoryError (OSErrors) for a path that is not a file, before C++
/// tries to read it.
inline void require_file(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    errno = ENOENT;
    PyErr_SetFromErrnoWithFilename(PyExc_FileNotFoundError, path.c_str());
    throw py::error_already_set();
  }
  if (std::filesystem::is_directory(path)) {
    errno = EISDIR;
    PyErr_SetFromErrnoWithFilename(PyExc_IsADirectoryError, path.c_str());
    throw py::error_already_set();
  }
}

/// Runs `read` (which reads the file at a path require_file accepted) with what is wrong in the
/// file's contents as ValueError (the library throws std::runtime_error for a damaged or
/// mismatched model file or checkpoint), keeping nlm's own error types.
template <class F>
auto reading_file(F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const nlm::numerical_error&) {
    throw;
  } catch (const nlm::interrupted&) {
    throw;
  } catch (const py::error_already_set&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw py::value_error(e.what());
  }
}

/// The AIS options every log Z call takes, from its keyword arguments.
inline nlm::AisOptions ais_options(std::size_t temperatures, std::size_t particles, std::size_t runs,
                                   std::size_t steps_per_temperature, double time_step, double base_sd,
                                   double schedule_power, std::uint64_t seed) {
  nlm::AisOptions o;
  o.temperatures = temperatures;
  o.particles = particles;
  o.runs = runs;
  o.steps_per_temperature = steps_per_temperature;
  o.time_step = time_step;
  o.base_sd = base_sd;
  o.schedule_power = schedule_power;
  o.seed = seed;
  return o;
}

py::dict ais_result_dict(const nlm::AisResult& r, const nlm::AisOptions& o);
/// The census as a dict (analysis.cpp).
py::dict census_dict(const nlm::FixedPointCensus& c, std::size_t neurons);

void bind_models(py::module_& m);
void bind_machines(py::module_& m);
void bind_analysis(py::module_& m);
void bind_attractor(py::module_& m);
void bind_lagrangian(py::module_& m);

}  // namespace nlm_python
