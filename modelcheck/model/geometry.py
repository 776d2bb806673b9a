"""Page-table geometries: word size, PAGE/PMD/PUD shifts and the user address-space bounds."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from modelcheck.errors import InputError

__all__ = ["Geometry", "PRESETS", "get_geometry", "parse_geometry", "parse_int_text", "LEVELS"]

_INT_TEXT = re.compile(r"0[xX][0-9a-fA-F]+|0|[1-9][0-9]*")


def parse_int_text(text: str, where: str) -> int:
    """A number as every input writes one: ``0x`` and hex digits, or decimal digits, ASCII only,
    with nothing around (no spaces, underscores or sign); a decimal with a leading 0 is refused,
    since C would read it as octal.

    >>> parse_int_text("0x200000", "len"), parse_int_text("4096", "len")
    (2097152, 4096)
    >>> parse_int_text("0755", "len")
    Traceback (most recent call last):
    modelcheck.errors.InputError: len: '0755' has a leading 0: write 0x… or a decimal without it (C reads 0755 as octal)
    """
    if _INT_TEXT.fullmatch(text):
        return int(text, 16) if text[:2] in ("0x", "0X") else int(text, 10)
    if re.fullmatch(r"0[0-9]+", text):
        raise InputError(where, f"{text!r} has a leading 0: write 0x… or a decimal without it "
                                f"(C reads {text} as octal)")
    raise InputError(where, f"expected a number (0x… hex or decimal digits), got {text!r}")


#: Realignment levels a variant can be asked to realign to.
LEVELS = ("pmd", "pud")


@dataclass(frozen=True)
class Geometry:
    """One kernel configuration's page-table shape.

    Folded levels follow asm-generic/pgtable-nopmd.h and pgtable-nopud.h: a folded PMD or PUD
    takes the shift of the level above it (PGDIR_SHIFT), so with two levels PMD_SIZE ==
    PUD_SIZE == PGDIR_SIZE.  ``levels`` is CONFIG_PGTABLE_LEVELS.

    >>> g = get_geometry("x86_64-4level")
    >>> hex(g.pmd_size), hex(g.pmd_mask), hex(g.pud_size)
    ('0x200000', '0xffffffffffe00000', '0x40000000')
    >>> hex(get_geometry("i386-pae").pmd_mask)
    '0xffe00000'
    """

    name: str
    word_bits: int  # sizeof(unsigned long) * 8
    int_bits: int  # sizeof(int) * 8
    page_shift: int
    pmd_shift: int
    pud_shift: int
    levels: int  # CONFIG_PGTABLE_LEVELS
    task_size: int  # exclusive top of user space
    mmap_min_addr: int
    arch_move_pmd: bool = True  # arch selects CONFIG_HAVE_MOVE_PMD
    arch_move_pud: bool = True  # arch selects CONFIG_HAVE_MOVE_PUD
    source: str = ""

    def __post_init__(self) -> None:
        if not 4 <= self.word_bits <= 64:
            raise InputError("geometry", "word_bits must be 4 .. 64 (the kernel's are 32 and 64)")
        if not 1 <= self.int_bits <= self.word_bits:
            raise InputError("geometry", "int_bits must be 1 .. word_bits")
        if not 2 <= self.levels <= 5:
            raise InputError("geometry", "levels (CONFIG_PGTABLE_LEVELS) must be 2 .. 5")
        if not 1 <= self.page_shift:
            raise InputError("geometry", "page_shift must be at least 1")
        if not (self.page_shift <= self.pmd_shift <= self.pud_shift < self.word_bits):
            raise InputError("geometry", "need page_shift <= pmd_shift <= pud_shift < word_bits")
        if self.int_bits > self.word_bits:
            raise InputError("geometry", "int_bits must not exceed word_bits")
        if not (0 < self.mmap_min_addr < self.task_size < 1 << self.word_bits):
            raise InputError("geometry", "need 0 < mmap_min_addr < task_size < 2^word_bits")
        if self.task_size % self.page_size:
            raise InputError("geometry", "task_size must be page aligned")
        if -(-self.task_size // self.pud_size) * self.pud_size >= 1 << self.word_bits:
            raise InputError("geometry", "task_size rounded up to PUD_SIZE must stay below 2^word_bits")

    @property
    def word_mask(self) -> int:
        return (1 << self.word_bits) - 1

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def pmd_size(self) -> int:
        return 1 << self.pmd_shift

    @property
    def pud_size(self) -> int:
        return 1 << self.pud_shift

    @property
    def pmd_mask(self) -> int:
        return ~(self.pmd_size - 1) & self.word_mask

    @property
    def pud_mask(self) -> int:
        return ~(self.pud_size - 1) & self.word_mask

    @property
    def have_move_pmd(self) -> bool:
        """move_normal_pmd() can move a PMD entry (CONFIG_HAVE_MOVE_PMD)."""
        return self.arch_move_pmd

    @property
    def have_move_pud(self) -> bool:
        """move_normal_pud() exists only with CONFIG_PGTABLE_LEVELS > 2 and HAVE_MOVE_PUD."""
        return self.arch_move_pud and self.levels > 2

    def level_size(self, level: str) -> int:
        return {"pmd": self.pmd_size, "pud": self.pud_size}[level]

    def level_mask(self, level: str) -> int:
        return {"pmd": self.pmd_mask, "pud": self.pud_mask}[level]

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        for key in ("task_size", "mmap_min_addr"):
            d[key] = hex(d[key])
        d.update(page_size=hex(self.page_size), pmd_size=hex(self.pmd_size),
                 pud_size=hex(self.pud_size), have_move_pmd=self.have_move_pmd,
                 have_move_pud=self.have_move_pud)
        return d


_X86_SRC = ("arch/x86/include/asm/pgtable_64_types.h, page_64_types.h; arch/x86/Kconfig selects "
            "HAVE_MOVE_PMD (9f132f7e1455) and HAVE_MOVE_PUD; mmap_min_addr: Debian config 65536")
_I386_SRC = ("i386: TASK_SIZE = PAGE_OFFSET 0xC0000000 (3G/1G split); folded levels per "
             "asm-generic/pgtable-nopmd.h, pgtable-nopud.h; mmap_min_addr: Debian config 65536")
_ARM64_SRC = ("arch/arm64/include/asm/pgtable-hwdef.h ARM64_HW_PGTABLE_LEVEL_SHIFT, arch/arm64/Kconfig "
              "PGTABLE_LEVELS, TASK_SIZE_64 = 1 << VA_BITS; mmap_min_addr: Debian config 32768")
_TOY_SRC = "scale model for exhaustive enumeration: LP64 shape (int is half a word) at a small word size"


def _preset(*geoms: Geometry) -> dict[str, Geometry]:
    return {g.name: g for g in geoms}


PRESETS: dict[str, Geometry] = _preset(
    Geometry("x86_64-4level", 64, 32, 12, 21, 30, 4, (1 << 47) - 0x1000, 0x10000, source=_X86_SRC),
    Geometry("x86_64-5level", 64, 32, 12, 21, 30, 5, (1 << 56) - 0x1000, 0x10000, source=_X86_SRC),
    Geometry("arm64-4k-39", 64, 32, 12, 21, 30, 3, 1 << 39, 0x8000, source=_ARM64_SRC),
    Geometry("arm64-4k-48", 64, 32, 12, 21, 30, 4, 1 << 48, 0x8000, source=_ARM64_SRC),
    Geometry("arm64-16k-47", 64, 32, 14, 25, 36, 3, 1 << 47, 0x8000, source=_ARM64_SRC),
    Geometry("arm64-16k-48", 64, 32, 14, 25, 36, 4, 1 << 48, 0x8000, source=_ARM64_SRC),
    Geometry("arm64-64k-42", 64, 32, 16, 29, 29, 2, 1 << 42, 0x8000, source=_ARM64_SRC),
    Geometry("arm64-64k-48", 64, 32, 16, 29, 42, 3, 1 << 48, 0x8000, source=_ARM64_SRC),
    Geometry("i386-2level", 32, 32, 12, 22, 22, 2, 0xC0000000, 0x10000, source=_I386_SRC),
    Geometry("i386-pae", 32, 32, 12, 21, 30, 3, 0xC0000000, 0x10000, source=_I386_SRC),
    Geometry("toy-16", 16, 8, 8, 10, 12, 4, 0xC000, 0x100, source=_TOY_SRC),
    Geometry("toy-16-2level", 16, 8, 8, 11, 11, 2, 0xC000, 0x100, source=_TOY_SRC),
    Geometry("toy-8", 8, 4, 2, 4, 5, 4, 0xC0, 0x4, source=_TOY_SRC),
)

_CUSTOM_KEYS = {"word": "word_bits", "int": "int_bits", "page": "page_shift", "pmd": "pmd_shift",
                "pud": "pud_shift", "levels": "levels", "task": "task_size", "min": "mmap_min_addr"}


def parse_geometry(spec: str) -> Geometry:
    """A custom geometry from ``custom:word=64,page=12,pmd=21,pud=30,levels=4,task=0x7ffffffff000,min=0x10000``.

    ``int`` defaults to 32 (or the word size if smaller); ``levels`` defaults to 4.
    """
    body = spec[len("custom:"):]
    fields: dict[str, int] = {}
    for part in filter(None, body.split(",")):
        key, eq, value = part.partition("=")
        if not eq or key not in _CUSTOM_KEYS:
            raise InputError("geometry", f"bad custom geometry field {part!r} "
                             f"(known: {', '.join(_CUSTOM_KEYS)})")
        if _CUSTOM_KEYS[key] in fields:
            raise InputError("geometry", f"custom geometry field {key!r} is given twice")
        fields[_CUSTOM_KEYS[key]] = parse_int_text(value, f"geometry {key}")
    missing = [k for k, v in _CUSTOM_KEYS.items()
               if v not in fields and k not in ("int", "levels")]
    if missing:
        raise InputError("geometry", f"custom geometry lacks {', '.join(missing)}")
    fields.setdefault("int_bits", min(32, fields["word_bits"]))
    fields.setdefault("levels", 4)
    return Geometry(name=spec, source="custom", **fields)


def get_geometry(name: str) -> Geometry:
    """A preset by name, or a ``custom:…`` specification."""
    if name.startswith("custom:"):
        return parse_geometry(name)
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError("geometry", f"unknown geometry {name!r} (known: {', '.join(PRESETS)})") from None
