"""Keyed masking of customer ids for reports that leave the team.

With ``mask_ids: true`` every customer id shown in a report is replaced by the
first 16 hex digits of HMAC-SHA256(key, id). Without the key the hashes cannot be
reversed by enumerating candidate ids (a plain or salted hash of a 5-digit id is
reversed in well under a second). The key is a secret of the team:

- ``CUSTOMER_ANALYTICS_MASK_KEY``: the key itself (at least 16 characters and an estimated
  128 bits of entropy, :func:`key_bits`: a word, a name or a repeated pattern is refused), or
- ``CUSTOMER_ANALYTICS_MASK_KEY_FILE``: the path of a file holding it, outside the
  project folder (so it is never committed).

It is never read from the run config or the code. A run with ``mask_ids: true``
and no key is refused before anything runs. The same key gives the same masked
id in every report, so masked ids can still be matched between months.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from pathlib import Path

import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import project_root

KEY_ENV = "CUSTOMER_ANALYTICS_MASK_KEY"
KEY_FILE_ENV = "CUSTOMER_ANALYTICS_MASK_KEY_FILE"
MIN_KEY_LENGTH = 16
MIN_KEY_BITS = 128
HOW_TO = (f"Set the environment variable {KEY_ENV} to a random secret of at least {MIN_KEY_BITS} bits "
          f"(e.g. export {KEY_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))')), or "
          f"{KEY_FILE_ENV} to the path of a file holding it, outside the project folder.")


def mask_key() -> bytes:
    """The masking key from the environment.

    Raises
    ------
    ConfigError
        No key is set, the key file is missing or inside the project folder, or the
        key is shorter than :data:`MIN_KEY_LENGTH` characters. The message says how to set one.
    """

    key = os.environ.get(KEY_ENV, "")
    source = KEY_ENV
    if not key and os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV]).expanduser().resolve()
        source = f"{KEY_FILE_ENV} ({path.name})"
        if not path.is_file():
            raise ConfigError(f"mask_ids: the key file named by {KEY_FILE_ENV} does not exist. {HOW_TO}")
        if path.is_relative_to(project_root()):
            raise ConfigError(f"mask_ids: the key file named by {KEY_FILE_ENV} is inside the project folder, "
                              f"where it could be committed. Move it elsewhere. {HOW_TO}")
        key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ConfigError(f"mask_ids is true but no masking key is set. {HOW_TO}")
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"mask_ids: the key in {source} has {len(key)} characters; at least "
                          f"{MIN_KEY_LENGTH} are needed. {HOW_TO}")
    bits = key_bits(key)
    if bits < MIN_KEY_BITS:
        raise ConfigError(f"mask_ids: the key in {source} is too easy to guess: about {bits:.0f} bits of entropy, "
                          f"at least {MIN_KEY_BITS} are needed (masked ids made with a word or a repeated pattern "
                          f"are recovered by trying candidate keys). {HOW_TO}")
    return key.encode("utf-8")


def key_bits(key: str) -> float:
    """A conservative estimate of a key's entropy in bits.

    Each character counts the smaller of two figures: ``log2`` of the alphabet its character
    classes span (lower case 26, upper case 26, digits 10, other printable 33) and the Shannon
    entropy of the key's own characters (a repeated pattern has little). ``passwordpassword``
    gets about 44 bits; 64 hex digits from ``secrets.token_hex(32)`` about 240.
    """
    if not key:
        return 0.0
    classes = [(str.islower, 26), (str.isupper, 26), (str.isdigit, 10)]
    alphabet = sum(n for test, n in classes if any(test(c) for c in key))
    alphabet += 33 if any(not (c.islower() or c.isupper() or c.isdigit()) for c in key) else 0
    counts = [key.count(c) for c in set(key)]
    shannon = -sum(n / len(key) * math.log2(n / len(key)) for n in counts)
    return len(key) * min(math.log2(max(alphabet, 2)), shannon)


def mask_ids(ids: pd.Series, key: bytes | None = None) -> pd.Series:
    """Replace each id by the first 16 hex digits of HMAC-SHA256(key, id).

    Parameters
    ----------
    ids : Series
        Customer ids (any dtype; compared as text). Missing stays missing.
    key : bytes, optional
        Default: :func:`mask_key`.

    Returns
    -------
    Series of str
    """
    key = key or mask_key()
    text = ids.astype("string")
    uniq = text.dropna().unique()
    codes = {v: hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:16] for v in uniq}
    return text.map(codes).astype("string")


def masked(df: pd.DataFrame, on: bool, columns: tuple[str, ...] = ("customer_id",)) -> pd.DataFrame:
    """``df`` with its id columns masked when ``on`` (for display only; files keep real ids)."""
    if not on:
        return df
    key = mask_key()
    return df.assign(**{c: mask_ids(df[c], key) for c in columns if c in df})


def enabled(config: dict, override: bool | None = None) -> bool:
    """Whether this run masks ids (notebook parameter over config); checks the key when it does."""
    on = bool(config["mask_ids"] if override is None else override)
    if on:
        mask_key()
    return on


_TOKEN = re.compile(r"[^\s'\"`,;:()\[\]{}<>=\\]+")


def scrub(text: str, ids: set[str], key: bytes | None = None) -> str:
    """Replace every whole token of ``text`` that is a known customer id by its masked form.

    Used on error messages of a masked run, which may quote ids (e.g. a duplicated
    id in an assignment table). A token is a run of characters without spaces,
    quotes, brackets or separators, so ``12346`` in ``(e.g. '12346')`` is found
    but ``123467`` is not.
    """
    if not ids:
        return text
    key = key or mask_key()

    def one(m: re.Match) -> str:
        tok = m.group(0)
        core = tok.rstrip(".")
        if core in ids:
            return hmac.new(key, core.encode("utf-8"), hashlib.sha256).hexdigest()[:16] + tok[len(core):]
        return tok

    return _TOKEN.sub(one, text)
