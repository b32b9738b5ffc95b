"""Twelve children born in 2024 (and one in 2023), with doses listed one by one, so that every
coverage figure in the tests can be counted by hand. Assessed on 2025-12-31, when every 2024
child has turned one.

CVX: 19 BCG, 08 hepatitis B (spelled with its leading zero, as some systems send it),
198 DTP-HepB-Hib, 178 bOPV, 10 IPV, 05 measles, 04 measles-rubella.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from immunis.analytics.inputs import IMMUNIZATIONS_SCHEMA, PERSONS_SCHEMA

AS_OF = date(2025, 12, 31)

# label: (birth date, province, district, commune)
CHILDREN = {
    "A": (date(2024, 1, 15), "01", "001", "00001"),
    "B": (date(2024, 1, 15), "01", "001", "00001"),
    "C": (date(2024, 1, 15), "01", "001", "00004"),
    "D": (date(2024, 1, 15), "01", "001", "00004"),
    "E": (date(2024, 1, 15), "01", "001", "00004"),
    "F": (date(2024, 3, 31), "01", "002", "00037"),
    "G": (date(2024, 6, 10), "01", "002", "00037"),
    "H": (date(2024, 12, 20), "01", "002", "00037"),
    "I": (date(2024, 2, 1), "79", "760", "26734"),
    "J": (date(2024, 2, 1), "79", "760", "26734"),
    "K": (date(2024, 2, 1), "79", "760", "26734"),
    "X": (date(2024, 5, 5), "79", "761", "26740"),
    "L": (date(2023, 6, 1), "79", "761", "26740"),  # another cohort
}

# Laid out for counting by hand rather than by the formatter.
# fmt: off
DOSES = {
    # All on time: BCG and HepB at birth, three DTP and OPV, IPV, MCV1 at 9, MCV2 at 18 months.
    "A": [
        ("2024-01-15", "19"), ("2024-01-15", "08"),
        ("2024-03-15", "198"), ("2024-04-15", "198"), ("2024-05-15", "198"),
        ("2024-03-15", "178"), ("2024-04-15", "178"), ("2024-05-15", "178"),
        ("2024-06-15", "10"), ("2024-10-15", "05"), ("2025-07-15", "04"),
    ],
    # HepB on day 2 (not a birth dose); DTP3 late; no MCV2.
    "B": [
        ("2024-01-16", "19"), ("2024-01-17", "08"),
        ("2024-03-15", "198"), ("2024-04-15", "198"), ("2024-07-01", "198"),
        ("2024-10-15", "05"),
    ],
    # HepB the day after birth (a birth dose); two DTP only; no measles.
    "C": [("2024-01-16", "08"), ("2024-03-15", "198"), ("2024-04-15", "198")],
    # Nothing at all: zero-dose.
    "D": [],
    # First DTP after the first birthday: vaccinated, yet a zero-dose child; MCV1 late.
    "E": [("2025-02-01", "198"), ("2025-02-01", "05")],
    # Born on 31 March: 3 months old on 1 July by the CDSi rule (30 June + 1), so DTP1 is on
    # time; DTP3 a day after 5 months (31 August) is late. MCV1 on the last timely day.
    "F": [
        ("2024-07-01", "198"), ("2024-08-01", "198"), ("2024-09-01", "198"),
        ("2025-01-31", "05"), ("2025-09-30", "04"),
    ],
    "G": [
        ("2024-08-10", "198"), ("2024-09-10", "198"), ("2024-10-10", "198"),
        ("2025-03-10", "05"), ("2025-12-10", "04"),
    ],
    # Born in December: turned one on 20 December 2025, just before the assessment.
    "H": [
        ("2024-12-20", "08"), ("2024-12-20", "19"),
        ("2025-02-20", "198"), ("2025-03-20", "198"), ("2025-04-20", "198"),
        ("2025-09-20", "05"),
    ],
    "I": [
        ("2024-04-01", "198"), ("2024-05-01", "198"), ("2024-06-01", "198"),
        ("2024-11-01", "05"), ("2025-08-01", "04"),
    ],
    # The same DTP dose recorded twice on one day counts once.
    "J": [("2024-02-01", "8"), ("2024-04-01", "198"), ("2024-04-01", "198")],
    "K": [],
    "X": [("2024-05-05", "19")],
    "L": [("2023-08-01", "198"), ("2023-09-01", "198"), ("2023-10-01", "198")],
}
# fmt: on


def person_id(label: str) -> str:
    return f"00000000-0000-0000-0000-0000000000{ord(label):02x}"


def tables() -> tuple[pa.Table, pa.Table]:
    """The children and their doses as Arrow tables of the analytics input schema."""
    persons = pa.Table.from_pylist(
        [
            {
                "person_id": person_id(label),
                "birth_date": born,
                "sex": "female" if ord(label) % 2 else "male",
                "province_code": province,
                "district_code": district,
                "commune_code": commune,
            }
            for label, (born, province, district, commune) in CHILDREN.items()
        ],
        schema=PERSONS_SCHEMA,
    )
    doses = pa.Table.from_pylist(
        [
            {
                "person_id": person_id(label),
                "date_administered": date.fromisoformat(day),
                "cvx": cvx,
            }
            for label, given in DOSES.items()
            for day, cvx in given
        ],
        schema=IMMUNIZATIONS_SCHEMA,
    )
    return persons, doses
