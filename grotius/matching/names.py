"""Person and company names across spellings and scripts.

Transliteration is :mod:`anyascii` (a pure wheel covering every script); the rest is
name-specific handling that a generic transliterator does not do:

- Han: one syllable per character, the first is the family name (pinyin);
- Hangul: the family name is spelled the conventional way (김 Kim, 이 Lee, 박 Park),
  the given name's syllables are joined (Jong-un, Jong Un and Jongun agree);
- Arabic: the article (ال) and the filiation words (bin, ibn, ben) are dropped, and
  because the script writes no short vowels, Arabic-script names are compared on a
  consonant skeleton;
- Latin spellings of the same sound (German w/sch/tsch, French ou, j/y, x/ks, double
  letters, Russian adjective endings -iy/-yy/-ij) are folded before comparing.

Why not rigour/normality (the followthemoney stack): normality 3 requires PyICU, which
needs a C++ compiler and ICU headers here; Grotius core installs from wheels only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

SCRIPTS = ("latin", "cyrillic", "arabic", "han", "hangul", "greek", "hebrew", "other")

# Conventional Latin spellings of the commonest Korean family names (revised
# romanisation, as anyascii gives it, is rarely what passports and press use).
KOREAN_SURNAMES = {
    "김": "kim", "이": "lee", "박": "park", "최": "choi", "정": "jung", "강": "kang",
    "조": "cho", "윤": "yoon", "장": "jang", "임": "lim", "한": "han", "오": "oh",
    "서": "seo", "신": "shin", "권": "kwon", "황": "hwang", "안": "ahn", "송": "song",
    "류": "ryu", "유": "yoo", "홍": "hong", "전": "jeon", "고": "ko", "문": "moon",
    "양": "yang", "손": "son", "배": "bae", "백": "baek", "허": "heo", "노": "roh",
    "남": "nam", "심": "shim", "하": "ha", "곽": "kwak", "성": "sung", "차": "cha",
    "주": "joo", "우": "woo", "구": "koo", "민": "min", "진": "jin", "나": "na",
    "반": "ban", "방": "bang", "공": "kong", "현": "hyun", "함": "ham", "변": "byun",
}
# Korean family-name spellings that are the same name
KOREAN_SURNAME_VARIANTS = {
    "gim": "kim", "yi": "lee", "rhee": "lee", "ri": "lee", "i": "lee", "pak": "park", "bak": "park",
    "choe": "choi", "chung": "jung", "jeong": "jung", "chong": "jung", "gang": "kang", "jo": "cho",
    "yun": "yoon", "chang": "jang", "im": "lim", "rim": "lim", "mun": "moon", "no": "roh", "ro": "roh",
    "go": "ko", "yu": "yoo", "ryoo": "ryu", "kwun": "kwon", "gwon": "kwon", "seong": "sung",
}
_ARTICLE = re.compile(r"(?:^|(?<=[\s-]))(?:al|el|as|az|ad|ash|ar|an|at|ul|ad)-")
_KOREAN_FAMILY = set(KOREAN_SURNAMES.values())
ARABIC_PARTICLES = {"bin", "ibn", "ben", "bn", "bint", "al", "el", "ul", "as", "az", "ad", "ash", "ar", "an", "at", "ad-"}
_TOKEN = re.compile(r"[a-z0-9]+")
_LATIN_FOLDS = [
    ("tsch", "ch"), ("sch", "sh"), ("tch", "ch"), ("dzh", "j"), ("dj", "j"),
    ("kh", "h"), ("ph", "f"), ("ck", "k"), ("x", "ks"), ("q", "k"), ("w", "v"), ("ou", "u"),
    ("dh", "d"), ("th", "t"), ("gh", "g"), ("ee", "i"), ("oo", "u"), ("eo", "o"), ("eu", "u"),
    ("ie", "ye"), ("ia", "ya"), ("iu", "yu"), ("io", "yo"), ("c", "k"), ("z", "s"),
]
# German and Polish spellings write the Russian iotated vowels with j (Jelzin, Juri)
_INITIAL_J = re.compile(r"^j(?=[aeiou])")
_ENDINGS = [("iyy", "y"), ("iy", "y"), ("yy", "y"), ("ij", "y"), ("yj", "y"), ("ii", "y"), ("ie", "y")]


def script_of(text: str) -> str:
    """The dominant script of the letters in ``text``."""
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith(("CJK UNIFIED", "CJK COMPATIBILITY")):
            s = "han"
        elif name.startswith("HANGUL"):
            s = "hangul"
        else:
            first = name.split(" ", 1)[0].lower()
            s = first if first in SCRIPTS else "other"
        counts[s] = counts.get(s, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else "latin"


def _han(text: str) -> list[str]:
    syllables = [anyascii(ch).lower() for ch in text if not ch.isspace()]
    syllables = [s for s in syllables if s]
    if len(syllables) <= 1:
        return syllables
    return [syllables[0], "".join(syllables[1:])]


def _hangul(text: str) -> list[str]:
    parts = text.split()
    if len(parts) > 1:  # already spaced: family name first
        family, given = parts[0], "".join(parts[1:])
    else:
        family, given = text[:1], text[1:]
    out = [KOREAN_SURNAMES.get(family, anyascii(family).lower())]
    if given:
        out.append("".join(anyascii(ch).lower() for ch in given))
    return out


def _arabic(text: str) -> list[str]:
    words = []
    for w in text.split():
        if w in ("بن", "ابن", "بنت"):
            continue
        if w.startswith("ال") and len(w) > 3:
            w = w[2:]
        words.append(w)
    # ` and ' stand for ayin and hamza: not letters of a Latin spelling
    return [t for w in words for t in _TOKEN.findall(anyascii(w).lower().replace("`", "").replace("'", ""))]


def tokens(name: str) -> list[str]:
    """Lower-case ASCII tokens of a name, family name handling per script."""
    name = unicodedata.normalize("NFKC", name).strip()
    script = script_of(name)
    if script == "han":
        return _han(name)
    if script == "hangul":
        return _hangul(name)
    if script == "arabic":
        return _arabic(name)
    text = anyascii(name).lower().replace("'", "").replace("`", "")
    text = _ARTICLE.sub(" ", text)  # al-Assad, el-Sisi, az-Zawahiri
    # hyphenated given names (Jong-un, Jae-in) are one name
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", "", text)
    toks = _TOKEN.findall(text)
    # Arabic particles in Latin spelling: al-Assad, bin Salman
    if len(toks) > 1:
        toks = [t for t in toks if t not in ARABIC_PARTICLES] or toks
    return toks


def fold(token: str) -> str:
    """Fold Latin spellings of one sound to one form (Jelzin, Yeltsin -> yeltsin-like)."""
    t = _INITIAL_J.sub("y", token)
    for a, b in _LATIN_FOLDS:
        t = t.replace(a, b)
    for a, b in _ENDINGS:
        if t.endswith(a) and len(t) > len(a) + 2:
            t = t[: -len(a)] + b
            break
    if t.startswith("ye"):
        t = "e" + t[2:]
    return re.sub(r"(.)\1+", r"\1", t)


def skeleton(token: str) -> str:
    """Consonants only, sound classes merged: for scripts that write no vowels (Arabic)
    and romanisations that disagree on vowels and voicing (Korean)."""
    t = fold(token)
    t = t.translate(str.maketrans({"g": "k", "b": "p", "d": "t", "v": "f"}))
    # a leading y/w is a consonant (Yasin, Walid); elsewhere it spells a long vowel
    head, rest = t[:1], t[1:]
    if head in "aeiou":
        head = ""
    t = head + re.sub(r"[aeiouyw]", "", rest)
    if len(t) > 2 and t.endswith("h"):  # ta marbuta: Haniyeh, Osama
        t = t[:-1]
    return re.sub(r"(.)\1+", r"\1", t)


_KOREAN = [("eo", "o"), ("eu", "u"), ("oo", "u"), ("ee", "i"), ("ui", "i"), ("ch", "j"), ("ts", "j"),
           ("k", "g"), ("p", "b"), ("t", "d"), ("r", "l"), ("o", "u"), ("-", "")]


def korean_key(token: str) -> str:
    """Korean romanisations (revised, McCune-Reischauer, ad hoc) disagree on voicing
    and on the vowels eo/o/u and eu/u: merge those, keep everything else."""
    t = token
    for a, b in _KOREAN:
        t = t.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", t)


@dataclass(frozen=True)
class NameForm:
    raw: str
    script: str
    tokens: tuple[str, ...]
    folded: tuple[str, ...]
    korean: bool

    @property
    def text(self) -> str:
        return " ".join(self.folded)


@lru_cache(maxsize=65536)
def form(name: str) -> NameForm:
    script = script_of(name)
    toks = tokens(name)
    korean = script == "hangul"
    if len(toks) >= 2 and toks[0] in KOREAN_SURNAME_VARIANTS:
        toks = [KOREAN_SURNAME_VARIANTS[toks[0]], *toks[1:]]
    if len(toks) >= 3 and script == "latin" and toks[0] in set(KOREAN_SURNAMES.values()):
        # "Kim Jong Un": Korean given names are one word
        toks = [toks[0], "".join(toks[1:])]
    return NameForm(name, script, tuple(toks), tuple(fold(t) for t in toks), korean)


def _ordered(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Similarity of the joined names, in the given order and with the order swapped
    (family name first or last)."""
    ja = "".join(a)
    best = JaroWinkler.normalized_similarity(ja, "".join(b))
    if len(b) > 1:
        best = max(best, JaroWinkler.normalized_similarity(ja, "".join(b[1:] + b[:1])))
        best = max(best, JaroWinkler.normalized_similarity(ja, "".join(b[-1:] + b[:-1])))
    return best


def similarity(a: str, b: str) -> float:
    """0..1: how likely two name strings denote the same name, across scripts."""
    fa, fb = form(a), form(b)
    if not fa.folded or not fb.folded:
        return 0.0
    if fa.korean or fb.korean or _korean_latin(fa) or _korean_latin(fb):
        ka = tuple(korean_key(t) for t in fa.tokens)
        kb = tuple(korean_key(t) for t in fb.tokens)
        # a Korean name is a family name and a two-syllable given name: both must agree
        return min(_ratio_cover(ka, kb), max(fuzz.ratio("".join(ka), "".join(kb)) / 100, 0))
    han = "han" in (fa.script, fb.script)
    s = max(
        fuzz.token_sort_ratio(fa.text, fb.text) / 100,
        _ordered(fa.folded, fb.folded),
    )
    if han:
        # pinyin is one standard: syllables agree exactly or the names differ
        return min(s, _ratio_cover(fa.folded, fb.folded))
    # every token must find a counterpart: "Sergei Ivanov" is not "Nikolai Ivanov"
    s = min(s, _token_cover(fa.folded, fb.folded))
    abjad = "arabic" in (fa.script, fb.script) or "hebrew" in (fa.script, fb.script)
    if abjad:
        sa = tuple(x for x in (skeleton(t) for t in fa.tokens) if x)
        sb = tuple(x for x in (skeleton(t) for t in fb.tokens) if x)
        if sa and sb:
            # word boundaries differ (Abdullah / عبد الله), so compare the joined skeletons
            joined_a = "".join(sa)
            sk = max(fuzz.ratio(joined_a, "".join(o)) / 100 for o in _rotations(sb))
            if min(len(joined_a), len("".join(sb))) >= 4:
                s = max(s, sk)
    return s


def _rotations(t: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [t[i:] + t[:i] for i in range(len(t))] or [t]


def _korean_latin(f: NameForm) -> bool:
    return f.script == "latin" and len(f.tokens) == 2 and f.tokens[0] in _KOREAN_FAMILY


def _ratio_cover(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """The weakest best edit-ratio match of a token of one name in the other."""
    worst = 1.0
    for x, y in ((a, b), (b, a)):
        for t in x:
            worst = min(worst, max(fuzz.ratio(t, u) / 100 for u in y))
    return worst


def _token_cover(a: tuple[str, ...], b: tuple[str, ...], floor: float = 0.7) -> float:
    """The weakest best match of a token of the shorter name in the other name."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) <= 1:
        return 1.0
    worst = 1.0
    joined = "".join(long)
    for t in short:
        best = max(JaroWinkler.normalized_similarity(t, u) for u in long)
        if t in joined:
            best = max(best, 0.9)
        worst = min(worst, best)
    return 1.0 if worst >= floor else worst


#: threshold chosen on tests/data/matching/name_pairs.tsv (see docs/matching.md)
SAME_NAME = 0.88


def same_name(a: str, b: str, threshold: float = SAME_NAME) -> bool:
    return similarity(a, b) >= threshold


LEGAL_FORMS = {
    "ltd", "limited", "llc", "llp", "lp", "inc", "incorporated", "corp", "corporation", "co", "company",
    "plc", "gmbh", "mbh", "ag", "kg", "ug", "ohg", "ev", "sa", "sas", "sarl", "sl", "srl", "spa", "sp", "zoo",
    "bv", "nv", "vof", "oy", "oyj", "ab", "as", "asa", "aps", "a/s", "kft", "zrt", "doo", "sro", "as",
    "ooo", "oao", "zao", "pao", "ao", "tov", "pat", "fze", "fzco", "fzc", "wll", "jsc", "ojsc", "cjsc",
    "pte", "pty", "bhd", "sdn", "tbk", "pt", "cv", "holding", "holdings", "group", "the",
}


def company_fingerprint(name: str) -> str:
    """Sorted tokens of a company name without its legal form (ООО "Ромашка" and
    Romashka LLC agree)."""
    text = anyascii(unicodedata.normalize("NFKC", name)).lower()
    text = re.sub(r"\b([a-z])\.(?=[a-z]\.)", r"\1", text)  # s.a. -> sa, b.v. -> bv
    text = text.replace(".", "")
    toks = [t for t in _TOKEN.findall(text) if t not in LEGAL_FORMS]
    return " ".join(sorted(fold(t) for t in toks))
