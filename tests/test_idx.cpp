#include <nlm/data/dataset.hpp>
#include <nlm/data/idx.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace
{

namespace fs = std::filesystem;
using namespace nlm::data;

const fs::path fixtures = fs::path(NLM_TEST_FIXTURES) / "idx";

std::string fixture(const char* name) { return (fixtures / name).string(); }

// Same formula as make_fixtures.py: 6 images of 3x2, labels 1 3 6 0 1 6.
constexpr std::size_t fixture_count = 6, fixture_rows = 3, fixture_cols = 2;
const std::vector<std::uint8_t> fixture_labels{1, 3, 6, 0, 1, 6};

std::uint8_t fixture_pixel(std::size_t image, std::size_t index)
{
    if (image == fixture_count - 1 && index == fixture_rows * fixture_cols - 1)
        return 255;
    return static_cast<std::uint8_t>((37 * image + 11 * index) % 256);
}

template <class F>
std::string idx_error_of(F&& f)
{
    try
    {
        f();
    }
    catch (const idx_error& e)
    {
        return e.what();
    }
    return "no idx_error thrown";
}

std::array<std::size_t, 256> histogram(const std::vector<std::uint8_t>& labels)
{
    std::array<std::size_t, 256> counts{};
    for (const std::uint8_t label : labels)
        ++counts[label];
    return counts;
}

} // namespace

TEST_SUITE("idx")
{
    TEST_CASE("reads a plain idx3 image file")
    {
        const images im = read_idx_images(fixture("good-images-idx3-ubyte"));
        CHECK(im.count == fixture_count);
        CHECK(im.rows == fixture_rows);
        CHECK(im.cols == fixture_cols);
        REQUIRE(im.pixels.size() == fixture_count * fixture_rows * fixture_cols);
        for (std::size_t i = 0; i < fixture_count; ++i)
            for (std::size_t j = 0; j < fixture_rows * fixture_cols; ++j)
                CHECK(im.pixels[i * fixture_rows * fixture_cols + j] == fixture_pixel(i, j));
    }

    TEST_CASE("a gzipped file reads the same as the plain one")
    {
        const images plain = read_idx_images(fixture("good-images-idx3-ubyte"));
        const images zipped = read_idx_images(fixture("good-images-idx3-ubyte.gz"));
        CHECK(zipped.count == plain.count);
        CHECK(zipped.rows == plain.rows);
        CHECK(zipped.cols == plain.cols);
        CHECK(zipped.pixels == plain.pixels);
    }

    TEST_CASE("reads idx1 label files, plain and gzipped")
    {
        CHECK(read_idx_labels(fixture("good-labels-idx1-ubyte")) == fixture_labels);
        CHECK(read_idx_labels(fixture("good-labels-idx1-ubyte.gz")) == fixture_labels);
    }

    TEST_CASE("reads an image/label pair")
    {
        const labelled_images pair =
            read_idx_pair(fixture("good-images-idx3-ubyte.gz"), fixture("good-labels-idx1-ubyte"));
        CHECK(pair.images.count == fixture_count);
        CHECK(pair.labels == fixture_labels);
    }

    TEST_CASE("truncated files name the file and the missing bytes")
    {
        const std::string plain = fixture("truncated-images-idx3-ubyte");
        CHECK(idx_error_of([&] { read_idx_images(plain); })
              == plain + ": expected 36 pixel bytes after the header, file ends after 20");

        const std::string zipped = fixture("truncated-images-idx3-ubyte.gz");
        CHECK(idx_error_of([&] { read_idx_images(zipped); })
              == zipped + ": expected 36 pixel bytes after the header, file ends after 20");

        const std::string header = fixture("short-header-images-idx3-ubyte");
        CHECK(idx_error_of([&] { read_idx_images(header); })
              == header + ": file ends after 10 bytes, inside the 16-byte header of an idx3 image file");

        const std::string labels = fixture("overcount-labels-idx1-ubyte");
        CHECK(idx_error_of([&] { read_idx_labels(labels); })
              == labels + ": expected 9 label bytes after the header, file ends after 6");
    }

    TEST_CASE("damaged gzip streams are reported, not read as short data")
    {
        const std::string cut = fixture("cut-images-idx3-ubyte.gz");
        CHECK(idx_error_of([&] { read_idx_images(cut); })
              == cut + ": gzip stream cut short after the 36 pixel bytes (missing gzip trailer)");

        const std::string bad_crc = fixture("badcrc-images-idx3-ubyte.gz");
        CHECK(idx_error_of([&] { read_idx_images(bad_crc); })
              == bad_crc + ": corrupt gzip data (zlib: incorrect data check)");
    }

    TEST_CASE("bytes beyond what the header announces are an error")
    {
        const std::string path = fixture("trailing-labels-idx1-ubyte");
        CHECK(idx_error_of([&] { read_idx_labels(path); })
              == path + ": 2 unexpected bytes after the 6 label bytes the header announces");
    }

    TEST_CASE("a wrong magic number is reported with the expected one")
    {
        const std::string path = fixture("wrong-magic-images-idx3-ubyte");
        CHECK(idx_error_of([&] { read_idx_images(path); })
              == path + ": bad magic number 0x00000802 (expected 0x00000803 for an idx3 image file)");

        const std::string labels = fixture("good-labels-idx1-ubyte.gz");
        CHECK(idx_error_of([&] { read_idx_images(labels); })
              == labels
                     + ": bad magic number 0x00000801 (expected 0x00000803 for an idx3 image "
                       "file); this looks like an idx1 label file");

        const std::string images = fixture("good-images-idx3-ubyte");
        CHECK(idx_error_of([&] { read_idx_labels(images); })
              == images
                     + ": bad magic number 0x00000803 (expected 0x00000801 for an idx1 label "
                       "file); this looks like an idx3 image file");
    }

    TEST_CASE("zero rows or columns are rejected")
    {
        const std::string path = fixture("zero-rows-images-idx3-ubyte");
        CHECK(idx_error_of([&] { read_idx_images(path); })
              == path + ": image dimensions 0x2 are invalid (rows and cols must be > 0)");
    }

    TEST_CASE("a missing file is named")
    {
        const std::string path = fixture("no-such-images-idx3-ubyte");
        CHECK(idx_error_of([&] { read_idx_images(path); }) == path + ": no such file");
        CHECK(idx_error_of([&] { read_idx_labels(fixtures); })
              == fixtures.string() + ": is a directory, not an IDX file");
    }

    TEST_CASE("images and labels that do not pair up are rejected")
    {
        const std::string images = fixture("good-images-idx3-ubyte");
        const std::string labels = fixture("five-labels-idx1-ubyte");
        CHECK(idx_error_of([&] { read_idx_pair(images, labels); })
              == "image/label count mismatch: " + images + " holds 6 images but " + labels
                     + " holds 5 labels");
    }

    TEST_CASE("idx_error is a std::runtime_error")
    {
        CHECK_THROWS_AS(read_idx_images(fixture("truncated-images-idx3-ubyte")), std::runtime_error);
    }

    TEST_CASE("pixels map to [-1, 1]")
    {
        CHECK(pixel_to_state<double>(0) == -1.0);
        CHECK(pixel_to_state<double>(255) == 1.0);
        CHECK(pixel_to_state<float>(0) == -1.0f);
        CHECK(pixel_to_state<float>(255) == 1.0f);
        CHECK(pixel_to_state<double>(51) == doctest::Approx(-0.6));
        CHECK(pixel_to_state<double>(204) == doctest::Approx(0.6));
    }

    TEST_CASE_TEMPLATE("default selection keeps digits 1, 3 and 6, one image per row", Scalar,
                       float, double)
    {
        const auto data = load_dataset<Scalar>(
            idx_files{fixture("good-images-idx3-ubyte"), fixture("good-labels-idx1-ubyte")});
        const std::vector<std::uint8_t> expected_labels{1, 3, 6, 1, 6};
        const std::vector<std::size_t> source_image{0, 1, 2, 4, 5};
        CHECK(data.labels == expected_labels);
        CHECK(data.count() == 5);
        CHECK(data.rows == fixture_rows);
        CHECK(data.cols == fixture_cols);
        REQUIRE(data.x.shape(0) == 5);
        REQUIRE(data.x.shape(1) == fixture_rows * fixture_cols);
        for (std::size_t r = 0; r < 5; ++r)
            for (std::size_t j = 0; j < fixture_rows * fixture_cols; ++j)
                CHECK(data.x(r, j)
                      == doctest::Approx(2.0 * fixture_pixel(source_image[r], j) / 255.0 - 1.0)
                             .epsilon(1e-6));
        CHECK(data.x(0, 0) == Scalar(-1));
        CHECK(data.x(4, 5) == Scalar(1));
    }

    TEST_CASE("selection by class and limit")
    {
        const labelled_images pair =
            read_idx_pair(fixture("good-images-idx3-ubyte"), fixture("good-labels-idx1-ubyte"));

        const auto zeros = select_images(pair, selection{{0}, {}});
        CHECK(zeros.labels == std::vector<std::uint8_t>{0});
        REQUIRE(zeros.x.shape(0) == 1);
        CHECK(zeros.x(0, 1) == doctest::Approx(2.0 * fixture_pixel(3, 1) / 255.0 - 1.0));

        CHECK(select_images(pair, selection{{}, {}}).labels == fixture_labels);
        CHECK(select_images(pair, selection{{1, 3, 6}, 3}).labels
              == std::vector<std::uint8_t>{1, 3, 6});
        CHECK(select_images(pair, selection{{6}, 100}).labels == std::vector<std::uint8_t>{6, 6});

        const auto none = select_images(pair, selection{{9}, {}});
        CHECK(none.count() == 0);
        CHECK(none.x.shape(0) == 0);
        CHECK(none.x.shape(1) == fixture_rows * fixture_cols);
    }

    TEST_CASE("several files are concatenated in order, up to the limit")
    {
        const std::vector<idx_files> files{
            {fixture("good-images-idx3-ubyte"), fixture("good-labels-idx1-ubyte")},
            {fixture("good-images-idx3-ubyte.gz"), fixture("good-labels-idx1-ubyte.gz")}};

        const auto all = load_dataset<float>(files);
        CHECK(all.labels == std::vector<std::uint8_t>{1, 3, 6, 1, 6, 1, 3, 6, 1, 6});
        REQUIRE(all.x.shape(0) == 10);
        CHECK(all.x(5, 0) == all.x(0, 0));
        CHECK(all.x(9, 5) == 1.0f);

        const auto seven = load_dataset<float>(files, selection{{1, 3, 6}, 7});
        CHECK(seven.labels == std::vector<std::uint8_t>{1, 3, 6, 1, 6, 1, 3});
        CHECK(seven.x.shape(0) == 7);

        // Files after the one that fills the limit are never opened.
        const std::vector<idx_files> then_missing{
            files[0], {fixture("no-such-images-idx3-ubyte"), fixture("no-such-labels-idx1-ubyte")}};
        CHECK(load_dataset<float>(then_missing, selection{{1}, 2}).count() == 2);
        CHECK_THROWS_AS(load_dataset<float>(then_missing, selection{{1}, 3}), idx_error);
    }

    TEST_CASE("files with different image sizes cannot be concatenated")
    {
        const std::string good = fixture("good-images-idx3-ubyte");
        const std::string other = fixture("other-size-images-idx3-ubyte");
        const std::vector<idx_files> files{
            {good, fixture("good-labels-idx1-ubyte")},
            {other, fixture("other-size-labels-idx1-ubyte")}};
        CHECK(idx_error_of([&] { load_dataset<double>(files); })
              == "cannot concatenate " + other + " (2x2 images) with " + good + " (3x2 images)");
    }

    TEST_CASE("train_and_test_files names the standard files, train first")
    {
        const auto files = train_and_test_files("mnist");
        REQUIRE(files.size() == 2);
        CHECK(files[0].images == fs::path("mnist/train-images-idx3-ubyte.gz"));
        CHECK(files[0].labels == fs::path("mnist/train-labels-idx1-ubyte.gz"));
        CHECK(files[1].images == fs::path("mnist/t10k-images-idx3-ubyte.gz"));
        CHECK(files[1].labels == fs::path("mnist/t10k-labels-idx1-ubyte.gz"));
    }

    TEST_CASE("the shared 10 000 MNIST digits")
    {
        const fs::path images_path = fs::path(NLM_SHARED_DATA) / "mnist10k-images-idx3-ubyte.gz";
        const fs::path labels_path = fs::path(NLM_SHARED_DATA) / "mnist10k-labels-idx1-ubyte.gz";
        if (!fs::exists(images_path) || !fs::exists(labels_path))
        {
            MESSAGE("skipped: " << images_path.string() << " or its labels are absent");
            return;
        }
        const labelled_images pair = read_idx_pair(images_path, labels_path);
        CHECK(pair.images.count == 10000);
        CHECK(pair.images.rows == 28);
        CHECK(pair.images.cols == 28);
        const auto counts = histogram(pair.labels);
        CHECK(counts[1] == 1127);
        CHECK(counts[3] == 1032);
        CHECK(counts[6] == 1014);

        const auto digits = select_images<float>(pair);
        CHECK(digits.count() == 1127 + 1032 + 1014);
        REQUIRE(digits.x.shape(1) == 784);
        CHECK(*std::min_element(digits.x.begin(), digits.x.end()) == -1.0f);
        CHECK(*std::max_element(digits.x.begin(), digits.x.end()) == 1.0f);
    }

    TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist, filtered by class")
    {
        const fs::path dir = "/usr/share/datasets/fashion-mnist";
        const idx_files test{dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz"};
        if (!fs::exists(test.images) || !fs::exists(test.labels))
        {
            MESSAGE("skipped: " << dir.string() << " absent (apt-get install dataset-fashion-mnist)");
            return;
        }
        const auto data = load_dataset<float>(test, selection{{0, 9}, {}});
        CHECK(data.rows == 28);
        CHECK(data.cols == 28);
        CHECK(data.count() == 2000);
        const auto counts = histogram(data.labels);
        CHECK(counts[0] == 1000);
        CHECK(counts[9] == 1000);
        CHECK(data.x.shape(1) == 784);
    }
}
