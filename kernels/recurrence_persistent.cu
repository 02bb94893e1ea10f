// kernels/recurrence_persistent.cu: the persistent recurrence kernel.
//
// One cooperative launch runs all T steps of a layer, both directions. The
// grid has D * blocks_per_dir blocks, one per multiprocessor; block k of
// direction d owns rows [k*R, k*R + R) of W_hh[d] and copies them into
// shared memory once. Each step, for each chunk of sequences, the block
// stages h_prev (full width H) into shared memory, then each warp computes
// tiles of 2 rows x BT sequences: lanes stride over j, keep 2*BT partial
// sums in registers, and reduce them with shuffles. The new states go to y
// in global memory; blocks meet at a grid-wide barrier (cooperative groups
// grid.sync(), which also orders the memory) before the next step reads
// them. Sequences past their length cost no arithmetic.
//
// Fits when R * H + batch_tile * H floats fit in a block's shared memory
// (R = ceil(H / blocks_per_dir)): about H <= 2048 on one direction and
// H <= 1536 on two, on a 132-multiprocessor H100 (227 KB per block).
//
// Kernels:
//   recurrence_persistent_kernel<BT, SKIP>   (static) the whole recurrence of a layer
//     BT   = sequences per warp tile (1, 2 or 4)
//     SKIP = a TimingSkip (recurrence.cuh): kSkipNone in every real run; the
//            others are the benchmark's timing variants (outputs invalid)
//
// Registers, spills and the hot loop's instruction mix: scripts/kernel_report.sh
// (W_hh and h_prev live in dynamic shared memory, sized by persistent_shape()).
#include <cooperative_groups.h>

#include <algorithm>

#include "recurrence_persistent.cuh"
#include "warp_tile.cuh"

namespace cg = cooperative_groups;

namespace rnn::kernels {

namespace {
constexpr int kThreads = 256;  // 8 warps
constexpr int kWarps = kThreads / 32;
constexpr int kRowTile = 2;    // rows per warp tile

}  // namespace

template <int BT, int SKIP>
static __global__ void __launch_bounds__(kThreads, 1) recurrence_persistent_kernel(RecurrenceParams p, PersistentShape shape) {
  cg::grid_group grid = cg::this_grid();
  extern __shared__ float smem[];
  const int H = p.H, R = shape.rows, chunk = shape.batch_chunk;
  const int d = blockIdx.x / shape.blocks_per_dir;
  const int r0 = (blockIdx.x % shape.blocks_per_dir) * R;
  const int nrows = min(R, H - r0);  // >= 1 by construction of the grid
  float* w = smem;                   // [R][H]   rows r0 .. r0+R-1 of W_hh[d] (zero past nrows)
  float* hb = smem + static_cast<int64_t>(R) * H;  // [chunk][H]   staged h_prev

  const float* wsrc = p.w_hh + (static_cast<int64_t>(d) * H + r0) * H;
  for (int64_t k = threadIdx.x; k < static_cast<int64_t>(R) * H; k += kThreads)
    w[k] = k < static_cast<int64_t>(nrows) * H ? wsrc[k] : 0.0f;

  if constexpr (SKIP == kSkipStaging)  // timing variant: every step reads these zeros
    for (int64_t k = threadIdx.x; k < static_cast<int64_t>(chunk) * H; k += kThreads) hb[k] = 0.0f;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row_tiles = (nrows + kRowTile - 1) / kRowTile;
  // The staging loop's (sequence, column) of element k, stepped rather than
  // divided: k advances by kThreads, that is step_bb sequences and step_j
  // columns (step_j < H).
  const int bb_first = static_cast<int>(threadIdx.x) / H, j_first = static_cast<int>(threadIdx.x) % H;
  const int step_bb = kThreads / H, step_j = kThreads % H;
  for (int s = 0; s < p.T; ++s) {
    for (int b0 = 0; b0 < p.B; b0 += chunk) {
      const int nb = min(chunk, p.B - b0);
      __syncthreads();  // weights loaded / the previous chunk's readers are done with hb
      if constexpr (SKIP != kSkipStaging) {
        // Stage only the tiles this chunk uses (a run may have B < the planned
        // batch); the count is within shared memory, so an int.
        const int staged = (nb + BT - 1) / BT * BT * H;
        int bb = bb_first, j = j_first;
        for (int k = threadIdx.x; k < staged; k += kThreads) {
          float v = 0.0f;
          if (bb < nb) {
            const int b = b0 + bb, len = rec_length(p, b);
            if (s < len) v = rec_load_prev(p, d, b, s, len, j);
          }
          hb[k] = v;
          bb += step_bb;
          j += step_j;
          if (j >= H) {
            j -= H;
            ++bb;
          }
        }
      }
      __syncthreads();
      const int batch_tiles = (nb + BT - 1) / BT;
      for (int tile = warp; tile < row_tiles * batch_tiles; tile += kWarps) {
        const int rt = tile / batch_tiles, bt = tile % batch_tiles;
        const float* wr = w + static_cast<int64_t>(rt) * kRowTile * H;
        const float* hr = hb + static_cast<int64_t>(bt) * BT * H;
        float acc[kRowTile][BT];
        // A tile whose sequences have all ended only writes zeros.
        bool any_active = false;
#pragma unroll
        for (int c = 0; c < BT; ++c) {
          const int bb = bt * BT + c;
          any_active |= bb < nb && s < rec_length(p, b0 + bb);
        }
        warp_tile_dot<kRowTile, BT>(wr, hr, H, lane, any_active, acc);
        // Lane r * BT + c finishes element (row r, sequence c) of the tile.
#pragma unroll
        for (int r = 0; r < kRowTile; ++r) {
#pragma unroll
          for (int c = 0; c < BT; ++c) {
            const int row = rt * kRowTile + r, bb = bt * BT + c;
            if (lane == r * BT + c && row < nrows && bb < nb) {
              const int b = b0 + bb;
              if constexpr (SKIP == kSkipEpilogue)
                rec_sink(p, acc[r][c]);
              else
                rec_store(p, d, b, r0 + row, s, rec_length(p, b), acc[r][c]);
            }
          }
        }
      }
    }
    if constexpr (SKIP == kSkipBarrier)
      __syncthreads();
    else
      grid.sync();
  }
}

template <int BT, int SKIP>
static cudaError_t launch_persistent(const RecurrenceParams& p, const PersistentShape& shape, cudaStream_t stream) {
  // The kernel's dynamic shared-memory limit was raised to the device's
  // maximum by persistent_shape(); it is never lowered, so plans of other
  // sizes on other threads cannot undercut this launch.
  auto kernel = recurrence_persistent_kernel<BT, SKIP>;
  RecurrenceParams params = p;
  PersistentShape sh = shape;
  void* args[] = {&params, &sh};
  return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), dim3(p.D * shape.blocks_per_dir),
                                     dim3(kThreads), args, shape.smem_bytes, stream);
}

// The launch of tile width BT with the timing variant p.timing_skip.
template <int BT>
static cudaError_t launch_variant(const RecurrenceParams& p, const PersistentShape& shape, cudaStream_t stream) {
  switch (p.timing_skip) {
    case kSkipNone: return launch_persistent<BT, kSkipNone>(p, shape, stream);
    case kSkipStaging: return launch_persistent<BT, kSkipStaging>(p, shape, stream);
    case kSkipEpilogue: return launch_persistent<BT, kSkipEpilogue>(p, shape, stream);
    case kSkipBarrier: return launch_persistent<BT, kSkipBarrier>(p, shape, stream);
    default: return cudaErrorInvalidValue;
  }
}

// Raises the kernel's dynamic shared-memory limit to the device's maximum
// (the same value from every caller: an upper bound, not a reservation),
// for the real kernel and its timing variants, and asks how many blocks of
// `smem` bytes of the real kernel fit on one multiprocessor.
template <int BT>
static cudaError_t max_blocks_per_sm(size_t smem, int smem_optin, int* blocks) {
  const void* variants[] = {reinterpret_cast<const void*>(recurrence_persistent_kernel<BT, kSkipNone>),
                            reinterpret_cast<const void*>(recurrence_persistent_kernel<BT, kSkipStaging>),
                            reinterpret_cast<const void*>(recurrence_persistent_kernel<BT, kSkipEpilogue>),
                            reinterpret_cast<const void*>(recurrence_persistent_kernel<BT, kSkipBarrier>)};
  for (const void* kernel : variants) {
    const cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_optin);
    if (err != cudaSuccess) return err;
  }
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, recurrence_persistent_kernel<BT, kSkipNone>, kThreads, smem);
}

cudaError_t persistent_shape(int H, int D, int B, PersistentShape* shape) {
  if (H < 1 || D < 1 || D > 2 || B < 1 || !shape) return cudaErrorInvalidValue;
  int dev = 0, sms = 0, smem_optin = 0, coop = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev);
  if (err != cudaSuccess) return err;
  if (!coop || sms < D) return cudaErrorInvalidConfiguration;

  PersistentShape s;
  s.batch_tile = B >= 4 ? 4 : (B >= 2 ? 2 : 1);
  const int per_dir = sms / D;
  s.rows = (H + per_dir - 1) / per_dir;
  s.rows += s.rows % kRowTile;
  s.blocks_per_dir = (H + s.rows - 1) / s.rows;
  const size_t row_bytes = static_cast<size_t>(H) * sizeof(float);
  const size_t weights = static_cast<size_t>(s.rows) * row_bytes;
  if (weights + s.batch_tile * row_bytes > static_cast<size_t>(smem_optin)) return cudaErrorInvalidConfiguration;
  // As many sequences per staging round as fit, a multiple of the tile.
  const size_t room = (static_cast<size_t>(smem_optin) - weights) / row_bytes;
  const int want = (B + s.batch_tile - 1) / s.batch_tile * s.batch_tile;
  s.batch_chunk = static_cast<int>(std::min<size_t>(room / s.batch_tile * s.batch_tile, static_cast<size_t>(want)));
  s.smem_bytes = weights + static_cast<size_t>(s.batch_chunk) * row_bytes;

  int per_sm = 0;
  switch (s.batch_tile) {
    case 4: err = max_blocks_per_sm<4>(s.smem_bytes, smem_optin, &per_sm); break;
    case 2: err = max_blocks_per_sm<2>(s.smem_bytes, smem_optin, &per_sm); break;
    default: err = max_blocks_per_sm<1>(s.smem_bytes, smem_optin, &per_sm); break;
  }
  if (err != cudaSuccess) return err;
  if (per_sm < 1 || D * s.blocks_per_dir > per_sm * sms) return cudaErrorInvalidConfiguration;
  *shape = s;
  return cudaSuccess;
}

cudaError_t launch_recurrence_persistent(const RecurrenceParams& p, const PersistentShape& shape, cudaStream_t stream) {
  if (p.T < 1 || p.B < 1 || p.H < 1 || p.D < 1 || p.D > 2 || !p.p || !p.w_hh || !p.y) return cudaErrorInvalidValue;
  if (shape.blocks_per_dir < 1 || shape.rows < 1 || shape.batch_chunk < shape.batch_tile ||
      static_cast<int64_t>(shape.blocks_per_dir) * shape.rows < p.H)
    return cudaErrorInvalidValue;
  switch (shape.batch_tile) {
    case 4: return launch_variant<4>(p, shape, stream);
    case 2: return launch_variant<2>(p, shape, stream);
    case 1: return launch_variant<1>(p, shape, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace rnn::kernels
