"""The understanding feature over a database session: the office's lexicon, gazetteer and model, the intake
area, what each report was understood as, the 待分类 list, what a recategorisation teaches (the category
change itself, and who may make it, are the domain's: core.domain.incident_edits) and retraining. Plain
functions; the SMS commands, the CLI, the API and the dashboard are thin adapters over them.

The lexicon, gazetteer and model are cached per process for 30 s like the catalogue (sms.reference_cache):
a word, an alias or a retrained model from another process is used within half a minute; in the same
process at once.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, contains_eager

from core.domain.areas import area_by_code
from core.domain.errors import Invalid, NotFound
from core.domain.place_names import check_place_names
from core.models import LEADER_ROLES, Area, Assignment, Category, Incident, Member, utcnow
from sms.reference_cache import cached as _cached, clear_caches
from sms.understanding import Gazetteer, Lexicon, build_lexicon, prepare
from sms.understanding.segment import segment
from sms.understanding.model import Model, shipped
from sms.understanding.models import (AreaAlias, IncidentUnderstanding, LexiconWord, Recategorisation,
                                      UnderstandingModel)
from sms.understanding.train import corrections_as_examples, shipped_corpus, train
from core.domain import audit, incident_edits
from core.domain.access import scope_filter
from core.domain.categories import find_category

KINDS = ("term", "context", "object:burn", "object:uncovered", "object:smoke", "object:setoff")


# ---------------------------------------------------------------- lexicon

def lexicon(session: Session) -> Lexicon:
    """The shipped lexicon, the catalogue's own keywords (as terms) and the office's words."""
    def load():
        rows = []
        for code, keywords, name_zh in session.execute(
                select(Category.code, Category.keywords, Category.name_zh).where(Category.active.is_(True))):
            rows.extend((code, "term", 3.0, word) for word in (*(keywords or []), name_zh) if len(word) >= 2)
        for code, word, kind, weight in session.execute(
                select(Category.code, LexiconWord.word, LexiconWord.kind, LexiconWord.weight)
                .join(LexiconWord, LexiconWord.category_id == Category.id)):
            rows.append((code, kind, weight, word))
        built = build_lexicon(rows)
        prepare(built)
        return built
    return _cached(session, "understanding_lexicon", load)


def add_words(session: Session, category_name: str, words: list[str], *, kind: str = "term",
              weight: float = 3.0, source: str = "cli", added_by: str = "", actor: Member | None = None,
              channel: str = "cli") -> list[str]:
    """Add words to a category's lexicon; returns the ones that were new, audited as `catalogue.words.add`.
    Safe to run twice. Who may is the caller's check (the permission table's lexicon/create row: one
    lexicon for the whole installation, so only an installation-wide role, or the shell's operator)."""
    if kind not in KINDS:
        raise Invalid(f"unknown kind {kind!r}", details={"kind": [f"One of {', '.join(KINDS)}."]})
    if not 0 < weight <= 10:
        raise Invalid("weight must be in (0, 10]", details={"weight": ["Between 0 and 10."]})
    category = find_category(session, category_name)
    added = []
    for word in dict.fromkeys(w.strip().casefold() for w in words):
        if not word or len(word) > 40:
            raise Invalid(f"bad word {word!r}", details={"words": ["1 to 40 characters each."]})
        exists = session.scalar(select(LexiconWord.id).where(
            LexiconWord.category_id == category.id, LexiconWord.word == word))
        if exists is None:
            session.add(LexiconWord(category_id=category.id, word=word, kind=kind, weight=weight, source=source,
                                    added_by=added_by))
            added.append(word)
    session.flush()
    audit.record(session, "catalogue.words.add", channel=channel, actor=actor, actor_label=added_by,
                 entity="category", entity_id=category.code,
                 summary={"words": added, "kind": kind, "weight": weight, "source": source})
    clear_caches()
    return added


def remove_words(session: Session, category_name: str, words: list[str], *, actor: Member | None = None,
                 actor_label: str = "", channel: str = "cli") -> list[str]:
    """Take words an office added out of a category's lexicon (the shipped lexicon stays); returns the ones
    removed, audited as `catalogue.words.remove`. Who may is the caller's check (lexicon/delete)."""
    category = find_category(session, category_name)
    wanted = {w.strip().casefold() for w in words}
    rows = session.scalars(select(LexiconWord).where(LexiconWord.category_id == category.id,
                                                     LexiconWord.word.in_(wanted))).all()
    for row in rows:
        session.delete(row)
    session.flush()
    removed = sorted(row.word for row in rows)
    audit.record(session, "catalogue.words.remove", channel=channel, actor=actor, actor_label=actor_label,
                 entity="category", entity_id=category.code, summary={"words": removed})
    clear_caches()
    return removed


def words_query():
    """The words offices added, by category number then word (their category loaded): a SELECT to run or page."""
    return (select(LexiconWord).join(Category, Category.id == LexiconWord.category_id)
            .options(contains_eager(LexiconWord.category)).order_by(Category.number, LexiconWord.word))


def list_words(session: Session) -> list[LexiconWord]:
    return list(session.scalars(words_query()))


def require_words_in_text(words: list[str], text: str) -> None:
    """A word taught from a report must be one the report used: teaching is "this text meant that", not a
    way to slip any word into every future resident's classification."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    absent = [w for w in words if unicodedata.normalize("NFKC", w.strip()).casefold() not in folded]
    if absent:
        raise Invalid("a word to learn must occur in the report's text",
                      details={"learn": [f"{w!r} does not occur in the text." for w in absent]})


# ---------------------------------------------------------------- gazetteer

def gazetteer(session: Session) -> Gazetteer:
    def load():
        aliases: dict[int, list[str]] = {}
        for area_id, alias in session.execute(select(AreaAlias.area_id, AreaAlias.alias)):
            aliases.setdefault(area_id, []).append(alias)
        g = Gazetteer()
        for area_id, code, name, kind, depth in session.execute(
                select(Area.id, Area.code, Area.name, Area.kind, Area.depth).where(Area.deleted_at.is_(None))):
            g.add_area(area_id, code, name, kind, depth, aliases.get(area_id, ()))
        prepare(Lexicon(), g)
        return g
    return _cached(session, "understanding_gazetteer", load)


def add_aliases(session: Session, code: str, aliases: list[str], *, added_by: str = "",
                within: list[str] | None = None) -> tuple[Area, list[str]]:
    """Aliases are places texts are routed by: checked like area names (core.domain.place_names; `within`:
    the actor's admin subtrees, None = everywhere, the shell's operator)."""
    area = area_by_code(session, code)
    if area is None:
        raise NotFound(f"no area {code}", details={"area": [f"Unknown area code {code}."]})
    added = []
    for alias in dict.fromkeys(a.strip() for a in aliases):
        if not 2 <= len(alias) <= 60:
            raise Invalid(f"bad alias {alias!r}", details={"aliases": ["2 to 60 characters each."]})
        check_place_names(session, [alias], path=area.path, area_id=area.id, within=within, alias=True,
                          field="aliases")
        if session.scalar(select(AreaAlias.id).where(AreaAlias.area_id == area.id, AreaAlias.alias == alias)) is None:
            session.add(AreaAlias(area_id=area.id, alias=alias, added_by=added_by))
            added.append(alias)
    session.flush()
    clear_caches()
    return area, added


def list_aliases(session: Session) -> list[tuple[str, str]]:
    return [tuple(r) for r in session.execute(
        select(Area.code, AreaAlias.alias).join(Area, Area.id == AreaAlias.area_id).order_by(Area.code))]


# ---------------------------------------------------------------- intake

def intake_area(session: Session, config: dict) -> tuple[Area | None, str]:
    """Where a report that names no known place goes, and why.

    1. SMS_INTAKE_AREA_CODE (GRIDPATROL_SMS_INTAKE_AREA) when set and known;
    2. else the deepest common ancestor of the areas of every sub-district-level-or-below leader — with one
       sub-district that is the sub-district itself (what a roster import creates), so its leaders see it;
    3. else the deepest common ancestor of all leaders' areas; 4. else the single root (or the first)."""
    code = config.get("SMS_INTAKE_AREA_CODE")
    if code:
        area = area_by_code(session, code)
        if area is not None:
            return area, "configured"

    def load():
        rows = session.execute(select(Area.path, Area.kind).join(Assignment, Assignment.area_id == Area.id).join(
            Member, Member.id == Assignment.member_id).where(
            Assignment.role.in_(LEADER_ROLES), Member.active.is_(True), Area.deleted_at.is_(None))).all()
        for paths, rule in (([p for p, k in rows if k != "district"], "leaders"), ([p for p, _ in rows], "leaders")):
            if paths:
                common = _common_path(paths)
                if common:
                    return int(common.strip("/").split("/")[-1]), rule
        return None, "root"
    area_id, rule = _cached(session, "understanding_intake", load)
    area = session.get(Area, area_id) if area_id else None
    if area is None:
        area = session.scalar(select(Area).where(Area.parent_id.is_(None), Area.deleted_at.is_(None))
                              .order_by(Area.id).limit(1))
        rule = "root"
    return area, rule


def _common_path(paths: list[str]) -> str:
    parts = [p.strip("/").split("/") for p in paths]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return "/" + "/".join(common) + "/" if common else ""


# ---------------------------------------------------------------- per incident

def record(session: Session, incident: Incident, understanding: dict, text: str, routed_by: str) -> None:
    session.add(IncidentUnderstanding(
        incident_id=incident.id, text=text[:4000], category_code=incident.category.code,
        confidence=float(understanding.get("confidence", 0.0)), needs_triage=bool(understanding.get("needs_triage")),
        cues=understanding.get("cues", []) or ([{"word": understanding["explicit"], "kind": "explicit"}]
                                              if understanding.get("explicit") else []),
        place=understanding.get("place", {}), routed_by=routed_by))


def pending_triage(session: Session, principal=None, limit: int = 200) -> list[tuple[Incident, IncidentUnderstanding]]:
    """The 待分类 list: reports filed as 其他 because no category was sure enough, oldest first. With a
    principal, only those where she may read incidents (found there, or handled there): scoped in SQL before
    the limit, so a backlog elsewhere never pushes her own items off her list."""
    query = (select(Incident, IncidentUnderstanding)
             .join(IncidentUnderstanding, IncidentUnderstanding.incident_id == Incident.id)
             .where(IncidentUnderstanding.needs_triage.is_(True), Incident.deleted_at.is_(None)))
    if principal is not None:
        found, responsible = aliased(Area), aliased(Area)
        query = (query.join(found, found.id == Incident.area_id)
                 .join(responsible, responsible.id == Incident.responsible_area_id)
                 .where(or_(scope_filter(principal, "incidents", found.path),
                            scope_filter(principal, "incidents", responsible.path))))
    query = query.order_by(Incident.reported_at, Incident.id).limit(limit)
    return [tuple(r) for r in session.execute(query).all()]


def recategorise(session: Session, incident: Incident, category_name: str, *, actor: Member | None = None,
                 actor_label: str = "", channel: str = "api", learn: list[str] | None = None,
                 now: datetime | None = None) -> Recategorisation:
    """One action: the domain's recategorisation (core.domain.incident_edits.recategorise; the adapters ask
    require_may_recategorise first), then what the understanding learns from it: the incident leaves the
    待分类 list, the change is recorded with the text's words no cue knew (the office's to-do list for the
    lexicon), and optionally some of them are taught."""
    now = now or utcnow()
    category = find_category(session, category_name)
    understanding = session.get(IncidentUnderstanding, incident.id)
    text = understanding.text if understanding else incident.description
    require_words_in_text(learn or [], text)
    known = lexicon(session)
    missed = unknown_words(text, known)
    old = incident_edits.recategorise(session, incident, category, actor=actor, channel=channel, now=now)
    change = Recategorisation(incident_id=incident.id, from_category_id=old.id, to_category_id=category.id,
                              text=text, words=missed, actor_member_id=actor.id if actor else None,
                              actor_label=actor_label or (actor.name if actor else ""), channel=channel, at=now)
    session.add(change)
    if understanding is not None:
        understanding.needs_triage = False
        understanding.triaged_at = now
    if learn:
        add_words(session, category.code, learn, source="recategorise", added_by=change.actor_label, actor=actor,
                  channel=channel)
    session.flush()
    return change


def unknown_words(text: str, known: Lexicon) -> list[str]:
    """The words of a text no cue knows; runs of single characters jieba could not place are joined
    (玩/呲/花 → 呲花 after the known 玩), since an unknown word is exactly what jieba splits up."""
    words, run = [], ""
    for token in segment(text.casefold()) + [""]:
        is_known = token in known.cues or token in known.activities
        if len(token) == 1 and not is_known and re.match(r"[\u3400-\u9fff]", token):
            run += token
            continue
        if len(run) > 1:
            words.append(run)
        run = ""
        if len(token) > 1 and not is_known:
            words.append(token)
    return list(dict.fromkeys(words))


def missed_words(session: Session, limit: int = 50) -> list[tuple[str, str, int]]:
    """(word, category it was moved to, how often) over every recategorisation: what the lexicon lacks."""
    counts: dict[tuple[str, str], int] = {}
    for words, code in session.execute(select(Recategorisation.words, Category.code).join(
            Category, Category.id == Recategorisation.to_category_id)):
        for word in words or []:
            counts[(word, code)] = counts.get((word, code), 0) + 1
    return sorted(((w, c, n) for (w, c), n in counts.items()), key=lambda r: -r[2])[:limit]


# ---------------------------------------------------------------- the model

def model(session: Session) -> Model | None:
    """The office's latest retrained model, else the shipped one. The newest row's id is looked up at most
    every 30 s; its bytes are read and decoded only when it changes."""
    latest = _cached(session, "understanding_model_id", lambda: session.execute(
        select(UnderstandingModel.id, UnderstandingModel.created_at).order_by(UnderstandingModel.id.desc())
        .limit(1)).first())
    if latest is None:
        return shipped()
    key = tuple(latest)
    loaded = _loaded.get("model")
    if loaded is None or loaded[0] != key:
        data = session.scalar(select(UnderstandingModel.data).where(UnderstandingModel.id == key[0]))
        loaded = _loaded["model"] = (key, Model.from_bytes(data))
    return loaded[1]


_loaded: dict = {}  # the decoded retrained model, with the (id, created_at) it was read for


def corrections(session: Session) -> list[tuple[str, str]]:
    """(text, category code) for every report an office recategorised — the latest change of each."""
    latest: dict[str, tuple[str, str]] = {}
    for incident_id, text, code in session.execute(
            select(Recategorisation.incident_id, Recategorisation.text, Category.code)
            .join(Category, Category.id == Recategorisation.to_category_id).order_by(Recategorisation.id)):
        latest[incident_id] = (text, code)
    return list(latest.values())


def retrain(session: Session, *, created_by: str = "", with_corrections: bool = True) -> UnderstandingModel:
    """Train on the shipped corpus plus the office's corrections and store the model; every process uses it
    within half a minute. Takes seconds (scikit-learn, in this process only)."""
    fixes = corrections(session) if with_corrections else []
    corpus = shipped_corpus()
    trained = train(corpus + corrections_as_examples(fixes, len(corpus)), lexicon(session),
                    note=f"retrained by {created_by or 'an office'}")
    row = UnderstandingModel(created_by=created_by, texts=trained.meta["texts"], corrections=len(fixes),
                             meta=trained.meta, data=trained.to_bytes())
    session.add(row)
    session.flush()
    clear_caches()
    return row


def model_status(session: Session) -> dict:
    """Which model files the texts, for `gridpatrol understanding model`."""
    row = session.scalar(select(UnderstandingModel).order_by(UnderstandingModel.id.desc()).limit(1))
    if row is None:
        meta = (shipped().meta if shipped() else {})
        return {"source": "shipped", **meta}
    return {"source": f"retrained #{row.id}", "created_by": row.created_by, "corrections": row.corrections,
            **row.meta}
