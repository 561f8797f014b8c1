"""The ranking pages: who may see them, the table, the per-application trace, the options form, combining."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.test_ranking_service import (
    DESIGN_PANELS,
    build_design_round,
    build_round,
    get_round,
    sheet_of,
)
from web.extensions import db
from web.models import Application


@pytest.fixture
def round_id(app, make_application_record, make_expert_record):
    round_id = build_design_round(app, make_application_record, make_expert_record)
    with app.app_context():
        sheet_of(round_id, "P1", "E3").conflict_declared = True
        sheet_of(round_id, "P1", "E3").conflict_note = "与承担单位有合作项目"
        sheet_of(round_id, "P3", "E1").state = "draft"
        db.session.commit()
    return round_id


def application_id(app, ref: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.ref == ref))


@pytest.mark.parametrize("path", ["/rankings/", "/rankings/rounds/{id}", "/rankings/rounds/{id}/applications/{app}",
                                  "/rankings/combine", "/rankings/rounds/{id}/export.xlsx",
                                  "/rankings/rounds/{id}/blank.pdf"])
def test_staff_only(app, client, auth, round_id, path):
    url = path.format(id=round_id, app=application_id(app, "P1"))
    assert client.get(url).status_code == 302                      # anonymous → login
    auth.login("expert", expert_ref="E1")
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login("organizer")
    assert client.get(url, follow_redirects=True).status_code == 200
    auth.logout()
    auth.login("admin")
    assert client.get(url, follow_redirects=True).status_code == 200


def test_ranking_table(client, auth, round_id):
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    # E3's 79 on P1 is excluded (declared conflict): P1 = (82 + 85 + 84 + 88) / 4 = 84.75 moves above P5 (83.6)
    order = [html.index(f">{ref}</a>") for ref in ("P2", "P1", "P5", "P3", "P4")]
    assert order == sorted(order)
    assert "88.00" in html and "84.75" in html and "上海P2制造业创新中心" in html
    assert 'class="recommendation recommend"' in html and 'class="recommendation reject"' in html
    assert len(re.findall(r"\[\d+\.\d\d, \d+\.\d\d\]", html)) == 5          # a score interval per application
    assert "<span title=\"ROBUST\">总分异常：</span> 专家 E5 的总分 60" in html            # the 60 on P1 is flagged with its sentence
    actions, _, notes = html.partition('<details class="notes">')
    assert 'title="ROBUST"' in actions.split("<tbody>")[1]     # asking for action: shown in the row
    assert "条提示（仅供参考）</summary>" in html                    # information: behind a toggle, no script
    assert "仅供参考" not in re.sub(r"<details.*?</details>", "", html, flags=re.S)
    assert "进入前" not in html                                          # no P(top-k) column without k


def test_the_rule_is_stated_and_each_line_gives_its_reason(app, client, auth, round_id):
    from scoring.recommend import deciding_rule
    from web.services.ranking import rank_round

    with app.app_context():
        result = rank_round(get_round(round_id))
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}").get_data(as_text=True)
    assert "推荐意见的判定规则" in html and "区间下限 ≥ θ = 80。" in html and "满分的 60%" in html
    rows = {ref: row for row in html.split("<tr>")[2:] for ref in [re.search(r">(P\d)</a>", row).group(1)]}
    for line in result.ranking:
        low, high = (f"{value:.2f}" for value in line.interval)
        expected = {"LOW_REACHES": f"区间下限 {low} ≥ θ = 80。", "HIGH_BELOW": f"区间上限 {high} < θ = 80。",
                    "STRADDLES": f"区间下限 {low} < θ = 80 ≤ 区间上限 {high}"}[deciding_rule(line, result.settings)]
        assert expected in rows[line.application], line.application


def test_capacity_and_a_bad_capacity(client, auth, round_id):
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}?capacity=2").get_data(as_text=True)
    assert "进入前 2 名的概率" in html and 'class="recommendation reserve"' in html
    html = client.get(f"/rankings/rounds/{round_id}?capacity=zwei").get_data(as_text=True)
    assert "zwei" in html and 'role="alert"' in html and "进入前" not in html


def test_trace_shows_used_trimmed_excluded_not_counted_and_flags(app, client, auth, round_id):
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}/applications/{application_id(app, 'P1')}").get_data(as_text=True)
    assert '<tr class="excluded">' in html and "与承担单位有合作项目" in html          # E3 declared a conflict
    assert html.count('<tr class="trimmed">') == 2 and html.count('<tr class="used">') == 4
    assert "专家1" in html and "专家5" in html                                        # organizer sees names
    assert "ROBUST" in html and "DEVIATION" in html
    assert "去掉最低分 60（E5）和最高分 91（E4）" in html                             # the computation in words
    assert html.count('name="code" value="ROBUST"') == 1                             # one request button
    html = client.get(f"/rankings/rounds/{round_id}/applications/{application_id(app, 'P3')}").get_data(as_text=True)
    assert '<tr class="not_counted">' in html


def test_trace_with_calibration_shows_bias_and_calibrated_totals(app, client, auth, round_id):
    from web.services.ranking import Options, rank_round

    with app.app_context():
        result = rank_round(get_round(round_id), Options(calibrate=True))
    bias = {expert.expert: expert.bias for expert in result.experts}
    p2 = next(line for line in result.ranking if line.application == "P2")
    e5_total = DESIGN_PANELS["P2"][4]
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}/applications/{application_id(app, 'P2')}?calibrate=1"
                      ).get_data(as_text=True)
    assert f"{p2.calibrated:.2f}" in html
    assert f'<td class="num">{bias["E5"]:.2f}</td>' in html
    assert f'<td class="num">{e5_total - bias["E5"]:.2f}</td>' in html
    plain = client.get(f"/rankings/rounds/{round_id}/applications/{application_id(app, 'P2')}").get_data(as_text=True)
    assert f'<td class="num">{bias["E5"]:.2f}</td>' not in plain


def test_application_of_another_round_is_404(app, client, auth, round_id, make_application_record,
                                             make_expert_record):
    other = build_round(app, make_application_record, make_expert_record, {"Q1": [80, 81, 82]}, name="另一轮")
    auth.login("organizer")
    assert client.get(f"/rankings/rounds/{round_id}/applications/{application_id(app, 'Q1')}").status_code == 404
    assert client.get(f"/rankings/rounds/{other + 100}").status_code == 404


def test_combine_page(app, client, auth, round_id, make_application_record, make_expert_record):
    site = build_round(app, make_application_record, make_expert_record,
                       {ref: [total - 10 for total in totals] for ref, totals in DESIGN_PANELS.items()},
                       name="2020 现场考察", kind="site_inspection")
    auth.login("organizer")
    html = client.get(f"/rankings/combine?round={round_id}&round={site}").get_data(as_text=True)
    assert 'value="0.6"' in html and 'value="0.4"' in html
    assert "0.6 × 88.00 + 0.4 × 78.00 = 84.00" in html
    html = client.get(f"/rankings/combine?round={round_id}&round={site}&weight_{round_id}=0.7&weight_{site}=0.7"
                      ).get_data(as_text=True)
    assert "各轮权重之和为 1.4，须等于 1。" in html and "sum to 1" not in html


TOO_LARGE = "：本轮排名须先列出全部回避冲突及其原因，约需"


@pytest.mark.parametrize("weights, reason", [
    ("0.7, 0.7", "各轮权重之和为 1.4，须等于 1。"),
    ("-0.5, 1.5", "每项权重须为不小于 0 的有限数值。"),
    ("七, 0.4", "权重须为数字"),
])
def test_a_combination_with_wrong_weights_and_a_round_too_large_says_both_weights_first(
        app, client, auth, round_id, make_application_record, make_expert_record, table_counts, weights, reason):
    """Wrong weights (the person's own input, checked first) and a round too large to rank here: one answer
    lists every reason, each a catalog sentence, and nothing is ranked or stored."""
    site = build_round(app, make_application_record, make_expert_record, DESIGN_PANELS, name="2020 现场考察",
                       kind="site_inspection")
    first, second = weights.split(", ")
    auth.login("organizer")
    before = table_counts()
    app.config["PANEL_MATCHING_MEMORY"] = 100 << 20
    html = client.get(f"/rankings/combine?round={round_id}&round={site}&weight_{round_id}={first}"
                      f"&weight_{site}={second}").get_data(as_text=True)
    refusals = re.findall(r'<p class="flash error" role="alert">([^<]*)</p>', html)
    assert reason in refusals[0], refusals
    assert [name for name in ("2020 遴选评审", "2020 现场考察") for refusal in refusals[1:]
            if refusal.startswith(f"评审轮次“{name}”{TOO_LARGE}")] == ["2020 遴选评审", "2020 现场考察"]
    assert len(refusals) == 3 and 'class="ranking"' not in html
    assert table_counts() == before


@pytest.mark.parametrize("chosen, weights, reasons", [
    (1, ["七"], ["2020 遴选评审 的权重须为数字，而不是“七”。", "请至少选择两个评审轮次进行合并。"]),
    (2, ["七", "-0.5"], ["2020 遴选评审 的权重须为数字，而不是“七”。", "每项权重须为不小于 0 的有限数值。"]),
])
def test_a_weight_that_is_no_number_is_said_beside_every_other_reason(
        app, client, auth, round_id, make_application_record, make_expert_record, table_counts, chosen, weights,
        reasons):
    """A weight the page cannot read hides no other reason the page can tell: one round only, another weight
    negative. Nothing is ranked or stored."""
    site = build_round(app, make_application_record, make_expert_record, DESIGN_PANELS, name="2020 现场考察",
                       kind="site_inspection")
    query = "&".join(f"round={id_}&weight_{id_}={weight}" for id_, weight in zip((round_id, site)[:chosen], weights,
                                                                                   strict=True))
    auth.login("organizer")
    before = table_counts()
    html = client.get(f"/rankings/combine?{query}").get_data(as_text=True)
    assert re.findall(r'<p class="flash error" role="alert">([^<]*)</p>', html) == reasons
    assert 'class="ranking"' not in html and table_counts() == before


def test_english_pages_use_the_engines_english_sentences(app, client, auth, round_id):
    from markupsafe import escape

    from web.services.ranking import rank_round

    with app.app_context():
        p1 = next(line for line in rank_round(get_round(round_id)).ranking if line.application == "P1")
    robust = next(flag for flag in p1.flags if flag.code == "ROBUST" and flag.criterion is None)
    auth.login("organizer")
    html = client.get(f"/rankings/rounds/{round_id}?lang=en&capacity=2&calibrate=1").get_data(as_text=True)
    assert robust.message_en and str(escape(robust.message_en)) in html and robust.message not in html
    html = client.get(f"/rankings/rounds/{round_id}/applications/{application_id(app, 'P1')}?lang=en"
                      ).get_data(as_text=True)
    assert str(escape(p1.trace.computation_en)) in html and "Technical route, advancement and feasibility" in html
