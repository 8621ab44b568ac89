"""Read an HTML report as a reader would and list what a reader would stumble over.

:func:`problems` parses one exported report (nbconvert HTML) and returns one sentence
per problem found:

- a raw Python dict or list repr (``{'k': 2, ...}``, ``['a', 'b']``);
- a number in scientific notation (``1.2e-05``) outside a p-value column;
- a p-value printed as ``0.0000``;
- a share printed as a bare fraction (``0.187``) in a column whose header names a share;
- an empty table;
- a heading followed directly by another heading (an empty section);
- the parameter cell's text, papermill's injected parameters or a local absolute path.

Used by ``tests/test_report_html.py`` on the reports of a sample run; extend
:data:`CHECKED_NOTEBOOKS` there as more notebooks adopt the formatting helpers.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

DICT_REPR = re.compile(r"\{\s*'[^'{}]{1,40}'\s*:|\[\s*'[^'\[\]]{0,40}'\s*,\s*'|\[\d+(\.\d+)?, \d+(\.\d+)?(, \d+(\.\d+)?)*\]")
SCIENTIFIC = re.compile(r"(?<![\w.])\d+(\.\d+)?[eE][+-]?\d{1,3}(?![\w])")
ZERO_P = re.compile(r"(?<![\d.])0\.0000+(?!\d*[1-9])")
BARE_FRACTION = re.compile(r"^-?(0?\.\d+|[01]\.\d+|0|1)$")
PVALUE_HEAD = re.compile(r"(^|\W)p(\W|$)|p[ _-]?value|p值|显著", re.I)
SHARE_HEAD = re.compile(r"share|占比|比例", re.I)
PARAMETER_TEXT = ["period_end = ", "# Parameters", "injected-parameters", "papermill ", "run_dir = ",
                  "config_path = "]
LOCAL_PATH = re.compile(r"(?<![\w.:/])/(home|tmp|work|Users|root|var|opt)/[\w.-]+")
BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "table", "img", "ul", "ol", "pre", "figure"]


def visible_soup(text: str) -> BeautifulSoup:
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["style", "script", "head"]):
        tag.decompose()
    for a in soup.select("a.anchor-link"):
        a.decompose()
    return soup


def _table_problems(table) -> list[str]:
    out = []
    heads = [th.get_text(" ", strip=True) for th in table.select("thead th")]
    rows = table.select("tbody tr") or table.select("tr")[1:]
    cells = [td for r in rows for td in r.find_all("td")]
    if not cells:
        return [f"empty table (headers: {heads[:6]})"]
    for r in rows:
        for i, td in enumerate(r.find_all(["td", "th"])):
            head = heads[i] if i < len(heads) else ""
            value = td.get_text(" ", strip=True)
            if SCIENTIFIC.search(value) and not PVALUE_HEAD.search(head):
                out.append(f"scientific notation {value!r} in column {head!r}")
            if SHARE_HEAD.search(head) and BARE_FRACTION.match(value):
                out.append(f"bare fraction {value!r} in share column {head!r}")
            if PVALUE_HEAD.search(head) and ZERO_P.fullmatch(value):
                out.append(f"p-value printed as {value!r} in column {head!r}")
    return out


def _word_problems(words: str) -> list[str]:
    out = []
    for m in SCIENTIFIC.finditer(words):
        out.append(f"scientific notation near {words[max(m.start() - 30, 0):m.end() + 10]!r}")
    for m in ZERO_P.finditer(words):
        out.append(f"0.0000 printed near {words[max(m.start() - 30, 0):m.end() + 10]!r}")
    for m in LOCAL_PATH.finditer(words):
        out.append(f"local path {m.group(0)!r} is shown")
    return out


def _heading_problems(text: str) -> list[str]:
    soup = visible_soup(text)
    blocks = [el for el in (soup.body or soup).find_all(BLOCKS) if el.name in ("img", "table") or
              el.get_text(strip=True)]
    blocks = [el for el in blocks if not any(p in blocks for p in el.parents)]
    out = []
    for a, b in zip(blocks, blocks[1:], strict=False):
        if a.name.startswith("h") and a.name != "h" and b.name.startswith("h") and len(a.name) == 2 and len(b.name) == 2:
            out.append(f"heading {a.get_text(strip=True)!r} is followed directly by heading {b.get_text(strip=True)!r}")
    return out


def problems(text: str) -> list[str]:
    """Every problem a reader would notice in one HTML report (empty list: the report reads cleanly)."""
    soup = visible_soup(text)
    body = soup.body or soup
    out: list[str] = []
    for table in body.find_all("table"):
        out += _table_problems(table)
    words = body.get_text(" ", strip=True)
    for m in DICT_REPR.finditer(words):
        out.append(f"raw dict or list repr near {words[max(m.start() - 20, 0):m.end() + 40]!r}")
    for table in body.find_all("table"):
        table.decompose()
    out += _word_problems(body.get_text(" ", strip=True))
    out += [f"parameter cell text {s!r} is shown" for s in PARAMETER_TEXT if s in text]
    return out + _heading_problems(text)
