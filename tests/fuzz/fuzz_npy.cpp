// tests/fuzz/fuzz_npy.cpp: the .npy reader (float and integer arrays) on
// arbitrary bytes. Every input must either parse or be refused with
// rnn::Error; anything else (a crash, a sanitizer report, another exception
// such as std::bad_alloc, a leak) is a finding. What parses must survive a
// write and a re-read unchanged.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "rnn/error.hpp"
#include "rnn/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rnn::Tensor t = rnn::parse_npy(data, size, "fuzz.npy");
    const std::vector<uint8_t> bytes = rnn::npy_bytes(t);
    const rnn::Tensor again = rnn::parse_npy(bytes.data(), bytes.size(), "fuzz (rewritten)");
    if (again.shape() != t.shape() ||
        (t.numel() && std::memcmp(again.data(), t.data(), static_cast<size_t>(t.numel()) * sizeof(float)) != 0))
      std::abort();
  } catch (const rnn::Error&) {
  }
  try {
    const rnn::IntArray a = rnn::parse_npy_int(data, size, "fuzz.npy");
    const std::vector<uint8_t> bytes = rnn::npy_bytes(a);
    const rnn::IntArray again = rnn::parse_npy_int(bytes.data(), bytes.size(), "fuzz (rewritten)");
    if (again.shape != a.shape || again.data != a.data) std::abort();
  } catch (const rnn::Error&) {
  }
  return 0;
}
