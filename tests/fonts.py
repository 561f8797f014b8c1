"""Chinese PDFs need a CJK font from fontconfig (Debian: fonts-noto-cjk, which .ci/run installs)."""

from __future__ import annotations

import functools
import shutil
import subprocess

import pytest


@functools.cache
def cjk_font_installed() -> bool:
    """True when fontconfig knows a font covering Chinese."""
    if shutil.which("fc-list") is None:
        return False
    listing = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    return bool(listing.strip())


def require_cjk_font() -> None:
    """Skip the calling test, saying what to install, when no Chinese font is available."""
    if not cjk_font_installed():
        pytest.skip("no CJK font for the PDF text: apt-get install fonts-noto-cjk")
