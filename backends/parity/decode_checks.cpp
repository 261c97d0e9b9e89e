// backends/parity/decode_checks.cpp — the decode contracts of conv1d, mamba1, mamba2 and
// attention, checked on the backend under test against itself (house style P9):
//
//   steps     prefill of T tokens == T calls of the step contract (outputs and final state);
//   chunked   prefill of T1 tokens, then T2 more from that state == one prefill of T1 + T2;
//   varlen    one batched call with per-row lengths == each row alone with its own length
//             (padding outputs zero, states after each row's last valid token);
//   snapshot  run p tokens, copy the state with the backend's `copy` contract, run on: the copy
//             == the state of a T-token call with lengths = p (the prefix state), and the
//             live state still equals a one-shot prefill.
//
// The state (conv window, SSM state, KV cache) stays on the backend across the calls of one
// check, in guarded allocations, as it does during generation. For attention the cache_len of
// each call is the row's base position plus the tokens already run (Axis::past).
// Each check is one case, contract "decode:<name>", compared with the threshold policy.
#include <algorithm>

#include "backends/parity/harness.h"

namespace braid::parity {
namespace {

// ---- Slicing problems along the batch and token axes --------------------------------------

// Tokens [t0, t0 + len) of every row; cache positions advance by t0; no lengths.
Problem slice_tokens(const Problem& p, int64_t t0, int64_t len) {
  Problem q = p;
  q.erase("lengths");
  for (TensorSpec& t : q.tensors) {
    if (t.axis == Axis::past) {
      for (int64_t& v : t.ix) v += t0;
    } else if (t.axis == Axis::token) {
      const int64_t B = t.shape[0], T = t.shape[1], inner = t.shape.numel() / std::max<int64_t>(B * T, 1);
      auto cut = [&](const auto& v) {
        std::remove_cvref_t<decltype(v)> out;
        if (v.empty()) return out;
        for (int64_t b = 0; b < B; ++b)
          out.insert(out.end(), v.begin() + (b * T + t0) * inner, v.begin() + (b * T + t0 + len) * inner);
        return out;
      };
      t.f = cut(t.f);
      t.ix = cut(t.ix);
      t.shape.dims[1] = len;
    }
  }
  return q;
}

// Row b alone (batch of one); no lengths.
Problem slice_row(const Problem& p, int64_t b) {
  Problem q = p;
  q.erase("lengths");
  for (TensorSpec& t : q.tensors) {
    if (t.axis == Axis::none) continue;
    const int64_t B = t.shape[0], inner = t.shape.numel() / std::max<int64_t>(B, 1);
    if (!t.f.empty()) t.f.assign(t.f.begin() + b * inner, t.f.begin() + (b + 1) * inner);
    if (!t.ix.empty()) t.ix.assign(t.ix.begin() + b * inner, t.ix.begin() + (b + 1) * inner);
    t.shape.dims[0] = 1;
  }
  return q;
}

bool is_state(const TensorSpec& t) { return t.role == Role::inout && t.axis == Axis::batch; }
bool is_token_output(const TensorSpec& t) { return t.role == Role::out && t.axis == Axis::token; }

// The recurrent state of a problem, allocated on the backend and kept across calls.
class Persistent {
 public:
  // `blank`: start as NaN (a snapshot target) instead of the problem's initial state.
  Persistent(Backend& be, const Problem& p, DType act, bool blank = false) {
    for (const TensorSpec& t : p.tensors)
      if (is_state(t)) {
        TensorSpec s = t;
        if (blank) s.f.clear();
        specs_.push_back(s);
        dev_.emplace_back(be, s, act, true);
      }
  }
  std::map<std::string, TensorView> views() const {
    std::map<std::string, TensorView> m;
    for (size_t i = 0; i < specs_.size(); ++i) m[specs_[i].name] = dev_[i].view();
    return m;
  }
  const std::vector<TensorSpec>& specs() const { return specs_; }
  // Downloads every state; guard findings go to `r`.
  std::map<std::string, std::vector<float>> read(CaseResult& r) const {
    std::map<std::string, std::vector<float>> m;
    std::vector<std::string> problems;
    for (size_t i = 0; i < specs_.size(); ++i) {
      std::string guard;
      m[specs_[i].name] = dev_[i].read(guard);
      if (!guard.empty()) problems.push_back(guard);
    }
    add_problems(r, problems);
    return m;
  }

 private:
  std::vector<TensorSpec> specs_;
  std::vector<DeviceTensor> dev_;
};

// Records a call's status; returns false when the check cannot go on (not supported/failed).
bool accept(const CallResult& c, const char* what, CaseResult& r) {
  add_problems(r, c.problems);
  if (c.status.is_ok()) return true;
  r.outcome = c.status.code() == StatusCode::not_supported ? Outcome::not_supported : Outcome::fail;
  r.message = std::string(what) + ": " + status_code_name(c.status.code()) + ": " + c.status.message();
  return false;
}

// Writes a [B, len, inner] output of tokens starting at t0 into the [B, T, inner] `dst`.
void place_tokens(std::vector<float>& dst, const Shape& full, const std::vector<float>& part, int64_t t0, int64_t len) {
  const int64_t B = full[0], T = full[1], inner = full.numel() / std::max<int64_t>(B * T, 1);
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(part.begin() + b * len * inner, len * inner, dst.begin() + (b * T + t0) * inner);
}

void compare_all(CaseResult& r, const Problem& p, DType act, const std::map<std::string, std::vector<float>>& got,
                 const std::map<std::string, std::vector<float>>& want, bool states, bool outputs) {
  const Threshold th = threshold_for(r.contract, act);
  for (const TensorSpec& t : p.tensors) {
    if (!((states && is_state(t)) || (outputs && is_token_output(t)))) continue;
    const auto g = got.find(t.name), w = want.find(t.name);
    BRAID_CHECK(g != got.end() && w != want.end(), "decode check lost tensor ", t.name);
    r.tensors.push_back(compare(t.name, g->second, w->second, t.shape, th, storage_dtype(t, act)));
  }
}

// Runs `q` (tokens of `full`) against the persistent state, placing its outputs into `acc`.
bool run_part(Backend& be, const Problem& q, DType act, bool step, const Persistent& st, const Problem& full,
              int64_t t0, std::map<std::string, std::vector<float>>& acc, CaseResult& r) {
  const CallResult c = call(be, q, act, step ? &q.run_step : &q.run, st.views());
  if (!accept(c, step ? "step" : "prefill part", r)) return false;
  for (const TensorSpec& t : full.tensors)
    if (is_token_output(t)) {
      auto& dst = acc[t.name];
      if (dst.empty()) dst.assign(static_cast<size_t>(t.shape.numel()), 0.0f);
      place_tokens(dst, t.shape, c.outputs.at(t.name), t0, q.find(t.name)->shape[1]);
    }
  return true;
}

// ---- The four checks ----------------------------------------------------------------------

int64_t tokens_of(const Problem& p) {
  for (const TensorSpec& t : p.tensors)
    if (is_token_output(t)) return t.shape[1];
  BRAID_CHECK(false, "decode problem without a token output");
  return 0;
}

void check_steps(Backend& be, DType act, const Problem& base, CaseResult& r) {
  Problem full = base;
  full.erase("lengths");
  const CallResult one = call(be, full, act);
  if (!accept(one, "one-shot prefill", r)) return;
  Persistent st(be, full, act);
  std::map<std::string, std::vector<float>> got;
  for (int64_t t = 0, T = tokens_of(full); t < T; ++t)
    if (!run_part(be, slice_tokens(full, t, 1), act, true, st, full, t, got, r)) return;
  got.merge(st.read(r));
  compare_all(r, full, act, got, one.outputs, true, true);
}

void check_chunked(Backend& be, DType act, const Problem& base, CaseResult& r) {
  Problem full = base;
  full.erase("lengths");
  const int64_t T = tokens_of(full), T1 = T / 3 + 1;
  const CallResult one = call(be, full, act);
  if (!accept(one, "one-shot prefill", r)) return;
  Persistent st(be, full, act);
  std::map<std::string, std::vector<float>> got;
  if (!run_part(be, slice_tokens(full, 0, T1), act, false, st, full, 0, got, r)) return;
  if (!run_part(be, slice_tokens(full, T1, T - T1), act, false, st, full, T1, got, r)) return;
  got.merge(st.read(r));
  compare_all(r, full, act, got, one.outputs, true, true);
}

void check_varlen(Backend& be, DType act, const Problem& base, CaseResult& r) {
  const TensorSpec* lengths = base.find("lengths");
  BRAID_CHECK(lengths != nullptr, "varlen check needs lengths");
  const CallResult batched = call(be, base, act);
  if (!accept(batched, "batched varlen call", r)) return;
  std::map<std::string, std::vector<float>> want;  // rows run alone, assembled
  for (const TensorSpec& t : base.tensors)
    if (is_token_output(t) || is_state(t)) want[t.name].assign(static_cast<size_t>(t.shape.numel()), 0.0f);
  const int64_t B = lengths->shape[0];
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = lengths->ix[static_cast<size_t>(b)];
    BRAID_CHECK(n >= 1, "varlen decode rows need at least one token");
    const Problem row = slice_tokens(slice_row(base, b), 0, n);
    const CallResult c = call(be, row, act);
    if (!accept(c, "row alone", r)) return;
    for (const TensorSpec& t : base.tensors) {
      if (is_state(t)) {
        const int64_t inner = t.shape.numel() / B;
        std::copy_n(c.outputs.at(t.name).begin(), inner, want[t.name].begin() + b * inner);
      } else if (is_token_output(t)) {
        const int64_t T = t.shape[1], inner = t.shape.numel() / (B * T);
        std::copy_n(c.outputs.at(t.name).begin(), n * inner, want[t.name].begin() + b * T * inner);
      }
    }
  }
  compare_all(r, base, act, batched.outputs, want, true, true);
}

void check_snapshot(Backend& be, DType act, const Problem& base, CaseResult& r) {
  Problem full = base;
  full.erase("lengths");
  const int64_t T = tokens_of(full), p = T / 2 + 1;
  Persistent live(be, full, act), snap(be, full, act, /*blank=*/true);
  std::map<std::string, std::vector<float>> ignored;
  if (!run_part(be, slice_tokens(full, 0, p), act, false, live, full, 0, ignored, r)) return;
  const auto lv = live.views(), sv = snap.views();
  for (const auto& [name, view] : lv) {
    const Status s = run_copy(be, {view, sv.at(name)});
    if (!accept(CallResult{s, {}, {}}, "copy of the state", r)) return;
  }
  if (!run_part(be, slice_tokens(full, p, T - p), act, false, live, full, p, ignored, r)) return;

  // The prefix state: one T-token call whose rows all stop at p.
  Problem prefix = base;
  TensorSpec& len = prefix.at("lengths");
  std::fill(len.ix.begin(), len.ix.end(), p);
  const CallResult pre = call(be, prefix, act);
  if (!accept(pre, "prefix call (lengths = p)", r)) return;
  const CallResult one = call(be, full, act);
  if (!accept(one, "one-shot prefill", r)) return;

  compare_all(r, full, act, snap.read(r), pre.outputs, true, false);
  // The live state after p + (T − p) tokens, reported as "<state> (live)".
  const size_t before = r.tensors.size();
  compare_all(r, full, act, live.read(r), one.outputs, true, false);
  for (size_t i = before; i < r.tensors.size(); ++i) {
    TensorReport& t = r.tensors[i];
    if (t.name == "guard") continue;
    const std::string old = t.name;
    t.name += " (live)";
    if (!t.problem.empty()) t.problem.replace(0, old.size(), t.name);
  }
}

// ---- Shapes -------------------------------------------------------------------------------

struct DecodeShape {
  std::string contract;  // "decode:mamba1"
  std::string shape;     // slug suffix
  std::string label;     // dims and model
  std::function<Problem(Rng&)> make;  // with lengths [B] (≥ 1 each)
};

std::vector<DecodeShape> decode_shapes() {
  return {
      {"decode:conv1d", "mamba130m", "B3 T24 C1536 K4 lengths 24/15/1 [Mamba-130m]",
       [](Rng& r) { return conv1d_problem(r, {.B = 3, .T = 24, .C = 1536, .K = 4, .lengths = {24, 15, 1}}); }},
      {"decode:conv1d", "odd_k3", "B3 T13 C77 K3 lengths 13/6/1 no bias [odd K]",
       [](Rng& r) {
         return conv1d_problem(r, {.B = 3, .T = 13, .C = 77, .K = 3, .bias = false, .lengths = {13, 6, 1}});
       }},
      {"decode:mamba1", "mamba130m", "B3 T24 Di1536 N16 lengths 24/15/1 [Mamba-130m]",
       [](Rng& r) {
         return mamba1_problem(r, {.B = 3, .T = 24, .Di = 1536, .N = 16, .R = 48, .lengths = {24, 15, 1}});
       }},
      {"decode:mamba1", "odd_n12", "B3 T13 Di100 N12 lengths 13/6/1 no z [odd N]",
       [](Rng& r) {
         return mamba1_problem(r, {.B = 3, .T = 13, .Di = 100, .N = 12, .R = 7, .z = false, .lengths = {13, 6, 1}});
       }},
      {"decode:mamba2", "bamba", "B3 T24 H32 P64 G1 N128 Q10 lengths 24/15/1 [Bamba-9B, H cut to 32, Q to 10]",
       [](Rng& r) {
         return mamba2_problem(
             r, {.B = 3, .T = 24, .H = 32, .P = 64, .G = 1, .N = 128, .Q = 10, .lengths = {24, 15, 1}});
       }},
      {"decode:mamba2", "odd_g2", "B3 T21 H6 P80 G2 N12 Q8 lengths 21/10/1 [odd P, G, N]",
       [](Rng& r) {
         return mamba2_problem(r, {.B = 3, .T = 21, .H = 6, .P = 80, .G = 2, .N = 12, .Q = 8, .lengths = {21, 10, 1}});
       }},
      {"decode:attention", "jamba", "B3 T24 S40 past 5/0/11 Hq32 Hkv8 P128 lengths 24/15/1 [Jamba-v0.1]",
       [](Rng& r) {
         return attention_problem(r, {.B = 3, .T = 24, .Hq = 32, .Hkv = 8, .P = 128, .S = 40, .past = {5, 0, 11},
                                      .lengths = {24, 15, 1}});
       }},
      {"decode:attention", "odd_p80", "B3 T13 S20 past 2/0/5 Hq6 Hkv2 P80 lengths 13/6/1 [odd P]",
       [](Rng& r) {
         return attention_problem(r, {.B = 3, .T = 13, .Hq = 6, .Hkv = 2, .P = 80, .S = 20, .past = {2, 0, 5},
                                      .lengths = {13, 6, 1}});
       }},
  };
}

}  // namespace

std::vector<DecodeDef> decode_cases() {
  using Check = void (*)(Backend&, DType, const Problem&, CaseResult&);
  struct Kind {
    const char* slug;
    const char* what;
    Check check;
  };
  static constexpr Kind kinds[] = {
      {"steps", "prefill == steps", check_steps},
      {"chunked", "chunked prefill == one shot", check_chunked},
      {"varlen", "batched varlen == one by one", check_varlen},
      {"snapshot", "state snapshot == prefix state", check_snapshot},
  };
  std::vector<DecodeDef> out;
  for (const DecodeShape& s : decode_shapes())
    for (const Kind& k : kinds) {
      DecodeDef d;
      d.contract = s.contract;
      d.slug = std::string(k.slug) + "_" + s.shape;
      d.label = s.contract + " " + k.what + " " + s.label;
      const auto make = s.make;
      const Check check = k.check;
      d.check = [make, check](Backend& be, DType act, Rng& rng, CaseResult& r) {
        Problem p = make(rng);
        if (act == DType::bf16) round_act_inputs(p);
        check(be, act, p, r);
        if (r.outcome == Outcome::ok) settle(r);
      };
      out.push_back(std::move(d));
    }
  return out;
}

}  // namespace braid::parity
