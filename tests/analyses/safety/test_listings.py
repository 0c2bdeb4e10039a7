import pandas as pd

from analyses.safety.listings import list_adverse_events, list_serious_adverse_events
from analyses.safety.teae import derive_teae


def test_listing_rows_study_days_and_counts(tiny_ae, tiny_population):
    ae = derive_teae(tiny_ae, tiny_population, worsening=False)
    lst = list_adverse_events(ae, tiny_population, "dose_level")
    rows = lst.listing
    # 7 events of the population (S8 is not dosed); S6's pre-dose headache is listed
    assert len(rows) == 7
    s6 = rows.loc[rows["subject_id"] == "S6"].iloc[0]
    # 2024-01-01 is 9 days before the first dose on 2024-01-10: study day -9 (no day 0)
    assert s6["onset_day"] == -9 and not s6["teae"]
    s5 = rows.loc[rows["subject_id"] == "S5"]
    # onset on the dosing day is study day 1; the rash on 02-12 is day 34
    assert s5["onset_day"].tolist() == [1, 34]
    s1 = rows.loc[(rows["subject_id"] == "S1") & (rows["ae_seq"] == 1)].iloc[0]
    assert s1["duration_days"] == 2  # 01-11 to 01-12
    assert rows["group"].tolist()[:4] == ["1", "1", "1", "1"]
    f = lst.to_frame()
    assert f.loc[(f["group"] == "1") & (f["stat"] == "events"), "value"].item() == 4
    assert f.loc[(f["group"] == "2") & (f["stat"] == "subjects"), "value"].item() == 2
    assert lst.summary()["onset_date"].iloc[0] == "2024-01-11"


def test_serious_listing(tiny_ae, tiny_population):
    lst = list_serious_adverse_events(tiny_ae, tiny_population, "dose_level")
    assert lst.listing["subject_id"].tolist() == ["S2", "S5"]
    assert lst.title == "Listing of serious adverse events"
    assert isinstance(lst.to_gt().as_raw_html(), str)
    assert pd.api.types.is_integer_dtype(lst.listing["onset_day"])
