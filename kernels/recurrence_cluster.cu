// kernels/recurrence_cluster.cu: the recurrence on thread-block clusters.
//
// A cluster of C = ceil(H / 32) blocks runs one direction of a slice of
// the batch (batch_per_cluster sequences) for all T steps; clusters are
// independent of each other, so the grid (C x slices x D blocks) needs no
// co-residency beyond a cluster's and no grid barrier. Block k of a cluster
// holds rows [32k, 32k + 32) of W_hh[d] in registers as the registers
// kernel does (warp w rows 32k + 4w .. +3, lane l columns 4(l + 32m) .. +3).
//
// Every block keeps the whole state of its slice, h_prev [slice][HS] (HS =
// 32 KPT + 4 floats: zero-padded columns, and 4 more so that the lanes'
// pushes below fall in distinct banks), twice: step s reads buffer s % 2
// and writes buffer (s + 1) % 2. Each step, warps take the slice's
// sequences eight at a time: h_prev four columns at a time (one 16-byte
// shared load) into 16 FMAs against the warp's 4 rows, the sums reduced by
// shuffles; the group's projections loaded one per lane before its dot
// products; the 32 lanes finish the group's 4 rows x 8 sequences together
// (recurrence.cuh's rec_store arithmetic: y, h_n), and each pushes its new
// state into the next buffer of every block of the cluster (distributed
// shared memory). One cluster barrier ends the step: every push landed,
// every read of the current buffer done.
//
// Kernels:
//   recurrence_cluster_kernel<KPT>   (static) the whole recurrence of a layer
//
// Registers, spills and the hot loop's instruction mix: scripts/kernel_report.sh.
#include <cooperative_groups.h>

#include <algorithm>

#include "recurrence_cluster.cuh"
#include "registers_tile.cuh"

namespace cg = cooperative_groups;

namespace rnn::kernels {

namespace tile = registers_tile;

namespace {
constexpr int kThreads = 256;  // 8 warps
constexpr int kRows = tile::kRows;  // rows per warp
constexpr int kBlockRows = kRows * kThreads / 32;
[[maybe_unused]] constexpr int kGroup = 8;      // lane l finishes row l % 4 of the group's sequence l / 4
constexpr int kMaxCluster = kClusterMaxHidden / kBlockRows;

__host__ __device__ constexpr int row_stride(int kpt) { return 32 * kpt + 4; }
}  // namespace

template <int KPT>
static __global__ void __launch_bounds__(kThreads, 1) recurrence_cluster_kernel(RecurrenceParams p, ClusterShape shape) {
  // Clusters exist from sm_90 on; cluster_shape() refuses older devices, so
  // a build that also targets them compiles a kernel that only traps.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  cg::cluster_group cluster = cg::this_cluster();
  extern __shared__ float4 smem4[];
  constexpr int HS = row_stride(KPT);
  const int H = p.H, DH = p.D * H, C = shape.cluster_blocks;
  const int rank = static_cast<int>(cluster.block_rank());
  const int d = blockIdx.z;
  const int b0 = blockIdx.y * shape.batch_per_cluster;
  const int nb = min(shape.batch_per_cluster, p.B - b0);  // >= 1: the grid has no empty slice
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = rank * kBlockRows + warp * kRows;
  float* hb = reinterpret_cast<float*>(smem4);  // [2][slice][HS]
  const int buffer = shape.batch_per_cluster * HS;
  int* lens = reinterpret_cast<int*>(hb + 2 * buffer);  // [slice]

  // Both buffers zeroed (the padding columns stay 0), then h0 into buffer 0.
  for (int k = threadIdx.x; k < 2 * buffer; k += kThreads) hb[k] = 0.0f;
  for (int c = threadIdx.x; c < nb; c += kThreads) lens[c] = rec_length(p, b0 + c);
  __syncthreads();
  if (p.h0)
    for (int k = threadIdx.x; k < nb * H; k += kThreads) {
      const int c = k / H, j = k - c * H;  // once per launch
      hb[c * HS + j] = p.h0[state_index(d, b0 + c, j, p.B, H)];
    }

  float w[kRows][KPT];
  tile::load_rows<KPT>(p.w_hh + static_cast<int64_t>(d) * H * H, H, row0, lane, w);
  const int my_r = lane % kRows, my_row = row0 + my_r, my_c = lane / kRows;
  const float my_bias = p.bias && my_row < H ? p.bias[d * H + my_row] : 0.0f;
  // Every block started (its shared memory may be written) and has its h0.
  cluster.sync();

  for (int s = 0; s < p.T; ++s) {
    const float* cur = hb + (s & 1) * buffer;
    const int next = ((s + 1) & 1) * buffer;
    for (int g0 = 0; g0 < nb; g0 += kGroup) {
      const int c = g0 + my_c, b = b0 + c;
      const bool mine = c < nb && my_row < H;
      const int len = mine ? lens[c] : 0;
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
        if (s < lens[g0 + g])  // the whole warp agrees: one sequence
          tile::dot_rows<KPT>(w, cur + (g0 + g) * HS, lane, acc);
        sum = tile::pick(acc, my_c, my_r, g, sum);
      }
      if (mine) {
        if (s < len) {
          float pre = pv + sum;
          if (p.bias) pre += my_bias;
          const float h = rec_activate(pre, p.relu);
          p.y[at] = h;
          if (s == len - 1 && p.h_n) p.h_n[state_index(d, b, my_row, p.B, H)] = h;
          if (s + 1 < len) {  // the next step reads it (an ended sequence's state is never read)
            float* to = hb + next + c * HS + my_row;
            for (int r = 0; r < C; ++r) *cluster.map_shared_rank(to, r) = h;
          }
        } else {
          p.y[at] = 0.0f;
        }
      }
    }
    cluster.sync();
  }
#elif defined(__CUDA_ARCH__)
  __trap();
#endif
}

namespace {

template <int KPT>
cudaLaunchConfig_t launch_config(const ClusterShape& shape, int B, int D, cudaStream_t stream,
                                 cudaLaunchAttribute* attr) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(shape.cluster_blocks, (B + shape.batch_per_cluster - 1) / shape.batch_per_cluster, D);
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shape.smem_bytes;
  config.stream = stream;
  attr->id = cudaLaunchAttributeClusterDimension;
  attr->val.clusterDim.x = shape.cluster_blocks;
  attr->val.clusterDim.y = 1;
  attr->val.clusterDim.z = 1;
  config.attrs = attr;
  config.numAttrs = 1;
  return config;
}

// Allows the kernel the device's shared memory and a cluster beyond the
// portable 8, then asks whether one cluster of the shape fits.
template <int KPT>
cudaError_t fits(const ClusterShape& shape, int smem_optin) {
  const void* kernel = reinterpret_cast<const void*>(recurrence_cluster_kernel<KPT>);
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_optin);
  if (err == cudaSuccess && shape.cluster_blocks > 8)
    err = cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1);
  if (err != cudaSuccess) return err;
  cudaLaunchAttribute attr;
  const cudaLaunchConfig_t config = launch_config<KPT>(shape, shape.batch_per_cluster, 1, nullptr, &attr);
  int clusters = 0;
  err = cudaOccupancyMaxActiveClusters(&clusters, recurrence_cluster_kernel<KPT>, &config);
  if (err != cudaSuccess) return err;
  return clusters >= 1 ? cudaSuccess : cudaErrorInvalidConfiguration;
}

template <int KPT>
cudaError_t launch(const RecurrenceParams& p, const ClusterShape& shape, cudaStream_t stream) {
  cudaLaunchAttribute attr;
  const cudaLaunchConfig_t config = launch_config<KPT>(shape, p.B, p.D, stream, &attr);
  return cudaLaunchKernelEx(&config, recurrence_cluster_kernel<KPT>, p, shape);
}

}  // namespace

cudaError_t cluster_shape(int H, int D, int B, ClusterShape* shape) {
  if (H < 1 || D < 1 || D > 2 || B < 1 || !shape) return cudaErrorInvalidValue;
  if (H > kClusterMaxHidden) return cudaErrorInvalidConfiguration;
  int dev = 0, sms = 0, smem_optin = 0, major = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
  if (err != cudaSuccess) return err;
  if (major < 9) return cudaErrorInvalidConfiguration;
  ClusterShape s;
  s.cols_per_lane = H <= 128 ? 4 : H <= 256 ? 8 : 16;
  s.cluster_blocks = (H + kBlockRows - 1) / kBlockRows;
  // Slices small enough that the clusters of both directions fill the
  // multiprocessors, and no larger than shared memory holds.
  const size_t row_bytes = static_cast<size_t>(row_stride(s.cols_per_lane)) * sizeof(float);
  // Per sequence two state rows and a length; the lengths rounded up to
  // 16 bytes take at most 12 more, within the 16 held back.
  if (smem_optin < 16) return cudaErrorInvalidConfiguration;
  const size_t room = (static_cast<size_t>(smem_optin) - 16) / (2 * row_bytes + sizeof(int));
  const int clusters = std::max(1, sms / s.cluster_blocks / D);
  const size_t want = (static_cast<size_t>(B) + clusters - 1) / clusters;
  if (room < 1) return cudaErrorInvalidConfiguration;
  s.batch_per_cluster = static_cast<int>(std::min(room, want));
  s.smem_bytes = 2 * s.batch_per_cluster * row_bytes + (s.batch_per_cluster * sizeof(int) + 15) / 16 * 16;
  // A cluster of C blocks of this size must find C free multiprocessors in
  // one GPC: where it does not, smaller slices (less shared memory each)
  // are tried.
  for (;;) {
    if ((B + s.batch_per_cluster - 1) / s.batch_per_cluster > 65535) return cudaErrorInvalidConfiguration;
    switch (s.cols_per_lane) {
      case 4: err = fits<4>(s, smem_optin); break;
      case 8: err = fits<8>(s, smem_optin); break;
      default: err = fits<16>(s, smem_optin); break;
    }
    if (err != cudaErrorInvalidConfiguration || s.batch_per_cluster == 1) break;
    s.batch_per_cluster = (s.batch_per_cluster + 1) / 2;
    s.smem_bytes = 2 * s.batch_per_cluster * row_bytes + (s.batch_per_cluster * sizeof(int) + 15) / 16 * 16;
  }
  if (err != cudaSuccess) return err;
  *shape = s;
  return cudaSuccess;
}

cudaError_t launch_recurrence_cluster(const RecurrenceParams& p, const ClusterShape& shape, cudaStream_t stream) {
  if (p.T < 1 || p.B < 1 || p.H < 1 || p.D < 1 || p.D > 2 || !p.p || !p.w_hh || !p.y) return cudaErrorInvalidValue;
  const size_t needed = static_cast<size_t>(shape.batch_per_cluster) *
                        (2 * static_cast<size_t>(row_stride(shape.cols_per_lane)) * sizeof(float) + sizeof(int));
  if (p.timing_skip != kSkipNone || p.H > 32 * shape.cols_per_lane || shape.batch_per_cluster < 1 ||
      shape.smem_bytes < needed ||
      shape.cluster_blocks < 1 || shape.cluster_blocks > kMaxCluster ||
      static_cast<int64_t>(shape.cluster_blocks) * kBlockRows < p.H)
    return cudaErrorInvalidValue;
  if ((p.B + shape.batch_per_cluster - 1) / shape.batch_per_cluster > 65535) return cudaErrorInvalidConfiguration;
  switch (shape.cols_per_lane) {
    case 4: return launch<4>(p, shape, stream);
    case 8: return launch<8>(p, shape, stream);
    case 16: return launch<16>(p, shape, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace rnn::kernels
