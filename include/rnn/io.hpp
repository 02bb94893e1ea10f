// rnn/io.hpp: .npy arrays and .safetensors tensor files.
//
// Both readers are bounds-checked against hostile input: no read past the
// end of the file, no allocation larger than what the file itself holds, and
// every inconsistency (bad magic, truncated data, sizes that disagree,
// unsupported dtypes, overflowing shapes) raises rnn::Error naming the file.
// Both writers write to a temporary file in the same folder and rename it,
// so an output is either complete or absent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rnn/tensor.hpp"

namespace rnn {

// ---- .npy (NumPy format versions 1.0, 2.0, 3.0; C order; little-endian) ----

// A 1-D or N-D integer array, read from '<i4' or '<i8'.
struct IntArray {
  std::vector<int64_t> shape;
  std::vector<int64_t> data;
};

// Reads a float array ('<f4', or '<f8' converted to float). Throws
// rnn::Error(path, ...) on anything else, including Fortran order.
Tensor read_npy(const std::string& path);
// Reads an integer array ('<i4' or '<i8').
IntArray read_npy_int(const std::string& path);

// The same from bytes in memory; `name` is the error subject.
Tensor parse_npy(const uint8_t* bytes, size_t size, const std::string& name);
IntArray parse_npy_int(const uint8_t* bytes, size_t size, const std::string& name);

// Writes '<f4' (version 1.0; 2.0 if the header needs it). The tensor must
// hold its data (not a default-constructed Tensor); at most 32 dimensions.
void write_npy(const std::string& path, const Tensor& t);
// Writes '<i8'.
void write_npy(const std::string& path, const IntArray& a);

// Serialises to bytes as write_npy does (for tests and in-memory use).
std::vector<uint8_t> npy_bytes(const Tensor& t);
std::vector<uint8_t> npy_bytes(const IntArray& a);

// ---- .safetensors --------------------------------------------------------

// An ordered list of named tensors and the string metadata of the file.
struct TensorFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in the order their data lie in the file
  std::map<std::string, std::string> metadata;          // "__metadata__"

  // Pointer to the tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
};

// Reads F32 tensors as is and converts F64, F16 and BF16 to float; any other
// dtype is an error, as is a name given twice. Limits: header <= 100 MB,
// at most 32 dimensions.
TensorFile read_safetensors(const std::string& path);
TensorFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& name);

// Writes every tensor as F32, in the given order. Names must be unique and
// non-empty and must not be "__metadata__"; every tensor must hold its data
// (not a default-constructed Tensor) and have at most 32 dimensions.
void write_safetensors(const std::string& path, const TensorFile& file);
std::vector<uint8_t> safetensors_bytes(const TensorFile& file, const std::string& name = "safetensors");

// ---- files -----------------------------------------------------------------

// Whole file into memory; throws rnn::Error(path, ...) if it cannot be read.
std::vector<uint8_t> read_file(const std::string& path);
// Writes `bytes` to `path` atomically (temporary name in the same folder,
// then rename). Throws rnn::Error(path, ...) on failure, leaving nothing.
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes);
// Writes several files all-or-nothing as far as the file system allows: every
// temporary is written first (on a failure all are removed and nothing is
// renamed), then each is renamed into place.
void write_files_atomic(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& files);
// Checks, before long work, that write_file_atomic(path, ...) could write
// there: creates a temporary beside `path` and removes it (an existing
// `path` is left untouched). Throws rnn::Error(path, ...) naming the reason
// (empty name, a directory, a missing folder, no permission).
void check_writable(const std::string& path);

}  // namespace rnn
