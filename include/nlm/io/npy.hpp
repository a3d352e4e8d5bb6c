/// @file
/// @brief NumPy `.npy` files for nlm's tensors, so that couplings move freely between nlm and
/// Python: the upstream training script saves its couplings with `np.save` (`J_cupy1.npy`, a
/// float32 784×784 C-order array), and anything nlm saves opens with `np.load`. nlm writes
/// float32 (`'<f4'`) or float64 (`'<f8'`) arrays of any rank in C order; it reads those and
/// the integer and bool arrays a user's data and labels come in (`'|u1'`, `'<i8'`, `'|b1'`,
/// ...), converting each element to the tensor's type (float32 data read as double and vice
/// versa too). Output is byte-identical to what `np.save` (NumPy 1.24) writes for the same
/// array, and whole files are written through write_atomically(). Input accepts format
/// versions 1.0, 2.0 and 3.0 and any dict layout Python's literal syntax allows; every file it
/// cannot read faithfully (big-endian, complex, string or structured data, Fortran order,
/// another rank, too few bytes) throws nlm::io::npy_error with a message that starts with the
/// file's name and says what is wrong.
///
/// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

#pragma once

#include <nlm/io/atomic_file.hpp>
#include <nlm/types.hpp>

#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nlm::io
{

static_assert(std::endian::native == std::endian::little,
              "nlm/io/npy.hpp copies array bytes unchanged and so needs a little-endian host");

/// Thrown for a .npy file or stream that cannot be read as a numeric C-order array.
class npy_error : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The element types nlm reads: floats (what it writes), and the integer and bool types a
/// user's data and labels come in, converted to the tensor's type on reading.
enum class npy_dtype
{
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
    boolean
};

constexpr std::size_t npy_dtype_size(npy_dtype dtype)
{
    switch (dtype)
    {
    case npy_dtype::float64:
    case npy_dtype::int64:
    case npy_dtype::uint64:
        return 8;
    case npy_dtype::float32:
    case npy_dtype::int32:
    case npy_dtype::uint32:
        return 4;
    case npy_dtype::int16:
    case npy_dtype::uint16:
        return 2;
    case npy_dtype::int8:
    case npy_dtype::uint8:
    case npy_dtype::boolean:
        return 1;
    }
    return 0;
}

/// NumPy's name of the type ("float32", "uint8", "bool", ...).
constexpr std::string_view npy_dtype_name(npy_dtype dtype)
{
    switch (dtype)
    {
    case npy_dtype::float32: return "float32";
    case npy_dtype::float64: return "float64";
    case npy_dtype::int8: return "int8";
    case npy_dtype::int16: return "int16";
    case npy_dtype::int32: return "int32";
    case npy_dtype::int64: return "int64";
    case npy_dtype::uint8: return "uint8";
    case npy_dtype::uint16: return "uint16";
    case npy_dtype::uint32: return "uint32";
    case npy_dtype::uint64: return "uint64";
    case npy_dtype::boolean: return "bool";
    }
    return "?";
}

/// Whether values of the type are whole numbers (every type but the floats).
constexpr bool npy_dtype_is_integer(npy_dtype dtype)
{
    return dtype != npy_dtype::float32 && dtype != npy_dtype::float64;
}

template <Scalar S>
inline constexpr npy_dtype npy_dtype_of = std::same_as<S, float> ? npy_dtype::float32
                                                                  : npy_dtype::float64;

/// What a .npy header says about the array that follows it.
struct npy_header
{
    int major_version = 1;
    int minor_version = 0;
    npy_dtype dtype = npy_dtype::float32;
    std::vector<std::size_t> shape;

    std::size_t size() const
    {
        std::size_t count = 1;
        for (const std::size_t extent : shape)
            count *= extent;
        return count;
    }

    std::size_t data_bytes() const { return size() * npy_dtype_size(dtype); }
};

namespace detail
{

inline constexpr std::array<char, 6> npy_magic{'\x93', 'N', 'U', 'M', 'P', 'Y'};

/// NumPy aligns the start of the data to this many bytes (numpy.lib.format.ARRAY_ALIGN).
inline constexpr std::size_t npy_array_align = 64;

/// Spare room NumPy leaves in the header so the first axis can grow in place
/// (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS, NumPy >= 1.24).
inline constexpr std::size_t npy_growth_axis_max_digits = 21;

/// NumPy 1.24 refuses longer headers by default (max_header_size), as protection against
/// files that would make the reader allocate without bound.
inline constexpr std::size_t npy_max_header_size = 10000;

/// The shape as Python prints a tuple: "(784, 784)", "(5,)", "()".
inline std::string python_shape(std::span<const std::size_t> shape)
{
    std::string text = "(";
    for (std::size_t i = 0; i < shape.size(); ++i)
    {
        if (i > 0)
            text += ", ";
        text += std::to_string(shape[i]);
    }
    if (shape.size() == 1)
        text += ",";
    return text + ")";
}

/// Magic, version, header length and the padded header dict, exactly as
/// numpy.lib.format.write_array writes them (keys sorted, trailing ", ", growth room, space
/// padding to the alignment ended by '\n', version 2.0 only if 1.0's 16-bit length overflows).
inline std::string npy_header_bytes(npy_dtype dtype, std::span<const std::size_t> shape)
{
    std::string dict = std::string("{'descr': '")
                       + (dtype == npy_dtype::float32 ? "<f4" : "<f8")
                       + "', 'fortran_order': False, 'shape': " + python_shape(shape) + ", }";
    if (!shape.empty())
        dict.append(npy_growth_axis_max_digits - std::to_string(shape[0]).size(), ' ');

    const std::size_t text_bytes = dict.size() + 1;
    const auto padding = [&](std::size_t length_field_bytes) {
        return npy_array_align
               - (npy_magic.size() + 2 + length_field_bytes + text_bytes) % npy_array_align;
    };
    const bool version_1 = text_bytes + padding(2) <= 0xFFFF;
    const std::size_t length_field_bytes = version_1 ? 2 : 4;
    const std::size_t header_length = text_bytes + padding(length_field_bytes);

    std::string bytes(npy_magic.begin(), npy_magic.end());
    bytes += static_cast<char>(version_1 ? 1 : 2);
    bytes += '\0';
    for (std::size_t i = 0; i < length_field_bytes; ++i)
        bytes += static_cast<char>((header_length >> (8 * i)) & 0xFF);
    bytes += dict;
    bytes.append(header_length - text_bytes, ' ');
    bytes += '\n';
    return bytes;
}

/// Recursive-descent reader for the header dict, a Python literal: only the value forms a
/// .npy header uses (strings, True/False, tuples of integers) are understood.
class npy_header_parser
{
public:
    npy_header_parser(std::string_view text, const std::string& name) : text_(text), name_(name)
    {
    }

    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<std::size_t>> shape;

    void parse_dict()
    {
        expect('{', "'{' opening the header dict");
        while (!consume('}'))
        {
            const std::size_t key_start = position_;
            const std::string key = parse_string("a quoted key");
            if ((key == "descr" && descr) || (key == "fortran_order" && fortran_order)
                || (key == "shape" && shape))
            {
                position_ = key_start;
                fail("duplicate key '" + key + "'");
            }
            expect(':', "':' after '" + key + "'");
            if (key == "descr")
                descr = parse_descr();
            else if (key == "fortran_order")
                fortran_order = parse_bool();
            else if (key == "shape")
                shape = parse_shape();
            else
                throw npy_error(name_ + ": .npy header has unexpected key '" + key
                                + "' (expected 'descr', 'fortran_order' and 'shape')");
            if (!consume(','))
            {
                expect('}', "',' or '}' after the value of '" + key + "'");
                break;
            }
        }
        skip_space();
        if (position_ != text_.size())
            fail("text after the closing '}'");
    }

private:
    [[noreturn]] void fail(const std::string& problem) const
    {
        std::string_view shown = text_;
        while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n'))
            shown.remove_suffix(1);
        throw npy_error(name_ + ": malformed .npy header: " + problem + " at column "
                        + std::to_string(position_ + 1) + " of " + std::string(shown));
    }

    void skip_space()
    {
        while (position_ < text_.size()
               && (text_[position_] == ' ' || text_[position_] == '\t'
                   || text_[position_] == '\n' || text_[position_] == '\r'))
            ++position_;
    }

    char peek()
    {
        skip_space();
        return position_ < text_.size() ? text_[position_] : '\0';
    }

    bool consume(char c)
    {
        if (peek() != c)
            return false;
        ++position_;
        return true;
    }

    void expect(char c, const std::string& what)
    {
        if (!consume(c))
            fail("expected " + what);
    }

    std::string parse_string(const std::string& what)
    {
        const char quote = peek();
        if (quote != '\'' && quote != '"')
            fail("expected " + what);
        const std::size_t end = text_.find(quote, position_ + 1);
        if (end == std::string_view::npos)
            fail("unterminated string");
        const std::string_view value = text_.substr(position_ + 1, end - position_ - 1);
        if (value.find('\\') != std::string_view::npos)
            fail("escape sequences are not supported");
        position_ = end + 1;
        return std::string(value);
    }

    std::string parse_descr()
    {
        const char next = peek();
        if (next == '[' || next == '{')
            throw npy_error(name_
                            + ": structured dtypes are not supported (expected a float, integer or bool dtype)");
        return parse_string("a quoted dtype after 'descr'");
    }

    bool parse_bool()
    {
        skip_space();
        for (const auto& [word, value] : {std::pair{std::string_view("True"), true},
                                          std::pair{std::string_view("False"), false}})
            if (text_.substr(position_, word.size()) == word)
            {
                position_ += word.size();
                return value;
            }
        fail("expected True or False after 'fortran_order'");
    }

    std::vector<std::size_t> parse_shape()
    {
        expect('(', "a tuple after 'shape'");
        const std::size_t start = position_ - 1;
        std::vector<std::size_t> extents;
        bool trailing_comma = false;
        while (!consume(')'))
        {
            extents.push_back(parse_extent());
            trailing_comma = consume(',');
            if (!trailing_comma)
            {
                expect(')', "',' or ')' in the shape");
                break;
            }
        }
        // In Python "(5)" is the integer 5, not a tuple; NumPy rejects it too.
        if (extents.size() == 1 && !trailing_comma)
        {
            position_ = start;
            fail("a one-element shape needs a trailing comma, as in (5,)");
        }
        return extents;
    }

    std::size_t parse_extent()
    {
        skip_space();
        const std::size_t start = position_;
        std::size_t value = 0;
        while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9')
        {
            const auto digit = static_cast<std::size_t>(text_[position_] - '0');
            if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10)
                fail("dimension too large");
            value = value * 10 + digit;
            ++position_;
        }
        if (position_ == start)
            fail("expected a non-negative integer in the shape");
        // Python 2 wrote long integers as "3L".
        if (position_ < text_.size() && text_[position_] == 'L')
            ++position_;
        return value;
    }

    std::string_view text_;
    const std::string& name_;
    std::size_t position_ = 0;
};

inline npy_dtype dtype_from_descr(const std::string& descr, const std::string& name)
{
    static constexpr std::string_view expected =
        "(expected a float, integer or bool dtype: '<f4', '<f8', '|i1' to '<i8', '|u1' to "
        "'<u8', '|b1')";
    if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '=' || descr[0] == '|' || descr[0] == '>'))
    {
        const char kind = descr[1];
        const char size = descr[2];
        std::optional<npy_dtype> dtype;
        if (kind == 'f' && size == '4')
            dtype = npy_dtype::float32;
        else if (kind == 'f' && size == '8')
            dtype = npy_dtype::float64;
        else if (kind == 'b' && size == '1')
            dtype = npy_dtype::boolean;
        else if (kind == 'i' || kind == 'u')
        {
            constexpr std::array<npy_dtype, 4> signed_types{npy_dtype::int8, npy_dtype::int16,
                                                            npy_dtype::int32, npy_dtype::int64};
            constexpr std::array<npy_dtype, 4> unsigned_types{
                npy_dtype::uint8, npy_dtype::uint16, npy_dtype::uint32, npy_dtype::uint64};
            const auto& types = kind == 'i' ? signed_types : unsigned_types;
            for (std::size_t k = 0; k < types.size(); ++k)
                if (size == "1248"[k])
                    dtype = types[k];
        }
        // '=' is native order and '|' "not applicable"; both are little-endian here, and a
        // one-byte type has no byte order at all.
        if (dtype && descr[0] == '>' && npy_dtype_size(*dtype) > 1)
            throw npy_error(name + ": dtype '" + descr
                            + "' is not supported (big-endian; save it little-endian, as with "
                              "a.astype('<" + descr.substr(1) + "'))");
        if (dtype)
            return *dtype;
    }
    throw npy_error(name + ": dtype '" + descr + "' is not supported " + std::string(expected));
}

inline std::uint32_t little_endian(const unsigned char* bytes, std::size_t count)
{
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < count; ++i)
        value |= std::uint32_t{bytes[i]} << (8 * i);
    return value;
}

[[noreturn]] inline void throw_truncated(const std::string& name, const npy_header& header,
                                         std::size_t available)
{
    throw npy_error(name + ": truncated: header says shape " + python_shape(header.shape) + " "
                    + std::string(npy_dtype_name(header.dtype)) + " = "
                    + std::to_string(header.data_bytes()) + " bytes of data, file has "
                    + std::to_string(available));
}

/// Bytes left in a seekable stream, so a header promising more than is there fails before the
/// tensor is allocated; nullopt for streams that cannot tell (pipes).
inline std::optional<std::size_t> bytes_remaining(std::istream& in)
{
    const std::istream::pos_type here = in.tellg();
    if (here == std::istream::pos_type(-1))
        return std::nullopt;
    in.seekg(0, std::ios::end);
    const std::istream::pos_type end = in.tellg();
    in.seekg(here);
    if (end == std::istream::pos_type(-1) || !in)
    {
        in.clear();
        in.seekg(here);
        return std::nullopt;
    }
    return static_cast<std::size_t>(end - here);
}

/// Reads `header.size()` stored elements into `out`, converting when the stored type differs.
template <class Stored, Scalar S>
void read_elements(std::istream& in, const std::string& name, const npy_header& header, S* out)
{
    const std::size_t count = header.size();
    if constexpr (std::same_as<Stored, S>)
    {
        in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(count * sizeof(S)));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got != count * sizeof(S))
            throw_truncated(name, header, got);
    }
    else
    {
        // Converted in blocks: a whole-array staging copy would double peak memory.
        constexpr std::size_t block = std::size_t{1} << 16;
        const auto buffer = std::make_unique_for_overwrite<Stored[]>(std::min(block, count));
        for (std::size_t done = 0; done < count;)
        {
            const std::size_t n = std::min(block, count - done);
            in.read(reinterpret_cast<char*>(buffer.get()),
                    static_cast<std::streamsize>(n * sizeof(Stored)));
            const auto got = static_cast<std::size_t>(in.gcount());
            if (got != n * sizeof(Stored))
                throw_truncated(name, header, done * sizeof(Stored) + got);
            std::transform(buffer.get(), buffer.get() + n, out + done,
                           [](Stored value) { return static_cast<S>(value); });
            done += n;
        }
    }
}

/// read_elements for the stored type the header names. Bools read as 0 and 1.
template <Scalar S>
void read_any_elements(std::istream& in, const std::string& name, const npy_header& header, S* out)
{
    switch (header.dtype)
    {
    case npy_dtype::float32: return read_elements<float>(in, name, header, out);
    case npy_dtype::float64: return read_elements<double>(in, name, header, out);
    case npy_dtype::int8: return read_elements<std::int8_t>(in, name, header, out);
    case npy_dtype::int16: return read_elements<std::int16_t>(in, name, header, out);
    case npy_dtype::int32: return read_elements<std::int32_t>(in, name, header, out);
    case npy_dtype::int64: return read_elements<std::int64_t>(in, name, header, out);
    case npy_dtype::uint8:
    case npy_dtype::boolean: break;
    case npy_dtype::uint16: return read_elements<std::uint16_t>(in, name, header, out);
    case npy_dtype::uint32: return read_elements<std::uint32_t>(in, name, header, out);
    case npy_dtype::uint64: return read_elements<std::uint64_t>(in, name, header, out);
    }
    read_elements<std::uint8_t>(in, name, header, out);
    if (header.dtype == npy_dtype::boolean)  // NumPy writes 0 and 1; any other byte is true
        std::transform(out, out + header.size(), out, [](S v) { return v != S(0) ? S(1) : S(0); });
}

}  // namespace detail

/// Reads a .npy header from `in`, leaving the stream at the first data byte.
/// @param in the stream, at the start of the file.
/// @param name_for_errors what messages call the source, usually the file's path.
/// @throws npy_error for anything but a float, integer or bool C-order array in format 1.0–3.0.
inline npy_header read_npy_header(std::istream& in, const std::string& name_for_errors)
{
    const std::string& name = name_for_errors;
    std::array<unsigned char, 8> preamble{};
    in.read(reinterpret_cast<char*>(preamble.data()), preamble.size());
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0)
        throw npy_error(name + ": not a .npy file (empty)");
    if (!std::equal(preamble.begin(), preamble.begin() + std::min(got, detail::npy_magic.size()),
                    detail::npy_magic.begin(),
                    [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); }))
        throw npy_error(name + ": not a .npy file (bad magic)");
    const std::string truncated_header = name + ": truncated: file ends inside the .npy header";
    if (got < preamble.size())
        throw npy_error(truncated_header);

    npy_header header;
    header.major_version = preamble[6];
    header.minor_version = preamble[7];
    if (header.major_version < 1 || header.major_version > 3 || header.minor_version != 0)
        throw npy_error(name + ": .npy format version " + std::to_string(header.major_version)
                        + "." + std::to_string(header.minor_version)
                        + " is not supported (expected 1.0, 2.0 or 3.0)");

    // Version 1.0 has a 16-bit header length, 2.0 and 3.0 (UTF-8 text) a 32-bit one.
    const std::size_t length_field_bytes = header.major_version == 1 ? 2 : 4;
    std::array<unsigned char, 4> length_field{};
    in.read(reinterpret_cast<char*>(length_field.data()),
            static_cast<std::streamsize>(length_field_bytes));
    if (static_cast<std::size_t>(in.gcount()) != length_field_bytes)
        throw npy_error(truncated_header);
    const std::size_t header_length = detail::little_endian(length_field.data(),
                                                            length_field_bytes);
    if (header_length > detail::npy_max_header_size)
        throw npy_error(name + ": .npy header of " + std::to_string(header_length)
                        + " bytes is longer than the " + std::to_string(detail::npy_max_header_size)
                        + " NumPy accepts");
    std::string text(header_length, '\0');
    in.read(text.data(), static_cast<std::streamsize>(header_length));
    if (static_cast<std::size_t>(in.gcount()) != header_length)
        throw npy_error(truncated_header);

    detail::npy_header_parser parser(text, name);
    parser.parse_dict();
    for (const auto& [present, key] : {std::pair{parser.descr.has_value(), "descr"},
                                       std::pair{parser.fortran_order.has_value(), "fortran_order"},
                                       std::pair{parser.shape.has_value(), "shape"}})
        if (!present)
            throw npy_error(name + ": .npy header lacks the key '" + key + "'");
    header.dtype = detail::dtype_from_descr(*parser.descr, name);
    if (*parser.fortran_order)
        throw npy_error(name
                        + ": fortran_order True is not supported (expected a C-order array)");
    header.shape = std::move(*parser.shape);

    // Overflow here would let a corrupt shape pass the size checks with a wrapped-around count.
    constexpr auto max_bytes = static_cast<std::size_t>(std::numeric_limits<std::streamsize>::max());
    std::size_t bytes = npy_dtype_size(header.dtype);
    for (const std::size_t extent : header.shape)
    {
        if (extent != 0 && bytes > max_bytes / extent)
            throw npy_error(name + ": shape " + detail::python_shape(header.shape)
                            + " is too large to address");
        bytes *= extent;
    }
    return header;
}

/// The header of the .npy file at `path`: its dtype and shape, without loading the data.
inline npy_header read_npy_header(const std::filesystem::path& path)
{
    std::ifstream in = open_for_reading(path);
    return read_npy_header(in, path.string());
}

/// Reads one array from `in` (for instance one embedded in a checkpoint), leaving the stream
/// just past its data. Float32 data read as double and vice versa is converted element by
/// element (float64 values beyond float's range become ±inf).
/// @throws npy_error naming `name_for_errors` for a header read_npy_header() rejects, a rank
///         other than `N`, or fewer data bytes than the header promises.
template <Scalar S, std::size_t N>
xt::xtensor<S, N> read_npy(std::istream& in, const std::string& name_for_errors)
{
    const std::string& name = name_for_errors;
    const npy_header header = read_npy_header(in, name);
    if (header.shape.size() != N)
        throw npy_error(name + ": shape " + detail::python_shape(header.shape) + " has rank "
                        + std::to_string(header.shape.size()) + ", expected rank "
                        + std::to_string(N));
    if (const auto available = detail::bytes_remaining(in);
        available && *available < header.data_bytes())
        detail::throw_truncated(name, header, *available);

    typename xt::xtensor<S, N, xt::layout_type::row_major>::shape_type shape{};
    std::copy(header.shape.begin(), header.shape.end(), shape.begin());
    xt::xtensor<S, N, xt::layout_type::row_major> array(shape);
    if (header.size() > 0)
    {
        detail::read_any_elements(in, name, header, array.data());
    }
    return xt::xtensor<S, N>(std::move(array));
}

/// Writes `array` to `out` as a complete .npy image (header and data), byte-identical to
/// `np.save` of the same array.
/// @throws npy_error when the stream fails.
template <Scalar S, std::size_t N, xt::layout_type L>
void write_npy(std::ostream& out, const xt::xtensor<S, N, L>& array)
{
    if constexpr (L != xt::layout_type::row_major)
    {
        write_npy(out, xt::xtensor<S, N, xt::layout_type::row_major>(array));
    }
    else
    {
        const std::vector<std::size_t> shape(array.shape().begin(), array.shape().end());
        const std::string header = detail::npy_header_bytes(npy_dtype_of<S>, shape);
        out.write(header.data(), static_cast<std::streamsize>(header.size()));
        if (array.size() > 0)
            out.write(reinterpret_cast<const char*>(array.data()),
                      static_cast<std::streamsize>(array.size() * sizeof(S)));
        if (!out)
            throw npy_error("write_npy: the output stream failed while writing a "
                            + detail::python_shape(shape) + " array");
    }
}

/// Saves `array` as the .npy file `path`, atomically (see write_atomically()).
template <Scalar S, std::size_t N, xt::layout_type L>
void save_npy(const std::filesystem::path& path, const xt::xtensor<S, N, L>& array)
{
    write_atomically(path, [&](std::ostream& out) { write_npy(out, array); });
}

/// Loads the rank-`N` array in the .npy file `path` as `S`, converting from the stored type.
/// @throws std::runtime_error "<path>: cannot open for reading: <reason>", or npy_error as
///         read_npy().
template <Scalar S, std::size_t N>
xt::xtensor<S, N> load_npy(const std::filesystem::path& path)
{
    std::ifstream in = open_for_reading(path);
    return read_npy<S, N>(in, path.string());
}

/// Loads a 2-D .npy file, e.g. couplings saved by the upstream script (`J_cupy1.npy`).
template <Scalar S>
Matrix<S> load_npy_matrix(const std::filesystem::path& path)
{
    return load_npy<S, 2>(path);
}

/// Loads a 1-D .npy file.
template <Scalar S>
Vector<S> load_npy_vector(const std::filesystem::path& path)
{
    return load_npy<S, 1>(path);
}

}  // namespace nlm::io
