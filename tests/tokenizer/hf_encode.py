#!/usr/bin/env python3
"""Encode a text with HF tokenizers and print {"ids": [...], "decoded": "..."} as one JSON line.

    hf_encode.py TOKENIZER_JSON [--text-file F | --text-file -] [--text STRING] [--special]

The text comes from --text, or from --text-file (read as UTF-8 bytes, "-" for stdin; the
default is stdin). ids = encode(text, add_special_tokens=False).ids (--special: True);
decoded = decode(ids, skip_special_tokens=False). Used to compare braid with HF on strings
outside tests/fixtures/tokenizer. Environment: tests/tokenizer/requirements.txt
(python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install -r tests/tokenizer/requirements.txt).
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="Encode a text with HF tokenizers.")
    ap.add_argument("tokenizer_json")
    ap.add_argument("--text-file", default="-", help="UTF-8 file to encode, '-' for stdin (default)")
    ap.add_argument("--text", help="the text itself, instead of --text-file")
    ap.add_argument("--special", action="store_true", help="encode with add_special_tokens=True")
    args = ap.parse_args()
    if args.text is not None:
        text = args.text
    else:
        data = sys.stdin.buffer.read() if args.text_file == "-" else open(args.text_file, "rb").read()
        text = data.decode("utf-8")  # invalid UTF-8 is an error, as in braid
    tok = Tokenizer.from_file(args.tokenizer_json)
    ids = tok.encode(text, add_special_tokens=args.special).ids
    decoded = tok.decode(ids, skip_special_tokens=False)
    sys.stdout.write(json.dumps({"ids": ids, "decoded": decoded}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
