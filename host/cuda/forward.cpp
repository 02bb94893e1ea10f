// host/cuda/forward.cpp: rnn::forward on the GPU for host tensors: upload,
// one Plan run on a private stream, download. The device API
// (rnn/cuda.hpp) is what GPU applications use to skip the copies.
#include <cuda_runtime.h>

#include <vector>

#include "../backend.hpp"
#include "buffer.hpp"
#include "check.hpp"
#include "rnn/cuda.hpp"

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

// What both entry points set up: a private stream, a plan for exactly this
// T and B, x, h0 and lengths on the device, y and h_n buffers, and the
// RunArgs that point at them. Members are destroyed in reverse order: the
// buffers, then the plan, then the stream its cuBLAS handle is bound to.
struct Call {
  Stream stream;
  cuda::Plan plan;
  std::vector<int32_t> len32;  // the lengths as the kernels read them (validated: 1 <= len <= T)
  DeviceBuffer x, h0, lengths, y, h_n;
  cuda::RunArgs args;

  Call(const Model& model, const Tensor& x_host, const Tensor* h0_host, const std::vector<int64_t>* lengths_host,
       bool batch_first, Kernel kernel)
      : plan(model, options(x_host, batch_first, kernel)) {
    const ModelConfig& c = model.config();
    args.steps = batch_first ? x_host.dim(1) : x_host.dim(0);
    args.batch = batch_first ? x_host.dim(0) : x_host.dim(1);
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

  static cuda::PlanOptions options(const Tensor& x, bool batch_first, Kernel kernel) {
    cuda::PlanOptions o;
    o.max_steps = batch_first ? x.dim(1) : x.dim(0);
    o.max_batch = batch_first ? x.dim(0) : x.dim(1);
    o.batch_first = batch_first;
    o.kernel = kernel;
    return o;
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
  DeviceBuffer ws(call.plan.workspace_size());
  call.plan.run(call.args, ws.get(), call.stream.get());
  call.download(call.y, y.data());
  call.download(call.h_n, h_n.data());
  RNN_CUDA_CHECK(cudaStreamSynchronize(call.stream.get()));
}

void cuda_backward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                   bool batch_first, Kernel kernel, const Tensor& dy, const Tensor* dh_n, Tensor& y, Tensor& h_n,
                   Tensor& dx, Tensor& dh0, Model& grads) {
  const ModelConfig& c = model.config();
  Call call(model, x, h0, lengths, batch_first, kernel);
  const cudaStream_t stream = call.stream.get();
  y = Tensor(dy.shape());
  h_n = Tensor({c.num_layers * c.num_directions(), call.args.batch, c.hidden_size});
  dx = Tensor(x.shape());
  dh0 = Tensor(h_n.shape());
  DeviceBuffer d_dy = upload(dy.data(), dy.numel() * sizeof(float), stream);
  DeviceBuffer d_dhn = dh_n ? upload(dh_n->data(), dh_n->numel() * sizeof(float), stream) : DeviceBuffer();
  DeviceBuffer d_dx(dx.numel() * sizeof(float)), d_dh0(dh0.numel() * sizeof(float)),
      d_g(call.plan.gradient_count() * sizeof(float));
  DeviceBuffer ws(call.plan.backward_workspace_size());

  cuda::BackwardArgs g;
  g.dy = d_dy.as<float>();
  g.dh_n = dh_n ? d_dhn.as<float>() : nullptr;
  g.dx = d_dx.as<float>();
  g.dh0 = d_dh0.as<float>();
  g.grads = d_g.as<float>();
  call.plan.backward(call.args, g, ws.get(), stream);
  std::vector<float> flat(call.plan.gradient_count());
  call.download(call.y, y.data());
  call.download(call.h_n, h_n.data());
  call.download(d_dx, dx.data());
  call.download(d_dh0, dh0.data());
  call.download(d_g, flat.data());
  RNN_CUDA_CHECK(cudaStreamSynchronize(stream));

  ModelConfig gcfg = c;
  gcfg.output_size = 0;
  grads = Model(gcfg);
  size_t at = 0;
  for (auto& [name, t] : grads.parameters()) {
    std::copy(flat.begin() + static_cast<long>(at), flat.begin() + static_cast<long>(at + t->numel()), t->data());
    at += static_cast<size_t>(t->numel());
  }
}

}  // namespace rnn::detail
