# Reference counts for analyses.safety.tabulate_range_shift(range_source="indicator"):
# lab shifts read from the sites' own reference-range indicators (ADaM ANRIND /
# BNRIND) of the CDISC pilot ADLBC, counted with R's table().
#
# Run from the repository root:
#   Rscript tests/analyses/reference/shifts_anrind.R
# writes
#   tests/analyses/safety/data/adlbc_extract.csv.gz  (the records the test reads)
#   tests/analyses/reference/shifts_anrind.json      (the counts)
#
# Source: ../shared/data/cdiscpilot01/rda/adam_adlbc.rda (the original CDISC pilot
# ADLBC as an R data frame, SafetyGraphics/safetyData @ afb97162, MIT; see that
# folder's SOURCE.md). The extract keeps seven parameters (ALT, AST, ALP, BILI, GGT,
# CK, GLUC) and the columns the shift table reads.
#
# Definitions (those the test gives the Python function):
# * population: SAFFL == "Y"; group: TRTA (actual treatment);
# * baseline record: ABLFL == "Y"; post-baseline records: the scheduled visits
#   Week 2 to Week 26 (AVISITN 2-26; "End of Treatment" repeats one of them and
#   unscheduled records "." are left out);
# * "last": the latest ADT (ties: the later row of the extract); "most_extreme": the
#   H or L record furthest outside its range, (A1LO - AVAL) / A1LO or
#   (AVAL - A1HI) / A1HI (ties: the later row), NORMAL when none;
# * baseline category: BNRIND of the chosen record ("bnrind"), or ANRIND of the
#   baseline record ("baseline_record"); blank -> "Missing";
# * H / L / N -> HIGH / LOW / NORMAL.

suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- dirname(normalizePath(script))
root <- normalizePath(file.path(here, "..", "..", ".."))
out_json <- file.path(here, "shifts_anrind.json")
out_csv <- file.path(root, "tests", "analyses", "safety", "data", "adlbc_extract.csv.gz")
source_rda <- normalizePath(file.path(root, "..", "shared", "data", "cdiscpilot01", "rda",
                                      "adam_adlbc.rda"))

load(source_rda)
params <- c("ALT", "AST", "ALP", "BILI", "GGT", "CK", "GLUC")
x <- adam_adlbc[adam_adlbc$PARAMCD %in% params & adam_adlbc$SAFFL == "Y",
                c("USUBJID", "TRTA", "PARAMCD", "AVISIT", "AVISITN", "ADT", "AVAL",
                  "A1LO", "A1HI", "ANRIND", "BNRIND", "ABLFL")]
x <- x[order(x$USUBJID, x$PARAMCD, x$ADT, x$AVISITN, method = "radix"), ]
rownames(x) <- NULL
x$ADT <- format(x$ADT)
con <- gzfile(out_csv, "w")
write.csv(x, con, row.names = FALSE, na = "")
close(con)

# --- the counts ----------------------------------------------------------------------
x <- read.csv(out_csv, colClasses = "character", na.strings = "")
x$AVAL <- as.numeric(x$AVAL)
x$A1LO <- as.numeric(x$A1LO)
x$A1HI <- as.numeric(x$A1HI)
x$AVISITN <- as.numeric(x$AVISITN)
x$row <- seq_len(nrow(x))
code <- c(H = "HIGH", L = "LOW", N = "NORMAL")
category <- function(v) ifelse(is.na(v) | v == "", "Missing", code[v])
levels_base <- c("LOW", "NORMAL", "HIGH", "Missing")
levels_post <- c("LOW", "NORMAL", "HIGH")

post <- x[!is.na(x$AVISITN) & x$AVISITN >= 2 & x$AVISITN <= 26 &
          !is.na(x$ANRIND) & x$ANRIND != "", ]
base_rec <- x[!is.na(x$ABLFL) & x$ABLFL == "Y", ]
base_key <- paste(base_rec$PARAMCD, base_rec$USUBJID)

pick <- function(rule) {
  if (rule == "last") {
    o <- post[order(post$PARAMCD, post$USUBJID, post$ADT, post$row, method = "radix"), ]
  } else {
    dev <- pmax((post$A1LO - post$AVAL) / post$A1LO, (post$AVAL - post$A1HI) / post$A1HI,
                na.rm = TRUE)
    dev[post$ANRIND == "N"] <- -Inf
    o <- post[order(post$PARAMCD, post$USUBJID, dev, post$row, method = "radix"), ]
  }
  o[!duplicated(paste(o$PARAMCD, o$USUBJID), fromLast = TRUE), ]
}

tables <- list()
for (rule in c("last", "most_extreme")) {
  chosen <- pick(rule)
  for (baseline in c("bnrind", "baseline_record")) {
    b <- if (baseline == "bnrind") chosen$BNRIND else {
      # the last baseline-flagged record of the subject and parameter
      last_base <- base_rec[!duplicated(base_key, fromLast = TRUE), ]
      last_base$ANRIND[match(paste(chosen$PARAMCD, chosen$USUBJID),
                             paste(last_base$PARAMCD, last_base$USUBJID))]
    }
    tab <- table(PARAMCD = chosen$PARAMCD, TRTA = chosen$TRTA,
                 baseline = factor(category(b), levels = levels_base),
                 post = factor(category(chosen$ANRIND), levels = levels_post))
    df <- as.data.frame(tab, stringsAsFactors = FALSE)
    tables[[length(tables) + 1L]] <- list(
      post_baseline = rule, baseline = baseline,
      counts = list(test_code = df$PARAMCD, group = df$TRTA, baseline = df$baseline,
                    post = df$post, n = df$Freq)
    )
  }
}

out <- list(
  generated_by = "tests/analyses/reference/shifts_anrind.R",
  r_version = R.version.string,
  packages = list(base = as.character(packageVersion("base")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  source = "../shared/data/cdiscpilot01/rda/adam_adlbc.rda (sha256 dc12a646c78e36bd...)",
  extract = "tests/analyses/safety/data/adlbc_extract.csv.gz",
  extract_rows = nrow(x),
  tolerance = "counts exact",
  tables = tables
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = FALSE), out_json)
cat("wrote", nrow(x), "records to", out_csv, "and counts to", out_json, "\n")
