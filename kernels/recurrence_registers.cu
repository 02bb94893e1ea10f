// kernels/recurrence_registers.cu: the persistent recurrence kernel with
// W_hh in registers (the second generation; the first, W_hh in shared
// memory, is kernels/recurrence_persistent.cu and stays selectable).
//
// One cooperative launch runs all T steps of a layer, both directions. Block
// k of direction d owns rows [32k, 32k + 32) of W_hh[d]: warp w holds rows
// 32k + 4w .. +3, and lane l of it the columns 4(l + 32m) .. +3 of those
// rows, m = 0 .. KPT/4 - 1: 4 x KPT floats of W_hh in registers for the
// whole launch. The batch's lengths are read once into shared memory, each
// lane's bias into a register.
//
// Each step, for each chunk of sequences, the block stages h_prev (full
// width, zero-padded to 32 KPT columns) into shared memory with 16-byte
// asynchronous copies through L2 (cp.async.cg; every thread's copies in
// flight at once); when the batch takes several chunks, two buffers: chunk
// k + 1 is copied while chunk k is computed. Then every warp takes the
// chunk's sequences eight at a time: for each it reads h_prev four columns
// at a time (one 16-byte shared load, conflict-free across the warp) into
// 16 FMAs against its 4 rows and reduces its 4 sums across the warp with
// shuffles; the group's projections were loaded before its dot products,
// one per lane, and the 32 lanes finish the group's 4 rows x 8 sequences
// together (bias, activation, store). No division in a per-step loop other
// than by powers of two. Blocks meet at a grid-wide barrier before the next
// step reads y.
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
#include "registers_tile.cuh"

namespace rnn::kernels {

namespace cg = cooperative_groups;

namespace tile = registers_tile;

namespace {
constexpr int kThreads = 256;  // 8 warps
constexpr int kRows = tile::kRows;  // rows per warp
constexpr int kBlockRows = kRows * kThreads / 32;
constexpr int kGroup = 8;      // sequences finished together: lane l finishes row l % 4 of sequence l / 4

// Where step s reads h_prev[b][col] from (recurrence.cuh's rec_load_prev),
// or null for zeros (an ended sequence, no h0, a padding column).
__device__ __forceinline__ const float* prev_source(const RecurrenceParams& p, int d, int b, int s, int len, int col) {
  if (col >= p.H || s >= len) return nullptr;
  if (s == 0) return p.h0 ? p.h0 + state_index(d, b, col, p.B, p.H) : nullptr;
  const int t_prev = d == 0 ? s - 1 : len - s;
  return p.y + rec_row(p, t_prev, b) * (p.D * p.H) + d * p.H + col;
}

}  // namespace

template <int KPT>
static __global__ void __launch_bounds__(kThreads, 1) recurrence_registers_kernel(RecurrenceParams p, RegistersShape shape) {
  cg::grid_group grid = cg::this_grid();
  extern __shared__ float4 smem4[];
  constexpr int HP = 32 * KPT;  // padded width of a staged h_prev row
  const int H = p.H, DH = p.D * H, chunk = shape.batch_chunk, buffers = shape.buffers;
  const int d = blockIdx.x / shape.blocks_per_dir;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (blockIdx.x % shape.blocks_per_dir) * kBlockRows + warp * kRows;
  float* hb = reinterpret_cast<float*>(smem4);  // [buffers][chunk][HP]
  int* lens = reinterpret_cast<int*>(hb + static_cast<int64_t>(buffers) * chunk * HP);  // [B], read once
  // 16-byte copies need H a multiple of 4 and 16-byte aligned y and h0.
  const bool vec = H % 4 == 0 && reinterpret_cast<uintptr_t>(p.y) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(p.h0) % 16 == 0;

  for (int b = threadIdx.x; b < p.B; b += kThreads) lens[b] = rec_length(p, b);

  // This lane's slice of W_hh[d]: rows row0 .. row0+3, columns 4(lane + 32m) + 0..3.
  float w[kRows][KPT];
  tile::load_rows<KPT>(p.w_hh + static_cast<int64_t>(d) * H * H, H, row0, lane, w);
  // The row this lane finishes (lane % 4 of its warp's four) and its bias,
  // read once for the launch.
  const int my_r = lane % kRows, my_row = row0 + my_r, my_c = lane / kRows;
  const float my_bias = p.bias && my_row < H ? p.bias[d * H + my_row] : 0.0f;
  __syncthreads();  // lens
  auto stage = [&](int s, int first, int n, float* buf) {
    tile::stage<KPT, kThreads>([&](int b, int len, int col) { return prev_source(p, d, b, s, len, col); }, p.y, first,
                               n, lens, buf, vec);
  };

  for (int s = 0; s < p.T; ++s) {
    // Chunk k is staged into buffer k % buffers; with two buffers, chunk
    // k + 1's copies fly while chunk k is computed.
    stage(s, 0, min(chunk, p.B), hb);
    copies_commit();
    for (int b0 = 0, k = 0; b0 < p.B; b0 += chunk, ++k) {
      const int nb = min(chunk, p.B - b0);
      float* cur = hb + static_cast<int64_t>(buffers == 2 ? k & 1 : 0) * chunk * HP;
      if (buffers == 1 && k > 0) {  // one buffer: staged once its last readers are done
        stage(s, b0, nb, cur);
        copies_commit();
      }
      if (buffers == 2 && b0 + chunk < p.B) {
        stage(s, b0 + chunk, min(chunk, p.B - b0 - chunk), hb + static_cast<int64_t>((k + 1) & 1) * chunk * HP);
        copies_commit();
        copies_wait<1>();  // this chunk's copies landed; the next chunk's may fly
      } else {
        copies_wait<0>();
      }
      __syncthreads();  // every thread's copies of this chunk visible
      for (int g0 = 0; g0 < nb; g0 += kGroup) {
        // This lane's element of the group, its projection loaded before the
        // group's dot products (their FMAs hide the load).
        const int c = g0 + my_c, b = b0 + c;
        const bool mine = c < nb && my_row < H;
        const int len = mine ? lens[b] : 0;
        int64_t at = 0;
        float pv = 0.0f;
        if (mine) {
          at = rec_row(p, s < len ? time_of_step(d, s, len) : s, b) * DH + d * H + my_row;
          if (s < len) pv = __ldg(p.p + at);
        }
        float sum = 0.0f;
        const int gn = min(kGroup, nb - g0);
        for (int g = 0; g < gn; ++g) {
          float acc[kRows] = {0.0f, 0.0f, 0.0f, 0.0f};
          if (s < lens[b0 + g0 + g])  // the whole warp agrees: one sequence
            tile::dot_rows<KPT>(w, cur + static_cast<int64_t>(g0 + g) * HP, lane, acc);
          // Every lane holds the four sums; the lanes of sequence g keep theirs.
          sum = tile::pick(acc, my_c, my_r, g, sum);
        }
        // rec_store's arithmetic, all 32 lanes at once (4 rows x 8 sequences).
        if (mine) {
          if (s < len) {
            float pre = pv + sum;
            if (p.bias) pre += my_bias;
            const float h = rec_activate(pre, p.relu);
            p.y[at] = h;
            if (s == len - 1 && p.h_n) p.h_n[state_index(d, b, my_row, p.B, H)] = h;
          } else {
            p.y[at] = 0.0f;
          }
        }
      }
      __syncthreads();  // this buffer's readers are done before it is staged again
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
  const size_t lens_bytes = (static_cast<size_t>(B) * sizeof(int) + 15) / 16 * 16;
  if (lens_bytes >= static_cast<size_t>(smem_optin)) return cudaErrorInvalidConfiguration;
  const size_t room = (static_cast<size_t>(smem_optin) - lens_bytes) / row_bytes;
  if (room < 1) return cudaErrorInvalidConfiguration;
  // The whole batch in one buffer where it fits; else two buffers, one
  // filling while the other is computed.
  s.buffers = static_cast<size_t>(B) <= room || room < 2 ? 1 : 2;
  s.batch_chunk = static_cast<int>(std::min<size_t>(room / s.buffers, static_cast<size_t>(B)));
  s.smem_bytes = static_cast<size_t>(s.buffers) * s.batch_chunk * row_bytes + lens_bytes;
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
  // The shape's shared memory holds its buffers and p.B lengths.
  const size_t needed = static_cast<size_t>(shape.buffers) * shape.batch_chunk * 32 * shape.cols_per_lane *
                            sizeof(float) + static_cast<size_t>(p.B) * sizeof(int);
  if (p.timing_skip != kSkipNone || p.H > 32 * shape.cols_per_lane || shape.batch_chunk < 1 ||
      shape.buffers < 1 || shape.buffers > 2 || shape.smem_bytes < needed ||
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
