"""Signal runs on synthetic reports: a planted signal is found, noise is not mistaken for one."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from immunis.safety.monitoring import (
    DoseCount,
    DoseFacts,
    MonitoredPair,
    MonitoringPlan,
    ReportFacts,
    Thresholds,
    disproportionality,
    expected_in_windows,
    lot_findings,
    observed_in_windows,
    observed_vs_expected,
    report_tables,
    run,
    sequential,
    shipped_plan,
)
from immunis.safety.terms import shipped_terms

TERMS = shipped_terms()
DAY = date(2025, 6, 1)
VACCINES = ("198", "10", "178", "19", "8", "5", "4", "119", "133", "39")
# How often each event is reported, common reactions first.
EVENTS = {
    "FEVER": 0.30,
    "LOCAL": 0.25,
    "CRY": 0.10,
    "FSEIZ": 0.08,
    "ANAPH": 0.05,
    "HHE": 0.05,
    "ABSC": 0.05,
    "ENCEPH": 0.05,
    "ITP": 0.04,
    "INTUS": 0.03,
}


def _spontaneous_reports(rng: np.random.Generator, count: int) -> list[ReportFacts]:
    """Reports whose vaccines and events are drawn independently (no association anywhere)."""
    reports = []
    for _ in range(count):
        vaccines = rng.choice(VACCINES, size=rng.integers(1, 3), replace=False)
        events = rng.choice(
            list(EVENTS), size=rng.integers(1, 3), replace=False, p=list(EVENTS.values())
        )
        reports.append(_report([str(v) for v in vaccines], [str(e) for e in events]))
    return reports


def _report(
    vaccines: list[str], events: list[str], lot: str | None = None, days_after: int = 1
) -> ReportFacts:
    return ReportFacts(
        events=frozenset(events),
        onset=DAY + timedelta(days=days_after),
        doses=tuple(DoseFacts(str(v), lot, DAY, "0-11m") for v in vaccines),
        province_code="01",
    )


def test_a_planted_vaccine_event_association_is_flagged() -> None:
    rng = np.random.default_rng(7)
    reports = _spontaneous_reports(rng, 4000) + [_report(["119"], ["INTUS"]) for _ in range(40)]
    findings = disproportionality(report_tables(reports), Thresholds())
    flagged = {(f.cvx, f.event_code) for f in findings if f.signal}
    assert ("119", "INTUS") in flagged
    planted = next(f for f in findings if (f.cvx, f.event_code) == ("119", "INTUS"))
    assert planted.statistics["ic025"] > 0
    assert planted.statistics["prr_low"] > 1
    # In a small database the empirical-Bayes prior shrinks hard, but the pair still ranks first.
    assert max(findings, key=lambda f: f.statistics["ebgm"]) is planted


@pytest.mark.parametrize("seed", range(5))
def test_independent_reports_raise_no_more_alarms_than_the_nominal_rate(seed: int) -> None:
    reports = _spontaneous_reports(np.random.default_rng(seed), 4000)
    findings = disproportionality(report_tables(reports), Thresholds())
    flagged = [f for f in findings if f.signal]
    assert len(findings) >= 90
    assert len(flagged) <= 0.05 * len(findings)


def test_a_report_counts_once_for_a_pair_however_many_doses_it_names() -> None:
    twice = ReportFacts(
        frozenset({"FEVER"}),
        DAY,
        (DoseFacts("198", "A", DAY, "0-11m"), DoseFacts("198", "B", DAY, "0-11m")),
        "01",
    )
    tables = report_tables([twice, _report(["10"], ["LOCAL"])])
    assert (tables[("198", "FEVER")].a, tables[("198", "FEVER")].total) == (1, 2)


def test_only_events_in_the_risk_window_are_observed() -> None:
    inside = _report(["4"], ["ITP"], lot="MR1", days_after=42)
    outside = _report(["4"], ["ITP"], lot="MR1", days_after=43)
    no_rate = _report(["4"], ["HHE"], lot="MR1", days_after=1)
    counts = observed_in_windows([inside, outside, no_rate], TERMS, None, DAY + timedelta(99))
    assert counts[("4", "ITP", "all", None)] == 1
    assert counts[("4", "ITP", "lot", "MR1")] == 1
    assert ("4", "HHE", "all", None) not in counts


def test_expected_events_are_doses_times_background_rate_times_window() -> None:
    doses = [DoseCount("4", "MR1", "1-4y", "01", 100_000)]
    expected = expected_in_windows(doses, TERMS)
    # ITP: 4 per 100,000 person-years over a 43-day window.
    assert expected[("4", "ITP", "all", None)] == pytest.approx(100_000 * 4e-5 * 43 / 365.25)
    assert expected[("4", "ITP", "lot", "MR1")] == expected[("4", "ITP", "all", None)]


def _lot_world(
    rng: np.random.Generator, lots: int, planted: dict[str, int]
) -> tuple[list[ReportFacts], list[DoseCount]]:
    """`lots` lots of pentavalent vaccine, 5,000 infant doses each, febrile seizures at the
    background rate, plus `planted` extra seizures on some lots."""
    doses = [DoseCount("198", f"LOT{i:03}", "0-11m", "01", 5000) for i in range(lots)]
    per_lot = expected_in_windows(doses[:1], TERMS)[("198", "FSEIZ", "all", None)]
    reports = []
    for count in doses:
        seizures = rng.poisson(per_lot) + planted.get(str(count.lot_number), 0)
        reports += [_report(["198"], ["FSEIZ"], count.lot_number, 3) for _ in range(seizures)]
    return reports, doses


def test_a_lot_with_a_planted_excess_is_raised_to_the_lab() -> None:
    reports, doses = _lot_world(np.random.default_rng(11), 20, {"LOT007": 8})
    findings = observed_vs_expected(
        observed_in_windows(reports, TERMS, None, DAY + timedelta(30)),
        expected_in_windows(doses, TERMS),
        Thresholds(),
    )
    [alert] = lot_findings(findings)
    assert (alert.lot_number, alert.cvx, alert.event_code) == ("LOT007", "198", "FSEIZ")
    assert alert.statistics["observed"] >= 8
    assert alert.statistics["p_value"] < 0.05 / 20
    assert "LOT007" in alert.reason


def test_lots_at_their_background_rate_rarely_raise_an_alert() -> None:
    rng = np.random.default_rng(3)
    runs_with_an_alert = 0
    for _ in range(60):
        reports, doses = _lot_world(rng, 50, {})
        findings = observed_vs_expected(
            observed_in_windows(reports, TERMS, None, DAY + timedelta(30)),
            expected_in_windows(doses, TERMS),
            Thresholds(),
        )
        runs_with_an_alert += bool(lot_findings(findings))
    # Bonferroni within the lots keeps the family-wise false alarm rate under 5%.
    assert runs_with_an_alert <= 0.05 * 60


def _plan(pair: MonitoredPair) -> MonitoringPlan:
    return MonitoringPlan(Thresholds(), (pair,))


def test_maxsprt_signals_on_a_planted_excess_and_not_on_the_expected_count() -> None:
    pair = MonitoredPair("119", "INTUS", upper_limit=10, start=date(2025, 1, 1))
    # 74 per 100,000 child-years over 21 days: 200,000 doses expect about 8.5 cases.
    doses = {pair.start: [DoseCount("119", "R1", "0-11m", "01", 200_000)]}
    expected = 200_000 * 74e-5 * 21 / 365.25
    background = [_report(["119"], ["INTUS"], "R1", 5) for _ in range(round(expected))]
    excess = background + [_report(["119"], ["INTUS"], "R1", 5) for _ in range(12)]
    end = DAY + timedelta(30)
    [calm] = sequential(background, doses, _plan(pair), TERMS, end)
    [alarm] = sequential(excess, doses, _plan(pair), TERMS, end)
    assert calm.expected == pytest.approx(expected)
    assert not calm.signal
    assert alarm.signal
    assert alarm.statistics["llr"] > alarm.statistics["critical_value"]


def test_doses_before_a_pairs_start_are_not_monitored() -> None:
    pair = MonitoredPair("119", "INTUS", upper_limit=10, start=DAY + timedelta(days=1))
    reports = [_report(["119"], ["INTUS"], "R1", 5)]
    [look] = sequential(reports, {pair.start: []}, _plan(pair), TERMS, DAY + timedelta(30))
    assert (look.observed, look.expected) == (0, 0)


def test_a_full_run_reports_every_method_and_names_unverified_rates() -> None:
    rng = np.random.default_rng(5)
    reports, doses = _lot_world(rng, 10, {"LOT003": 9})
    plan = shipped_plan()
    since = {p.start: doses for p in plan.pairs}
    outcome = run(reports, doses, since, TERMS, plan, None, DAY + timedelta(30))
    assert {f.method for f in outcome.findings} == {
        "disproportionality",
        "observed_expected",
        "maxsprt",
    }
    assert [a.lot_number for a in outcome.lot_findings] == ["LOT003"]
    assert outcome.summary["lot_alerts"] == 1
    assert "FSEIZ" in outcome.summary["unverified_background_rates"]


def test_the_shipped_plan_monitors_only_events_with_background_rates() -> None:
    for pair in shipped_plan().pairs:
        term = TERMS.term(pair.event)
        assert term is not None and term.background, pair


def test_events_after_doses_the_registry_does_not_count_are_shown_untested() -> None:
    reports = [_report(["4"], ["ITP"], lot="MR1", days_after=10) for _ in range(3)]
    findings = observed_vs_expected(
        observed_in_windows(reports, TERMS, None, DAY + timedelta(60)), {}, Thresholds()
    )
    [untested] = findings
    assert (untested.cvx, untested.event_code, untested.observed) == ("4", "ITP", 3)
    assert (untested.expected, untested.signal) == (None, False)
