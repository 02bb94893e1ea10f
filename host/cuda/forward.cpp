// host/cuda/forward.cpp: rnn::forward on the GPU for host tensors: upload,
// one run of a kept Plan on a private stream, download. The device API
// (rnn/cuda.hpp) is what GPU applications use to skip the copies.
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/kept.hpp"
#include "gpu.hpp"
#include "buffer.hpp"
#include "check.hpp"
#include "rnn/cuda.hpp"
#include "rnn/error.hpp"

namespace rnn::detail {

using cuda_detail::DeviceBuffer;

namespace {

// A stream owned for the duration of one call.
class Stream {
 public:
  Stream() { RNN_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

DeviceBuffer upload(const void* data, size_t bytes, cudaStream_t stream) {
  DeviceBuffer b(bytes);
  if (bytes) RNN_CUDA_CHECK(cudaMemcpyAsync(b.get(), data, bytes, cudaMemcpyHostToDevice, stream));
  return b;
}

// A plan kept between calls: training runs the same passes step after
// step, and a plan costs a cuBLAS handle, device allocations and the
// weights' upload to make. One per device, RNN configuration, kernel and
// layout, grown to the largest T and B seen; a call takes it (no other call
// uses it meanwhile), loads its model's weights into it and gives it back.
struct PlanSlot {
  int device = -1;
  ModelConfig config;  // the RNN's (the head is not the plan's)
  Kernel kernel = Kernel::Auto;
  bool batch_first = false;
  int64_t max_steps = 0, max_batch = 0;
  std::unique_ptr<cuda::Plan> plan;
  DeviceBuffer weights;    // the RNN's parameters, flat, for Plan::load_weights
  DeviceBuffer workspace;  // grown to the largest either half has needed
};
using SlotPtr = std::unique_ptr<PlanSlot>;

bool same_rnn(const ModelConfig& a, const ModelConfig& b) {
  return a.input_size == b.input_size && a.hidden_size == b.hidden_size && a.num_layers == b.num_layers &&
         a.bidirectional == b.bidirectional && a.bias == b.bias && a.nonlinearity == b.nonlinearity;
}

// Never destroyed: at exit the CUDA runtime may be gone before it.
Kept<SlotPtr, 4>& kept_plans() {
  static auto* kept = new Kept<SlotPtr, 4>;
  return *kept;
}

// A plan for `model` that takes T x B, with the model's weights loaded
// (enqueued on `stream`).
SlotPtr lease_plan(const Model& model, int64_t T, int64_t B, bool batch_first, Kernel kernel, cudaStream_t stream) {
  int device = 0;
  RNN_CUDA_CHECK(cudaGetDevice(&device));
  const ModelConfig& c = model.config();
  SlotPtr slot = kept_plans().take_if([&](const SlotPtr& s) {
    return s->device == device && same_rnn(s->config, c) && s->kernel == kernel && s->batch_first == batch_first;
  });
  if (slot && slot->max_steps >= T && slot->max_batch >= B) {
    std::vector<float> flat;
    flat.reserve(slot->plan->gradient_count());
    for (const auto& [name, t] : model.parameters())
      if (flat.size() < slot->plan->gradient_count()) flat.insert(flat.end(), t->data(), t->data() + t->numel());
    if (flat.size() != slot->plan->gradient_count())
      throw Error("cuda", "internal: the kept plan holds " + std::to_string(slot->plan->gradient_count()) +
                              " weights, the model " + std::to_string(flat.size()));
    RNN_CUDA_CHECK(cudaMemcpyAsync(slot->weights.get(), flat.data(), flat.size() * sizeof(float),
                                   cudaMemcpyHostToDevice, stream));
    slot->plan->load_weights(slot->weights.as<float>(), stream);
    // The host copy must outlive the transfer from pageable memory.
    RNN_CUDA_CHECK(cudaStreamSynchronize(stream));
    return slot;
  }
  // None kept, or one too small: a new plan (with the model's weights),
  // grown to the larger of the two.
  auto fresh = std::make_unique<PlanSlot>();
  fresh->device = device;
  fresh->config = c;
  fresh->kernel = kernel;
  fresh->batch_first = batch_first;
  fresh->max_steps = slot ? std::max(slot->max_steps, T) : T;
  fresh->max_batch = slot ? std::max(slot->max_batch, B) : B;
  slot.reset();  // its device memory first
  cuda::PlanOptions o;
  o.max_steps = fresh->max_steps;
  o.max_batch = fresh->max_batch;
  o.batch_first = batch_first;
  o.kernel = kernel;
  fresh->plan = std::make_unique<cuda::Plan>(model, o);
  fresh->weights = DeviceBuffer(fresh->plan->gradient_count() * sizeof(float));
  return fresh;
}

// What both entry points set up: a private stream, a kept plan that takes
// this T and B with the model's weights, x, h0 and lengths on the device,
// y and h_n buffers, and the RunArgs that point at them. The plan goes back
// to the kept ones when the call ends, its stream's work finished.
struct Call {
  Stream stream;
  SlotPtr slot;
  std::vector<int32_t> len32;  // the lengths as the kernels read them (validated: 1 <= len <= T)
  DeviceBuffer x, h0, lengths, y, h_n;
  cuda::RunArgs args;

  Call(const Model& model, const Tensor& x_host, const Tensor* h0_host, const std::vector<int64_t>* lengths_host,
       bool batch_first, Kernel kernel) {
    const ModelConfig& c = model.config();
    args.steps = batch_first ? x_host.dim(1) : x_host.dim(0);
    args.batch = batch_first ? x_host.dim(0) : x_host.dim(1);
    slot = lease_plan(model, args.steps, args.batch, batch_first, kernel, stream.get());
    x = upload(x_host.data(), x_host.numel() * sizeof(float), stream.get());
    if (h0_host) h0 = upload(h0_host->data(), h0_host->numel() * sizeof(float), stream.get());
    if (lengths_host) {
      len32.assign(lengths_host->begin(), lengths_host->end());
      lengths = upload(len32.data(), len32.size() * sizeof(int32_t), stream.get());
    }
    const int64_t states = c.num_layers * c.num_directions() * args.batch * c.hidden_size;
    y = DeviceBuffer(static_cast<size_t>(args.steps * args.batch * c.num_directions() * c.hidden_size) * sizeof(float));
    h_n = DeviceBuffer(static_cast<size_t>(states) * sizeof(float));
    args.x = x.as<float>();
    args.h0 = h0_host ? h0.as<float>() : nullptr;
    args.lengths = lengths_host ? lengths.as<int32_t>() : nullptr;
    args.y = y.as<float>();
    args.h_n = h_n.as<float>();
  }
  ~Call() {
    // Kept only when its work is done and the stream is sound.
    if (slot && cudaStreamSynchronize(stream.get()) == cudaSuccess) kept_plans().give(std::move(slot));
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  cuda::Plan& plan() { return *slot->plan; }
  // The plan's workspace, at least `bytes` (grown, never shrunk).
  void* workspace(size_t bytes) {
    if (slot->workspace.bytes() < bytes) {
      slot->workspace = DeviceBuffer();
      slot->workspace = DeviceBuffer(bytes);
    }
    return slot->workspace.get();
  }

  // Queues the copy of a device buffer into a host tensor of its size.
  void download(const DeviceBuffer& from, void* to) {
    RNN_CUDA_CHECK(cudaMemcpyAsync(to, from.get(), from.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  }
};

}  // namespace

void cuda_forward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                  bool batch_first, Kernel kernel, Tensor& y, Tensor& h_n) {
  const ModelConfig& c = model.config();
  Call call(model, x, h0, lengths, batch_first, kernel);
  const int64_t T = call.args.steps, B = call.args.batch, DH = c.num_directions() * c.hidden_size;
  y = batch_first ? Tensor({B, T, DH}) : Tensor({T, B, DH});
  h_n = Tensor({c.num_layers * c.num_directions(), B, c.hidden_size});
  call.plan().run(call.args, call.workspace(call.plan().workspace_size()), call.stream.get());
  call.download(call.y, y.data());
  call.download(call.h_n, h_n.data());
  RNN_CUDA_CHECK(cudaStreamSynchronize(call.stream.get()));
}

struct CudaBackwardPass::State {
  Call call;
  void* ws;  // the plan's workspace: every layer's outputs, kept for the backward half
  std::vector<int64_t> x_shape, y_shape, state_shape;
  Tensor y, h_n;
  bool done = false;

  State(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
        bool batch_first, Kernel kernel)
      : call(model, x, h0, lengths, batch_first, kernel),
        ws(call.workspace(call.plan().backward_workspace_size())),
        x_shape(x.shape()) {}
};

CudaBackwardPass::CudaBackwardPass(const Model& model, const Tensor& x, const Tensor* h0,
                                   const std::vector<int64_t>* lengths, bool batch_first, Kernel kernel)
    : s_(std::make_unique<State>(model, x, h0, lengths, batch_first, kernel)) {
  const ModelConfig& c = model.config();
  Call& call = s_->call;
  const int64_t T = call.args.steps, B = call.args.batch, DH = c.num_directions() * c.hidden_size;
  s_->y_shape = batch_first ? std::vector<int64_t>{B, T, DH} : std::vector<int64_t>{T, B, DH};
  s_->y = Tensor(s_->y_shape);
  s_->state_shape = {c.num_layers * c.num_directions(), B, c.hidden_size};
  s_->h_n = Tensor(s_->state_shape);
  call.plan().forward_for_backward(call.args, s_->ws, call.stream.get());
  call.download(call.y, s_->y.data());
  call.download(call.h_n, s_->h_n.data());
  RNN_CUDA_CHECK(cudaStreamSynchronize(call.stream.get()));
}

CudaBackwardPass::~CudaBackwardPass() = default;

Tensor& CudaBackwardPass::y() { return s_->y; }
Tensor& CudaBackwardPass::h_n() { return s_->h_n; }

void CudaBackwardPass::backward(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) {
  if (s_->done) throw Error("args", "the backward pass of this forward pass has already run");
  if (dy.shape() != s_->y_shape)
    throw Error("dy", "has shape " + shape_string(dy.shape()) + ", expected y's shape " + shape_string(s_->y_shape));
  if (dh_n && dh_n->shape() != s_->state_shape)
    throw Error("dh_n", "has shape " + shape_string(dh_n->shape()) + ", expected h_n's shape " +
                            shape_string(s_->state_shape));
  s_->done = true;
  Call& call = s_->call;
  const cudaStream_t stream = call.stream.get();
  dx = Tensor(s_->x_shape);
  dh0 = Tensor(s_->state_shape);
  DeviceBuffer d_dy = upload(dy.data(), dy.numel() * sizeof(float), stream);
  DeviceBuffer d_dhn = dh_n ? upload(dh_n->data(), dh_n->numel() * sizeof(float), stream) : DeviceBuffer();
  DeviceBuffer d_dx(dx.numel() * sizeof(float)), d_dh0(dh0.numel() * sizeof(float)),
      d_g(call.plan().gradient_count() * sizeof(float));

  cuda::BackwardArgs g;
  g.dy = d_dy.as<float>();
  g.dh_n = dh_n ? d_dhn.as<float>() : nullptr;
  g.dx = d_dx.as<float>();
  g.dh0 = d_dh0.as<float>();
  g.grads = d_g.as<float>();
  call.plan().backward_after_forward(call.args, g, s_->ws, stream);
  std::vector<float> flat(call.plan().gradient_count());
  call.download(d_dx, dx.data());
  call.download(d_dh0, dh0.data());
  call.download(d_g, flat.data());
  RNN_CUDA_CHECK(cudaStreamSynchronize(stream));

  ModelConfig gcfg = call.plan().config();
  gcfg.output_size = 0;
  grads = Model(gcfg);
  size_t at = 0;
  for (auto& [name, t] : grads.parameters()) {
    std::copy(flat.begin() + static_cast<long>(at), flat.begin() + static_cast<long>(at + t->numel()), t->data());
    at += static_cast<size_t>(t->numel());
  }
}

}  // namespace rnn::detail
