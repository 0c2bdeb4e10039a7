"""Speed of dose-finding operating-characteristic simulations.

Scenario p = (0.05, 0.15, 0.30, 0.45, 0.60), target 0.3, 10 cohorts of 3:

* BOIN, 10,000 trials (R: BOIN::get.oc(..., ntrial=10000) takes about 4.7 s);
* CRM (empiric, skeleton getprior(0.05, 0.3, 3, 5), no skipping + coherence),
  1,000 trials (R: dfcrm::crmsim(..., nsim=1000, restrict=TRUE) takes about 6.6 s);
* 3+3 with de-escalation, 10,000 trials, TITE-CRM (28-day window, one patient every
  7 days), 1,000 trials, and three designs together on common random numbers.

Run: ``python benchmarks/dose_finding.py``. Prints the best and median of 5 runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from analyses.dose_finding import (
    BOIN,
    CRM,
    TITECRM,
    ThreePlusThree,
    getprior,
    simulate_oc,
)

P = {"A": [0.05, 0.15, 0.30, 0.45, 0.60]}


def bench(label: str, fn: Callable[[], object], repeats: int = 5) -> None:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"{label:<48} best {min(times):6.3f} s   median {med:6.3f} s")


def main() -> None:
    boin = BOIN(0.3, 5, cohort_size=3, n_cohorts=10)
    crm = CRM(getprior(0.05, 0.3, 3, 5), 0.3, cohort_size=3, n_cohorts=10)
    tpt = ThreePlusThree(5, target=0.3)
    bench("BOIN OC, 10,000 trials", lambda: simulate_oc(boin, P, n_trials=10_000))
    bench("CRM OC, 1,000 trials", lambda: simulate_oc(crm, P, n_trials=1_000))
    bench("CRM OC, 10,000 trials", lambda: simulate_oc(crm, P, n_trials=10_000), 3)
    bench("3+3 OC, 10,000 trials", lambda: simulate_oc(tpt, P, n_trials=10_000))
    tite = TITECRM(getprior(0.05, 0.3, 3, 5), 0.3, obswin=28, arrival_interval=7)
    bench(
        "TITE-CRM OC (1 patient / 7 days), 1,000 trials",
        lambda: simulate_oc(tite, P, n_trials=1_000),
        3,
    )
    bench(
        "BOIN + CRM + 3+3 (common random numbers), 10,000",
        lambda: simulate_oc([boin, crm, tpt], P, n_trials=10_000),
        3,
    )
    oc = simulate_oc([boin, crm, tpt], P, n_trials=10_000, seed=1)
    print()
    print(oc.selection().round(2).to_string(index=False))


if __name__ == "__main__":
    main()
