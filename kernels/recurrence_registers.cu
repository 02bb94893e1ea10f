// kernels/recurrence_registers.cu: the persistent recurrence kernel with
// W_hh in registers (the second generation; the first, W_hh in shared
// memory, is kernels/recurrence_persistent.cu and stays selectable).
//
// One cooperative launch runs all T steps of a layer, both directions. Block
// k of direction d owns rows [32k, 32k + 32) of W_hh[d]: warp w holds rows
// 32k + 4w .. +3, and lane l of it the columns 4(l + 32m) .. +3 of those
// rows, m = 0 .. KPT/4 - 1: 4 x KPT floats of W_hh in registers for the
// whole launch. Each step, for each chunk of sequences, the block stages
// h_prev (full width, zero-padded to 32 KPT columns) into shared memory;
// then every warp, for each sequence of the chunk, reads h_prev four
// columns at a time (one 16-byte shared load, conflict-free across the
// warp) into 16 FMAs against its 4 rows, reduces its 4 sums across the warp
// with shuffles, and lanes 0..3 finish the 4 rows (bias, activation, store).
// Blocks meet at a grid-wide barrier before the next step reads y.
//
// Accumulation order: each lane's partial sums in column order, then the
// shuffle tree; fixed for a shape, so a run is bitwise reproducible.
//
// Kernels:
//   recurrence_registers_kernel<KPT>   (static) the whole recurrence of a layer
//
// Registers, spills and the hot loop's instruction mix: scripts/kernel_report.sh
// (its --strict asks this kernel for at least 4 FFMA per shared load).
#include <cooperative_groups.h>

#include <algorithm>

#include "recurrence_registers.cuh"

namespace rnn::kernels {

namespace cg = cooperative_groups;

namespace {
constexpr int kThreads = 256;  // 8 warps
constexpr int kRows = 4;       // rows per warp
constexpr int kBlockRows = kRows * kThreads / 32;
}  // namespace

template <int KPT>
static __global__ void __launch_bounds__(kThreads, 1) recurrence_registers_kernel(RecurrenceParams p, RegistersShape shape) {
  cg::grid_group grid = cg::this_grid();
  extern __shared__ float4 smem4[];
  constexpr int HP = 32 * KPT;  // padded width of a staged h_prev row
  const int H = p.H, chunk = shape.batch_chunk;
  const int d = blockIdx.x / shape.blocks_per_dir;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (blockIdx.x % shape.blocks_per_dir) * kBlockRows + warp * kRows;
  float* hb = reinterpret_cast<float*>(smem4);  // [chunk][HP]

  // This lane's slice of W_hh[d]: rows row0 .. row0+3, columns 4(lane + 32m) + 0..3.
  float w[kRows][KPT];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int m = 0; m < KPT / 4; ++m)
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int row = row0 + r, col = 4 * (lane + 32 * m) + q;
        w[r][4 * m + q] = row < H && col < H ? p.w_hh[(static_cast<int64_t>(d) * H + row) * H + col] : 0.0f;
      }

  // The staging loop's (sequence, column) of element k, stepped rather than divided.
  const int bb_first = static_cast<int>(threadIdx.x) / HP, j_first = static_cast<int>(threadIdx.x) % HP;
  constexpr int step_bb = kThreads / HP, step_j = kThreads % HP;

  for (int s = 0; s < p.T; ++s) {
    for (int b0 = 0; b0 < p.B; b0 += chunk) {
      const int nb = min(chunk, p.B - b0);
      __syncthreads();  // the previous chunk's readers are done with hb
      {
        int bb = bb_first, j = j_first;
        const int staged = nb * HP;
        for (int k = threadIdx.x; k < staged; k += kThreads) {
          float v = 0.0f;
          if (j < H) {
            const int b = b0 + bb, len = rec_length(p, b);
            if (s < len) v = rec_load_prev(p, d, b, s, len, j);
          }
          hb[k] = v;
          bb += step_bb;
          j += step_j;
          if (j >= HP) {
            j -= HP;
            ++bb;
          }
        }
      }
      __syncthreads();
      for (int c = 0; c < nb; ++c) {
        const int b = b0 + c, len = rec_length(p, b);
        float acc[kRows] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (s < len) {  // the whole warp agrees: one sequence
          const float4* h4 = reinterpret_cast<const float4*>(hb + static_cast<int64_t>(c) * HP);
#pragma unroll
          for (int m = 0; m < KPT / 4; ++m) {
            const float4 h = h4[lane + 32 * m];
#pragma unroll
            for (int r = 0; r < kRows; ++r) {
              acc[r] = fmaf(w[r][4 * m + 0], h.x, acc[r]);
              acc[r] = fmaf(w[r][4 * m + 1], h.y, acc[r]);
              acc[r] = fmaf(w[r][4 * m + 2], h.z, acc[r]);
              acc[r] = fmaf(w[r][4 * m + 3], h.w, acc[r]);
            }
          }
#pragma unroll
          for (int off = 16; off > 0; off /= 2)
#pragma unroll
            for (int r = 0; r < kRows; ++r) acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], off);
        }
        // Lane r finishes row r (every lane holds every sum after the xor tree).
        float mine = acc[0];
#pragma unroll
        for (int r = 1; r < kRows; ++r)
          if (lane == r) mine = acc[r];
        if (lane < kRows && row0 + lane < H) rec_store(p, d, b, row0 + lane, s, len, mine);
      }
    }
    grid.sync();
  }
}

template <int KPT>
static cudaError_t launch_registers(const RecurrenceParams& p, const RegistersShape& shape, cudaStream_t stream) {
  RecurrenceParams params = p;
  RegistersShape sh = shape;
  void* args[] = {&params, &sh};
  return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(recurrence_registers_kernel<KPT>),
                                     dim3(p.D * shape.blocks_per_dir), dim3(kThreads), args, shape.smem_bytes, stream);
}

template <int KPT>
static cudaError_t blocks_per_sm(size_t smem, int smem_optin, int* blocks) {
  const void* kernel = reinterpret_cast<const void*>(recurrence_registers_kernel<KPT>);
  const cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_optin);
  if (err != cudaSuccess) return err;
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, recurrence_registers_kernel<KPT>, kThreads, smem);
}

cudaError_t registers_shape(int H, int D, int B, RegistersShape* shape) {
  if (H < 1 || D < 1 || D > 2 || B < 1 || !shape) return cudaErrorInvalidValue;
  if (H > kRegistersMaxHidden) return cudaErrorInvalidConfiguration;
  int dev = 0, sms = 0, smem_optin = 0, coop = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev);
  if (err != cudaSuccess) return err;
  if (!coop) return cudaErrorInvalidConfiguration;
  RegistersShape s;
  s.cols_per_lane = H <= 128 ? 4 : H <= 256 ? 8 : H <= 512 ? 16 : 32;
  s.blocks_per_dir = (H + kBlockRows - 1) / kBlockRows;
  const size_t row_bytes = static_cast<size_t>(32 * s.cols_per_lane) * sizeof(float);
  const size_t room = static_cast<size_t>(smem_optin) / row_bytes;
  if (room < 1) return cudaErrorInvalidConfiguration;
  s.batch_chunk = static_cast<int>(std::min<size_t>(room, static_cast<size_t>(B)));
  s.smem_bytes = static_cast<size_t>(s.batch_chunk) * row_bytes;
  int per_sm = 0;
  switch (s.cols_per_lane) {
    case 4: err = blocks_per_sm<4>(s.smem_bytes, smem_optin, &per_sm); break;
    case 8: err = blocks_per_sm<8>(s.smem_bytes, smem_optin, &per_sm); break;
    case 16: err = blocks_per_sm<16>(s.smem_bytes, smem_optin, &per_sm); break;
    default: err = blocks_per_sm<32>(s.smem_bytes, smem_optin, &per_sm); break;
  }
  if (err != cudaSuccess) return err;
  if (per_sm < 1 || D * s.blocks_per_dir > per_sm * sms) return cudaErrorInvalidConfiguration;
  *shape = s;
  return cudaSuccess;
}

cudaError_t launch_recurrence_registers(const RecurrenceParams& p, const RegistersShape& shape, cudaStream_t stream) {
  if (p.T < 1 || p.B < 1 || p.H < 1 || p.D < 1 || p.D > 2 || !p.p || !p.w_hh || !p.y) return cudaErrorInvalidValue;
  if (p.timing_skip != kSkipNone || p.H > 32 * shape.cols_per_lane || shape.batch_chunk < 1 ||
      static_cast<int64_t>(shape.blocks_per_dir) * kBlockRows < p.H)
    return cudaErrorInvalidValue;
  switch (shape.cols_per_lane) {
    case 4: return launch_registers<4>(p, shape, stream);
    case 8: return launch_registers<8>(p, shape, stream);
    case 16: return launch_registers<16>(p, shape, stream);
    case 32: return launch_registers<32>(p, shape, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace rnn::kernels
