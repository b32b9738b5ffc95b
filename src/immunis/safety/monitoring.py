"""A signal run: every method of `signals.py` applied to the AEFI reports and the doses given.

Pure: the run takes plain facts (reports, dose counts from the registry, the term list and the
monitoring plan) and returns findings; the service reads the database and stores them.

- Disproportionality: for every vaccine x event pair, the 2x2 table of reports (a report counts
  once per pair), PRR, ROR, chi-square, IC and EBGM with a prior fitted to all pairs.
- Observed versus expected: events whose onset falls in the term's risk window after a dose of the
  vaccine, against doses x background rate x window, per vaccine and per lot, age band and
  province, with an exact Poisson test (Bonferroni within each family of strata).
- MaxSPRT for the pre-specified pairs of the plan, cumulative from each pair's start date.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from immunis.safety import signals
from immunis.safety.terms import TermList

PLAN_FORMAT = "immunis-safety-monitoring/1"
STRATA = ("lot", "age_band", "province")


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_reports: int = 3
    prr: float = 2.0
    chi_square: float = 4.0
    eb05: float = 2.0
    oe_alpha: float = 0.05
    oe_min_events: int = 3


@dataclass(frozen=True, slots=True)
class MonitoredPair:
    """A vaccine-event pair under sequential monitoring (Poisson MaxSPRT)."""

    cvx: str
    event: str
    upper_limit: float  # the expected count at which monitoring ends without a signal
    start: date  # the first vaccination date counted
    alpha: float = 0.05
    min_events: int = 1
    why: str = ""


@dataclass(frozen=True, slots=True)
class MonitoringPlan:
    thresholds: Thresholds
    pairs: tuple[MonitoredPair, ...]


@dataclass(frozen=True, slots=True)
class DoseFacts:
    """A suspected dose as the run needs it."""

    cvx: str
    lot_number: str | None
    date_administered: date
    age_band: str


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """A report as the run needs it (merged duplicates are left out by the caller)."""

    events: frozenset[str]
    onset: date
    doses: tuple[DoseFacts, ...]
    province_code: str | None


@dataclass(frozen=True, slots=True)
class DoseCount:
    """Doses given, from the registry: the denominator of observed versus expected."""

    cvx: str
    lot_number: str | None
    age_band: str
    province_code: str | None
    doses: int


@dataclass(frozen=True, slots=True)
class Finding:
    method: str  # disproportionality | observed_expected | maxsprt
    cvx: str
    event_code: str
    stratum_kind: str  # all | lot | age_band | province
    stratum: str | None
    observed: int
    expected: float | None
    statistics: dict[str, Any]
    signal: bool


@dataclass(frozen=True, slots=True)
class LotFinding:
    """A lot whose observed-versus-expected signals: to be raised to the lab."""

    lot_number: str
    cvx: str
    event_code: str
    reason: str
    statistics: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    findings: list[Finding]
    lot_findings: list[LotFinding]
    summary: dict[str, Any] = field(default_factory=dict)


def load_plan(data: bytes) -> MonitoringPlan:
    """Parse a monitoring plan (the format of data/monitoring.yaml)."""
    raw = yaml.safe_load(data)
    if not isinstance(raw, dict) or raw.get("format") != PLAN_FORMAT:
        raise ValueError(f"not a monitoring plan (format {PLAN_FORMAT})")
    thresholds = Thresholds(**(raw.get("thresholds") or {}))
    pairs = tuple(
        MonitoredPair(
            cvx=str(p["cvx"]),
            event=str(p["event"]),
            upper_limit=float(p["upper_limit"]),
            start=p["start"] if isinstance(p["start"], date) else date.fromisoformat(p["start"]),
            alpha=float(p.get("alpha", 0.05)),
            min_events=int(p.get("min_events", 1)),
            why=str(p.get("why", "")),
        )
        for p in raw.get("monitored_pairs") or []
    )
    return MonitoringPlan(thresholds, pairs)


@cache
def shipped_plan() -> MonitoringPlan:
    """The monitoring plan that ships with immunis."""
    return load_plan((resources.files("immunis.safety") / "data" / "monitoring.yaml").read_bytes())


def _number(value: float) -> float | None:
    """A statistic as JSON can hold it: rounded, and None for infinities and NaN."""
    return round(value, 6) if math.isfinite(value) else None


# --- Disproportionality ---------------------------------------------------------------------


def report_tables(reports: Iterable[ReportFacts]) -> dict[tuple[str, str], signals.Table]:
    """The 2x2 table of every vaccine x event pair seen in the reports (all pairs, also those no
    report has together: the empirical-Bayes prior is fitted to every cell)."""
    pair_reports: Counter[tuple[str, str]] = Counter()
    vaccine_reports: Counter[str] = Counter()
    event_reports: Counter[str] = Counter()
    total = 0
    for report in reports:
        vaccines = {d.cvx for d in report.doses}
        total += 1
        vaccine_reports.update(vaccines)
        event_reports.update(report.events)
        pair_reports.update((v, e) for v in vaccines for e in report.events)
    tables = {}
    for vaccine, with_vaccine in vaccine_reports.items():
        for event, with_event in event_reports.items():
            a = pair_reports[(vaccine, event)]
            b = with_vaccine - a
            c = with_event - a
            tables[(vaccine, event)] = signals.Table(a, b, c, total - a - b - c)
    return tables


def disproportionality(
    tables: Mapping[tuple[str, str], signals.Table], thresholds: Thresholds
) -> list[Finding]:
    """PRR, ROR, chi-square, IC and EBGM for every pair that has at least one report."""
    cells = [(pair, t) for pair, t in sorted(tables.items()) if t.expected > 0]
    prior = None
    if len(cells) >= 2:
        prior = signals.fit_prior([t.a for _, t in cells], [t.expected for _, t in cells])
    findings = []
    for (vaccine, event), table in cells:
        if table.a == 0:
            continue
        prr = signals.prr(table)
        ror = signals.ror(table)
        chi2 = signals.chi_square(table)
        ic = signals.information_component(table)
        stats: dict[str, Any] = {
            "a": table.a,
            "b": table.b,
            "c": table.c,
            "d": table.d,
            "prr": _number(prr.value),
            "prr_low": _number(prr.low),
            "prr_high": _number(prr.high),
            "ror": _number(ror.value),
            "ror_low": _number(ror.low),
            "ror_high": _number(ror.high),
            "chi_square": _number(chi2),
            "ic": _number(ic.value),
            "ic025": _number(ic.low),
        }
        evans = (
            table.a >= thresholds.min_reports
            and prr.value >= thresholds.prr
            and chi2 >= thresholds.chi_square
        )
        shrunk = False
        if prior is not None:
            eb = signals.ebgm(table.a, table.expected, prior)
            stats.update(ebgm=_number(eb.value), eb05=_number(eb.low), eb95=_number(eb.high))
            shrunk = eb.low >= thresholds.eb05
        stats["rule"] = [name for name, hit in (("evans", evans), ("eb05", shrunk)) if hit]
        findings.append(
            Finding(
                "disproportionality",
                vaccine,
                event,
                "all",
                None,
                table.a,
                _number(table.expected),
                stats,
                evans or shrunk,
            )
        )
    return findings


# --- Observed versus expected -----------------------------------------------------------------


def _in_period(day: date, start: date | None, end: date) -> bool:
    return (start is None or day >= start) and day <= end


def observed_in_windows(
    reports: Iterable[ReportFacts],
    terms: TermList,
    start: date | None,
    end: date,
    cvx: str | None = None,
    event: str | None = None,
) -> Counter[tuple[str, str, str, str | None]]:
    """Events with onset in their risk window after a dose given in the period, counted once per
    report for each (vaccine, event, stratum kind, stratum); only for terms with a background
    rate in the dose's age band."""
    counts: Counter[tuple[str, str, str, str | None]] = Counter()
    for report in reports:
        if report.onset > end:
            continue
        for code in report.events:
            if event is not None and code != event:
                continue
            term = terms.term(code)
            if term is None or not term.background:
                continue
            keys: set[tuple[str, str, str, str | None]] = set()
            for dose in report.doses:
                if cvx is not None and dose.cvx != cvx:
                    continue
                if not _in_period(dose.date_administered, start, end):
                    continue
                if not term.background.get(dose.age_band):
                    continue
                if not term.window.contains((report.onset - dose.date_administered).days):
                    continue
                keys.add((dose.cvx, code, "all", None))
                keys.add((dose.cvx, code, "age_band", dose.age_band))
                keys.add((dose.cvx, code, "province", report.province_code))
                if dose.lot_number:
                    keys.add((dose.cvx, code, "lot", dose.lot_number))
            counts.update(keys)
    return counts


def expected_in_windows(
    doses: Iterable[DoseCount], terms: TermList
) -> dict[tuple[str, str, str, str | None], float]:
    """Events expected by chance after the doses given, per (vaccine, event, stratum kind,
    stratum), for every term with background rates."""
    rated = [t for t in terms.terms.values() if t.background]
    expected: defaultdict[tuple[str, str, str, str | None], float] = defaultdict(float)
    for count in doses:
        for term in rated:
            amount = count.doses * term.expected_per_dose(count.age_band)
            if amount <= 0:
                continue
            expected[(count.cvx, term.code, "all", None)] += amount
            expected[(count.cvx, term.code, "age_band", count.age_band)] += amount
            expected[(count.cvx, term.code, "province", count.province_code)] += amount
            if count.lot_number:
                expected[(count.cvx, term.code, "lot", count.lot_number)] += amount
    return dict(expected)


def observed_vs_expected(
    observed: Mapping[tuple[str, str, str, str | None], int],
    expected: Mapping[tuple[str, str, str, str | None], float],
    thresholds: Thresholds,
) -> list[Finding]:
    """The exact Poisson comparison for each vaccine and event, overall and per stratum. Every
    overall pair with an expected count is kept; strata only where an event was observed."""
    family_sizes: Counter[tuple[str, str, str]] = Counter(
        (cvx, event, kind) for cvx, event, kind, _ in expected
    )
    findings = []
    for key in sorted(expected, key=lambda k: (k[0], k[1], k[2], k[3] or "")):
        cvx, event, kind, stratum = key
        count = observed.get(key, 0)
        if kind != "all" and count == 0:
            continue
        comparison = signals.observed_vs_expected(count, expected[key])
        tests = family_sizes[(cvx, event, kind)]
        threshold = thresholds.oe_alpha / tests
        signal = count >= thresholds.oe_min_events and comparison.p_value < threshold
        findings.append(
            Finding(
                "observed_expected",
                cvx,
                event,
                kind,
                stratum,
                count,
                _number(comparison.expected),
                {
                    "ratio": _number(comparison.ratio.value),
                    "ratio_low": _number(comparison.ratio.low),
                    "ratio_high": _number(comparison.ratio.high),
                    "p_value": _number(comparison.p_value),
                    "p_threshold": _number(threshold),
                    "strata_tested": tests,
                },
                signal,
            )
        )
    # Observed events with no expected count at all (doses not in the registry) are reported
    # as they are: they cannot be tested, but they should not vanish.
    for key, count in sorted(observed.items(), key=lambda kv: str(kv[0])):
        if key not in expected and key[2] == "all":
            findings.append(
                Finding(
                    "observed_expected",
                    key[0],
                    key[1],
                    "all",
                    None,
                    count,
                    None,
                    {"note": "no doses of this vaccine in the registry for the period"},
                    False,
                )
            )
    return findings


def lot_findings(findings: Iterable[Finding]) -> list[LotFinding]:
    """The lots whose observed-versus-expected signals."""
    raised = []
    for f in findings:
        if f.method != "observed_expected" or f.stratum_kind != "lot" or not f.signal:
            continue
        reason = (
            f"{f.observed} {f.event_code} reports in the risk window after lot {f.stratum} "
            f"against {f.expected:.2f} expected (O/E {f.statistics['ratio']:.1f}, "
            f"p = {f.statistics['p_value']:.2g})"
        )
        statistics = {"observed": f.observed, "expected": f.expected, **f.statistics}
        raised.append(LotFinding(str(f.stratum), f.cvx, f.event_code, reason, statistics))
    return raised


# --- MaxSPRT --------------------------------------------------------------------------------


@cache
def _critical_value(upper_limit: float, alpha: float, min_events: int) -> float:
    return signals.maxsprt_critical_value(upper_limit, alpha, min_events)


def sequential(
    reports: Sequence[ReportFacts],
    doses_since: Mapping[date, Sequence[DoseCount]],
    plan: MonitoringPlan,
    terms: TermList,
    end: date,
) -> list[Finding]:
    """One look of the MaxSPRT for each monitored pair; `doses_since[start]` are the doses given
    from that start date to `end`."""
    findings = []
    for pair in plan.pairs:
        term = terms.term(pair.event)
        if term is None or not term.background:
            raise ValueError(f"monitored event {pair.event} has no background rate")
        observed = observed_in_windows(reports, terms, pair.start, end, pair.cvx, pair.event)
        count = observed.get((pair.cvx, pair.event, "all", None), 0)
        expected = sum(
            d.doses * term.expected_per_dose(d.age_band)
            for d in doses_since[pair.start]
            if d.cvx == pair.cvx
        )
        critical = _critical_value(pair.upper_limit, pair.alpha, pair.min_events)
        look = signals.maxsprt_look(count, expected, critical, pair.upper_limit, pair.min_events)
        findings.append(
            Finding(
                "maxsprt",
                pair.cvx,
                pair.event,
                "all",
                None,
                count,
                _number(expected),
                {
                    "llr": _number(look.llr),
                    "critical_value": _number(critical),
                    "upper_limit": pair.upper_limit,
                    "alpha": pair.alpha,
                    "start": pair.start.isoformat(),
                    "finished": look.finished,
                },
                look.signal,
            )
        )
    return findings


def run(
    reports: Sequence[ReportFacts],
    doses: Sequence[DoseCount],
    doses_since: Mapping[date, Sequence[DoseCount]],
    terms: TermList,
    plan: MonitoringPlan,
    start: date | None,
    end: date,
) -> RunOutcome:
    """Every method over the reports with onset in the period and the doses given in it."""
    in_period = [r for r in reports if _in_period(r.onset, start, end)]
    findings = disproportionality(report_tables(in_period), plan.thresholds)
    findings += observed_vs_expected(
        observed_in_windows(reports, terms, start, end),
        expected_in_windows(doses, terms),
        plan.thresholds,
    )
    findings += sequential(reports, doses_since, plan, terms, end)
    lots = lot_findings(findings)
    by_method = Counter(f.method for f in findings)
    flagged = Counter(f.method for f in findings if f.signal)
    unverified = sorted(
        {
            f.event_code
            for f in findings
            if f.method != "disproportionality"
            and (term := terms.term(f.event_code)) is not None
            and not term.background_verified
        }
    )
    summary = {
        "reports": len(in_period),
        "results": dict(by_method),
        "signals": dict(flagged),
        "lot_alerts": len(lots),
        "unverified_background_rates": unverified,
    }
    return RunOutcome(findings, lots, summary)
