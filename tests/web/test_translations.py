"""Chinese first: every user-visible string in the code and templates has a Chinese translation."""

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CHINESE = ROOT / "web" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def extracted_msgids(tmp_path: Path) -> set[str]:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
         "-k", "lazy_gettext", "-k", "mail_text", "--no-location", "-o", str(template), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with template.open("rb") as handle:
        return {str(message.id) for message in read_po(handle) if message.id}


def filled(string) -> bool:
    """A translation counts when it (and each of its plural forms) is non-empty."""
    return all(string) if isinstance(string, tuple) else bool(string)


def test_every_msgid_has_a_chinese_translation(tmp_path):
    with CHINESE.open("rb") as handle:
        catalog = read_po(io.BytesIO(handle.read()), locale="zh_Hans_CN")
    translated = {str(message.id) for message in catalog if message.id and filled(message.string) and not message.fuzzy}
    missing = sorted(extracted_msgids(tmp_path) - translated)
    assert not missing, "no Chinese translation for: " + "; ".join(missing[:20])


def test_compiled_catalog_matches_the_po_file():
    from babel.messages.mofile import read_mo

    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    with CHINESE.open("rb") as handle:
        source = {plain(m.id): plain(m.string) for m in read_po(handle) if m.id and filled(m.string) and not m.fuzzy}
    with CHINESE.with_suffix(".mo").open("rb") as handle:
        compiled = {plain(m.id): plain(m.string) for m in read_mo(handle) if m.id}
    assert compiled == source, "the .mo is stale: run pybabel compile -d web/translations (docs/translations.md)"
