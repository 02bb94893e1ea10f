// host/engine/pass.cpp: forward_for_backward (host/engine/pass.hpp) and the CPU's
// Passes: the fast backend's (float, kept layer outputs, its BPTT) and the
// reference's (double, its cache, the reference BPTT).
#include "engine/pass.hpp"

#include <memory>
#include <vector>

#include "cpu/fast.hpp"
#include "cpu/reference.hpp"
#include "api/inputs.hpp"
#include "engine/kept.hpp"
#include "rnn/error.hpp"

namespace rnn::detail {

namespace {

// A CPU pass in the caller's layout: x made time-major once, y and dx
// turned back; the backend's forward pass (in the derived constructor,
// which then calls forward_done) and backward pass work time-major.
class HostPass : public Pass {
 public:
  Tensor& y() override { return y_; }
  Tensor& h_n() override { return h_n_; }
  void backward(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) override {
    if (done_) throw Error("args", "the backward pass of this forward pass has already run");
    if (dy.shape() != y_shape_)
      throw Error("dy", "has shape " + shape_string(dy.shape()) + ", expected y's shape " + shape_string(y_shape_));
    if (dh_n && dh_n->shape() != state_shape_)
      throw Error("dh_n", "has shape " + shape_string(dh_n->shape()) + ", expected [L*D, B, H] = " +
                              shape_string(state_shape_));
    done_ = true;
    backward_time_major(batch_first_ ? swap01(dy) : dy, dh_n, dx, dh0, grads);
    if (batch_first_ && !dx.empty()) dx = swap01(dx);
  }

 protected:
  HostPass(const Model& model, const Tensor& x, bool batch_first) : model_(model), batch_first_(batch_first) {
    if (batch_first) xt_ = swap01(x);
    x_ = batch_first ? &xt_ : &x;
  }
  // y_ (time-major) and h_n_ are set: y_ to the caller's layout, shapes kept.
  void forward_done() {
    if (batch_first_) y_ = swap01(y_);
    y_shape_ = y_.shape();
    state_shape_ = h_n_.shape();
  }
  virtual void backward_time_major(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) = 0;

  const Model& model_;
  const Tensor* x_ = nullptr;  // time-major: the caller's x, or xt_
  Tensor y_, h_n_;

 private:
  Tensor xt_;
  bool batch_first_;
  std::vector<int64_t> y_shape_, state_shape_;  // kept: y_ and h_n_ may be moved from
  bool done_ = false;
};

// The reference's: its forward pass with the layer outputs kept in double.
class ReferencePass final : public HostPass {
 public:
  ReferencePass(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                bool batch_first)
      : HostPass(model, x, batch_first), h0_(h0), len_(lengths ? lengths->data() : nullptr) {
    cpu::forward(model, *x_, h0, len_, y_, h_n_, &cache_);
    forward_done();
  }

 private:
  void backward_time_major(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) override {
    cpu::backward(model_, *x_, h0_, len_, cache_, dy, dh_n, dx, dh0, grads);
  }
  const Tensor* h0_;
  const int64_t* len_;
  cpu::ForwardCache cache_;
};

// Caches of finished fast passes, for the next pass (engine/kept.hpp).
Kept<std::unique_ptr<cpu::fast::Cache>, 2>& kept_caches() {
  static auto* kept = new Kept<std::unique_ptr<cpu::fast::Cache>, 2>;  // lives as long as the process
  return *kept;
}

std::unique_ptr<cpu::fast::Cache> take_cache() {
  std::unique_ptr<cpu::fast::Cache> c = kept_caches().take();
  return c ? std::move(c) : std::make_unique<cpu::fast::Cache>();
}

// The fast backend's: its forward pass kept in float.
class FastPass final : public HostPass {
 public:
  FastPass(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
           bool batch_first)
      : HostPass(model, x, batch_first), cache_(take_cache()) {
    cpu::fast::forward(model, *x_, h0, lengths ? lengths->data() : nullptr, *cache_, h_n_);
    y_ = cpu::fast::output(*cache_, std::move(cache_->spare_output));
    forward_done();
  }
  ~FastPass() override {
    cache_->spare_output = std::move(y_.values());  // empty when a caller took y
    if (cpu::fast::capacity_bytes(*cache_) <= cpu::fast::kKeptBytes) kept_caches().give(std::move(cache_));
  }
  FastPass(const FastPass&) = delete;
  FastPass& operator=(const FastPass&) = delete;

 private:
  void backward_time_major(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) override {
    cpu::fast::backward(model_, *x_, *cache_, dy, dh_n, dx_wanted_ ? &dx : nullptr, dh0, grads);
  }
  std::unique_ptr<cpu::fast::Cache> cache_;
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
    return std::make_unique<FastPass>(model, x, h0, lengths, options.batch_first);
  return std::make_unique<ReferencePass>(model, x, h0, lengths, options.batch_first);
}

}  // namespace rnn::detail
