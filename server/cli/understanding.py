"""`gridpatrol catalogue words …`, `gridpatrol catalogue triage …`, `gridpatrol areas alias|aliases|intake` and
`gridpatrol understanding retrain|model`.

server/cli/__init__.py merges these groups with the same-named ones of the reference data (the catalogue
and areas groups), so each adds only its own subcommands.
Every write is audited with channel "cli".
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from server.cli.common import CLI_ACTOR, domain_errors

# Imports inside the command functions are deliberate: each command loads the app, the domain and the
# libraries it needs when it runs, so `gridpatrol --help` and every other command start fast.



@click.group("catalogue", help="The problem catalogue.")
def catalogue_group():
    pass


@catalogue_group.group("words", help="Residents' words for each category (the understanding lexicon).")
def words_group():
    pass


@words_group.command("add", help="Add words to a category: gridpatrol catalogue words add 烟花爆竹 二踢脚 摔炮")
@click.argument("category")
@click.argument("words", nargs=-1, required=True)
@click.option("--kind", default="term", show_default=True,
              help="term (says the category on its own), context (a weak hint), object:burn, object:uncovered…")
@click.option("--weight", default=3.0, show_default=True, type=float, help="3 = one clear word; 0.8 = a hint")
@with_appcontext
@domain_errors
def words_add(category: str, words: tuple[str, ...], kind: str, weight: float):
    from core.domain.categories import find_category
    from core.db import db
    from sms.understanding import store
    added = store.add_words(db.session, category, list(words), kind=kind, weight=weight, added_by=CLI_ACTOR)
    code = find_category(db.session, category).code
    db.session.commit()
    click.echo(f"{code}: added {' '.join(added) if added else 'nothing (all known)'}")


@words_group.command("remove", help="Take words an office added out of a category: "
                                     "gridpatrol catalogue words remove 熏制腊肉 鞭炮")
@click.argument("category")
@click.argument("words", nargs=-1, required=True)
@with_appcontext
@domain_errors
def words_remove(category: str, words: tuple[str, ...]):
    from core.db import db
    from sms.understanding import store
    removed = store.remove_words(db.session, category, list(words), actor_label=CLI_ACTOR)
    code = store.find_category(db.session, category).code
    db.session.commit()
    click.echo(f"{code}: removed {' '.join(removed) if removed else 'nothing (none of them were added)'}")


@words_group.command("list", help="The words offices added (the shipped lexicon is sms/understanding/data).")
@with_appcontext
def words_list():
    from core.db import db
    from sms.understanding import store
    for row in store.list_words(db.session):
        click.echo(f"{row.category.code}\t{row.word}\t{row.kind}\t{row.weight:g}\t{row.source}\t{row.added_by}")


@words_group.command("missed", help="Words from recategorised reports that no cue knew, most frequent first.")
@with_appcontext
def words_missed():
    from core.db import db
    from sms.understanding import store
    for word, code, count in store.missed_words(db.session):
        click.echo(f"{count}\t{word}\t→ {code}")


@catalogue_group.group("triage", help="Reports filed as 其他 (待分类) because no category was sure enough.")
def triage_group():
    pass


@triage_group.command("list")
@with_appcontext
def triage_list():
    from core.db import db
    from sms.understanding import store
    for incident, understood in store.pending_triage(db.session):
        click.echo(f"{incident.ticket}\t{incident.area.code}\t{understood.confidence:.2f}\t{understood.text}")


@triage_group.command("set", help="Recategorise one ticket: "
                                   "gridpatrol catalogue triage set 100157 烟花爆竹 --learn 二踢脚")
@click.argument("ticket")
@click.argument("category")
@click.option("--learn", multiple=True, help="also add this word to the category's lexicon (repeatable)")
@with_appcontext
@domain_errors
def triage_set(ticket: str, category: str, learn: tuple[str, ...]):
    from core.domain import audit
    from core.domain.incidents import find_by_ticket
    from core.domain.errors import NotFound
    from core.db import db
    from sms.understanding import store
    incident = find_by_ticket(db.session, ticket)
    if incident is None:
        raise NotFound(f"no ticket {ticket}")
    change = store.recategorise(db.session, incident, category, actor_label=CLI_ACTOR, channel="cli",
                                learn=list(learn))
    audit.record(db.session, "incident.recategorise", channel="cli", actor_label=CLI_ACTOR, entity="incident",
                 entity_id=incident.id, summary={"ticket": ticket, "to": incident.category.code,
                                                 "missed": change.words, "learned": list(learn)})
    db.session.commit()
    click.echo(f"{ticket}: now {incident.category.name_zh}; words no cue knew: {' '.join(change.words) or '-'}")


@click.group("areas", help="The area tree.")
def areas_group():
    pass


@areas_group.command("alias", help="Other names residents use for an area: "
                                    "gridpatrol areas alias CJ05-1-3 映月路 东风小区")
@click.argument("code")
@click.argument("aliases", nargs=-1, required=True)
@with_appcontext
@domain_errors
def areas_alias(code: str, aliases: tuple[str, ...]):
    from core.domain import audit
    from core.db import db
    from sms.understanding import store
    area, added = store.add_aliases(db.session, code, list(aliases), added_by=CLI_ACTOR)
    audit.record(db.session, "area.alias.add", channel="cli", actor_label=CLI_ACTOR, entity="area",
                 entity_id=area.id, summary={"code": area.code, "aliases": added})
    db.session.commit()
    click.echo(f"{area.code} {area.name}: added {' '.join(added) if added else 'nothing (all known)'}")


@areas_group.command("aliases", help="List every area's aliases.")
@with_appcontext
def areas_aliases():
    from core.db import db
    from sms.understanding import store
    for code, alias in store.list_aliases(db.session):
        click.echo(f"{code}\t{alias}")


@areas_group.command("intake", help="Where resident reports that name no known place go, and why.")
@with_appcontext
def areas_intake():
    from core.db import db
    from sms.understanding import store
    area, rule = store.intake_area(db.session, current_app.config)
    if area is None:
        raise click.ClickException("no areas yet")
    click.echo(f"{area.code} {area.name} ({area.kind}; {rule})")


@click.group("understanding", help="How residents' texts are understood: the model beside the rules.")
def understanding_group():
    pass


@understanding_group.command("retrain", help="Rebuild the model from the shipped texts and every recategorisation "
                                              "made on the 待分类 page; every process uses it within 30 s.")
@click.option("--without-corrections", is_flag=True, help="the shipped texts only (undo what offices taught)")
@with_appcontext
@domain_errors
def understanding_retrain(without_corrections: bool):
    from core.domain import audit
    from core.db import db
    from sms.understanding import store
    row = store.retrain(db.session, created_by=CLI_ACTOR, with_corrections=not without_corrections)
    audit.record(db.session, "understanding.retrain", channel="cli", actor_label=CLI_ACTOR,
                 entity="understanding_model", entity_id=row.id,
                 summary={"texts": row.texts, "corrections": row.corrections})
    db.session.commit()
    click.echo(f"model #{row.id}: {row.texts} texts ({row.corrections} from recategorisations), "
               f"{row.meta['features']} features, temperature {row.meta.get('temperature', 1):.2f}")


@understanding_group.command("model", help="Which model files residents' texts, and what it was trained on.")
@with_appcontext
def understanding_model():
    from core.db import db
    from sms.understanding import store
    status = store.model_status(db.session)
    click.echo(f"{status['source']}: trained {status.get('trained_at', '?')} on {status.get('texts', 0)} texts "
               f"({status.get('corrections', 0)} from recategorisations), {status.get('features', 0)} features")


commands = [catalogue_group, areas_group, understanding_group]
