"""Refresh the message catalogs: extract every msgid, fold in the pending Chinese translations, compile.

Areas written in parallel keep their new translations in web/translations/pending/<area>.po (msgid → Chinese);
this script makes them part of the zh_Hans_CN catalog, updates both catalogs from a fresh extraction, and
compiles the .mo files the application reads. Run from the repository root:

    python3 scripts/merge_translations.py [--check]

With --check it changes nothing and exits 1 when a msgid in the code has no Chinese translation.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "web" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
CHINESE = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
PENDING = TRANSLATIONS / "pending"


def pybabel(*args: str) -> None:
    """Run a pybabel command from the repository root, quietly."""
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"pybabel {args[0]} failed:\n{result.stderr}")


def has_text(string: str | tuple[str, ...]) -> bool:
    """True when a translation (or every plural form of it) is filled in."""
    if isinstance(string, tuple):
        return bool(string) and all(string)
    return bool(string)


def pending_translations() -> dict[str, str]:
    """Every msgid → Chinese pair waiting in web/translations/pending/*.po."""
    found: dict[str, str] = {}
    for path in sorted(PENDING.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle):
                string = message.string
                if isinstance(string, tuple):
                    # Chinese has one plural form; a pending file without a header reads as two.
                    string = tuple(form for form in string if form)
                if message.id and has_text(string):
                    found[message.id] = string
    return found


def fold_in(translations: dict[str, str]) -> int:
    """Write ``translations`` into the Chinese catalog where it has no translation yet; return how many."""
    with CHINESE.open("rb") as handle:
        catalog = read_po(handle, locale="zh_Hans_CN")
    added = 0
    for msgid, text in translations.items():
        message = catalog.get(msgid)
        if message is None:
            catalog.add(msgid, text)
            added += 1
        elif not has_text(message.string) or message.fuzzy:
            message.string = text
            message.flags.discard("fuzzy")
            added += 1
    with CHINESE.open("wb") as handle:
        write_po(handle, catalog, width=120)
    return added


def untranslated() -> list[str]:
    """The msgids of the Chinese catalog that still have no translation (or only a fuzzy one)."""
    with CHINESE.open("rb") as handle:
        catalog = read_po(handle, locale="zh_Hans_CN")
    return [str(message.id) for message in catalog if message.id and (not has_text(message.string) or message.fuzzy)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report untranslated msgids")
    options = parser.parse_args()
    if options.check:
        missing = untranslated()
        print("\n".join(missing) or "every msgid has a Chinese translation")
        return 1 if missing else 0
    pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
            "-o", str(TEMPLATE), ".")
    pybabel("update", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "--no-fuzzy-matching", "-w", "120")
    added = fold_in(pending_translations())
    pybabel("compile", "-d", str(TRANSLATIONS))
    missing = untranslated()
    print(f"folded in {added} pending translations; {len(missing)} msgids still untranslated")
    for msgid in missing:
        print(f"  untranslated: {msgid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
