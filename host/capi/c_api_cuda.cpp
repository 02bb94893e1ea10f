// host/capi/c_api_cuda.cpp: the C interface's CUDA plans (rnn/c_api.h) over
// rnn::cuda::Plan, for callers whose tensors live on the GPU (the Python
// package's rnn.torch.RNN on CUDA tensors): device pointers and the
// caller's stream, no copies through the host. Built with the CUDA backend;
// host/capi/c_api.cpp has the stubs of a CPU-only build.
#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "capi/c_api_internal.hpp"
#include "rnn/c_api.h"
#include "rnn/cuda.hpp"
#include "rnn/error.hpp"

struct rnn_cuda_plan {
  std::unique_ptr<rnn::cuda::Plan> plan;
  bool batch_first = false;
};

namespace {

rnn::cuda::RunArgs run_args(const rnn_cuda_args* a) {
  rnn::capi::need(a, "args");
  rnn::cuda::RunArgs r;
  r.steps = a->steps;
  r.batch = a->batch;
  r.x = a->x;
  r.h0 = a->h0;
  r.lengths = a->lengths;
  r.y = a->y;
  r.h_n = a->h_n;
  return r;
}

cudaStream_t stream_of(void* s) { return static_cast<cudaStream_t>(s); }

}  // namespace

extern "C" {

int rnn_cuda_plan_new(const rnn_config* config, int64_t max_steps, int64_t max_batch, int32_t batch_first,
                      rnn_cuda_plan** out) {
  return rnn::capi::guard([&] {
    rnn::capi::need(out, "out");
    const rnn::ModelConfig cfg = rnn::capi::model_config(config);
    if (cfg.output_size != 0) throw rnn::Error("config", "a CUDA plan takes no head (output_size 0)");
    rnn::cuda::PlanOptions o;
    o.max_steps = max_steps;
    o.max_batch = max_batch;
    o.batch_first = batch_first != 0;
    auto p = std::make_unique<rnn_cuda_plan>();
    p->plan = std::make_unique<rnn::cuda::Plan>(rnn::Model(cfg), o);
    p->batch_first = o.batch_first;
    *out = p.release();
  });
}

void rnn_cuda_plan_free(rnn_cuda_plan* plan) { delete plan; }

int rnn_cuda_plan_sizes(const rnn_cuda_plan* plan, uint64_t* forward_workspace, uint64_t* backward_workspace,
                        uint64_t* parameter_count) {
  return rnn::capi::guard([&] {
    rnn::capi::need(plan, "plan");
    if (forward_workspace) *forward_workspace = plan->plan->workspace_size();
    if (backward_workspace) *backward_workspace = plan->plan->backward_workspace_size();
    if (parameter_count) *parameter_count = plan->plan->gradient_count();
  });
}

int rnn_cuda_plan_load_weights(rnn_cuda_plan* plan, const float* flat, void* stream) {
  return rnn::capi::guard([&] {
    rnn::capi::need(plan, "plan");
    plan->plan->load_weights(flat, stream_of(stream));
  });
}

int rnn_cuda_plan_forward(rnn_cuda_plan* plan, const rnn_cuda_args* args, void* workspace, int32_t keep,
                          void* stream) {
  return rnn::capi::guard([&] {
    rnn::capi::need(plan, "plan");
    const rnn::cuda::RunArgs a = run_args(args);
    if (keep) plan->plan->forward_for_backward(a, workspace, stream_of(stream));
    else plan->plan->run(a, workspace, stream_of(stream));
  });
}

int rnn_cuda_plan_backward(rnn_cuda_plan* plan, const rnn_cuda_args* args, const float* dy, const float* dh_n,
                           float* dx, float* dh0, float* grads, void* workspace, void* stream) {
  return rnn::capi::guard([&] {
    rnn::capi::need(plan, "plan");
    const rnn::cuda::RunArgs a = run_args(args);
    rnn::cuda::BackwardArgs g;
    g.dy = dy;
    g.dh_n = dh_n;
    g.dx = dx;
    g.dh0 = dh0;
    g.grads = grads;
    plan->plan->backward_after_forward(a, g, workspace, stream_of(stream));
  });
}

}  // extern "C"
