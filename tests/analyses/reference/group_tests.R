# Reference values for analyses.safety.group_tests: Pearson's chi-square test with and
# without Yates' correction (chisq.test), Fisher's exact test for r x c tables
# (fisher.test, network algorithm), one-way ANOVA (aov and oneway.test), Welch's
# ANOVA (oneway.test, var.equal = FALSE), Kruskal-Wallis (kruskal.test) and
# Cochran-Mantel-Haenszel (mantelhaen.test, 2 x 2 x K with and without continuity
# correction, and I x J x K).
#
# Run from the repository root:
#   Rscript tests/analyses/reference/group_tests.R
# writes tests/analyses/reference/group_tests.json beside this script.
#
# Every dataset is written inline (and copied into the JSON): R's own example data
# (datasets::PlantGrowth, UCBAdmissions, the fisher.test and mantelhaen.test help
# pages' Job, TeaTasting, Rabbits and Satisfaction tables) and small tables shaped
# like early-phase baseline tables.

suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "group_tests.json")

num <- function(x) unname(as.numeric(x))
rows_of <- function(m) unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))

htest <- function(h) {
  out <- list(
    statistic = if (is.null(h$statistic)) NULL else num(h$statistic),
    parameter = if (is.null(h$parameter)) NULL else num(h$parameter),
    p_value = num(h$p.value),
    method = h$method
  )
  if (!is.null(h$estimate)) out$estimate <- num(h$estimate)
  if (!is.null(h$conf.int)) out$conf_int <- num(h$conf.int)
  out
}

cases <- list()
add <- function(id, test, inputs, result) {
  cases[[length(cases) + 1L]] <<- list(id = id, test = test, inputs = inputs,
                                      expected = result)
}

# --- contingency tables: chisq.test and fisher.test --------------------------------
tables <- list(
  # responders by two dose groups
  t2x2 = matrix(c(3, 9, 8, 4), nrow = 2, byrow = TRUE),
  # fisher.test help page: TeaTasting
  tea = matrix(c(3, 1, 1, 3), nrow = 2),
  # sex by three dose levels
  t2x3 = matrix(c(2, 5, 4, 4, 1, 5), nrow = 2, byrow = TRUE),
  # race (3 categories) by four dose levels, sparse
  t3x4 = matrix(c(3, 2, 0, 4,
                  1, 0, 3, 1,
                  0, 2, 1, 0), nrow = 3, byrow = TRUE),
  # fisher.test help page: Job satisfaction by income (4 x 4, n = 104)
  job = matrix(c(1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11), 4, 4),
  # disposition: completed / adverse event / withdrew / death by two arms
  t4x2 = matrix(c(10, 6, 1, 4, 2, 1, 0, 2), nrow = 4, byrow = TRUE),
  # a table with a tie in probability at the observed table
  tie = matrix(c(2, 2, 2, 2), nrow = 2)
)
for (name in names(tables)) {
  x <- tables[[name]]
  inputs <- list(table = rows_of(x))
  add(paste0("chisq_correct_", name), "chisq_correct", inputs,
      htest(suppressWarnings(chisq.test(x, correct = TRUE))))
  add(paste0("chisq_", name), "chisq", inputs,
      htest(suppressWarnings(chisq.test(x, correct = FALSE))))
  add(paste0("fisher_", name), "fisher", inputs, htest(fisher.test(x)))
}

# --- one-way layouts: aov, oneway.test, kruskal.test --------------------------------
pg <- datasets::PlantGrowth
layouts <- list(
  plant_growth = list(values = pg$weight, groups = as.character(pg$group)),
  # ages by dose level, unequal sizes and variances, ties
  ages = list(
    values = c(54, 61, 47, 58, 66, 61, 39, 72, 70, 45, 61, 52, 58, 68, 75, 49, 63,
               58, 71, 66),
    groups = c(rep("DL1", 3), rep("DL2", 6), rep("DL3", 4), rep("DL4", 7))
  ),
  # two groups (Welch's ANOVA = Welch's t-test squared)
  two = list(values = c(1.2, 3.4, 2.2, 5.1, 4.4, 0.9, 2.8, 3.3, 7.5, 6.1, 5.5),
             groups = c(rep("A", 5), rep("B", 6)))
)
for (name in names(layouts)) {
  d <- layouts[[name]]
  g <- factor(d$groups)
  fit <- aov(d$values ~ g)
  tab <- summary(fit)[[1]]
  add(paste0("anova_", name), "anova", d, list(
    statistic = num(tab[1, "F value"]),
    parameter = num(c(tab[1, "Df"], tab[2, "Df"])),
    p_value = num(tab[1, "Pr(>F)"]),
    method = "aov",
    oneway_test = htest(oneway.test(d$values ~ g, var.equal = TRUE))
  ))
  add(paste0("welch_", name), "welch", d,
      htest(oneway.test(d$values ~ g, var.equal = FALSE)))
  add(paste0("kruskal_", name), "kruskal", d, htest(kruskal.test(d$values, g)))
}

# --- Cochran-Mantel-Haenszel: mantelhaen.test ---------------------------------------
arrays <- list(
  # mantelhaen.test help page: penicillin and rabbits (2 x 2 x 5)
  rabbits = array(c(0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0),
                  dim = c(2, 2, 5)),
  # datasets::UCBAdmissions, admitted by sex within department (2 x 2 x 6)
  ucb = unclass(datasets::UCBAdmissions),
  # response by dose group stratified by site (2 x 2 x 3), small
  sites = array(c(2, 4, 3, 1, 1, 3, 4, 2, 0, 2, 2, 2), dim = c(2, 2, 3)),
  # mantelhaen.test help page: job satisfaction by income, stratified by gender
  # (4 x 4 x 2)
  satisfaction = array(c(1, 2, 0, 0, 3, 3, 1, 2, 11, 17, 8, 4, 2, 3, 5, 2,
                         1, 0, 0, 0, 1, 3, 0, 1, 2, 5, 7, 9, 1, 1, 3, 6),
                       dim = c(4, 4, 2)),
  # grade category (3) by dose group (2) stratified by route (2)
  grades = array(c(4, 2, 1, 1, 3, 4, 3, 3, 0, 2, 1, 2), dim = c(3, 2, 2))
)
for (name in names(arrays)) {
  x <- arrays[[name]]
  dims <- dim(x)
  inputs <- list(dim = dims, values = num(x),
                 layout = "values in R column-major order of array(dim = dim)")
  if (dims[1] == 2 && dims[2] == 2) {
    add(paste0("cmh_correct_", name), "cmh_correct", inputs,
        htest(mantelhaen.test(x, correct = TRUE)))
    add(paste0("cmh_", name), "cmh", inputs, htest(mantelhaen.test(x, correct = FALSE)))
  } else {
    add(paste0("cmh_", name), "cmh", inputs, htest(mantelhaen.test(x)))
  }
}

# --- the CDISC pilot ADSL (ITT): a baseline table's tests by planned arm -------------
# ../shared/data/cdiscpilot01/adam/adsl.xpt, read by the test with the project's
# reader (trialdata.io.sdtm.read_adam): AGE = age, SEX = sex, RACE = race,
# AGEGR1 = age_group, HEIGHTBL = height_cm, TRT01P = arm, ITTFL = itt.
adsl <- foreign::read.xport(file.path(dirname(normalizePath(script)), "..", "..", "..",
                                      "..", "shared", "data", "cdiscpilot01", "adam",
                                      "adsl.xpt"))
adsl <- adsl[adsl$ITTFL == "Y", ]
arm <- factor(adsl$TRT01P)
pilot <- list()
pilot$age_anova <- htest(oneway.test(adsl$AGE ~ arm, var.equal = TRUE))
pilot$age_welch <- htest(oneway.test(adsl$AGE ~ arm, var.equal = FALSE))
pilot$age_kruskal <- htest(kruskal.test(adsl$AGE, arm))
pilot$height_cm_kruskal <- htest(kruskal.test(adsl$HEIGHTBL, arm))
pilot$sex_chisq <- htest(chisq.test(table(adsl$SEX, arm), correct = FALSE))
pilot$sex_fisher <- htest(fisher.test(table(adsl$SEX, arm)))
pilot$age_group_chisq <- htest(chisq.test(table(adsl$AGEGR1, arm)))
pilot$race_fisher <- htest(fisher.test(table(adsl$RACE, arm)))
pilot$race_chisq <- htest(suppressWarnings(chisq.test(table(adsl$RACE, arm))))
pilot$sex_cmh_by_age_group <- htest(mantelhaen.test(table(adsl$SEX, arm, adsl$AGEGR1)))

out <- list(
  generated_by = "tests/analyses/reference/group_tests.R",
  pilot_adsl = list(
    dataset = paste("../shared/data/cdiscpilot01/adam/adsl.xpt",
                    "(TDF ADaM v1.0, sha256 83f7a82f8b371b75...), ITTFL == 'Y'"),
    n = nrow(adsl),
    results = pilot
  ),
  r_version = R.version.string,
  packages = list(stats = as.character(packageVersion("stats")),
                  foreign = as.character(packageVersion("foreign")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  tolerance = paste(
    "relative 1e-6 on statistics, df and p-values; fisher.test's 2 x 2 odds ratio",
    "and interval are uniroot roots (tol .Machine$double.eps^0.25 on t in (0, 1),",
    "else on 1/t): compared on that scale with that tolerance"),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = FALSE),
           out_path)
cat("wrote", length(cases), "cases to", out_path, "\n")
