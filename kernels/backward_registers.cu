// kernels/backward_registers.cu: the backward recurrence with W_hh^T in
// registers, the reverse-time twin of recurrence_registers.cu (same grid,
// same RegistersShape, same data movement).
//
// Block k of direction d owns units [32k, 32k + 32): warp w the units
// 32k + 4w .. +3, lane l of it the columns 4(l + 32m) .. +3 of those rows of
// W_hh[d]^T, in registers for the whole launch. The batch's lengths are
// read once into shared memory. Each step s (T-1 down to -1), for each
// chunk of sequences, dr of step s+1 is staged into shared memory with
// 16-byte asynchronous copies through L2 (two buffers when the batch takes
// several chunks: chunk k + 1 is copied while chunk k is computed); warps
// take the chunk's sequences eight at a time, the group's y, dout (or
// dh_n) loaded one per lane before its dot products, and the 32 lanes
// finish the group's 4 units x 8 sequences together (backward.cuh's
// bwd_store arithmetic). Blocks meet at a grid barrier before the next
// (earlier) step.
//
// Kernels:
//   backward_registers_kernel<KPT>   (static) steps T-1 .. -1 of a layer
//
// Registers, spills and the hot loop's instruction mix: scripts/kernel_report.sh.
#include <cooperative_groups.h>

#include "backward_registers.cuh"
#include "registers_tile.cuh"

namespace cg = cooperative_groups;

namespace rnn::kernels {

namespace tile = registers_tile;

namespace {
constexpr int kThreads = 256;
constexpr int kRows = tile::kRows;
constexpr int kBlockRows = kRows * kThreads / 32;
constexpr int kGroup = 8;

// Where step s reads dr of step s+1 at unit col, or null for zeros (a
// padded position, the sequence's last step, a padding column).
__device__ __forceinline__ const float* next_source(const BackwardParams& p, int d, int b, int s, int len, int col) {
  if (col >= p.H || s >= len || !bwd_uses_next(s, len)) return nullptr;
  return p.dr + bwd_row(p, time_of_step(d, s + 1, len), b) * (p.D * p.H) + d * p.H + col;
}

}  // namespace

template <int KPT>
static __global__ void __launch_bounds__(kThreads, 1) backward_registers_kernel(BackwardParams p, RegistersShape shape) {
  cg::grid_group grid = cg::this_grid();
  extern __shared__ float4 smem4[];
  constexpr int HP = 32 * KPT;
  const int H = p.H, DH = p.D * H, chunk = shape.batch_chunk, buffers = shape.buffers;
  const int d = blockIdx.x / shape.blocks_per_dir;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (blockIdx.x % shape.blocks_per_dir) * kBlockRows + warp * kRows;
  float* vb = reinterpret_cast<float*>(smem4);  // [buffers][chunk][HP]
  int* lens = reinterpret_cast<int*>(vb + static_cast<int64_t>(buffers) * chunk * HP);  // [B]
  const bool vec = H % 4 == 0 && reinterpret_cast<uintptr_t>(p.dr) % 16 == 0;

  for (int b = threadIdx.x; b < p.B; b += kThreads) lens[b] = bwd_length(p, b);

  // Rows row0 .. row0+3 of W_hh[d]^T, columns 4(lane + 32m) + 0..3.
  float w[kRows][KPT];
  tile::load_rows<KPT>(p.w_hh_t + static_cast<int64_t>(d) * H * H, H, row0, lane, w);
  const int my_r = lane % kRows, my_row = row0 + my_r, my_c = lane / kRows;
  __syncthreads();  // lens

  auto stage = [&](int s, int first, int n, float* buf) {
    tile::stage<KPT, kThreads>([&](int b, int len, int col) { return next_source(p, d, b, s, len, col); }, p.dr, first,
                               n, lens, buf, vec);
  };

  const int last = p.dh0 ? -1 : 0;  // step -1 only produces dh0
  for (int s = p.T - 1; s >= last; --s) {
    stage(s, 0, min(chunk, p.B), vb);
    copies_commit();
    for (int b0 = 0, k = 0; b0 < p.B; b0 += chunk, ++k) {
      const int nb = min(chunk, p.B - b0);
      float* cur = vb + static_cast<int64_t>(buffers == 2 ? k & 1 : 0) * chunk * HP;
      if (buffers == 1 && k > 0) {
        stage(s, b0, nb, cur);
        copies_commit();
      }
      if (buffers == 2 && b0 + chunk < p.B) {
        stage(s, b0 + chunk, min(chunk, p.B - b0 - chunk), vb + static_cast<int64_t>((k + 1) & 1) * chunk * HP);
        copies_commit();
        copies_wait<1>();
      } else {
        copies_wait<0>();
      }
      __syncthreads();
      for (int g0 = 0; g0 < nb; g0 += kGroup) {
        // This lane's element: what bwd_store reads besides the sum, loaded
        // before the group's dot products.
        const int c = g0 + my_c, b = b0 + c;
        const bool mine = c < nb && my_row < H;
        const int len = mine ? lens[b] : 0;
        int64_t at = 0;
        float h = 0.0f, dout = 0.0f, r_end = 0.0f;
        if (mine && s < len) {
          if (!bwd_uses_next(s, len) && p.dh_n) r_end = __ldg(p.dh_n + state_index(d, b, my_row, p.B, H));
          if (s >= 0) {
            at = bwd_row(p, time_of_step(d, s, len), b) * DH + d * H + my_row;
            h = __ldg(p.y + at);
            dout = __ldg(p.dout + at);
          }
        } else if (mine) {
          at = bwd_row(p, s, b) * DH + d * H + my_row;  // a padded position (s >= len >= 1)
        }
        float sum = 0.0f;
        const int gn = min(kGroup, nb - g0);
        for (int g = 0; g < gn; ++g) {
          float acc[kRows] = {0.0f, 0.0f, 0.0f, 0.0f};
          const int lg = lens[b0 + g0 + g];
          if (s < lg && bwd_uses_next(s, lg))  // the whole warp agrees: one sequence
            tile::dot_rows<KPT>(w, cur + static_cast<int64_t>(g0 + g) * HP, lane, acc);
          sum = tile::pick(acc, my_c, my_r, g, sum);
        }
        // bwd_store's arithmetic, all 32 lanes at once.
        if (mine) {
          if (s >= len) {
            p.dr[at] = 0.0f;
          } else {
            const float r = bwd_uses_next(s, len) ? sum : r_end;
            if (s < 0) {
              if (p.dh0) p.dh0[state_index(d, b, my_row, p.B, H)] = r;
            } else {
              const float deriv = p.relu ? (h > 0.0f ? 1.0f : 0.0f) : 1.0f - h * h;
              p.dr[at] = deriv * (dout + r);
            }
          }
        }
      }
      __syncthreads();
    }
    grid.sync();
  }
}

template <int KPT>
static cudaError_t prepare(const RegistersShape& shape, int D) {
  int dev = 0, sms = 0, optin = 0, per_sm = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
  if (err == cudaSuccess)
    err = cudaFuncSetAttribute(backward_registers_kernel<KPT>, cudaFuncAttributeMaxDynamicSharedMemorySize, optin);
  if (err == cudaSuccess)
    err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, backward_registers_kernel<KPT>, kThreads,
                                                        shape.smem_bytes);
  if (err != cudaSuccess) return err;
  if (per_sm < 1 || D * shape.blocks_per_dir > per_sm * sms) return cudaErrorInvalidConfiguration;
  return cudaSuccess;
}

cudaError_t backward_registers_prepare(const RegistersShape& shape, int D) {
  switch (shape.cols_per_lane) {
    case 4: return prepare<4>(shape, D);
    case 8: return prepare<8>(shape, D);
    case 16: return prepare<16>(shape, D);
    case 32: return prepare<32>(shape, D);
    default: return cudaErrorInvalidValue;
  }
}

template <int KPT>
static cudaError_t launch(const BackwardParams& p, const RegistersShape& shape, cudaStream_t stream) {
  BackwardParams params = p;
  RegistersShape sh = shape;
  void* args[] = {&params, &sh};
  return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(backward_registers_kernel<KPT>),
                                     dim3(p.D * shape.blocks_per_dir), dim3(kThreads), args, shape.smem_bytes, stream);
}

cudaError_t launch_backward_registers(const BackwardParams& p, const RegistersShape& shape, cudaStream_t stream) {
  if (p.T < 1 || p.B < 1 || p.H < 1 || p.D < 1 || p.D > 2 || !p.y || !p.dout || !p.w_hh_t || !p.dr)
    return cudaErrorInvalidValue;
  const size_t needed = static_cast<size_t>(shape.buffers) * shape.batch_chunk * 32 * shape.cols_per_lane *
                            sizeof(float) + static_cast<size_t>(p.B) * sizeof(int);
  if (p.H > 32 * shape.cols_per_lane || shape.batch_chunk < 1 || shape.buffers < 1 || shape.buffers > 2 ||
      shape.smem_bytes < needed ||
      static_cast<int64_t>(shape.blocks_per_dir) * kBlockRows < p.H)
    return cudaErrorInvalidValue;
  switch (shape.cols_per_lane) {
    case 4: return launch<4>(p, shape, stream);
    case 8: return launch<8>(p, shape, stream);
    case 16: return launch<16>(p, shape, stream);
    case 32: return launch<32>(p, shape, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace rnn::kernels
