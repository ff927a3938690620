#!/usr/bin/python3
"""Reference CLIP tokenizer, written from OpenAI CLIP's clip/simple_tokenizer.py.

It derives the expected ids in test/core/tokenizer.test.ts independently of the TypeScript
implementation (different language, regex engine and Unicode tables). It is not run by the tests.

Same as OpenAI's SimpleTokenizer, except that ftfy.fix_text (not installed here) is reduced to its
NFC step, matching src/core/tokenizer/clean-text.ts.

Usage (Debian's /usr/bin/python3; `regex` from the python3-regex package is used when present,
otherwise the split pattern is emulated with unicodedata; --engine picks one):

  /usr/bin/python3 scripts/clip_tokenizer_reference.py --openai ../shared/models/clip-bpe/bpe_simple_vocab_16e6.txt.gz "a photo of a cat."
  /usr/bin/python3 scripts/clip_tokenizer_reference.py --hf artifacts/models/tiny-clip-cifar10/vocab.json artifacts/models/tiny-clip-cifar10/merges.txt cafe
  ... --texts-json texts.json      (a JSON list of strings instead of positional texts)

Prints one JSON object per text: {"text": ..., "ids": [...]}, ids with start/end tokens and
OpenAI's truncate=True at 77.
"""
import argparse
import gzip
import html
import json
import re
import sys
import unicodedata

CONTEXT_LENGTH = 77
SOT = '<|startoftext|>'
EOT = '<|endoftext|>'
PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    pairs = set()
    prev = word[0]
    for char in word[1:]:
        pairs.add((prev, char))
        prev = char
    return pairs


def basic_clean(text):
    text = unicodedata.normalize('NFC', text)  # stands in for ftfy.fix_text
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = re.sub(r'\s+', ' ', text)
    return text.strip()


# Unicode White_Space, which is what the `regex` module's \s matches.
WHITE_SPACE = set('\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000') | {chr(c) for c in range(0x2000, 0x200B)}
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]


def split_unicodedata(text):
    """findall of PATTERN written out by hand, with unicodedata's categories for \\p{L} and \\p{N}."""
    def is_letter(c):
        return unicodedata.category(c).startswith('L')

    def is_number(c):
        return unicodedata.category(c).startswith('N')

    words = []
    i = 0
    while i < len(text):
        # The text is lower-cased already, so IGNORECASE does not matter for the literals.
        literal = next((w for w in [SOT, EOT] + CONTRACTIONS if text.startswith(w, i)), None)
        if literal is not None:
            j = i + len(literal)
        elif is_letter(text[i]):
            j = i + 1
            while j < len(text) and is_letter(text[j]):
                j += 1
        elif is_number(text[i]):
            j = i + 1
        elif text[i] not in WHITE_SPACE:
            j = i + 1
            while j < len(text) and not (text[j] in WHITE_SPACE or is_letter(text[j]) or is_number(text[j])):
                j += 1
        else:
            i += 1
            continue
        words.append(text[i:j])
        i = j
    return words


def make_splitter(engine):
    if engine in ('auto', 'regex'):
        try:
            import regex
            pat = regex.compile(PATTERN, regex.IGNORECASE)
            return pat.findall
        except ImportError:
            if engine == 'regex':
                sys.exit('the regex module is missing: apt-get install python3-regex')
    return split_unicodedata


class SimpleTokenizer:
    def __init__(self, encoder, merges, split):
        self.byte_encoder = bytes_to_unicode()
        self.encoder = encoder
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {SOT: SOT, EOT: EOT}
        self.split = split

    @classmethod
    def from_openai(cls, path, split):
        merges = gzip.open(path).read().decode('utf-8').split('\n')
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(merge.split()) for merge in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + '</w>' for v in vocab]
        for merge in merges:
            vocab.append(''.join(merge))
        vocab.extend([SOT, EOT])
        return cls(dict(zip(vocab, range(len(vocab)))), merges, split)

    @classmethod
    def from_hf(cls, vocab_path, merges_path, split):
        with open(vocab_path, encoding='utf-8') as f:
            encoder = json.load(f)
        with open(merges_path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        merges = [tuple(line.split()) for line in lines if line.strip() and not line.startswith('#version')]
        return cls(encoder, merges, split)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + '</w>',)
        pairs = get_pairs(word)
        if not pairs:
            return token + '</w>'
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float('inf')))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = ' '.join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        text = whitespace_clean(basic_clean(text)).lower()
        for token in self.split(text):
            token = ''.join(self.byte_encoder[b] for b in token.encode('utf-8'))
            bpe_tokens.extend(self.encoder[bpe_token] for bpe_token in self.bpe(token).split(' '))
        return bpe_tokens

    def tokenize(self, text):
        """clip.tokenize(text, truncate=True) without the padding."""
        tokens = [self.encoder[SOT]] + self.encode(text) + [self.encoder[EOT]]
        if len(tokens) > CONTEXT_LENGTH:
            tokens = tokens[:CONTEXT_LENGTH]
            tokens[-1] = self.encoder[EOT]
        return tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--openai', metavar='GZ')
    source.add_argument('--hf', nargs=2, metavar=('VOCAB_JSON', 'MERGES_TXT'))
    parser.add_argument('--engine', choices=['auto', 'regex', 'unicodedata'], default='auto')
    parser.add_argument('--texts-json', metavar='FILE')
    parser.add_argument('texts', nargs='*')
    args = parser.parse_args()

    split = make_splitter(args.engine)
    tokenizer = (SimpleTokenizer.from_openai(args.openai, split) if args.openai
                 else SimpleTokenizer.from_hf(args.hf[0], args.hf[1], split))
    texts = list(args.texts)
    if args.texts_json:
        with open(args.texts_json, encoding='utf-8') as f:
            texts += json.load(f)
    for text in texts:
        print(json.dumps({'text': text, 'ids': tokenizer.tokenize(text)}, ensure_ascii=True))


if __name__ == '__main__':
    main()
