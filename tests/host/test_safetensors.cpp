// tests/host/test_safetensors.cpp: the .safetensors reader and writer
// (host/safetensors.cpp).
//
// SafetensorsRoundTrip: several tensors (rank 0, a zero-extent shape) with
//   metadata, in memory and through files; the byte layout of a written file.
// SafetensorsConversion: F64, F16 and BF16 to float, exactly or rounded as
//   IEEE says, and tensors at odd (unaligned) offsets.
// SafetensorsMalformed: one test per class of malformed header or data
//   section, each checking that rnn::Error is thrown, that its subject is the
//   file name and that its message says what is wrong; and the writer's
//   refusals (duplicate, empty or reserved tensor names).
#include <cctype>
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

// ---- building .safetensors files by hand -------------------------------------


// u64 little-endian `header_len`, then `header` verbatim, then `data`.
Bytes st_raw(uint64_t header_len, const std::string& header, const Bytes& data) {
  Bytes out;
  append_le(out, header_len, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A well-formed preamble: the length is the JSON header's real length (no
// padding, so the data section may start at any alignment).
Bytes st_file(const std::string& header, const Bytes& data) { return st_raw(header.size(), header, data); }

// One header entry: "name": {"dtype": .., "shape": .., "data_offsets": [b, e]}
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end) {
  return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape + ", \"data_offsets\": [" +
         std::to_string(begin) + ", " + std::to_string(end) + "]}";
}



Bytes u16_bytes(const std::vector<uint16_t>& v) {
  Bytes out;
  for (uint16_t x : v) append_le(out, x, 2);
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

uint64_t load_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// ---- checking errors ----------------------------------------------------------


const std::string kName = "weights.safetensors";

rnn::TensorFile parse(const Bytes& b) { return rnn::parse_safetensors(b.data(), b.size(), kName); }

std::string error(const Bytes& b) {
  return error_of([&] { rnn::parse_safetensors(b.data(), b.size(), kName); }, kName);
}

// The error for a file holding a single entry `body` (the object after the
// name "t") and `data`.
std::string entry_error(const std::string& body, const Bytes& data) {
  return error(st_file("{\"t\": " + body + "}", data));
}

void expect_bitwise_equal(const rnn::Tensor& a, const rnn::Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(bits(a[i]), bits(b[i])) << "element " << i;
}

// Four tensors in a deliberately non-alphabetical order, including a rank-0
// tensor and one with a zero extent, and two metadata entries.
rnn::TensorFile sample_file() {
  rnn::TensorFile f;
  f.tensors.emplace_back("zeta", testbed::random_tensor({2, 3}, 1));
  f.tensors.emplace_back("alpha", rnn::Tensor(std::vector<int64_t>{}, {-7.5f}));
  f.tensors.emplace_back("empty", rnn::Tensor(std::vector<int64_t>{0, 4}));
  f.tensors.emplace_back("mid.weight", testbed::random_tensor({5}, 2));
  f.metadata["nonlinearity"] = "relu";
  f.metadata["note"] = "quoted \"text\", a backslash \\ and a newline\n";
  return f;
}

void expect_same_file(const rnn::TensorFile& back, const rnn::TensorFile& f) {
  ASSERT_EQ(back.tensors.size(), f.tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    SCOPED_TRACE(f.tensors[i].first);
    EXPECT_EQ(back.tensors[i].first, f.tensors[i].first);
    expect_bitwise_equal(back.tensors[i].second, f.tensors[i].second);
  }
  EXPECT_EQ(back.metadata, f.metadata);
}

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

// ---- malformed input ------------------------------------------------------------

TEST(SafetensorsMalformed, FewerThan8Bytes) {
  const Bytes seven = {2, 0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(says(error(seven), "7 bytes, shorter than the 8-byte header length"));
  EXPECT_TRUE(says(error(Bytes{}), "0 bytes, shorter than the 8-byte header length"));
}

TEST(SafetensorsMalformed, HeaderLengthPastEndOfFile) {
  const Bytes b = st_raw(100, "{}", {});
  EXPECT_TRUE(says(error(b), "header length 100 runs past the end of the file (10 bytes)"));
}

// Lengths near 2^64 must not wrap around in 8 + N, nor be allocated.
TEST(SafetensorsMalformed, HeaderLength2To63) {
  const Bytes b = st_raw(uint64_t{1} << 63, "{}", {});
  EXPECT_TRUE(says(error(b), "header length 9223372036854775808 runs past the end of the file"));
}

TEST(SafetensorsMalformed, HeaderLengthMaxU64) {
  const Bytes b = st_raw(std::numeric_limits<uint64_t>::max(), "{}", {});
  EXPECT_TRUE(says(error(b), "header length 18446744073709551615 runs past the end of the file"));
}

TEST(SafetensorsMalformed, InvalidJson) {
  EXPECT_TRUE(says(error(st_file("{\"t\": {\"dtype\": ", {})), "header is not valid JSON"));
  EXPECT_TRUE(says(error(st_file("", {})), "header is not valid JSON"));
}

TEST(SafetensorsMalformed, HeaderIsAnArray) {
  EXPECT_TRUE(says(error(st_file("[]", {})), "header is not a JSON object"));
}

TEST(SafetensorsMalformed, EntryIsNotAnObject) {
  EXPECT_TRUE(says(entry_error("[0, 4]", f32_bytes({1})), "tensor 't': entry is not a JSON object"));
}

TEST(SafetensorsMalformed, EmptyTensorName) {
  const Bytes b = st_file("{" + entry("", "F32", "[1]", 0, 4) + "}", f32_bytes({1}));
  EXPECT_TRUE(says(error(b), "a tensor has an empty name"));
}

TEST(SafetensorsMalformed, MissingDtype) {
  EXPECT_TRUE(says(entry_error(R"({"shape": [1], "data_offsets": [0, 4]})", f32_bytes({1})), "tensor 't': missing dtype"));
  EXPECT_TRUE(says(entry_error(R"({"dtype": 32, "shape": [1], "data_offsets": [0, 4]})", f32_bytes({1})),
                   "tensor 't': missing dtype"));
}

TEST(SafetensorsMalformed, MissingShape) {
  EXPECT_TRUE(says(entry_error(R"({"dtype": "F32", "data_offsets": [0, 4]})", f32_bytes({1})), "tensor 't': missing shape"));
}

TEST(SafetensorsMalformed, MissingDataOffsets) {
  EXPECT_TRUE(says(entry_error(R"({"dtype": "F32", "shape": [1]})", f32_bytes({1})),
                   "tensor 't': data_offsets must be a pair [begin, end]"));
}

TEST(SafetensorsMalformed, DataOffsetsNotAPair) {
  for (const char* offsets : {"[4]", "[0, 2, 4]", "\"0-4\"", "[]"}) {
    SCOPED_TRACE(offsets);
    const std::string body = std::string(R"({"dtype": "F32", "shape": [1], "data_offsets": )") + offsets + "}";
    EXPECT_TRUE(says(entry_error(body, f32_bytes({1})), "data_offsets must be a pair [begin, end]"));
  }
}

TEST(SafetensorsMalformed, DataOffsetNotANonNegativeInteger) {
  for (const char* offsets : {"[-4, 0]", "[0, 4.0]", "[\"0\", 4]"}) {
    SCOPED_TRACE(offsets);
    const std::string body = std::string(R"({"dtype": "F32", "shape": [1], "data_offsets": )") + offsets + "}";
    EXPECT_TRUE(says(entry_error(body, f32_bytes({1})), "data offset must be a non-negative integer"));
  }
}

TEST(SafetensorsMalformed, UnsupportedDtypes) {
  // Each with a byte size that would fit its own element size.
  const std::pair<const char*, size_t> cases[] = {{"I64", 8}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"f32", 4}};
  for (const auto& [dtype, item] : cases) {
    SCOPED_TRACE(dtype);
    const Bytes b = st_file("{" + entry("t", dtype, "[2]", 0, 2 * item) + "}", Bytes(2 * item, 0));
    EXPECT_TRUE(says(error(b), std::string("tensor 't': dtype ") + dtype + " is not supported"));
  }
}

TEST(SafetensorsMalformed, NegativeShapeEntry) {
  const Bytes b = st_file(R"({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", f32_bytes({1}));
  EXPECT_TRUE(says(error(b), "tensor 't': shape entry must be a non-negative integer"));
}

TEST(SafetensorsMalformed, NonIntegerShapeEntry) {
  for (const char* shape : {"[1.0]", "[\"1\"]", "[null]", "[[1]]"}) {
    SCOPED_TRACE(shape);
    const std::string body = std::string(R"({"dtype": "F32", "shape": )") + shape + R"(, "data_offsets": [0, 4]})";
    EXPECT_TRUE(says(entry_error(body, f32_bytes({1})), "shape entry must be a non-negative integer"));
  }
}

TEST(SafetensorsMalformed, ShapeEntryPastInt64) {
  const Bytes b = st_file("{" + entry("t", "F32", "[18446744073709551615]", 0, 4) + "}", f32_bytes({1}));
  EXPECT_TRUE(says(error(b), "tensor 't': shape entry too large"));
}

TEST(SafetensorsMalformed, TooManyDimensions) {
  std::string shape = "[1";
  for (int i = 1; i < 33; ++i) shape += ", 1";
  shape += "]";
  const Bytes b = st_file("{" + entry("t", "F32", shape, 0, 4) + "}", f32_bytes({1}));
  EXPECT_TRUE(says(error(b), "tensor 't': too many dimensions"));
}

TEST(SafetensorsMalformed, BeginAfterEnd) {
  const Bytes b = st_file("{" + entry("t", "F32", "[1]", 8, 4) + "}", f32_bytes({1, 2}));
  EXPECT_TRUE(says(error(b), "tensor 't': data_offsets begin > end"));
}

TEST(SafetensorsMalformed, EndPastTheDataSection) {
  const Bytes b = st_file("{" + entry("t", "F32", "[4]", 0, 16) + "}", f32_bytes({1, 2}));
  EXPECT_TRUE(says(error(b), "tensor 't': data_offsets [0, 16] run past the data section (8 bytes)"));
}

TEST(SafetensorsMalformed, EndNearU64MaxIsPastTheDataSection) {
  const Bytes b = st_file("{" + entry("t", "F32", "[1]", 0, std::numeric_limits<uint64_t>::max()) + "}", f32_bytes({1}));
  EXPECT_TRUE(says(error(b), "run past the data section (4 bytes)"));
}

TEST(SafetensorsMalformed, ByteSizeDoesNotMatchDtypeTimesShape) {
  const Bytes b = st_file("{" + entry("t", "F32", "[3]", 0, 8) + "}", f32_bytes({1, 2}));
  EXPECT_TRUE(says(error(b), "tensor 't': shape [3] of F32 needs 3 elements but its data holds 8 bytes"));
  // 9 bytes is neither 2 nor 3 floats.
  Bytes nine = f32_bytes({1, 2});
  nine.push_back(0);
  const Bytes c = st_file("{" + entry("t", "F32", "[2]", 0, 9) + "}", nine);
  EXPECT_TRUE(says(error(c), "needs 2 elements but its data holds 9 bytes"));
  // F16 data read with a shape counted in floats.
  const Bytes d = st_file("{" + entry("t", "F16", "[1]", 0, 4) + "}", u16_bytes({0x3C00, 0x3C00}));
  EXPECT_TRUE(says(error(d), "shape [1] of F16 needs 1 elements but its data holds 4 bytes"));
}

TEST(SafetensorsMalformed, ShapeElementCountOverflows) {
  const Bytes b = st_file("{" + entry("t", "F32", "[4294967296, 4294967296, 16]", 0, 0) + "}", {});
  const std::string msg = error(b);
  EXPECT_TRUE(says(msg, "[4294967296, 4294967296, 16] has too many elements"));
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  const std::string header = "{" + entry("a", "F32", "[2]", 0, 8) + ", " + entry("b", "F32", "[2]", 4, 12) + "}";
  EXPECT_TRUE(says(error(st_file(header, f32_bytes({1, 2, 3}))), "tensor 'b' overlaps another tensor's data"));
}

TEST(SafetensorsMalformed, TwoNamesForTheSameData) {
  const std::string header = "{" + entry("a", "F32", "[2]", 0, 8) + ", " + entry("b", "F32", "[2]", 0, 8) + "}";
  EXPECT_TRUE(says(error(st_file(header, f32_bytes({1, 2}))), "overlaps another tensor's data"));
}

TEST(SafetensorsMalformed, DuplicateNameInHeader) {
  // The JSON library alone would keep the last entry and drop the first.
  const std::string header = "{" + entry("a", "F32", "[1]", 0, 4) + ", " + entry("a", "F32", "[1]", 4, 8) + "}";
  EXPECT_TRUE(says(error(st_file(header, f32_bytes({1, 2}))), "header names 'a' twice"));
}

TEST(SafetensorsMalformed, HoleBetweenTensors) {
  const std::string header = "{" + entry("a", "F32", "[1]", 0, 4) + ", " + entry("b", "F32", "[1]", 8, 12) + "}";
  EXPECT_TRUE(says(error(st_file(header, f32_bytes({1, 2, 3}))), "data section has a hole before tensor 'b'"));
}

TEST(SafetensorsMalformed, HoleAtTheStart) {
  const Bytes b = st_file("{" + entry("a", "F32", "[1]", 4, 8) + "}", f32_bytes({1, 2}));
  EXPECT_TRUE(says(error(b), "data section has a hole before tensor 'a'"));
}

TEST(SafetensorsMalformed, TrailingUnownedBytes) {
  const Bytes b = st_file("{" + entry("a", "F32", "[1]", 0, 4) + "}", f32_bytes({1, 2}));
  EXPECT_TRUE(says(error(b), "4 bytes of the data section belong to no tensor"));
  EXPECT_TRUE(says(error(st_file("{}", {0, 0, 0})), "3 bytes of the data section belong to no tensor"));
}

TEST(SafetensorsMalformed, MetadataNotAnObject) {
  const Bytes b = st_file(R"({"__metadata__": ["nonlinearity", "relu"]})", {});
  EXPECT_TRUE(says(error(b), "__metadata__ is not a JSON object"));
}

TEST(SafetensorsMalformed, MetadataValueNotAString) {
  const Bytes b = st_file(R"({"__metadata__": {"format": "pt", "layers": 2}})", {});
  EXPECT_TRUE(says(error(b), "__metadata__ value of 'layers' is not a string"));
}

TEST(SafetensorsMalformed, UnexpectedFieldInEntry) {
  EXPECT_TRUE(says(entry_error(R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "offset": 0})", f32_bytes({1})),
                   "tensor 't': unexpected field 'offset'"));
}

// ---- files ----------------------------------------------------------------------

TEST(SafetensorsMalformed, NonexistentPath) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("missing.safetensors");
  EXPECT_TRUE(says(error_of([&] { rnn::read_safetensors(path); }, path), "no such file"));
}

TEST(SafetensorsMalformed, MalformedFileNamesThePath) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("bad.safetensors");
  const Bytes b = st_file("{" + entry("a", "I64", "[1]", 0, 8) + "}", Bytes(8, 0));
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  EXPECT_TRUE(says(error_of([&] { rnn::read_safetensors(path); }, path), "dtype I64 is not supported"));
}

// ---- writer refusals --------------------------------------------------------------

TEST(SafetensorsMalformed, WriterRejectsDuplicateName) {
  rnn::TensorFile f;
  f.tensors.emplace_back("w", rnn::Tensor({1}));
  f.tensors.emplace_back("w", rnn::Tensor({2}));
  EXPECT_TRUE(says(error_of([&] { rnn::safetensors_bytes(f, "out.safetensors"); }, "out.safetensors"),
                   "duplicate tensor name 'w'"));
}

TEST(SafetensorsMalformed, WriterRejectsEmptyName) {
  rnn::TensorFile f;
  f.tensors.emplace_back("", rnn::Tensor({1}));
  EXPECT_TRUE(says(error_of([&] { rnn::safetensors_bytes(f, "out.safetensors"); }, "out.safetensors"),
                   "invalid tensor name ''"));
}

TEST(SafetensorsMalformed, WriterRejectsDefaultConstructedTensor) {
  rnn::TensorFile f;
  f.tensors.emplace_back("a", rnn::Tensor());
  EXPECT_TRUE(says(error_of([&] { rnn::safetensors_bytes(f, "out.safetensors"); }, "out.safetensors"),
                   "tensor 'a' holds no data"));
}

TEST(SafetensorsMalformed, WriterRejectsWhatTheReaderWouldRefuse) {
  rnn::TensorFile f;
  f.tensors.emplace_back("deep", rnn::Tensor(std::vector<int64_t>(33, 1)));
  EXPECT_TRUE(says(error_of([&] { rnn::safetensors_bytes(f, "out.safetensors"); }, "out.safetensors"),
                   "more than 32 dimensions"));
}

TEST(SafetensorsMalformed, WriterRejectsMetadataAsTensorNameAndWritesNothing) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("out.safetensors");
  rnn::TensorFile f;
  f.tensors.emplace_back("ok", rnn::Tensor({1}));
  f.tensors.emplace_back("__metadata__", rnn::Tensor({1}));
  EXPECT_TRUE(says(error_of([&] { rnn::write_safetensors(path, f); }, path), "invalid tensor name '__metadata__'"));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}
