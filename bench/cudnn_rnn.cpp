// bench/cudnn_rnn.cpp: one cuDNN RNN configuration (bench/cudnn_rnn.hpp).
#include "cudnn_rnn.hpp"

#include <algorithm>

namespace rnn::bench::detail {

// Returns cuDNN's error string from the calling function when `call` fails.
#define TRY(call)                                             \
  do {                                                        \
    const cudnnStatus_t st_ = (call);                         \
    if (st_ != CUDNN_STATUS_SUCCESS) return cudnnGetErrorString(st_); \
  } while (0)

CudnnRnn::~CudnnRnn() {
  if (x_desc_) cudnnDestroyRNNDataDescriptor(x_desc_);
  if (y_desc_) cudnnDestroyRNNDataDescriptor(y_desc_);
  if (h_desc_) cudnnDestroyTensorDescriptor(h_desc_);
  if (w_desc_) cudnnDestroyTensorDescriptor(w_desc_);
  if (b_desc_) cudnnDestroyTensorDescriptor(b_desc_);
  if (rnn_) cudnnDestroyRNNDescriptor(rnn_);
  if (dropout_) cudnnDestroyDropoutDescriptor(dropout_);
  if (handle_) cudnnDestroy(handle_);
}

std::string CudnnRnn::setup(const Shape& s, const Model& m, const std::vector<int32_t>& lengths,
                            const int32_t* d_lengths, cudnnRNNAlgo_t algo, cudnnMathType_t math,
                            cudaStream_t stream) {
  s_ = s;
  d_lengths_ = d_lengths;
  const std::string why = describe(lengths, algo, math, stream);
  if (!why.empty()) return why;
  const std::string weights_why = load_weights(m);
  if (!weights_why.empty()) return weights_why;
  TRY(cudnnGetRNNTempSpaceSizes(handle_, rnn_, CUDNN_FWD_MODE_INFERENCE, x_desc_, &work_bytes_, &reserve_bytes_));
  work_ = Buf(std::max<size_t>(work_bytes_, 1));
  reserve_ = Buf(std::max<size_t>(reserve_bytes_, 1));
  return "";
}

std::string CudnnRnn::describe(const std::vector<int32_t>& lengths, cudnnRNNAlgo_t algo, cudnnMathType_t math,
                               cudaStream_t stream) {
  const Shape& s = s_;
  TRY(cudnnCreate(&handle_));
  TRY(cudnnSetStream(handle_, stream));
  TRY(cudnnCreateDropoutDescriptor(&dropout_));
  TRY(cudnnSetDropoutDescriptor(dropout_, handle_, 0.0f, nullptr, 0, 0));
  TRY(cudnnCreateRNNDescriptor(&rnn_));
  const int D = static_cast<int>(s.directions()), H = static_cast<int>(s.H);
  TRY(cudnnSetRNNDescriptor_v8(rnn_, algo, CUDNN_RNN_TANH, CUDNN_RNN_DOUBLE_BIAS,
                               D == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT,
                               CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, math, static_cast<int>(s.I), H, H,
                               static_cast<int>(s.L), dropout_, CUDNN_RNN_PADDED_IO_ENABLED));
  if (algo == CUDNN_RNN_ALGO_PERSIST_DYNAMIC) TRY(cudnnBuildRNNDynamic(handle_, rnn_, static_cast<int>(s.B)));
  float pad = 0.0f;
  TRY(cudnnCreateRNNDataDescriptor(&x_desc_));
  TRY(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                static_cast<int>(s.T), static_cast<int>(s.B), static_cast<int>(s.I),
                                lengths.data(), &pad));
  TRY(cudnnCreateRNNDataDescriptor(&y_desc_));
  TRY(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                static_cast<int>(s.T), static_cast<int>(s.B), D * H, lengths.data(), &pad));
  TRY(cudnnCreateTensorDescriptor(&h_desc_));
  const int hdims[3] = {static_cast<int>(s.L) * D, static_cast<int>(s.B), H};
  const int hstrides[3] = {static_cast<int>(s.B) * H, H, 1};
  TRY(cudnnSetTensorNdDescriptor(h_desc_, CUDNN_DATA_FLOAT, 3, hdims, hstrides));
  return "";
}

std::string CudnnRnn::load_weights(const Model& m) {
  const Shape& s = s_;
  const int D = static_cast<int>(s.directions());
  TRY(cudnnGetRNNWeightSpaceSize(handle_, rnn_, &weight_bytes_));
  weights_ = Buf(weight_bytes_);
  TRY(cudnnCreateTensorDescriptor(&w_desc_));
  TRY(cudnnCreateTensorDescriptor(&b_desc_));
  for (int64_t l = 0; l < s.L; ++l) {
    for (int d = 0; d < D; ++d) {
      const CellWeights& c = m.cell(l, d);
      const Tensor* mats[2] = {&c.w_ih, &c.w_hh};
      const Tensor* biases[2] = {&c.b_ih, &c.b_hh};
      for (int lin = 0; lin < 2; ++lin) {
        void *w_at = nullptr, *b_at = nullptr;
        TRY(cudnnGetRNNWeightParams(handle_, rnn_, static_cast<int32_t>(l * D + d), weight_bytes_, weights_.as<void>(),
                                    lin, w_desc_, &w_at, b_desc_, &b_at));
        if (!w_at || !b_at) return "weight layout not as expected";
        // cuDNN's matrices are row-major [H, in], like PyTorch's (which views them in place).
        BENCH_CUDA(cudaMemcpy(w_at, mats[lin]->data(), mats[lin]->numel() * sizeof(float), cudaMemcpyHostToDevice));
        BENCH_CUDA(cudaMemcpy(b_at, biases[lin]->data(), biases[lin]->numel() * sizeof(float),
                              cudaMemcpyHostToDevice));
      }
    }
  }
  return "";
}

#undef TRY

std::string CudnnRnn::forward(const float* x, float* y) {
  const cudnnStatus_t st =
      cudnnRNNForward(handle_, rnn_, CUDNN_FWD_MODE_INFERENCE, d_lengths_, x_desc_, x, y_desc_, y, h_desc_, nullptr,
                      nullptr, h_desc_, nullptr, nullptr, weight_bytes_, weights_.as<void>(), work_bytes_,
                      work_.as<void>(), reserve_bytes_, reserve_.as<void>());
  return st == CUDNN_STATUS_SUCCESS ? "" : cudnnGetErrorString(st);
}

}  // namespace rnn::bench::detail
