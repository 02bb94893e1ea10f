// host/engine/kept.hpp: a few buffers of finished calls kept for the next.
// A program that trains makes the same passes and copies step after step,
// and the pages of a fresh buffer cost as much to touch as a small pass;
// the fast passes keep their caches here (engine/pass.cpp), the C
// interface its copies (capi/c_api.cpp) and the GPU passes their plans
// (cuda/forward.cpp). Callers decide what is worth
// keeping (cpu::fast::kKeptBytes); at most N are kept.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace rnn::detail {

template <class T, size_t N>
class Kept {
 public:
  // A kept one, or T{} when none is.
  T take() {
    const std::lock_guard<std::mutex> lock(m_);
    if (free_.empty()) return T{};
    T v = std::move(free_.back());
    free_.pop_back();
    return v;
  }
  // The first kept one for which pred holds, or T{} when none does.
  template <class Pred>
  T take_if(Pred pred) {
    const std::lock_guard<std::mutex> lock(m_);
    for (size_t i = 0; i < free_.size(); ++i) {
      if (!pred(free_[i])) continue;
      T v = std::move(free_[i]);
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      return v;
    }
    return T{};
  }
  // Keeps v when fewer than N are kept; else drops it.
  void give(T&& v) noexcept {
    const std::lock_guard<std::mutex> lock(m_);
    if (free_.size() < N) free_.push_back(std::move(v));
  }

 private:
  std::mutex m_;
  std::vector<T> free_;
};

}  // namespace rnn::detail
