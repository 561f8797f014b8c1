"""The route × role matrix: every rule of app.url_map, requested as anonymous, expert A, expert B, organizer
and admin, answers the status the expectation table says (issue 5 item 8).

A route missing from the table fails the test: whoever adds a route decides who may reach it here. The fixture
world (built with the services and models, no HTTP) gives every URL parameter a value: a round in scoring with
an active assignment version, expert A seated on APP-001 and expert B on APP-002, a sheet for each, a flag
review on A's sheet, an outbox message, a reserve, and an API token per account (a spare organizer's too, to
revoke). POSTs are sent with an empty form and CSRF off (CSRF itself is checked by
:func:`test_every_form_post_needs_a_csrf_token`); anonymous page requests must be sent to /login, anonymous API
requests get 401.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from sqlalchemy import select

from web.extensions import db
from web.models import (
    Application,
    Assignment,
    AssignmentVersion,
    Expert,
    FlagReview,
    OutboxMessage,
    Reserve,
    ScoreSheet,
    User,
)

ROLES = ("anonymous", "expert_a", "expert_b", "organizer", "admin")
ACCOUNT_ROLES = {"expert_a": "expert", "expert_b": "expert", "organizer": "organizer", "admin": "admin",
                 "spare": "organizer"}
EXPERT_REFS = {"expert_a": "EXP-A", "expert_b": "EXP-B"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


# ---------------------------------------------------------------- the fixture world

@dataclass
class World:
    """Ids and tokens of what :func:`build_world` made."""

    round_id: int
    version_id: int
    application_ids: dict[str, int]
    seats: dict[str, int]              # account → assignment id of its seat
    sheets: dict[str, int]             # account → sheet id
    review_id: int
    message_id: int
    job_id: int
    users: dict[str, int]              # account → user id
    center_id: int = 0                 # APP-001, listed in the pilot plan
    triennial_id: int = 0              # a draft triennial assessment of APP-001's center (nothing scored yet)
    tokens: dict[str, str] = field(default_factory=dict)        # account → raw API token
    token_ids: dict[str, int] = field(default_factory=dict)     # account → token id
    experts: dict[str, int] = field(default_factory=dict)       # account → expert id of its expert
    reserve_id: int = 0                                         # EXP-C, reserve of APP-001
    attachment_id: int = 0             # an uploaded file of APP-001 (expert A's seat)


def build_world(app, make_user, application_record, expert_record) -> World:
    """The world described in the module docstring; accounts have the conftest password."""
    from web.services.attachments import store_attachment
    from web.services.jobs import request_job
    from web.services.records import import_applications, import_experts
    from web.services.rounds import create_round
    from web.services.tokens import create_token

    accounts = {name: make_user(name, role, expert_ref=EXPERT_REFS.get(name))
                for name, role in ACCOUNT_ROLES.items() if name not in EXPERT_REFS}
    with app.app_context():
        import_applications([application_record("APP-001"),
                             application_record("APP-002", center_name="上海集成电路创新中心", field="ICT-IC")],
                            actor=None)
        import_experts([expert_record("EXP-A", name="甲专家", declared=[]),
                        expert_record("EXP-B", name="乙专家", declared=[]),
                        expert_record("EXP-C", name="丙专家", declared=[])], actor=None)
        db.session.commit()
    accounts.update({name: make_user(name, "expert", expert_ref=ref) for name, ref in EXPERT_REFS.items()})
    with app.app_context():
        round_ = create_round("2020年遴选综合评审", "selection_review", as_of=date(2020, 10, 1),
                              application_refs=["APP-001", "APP-002"], actor=None)
        round_.state = "scoring"
        experts = {expert.ref: expert for expert in db.session.scalars(select(Expert))}
        applications = {row.ref: row for row in db.session.scalars(select(Application))}
        version = AssignmentVersion(round=round_, number=1, status="manual", active=True, settings={})
        seated = {"expert_a": "APP-001", "expert_b": "APP-002"}
        seats = {name: Assignment(version=version, application=applications[ref],
                                  expert=experts[EXPERT_REFS[name]], pool="technology", fit=0.8, state="accepted")
                 for name, ref in seated.items()}
        version.reserves = [Reserve(application=applications["APP-001"], expert=experts["EXP-C"], rank=1, fit=0.5)]
        sheets = {name: ScoreSheet(round=round_, application=applications[ref], expert=experts[EXPERT_REFS[name]],
                                   state="draft", confidence=1.0, conflict_declared=False)
                  for name, ref in seated.items()}
        db.session.add_all([version, *sheets.values()])
        db.session.flush()
        review = FlagReview(sheet=sheets["expert_a"], code="ROBUST", message="总分显著偏离小组其他专家")
        message = OutboxMessage(round=round_, expert=experts["EXP-A"], recipient="zhou@example.com",
                                kind="invitation", subject="【评审邀请】2020年遴选综合评审", body="请登录系统。")
        db.session.add_all([review, message])
        center = listed_center(applications["APP-001"])
        triennial = create_round("2021—2023年三年考核", "triennial", as_of=date(2024, 4, 1),
                                 application_refs=["APP-001"], actor=None)
        job = request_job("blank_pdf", round_=round_, actor=None)      # done at commit (immediate queue)
        attachment = store_attachment(applications["APP-001"], "bylaws", "章程.pdf", io.BytesIO(b"%PDF-1.4 bylaws"),
                                      content_type="application/pdf", actor=None)
        db.session.commit()
        world = World(job_id=job.id, round_id=round_.id, version_id=version.id,
                      application_ids={ref: row.id for ref, row in applications.items()},
                      seats={name: row.id for name, row in seats.items()},
                      sheets={name: row.id for name, row in sheets.items()}, review_id=review.id,
                      message_id=message.id, center_id=center.id, triennial_id=triennial.id,
                      attachment_id=attachment.id,
                      users={name: user.id for name, user in accounts.items()},
                      experts={name: experts[ref].id for name, ref in EXPERT_REFS.items()},
                      reserve_id=version.reserves[0].id)
        for name in ("expert_a", "expert_b", "organizer", "admin", "spare"):
            user = db.session.get(User, world.users[name])
            world.tokens[name] = create_token(user, f"{name} integration", actor=None)
        db.session.commit()
        for token in user_tokens():
            world.token_ids[token.user.username] = token.id
    return world


def listed_center(application: Application):
    """``application`` listed in the pilot plan: its center."""
    from web.services.centers import center_of, record_decision

    record_decision(application, outcome="listed", decided_on=date(2020, 12, 1), document_no="沪经信技〔2020〕1号",
                    reason=None, actor=None)
    return center_of(application)


def user_tokens():
    """Every token (each account of the world has one)."""
    from web.services.tokens import tokens_of

    return tokens_of(None)


@pytest.fixture(name="world")
def world_fixture(app, make_user, make_application_record, make_expert_record) -> World:
    return build_world(app, make_user, make_application_record, make_expert_record)


# ---------------------------------------------------------------- the expectation table

LOGIN = "login"          # 302 to /login?next=…
Status = int | str | frozenset


def row(anonymous: Status, expert_a: Status, expert_b: Status, organizer: Status, admin: Status) -> dict:
    """Expected statuses by role, in the order of ROLES."""
    return dict(zip(ROLES, (anonymous, expert_a, expert_b, organizer, admin), strict=True))


STAFF_PAGE = row(LOGIN, 403, 403, 200, 200)
ADMIN_PAGE = row(LOGIN, 403, 403, 403, 200)
PUBLIC = row(200, 200, 200, 200, 200)
API_STAFF = row(401, 403, 403, 200, 200)
API_EXPERT = row(401, 200, 200, 403, 403)
STARTS_JOB = row(LOGIN, 403, 403, 303, 303)     # a staff GET that starts (or joins) a job, then goes to it


def redirect_after(status: int = 302) -> dict:
    """Staff-only POST: handled (redirect back with a message) for staff, refused for everyone else."""
    return row(LOGIN, 403, 403, status, status)


# A staff form posted empty comes back with its errors (400); others may not even see it.
REFUSED_FORM = redirect_after(400)


def url(template: str) -> Callable[[World], str]:
    """A URL with ``{round}``, ``{app1}``, ``{sheet_a}`` … filled in from the world."""
    def build(world: World) -> str:
        return template.format(
            round=world.round_id, version=world.version_id, app1=world.application_ids["APP-001"],
            app2=world.application_ids["APP-002"], seat_a=world.seats["expert_a"], seat_b=world.seats["expert_b"],
            sheet_a=world.sheets["expert_a"], sheet_b=world.sheets["expert_b"], review=world.review_id,
            message=world.message_id, job=world.job_id, center=world.center_id, triennial=world.triennial_id,
            expert_a=world.experts["expert_a"], reserve=world.reserve_id, attachment=world.attachment_id,
            spare=world.users["spare"], spare_token=world.token_ids["spare"])
    return build


EXPECTED: dict[tuple[str, str], tuple[Callable[[World], str], dict]] = {
    # the site
    ("static", "GET"): (url("/static/panel.css"), PUBLIC),
    ("auth.login", "GET"): (url("/login"), row(200, 302, 302, 302, 302)),
    ("auth.login", "POST"): (url("/login"), row(200, 302, 302, 302, 302)),
    ("auth.logout", "POST"): (url("/logout"), row(LOGIN, 302, 302, 302, 302)),
    ("home.index", "GET"): (url("/"), row(LOGIN, 302, 302, 302, 302)),
    # passwords: a link that is not one is refused for everybody; the change needs a login; the forgotten-password
    # page answers everybody alike (an empty form comes back with its errors)
    ("auth.access", "GET"): (url("/access/not-a-signed-link"), row(400, 400, 400, 400, 400)),
    ("auth.access", "POST"): (url("/access/not-a-signed-link"), row(400, 400, 400, 400, 400)),
    ("auth.change_password", "GET"): (url("/password"), row(LOGIN, 200, 200, 200, 200)),
    ("auth.change_password", "POST"): (url("/password"), row(LOGIN, 400, 400, 400, 400)),
    ("auth.forgot_password", "GET"): (url("/password/forgot"), PUBLIC),
    ("auth.forgot_password", "POST"): (url("/password/forgot"), PUBLIC),
    # expert (W2): their own seats only; another expert's seat is 404, staff are not experts (403)
    ("expert.index", "GET"): (url("/expert/"), row(LOGIN, 200, 200, 403, 403)),
    ("expert.accept", "POST"): (url("/expert/seats/{seat_a}/accept"), row(LOGIN, 302, 404, 403, 403)),
    ("expert.decline", "GET"): (url("/expert/seats/{seat_a}/decline"), row(LOGIN, 200, 404, 403, 403)),
    ("expert.decline", "POST"): (url("/expert/seats/{seat_a}/decline"), row(LOGIN, 400, 404, 403, 403)),
    # A declared no conflict already: the declaration sends A on to the sheet
    ("expert.declare", "GET"): (url("/expert/seats/{seat_a}/declare"), row(LOGIN, 302, 404, 403, 403)),
    ("expert.declare", "POST"): (url("/expert/seats/{seat_a}/declare"), row(LOGIN, 302, 404, 403, 403)),
    ("expert.application", "GET"): (url("/expert/seats/{seat_a}/application"), row(LOGIN, 200, 404, 403, 403)),
    ("expert.sheet", "GET"): (url("/expert/seats/{seat_a}/sheet"), row(LOGIN, 200, 404, 403, 403)),
    ("expert.sheet", "POST"): (url("/expert/seats/{seat_a}/sheet"), row(LOGIN, 302, 404, 403, 403)),
    ("expert.autosave", "POST"): (url("/expert/seats/{seat_a}/sheet/autosave"), row(LOGIN, 200, 404, 403, 403)),
    # rounds and panels (W1): organizers and admins
    ("rounds.index", "GET"): (url("/rounds/"), STAFF_PAGE),
    ("rounds.create", "GET"): (url("/rounds/new"), STAFF_PAGE),
    ("rounds.create", "POST"): (url("/rounds/new"), REFUSED_FORM),
    ("rounds.overview", "GET"): (url("/rounds/{round}"), STAFF_PAGE),
    ("rounds.settings", "GET"): (url("/rounds/{round}/settings"), STAFF_PAGE),
    ("rounds.settings", "POST"): (url("/rounds/{round}/settings"), REFUSED_FORM),
    ("rounds.template", "GET"): (url("/rounds/{round}/template"), STAFF_PAGE),
    ("rounds.template", "POST"): (url("/rounds/{round}/template"), REFUSED_FORM),
    # guidance: an empty form changes nothing and goes back to the page
    ("rounds.guidance_page", "GET"): (url("/rounds/{round}/guidance"), STAFF_PAGE),
    ("rounds.guidance_page", "POST"): (url("/rounds/{round}/guidance"), redirect_after()),
    ("rounds.applications", "GET"): (url("/rounds/{round}/applications"), STAFF_PAGE),
    ("rounds.applications", "POST"): (url("/rounds/{round}/applications"), redirect_after()),
    ("rounds.detach", "POST"): (url("/rounds/{round}/applications/{app2}/detach"), redirect_after()),
    ("rounds.transition", "POST"): (url("/rounds/{round}/state"), redirect_after()),
    ("rounds.reopen", "POST"): (url("/rounds/{round}/reopen"), redirect_after()),
    ("rounds.conflicts", "GET"): (url("/rounds/{round}/conflicts"), STAFF_PAGE),
    ("rounds.run_matching", "POST"): (url("/rounds/{round}/match"), redirect_after()),
    ("rounds.versions", "GET"): (url("/rounds/{round}/versions"), STAFF_PAGE),
    ("rounds.version", "GET"): (url("/rounds/{round}/versions/1"), STAFF_PAGE),
    ("rounds.restore", "POST"): (url("/rounds/{round}/versions/1/restore"), redirect_after()),
    ("rounds.panel", "GET"): (url("/rounds/{round}/applications/{app1}"), STAFF_PAGE),
    ("rounds.add", "POST"): (url("/rounds/{round}/applications/{app1}/add"), redirect_after()),
    ("rounds.remove", "POST"): (url("/rounds/{round}/seats/{seat_a}/remove"), redirect_after()),
    ("rounds.swap", "POST"): (url("/rounds/{round}/seats/{seat_a}/swap"), redirect_after()),
    ("rounds.replace", "POST"): (url("/rounds/{round}/seats/{seat_a}/replace"), redirect_after()),
    # a reserve swap: the confirmation page; a POST without the confirmation shows that page again
    ("rounds.swap_in", "GET"): (url("/rounds/{round}/reserves/{reserve}/swap-in"), STAFF_PAGE),
    ("rounds.swap_in", "POST"): (url("/rounds/{round}/reserves/{reserve}/swap-in"), STAFF_PAGE),
    ("rounds.meeting", "GET"): (url("/rounds/{round}/meeting"), STAFF_PAGE),
    # invitations, outbox, progress, reopening (W2): organizers and admins
    ("invitations.index", "GET"): (url("/invitations/"), STAFF_PAGE),
    ("invitations.outbox_page", "GET"): (url("/invitations/outbox"), STAFF_PAGE),
    ("invitations.message", "GET"): (url("/invitations/outbox/{message}"), STAFF_PAGE),
    ("invitations.resend", "POST"): (url("/invitations/outbox/{message}/resend"), redirect_after()),
    ("invitations.round_page", "GET"): (url("/invitations/rounds/{round}"), STAFF_PAGE),
    ("invitations.progress", "GET"): (url("/invitations/rounds/{round}/progress"), STAFF_PAGE),
    ("invitations.invite", "POST"): (url("/invitations/rounds/{round}/invite"), redirect_after()),
    ("invitations.remind", "POST"): (url("/invitations/rounds/{round}/remind"), redirect_after()),
    ("invitations.replace", "POST"): (url("/invitations/seats/{seat_a}/replace"), redirect_after()),
    ("invitations.create_accounts", "POST"): (url("/invitations/rounds/{round}/accounts"), redirect_after()),
    ("invitations.send_link", "POST"): (url("/invitations/rounds/{round}/experts/{expert_a}/link"), redirect_after()),
    ("invitations.reopen", "GET"): (url("/invitations/sheets/{sheet_a}/reopen"), STAFF_PAGE),
    ("invitations.reopen", "POST"): (url("/invitations/sheets/{sheet_a}/reopen"), REFUSED_FORM),
    # organizer (foundation)
    ("records.applications", "GET"): (url("/records/applications"), STAFF_PAGE),
    ("records.application_detail", "GET"): (url("/records/applications/APP-001"), STAFF_PAGE),
    ("records.experts", "GET"): (url("/records/experts"), STAFF_PAGE),
    # registering in the browser: uploads with their preview, attachments (an expert: on their own declared seat)
    ("records.upload", "GET"): (url("/records/applications/upload"), STAFF_PAGE),
    ("records.upload", "POST"): (url("/records/experts/upload"), REFUSED_FORM),
    ("records.template", "GET"): (url("/records/experts/template.xlsx"), STAFF_PAGE),
    ("records.confirm", "POST"): (url("/records/applications/upload/not-a-kept-upload-token"),
                                  row(LOGIN, 403, 403, 404, 404)),
    ("records.new", "GET"): (url("/records/applications/new"), STAFF_PAGE),
    ("records.new", "POST"): (url("/records/experts/new"), row(LOGIN, 403, 403, 422, 422)),
    ("records.edit", "GET"): (url("/records/applications/APP-001/edit"), STAFF_PAGE),
    ("records.edit", "POST"): (url("/records/experts/EXP-C/edit"), row(LOGIN, 403, 403, 422, 422)),
    ("records.attachments", "GET"): (url("/records/applications/APP-001/attachments"), STAFF_PAGE),
    ("records.attachments", "POST"): (url("/records/applications/APP-001/attachments"), redirect_after()),
    ("records.download", "GET"): (url("/records/attachments/{attachment}"), STAFF_PAGE),
    ("records.seat_download", "GET"): (url("/records/seats/{seat_a}/attachments/{attachment}"),
                                       row(LOGIN, 200, 404, 403, 403)),
    # rankings (W3)
    ("rankings.index", "GET"): (url("/rankings/"), STAFF_PAGE),
    ("rankings.combine", "GET"): (url("/rankings/combine"), STAFF_PAGE),
    ("rankings.my_reviews", "GET"): (url("/rankings/reviews"), row(LOGIN, 200, 200, 403, 403)),
    ("rankings.review", "GET"): (url("/rankings/reviews/{review}"), row(LOGIN, 200, 404, 403, 403)),
    ("rankings.review", "POST"): (url("/rankings/reviews/{review}"), row(LOGIN, 200, 404, 403, 403)),
    ("rankings.round_ranking", "GET"): (url("/rankings/rounds/{round}"), STAFF_PAGE),
    ("rankings.trace", "GET"): (url("/rankings/rounds/{round}/applications/{app1}"), STAFF_PAGE),
    ("rankings.request_review", "POST"): (url("/rankings/rounds/{round}/applications/{app1}/reviews"),
                                          redirect_after()),
    ("rankings.application_sheets_pdf", "GET"): (url("/rankings/rounds/{round}/applications/{app1}/sheets.pdf"),
                                                 STAFF_PAGE),
    ("rankings.blank_pdf", "GET"): (url("/rankings/rounds/{round}/blank.pdf"), STARTS_JOB),
    ("rankings.export_xlsx", "GET"): (url("/rankings/rounds/{round}/export.xlsx"), STAFF_PAGE),
    # centers: decisions, the publicity list, center pages and annual reports (organizers and admins)
    ("centers.index", "GET"): (url("/centers/"), STAFF_PAGE),
    ("centers.decisions", "GET"): (url("/centers/decisions"), STAFF_PAGE),
    ("centers.decide", "POST"): (url("/centers/decisions/{app2}"), redirect_after()),
    ("centers.publicity_xlsx", "GET"): (url("/centers/decisions/publicity.xlsx"), STAFF_PAGE),
    ("centers.publicity_pdf", "GET"): (url("/centers/decisions/publicity.pdf"), STAFF_PAGE),
    ("centers.center_page", "GET"): (url("/centers/{center}"), STAFF_PAGE),
    ("centers.change_status", "POST"): (url("/centers/{center}/status"), redirect_after()),
    ("centers.targets", "POST"): (url("/centers/{center}/targets"), redirect_after()),
    ("centers.save_report", "POST"): (url("/centers/{center}/reports"), redirect_after()),
    ("centers.report_template", "GET"): (url("/centers/reports/template.xlsx"), STAFF_PAGE),
    ("centers.import_reports", "POST"): (url("/centers/reports/import"), redirect_after()),
    ("centers.open_evaluation", "POST"): (url("/centers/evaluations"), redirect_after()),
    # evaluation pages of the world's triennial round (nothing scored: saving empty weights or applying an outcome
    # is refused with a message); a selection round is 404 there (tests/web/test_centers.py)
    ("centers.evaluation", "GET"): (url("/centers/evaluations/{triennial}"), STAFF_PAGE),
    ("centers.evaluation_xlsx", "GET"): (url("/centers/evaluations/{triennial}/results.xlsx"), STAFF_PAGE),
    ("centers.evaluation_pdf", "GET"): (url("/centers/evaluations/{triennial}/results.pdf"), STAFF_PAGE),
    ("centers.apply_outcome", "POST"): (url("/centers/evaluations/{triennial}/outcomes/{app1}"), redirect_after()),
    ("centers.assessment_weights", "POST"): (url("/centers/evaluations/{triennial}/weights"), redirect_after()),
    ("rankings.sheets_pdf", "GET"): (url("/rankings/rounds/{round}/sheets.pdf"), STARTS_JOB),
    # jobs: organizers and admins see every round's jobs, their progress and their files
    ("jobs.round_page", "GET"): (url("/jobs/rounds/{round}"), STAFF_PAGE),
    ("jobs.job_page", "GET"): (url("/jobs/{job}"), STAFF_PAGE),
    ("jobs.job_status", "GET"): (url("/jobs/{job}.json"), STAFF_PAGE),
    ("jobs.download", "GET"): (url("/jobs/{job}/download"), STAFF_PAGE),
    # admin (W4)
    ("admin.audit", "GET"): (url("/admin/audit"), ADMIN_PAGE),
    ("admin.audit_export", "GET"): (url("/admin/audit.csv"), ADMIN_PAGE),
    ("admin.users", "GET"): (url("/admin/users"), ADMIN_PAGE),
    ("admin.users", "POST"): (url("/admin/users"), ADMIN_PAGE),
    ("admin.change_user", "POST"): (url("/admin/users/{spare}/deactivate"), row(LOGIN, 403, 403, 403, 302)),
    ("admin.tokens", "GET"): (url("/admin/tokens"), STAFF_PAGE),
    ("admin.tokens", "POST"): (url("/admin/tokens"), STAFF_PAGE),
    # an organizer may not revoke another organizer's token: 404, as if it did not exist
    ("admin.revoke_token", "POST"): (url("/admin/tokens/{spare_token}/revoke"), row(LOGIN, 403, 403, 404, 302)),
    # the API (W4)
    ("api.openapi_document", "GET"): (url("/api/v1/openapi.json"), PUBLIC),
    ("api.unknown_endpoint", "GET"): (url("/api/v1/no/such/thing"), row(401, 404, 404, 404, 404)),
    ("api.unknown_endpoint", "POST"): (url("/api/v1/no/such/thing"), row(401, 404, 404, 404, 404)),
    ("api.unknown_endpoint", "PUT"): (url("/api/v1/no/such/thing"), row(401, 404, 404, 404, 404)),
    ("api.unknown_endpoint", "PATCH"): (url("/api/v1/no/such/thing"), row(401, 404, 404, 404, 404)),
    ("api.unknown_endpoint", "DELETE"): (url("/api/v1/no/such/thing"), row(401, 404, 404, 404, 404)),
    ("api.list_applications", "GET"): (url("/api/v1/applications"), API_STAFF),
    ("api.import_applications", "POST"): (url("/api/v1/applications"), row(401, 403, 403, 400, 400)),
    ("api.get_application", "GET"): (url("/api/v1/applications/APP-001"), API_STAFF),
    ("api.list_experts", "GET"): (url("/api/v1/experts"), API_STAFF),
    ("api.import_experts", "POST"): (url("/api/v1/experts"), row(401, 403, 403, 400, 400)),
    ("api.get_expert", "GET"): (url("/api/v1/experts/EXP-A"), API_STAFF),
    # the world's job was asked for by nobody: an organizer sees only their own jobs, an admin every job
    ("api.get_job", "GET"): (url("/api/v1/jobs/{job}"), row(401, 403, 403, 404, 200)),
    ("api.list_rounds", "GET"): (url("/api/v1/rounds"), API_STAFF),
    ("api.get_round", "GET"): (url("/api/v1/rounds/{round}"), API_STAFF),
    ("api.get_assignments", "GET"): (url("/api/v1/rounds/{round}/assignments"), API_STAFF),
    ("api.get_ranking", "GET"): (url("/api/v1/rounds/{round}/ranking"), API_STAFF),
    ("api.list_round_sheets", "GET"): (url("/api/v1/rounds/{round}/sheets"), API_STAFF),
    ("api.list_own_sheets", "GET"): (url("/api/v1/sheets"), API_EXPERT),
    ("api.get_sheet", "GET"): (url("/api/v1/sheets/{sheet_a}"), row(401, 200, 404, 200, 200)),
    ("api.save_sheet", "PUT"): (url("/api/v1/sheets/{sheet_a}"), row(401, 400, 404, 403, 403)),
    ("api.list_centers", "GET"): (url("/api/v1/centers"), API_STAFF),
    ("api.get_center", "GET"): (url("/api/v1/centers/{center}"), API_STAFF),
    ("api.save_center_report", "PUT"): (url("/api/v1/centers/{center}/reports/2021"), row(401, 403, 403, 400, 400)),
    ("api.set_center_status", "PUT"): (url("/api/v1/centers/{center}/status"), row(401, 403, 403, 400, 400)),
    ("api.record_decision", "PUT"): (url("/api/v1/applications/APP-002/decision"), row(401, 403, 403, 400, 400)),
    ("api.list_decisions", "GET"): (url("/api/v1/decisions"), API_STAFF),
    # the world's center has no 2021 report yet: nothing to attach a document to
    ("api.attach_report_document", "POST"): (url("/api/v1/centers/{center}/reports/2021/document"),
                                             row(401, 403, 403, 404, 404)),
    ("api.set_center_targets", "PUT"): (url("/api/v1/centers/{center}/targets"), row(401, 403, 403, 400, 400)),
    ("api.get_evaluation", "GET"): (url("/api/v1/rounds/{triennial}/evaluation"), API_STAFF),
    ("api.set_assessment_weights", "PUT"): (url("/api/v1/rounds/{triennial}/assessment-weights"),
                                            row(401, 403, 403, 400, 400)),
    ("api.apply_assessment_outcome", "POST"): (url("/api/v1/rounds/{triennial}/outcomes/APP-001"),
                                               row(401, 403, 403, 422, 422)),
    ("api.submit_sheet", "POST"): (url("/api/v1/sheets/{sheet_a}/submit"), row(401, 422, 404, 403, 403)),
}
"""(endpoint, method) → (URL in the world, expected status by role)."""


def rules(app) -> list[tuple[str, str]]:
    """Every (endpoint, method) the app answers."""
    return sorted({(rule.endpoint, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - IGNORED_METHODS})


# ---------------------------------------------------------------- requests as each role

def request_as(client, role: str, world: World, endpoint: str, method: str):
    """Send the table's request for ``endpoint`` as ``role`` (the client is already logged in as ``role``)."""
    target = EXPECTED[(endpoint, method)][0](world)
    headers = {}
    if target.startswith("/api/") and role in world.tokens:
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    if method == "GET":
        return client.get(target, headers=headers)
    return client.open(target, method=method, headers=headers, data={})


def matches(expected: Status, response) -> bool:
    """True when the response has the expected status (LOGIN: a redirect to the login page)."""
    if expected == LOGIN:
        return response.status_code == 302 and response.headers["Location"].startswith("/login")
    if isinstance(expected, frozenset):
        return response.status_code in expected
    return response.status_code == expected


def test_every_route_is_in_the_table(app):
    missing = [key for key in rules(app) if key not in EXPECTED]
    stale = [key for key in EXPECTED if key not in rules(app)]
    assert not missing, f"routes with no expectation (add them to EXPECTED): {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
@pytest.mark.parametrize("role", ROLES)
def test_route_matrix(app, client, auth, world, role):
    if role != "anonymous":
        response = client.post("/login", data={"username": role, "password": auth.password})
        assert response.status_code == 302, f"{role} could not log in"
    # Reads first, then the writes, so a write (a deactivated account, a revoked token) cannot change a read.
    keys = sorted((key for key in rules(app) if key in EXPECTED), key=lambda key: (key[1] != "GET", key))
    # Logging out ends the session the other requests need: it goes last.
    keys.sort(key=lambda key: key == ("auth.logout", "POST"))
    wrong = []
    for endpoint, method in keys:
        expected = EXPECTED[(endpoint, method)][1][role]
        response = request_as(client, role, world, endpoint, method)
        if not matches(expected, response):
            wrong.append(f"{method} {endpoint}: expected {expected}, got {response.status_code}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_every_form_post_needs_a_csrf_token(app, client, auth, world):
    """Every state-changing route outside /api refuses a request without a CSRF token (400), logged in or not."""
    auth.login(username="admin")
    writes = [(endpoint, method) for endpoint, method in rules(app)
              if method != "GET" and not endpoint.startswith("api.")]
    assert ("auth.login", "POST") in writes and len(writes) > 10
    accepted = []
    for endpoint, method in writes:
        target = EXPECTED[(endpoint, method)][0](world)
        response = client.open(target, method=method, data={"reason": "x", "name": "x"})
        if response.status_code != 400:
            accepted.append(f"{method} {target}: {response.status_code}")
    assert not accepted, "accepted without a CSRF token:\n" + "\n".join(accepted)


def test_the_api_takes_no_csrf_token_and_no_session(app, client, auth, world):
    """A logged-in browser session does not authenticate API calls (so the API needs no CSRF token)."""
    auth.login(username="admin")
    assert client.get("/api/v1/rounds").status_code == 401
    cookieless = app.test_client()
    response = cookieless.get("/api/v1/rounds", headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
