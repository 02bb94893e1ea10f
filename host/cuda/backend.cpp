// host/cuda/backend.cpp: the CUDA component's face to the core: the
// CudaBackend of host/engine/backend.hpp, handed out by rnn_cuda_backend_v1().
#include <memory>

#include "gpu.hpp"

namespace rnn::detail {

namespace {

class Cuda final : public CudaBackend {
 public:
  int device_count(std::string* why) const noexcept override { return cuda_runtime_device_count(why); }
  void forward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
               bool batch_first, Kernel kernel, Tensor& y, Tensor& h_n) const override {
    cuda_forward(model, x, h0, lengths, batch_first, kernel, y, h_n);
  }
  std::unique_ptr<Pass> forward_for_backward(const Model& model, const Tensor& x, const Tensor* h0,
                                                const std::vector<int64_t>* lengths, bool batch_first,
                                                Kernel kernel) const override {
    return std::make_unique<CudaBackwardPass>(model, x, h0, lengths, batch_first, kernel);
  }
  std::unique_ptr<Learner> learner(const Model& model, const LearnOptions& options) const override {
    return cuda_learner(model, options);
  }
  std::unique_ptr<PairLearner> pair_learner(const Seq2SeqModel& model, const LearnOptions& options) const override {
    return cuda_pair_learner(model, options);
  }
  std::vector<int64_t> generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                                double temperature, uint64_t seed) const override {
    return cuda_generate(model, prime, length, temperature, seed);
  }
};

}  // namespace

}  // namespace rnn::detail

extern "C" const rnn::detail::CudaBackend* rnn_cuda_backend_v1() noexcept {
  static const rnn::detail::Cuda backend;
  return &backend;
}
