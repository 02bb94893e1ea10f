// tests/host/test_npy_malformed.cpp: .npy files the reader refuses, and
// arrays the writer refuses (host/npy.cpp).
//
// NpyMalformed: one test per class of malformed input, each checking that
//   rnn::Error is thrown, that its subject is the file name and that its
//   message says what is wrong; and files that cannot be read at all.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "npy_helpers.hpp"

namespace {

using npy_test::Bytes;
using npy_test::dict;
using npy_test::error_of;
using npy_test::f32_bytes;
using npy_test::f64_bytes;
using npy_test::float_error;
using npy_test::i32_bytes;
using npy_test::int_error;
using npy_test::npy_file;
using npy_test::says;

}  // namespace

// ---- malformed input ------------------------------------------------------------

TEST(NpyMalformed, ShorterThanThePreamble) {
  const Bytes full = npy_file(dict("<f4", "(1,)"), f32_bytes({1}));
  const Bytes b(full.begin(), full.begin() + 9);
  EXPECT_TRUE(says(float_error(b), "too short (9 bytes)"));
}

TEST(NpyMalformed, EmptyBuffer) {
  const Bytes b;
  EXPECT_TRUE(says(float_error(b), "too short (0 bytes)"));
  EXPECT_TRUE(says(int_error(b), "too short (0 bytes)"));
}

TEST(NpyMalformed, BadMagic) {
  Bytes b = npy_file(dict("<f4", "(1,)"), f32_bytes({1}));
  b[1] = 'n';  // "\x93nUMPY"
  EXPECT_TRUE(says(float_error(b), "bad magic"));
}

TEST(NpyMalformed, UnsupportedVersion4_0) {
  const Bytes b = npy_file(dict("<f4", "(1,)"), f32_bytes({1}), 4, 0);
  EXPECT_TRUE(says(float_error(b), "unsupported .npy version 4.0"));
}

TEST(NpyMalformed, UnsupportedVersion1_1) {
  const Bytes b = npy_file(dict("<f4", "(1,)"), f32_bytes({1}), 1, 1);
  EXPECT_TRUE(says(float_error(b), "unsupported .npy version 1.1"));
}

TEST(NpyMalformed, UnsupportedVersion0_0) {
  const Bytes b = npy_file(dict("<f4", "(1,)"), f32_bytes({1}), 0, 0);
  EXPECT_TRUE(says(float_error(b), "unsupported .npy version 0.0"));
}

TEST(NpyMalformed, HeaderLengthPastEndOfFile) {
  Bytes b = npy_file(dict("<f4", "(1,)"), f32_bytes({1}));
  b[8] = 0x00;  // header length 0x1000 = 4096, the file holds far less
  b[9] = 0x10;
  const std::string msg = float_error(b);
  EXPECT_TRUE(says(msg, "header length 4096 runs past the end of the file"));
}

TEST(NpyMalformed, Version2HeaderLengthPastEndOfFile) {
  Bytes b = npy_file(dict("<f4", "(1,)"), f32_bytes({1}), 2, 0);
  b[11] = 0xff;  // u32 header length 0xff0000xx
  EXPECT_TRUE(says(float_error(b), "runs past the end of the file"));
}

TEST(NpyMalformed, Version2PreambleTruncated) {
  // 11 bytes: magic, version 2.0 and only 3 of the 4 header-length bytes.
  const Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0x10, 0x00, 0x00};
  EXPECT_TRUE(says(float_error(b), "truncated .npy preamble"));
}

TEST(NpyMalformed, HeaderIsNotADict) {
  const Bytes b = npy_file("['<f4', False, (1,)]", f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "bad .npy header: expected '{'"));
}

TEST(NpyMalformed, HeaderMissingKey) {
  const Bytes b = npy_file("{'descr': '<f4', 'shape': (1,), }", f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "header lacks one of 'descr', 'fortran_order', 'shape'"));
}

TEST(NpyMalformed, HeaderUnknownKey) {
  const Bytes b = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'order': 'C'}", f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "unexpected header key 'order'"));
}

TEST(NpyMalformed, HeaderDuplicateKey) {
  const Bytes b = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}", f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "duplicate key 'shape'"));
}

TEST(NpyMalformed, HeaderUnterminatedString) {
  const Bytes b = npy_file("{'descr': '<f4", f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "unterminated string"));
}

TEST(NpyMalformed, HeaderUnterminatedDict) {
  const Bytes b = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "expected '}'"));
}

TEST(NpyMalformed, HeaderWithTextAfterTheDict) {
  const Bytes b = npy_file(dict("<f4", "(1,)") + " x", f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "unexpected text after the header dict"));
}

TEST(NpyMalformed, HeaderWithNulByte) {
  std::string h = dict("<f4", "(1,)") + "  \n";
  h[h.size() - 2] = '\0';
  const Bytes b = npy_file(h, f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "NUL byte"));
}

TEST(NpyMalformed, FortranOrder) {
  const Bytes b = npy_file(dict("<f4", "(2, 2)", "True"), f32_bytes({1, 2, 3, 4}));
  EXPECT_TRUE(says(float_error(b), "Fortran-order arrays are not supported"));
}

TEST(NpyMalformed, FortranOrderNotABool) {
  const Bytes b = npy_file(dict("<f4", "(1,)", "0"), f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "expected True or False"));
}

TEST(NpyMalformed, BigEndianFloat) {
  const Bytes b = npy_file(dict(">f4", "(1,)"), {0x3f, 0x80, 0, 0});
  EXPECT_TRUE(says(float_error(b), "unsupported dtype '>f4' (big-endian)"));
}

TEST(NpyMalformed, UnsupportedDtypes) {
  // half, unsigned byte, complex64: 2, 1 and 8 bytes per element.
  const std::pair<const char*, size_t> cases[] = {{"<f2", 2}, {"|u1", 1}, {"<c8", 8}};
  for (const auto& [descr, item] : cases) {
    SCOPED_TRACE(descr);
    const Bytes b = npy_file(dict(descr, "(2,)"), Bytes(2 * item, 0));
    EXPECT_TRUE(says(float_error(b), std::string("unsupported dtype '") + descr + "'"));
    EXPECT_TRUE(says(int_error(b), std::string("unsupported dtype '") + descr + "'"));
  }
}

TEST(NpyMalformed, DataTruncated) {
  const Bytes b = npy_file(dict("<f4", "(4,)"), f32_bytes({1, 2, 3}));
  EXPECT_TRUE(says(float_error(b), "truncated: shape [4] of <f4 needs 4 elements but the file holds 3"));
}

TEST(NpyMalformed, DataTruncatedMidElement) {
  Bytes data = f32_bytes({1, 2});
  data.pop_back();
  const Bytes b = npy_file(dict("<f4", "(2,)"), data);
  EXPECT_TRUE(says(float_error(b), "needs 2 elements but the file holds 1"));
}

TEST(NpyMalformed, TrailingBytesAfterData) {
  Bytes data = f32_bytes({1, 2});
  data.push_back(0);
  const Bytes b = npy_file(dict("<f4", "(2,)"), data);
  EXPECT_TRUE(says(float_error(b), "1 unexpected bytes after the array data"));
}

// 2^32 * 2^32 * 16 = 2^68 elements: the count must be checked before any
// allocation, and reported as an error rather than wrapping around (2^68 mod
// 2^64 = 0 would otherwise match an empty data section).
TEST(NpyMalformed, ShapeElementCountOverflows) {
  const Bytes b = npy_file(dict("<f4", "(4294967296, 4294967296, 16)"), {});
  const std::string msg = float_error(b);
  EXPECT_TRUE(says(msg, "too many elements"));
  EXPECT_TRUE(says(msg, "[4294967296, 4294967296, 16]"));
}

TEST(NpyMalformed, ShapeEntryTooLargeForInt64) {
  const Bytes b = npy_file(dict("<f4", "(99999999999999999999,)"), {});
  EXPECT_TRUE(says(float_error(b), "shape entry too large"));
}

// A huge but representable shape with no data is a truncation error, not
// an attempt to allocate 2^40 floats.
TEST(NpyMalformed, HugeShapeWithoutDataIsTruncated) {
  const Bytes b = npy_file(dict("<f4", "(1099511627776,)"), f32_bytes({1, 2}));
  EXPECT_TRUE(says(float_error(b), "needs 1099511627776 elements but the file holds 2"));
}

TEST(NpyMalformed, NegativeDimension) {
  const Bytes b = npy_file(dict("<f4", "(-2,)"), f32_bytes({1, 2}));
  EXPECT_TRUE(says(float_error(b), "shape holds a non-integer or negative entry"));
}

TEST(NpyMalformed, TooManyDimensions) {
  std::string shape = "(";
  for (int i = 0; i < 33; ++i) shape += "1, ";
  shape += ")";
  const Bytes b = npy_file(dict("<f4", shape), f32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "more than 32 dimensions"));
}

TEST(NpyMalformed, FloatFileReadAsInt) {
  const Bytes b = rnn::npy_bytes(rnn::Tensor({2}));
  EXPECT_TRUE(says(int_error(b), "dtype '<f4' is not an integer array"));
  const Bytes d = npy_file(dict("<f8", "(1,)"), f64_bytes({1}));
  EXPECT_TRUE(says(int_error(d), "dtype '<f8' is not an integer array"));
}

TEST(NpyMalformed, IntFileReadAsFloat) {
  rnn::IntArray a;
  a.shape = {2};
  a.data = {1, 2};
  EXPECT_TRUE(says(float_error(rnn::npy_bytes(a)), "dtype '<i8' is not a float array"));
  const Bytes b = npy_file(dict("<i4", "(1,)"), i32_bytes({1}));
  EXPECT_TRUE(says(float_error(b), "dtype '<i4' is not a float array"));
}

// ---- files that cannot be read ------------------------------------------------

TEST(NpyMalformed, NonexistentPath) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("missing.npy");
  EXPECT_TRUE(says(error_of([&] { rnn::read_npy(path); }, path), "no such file"));
  EXPECT_TRUE(says(error_of([&] { rnn::read_npy_int(path); }, path), "no such file"));
}

TEST(NpyMalformed, DirectoryAsPath) {
  testbed::ScratchDir dir;
  const std::string path = dir.path().string();
  EXPECT_TRUE(says(error_of([&] { rnn::read_npy(path); }, path), "not a regular file"));
}

TEST(NpyMalformed, EmptyFile) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("empty.npy");
  std::ofstream(path, std::ios::binary).close();
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(says(error_of([&] { rnn::read_npy(path); }, path), "too short (0 bytes)"));
}

TEST(NpyMalformed, MalformedFileNamesThePath) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("bad.npy");
  const Bytes b = npy_file(dict(">f4", "(1,)"), {0, 0, 0, 0});
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  EXPECT_TRUE(says(error_of([&] { rnn::read_npy(path); }, path), "big-endian"));
}

TEST(NpyMalformed, WriterRejectsDefaultConstructedTensorAndDeepShapes) {
  EXPECT_TRUE(says(error_of([] { rnn::npy_bytes(rnn::Tensor()); }, "array"), "holds no data"));
  EXPECT_TRUE(says(error_of([] { rnn::npy_bytes(rnn::Tensor(std::vector<int64_t>(33, 1))); }, "array"),
                   "more than 32 dimensions"));
}

TEST(NpyMalformed, WritingToADirectoryFails) {
  testbed::ScratchDir dir;
  const std::string path = dir.path().string();
  EXPECT_TRUE(says(error_of([&] { rnn::write_npy(path, rnn::Tensor({1})); }, path), "is a directory"));
}
