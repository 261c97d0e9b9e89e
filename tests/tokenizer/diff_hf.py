#!/usr/bin/env python3
"""Differential check of `braid tokenize` against HF tokenizers (and sentencepiece) on random
strings that are not in the fixtures: passages of the held-out Jargon File, random code points
(Latin, CJK, emoji, whitespace and joiners) and random mixes of the tricky pieces (spaces, CRLF,
contractions, digits, special-token strings, NUL). Prints every mismatch and the count.

    diff_hf.py BRAID_BINARY [SEED] [N_TEXTS]

Run from the repo root with the venv of tests/tokenizer/requirements.txt and build/corpus
(scripts/make_corpus.sh). Exit status 1 on any mismatch.
"""
import json, os, random, subprocess, sys
from tokenizers import Tokenizer
import sentencepiece as spm
braid = sys.argv[1]
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "tokenizer")
corpus = open("build/corpus/jargon.txt", encoding="utf-8", errors="replace").read()
pools = [
    lambda: corpus[(i := random.randrange(len(corpus) - 300)): i + random.randrange(1, 300)],
    lambda: "".join(chr(random.choice([random.randrange(0x20, 0x7f), random.randrange(0xa0, 0x2000), random.randrange(0x3000, 0x9fff), random.randrange(0x1f300, 0x1faff), random.choice([9, 10, 13, 32, 0x200d, 0xfe0f, 0x3000, 0x85, 0xa0])])) for _ in range(random.randrange(1, 60))),
    lambda: "".join(random.choice([" ", "  ", "\n", "\t", "\r\n", "'s", "'LL", "123", "4567", "a", "Ab", "!?", "<|endoftext|>", "<s>", "</s>", "<tool_call>", "▁", "é", "日本", "😀", "\x00"]) for _ in range(random.randrange(1, 30))),
]
texts = [random.choice(pools)() for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 300)]
bad = 0
for name in ["bytelevel-neox-nfc", "bytelevel-gpt2", "bytelevel-llama3", "sp-bpe-bytefallback", "sp-bpe-metaspace", "sentencepiece-model"]:
    is_sp = name == "sentencepiece-model"
    path = f"{root}/{name}/" + ("tokenizer.model" if is_sp else "tokenizer.json")
    if is_sp:
        sp = spm.SentencePieceProcessor(model_file=path)
    else:
        tok = Tokenizer.from_file(path)
    for t in texts:
        if is_sp:
            ids = sp.encode(t); dec = sp.decode(ids)
        else:
            ids = tok.encode(t, add_special_tokens=False).ids; dec = tok.decode(ids, skip_special_tokens=False)
        r = subprocess.run([braid, "tokenize", "--tokenizer", path, "--json"], input=t.encode(), capture_output=True)
        if r.returncode:
            print("ERR", name, repr(t), r.stderr.decode()); bad += 1; continue
        j = json.loads(r.stdout.decode().strip().split("\n")[-1])
        if j["ids"] != ids or j["decoded"] != dec:
            bad += 1
            if bad < 12: print("MISMATCH", name, repr(t), "\n hf", ids, repr(dec), "\n us", j["ids"], repr(j["decoded"]))
print("mismatches", bad, "of", 6 * len(texts))
sys.exit(1 if bad else 0)
