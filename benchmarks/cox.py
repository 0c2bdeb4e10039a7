"""Speed of the Cox model on 1,000,000 rows, and side by side with R ``coxph``.

Data (seeded, made here): 3 normal covariates, a stratum variable with 4 levels,
exponential event times rounded to 0.1 (so many tied times: Efron matters) and
uniform censoring; ``estimate_cox(..., ties="efron", strata="grp")``, which also
computes the concordance as R's ``coxph`` does.

Prints rows/s in-process, cold (the first fit in a fresh interpreter, the imports
not counted) and warm (median of ``--repeats`` further fits). There is no command
line path to the Cox model (``trialdata`` has no Cox command), so there is no CLI
figure. When ``Rscript`` with the survival package is on the PATH (skip with
``--no-r``), the same data are fitted by R ``coxph`` in the same run (the CSV
read not timed, first and later fits timed, with ``coxph.control(eps = 1e-12)``
so both stop at the same precision) and the numbers are compared: coefficients,
SEs, log-likelihood and concordance must agree to 1e-8 relative.

Run: ``python benchmarks/cox.py [--rows 1000000] [--repeats 3] [--no-r]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
times <- c()
for (i in seq_len(as.integer(args[2]) + 1)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- coxph(Surv(time, status) ~ x1 + x2 + x3 + strata(grp), data = d,
               ties = "efron", control = coxph.control(eps = 1e-12))
  times <- c(times, proc.time()[["elapsed"]] - t0)
}
fmt <- paste0('{"times": [%s], "coef": [%s], "se": [%s], ',
              '"loglik": %.17g, "concordance": %.17g}\n')
cat(sprintf(fmt,
    paste(sprintf("%.6f", times), collapse = ","),
    paste(sprintf("%.17g", coef(fit)), collapse = ","),
    paste(sprintf("%.17g", sqrt(diag(fit$var))), collapse = ","),
    fit$loglik[2], fit$concordance[["concordance"]]))
"""


def make_data(rows: int, seed: int = 1) -> pd.DataFrame:
    """Return the benchmark data set (seeded)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    eta = 0.3 * x[:, 0] - 0.2 * x[:, 1] + 0.1 * x[:, 2]
    t = np.round(rng.exponential(np.exp(-eta) * 100), 1) + 0.1
    c = rng.uniform(0, 200, rows)
    return pd.DataFrame(
        {
            "time": np.minimum(t, c),
            "status": (t <= c).astype(int),
            "x1": x[:, 0],
            "x2": x[:, 1],
            "x3": x[:, 2],
            "grp": rng.integers(0, 4, rows),
        }
    )


def fit(data: pd.DataFrame) -> object:
    """One Cox fit, as benchmarked."""
    from analyses.survival import estimate_cox

    return estimate_cox(
        data,
        ["x1", "x2", "x3"],
        time="time",
        event="status",
        cnsr=None,
        ties="efron",
        strata="grp",
    )


def run_r(data: pd.DataFrame, repeats: int) -> dict[str, object] | None:
    """Fit the same data with R coxph; None when R or survival is missing."""
    if shutil.which("Rscript") is None:
        print("R: Rscript not found, no side-by-side figure")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp, "cox.csv")
        data.to_csv(csv, index=False, float_format="%.17g")
        script = Path(tmp, "cox.R")
        script.write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", str(script), str(csv), str(repeats)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        print(f"R failed: {proc.stderr[-500:]}")
        return None
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    data = make_data(args.rows)
    t0 = time.perf_counter()
    import analyses.survival  # noqa: F401  (imports are not part of a fit)

    imports = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = fit(data)
    cold = time.perf_counter() - t0
    warm_times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = fit(data)
        warm_times.append(time.perf_counter() - t0)
    warm = statistics.median(warm_times)
    rows = args.rows
    print(
        f"Cox, {rows:,} rows, 3 covariates, 4 strata, Efron (imports {imports:.2f} s)"
    )
    print(f"  in-process cold: {cold:6.2f} s  {rows / cold:12,.0f} rows/s")
    print(
        f"  in-process warm: {warm:6.2f} s  {rows / warm:12,.0f} rows/s "
        f"(median of {args.repeats}: {', '.join(f'{t:.2f}' for t in warm_times)})"
    )
    print("  CLI: none (no trialdata command fits a Cox model)")
    if args.no_r:
        return
    r = run_r(data, args.repeats)
    if r is None:
        return
    r_times = [float(t) for t in r["times"]]  # type: ignore[attr-defined]
    r_cold, r_warm = r_times[0], statistics.median(r_times[1:])
    print(f"  R coxph cold:    {r_cold:6.2f} s  {rows / r_cold:12,.0f} rows/s")
    print(f"  R coxph warm:    {r_warm:6.2f} s  {rows / r_warm:12,.0f} rows/s")
    print(f"  ratio R / Python: cold {r_cold / cold:.2f}, warm {r_warm / warm:.2f}")
    coef = np.asarray(res.coef)  # type: ignore[attr-defined]
    pairs = {
        "coef": (coef, np.asarray(r["coef"])),
        "se": (np.asarray(res.se), np.asarray(r["se"])),  # type: ignore[attr-defined]
        "loglik": (res.loglik_model, r["loglik"]),  # type: ignore[attr-defined]
        "concordance": (res.concordance, r["concordance"]),  # type: ignore[attr-defined]
    }
    worst = 0.0
    for name, (ours, theirs) in pairs.items():
        a, b = np.atleast_1d(ours).astype(float), np.atleast_1d(theirs).astype(float)
        rel = float(np.max(np.abs(a - b) / np.abs(b)))
        worst = max(worst, rel)
        print(f"  {name:<12} max relative difference to R {rel:.1e}")
    print(f"  same numbers to 1e-8 relative: {'yes' if worst <= 1e-8 else 'NO'}")
    if worst > 1e-8:
        sys.exit(1)


if __name__ == "__main__":
    main()
