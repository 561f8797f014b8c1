"""python -m matching: JSON out, exit 0 done, 1 refused input (every error on stderr), 2 usage."""

import gc
import io
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings

import matching.__main__ as cli
from matching.__main__ import COMMANDS, main, write_json
from matching.conflicts import find_conflicts
from matching.problem import parse_problem
from tests.matching.conftest import application, expert, organization_cycle_problem, problem, problems


@pytest.fixture
def problem_file(tmp_path):
    data = problem([expert("E1", organization={"name": "上海A1科技有限公司"}), expert("E2")],
                   [application("A1", excluded_experts=["E2"])])
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run(*argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_conflicts_prints_every_conflict(problem_file):
    status, out, err = run("conflicts", str(problem_file))
    assert status == 0 and err == ""
    conflicts = json.loads(out)["conflicts"]
    assert [(c["expert"], c["rule"], c["kind"]) for c in conflicts] == [
        ("E1", "same-organization", "hard"), ("E2", "applicant-excluded", "soft")]


def listed_one_by_one(parsed) -> str:
    """What ``conflicts`` wrote when it made a ``Conflict`` per pair: their dicts dumped as one list, the
    reference the command's output is held to byte for byte."""
    return '{\n"conflicts": ' + json.dumps([c.to_dict() for c in find_conflicts(parsed)], ensure_ascii=False) + "\n}\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_conflicts_output_is_the_one_by_one_list_byte_for_byte(parsed):
    """The command's own writing (``write_json`` of its result) on random rounds where every hard rule fires."""
    out = io.StringIO()
    write_json(COMMANDS["conflicts"](parsed), out)
    assert out.getvalue() == listed_one_by_one(parsed)


def test_conflicts_with_quotes_newlines_and_soft_rules_are_written_as_before(tmp_path):
    """Reasons holding a quote, a backslash and a line break, several rules and pieces of evidence per pair, an
    expert without conflicts between two with, and both soft rules: the same bytes as the one-by-one list."""
    named = {"name": '上海"A1"科技有限公司'}
    experts = [expert("E1", organization=named,
                      declared=[{"kind": "collaboration", "organization": '上海"A1"科技有限公司',
                                 "note": "合作\n项目 \\ 二期"}]),
               expert("E2"), expert("E3", organization={"name": "上海A2科技有限公司"})]
    applications = [application("A1", bearer={"name": '上海"A1"科技有限公司', "legal_rep": {"name": "法人"}},
                                excluded_experts=["E2", "E3"]), application("A2")]
    data = problem(experts, applications, repeat_review_years=2)
    data["past_reviews"] = [{"expert": "E3", "bearer": {"name": "上海A2科技有限公司"}, "reviewed_on": "2019-10-01"}]
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    status, out, err = run("conflicts", str(path))
    parsed = parse_problem(data)
    assert status == 0 and err == "" and out == listed_one_by_one(parsed)
    rules = {(c["expert"], c["application"], c["rule"]) for c in json.loads(out)["conflicts"]}
    assert {("E1", "A1", "declared"), ("E2", "A1", "applicant-excluded"), ("E3", "A1", "applicant-excluded"),
            ("E3", "A2", "same-organization")} <= rules


class Recording(io.StringIO):
    """An output stream that keeps the length of every single write."""

    def __init__(self):
        super().__init__()
        self.lengths = []

    def write(self, text):
        self.lengths.append(len(text))
        return super().write(text)


def test_no_write_is_longer_than_the_chunk_the_system_takes_whole(monkeypatch):
    """Linux writes at most 2,147,479,552 bytes at once and Python's text stream drops the rest silently: a
    result value longer than that was cut off with exit status 0. Every write stays within WRITE_CHUNK."""
    monkeypatch.setattr(cli, "WRITE_CHUNK", 10)
    out = Recording()
    pieces = iter(['{"expert": "E1"}, {"expert": "E2"}', '{"expert": "E3"}'])
    cli.write_json({"conflicts": cli.JSONList(pieces), "note": "长" * 25}, out)
    assert max(out.lengths) <= 10
    assert json.loads(out.getvalue()) == {"conflicts": [{"expert": "E1"}, {"expert": "E2"}, {"expert": "E3"}],
                                          "note": "长" * 25}


def test_a_failing_conflict_search_writes_nothing(problem_file, monkeypatch):
    """The round-wide search (the conflict arrays, the command's largest memory) runs before the first byte is
    written: if it fails, standard output is empty rather than the opening of a list that never closes."""
    def out_of_memory(problem):
        raise MemoryError

    monkeypatch.setattr(cli, "conflict_arrays", out_of_memory)
    out = io.StringIO()
    with pytest.raises(MemoryError):
        main(["conflicts", str(problem_file)], stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""


def test_affinity_prints_every_pair_with_components(problem_file):
    status, out, _ = run("affinity", str(problem_file))
    result = json.loads(out)
    assert status == 0 and result["source"] == "computed"
    assert [(row["expert"], row["application"]) for row in result["affinity"]] == [("E1", "A1"), ("E2", "A1")]
    assert all(set(row) == {"expert", "application", "fit", "field_fit", "text_fit"} for row in result["affinity"])


def test_reads_standard_input(problem_file):
    status, out, _ = run("conflicts", "-", stdin=problem_file.read_text(encoding="utf-8"))
    assert status == 0 and json.loads(out)["conflicts"]


def test_refused_problem_exits_1_with_every_error(tmp_path):
    data = problem([expert("E1", pool="finance"), expert("E1")], [application("A1", field="space")])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    status, out, err = run("conflicts", str(path))
    assert status == 1 and out == ""
    lines = err.splitlines()
    assert "experts[0] (E1): pool: unknown pool 'finance' (one of economics, technology, industry, management, law)" in lines
    assert "experts[1] (E1): ref: duplicate ref 'E1'" in lines
    assert "applications[0] (A1): field: unknown field 'space'" in lines


def test_invalid_json_exits_1(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    status, _, err = run("affinity", str(path))
    assert status == 1 and "not valid JSON" in err


@pytest.mark.parametrize("argv", [[], ["conflicts"], ["solve", "x.json"], ["conflicts", "/no/such/file.json"]])
def test_usage_errors_exit_2(argv):
    assert run(*argv)[0] == 2


def test_module_entry_point_exit_codes(problem_file, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "matching", "conflicts", str(problem_file)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["conflicts"]
    usage = subprocess.run([sys.executable, "-m", "matching", "bogus"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_assign_calls_the_solver_pipeline(tmp_path):
    data = problem([expert("E1", organization={"name": "上海A1科技有限公司"}), expert("E2"), expert("E3")],
                   [application("A1", excluded_experts=["E2"])], panel_size=1, reserves=0)
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    status, out, err = run("assign", str(path))
    assert status == 0, err
    result = json.loads(out)
    assert result["status"] == "optimal"
    assert [(a["application"], [e["expert"] for e in a["experts"]]) for a in result["assignments"]] == [
        ("A1", ["E3"])]
    assert {c["rule"] for c in result["conflicts"]} == {"same-organization", "applicant-excluded"}


def test_assign_writes_one_key_a_line_and_times_the_writing_on_stderr(tmp_path):
    data = problem([expert("E1"), expert("E2")], [application("A1")], panel_size=1, reserves=0)
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    status, out, err = run("assign", str(path))
    result = json.loads(out)
    assert status == 0 and out.splitlines()[1:-1] == [
        f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"
        + ("," if key != list(result)[-1] else "") for key, value in result.items()]
    assert list(result["timing"]) == ["read", "parse", "imports", "conflicts", "fit", "instance", "reasons", "hash",
                                      "presolve", "solve", "report", "encode"]
    assert err.startswith("timing: write ") and err.endswith(" s\n")


def test_assign_with_a_draw_no_sample_of_which_can_be_repaired_exits_0_with_an_infeasible_result(tmp_path):
    """Such a draw used to end in a NoReplacement traceback; now the result says why there are no panels."""
    path = tmp_path / "problem.json"
    data = organization_cycle_problem(randomize={"max_probability": 0.5, "seed": 0})
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    status, out, err = run("assign", str(path))
    assert status == 0 and "Traceback" not in err
    result = json.loads(out)
    assert result["status"] == "infeasible" and result["assignments"] == []
    assert "同单位人数上限" in result["diagnostics"][0]


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    unit = {"name": "上海A1科技有限公司", "legal_rep": {"name": "法人"}}
    experts = [expert(f"E{n}", organization={"name": unit["name"]}) for n in range(300)]
    applications = [application(f"A{n}", bearer=unit) for n in range(40)]     # 12,000 conflicts: megabytes out
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(problem(experts, applications), ensure_ascii=False), encoding="utf-8")
    with subprocess.Popen([sys.executable, "-m", "matching", "conflicts", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as command:         # closes the pipes: no ResourceWarning
        assert command.stdout.read(20).startswith(b'{\n"conflicts": [')
        command.stdout.close()                  # as `| head -c 20` does
        assert command.wait(timeout=60) == cli.EXIT_CLOSED
        assert command.stderr.read() == b""


def test_a_caller_that_froze_its_heap_finds_it_still_frozen(problem_file):
    """``main`` freezes the heap for its command; in-process, it must not unfreeze what its caller had frozen (a
    server that freezes its start-up objects before forking keeps them out of the collector's passes)."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        status, _, err = run("conflicts", str(problem_file))
        assert status == 0, err
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
    status, _, err = run("conflicts", str(problem_file))
    assert status == 0 and gc.get_freeze_count() == 0
