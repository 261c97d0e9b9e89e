// Elementwise primitives the model composes layers with.
//   add:  out = a + alpha·b (residual connections, gradient sums; out may alias a or b)
//   copy: dst = src         (any float dtypes, any strides; converts dtype)
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct AddArgs {
  TensorView a;    // [M..., D]  float
  TensorView b;    // [M..., D]  float, same shape
  TensorView out;  // [M..., D]  float, same shape
  float alpha = 1.0f;
};

struct CopyArgs {
  TensorView src;  // any shape, float
  TensorView dst;  // same shape, float (dtype may differ: converts)
};

Status validate(const AddArgs& a);
Cost cost(const AddArgs& a);  // a, b read, out written
Status validate(const CopyArgs& a);
Cost cost(const CopyArgs& a);  // src read, dst written

}  // namespace braid
