// host/io/npy.cpp: NumPy .npy reader and writer (format versions 1.0, 2.0, 3.0).
//
// File layout: "\x93NUMPY", major, minor, header length (u16 for 1.x, u32 for
// 2.x/3.x), a Python dict literal {'descr': '<f4', 'fortran_order': False,
// 'shape': (T, B, I), }, then the raw C-order little-endian data. The reader
// trusts nothing: every length is checked against the bytes actually present
// before it is used, and the data must be exactly numel * itemsize bytes.
#include <cctype>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "io/dtype.hpp"
#include "rnn/error.hpp"
#include "rnn/io.hpp"

namespace rnn {
namespace {

constexpr size_t kMaxRank = 32;
const char kMagic[] = "\x93NUMPY";

struct NpyHeader {
  std::string descr;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
  int64_t numel = 0;
};

// A tiny parser for the header's Python dict literal.
class DictParser {
 public:
  DictParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (have_descr) fail("duplicate key 'descr'");
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail("duplicate key 'fortran_order'");
        if (parse_bool()) fail("Fortran-order arrays are not supported (save a C-order array)");
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail("duplicate key 'shape'");
        h.shape = parse_shape();
        have_shape = true;
      } else {
        fail("unexpected header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      expect('}');
      break;
    }
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!have_descr || !have_order || !have_shape)
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(name_, "bad .npy header: " + what); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    ++pos_;
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') fail("escapes in header strings are not supported");
      ++pos_;
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    return s_.substr(start, pos_++ - start);
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("shape holds a non-integer or negative entry");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = s_[pos_++] - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("shape entry too large");
        v = v * 10 + digit;
      }
      if (shape.size() == kMaxRank) fail("more than " + std::to_string(kMaxRank) + " dimensions");
      shape.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      expect(')');
      break;
    }
    return shape;
  }

  const std::string& s_;
  const std::string& name_;
  size_t pos_ = 0;
};

size_t itemsize_of(const std::string& descr) {
  if (descr == "<f4" || descr == "<i4") return 4;
  if (descr == "<f8" || descr == "<i8") return 8;
  return 0;
}

NpyHeader parse_header(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size < 10) throw Error(name, "not a .npy file: too short (" + std::to_string(size) + " bytes)");
  if (std::memcmp(bytes, kMagic, 6) != 0) throw Error(name, "not a .npy file: bad magic string");
  const int major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0)
    throw Error(name, "unsupported .npy version " + std::to_string(major) + "." + std::to_string(minor));
  size_t header_len, preamble;
  if (major == 1) {
    header_len = detail::load_u16(bytes + 8);
    preamble = 10;
  } else {
    if (size < 12) throw Error(name, "truncated .npy preamble");
    header_len = detail::load_u32(bytes + 8);
    preamble = 12;
  }
  if (header_len > size - preamble)
    throw Error(name, "truncated: header length " + std::to_string(header_len) + " runs past the end of the file");
  const std::string text(reinterpret_cast<const char*>(bytes + preamble), header_len);
  if (text.find('\0') != std::string::npos) throw Error(name, "bad .npy header: NUL byte");
  NpyHeader h = DictParser(text, name).parse();
  h.data_offset = preamble + header_len;

  const size_t item = itemsize_of(h.descr);
  if (item == 0) {
    std::string why = "unsupported dtype '" + h.descr + "'";
    if (!h.descr.empty() && h.descr[0] == '>') why += " (big-endian)";
    throw Error(name, why);
  }
  h.numel = checked_numel(h.shape, name);
  const size_t available = size - h.data_offset;
  if (static_cast<uint64_t>(h.numel) > available / item)
    throw Error(name, "truncated: shape " + shape_string(h.shape) + " of " + h.descr + " needs " +
                          std::to_string(h.numel) + " elements but the file holds " +
                          std::to_string(available / item));
  if (static_cast<uint64_t>(h.numel) * item != available)
    throw Error(name, std::to_string(available - static_cast<size_t>(h.numel) * item) +
                          " unexpected bytes after the array data");
  return h;
}

std::vector<uint8_t> build(const std::string& descr, const std::vector<int64_t>& shape, const uint8_t* data,
                           size_t data_bytes) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + ", ";
  if (shape.size() > 1) dict.erase(dict.size() - 2);  // "(5, 2)" but "(5,)" and "()"
  else if (shape.size() == 1) dict.pop_back();
  dict += "), }";
  size_t preamble = 10;
  size_t total = preamble + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  if (padded - preamble > 65535) {
    preamble = 12;
    total = preamble + dict.size() + 1;
    padded = (total + 63) / 64 * 64;
  }
  dict.append(padded - total, ' ');
  dict += '\n';
  std::vector<uint8_t> out(preamble);
  std::memcpy(out.data(), kMagic, 6);
  out[6] = preamble == 10 ? 1 : 2;
  out[7] = 0;
  if (preamble == 10) {
    out[8] = static_cast<uint8_t>(dict.size() & 0xff);
    out[9] = static_cast<uint8_t>(dict.size() >> 8);
  } else {
    detail::store_u32(out.data() + 8, static_cast<uint32_t>(dict.size()));
  }
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), data, data + data_bytes);
  return out;
}

}  // namespace

Tensor parse_npy(const uint8_t* bytes, size_t size, const std::string& name) {
  const NpyHeader h = parse_header(bytes, size, name);
  if (h.descr[1] != 'f')
    throw Error(name, "dtype '" + h.descr + "' is not a float array (expected '<f4' or '<f8')");
  std::vector<float> data(static_cast<size_t>(h.numel));
  const uint8_t* p = bytes + h.data_offset;
  if (h.descr == "<f4") {
    for (size_t i = 0; i < data.size(); ++i) data[i] = detail::load_f32(p + 4 * i);
  } else {
    for (size_t i = 0; i < data.size(); ++i) data[i] = detail::load_f64_as_f32(p + 8 * i);
  }
  return Tensor(h.shape, std::move(data));
}

IntArray parse_npy_int(const uint8_t* bytes, size_t size, const std::string& name) {
  const NpyHeader h = parse_header(bytes, size, name);
  if (h.descr[1] != 'i')
    throw Error(name, "dtype '" + h.descr + "' is not an integer array (expected '<i4' or '<i8')");
  IntArray a;
  a.shape = h.shape;
  a.data.resize(static_cast<size_t>(h.numel));
  const uint8_t* p = bytes + h.data_offset;
  if (h.descr == "<i4") {
    for (size_t i = 0; i < a.data.size(); ++i)
      a.data[i] = static_cast<int32_t>(detail::load_u32(p + 4 * i));
  } else {
    for (size_t i = 0; i < a.data.size(); ++i)
      a.data[i] = static_cast<int64_t>(detail::load_u64(p + 8 * i));
  }
  return a;
}

Tensor read_npy(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_npy(bytes.data(), bytes.size(), path);
}

IntArray read_npy_int(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_npy_int(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> npy_bytes(const Tensor& t) {
  if (static_cast<uint64_t>(t.numel()) != static_cast<uint64_t>(checked_numel(t.shape(), "array")))
    throw Error("array", "holds no data (a default-constructed Tensor)");
  if (t.shape().size() > kMaxRank) throw Error("array", "has more than 32 dimensions");
  std::vector<uint8_t> data(static_cast<size_t>(t.numel()) * 4);
  for (int64_t i = 0; i < t.numel(); ++i) detail::store_u32(data.data() + 4 * i, detail::float_to_bits(t[i]));
  return build("<f4", t.shape(), data.data(), data.size());
}

std::vector<uint8_t> npy_bytes(const IntArray& a) {
  if (a.shape.size() > kMaxRank) throw Error("array", "has more than 32 dimensions");
  if (static_cast<uint64_t>(checked_numel(a.shape, "array")) != a.data.size())
    throw Error("array", "shape " + shape_string(a.shape) + " does not match its " +
                             std::to_string(a.data.size()) + " elements");
  std::vector<uint8_t> data(a.data.size() * 8);
  for (size_t i = 0; i < a.data.size(); ++i) detail::store_u64(data.data() + 8 * i, static_cast<uint64_t>(a.data[i]));
  return build("<i8", a.shape, data.data(), data.size());
}

void write_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, npy_bytes(t)); }
void write_npy(const std::string& path, const IntArray& a) { write_file_atomic(path, npy_bytes(a)); }

}  // namespace rnn
