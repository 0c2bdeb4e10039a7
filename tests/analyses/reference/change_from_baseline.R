# Reference values for tests/analyses/immunomonitoring/test_ancova.py and test_mmrm.py:
# ANCOVA (lm) and MMRM (nlme::gls, unstructured covariance, REML) with LS means and
# their differences from emmeans.
#
# Run from this folder: Rscript change_from_baseline.R  (writes change_from_baseline.json)
# Debian bookworm packages: r-base-core, r-cran-nlme, r-cran-emmeans, r-cran-jsonlite
# (numDeriv comes with emmeans).
#
# The datasets are simulated here with a fixed seed, rounded to one decimal, and written
# inline into the JSON: the tests fit exactly these rows.
#
# MMRM: gls(change ~ baseline * visit + group * visit,
#           correlation = corSymm(form = ~ visit_index | subject),
#           weights = varIdent(form = ~ 1 | visit), method = "REML")
# is the unstructured covariance (one variance per visit, one correlation per pair).
# glsControl(natural = FALSE) makes nlme report apVar (the inverse of its numerical
# Hessian of the REML log-likelihood) in the parameters emmeans differentiates, so
# emmeans(mode = "satterthwaite") uses its analytic Satterthwaite method; with the
# default natural = TRUE emmeans prints "Analytical Satterthwaite method not
# available; using appx-satterthwaite" and estimates the gradient from refits to
# randomly perturbed responses, so the degrees of freedom change from run to run.
# natural = FALSE changes no estimate.
#
# Optimiser: gls' default, nlminb with its relative function tolerance 1e-10 (msTol
# does not reach it), stops up to 2e-8 short of the maximum REML log-likelihood on
# these data, which moves small coefficients by up to 1e-4 (relative). The reference
# is therefore the fit by optim's BFGS with reltol = msTol = 1e-14 (gls passes msTol to
# optim), whose log-likelihood is the maximum to about 1e-11; the default fit's
# log-likelihood and estimates are recorded as `nlminb_default` for comparison.
#
# Satterthwaite df: emmeans takes the covariance of the covariance parameters from
# gls' apVar, the inverse of nlme::fdHess's finite-difference Hessian (step
# eps^(1/3) relative, at least 0.05 * eps^(1/3)); its rounding error moves these df by
# up to 0.5%. `emmeans_accurate_hessian` repeats emmeans with apVar from
# numDeriv::hessian (Richardson extrapolation) in place of fdHess, the same formula
# with an accurate Hessian: the df the tests hold the Python code to (1e-5), while
# the default df are held to the fdHess error (1e-2).
suppressMessages({
  library(nlme)
  library(emmeans)
  library(jsonlite)
})
emm_options(opt.digits = FALSE)

round1 <- function(x) round(x, 1)

# ----------------------------------------------------------------- ANCOVA data
simulate_ancova <- function(seed, n_per_group, effects, sex = TRUE, n_missing = 0) {
  set.seed(seed)
  groups <- names(effects)
  group <- rep(groups, times = n_per_group)
  n <- length(group)
  baseline <- round1(rnorm(n, 50, 8))
  sexes <- if (sex) sample(c("F", "M"), n, replace = TRUE, prob = c(0.6, 0.4)) else NULL
  change <- -2 - 0.3 * (baseline - 50) + effects[group] + rnorm(n, 0, 5)
  if (sex) change <- change + ifelse(sexes == "M", 1.5, 0)
  change <- round1(change)
  if (n_missing > 0) change[sample.int(n, n_missing)] <- NA
  d <- data.frame(subject = sprintf("S%03d", seq_len(n)), group = group,
                  baseline = baseline, change = change)
  if (sex) d$sex <- sexes
  d
}

emm_frame <- function(emm) {
  s <- as.data.frame(summary(emm, infer = c(TRUE, TRUE)))
  s
}

pairs_frame <- function(emm, ...) {
  p <- pairs(emm, ...)
  s <- as.data.frame(summary(p, infer = c(TRUE, TRUE)))
  s
}

ancova_case <- function(id, d, formula_text, weights = "equal", covariates = character()) {
  d$group <- factor(d$group, levels = unique(d$group))
  if ("sex" %in% names(d)) d$sex <- factor(d$sex, levels = c("F", "M"))
  fit <- lm(as.formula(formula_text), data = d)
  emm <- emmeans(fit, ~ group, weights = weights)
  list(
    id = id,
    r_call = sprintf("fit <- lm(%s, data); emm <- emmeans(fit, ~ group, weights = \"%s\"); pairs(emm); pairs(emm, adjust = \"none\"); pairs(emm, reverse = TRUE)",
                     formula_text, weights),
    inputs = list(
      formula = formula_text, weights = weights, covariates = I(covariates),
      group_levels = levels(d$group),
      data = d
    ),
    expected = list(
      coefficients = as.list(coef(fit)),
      vcov = unname(vcov(fit)),
      coef_names = names(coef(fit)),
      sigma = summary(fit)$sigma,
      df_residual = fit$df.residual,
      emmeans = emm_frame(emm),
      pairs_tukey = pairs_frame(emm),
      pairs_none = pairs_frame(emm, adjust = "none"),
      pairs_reverse_tukey = pairs_frame(emm, reverse = TRUE)
    )
  )
}

a1 <- simulate_ancova(101, c(15, 17, 16), c(Placebo = 0, Low = -2.5, High = -5),
                      sex = TRUE, n_missing = 3)
a2 <- simulate_ancova(202, c(14, 16), c(Control = 0, Active = -3), sex = FALSE)

ancova <- list(
  ancova_case("ancova_3arm_sex_equal", a1, "change ~ baseline + group + sex",
              "equal", c("sex")),
  ancova_case("ancova_3arm_sex_proportional", a1, "change ~ baseline + group + sex",
              "proportional", c("sex")),
  ancova_case("ancova_2arm", a2, "change ~ baseline + group", "equal")
)

# ------------------------------------------------------------------- MMRM data
simulate_mmrm <- function(seed, n, groups, visits, effects, S, p_drop, p_skip) {
  set.seed(seed)
  group <- rep(groups, length.out = n)
  baseline <- round1(rnorm(n, 50, 8))
  L <- chol(S)
  nv <- length(visits)
  rows <- list()
  for (i in seq_len(n)) {
    e <- as.vector(rnorm(nv) %*% L)
    mu <- -1 - 0.3 * (baseline[i] - 50) - 0.5 * (seq_len(nv) - 1) +
      effects[[group[i]]]
    y <- round1(mu + e)
    last <- if (runif(1) < p_drop) sample(seq_len(nv - 1), 1) else nv
    for (v in seq_len(last)) {
      if (v > 1 && v < last && runif(1) < p_skip) next   # intermittent missing
      rows[[length(rows) + 1]] <- data.frame(
        subject = sprintf("S%03d", i), group = group[i], baseline = baseline[i],
        visit = visits[v], visit_index = v, change = y[v])
    }
  }
  do.call(rbind, rows)
}

mmrm_fit <- function(d, converged = TRUE) {
  ctrl <- if (converged) {
    glsControl(natural = FALSE, opt = "optim", optimMethod = "BFGS",
               msTol = 1e-14, msMaxIter = 1000)
  } else {
    glsControl(natural = FALSE)
  }
  gls(change ~ baseline * visit + group * visit, data = d,
      correlation = corSymm(form = ~ visit_index | subject),
      weights = varIdent(form = ~ 1 | visit), method = "REML", control = ctrl)
}

# nlme::fdHess replaced by numDeriv's Richardson Hessian while `expr` runs
with_accurate_hessian <- function(expr) {
  original <- nlme::fdHess
  accurate <- function(pars, fun, ..., .relStep, minAbsPar) {
    args <- list(...)
    list(Hessian = numDeriv::hessian(function(p) do.call(fun, c(list(p), args)), pars))
  }
  assignInNamespace("fdHess", accurate, "nlme")
  on.exit(assignInNamespace("fdHess", original, "nlme"))
  force(expr)
}

mmrm_case <- function(id, d) {
  d$group <- factor(d$group, levels = unique(d$group))
  d$visit <- factor(d$visit, levels = unique(d$visit[order(d$visit_index)]))
  fit <- mmrm_fit(d)
  default_fit <- mmrm_fit(d, converged = FALSE)
  accurate_fit <- with_accurate_hessian(mmrm_fit(d))
  emm_acc <- emmeans(accurate_fit, ~ group | visit, mode = "satterthwaite", data = d)
  emm <- emmeans(fit, ~ group | visit, mode = "satterthwaite", data = d)
  full <- names(which.max(table(d$subject)))
  list(
    id = id,
    r_call = paste(
      "fit <- gls(change ~ baseline * visit + group * visit, data,",
      "correlation = corSymm(form = ~ visit_index | subject),",
      "weights = varIdent(form = ~ 1 | visit), method = \"REML\",",
      "control = glsControl(natural = FALSE, opt = \"optim\", optimMethod = \"BFGS\",",
      "msTol = 1e-14, msMaxIter = 1000));",
      "emm <- emmeans(fit, ~ group | visit, mode = \"satterthwaite\", data = data);",
      "pairs(emm); pairs(emm, adjust = \"none\")"),
    inputs = list(
      group_levels = levels(d$group),
      visit_levels = levels(d$visit),
      data = d
    ),
    expected = list(
      coefficients = as.list(coef(fit)),
      coef_names = names(coef(fit)),
      vcov = unname(vcov(fit)),
      sigma = fit$sigma,
      logLik_reml = as.numeric(logLik(fit)),
      covariance = matrix(as.numeric(getVarCov(fit, individual = full)), nrow = nlevels(d$visit)),
      apVar = unname(fit$apVar),
      emmeans = emm_frame(emm),
      pairs_tukey = pairs_frame(emm),
      pairs_none = pairs_frame(emm, adjust = "none"),
      emmeans_accurate_hessian = list(
        note = "apVar from numDeriv::hessian instead of nlme::fdHess",
        emmeans = emm_frame(emm_acc),
        pairs_tukey = pairs_frame(emm_acc)
      ),
      nlminb_default = list(
        note = "glsControl(natural = FALSE): gls' default optimiser nlminb",
        logLik_reml = as.numeric(logLik(default_fit)),
        coefficients = as.list(coef(default_fit))
      )
    )
  )
}

S3 <- matrix(c(36, 22, 18,
               22, 49, 30,
               18, 30, 64), 3)
m1 <- simulate_mmrm(20240518, 40, c("Placebo", "Active"), c("W4", "W8", "W12"),
                    list(Placebo = c(0, 0, 0), Active = c(-2, -4, -6)), S3,
                    p_drop = 0.25, p_skip = 0)
S4 <- matrix(c(25, 15, 12, 10,
               15, 36, 20, 16,
               12, 20, 49, 28,
               10, 16, 28, 64), 4)
m2 <- simulate_mmrm(77, 45, c("Placebo", "Low", "High"), c("M1", "M3", "M6", "M12"),
                    list(Placebo = c(0, 0, 0, 0), Low = c(-1, -2, -3, -3),
                         High = c(-2, -4, -5, -6)), S4,
                    p_drop = 0.3, p_skip = 0.1)

mmrm <- list(
  mmrm_case("mmrm_2arm_3visit_dropout", m1),
  mmrm_case("mmrm_3arm_4visit_intermittent", m2)
)

ref <- list(
  generated_by = "tests/analyses/reference/change_from_baseline.R",
  r_version = R.version.string,
  package_versions = list(
    nlme = as.character(packageVersion("nlme")),
    emmeans = as.character(packageVersion("emmeans")),
    numDeriv = as.character(packageVersion("numDeriv")),
    jsonlite = as.character(packageVersion("jsonlite"))
  ),
  conventions = list(
    contrasts = "treatment (R default contr.treatment), first factor level is the reference",
    emmeans = "numeric covariates at their mean over the rows fitted; factor covariates averaged with the weights named in the case",
    pairs = "emmeans pairs(): level i - level j for i < j (reverse = TRUE: j - i), Tukey adjustment by default (family = the groups, per visit for the MMRM)",
    df = "ANCOVA: residual df; MMRM: Satterthwaite (emmeans mode = \"satterthwaite\" for gls)"
  ),
  ancova = ancova,
  mmrm = mmrm
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null",
                  dataframe = "columns", matrix = "rowmajor"),
           "change_from_baseline.json")
