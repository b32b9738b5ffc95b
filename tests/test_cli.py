import importlib.util
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from immunis.cli import app

REPO = Path(__file__).resolve().parents[1]
TODDLER = REPO / "src" / "immunis" / "examples" / "us-toddler.json"
CDC_DATA = REPO / "src" / "immunis" / "schedule" / "data" / "cdc-4.64"
CDC_TEST_CASES = Path(__file__).resolve().parents[2] / "shared" / "cdsi" / "testcases.jsonl"

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


def plain(text: str) -> str:
    """The text without colour codes, with Rich's line wrapping undone."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


def assert_clean_exit(result: Result, code: int) -> None:
    assert result.exit_code == code, result.output
    if code:
        assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def write_patient(folder: Path, **fields: object) -> Path:
    path = folder / "patient.json"
    path.write_text(json.dumps({"birth_date": "2024-09-06", **fields}), encoding="utf-8")
    return path


def groups_by_name(forecast_json: str) -> dict[str, dict]:
    answer = json.loads(forecast_json)
    return {group["vaccine_group"]: group for group in answer["vaccine_groups"]}


def test_forecast_json_for_the_toddler_example():
    result = run("forecast", TODDLER, "--date", "2025-11-24", "--format", "json")

    assert_clean_exit(result, 0)
    answer = json.loads(result.stdout)
    assert answer["schedule"] == "us-acip"
    assert answer["assessment_date"] == "2025-11-24"
    groups = groups_by_name(result.stdout)
    assert groups["HepB"]["status"] == "Complete"
    assert groups["HepB"]["next_dose"] is None
    assert groups["DTaP/Tdap/Td"]["status"] == "Not complete"
    assert groups["DTaP/Tdap/Td"]["next_dose"]["dose_number"] == 4
    assert [d["date"] for d in groups["DTaP/Tdap/Td"]["doses"]] == [
        "2024-11-08",
        "2025-01-10",
        "2025-03-12",
    ]


def test_forecast_text_for_the_toddler_example_shows_both_tables():
    result = run("forecast", TODDLER, "--date", "2025-11-24")

    assert_clean_exit(result, 0)
    text = plain(result.stdout)
    assert "Forecast on 2025-11-24" in text
    assert re.search(r"HepB \S+ Complete", text)
    assert re.search(r"DTaP/Tdap/Td \S+ Not complete \S+ 4 ", text)
    assert "Doses" in text
    assert "DTaP-Hep B-IPV" in text


def test_forecast_uses_the_assessment_date_in_the_file(tmp_path: Path):
    patient = write_patient(tmp_path, assessment_date="2025-01-01")

    result = run("forecast", patient, "--format", "json")

    assert_clean_exit(result, 0)
    assert json.loads(result.stdout)["assessment_date"] == "2025-01-01"


def test_date_option_overrides_the_assessment_date_in_the_file(tmp_path: Path):
    patient = write_patient(tmp_path, assessment_date="2025-01-01")

    result = run("forecast", patient, "--date", "2025-06-30", "--format", "json")

    assert_clean_exit(result, 0)
    assert json.loads(result.stdout)["assessment_date"] == "2025-06-30"


@pytest.mark.parametrize("schedule", ["vn", "who"])
def test_forecast_runs_on_the_project_schedules(schedule: str):
    result = run(
        "forecast", TODDLER, "--schedule", schedule, "--date", "2025-11-24", "--format", "json"
    )

    assert_clean_exit(result, 0)
    assert json.loads(result.stdout)["schedule"] == schedule


def test_unknown_schedule_exits_2_and_lists_the_shipped_ones():
    result = run("forecast", TODDLER, "--schedule", "nope")

    assert_clean_exit(result, 2)
    message = plain(result.stderr)
    assert "unknown schedule 'nope'" in message
    assert "us-acip" in message
    assert result.stdout == ""


def test_impossible_date_exits_2_naming_the_option():
    result = run("forecast", TODDLER, "--date", "2025-02-30")

    assert_clean_exit(result, 2)
    assert "--date: '2025-02-30' is not a date" in plain(result.stderr)


def test_text_that_looks_like_rich_markup_is_shown_as_typed():
    result = run("forecast", TODDLER, "--schedule", "[/x]")

    assert_clean_exit(result, 2)
    assert "unknown schedule '[/x]'" in plain(result.stderr)


def test_bad_patient_file_exits_2_naming_the_field(tmp_path: Path):
    patient = write_patient(tmp_path, doses=[{"date": "2025-01-01", "cvx": "1 10"}])

    result = run("forecast", patient)

    assert_clean_exit(result, 2)
    message = plain(result.stderr)
    assert "error:" in message
    assert "doses.0.cvx" in message
    assert result.stdout == ""


def test_patient_file_that_is_not_utf8_exits_2(tmp_path: Path):
    patient = tmp_path / "patient.json"
    patient.write_bytes(b'{"birth_date": "\x80"}')

    result = run("forecast", patient)

    assert_clean_exit(result, 2)
    assert "not UTF-8" in plain(result.stderr)


def test_missing_patient_file_exits_2(tmp_path: Path):
    result = run("forecast", tmp_path / "nobody.json")

    assert_clean_exit(result, 2)
    assert "nobody.json" in plain(result.stderr)


def test_unknown_cvx_is_listed_as_not_evaluated(tmp_path: Path):
    patient = write_patient(
        tmp_path, doses=[{"date": "2024-09-07", "cvx": "08"}, {"date": "2024-11-08", "cvx": "9999"}]
    )

    as_json = run("forecast", patient, "--date", "2025-11-24", "--format", "json")
    as_text = run("forecast", patient, "--date", "2025-11-24")

    assert_clean_exit(as_json, 0)
    assert json.loads(as_json.stdout)["unknown_vaccines"] == ["9999"]
    evaluated = [d["cvx"] for g in groups_by_name(as_json.stdout).values() for d in g["doses"]]
    assert "9999" not in evaluated
    assert "08" in evaluated
    assert_clean_exit(as_text, 0)
    assert "Not evaluated, CVX unknown to this schedule: 9999" in plain(as_text.stdout)


def test_dose_after_the_assessment_date_is_left_out(tmp_path: Path):
    patient = write_patient(
        tmp_path,
        doses=[{"date": "2024-09-07", "cvx": "08"}, {"date": "2025-12-01", "cvx": "08"}],
    )

    result = run("forecast", patient, "--date", "2025-11-24", "--format", "json")

    assert_clean_exit(result, 0)
    groups = groups_by_name(result.stdout)
    all_dates = [d["date"] for g in groups.values() for d in g["doses"]]
    assert "2025-12-01" not in all_dates
    assert [d["date"] for d in groups["HepB"]["doses"]] == ["2024-09-07"]


def three_cdc_cases() -> list[str]:
    """The first case of each of the first three vaccine groups in CDC's test cases."""
    if not CDC_TEST_CASES.exists():
        pytest.skip(f"CDC test cases not found at {CDC_TEST_CASES}")
    chosen: dict[str, str] = {}
    with CDC_TEST_CASES.open(encoding="utf-8") as lines:
        for line in lines:
            group = json.loads(line)["vaccine_group_name"]
            chosen.setdefault(group, line.strip())
            if len(chosen) == 3:
                break
    return list(chosen.values())


def test_conformance_json_summary_is_the_last_stdout_line(tmp_path: Path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(three_cdc_cases()) + "\n", encoding="utf-8")

    result = run("conformance", cases, "--json")

    assert "Traceback" not in result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["total"] == 3
    assert len(summary["by_group"]) == 3
    assert sum(counts["total"] for counts in summary["by_group"].values()) == 3
    assert result.exit_code == (0 if summary["passed"] == 3 else 1)


def test_conformance_file_with_a_broken_line_exits_2_naming_the_line(tmp_path: Path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(three_cdc_cases()[0] + '\n{"id": "2013-0002", \n', encoding="utf-8")

    result = run("conformance", cases)

    assert_clean_exit(result, 2)
    assert ":2: not JSON" in plain(result.stderr)


def test_conformance_line_that_is_not_a_test_case_exits_2(tmp_path: Path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "x"}\n', encoding="utf-8")

    result = run("conformance", cases)

    assert_clean_exit(result, 2)
    message = plain(result.stderr)
    assert "case 1 is not a CDSi test case" in message
    assert "date_of_birth" in message


def test_conformance_on_a_missing_file_exits_2(tmp_path: Path):
    result = run("conformance", tmp_path / "none.jsonl")

    assert_clean_exit(result, 2)
    assert "none.jsonl" in plain(result.stderr)


def test_schedule_list_shows_every_shipped_schedule():
    result = run("schedule", "list")

    assert_clean_exit(result, 0)
    text = plain(result.stdout)
    assert re.search(r"us-acip \S+ US ACIP", text)
    assert "4.64" in text
    assert "vn" in text
    assert "who" in text


def test_schedule_convert_writes_the_project_yaml_format(tmp_path: Path):
    if importlib.util.find_spec("immunis.schedule.convert") is None:
        pytest.skip("immunis.schedule.convert is not there yet")
    out = tmp_path / "us-acip.yaml"

    result = run("schedule", "convert", CDC_DATA, "-o", out)

    assert_clean_exit(result, 0)
    assert out.read_text(encoding="utf-8").startswith("format:")
    assert "wrote" in plain(result.stderr)


def test_schedule_convert_of_a_folder_without_cdc_data_exits_2(tmp_path: Path):
    if importlib.util.find_spec("immunis.schedule.convert") is None:
        pytest.skip("immunis.schedule.convert is not there yet")

    result = run("schedule", "convert", tmp_path)

    assert_clean_exit(result, 2)
    assert "ScheduleSupportingData.xml" in plain(result.stderr)
