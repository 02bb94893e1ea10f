// tests/host/test_npy.cpp: the .npy reader and writer (host/npy.cpp).
//
// NpyRoundTrip: float tensors and integer arrays through npy_bytes/parse_npy
//   and write_npy/read_npy, header layout and padding, hand-built version 2.0
//   and 3.0 files, '<f8' -> float rounding, '<i4' and '<i8' with negatives.
// NpyMalformed: one test per class of malformed input, each checking that
//   rnn::Error is thrown, that its subject is the file name and that its
//   message says what is wrong; and files that cannot be read at all.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "testbed.hpp"

namespace {

using testbed::error_of;
using testbed::says;

using testbed::append_le;
using testbed::Bytes;
using testbed::f32_bytes;
using testbed::f64_bytes;

// ---- building .npy files by hand ------------------------------------------

// The header dict as NumPy writes it; `shape` is the Python tuple text.
std::string dict(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// "\x93NUMPY", version major.minor, header length (u16 for 1.x, u32 above),
// `header` verbatim (no padding), then `data`.
Bytes npy_file(const std::string& header, const Bytes& data, int major = 1, int minor = 0) {
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), static_cast<uint8_t>(minor)};
  const size_t n = header.size();
  out.push_back(static_cast<uint8_t>(n & 0xff));
  out.push_back(static_cast<uint8_t>((n >> 8) & 0xff));
  if (major >= 2) {
    out.push_back(static_cast<uint8_t>((n >> 16) & 0xff));
    out.push_back(static_cast<uint8_t>((n >> 24) & 0xff));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}




Bytes i32_bytes(const std::vector<int32_t>& v) {
  Bytes out;
  for (int32_t x : v) append_le(out, static_cast<uint32_t>(x), 4);
  return out;
}

Bytes i64_bytes(const std::vector<int64_t>& v) {
  Bytes out;
  for (int64_t x : v) append_le(out, static_cast<uint64_t>(x), 8);
  return out;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Header length field of a version 1.0 file.
size_t header_len_v1(const Bytes& b) { return b[8] | (b[9] << 8); }

// ---- checking errors ----------------------------------------------------------


const std::string kName = "input.npy";

std::string float_error(const Bytes& b) {
  return error_of([&] { rnn::parse_npy(b.data(), b.size(), kName); }, kName);
}
std::string int_error(const Bytes& b) {
  return error_of([&] { rnn::parse_npy_int(b.data(), b.size(), kName); }, kName);
}

rnn::Tensor parse(const Bytes& b) { return rnn::parse_npy(b.data(), b.size(), kName); }
rnn::IntArray parse_int(const Bytes& b) { return rnn::parse_npy_int(b.data(), b.size(), kName); }

void expect_bitwise_equal(const rnn::Tensor& a, const rnn::Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(bits(a[i]), bits(b[i])) << "element " << i;
}

}  // namespace

// ---- round trips -----------------------------------------------------------------

TEST(NpyRoundTrip, F32Rank0) {
  const rnn::Tensor t(std::vector<int64_t>{}, {3.25f});
  const rnn::Tensor back = parse(rnn::npy_bytes(t));
  EXPECT_EQ(back.rank(), 0);
  ASSERT_EQ(back.numel(), 1);
  EXPECT_EQ(back[0], 3.25f);
}

TEST(NpyRoundTrip, F32Rank1KeepsSpecialValuesBitwise) {
  const float inf = std::numeric_limits<float>::infinity();
  const rnn::Tensor t({7}, {-0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(), 1.5f});
  const rnn::Tensor back = parse(rnn::npy_bytes(t));
  expect_bitwise_equal(back, t);
}

TEST(NpyRoundTrip, F32Rank3) {
  const rnn::Tensor t = testbed::random_tensor({5, 2, 4}, 11);
  const rnn::Tensor back = parse(rnn::npy_bytes(t));
  EXPECT_EQ(back.shape(), (std::vector<int64_t>{5, 2, 4}));
  expect_bitwise_equal(back, t);
}

TEST(NpyRoundTrip, ZeroExtentShape) {
  const rnn::Tensor t(std::vector<int64_t>{0, 3});
  const Bytes b = rnn::npy_bytes(t);
  EXPECT_EQ(b.size(), 128u);  // header only, no data
  const rnn::Tensor back = parse(b);
  EXPECT_EQ(back.shape(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(back.numel(), 0);
}

TEST(NpyRoundTrip, WrittenHeaderIsVersion1PaddedTo64AndEndsInNewline) {
  const rnn::Tensor t = testbed::random_tensor({3, 4}, 1);
  const Bytes b = rnn::npy_bytes(t);
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(std::memcmp(b.data(), "\x93NUMPY", 6), 0);
  EXPECT_EQ(b[6], 1);
  EXPECT_EQ(b[7], 0);
  const size_t hl = header_len_v1(b);
  EXPECT_EQ((10 + hl) % 64, 0u);
  EXPECT_EQ(b.size(), 10 + hl + 12 * 4);
  const std::string header(b.begin() + 10, b.begin() + 10 + hl);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_TRUE(says(header, "'descr': '<f4'"));
  EXPECT_TRUE(says(header, "'fortran_order': False"));
  EXPECT_TRUE(says(header, "'shape': (3, 4)"));
}

TEST(NpyRoundTrip, OneDimensionalShapeIsWrittenWithTrailingComma) {
  const Bytes b = rnn::npy_bytes(rnn::Tensor({5}));
  const std::string header(b.begin() + 10, b.begin() + 10 + header_len_v1(b));
  EXPECT_TRUE(says(header, "'shape': (5,)"));
  const Bytes s = rnn::npy_bytes(rnn::Tensor(std::vector<int64_t>{}, {1.0f}));
  const std::string scalar_header(s.begin() + 10, s.begin() + 10 + header_len_v1(s));
  EXPECT_TRUE(says(scalar_header, "'shape': ()"));
}

// A rank-22 shape makes the dict longer than fits in 128 bytes, so the
// padding has to reach the next multiple of 64 (192).
TEST(NpyRoundTrip, LongHeaderIsPaddedToNextMultipleOf64) {
  std::vector<int64_t> shape(22, 1);
  shape[0] = 2;
  shape[21] = 3;
  const rnn::Tensor t = testbed::random_tensor(shape, 5);
  const Bytes b = rnn::npy_bytes(t);
  const size_t hl = header_len_v1(b);
  EXPECT_EQ(10 + hl, 192u);
  EXPECT_EQ(b[10 + hl - 1], '\n');
  EXPECT_EQ(b.size(), 192u + 6 * 4);
  expect_bitwise_equal(parse(b), t);
}

// Shape (10, 1 x 20) makes preamble + dict + '\n' exactly 128 bytes: no
// padding spaces at all, and nothing must be added or lost.
TEST(NpyRoundTrip, HeaderThatExactlyFillsTheBlockNeedsNoPadding) {
  std::vector<int64_t> shape(21, 1);
  shape[0] = 10;
  const rnn::Tensor t = testbed::random_tensor(shape, 6);
  const Bytes b = rnn::npy_bytes(t);
  const size_t hl = header_len_v1(b);
  EXPECT_EQ(10 + hl, 128u);
  EXPECT_EQ(b[127], '\n');
  EXPECT_EQ(b[126], '}');
  expect_bitwise_equal(parse(b), t);
}

TEST(NpyRoundTrip, F32ThroughFiles) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("x.npy");
  const rnn::Tensor t = testbed::random_tensor({4, 1, 3}, 2);
  rnn::write_npy(path, t);
  expect_bitwise_equal(rnn::read_npy(path), t);
  // Written atomically: no temporary left beside it.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(NpyRoundTrip, IntArrayInMemoryIsWrittenAsI8) {
  rnn::IntArray a;
  a.shape = {2, 3};
  a.data = {0, -1, 7, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 1LL << 40};
  const Bytes b = rnn::npy_bytes(a);
  const std::string header(b.begin() + 10, b.begin() + 10 + header_len_v1(b));
  EXPECT_TRUE(says(header, "'descr': '<i8'"));
  const rnn::IntArray back = parse_int(b);
  EXPECT_EQ(back.shape, a.shape);
  EXPECT_EQ(back.data, a.data);
}

TEST(NpyRoundTrip, IntArrayThroughFiles) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("lengths.npy");
  rnn::IntArray a;
  a.shape = {4};
  a.data = {5, 3, 0, -2};
  rnn::write_npy(path, a);
  const rnn::IntArray back = rnn::read_npy_int(path);
  EXPECT_EQ(back.shape, a.shape);
  EXPECT_EQ(back.data, a.data);
}

TEST(NpyRoundTrip, IntArrayWhoseShapeDisagreesWithItsDataIsNotWritten) {
  rnn::IntArray a;
  a.shape = {3};
  a.data = {1, 2};
  const std::string msg = error_of([&] { rnn::npy_bytes(a); }, "array");
  EXPECT_TRUE(says(msg, "does not match its 2 elements"));
}

TEST(NpyRoundTrip, ReadsHandBuiltVersion2Header) {
  const Bytes b = npy_file(dict("<f4", "(2, 2)"), f32_bytes({1, 2, 3, 4}), 2, 0);
  ASSERT_EQ(b[6], 2);
  const rnn::Tensor t = parse(b);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t.values(), (std::vector<float>{1, 2, 3, 4}));
}

TEST(NpyRoundTrip, ReadsHandBuiltVersion3Header) {
  const Bytes b = npy_file(dict("<f4", "(3,)") + "   \n", f32_bytes({-1, 0.5f, 8}), 3, 0);
  const rnn::Tensor t = parse(b);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(t.values(), (std::vector<float>{-1, 0.5f, 8}));
}

TEST(NpyRoundTrip, ReadsUnpaddedHeaderWithDoubleQuotesAndNoTrailingComma) {
  const Bytes b = npy_file("{\"shape\": (2,), \"descr\": \"<f4\", \"fortran_order\": False}", f32_bytes({6, 7}));
  EXPECT_EQ(parse(b).values(), (std::vector<float>{6, 7}));
}

// '<f8' is converted to float with round-to-nearest-even.
TEST(NpyRoundTrip, F8IsConvertedToFloatWithRounding) {
  const double one_and_half_ulp = 1.0 + 0x1.8p-23;   // halfway between 1+2^-23 and 1+2^-22: to even
  const double one_and_half_ulp_down = 1.0 + 0x1p-24;  // halfway between 1 and 1+2^-23: to even (1)
  const double just_above_half = 1.0 + 0x1p-24 + 0x1p-50;  // just past halfway: up
  const Bytes b = npy_file(dict("<f8", "(6,)"),
                           f64_bytes({0.1, -2.5, one_and_half_ulp, one_and_half_ulp_down, just_above_half, 1.0 / 3.0}));
  const rnn::Tensor t = parse(b);
  ASSERT_EQ(t.numel(), 6);
  EXPECT_EQ(t[0], 0.1f);
  EXPECT_EQ(t[1], -2.5f);
  EXPECT_EQ(t[2], 1.0f + 0x1p-22f);
  EXPECT_EQ(t[3], 1.0f);
  EXPECT_EQ(t[4], 1.0f + 0x1p-23f);
  EXPECT_EQ(bits(t[5]), 0x3EAAAAABu);  // 1/3 rounded to float
}

TEST(NpyRoundTrip, ReadsI4IncludingNegatives) {
  const std::vector<int32_t> v = {0, -1, 42, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
                                  -100000};
  const rnn::IntArray a = parse_int(npy_file(dict("<i4", "(3, 2)"), i32_bytes(v)));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(a.data, (std::vector<int64_t>{0, -1, 42, -2147483648LL, 2147483647LL, -100000}));
}

TEST(NpyRoundTrip, ReadsI8IncludingNegatives) {
  const std::vector<int64_t> v = {-5, 1LL << 50, -(1LL << 50), std::numeric_limits<int64_t>::min()};
  const rnn::IntArray a = parse_int(npy_file(dict("<i8", "(4,)"), i64_bytes(v)));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(a.data, v);
}

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
