"""待分类: residents' texts no category was sure of (filed as 其他), in the leader's areas, each with its text,
place and the cues that were weighed, and a one-action recategorisation (a category, and optionally words
of the text to teach the lexicon).

A thin adapter over core.domain.incident_edits.require_may_recategorise (the permission table's
incidents/update and incidents/teach rows) and sms.understanding.store (pending_triage, recategorise) —
exactly what /api/v1/triage calls.
"""
from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from sqlalchemy import select

from core.domain.audit import record as audit_record
from core.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from core.domain.incident_edits import require_may_recategorise
from core.db import db
from core.models import Category
from sms.understanding import store
from sms.understanding.models import IncidentUnderstanding
from web.dashboard.common import CHANNEL, flash_error, lang, leader, make_blueprint, page, t
from web.dashboard.problems import find

bp = make_blueprint("dashboard_triage", __name__, "/triage")
MAX_WORDS, MAX_WORD_LENGTH, HINTS = 20, 40, 8
KIND_ZH = {"term": "关键词", "context": "场景线索", "explicit": "指定类别"}
ROUTED_ZH = {"gazetteer": "按地名", "grid": "按网格代码", "intake": "未提及地点，交受理点"}


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
    return page("triage.html", items=items, categories=choices,
                names={c.code: category_name(c) for c in choices}, KIND_ZH=KIND_ZH, ROUTED_ZH=ROUTED_ZH)


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
