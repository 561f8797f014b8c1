"""Organizer pages of rounds: list and create, settings, applications, template, state moves, conflict pre-check,
matching runs and versions, a panel page per application with manual edits, the round overview, meeting mode."""

from __future__ import annotations

from collections import Counter, defaultdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from web import listing
from web.auth.roles import roles_required
from web.blueprints.confirmation import confirmation_page, confirmed
from web.blueprints.jobs.labels import error_sentence
from web.blueprints.records.lists import formal_check
from web.blueprints.rounds import bp
from web.blueprints.rounds.forms import (
    FormError,
    criteria_changes,
    read_number,
    read_seed,
    refs_list,
    settings_values,
)
from web.extensions import db
from web.labels import label, state_label
from web.models import (
    POOLS,
    ROUND_KINDS,
    ROUND_STATES,
    Application,
    Assignment,
    Expert,
    Field,
    Job,
    Organization,
    Round,
    Sector,
    User,
)
from web.services import guidance, panels, reserve_swaps, rounds, sheets, stored_context
from web.services.guidance import GuidanceError
from web.services.jobs import unfinished_jobs
from web.services.matching_runs import start_matching
from web.services.records import export_applications
from web.services.rounds import NEXT_STATE, RoundError
from web.unit_of_work import refuse

STAFF = ("organizer", "admin")


def get_round(round_id: int) -> Round:
    """The round or 404."""
    return db.session.get(Round, round_id) or abort(404)


def round_application(round_: Round, application_id: int) -> Application:
    """An application of the round, or 404."""
    if application_id not in {link.application_id for link in round_.round_applications}:
        abort(404)
    return db.session.get(Application, application_id)


def seat_of(round_: Round, assignment_id: int) -> Assignment:
    """An assignment row of one of the round's versions, or 404."""
    seat = db.session.get(Assignment, assignment_id)
    if seat is None or seat.version.round_id != round_.id:
        abort(404)
    return seat


def expert_by_ref(ref: str) -> Expert | None:
    return db.session.scalar(select(Expert).where(Expert.ref == ref.strip())) if ref else None


# ---------------------------------------------------------------- list, create, settings

@bp.route("/")
@roles_required(*STAFF)
def index():
    """Every round with its state, applications and active version."""
    rows = [(round_, panels.active_version(round_))
            for round_ in db.session.scalars(select(Round).order_by(Round.created_at.desc(), Round.id.desc()))]
    return render_template("rounds/index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def create():
    """Open a round: name, kind, dates and panel settings (the template is a copy of the kind's default)."""
    values = dict(rounds.SETTING_DEFAULTS, kind="selection_review")
    errors: list[str] = []
    if request.method == "POST":
        kind = request.form.get("kind", "")
        try:
            values = settings_values(request.form)
            round_ = rounds.create_round(values.pop("name"), kind, as_of=values.pop("as_of"),
                                         deadline=values.pop("deadline"), settings=values, actor=current_user)
        except (FormError, RoundError) as error:
            errors = getattr(error, "errors", None) or str(error).split("; ")
            values = dict(request.form.items(), kind=kind)
        else:
            flash(_("Round opened. Attach its applications next."), "ok")
            return redirect(url_for("rounds.applications", round_id=round_.id))
    return render_template("rounds/settings.html", round_=None, values=values, errors=errors, kinds=ROUND_KINDS,
                           pools=POOLS, quotas=_quota_values(values)), 400 if errors else 200


@bp.route("/<int:round_id>/settings", methods=["GET", "POST"])
@roles_required(*STAFF)
def settings(round_id: int):
    """Edit the panel settings (only before scoring starts)."""
    round_ = get_round(round_id)
    values, errors = rounds.settings_of(round_), []
    if request.method == "POST":
        try:
            rounds.update_settings(round_, settings_values(request.form), actor=current_user)
        except (FormError, RoundError) as error:
            errors = getattr(error, "errors", None) or str(error).split("; ")
            values = dict(request.form.items())
        else:
            flash(_("Settings saved."), "ok")
            return redirect(url_for("rounds.overview", round_id=round_.id))
    return render_template("rounds/settings.html", round_=round_, values=values, errors=errors, kinds=ROUND_KINDS,
                           pools=POOLS, quotas=_quota_values(values)), 400 if errors else 200


def _quota_values(values: dict) -> dict[str, tuple[str, str]]:
    """(min, max) per pool as the form shows them, from stored settings or from a posted form."""
    stored = values.get("pool_quotas")
    if isinstance(stored, dict):
        return {pool: tuple(str(v) for v in stored[pool]) if pool in stored else ("", "") for pool in POOLS}
    return {pool: (values.get(f"quota_{pool}_min", ""), values.get(f"quota_{pool}_max", "")) for pool in POOLS}


@bp.route("/<int:round_id>/template", methods=["GET", "POST"])
@roles_required(*STAFF)
def template(round_id: int):
    """The round's own score template: criteria name, maximum, step, veto, comment required, priority."""
    round_ = get_round(round_id)
    errors: list[str] = []
    if request.method == "POST":
        try:
            changes = criteria_changes(request.form, [c.id for c in round_.template.criteria])
            rounds.update_criteria(round_, changes, actor=current_user)
        except (FormError, RoundError) as error:
            errors = getattr(error, "errors", None) or str(error).split("; ")
        else:
            flash(_("Template saved."), "ok")
            return redirect(url_for("rounds.template", round_id=round_.id))
    return render_template("rounds/template.html", round_=round_, errors=errors,
                           editable=round_.state in rounds.EDITABLE_STATES), 400 if errors else 200


@bp.route("/<int:round_id>/guidance", methods=["GET", "POST"])
@roles_required(*STAFF)
def guidance_page(round_id: int):
    """The guidance text under each criterion of the round's score sheet (editable until the round is closed)."""
    round_ = get_round(round_id)
    errors: list[str] = []
    if request.method == "POST":
        texts = {c.id: request.form[f"guidance_{c.id}"] for c in round_.template.criteria
                 if f"guidance_{c.id}" in request.form}
        try:
            changed = guidance.update_guidance(round_, texts, actor=current_user)
        except GuidanceError as refused:
            errors = refused.errors
        else:
            flash(_("Guidance saved (%(count)s criteria changed).", count=changed), "ok")
            return redirect(url_for("rounds.guidance_page", round_id=round_.id))
    return render_template("rounds/guidance.html", round_=round_, errors=errors,
                           editable=round_.state in guidance.EDITABLE_STATES,
                           max_length=guidance.MAX_LENGTH), 400 if errors else 200


@bp.route("/<int:round_id>/applications", methods=["GET", "POST"])
@roles_required(*STAFF)
def applications(round_id: int):
    """The round's applications; attach more by field or sector checkboxes or by typing refs."""
    round_ = get_round(round_id)
    if request.method == "POST":
        try:
            added = rounds.attach_applications(round_, refs=refs_list(request.form.get("refs", "")),
                                               fields=request.form.getlist("fields"), actor=current_user)
        except RoundError as error:
            refuse(str(error))
        else:
            flash(_("%(count)d applications attached.", count=len(added)), "ok")
            warn_flagged(added)
        return redirect(url_for("rounds.applications", round_id=round_.id))
    sectors = db.session.scalars(select(Sector).order_by(Sector.position)).all()
    counts = Counter(db.session.scalars(select(Field.code).join(Application, Application.field_id == Field.id)))
    return render_template("rounds/applications.html", round_=round_, sectors=sectors, counts=counts,
                           editable=round_.state in rounds.EDITABLE_STATES)


def warn_flagged(added: list[Application]) -> None:
    """A warning for each attached application that carries formal-check flags, naming them."""
    english = get_locale().language == "en"
    for record in export_applications(refs=[application.ref for application in added]):
        flags = formal_check(record)
        if flags:
            flash(_("%(ref)s carries formal-check flags: %(flags)s", ref=record["ref"], flags="；".join(
                flag.message_en if english else flag.message for flag in flags)), "warning")


@bp.route("/<int:round_id>/applications/<int:application_id>/detach", methods=["POST"])
@roles_required(*STAFF)
def detach(round_id: int, application_id: int):
    """Take an application out of the round (before scoring)."""
    round_ = get_round(round_id)
    try:
        rounds.detach_application(round_, round_application(round_, application_id), actor=current_user)
    except RoundError as error:
        refuse(str(error))
    return redirect(url_for("rounds.applications", round_id=round_.id))


@bp.route("/<int:round_id>/state", methods=["POST"])
@roles_required(*STAFF)
def transition(round_id: int):
    """Move the round one step: draft → assigning → scoring → closed; closing first shows what it ends."""
    round_ = get_round(round_id)
    state = request.form.get("state", "")
    if state in rounds.CONFIRMED_STATES and NEXT_STATE.get(round_.state) == state and not confirmed():
        return confirmation_page(
            title=_("Close the round %(name)s?", name=round_.name), consequences=closing_consequences(round_),
            action=url_for("rounds.transition", round_id=round_.id), fields={"state": state},
            button=_("Close the round"), cancel=url_for("rounds.overview", round_id=round_.id))
    try:
        rounds.transition(round_, state, actor=current_user, confirmed=confirmed())
    except RoundError as error:
        refuse(str(error))
    else:
        flash(_("The round is now %(state)s.", state=label(state, "round_state")), "ok")
    return redirect(url_for("rounds.overview", round_id=round_.id))


def closing_consequences(round_: Round) -> list[str]:
    """What closing ``round_`` ends, with its numbers."""
    total = sheets.progress(round_).total
    unsubmitted = sum(total.values()) - total["submitted"]
    return [_("Experts can no longer declare, fill in or submit score sheets of this round."),
            _("%(open)s of %(seats)s sheets are not submitted; they will not count in the ranking.",
              open=unsubmitted, seats=sum(total.values())),
            _("Undo: a closed round can be reopened from its overview (back to scoring).")]


@bp.route("/<int:round_id>/reopen", methods=["POST"])
@roles_required(*STAFF)
def reopen(round_id: int):
    """Undo closing: the round goes back to scoring, after a page that says so."""
    round_ = get_round(round_id)
    if round_.state == "closed" and not confirmed():
        return confirmation_page(
            title=_("Reopen the round %(name)s?", name=round_.name),
            consequences=[_("The round goes back to scoring: experts can fill in and submit their sheets again."),
                          _("The ranking changes as sheets are submitted; close the round again when done.")],
            action=url_for("rounds.reopen", round_id=round_.id), button=_("Reopen the round"),
            cancel=url_for("rounds.overview", round_id=round_.id))
    try:
        rounds.reopen(round_, actor=current_user, confirmed=confirmed())
    except RoundError as error:
        refuse(str(error))
    else:
        flash(_("The round is now %(state)s.", state=state_label(round_.state)), "ok")
    return redirect(url_for("rounds.overview", round_id=round_.id))


# ---------------------------------------------------------------- overview, conflicts

@bp.route("/<int:round_id>")
@roles_required(*STAFF)
def overview(round_id: int):
    """All applications with their panel fill, the active version's totals, the state buttons and the matching
    run under way, if any."""
    round_ = get_round(round_id)
    version = panels.active_version(round_)
    seats = panels.seats(round_)
    fill = Counter(seat.application_id for seat in seats)
    pools: dict[int, Counter] = defaultdict(Counter)
    for seat in seats:
        pools[seat.application_id][seat.pool] += 1
    running = unfinished_jobs("matching", round_)
    return render_template("rounds/overview.html", round_=round_, version=version, fill=fill, pools=pools,
                           next_state=NEXT_STATE.get(round_.state), states=ROUND_STATES, state_label=state_label,
                           settings=rounds.settings_of(round_), pool_names=POOLS,
                           matching_job=running[0] if running else None)


CONFLICT_SORTS = {"expert": lambda c: (c.expert, c.application), "application": lambda c: (c.application, c.expert),
                  "rule": lambda c: (c.rule, c.application, c.expert), "kind": lambda c: (c.kind, c.application, c.expert)}


@bp.route("/<int:round_id>/conflicts")
@roles_required(*STAFF)
def conflicts(round_id: int):
    """Every conflict of interest with its rule and reason: filtered by rule, kind, application and expert,
    searched by expert or application, sorted, one page at a time."""
    round_ = get_round(round_id)
    try:
        found = panels.round_conflicts(round_)
    except panels.PanelError as error:
        refuse(str(error))
        return redirect(url_for("rounds.overview", round_id=round_.id))
    args = listing.parse(listing.ListSpec(sorts=tuple(CONFLICT_SORTS), per_page=100, filters={
        "rule": {c.rule for c in found}, "kind": ("hard", "soft"), "application": {c.application for c in found},
        "expert": None}))
    names = dict(db.session.execute(select(Expert.ref, Expert.name)).all())
    kept = [c for c in found if all(getattr(c, key) == value for key, value in args.filters.items())]
    page = listing.paginate_items(kept, args, sort_keys=CONFLICT_SORTS,
                                  search=lambda c: (c.expert, names.get(c.expert), c.application))
    return render_template("rounds/conflicts.html", round_=round_, page=page, names=names,
                           per_rule=Counter(c.rule for c in found), per_kind=Counter(c.kind for c in found),
                           rule_options=[(rule, label(rule, "rule")) for rule in sorted({c.rule for c in found})],
                           application_options=[(ref, ref) for ref in sorted({c.application for c in found})],
                           total=len(found))


# ---------------------------------------------------------------- matching runs and versions

@bp.route("/<int:round_id>/match", methods=["POST"])
@roles_required(*STAFF)
def run_matching(round_id: int):
    """Run the matcher: a small run answers here (a feasible result becomes the active version, an infeasible
    one shows why); a larger one is a job, and the organizer goes to its progress page."""
    round_ = get_round(round_id)
    errors: list[str] = []
    seed = read_seed(request.form, errors)
    probability = read_number(request.form, "max_probability", errors)
    if errors:
        flash("; ".join(errors), "error")
        return redirect(url_for("rounds.overview", round_id=round_.id))
    try:
        started = start_matching(round_, actor=current_user, seed=seed, max_probability=probability)
    except panels.PanelError as error:
        refuse(error_sentence(error.code) if error.code else str(error))
        return redirect(url_for("rounds.overview", round_id=round_.id))
    if started.job is not None:
        return matching_job_answer(round_, started.job)
    return matching_result(round_, started.run.version.number, started.run.version.active,
                           started.run.version.diagnostics)


def matching_job_answer(round_: Round, job: Job):
    """After asking for a matching job: its progress page; or, when it already finished (a queue that runs
    jobs at once), what an inline run shows."""
    job_id = job.id
    db.session.commit()
    job = db.session.get(Job, job_id)
    if job.state == "done":
        return matching_result(round_, job.outcome["version"], job.outcome["active"], job.outcome["diagnostics"])
    if job.state == "failed":
        flash(error_sentence(job.error), "error")
        return redirect(url_for("rounds.overview", round_id=round_.id))
    return redirect(url_for("jobs.job_page", job_id=job_id), 303)


def matching_result(round_: Round, number: int, active: bool, diagnostics: list[str]):
    """The version a run stored, with a word on whether it became the active one."""
    if active:
        flash(_("Matching stored as version %(number)d.", number=number), "ok")
    else:
        flash(_("No feasible assignment: the previous version stays active. Reasons: %(reasons)s",
                reasons="；".join(diagnostics)), "error")
    return redirect(url_for("rounds.version", round_id=round_.id, number=number))


VERSION_SORTS = {"number": lambda v: v.number, "objective": lambda v: v.objective,
                 "created": lambda v: (v.created_at, v.number)}


@bp.route("/<int:round_id>/versions")
@roles_required(*STAFF)
def versions(round_id: int):
    """The stored assignment versions, newest first; filtered by status, sorted, one page at a time."""
    round_ = get_round(round_id)
    found = panels.versions(round_)
    args = listing.parse(listing.ListSpec(sorts=tuple(VERSION_SORTS), direction="desc", per_page=20,
                                          filters={"status": {v.status for v in found}}))
    kept = [v for v in found if v.status == args.filters.get("status", v.status)]
    page = listing.paginate_items(kept, args, sort_keys=VERSION_SORTS)
    return render_template("rounds/versions.html", round_=round_, versions=page.items, page=page,
                           status_options=[(status, version_status_label(status))
                                           for status in sorted({v.status for v in found})],
                           authors=authors(page.items))


def version_status_label(status: str) -> str:
    labels = {"optimal": _("optimal"), "infeasible": _("infeasible"), "manual": _("manual")}
    return labels.get(status, status)


def authors(versions: list) -> dict[int, str]:
    """Username of each version's author by user id (a version made from the shell has none)."""
    ids = {version.created_by_id for version in versions if version.created_by_id}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}


@bp.route("/<int:round_id>/versions/<int:number>")
@roles_required(*STAFF)
def version(round_id: int, number: int):
    """One version: its settings, totals, diagnostics and panels."""
    round_ = get_round(round_id)
    found = panels.version_by_number(round_, number) or abort(404)
    by_application: dict[int, list[Assignment]] = defaultdict(list)
    for row in found.assignments:
        by_application[row.application_id].append(row)
    return render_template("rounds/version.html", round_=round_, version=found, by_application=by_application,
                           seated=panels.SEATED, authors=authors([found]))


@bp.route("/<int:round_id>/versions/<int:number>/restore", methods=["POST"])
@roles_required(*STAFF)
def restore(round_id: int, number: int):
    """Make an earlier version active again (undo)."""
    round_ = get_round(round_id)
    found = panels.version_by_number(round_, number) or abort(404)
    current = panels.active_version(round_)
    if not confirmed() and (current is None or current.id != found.id):
        return confirmation_page(
            title=_("Restore version %(number)d?", number=number), consequences=restore_consequences(current, found),
            action=url_for("rounds.restore", round_id=round_.id, number=number),
            button=_("Restore version %(number)d", number=number),
            cancel=url_for("rounds.versions", round_id=round_.id))
    try:
        panels.restore_version(found, actor=current_user, confirmed=confirmed())
    except panels.PanelError as error:
        refuse(str(error))
    else:
        flash(_("Version %(number)d is active again.", number=number), "ok")
    return redirect(url_for("rounds.versions", round_id=round_.id))


RESTORE_LINES = 20
"""Seat changes listed one by one on the restore page; more are counted."""


def restore_consequences(current, target) -> list[str]:
    """What restoring ``target`` changes compared with the active ``current`` version (if any), seat by seat."""
    if current is None:
        return [_("Version %(target)d becomes the active version.", target=target.number)]
    joining, leaving = panels.seat_changes(current, target)
    changes = ([_("%(expert)s joins the panel of %(application)s.", expert=row.expert.name,
                  application=row.application.ref) for row in joining]
               + [_("%(expert)s leaves the panel of %(application)s.", expert=row.expert.name,
                    application=row.application.ref) for row in leaving])
    lines = [_("Version %(target)d becomes the active version instead of version %(current)d.",
               target=target.number, current=current.number)]
    lines += changes[:RESTORE_LINES]
    if len(changes) > RESTORE_LINES:
        lines.append(_("… and %(count)s more seat changes.", count=len(changes) - RESTORE_LINES))
    if not changes:
        lines.append(_("The seats are the same in both versions."))
    lines.append(_("Undo: version %(current)d stays stored and can be restored the same way.",
                   current=current.number))
    return lines


# ---------------------------------------------------------------- one panel

@bp.route("/<int:round_id>/applications/<int:application_id>")
@roles_required(*STAFF)
def panel(round_id: int, application_id: int):
    """One application's panel: members with fit components and binding rules, why better fits were not chosen,
    reserves, seat states, and the add / remove / swap forms. A round whose context would pass the memory limit
    is shown without the explanation, saying why."""
    round_ = get_round(round_id)
    application = round_application(round_, application_id)
    version = panels.active_version(round_)
    viewed = refused = None
    explained = {"binding": {}, "not_chosen": []}
    if version is not None:
        try:
            stale = stored_context.renew(round_, actor=current_user)
        except panels.PanelError as error:
            refused = str(error)
        else:
            db.session.commit()
            viewed = stored_context.stored_view(round_, stale=stale)
        if viewed is not None:
            explained = panels.explanation(round_, application, viewed.context)
    rows = [row for row in version.assignments if row.application_id == application.id] if version else []
    reserves = panels.reserves_of(version, application) if version else []
    taken = {row.replaces_id for row in rows if row.replaces_id}
    experts = db.session.execute(select(Expert.ref, Expert.name, Expert.pool, Organization.name.label("organization"))
                                 .outerjoin(Organization, Expert.organization_id == Organization.id)
                                 .order_by(Expert.pool, Expert.ref)).all()       # the form's list: plain rows
    return render_template("rounds/panel.html", round_=round_, application=application, version=version, rows=rows,
                           explained=explained, reserves=reserves, seated=panels.SEATED, left=panels.LEFT,
                           taken=taken, experts=experts, viewed=viewed, context_refused=refused)


def _panel_redirect(round_: Round, application_id: int):
    return redirect(url_for("rounds.panel", round_id=round_.id, application_id=application_id))


@bp.route("/<int:round_id>/applications/<int:application_id>/add", methods=["POST"])
@roles_required(*STAFF)
def add(round_id: int, application_id: int):
    """Seat an expert on the panel by hand (checked like the solver's seats)."""
    round_ = get_round(round_id)
    application = round_application(round_, application_id)
    _panel_edit(lambda expert: panels.add_expert(round_, application, expert, actor=current_user,
                                                 override_reason=request.form.get("reason")), with_expert=True)
    return _panel_redirect(round_, application_id)


@bp.route("/<int:round_id>/seats/<int:assignment_id>/remove", methods=["POST"])
@roles_required(*STAFF)
def remove(round_id: int, assignment_id: int):
    """Take an expert off the panel (reason required)."""
    round_ = get_round(round_id)
    seat = seat_of(round_, assignment_id)
    _panel_edit(lambda: panels.remove_expert(seat, actor=current_user, reason=request.form.get("reason", "")))
    return _panel_redirect(round_, seat.application_id)


@bp.route("/<int:round_id>/seats/<int:assignment_id>/swap", methods=["POST"])
@roles_required(*STAFF)
def swap(round_id: int, assignment_id: int):
    """Replace a member by another expert (checked like the solver's seats)."""
    round_ = get_round(round_id)
    seat = seat_of(round_, assignment_id)
    _panel_edit(lambda expert: panels.swap_expert(seat, expert, actor=current_user,
                                                  override_reason=request.form.get("reason")), with_expert=True)
    return _panel_redirect(round_, seat.application_id)


@bp.route("/<int:round_id>/seats/<int:assignment_id>/replace", methods=["POST"])
@roles_required(*STAFF)
def replace(round_id: int, assignment_id: int):
    """Give a declined or recused member's seat to the first reserve that keeps every rule."""
    round_ = get_round(round_id)
    seat = seat_of(round_, assignment_id)
    if seat.state not in panels.LEFT:
        flash(_("Only a member who declined or recused is replaced from the reserves (swap the others)."), "error")
        return _panel_redirect(round_, seat.application_id)
    try:
        new = panels.replace_from_reserves(seat, actor=current_user)
    except panels.PanelError as error:
        refuse(str(error))
    else:
        if new is None:
            flash(panels.no_reserve_reason(seat), "error")
        else:
            flash(_("%(new)s takes the seat of %(old)s.", new=new.expert.name, old=seat.expert.name), "ok")
    return _panel_redirect(round_, seat.application_id)


@bp.route("/<int:round_id>/reserves/<int:reserve_id>/swap-in", methods=["GET", "POST"])
@roles_required(*STAFF)
def swap_in(round_id: int, reserve_id: int):
    """A reserve takes the seat of the weakest-fitting member of its pool: the page says who leaves, the
    confirmed POST swaps (checked for conflicts, quotas, loads and the organization limit)."""
    round_ = get_round(round_id)
    reserve = reserve_swaps.reserve_of_round(round_, reserve_id) or abort(404)
    try:
        plan = reserve_swaps.planned_swap(reserve)
    except panels.PanelError as error:
        refuse(str(error))
        return _panel_redirect(round_, reserve.application_id)
    if request.method == "GET" or not confirmed():
        return swap_in_page(round_, plan)
    try:
        seat = reserve_swaps.swap_in(reserve, actor=current_user, confirmed=True, plan=plan)
    except panels.PanelError as error:
        refuse(str(error))
    else:
        flash(_("%(new)s takes the seat of %(old)s; a new version is active (restore the previous one to undo).",
                new=seat.expert.name, old=plan.leaving.expert.name), "ok")
    return _panel_redirect(round_, reserve.application_id)


def swap_in_page(round_: Round, plan: reserve_swaps.SwapIn) -> str:
    """The confirmation page of a reserve swap, with the rule it would break when it would."""
    reserve, leaving = plan.reserve, plan.leaving
    lines = []
    if leaving is not None:
        lines.append(_("%(new)s (%(new_pool)s, fit %(new_fit)s) takes the seat of %(old)s (%(old_pool)s, fit "
                       "%(old_fit)s) on the panel of %(application)s.", new=reserve.expert.name,
                       new_pool=label(reserve.expert.pool, "pool"), new_fit=fit_text(reserve.fit),
                       old=leaving.expert.name, old_pool=label(leaving.pool, "pool"), old_fit=fit_text(leaving.fit),
                       application=reserve.application.ref))
    lines += [_("A new version becomes active; conflicts, pool quotas, loads and the organization limit are "
                "checked again."),
              _("Undo: restore the previous version on the versions page.")]
    problem = None
    if not plan.version.active:
        problem = _("%(expert)s is a reserve of an earlier version, not of the active one; nothing was changed.",
                    expert=reserve.expert.name)
    elif leaving is not None:
        problem = reserve_swaps.swap_problem(plan)
    return confirmation_page(
        title=_("Swap in the reserve %(expert)s?", expert=reserve.expert.name), consequences=lines,
        warning=problem, action=url_for("rounds.swap_in", round_id=round_.id, reserve_id=reserve.id),
        button=_("Swap in"), cancel=url_for("rounds.panel", round_id=round_.id,
                                             application_id=reserve.application_id))


def fit_text(fit: float | None) -> str:
    """A fit as the panel page shows it."""
    return "—" if fit is None else f"{fit:.3f}"


def _panel_edit(operation, *, with_expert: bool = False) -> None:
    """Run one manual edit (given the posted expert when ``with_expert``); a refusal is shown with its reason and
    nothing is changed."""
    arguments = []
    if with_expert:
        expert = expert_by_ref(request.form.get("expert", ""))
        if expert is None:
            flash(_("Choose an expert by ref."), "error")
            return
        arguments.append(expert)
    try:
        operation(*arguments)
    except panels.PanelError as error:
        refuse(_("Refused: %(reason)s", reason=str(error)))
    else:
        flash(_("Panel changed: a new manual version is active (restore the previous one to undo)."), "ok")


# ---------------------------------------------------------------- meeting mode

@bp.route("/<int:round_id>/meeting")
@roles_required(*STAFF)
def meeting(round_id: int):
    """Panels as groups of applications with their members and the recusals (in individual mode, one group per
    application)."""
    round_ = get_round(round_id)
    version = panels.active_version(round_)
    groups: dict[int, dict] = {}
    for row in version.assignments if version else []:
        key = row.panel if row.panel is not None else -row.application_id
        group = groups.setdefault(key, {"applications": {}, "members": {}, "recusals": []})
        group["applications"][row.application_id] = row.application
        if row.state in panels.SEATED:
            group["members"][row.expert_id] = row.expert
        elif row.state == "recused":
            group["recusals"].append(row)
    ordered = [groups[key] for key in sorted(groups, key=lambda k: (k < 0, abs(k)))]
    return render_template("rounds/meeting.html", round_=round_, version=version, groups=ordered)
