// NumPy .npy input/output and the atomic file writer behind it. The fixtures in
// tests/fixtures/npy were written by NumPy 1.24 (make_fixtures.py there), so reading them
// checks compatibility with np.save and writing the same arrays checks byte-identity.

#include <nlm/io/atomic_file.hpp>
#include <nlm/io/npy.hpp>

#include <doctest/doctest.h>

#include "npy_bytes.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace
{

fs::path fixture(const std::string& name)
{
    return fs::path(NLM_TEST_FIXTURES) / "npy" / name;
}

/// A fresh directory for one test, removed with everything in it at the end.
class temp_dir
{
public:
    temp_dir()
    {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path()
                / ("nlm-test-npy-" + std::to_string(::getpid()) + "-"
                   + std::to_string(counter.fetch_add(1)));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir()
    {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }

    fs::path operator/(const std::string& name) const { return path_ / name; }
    const fs::path& path() const { return path_; }

    std::vector<std::string> entries() const
    {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(path_))
            names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

private:
    fs::path path_;
};

std::string read_bytes(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out);
}

/// The message of the std::runtime_error `action` throws, or a marker if it throws none.
std::string error_of(const std::function<void()>& action)
{
    try
    {
        action();
    }
    catch (const std::runtime_error& error)
    {
        return error.what();
    }
    return "<no exception>";
}

/// Bit-for-bit equality of values and shape, so NaN and -0.0 count too.
template <class S, std::size_t N>
bool identical(const xt::xtensor<S, N>& a, const xt::xtensor<S, N>& b)
{
    return a.shape() == b.shape()
           && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(S)) == 0);
}

template <class S>
xt::xtensor<S, 2> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed)
{
    std::mt19937_64 engine(seed);
    std::normal_distribution<S> normal;
    xt::xtensor<S, 2> m({rows, cols});
    for (auto& value : m)
        value = normal(engine);
    return m;
}

using nlm::test::npy_bytes_with_header;

/// Stream buffer over a string that cannot seek, like a pipe.
class unseekable_buffer : public std::streambuf
{
public:
    explicit unseekable_buffer(std::string bytes) : bytes_(std::move(bytes))
    {
        setg(bytes_.data(), bytes_.data(), bytes_.data() + bytes_.size());
    }

private:
    std::string bytes_;
};

// Values of the NumPy fixtures, as make_fixtures.py writes them.
const std::vector<float> f32_3x4_values{0.1f,     -2.5f,   3.0f,       1e-30f,
                                        -0.0f,    65504.f, -1.f / 3.f, 7.0f,
                                        1e30f, 0x1p-20f, -123.456f, 0.5f};
const std::vector<double> f64_2x3_values{1.0 / 3.0, -0.1, 2.5e300, 0.0, -4.9e-324, 42.0};
const std::vector<float> f32_5_values{1.5f, -2.0f, 0.25f, 1e-7f, -3.75f};

template <class S, std::size_t N>
std::vector<S> values_of(const xt::xtensor<S, N>& a)
{
    return {a.begin(), a.end()};
}

xt::xtensor<float, 2> f32_3x4()
{
    xt::xtensor<float, 2> m({3, 4});
    std::copy(f32_3x4_values.begin(), f32_3x4_values.end(), m.begin());
    return m;
}

xt::xtensor<double, 2> f64_2x3()
{
    xt::xtensor<double, 2> m({2, 3});
    std::copy(f64_2x3_values.begin(), f64_2x3_values.end(), m.begin());
    return m;
}

}  // namespace

TEST_SUITE("npy")
{

TEST_CASE_TEMPLATE("a saved matrix loads back bit for bit", S, float, double)
{
    temp_dir dir;
    const std::vector<std::pair<std::size_t, std::size_t>> shapes{
        {1, 1}, {3, 4}, {7, 1}, {1, 13}, {33, 65}, {0, 5}, {5, 0}, {784, 784}};
    for (const auto& [rows, cols] : shapes)
    {
        CAPTURE(rows);
        CAPTURE(cols);
        xt::xtensor<S, 2> original = random_matrix<S>(rows, cols, 17 + rows * 1000 + cols);
        if (original.size() >= 3)
        {
            original.data()[0] = std::numeric_limits<S>::quiet_NaN();
            original.data()[1] = -S(0);
            original.data()[2] = -std::numeric_limits<S>::infinity();
        }
        const fs::path path = dir / "m.npy";
        nlm::io::save_npy(path, original);
        CHECK(identical(nlm::io::load_npy_matrix<S>(path), original));
        CHECK(fs::file_size(path) % 64 == (rows * cols * sizeof(S)) % 64);
    }
    CHECK(dir.entries() == std::vector<std::string>{"m.npy"});
}

TEST_CASE_TEMPLATE("a saved vector loads back bit for bit", S, float, double)
{
    temp_dir dir;
    for (const std::size_t n : {0u, 1u, 5u, 1001u})
    {
        CAPTURE(n);
        auto original = xt::xtensor<S, 1>::from_shape({n});
        for (std::size_t i = 0; i < n; ++i)
            original(i) = static_cast<S>(i) / S(7) - S(3);
        const fs::path path = dir / "v.npy";
        nlm::io::save_npy(path, original);
        CHECK(identical(nlm::io::load_npy_vector<S>(path), original));
    }
}

TEST_CASE_TEMPLATE("arrays written one after another into a stream read back in order", S,
                   float, double)
{
    const xt::xtensor<S, 2> couplings = random_matrix<S>(9, 11, 3);
    const xt::xtensor<S, 1> biases = {S(1), S(-2), S(0.5), S(8)};

    std::stringstream stream;
    stream << "checkpoint";
    nlm::io::write_npy(stream, couplings);
    nlm::io::write_npy(stream, biases);
    stream << "end";

    std::string tag(10, '\0');
    stream.read(tag.data(), 10);
    CHECK(tag == "checkpoint");
    CHECK(identical(nlm::io::read_npy<S, 2>(stream, "couplings"), couplings));
    CHECK(identical(nlm::io::read_npy<S, 1>(stream, "biases"), biases));
    std::string rest;
    stream >> rest;
    CHECK(rest == "end");
}

TEST_CASE("NumPy's files read with their values")
{
    CHECK(values_of(nlm::io::load_npy_matrix<float>(fixture("f32_3x4.npy"))) == f32_3x4_values);
    const auto m = nlm::io::load_npy_matrix<float>(fixture("f32_3x4.npy"));
    CHECK(m.shape() == std::array<std::size_t, 2>{3, 4});
    CHECK(m(1, 2) == -1.f / 3.f);
    CHECK(std::signbit(m(1, 0)));

    for (const char* name : {"f64_2x3.npy", "f64_2x3_v2.npy", "f64_2x3_v3.npy",
                             "f64_2x3_reordered_header.npy"})
    {
        CAPTURE(name);
        const auto d = nlm::io::load_npy_matrix<double>(fixture(name));
        CHECK(d.shape() == std::array<std::size_t, 2>{2, 3});
        CHECK(values_of(d) == f64_2x3_values);
    }

    for (const char* name : {"f32_5.npy", "f32_5_pipe_descr.npy"})
    {
        CAPTURE(name);
        const auto v = nlm::io::load_npy_vector<float>(fixture(name));
        CHECK(v.shape() == std::array<std::size_t, 1>{5});
        CHECK(values_of(v) == f32_5_values);
    }

    const auto empty = nlm::io::load_npy_matrix<double>(fixture("f64_0x3.npy"));
    CHECK(empty.shape() == std::array<std::size_t, 2>{0, 3});
}

TEST_CASE("headers tell dtype, shape and version without loading the data")
{
    const auto h = nlm::io::read_npy_header(fixture("f32_3x4.npy"));
    CHECK(h.dtype == nlm::io::npy_dtype::float32);
    CHECK(h.shape == std::vector<std::size_t>{3, 4});
    CHECK(h.major_version == 1);
    CHECK(h.minor_version == 0);
    CHECK(h.size() == 12);
    CHECK(h.data_bytes() == 48);

    const auto v2 = nlm::io::read_npy_header(fixture("f64_2x3_v2.npy"));
    CHECK(v2.dtype == nlm::io::npy_dtype::float64);
    CHECK(v2.shape == std::vector<std::size_t>{2, 3});
    CHECK(v2.major_version == 2);
    CHECK(nlm::io::read_npy_header(fixture("f64_2x3_v3.npy")).major_version == 3);
    CHECK(nlm::io::read_npy_header(fixture("f32_5.npy")).shape == std::vector<std::size_t>{5});

    std::ifstream in(fixture("f32_3x4.npy"), std::ios::binary);
    nlm::io::read_npy_header(in, "f32_3x4.npy");
    CHECK(in.tellg() == 128);
}

TEST_CASE("output is byte-identical to np.save of the same array")
{
    temp_dir dir;
    nlm::io::save_npy(dir / "a.npy", f32_3x4());
    CHECK(read_bytes(dir / "a.npy") == read_bytes(fixture("f32_3x4.npy")));

    nlm::io::save_npy(dir / "b.npy", f64_2x3());
    CHECK(read_bytes(dir / "b.npy") == read_bytes(fixture("f64_2x3.npy")));

    auto v = xt::xtensor<float, 1>::from_shape({5});
    std::copy(f32_5_values.begin(), f32_5_values.end(), v.begin());
    nlm::io::save_npy(dir / "c.npy", v);
    CHECK(read_bytes(dir / "c.npy") == read_bytes(fixture("f32_5.npy")));

    nlm::io::save_npy(dir / "d.npy", xt::xtensor<double, 2>({0, 3}));
    CHECK(read_bytes(dir / "d.npy") == read_bytes(fixture("f64_0x3.npy")));

    // The couplings' shape: the header np.save writes for a float32 784x784 array.
    const auto couplings = random_matrix<float>(784, 784, 1);
    nlm::io::save_npy(dir / "J.npy", couplings);
    const std::string bytes = read_bytes(dir / "J.npy");
    REQUIRE(bytes.size() == 128 + 784 * 784 * 4);
    CHECK(bytes.substr(0, 128) == read_bytes(fixture("f32_784x784_header.bin")));
    CHECK(std::memcmp(bytes.data() + 128, couplings.data(), 784 * 784 * 4) == 0);
}

TEST_CASE_TEMPLATE("a file laid out like the upstream J_cupy1.npy loads", S, float, double)
{
    temp_dir dir;
    const auto stored = random_matrix<float>(784, 784, 2);
    write_bytes(dir / "J_cupy1.npy",
                read_bytes(fixture("f32_784x784_header.bin"))
                    + std::string(reinterpret_cast<const char*>(stored.data()),
                                  stored.size() * sizeof(float)));
    const auto J = nlm::io::load_npy_matrix<S>(dir / "J_cupy1.npy");
    REQUIRE(J.shape() == std::array<std::size_t, 2>{784, 784});
    CHECK(J == xt::xtensor<S, 2>(xt::cast<S>(stored)));
}

TEST_CASE("reading float32 as double and float64 as float converts")
{
    const auto as_double = nlm::io::load_npy_matrix<double>(fixture("f32_3x4.npy"));
    CHECK(as_double.shape() == std::array<std::size_t, 2>{3, 4});
    for (std::size_t i = 0; i < f32_3x4_values.size(); ++i)
        CHECK(as_double.data()[i] == static_cast<double>(f32_3x4_values[i]));

    const auto as_float = nlm::io::load_npy_matrix<float>(fixture("f64_2x3.npy"));
    CHECK(as_float.shape() == std::array<std::size_t, 2>{2, 3});
    CHECK(as_float(0, 0) == static_cast<float>(1.0 / 3.0));
    CHECK(as_float(0, 1) == -0.1f);
    CHECK(as_float(0, 2) == std::numeric_limits<float>::infinity());
    CHECK(as_float(1, 0) == 0.0f);
    CHECK(as_float(1, 1) == 0.0f);
    CHECK(std::signbit(as_float(1, 1)));
    CHECK(as_float(1, 2) == 42.0f);

    // More elements than one conversion block.
    temp_dir dir;
    const auto big = random_matrix<double>(300, 301, 5);
    nlm::io::save_npy(dir / "big.npy", big);
    CHECK(nlm::io::load_npy_matrix<float>(dir / "big.npy")
          == xt::xtensor<float, 2>(xt::cast<float>(big)));
}

TEST_CASE("integer and bool arrays read as their values")
{
    // NumPy's np.arange(6, dtype=np.int64).reshape(2, 3).
    CHECK(nlm::io::load_npy_matrix<float>(fixture("int64.npy"))
          == xt::xtensor<float, 2>{{0, 1, 2}, {3, 4, 5}});
    CHECK(nlm::io::read_npy_header(fixture("int64.npy")).dtype == nlm::io::npy_dtype::int64);

    // Each type from its bytes, little-endian: the extremes of the type survive the conversion
    // to double exactly (they are all below 2^53 in magnitude except the 64-bit ones, which
    // are powers of two or one off them: -2^63 and 2^64 - 1 round to ±2^63 and 2^64).
    const auto read = [](const std::string& descr, const std::string& data, std::size_t count) {
        std::istringstream in(npy_bytes_with_header(
            "{'descr': '" + descr + "', 'fortran_order': False, 'shape': ("
                + std::to_string(count) + ",), }",
            data));
        return nlm::io::read_npy<double, 1>(in, descr);
    };
    const auto bytes = [](std::initializer_list<int> b) {
        std::string s;
        for (const int v : b)
            s += static_cast<char>(v);
        return s;
    };
    CHECK(read("|u1", bytes({0, 127, 255}), 3) == xt::xtensor<double, 1>{0, 127, 255});
    CHECK(read("|i1", bytes({0x80, 0xFF, 0x7F}), 3) == xt::xtensor<double, 1>{-128, -1, 127});
    CHECK(read("<u2", bytes({0xFF, 0xFF, 0x01, 0x00}), 2) == xt::xtensor<double, 1>{65535, 1});
    CHECK(read("<i2", bytes({0x00, 0x80, 0xFE, 0xFF}), 2) == xt::xtensor<double, 1>{-32768, -2});
    CHECK(read("<i4", bytes({0x00, 0x00, 0x00, 0x80, 0x07, 0, 0, 0}), 2)
          == xt::xtensor<double, 1>{-2147483648.0, 7});
    CHECK(read("<u4", bytes({0xFF, 0xFF, 0xFF, 0xFF}), 1) == xt::xtensor<double, 1>{4294967295.0});
    CHECK(read("<i8", bytes({0, 0, 0, 0, 0, 0, 0, 0x80, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), 2)
          == xt::xtensor<double, 1>{-9223372036854775808.0, -3});
    CHECK(read("<u8", std::string(8, '\xFF'), 1) == xt::xtensor<double, 1>{18446744073709551616.0});
    CHECK(read("=i8", bytes({9, 0, 0, 0, 0, 0, 0, 0}), 1) == xt::xtensor<double, 1>{9});
    // Bools: NumPy writes 0 and 1; any other byte is true as well.
    CHECK(read("|b1", bytes({0, 1, 2}), 3) == xt::xtensor<double, 1>{0, 1, 1});
    // One-byte types have no byte order: '>u1' is the same as '|u1'.
    CHECK(read(">u1", bytes({200}), 1) == xt::xtensor<double, 1>{200});
    // A short file is reported in the stored type's bytes.
    CHECK(error_of([&] { read("<i4", bytes({1, 0, 0}), 1); })
          == "<i4: truncated: header says shape (1,) int32 = 4 bytes of data, file has 3");
}

TEST_CASE("every damaged or unsupported file is rejected with a message naming it")
{
    const auto message = [](const std::string& name, const auto& load) {
        return error_of([&] { load(fixture(name)); });
    };
    const auto matrix = [](const fs::path& p) { nlm::io::load_npy_matrix<float>(p); };
    const auto matrix_d = [](const fs::path& p) { nlm::io::load_npy_matrix<double>(p); };
    const auto vector = [](const fs::path& p) { nlm::io::load_npy_vector<float>(p); };
    const auto header = [](const fs::path& p) { nlm::io::read_npy_header(p); };
    const auto at = [](const std::string& name) { return fixture(name).string() + ": "; };

    CHECK(message("bad_magic.npy", matrix) == at("bad_magic.npy") + "not a .npy file (bad magic)");
    CHECK(message("empty.npy", matrix) == at("empty.npy") + "not a .npy file (empty)");
    CHECK(message("truncated_header.npy", header)
          == at("truncated_header.npy") + "truncated: file ends inside the .npy header");
    const std::string truncated =
        at("truncated_data.npy")
        + "truncated: header says shape (3, 4) float32 = 48 bytes of data, file has 20";
    CHECK(message("truncated_data.npy", matrix) == truncated);
    CHECK(message("truncated_data.npy", matrix_d) == truncated);
    CHECK(message("big_endian_f4.npy", matrix)
          == at("big_endian_f4.npy")
                 + "dtype '>f4' is not supported (big-endian; save it little-endian, as with "
                   "a.astype('<f4'))");
    CHECK(message("fortran_order.npy", matrix)
          == at("fortran_order.npy")
                 + "fortran_order True is not supported (expected a C-order array)");
    CHECK(message("structured.npy", header)
          == at("structured.npy")
                 + "structured dtypes are not supported (expected a float, integer or bool "
                   "dtype)");
    CHECK(message("version_4.npy", header)
          == at("version_4.npy")
                 + ".npy format version 4.0 is not supported (expected 1.0, 2.0 or 3.0)");
    CHECK(message("missing_shape.npy", header)
          == at("missing_shape.npy") + ".npy header lacks the key 'shape'");
    CHECK(message("malformed_header.npy", header)
          == at("malformed_header.npy")
                 + "malformed .npy header: expected ',' or ')' in the shape at column 56 of "
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4}");
    CHECK(message("one_tuple_without_comma.npy", header)
          == at("one_tuple_without_comma.npy")
                 + "malformed .npy header: a one-element shape needs a trailing comma, as in "
                   "(5,) at column 51 of {'descr': '<f4', 'fortran_order': False, 'shape': (5)}");
    CHECK(message("f32_5.npy", matrix)
          == at("f32_5.npy") + "shape (5,) has rank 1, expected rank 2");
    CHECK(message("f32_3x4.npy", vector)
          == at("f32_3x4.npy") + "shape (3, 4) has rank 2, expected rank 1");
    CHECK(message("no_such_file.npy", matrix)
          == at("no_such_file.npy") + "cannot open for reading: No such file or directory");
    CHECK(error_of([] { nlm::io::read_npy_header(fixture("")); })
          == fixture("").string() + ": cannot open for reading: Is a directory");
}

TEST_CASE("headers are checked key by key")
{
    const auto read = [](const std::string& bytes) {
        return error_of([&] {
            std::istringstream in(bytes);
            nlm::io::read_npy<double, 1>(in, "s");
        });
    };
    const std::string data(16, '\0');
    CHECK(read(npy_bytes_with_header(
              "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}", data))
          == "s: .npy header has unexpected key 'extra' (expected 'descr', 'fortran_order' and "
             "'shape')");
    CHECK(read(npy_bytes_with_header(
              "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", data))
          == "s: malformed .npy header: duplicate key 'descr' at column 18 of "
             "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}");
    CHECK(read(npy_bytes_with_header("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}", data))
          == "s: malformed .npy header: expected True or False after 'fortran_order' at column 35 "
             "of {'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}");
    CHECK(read(npy_bytes_with_header("{'descr': '<f2', 'fortran_order': False, 'shape': (2,)}",
                                     data))
          == "s: dtype '<f2' is not supported (expected a float, integer or bool dtype: "
             "'<f4', '<f8', '|i1' to '<i8', '|u1' to '<u8', '|b1')");
    for (const char* descr : {"<c8", "<U3", "|S4", "<i3", "<M8", "|O"})
        CHECK(read(npy_bytes_with_header(std::string("{'descr': '") + descr
                                             + "', 'fortran_order': False, 'shape': (2,)}",
                                         data))
              == std::string("s: dtype '") + descr
                     + "' is not supported (expected a float, integer or bool dtype: '<f4', "
                       "'<f8', '|i1' to '<i8', '|u1' to '<u8', '|b1')");
    CHECK(read(npy_bytes_with_header("{'descr': '>i8', 'fortran_order': False, 'shape': (2,)}",
                                     data))
          == "s: dtype '>i8' is not supported (big-endian; save it little-endian, as with "
             "a.astype('<i8'))");
    CHECK(read(npy_bytes_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} x",
                                     data))
          == "s: malformed .npy header: text after the closing '}' at column 57 of "
             "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} x");
    CHECK(read(npy_bytes_with_header(
              "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296,)}",
              data))
          == "s: shape (4294967296, 4294967296, 4294967296) is too large to address");

    std::string huge = "\x93NUMPY\x02";
    huge += std::string("\0\xff\xff\x00\x00", 5);
    CHECK(read(huge) == "s: .npy header of 65535 bytes is longer than the 10000 NumPy accepts");

    // Python 2 spelled long integers "2L"; NumPy files from then still load.
    std::istringstream old(npy_bytes_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }", data));
    CHECK(nlm::io::read_npy<double, 1>(old, "old").shape() == std::array<std::size_t, 1>{2});
}

TEST_CASE_TEMPLATE("truncation is reported from streams that cannot seek", S, float, double)
{
    unseekable_buffer buffer(read_bytes(fixture("truncated_data.npy")));
    std::istream in(&buffer);
    CHECK(error_of([&] { nlm::io::read_npy<S, 2>(in, "pipe"); })
          == "pipe: truncated: header says shape (3, 4) float32 = 48 bytes of data, file has 20");
}

TEST_CASE("write_npy reports a failed stream")
{
    std::ostringstream out;
    out.setstate(std::ios::badbit);
    CHECK(error_of([&] { nlm::io::write_npy(out, xt::xtensor<float, 2>({2, 2})); })
          == "write_npy: the output stream failed while writing a (2, 2) array");
}

TEST_CASE("a write that fails midway leaves the previous file untouched")
{
    temp_dir dir;
    const fs::path target = dir / "J.npy";
    nlm::io::save_npy(target, f32_3x4());
    const std::string before = read_bytes(target);

    // More than the writer's buffer, so part of the new contents has reached the disk.
    const auto throwing_writer = [](std::ostream& out) {
        const std::string block(200000, 'x');
        out.write(block.data(), static_cast<std::streamsize>(block.size()));
        throw std::runtime_error("simulated failure");
    };
    CHECK(error_of([&] { nlm::io::write_atomically(target, throwing_writer); })
          == "simulated failure");
    CHECK(read_bytes(target) == before);
    CHECK(dir.entries() == std::vector<std::string>{"J.npy"});

    const auto failing_writer = [](std::ostream& out) {
        out << "partial";
        out.setstate(std::ios::failbit);
    };
    CHECK(error_of([&] { nlm::io::write_atomically(target, failing_writer); })
          == target.string() + ": writing failed: the stream was left in a failed state");
    CHECK(read_bytes(target) == before);
    CHECK(dir.entries() == std::vector<std::string>{"J.npy"});

    nlm::io::save_npy(target, f64_2x3());
    CHECK(read_bytes(target) == read_bytes(fixture("f64_2x3.npy")));
    CHECK(dir.entries() == std::vector<std::string>{"J.npy"});
}

TEST_CASE("a write that cannot complete says where and why, and leaves no temporary file")
{
    temp_dir dir;
    const fs::path missing = dir / "no_such_dir" / "J.npy";
    const std::string error = error_of([&] { nlm::io::save_npy(missing, f32_3x4()); });
    CHECK(error.starts_with(missing.string() + ": cannot create temporary file "
                            + missing.string() + ".tmp."));
    CHECK(error.ends_with(": No such file or directory"));
    CHECK_FALSE(fs::exists(missing.parent_path()));

    // A directory in the way: the rename fails after the data was written and synced.
    const fs::path occupied = dir / "occupied";
    fs::create_directories(occupied / "inside");
    const std::string rename_error = error_of([&] { nlm::io::save_npy(occupied, f32_3x4()); });
    CHECK(rename_error.starts_with(occupied.string() + ": cannot rename " + occupied.string()
                                   + ".tmp."));
    CHECK(rename_error.ends_with(" over it: Is a directory"));
    CHECK(dir.entries() == std::vector<std::string>{"occupied"});
    CHECK(fs::is_directory(occupied / "inside"));
}

}  // TEST_SUITE("npy")
