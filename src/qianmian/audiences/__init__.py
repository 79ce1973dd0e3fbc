"""Audiences (人群): a small rule language, saved versioned audiences with priorities, materialized
membership with an in-memory index, seed templates (Nestlé, Nivea, ZARA), strategy crowds by
clustering; rules read self-tags from `qianmian.consumers.tags`. See docs/audiences.md."""

from qianmian.audiences.membership import MaterializeResult, MembershipIndex, Preview, materialize, preview
from qianmian.audiences.registry import Audience, AudienceRegistry
from qianmian.audiences.rules import RuleError, check, parse, to_sentence, to_text

__all__ = [
    "Audience", "AudienceRegistry", "MaterializeResult", "MembershipIndex", "Preview", "RuleError", "check",
    "materialize", "parse", "preview", "to_sentence", "to_text",
]
