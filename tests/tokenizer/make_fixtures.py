#!/usr/bin/env python3
"""Reference fixtures for braid's tokenizer: tests/fixtures/tokenizer/<name>/.

Trains small tokenizers offline with HF `tokenizers` (and one with the `sentencepiece`
library), saves them, and records how the reference libraries encode and decode a fixed list of
tricky strings. braid's C++ tokenizer (tests/tokenizer/test_tokenizer.cpp) must reproduce every
id and every decoded string exactly.

Environment (the pinned versions are in tests/tokenizer/requirements.txt):

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install -r tests/tokenizer/requirements.txt

Training text: the offline Debian corpus (bash scripts/make_corpus.sh build/corpus), of which
the first ~2 MB of bible + fortunes + wordnet are used (a third from each, cut at a line end),
plus the mixed-script lines written below (UNICODE_LINES), repeated so that merges exist for
non-ASCII bytes. The held-out jargon.txt supplies two test paragraphs only.

Usage (from the repository root):

    /tmp/tokvenv/bin/python tests/tokenizer/make_fixtures.py [--corpus build/corpus] \
        [--out tests/fixtures/tokenizer]

Deterministic: training runs on one thread, nothing depends on time or hash order, and a second
run writes byte-identical files (check with --check, which regenerates into a temporary folder
and compares).

Every folder holds the tokenizer (tokenizer.json, or tokenizer.model for sentencepiece),
decode_cases.json (decoding of given id lists, see the README) and cases.json, a JSON list of
objects:

    name              a short label
    text_b64          the UTF-8 bytes of the text, base64
    ids               encode(text, add_special_tokens=False).ids
    decoded           decode(ids, skip_special_tokens=False)
    roundtrip         whether decoded == text
    ids_with_special  encode(text, add_special_tokens=True).ids, only where the post-processor
                      adds tokens

For sentencepiece-model the ids come from SentencePieceProcessor.encode(text) (no BOS/EOS) and
decoded from SentencePieceProcessor.decode(ids).
"""

import argparse
import base64
import filecmp
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tempfile

# One thread everywhere, set before tokenizers starts its thread pool.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers  # noqa: E402
from tokenizers import pre_tokenizers, processors, trainers  # noqa: E402

REQUIRED = {"tokenizers": "0.22.1"}

VOCAB_SIZE = 2000
TRAIN_BYTES = 2_000_000  # from bible + fortunes + wordnet together
UNICODE_REPEAT = 12  # how many times the mixed-script lines are fed to the trainers
SEED = 20240611

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SPIECE = "\u2581"  # ▁
BYTE_TOKENS = ["<0x%02X>" % b for b in range(256)]

# --------------------------------------------------------------------------------------------
# Mixed-script training text. Base sentences; make_unicode_lines() recombines them into a few
# hundred lines with a seeded generator.
# --------------------------------------------------------------------------------------------

UNICODE_BASE = [
    # accented Latin, German, French, Spanish, Portuguese, Polish, Czech, Turkish, Vietnamese
    "Le café est très bon, mais la crème brûlée est meilleure.",
    "Une naïve jeune fille a mangé des crêpes à Noël.",
    "Die Straße ist groß, und die Mädchen hören Musik über Kopfhörer.",
    "Fußgänger müssen die Brücke überqueren; das Wetter ist schön.",
    "El niño comió piña y jalapeños en la mañana. ¿Dónde está el baño? ¡Olé!",
    "A situação é complicada, mas não é impossível: ação, coração, pão.",
    "Zażółć gęślą jaźń. Łódź jest dużym miastem w Polsce.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Işık, ağaç, göğüs, şeker ve çiçek Türkçe kelimelerdir.",
    "Tiếng Việt có nhiều dấu: ă, â, ê, ô, ơ, ư, đ. Xin chào thế giới!",
    "Ærøskøbing og Ålborg ligger i Danmark; smørrebrød er godt.",
    # Cyrillic
    "Привет, мир! Как дела? Всё хорошо, спасибо.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Москва — столица России. В городе живёт более двенадцати миллионов человек.",
    "Українська мова має літери ї, є, ґ та і.",
    # Greek
    "Γειά σου Κόσμε! Η γλώσσα είναι ελληνική.",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    # Arabic, Hebrew, Persian
    "مرحبا بالعالم. اللغة العربية جميلة جدا.",
    "السلام عليكم ورحمة الله وبركاته",
    "שלום עולם! עברית נכתבת מימין לשמאל.",
    "سلام دنیا، زبان فارسی زیباست.",
    # Devanagari, Bengali, Tamil, Thai
    "नमस्ते दुनिया! हिन्दी भाषा बहुत सुंदर है।",
    "क्षत्रिय, ज्ञान, श्रीमान, द्वार, प्रेम।",
    "আমি বাংলায় গান গাই।",
    "வணக்கம் உலகம், தமிழ் மொழி.",
    "สวัสดีชาวโลก ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    # CJK, Japanese, Korean
    "日本語のテキストを処理します。東京は日本の首都です。",
    "ひらがなとカタカナと漢字を混ぜて書きます。",
    "中文字符的处理很重要。我们今天学习中文。",
    "北京是中国的首都，上海是最大的城市。",
    "繁體中文與簡體中文不同。",
    "안녕하세요 세계! 한국어는 한글로 씁니다.",
    "서울은 대한민국의 수도입니다.",
    # emoji and symbols
    "I love pizza 🍕 and coffee ☕ every day 😀😃😄",
    "Family: 👨\u200d👩\u200d👧\u200d👦, flags: 🇫🇷 🇩🇪 🇯🇵 🇺🇸, thumbs: 👍 👍🏻 👍🏽 👍🏿",
    "Weather: ☀️ 🌧️ ❄️ ⛈️ — hearts ❤️ 💙 💚 🖤",
    "Math: ∀x ∈ ℝ, x² ≥ 0; ∑ᵢ aᵢ = π ≈ 3.14159; √2 ≠ ∞",
    "Arrows → ← ↑ ↓ ⇒ ⇔, currency € £ ¥ ₹ ₽ $ ¢, marks © ® ™ § ¶",
    "Quotes: “double” ‘single’ «guillemets» „low“ — dash – en dash … ellipsis",
    # digits and mixed
    "Order #12345 costs $1,299.99 (incl. 19% VAT) on 2024-03-15 at 14:30.",
    "Phone: +49 30 1234567, ZIP 90210, PI 3.14159265358979, e 2.71828.",
    "Version 1.2.3-beta+build.456 was released in 2023; 0xDEADBEEF 0b1010.",
    # code with tabs
    "def main():\n\tprint('hello, world')\n\treturn 0",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}",
    "if x == 1:\n\t\treturn {'key': [1, 2, 3]}\n\telse:\n\t\tpass",
    "SELECT name, count(*) FROM users\tWHERE age > 18\tGROUP BY name;",
    "const f = (x) => x ** 2; // square\n\tconsole.log(f(3));",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n}",
]


def make_unicode_lines():
    rng = random.Random(SEED)
    lines = []
    for s in UNICODE_BASE:  # each base line once as is
        lines.extend(s.split("\n"))
    while len(lines) < 400:
        k = rng.randint(1, 3)
        parts = [rng.choice(rng.choice(UNICODE_BASE).split("\n")) for _ in range(k)]
        if rng.random() < 0.3:
            parts.insert(rng.randrange(len(parts) + 1), str(rng.randrange(10 ** rng.randint(1, 7))))
        sep = rng.choice([" ", " ", " ", "\t", "  ", " — "])
        lines.append(sep.join(parts))
    return lines


UNICODE_LINES = make_unicode_lines()

# --------------------------------------------------------------------------------------------
# Training text
# --------------------------------------------------------------------------------------------


def read_prefix(path, nbytes):
    """The first nbytes of a file, cut back to the last complete line."""
    with open(path, "rb") as f:
        data = f.read(nbytes + 1)
    if len(data) > nbytes:
        data = data[: data.rfind(b"\n", 0, nbytes) + 1]
    return data.decode("utf-8")


def training_lines(corpus):
    per = TRAIN_BYTES // 3
    lines = []
    digest = hashlib.sha256()
    for name in ("bible", "fortunes", "wordnet"):
        text = read_prefix(os.path.join(corpus, name + ".txt"), per)
        digest.update(text.encode("utf-8"))
        lines.extend(line for line in text.split("\n") if line.strip())
    for _ in range(UNICODE_REPEAT):
        lines.extend(UNICODE_LINES)
    return lines, digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Test strings
# --------------------------------------------------------------------------------------------


def jargon_passages(corpus):
    with open(os.path.join(corpus, "jargon.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")

    def block(start_marker, stop):
        i = next(k for k, line in enumerate(lines) if line.startswith(start_marker))
        out = []
        for line in lines[i:]:
            if out and stop(line):
                break
            out.append(line)
        return "\n".join(out).rstrip("\n") + "\n"

    welcome = block("   This is the Jargon File, a comprehensive", lambda l: l.startswith("   The Jargon File is a common"))
    hacker = block("   :hacker: n.", lambda l: l.startswith("   :") and not l.startswith("   :hacker: n."))
    return welcome, hacker[:3000]


def random_mix(nbytes):
    """A seeded ~nbytes mix of words, scripts, digits, punctuation, whitespace and emoji."""
    rng = random.Random(SEED + 1)
    words = " ".join(UNICODE_BASE).replace("\n", " ").replace("\t", " ").split(" ")
    words = [w for w in words if w]
    extras = ["\n", "\t", "  ", "   ", "\r\n", "\n\n", "...", "!!", "'s", "'ll", "0", "42", "2024",
              "3.14", "👍🏽", "🇫🇷", "👨\u200d👩\u200d👧", "e\u0301", "\u00a0", "\u3000", "<s>", "</s>",
              "<|endoftext|>", "<tool_call>", "\x00", "\x7f", "\u200b", "𝔘𝔫𝔦", "𠜎", "ﬁ"]
    out, size = [], 0
    while True:
        piece = rng.choice(extras) if rng.random() < 0.2 else rng.choice(words)
        if rng.random() < 0.8:
            piece = piece + " "
        b = len(piece.encode("utf-8"))
        if size + b > nbytes:
            break
        out.append(piece)
        size += b
    return "".join(out)


def ignore_merges_cases(tok):
    """Cases for ignore_merges: each IGNORE_MERGES_WORDS word alone (checked to be one token
    here and several with ignore_merges off), then all of them in a sentence and as parts of
    longer words (where the merges apply)."""
    plain = json.loads(tok.to_str())
    plain["model"]["ignore_merges"] = False
    alt = Tokenizer.from_str(json.dumps(plain))
    cases = []
    for i, word in enumerate(IGNORE_MERGES_WORDS):
        ids = tok.encode(word, add_special_tokens=False).ids
        assert len(ids) == 1 and len(alt.encode(word, add_special_tokens=False).ids) > 1, word
        cases.append(("ignore_merges_%d" % i, word))
    cases.append(("ignore_merges_sentence", "A hybrid Mamba Transformer braid tokenizer:" + "".join(IGNORE_MERGES_WORDS)))
    cases.append(("ignore_merges_longer", " braids tokenizers Transformers hybrids braid."))
    return cases


def make_cases(corpus):
    c = []

    def add(name, text):
        c.append((name, text))

    add("empty", "")
    add("ascii_hello", "Hello world")
    add("ascii_sentence", "The quick brown fox jumps over the lazy dog.")
    add("ascii_bible", "In the beginning God created the heaven and the earth.")
    add("ascii_mixed_case", "Hello, World! HELLO world. hElLo WoRlD?")
    add("single_char", "a")
    add("single_space", " ")
    add("leading_space", " hello")
    add("trailing_space", "hello ")
    add("leading_trailing_spaces", "  hello  world  ")
    for n in (2, 3, 4, 5, 7, 8, 15, 16, 17):
        add("spaces_%d_between" % n, "a" + " " * n + "b")
    for n in (2, 3, 16):
        add("spaces_%d_only" % n, " " * n)
    add("spaces_trailing_run", "end" + " " * 6)
    add("spaces_leading_run", " " * 5 + "start")
    add("newline", "\n")
    add("crlf", "\r\n")
    add("cr", "\r")
    add("newlines_3", "\n\n\n")
    add("lines_lf", "line one\nline two\nline three")
    add("lines_crlf", "line one\r\nline two\r\n")
    add("blank_lines_between", "a\n\n\nb")
    add("space_newline_space", " \n ")
    add("newline_then_spaces", "x\n    y")
    add("tab", "\t")
    add("tabs_between", "a\tb\t\tc")
    add("tab_indent", "\t\tindented\n\tless")
    add("tsv", "col1\tcol2\tcol3\n1\t2\t3\n")
    add("mixed_whitespace", " \t\n \r\n\t  x \t ")
    add("nbsp", "a\u00a0b\u00a0\u00a0c")
    add("ideographic_space", "日本\u3000語")
    add("unicode_spaces", "a\u2009b\u2003c\u202fd")
    add("zero_width", "a\u200bb\u200cc\u200dd\ufeffe")
    add("nul", "\x00")
    add("control_01", "\x01")
    add("del_7f", "\x7f")
    add("nul_inside", "a\x00b\x00\x00c")
    add("ansi_escape", "\x1b[31mred\x1b[0m")
    add("controls_mixed", "\x08\x0b\x0c\x1f\x85")
    for n in range(1, 13):
        add("digits_%d" % n, "1234567890"[: n] if n <= 10 else "1234567890" + "12"[: n - 10])
    add("pi", "3.14159")
    add("million", "1,000,000")
    add("date_time", "2024-01-15 13:45:07")
    add("hex_and_version", "0x1F v2.10.3")
    add("digits_in_words", "abc123def4567gh89")
    add("arabic_indic_digits", "٣٤٥ ۱۲۳")
    add("fullwidth_digits", "１２３ＡＢＣ")
    add("contractions", "I'm, you're, they'll, it's, we'd, don't, DON'T")
    add("contractions_upper", "I'VE HE'S SHE'D WE'LL THEY'RE IT'S")
    add("apostrophes", "'s 't 're rock'n'roll ''quoted''")
    add("punct_runs", "!!!???...")
    add("arrow", "--->")
    add("punct_mix", "<<<>>> (){}[] @#$%^&* ~`|\\")
    add("smart_quotes", "“smart quotes” ‘single’ «guillemets» — em – en …")
    add("accented", "naïve café")
    add("german", "Straße Größe Übermäßig")
    add("cyrillic", "Привет, мир! Съешь же ещё этих мягких булок.")
    add("greek", "Γειά σου Κόσμε")
    add("arabic", "مرحبا بالعالم")
    add("hebrew", "שלום עולם")
    add("hindi", "नमस्ते दुनिया, क्षत्रिय ज्ञान")
    add("thai", "สวัสดีชาวโลก")
    add("japanese", "日本語のテキスト")
    add("chinese", "中文字符")
    add("chinese_rare", "龘靐齉爩")
    add("korean", "안녕하세요 세계")
    add("emoji_simple", "😀😃😄 🍕☕")
    add("emoji_zwj_family", "👨\u200d👩\u200d👧\u200d👦")
    add("emoji_flags", "🇫🇷🇩🇪 🇯🇵")
    add("emoji_skin_tones", "👍🏻👍🏽👍🏿")
    add("emoji_variation", "❤️ ☀️ ✔︎")
    add("combining_acute", "e\u0301")
    add("combining_vs_precomposed", "cafe\u0301 café A\u0308 Ä")
    add("ligature_and_compat", "ﬁ ﬂ Ω Å ½ ²")
    add("math_alphanumeric", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛")
    add("cjk_ext_b", "𠜎𠜱𠝹")
    add("private_use_and_replacement", "\ue000\uf8ff\ufffd")
    add("max_codepoint", "\U0010ffff")
    add("special_eot_inside", "hello<|endoftext|>world")
    add("special_eot_alone", "<|endoftext|>")
    add("special_eot_twice", "<|endoftext|><|endoftext|> <|endoftext|>")
    add("special_padding", "a<|padding|>b")
    add("special_s_inside", "<s>inside</s>")
    add("special_s_alone", "<s>")
    add("special_s_spaced", "a <s> b </s> c")
    add("special_unk", "<unk>x<unk>")
    add("special_llama3", "<|begin_of_text|>Hi there<|end_of_text|>")
    add("added_tool_call", "call <tool_call>{\"x\": 1}</tool_call> done")
    add("added_tool_call_alone", "<tool_call>")
    add("special_partial", "<|endoftext <s < /s> <|begin_of_text")
    add("byte_token_literal", "<0x41><0xE6>")
    add("code_python", "def f(x):\n\treturn x**2  # comment")
    add("code_c", "int main(void) {\n    return 0;\n}\n")
    add("code_loop", "for (i = 0; i < n; ++i) { a[i] += b[i]; }")
    add("code_indent", "    four\n        eight\n\t\ttabs")
    add("json_snippet", "{\"key\": [1, 2.5, \"three\"], \"nested\": {\"a\": null}}")
    add("url", "https://example.com/path/to?q=1&r=two#frag")
    add("long_word", "a" * 100)
    add("long_punct", "=" * 64)
    add("repeated_word", "the " * 40)
    add("mixed_scripts_line", "English русский 日本語 العربية 🙂 123")
    welcome, hacker = jargon_passages(corpus)
    add("jargon_welcome", welcome)
    add("jargon_hacker", hacker)
    add("random_mix_4k", random_mix(4096))
    return c


# --------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------


def bpe_trainer(vocab_size, special_tokens, initial_alphabet=()):
    return trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                               special_tokens=special_tokens, initial_alphabet=list(initial_alphabet))


def sorted_byte_alphabet():
    return sorted(pre_tokenizers.ByteLevel.alphabet())


def train_bytelevel_gpt2(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.train_from_iterator(lines, bpe_trainer(VOCAB_SIZE, ["<|endoftext|>", "<|padding|>"], sorted_byte_alphabet()))
    return tok


# Whole words put into bytelevel-llama3's vocabulary after training, which no sequence of merges
# produces: with ignore_merges (as in Llama 3) a pre-token found in the vocabulary is one token.
IGNORE_MERGES_WORDS = [" braid", " tokenizer", " Mamba", "Transformer", " hybrid"]


def train_bytelevel_llama3(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(lines, bpe_trainer(VOCAB_SIZE - len(IGNORE_MERGES_WORDS), [], sorted_byte_alphabet()))
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    for word in IGNORE_MERGES_WORDS:
        (piece,) = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(word)]
        assert piece not in vocab, piece
        vocab[piece] = len(vocab)
    data["model"]["ignore_merges"] = True
    tok = Tokenizer.from_str(json.dumps(data))
    # Like Llama 3: the special tokens come after the trained vocabulary, and the post-processor
    # is Sequence[ByteLevel(trim_offsets=False), TemplateProcessing(<|begin_of_text|> $A)].
    tok.add_special_tokens([AddedToken("<|begin_of_text|>", special=True, normalized=False),
                            AddedToken("<|end_of_text|>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("<tool_call>", special=False), AddedToken("</tool_call>", special=False)])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    return tok


def sp_training_lines(lines, keep_chars):
    """Lines for the sentencepiece-style trainers: characters outside keep_chars become spaces,
    so the trained alphabet is exactly keep_chars (every other character needs byte fallback)."""
    out = []
    for line in lines:
        if any(ch not in keep_chars for ch in line):
            line = "".join(ch if ch in keep_chars else " " for ch in line)
        out.append(line)
    return out


def char_alphabet(lines, min_count):
    counts = {}
    for line in lines:
        for ch in line:
            counts[ch] = counts.get(ch, 0) + 1
    return {ch for ch, n in counts.items() if n >= min_count and ch not in "\t\r\n"}


def train_sp_bpe(lines, min_count, vocab_size):
    """A sentencepiece-style BPE: words are '▁'-prefixed (split on spaces only for training),
    the vocabulary is <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, then the trained
    pieces. Returns the BPE model JSON (type, vocab, merges and flags)."""
    keep = char_alphabet(lines, min_count) | {" "}
    train = Tokenizer(models.BPE(unk_token="<unk>"))
    train.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="always", split=True)
    train.train_from_iterator(sp_training_lines(lines, keep),
                              bpe_trainer(vocab_size - len(BYTE_TOKENS), ["<unk>", "<s>", "</s>"]))
    trained = json.loads(train.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for t in BYTE_TOKENS:
        vocab[t] = len(vocab)
    for t, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    return {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
            "vocab": vocab, "merges": trained["merges"]}


SP_ADDED = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, t in enumerate(["<unk>", "<s>", "</s>"])]


def build_sp_bpe_bytefallback(lines):
    model = train_sp_bpe(lines, min_count=400, vocab_size=VOCAB_SIZE)
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.Prepend(SPIECE), normalizers.Replace(" ", SPIECE)])
    tok.decoder = decoders.Sequence([decoders.Replace(SPIECE, " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    # Like Llama 2: <s> before every sequence when special tokens are requested.
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s>:1 $B:1",
                                                       special_tokens=[("<s>", 1)])
    data = json.loads(tok.to_str())
    data["model"] = model
    data["added_tokens"] = SP_ADDED
    return Tokenizer.from_str(json.dumps(data))


def build_sp_bpe_metaspace(lines):
    model = train_sp_bpe(lines, min_count=60, vocab_size=VOCAB_SIZE)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(),
                                     decoders.Metaspace(replacement=SPIECE, prepend_scheme="first", split=False)])
    data = json.loads(tok.to_str())
    data["model"] = model
    data["added_tokens"] = SP_ADDED
    return Tokenizer.from_str(json.dumps(data))


def to_legacy_merges(tok):
    data = json.loads(tok.to_str())
    merges = data["model"]["merges"]
    assert all(isinstance(m, list) and len(m) == 2 and " " not in m[0] + m[1] for m in merges)
    data["model"]["merges"] = [a + " " + b for a, b in merges]
    return data


def train_sentencepiece(lines, path):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, model_type="bpe", vocab_size=VOCAB_SIZE,
        byte_fallback=True, character_coverage=0.9995, normalization_rule_name="identity",
        remove_extra_whitespaces=False, add_dummy_prefix=True, split_digits=True,
        allow_whitespace_only_pieces=True, max_sentencepiece_length=16, num_threads=1,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2,
        input_sentence_size=0, shuffle_input_sentence=False)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def hf_cases(tok, cases, with_special):
    out = []
    for name, text in cases:
        ids = tok.encode(text, add_special_tokens=False).ids
        decoded = tok.decode(ids, skip_special_tokens=False)
        case = {"name": name, "text_b64": b64(text), "ids": ids, "decoded": decoded, "roundtrip": decoded == text}
        if with_special:
            case["ids_with_special"] = tok.encode(text, add_special_tokens=True).ids
        out.append(case)
    return out


def sp_cases(sp, cases):
    out = []
    for name, text in cases:
        ids = sp.encode(text)
        decoded = sp.decode(ids)
        out.append({"name": name, "text_b64": b64(text), "ids": ids, "decoded": decoded, "roundtrip": decoded == text})
    return out


def decode_id_lists(vocab_size, extra_ids, encoded, byte_ids):
    """(name, ids) lists for decode_cases.json: single ids (all of the first 300, then every 10th,
    then extra_ids), prefixes and reversals of some encodings (cut inside characters), and
    invalid byte sequences."""
    out = []
    singles = sorted(set(range(min(300, vocab_size))) | set(range(300, vocab_size, 10)) | {vocab_size - 1}
                     | set(extra_ids))
    out.extend(("id_%d" % i, [i]) for i in singles)
    for name in ("japanese", "chinese_rare", "emoji_zwj_family", "hindi"):
        ids = encoded[name]
        for k in range(1, min(len(ids), 12)):
            out.append(("prefix_%s_%d" % (name, k), ids[:k]))
        out.append(("reversed_%s" % name, ids[::-1]))
    mix = encoded["random_mix_4k"]
    for k in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377):
        out.append(("prefix_random_mix_4k_%d" % k, mix[:k]))
    hello = encoded["ascii_hello"]
    out.append(("specials_around_text", list(extra_ids) + hello + list(extra_ids) + hello))
    b = byte_ids
    out.append(("bytes_truncated_e6_97", [b[0xE6], b[0x97]]))
    out.append(("bytes_lone_continuation_97", [b[0x97]]))
    out.append(("bytes_ff_fe", [b[0xFF], b[0xFE]]))
    out.append(("bytes_surrogate_ed_a0_80", [b[0xED], b[0xA0], b[0x80]]))
    out.append(("bytes_valid_then_truncated", [b[0xC3], b[0xA9], b[0xE6], b[0x97]]))
    out.append(("bytes_split_by_text", [b[0xE6]] + hello + [b[0x97], b[0xA5]]))
    out.append(("bytes_nul_and_7f", [b[0x00], b[0x7F]]))
    return out


def hf_decode_cases(tok, cases, byte_token):
    encoded = {name: tok.encode(text, add_special_tokens=False).ids for name, text in cases}
    extra = sorted(json.loads(tok.to_str())["model"]["vocab"].values())[-3:]
    added = [t.content for t in tok.get_added_tokens_decoder().values()]
    added_ids = sorted(tok.token_to_id(t) for t in added)
    byte_ids = [tok.token_to_id(byte_token(b)) for b in range(256)]
    assert None not in byte_ids
    out = []
    for name, ids in decode_id_lists(tok.get_vocab_size(with_added_tokens=True), added_ids + extra, encoded, byte_ids):
        out.append({"name": name, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                    "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    return out


def sp_decode_cases(sp, cases):
    encoded = {name: sp.encode(text) for name, text in cases}
    byte_ids = [sp.piece_to_id(t) for t in BYTE_TOKENS]
    out = []
    for name, ids in decode_id_lists(sp.get_piece_size(), [0, 1, 2], encoded, byte_ids):
        out.append({"name": name, "ids": ids, "decoded": sp.decode(ids)})
    return out


def byte_level_token(b):
    return BYTE_LEVEL_CHARS[b]


def _byte_level_chars():
    # GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the others to U+0100+.
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, n = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return chars


BYTE_LEVEL_CHARS = _byte_level_chars()


def sp_byte_token(b):
    return BYTE_TOKENS[b]


def write_cases(path, cases):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(", ", ": ")) for c in cases))
        f.write("\n]\n")


def save_tokenizer(tok, folder):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "tokenizer.json")
    tok.save(path, pretty=True)
    return Tokenizer.from_file(path)  # the cases come from the file as saved


def components(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    model = {k: v for k, v in data["model"].items() if k not in ("vocab", "merges")}
    merges = data["model"]["merges"]
    model["vocab"] = "<%d entries>" % len(data["model"]["vocab"])
    model["merges"] = "<%d entries, %s>" % (len(merges), "pairs [\"a\", \"b\"]" if merges and isinstance(merges[0], list)
                                             else "strings \"a b\"")
    added = [{k: t[k] for k in ("id", "content", "special", "normalized")} for t in data["added_tokens"]]
    for t in data["added_tokens"]:
        assert not (t["lstrip"] or t["rstrip"] or t["single_word"]), t
    return {"normalizer": data["normalizer"], "pre_tokenizer": data["pre_tokenizer"],
            "post_processor": data["post_processor"], "decoder": data["decoder"], "model": model,
            "added_tokens": added}


README_HEAD = """\
# Tokenizer fixtures

Reference tokenizers and encodings for braid's tokenizer (tests/tokenizer/test_tokenizer.cpp).
Everything here is generated by `tests/tokenizer/make_fixtures.py`; do not edit by hand.

Regenerate (from the repository root; needs the offline corpus from
`bash scripts/make_corpus.sh build/corpus`):

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install -r tests/tokenizer/requirements.txt
    /tmp/tokvenv/bin/python tests/tokenizer/make_fixtures.py --corpus build/corpus --out tests/fixtures/tokenizer

The script is deterministic (one thread, seeded); `--check` regenerates into a temporary folder
and verifies that the files are byte-identical.

Made with: {versions}.
Training text: the first {train_bytes} bytes of build/corpus bible.txt + fortunes.txt +
wordnet.txt (a third of each, cut at a line end; sha256 {digest}) plus {n_unicode} mixed-script
lines written in the script (accented Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai,
CJK, Hangul, emoji, digits, code with tabs), fed {repeat} times. Two test paragraphs come from the
held-out jargon.txt.

## cases.json

Each folder's `cases.json` is a JSON list of objects, {n_cases} per folder, the same texts for
every tokenizer:

| field | meaning |
|---|---|
| `name` | a short label |
| `text_b64` | the UTF-8 bytes of the text, base64 |
| `ids` | `tokenizer.encode(text, add_special_tokens=False).ids` |
| `decoded` | `tokenizer.decode(ids, skip_special_tokens=False)` |
| `roundtrip` | `decoded == text` |
| `ids_with_special` | `encode(text, add_special_tokens=True).ids`; only in folders whose post-processor adds tokens |

For `sentencepiece-model`, `ids` is `SentencePieceProcessor.encode(text)` (no BOS/EOS) and
`decoded` is `SentencePieceProcessor.decode(ids)`.

Each folder also has `decode_cases.json`, decoding only (id lists that need not come from any
text): `{{"name", "ids", "decoded", "decoded_skip_special"}}` with
`decode(ids, skip_special_tokens=False)` and `=True` (sentencepiece-model: `decoded` only, from
`SentencePieceProcessor.decode`). The lists: single ids (all of 0-299, every 10th after, the
added tokens and the last ids), prefixes and reversals of the encodings of some cases (cut
inside UTF-8 characters), specials around text, and byte tokens that are not valid UTF-8
(truncated, lone continuation, 0xFF, a surrogate).

Cases cover: the empty string; ASCII sentences; leading/trailing spaces; runs of 2-17 spaces;
`\\n`, `\\r\\n`, `\\r`, `\\n\\n\\n`; tabs; mixed and Unicode whitespace (NBSP, U+3000, thin
space, zero-width characters, BOM); control characters (NUL, 0x01, 0x7F, ESC, 0x85); digit runs
of 1-12, `3.14159`, `1,000,000`; contractions in lower and upper case; punctuation runs;
accented Latin, German, Cyrillic, Greek, Arabic, Hebrew, Hindi, Thai, Japanese, Chinese
(including rare characters), Korean; emoji with ZWJ, flags, skin tones and variation selectors;
combining marks (`e\\u0301`, not normalized: no fixture has a Unicode normalizer); compatibility
characters; 4-byte characters and U+10FFFF; special and added tokens inside text (and partial or
literal look-alikes such as `<0x41>`); code with tabs and indentation; two held-out Jargon File
paragraphs; a seeded 4 KB mix of all of the above.

## Folders
"""


README_NOTES = """
## Notes on the saved JSON (tokenizers 0.22.1)

- `model.merges` is a list of pairs `[["a", "b"], ...]`; older files (and
  `bytelevel-gpt2-legacy-merges/`) use strings `"a b"`. A merge's rank is its index.
- `model` always has `dropout`, `unk_token`, `continuing_subword_prefix`, `end_of_word_suffix`,
  `fuse_unk`, `byte_fallback` and `ignore_merges`; `vocab` is written in id order.
  `ignore_merges: true` (bytelevel-llama3): a pre-token found whole in the vocabulary is one
  token, before any merge.
- Added tokens with `normalized: false` are cut out of the raw text first; the normalizer then
  runs on each remaining piece separately, tokens with `normalized: true` are cut out of the
  normalized pieces, and the pre-tokenizer and model run on what is left. So in
  sp-bpe-bytefallback every non-empty piece after an added token gets its own `▁` from Prepend
  (Prepend leaves an empty piece empty), and in sp-bpe-metaspace `prepend_scheme: "first"`
  prepends only to the piece that starts at offset 0 of the original text. Non-special added
  tokens are saved with `normalized: true` (no folder has a normalizer that would change them).
  Added tokens go through the decoder like any other token.
- `Split`: `pattern` is `{"Regex": ...}` (or `{"String": ...}`), `behavior` is capitalised
  (`"Isolated"`). The Sequence keys are `pretokenizers`, `normalizers`, `decoders` and
  `processors`. `Replace` has `pattern: {"String": ...}` and `content`.
- `Metaspace` (pre-tokenizer and decoder) is saved as `replacement`, `prepend_scheme`
  (`"always"`, `"first"` or `"never"`) and `split`; files from before tokenizers 0.19 may have
  `add_prefix_space` (0.22 reads `add_prefix_space: false` as `prepend_scheme: "never"`, and a
  missing `split` as true). The pre-tokenizer replaces only U+0020 with `▁`, then prepends `▁`
  unless the piece already starts with one. The decoder turns `▁` into a space, except that it
  drops every `▁` of the first token (not only a leading one) unless `prepend_scheme` is
  `"never"`.
- `ByteFallback` decoder: a run of consecutive `<0xXX>` tokens becomes one string if the bytes
  are valid UTF-8 as a whole, otherwise one U+FFFD per byte (see decode_cases.json).
- `Strip` decoder: saved as `content`, `start`, `stop` (the Python arguments are `left`,
  `right`); it strips per token, so it follows `Fuse`.
- The `ByteLevel` decoder is always saved as `add_prefix_space: true, trim_offsets: true,
  use_regex: true`, whatever it was built with; the fields do not affect decoding. The
  `ByteLevel` post-processor's fields affect offsets only, never ids.
- `TemplateProcessing`: `single` / `pair` are lists of `{"SpecialToken": {"id", "type_id"}}`
  and `{"Sequence": {"id": "A"|"B", "type_id"}}`; `special_tokens` maps each name to
  `{"id", "ids", "tokens"}`.
"""


def write_readme(out, info):
    parts = [README_HEAD.format(**info)]
    for name, desc, comp in info["folders"]:
        parts.append("\n### `%s/`\n\n%s\n" % (name, desc))
        if comp is not None:
            body = ",\n".join("  %s: %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in comp.items())
            parts.append("\nPipeline components of tokenizer.json (vocab and merges elided; added_tokens "
                         "without their defaults):\n\n```json\n{\n%s\n}\n```\n" % body)
    parts.append(README_NOTES)
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(parts))


def check_versions():
    for mod, want in REQUIRED.items():
        have = sys.modules[mod].__version__
        if have != want:
            sys.exit("make_fixtures: %s %s is required, found %s (pip install -r tests/tokenizer/requirements.txt)"
                     % (mod, want, have))


def generate(corpus, out):
    check_versions()
    os.makedirs(out, exist_ok=True)
    lines, digest = training_lines(corpus)
    cases = make_cases(corpus)
    folders = []

    def describe(name, desc, tok, with_special, texts=None, byte_token=byte_level_token):
        saved = save_tokenizer(tok, os.path.join(out, name))
        write_cases(os.path.join(out, name, "cases.json"), hf_cases(saved, texts or cases, with_special))
        write_cases(os.path.join(out, name, "decode_cases.json"), hf_decode_cases(saved, cases, byte_token))
        folders.append((name, desc, components(os.path.join(out, name, "tokenizer.json"))))
        return saved

    gpt2 = describe("bytelevel-gpt2",
                    "GPT-2 / GPT-NeoX style (the Mamba tokenizer's family): byte-level BPE, the ByteLevel "
                    "pre-tokenizer with its GPT-2 regex, ByteLevel decoder and post-processor (which adds no "
                    "tokens, so there is no `ids_with_special`). Special tokens `<|endoftext|>` (0) and "
                    "`<|padding|>` (1). No normalizer.",
                    train_bytelevel_gpt2(lines), False)

    legacy_dir = os.path.join(out, "bytelevel-gpt2-legacy-merges")
    os.makedirs(legacy_dir, exist_ok=True)
    # Written with json.dumps: tokenizers' own save() would turn the merges back into pairs.
    with open(os.path.join(legacy_dir, "tokenizer.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(to_legacy_merges(gpt2), ensure_ascii=False, indent=2) + "\n")
    legacy = Tokenizer.from_file(os.path.join(legacy_dir, "tokenizer.json"))
    legacy_cases = hf_cases(legacy, cases, False)
    if legacy_cases != hf_cases(gpt2, cases, False):
        sys.exit("make_fixtures: the legacy-merges copy does not encode like bytelevel-gpt2")
    write_cases(os.path.join(legacy_dir, "cases.json"), legacy_cases)
    legacy_decode = hf_decode_cases(legacy, cases, byte_level_token)
    assert legacy_decode == hf_decode_cases(gpt2, cases, byte_level_token)
    write_cases(os.path.join(legacy_dir, "decode_cases.json"), legacy_decode)
    folders.append(("bytelevel-gpt2-legacy-merges",
                    "bytelevel-gpt2 with `model.merges` in the legacy string form `\"a b\"` instead of the "
                    "pairs `[\"a\", \"b\"]` that tokenizers 0.22 writes; otherwise identical (written with "
                    "json.dumps, not tokenizers' save, which would convert the merges back). Verified with "
                    "tokenizers to load and give the same ids and decodings for every case.",
                    components(os.path.join(legacy_dir, "tokenizer.json"))))

    # GPT-NeoX's own tokenizer.json (Mamba's) normalizes with NFC: the same model behind one.
    neox = json.loads(gpt2.to_str())
    neox["normalizer"] = {"type": "NFC"}
    nfc_extra = [(n, t) for n, t in [
        ("nfc_angstrom_sign", "\u212b and \u00c5 and A\u030a"), ("nfc_hangul_jamo", "\u1100\u1161\u11a8 \uac01"),
        ("nfc_ohm_kelvin", "\u2126 \u212a"), ("nfc_ligature_kept", "\ufb01ne \u2460"),
        ("nfc_stacked_marks", "a\u0323\u0302 \u1ea1\u0302 q\u0307\u0323")]]
    describe("bytelevel-neox-nfc",
             "bytelevel-gpt2 with GPT-NeoX's `normalizer` {\"type\": \"NFC\"} (Unicode canonical "
             "composition before the byte-level split), as the Mamba checkpoints' tokenizer.json has it. "
             "The cases named `nfc_*` (only in this folder) compose or keep characters differently under NFC.",
             Tokenizer.from_str(json.dumps(neox)), False, cases + nfc_extra)

    llama3 = train_bytelevel_llama3(lines)
    extra = ignore_merges_cases(llama3)
    describe("bytelevel-llama3",
             "Llama 3 / Bamba style: byte-level BPE with `ignore_merges: true`, the pre-tokenizer "
             "Sequence[Split(Llama-3 regex, Isolated), ByteLevel(use_regex=false)], ByteLevel decoder, "
             "post-processor Sequence[ByteLevel(trim_offsets=false), TemplateProcessing] adding "
             "`<|begin_of_text|>` in front (so cases carry `ids_with_special`). The added tokens come "
             "after the trained vocabulary: specials `<|begin_of_text|>`, `<|end_of_text|>` and "
             "non-special `<tool_call>`, `</tool_call>`. The vocabulary ends with %d whole words that no "
             "sequence of merges produces (%s), put in after training; the cases named `ignore_merges_*` "
             "(only in this folder) use them." % (len(IGNORE_MERGES_WORDS), ", ".join("`%s`" % w for w in IGNORE_MERGES_WORDS)),
             llama3, True, cases + extra)

    describe("sp-bpe-bytefallback",
             "SentencePiece BPE converted to tokenizer.json, Llama 2 / Jamba style: normalizer "
             "Sequence[Prepend(\"▁\"), Replace(\" \", \"▁\")] (applied to each piece of text between added "
             "tokens, so each gets its own ▁), no pre-tokenizer (the whole piece is one BPE word), "
             "BPE with byte_fallback and fuse_unk, decoder Sequence[Replace(\"▁\", \" \"), ByteFallback, Fuse, "
             "Strip(\" \", 1, 0)], post-processor TemplateProcessing adding `<s>` (so cases carry "
             "`ids_with_special`). Vocabulary: `<unk>` 0, `<s>` 1, `</s>` 2 (added, special), the byte "
             "tokens `<0x00>`..`<0xFF>` at 3..258, then the trained pieces. Only characters seen at least "
             "400 times in training are in the vocabulary, so most CJK, emoji and many other scripts' "
             "characters go through byte fallback.",
             build_sp_bpe_bytefallback(lines), True, byte_token=sp_byte_token)

    describe("sp-bpe-metaspace",
             "The same BPE family with the Metaspace pre-tokenizer (replacement ▁, prepend_scheme "
             "\"first\": only the text before the first added token gets a ▁, split false) and no "
             "normalizer; decoder Sequence[ByteFallback, Metaspace(prepend_scheme \"first\")]. Vocabulary "
             "laid out as in sp-bpe-bytefallback; characters seen at least 60 times are in it (more "
             "scripts than sp-bpe-bytefallback; rare characters still use byte fallback). No "
             "post-processor.",
             build_sp_bpe_metaspace(lines), False, byte_token=sp_byte_token)

    sp_dir = os.path.join(out, "sentencepiece-model")
    os.makedirs(sp_dir, exist_ok=True)
    model_path = os.path.join(sp_dir, "tokenizer.model")
    train_sentencepiece(lines, model_path)
    sp = spm.SentencePieceProcessor(model_file=model_path)
    write_cases(os.path.join(sp_dir, "cases.json"), sp_cases(sp, cases))
    write_cases(os.path.join(sp_dir, "decode_cases.json"), sp_decode_cases(sp, cases))
    folders.append(("sentencepiece-model",
                    "A SentencePiece BPE model trained with the sentencepiece library, Llama 2 style: "
                    "model_type bpe, vocab_size %d, byte_fallback, normalization_rule_name identity (no "
                    "precompiled charsmap), add_dummy_prefix, remove_extra_whitespaces false, split_digits, "
                    "allow_whitespace_only_pieces, character_coverage 0.9995, max_sentencepiece_length 16, "
                    "unk 0, bos 1, eos 2, no pad. Only `tokenizer.model` (no tokenizer.json); the cases are "
                    "sentencepiece's own encode (ids, no BOS/EOS) and decode." % sp.get_piece_size(),
                    None))

    info = {"versions": "tokenizers %s, sentencepiece %s, Python %d.%d" % (
        tokenizers.__version__, spm.__version__, sys.version_info[0], sys.version_info[1]),
        "train_bytes": TRAIN_BYTES, "digest": digest, "n_unicode": len(UNICODE_LINES),
        "repeat": UNICODE_REPEAT, "n_cases": "%d (bytelevel-llama3: %d more, its `ignore_merges_*` cases)"
        % (len(cases), len(extra)), "folders": folders}
    write_readme(out, info)


def compare_trees(a, b):
    diffs = []
    for root, _, files in os.walk(a):
        for fn in files:
            pa = os.path.join(root, fn)
            pb = os.path.join(b, os.path.relpath(pa, a))
            if not os.path.exists(pb) or not filecmp.cmp(pa, pb, shallow=False):
                diffs.append(os.path.relpath(pa, a))
    return diffs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=os.path.join(root, "build", "corpus"))
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "tokenizer"))
    ap.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare with --out")
    args = ap.parse_args()
    for name in ("bible", "fortunes", "wordnet", "jargon"):
        if not os.path.exists(os.path.join(args.corpus, name + ".txt")):
            sys.exit("make_fixtures: %s/%s.txt is missing (bash scripts/make_corpus.sh %s)" % (args.corpus, name, args.corpus))
    if args.check:
        tmp = tempfile.mkdtemp()
        try:
            generate(args.corpus, tmp)
            diffs = compare_trees(tmp, args.out) + compare_trees(args.out, tmp)
            if diffs:
                sys.exit("make_fixtures: differs from %s: %s" % (args.out, ", ".join(sorted(set(diffs)))))
            print("make_fixtures: %s is up to date" % args.out)
        finally:
            shutil.rmtree(tmp)
        return
    generate(args.corpus, args.out)
    print("make_fixtures: wrote %s" % args.out)


if __name__ == "__main__":
    main()
