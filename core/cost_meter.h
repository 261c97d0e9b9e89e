// A Backend decorator that forwards everything to another backend and adds up the analytic
// cost (core/cost.h) of every contract it runs: the floor of a whole layer or model forward
// is the floor of the summed cost.
#pragma once

#include "core/backend.h"

namespace braid {

class CostMeter final : public Backend {
 public:
  explicit CostMeter(Backend& inner) : inner_(inner) {}

  const Cost& total() const { return total_; }
  void reset() { total_ = {}; }

  std::string name() const override { return inner_.name(); }
  Device device() const override { return inner_.device(); }
  void* raw_alloc(size_t bytes) override { return inner_.raw_alloc(bytes); }
  void raw_free(void* p) override { inner_.raw_free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { inner_.upload(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { inner_.download(dst, src, bytes); }
  void fill_zero(const TensorView& t) override { inner_.fill_zero(t); }
  void synchronize() override { inner_.synchronize(); }

#define BRAID_METER_CONTRACT(method, Args, validator, coster) \
  Status method(const Args& a) override {                     \
    total_ += cost_##method(a);                               \
    return run_##method(inner_, a);                           \
  }
  BRAID_FOR_EACH_CONTRACT(BRAID_METER_CONTRACT)
#undef BRAID_METER_CONTRACT

 private:
  Backend& inner_;
  Cost total_;
};

}  // namespace braid
