"""Signal detection for adverse events following immunization (pure functions, no I/O).

Three families of methods, each from the pharmacovigilance literature:

- Disproportionality in spontaneous reports, for each vaccine x event pair of a 2x2 table
  (a = reports with the vaccine and the event, b = the vaccine and other events, c = other
  vaccines and the event, d = neither): the proportional reporting ratio (PRR) and the reporting
  odds ratio (ROR) with 95% confidence intervals (Evans et al. 2001, Rothman et al. 2004), and two
  shrinkage estimates that temper small counts: the BCPNN information component (IC, with Noren's
  closed-form lower bound) and DuMouchel's empirical-Bayes geometric mean (EBGM, with EB05) from a
  two-gamma prior fitted to all pairs by maximum likelihood (DuMouchel 1999).
- Observed versus expected: events in a risk window after vaccination against the count expected
  from background rates, with doses from the registry as the denominator, and an exact Poisson
  test and confidence interval.
- Sequential monitoring of a pre-specified vaccine-event pair with the Poisson maximized
  sequential probability ratio test (MaxSPRT, Kulldorff et al. 2011), whose critical value is
  computed exactly here for a given upper limit on the expected count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Table:
    """A 2x2 table of report counts for one vaccine and one event."""

    a: int  # the vaccine and the event
    b: int  # the vaccine, other events
    c: int  # other vaccines, the event
    d: int  # other vaccines, other events

    @property
    def total(self) -> int:
        return self.a + self.b + self.c + self.d

    @property
    def expected(self) -> float:
        """Reports of the pair expected if vaccine and event were independent."""
        return (self.a + self.b) * (self.a + self.c) / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    high: float


def _corrected(table: Table) -> tuple[float, float, float, float]:
    """Haldane's correction (add 0.5 to every cell) when a cell is empty."""
    cells = (table.a, table.b, table.c, table.d)
    if 0 in cells:
        return tuple(x + 0.5 for x in cells)  # type: ignore[return-value]
    return tuple(float(x) for x in cells)  # type: ignore[return-value]


def prr(table: Table) -> Estimate:
    """Proportional reporting ratio with its 95% confidence interval."""
    a, b, c, d = _corrected(table)
    value = (a / (a + b)) / (c / (c + d))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return Estimate(value, value * math.exp(-Z95 * se), value * math.exp(Z95 * se))


def ror(table: Table) -> Estimate:
    """Reporting odds ratio with its 95% confidence interval."""
    a, b, c, d = _corrected(table)
    value = (a * d) / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return Estimate(value, value * math.exp(-Z95 * se), value * math.exp(Z95 * se))


def chi_square(table: Table) -> float:
    """Pearson's chi-square with Yates' continuity correction."""
    a, b, c, d = table.a, table.b, table.c, table.d
    n = table.total
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    if denominator == 0:
        return 0.0
    return n * max(abs(a * d - b * c) - n / 2, 0) ** 2 / denominator


def information_component(table: Table) -> Estimate:
    """BCPNN information component log2((a + 0.5) / (E + 0.5)) and Noren's approximate 95%
    credibility interval: a shrinkage estimate that stays near 0 for small counts."""
    a = table.a
    expected = table.expected
    ic = math.log2((a + 0.5) / (expected + 0.5))
    spread_low = 3.3 * (a + 0.5) ** -0.5 + 2 * (a + 0.5) ** -1.5
    spread_high = 2.4 * (a + 0.5) ** -0.5 - 0.5 * (a + 0.5) ** -1.5
    return Estimate(ic, ic - spread_low, ic + spread_high)


def evans_signal(table: Table) -> bool:
    """The classic screening rule: PRR >= 2, chi-square >= 4 and at least 3 reports."""
    return table.a >= 3 and prr(table).value >= 2 and chi_square(table) >= 4


# --- Empirical Bayes (DuMouchel's gamma-Poisson shrinker) ----------------------------------------


@dataclass(frozen=True, slots=True)
class GammaMixture:
    """The prior of the reporting ratio: p Gamma(alpha1, beta1) + (1 - p) Gamma(alpha2, beta2)."""

    alpha1: float
    beta1: float
    alpha2: float
    beta2: float
    p: float


def _log_nb(n: np.ndarray, e: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """log P(N = n) when N ~ Poisson(lambda E) and lambda ~ Gamma(alpha, rate beta)."""
    return (
        special.gammaln(alpha + n)
        - special.gammaln(alpha)
        - special.gammaln(n + 1)
        + alpha * np.log(beta / (beta + e))
        + n * np.log(e / (beta + e))
    )


def _unpack(theta: np.ndarray) -> GammaMixture:
    a1, b1, a2, b2 = np.exp(theta[:4])
    p = float(special.expit(theta[4]))
    return GammaMixture(float(a1), float(b1), float(a2), float(b2), p)


def fit_prior(observed: Sequence[int], expected: Sequence[float]) -> GammaMixture:
    """Maximum-likelihood fit of the two-gamma prior to every pair's (observed, expected)."""
    n = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    keep = e > 0
    n, e = n[keep], e[keep]
    if n.size == 0:
        raise ValueError("no pair with a positive expected count to fit the prior on")

    def negative_log_likelihood(theta: np.ndarray) -> float:
        prior = _unpack(theta)
        first = np.log(prior.p) + _log_nb(n, e, prior.alpha1, prior.beta1)
        second = np.log1p(-prior.p) + _log_nb(n, e, prior.alpha2, prior.beta2)
        return float(-np.logaddexp(first, second).sum())

    # DuMouchel's customary starting point: most pairs near 1, a few far above. The bounds keep
    # the shape parameters where log-gamma differences stay accurate in floating point.
    start = np.array([math.log(0.2), math.log(0.1), math.log(2.0), math.log(4.0), 0.0])
    bounds = [(math.log(1e-3), math.log(1e3))] * 4 + [(-8.0, 8.0)]
    result = optimize.minimize(negative_log_likelihood, start, method="L-BFGS-B", bounds=bounds)
    return _unpack(result.x)


def _posterior(n: int, e: float, prior: GammaMixture) -> tuple[float, float, float, float, float]:
    """Posterior mixture weight of the first component and the two posterior gammas."""
    log_first = math.log(prior.p) + float(
        _log_nb(np.array([n]), np.array([e]), prior.alpha1, prior.beta1)[0]
    )
    log_second = math.log1p(-prior.p) + float(
        _log_nb(np.array([n]), np.array([e]), prior.alpha2, prior.beta2)[0]
    )
    # expit rather than 1 / (1 + exp(...)): with thousands of reports the log odds overflow exp.
    weight = float(special.expit(log_first - log_second))
    return weight, prior.alpha1 + n, prior.beta1 + e, prior.alpha2 + n, prior.beta2 + e


def ebgm(n: int, e: float, prior: GammaMixture) -> Estimate:
    """Empirical-Bayes geometric mean of the reporting ratio, with EB05 and EB95."""
    weight, a1, b1, a2, b2 = _posterior(n, e, prior)
    mean_log = weight * (special.digamma(a1) - math.log(b1)) + (1 - weight) * (
        special.digamma(a2) - math.log(b2)
    )

    def cdf(x: float) -> float:
        return float(
            weight * stats.gamma.cdf(x, a1, scale=1 / b1)
            + (1 - weight) * stats.gamma.cdf(x, a2, scale=1 / b2)
        )

    def quantile(q: float) -> float:
        high = 1.0
        while cdf(high) < q:
            high *= 2
        return float(optimize.brentq(lambda x: cdf(x) - q, 0.0, high, xtol=1e-10))

    return Estimate(math.exp(mean_log), quantile(0.05), quantile(0.95))


# --- Observed versus expected -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObservedExpected:
    observed: int
    expected: float
    ratio: Estimate  # observed / expected, exact Poisson 95% interval
    p_value: float  # P(X >= observed) under the background rate


def expected_events(
    doses: dict[str, int], background_per_person_year: dict[str, float], window_days: int
) -> float:
    """Events expected by chance in the risk window after `doses` (per stratum, e.g. age band)."""
    years = window_days / 365.25
    return sum(
        count * background_per_person_year[stratum] * years for stratum, count in doses.items()
    )


def observed_vs_expected(observed: int, expected: float) -> ObservedExpected:
    """Exact Poisson comparison of an observed count with its expected count."""
    if expected <= 0:
        raise ValueError("the expected count must be positive")
    low = stats.chi2.ppf(0.025, 2 * observed) / 2 if observed else 0.0
    high = stats.chi2.ppf(0.975, 2 * (observed + 1)) / 2
    p_value = float(stats.poisson.sf(observed - 1, expected))
    return ObservedExpected(
        observed,
        expected,
        Estimate(observed / expected, float(low) / expected, float(high) / expected),
        p_value,
    )


# --- MaxSPRT -------------------------------------------------------------------------------------


def maxsprt_llr(observed: float, expected: float) -> float:
    """Poisson MaxSPRT log-likelihood ratio (0 when fewer events than expected)."""
    if expected <= 0 or observed <= expected:
        return 0.0
    return expected - observed + observed * math.log(observed / expected)


def _signal_times(cv: float, upper_limit: float, min_events: int) -> list[tuple[float, int]]:
    """For each event count k, the expected count by which k events make the LLR reach `cv`
    (checked up to the upper limit): the test's boundary."""
    boundary = []
    k = max(min_events, 1)
    while True:
        # LLR(k, mu) falls from +inf (mu -> 0) to 0 (mu -> k): one crossing of cv.
        def gap(mu: float, k: int = k) -> float:
            return maxsprt_llr(k, mu) - cv

        mu = float(optimize.brentq(gap, 1e-300, float(k) * (1 - 1e-12)))
        boundary.append((min(mu, upper_limit), k))
        if mu >= upper_limit:
            return boundary
        k += 1


def maxsprt_alpha(cv: float, upper_limit: float, min_events: int = 1) -> float:
    """Exact probability of a signal under the null for critical value `cv`, monitoring
    continuously until the expected count reaches `upper_limit`."""
    boundary = _signal_times(cv, upper_limit, min_events)
    size = boundary[-1][1] + 1
    states = np.zeros(size)
    states[0] = 1.0
    now = 0.0
    counts = np.arange(size)
    for time, k in boundary:
        step = time - now
        if step > 0:
            kernel = stats.poisson.pmf(counts, step)
            states = np.convolve(states, kernel)[:size]
        states[k:] = 0.0
        now = time
    return float(1 - states.sum())


def maxsprt_critical_value(upper_limit: float, alpha: float = 0.05, min_events: int = 1) -> float:
    """The critical value of the log-likelihood ratio giving exactly `alpha` for this upper
    limit on the expected count (Kulldorff et al. 2011, computed, not tabulated)."""
    return float(
        optimize.brentq(
            lambda cv: maxsprt_alpha(cv, upper_limit, min_events) - alpha, 0.5, 30.0, xtol=1e-6
        )
    )


@dataclass(frozen=True, slots=True)
class SequentialDecision:
    llr: float
    critical_value: float
    signal: bool
    finished: bool  # the expected count reached the upper limit without a signal


def maxsprt_look(
    observed: int, expected: float, critical_value: float, upper_limit: float, min_events: int = 1
) -> SequentialDecision:
    """One look at the cumulative counts of a monitored vaccine-event pair."""
    llr = maxsprt_llr(observed, expected)
    signal = observed >= min_events and llr >= critical_value
    return SequentialDecision(llr, critical_value, signal, not signal and expected >= upper_limit)
