// kernels/backward_persistent.cu: the persistent backward recurrence kernel.
//
// The reverse-time twin of recurrence_persistent.cu, with the same grid
// (PersistentShape): block k of direction d keeps rows [k*R, k*R + R) of
// W_hh[d]^T (so unit i's dot product runs over a contiguous row) in shared
// memory; each step it stages dr of step s+1 for a chunk of sequences, warps
// compute 2-unit x BT-sequence tiles with lane-strided partial sums and
// shuffle reductions, results go to dr (and dh0 at s = -1), and blocks meet
// at a grid barrier before the next (earlier) step.
//
// Kernels:
//   backward_persistent_kernel<BT>   (static) steps T-1 .. -1 of a layer
//
// Registers, spills and the hot loop's instruction mix: scripts/kernel_report.sh
// (shared memory is dynamic, sized by persistent_shape()).
#include <cooperative_groups.h>

#include "backward_persistent.cuh"
#include "warp_tile.cuh"

namespace cg = cooperative_groups;

namespace rnn::kernels {

namespace {
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kRowTile = 2;

}  // namespace

template <int BT>
static __global__ void __launch_bounds__(kThreads, 1)
    backward_persistent_kernel(BackwardParams p, PersistentShape shape) {
  cg::grid_group grid = cg::this_grid();
  extern __shared__ float smem[];
  const int H = p.H, R = shape.rows, chunk = shape.batch_chunk;
  const int d = blockIdx.x / shape.blocks_per_dir;
  const int r0 = (blockIdx.x % shape.blocks_per_dir) * R;
  const int nrows = min(R, H - r0);
  float* w = smem;                                  // [R][H] rows of W_hh[d]^T
  float* vb = smem + static_cast<int64_t>(R) * H;   // [chunk][H] staged dr of step s+1

  const float* wsrc = p.w_hh_t + (static_cast<int64_t>(d) * H + r0) * H;
  for (int64_t k = threadIdx.x; k < static_cast<int64_t>(R) * H; k += kThreads)
    w[k] = k < static_cast<int64_t>(nrows) * H ? wsrc[k] : 0.0f;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row_tiles = (nrows + kRowTile - 1) / kRowTile;
  const int last = p.dh0 ? -1 : 0;  // step -1 only produces dh0
  // The staging loop's (sequence, column) of element k, stepped rather than
  // divided: k advances by kThreads, that is step_bb sequences and step_j
  // columns (step_j < H).
  const int bb_first = static_cast<int>(threadIdx.x) / H, j_first = static_cast<int>(threadIdx.x) % H;
  const int step_bb = kThreads / H, step_j = kThreads % H;
  for (int s = p.T - 1; s >= last; --s) {
    for (int b0 = 0; b0 < p.B; b0 += chunk) {
      const int nb = min(chunk, p.B - b0);
      __syncthreads();
      const int staged = (nb + BT - 1) / BT * BT * H;  // within shared memory: an int
      int bb = bb_first, j = j_first;
      for (int k = threadIdx.x; k < staged; k += kThreads) {
        float v = 0.0f;
        if (bb < nb) {
          const int b = b0 + bb, len = bwd_length(p, b);
          if (s < len && bwd_uses_next(s, len)) v = bwd_load_next(p, d, b, s, len, j);
        }
        vb[k] = v;
        bb += step_bb;
        j += step_j;
        if (j >= H) {
          j -= H;
          ++bb;
        }
      }
      __syncthreads();
      const int batch_tiles = (nb + BT - 1) / BT;
      for (int tile = warp; tile < row_tiles * batch_tiles; tile += kWarps) {
        const int rt = tile / batch_tiles, bt = tile % batch_tiles;
        const float* wr = w + static_cast<int64_t>(rt) * kRowTile * H;
        const float* vr = vb + static_cast<int64_t>(bt) * BT * H;
        float acc[kRowTile][BT];
        bool any = false;  // the same for the whole warp
#pragma unroll
        for (int c = 0; c < BT; ++c) {
          const int bb = bt * BT + c;
          if (bb < nb) {
            const int len = bwd_length(p, b0 + bb);
            any |= s < len && bwd_uses_next(s, len);
          }
        }
        warp_tile_dot<kRowTile, BT>(wr, vr, H, lane, any, acc);
#pragma unroll
        for (int r = 0; r < kRowTile; ++r) {
#pragma unroll
          for (int c = 0; c < BT; ++c) {
            const int row = rt * kRowTile + r, bb = bt * BT + c;
            if (lane == r * BT + c && row < nrows && bb < nb) {
              const int b = b0 + bb;
              bwd_store(p, d, b, r0 + row, s, bwd_length(p, b), acc[r][c]);
            }
          }
        }
      }
    }
    grid.sync();
  }
}

template <int BT>
static cudaError_t prepare(const PersistentShape& shape, int D) {
  int dev = 0, sms = 0, optin = 0, per_sm = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
  if (err == cudaSuccess)
    err = cudaFuncSetAttribute(backward_persistent_kernel<BT>, cudaFuncAttributeMaxDynamicSharedMemorySize, optin);
  if (err == cudaSuccess)
    err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, backward_persistent_kernel<BT>, kThreads,
                                                        shape.smem_bytes);
  if (err != cudaSuccess) return err;
  if (per_sm < 1 || D * shape.blocks_per_dir > per_sm * sms) return cudaErrorInvalidConfiguration;
  return cudaSuccess;
}

cudaError_t backward_persistent_prepare(const PersistentShape& shape, int D) {
  switch (shape.batch_tile) {
    case 4: return prepare<4>(shape, D);
    case 2: return prepare<2>(shape, D);
    case 1: return prepare<1>(shape, D);
    default: return cudaErrorInvalidValue;
  }
}

template <int BT>
static cudaError_t launch(const BackwardParams& p, const PersistentShape& shape, cudaStream_t stream) {
  BackwardParams params = p;
  PersistentShape sh = shape;
  void* args[] = {&params, &sh};
  return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(backward_persistent_kernel<BT>),
                                     dim3(p.D * shape.blocks_per_dir), dim3(kThreads), args, shape.smem_bytes, stream);
}

cudaError_t launch_backward_persistent(const BackwardParams& p, const PersistentShape& shape, cudaStream_t stream) {
  if (p.T < 1 || p.B < 1 || p.H < 1 || p.D < 1 || p.D > 2 || !p.y || !p.dout || !p.w_hh_t || !p.dr)
    return cudaErrorInvalidValue;
  if (shape.blocks_per_dir < 1 || shape.rows < 1 || shape.batch_chunk < shape.batch_tile ||
      static_cast<int64_t>(shape.blocks_per_dir) * shape.rows < p.H)
    return cudaErrorInvalidValue;
  switch (shape.batch_tile) {
    case 4: return launch<4>(p, shape, stream);
    case 2: return launch<2>(p, shape, stream);
    case 1: return launch<1>(p, shape, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace rnn::kernels
