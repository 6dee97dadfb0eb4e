"""Uploaded PDFs of applications: checked by their content, stored outside the web root under
their content hash, read back only through `services.applications` (consultants, and the
municipality's own link).

A file is refused - and nothing is written - when it is not a PDF by its content (the name does not
count), is larger than FORLOEB_UPLOAD_MAX_MB, cannot be read, or holds a CPR number in its text
(read with pypdf; an encrypted PDF cannot be checked and is refused too). The CPR number is never
echoed or logged.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.cpr import contains_cpr
from core.errors import CprNumberFound, InvalidInput
from core.settings import get_settings

PDF_CPR_MESSAGE = (
    "PDF-filen ser ud til at indeholde et CPR-nummer. Fjern det fra dokumentet og upload det igen; "
    "filen er ikke gemt."
)


@dataclass(frozen=True)
class CheckedPdf:
    content: bytes
    sha256: str
    filename: str


def max_bytes() -> int:
    return get_settings().upload_max_mb * 1024 * 1024


def sanitise_name(name: str) -> str:
    """The original file name without a path, control or odd characters: 'Referat maj.pdf'."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isalnum() or ch in " ._-()æøåÆØÅ").strip(" .")
    base = re.sub(r"\s+", " ", base)[:100]
    if not base:
        base = "dokument"
    if not base.lower().endswith(".pdf"):
        base += ".pdf"
    return base


def check_pdf(content: bytes, filename: str, what: str) -> CheckedPdf:
    """The file if it is a PDF we may keep; `InvalidInput` (Danish, naming `what`) otherwise."""
    limit = get_settings().upload_max_mb
    if len(content) > max_bytes():
        raise InvalidInput(f"{what}: filen er større end {limit} MB; filen er ikke gemt.")
    if not content:
        raise InvalidInput(f"{what}: filen er tom; filen er ikke gemt.")
    if not content[:1024].lstrip().startswith(b"%PDF-"):
        raise InvalidInput(f"{what}: filen er ikke en PDF (indholdet er ikke PDF); filen er ikke gemt.")
    text = " ".join(_pdf_text(content, what).split())  # pypdf breaks lines anywhere
    if contains_cpr(text) or contains_cpr(filename):
        raise CprNumberFound(f"{what}: {PDF_CPR_MESSAGE}")
    return CheckedPdf(content, hashlib.sha256(content).hexdigest(), sanitise_name(filename))


def _pdf_text(content: bytes, what: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings could quote the text
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise InvalidInput(
                f"{what}: PDF-filen er krypteret eller kodeordsbeskyttet og kan ikke kontrolleres; "
                "upload den uden beskyttelse. Filen er ikke gemt."
            )
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except InvalidInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError):
        raise InvalidInput(
            f"{what}: PDF-filen kan ikke læses (den er beskadiget); filen er ikke gemt."
        ) from None


def path_for(sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a content hash")
    return get_settings().resolved_upload_dir / sha256[:2] / f"{sha256}.pdf"


def store(pdf: CheckedPdf) -> Path:
    """Write the file under its hash (the same content is kept once)."""
    path = path_for(pdf.sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pdf.content)
        tmp.chmod(0o600)
        tmp.replace(path)
    return path


def read(sha256: str) -> bytes:
    return path_for(sha256).read_bytes()
