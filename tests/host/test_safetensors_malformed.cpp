// tests/host/test_safetensors_malformed.cpp: .safetensors files the reader
// refuses, and files the writer refuses to write (host/safetensors.cpp).
//
// SafetensorsMalformed: one test per class of malformed header or data
//   section, each checking that rnn::Error is thrown, that its subject is the
//   file name and that its message says what is wrong; and the writer's
//   refusals (duplicate, empty or reserved tensor names).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "safetensors_helpers.hpp"

namespace {

using safetensors_test::Bytes;
using safetensors_test::entry;
using safetensors_test::entry_error;
using safetensors_test::error;
using safetensors_test::error_of;
using safetensors_test::f32_bytes;
using safetensors_test::says;
using safetensors_test::st_file;
using safetensors_test::st_raw;
using safetensors_test::u16_bytes;

}  // namespace

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
