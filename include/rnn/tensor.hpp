// rnn/tensor.hpp: a dense, host-resident, row-major (C order) float32 array.
//
// Tensor owns its data. shape lists the extents, outermost first; data holds
// numel() = product(shape) floats (1 for a rank-0 tensor). Constructors check
// that the element count does not overflow and that data matches shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rnn {

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given shape. Throws rnn::Error on a negative
  // extent or an element count that overflows.
  explicit Tensor(std::vector<int64_t> shape);
  // Tensor holding `data`; throws rnn::Error unless data.size() == numel(shape).
  Tensor(std::vector<int64_t> shape, std::vector<float> data);

  const std::vector<int64_t>& shape() const noexcept { return shape_; }
  int64_t rank() const noexcept { return static_cast<int64_t>(shape_.size()); }
  // Extent of dimension i; throws rnn::Error("tensor", ...) unless
  // 0 <= i < rank().
  int64_t dim(int64_t i) const;
  int64_t numel() const noexcept { return static_cast<int64_t>(data_.size()); }
  bool empty() const noexcept { return shape_.empty() && data_.empty(); }

  float* data() noexcept { return data_.data(); }
  const float* data() const noexcept { return data_.data(); }
  std::vector<float>& values() noexcept { return data_; }
  const std::vector<float>& values() const noexcept { return data_; }

  // Element i of the flat data, unchecked (like std::vector's []): the
  // caller keeps 0 <= i < numel(). References and data() stay valid until
  // the tensor is assigned to, moved from or destroyed.
  float& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }

 private:
  std::vector<int64_t> shape_;
  std::vector<float> data_;
};

// Product of the extents, checked: throws rnn::Error (subject `what`) on a
// negative extent or on overflow past INT64_MAX.
int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& what = "shape");

// "[5, 2, 4]"
std::string shape_string(const std::vector<int64_t>& shape);

// The flat index of the first NaN or infinity in t (row-major order), or -1
// when every element is finite.
int64_t first_non_finite(const Tensor& t) noexcept;

// The coordinates of flat index `index` in `shape`, named by `names` (one
// per dimension): index_string({2, 3}, 4, {"t", "b"}) == "[t=1, b=1]".
// Without names: "[1, 1]".
std::string index_string(const std::vector<int64_t>& shape, int64_t index, const std::vector<std::string>& names = {});

}  // namespace rnn
