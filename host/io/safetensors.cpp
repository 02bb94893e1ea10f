// host/io/safetensors.cpp: .safetensors reader and writer.
//
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// then the data section; offsets are relative to its start. The reader checks
// the header length against the file, every offset pair against the data
// section, each tensor's byte size against dtype * shape, and that tensors
// neither overlap nor leave holes. Allocation is bounded by the file's size.
#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/dtype.hpp"
#include "rnn/error.hpp"
#include "rnn/io.hpp"

namespace rnn {
namespace {

using json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr size_t kMaxRank = 32;

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F64") return 8;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

uint64_t as_index(const json& v, const std::string& name, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  throw Error(name, what + " must be a non-negative integer");
}

struct Entry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// torch.save writes a zip archive (PyTorch >= 1.6) or a bare pickle; a
// safetensors header (JSON) starts with '{' after its 8-byte length.
void refuse_torch_file(const uint8_t* bytes, size_t size, const std::string& name) {
  const bool json_at_8 = size >= 9 && bytes[8] == '{';
  const bool zip = !json_at_8 && size >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;
  const bool pickle = !json_at_8 && size >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
  if (zip || pickle)
    throw Error(name, std::string("is a PyTorch ") + (zip ? "zip" : "pickle") +
                          " file (torch.save), not safetensors: convert it with "
                          "`python3 scripts/export_torch.py " + name + " model.safetensors` (needs only PyTorch)");
}

// The JSON header (a JSON object naming no key twice); sets *header_len to
// its length, checked against the file's size and the 100 MB limit.
json parse_header(const uint8_t* bytes, size_t size, const std::string& name, uint64_t* header_len_out) {
  if (size < 8) throw Error(name, "not a safetensors file: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  const uint64_t header_len = detail::load_u64(bytes);
  if (header_len > size - 8)
    throw Error(name, "truncated: header length " + std::to_string(header_len) + " runs past the end of the file (" +
                          std::to_string(size) + " bytes)");
  if (header_len > kMaxHeaderBytes)
    throw Error(name, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  const char* hbegin = reinterpret_cast<const char*>(bytes + 8);
  // The callback sees every key as it is parsed; the JSON library itself
  // would silently keep the last of two equal names.
  std::set<std::string> top_keys;
  std::string duplicate;
  const json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && !top_keys.insert(parsed.get<std::string>()).second &&
        duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header = json::parse(hbegin, hbegin + header_len, on_event, /*allow_exceptions=*/false);
  if (header.is_discarded()) throw Error(name, "header is not valid JSON");
  if (!duplicate.empty()) throw Error(name, "header names '" + duplicate + "' twice");
  if (!header.is_object()) throw Error(name, "header is not a JSON object");
  *header_len_out = header_len;
  return header;
}

// "__metadata__": string values only, into file.metadata.
void read_metadata(const json& value, const std::string& name, TensorFile& file) {
  if (!value.is_object()) throw Error(name, "__metadata__ is not a JSON object");
  for (const auto& [mk, mv] : value.items()) {
    if (!mv.is_string()) throw Error(name, "__metadata__ value of '" + mk + "' is not a string");
    file.metadata[mk] = mv.get<std::string>();
  }
}

// One tensor's entry: its fields, dtype, shape and offsets checked, its
// bytes within the data section (`data_size` bytes) and matching its shape.
Entry parse_entry(const std::string& key, const json& value, uint64_t data_size, const std::string& name) {
  const std::string where = "tensor '" + key + "'";
  if (key.empty()) throw Error(name, "a tensor has an empty name");
  if (!value.is_object()) throw Error(name, where + ": entry is not a JSON object");
  for (const auto& [field, unused] : value.items()) {
    (void)unused;
    if (field != "dtype" && field != "shape" && field != "data_offsets")
      throw Error(name, where + ": unexpected field '" + field + "'");
  }
  if (!value.contains("dtype") || !value["dtype"].is_string()) throw Error(name, where + ": missing dtype");
  if (!value.contains("shape") || !value["shape"].is_array()) throw Error(name, where + ": missing shape");
  if (!value.contains("data_offsets") || !value["data_offsets"].is_array() || value["data_offsets"].size() != 2)
    throw Error(name, where + ": data_offsets must be a pair [begin, end]");
  Entry e;
  e.name = key;
  e.dtype = value["dtype"].get<std::string>();
  const size_t item = dtype_size(e.dtype);
  if (item == 0)
    throw Error(name, where + ": dtype " + e.dtype + " is not supported (F32, F64, F16 or BF16)");
  if (value["shape"].size() > kMaxRank) throw Error(name, where + ": too many dimensions");
  for (const auto& d : value["shape"]) {
    const uint64_t v = as_index(d, name, where + ": shape entry");
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(name, where + ": shape entry too large");
    e.shape.push_back(static_cast<int64_t>(v));
  }
  e.begin = as_index(value["data_offsets"][0], name, where + ": data offset");
  e.end = as_index(value["data_offsets"][1], name, where + ": data offset");
  if (e.begin > e.end) throw Error(name, where + ": data_offsets begin > end");
  if (e.end > data_size)
    throw Error(name, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                          "] run past the data section (" + std::to_string(data_size) + " bytes)");
  const int64_t numel = checked_numel(e.shape, name);
  if (static_cast<uint64_t>(numel) > (e.end - e.begin) / item ||
      static_cast<uint64_t>(numel) * item != e.end - e.begin)
    throw Error(name, where + ": shape " + shape_string(e.shape) + " of " + e.dtype + " needs " +
                          std::to_string(numel) + " elements but its data holds " +
                          std::to_string(e.end - e.begin) + " bytes");
  return e;
}

// The entries in the order of their data, which must tile the data section
// (`data_size` bytes) with neither overlaps nor holes.
std::vector<const Entry*> by_offset(const std::vector<Entry>& entries, uint64_t data_size, const std::string& name) {
  std::vector<const Entry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Entry* a, const Entry* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
  uint64_t covered = 0;
  for (const Entry* e : sorted) {
    if (e->begin < covered) throw Error(name, "tensor '" + e->name + "' overlaps another tensor's data");
    if (e->begin > covered) throw Error(name, "data section has a hole before tensor '" + e->name + "'");
    covered = e->end;
  }
  if (covered != data_size)
    throw Error(name, std::to_string(data_size - covered) + " bytes of the data section belong to no tensor");
  return sorted;
}

// One tensor's values, converted to float from its dtype; `data` is the data section.
Tensor decode(const Entry& e, const uint8_t* data) {
  std::vector<float> values(static_cast<size_t>((e.end - e.begin) / dtype_size(e.dtype)));
  const uint8_t* p = data + e.begin;
  if (e.dtype == "F32") {
    for (size_t i = 0; i < values.size(); ++i) values[i] = detail::load_f32(p + 4 * i);
  } else if (e.dtype == "F64") {
    for (size_t i = 0; i < values.size(); ++i) values[i] = detail::load_f64_as_f32(p + 8 * i);
  } else if (e.dtype == "F16") {
    for (size_t i = 0; i < values.size(); ++i) values[i] = detail::half_to_float(detail::load_u16(p + 2 * i));
  } else {
    for (size_t i = 0; i < values.size(); ++i) values[i] = detail::bf16_to_float(detail::load_u16(p + 2 * i));
  }
  return Tensor(e.shape, std::move(values));
}

}  // namespace

const Tensor* TensorFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

TensorFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& name) {
  refuse_torch_file(bytes, size, name);
  uint64_t header_len = 0;
  const json header = parse_header(bytes, size, name, &header_len);

  const uint64_t data_size = size - 8 - header_len;
  const uint8_t* data = bytes + 8 + header_len;
  TensorFile file;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      read_metadata(value, name, file);
      continue;
    }
    entries.push_back(parse_entry(key, value, data_size, name));
  }
  for (const Entry* e : by_offset(entries, data_size, name)) file.tensors.emplace_back(e->name, decode(*e, data));
  return file;
}

TensorFile read_safetensors(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> safetensors_bytes(const TensorFile& file, const std::string& name) {
  json header = json::object();
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [tname, t] : file.tensors) {
    if (tname.empty() || tname == "__metadata__") throw Error(name, "invalid tensor name '" + tname + "'");
    if (!seen.insert(tname).second) throw Error(name, "duplicate tensor name '" + tname + "'");
    if (static_cast<uint64_t>(t.numel()) != static_cast<uint64_t>(checked_numel(t.shape(), name)))
      throw Error(name, "tensor '" + tname + "' holds no data (a default-constructed Tensor)");
    if (t.shape().size() > kMaxRank) throw Error(name, "tensor '" + tname + "' has more than 32 dimensions");
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * 4;
    header[tname] = {{"dtype", "F32"}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!file.metadata.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : file.metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception&) {
    throw Error(name, "a tensor name or metadata value is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> out(8 + text.size() + offset);
  detail::store_u64(out.data(), text.size());
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* p = out.data() + 8 + text.size();
  for (const auto& entry : file.tensors) {
    const Tensor& t = entry.second;
    for (int64_t i = 0; i < t.numel(); ++i, p += 4) detail::store_u32(p, detail::float_to_bits(t[i]));
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorFile& file) {
  write_file_atomic(path, safetensors_bytes(file, path));
}

}  // namespace rnn
