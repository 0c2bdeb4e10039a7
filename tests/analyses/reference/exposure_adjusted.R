# Reference values for analyses.safety.exposure_adjusted: exact Poisson intervals of a
# rate (poisson.test(x, T)), the exact conditional rate ratio of two groups
# (poisson.test(c(x1, x2), c(T1, T2))), and a small trial computed end to end here:
# exposure windows, time at risk to the first event (EAIR) and to the end of the
# window (EAER), incidence per 100 patient-years, rate ratios and Wald rate
# differences against the lowest dose group.
#
# Run from the repository root:
#   Rscript tests/analyses/reference/exposure_adjusted.R
# writes tests/analyses/reference/exposure_adjusted.json beside this script.
#
# Conventions (those of the Python module):
# * exposure window: first dose to the end of follow-up (window_days = NULL), or to
#   the last dose + window_days days when that is earlier (window_days = N);
# * days are counted inclusively: end - first dose + 1; patient-years = days / 365.25;
# * EAIR: subjects with >= 1 event in the window / time at risk, which ends on the
#   day of a subject's first event in the window; EAER: events in the window / the
#   whole window;
# * an event without onset date is placed on the first-dose day;
# * rate difference: Wald interval, (r1 - r2) +/- z * sqrt(x1 / T1^2 + x2 / T2^2).

suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "exposure_adjusted.json")

num <- function(x) unname(as.numeric(x))
# non-finite numbers as the strings "Inf", "-Inf", "NaN" (JSON has no such numbers)
numx <- function(x) {
  x <- num(x)
  if (all(is.finite(x))) return(x)
  if (length(x) == 1L) return(as.character(x))
  lapply(x, function(v) if (is.finite(v)) v else as.character(v))
}

# --- single rates and two-rate comparisons --------------------------------------------
rates <- list(c(0, 12.3), c(1, 5.5), c(7, 23.81), c(25, 100.2), c(3, 0.75))
rate_cases <- lapply(rates, function(r) {
  h <- poisson.test(r[1], r[2])
  list(x = r[1], time = r[2], estimate = num(h$estimate), conf_int = num(h$conf.int),
       p_value = num(h$p.value))
})
pairs <- list(c(3, 1, 10.5, 12.25), c(8, 2, 15.1, 20.4), c(0, 4, 9.0, 11.2),
              c(3, 0, 10, 20), c(0, 0, 10, 20), c(12, 9, 30.2, 31.7))
pair_cases <- lapply(pairs, function(p) {
  h <- poisson.test(c(p[1], p[2]), c(p[3], p[4]))
  list(x1 = p[1], x2 = p[2], t1 = p[3], t2 = p[4], estimate = numx(h$estimate),
       conf_int = numx(h$conf.int), p_value = num(h$p.value))
})

# --- a small trial, end to end ---------------------------------------------------------
subjects <- data.frame(
  subject_id = sprintf("S%02d", 1:14),
  group = c(rep("DL1", 4), rep("DL2", 5), rep("DL3", 5)),
  first_dose = as.Date(c("2024-01-10", "2024-01-24", "2024-02-07", "2024-02-21",
                         "2024-03-06", "2024-03-20", "2024-04-03", "2024-04-17",
                         "2024-05-01", "2024-05-15", "2024-05-29", "2024-06-12",
                         "2024-06-26", "2024-07-10")),
  last_dose = as.Date(c("2024-01-10", "2024-02-21", "2024-02-07", "2024-03-20",
                        "2024-03-06", "2024-04-17", "2024-04-03", "2024-04-17",
                        "2024-05-29", "2024-05-15", "2024-06-26", "2024-06-12",
                        "2024-07-24", "2024-07-10")),
  followup_end = as.Date(c("2024-12-31", "2024-12-31", "2024-06-30", "2024-12-31",
                           "2024-12-31", "2024-09-15", "2024-12-31", "2024-12-31",
                           "2024-12-31", "2024-07-01", "2024-12-31", "2024-12-31",
                           "2024-10-02", "2024-12-31")),
  stringsAsFactors = FALSE
)
events <- data.frame(
  subject_id = c("S01", "S01", "S02", "S04", "S04", "S04", "S05", "S06", "S06",
                 "S08", "S09", "S10", "S11", "S11", "S12", "S13", "S13", "S14",
                 "S03", "S07"),
  onset = as.Date(c("2024-01-12", "2024-03-01", "2024-01-24", "2024-02-25",
                    "2024-04-30", "2024-11-02", "2024-03-08", "2024-03-22", NA,
                    "2024-04-20", "2024-05-02", "2024-05-16", "2024-05-30",
                    "2024-06-03", "2024-06-15", "2024-06-27", "2024-07-01",
                    "2024-07-11", "2024-01-30", "2024-04-01")),
  term = c("CRS", "Neutropenia", "CRS", "Neutropenia", "Neutropenia", "CRS",
           "CRS", "CRS", "Neutropenia", "CRS", "CRS", "CRS", "CRS", "Neutropenia",
           "Neutropenia", "CRS", "CRS", "Neutropenia", "Neutropenia", "CRS"),
  stringsAsFactors = FALSE
)
# S03's event is before the first dose and S07's two days before: outside every window

window_end <- function(window_days) {
  if (is.null(window_days)) subjects$followup_end
  else pmin(subjects$last_dose + window_days, subjects$followup_end)
}

trial_rates <- function(window_days, term) {
  end <- window_end(window_days)
  first <- subjects$first_dose
  days <- as.numeric(end - first) + 1
  ev <- events
  if (!is.null(term)) ev <- ev[ev$term == term, ]
  idx <- match(ev$subject_id, subjects$subject_id)
  onset <- ev$onset
  onset[is.na(onset)] <- first[idx][is.na(onset)]
  inside <- onset >= first[idx] & onset <= end[idx]
  ev <- ev[inside, ]
  onset <- onset[inside]
  n_events <- as.numeric(table(factor(ev$subject_id, levels = subjects$subject_id)))
  first_event <- as.Date(tapply(as.numeric(onset), factor(ev$subject_id,
                                levels = subjects$subject_id), min), origin = "1970-01-01")
  at_risk <- ifelse(is.na(first_event), days, as.numeric(first_event - first) + 1)
  groups <- c("DL1", "DL2", "DL3", "Total")
  out <- list()
  counts <- list()
  for (g in groups) {
    sel <- if (g == "Total") rep(TRUE, nrow(subjects)) else subjects$group == g
    for (measure in c("EAIR", "EAER")) {
      x <- if (measure == "EAIR") sum(n_events[sel] > 0) else sum(n_events[sel])
      t <- (if (measure == "EAIR") sum(at_risk[sel]) else sum(days[sel])) / 365.25
      h <- poisson.test(x, t)
      counts[[paste(g, measure)]] <- c(x, t)
      out[[length(out) + 1L]] <- list(
        group = g, measure = measure, subjects = sum(sel), events = x,
        patient_years = t, treatment_days = sum(as.numeric(
          subjects$last_dose[sel] - subjects$first_dose[sel]) + 1),
        rate = 100 * x / t, lower = 100 * num(h$conf.int)[1],
        upper = 100 * num(h$conf.int)[2])
    }
  }
  comparisons <- list()
  z <- qnorm(0.975)
  for (g in c("DL2", "DL3")) {
    for (measure in c("EAIR", "EAER")) {
      a <- counts[[paste(g, measure)]]
      b <- counts[[paste("DL1", measure)]]
      h <- poisson.test(c(a[1], b[1]), c(a[2], b[2]))
      d <- a[1] / a[2] - b[1] / b[2]
      se <- sqrt(a[1] / a[2]^2 + b[1] / b[2]^2)
      comparisons[[length(comparisons) + 1L]] <- list(
        group = g, reference = "DL1", measure = measure,
        rate_ratio = num(h$estimate), rate_ratio_lower = num(h$conf.int)[1],
        rate_ratio_upper = num(h$conf.int)[2], rate_ratio_p_value = num(h$p.value),
        rate_difference = 100 * d, rate_difference_lower = 100 * (d - z * se),
        rate_difference_upper = 100 * (d + z * se))
    }
  }
  list(window_days = window_days, term = term, rates = out, comparisons = comparisons)
}

trial_cases <- list(
  trial_rates(NULL, NULL), trial_rates(NULL, "CRS"), trial_rates(NULL, "Neutropenia"),
  trial_rates(28, NULL), trial_rates(28, "CRS")
)

out <- list(
  generated_by = "tests/analyses/reference/exposure_adjusted.R",
  r_version = R.version.string,
  packages = list(stats = as.character(packageVersion("stats")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  tolerance = "relative 1e-6; counts exact",
  rates = rate_cases,
  rate_ratios = pair_cases,
  trial = list(
    subjects = list(subject_id = subjects$subject_id, group = subjects$group,
                    first_dose_date = format(subjects$first_dose),
                    last_dose_date = format(subjects$last_dose),
                    followup_end = format(subjects$followup_end)),
    events = list(subject_id = events$subject_id,
                  onset_date = ifelse(is.na(events$onset), NA, format(events$onset)),
                  term = events$term),
    cases = trial_cases
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = FALSE), out_path)
cat("wrote", out_path, "\n")
