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
__device__ __forceinline__ void copy16_async(float* dst, const float* src, bool valid) {
  const unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(to), "l"(src), "r"(valid ? 16 : 0) : "memory");
}
// Closes this thread's copies issued since the last commit into a group.
__device__ __forceinline__ void copies_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's committed groups are in flight
// (their data then visible to this thread; a barrier makes it the block's).
template <int N>
__device__ __forceinline__ void copies_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
#endif

}  // namespace rnn::kernels
