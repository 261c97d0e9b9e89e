#include "models/layers/layer.h"

#include <cmath>
#include <vector>

namespace braid {

Tensor new_tensor(Backend& be, const Shape& shape, DType dtype) { return Tensor(be, shape, dtype); }

void run(const Status& s, const std::string& where) {
  if (!s.is_ok()) throw Error(Status(s.code(), where + ": " + s.message()));
}

TensorView view_as(const TensorView& t, const Shape& shape) { return t.reshape(shape); }

TensorView param(const LayerCall& c, const std::string& name) { return c.params.view(c.prefix + name); }

TensorView optional_param(const LayerCall& c, const std::string& name) {
  return c.params.has(c.prefix + name) ? c.params.view(c.prefix + name) : TensorView();
}

void project(const LayerCall& c, const std::string& name, const TensorView& x, const TensorView& y) {
  run(run_linear(c.be, LinearArgs{x, param(c, name + ".weight"), optional_param(c, name + ".bias"), y}), c.prefix + name);
}

TensorView grad(const LayerCall& c, const LayerGrad& g, const std::string& name) {
  return g.grads->view(c.prefix + name);
}

TensorView optional_grad(const LayerCall& c, const LayerGrad& g, const std::string& name) {
  return g.grads->has(c.prefix + name) ? g.grads->view(c.prefix + name) : TensorView();
}

void project_backward(const LayerCall& c, const LayerGrad& g, const std::string& name, const TensorView& x,
                      const TensorView& d_y, const TensorView& d_x, bool accumulate_dx) {
  LinearBackwardArgs a;
  a.fwd = LinearArgs{x, param(c, name + ".weight"), optional_param(c, name + ".bias"), {}};
  a.d_y = d_y;
  a.d_x = d_x;
  a.d_w = grad(c, g, name + ".weight");
  a.d_bias = optional_grad(c, g, name + ".bias");
  a.accumulate_dx = accumulate_dx;
  run(run_linear_backward(c.be, a), c.prefix + name + " (backward)");
}

void derive_decay_rates(Backend& be, const LayerSpec&, const ParamStore& params, const std::string& prefix,
                        Tensor& out) {
  std::vector<float> host = params.read_f32(prefix + "A_log");
  for (float& v : host) v = -std::exp(v);
  out = new_tensor(be, params.view(prefix + "A_log").shape_of(), DType::f32);
  be.upload(out.view().data, host.data(), host.size() * sizeof(float));
}

int64_t no_kv_bytes(const LayerSpec&, int64_t, int64_t) { return 0; }

}  // namespace braid
