"""Tables of the understanding feature: the office's words and place aliases, what each resident report
was understood as (and why), every recategorisation (so the office sees which words were missed, and the
model learns from it) and the office's retrained models."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Boolean, Float, ForeignKey, Index, Integer, JSON, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db
from core.models.base import UTCDateTime, utcnow


class LexiconWord(db.Model):
    """A word an office added for a category (`gridpatrol catalogue words add 烟花爆竹 二踢脚`)."""

    __tablename__ = "understanding_words"
    __table_args__ = (UniqueConstraint("category_id", "word", name="uq_understanding_words_category_word"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    word: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False, default="term")
    weight: Mapped[float] = mapped_column(Float, nullable=False, default=3.0)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="cli")  # cli | recategorise | api
    added_by: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    category = relationship("Category")


class AreaAlias(db.Model):
    """Another name residents use for an area: a road, an estate, a village (`gridpatrol areas alias …`)."""

    __tablename__ = "area_aliases"
    __table_args__ = (UniqueConstraint("area_id", "alias", name="uq_area_aliases_area_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True, nullable=False)
    alias: Mapped[str] = mapped_column(String(60), nullable=False)
    added_by: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    area = relationship("Area")


class IncidentUnderstanding(db.Model):
    """Why a resident's text became this ticket: category, confidence, the cues that decided, the place."""

    __tablename__ = "incident_understandings"
    __table_args__ = (Index("ix_incident_understandings_triage", "needs_triage"),)

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    category_code: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    confidence: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    needs_triage: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # 待分类
    cues: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    place: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    routed_by: Mapped[str] = mapped_column(String(20), nullable=False, default="")  # gazetteer | grid | intake
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    incident = relationship("Incident")


class Recategorisation(db.Model):
    """One change of an incident's category by a person, with the text and the words that were missed."""

    __tablename__ = "recategorisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True, nullable=False)
    from_category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    to_category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    words: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # the text's words no cue knew
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="api")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class UnderstandingModel(db.Model):
    """A model retrained by an office (`gridpatrol understanding retrain`): the shipped corpus plus the
    office's recategorisations. The newest row replaces the shipped model in every process."""

    __tablename__ = "understanding_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    texts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    corrections: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    meta: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # sms.understanding.model.Model.to_bytes
