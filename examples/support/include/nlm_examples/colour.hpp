/// @file
/// @brief Colours for the example pictures: an RGB triple and the tab10 cycle (the default
/// palette of matplotlib, chosen because its ten colours stay distinguishable to most
/// readers, colour-blind ones included, and in greyscale print).
#pragma once

#include <array>
#include <cstddef>

namespace nlm::examples {

/// An opaque colour, each channel in [0, 1].
struct Colour {
  double r = 0.0;
  double g = 0.0;
  double b = 0.0;

  friend constexpr bool operator==(const Colour&, const Colour&) = default;
};

/// Builds a Colour from a 0xRRGGBB literal.
constexpr Colour rgb(unsigned hex) {
  return {((hex >> 16) & 0xffu) / 255.0, ((hex >> 8) & 0xffu) / 255.0, (hex & 0xffu) / 255.0};
}

/// The i-th colour of the tab10 cycle (blue, orange, green, red, purple, brown, pink, grey,
/// olive, cyan), repeating after ten.
constexpr Colour tab10(std::size_t i) {
  constexpr std::array<unsigned, 10> hex = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                            0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  return rgb(hex[i % hex.size()]);
}

/// Colour of class k in pca_figure: tab10 without its green and red first, because green and
/// red mark the start and the end of the trajectory drawn over the classes.
constexpr Colour class_colour(std::size_t k) {
  constexpr std::array<std::size_t, 10> order = {0, 1, 4, 5, 6, 7, 8, 9, 2, 3};
  return tab10(order[k % order.size()]);
}

/// Text, axes and frame.
inline constexpr Colour ink = rgb(0x262626);
/// Grid lines behind the data.
inline constexpr Colour grid_grey = rgb(0xe0e0e0);
/// Trajectory dots in pca_figure.
inline constexpr Colour trajectory_colour = rgb(0x1a1a1a);
/// Start and end markers of a trajectory.
inline constexpr Colour start_colour = rgb(0x2ca02c);
inline constexpr Colour end_colour = rgb(0xd62728);

}  // namespace nlm::examples
