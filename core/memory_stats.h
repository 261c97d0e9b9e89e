// core/memory_stats.h — bytes a backend holds through raw_alloc / raw_free: current and peak.
// Each backend owns one tracker (no globals); `braid bench` reads the peak of a run and
// compares it with the analytic prediction of models/memory.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace braid {

struct MemoryStats {
  int64_t current_bytes = 0;  // live bytes allocated now
  int64_t peak_bytes = 0;     // the most live bytes since construction or the last reset_peak
};

// Records the size of every live allocation, so a free needs only the pointer.
class MemoryTracker {
 public:
  void on_alloc(const void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    sizes_[p] = bytes;
    stats_.current_bytes += static_cast<int64_t>(bytes);
    if (stats_.current_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.current_bytes;
  }
  void on_free(const void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = sizes_.find(p);
    if (it == sizes_.end()) return;  // not ours (or already counted out)
    stats_.current_bytes -= static_cast<int64_t>(it->second);
    sizes_.erase(it);
  }
  MemoryStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  // The peak restarts from what is live now.
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes = stats_.current_bytes;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<const void*, size_t> sizes_;
  MemoryStats stats_;
};

}  // namespace braid
