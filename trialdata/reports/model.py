"""A format-neutral report document: sections of paragraphs, tables and figures.

The builders (e.g. :mod:`trialdata.reports.build_safety`) produce a :class:`Report`
with every number already formatted as text; the writers (HTML, PDF, RTF, DOCX) only
lay it out. Table cells are strings, so every writer shows exactly the same text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

__all__ = [
    "Block",
    "Figure",
    "Paragraph",
    "Report",
    "ReportProvenance",
    "Section",
    "Table",
]

#: Longest word a column is widened for; a longer one (a URL, a hash) may be split.
LONGEST_WORD = 30


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (never markup).

    Attributes
    ----------
    text : str
        The text; writers escape it.
    """

    text: str


def _quantile(ordered: list[int], q: float) -> float:
    """Return the q-quantile of sorted values by linear interpolation."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Table:
    """A table or listing whose cells are already formatted text.

    Attributes
    ----------
    title : str
        Table title, numbered by the writer.
    frame : pandas.DataFrame
        The cells, as strings; the column names are the header.
    footnotes : tuple of str
        Definitions and provenance printed under the table.
    listing : bool
        True for a subject listing (one row per record) rather than a summary table.
    """

    title: str
    frame: pd.DataFrame
    footnotes: tuple[str, ...] = ()
    listing: bool = False

    def __post_init__(self) -> None:
        text = self.frame.astype(object).where(self.frame.notna(), "").astype(str)
        text.columns = [str(c) for c in self.frame.columns]
        object.__setattr__(self, "frame", text.reset_index(drop=True))

    def column_widths(self, capacity: int) -> list[int]:
        """Return column widths in characters that never split a word.

        A column is never narrower than its longest word (header or cell, up to
        :data:`LONGEST_WORD` characters) and would like to be as wide as its header's
        longest word or the 90th percentile of its cell lengths, within 4 to 40
        characters. When the wished widths exceed ``capacity``, the columns wider than
        their longest word give up room in proportion to what they have to spare;
        only when even the longest words do not fit together can a word be split.

        Parameters
        ----------
        capacity : int
            Characters that fit on one line across all columns.

        Returns
        -------
        list of int
            One width per column.
        """
        floors: list[int] = []
        wished: list[int] = []
        for column in self.frame.columns:
            cells = self.frame[column].tolist()
            header_word = max((len(w) for w in str(column).split()), default=1)
            cell_word = max(
                (len(word) for cell in cells for word in cell.split()), default=0
            )
            floor = min(LONGEST_WORD, max(3, header_word, cell_word))
            lengths = sorted(len(cell) for cell in cells)
            # the 90th percentile, linear interpolation (as pandas' quantile)
            typical = _quantile(lengths, 0.9) if lengths else 0.0
            floors.append(floor)
            wished.append(max(floor, min(40, max(4, header_word, round(typical)))))
        excess = sum(wished) - capacity
        spare = [w - f for w, f in zip(wished, floors, strict=True)]
        if excess <= 0 or not sum(spare):
            return wished
        if excess >= sum(spare):
            return floors
        cut = [s * excess / sum(spare) for s in spare]
        widths = [w - math.ceil(c) for w, c in zip(wished, cut, strict=True)]
        return [max(f, w) for f, w in zip(floors, widths, strict=True)]

    def column_weights(self, capacity: int = 10_000) -> list[float]:
        """Return relative column widths (summing to 1) from :meth:`column_widths`.

        Parameters
        ----------
        capacity : int, optional
            Characters that fit on one line across all columns (default: no limit).

        Returns
        -------
        list of float
            One weight per column.
        """
        widths = [w + 1.0 for w in self.column_widths(capacity)]
        total = sum(widths) or 1.0
        return [w / total for w in widths]


@dataclass(frozen=True)
class Figure:
    """A figure: PNG bytes, or a function drawing them when a writer needs them.

    Attributes
    ----------
    title : str
        Figure title, numbered by the writer.
    image : bytes or callable
        The PNG, or a function returning it; drawn once, on first use, so that
        outputs without images (the JSON twin, the workbook) never draw it.
    caption : str
        Text printed under the figure.
    width_inches : float
        Intended display width.
    """

    title: str
    image: bytes | Callable[[], bytes] = field(repr=False)
    caption: str = ""
    width_inches: float = 9.0

    @cached_property
    def png(self) -> bytes:
        """The image as PNG bytes (drawn on first use)."""
        return self.image if isinstance(self.image, bytes) else self.image()


Block = Paragraph | Table | Figure


@dataclass(frozen=True)
class Section:
    """A titled section of the report.

    Attributes
    ----------
    title : str
        Section heading.
    blocks : tuple of Block
        Paragraphs, tables and figures in order.
    appendix : bool
        Whether the section belongs to the appendix.
    """

    title: str
    blocks: tuple[Block, ...] = ()
    appendix: bool = False


@dataclass(frozen=True)
class ReportProvenance:
    """What a report was produced from; printed on its title page.

    Attributes
    ----------
    trial_id, trial_title, protocol_version : str
        From the protocol.
    snapshot_label : str
        Store snapshot label, or ``"folder"`` for an upload folder.
    snapshot_hash : str
        Content hash of the trial data.
    source : str
        Folder path or store URL.
    data_cutoff : str
        ISO date of the data cut-off.
    package_version : str
        trialdata version.
    generated_utc : str
        ISO 8601 UTC time of generation.
    validation : str
        Validation status of the data as loaded (e.g. ``2 errors, 5 warnings``);
        empty when unknown.
    """

    trial_id: str
    trial_title: str
    protocol_version: str
    snapshot_label: str
    snapshot_hash: str
    source: str
    data_cutoff: str
    package_version: str
    generated_utc: str
    validation: str = ""

    @property
    def from_folder(self) -> bool:
        """Whether the data were read from an upload folder, not a store snapshot."""
        return self.snapshot_label in ("", "folder")

    def source_description(self) -> str:
        """Return where the data came from, exactly.

        Returns
        -------
        str
            ``upload folder <path>`` or ``store snapshot '<label>' of <store>``.
        """
        if self.from_folder:
            return f"upload folder {self.source}"
        store = self.source.rsplit("#", 1)[0] if "#" in self.source else self.source
        return f"store snapshot {self.snapshot_label!r} of {store}"

    def rows(self) -> list[tuple[str, str]]:
        """Return the provenance as (label, value) rows for the title page.

        Returns
        -------
        list of tuple of str
            Label and value pairs in display order.
        """
        rows = [
            ("Trial", self.trial_id),
            ("Title", self.trial_title),
            ("Protocol version", self.protocol_version),
            ("Data source", self.source_description()),
        ]
        if not self.from_folder:
            rows.append(("Data snapshot", self.snapshot_label))
        rows += [
            ("Data hash (SHA-256)", self.snapshot_hash),
            ("Data cut-off", self.data_cutoff),
            ("trialdata version", self.package_version),
            ("Generated (UTC)", self.generated_utc),
        ]
        if self.validation:
            rows.append(("Validation findings", self.validation))
        return rows


@dataclass(frozen=True)
class Report:
    """A complete report.

    Attributes
    ----------
    title : str
        Report title.
    provenance : ReportProvenance
        Title-page provenance.
    sections : tuple of Section
        Body sections followed by appendix sections.
    confidentiality : str
        Line printed in every page header.
    results : Mapping of str to object
        The analysis results behind the report's numbers, by key (``escalation``,
        ``dlt``, ``teae_overview``, ``km_OS``, ...): what the JSON twin writes, so
        that tests compare numbers, never scraped text.
    rules : Mapping of str to object
        The derivation rules of the analysis datasets the report was built from.
    """

    title: str
    provenance: ReportProvenance
    sections: tuple[Section, ...] = field(default_factory=tuple)
    confidentiality: str = "Confidential: for the Data Monitoring Committee"
    results: Mapping[str, Any] = field(default_factory=dict, compare=False)
    rules: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def tables(self) -> list[Table]:
        """Return every table of the report in order.

        Returns
        -------
        list of Table
            Tables and listings.
        """
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        """Return every figure of the report in order.

        Returns
        -------
        list of Figure
            Figures.
        """
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

    def numbered(self) -> Sequence[tuple[Section, list[tuple[str, Block]]]]:
        """Return sections with each block's display number (``Table 3``, ``Figure 1``).

        Returns
        -------
        sequence of (Section, list of (str, Block))
            Paragraphs get an empty number.
        """
        n_table = n_figure = 0
        out = []
        for section in self.sections:
            blocks: list[tuple[str, Block]] = []
            for block in section.blocks:
                if isinstance(block, Table):
                    n_table += 1
                    kind = "Listing" if block.listing else "Table"
                    blocks.append((f"{kind} {n_table}", block))
                elif isinstance(block, Figure):
                    n_figure += 1
                    blocks.append((f"Figure {n_figure}", block))
                else:
                    blocks.append(("", block))
            out.append((section, blocks))
        return out
