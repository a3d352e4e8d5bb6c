/// @file
/// @brief Turns IDX image/label files into the training data of a Neural Langevin Machine:
/// keeps the images of the chosen classes (by default the digits 1, 3 and 6 of the paper),
/// optionally only the first few of them, possibly gathered from several files in turn (MNIST
/// train then test for the paper preset's 18 000 images), and maps each pixel byte
/// \f$p \in \{0,\dots,255\}\f$ to a neuron state \f$x = 2\,p/255 - 1 \in [-1, 1]\f$. States are
/// rows, as everywhere in nlm: image \f$i\f$ is row \f$i\f$ of a (count, rows·cols) tensor,
/// its pixels in row-major order.

#pragma once

#include <nlm/data/idx.hpp>

#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace nlm::data
{

/// Paths of an idx3 image file and the idx1 label file that goes with it.
struct idx_files
{
    std::filesystem::path images;
    std::filesystem::path labels;
};

/// Which images to keep.
struct selection
{
    /// Labels to keep; empty keeps every class (e.g. all of Fashion-MNIST).
    std::vector<std::uint8_t> classes{1, 3, 6};
    /// Keep at most this many, the first ones in file order (files in the order given):
    /// the data set stays reproducible without a random engine. Fewer are returned when the
    /// files hold fewer, so callers needing an exact count must check `count()`.
    std::optional<std::size_t> limit;
};

/// Selected images as neuron states, with their labels.
template <std::floating_point Scalar = double>
struct dataset
{
    /// Shape (count, rows * cols): one image per row, pixels mapped to [-1, 1].
    xt::xtensor<Scalar, 2> x;
    /// labels[i] is the class of row i of x (0 for every row of unlabelled data).
    std::vector<std::uint8_t> labels;
    /// The image shape of a row; 0 x 0 when rows are not images (a user's vectors).
    std::size_t rows = 0;
    std::size_t cols = 0;
    /// False for data that came without labels (a user's .npy matrix alone).
    bool labelled = true;
    /// How values became states, as a sentence ("bytes: x = 2v/255 - 1").
    std::string rule = "bytes: x = 2v/255 - 1";

    std::size_t count() const { return labels.size(); }
};

/// \f$x = 2\,p/255 - 1\f$: background 0 becomes -1 and full ink 255 becomes +1 exactly.
template <std::floating_point Scalar>
constexpr Scalar pixel_to_state(std::uint8_t pixel)
{
    return Scalar(2) * (Scalar(pixel) / Scalar(255)) - Scalar(1);
}

/// The usual file names of a data set with a train and a test part (MNIST, Fashion-MNIST):
/// train first, then t10k, both gzipped, as the paper preset concatenates them.
inline std::vector<idx_files> train_and_test_files(const std::filesystem::path& dir)
{
    return {{dir / "train-images-idx3-ubyte.gz", dir / "train-labels-idx1-ubyte.gz"},
            {dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz"}};
}

namespace detail
{

/// Bytes and labels of the images kept so far; mapping to Scalar waits until the end so that
/// only one copy of the selection is ever held in floating point.
struct selected_bytes
{
    std::vector<std::uint8_t> pixels;
    std::vector<std::uint8_t> labels;
    std::size_t rows = 0;
    std::size_t cols = 0;
};

inline std::array<bool, 256> class_mask(const selection& which)
{
    std::array<bool, 256> keep{};
    if (which.classes.empty())
        keep.fill(true);
    for (const std::uint8_t c : which.classes)
        keep[c] = true;
    return keep;
}

inline void append_selected(selected_bytes& out, const labelled_images& source,
                            const std::array<bool, 256>& keep, std::optional<std::size_t> limit)
{
    const std::size_t size = source.images.rows * source.images.cols;
    for (std::size_t i = 0; i < source.images.count; ++i)
    {
        if (limit && out.labels.size() >= *limit)
            return;
        if (!keep[source.labels[i]])
            continue;
        const auto first = source.images.pixels.begin() + static_cast<std::ptrdiff_t>(i * size);
        out.pixels.insert(out.pixels.end(), first, first + static_cast<std::ptrdiff_t>(size));
        out.labels.push_back(source.labels[i]);
    }
}

template <std::floating_point Scalar>
dataset<Scalar> to_states(selected_bytes&& bytes)
{
    std::array<Scalar, 256> table{};
    for (std::size_t p = 0; p < table.size(); ++p)
        table[p] = pixel_to_state<Scalar>(static_cast<std::uint8_t>(p));
    dataset<Scalar> result;
    result.rows = bytes.rows;
    result.cols = bytes.cols;
    result.x = xt::xtensor<Scalar, 2>::from_shape({bytes.labels.size(), bytes.rows * bytes.cols});
    std::transform(bytes.pixels.begin(), bytes.pixels.end(), result.x.begin(),
                   [&table](std::uint8_t p) { return table[p]; });
    result.labels = std::move(bytes.labels);
    return result;
}

} // namespace detail

/// Keeps the images of `which.classes` (at most `which.limit`) from an image/label pair.
template <std::floating_point Scalar = double>
dataset<Scalar> select_images(const labelled_images& source, const selection& which = {})
{
    detail::selected_bytes bytes;
    bytes.rows = source.images.rows;
    bytes.cols = source.images.cols;
    detail::append_selected(bytes, source, detail::class_mask(which), which.limit);
    return detail::to_states<Scalar>(std::move(bytes));
}

/// Reads each image/label pair in turn and keeps the selected images of all of them, in
/// order; files after the one that reaches `which.limit` are not read.
/// @throws idx_error if a file is bad, a pair's counts differ, or the files' images do not
///         all have the same size.
template <std::floating_point Scalar = double>
dataset<Scalar> load_dataset(std::span<const idx_files> files, const selection& which = {})
{
    const auto keep = detail::class_mask(which);
    detail::selected_bytes bytes;
    std::filesystem::path first_images;
    for (const idx_files& pair : files)
    {
        if (which.limit && bytes.labels.size() >= *which.limit)
            break;
        const labelled_images source = read_idx_pair(pair.images, pair.labels);
        if (first_images.empty())
        {
            first_images = pair.images;
            bytes.rows = source.images.rows;
            bytes.cols = source.images.cols;
        }
        else if (source.images.rows != bytes.rows || source.images.cols != bytes.cols)
            throw idx_error("cannot concatenate " + pair.images.string() + " ("
                            + std::to_string(source.images.rows) + "x"
                            + std::to_string(source.images.cols) + " images) with "
                            + first_images.string() + " (" + std::to_string(bytes.rows) + "x"
                            + std::to_string(bytes.cols) + " images)");
        detail::append_selected(bytes, source, keep, which.limit);
    }
    return detail::to_states<Scalar>(std::move(bytes));
}

/// load_dataset for a single image/label pair.
template <std::floating_point Scalar = double>
dataset<Scalar> load_dataset(const idx_files& files, const selection& which = {})
{
    return load_dataset<Scalar>(std::span<const idx_files>(&files, 1), which);
}

} // namespace nlm::data
