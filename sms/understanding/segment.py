"""Cutting a text into words: jieba over a dictionary cut down to what understanding needs.

jieba's own dictionary (349 000 words) costs about 65 MB in every process that loads it, and understanding uses
the segmentation for two things only: a one-character cue (烧, 灰, 炮, 肉…) counts only where it stands as a word
of its own, not inside a longer one (发烧, 一点, 放心); and a written span that is a common word (眼花, 拉长) is
not taken for a slip (sms.understanding.phonetic). Lexicon words of two or more characters are found whether
jieba cuts them out or not (category.spotted_words). So data/words.txt.gz keeps jieba's words that are common
(frequency ≥ COMMON_WORD, the slip rule's own line), every word holding a one-character cue of the shipped
lexicon (that is what stops a cue inside a longer word), and the compounds whose ending says what they are
(…厂, …馆: category.SUFFIXES). About 86 000 words, 15 MB loaded; on the training texts the rules' evidence is
the same as with the whole dictionary on all but one text. `python -m sms.understanding.segment` rebuilds it
from the dictionary in jieba's wheel (tests check it is current).

The lexicon's and the gazetteer's words are added to the tokenizer (`teach`) so 二踢脚 or 映月社区 come out whole.
"""
from __future__ import annotations

import gzip
import os
import threading
from importlib import resources

from sms.understanding.lexicon_file import shipped_rows

WORDS = "data/words.txt.gz"
COMMON_WORD = 20  # jieba frequency above which a written span is a word of its own, not a slip
KEEP_RARE = 3     # a rarer word holding a one-character cue is kept from this frequency
SUFFIX_ENDINGS = ("厂", "作坊", "馆", "饭庄", "酒家")

_lock = threading.Lock()
_tokenizer = None
_known: set[str] = set()


def tokenizer():
    """One jieba tokenizer per process over the shipped dictionary (no download, no cache file written)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                # local: jieba loads on first use (a fifth of a second and its dictionary)
                import logging

                import jieba
                jieba.setLogLevel(logging.WARNING)
                loaded = jieba.Tokenizer()
                with gzip.open(resources.files("sms.understanding").joinpath(WORDS).open("rb")) as words:
                    loaded.FREQ, loaded.total = jieba.Tokenizer.gen_pfdict(words)
                loaded.initialized = True
                _tokenizer = loaded
    return _tokenizer


def warm_up(*more, background: bool = True) -> None:
    """Load the dictionary and run whatever else is passed (teaching it the shipped lexicon, the pinyin table,
    the shipped model), once per process: on a daemon thread (a web process answers meanwhile), or here and
    now, after any such thread has finished (a worker, before it forks anything: a fork taken while the thread
    holds a lock or half-imports a module hands the child a lock nobody releases, or a module half there)."""
    def load():
        tokenizer()
        for step in more:
            step()
    if not background:
        thread = getattr(warm_up, "thread", None)
        if thread is not None:
            thread.join()
        load()
    elif _tokenizer is None and not getattr(warm_up, "started", False):
        warm_up.started = True
        warm_up.thread = threading.Thread(target=load, name="understanding-warm-up", daemon=True)
        warm_up.thread.start()


def _forget_locks_after_fork() -> None:
    """A fork taken while the warm-up thread was loading (gunicorn --preload, a fork nobody waited for) leaves
    the child our lock held by a thread that does not exist there: the child's first text would wait forever.
    The child starts with a fresh lock and loads again if it must."""
    global _lock
    _lock = threading.Lock()
    warm_up.started = _tokenizer is not None
    warm_up.thread = None


os.register_at_fork(after_in_child=_forget_locks_after_fork)


def teach(words) -> None:
    """Make sure jieba keeps these words (lexicon cues, place names) in one piece."""
    new = [w for w in words if w not in _known and len(w) > 1]
    if not new:
        return
    loaded = tokenizer()
    with _lock:
        for word in new:
            loaded.add_word(word, freq=max(2000, 400 * len(word)))
            _known.add(word)


def segment(text: str) -> list[str]:
    return [w for w in tokenizer().lcut(text, HMM=False) if w.strip()]


def is_common_word(chars: str) -> bool:
    return tokenizer().FREQ.get(chars, 0) >= COMMON_WORD


def build(path=None) -> int:
    """Write data/words.txt.gz from the dictionary in jieba's wheel (run when jieba or the shipped lexicon's
    one-character cues change). Returns the number of words kept."""
    import os

    import jieba

    singles = {word for *_, word in shipped_rows() if len(word) == 1}
    kept = []
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as source:
        for line in source:
            word, freq = line.split()[:2]
            if (int(freq) >= COMMON_WORD or (int(freq) >= KEEP_RARE and not singles.isdisjoint(word))
                    or word.endswith(SUFFIX_ENDINGS)):
                kept.append(f"{word} {freq}\n")
    data = gzip.compress("".join(kept).encode("utf-8"), mtime=0)
    with open(path or resources.files("sms.understanding").joinpath(WORDS), "wb") as handle:
        handle.write(data)
    return len(kept)


if __name__ == "__main__":
    print(f"kept {build()} words")
