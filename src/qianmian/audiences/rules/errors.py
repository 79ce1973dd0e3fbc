"""`RuleError`: a rule that cannot be parsed or does not type-check, with the position of the problem."""

from __future__ import annotations

from qianmian.errors import InputError


class RuleError(InputError):
    """A bad audience rule. `position` is the 0-based character offset of the offending token.

    The message names the place (line and column), what was expected and what was received, e.g.
    ``rule at 1:24: expected a window such as 30d or 2w (d = days, w = weeks), received '30x'``.
    """

    def __init__(self, rule: str, position: int, expected: str, received: object) -> None:
        self.rule = rule
        self.position = position
        line, column = line_column(rule, position)
        self.line, self.column = line, column
        super().__init__(f"rule at {line}:{column}", expected, received)

    def caret(self) -> str:
        """The offending line of the rule with a `^` under the problem, for terminals."""
        lines = self.rule.splitlines() or [""]
        text = lines[min(self.line, len(lines)) - 1]
        return f"{text}\n{' ' * (self.column - 1)}^"


def line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset."""
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return line, column
