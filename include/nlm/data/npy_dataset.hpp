/// @file
/// @brief A user's own data as training data: a `.npy` matrix (one sample per row, any width,
/// or a stack of images of shape (count, height, width)), of any float, integer or bool dtype,
/// with optional labels in a second `.npy` (one whole number 0–255 per sample). Values are
/// mapped to neuron states by a stated rule (value_rule), chosen by the caller or, by default,
/// from the data's dtype and range; the result says which rule it applied, so that a program
/// can print it. Rows are kept in file order, optionally only those of some classes and only
/// the first few, as load_dataset() keeps IDX images.
///
/// Every file it cannot use (not a .npy, another rank, a non-finite value, values outside the
/// chosen rule's range, labels that are not whole numbers 0–255 or not one per sample) throws
/// npy_error or std::invalid_argument with a sentence that names the file and the problem.

#pragma once

#include <nlm/data/dataset.hpp>
#include <nlm/io/npy.hpp>

#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nlm::data
{

/// How data values v become neuron states x (the model's states live around [-1, 1], where
/// tanh is not saturated; IDX pixels use `bytes`).
enum class value_rule
{
    /// `bytes` for uint8 data and for integer data within 0–255, `unit` for bool data and
    /// data within [0, 1], `symmetric` for data within [-1, 1], else `min_max`.
    automatic,
    bytes,     ///< x = 2v/255 - 1, v in [0, 255] (as IDX pixels)
    unit,      ///< x = 2v - 1, v in [0, 1]
    symmetric, ///< x = v, v in [-1, 1]
    min_max,   ///< x = 2(v - min)/(max - min) - 1 over the whole matrix (min < max)
    raw        ///< x = v, any finite value
};

/// The rule's name as programs spell it: "auto", "bytes", "unit", "symmetric", "minmax", "raw".
constexpr std::string_view value_rule_name(value_rule rule)
{
    switch (rule)
    {
    case value_rule::automatic: return "auto";
    case value_rule::bytes: return "bytes";
    case value_rule::unit: return "unit";
    case value_rule::symmetric: return "symmetric";
    case value_rule::min_max: return "minmax";
    case value_rule::raw: return "raw";
    }
    return "?";
}

/// The rule named `name` (value_rule_name's spelling).
/// @throws std::invalid_argument naming the rules there are.
inline value_rule parse_value_rule(std::string_view name)
{
    for (const value_rule r : {value_rule::automatic, value_rule::bytes, value_rule::unit,
                               value_rule::symmetric, value_rule::min_max, value_rule::raw})
        if (name == value_rule_name(r))
            return r;
    throw std::invalid_argument("unknown value rule '" + std::string(name)
                                + "' (use auto, bytes, unit, symmetric, minmax or raw)");
}

/// A user's data files and how to read them.
struct npy_source
{
    /// The samples: rank 2 (count, width) or rank 3 (count, height, width).
    std::filesystem::path data;
    /// Optional labels: rank 1, one whole number 0–255 per sample. Empty: unlabelled.
    std::filesystem::path labels;
    value_rule rule = value_rule::automatic;
    /// The samples' image shape when a row is an image; 0 × 0: a rank-3 file's own, else a
    /// square when the width is one (784 = 28 × 28), else none (rows are drawn as plots).
    std::size_t image_rows = 0;
    std::size_t image_cols = 0;
};

namespace detail
{

/// The rule `automatic` picks for data of `dtype` whose values span [low, high].
inline value_rule automatic_rule(io::npy_dtype dtype, double low, double high)
{
    if (dtype == io::npy_dtype::uint8)
        return value_rule::bytes;
    if (low >= 0 && high <= 1)
        return value_rule::unit;  // bools too
    if (low >= -1 && high <= 1)
        return value_rule::symmetric;
    if (io::npy_dtype_is_integer(dtype) && low >= 0 && high <= 255)
        return value_rule::bytes;
    return value_rule::min_max;
}

inline std::string number_text(double v)
{
    std::ostringstream s;
    s.precision(9);
    s << v;
    return s.str();
}

/// The sentence a dataset carries for the rule applied.
inline std::string rule_text(value_rule rule, double low, double high)
{
    switch (rule)
    {
    case value_rule::bytes: return "bytes: x = 2v/255 - 1";
    case value_rule::unit: return "unit: x = 2v - 1";
    case value_rule::symmetric: return "symmetric: x = v";
    case value_rule::min_max:
        return "minmax: x = 2"
               + (low == 0 ? std::string("v")
                           : "(v " + std::string(low < 0 ? "+ " : "- ") + number_text(std::abs(low)) + ")")
               + "/" + number_text(high - low) + " - 1";
    case value_rule::raw: return "raw: x = v";
    case value_rule::automatic: break;
    }
    return "?";
}

inline std::string image_shape_text(std::size_t rows, std::size_t cols)
{
    return std::to_string(rows) + "x" + std::to_string(cols);
}

} // namespace detail

/// Reads the samples (and labels) of `source`, keeps those of `which.classes` (empty: all;
/// classes need labels) up to `which.limit`, and maps their values to states by
/// `source.rule`. The dataset's `rule` says which rule was applied, with the numbers of
/// `min_max`; unlabelled data has `labelled` false and label 0 for every row.
/// @throws io::npy_error for a file that is not a readable numeric .npy of the right rank;
///         std::invalid_argument for a non-finite value, a value outside the rule's range,
///         bad labels, a class selection without labels, or an image shape that does not fit.
template <std::floating_point Scalar = double>
dataset<Scalar> load_npy_dataset(const npy_source& source, const selection& which = {})
{
    const std::string name = source.data.string();
    const io::npy_header header = io::read_npy_header(source.data);
    const auto& shape = header.shape;
    if (shape.size() != 2 && shape.size() != 3)
        throw io::npy_error(name + ": shape " + io::detail::python_shape(shape)
                            + " is not (samples, width) or (samples, height, width)");
    const std::size_t count = shape[0];
    const std::size_t width = shape.size() == 2 ? shape[1] : shape[1] * shape[2];
    if (count == 0 || width == 0)
        throw io::npy_error(name + ": shape " + io::detail::python_shape(shape) + " holds no values");

    // The image shape: given, the file's own, a square, or none.
    dataset<Scalar> out;
    if (source.image_rows != 0 || source.image_cols != 0)
    {
        if (source.image_rows * source.image_cols != width
            || (shape.size() == 3 && (source.image_rows != shape[1] || source.image_cols != shape[2])))
            throw std::invalid_argument(
                name + ": the image shape "
                + detail::image_shape_text(source.image_rows, source.image_cols) + " does not fit "
                + (shape.size() == 3 ? "its images of " + detail::image_shape_text(shape[1], shape[2])
                                     : "rows of " + std::to_string(width) + " values"));
        out.rows = source.image_rows;
        out.cols = source.image_cols;
    }
    else if (shape.size() == 3)
    {
        out.rows = shape[1];
        out.cols = shape[2];
    }
    else if (const auto side = static_cast<std::size_t>(std::llround(std::sqrt(double(width))));
             side * side == width)
    {
        out.rows = side;
        out.cols = side;
    }

    // Labels first: a bad labels file fails before the data is read.
    std::vector<std::uint8_t> labels;
    if (!source.labels.empty())
    {
        const std::string lname = source.labels.string();
        const auto l = io::load_npy<double, 1>(source.labels);
        if (l.size() != count)
            throw std::invalid_argument(lname + ": " + std::to_string(l.size()) + " labels for the "
                                        + std::to_string(count) + " samples of " + name);
        labels.reserve(count);
        for (std::size_t i = 0; i < count; ++i)
        {
            if (!(l(i) >= 0 && l(i) <= 255 && l(i) == std::floor(l(i))))
                throw std::invalid_argument(lname + ": the label of sample " + std::to_string(i) + " is "
                                            + detail::number_text(l(i))
                                            + ", not a whole number from 0 to 255");
            labels.push_back(static_cast<std::uint8_t>(l(i)));
        }
    }
    else if (!which.classes.empty())
        throw std::invalid_argument(name + ": cannot keep only some classes of data without labels "
                                    "(give a labels .npy, or keep every class)");

    // The rows kept, in file order.
    const auto keep = detail::class_mask(which);
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < count && (!which.limit || rows.size() < *which.limit); ++i)
        if (labels.empty() || keep[labels[i]])
            rows.push_back(i);

    xt::xtensor<Scalar, 2> all = xt::xtensor<Scalar, 2>::from_shape({count, width});
    {
        std::ifstream in = io::open_for_reading(source.data);
        const io::npy_header h = io::read_npy_header(in, name);
        io::detail::read_any_elements(in, name, h, all.data());
    }
    if (rows.size() == count)
        out.x = std::move(all);
    else
    {
        out.x = xt::xtensor<Scalar, 2>::from_shape({rows.size(), width});
        for (std::size_t r = 0; r < rows.size(); ++r)
            std::copy_n(all.data() + rows[r] * width, width, out.x.data() + r * width);
    }
    out.labelled = !labels.empty();
    for (const std::size_t r : rows)
        out.labels.push_back(labels.empty() ? std::uint8_t{0} : labels[r]);

    // Range of the rows kept, and the first value that is not finite.
    double low = 0, high = 0;
    for (std::size_t k = 0; k < out.x.size(); ++k)
    {
        const double v = double(out.x.data()[k]);
        if (!std::isfinite(v))
            throw std::invalid_argument(name + ": sample " + std::to_string(rows[k / width]) + ", value "
                                        + std::to_string(k % width) + " is " + detail::number_text(v)
                                        + " (every value must be finite)");
        if (k == 0 || v < low)
            low = v;
        if (k == 0 || v > high)
            high = v;
    }
    const value_rule rule = source.rule == value_rule::automatic
                                ? detail::automatic_rule(header.dtype, low, high)
                                : source.rule;
    const auto require_within = [&](double a, double b) {
        if (out.x.size() > 0 && (low < a || high > b))
            throw std::invalid_argument(name + ": values span [" + detail::number_text(low) + ", "
                                        + detail::number_text(high) + "], outside the ["
                                        + detail::number_text(a) + ", " + detail::number_text(b)
                                        + "] of the value rule '"
                                        + std::string(value_rule_name(rule))
                                        + "' (use minmax to rescale, or raw to keep them)");
    };
    switch (rule)
    {
    case value_rule::bytes:
        require_within(0, 255);
        for (auto& v : out.x)
            v = Scalar(2) * (v / Scalar(255)) - Scalar(1);
        break;
    case value_rule::unit:
        require_within(0, 1);
        for (auto& v : out.x)
            v = Scalar(2) * v - Scalar(1);
        break;
    case value_rule::symmetric: require_within(-1, 1); break;
    case value_rule::min_max:
        if (out.x.size() > 0 && !(high > low))
            throw std::invalid_argument(name + ": every value is " + detail::number_text(low)
                                        + ", so the value rule 'minmax' has no range to map");
        for (auto& v : out.x)
            v = Scalar(2 * ((double(v) - low) / (high - low)) - 1);
        break;
    case value_rule::raw:
    case value_rule::automatic: break;
    }
    out.rule = detail::rule_text(rule, low, high);
    return out;
}

} // namespace nlm::data
