// host/api/tensor.cpp: rnn::Tensor and shape helpers.
#include "rnn/tensor.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "rnn/error.hpp"
#include "rnn/limits.hpp"

namespace rnn {

int64_t Tensor::dim(int64_t i) const {
  if (i < 0 || i >= rank())
    throw Error("tensor", "has no dimension " + std::to_string(i) + ": its shape is " + shape_string(shape_) +
                              " (rank " + std::to_string(rank()) + ")");
  return shape_[static_cast<size_t>(i)];
}

int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(what, "negative extent in shape " + shape_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error(what, "shape " + shape_string(shape) + " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

int64_t first_non_finite(const Tensor& t) noexcept {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t[i])) return i;
  return -1;
}

std::string index_string(const std::vector<int64_t>& shape, int64_t index, const std::vector<std::string>& names) {
  std::vector<int64_t> at(shape.size(), 0);
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] > 0) {
      at[d] = index % shape[d];
      index /= shape[d];
    }
  }
  std::ostringstream s;
  s << '[';
  for (size_t d = 0; d < at.size(); ++d) {
    s << (d ? ", " : "");
    if (d < names.size()) s << names[d] << '=';
    s << at[d];
  }
  s << ']';
  return s.str();
}

Tensor::Tensor(std::vector<int64_t> shape) : shape_(std::move(shape)) {
  const int64_t n = checked_numel(shape_, "tensor");
  if (static_cast<uint64_t>(n) > std::numeric_limits<size_t>::max() / sizeof(float))
    throw Error("tensor", "shape " + shape_string(shape_) + " is too large");
  // Large tensors are checked against the memory left before allocating.
  check_host_bytes(static_cast<uint64_t>(n) * sizeof(float), "tensor",
                   [&] { return "a tensor of shape " + shape_string(shape_); });
  data_.assign(static_cast<size_t>(n), 0.0f);
}

Tensor::Tensor(std::vector<int64_t> shape, std::vector<float> data)
    : shape_(std::move(shape)), data_(std::move(data)) {
  const int64_t n = checked_numel(shape_, "tensor");
  if (static_cast<uint64_t>(n) != data_.size())
    throw Error("tensor", "shape " + shape_string(shape_) + " holds " + std::to_string(n) +
                              " elements but " + std::to_string(data_.size()) + " were given");
}

}  // namespace rnn
