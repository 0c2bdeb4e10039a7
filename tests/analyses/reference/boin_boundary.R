# Reference values for tests/analyses/dose_finding/test_boin_boundary_speed.py:
# BOIN::get.boundary() boundary tables for up to 300 patients at one dose.
# Run from this folder: Rscript boin_boundary.R  (writes boin_boundary.json)
# BOIN 2.7.2 from ../shared/r-packages (R CMD INSTALL BOIN_2.7.2.tar.gz).
suppressMessages({
  library(BOIN)
  library(jsonlite)
})

cases <- list(
  list(target = 0.20, cutoff_eli = 0.95),
  list(target = 0.25, cutoff_eli = 0.95),
  list(target = 0.30, cutoff_eli = 0.95),
  list(target = 0.33, cutoff_eli = 0.90),
  list(target = 0.40, cutoff_eli = 0.99)
)
ncohort <- 100
cohortsize <- 3

out <- lapply(cases, function(cc) {
  b <- get.boundary(target = cc$target, ncohort = ncohort, cohortsize = cohortsize,
                    cutoff.eli = cc$cutoff_eli,
                    n.earlystop = ncohort * cohortsize)
  tab <- b$full_boundary_tab
  list(
    id = sprintf("get_boundary_target_%.2f_cutoff_%.2f", cc$target, cc$cutoff_eli),
    r_call = sprintf("BOIN::get.boundary(target = %.2f, ncohort = %d, cohortsize = %d, cutoff.eli = %.2f, n.earlystop = %d)",
                     cc$target, ncohort, cohortsize, cc$cutoff_eli, ncohort * cohortsize),
    inputs = list(target = cc$target, cutoff_eli = cc$cutoff_eli,
                  p_saf = 0.6 * cc$target, p_tox = 1.4 * cc$target,
                  ncohort = ncohort, cohortsize = cohortsize),
    expected = list(
      lambda_e = b$lambda_e,
      lambda_d = b$lambda_d,
      n = as.integer(tab[1, ]),
      escalate_if_dlt_le = as.integer(tab[2, ]),
      deescalate_if_dlt_ge = as.integer(tab[3, ]),
      eliminate_if_dlt_ge = as.integer(tab[4, ])
    )
  )
})

ref <- list(
  generated_by = "tests/analyses/reference/boin_boundary.R",
  r_version = R.version.string,
  package_versions = list(BOIN = as.character(packageVersion("BOIN")),
                          jsonlite = as.character(packageVersion("jsonlite"))),
  tolerance = "exact (integer boundaries); NA = no count eliminates",
  cases = out
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "boin_boundary.json")
