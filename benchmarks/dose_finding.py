"""Speed of dose-finding operating-characteristic simulations.

Scenario p = (0.05, 0.15, 0.30, 0.45, 0.60), target 0.3, 10 cohorts of 3:

* BOIN, 10,000 trials (R: BOIN::get.oc(..., ntrial=10000) takes about 4.7 s);
* CRM (empiric, skeleton getprior(0.05, 0.3, 3, 5), no skipping + coherence),
  1,000 trials (R: dfcrm::crmsim(..., nsim=1000, restrict=TRUE) takes about 6.6 s);
* 3+3 with de-escalation, 10,000 trials, TITE-CRM (28-day window, one patient every
  7 days), 1,000 trials, and three designs together on common random numbers.

BOIN's rules for n patients at one dose (elimination boundary and escalate /
de-escalate codes, what ``decide`` needs when a trial puts n patients on a dose) for
n = 2,000, 5,000 and 20,000: wall time and peak memory (tracemalloc, which counts
numpy's buffers). Both grow linearly in n; the former (n + 1)^2 grid took 6.2 s at
2,000, 31.5 s and 1.29 GB at 5,000, and over 18 GB at 20,000.

Run: ``python benchmarks/dose_finding.py``. Prints the best and median of 5 runs.
``python benchmarks/dose_finding.py --boundaries`` runs only the boundary figures.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from analyses.dose_finding import (
    BOIN,
    CRM,
    TITECRM,
    ThreePlusThree,
    elimination_boundary,
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


def bench_boundaries(sizes: tuple[int, ...] = (2_000, 5_000, 20_000)) -> None:
    """Time and peak memory of BOIN's rules for n patients at one dose."""
    for n in sizes:

        def decide(n: int = n) -> object:
            # a fresh design each time: its rules cache would otherwise answer
            boin = BOIN(0.3, 5, n_cohorts=n // 3 + 1)
            counts = [n, 0, 0, 0, 0]
            return boin.decide(counts, [int(0.25 * n), 0, 0, 0, 0], current=1)

        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            decide()
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        elimination_boundary(0.3, n)
        _, peak_elim = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        tracemalloc.start()
        decide()
        _, peak_decide = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"BOIN rules, n = {n:>6,}: decide best {min(times):6.3f} s, "
            f"peak {peak_decide / 1e6:6.2f} MB "
            f"(elimination boundary alone {peak_elim / 1e6:5.2f} MB)"
        )


def main() -> None:
    bench_boundaries()
    if "--boundaries" in sys.argv[1:]:
        return
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
