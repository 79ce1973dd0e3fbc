"""Audiences (人群): a small rule language, saved versioned audiences with priorities, materialized
membership with an in-memory index, seed templates (Nestlé, Nivea, ZARA), strategy crowds by
clustering and self-tags. See docs/audiences.md."""

from qianmian.audiences.membership import MaterializeResult, MembershipIndex, Preview, materialize, preview
from qianmian.audiences.registry import Audience, AudienceRegistry
from qianmian.audiences.rules import RuleError, check, parse, to_sentence, to_text
from qianmian.audiences.tags import active_tags, remove_tags, set_tags

__all__ = [
    "Audience", "AudienceRegistry", "MaterializeResult", "MembershipIndex", "Preview", "RuleError", "active_tags",
    "check", "materialize", "parse", "preview", "remove_tags", "set_tags", "to_sentence", "to_text",
]
