"""Every web path that builds the round's experts × applications matrices through the engine is held to
PANEL_MATCHING_MEMORY as a matching run is: over the limit it is refused before anything is read or changed, with
``matching_too_large`` and a catalog sentence giving the figures; the stored context's job fails at once for good;
the panel page still renders, saying why it cannot explain. Without a limit every path works as before."""

from __future__ import annotations

import weakref

import pytest
from sqlalchemy import event, select

from tests.web.queue_helpers import ask_for
from tests.web.test_panels_factory import build_round
from tests.web.test_panels_service import application, expert, get_round, seat_pairs
from web.extensions import db
from web.models import Assignment, Expert, Job, Round, StoredPanelContext
from web.services import matching_bridge, panels, reserve_swaps, stored_context
from web.services.matching_bridge import TOO_LARGE

MIB = 1 << 20
LIMIT = 100 * MIB
CONTEXT_REFUSED = "本轮全部专家与全部申报之间的回避冲突和匹配度约需"
CONFLICTS_REFUSED = "列出本轮全部回避冲突及其原因约需"
OVER = "超过本机上限 0.09 GB"
NOT_COMPUTED = "本轮规模超过本机内存上限：未作计算。"
ANOTHER_WORKER = "请在内存更大的工作机上运行"


@pytest.fixture
def matched(app):
    """A round with its solver version, matched without a limit; the tests set one afterwards."""
    round_id = build_round(app)
    with app.app_context():
        panels.run_matching(get_round(round_id), actor=None)
        db.session.commit()
    return round_id


@pytest.fixture
def limited(app, matched):
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    return matched


def stored_contexts(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(StoredPanelContext)).all())


def context_jobs(app) -> list[Job]:
    with app.app_context():
        found = db.session.scalars(select(Job).where(Job.kind == "panel_context")).all()
        db.session.expunge_all()
        return found


def panel_url(app, round_id: int, ref: str = "APP-001") -> str:
    with app.app_context():
        return f"/rounds/{round_id}/applications/{application(ref).id}"


def outsider(round_: Round, ref: str) -> str:
    """An expert who never sat on ``ref``'s panel."""
    sat = {expert_ref for app_ref, expert_ref in seat_pairs(round_) if app_ref == ref}
    return next(row.ref for row in db.session.scalars(select(Expert).order_by(Expert.ref)) if row.ref not in sat)


def test_the_panel_page_renders_saying_why_it_cannot_explain_and_stores_nothing(app, client, auth, limited,
                                                                                table_counts, monkeypatch):
    monkeypatch.setattr(stored_context, "INLINE_PAIR_LIMIT", 0)        # a large round: not even a job is asked for
    auth.login("organizer")
    before = table_counts()
    response = client.get(panel_url(app, limited))
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"无法生成本专家组的解释：{CONTEXT_REFUSED}" in text and OVER in text
    assert table_counts() == before and stored_contexts(app) == 0 and context_jobs(app) == []


def test_a_context_stored_before_the_limit_is_not_read_over_it(app, client, auth, matched):
    auth.login("organizer")
    url = panel_url(app, matched)
    assert CONTEXT_REFUSED not in client.get(url).get_data(as_text=True) and stored_contexts(app) == 1
    app.config["PANEL_MATCHING_MEMORY"] = LIMIT
    assert CONTEXT_REFUSED in client.get(url).get_data(as_text=True)


def test_a_panel_context_job_over_the_limit_fails_at_once_for_good_with_the_figures(app, client, auth, limited):
    job_id = ask_for(app, "panel_context", limited)
    [job] = context_jobs(app)
    assert (job.id, job.state, job.error, job.attempts) == (job_id, "failed", TOO_LARGE, 1)
    assert job.outcome["limit"] == LIMIT and job.outcome["estimate"] > LIMIT and job.outcome["pairs"] > 0
    assert CONTEXT_REFUSED in job.outcome["errors"][0] and stored_contexts(app) == 0
    auth.login("organizer")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert OVER in page and NOT_COMPUTED in page
    assert ANOTHER_WORKER not in page       # the panel page holds the same limit: no other worker would help it


@pytest.mark.parametrize("limit", [None, 64 << 30])
def test_under_the_limit_or_without_one_the_job_stores_the_context(app, matched, limit):
    app.config["PANEL_MATCHING_MEMORY"] = limit
    ask_for(app, "panel_context", matched)
    assert [job.state for job in context_jobs(app)] == ["done"] and stored_contexts(app) == 1


def refused_services(round_: Round) -> dict:
    """Each service that builds the round's context, called on the round's first panel."""
    first = application("APP-001")
    seat = panels.seats(round_, first)[0]
    reserve = panels.reserves_of(panels.active_version(round_), first)[0]
    newcomer = expert(outsider(round_, "APP-001"))
    return {
        "add": lambda: panels.add_expert(round_, first, newcomer, actor=None),
        "remove": lambda: panels.remove_expert(seat, actor=None, reason="回避"),
        "swap": lambda: panels.swap_expert(seat, newcomer, actor=None),
        "replace": lambda: panels.replace_from_reserves(seat, actor=None),     # a seated member: declined first
        "reserve report": lambda: panels.reserve_report(seat),
        "explanation": lambda: panels.explanation(round_, first),
        "planned swap": lambda: reserve_swaps.planned_swap(reserve),
        "swap in": lambda: reserve_swaps.swap_in(reserve, actor=None, confirmed=True),
    }


@pytest.mark.parametrize("name", ["add", "remove", "swap", "replace", "reserve report", "explanation",
                                  "planned swap", "swap in"])
def test_every_service_building_the_context_is_refused_with_nothing_changed(app, limited, table_counts, name):
    before = table_counts()
    with app.app_context():
        round_ = get_round(limited)
        seats_before = {(row.id, row.state) for row in panels.active_version(round_).assignments}
        with pytest.raises(panels.PanelError) as refusal:
            refused_services(round_)[name]()
        assert refusal.value.code == TOO_LARGE and refusal.value.details["limit"] == LIMIT
        assert str(refusal.value).startswith(CONTEXT_REFUSED) and OVER in str(refusal.value)
        db.session.commit()                     # whatever the service left in the session would be stored now
        assert {(row.id, row.state) for row in panels.active_version(round_).assignments} == seats_before
    assert table_counts() == before


@pytest.mark.parametrize("name", ["add", "remove", "swap", "replace", "reserve report", "explanation",
                                  "planned swap", "swap in"])
def test_without_a_limit_every_such_service_works(app, matched, name):
    """As before: done, or refused by a panel rule (a full panel, a conflict) the engine's context found."""
    with app.app_context():
        try:
            refused_services(get_round(matched))[name]()
        except panels.PanelError as refusal:
            assert refusal.code is None and name in ("add", "swap")


def left_seat(app, round_id: int) -> int:
    """A member of APP-002 who recused (committed), to be replaced from the reserves."""
    with app.app_context():
        seat = panels.seats(get_round(round_id), application("APP-002"))[0]
        seat.state, seat.state_reason = "recused", "曾参与申报书编写"
        db.session.commit()
        return seat.id


def route_requests(app, round_id: int) -> dict[str, tuple[str, str, dict]]:
    """(method, url, form) of each page and button that builds the round's context or its conflicts."""
    left = left_seat(app, round_id)
    with app.app_context():
        round_ = get_round(round_id)
        first = application("APP-001")
        seat = panels.seats(round_, first)[0]
        reserve = panels.reserves_of(panels.active_version(round_), first)[0]
        newcomer = outsider(round_, "APP-001")
        return {
            "add": ("post", f"/rounds/{round_id}/applications/{first.id}/add", {"expert": newcomer}),
            "remove": ("post", f"/rounds/{round_id}/seats/{seat.id}/remove", {"reason": "回避"}),
            "swap": ("post", f"/rounds/{round_id}/seats/{seat.id}/swap", {"expert": newcomer}),
            "replace": ("post", f"/rounds/{round_id}/seats/{left}/replace", {}),
            "invitations replace": ("post", f"/invitations/seats/{left}/replace", {}),
            "swap-in page": ("get", f"/rounds/{round_id}/reserves/{reserve.id}/swap-in", {}),
            "swap-in": ("post", f"/rounds/{round_id}/reserves/{reserve.id}/swap-in", {"confirm": "yes"}),
            "conflicts": ("get", f"/rounds/{round_id}/conflicts", {}),
        }


@pytest.mark.parametrize("name", ["add", "remove", "swap", "replace", "invitations replace", "swap-in page",
                                  "swap-in", "conflicts"])
def test_every_page_and_button_is_refused_with_the_sentence_and_nothing_changed(app, client, auth, csrf_token,
                                                                               limited, table_counts, name):
    method, url, form = route_requests(app, limited)[name]
    auth.login("organizer")
    token = csrf_token(client.get(panel_url(app, limited)).get_data(as_text=True))
    before = table_counts()
    response = client.post(url, data={**form, "csrf_token": token}) if method == "post" else client.get(url)
    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (CONFLICTS_REFUSED if name == "conflicts" else CONTEXT_REFUSED) in shown and OVER in shown
    assert table_counts() == before


def test_a_decline_stands_and_leaves_the_replacement_to_the_organizer_over_the_limit(app, limited, table_counts):
    """An automatic replacement refused for its memory is left to the organizer, as any refused replacement."""
    from web.services import invitations

    with app.app_context():
        round_ = get_round(limited)
        round_.auto_replace = True
        seat = panels.seats(round_, application("APP-001"))[0]
        seat.state = "invited"
        db.session.commit()
        assert invitations.decline(seat, "时间冲突", actor=None) is None
        db.session.commit()
        assert seat.state == "declined"
        assert db.session.scalar(select(Assignment).where(Assignment.replaces_id == seat.id)) is None


def test_a_run_counts_the_experts_once(app, matched):
    """check_matching and the memory check shared one COUNT of the experts' table (was two)."""
    app.config["PANEL_MATCHING_MEMORY"] = 64 << 30
    counts = []
    with app.app_context():
        def counted(_connection, _cursor, statement, *_args):
            if "count(expert.id)" in statement:
                counts.append(statement)

        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            panels.match(get_round(matched), actor=None, dry_run=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
    assert len(counts) == 1


@pytest.fixture
def contexts_alive(monkeypatch):
    """The most contexts of the round alive at once while a request runs: the estimate counts one."""
    alive, most = set(), [0]
    built = matching_bridge.round_context

    def counted(round_: Round):
        context = built(round_)
        alive.add(id(context))
        most[0] = max(most[0], len(alive))
        weakref.finalize(context, alive.discard, id(context))
        return context

    monkeypatch.setattr(matching_bridge, "round_context", counted)
    return most


@pytest.mark.parametrize("name", ["add", "remove", "swap", "replace", "invitations replace", "swap-in page",
                                  "swap-in"])
def test_every_page_and_button_holds_one_context_at_a_time(app, client, auth, csrf_token, matched, contexts_alive,
                                                           name):
    method, url, form = route_requests(app, matched)[name]
    auth.login("organizer")
    token = csrf_token(client.get(panel_url(app, matched)).get_data(as_text=True))
    response = client.post(url, data={**form, "csrf_token": token}) if method == "post" else client.get(url)
    assert response.status_code in (200, 302) and contexts_alive[0] == 1
