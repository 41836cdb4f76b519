"""/api/v1/lexicon — the words offices taught the classifier: list them, take one out.

Thin adapter over sms.understanding.store (words_query, remove_words). The lexicon is one for the whole
installation, so the permission table's lexicon/delete row (like lexicon/create, which teaching through
/api/v1/triage needs) is a global admin's; leaders and supervisors may read the list.
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api.common import MAX_INT, QUERY, documents_errors, page_args_schema, page_schema, paginate
from server.http.auth import staff_principal
from core.domain.access import require, require_any
from core.domain.errors import NotFound
from core.db import db
from sms.understanding import store
from sms.understanding.models import LexiconWord

blp = Blueprint("lexicon", __name__, url_prefix="/api/v1/lexicon",
                description="The words offices taught the classifier (one lexicon for the whole installation)")


class WordSchema(Schema):
    id = fields.Integer()
    category = fields.Function(lambda w: w.category.code, metadata={"description": "catalogue code"})
    word = fields.String()
    kind = fields.String()
    weight = fields.Float()
    source = fields.String(metadata={"description": "cli, recategorise (taught from a report) or api"})
    added_by = fields.String()
    created_at = fields.DateTime()


@blp.route("/words", methods=["GET"])
@blp.arguments(page_args_schema(), **QUERY)
@blp.response(200, page_schema(WordSchema, "LexiconWordPage"))
@documents_errors(blp, 401, 403)
def list_words(args):
    """The words offices added, by category then word (the shipped lexicon is not listed)."""
    require_any(staff_principal(), "read", "lexicon")
    return paginate(store.words_query(), args, lambda r: r)


@blp.route("/words/<int:word_id>", methods=["DELETE"])
@blp.response(204)
@documents_errors(blp, 401, 403, 404)
def remove_word(word_id):
    """Take a taught word out of the lexicon (audited); the next text is classified without it."""
    principal = staff_principal()
    require(principal, "delete", "lexicon", what="remove words from the classifier's lexicon")
    row = db.session.get(LexiconWord, word_id) if word_id <= MAX_INT else None
    if row is None:
        raise NotFound(f"no taught word with id {word_id}", details={"id": [f"Unknown word id {word_id}."]})
    store.remove_words(db.session, row.category.code, [row.word], actor=principal.member, channel="api")
    db.session.commit()
    return None
