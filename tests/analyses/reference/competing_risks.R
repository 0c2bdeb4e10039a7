# Reference values for analyses/survival competing risks:
#   estimate_cumulative_incidence  <- survival::survfit(Surv(time, factor(status)) ~ group)
#   compare_cumulative_incidence   <- cmprsk::cuminc (Gray's test; Gray's variance)
#   estimate_fine_gray             <- cmprsk::crr (+ predict.crr)
#
# Regenerate from the repository root:
#   Rscript tests/analyses/reference/competing_risks.R
# It writes competing_risks.json next to this script. Every input dataset is written
# inline into the JSON (survival::mgus2 as competing risks; a simulated AML-like
# trial; a tiny hand-made set with ties across causes and censorings; the AML demo
# trial of docs/survival.md). Tested by tests/analyses/survival/test_competing_risks.py.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "competing_risks.json")

# ---------------------------------------------------------------- datasets
# mgus2: progression to plasma-cell malignancy (PCM) vs death without PCM, as in
# the survival package's "compete" vignette. Times in months.
mg <- survival::mgus2
mg$etime <- with(mg, ifelse(pstat == 0, futime, ptime))
mg$event <- with(mg, ifelse(pstat == 0, 2 * death, 1))
mg$event <- factor(mg$event, 0:2, labels = c("censor", "pcm", "death"))
mgus2 <- data.frame(
  id = mg$id, age = mg$age, sex = as.character(mg$sex), hgb = mg$hgb,
  mspike = mg$mspike, etime = mg$etime, event = as.character(mg$event),
  agegrp = as.character(cut(mg$age, c(0, 60, 75, Inf),
                            labels = c("<=60", "61-75", ">75"))),
  stringsAsFactors = FALSE
)

# A simulated AML-like trial: relapse vs death without relapse, 3 dose levels, two
# routes, follow-up in days rounded up to whole weeks (many ties, also across
# causes and with censorings).
set.seed(20240518)
n <- 90
dose <- sample(1:3, n, replace = TRUE)
route <- sample(c("IV", "IT"), n, replace = TRUE)
age <- round(rnorm(n, 60, 10))
t_rel <- rexp(n, 0.004 * exp(-0.4 * (dose - 1) + 0.3 * (route == "IT")))
t_death <- rexp(n, 0.0015 * exp(0.03 * (age - 60)))
t_cens <- runif(n, 60, 720)
first <- pmin(t_rel, t_death, t_cens)
aml <- data.frame(
  subject = sprintf("S%03d", 1:n),
  dose_level = dose, route = route, age = age,
  days = ceiling(first / 7) * 7,
  status = ifelse(t_cens == first, "censored",
                  ifelse(t_rel == first, "relapse", "death")),
  stringsAsFactors = FALSE
)

# Tiny: ties of both causes and a censoring at one time; the last time is an event.
tiny <- data.frame(
  time   = c(1, 2, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9),
  status = c(1, 2, 1, 0, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1),
  group  = c("A", "A", "B", "B", "A", "B", "A", "B", "A", "B", "A", "B", "A", "B"),
  stringsAsFactors = FALSE
)

# The AML demo trial of docs/survival.md (`trialdata demo demo-trial --archetype
# nk-aml --seed 3`): PFS of the safety population split by
# derive_competing_events into relapse and death without relapse.
aml_demo <- data.frame(
  subject = c("NK-001", "NK-002", "NK-003", "NK-004", "NK-005", "NK-006", "NK-007",
              "NK-008", "NK-009", "NK-010", "NK-011", "NK-012"),
  dose_level = c(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3),
  AVAL = c(271, 183, 366, 89, 31, 182, 190, 181, 179, 272, 367, 130),
  CAUSE = c("RELAPSE", "RELAPSE", "CENSORED", "DEATH WITHOUT RELAPSE", "CENSORED",
            "RELAPSE", "DEATH WITHOUT RELAPSE", "RELAPSE", "RELAPSE", "RELAPSE",
            "CENSORED", "DEATH WITHOUT RELAPSE"),
  stringsAsFactors = FALSE
)

datasets <- list(mgus2 = mgus2, aml_sim = aml, tiny = tiny, aml_demo = aml_demo)

# ------------------------------------------------------------------- helpers
mat <- function(m, like = NULL) {
  # R's arcsin interval comes back without dim (pmax keeps the first argument's)
  if (is.null(dim(m)) && !is.null(like)) m <- matrix(m, nrow(like), ncol(like))
  unname(lapply(seq_len(ncol(m)), function(j) m[, j]))
}

aj_case <- function(name, data, dataset, time, status, cencode, by = NULL,
                    conf.type = "log", conf.int = 0.95) {
  # causes in sorted order (C locale, as Python sorts), censoring first
  lev <- c(cencode, sort(setdiff(unique(data[[status]]), cencode), method = "radix"))
  st <- factor(data[[status]], levels = lev)
  grp <- if (is.null(by)) rep("all", nrow(data)) else data[[by]]
  fit <- survfit(Surv(data[[time]], st) ~ grp, conf.type = conf.type,
                 conf.int = conf.int)
  strata <- if (is.null(fit$strata)) c(all = length(fit$time)) else fit$strata
  list(
    name = name, kind = "survfit", dataset = dataset,
    r_call = sprintf(
      "survfit(Surv(%s, factor(%s, levels = c(%s))) ~ %s, conf.type = \"%s\", conf.int = %g)",
      time, status, paste0("\"", lev, "\"", collapse = ", "),
      if (is.null(by)) "1" else by, conf.type, conf.int),
    args = list(time = time, status = status, cencode = cencode, by = by,
                conf_type = conf.type, conf_level = conf.int),
    expected = list(
      states = fit$states,
      strata = unname(as.list(strata)),
      strata_names = sub("^grp=", "", names(strata)),
      time = fit$time,
      n_risk = fit$n.risk[, 1],
      n_event = mat(fit$n.event),
      n_censor = fit$n.censor,
      pstate = mat(fit$pstate),
      std_err = mat(fit$std.err),
      lower = mat(fit$lower, fit$pstate),
      upper = mat(fit$upper, fit$pstate)
    )
  )
}

gray_case <- function(name, data, dataset, time, status, cencode, by,
                      strata = NULL, rho = 0, times) {
  ci <- if (is.null(strata)) {
    cuminc(data[[time]], data[[status]], data[[by]], rho = rho, cencode = cencode)
  } else {
    cuminc(data[[time]], data[[status]], data[[by]], data[[strata]], rho = rho,
           cencode = cencode)
  }
  tp <- timepoints(ci, times)
  tests <- ci$Tests
  list(
    name = name, kind = "cuminc", dataset = dataset,
    r_call = sprintf("cuminc(%s, %s, %s%s, rho = %g, cencode = \"%s\")",
                     time, status, by,
                     if (is.null(strata)) "" else paste0(", ", strata),
                     rho, cencode),
    args = list(time = time, status = status, cencode = cencode, by = by,
                strata = strata, rho = rho, times = times),
    expected = list(
      causes = rownames(tests),
      stat = unname(tests[, "stat"]),
      p_value = unname(tests[, "pv"]),
      df = unname(tests[, "df"]),
      curves = rownames(tp$est),
      est = mat(t(tp$est)),
      var = mat(t(tp$var))
    )
  )
}

crr_case <- function(name, data, dataset, time, status, failcode, cencode,
                     covariates, factors = character(0), reference = list(),
                     cengroup = NULL, newdata = NULL) {
  # covariate matrix as R's model.matrix codes it (treatment contrasts), but
  # keeping rows with missing values so that crr's own na.omit drops them
  cols <- list()
  for (v in covariates) {
    if (v %in% factors) {
      lv <- sort(unique(data[[v]]), method = "radix")  # C locale
      ref <- if (!is.null(reference[[v]])) reference[[v]] else lv[1]
      for (l in setdiff(lv, ref)) cols[[paste0(v, l)]] <- as.numeric(data[[v]] == l)
    } else cols[[v]] <- as.numeric(data[[v]])
  }
  cov1 <- do.call(cbind, cols)
  fit <- if (is.null(cengroup)) {
    crr(data[[time]], data[[status]], cov1, failcode = failcode, cencode = cencode)
  } else {
    crr(data[[time]], data[[status]], cov1, cengroup = data[[cengroup]],
        failcode = failcode, cencode = cencode)
  }
  se <- sqrt(diag(fit$var))
  z <- fit$coef / se
  s <- summary(fit)
  pred <- NULL
  if (!is.null(newdata)) {
    nd <- do.call(rbind, lapply(newdata, function(r) unlist(r[colnames(cov1)])))
    p <- predict(fit, nd)
    pred <- list(rows = newdata, time = unname(p[, 1]), cif = mat(p[, -1, drop = FALSE]))
  }
  list(
    name = name, kind = "crr", dataset = dataset,
    r_call = sprintf("crr(%s, %s, cov1 = cbind(%s)%s, failcode = \"%s\", cencode = \"%s\")",
                     time, status, paste(colnames(cov1), collapse = ", "),
                     if (is.null(cengroup)) "" else paste0(", cengroup = ", cengroup),
                     failcode, cencode),
    args = list(time = time, status = status, failcode = failcode, cencode = cencode,
                covariates = covariates, factors = factors, reference = reference,
                cengroup = cengroup),
    expected = list(
      terms = colnames(cov1),
      coef = unname(fit$coef),
      se = unname(se),
      se_naive = unname(sqrt(diag(fit$invinf))),
      z = unname(z),
      p_value = unname(2 * pnorm(-abs(z))),
      hr = unname(exp(fit$coef)),
      hr_lower = unname(s$conf.int[, 3]),
      hr_upper = unname(s$conf.int[, 4]),
      var = mat(fit$var),
      inf = mat(fit$inf),
      score = unname(fit$score),
      loglik = fit$loglik,
      loglik_null = fit$loglik.null,
      lr_test = unname(s$logtest["test"]),
      converged = fit$converged,
      n = fit$n,
      n_missing = fit$n.missing,
      uftime = fit$uftime,
      bfitj = fit$bfitj,
      predict = pred
    )
  )
}

# --------------------------------------------------------------------- cases
cases <- list(
  aj_case("mgus2_aj_by_sex", mgus2, "mgus2", "etime", "event", "censor", by = "sex"),
  aj_case("mgus2_aj_all_loglog", mgus2, "mgus2", "etime", "event", "censor",
          conf.type = "log-log"),
  aj_case("aml_aj_by_dose_loglog90", aml, "aml_sim", "days", "status", "censored",
          by = "dose_level", conf.type = "log-log", conf.int = 0.90),
  aj_case("aml_aj_plain", aml, "aml_sim", "days", "status", "censored",
          conf.type = "plain"),
  aj_case("tiny_aj_by_group_logit", tiny, "tiny", "time", "status", 0,
          by = "group", conf.type = "logit"),
  aj_case("tiny_aj_arcsin", tiny, "tiny", "time", "status", 0, conf.type = "arcsin"),
  aj_case("aml_demo_aj_all", aml_demo, "aml_demo", "AVAL", "CAUSE", "CENSORED"),
  aj_case("aml_demo_aj_by_dose", aml_demo, "aml_demo", "AVAL", "CAUSE", "CENSORED",
          by = "dose_level", conf.type = "log-log"),
  gray_case("aml_demo_gray_by_dose", aml_demo, "aml_demo", "AVAL", "CAUSE", "CENSORED",
            "dose_level", times = c(180, 365)),
  crr_case("aml_demo_crr_relapse", aml_demo, "aml_demo", "AVAL", "CAUSE", "RELAPSE",
           "CENSORED", "dose_level", newdata = list(list(dose_level = 1),
                                                    list(dose_level = 3))),
  gray_case("mgus2_gray_by_sex", mgus2, "mgus2", "etime", "event", "censor", "sex",
            times = c(12, 60, 120, 240, 360)),
  gray_case("mgus2_gray_by_sex_strata_agegrp", mgus2, "mgus2", "etime", "event",
            "censor", "sex", strata = "agegrp", times = c(24, 120)),
  gray_case("aml_gray_by_dose_strata_route", aml, "aml_sim", "days", "status",
            "censored", "dose_level", strata = "route", times = c(91, 182, 364)),
  gray_case("aml_gray_by_dose_rho1", aml, "aml_sim", "days", "status", "censored",
            "dose_level", rho = 1, times = c(91, 182, 364)),
  gray_case("tiny_gray_by_group", tiny, "tiny", "time", "status", 0, "group",
            times = c(2, 4, 6, 8, 9)),
  crr_case("mgus2_crr_pcm", mgus2, "mgus2", "etime", "event", "pcm", "censor",
           c("age", "sex", "hgb"), factors = "sex",
           newdata = list(list(age = 60, sexM = 0, hgb = 13),
                          list(age = 75, sexM = 1, hgb = 11))),
  crr_case("mgus2_crr_death_agegrp", mgus2, "mgus2", "etime", "event", "death",
           "censor", c("agegrp", "sex", "mspike"), factors = c("agegrp", "sex"),
           reference = list(agegrp = "<=60")),
  crr_case("aml_crr_relapse", aml, "aml_sim", "days", "status", "relapse",
           "censored", c("dose_level", "age", "route"),
           factors = c("dose_level", "route"), reference = list(route = "IV"),
           newdata = list(list(dose_level2 = 0, dose_level3 = 0, age = 60, routeIT = 0),
                          list(dose_level2 = 0, dose_level3 = 1, age = 50, routeIT = 1))),
  crr_case("aml_crr_death_cengroup_route", aml, "aml_sim", "days", "status", "death",
           "censored", c("age", "dose_level"), cengroup = "route"),
  crr_case("tiny_crr_group", tiny, "tiny", "time", "status", 1, 0, c("group"),
           factors = "group")
)

out <- list(
  generated_by = "tests/analyses/reference/competing_risks.R",
  r_version = R.version.string,
  packages = list(
    survival = as.character(packageVersion("survival")),
    cmprsk = as.character(packageVersion("cmprsk")),
    jsonlite = as.character(packageVersion("jsonlite"))
  ),
  tolerance = paste(
    "relative 1e-6 (|actual - expected| <= 1e-6 |expected| + 1e-12);",
    "counts, times, df and convergence exact; R NA <=> NaN"),
  datasets = datasets,
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null",
                  dataframe = "columns", null = "null", pretty = FALSE),
           out_path)
cat("wrote", out_path, "\n")
