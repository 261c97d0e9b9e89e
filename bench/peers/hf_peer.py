"""HF transformers end to end on the 1B Jamba-like config (random init, bf16), as HF runs it without
the mamba kernels (use_mamba_kernels false: the torch fallback path)."""
import statistics
import time

import torch


def load_model(config_path):
    from transformers import JambaConfig, JambaForCausalLM
    config = JambaConfig.from_json_file(config_path)
    config.use_mamba_kernels = False
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = JambaForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
    return model.eval()


def wall(fn, runs):
    times = []
    for _ in range(runs):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def e2e(res, config_path, model_name, prefill_len=2048, decode_tokens=128, runs=3):
    import transformers
    res.context["transformers"] = transformers.__version__
    model = load_model(config_path)
    vocab = model.config.vocab_size
    g = torch.Generator(device="cuda").manual_seed(9)
    ids = torch.randint(3, vocab, (1, prefill_len), device="cuda", generator=g)
    with torch.no_grad():
        prefill = lambda: model(ids, use_cache=False)
        prefill()
        t = wall(prefill, runs)
        res.add(f"e2e_prefill/hf-transformers/{model_name}_L{prefill_len}_B1", t * 1e3, runs, unit="ms",
                tokens_per_second=prefill_len / t, path="torch fallback (no mamba kernels)")
        prompt = ids[:, :16]
        gen = lambda n: model.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        gen(8)
        t_full = wall(lambda: gen(decode_tokens), 2)
        t_one = wall(lambda: gen(1), 2)
        per_token = (t_full - t_one) / (decode_tokens - 1)
        res.add(f"e2e_decode/hf-transformers/{model_name}_B1", per_token * 1e3, 2, unit="ms",
                tokens_per_second=1 / per_token, new_tokens=decode_tokens, prompt_tokens=16,
                method="(generate(128 new) - generate(1 new)) / 127, greedy, median of 2")
