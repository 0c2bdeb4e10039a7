# Is our Cox estimate R's maximum too? Fits the benchmark data (write it and our
# coefficients first: see benchmarks/cox.py make_data / fit; /tmp/coxcheck/d.csv and
# py.json) with coxph, then asks R for the score test and one Newton step at both
# estimates. Run: Rscript benchmarks/r/cox_fixed_point.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- read.csv("/tmp/coxcheck/d.csv")
py <- fromJSON("/tmp/coxcheck/py.json")$beta
fm <- Surv(time, status) ~ x1 + x2 + x3 + strata(grp)
fit <- coxph(fm, data=d, ties="efron", control=coxph.control(eps=1e-12, iter.max=30))
rb <- as.numeric(coef(fit))
for (b in list(py, rb)) { g <- coxph(fm, data=d, ties="efron", init=b, control=coxph.control(iter.max=0)); cat(sprintf("score test at init: %.6g  one Newton step from it: ", g$score)); g1 <- coxph(fm, data=d, ties="efron", init=b, control=coxph.control(iter.max=1, eps=1e-300)); cat(sprintf("%.17g ", coef(g1)), "\n") }
