/// @file metrics.hpp
/// @brief Sample-quality metrics in one include: how close a set of generated samples (rows,
/// values in [−1, 1] such as tanh(x) of the chains) is to real data.
///
/// - frechet.hpp: Fréchet distance between Gaussians, and PcaFrechetDistance in the space of
///   the real data's principal components (report it as a ratio to a real-vs-real value);
/// - adversarial_accuracy.hpp: nearest-neighbour adversarial accuracy AA_TS (0.5 ideal);
/// - moments.hpp: errors of the first and second moments, and mean energies under a machine;
/// - inverted_background.hpp: fraction of images with a light (inverted) background;
/// - classifier.hpp: a softmax classifier trained on real images, reporting how many samples
///   it confidently assigns to the trained classes and how balanced those classes are;
/// - intervals.hpp: confidence intervals for those counts (Wilson) and the balance entropy.
///
/// examples/mnist_evaluate.cpp puts them together for MNIST digits.
#pragma once

#include "adversarial_accuracy.hpp"
#include "classifier.hpp"
#include "frechet.hpp"
#include "intervals.hpp"
#include "inverted_background.hpp"
#include "moments.hpp"
#include "pca.hpp"
