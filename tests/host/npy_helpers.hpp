// tests/host/npy_helpers.hpp: what the .npy suites share (test_npy.cpp,
// test_npy_malformed.cpp): .npy files built by hand byte by byte (any
// version, header and data), parsed in memory as a file named kName, and
// the errors that parsing them as float or integer arrays throws.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "testbed.hpp"

namespace npy_test {

using testbed::error_of;
using testbed::says;

using testbed::append_le;
using testbed::Bytes;
using testbed::f32_bytes;
using testbed::f64_bytes;

// ---- building .npy files by hand ------------------------------------------

// The header dict as NumPy writes it; `shape` is the Python tuple text.
inline std::string dict(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// "\x93NUMPY", version major.minor, header length (u16 for 1.x, u32 above),
// `header` verbatim (no padding), then `data`.
inline Bytes npy_file(const std::string& header, const Bytes& data, int major = 1, int minor = 0) {
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

inline Bytes i32_bytes(const std::vector<int32_t>& v) {
  Bytes out;
  for (int32_t x : v) append_le(out, static_cast<uint32_t>(x), 4);
  return out;
}

inline Bytes i64_bytes(const std::vector<int64_t>& v) {
  Bytes out;
  for (int64_t x : v) append_le(out, static_cast<uint64_t>(x), 8);
  return out;
}

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Header length field of a version 1.0 file.
inline size_t header_len_v1(const Bytes& b) { return b[8] | (b[9] << 8); }

// ---- checking errors ----------------------------------------------------------

inline const std::string kName = "input.npy";

inline std::string float_error(const Bytes& b) {
  return error_of([&] { rnn::parse_npy(b.data(), b.size(), kName); }, kName);
}
inline std::string int_error(const Bytes& b) {
  return error_of([&] { rnn::parse_npy_int(b.data(), b.size(), kName); }, kName);
}

inline rnn::Tensor parse(const Bytes& b) { return rnn::parse_npy(b.data(), b.size(), kName); }
inline rnn::IntArray parse_int(const Bytes& b) { return rnn::parse_npy_int(b.data(), b.size(), kName); }

inline void expect_bitwise_equal(const rnn::Tensor& a, const rnn::Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(bits(a[i]), bits(b[i])) << "element " << i;
}

}  // namespace npy_test
