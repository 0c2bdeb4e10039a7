"""The page every paged report format is laid out on: size, margins, text capacity.

One :class:`Page` is chosen by name (``A4`` by default, ``letter``) and given to the
PDF, DOCX and RTF writers alike, so the three formats of one report share a page
size. Pages are landscape. The writers also use it to size table columns: how many
characters of a given font size fit on a line (:meth:`Page.characters`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PAGE", "PAGES", "Page", "page_named"]

_POINTS_PER_MM = 72 / 25.4

#: Average advance width of a character of DejaVu Sans / Arial text in ems, rounded
#: up so that a column sized by it holds its longest word (capitals are wider than
#: the average; a few extra characters of room are cheaper than a split word).
CHARACTER_EM = 0.62


@dataclass(frozen=True)
class Page:
    """A landscape page.

    Attributes
    ----------
    name : str
        ``A4`` or ``letter``.
    width_mm, height_mm : float
        Landscape width and height.
    margin_mm : float
        Left and right margin.
    css_size : str
        The CSS ``@page size`` keyword.
    """

    name: str
    width_mm: float
    height_mm: float
    margin_mm: float
    css_size: str

    @property
    def text_width_mm(self) -> float:
        """Width between the left and right margins."""
        return self.width_mm - 2 * self.margin_mm

    @property
    def text_width_points(self) -> float:
        """Width between the margins in points."""
        return self.text_width_mm * _POINTS_PER_MM

    def twips(self, mm: float) -> int:
        """Return a length in twentieths of a point (RTF and DOCX units).

        Parameters
        ----------
        mm : float
            Length in millimetres.

        Returns
        -------
        int
            Twips.
        """
        return round(mm * _POINTS_PER_MM * 20)

    def characters(self, font_points: float, n_columns: int = 1) -> int:
        """Return how many characters of text fit on a line of table cells.

        Parameters
        ----------
        font_points : float
            Font size of the cells.
        n_columns : int, default 1
            Number of columns: each loses about 9 points to its cell padding.

        Returns
        -------
        int
            Characters per line across all columns.
        """
        room = self.text_width_points - 9.0 * n_columns
        return max(n_columns * 3, int(room / (CHARACTER_EM * font_points)))


#: Pages by name.
PAGES: dict[str, Page] = {
    "A4": Page("A4", 297.0, 210.0, 12.0, "A4 landscape"),
    "letter": Page("letter", 279.4, 215.9, 12.0, "letter landscape"),
}
#: The page used when none is named: A4, the page size of ICH regulatory documents.
DEFAULT_PAGE = "A4"


def page_named(name: str) -> Page:
    """Return the page of a name, case-insensitively.

    Parameters
    ----------
    name : str
        ``A4`` or ``letter``.

    Returns
    -------
    Page
        The page.

    Raises
    ------
    ValueError
        For an unknown page size.
    """
    for key, page in PAGES.items():
        if key.lower() == str(name).lower():
            return page
    raise ValueError(f"unknown page size {name!r}; expected one of {', '.join(PAGES)}")
