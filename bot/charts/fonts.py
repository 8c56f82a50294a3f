"""The chart fonts shipped in fonts/ (Noto subsets, OFL), registered with matplotlib.

System fonts are never relied on: the subsets carry their own family names
("… Subset") so matplotlib cannot swap in a same-named system font, and the
fallback list lets one label mix Latin, Thai and Chinese.
"""

from __future__ import annotations

import functools
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Latin and Chinese from the CJK subset (its Latin matches its hanzi), Thai next;
# DejaVu Sans (inside matplotlib) only catches symbols neither has.
FAMILIES = ["Noto Sans CJK TC Subset", "Noto Sans Thai Subset", "DejaVu Sans"]


@functools.cache
def register() -> list[str]:
    """Add the shipped fonts to matplotlib's font manager once; returns their files."""
    from matplotlib import font_manager  # noqa: PLC0415 - matplotlib loads only for charts

    files = sorted(str(p) for p in FONT_DIR.iterdir() if p.suffix in {".ttf", ".otf"})
    for path in files:
        font_manager.fontManager.addfont(path)
    return files
