// host/cpu/team.hpp: the fast CPU backend's threads.
//
// One team per process of threads() threads (the caller and threads() - 1
// workers, started on first use), which runs one job at a time: a call
// that finds the team busy (another thread of the program is in a pass)
// runs its job on its own thread alone. Jobs split their work by output
// columns or rows, never along a sum, so every value is computed by the
// same operations in the same order whatever the number of threads: results
// do not depend on it. The BLAS is kept at one thread (init_threads), so
// the team's threads are the only ones computing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace rnn::cpu::fast {

// A barrier for the n threads of one job. A thread spins a while (the
// others are running and come within microseconds), then sleeps until the
// last one arrives: a thread the OS has descheduled (cores shared with
// other programs) then costs the others a wake-up, not a time slice of
// spinning each.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait();

 private:
  const int n_;
  std::atomic<int> arrived_{0};
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};
};

// Runs job(t, n, barrier) for t = 0..n-1 on n threads, n = threads() (or 1:
// the team busy, or `parallel` false), the caller being thread 0; returns
// when every thread has returned. A job must not throw.
void run_team(bool parallel, const std::function<void(int t, int n, Barrier& barrier)>& job);

// [begin, end) of `count` items for thread t of n: contiguous, in order,
// within one item of each other.
inline void share(int64_t count, int t, int n, int64_t& begin, int64_t& end) {
  begin = count * t / n;
  end = count * (t + 1) / n;
}

}  // namespace rnn::cpu::fast
