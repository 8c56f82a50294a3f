"""Regenerate the chart and rich menu fonts in bot/charts/fonts/ from Debian's Noto packages.

    apt-get install -y fonts-noto-core fonts-noto-cjk
    .venv/bin/python tools/subset_fonts.py

A whole Noto Sans CJK font is ~16 MB, too big to commit, so the charts ship
subsets made with fontTools: Latin, Thai, and the Traditional Chinese we need —
every character in the message catalogues plus Big5's level-1 "frequently used"
characters (5,401). Matplotlib draws glyph by glyph without OpenType shaping,
so the CJK subset drops layout features and hinting to stay small. Noto Sans
Thai has no Latin letters, so the rich menus' English labels use a Latin-only
subset of Noto Sans Bold.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bot" / "charts" / "fonts"
CJK_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
THAI_SOURCES = {
    "NotoSansThai-Regular-subset.ttf": Path(
        "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf"
    ),
    "NotoSansThai-Bold-subset.ttf": Path("/usr/share/fonts/truetype/noto/NotoSansThai-Bold.ttf"),
}
LATIN_SOURCES = {
    "NotoSans-Bold-subset.ttf": Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
}
CJK_FAMILY = "Noto Sans CJK TC"
# Our subsets get their own family names, so matplotlib can never pick a
# system-wide Noto font of the same name instead (tests prove which is used).
SUFFIX = " Subset"
CJK_OUT = "NotoSansCJKtc-Regular-subset.otf"
LICENCE_SOURCE = Path("/usr/share/doc/fonts-noto-core/copyright")
MAX_BYTES = 2 * 1024 * 1024  # keep every committed file under 2 MB

# Latin, punctuation, currency and the symbols charts and labels use.
COMMON_RANGES = [
    (0x0020, 0x007E),
    (0x00A0, 0x00FF),
    (0x2010, 0x205E),
    (0x20A0, 0x20BF),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
    (0x2264, 0x2265),
    (0x25A0, 0x25CF),
]
THAI_RANGE = (0x0E00, 0x0E7F)
CJK_RANGES = [(0x3000, 0x303F), (0xFF01, 0xFF5E)]


def codepoints(ranges) -> set[int]:
    return {cp for low, high in ranges for cp in range(low, high + 1)}


def big5_level1() -> set[int]:
    """Big5's frequently used hanzi: lead bytes A4–C6, up to C67E, in Big5 order."""
    found = set()
    for lead in range(0xA4, 0xC7):
        for trail in [*range(0x40, 0x7F), *range(0xA1, 0xFF)]:
            if (lead, trail) > (0xC6, 0x7E):
                break
            try:
                found.add(ord(bytes([lead, trail]).decode("big5")))
            except UnicodeDecodeError:
                continue
    return found


def catalogue_characters() -> set[int]:
    """Every character used by the three message catalogues."""
    text = "".join(p.read_text("utf-8") for p in sorted(ROOT.glob("locale/*/LC_MESSAGES/*.po")))
    return {ord(ch) for ch in text if ord(ch) >= 0x20}


def make_subset(font: TTFont, wanted: set[int], out: Path, keep_layout: bool) -> int:
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    if keep_layout:
        options.layout_features = ["*"]
    else:
        options.layout_features = []
        options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted & set(font.getBestCmap())))
    subsetter.subset(font)
    rename(font)
    font.save(out)
    return out.stat().st_size


def rename(font: TTFont) -> None:
    """Append SUFFIX to the family, full and PostScript names."""
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 3, 4, 16):
            names.setName(str(record) + SUFFIX, record.nameID, *_key(record))
        elif record.nameID == 6:
            names.setName(str(record) + SUFFIX.strip(), 6, *_key(record))
    if "CFF " in font:
        # The CFF table carries its own copy of the names.
        cff = font["CFF "].cff
        cff.fontNames = [n + SUFFIX.strip() for n in cff.fontNames]
        top = cff.topDictIndex[0]
        top.FamilyName = getattr(top, "FamilyName", CJK_FAMILY) + SUFFIX
        top.FullName = getattr(top, "FullName", CJK_FAMILY) + SUFFIX


def _key(record) -> tuple[int, int, int]:
    return record.platformID, record.platEncID, record.langID


def write_licence(fonts: list[TTFont]) -> None:
    """OFL.txt: the fonts' copyright lines, then the licence text from Debian's copyright file."""
    lines = LICENCE_SOURCE.read_text("utf-8").splitlines()
    # The last "License: OFL-1.1" paragraph holds the text; earlier ones only name it.
    start = len(lines) - lines[::-1].index("License: OFL-1.1")
    body = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        body.append("" if line.strip() == "." else line[1:])
    notices = sorted({f["name"].getDebugName(0) for f in fonts})
    header = [
        *notices,
        "",
        "The subsets in this folder were made by tools/subset_fonts.py.",
        "They are licensed under the SIL Open Font License, Version 1.1:",
        "",
    ]
    (OUT / "OFL.txt").write_text("\n".join(header + body).rstrip() + "\n", "utf-8")


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    catalogue = catalogue_characters()
    sources = []
    for name, path in THAI_SOURCES.items():
        font = TTFont(path)
        sources.append(TTFont(path))  # the subsetter changes `font` in place
        wanted = codepoints([THAI_RANGE, *COMMON_RANGES]) | catalogue
        size = make_subset(font, wanted, OUT / name, keep_layout=True)
        print(f"{name}: {size / 1024:.0f} KiB")

    for name, path in LATIN_SOURCES.items():
        font = TTFont(path)
        sources.append(TTFont(path))
        size = make_subset(font, codepoints(COMMON_RANGES), OUT / name, keep_layout=True)
        print(f"{name}: {size / 1024:.0f} KiB")

    collection = TTCollection(CJK_SOURCE)
    index = next(
        i for i, f in enumerate(collection.fonts) if f["name"].getDebugName(1) == CJK_FAMILY
    )
    font = TTFont(CJK_SOURCE, fontNumber=index)
    sources.append(TTFont(CJK_SOURCE, fontNumber=index))
    wanted = codepoints(COMMON_RANGES + CJK_RANGES) | big5_level1() | catalogue
    wanted -= codepoints([THAI_RANGE])
    size = make_subset(font, wanted, OUT / CJK_OUT, keep_layout=False)
    print(f"{CJK_OUT}: {size / 1024:.0f} KiB")
    write_licence(sources)

    too_big = [p.name for p in OUT.iterdir() if p.stat().st_size >= MAX_BYTES]
    if too_big:
        print(f"over 2 MB: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
