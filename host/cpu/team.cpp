// host/cpu/team.cpp: the fast CPU backend's team of threads (team.hpp).
#include "cpu/team.hpp"

#include <immintrin.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu/fast.hpp"
#include "cpu/fast_kernels.hpp"

namespace rnn::cpu::fast {

namespace {

inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Sleeps while *a holds `expected` (returns at once if it does not, or on a
// spurious wake-up: callers check again).
void futex_wait(std::atomic<uint32_t>& a, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&a), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<uint32_t>& a) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&a), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

// Pauses a barrier spins before sleeping: tens of microseconds, about a
// step of the recurrence at the sizes that split steps across threads.
constexpr int kBarrierSpins = 4000;

thread_local bool in_job = false;  // this thread runs a team's job: a nested call runs alone

// Workers wait for a job spinning a while (jobs come in bursts: the passes
// of a training run), then asleep.
constexpr int kSpins = 20000;

class Team {
 public:
  explicit Team(int n) : n_(n) {
    for (int t = 1; t < n; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  ~Team() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return n_; }
  std::mutex& busy() { return busy_; }

  void run(const std::function<void(int, int, Barrier&)>& job) {
    Barrier barrier(n_);
    job_ = &job;
    barrier_ = &barrier;
    pending_.store(n_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(m_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    job(0, n_, barrier);
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < kBarrierSpins) pause();
      else std::this_thread::yield();  // a worker descheduled: let it have a core
    }
  }

 private:
  void work(int t) {
    in_job = true;  // a worker only ever runs jobs
    uint32_t seen = 0;
    for (;;) {
      int spins = 0;
      while (generation_.load(std::memory_order_acquire) == seen && spins < kSpins) {
        pause();
        ++spins;
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stop_) return;
      (*job_)(t, n_, *barrier_);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  const int n_;
  std::vector<std::thread> workers_;
  std::mutex m_, busy_;
  std::condition_variable wake_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
  const std::function<void(int, int, Barrier&)>* job_ = nullptr;
  Barrier* barrier_ = nullptr;
};

Team* team() {
  init_threads();  // fixes the count before the team is made of it
  static Team* t = threads() > 1 ? new Team(threads()) : nullptr;  // lives as long as the process
  return t;
}

}  // namespace

void Barrier::wait() {
  if (n_ == 1) return;
  const uint32_t g = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    // seq_cst here and in the sleeper's two steps: either the sleeper sees
    // the new generation, or this sees the sleeper and wakes it.
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) futex_wake_all(generation_);
    return;
  }
  for (int spins = 0; generation_.load(std::memory_order_acquire) == g; ++spins) {
    if (spins < kBarrierSpins) {
      pause();
      continue;
    }
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    if (generation_.load(std::memory_order_seq_cst) == g) futex_wait(generation_, g);
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  }
}

void run_team(bool parallel, const std::function<void(int, int, Barrier&)>& job) {
  Team* t = parallel && !in_job ? team() : nullptr;
  if (t) {
    std::unique_lock<std::mutex> lock(t->busy(), std::try_to_lock);
    if (lock.owns_lock()) {
      in_job = true;
      t->run(job);
      in_job = false;
      return;
    }
  }
  Barrier alone(1);
  job(0, 1, alone);
}

}  // namespace rnn::cpu::fast
