"""Escape data and config values before they enter Markdown or HTML.

Labels, file names, column names and segment names come from files a user (or
anyone who can write to those files) controls. Put into ``display(Markdown(...))``
or an HTML page as they are, a label such as ``<img src=x onerror=alert(1)>``
would run as script in every report reader's browser. :func:`esc` turns such a
value into inert text: HTML special characters become entities, and the Markdown
characters that start emphasis, links, code or tables become numeric character
references, so the value shows exactly as written and never as markup.

Examples
--------
>>> esc("<img src=x onerror=alert(7)>")
'&lt;img src=x onerror=alert(7)&gt;'
>>> esc("[click](javascript:alert(1))")
'&#91;click&#93;(javascript:alert(1))'
"""

from __future__ import annotations

import html

from customer_analytics.report.formatting import fmt_money

#: Markdown syntax characters replaced by character references (they render as themselves).
_MARKDOWN = str.maketrans({"\\": "&#92;", "`": "&#96;", "*": "&#42;", "_": "&#95;", "[": "&#91;",
                           "]": "&#93;", "|": "&#124;", "~": "&#126;", "#": "&#35;"})


def esc(value: object) -> str:
    """Return ``str(value)`` safe to place in Markdown or HTML text.

    Parameters
    ----------
    value : object
        Any value from data or config (label, file name, column name, number).

    Returns
    -------
    str
        The text with ``& < > " '`` as HTML entities and Markdown syntax
        characters as numeric character references.
    """
    return html.escape(str(value).translate(_MARKDOWN).replace("&#", "\0"), quote=True).replace("\0", "&#")


def bullets(items) -> str:
    """A Markdown bullet list of escaped items."""
    return "\n".join(f"- {esc(i)}" for i in items)


def no_math(text: str) -> str:
    """Markdown text in which every ``$`` stays a dollar sign, never the start of a formula.

    Two dollar amounts in one line (``$12.00 ... $3.50``) would otherwise be taken for an
    inline formula by the Markdown renderer and MathJax, swallowing the text between them. A
    ``$`` is written as the character reference ``&#36;`` inside a span that MathJax skips;
    text without ``$`` is returned as it is. ``text`` must already be escaped.
    """
    if "$" not in text:
        return text
    return f'<span class="tex2jax_ignore">{text.replace("$", "&#36;")}</span>'


def md_money(v, currency: str = "", *, signed: bool = False) -> str:
    """Money for Markdown text: :func:`~customer_analytics.report.formatting.fmt_money` with the symbol escaped.

    Two dollar amounts in one line (``$12.00 ... $3.50``) would otherwise be taken for an inline
    formula by the Markdown renderer and MathJax, swallowing the text between them (see :func:`no_math`).
    ``signed`` shows a gain's plus sign (``'+£1.13'``).
    """
    return no_math(fmt_money(v, esc(currency), signed=signed))
