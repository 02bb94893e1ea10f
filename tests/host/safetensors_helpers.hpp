// tests/host/safetensors_helpers.hpp: what the .safetensors suites share
// (test_safetensors.cpp, test_safetensors_malformed.cpp): files built by
// hand (header length, JSON header, data section), parsed in memory as a
// file named kName, the errors parsing throws, and a sample file compared
// bitwise after a round trip.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "testbed.hpp"

namespace safetensors_test {

using testbed::error_of;
using testbed::says;

using testbed::append_le;
using testbed::Bytes;
using testbed::f32_bytes;
using testbed::f64_bytes;

// ---- building .safetensors files by hand -------------------------------------

// u64 little-endian `header_len`, then `header` verbatim, then `data`.
inline Bytes st_raw(uint64_t header_len, const std::string& header, const Bytes& data) {
  Bytes out;
  append_le(out, header_len, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A well-formed preamble: the length is the JSON header's real length (no
// padding, so the data section may start at any alignment).
inline Bytes st_file(const std::string& header, const Bytes& data) { return st_raw(header.size(), header, data); }

// One header entry: "name": {"dtype": .., "shape": .., "data_offsets": [b, e]}
inline std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end) {
  return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape + ", \"data_offsets\": [" +
         std::to_string(begin) + ", " + std::to_string(end) + "]}";
}

inline Bytes u16_bytes(const std::vector<uint16_t>& v) {
  Bytes out;
  for (uint16_t x : v) append_le(out, x, 2);
  return out;
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline uint64_t load_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// ---- checking errors ----------------------------------------------------------

inline const std::string kName = "weights.safetensors";

inline rnn::TensorFile parse(const Bytes& b) { return rnn::parse_safetensors(b.data(), b.size(), kName); }

inline std::string error(const Bytes& b) {
  return error_of([&] { rnn::parse_safetensors(b.data(), b.size(), kName); }, kName);
}

// The error for a file holding a single entry `body` (the object after the
// name "t") and `data`.
inline std::string entry_error(const std::string& body, const Bytes& data) {
  return error(st_file("{\"t\": " + body + "}", data));
}

inline void expect_bitwise_equal(const rnn::Tensor& a, const rnn::Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(bits(a[i]), bits(b[i])) << "element " << i;
}

// Four tensors in a deliberately non-alphabetical order, including a rank-0
// tensor and one with a zero extent, and two metadata entries.
inline rnn::TensorFile sample_file() {
  rnn::TensorFile f;
  f.tensors.emplace_back("zeta", testbed::random_tensor({2, 3}, 1));
  f.tensors.emplace_back("alpha", rnn::Tensor(std::vector<int64_t>{}, {-7.5f}));
  f.tensors.emplace_back("empty", rnn::Tensor(std::vector<int64_t>{0, 4}));
  f.tensors.emplace_back("mid.weight", testbed::random_tensor({5}, 2));
  f.metadata["nonlinearity"] = "relu";
  f.metadata["note"] = "quoted \"text\", a backslash \\ and a newline\n";
  return f;
}

inline void expect_same_file(const rnn::TensorFile& back, const rnn::TensorFile& f) {
  ASSERT_EQ(back.tensors.size(), f.tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    SCOPED_TRACE(f.tensors[i].first);
    EXPECT_EQ(back.tensors[i].first, f.tensors[i].first);
    expect_bitwise_equal(back.tensors[i].second, f.tensors[i].second);
  }
  EXPECT_EQ(back.metadata, f.metadata);
}

}  // namespace safetensors_test
