"""Calibration (DESIGN §7.1 step 4): the worked example, the disconnected design, complete designs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from scoring.calibrate import DisconnectedDesign, calibrate, components, lone_links
from scoring.pipeline import design_groups

APPLICATIONS = ["A", "B", "C", "D"]
EXPERTS = ["E1", "E2", "E3"]
# True values A 80, B 75, C 70, D 65; biases E1 +6, E2 0, E3 −6.
EXAMPLE = [("A", "E2", 80), ("A", "E3", 74), ("B", "E1", 81), ("B", "E2", 75),
           ("C", "E1", 76), ("C", "E3", 64), ("D", "E1", 71), ("D", "E2", 65)]


def indices(sheets):
    apps = np.array([APPLICATIONS.index(app) for app, _, _ in sheets])
    experts = np.array([EXPERTS.index(expert) for _, expert, _ in sheets])
    totals = np.array([total for _, _, total in sheets], dtype=float)
    return apps, experts, totals


def test_worked_example_recovers_values_and_biases_exactly():
    apps, experts, totals = indices(EXAMPLE)
    fit = calibrate(apps, experts, totals, np.ones(totals.size), APPLICATIONS, EXPERTS)
    assert fit.values == pytest.approx([80, 75, 70, 65], abs=1e-9)
    assert fit.biases == pytest.approx([6, 0, -6], abs=1e-9)
    assert fit.support.tolist() == [3, 3, 2]


def test_disconnected_design_is_refused_with_its_components():
    sheets = [("A", "E1", 80), ("B", "E1", 70), ("C", "E2", 75), ("C", "E3", 70), ("D", "E2", 60), ("D", "E3", 65)]
    apps, experts, totals = indices(sheets)
    with pytest.raises(DisconnectedDesign) as refused:
        calibrate(apps, experts, totals, np.ones(totals.size), APPLICATIONS, EXPERTS)
    assert refused.value.components == [(["A", "B"], ["E1"]), (["C", "D"], ["E2", "E3"])]
    assert "{A, B} × {E1}; {C, D} × {E2, E3}" in str(refused.value)


def problem(sheets, **extra_settings):
    return {"template": {"criteria": [{"id": "total", "max": 100, "step": 0.5}]},
            "sheets": [{"expert": expert, "application": app, "scores": {"total": total}}
                       for app, expert, total in sheets],
            "settings": {"calibrate": True, "bootstrap": 0, "min_panel": 3, "insufficient_below": 2,
                         **extra_settings}}


def test_pipeline_reports_calibrated_values_and_can_rank_on_them():
    raw = {line.application: line for line in scoring.rank(scoring.parse_problem(problem(EXAMPLE))).ranking}
    assert (raw["B"].score, raw["A"].score) == (78.0, 77.0)          # raw means put B above A
    assert [raw[key].calibrated for key in APPLICATIONS] == [80.0, 75.0, 70.0, 65.0]
    result = scoring.rank(scoring.parse_problem(problem(EXAMPLE, rank_on_calibrated=True)))
    assert [line.application for line in result.ranking] == ["A", "B", "C", "D"]
    assert [line.score for line in result.ranking] == [80.0, 75.0, 70.0, 65.0]
    assert "校准" in result.ranking[0].trace.computation
    experts = {expert.expert: expert for expert in result.experts}
    assert [experts[key].bias for key in EXPERTS] == [6.0, 0.0, -6.0]
    assert [flag.code for flag in experts["E3"].flags] == ["LOW_SUPPORT"]      # 2 sheets < 3
    assert experts["E1"].flags == ()


def test_pipeline_refuses_a_disconnected_design():
    sheets = [("A", "E1", 80), ("B", "E1", 70), ("C", "E2", 75), ("C", "E3", 70), ("D", "E2", 60), ("D", "E3", 65)]
    result = scoring.rank(scoring.parse_problem(problem(sheets)))
    assert result.ranking == () and len(result.errors) == 1
    assert "{A, B} × {E1}; {C, D} × {E2, E3}" in result.errors[0]
    assert design_groups(scoring.parse_problem(problem(sheets))) == ((("A", "B"), ("E1",)),
                                                                     (("C", "D"), ("E2", "E3")))
    linked = scoring.parse_problem(problem([*sheets, ("A", "E2", 78)]))
    assert design_groups(linked) == ((("A", "B", "C", "D"), ("E1", "E2", "E3")),)
    assert scoring.rank(linked).ok


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(2, 7), st.data())
def test_complete_design_calibrated_values_are_the_raw_means(n_apps, n_experts, data):
    totals = np.array(data.draw(st.lists(st.integers(0, 200), min_size=n_apps * n_experts,
                                         max_size=n_apps * n_experts)), dtype=float) / 2
    apps = np.repeat(np.arange(n_apps), n_experts)
    experts = np.tile(np.arange(n_experts), n_apps)
    fit = calibrate(apps, experts, totals, np.ones(totals.size), [f"P{i}" for i in range(n_apps)],
                    [f"E{i}" for i in range(n_experts)])
    assert fit.values == pytest.approx(totals.reshape(n_apps, n_experts).mean(axis=1), abs=1e-8)
    assert fit.biases.sum() == pytest.approx(0, abs=1e-8)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 8), st.integers(3, 10), st.data())
def test_noise_free_connected_designs_are_recovered_exactly(n_apps, n_experts, data):
    values = np.array(data.draw(st.lists(st.integers(100, 180), min_size=n_apps, max_size=n_apps))) / 2
    raw_bias = np.array(data.draw(st.lists(st.integers(-16, 16), min_size=n_experts, max_size=n_experts))) / 2
    bias = raw_bias - raw_bias.mean()
    # A chain through every expert keeps the design connected; random extra sheets make it irregular.
    pairs = {(e % n_apps, e) for e in range(n_experts)} | {((e + 1) % n_apps, e) for e in range(n_experts)}
    pairs |= {(a, 0) for a in range(n_apps)}
    pairs |= set(data.draw(st.lists(st.tuples(st.integers(0, n_apps - 1), st.integers(0, n_experts - 1)),
                                    max_size=20)))
    apps, experts = (np.array(side) for side in zip(*sorted(pairs), strict=True))
    weights = np.array(data.draw(st.lists(st.sampled_from([0.25, 0.5, 1.0]), min_size=apps.size,
                                          max_size=apps.size)))
    fit = calibrate(apps, experts, values[apps] + bias[experts], weights,
                    [f"P{i}" for i in range(n_apps)], [f"E{i}" for i in range(n_experts)])
    assert fit.values == pytest.approx(values, abs=1e-7)
    assert fit.biases == pytest.approx(bias, abs=1e-7)


def test_an_application_whose_sheets_are_all_excluded_has_no_calibrated_value():
    data = problem(EXAMPLE + [("X", "E1", 50)])
    data["excluded"] = [{"expert": "E1", "application": "X", "reason": "回避"}]
    lines = {line.application: line for line in scoring.rank(scoring.parse_problem(data)).ranking}
    assert lines["X"].calibrated is None and lines["X"].score is None
    assert lines["A"].calibrated == 80.0


def noisy_design(seed, n_apps=40, per_app=3, n_experts=12, bias_sd=4.0, noise_sd=3.0):
    """A connected incomplete design: each application scored by ``per_app`` consecutive experts (mod E)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(70, 8, n_apps)
    biases = rng.normal(0, bias_sd, n_experts)
    apps = np.repeat(np.arange(n_apps), per_app)
    experts = (apps + np.tile(np.arange(per_app), n_apps) * 5) % n_experts
    totals = values[apps] + biases[experts] + rng.normal(0, noise_sd, apps.size)
    return apps, experts, totals, biases


def test_shrunk_biases_are_closer_to_the_truth_than_least_squares():
    errors_raw, errors_shrunk = [], []
    for seed in range(20):
        apps, experts, totals, truth = noisy_design(seed, bias_sd=1.0, noise_sd=4.0)
        fit = calibrate(apps, experts, totals, np.ones(totals.size), [str(i) for i in range(40)],
                        [f"E{i}" for i in range(12)])
        centred = truth - truth.mean()
        errors_raw.append(np.mean((fit.raw_biases - centred) ** 2))
        errors_shrunk.append(np.mean((fit.biases - centred) ** 2))
        assert abs(fit.biases.sum()) < 1e-8                        # the gauge survives shrinkage
        assert np.sum(fit.biases**2) <= np.sum(fit.raw_biases**2) + 1e-9      # ridge never lengthens
    assert np.mean(errors_shrunk) < np.mean(errors_raw)


def test_the_variances_are_estimated_from_the_data():
    estimates = []
    for seed in range(30):
        apps, experts, totals, _ = noisy_design(seed, n_apps=120, bias_sd=4.0, noise_sd=3.0)
        fit = calibrate(apps, experts, totals, np.ones(totals.size), [str(i) for i in range(120)],
                        [f"E{i}" for i in range(12)])
        estimates.append((fit.noise_variance, fit.bias_variance))
    noise, spread = np.mean(estimates, axis=0)
    assert noise == pytest.approx(9.0, rel=0.15)
    assert spread == pytest.approx(16.0, rel=0.35)


def test_no_bias_beyond_noise_shrinks_every_bias_to_zero():
    apps, experts, totals, _ = noisy_design(3, bias_sd=0.0, noise_sd=3.0)
    fit = calibrate(apps, experts, totals, np.ones(totals.size), [str(i) for i in range(40)],
                    [f"E{i}" for i in range(12)])
    if fit.bias_variance == 0:
        assert np.all(fit.biases == 0) and np.any(fit.raw_biases != 0)
    else:
        assert np.abs(fit.biases).max() < np.abs(fit.raw_biases).max()


def test_pipeline_reports_the_variances_raw_and_applied_biases():
    sheets = EXAMPLE + [("A", "E1", 87), ("C", "E2", 71)]
    result = scoring.rank(scoring.parse_problem(problem(sheets)))
    summary = result.to_dict()["calibration"]
    assert summary["noise_variance"] > 0 and summary["bias_variance"] >= 0
    experts = {expert.expert: expert for expert in result.experts}
    assert all(abs(experts[key].bias) <= abs(experts[key].raw_bias) + 1e-9 for key in EXPERTS)
    assert experts["E1"].n == 4


def test_a_complete_design_is_said_to_gain_nothing_from_calibration():
    sheets = [(app, expert, 60 + 5 * i + j) for i, app in enumerate(APPLICATIONS)
              for j, expert in enumerate(EXPERTS)]
    summary = scoring.rank(scoring.parse_problem(problem(sheets))).calibration
    assert [flag.code for flag in summary.flags] == ["COMPLETE_DESIGN"]
    assert summary.flags[0].level == "info" and "校准" in summary.flags[0].message


def test_a_design_hanging_on_one_expert_is_warned():
    # E1 alone links {A, B} × {E1, E2} with {C, D} × {E1, E3}.
    sheets = [("A", "E1", 80), ("A", "E2", 78), ("B", "E1", 70), ("B", "E2", 69),
              ("C", "E1", 75), ("C", "E3", 70), ("D", "E1", 60), ("D", "E3", 58)]
    summary = scoring.rank(scoring.parse_problem(problem(sheets))).calibration
    assert [(flag.code, flag.expert, flag.level) for flag in summary.flags] == [("ONE_LINK", "E1", "act")]
    assert "E1" in summary.flags[0].message


def test_calibration_is_off_by_default():
    assert scoring.types.Settings().calibrate is False
    result = scoring.rank(scoring.parse_problem({**problem(EXAMPLE), "settings": {"bootstrap": 0}}))
    assert result.calibration is None and all(expert.bias is None for expert in result.experts)


def lone_links_by_definition(apps, experts, n_apps, n_experts):
    """The one-link experts as defined: remove each expert in turn and count the groups of experts left."""
    links = []
    for expert in np.unique(experts):
        keep = experts != expert
        groups = components(apps[keep], experts[keep], n_apps, n_experts)
        if sum(1 for _, group_experts in groups if group_experts.size) > 1:
            links.append(int(expert))
    return links


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 6)), min_size=1, max_size=30))
def test_one_link_experts_match_removing_each_expert_in_turn(pairs):
    apps = np.array([app for app, _ in pairs])
    experts = np.array([expert for _, expert in pairs])
    assert lone_links(apps, experts, 8, 7) == lone_links_by_definition(apps, experts, 8, 7)
