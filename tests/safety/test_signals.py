"""Signal detection against hand-computed tables, published critical values and planted signals."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from immunis.safety.signals import (
    GammaMixture,
    Table,
    chi_square,
    ebgm,
    evans_signal,
    expected_events,
    fit_prior,
    information_component,
    maxsprt_alpha,
    maxsprt_critical_value,
    maxsprt_llr,
    maxsprt_look,
    observed_vs_expected,
    prr,
    ror,
)

# 20 reports of the event with vaccine V (of 100 for V), 100 with other vaccines (of 9,900).
TABLE = Table(a=20, b=80, c=100, d=9800)


def test_prr_by_hand() -> None:
    estimate = prr(TABLE)
    assert estimate.value == pytest.approx((20 / 100) / (100 / 9900))  # 19.8
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 100 - 1 / 9900)
    assert estimate.low == pytest.approx(19.8 * math.exp(-1.959964 * se), rel=1e-6)
    assert estimate.high == pytest.approx(19.8 * math.exp(1.959964 * se), rel=1e-6)


def test_ror_by_hand() -> None:
    estimate = ror(TABLE)
    assert estimate.value == pytest.approx(20 * 9800 / (80 * 100))  # 24.5
    se = math.sqrt(1 / 20 + 1 / 80 + 1 / 100 + 1 / 9800)
    assert estimate.low == pytest.approx(24.5 * math.exp(-1.959964 * se), rel=1e-6)


def test_chi_square_with_yates_by_hand() -> None:
    n = 10000
    expected = n * (abs(20 * 9800 - 80 * 100) - n / 2) ** 2 / (100 * 9900 * 120 * 9880)
    assert chi_square(TABLE) == pytest.approx(expected)


def test_an_empty_cell_gets_haldanes_correction() -> None:
    estimate = ror(Table(a=3, b=0, c=10, d=1000))
    assert estimate.value == pytest.approx(3.5 * 1000.5 / (0.5 * 10.5))


def test_the_information_component_shrinks_small_counts_towards_zero() -> None:
    one_report = information_component(Table(a=1, b=9, c=1, d=9989))
    many_reports = information_component(Table(a=100, b=900, c=100, d=98900))
    assert one_report.value < many_reports.value  # same ratio, fewer reports: less sure
    assert one_report.low < 0 < many_reports.low


def test_evans_criteria() -> None:
    assert evans_signal(TABLE)
    assert not evans_signal(Table(a=2, b=8, c=10, d=9980))  # too few reports
    assert not evans_signal(Table(a=30, b=970, c=300, d=9700))  # PRR near 1


def test_ebgm_posterior_by_hand_with_a_one_component_prior() -> None:
    # With p = 1 the posterior is Gamma(alpha + n, beta + E): EBGM = exp(digamma - log).
    prior = GammaMixture(alpha1=2.0, beta1=1.0, alpha2=1.0, beta2=1.0, p=1 - 1e-12)
    estimate = ebgm(5, 2.0, prior)
    from scipy import special

    assert estimate.value == pytest.approx(math.exp(special.digamma(7.0) - math.log(3.0)))
    assert estimate.low < estimate.value < estimate.high


def test_the_fitted_prior_flags_a_planted_pair_and_not_the_noise() -> None:
    rng = np.random.default_rng(7)
    expected = rng.uniform(0.5, 5.0, size=400)
    observed = rng.poisson(expected)
    observed[0] = rng.poisson(expected[0] * 8)  # the planted signal
    prior = fit_prior(observed.tolist(), expected.tolist())
    planted = ebgm(int(observed[0]), float(expected[0]), prior)
    noise = [
        ebgm(int(n), float(e), prior).low for n, e in zip(observed[1:], expected[1:], strict=True)
    ]
    assert planted.low > 2
    assert sum(low > 2 for low in noise) <= 4  # at most 1% false alarms among 399 null pairs


def test_observed_versus_expected_exact_poisson() -> None:
    expected = expected_events({"0-1y": 100_000}, {"0-1y": 0.0002}, window_days=42)
    assert expected == pytest.approx(100_000 * 0.0002 * 42 / 365.25)
    result = observed_vs_expected(12, expected)
    assert result.ratio.value == pytest.approx(12 / expected)
    from scipy import stats

    assert result.p_value == pytest.approx(stats.poisson.sf(11, expected))
    assert result.p_value < 0.001
    assert observed_vs_expected(2, expected).p_value > 0.05


@pytest.mark.parametrize(
    ("upper_limit", "published"),
    # Kulldorff, Davis, Kolczak et al. (2011), Sequential Analysis 30:58-78, Table 1 (alpha 0.05).
    [(1, 2.853), (2, 3.046), (5, 3.296), (10, 3.467), (100, 3.952)],
)
def test_maxsprt_critical_values_match_the_published_table(
    upper_limit: float, published: float
) -> None:
    assert maxsprt_critical_value(upper_limit) == pytest.approx(published, abs=0.005)


def test_maxsprt_alpha_holds_in_simulation() -> None:
    upper_limit = 10.0
    cv = maxsprt_critical_value(upper_limit)
    assert maxsprt_alpha(cv, upper_limit) == pytest.approx(0.05, abs=1e-4)
    rng = random.Random(11)
    signals = 0
    runs = 4000
    for _ in range(runs):
        time = count = 0.0
        while True:
            time += rng.expovariate(1.0)
            if time > upper_limit:
                break
            count += 1
            if maxsprt_llr(count, time) >= cv:
                signals += 1
                break
    assert signals / runs == pytest.approx(0.05, abs=0.012)


def test_maxsprt_looks() -> None:
    cv = maxsprt_critical_value(5)
    assert not maxsprt_look(3, 2.0, cv, 5).signal
    assert maxsprt_look(9, 2.0, cv, 5).signal
    finished = maxsprt_look(5, 5.0, cv, 5)
    assert finished.finished and not finished.signal
