"""Guidance per criterion: organizers edit it (validated, audited, refused whole), experts read it on the sheet."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.web.test_sheets_fixtures import world_fixture  # noqa: F401  (the world fixture)
from web.extensions import db
from web.models import AuditEvent
from web.services import guidance, sheets
from web.services.guidance import MAX_LENGTH, GuidanceError


def guidance_texts(world) -> dict[str, str]:
    return {criterion.code: criterion.guidance for criterion in world.round().template.criteria}


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "round.criterion_guidance"))


def test_guidance_is_saved_trimmed_and_audited_once_per_change(app, world):
    with app.app_context():
        first, second = world.round().template.criteria[:2]
        old = first.guidance
        changed = guidance.update_guidance(world.round(), {first.id: "  需求是否真实、迫切。 ", second.id: second.guidance},
                                           actor=None)
        assert changed == 1 and first.guidance == "需求是否真实、迫切。"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.criterion_guidance"))
        assert (event.entity_id, event.before, event.after) == (
            str(first.id), {"guidance": old}, {"guidance": "需求是否真实、迫切。"})
        assert guidance.update_guidance(world.round(), {first.id: "需求是否真实、迫切。"}, actor=None) == 0
        assert audit_count() == 1


def test_every_refused_text_is_listed_and_nothing_changes(app, world):
    with app.app_context():
        first, second = world.round().template.criteria[:2]
        before = guidance_texts(world)
        with pytest.raises(GuidanceError) as refused:
            guidance.update_guidance(world.round(), {first.id: "长" * (MAX_LENGTH + 1), second.id: "好\x00",
                                                     first.id + 10_000: "x"}, actor=None)
        assert len(refused.value.errors) == 3
        assert any(str(MAX_LENGTH + 1) in error and first.name in error for error in refused.value.errors)
        db.session.expire_all()
        assert guidance_texts(world) == before and audit_count() == 0


def test_a_closed_round_keeps_its_guidance(app, world):
    with app.app_context():
        world.round().state = "closed"
        criterion = world.round().template.criteria[0]
        with pytest.raises(GuidanceError, match="该评审轮次已结束"):
            guidance.update_guidance(world.round(), {criterion.id: "新说明"}, actor=None)
        assert audit_count() == 0


def guidance_form(client, csrf_token, round_id, texts: dict[int, str]):
    page = client.get(f"/rounds/{round_id}/guidance?lang=zh_Hans_CN")
    data = {"csrf_token": csrf_token(page.get_data(as_text=True))}
    data.update({f"guidance_{key}": text for key, text in texts.items()})
    return client.post(f"/rounds/{round_id}/guidance", data=data)


def test_a_too_long_guidance_is_refused_in_chinese_and_nothing_changes(client, auth, world, app, csrf_token,
                                                                       table_counts):
    auth.login(username="organizer")
    with app.app_context():
        criterion = world.round().template.criteria[0]
        criterion_id, name, old = criterion.id, criterion.name, criterion.guidance
    before = table_counts()
    response = guidance_form(client, csrf_token, world.round_id, {criterion_id: "长" * (MAX_LENGTH + 1)})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"{name}：评分说明共 {MAX_LENGTH + 1} 个字符，最多允许 {MAX_LENGTH} 个。" in page
    assert table_counts() == before
    with app.app_context():
        assert db.session.get(type(world.round().template.criteria[0]), criterion_id).guidance == old


def test_the_organizers_guidance_shows_under_its_criterion_on_the_sheet(client, auth, world, app, csrf_token):
    auth.login(username="organizer")
    with app.app_context():
        criterion = world.round().template.criteria[0]
        criterion_id, code = criterion.id, criterion.code
    response = guidance_form(client, csrf_token, world.round_id, {criterion_id: "看需求是否来自产业一线。"})
    assert response.status_code == 302
    with app.app_context():
        sheets.declare(world.seat("EXP-A", "APP-001"), conflict=False, reason=None, actor=None)
        db.session.commit()
        seat = world.seat("EXP-A", "APP-001").id
    auth.logout()
    auth.login(username="expert_a")
    page = client.get(f"/expert/seats/{seat}/sheet").get_data(as_text=True)
    item = page[page.index(f'for="score-{code}"'):page.index(f'name="score-{code}"')]
    assert "看需求是否来自产业一线。" in item
