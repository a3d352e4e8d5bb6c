// Fuzz target: the .npy reader on arbitrary bytes, as float and as double, rank 1 and 2.
// Malformed input must end in an exception (npy_error or another std::exception), never in a
// crash, a read past the buffer or an allocation the bytes do not justify.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include <nlm/io/npy.hpp>

namespace {
template <class S, std::size_t N>
void read_as(const std::string& bytes) {
  std::istringstream in(bytes, std::ios::binary);
  try {
    const auto a = nlm::io::read_npy<S, N>(in, "fuzz.npy");
    volatile std::size_t sink = a.size();
    (void)sink;
  } catch (const std::exception&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  read_as<float, 2>(bytes);
  read_as<double, 2>(bytes);
  read_as<float, 1>(bytes);
  std::istringstream in(bytes, std::ios::binary);
  try {
    (void)nlm::io::read_npy_header(in, "fuzz.npy");
  } catch (const std::exception&) {
  }
  return 0;
}
