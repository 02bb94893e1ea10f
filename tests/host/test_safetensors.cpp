// tests/host/test_safetensors.cpp: the .safetensors reader and writer
// (host/safetensors.cpp).
//
// SafetensorsRoundTrip: several tensors (rank 0, a zero-extent shape) with
//   metadata, in memory and through files; the byte layout of a written file.
// SafetensorsConversion: F64, F16 and BF16 to float, exactly or rounded as
//   IEEE says, and tensors at odd (unaligned) offsets.
// The malformed files and the writer's refusals: test_safetensors_malformed.cpp.
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "safetensors_helpers.hpp"

namespace {

using safetensors_test::Bytes;
using safetensors_test::bits;
using safetensors_test::concat;
using safetensors_test::entry;
using safetensors_test::expect_same_file;
using safetensors_test::f32_bytes;
using safetensors_test::f64_bytes;
using safetensors_test::load_u64;
using safetensors_test::parse;
using safetensors_test::sample_file;
using safetensors_test::says;
using safetensors_test::st_file;
using safetensors_test::u16_bytes;

}  // namespace

// ---- round trips -----------------------------------------------------------------

TEST(SafetensorsRoundTrip, TensorsOrderAndMetadataSurviveInMemory) {
  const rnn::TensorFile f = sample_file();
  const rnn::TensorFile back = parse(rnn::safetensors_bytes(f));
  expect_same_file(back, f);
  EXPECT_EQ(back.find("alpha")->rank(), 0);
  EXPECT_EQ(back.find("empty")->shape(), (std::vector<int64_t>{0, 4}));
}

TEST(SafetensorsRoundTrip, ThroughFiles) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("w.safetensors");
  const rnn::TensorFile f = sample_file();
  rnn::write_safetensors(path, f);
  expect_same_file(rnn::read_safetensors(path), f);
}

TEST(SafetensorsRoundTrip, NoTensorsAtAll) {
  const rnn::TensorFile back = parse(rnn::safetensors_bytes(rnn::TensorFile{}));
  EXPECT_TRUE(back.tensors.empty());
  EXPECT_TRUE(back.metadata.empty());
}

TEST(SafetensorsRoundTrip, FindReturnsTheNamedTensorOrNull) {
  const rnn::TensorFile f = sample_file();
  ASSERT_NE(f.find("mid.weight"), nullptr);
  EXPECT_EQ(f.find("mid.weight"), &f.tensors[3].second);
  EXPECT_EQ(f.find("mid"), nullptr);
  EXPECT_EQ(f.find(""), nullptr);
}

// The documented layout: u64 little-endian header length N (a multiple of 8,
// the JSON padded with spaces), N bytes of JSON, then the F32 data in order.
TEST(SafetensorsRoundTrip, WrittenFileHasTheDocumentedLayout) {
  rnn::TensorFile f;
  f.tensors.emplace_back("b", rnn::Tensor({3}, {1.0f, -2.0f, 0.5f}));
  f.tensors.emplace_back("a", rnn::Tensor({1, 2}, {4.0f, 8.0f}));
  f.metadata["k"] = "v";
  const Bytes b = rnn::safetensors_bytes(f);
  ASSERT_GE(b.size(), 8u);
  const uint64_t n = load_u64(b.data());
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(b.size(), 8 + n + 5 * 4);
  const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<ptrdiff_t>(n));
  EXPECT_EQ(header.front(), '{');
  const size_t close = header.find_last_not_of(' ');
  EXPECT_EQ(header[close], '}');
  EXPECT_LT(header.size() - 1 - close, 8u) << "padding longer than needed";
  // Compare without whitespace, which JSON leaves free (the names have none).
  std::string compact;
  for (char c : header)
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  EXPECT_TRUE(says(compact, R"("b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]})"));
  EXPECT_TRUE(says(compact, R"("a":{"dtype":"F32","shape":[1,2],"data_offsets":[12,20]})"));
  EXPECT_TRUE(says(compact, R"("__metadata__":{"k":"v"})"));
  EXPECT_LT(compact.find("\"b\""), compact.find("\"a\""));
  const Bytes data(b.begin() + 8 + static_cast<ptrdiff_t>(n), b.end());
  EXPECT_EQ(data, f32_bytes({1.0f, -2.0f, 0.5f, 4.0f, 8.0f}));
}

TEST(SafetensorsRoundTrip, FileWithoutMetadataHasNoMetadataEntry) {
  rnn::TensorFile f;
  f.tensors.emplace_back("x", rnn::Tensor({1}));
  const Bytes b = rnn::safetensors_bytes(f);
  const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<ptrdiff_t>(load_u64(b.data())));
  EXPECT_EQ(header.find("__metadata__"), std::string::npos);
}

// ---- conversions -------------------------------------------------------------------

TEST(SafetensorsConversion, F32IsReadAsIs) {
  const Bytes b = st_file("{" + entry("x", "F32", "[2]", 0, 8) + "}", f32_bytes({0.1f, -3.0f}));
  const rnn::TensorFile f = parse(b);
  const rnn::Tensor& t = f.tensors.at(0).second;
  EXPECT_EQ(t.values(), (std::vector<float>{0.1f, -3.0f}));
}

TEST(SafetensorsConversion, F64IsRoundedToNearestEven) {
  const double halfway_to_even_down = 1.0 + 0x1p-24;   // between 1 and 1+2^-23: stays 1
  const double halfway_to_even_up = 1.0 + 0x1.8p-23;   // between 1+2^-23 and 1+2^-22: goes up
  const double past_halfway = 1.0 + 0x1p-24 + 0x1p-50;  // just above halfway: up
  const Bytes b = st_file("{" + entry("x", "F64", "[2, 3]", 0, 48) + "}",
                          f64_bytes({0.1, -2.5, halfway_to_even_down, halfway_to_even_up, past_halfway, 1.0 / 3.0}));
  const rnn::TensorFile f = parse(b);
  const rnn::Tensor& t = f.tensors.at(0).second;
  ASSERT_EQ(t.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t[0], 0.1f);
  EXPECT_EQ(t[1], -2.5f);
  EXPECT_EQ(t[2], 1.0f);
  EXPECT_EQ(t[3], 1.0f + 0x1p-22f);
  EXPECT_EQ(t[4], 1.0f + 0x1p-23f);
  EXPECT_EQ(bits(t[5]), 0x3EAAAAABu);  // 1/3 rounded to float
}

TEST(SafetensorsConversion, F16Values) {
  const std::vector<uint16_t> h = {
      0x3C00,  // 1.0
      0xC000,  // -2.0
      0x0001,  // smallest subnormal, 2^-24
      0x03FF,  // largest subnormal, 1023 * 2^-24
      0x0400,  // smallest normal, 2^-14
      0x7BFF,  // largest finite, 65504
      0x3555,  // 0.333251953125 (nearest half to 1/3)
      0x8000,  // -0.0
      0x7C00,  // +inf
      0xFC00,  // -inf
      0x7E00,  // NaN
  };
  const Bytes b = st_file("{" + entry("h", "F16", "[11]", 0, 22) + "}", u16_bytes(h));
  const rnn::TensorFile f = parse(b);
  const rnn::Tensor& t = f.tensors.at(0).second;
  ASSERT_EQ(t.numel(), 11);
  EXPECT_EQ(t[0], 1.0f);
  EXPECT_EQ(t[1], -2.0f);
  EXPECT_EQ(t[2], 0x1p-24f);
  EXPECT_EQ(t[3], 1023.0f * 0x1p-24f);
  EXPECT_EQ(t[4], 0x1p-14f);
  EXPECT_EQ(t[5], 65504.0f);
  EXPECT_EQ(t[6], 0.333251953125f);
  EXPECT_EQ(bits(t[7]), 0x80000000u);
  EXPECT_EQ(t[8], std::numeric_limits<float>::infinity());
  EXPECT_EQ(t[9], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(t[10]));
}

TEST(SafetensorsConversion, BF16Values) {
  const std::vector<uint16_t> h = {
      0x3F80,  // 1.0
      0xC049,  // upper half of 0xC0490000 = -3.140625
      0x0001,  // smallest subnormal: float bits 0x00010000 = 2^-133
      0x7F7F,  // largest finite: float bits 0x7F7F0000
      0x7F80,  // +inf
      0xFF80,  // -inf
      0x7FC0,  // NaN
  };
  const Bytes b = st_file("{" + entry("h", "BF16", "[7]", 0, 14) + "}", u16_bytes(h));
  const rnn::TensorFile f = parse(b);
  const rnn::Tensor& t = f.tensors.at(0).second;
  ASSERT_EQ(t.numel(), 7);
  EXPECT_EQ(t[0], 1.0f);
  EXPECT_EQ(t[1], -3.140625f);
  EXPECT_EQ(t[2], 0x1p-133f);
  EXPECT_EQ(bits(t[3]), 0x7F7F0000u);
  EXPECT_EQ(t[4], std::numeric_limits<float>::infinity());
  EXPECT_EQ(t[5], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(t[6]));
}

// Tensors packed back to back after a 2-byte dtype sit at offsets that are
// not multiples of 4 or 8; an odd header length also puts the data section
// itself at an odd address.
TEST(SafetensorsConversion, UnalignedOffsets) {
  const std::string header = "{" + entry("a", "F16", "[1]", 0, 2) + ", " + entry("b", "F32", "[1]", 2, 6) + ", " +
                             entry("c", "BF16", "[3]", 6, 12) + ", " + entry("d", "F64", "[1]", 12, 20) + ", " +
                             entry("e", "F16", "[1]", 20, 22) + "}";
  const Bytes data = concat({u16_bytes({0x3C00}), f32_bytes({2.5f}), u16_bytes({0x3F80, 0xC000, 0x4040}),
                             f64_bytes({-0.75}), u16_bytes({0xC000})});
  const std::string odd_header = header.size() % 2 == 1 ? header : header + " ";
  const Bytes b = st_file(odd_header, data);
  const rnn::TensorFile f = parse(b);
  ASSERT_EQ(f.tensors.size(), 5u);
  EXPECT_EQ(f.find("a")->values(), (std::vector<float>{1.0f}));
  EXPECT_EQ(f.find("b")->values(), (std::vector<float>{2.5f}));
  EXPECT_EQ(f.find("c")->values(), (std::vector<float>{1.0f, -2.0f, 3.0f}));
  EXPECT_EQ(f.find("d")->values(), (std::vector<float>{-0.75f}));
  EXPECT_EQ(f.find("e")->values(), (std::vector<float>{-2.0f}));
}

// "File order" is the order of the data section: tensors listed in the
// header in another order than their data come back sorted by offset.
TEST(SafetensorsConversion, TensorsComeBackInDataSectionOrder) {
  const std::string header =
      "{" + entry("second", "F32", "[1]", 4, 8) + ", " + entry("first", "F32", "[1]", 0, 4) + "}";
  const rnn::TensorFile f = parse(st_file(header, f32_bytes({1.0f, 2.0f})));
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].first, "first");
  EXPECT_EQ(f.tensors[0].second[0], 1.0f);
  EXPECT_EQ(f.tensors[1].first, "second");
  EXPECT_EQ(f.tensors[1].second[0], 2.0f);
}
