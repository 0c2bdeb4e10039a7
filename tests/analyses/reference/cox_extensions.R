# Reference values for the Cox extensions of analyses.survival:
# counting-process (start, stop] data and tmerge, robust (sandwich) variance with
# clusters, cox.zph with each transform, basehaz and survfit(fit, newdata).
#
# Run from the repository root:
#   Rscript tests/analyses/reference/cox_extensions.R
# writes tests/analyses/reference/cox_extensions.json beside this script.
#
# Datasets: survival::lung (= lifelines.datasets.load_lung(), status - 1) by name;
# survival::heart (jasa1) and the small tmerge example are written inline.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "cox_extensions.json")

num <- function(x) unname(as.numeric(x))
mat <- function(m) unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))

cox_summary <- function(fit) {
  s <- summary(fit)
  res <- list(
    terms = names(coef(fit)),
    coef = num(coef(fit)),
    se = num(sqrt(diag(fit$var))),
    var = mat(fit$var),
    loglik_null = fit$loglik[1],
    loglik_model = fit$loglik[2],
    lr_test = num(s$logtest["test"]),
    wald_test = num(fit$wald.test),
    score_test = num(fit$score),
    n = fit$n,
    nevent = fit$nevent,
    concordance = num(fit$concordance["concordance"])
  )
  if (!is.null(fit$naive.var)) {
    res$naive_se <- num(sqrt(diag(fit$naive.var)))
    res$robust_score_test <- num(fit$rscore)
    res$robust_score_p <- num(s$robscore["pvalue"])
    res$wald_p <- num(s$waldtest["pvalue"])
    res$z <- num(s$coefficients[, "z"])
    res$p <- num(s$coefficients[, "Pr(>|z|)"])
  }
  res
}

zph_table <- function(z) {
  list(terms = rownames(z$table), chisq = num(z$table[, "chisq"]),
       df = num(z$table[, "df"]), p = num(z$table[, "p"]))
}

curve <- function(sf) {
  res <- list(time = num(sf$time), n_risk = num(sf$n.risk),
              n_event = num(sf$n.event), cumhaz = sf$cumhaz, surv = sf$surv)
  if (!is.null(sf$std.err)) {
    res$std_err <- sf$std.err
    res$lower <- sf$lower
    res$upper <- sf$upper
  }
  if (!is.null(sf$strata)) res$strata <- as.list(sf$strata)
  res <- lapply(res, function(v) if (is.matrix(v)) mat(t(v)) else v)
  res
}

cases <- list()
add <- function(id, r_call, expected, ...) {
  cases[[length(cases) + 1]] <<- c(list(id = id, r_call = r_call), list(...),
                                   list(expected = expected))
}

# --- datasets --------------------------------------------------------------
lung1 <- lung
lung1$status <- lung1$status - 1          # 0/1, as lifelines' load_lung
lung_inst <- subset(lung1, !is.na(inst))
lung_ecog <- subset(lung1, !is.na(ph.ecog))
lung_ecog3 <- subset(lung1, !is.na(ph.ecog) & ph.ecog < 3)
lung_ecog3$ecog <- factor(lung_ecog3$ph.ecog)

base <- data.frame(
  id = 1:24,
  futime = c(120, 45, 300, 210, 365, 90, 150, 400, 60, 240, 330, 180, 75, 275,
             500, 30, 220, 160, 410, 95, 345, 130, 260, 190),
  status = c(1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1,
             0, 1),
  age = c(54, 61, 47, 70, 39, 66, 58, 44, 72, 50, 63, 57, 68, 49, 41, 74, 52,
          60, 45, 69, 55, 62, 48, 59))
gvhd <- data.frame(
  id = c(1, 3, 4, 6, 8, 10, 12, 14, 16, 17, 19, 21, 23),
  day = c(30, 100, 210, 20, 150, 60, 90, 200, 0, 40, 300, 100, 700))
mrd <- data.frame(
  id = c(1, 1, 2, 3, 5, 5, 7, 9, 11, 13, 15, 15, 18, 20, 22, 24, 24),
  day = c(28, 90, 28, 28, 28, 180, 28, 28, 28, 28, 28, 200, 28, 28, 28, 28, 100),
  value = c(1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0))
td <- tmerge(base, base, id = id, death = event(futime, status))
td <- tmerge(td, gvhd, id = id, gvhd = tdc(day))
td <- tmerge(td, mrd, id = id, mrd = tdc(day, value))
td_cc <- subset(td, !is.na(mrd))

datasets <- list(
  lung = "survival::lung with status - 1 (0/1): lifelines.datasets.load_lung()",
  heart = as.list(heart[, c("start", "stop", "event", "age", "year", "surgery",
                            "transplant", "id")]),
  tmerge_base = as.list(base),
  tmerge_gvhd = as.list(gvhd),
  tmerge_mrd = as.list(mrd)
)

# --- counting process ------------------------------------------------------
heart_form <- Surv(start, stop, event) ~ age + year + surgery + transplant
for (ties in c("efron", "breslow")) {
  fit <- coxph(heart_form, data = heart, ties = ties)
  add(paste0("heart_cp_", ties),
      sprintf("coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, heart, ties='%s')", ties),
      cox_summary(fit), dataset = "heart", ties = ties)
}
fit <- coxph(Surv(start, stop, event) ~ age + surgery + transplant, data = heart,
             cluster = id)
add("heart_cp_cluster_id",
    "coxph(Surv(start, stop, event) ~ age + surgery + transplant, heart, cluster = id)",
    cox_summary(fit), dataset = "heart", ties = "efron")

add("tmerge_rows",
    "td <- tmerge(base, base, id=id, death=event(futime, status)); td <- tmerge(td, gvhd, id=id, gvhd=tdc(day)); td <- tmerge(td, mrd, id=id, mrd=tdc(day, value))",
    as.list(td[, c("id", "tstart", "tstop", "death", "gvhd", "mrd")]),
    dataset = "tmerge")
fit <- coxph(Surv(tstart, tstop, death) ~ age + gvhd + mrd, data = td)
add("tmerge_cp_efron", "coxph(Surv(tstart, tstop, death) ~ age + gvhd + mrd, td)",
    cox_summary(fit), dataset = "tmerge", ties = "efron")

# --- robust variance -------------------------------------------------------
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ age + sex, data = lung_inst, cluster = inst,
               ties = ties)
  add(paste0("lung_cluster_inst_", ties),
      sprintf("coxph(Surv(time, status) ~ age + sex, subset(lung, !is.na(inst)), cluster = inst, ties='%s')", ties),
      cox_summary(fit), dataset = "lung_inst", ties = ties)
}
fit <- coxph(Surv(time, status) ~ age + sex + ph.karno, data = lung1, robust = TRUE)
add("lung_robust_noncluster",
    "coxph(Surv(time, status) ~ age + sex + ph.karno, lung, robust = TRUE)",
    cox_summary(fit), dataset = "lung", ties = "efron")
fit <- coxph(Surv(time, status) ~ age + sex + strata(ph.ecog), data = subset(lung_inst, !is.na(ph.ecog)),
             cluster = inst)
add("lung_cluster_inst_strata",
    "coxph(Surv(time, status) ~ age + sex + strata(ph.ecog), subset(lung, !is.na(inst) & !is.na(ph.ecog)), cluster = inst)",
    cox_summary(fit), dataset = "lung_inst_ecog", ties = "efron")

# --- cox.zph ---------------------------------------------------------------
fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung_ecog)
for (tr in c("km", "rank", "identity", "log")) {
  add(paste0("lung_zph_", tr),
      sprintf("cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, subset(lung, !is.na(ph.ecog))), transform='%s')", tr),
      zph_table(cox.zph(fit, transform = tr)), dataset = "lung_ecog", ties = "efron",
      transform = tr)
}
fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung_ecog, ties = "breslow")
add("lung_zph_km_breslow",
    "cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, subset(lung, !is.na(ph.ecog)), ties='breslow'))",
    zph_table(cox.zph(fit)), dataset = "lung_ecog", ties = "breslow", transform = "km")
fit <- coxph(Surv(time, status) ~ age + sex + ecog, data = lung_ecog3)
add("lung_zph_factor_term",
    "cox.zph(coxph(Surv(time, status) ~ age + sex + factor(ph.ecog), subset(lung, ph.ecog < 3)))",
    zph_table(cox.zph(fit)), dataset = "lung_ecog3", ties = "efron", transform = "km")
fit <- coxph(Surv(time, status) ~ age + sex + strata(ph.ecog), data = lung_ecog)
add("lung_zph_strata_rank",
    "cox.zph(coxph(Surv(time, status) ~ age + sex + strata(ph.ecog), subset(lung, !is.na(ph.ecog))), transform='rank')",
    zph_table(cox.zph(fit, transform = "rank")), dataset = "lung_ecog", ties = "efron",
    transform = "rank")
fit <- coxph(heart_form, data = heart)
for (tr in c("km", "identity")) {
  add(paste0("heart_zph_", tr),
      sprintf("cox.zph(coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, heart), transform='%s')", tr),
      zph_table(cox.zph(fit, transform = tr)), dataset = "heart", ties = "efron",
      transform = tr)
}

# --- basehaz and survfit(newdata) ------------------------------------------
newdata <- data.frame(age = c(50, 70), sex = c(1, 2))
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ age + sex, data = lung1, ties = ties)
  bc <- basehaz(fit, centered = TRUE)
  bu <- basehaz(fit, centered = FALSE)
  add(paste0("lung_basehaz_", ties),
      sprintf("basehaz(coxph(Surv(time, status) ~ age + sex, lung, ties='%s'), centered=TRUE/FALSE)", ties),
      list(time = bc$time, hazard_centered = bc$hazard, hazard_uncentered = bu$hazard,
           means = num(fit$means)),
      dataset = "lung", ties = ties)
  for (ct in c("log", "log-log")) {
    sf <- survfit(fit, newdata = newdata, conf.type = ct)
    add(paste0("lung_survfit_newdata_", ties, "_", gsub("-", "", ct)),
        sprintf("survfit(coxph(Surv(time, status) ~ age + sex, lung, ties='%s'), newdata=data.frame(age=c(50,70), sex=c(1,2)), conf.type='%s')", ties, ct),
        curve(sf), dataset = "lung", ties = ties, conf_type = ct,
        newdata = as.list(newdata))
  }
}
fit <- coxph(Surv(time, status) ~ age + strata(sex), data = lung1)
sf <- survfit(fit, newdata = data.frame(age = 60))
add("lung_survfit_newdata_strata",
    "survfit(coxph(Surv(time, status) ~ age + strata(sex), lung), newdata=data.frame(age=60))",
    curve(sf), dataset = "lung", ties = "efron", conf_type = "log",
    newdata = list(age = 60))
bc <- basehaz(fit, centered = FALSE)
add("lung_basehaz_strata",
    "basehaz(coxph(Surv(time, status) ~ age + strata(sex), lung), centered=FALSE)",
    list(time = bc$time, hazard_uncentered = bc$hazard, strata = as.character(bc$strata)),
    dataset = "lung", ties = "efron")
fit <- coxph(heart_form, data = heart)
sf <- survfit(fit, newdata = data.frame(age = 0, year = 3, surgery = 0,
                                        transplant = factor("1", levels = c("0", "1"))))
add("heart_survfit_newdata",
    "survfit(coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, heart), newdata=data.frame(age=0, year=3, surgery=0, transplant=1))",
    curve(sf), dataset = "heart", ties = "efron", conf_type = "log",
    newdata = list(age = 0, year = 3, surgery = 0, transplant = "1"))

out <- list(
  generated_by = "tests/analyses/reference/cox_extensions.R",
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  tolerance = "relative 1e-6: |diff| <= 1e-6 * max(1, |expected|); counts and times exact",
  datasets = datasets,
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           out_path)
cat("wrote", out_path, "with", length(cases), "cases\n")
