"""待分类: residents' texts no category was sure of (filed as 其他), in the leader's areas, each with its text,
place and the cues that were weighed, and a one-action recategorisation (a category, and optionally words
of the text to teach the lexicon).

A thin adapter over core.domain.incident_edits.require_may_recategorise (the permission table's
incidents/update row, and lexicon/create for teaching: one lexicon for the whole installation, so a global
admin's) and sms.understanding.store (pending_triage, recategorise) — exactly what /api/v1/triage calls.
Below the list, the words the classifier was taught, each removable by those who may (lexicon/delete), as
/api/v1/lexicon.
"""
from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from sqlalchemy import select

from core.domain.access import can, holds_any, require
from core.domain.audit import record as audit_record
from core.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from core.domain.incident_edits import require_may_recategorise
from core.db import db
from core.models import Category
from sms.understanding import store
from sms.understanding.models import IncidentUnderstanding, LexiconWord
from web.dashboard.common import CHANNEL, flash_error, lang, leader, make_blueprint, page, t
from web.dashboard.problems import find

bp = make_blueprint("dashboard_triage", __name__, "/triage")
MAX_WORDS, MAX_WORD_LENGTH, HINTS = 20, 40, 8
MAX_TAUGHT_SHOWN = 500
KIND_ZH = {"term": "关键词", "context": "场景线索", "explicit": "指定类别"}
ROUTED_ZH = {"gazetteer": "按地名", "grid": "按网格代码", "intake": "未提及地点，交受理点"}
SOURCE_ZH = {"recategorise": "改类时学会", "cli": "命令行添加", "api": "接口添加"}


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).where(Category.active.is_(True), Category.deleted_at.is_(None))
                                   .order_by(Category.number)))


def category_name(category: Category) -> str:
    return category.name_en if lang() == "en" else category.name_zh


def _may(principal, incident, learn: bool) -> bool:
    try:
        require_may_recategorise(principal, incident, teach=learn)
    except Forbidden:
        return False
    return True


@bp.route("")
def index():
    principal = leader()
    rows = store.pending_triage(db.session, None if principal.is_global_admin else principal)
    known = store.lexicon(db.session) if rows else None
    items = [{"incident": incident, "understanding": understanding,
              "unknown": store.unknown_words(understanding.text, known)[:HINTS],
              "may_change": _may(principal, incident, False), "may_teach": _may(principal, incident, True)}
             for incident, understanding in rows]
    choices = categories()
    taught = store.list_words(db.session)[:MAX_TAUGHT_SHOWN] if holds_any(principal, "lexicon", "read") else []
    return page("triage.html", items=items, categories=choices, taught=taught,
                may_remove_words=can(principal, "delete", "lexicon"),
                names={c.code: category_name(c) for c in choices}, KIND_ZH=KIND_ZH, ROUTED_ZH=ROUTED_ZH,
                SOURCE_ZH=SOURCE_ZH)


def words_to_learn(form) -> list[str]:
    """The ticked words of the text plus any typed ones (separated by spaces, commas or 、), once each."""
    typed = re.split(r"[\s,，、;；]+", (form.get("learn_more") or "")[:1000])
    words = list(dict.fromkeys(w.strip() for w in [*form.getlist("learn"), *typed] if w and w.strip()))
    if len(words) > MAX_WORDS or any(len(w) > MAX_WORD_LENGTH for w in words):
        raise Invalid("too many or too long words to learn",
                      details={"learn": [f"At most {MAX_WORDS} words of at most {MAX_WORD_LENGTH} characters."]})
    return words


@bp.route("/<ref>", methods=["POST"])
def recategorise(ref):
    """One action: the new category (and the words to learn) through store.recategorise; the report leaves
    the list and its history shows the change."""
    principal = leader()
    incident = find(ref)
    try:
        understanding = db.session.get(IncidentUnderstanding, incident.id)
        if understanding is None or not understanding.needs_triage:
            raise Conflict(t("问题 {ticket} 已不在待分类列表中", ticket=incident.ticket), code="not_pending")
        learn = words_to_learn(request.form)
        require_may_recategorise(principal, incident, teach=bool(learn))
        try:
            change = store.recategorise(db.session, incident, (request.form.get("category") or "")[:50],
                                        actor=principal.member, channel=CHANNEL, learn=learn)
        except NotFound as exc:
            raise Invalid(exc.message, details={"category": [exc.message]}) from exc
        audit_record(db.session, "incident.recategorise", channel=CHANNEL, actor=principal.member, entity="incident",
                     entity_id=incident.id, summary={"ticket": incident.ticket, "to": incident.category.code,
                                                     "missed": change.words, "learned": learn})
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for("dashboard_triage.index"))
    message = t("已将 {ticket} 改为「{name}」", ticket=incident.ticket, name=category_name(incident.category))
    flash(message + (t("，并学会了：{words}", words="、".join(learn)) if learn else ""), "ok")
    return redirect(url_for("dashboard_triage.index"))


@bp.route("/words/<int:word_id>/remove", methods=["POST"])
def remove_word(word_id):
    """删除一个学会的词: through store.remove_words, like DELETE /api/v1/lexicon/words/<id> (global admins)."""
    principal = leader()
    try:
        require(principal, "delete", "lexicon", what="remove words from the classifier's lexicon")
        row = db.session.get(LexiconWord, word_id) if word_id < 2 ** 31 else None
        if row is None:
            raise NotFound(t("没有这个词"), details={"id": [str(word_id)]})
        store.remove_words(db.session, row.category.code, [row.word], actor=principal.member, channel=CHANNEL)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return redirect(url_for("dashboard_triage.index"))
    flash(t("已删除「{word}」", word=row.word), "ok")
    return redirect(url_for("dashboard_triage.index") + "#taught-words")
