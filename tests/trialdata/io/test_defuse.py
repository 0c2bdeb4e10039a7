import pandas as pd

from trialdata.io.defuse import defuse_formulas


def test_formula_like_text_is_prefixed_and_numbers_untouched() -> None:
    frame = pd.DataFrame(
        {
            # object, as text read from a file is (pandas 3 would make it str, None
            # becoming NaN)
            "text": pd.Series(
                ["=HYPERLINK(1)", "+1", "-x", "@sum", "\tx", "ok", None], dtype=object
            ),
            "n": [-1, 2, 3, 4, 5, 6, 7],
        }
    )
    result = defuse_formulas(frame)
    assert result["text"].tolist() == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-x",
        "'@sum",
        "'\tx",
        "ok",
        None,
    ]
    assert result["n"].tolist() == [-1, 2, 3, 4, 5, 6, 7]
    assert frame["text"].iloc[0] == "=HYPERLINK(1)"  # input not mutated
