// tests/fuzz/fuzz_safetensors.cpp: the safetensors reader and the model
// loader on arbitrary bytes. Every input must either parse or be refused
// with rnn::Error; anything else (a crash, a sanitizer report, another
// exception such as std::bad_alloc, a leak) is a finding. What parses must
// survive a write and a re-read unchanged, bit for bit.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "rnn/error.hpp"
#include "rnn/io.hpp"
#include "rnn/model.hpp"

namespace {

bool same_bits(const rnn::Tensor& a, const rnn::Tensor& b) {
  return a.shape() == b.shape() &&
         (a.numel() == 0 || std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rnn::TensorFile file;
  try {
    file = rnn::parse_safetensors(data, size, "fuzz.safetensors");
  } catch (const rnn::Error&) {
    return 0;
  }
  // Written back (F32) and read again: the same tensors and metadata.
  const std::vector<uint8_t> bytes = rnn::safetensors_bytes(file, "fuzz.safetensors");
  const rnn::TensorFile again = rnn::parse_safetensors(bytes.data(), bytes.size(), "fuzz (rewritten)");
  if (again.tensors.size() != file.tensors.size() || again.metadata != file.metadata) std::abort();
  for (size_t i = 0; i < file.tensors.size(); ++i)
    if (again.tensors[i].first != file.tensors[i].first || !same_bits(again.tensors[i].second, file.tensors[i].second))
      std::abort();
  // As a model: loads or is refused; a loaded model validates and saves.
  try {
    const rnn::Model m = rnn::model_from_tensors(file, "fuzz.safetensors");
    m.validate();
    const std::vector<uint8_t> saved = rnn::model_bytes(m);
    const rnn::Model back = rnn::parse_model(saved.data(), saved.size(), "fuzz (saved)");
    if (back.parameter_count() != m.parameter_count()) std::abort();
  } catch (const rnn::Error&) {
  }
  return 0;
}
