import json
import re
from datetime import date
from pathlib import Path

import pytest

from immunis.forecast import DoseCondition, Gender
from immunis.patient_file import PatientFileError, parse_patient, read_patient

BIRTH = "2025-01-15"


def patient_json(**fields: object) -> str:
    return json.dumps({"birth_date": BIRTH, **fields})


def dose(**fields: object) -> dict[str, object]:
    return {"date": "2025-03-15", "cvx": "08", **fields}


def test_full_file_gives_patient_doses_and_assessment_date():
    text = json.dumps(
        {
            "birth_date": BIRTH,
            "gender": "F",
            "observations": [{"code": "055", "start_date": "2025-02-01"}],
            "doses": [
                {"date": "2025-03-15", "cvx": "198", "mvx": "SII", "volume_ml": 0.5},
                {"date": "2025-04-15", "cvx": " 08 ", "condition": "Expired", "id": "lot-7"},
            ],
            "assessment_date": "2025-11-24",
        }
    )

    patient, doses, assessment = parse_patient(text)

    assert patient.birth_date == date(2025, 1, 15)
    assert patient.gender is Gender.FEMALE
    assert [(o.code, o.start_date, o.end_date) for o in patient.observations] == [
        ("055", date(2025, 2, 1), None)
    ]
    assert assessment == date(2025, 11, 24)
    first, second = doses
    assert (first.date_administered, first.cvx, first.mvx, first.volume_ml) == (
        date(2025, 3, 15),
        "198",
        "SII",
        0.5,
    )
    assert second.cvx == "08"
    assert second.condition is DoseCondition.EXPIRED


def test_doses_without_id_are_numbered_from_one_in_file_order():
    _, doses, _ = parse_patient(patient_json(doses=[dose(), dose(id="x"), dose()]))

    assert [d.id for d in doses] == ["1", "x", "3"]


@pytest.mark.parametrize(
    ("gender", "expected"),
    [("F", Gender.FEMALE), ("M", Gender.MALE), ("male", Gender.MALE), ("U", Gender.UNKNOWN)],
)
def test_gender_letters_and_words_are_read(gender: str, expected: Gender):
    patient, _, _ = parse_patient(patient_json(gender=gender))

    assert patient.gender is expected


def test_minimal_file_has_unknown_gender_no_doses_and_no_assessment_date():
    patient, doses, assessment = parse_patient(patient_json())

    assert patient.gender is Gender.UNKNOWN
    assert patient.observations == ()
    assert doses == ()
    assert assessment is None


def test_bytes_with_a_byte_order_mark_are_read():
    patient, _, _ = parse_patient(b"\xef\xbb\xbf" + patient_json().encode())

    assert patient.birth_date == date(2025, 1, 15)


def test_read_patient_reads_a_file(tmp_path: Path):
    path = tmp_path / "patient.json"
    path.write_text(patient_json(doses=[dose()]), encoding="utf-8")

    _, doses, _ = read_patient(path)

    assert [d.cvx for d in doses] == ["08"]


BAD_FILES = {
    "not JSON": ("{birth_date: 2025-01-15", "not JSON"),
    "not UTF-8": (b'{"birth_date": "\x80"}', "not UTF-8"),
    "a JSON list": (json.dumps([{"birth_date": BIRTH}]), "JSON object"),
    "a JSON string": (json.dumps(BIRTH), "JSON object"),
    "no birth date": (json.dumps({"doses": []}), "birth_date"),
    "month 13": (json.dumps({"birth_date": "2025-13-01"}), "birth_date"),
    "a word for a date": (json.dumps({"birth_date": "yesterday"}), "birth_date"),
    "a number for a date": (json.dumps({"birth_date": 20250101}), "birth_date"),
    "zero for a date": (json.dumps({"birth_date": 0}), "birth_date"),
    "a number for a dose date": (patient_json(doses=[dose(date=1740000000)]), "doses.0.date"),
    "a time of day in a date": (json.dumps({"birth_date": "2025-01-15T10:30:00"}), "birth_date"),
    "unknown top-level key": (patient_json(name="Lan"), "name"),
    "unknown dose key": (patient_json(doses=[dose(lot="A1")]), "doses.0.lot"),
    "doses not a list": (patient_json(doses={"cvx": "08"}), "doses"),
    "dose without date": (patient_json(doses=[{"cvx": "08"}]), "doses.0.date"),
    "dose without cvx": (patient_json(doses=[{"date": "2025-03-15"}]), "doses.0.cvx"),
    "empty cvx": (patient_json(doses=[dose(cvx="")]), "doses.0.cvx"),
    "blank cvx": (patient_json(doses=[dose(cvx="   ")]), "doses.0.cvx"),
    "cvx with a space inside": (patient_json(doses=[dose(), dose(cvx="1 10")]), "doses.1.cvx"),
    "cvx with a symbol": (patient_json(doses=[dose(cvx="08;")]), "doses.0.cvx"),
    "cvx as a number": (patient_json(doses=[dose(cvx=8)]), "doses.0.cvx"),
    "dose before birth": (patient_json(doses=[dose(date="2025-01-14")]), "doses.0.date"),
    "assessment before birth": (patient_json(assessment_date="2024-12-31"), "assessment_date"),
    "negative volume": (patient_json(doses=[dose(volume_ml=-0.5)]), "doses.0.volume_ml"),
    "zero volume": (patient_json(doses=[dose(volume_ml=0)]), "doses.0.volume_ml"),
    "true as a volume": (patient_json(doses=[dose(volume_ml=True)]), "doses.0.volume_ml"),
    "unknown dose condition": (patient_json(doses=[dose(condition="Broken")]), "doses.0.condition"),
    "observation without code": (
        patient_json(observations=[{"start_date": "2025-02-01"}]),
        "observations.0.code",
    ),
    "observation with empty code": (
        patient_json(observations=[{"code": ""}]),
        "observations.0.code",
    ),
    "unknown gender": (patient_json(gender="Frog"), "gender"),
    "gender as a number": (patient_json(gender=1), "gender"),
}


@pytest.mark.parametrize(("text", "field"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_input_is_rejected_naming_the_field(text: str | bytes, field: str):
    with pytest.raises(PatientFileError) as raised:
        parse_patient(text)

    assert field in str(raised.value)


def test_dose_before_birth_message_gives_both_dates():
    with pytest.raises(PatientFileError, match="2025-01-14 is before the birth date 2025-01-15"):
        parse_patient(patient_json(doses=[dose(date="2025-01-14")]))


def test_every_problem_in_a_file_is_reported_at_once():
    text = patient_json(name="Lan", doses=[dose(cvx="", volume_ml=-1)])

    with pytest.raises(PatientFileError) as raised:
        parse_patient(text)

    message = str(raised.value)
    assert "name" in message
    assert "doses.0.cvx" in message
    assert "doses.0.volume_ml" in message


def test_missing_file_is_a_patient_file_error_naming_the_path(tmp_path: Path):
    missing = tmp_path / "nobody.json"

    with pytest.raises(PatientFileError, match=re.escape("nobody.json")):
        read_patient(missing)


def test_a_folder_instead_of_a_file_is_a_patient_file_error(tmp_path: Path):
    with pytest.raises(PatientFileError, match=re.escape(str(tmp_path))):
        read_patient(tmp_path)
