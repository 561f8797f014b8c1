"""Fit: taxonomy (same field > same sector > other) blended with char n-gram text similarity; affinity override."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.affinity import SECTOR_FIT, compute_fit, field_similarity, fit_components, text_similarity
from matching.problem import parse_problem
from matching.text_model import TextModel
from tests.matching.conftest import application, expert, problem, problems

PROFILE = "集成电路设计 芯片封装测试"


def fit_of(experts, applications, **settings_):
    return compute_fit(parse_problem(problem(experts, applications, **settings_)))


def test_technology_expert_same_field_beats_same_sector_beats_other_with_equal_text():
    experts = [expert("E1", fields=["ICT-IC"], profile=PROFILE), expert("E2", fields=["ICT-5G"], profile=PROFILE),
               expert("E3", fields=["BIO-MD"], profile=PROFILE)]
    matrix = fit_of(experts, [application("A1", field="ICT-IC")])
    assert matrix.field_fit[:, 0].tolist() == [1.0, SECTOR_FIT, 0.0]
    assert len(set(matrix.text_fit[:, 0].round(12))) == 1
    assert matrix.fit[0, 0] > matrix.fit[1, 0] > matrix.fit[2, 0]
    np.testing.assert_allclose(matrix.fit, 0.6 * matrix.field_fit + 0.4 * matrix.text_fit)


def test_general_pools_are_fitted_on_sector_experience_and_text():
    experts = [expert("E1", pool="law", fields=["ICT-5G"], profile=PROFILE),
               expert("E2", pool="economics", fields=[], profile=PROFILE),
               expert("E3", pool="management", fields=["BIO-PH"], profile=PROFILE)]
    matrix = fit_of(experts, [application("A1", field="ICT-IC")])
    assert matrix.field_fit[:, 0].tolist() == [1.0, 0.0, 0.0]


def test_text_fit_prefers_the_matching_profile():
    experts = [expert("E1", fields=[], profile="燃气轮机 叶片 高温合金 燃烧室"),
               expert("E2", fields=[], profile="医疗器械 影像 临床试验")]
    applications = [application("A1", field="EQP-GT", construction_content="重型燃气轮机燃烧室与高温合金叶片"),
                    application("A2", field="BIO-MD", construction_content="高端医学影像设备临床转化")]
    text = fit_of(experts, applications).text_fit
    assert text[0, 0] > text[0, 1] and text[1, 1] > text[1, 0]


def test_weights_come_from_settings():
    experts = [expert("E1", fields=["ICT-IC"], profile=PROFILE)]
    matrix = fit_of(experts, [application("A1", field="ICT-IC")], weights={"field": 1, "text": 0})
    assert matrix.fit[0, 0] == 1.0


def test_affinity_list_replaces_the_fit_and_missing_pairs_are_zero():
    data = problem([expert("E1"), expert("E2")], [application("A1"), application("A2")])
    data["affinity"] = [{"expert": "E2", "application": "A1", "score": 0.83}]
    matrix = compute_fit(parse_problem(data))
    assert matrix.given and matrix.field_fit is None and matrix.text_fit is None
    assert matrix.fit.tolist() == [[0.0, 0.0], [0.83, 0.0]]
    rows = fit_components(matrix)
    assert rows[2] == {"expert": "E2", "application": "A1", "fit": 0.83, "field_fit": None, "text_fit": None}


def test_empty_texts_give_zero_similarity():
    assert text_similarity(["", ""], ["abc"]).tolist() == [[0.0], [0.0]]
    assert text_similarity(["  "], ["  "]).tolist() == [[0.0]]


def test_identical_texts_are_fully_similar_and_width_does_not_matter():
    similarity = text_similarity(["ＡＩ芯片设计"], ["ai芯片设计", "燃气轮机"])
    assert similarity[0, 0] > 0.999 and similarity[0, 1] < 0.2


@settings(max_examples=40, deadline=None)
@given(problems(max_experts=10, max_applications=4))
def test_fit_and_components_are_in_unit_interval(parsed):
    matrix = compute_fit(parsed)
    shape = (len(parsed.experts), len(parsed.applications))
    for values in (matrix.fit, matrix.field_fit, matrix.text_fit):
        assert values.shape == shape and np.all((values >= 0) & (values <= 1)) and np.isfinite(values).all()
    assert matrix.experts == tuple(e.ref for e in parsed.experts)


@settings(max_examples=40, deadline=None)
@given(problems(max_experts=10, max_applications=4), st.integers(1, 12))
def test_fit_in_blocks_equals_the_whole_matrices_and_each_pair_alone(parsed, block):
    """Blocks of any width (down to one pair), whole component matrices and one pair at a time agree with the
    fit written as one matrix product of the plain formulas."""
    matrix = compute_fit(parsed, block=block)
    field = field_similarity(parsed.experts, parsed.applications)
    text = text_similarity([e.profile for e in parsed.experts], [a.text for a in parsed.applications])
    weights = parsed.settings.weights
    assert matrix.fit.dtype == np.float32
    np.testing.assert_allclose(matrix.fit, np.clip(weights.field * field + weights.text * text, 0, 1), atol=1e-6)
    np.testing.assert_array_equal(matrix.field_fit, field)
    np.testing.assert_allclose(matrix.text_fit, text, atol=1e-6)
    experts, apps = np.nonzero(np.ones(matrix.fit.shape, dtype=bool))
    pair_field, pair_text = matrix.components(experts, apps)
    np.testing.assert_array_equal(pair_field, field[experts, apps])
    np.testing.assert_allclose(pair_text, text[experts, apps], atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=5),
       st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=5))
def test_text_similarity_is_symmetric_and_bounded(left, right):
    forward = text_similarity(left, right)
    backward = text_similarity(right, left)
    np.testing.assert_allclose(forward, backward.T, atol=1e-6)
    assert np.all((forward >= 0) & (forward <= 1))


def test_mixed_terms_are_chinese_ngrams_and_latin_words():
    from matching.text_model import mixed_terms

    assert mixed_terms("基于ＣＭＯＳ的5G芯片，Lyapunov", (1, 2)) == [
        "基", "于", "基于", "的", "芯", "片", "芯片", "cmos", "5g", "lyapunov"]


def test_english_words_match_as_words_not_letters():
    similarity = text_similarity(["reviewer assignment"], ["assignment of reviewers", "sonar signal noise"])
    assert similarity[0, 0] > similarity[0, 1] == 0.0


def test_each_paragraph_of_a_profile_counts_once_however_long():
    # Two paragraphs with no term in common: the profile is the centroid of their unit vectors, so an
    # application that is exactly either paragraph scores 1/√2, even when the other paragraph is much longer.
    turbines = "重型燃气轮机叶片高温合金燃烧室设计与试验验证平台建设，" * 6
    imaging = "医学影像"
    similarity = text_similarity([f"{turbines}\n\n{imaging}"], [turbines, imaging, "软件"])
    np.testing.assert_allclose(similarity[0, :2], [2 ** -0.5, 2 ** -0.5], atol=1e-6)
    assert similarity[0, 2] == 0.0


def test_a_single_line_break_does_not_split_a_paragraph():
    profile = "燃气轮机\n医学影像"
    centroid = text_similarity([profile], ["燃气轮机"])
    whole = text_similarity([profile], ["燃气轮机"], profile="whole")
    np.testing.assert_allclose(centroid, whole)


def test_a_model_fitted_once_scores_any_block_as_the_whole_round_does():
    experts = ["集成电路设计\n\n芯片封装测试", "燃气轮机叶片", "", "reviewer assignment 5G"]
    applications = ["芯片设计平台", "燃气轮机燃烧室", "5G基站芯片"]
    model = TextModel.fit([*experts, *applications])
    whole_round = text_similarity(experts, applications)
    block = (model.vectors(experts[1:3]) @ model.vectors(applications[1:]).T).toarray()
    np.testing.assert_allclose(block, whole_round[1:3, 1:], atol=1e-6)


def test_an_unknown_profile_mode_is_refused():
    with pytest.raises(ValueError, match="centroid"):
        TextModel.fit(["芯片"], profile="sum")
