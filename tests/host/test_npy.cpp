// tests/host/test_npy.cpp: the .npy reader and writer (host/npy.cpp).
//
// NpyRoundTrip: float tensors and integer arrays through npy_bytes/parse_npy
//   and write_npy/read_npy, header layout and padding, hand-built version 2.0
//   and 3.0 files, '<f8' -> float rounding, '<i4' and '<i8' with negatives.
// The malformed files: test_npy_malformed.cpp.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "npy_helpers.hpp"

namespace {

using npy_test::Bytes;
using npy_test::bits;
using npy_test::dict;
using npy_test::error_of;
using npy_test::expect_bitwise_equal;
using npy_test::f32_bytes;
using npy_test::f64_bytes;
using npy_test::header_len_v1;
using npy_test::i32_bytes;
using npy_test::i64_bytes;
using npy_test::npy_file;
using npy_test::parse;
using npy_test::parse_int;
using npy_test::says;

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
