// kernels/async_copy.cuh: asynchronous 16-byte copies global -> shared
// (cp.async, sm_80 and later), for kernels that stage states other blocks
// wrote during the same launch.
#pragma once

namespace rnn::kernels {

#ifdef __CUDACC__
// One 16-byte copy through L2 only (.cg: L1 is not coherent across
// multiprocessors, and the source may have been written by another block
// before a grid barrier), asynchronous; zeros when !valid (nothing is read,
// but src must still be a valid address). dst and src 16-byte aligned.
// Before sm_80 (no cp.async) the same copy is made synchronously.
__device__ __forceinline__ void copy16_async(float* dst, const float* src, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  *reinterpret_cast<float4*>(dst) = valid ? __ldcg(reinterpret_cast<const float4*>(src)) : make_float4(0, 0, 0, 0);
#else
  const unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(to), "l"(src), "r"(valid ? 16 : 0) : "memory");
#endif
}
// Closes this thread's copies issued since the last commit into a group.
__device__ __forceinline__ void copies_commit() {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
// Waits until at most N of this thread's committed groups are in flight
// (their data then visible to this thread; a barrier makes it the block's).
template <int N>
__device__ __forceinline__ void copies_wait() {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}
#endif

}  // namespace rnn::kernels
