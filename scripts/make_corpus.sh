#!/usr/bin/env bash
# scripts/make_corpus.sh OUT_DIR — a small offline English corpus for `braid train --data corpus:OUT_DIR`,
# built only from Debian 12 packages (installed with apt-get when missing; run as root then;
# nothing else is downloaded). Writes one plain-text file per domain, OUT_DIR/<domain>.txt,
# and OUT_DIR/manifest.json listing each domain's bytes, source package and role ("train" or
# "heldout": a domain never trained on, evaluated as "heldout/<domain>"). Deterministic: the
# same package versions give byte-identical files (LC_ALL=C, sorted inputs, fixed line width).
#
# Domains, with the sizes measured from the bookworm packages (bible-kjv 4.38, fortunes
# 1:1.99.1-7.3, jargon-text 4.4.7-4.1, wordnet-base 1:3.0-37):
#   bible     King James Bible (bible-kjv-text, decoded by the `bible` program of bible-kjv)  4,298,239 bytes
#   fortunes  the 43 fortune files of fortunes + fortunes-min, one blank line between cookies   2,561,458 bytes
#   wordnet   WordNet 3.0 glosses (text after '|' in data.{noun,verb,adj,adv}), one a line      8,963,347 bytes
#   jargon    The Jargon File 4.4.7 (jargon-text), held out                                      1,681,817 bytes
# Licences: /usr/share/doc/<package>/copyright (KJV public domain, WordNet permissive; the
# fortune files and the Jargon File are redistributable as packaged by Debian).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: bash scripts/make_corpus.sh OUT_DIR" >&2
  exit 2
fi
out=$1
export LC_ALL=C

packages=(bible-kjv-text bible-kjv fortunes-min fortunes jargon-text wordnet-base)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "make_corpus: missing Debian packages ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "make_corpus: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.make_corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# bible: the whole text, Genesis 1:1 to Revelation 22:21, wrapped at 80 columns.
COLUMNS=80 bible -l80 -p /usr/lib "gen1:1-rev22:21" </dev/null >"$tmp/bible.txt"

# fortunes: every cookie file (not the .dat indexes nor the .u8 links), in name order; the '%'
# separator lines become blank lines.
find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' | sort |
  while read -r f; do awk '/^%$/ { print ""; next } { print }' "$f"; done >"$tmp/fortunes.txt"

# wordnet: the gloss of every synset (definition and examples), one a line; the licence header
# lines start with a space and are skipped.
for pos in noun verb adj adv; do
  awk '/^ / { next } { i = index($0, " | "); if (i) { g = substr($0, i + 3); sub(/[ \t]+$/, "", g); print g } }' \
    "/usr/share/wordnet/data.$pos"
done >"$tmp/wordnet.txt"

# jargon: the plain-text Jargon File.
zcat /usr/share/doc/jargon-text/jargon.txt.gz >"$tmp/jargon.txt"

# name package role, in manifest order.
domains=("bible bible-kjv-text train" "fortunes fortunes train" "wordnet wordnet-base train"
         "jargon jargon-text heldout")
{
  echo '{"format": "braid-corpus", "version": 1, "domains": ['
  sep=""
  for d in "${domains[@]}"; do
    read -r name package role <<<"$d"
    bytes=$(wc -c <"$tmp/$name.txt")
    if [ "$bytes" -eq 0 ]; then
      echo "make_corpus: domain $name came out empty (package $package)" >&2
      exit 1
    fi
    printf '%s  {"name": "%s", "bytes": %d, "package": "%s", "role": "%s"}' "$sep" "$name" "$bytes" "$package" "$role"
    sep=$',\n'
  done
  printf '\n]}\n'
} >"$tmp/manifest.json"

for d in "${domains[@]}"; do
  read -r name _ <<<"$d"
  mv "$tmp/$name.txt" "$out/$name.txt"
done
mv "$tmp/manifest.json" "$out/manifest.json"
cat "$out/manifest.json"
