// host/engine/pass.cpp: forward_for_backward (host/engine/pass.hpp) and the CPU's
// Passes: the fast backend's (float, kept layer outputs, its BPTT) and the
// reference's (double, its cache, the reference BPTT).
#include "engine/pass.hpp"

#include "cpu/fast.hpp"
#include "cpu/reference.hpp"
#include "api/inputs.hpp"
#include "rnn/error.hpp"

namespace rnn::detail {

namespace {

// The checks both CPU passes make before their backward pass.
void check_backward_args(bool done, const Tensor& dy, const Tensor* dh_n, const std::vector<int64_t>& y_shape,
                         const std::vector<int64_t>& state_shape) {
  if (done) throw Error("args", "the backward pass of this forward pass has already run");
  if (dy.shape() != y_shape)
    throw Error("dy", "has shape " + shape_string(dy.shape()) + ", expected y's shape " + shape_string(y_shape));
  if (dh_n && dh_n->shape() != state_shape)
    throw Error("dh_n", "has shape " + shape_string(dh_n->shape()) + ", expected [L*D, B, H] = " +
                            shape_string(state_shape));
}

class CpuPass final : public Pass {
 public:
  CpuPass(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
          bool batch_first)
      : model_(model), h0_(h0), len_(lengths ? lengths->data() : nullptr), batch_first_(batch_first) {
    if (batch_first) xt_ = swap01(x);
    x_ = batch_first ? &xt_ : &x;
    cpu::forward(model, *x_, h0, len_, y_, h_n_, &cache_);
    if (batch_first) y_ = swap01(y_);
    y_shape_ = y_.shape();
    state_shape_ = h_n_.shape();
  }
  Tensor& y() override { return y_; }
  Tensor& h_n() override { return h_n_; }
  void backward(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) override {
    check_backward_args(done_, dy, dh_n, y_shape_, state_shape_);
    done_ = true;
    if (batch_first_) {
      cpu::backward(model_, *x_, h0_, len_, cache_, swap01(dy), dh_n, dx, dh0, grads);
      dx = swap01(dx);
    } else {
      cpu::backward(model_, *x_, h0_, len_, cache_, dy, dh_n, dx, dh0, grads);
    }
  }

 private:
  const Model& model_;
  const Tensor* x_ = nullptr;  // time-major: the caller's x, or xt_
  Tensor xt_;
  const Tensor* h0_;
  const int64_t* len_;
  bool batch_first_;
  cpu::ForwardCache cache_;
  Tensor y_, h_n_;
  std::vector<int64_t> y_shape_, state_shape_;  // kept: y_ and h_n_ may be moved from
  bool done_ = false;
};

class FastPass final : public Pass {
 public:
  FastPass(const Model& model, const Tensor& x, const std::vector<int64_t>* lengths, const Tensor* h0,
           bool batch_first)
      : model_(model), batch_first_(batch_first) {
    if (batch_first) xt_ = swap01(x);
    x_ = batch_first ? &xt_ : &x;
    cpu::fast::forward(model, *x_, h0, lengths ? lengths->data() : nullptr, cache_, h_n_);
    y_ = cpu::fast::output(cache_);
    if (batch_first) y_ = swap01(y_);
    y_shape_ = y_.shape();
    state_shape_ = h_n_.shape();
  }
  Tensor& y() override { return y_; }
  Tensor& h_n() override { return h_n_; }
  void backward(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) override {
    check_backward_args(done_, dy, dh_n, y_shape_, state_shape_);
    done_ = true;
    cpu::fast::backward(model_, *x_, cache_, batch_first_ ? swap01(dy) : dy, dh_n, &dx, dh0, grads);
    if (batch_first_) dx = swap01(dx);
  }

 private:
  const Model& model_;
  const Tensor* x_ = nullptr;  // time-major: the caller's x, or xt_
  Tensor xt_;
  bool batch_first_;
  cpu::fast::Cache cache_;
  Tensor y_, h_n_;
  std::vector<int64_t> y_shape_, state_shape_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Pass> forward_for_backward(const Model& model, const Tensor& x, const Tensor* h0,
                                           const std::vector<int64_t>* lengths, const ForwardOptions& options) {
  validate_inputs(model, x, h0, lengths, options.batch_first);
  const Device device = options.device == Device::Auto ? resolve_device(Device::Auto) : options.device;
  if (device == Device::Cuda)
    return gpu().forward_for_backward(model, x, h0, lengths, options.batch_first, options.kernel);
  const int64_t T = options.batch_first ? x.dim(1) : x.dim(0), B = options.batch_first ? x.dim(0) : x.dim(1);
  check_cpu_pass_memory(model.config(), T, B, /*backward=*/true, options.batch_first);
  if (device == Device::Cpu && fast_cpu_fits(model.config(), T, B))
    return std::make_unique<FastPass>(model, x, lengths, h0, options.batch_first);
  return std::make_unique<CpuPass>(model, x, h0, lengths, options.batch_first);
}

}  // namespace rnn::detail
