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

}  // namespace

void cuda_forward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                  bool batch_first, Kernel kernel, Tensor& y, Tensor& h_n) {
  const ModelConfig& c = model.config();
  const int64_t T = batch_first ? x.dim(1) : x.dim(0), B = batch_first ? x.dim(0) : x.dim(1);
  const int64_t DH = c.num_directions() * c.hidden_size;
  cuda::PlanOptions opt;
  opt.max_steps = T;
  opt.max_batch = B;
  opt.batch_first = batch_first;
  opt.kernel = kernel;
  Stream stream;  // outlives the plan, whose cuBLAS handle is bound to it
  cuda::Plan plan(model, opt);

  y = batch_first ? Tensor({B, T, DH}) : Tensor({T, B, DH});
  h_n = Tensor({c.num_layers * c.num_directions(), B, c.hidden_size});
  DeviceBuffer d_x = upload(x.data(), x.numel() * sizeof(float), stream.get());
  DeviceBuffer d_h0 = h0 ? upload(h0->data(), h0->numel() * sizeof(float), stream.get()) : DeviceBuffer();
  std::vector<int32_t> len32;
  if (lengths) len32.assign(lengths->begin(), lengths->end());  // validated: 1 <= len <= T
  DeviceBuffer d_len = lengths ? upload(len32.data(), len32.size() * sizeof(int32_t), stream.get()) : DeviceBuffer();
  DeviceBuffer d_y(y.numel() * sizeof(float)), d_hn(h_n.numel() * sizeof(float));
  DeviceBuffer ws(plan.workspace_size());

  cuda::RunArgs a;
  a.steps = T;
  a.batch = B;
  a.x = d_x.as<float>();
  a.h0 = h0 ? d_h0.as<float>() : nullptr;
  a.lengths = lengths ? d_len.as<int32_t>() : nullptr;
  a.y = d_y.as<float>();
  a.h_n = d_hn.as<float>();
  plan.run(a, ws.get(), stream.get());
  RNN_CUDA_CHECK(cudaMemcpyAsync(y.data(), d_y.get(), d_y.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  RNN_CUDA_CHECK(cudaMemcpyAsync(h_n.data(), d_hn.get(), d_hn.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  RNN_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
}

void cuda_backward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                   bool batch_first, Kernel kernel, const Tensor& dy, const Tensor* dh_n, Tensor& y, Tensor& h_n,
                   Tensor& dx, Tensor& dh0, Model& grads) {
  const ModelConfig& c = model.config();
  const int64_t T = batch_first ? x.dim(1) : x.dim(0), B = batch_first ? x.dim(0) : x.dim(1);
  cuda::PlanOptions opt;
  opt.max_steps = T;
  opt.max_batch = B;
  opt.batch_first = batch_first;
  opt.kernel = kernel;
  Stream stream;
  cuda::Plan plan(model, opt);

  y = Tensor(dy.shape());
  h_n = Tensor({c.num_layers * c.num_directions(), B, c.hidden_size});
  dx = Tensor(x.shape());
  dh0 = Tensor(h_n.shape());
  DeviceBuffer d_x = upload(x.data(), x.numel() * sizeof(float), stream.get());
  DeviceBuffer d_h0 = h0 ? upload(h0->data(), h0->numel() * sizeof(float), stream.get()) : DeviceBuffer();
  std::vector<int32_t> len32;
  if (lengths) len32.assign(lengths->begin(), lengths->end());
  DeviceBuffer d_len = lengths ? upload(len32.data(), len32.size() * sizeof(int32_t), stream.get()) : DeviceBuffer();
  DeviceBuffer d_dy = upload(dy.data(), dy.numel() * sizeof(float), stream.get());
  DeviceBuffer d_dhn = dh_n ? upload(dh_n->data(), dh_n->numel() * sizeof(float), stream.get()) : DeviceBuffer();
  DeviceBuffer d_y(y.numel() * sizeof(float)), d_hn(h_n.numel() * sizeof(float)), d_dx(dx.numel() * sizeof(float)),
      d_dh0(dh0.numel() * sizeof(float)), d_g(plan.gradient_count() * sizeof(float));
  DeviceBuffer ws(plan.backward_workspace_size());

  cuda::RunArgs a;
  a.steps = T;
  a.batch = B;
  a.x = d_x.as<float>();
  a.h0 = h0 ? d_h0.as<float>() : nullptr;
  a.lengths = lengths ? d_len.as<int32_t>() : nullptr;
  a.y = d_y.as<float>();
  a.h_n = d_hn.as<float>();
  cuda::BackwardArgs g;
  g.dy = d_dy.as<float>();
  g.dh_n = dh_n ? d_dhn.as<float>() : nullptr;
  g.dx = d_dx.as<float>();
  g.dh0 = d_dh0.as<float>();
  g.grads = d_g.as<float>();
  plan.backward(a, g, ws.get(), stream.get());
  std::vector<float> flat(plan.gradient_count());
  RNN_CUDA_CHECK(cudaMemcpyAsync(y.data(), d_y.get(), d_y.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  RNN_CUDA_CHECK(cudaMemcpyAsync(h_n.data(), d_hn.get(), d_hn.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  RNN_CUDA_CHECK(cudaMemcpyAsync(dx.data(), d_dx.get(), d_dx.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  RNN_CUDA_CHECK(cudaMemcpyAsync(dh0.data(), d_dh0.get(), d_dh0.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  RNN_CUDA_CHECK(cudaMemcpyAsync(flat.data(), d_g.get(), d_g.bytes(), cudaMemcpyDeviceToHost, stream.get()));
  RNN_CUDA_CHECK(cudaStreamSynchronize(stream.get()));

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
