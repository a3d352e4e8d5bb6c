// Fuzz target: the checkpoint reader (formats 2 to 5) and the model file reader (which reads
// checkpoints too) on arbitrary bytes in memory, as float and as double. Most random bytes fail the checksum; the seed corpus holds valid files whose
// mutations libFuzzer learns to reseal (the checksum is FNV-1a over the bytes before it, and
// -use_cmp guides it there), and the target also reseals every input itself so that the
// section parser sees mutated layouts with a valid checksum.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <nlm/nlm.hpp>

namespace {
template <class S>
void parse(const std::string& bytes) {
  try {
    const auto c = nlm::parse_checkpoint<S>(bytes, "fuzz.ckpt");
    volatile std::size_t sink = c.couplings.size() + c.state.order.size();
    (void)sink;
  } catch (const std::exception&) {
  }
  try {
    const auto m = nlm::parse_model<S>(bytes, "fuzz.nlm");
    volatile std::size_t sink = m.couplings.size() + m.field.size();
    (void)sink;
  } catch (const std::exception&) {
  }
}

/// The bytes as a body with a fresh checksum and the end marker `end`.
std::string sealed(const std::string& bytes, const char* end) {
  std::string body = bytes.size() >= 16 ? bytes.substr(0, bytes.size() - 16) : bytes;
  const std::uint64_t sum = nlm::detail::fnv1a(body);
  body.append(reinterpret_cast<const char*>(&sum), 8);
  body.append(end, 8);
  return body;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  parse<float>(bytes);
  parse<double>(bytes);
  // The same bytes as a body with a fresh checksum and either end marker.
  parse<double>(sealed(bytes, "NLMCKEND"));
  parse<float>(sealed(bytes, "NLMMDEND"));
  return 0;
}
