// kernels/step.cu: the fused step kernel (see step.cuh).
//
// One cooperative launch: for each layer in turn, warps take (sequence b,
// unit i) pairs and compute act(bias + W_ih[i] . in_b + W_hh[i] . h_b) with
// lane-strided dot products and a shuffle reduction (a one-hot input reads
// one column of W_ih instead); the grid meets at a barrier between layers
// and before the head; then warps compute the logits likewise; then one
// warp per sequence picks the next index (argmax, or inverse-CDF sampling
// of softmax(z / temperature) with a counter-based uniform draw). Fixed
// reduction orders: bitwise reproducible.
//
// Kernels:
//   step_kernel   (static) the whole step (registers: scripts/kernel_report.sh)
#include <cooperative_groups.h>

#include "step.cuh"
#include "rows.cuh"
#include "warp_tile.cuh"

namespace cg = cooperative_groups;

namespace rnn::kernels {

namespace {
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// splitmix64 of (seed, counter, b): a uniform in [0, 1).
__device__ __forceinline__ double uniform(uint64_t seed, uint64_t counter, int b) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (counter * 1315423911ull + static_cast<uint64_t>(b) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}
}  // namespace

// Picks sequence b's next index from its logits (see step.cuh); all 32
// lanes of the warp call it.
__device__ __forceinline__ void pick_next(const StepParams& p, int b, int lane) {
  const float* z = p.logits + static_cast<int64_t>(b) * p.O;
  // argmax (first of equals), or the max for a stable softmax
  float best = -INFINITY;
  int arg = 0;
  for (int o = lane; o < p.O; o += 32) {
    const float v = __ldcg(z + o);  // written by other blocks in this launch: read through L2
    if (v > best) best = v, arg = o;
  }
  for (int off = 16; off > 0; off >>= 1) {
    const float ob = __shfl_xor_sync(0xffffffffu, best, off);
    const int oa = __shfl_xor_sync(0xffffffffu, arg, off);
    if (ob > best || (ob == best && oa < arg)) best = ob, arg = oa;
  }
  if (p.temperature == 0.0f) {
    if (lane == 0) p.sample[b] = arg;
    return;
  }
  // Inverse CDF on lane 0 over exp((z - max) / T), in index order.
  if (lane == 0) {
    double sum = 0.0;
    for (int o = 0; o < p.O; ++o) sum += exp((static_cast<double>(__ldcg(z + o)) - best) / p.temperature);
    double r = uniform(p.seed, p.counter, b) * sum;
    int pick = p.O - 1;
    for (int o = 0; o < p.O; ++o) {
      const double e = exp((static_cast<double>(__ldcg(z + o)) - best) / p.temperature);
      if (r < e) {
        pick = o;
        break;
      }
      r -= e;
    }
    p.sample[b] = pick;
  }
}

static __global__ void __launch_bounds__(kThreads) step_kernel(StepParams p) {
  cg::grid_group grid = cg::this_grid();
  const int lane = threadIdx.x % 32;
  const int warp = blockIdx.x * kWarps + threadIdx.x / 32, warps = gridDim.x * kWarps;
  for (int l = 0; l < p.L; ++l) {
    const StepLayer& ly = p.layers[l];
    const float* in = l == 0 ? p.x : p.h_out + static_cast<int64_t>(l - 1) * p.B * p.H;
    const float* h = p.h_in + static_cast<int64_t>(l) * p.B * p.H;
    for (int pair = warp; pair < p.B * p.H; pair += warps) {
      const int b = pair / p.H, i = pair % p.H;
      float acc = 0.0f;
      const float* wi = ly.w_ih + static_cast<int64_t>(i) * ly.k;
      if (l == 0 && !p.x) {
        if (lane == 0) acc = wi[p.index[b]];
      } else {
        // Layer l > 0 reads what other blocks wrote in this launch: through L2 (ld.global.cg).
        for (int k = lane; k < ly.k; k += 32) acc = fmaf(wi[k], __ldcg(in + static_cast<int64_t>(b) * ly.k + k), acc);
      }
      const float* wh = ly.w_hh + static_cast<int64_t>(i) * p.H;
      for (int j = lane; j < p.H; j += 32) acc = fmaf(wh[j], h[static_cast<int64_t>(b) * p.H + j], acc);
      acc = warp_sum(acc);
      if (lane == 0) {
        if (ly.bias) acc += ly.bias[i];
        const float v = p.relu ? ((acc > 0.0f || acc != acc) ? acc : 0.0f) : tanhf(acc);
        p.h_out[state_index(l, b, i, p.B, p.H)] = v;
      }
    }
    grid.sync();  // this layer's states are complete before the next reads them
  }
  if (p.O == 0) return;
  const float* top = p.h_out + static_cast<int64_t>(p.L - 1) * p.B * p.H;
  for (int pair = warp; pair < p.B * p.O; pair += warps) {
    const int b = pair / p.O, o = pair % p.O;
    const float* w = p.w_hy + static_cast<int64_t>(o) * p.H;
    float acc = 0.0f;
    for (int j = lane; j < p.H; j += 32) acc = fmaf(w[j], __ldcg(top + static_cast<int64_t>(b) * p.H + j), acc);
    acc = warp_sum(acc);
    if (lane == 0) p.logits[static_cast<int64_t>(b) * p.O + o] = acc + (p.b_hy ? p.b_hy[o] : 0.0f);
  }
  if (!p.sample) return;
  grid.sync();
  for (int b = warp; b < p.B; b += warps) pick_next(p, b, lane);  // one warp per sequence
}
cudaError_t step_grid(int* blocks) {
  int dev = 0, sms = 0, per_sm = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (err == cudaSuccess) err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, step_kernel, kThreads, 0);
  if (err != cudaSuccess) return err;
  if (per_sm < 1) return cudaErrorInvalidConfiguration;
  *blocks = sms;  // one block per multiprocessor: co-resident by construction
  return cudaSuccess;
}

cudaError_t launch_step(const StepParams& p, int blocks, cudaStream_t stream) {
  if (p.L < 1 || p.L > 8 || p.B < 1 || p.H < 1 || p.O < 0 || blocks < 1 || !p.h_in || !p.h_out ||
      (!p.x && !p.index) || (p.O > 0 && (!p.w_hy || !p.logits)) || (p.sample && p.O == 0))
    return cudaErrorInvalidValue;
  StepParams params = p;
  void* args[] = {&params};
  return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(step_kernel), dim3(blocks), dim3(kThreads), args,
                                     0, stream);
}

}  // namespace rnn::kernels
