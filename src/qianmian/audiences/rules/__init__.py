"""The audience rule language: parse → check → compile to Ibis, and print back to text or a sentence.

>>> from qianmian.audiences.rules import check, to_text, to_sentence
>>> tree = check('lifecycle in ("silent", "churning") and monetary(365d) > 500')
>>> to_text(tree)
'lifecycle in ("silent", "churning") and monetary(365d) > 500'

See docs/audiences.md for the whole language.
"""

from qianmian.audiences.rules.checker import check
from qianmian.audiences.rules.compiler import Sources, compile_flags, compile_members, expand
from qianmian.audiences.rules.errors import RuleError
from qianmian.audiences.rules.parser import parse
from qianmian.audiences.rules.printer import to_sentence, to_text

__all__ = [
    "RuleError", "Sources", "check", "compile_flags", "compile_members", "expand", "parse", "to_sentence", "to_text",
]
