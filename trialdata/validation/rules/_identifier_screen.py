"""The identifier screen of PV-001: direct identifiers written in free text.

:meth:`IdentifierScreen.kinds` tells which kinds of direct identifier (:data:`KINDS`)
a text holds; :meth:`IdentifierScreen.screen` does so for many values at once,
prefiltering them with Arrow's regular expressions so that only values that may
hold one are looked at closer in Python. It looks for

- e-mail addresses;
- phone numbers, international (``+31 6 1234 5678``, ``0034 612 345 678``) and
  national (``06-12345678``, ``020 123 4567``, ``612 34 56 78``, ``(555) 123-4567``),
  or any number written after a phone word (``tel``, ``mobiel``, ``móvil``, ...);
  dates, lot numbers, times and lab values are not phone numbers;
- medical record numbers: a number after a record word (``MRN``, ``NHC``,
  ``patiëntnummer``, ...), or any pattern a trial adds;
- national identity numbers that pass their check: Dutch BSN (11-check), Spanish
  DNI and NIE (check letter), UK NHS number (modulus 11);
- full birth dates written as such (``born 12/03/1956``, ``DOB: 1956-03-12``,
  ``geboren op 12 maart 1956``, ``fecha de nacimiento 12-03-1956``);
- names: a title before a capitalised word (``Mr``, ``Sra.``, ``Mevr.``, ``Frau``),
  a name after a name label (``name: ...``), or a name from a list, written with
  a capital (:data:`DEFAULT_NAMES`, a short list of common given and family names
  chosen so as not to be words or eponyms, plus any names a trial adds). A listed
  name in an eponym (``Stevens-Johnson syndrome``, ``Smith fracture``) or after a
  saint or an institution (``Hospital Sant Joan``) is not a person.

The screen PV-001 uses is :func:`identifier_screen`; set another one with
:func:`use_identifier_screen` (e.g. ``IdentifierScreen().with_names(site_names)``),
or, for the command line, name a file of trial names (one per line) in the
environment variable ``TRIALDATA_PRIVACY_NAMES`` and a record-number regex in
``TRIALDATA_MRN_PATTERN``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "DEFAULT_MRN_PATTERN",
    "DEFAULT_NAMES",
    "KINDS",
    "IdentifierScreen",
    "identifier_screen",
    "use_identifier_screen",
]

#: Kinds of direct identifier, in the order they are looked for.
KINDS: tuple[str, ...] = (
    "e-mail address",
    "medical record number",
    "birth date",
    "phone number",
    "national id number",
    "name",
)
# (Numbers after a phone word are phone numbers; other numbers are tried as national
# ids, with their checks, before they are tried as phone numbers.)

# --- names ------------------------------------------------------------------------

#: Common given and family names (English, Dutch, Spanish, Catalan, German, French),
#: four letters or more, none an ordinary word, a month, an acronym or a medical
#: eponym (no Parkinson, Hodgkin, Wilson, Jones, Brown, White, Rosa, Dolores, ...).
DEFAULT_NAMES: frozenset[str] = frozenset(
    {
        # given names
        "john",
        "james",
        "michael",
        "david",
        "robert",
        "william",
        "richard",
        "thomas",
        "jennifer",
        "elizabeth",
        "susan",
        "sarah",
        "jessica",
        "margaret",
        "patricia",
        "linda",
        "barbara",
        "mary",
        "johannes",
        "pieter",
        "hendrik",
        "cornelis",
        "willem",
        "maria",
        "johanna",
        "anna",
        "cornelia",
        "sanne",
        "daan",
        "bram",
        "lotte",
        "femke",
        "thijs",
        "joost",
        "gerrit",
        "antonio",
        "manuel",
        "francisco",
        "jose",
        "juan",
        "javier",
        "carlos",
        "carmen",
        "josefa",
        "isabel",
        "pilar",
        "nuria",
        "laura",
        "cristina",
        "marta",
        "lucia",
        "jordi",
        "josep",
        "joan",
        "jaume",
        "montse",
        "laia",
        "arnau",
        "oriol",
        "xavier",
        "miquel",
        "hans",
        "klaus",
        "jurgen",
        "wolfgang",
        "stefan",
        "ursula",
        "monika",
        "petra",
        "sabine",
        "helga",
        "andreas",
        "matthias",
        "jean",
        "jacques",
        "michel",
        "philippe",
        "nathalie",
        "isabelle",
        "sylvie",
        "catherine",
        "francoise",
        "monique",
        "nicolas",
        "sophie",
        # family names
        "smith",
        "taylor",
        "davies",
        "roberts",
        "robinson",
        "thompson",
        "clarke",
        "patel",
        "campbell",
        "stewart",
        "garcia",
        "rodriguez",
        "gonzalez",
        "fernandez",
        "lopez",
        "martinez",
        "sanchez",
        "perez",
        "gomez",
        "jimenez",
        "hernandez",
        "alvarez",
        "dominguez",
        "vazquez",
        "gutierrez",
        "navarro",
        "iglesias",
        "puig",
        "pujol",
        "bosch",
        "riera",
        "casals",
        "jansen",
        "vries",
        "bakker",
        "visser",
        "meijer",
        "mulder",
        "dekker",
        "dijkstra",
        "brouwer",
        "hendriks",
        "vermeulen",
        "bosman",
        "kuipers",
        "veenstra",
        "muller",
        "mueller",
        "schmidt",
        "schneider",
        "fischer",
        "meyer",
        "schulz",
        "schroder",
        "neumann",
        "zimmermann",
        "hartmann",
        "kruger",
        "dubois",
        "durand",
        "leroy",
        "moreau",
        "lefebvre",
        "rousseau",
        "girard",
        "mercier",
        "fontaine",
        "lemaire",
    }
)

#: Words after a name that make it an eponym or a thing named after a person.
_EPONYM_HEADS = (
    "syndrome|syndromes|syndroom|sindrome|syndrom|disease|diseases|ziekte|"
    "enfermedad|malaltia|maladie|krankheit|palsy|paralysis|sign|signs|test|tests|"
    "phenomenon|fracture|ulcer|cyst|sarcoma|lymphoma|leukaemia|leukemia|tumour|"
    "tumor|carcinoma|criteria|classification|grade|grading|scale|score|equation|"
    "formula|virus|antigen|antibody|protein|cell|cells|stain|staining|procedure|"
    "operation|manoeuvre|maneuver|transformation|node|nodes|body|bodies|gangrene|"
    "oesophagus|esophagus|encephalopathy|aphasia|paresis|reflex|index|method|type|"
    "anomaly|anaemia|anemia|thyroiditis|contracture|neuralgia|neuroma|nevus|naevus|"
    "line|lines|ligament|triad|law|effect|rule|hernia|dystrophy|ataxia|chorea|"
    "dementia|arteritis|purpura|granulomatosis|tube|catheter|agar|solution|"
    "questionnaire|inventory|spot|spots|nodule|nodules|stage|staging|system|"
    "regimen|ratio|curve"
)
_EPONYM_AFTER = re.compile(
    r"(?:['\u2019]s?)?"  # possessive: Bell's palsy
    r"(?:(?:\s+|-)(?:[A-Z][A-Za-z]*|de|van|von|la|le|du|del)(?:['\u2019]s?)?){0,3}"
    rf"(?:\s+|-)(?i:{_EPONYM_HEADS})\b"
)
_SAINT_OR_PLACE_BEFORE = re.compile(
    r"(?:\b(?:St|Ste|Saint|Sainte|San|Santa|Sant|Santo|Sao|Sankt|Hospital|Hopital|"
    r"Ospedale|Clinica|Clinic|Klinik|Klinikum|Ziekenhuis|Fundacio|Fundacion|"
    r"Institut|Instituto|Institute|Universitat|Universidad|University|Avinguda|"
    r"Avenida|Calle|Carrer|Rue|Street|Straat|Strasse|Plaza|Placa)\.?"
    r"(?:[\s-]+(?:[A-Z][A-Za-z]*|de|del|la|van|von))*[\s-]+)$"
)
_WORD = re.compile(r"[A-Za-z]+")
_TITLE = re.compile(
    r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Mme|Mlle|Dhr|Mevr|Sr|Sra|Srta|Herr|Frau|"
    r"Monsieur|Madame|Mademoiselle|Senor|Senora|Senorita|Senyor|Senyora|Meneer|"
    r"Mevrouw)\.?\s+[A-Z][a-z]+"
)
_NAME_LABEL = re.compile(
    r"(?i:\b(?:patient(?:'s)?\s+|pt\s+)?(?:name|full\s+name|first\s+name|last\s+name|"
    r"surname|naam|voornaam|achternaam|nombre|apellidos?|nom|prenom|cognoms?|"
    r"vorname|nachname)\s*[:=])\s*[A-Z][a-z]+"
)

# --- numbers ----------------------------------------------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)

#: Medical record numbers: a number of five digits or more after a record word.
DEFAULT_MRN_PATTERN = (
    r"(?i)\b(?:MRN|medical\s+record(?:\s+(?:number|no|nr|#))?|"
    r"hospital\s+(?:number|no|nr|id)|patient\s*(?:number|no|nr|#)|patientnummer|"
    r"patientennummer|ziekenhuisnummer|EPD(?:[\s-]*(?:nummer|nr|no))?|NHC|"
    r"n\.?[o°]?\.?\s*(?:de\s+)?historia(?:\s+clinica)?|historia\s+clinica|"
    r"numero\s+de\s+historia|Fallnummer|IPP|numero\s+de\s+dossier|"
    r"dossier\s*(?:nr|nummer|no|n°))"
    r"\.?\s*[:#=.-]?\s*(?:[A-Z]{1,3}[-/]?)?\d{5,}\b"
)

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|"
    "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|januari|februari|"
    "maart|mei|juni|juli|augustus|oktober|enero|febrero|marzo|abril|mayo|junio|"
    "julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|gener|febrer|"
    "marc|maig|juny|juliol|agost|setembre|desembre|januar|februar|marz|mai|"
    "dezember|janvier|fevrier|mars|avril|juin|juillet|aout|septembre|octobre|"
    "novembre|decembre"
)
_FULL_DATE = (
    r"(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2}|"
    rf"\d{{1,2}}(?:st|nd|rd|th|er|e|de)?\.?\s+(?:de\s+)?(?:{_MONTHS})\.?,?\s+"
    rf"(?:de\s+)?\d{{4}}|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_BIRTH_WORDS = (
    r"born(?:\s+on)?|d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|birth\s*date|birthday|"
    r"geboren(?:\s+op|\s+am)?|geb\.|geboortedatum|nacid[oa](?:\s+el)?|"
    r"fecha\s+de\s+nacimiento|f\.\s*(?:de\s+)?nac(?:imiento)?\.?|nascut|nascuda|"
    r"data\s+de\s+naixement|nee?\s+le|date\s+de\s+naissance|geburtsdatum"
)
_BIRTH_DATE = re.compile(
    rf"(?i)\b(?:{_BIRTH_WORDS})\s*[:,-]?\s*(?:on\s+|el\s+|le\s+|the\s+)?{_FULL_DATE}"
    r"(?!\d)"
)

#: Where a number ends: not inside a longer number, word, fraction or range.
_END = r"(?![\w,/:^%]|[.-]\d)"
#: Where a number starts: not inside a longer number, word, code or power.
_START = r"(?<![\w.,/:+^-])"
_PHONE_WORDS = re.compile(
    r"(?i)\b(?:tel|telf|tfno|tlf|telefono|telefoon|telefon|telephone|phone|mob|"
    r"mobile|movil|mobiel|gsm|cellphone|handy|portable|fax)\b\.?\s*"
    r"(?:n[or]?\.?|number|nummer|numero)?\s*[:.#=]?\s*"
    rf"(\(?\+?\d[\d\s().-]{{4,}}\d){_END}"
)
_PHONE_FORMATS = (
    # international: +31 6 1234 5678, 0034 612 345 678, +44 (0)20 7946 0958
    re.compile(
        r"(?<![\w.,/:+^-])(?:\+|00)[1-9]\d{0,2}(?:[\s.-]?\(0\))?[\s.-]?\(?\d{1,4}\)?"
        rf"(?:[\s.-]?\d{{1,4}}){{1,5}}{_END}"
    ),
    # national with a trunk 0: 06-12345678, 020 123 4567, (020) 1234567, 07700 900123
    re.compile(
        rf"{_START}(?:\(0\d{{1,4}}\)\s?|0\d{{1,4}}[\s./-]?)\d{{2,4}}"
        rf"(?:[\s.-]?\d{{2,4}}){{0,4}}{_END}"
    ),
    # Spanish nine digits, grouped: 612 345 678, 612 34 56 78, 93 123 45 67
    re.compile(
        rf"{_START}(?:[6-9]\d{{2}}[\s.-]\d{{3}}[\s.-]\d{{3}}|"
        rf"[6-9]\d{{2}}(?:[\s.-]\d{{2}}){{3}}|9\d[\s.-]\d{{3}}(?:[\s.-]\d{{2}}){{2}}){_END}"
    ),
    # North American: (555) 123-4567, 555-123-4567
    re.compile(rf"{_START}(?:\(\d{{3}}\)\s?|\d{{3}}[\s.-])\d{{3}}[\s.-]\d{{4}}{_END}"),
)
#: Digits a phone number of each format has: international (after the ``+`` or
#: ``00``), national with trunk 0, Spanish, North American.
_PHONE_DIGITS = ((8, 15), (10, 12), (9, 9), (10, 10))
#: A number followed by a unit or a power is a quantity, not a phone number.
_QUANTITY_AFTER = re.compile(
    r"\s*(?:x\b|\u00d7|cells?\b|cel\b|celulas|/|%|mg\b|g\b|ml\b|ul\b|l\b|u\b|iu\b|"
    r"kg\b|mmol|umol|copies|sfu|pbmc|e\d)",
    re.IGNORECASE,
)
#: A number after a lot, batch or reference word is that code, not a phone number.
_CODE_BEFORE = re.compile(
    r"(?i)\b(?:lot|lote|batch|charge|partij|ref|reference|kit|serial|sn|code|"
    r"order|sample|id)\s*(?:n[or]?\.?|number|nummer|numero|#)?\s*[:#=.-]?\s*$"
)
_DATE_INSIDE = re.compile(
    r"(?:^|\D)(?:\d{1,2}([./-])\d{1,2}\1(?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2})(?!\d)"
)

_BSN = re.compile(
    rf"{_START}(?:\d{{9}}|\d{{4}}\.\d{{2}}\.\d{{3}}|\d{{3}}[ .]\d{{3}}[ .]\d{{3}})"
    rf"{_END}"
)
_DNI = re.compile(r"(?<![\w])(\d{8})[\s-]?([A-Z])(?![\w])")
_NIE = re.compile(r"(?<![\w])([XYZ])[\s-]?(\d{7})[\s-]?([A-Z])(?![\w])")
_NHS = re.compile(rf"{_START}\d{{3}}[ -]\d{{3}}[ -]\d{{4}}{_END}")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

#: What may hold an identifier, looked for on all text values at once (Arrow's
#: RE2): values without any of it are not screened further.
_MAYBE = (
    r"@|\d(?:[\s().\-]?\d){4,}|(?i:born|dob|d\.o\.b|birth|geb|nacid|nacim|nac\.|"
    r"nascu|naixement|naissance|n[ée]e? le|name|naam|nombre|nom\b|cognom|apellido|"
    r"voornaam|vorname|nachname)|\b(?:Mr|Mrs|Ms|Miss|Mx|Mme|Mlle|Dhr|Mevr|Sra?|"
    r"Srta|Herr|Frau|Monsieur|Madame|Mademoiselle|Se[nñ]ora?|Senyora?|Meneer|"
    r"Mevrouw)\b"
)

_BLANK = "\x00"  # stands in for text already found, so it is found once

Spans = list[tuple[int, int]]


def _fold(text: str) -> str:
    """Return text with accents removed (``García`` → ``Garcia``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _bsn_valid(digits: str) -> bool:
    """Return whether nine digits pass the BSN 11-check (elfproef)."""
    if len(digits) != 9 or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    return (total - int(digits[8])) % 11 == 0


def _nhs_valid(digits: str) -> bool:
    """Return whether ten digits pass the NHS number modulus-11 check."""
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return (0 if check == 11 else check) == int(digits[9])


def _is_quantity_or_code(text: str, start: int, end: int) -> bool:
    """Return whether the number at ``start:end`` is a quantity or a code."""
    return bool(
        _QUANTITY_AFTER.match(text, end)
        or _CODE_BEFORE.search(text[max(0, start - 30) : start])
    )


def _national_ids(text: str) -> Spans:
    spans = []
    for m in _BSN.finditer(text):
        if _bsn_valid(_digits(m.group())) and not _is_quantity_or_code(
            text, m.start(), m.end()
        ):
            spans.append(m.span())
    for m in _DNI.finditer(text):
        if _DNI_LETTERS[int(m.group(1)) % 23] == m.group(2):
            spans.append(m.span())
    for m in _NIE.finditer(text):
        number = int(str("XYZ".index(m.group(1))) + m.group(2))
        if _DNI_LETTERS[number % 23] == m.group(3):
            spans.append(m.span())
    for m in _NHS.finditer(text):
        if _nhs_valid(_digits(m.group())) and not _is_quantity_or_code(
            text, m.start(), m.end()
        ):
            spans.append(m.span())
    return spans


def _phones_after_words(text: str) -> Spans:
    """Return numbers written after a phone word (``tel``, ``mobiel``, ...)."""
    return [
        m.span(1)
        for m in _PHONE_WORDS.finditer(text)
        if 6 <= len(_digits(m.group(1))) <= 15
    ]


def _phones(text: str) -> Spans:
    """Return numbers written as phone numbers are (see ``_PHONE_FORMATS``)."""
    spans = []
    for pattern, (low, high) in zip(_PHONE_FORMATS, _PHONE_DIGITS, strict=True):
        for m in pattern.finditer(text):
            number = m.group()
            digits = _digits(number)
            if number.startswith("00"):
                digits = digits[2:]
            if not low <= len(digits) <= high:
                continue
            if _DATE_INSIDE.search(number) or set(digits[3:]) <= {"0"}:
                continue
            if _is_quantity_or_code(text, m.start(), m.end()):
                continue
            spans.append(m.span())
    return spans


@dataclass(frozen=True)
class IdentifierScreen:
    """What free text is screened for: the names and record-number patterns.

    Attributes
    ----------
    names : frozenset of str
        Given and family names looked for (case and accents do not matter; a name
        counts when written with a capital). :data:`DEFAULT_NAMES` by default.
    mrn_patterns : tuple of str
        Regular expressions (Python syntax) of medical record numbers; a match is
        a medical record number. :data:`DEFAULT_MRN_PATTERN` by default.

    Examples
    --------
    >>> screen = IdentifierScreen().with_names(["Oosterhuis"])
    >>> screen.kinds("rash, called Oosterhuis at 06-12345678")
    ('phone number', 'name')
    >>> screen.kinds("Stevens-Johnson syndrome")
    ()
    """

    names: frozenset[str] = field(default=DEFAULT_NAMES)
    mrn_patterns: tuple[str, ...] = (DEFAULT_MRN_PATTERN,)

    def with_names(
        self, names: Iterable[str], *, only: bool = False
    ) -> IdentifierScreen:
        """Return the screen with more names (or ``only`` these names).

        Parameters
        ----------
        names : iterable of str
            Names, e.g. a trial's list of the names its sites must never send.
        only : bool, optional
            Replace the names rather than add to them.
        """
        folded = {_fold(n).strip().lower() for n in names if str(n).strip()}
        return replace(self, names=frozenset(folded if only else self.names | folded))

    def with_mrn_patterns(
        self, patterns: Iterable[str], *, only: bool = False
    ) -> IdentifierScreen:
        """Return the screen with more record-number patterns (or only these).

        Raises
        ------
        re.error
            If a pattern is not a valid regular expression.
        """
        added = tuple(patterns)
        for pattern in added:
            re.compile(pattern)
        return replace(
            self, mrn_patterns=added if only else (*self.mrn_patterns, *added)
        )

    @cached_property
    def _mrn(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.mrn_patterns]

    @cached_property
    def _folded_names(self) -> frozenset[str]:
        return frozenset(_fold(n).strip().lower() for n in self.names)

    @cached_property
    def _phrases(self) -> re.Pattern[str] | None:
        """Names of several words (``van tiel``), matched as a whole."""
        phrases = sorted(
            (n for n in self._folded_names if not n.isalpha()), key=len, reverse=True
        )
        if not phrases:
            return None
        parts = [
            r"[\s-]+".join(map(re.escape, re.split(r"[\s-]+", p))) for p in phrases
        ]
        return re.compile(rf"(?<![A-Za-z])(?:{'|'.join(parts)})(?![A-Za-z])", re.I)

    @cached_property
    def _maybe(self) -> str:
        """The RE2 prefilter: :data:`_MAYBE`, the names and the MRN patterns."""
        words = {w for n in self._folded_names for w in re.findall(r"[a-z]+", n)}
        names = "|".join(sorted(words, key=len, reverse=True))
        parts = [_MAYBE]
        if names:
            parts.append(rf"(?i:\b(?:{names})\b)")
        return "|".join(parts)

    @cached_property
    def _mrn_in_re2(self) -> bool:
        """Whether Arrow's RE2 understands every MRN pattern (else screen all)."""
        try:
            for pattern in self.mrn_patterns:
                pc.match_substring_regex(pa.array(["x"]), pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    def _finders(self) -> list[tuple[str, Callable[[str], Spans]]]:
        return [
            ("e-mail address", lambda t: [m.span() for m in _EMAIL.finditer(t)]),
            (
                "medical record number",
                lambda t: [m.span() for p in self._mrn for m in p.finditer(t)],
            ),
            ("birth date", lambda t: [m.span() for m in _BIRTH_DATE.finditer(t)]),
            ("phone number", _phones_after_words),
            ("national id number", _national_ids),
            ("phone number", _phones),
            ("name", self._names),
        ]

    def _names(self, text: str) -> Spans:
        spans = [m.span() for m in _TITLE.finditer(text)]
        spans += [m.span() for m in _NAME_LABEL.finditer(text)]
        if self._phrases is not None:
            spans += [
                m.span()
                for m in self._phrases.finditer(text)
                if any(c.isupper() for c in m.group())
            ]
        for m in _WORD.finditer(text):
            word = m.group()
            if not word[0].isupper() or word.lower() not in self._folded_names:
                continue
            if _EPONYM_AFTER.match(text, m.end()):
                continue
            if _SAINT_OR_PLACE_BEFORE.search(text[max(0, m.start() - 60) : m.start()]):
                continue
            spans.append(m.span())
        return spans

    def kinds(self, text: str) -> tuple[str, ...]:
        """Return the kinds of direct identifier in a text, in :data:`KINDS` order.

        Parameters
        ----------
        text : str
            A free-text value.

        Returns
        -------
        tuple of str
            Kinds found (empty when none), each once.
        """
        work = _fold(str(text))
        found = set()
        for kind, finder in self._finders():
            spans = finder(work)
            if not spans:
                continue
            found.add(kind)
            chars = list(work)
            for start, end in spans:
                chars[start:end] = _BLANK * (end - start)
            work = "".join(chars)
        return tuple(k for k in KINDS if k in found)

    def screen(
        self, values: Sequence[str] | pa.Array | pa.ChunkedArray
    ) -> list[tuple[str, ...]]:
        """Return :meth:`kinds` of each value, prefiltered at once with Arrow.

        Parameters
        ----------
        values : sequence of str, or Arrow string array
            Text values (e.g. a column's distinct values).

        Returns
        -------
        list of tuple of str
            The kinds found in each value.
        """
        if not len(values):
            return []
        if isinstance(values, pa.Array | pa.ChunkedArray):
            texts = values.cast(pa.large_string())
        else:
            texts = pa.array([str(v) for v in values], type=pa.large_string())
        if not pc.all(pc.string_is_ascii(texts)).as_py():  # fold accents away
            texts = pc.replace_substring_regex(
                pc.utf8_normalize(texts, "NFKD"), r"\p{Mn}", ""
            )
        maybe = _filled(pc.match_substring_regex(texts, self._maybe))
        if not self._mrn_in_re2:
            maybe[:] = True
        else:
            for pattern in self.mrn_patterns:
                maybe |= _filled(pc.match_substring_regex(texts, pattern))
        found: list[tuple[str, ...]] = [()] * len(values)
        for i in np.flatnonzero(maybe).tolist():
            value = values[i]
            found[i] = self.kinds(
                str(value.as_py() if hasattr(value, "as_py") else value)
            )
        return found


def _filled(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return an Arrow boolean result as a writable bool array, null as false."""
    return np.array(
        pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool
    )


def _screen_from_environment() -> IdentifierScreen:
    """Return the default screen with the names and pattern the environment adds."""
    screen = IdentifierScreen()
    names_file = os.environ.get("TRIALDATA_PRIVACY_NAMES")
    if names_file:
        lines = Path(names_file).read_text(encoding="utf-8").splitlines()
        screen = screen.with_names(
            line.strip() for line in lines if line.strip() and not line.startswith("#")
        )
    pattern = os.environ.get("TRIALDATA_MRN_PATTERN")
    if pattern:
        screen = screen.with_mrn_patterns([pattern])
    return screen


_CURRENT: list[IdentifierScreen] = []


def identifier_screen() -> IdentifierScreen:
    """Return the screen PV-001 uses (the default, plus what the environment adds)."""
    if not _CURRENT:
        _CURRENT.append(_screen_from_environment())
    return _CURRENT[0]


def use_identifier_screen(screen: IdentifierScreen | None) -> IdentifierScreen:
    """Make PV-001 use another screen; return the one it used before.

    Parameters
    ----------
    screen : IdentifierScreen or None
        The screen, e.g. ``IdentifierScreen().with_names(trial_names)``; None goes
        back to the default.

    Returns
    -------
    IdentifierScreen
        The previous screen (to restore it).
    """
    previous = identifier_screen()
    _CURRENT[0] = screen if screen is not None else _screen_from_environment()
    return previous
