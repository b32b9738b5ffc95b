"""EBGM stays finite for the large counts of a national reporting database."""

from __future__ import annotations

import math

from immunis.safety.signals import GammaMixture, ebgm


def test_a_pair_with_thousands_of_reports_gets_a_finite_ebgm() -> None:
    prior = GammaMixture(alpha1=1000.0, beta1=1000.0, alpha2=2.0, beta2=1.0, p=0.9)
    # The second component explains 30,000 reports against 10,000 expected overwhelmingly: the
    # log odds between the components are far beyond what exp() can hold.
    estimate = ebgm(30_000, 10_000.0, prior)
    assert math.isfinite(estimate.value)
    assert 2.9 < estimate.low < estimate.value < estimate.high < 3.1
