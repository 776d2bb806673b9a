"""Kernel C as it ships: a file read through a C preprocessor, its functions found by name.

mm/mremap.c of any version holds far more than the realignment: page-table walkers, the mremap()
system call, macros, ``#ifdef CONFIG_…`` blocks and headers.  This module turns such a file into
what the C front-end reads, without guessing at any of it:

* comments are blanked (lines and columns kept) and ``#include`` lines dropped (the headers are
  not read: what the subset needs of them is its prelude);
* ``IS_ENABLED(CONFIG_X)`` becomes 1 or 0 and the file's own directives (``#define``, ``#if``,
  ``#ifdef``, ``#else`` …) are run by pcpp, a C99 preprocessor, under ``KERNEL_CONFIG`` —
  Debian's amd64 configuration as far as mm/mremap.c looks at it — with ``#line`` markers, so
  every position still names the original FILE:LINE;
* the top-level function definitions of the result are located by a scanner that knows strings,
  characters and braces; only the functions the checker needs (the realignment functions, the
  helpers they call and move_page_tables()) are handed to pycparser, each with the positions of
  its original text, so unrelated kernel code is never parsed.

``move_page_tables()`` itself is cut at its loop by ``cfront``; this module only finds it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from modelcheck.errors import InputError

__all__ = ["KERNEL_CONFIG", "Chunk", "preprocess", "functions", "strip_comments", "version_of_tree"]

#: the kernel configuration ``#if``/``#ifdef`` and IS_ENABLED() see: Debian's amd64 kernels
#: (CONFIG_X86_5LEVEL, so five levels; x86 selects HAVE_MOVE_PMD and HAVE_MOVE_PUD); every other
#: CONFIG_ option is undefined, as in C.  None of the realignment code of 6.1 … 7.3 depends on it.
KERNEL_CONFIG = {"CONFIG_MMU": "1", "CONFIG_64BIT": "1", "CONFIG_X86_64": "1", "CONFIG_PGTABLE_LEVELS": "5",
                 "CONFIG_HAVE_MOVE_PMD": "1", "CONFIG_HAVE_MOVE_PUD": "1", "CONFIG_TRANSPARENT_HUGEPAGE": "1",
                 "CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE": "1", "CONFIG_MEM_SOFT_DIRTY": "1",
                 "CONFIG_USERFAULTFD": "1", "CONFIG_HUGETLB_PAGE": "1"}

#: compiler attributes of include/linux/compiler*.h that pycparser does not read, as what they
#: mean to the subset (nothing, or inline)
ATTRIBUTES = {"__always_inline": "inline", "noinline": "", "__maybe_unused": "", "__must_check": "",
              "__cold": "", "__init": "", "__read_mostly": "", "__user": "", "__rcu": "", "__force": "",
              "__iomem": "", "__noreturn": "", "__pure": "", "__attribute_const__": "", "notrace": ""}


_PREDEFINED = re.compile(r"\b(?:" + "|".join(map(re.escape, {**KERNEL_CONFIG, **ATTRIBUTES})) + r")\b")


def strip_comments(text: str) -> str:
    """Comments to spaces, keeping every line and column; string and character literals kept."""
    def blank(m: re.Match) -> str:
        s = m.group(0)
        return s if s[0] in "\"'" else re.sub(r"[^\n]", " ", s)
    return re.sub(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|/\*.*?\*/|//[^\n]*', blank, text, flags=re.S)


def _prepare(text: str, path: str) -> str:
    """Comments blanked, ``#include`` lines dropped, IS_ENABLED() decided; an unterminated
    comment is refused where it starts."""
    text = strip_comments(text)
    # what stripping left of a comment is one never closed (string literals aside)
    m = re.search(r"/\*", re.sub(r'"(?:[^"\\\n]|\\.)*"', lambda m: " " * len(m.group(0)), text))
    if m:
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        raise InputError(f"{path}:{line}:{col}", "this comment is never closed")
    text = re.sub(r"(?m)^[ \t]*#[ \t]*include\b.*$", "", text)
    return re.sub(r"\bIS_ENABLED\s*\(\s*(CONFIG_\w+)\s*\)",
                  lambda m: "1" if m.group(1) in KERNEL_CONFIG else "0", text)


def preprocess(text: str, path: str) -> str:
    """The file after its own directives, with ``#line N "path"`` markers; a preprocessor error
    (``#error``, a malformed directive, an unterminated ``#if``) is refused at its line."""
    prepared = _prepare(text, path)
    if not re.search(r"(?m)^[ \t]*#", prepared) and not _PREDEFINED.search(prepared):
        return prepared  # nothing for a preprocessor to do (a hand-cut function): lines kept as they are
    from pcpp import Preprocessor

    errors: list[tuple[str, int, str]] = []

    class _Pre(Preprocessor):  # type: ignore[misc]
        def on_error(self, file: str, line: int, msg: str) -> None:
            errors.append((file, line, msg))

        def on_comment(self, tok: object) -> bool:
            return True

        def on_directive_unknown(self, directive: Any, toks: Any, ifpassthru: Any, precedingtoks: Any) -> Any:
            if directive.value == "error":
                errors.append((directive.source, directive.lineno,
                               "#error " + "".join(t.value for t in toks).strip()))
                return True
            return True if directive.value == "warning" else None

    p = _Pre()
    p.line_directive = "#line"
    for name, value in {**KERNEL_CONFIG, **ATTRIBUTES}.items():
        p.define(f"{name} {value}")
    p.parse(prepared, path)
    out = io.StringIO()
    p.write(out)
    if errors:
        file, line, msg = errors[0]
        raise InputError(f"{path}:{line}", f"preprocessor: {msg}")
    return out.getvalue()


@dataclass(frozen=True)
class Chunk:
    """One top-level function definition of a preprocessed file: its text (from its first token
    to its closing brace, ``#line`` markers inside kept) and where that text starts and ends in
    the original file."""

    name: str
    text: str
    file: str
    line: int
    col: int
    end_line: int

    def source(self) -> str:
        """The text as pycparser reads it, positioned at its original line and column."""
        return f'#line {self.line} "{self.file}"\n' + " " * (self.col - 1) + self.text + "\n"


_LINE = re.compile(r'#\s*(?:line\s+)?(\d+)\s+"((?:[^"\\]|\\.)*)"')
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{};]|[^"\'{};]+|["\']')


def functions(pp: str, path: str) -> dict[str, Chunk]:
    """The top-level function definitions of the preprocessed text ``pp``, by name.  A function
    defined twice (after the preprocessor: an #ifdef's two branches are one), a '}' without its '{'
    or a '{' never closed is refused at its original position."""
    out: dict[str, Chunk] = {}
    file, line = path, 0  # the original position of the current output line
    depth = 0
    head: tuple[int, str, int, int] | None = None  # offset in pp, file, line, col of a declaration's first token
    body_open: tuple[str, int, int] | None = None  # where the current function's '{' is
    name: str | None = None
    offset = 0
    for text in pp.split("\n"):
        line += 1
        base, offset = offset, offset + len(text) + 1
        if text.lstrip().startswith("#"):
            d = _LINE.match(text.lstrip())
            if d:  # no header is read, so every marker is of this file (pcpp may write it relative)
                line = int(d.group(1)) - 1
            continue  # a directive the preprocessor passed through (#pragma)
        for m in _TOKEN.finditer(text):
            tok = m.group(0)
            if not tok.strip():
                continue
            col = m.start() + len(tok) - len(tok.lstrip()) + 1
            if depth == 0 and head is None:
                head = (base + col - 1, file, line, col)
            if tok == "{":
                if depth == 0:
                    assert head is not None
                    name = _function_name(pp[head[0]:base + m.start()])
                    body_open = (file, line, col)
                depth += 1
            elif tok == "}":
                if depth == 0:
                    raise InputError(f"{file}:{line}:{col}", "'}' closes no '{'")
                depth -= 1
                if depth == 0:
                    assert head is not None
                    if name is not None and head[1] == file:
                        if name in out:
                            raise InputError(f"{file}:{head[2]}:{head[3]}", f"{name}() is defined twice (first at "
                                                                           f"line {out[name].line})")
                        out[name] = Chunk(name, pp[head[0]:base + m.end()], file, head[2], head[3], line)
                    name, head = None, None
            elif tok == ";" and depth == 0:
                head = None
    if depth:
        assert body_open is not None
        f, ln, col = body_open
        raise InputError(f"{f}:{ln}:{col}", "this '{' is never closed")
    return out


def _function_name(head: str) -> str | None:
    """The name a declaration head ``... name(params)`` defines, when it is a function's."""
    h = re.sub(r'"(?:[^"\\]|\\.)*"', '""', head).rstrip()
    h = re.sub(r"(?m)^\s*#.*$", "", h).rstrip()
    if not h.endswith(")") or "=" in h.split("(")[0]:
        return None
    depth, i = 0, len(h) - 1
    while i >= 0:  # the '(' matching the final ')'
        depth += {")": 1, "(": -1}.get(h[i], 0)
        if depth == 0:
            break
        i -= 1
    m = re.search(r"([A-Za-z_]\w*)\s*$", h[:i])
    return m.group(1) if m and m.group(1) not in ("if", "while", "for", "switch", "return", "sizeof") else None


def version_of_tree(makefile_text: str) -> str | None:
    """The kernel version a top-level Makefile names (VERSION.PATCHLEVEL.SUBLEVEL), if it does."""
    fields = dict(re.findall(r"(?m)^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d+)\s*$", makefile_text))
    if "VERSION" not in fields or "PATCHLEVEL" not in fields:
        return None
    return ".".join(fields[k] for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL") if k in fields)


# --- trees and patches -------------------------------------------------------------------------

MREMAP = "mm/mremap.c"


def tree_source(tree: str) -> tuple[str, str]:
    """A kernel tree's mm/mremap.c (its path) and the version its Makefile names ("linux" when
    it names none)."""
    from pathlib import Path
    root = Path(tree)
    if not root.is_dir():
        raise InputError("--tree", f"{tree}: not a directory")
    src = root / MREMAP
    if not src.is_file():
        raise InputError("--tree", f"{tree}: not a kernel source tree (no {MREMAP})")
    try:
        version = version_of_tree((root / "Makefile").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        version = None
    return str(src), f"linux-{version}" if version else "linux"


def split_series(text: str) -> list[str]:
    """The patches of a ``git format-patch`` file or an mbox of a series, in order (a plain diff
    is one patch)."""
    starts = [m.start() for m in re.finditer(r"(?m)^From [0-9a-f]{40} ", text)]
    if len(starts) < 2:
        return [text]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def apply_patches(tree: str, patches: list[str], workdir: str) -> tuple[str, list[str]]:
    """mm/mremap.c of ``tree`` with ``patches`` applied by ``git apply``, in a copy under
    ``workdir`` (the tree is never touched): the patched file's path, and for each patch file
    the subjects of its patches that change mm/mremap.c.  A patch that does not apply is refused
    naming the patch file, the patch in a series and the hunk git names."""
    import shutil
    import subprocess
    from pathlib import Path
    src, _ = tree_source(tree)
    if shutil.which("git") is None:
        raise InputError("--patch", "git is not installed (git apply applies the patches)")
    work = Path(workdir)
    (work / "mm").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, work / MREMAP)
    touched: list[str] = []
    for path in patches:
        if not Path(path).is_file():  # (a FIFO would block the read; a directory is no patch)
            raise InputError(path, "not a regular file" if Path(path).exists() else "no such file")
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise InputError(path, e.strerror or str(e)) from None
        series = split_series(text)
        for i, one in enumerate(series, 1):
            subject = re.search(r"(?m)^Subject:\s*(.*(?:\n [^\n]*)*)", one)
            name = re.sub(r"\s+", " ", subject.group(1)).strip() if subject else f"patch {i}"
            where = f"patch {i} of the series ('{name}')" if len(series) > 1 else f"'{name}'"
            targets = [t for t in re.findall(r"(?m)^\+\+\+ (\S+)", one) if t != "/dev/null"]
            if not targets and not re.search(r"(?m)^diff --git ", one):
                raise InputError(path, f"{'patch ' + str(i) + ' of the series: ' if len(series) > 1 else ''}"
                                       "no diff in it (a git format-patch file, an mbox or a diff)")
            if re.search(r"(?m)^rename from " + re.escape(MREMAP) + "$", one) or \
                    re.search(r"(?m)^deleted file mode", one) and MREMAP in targets + re.findall(r"(?m)^--- a/(\S+)", one):
                raise InputError(path, f"{where} renames or deletes {MREMAP}: there is nothing left to check")
            # the other files a patch changes (selftests, headers) are not read: only mm/mremap.c,
            # found whatever prefix the diff gives it (git's a/ b/, none from diff -u, a directory)
            strip = next((len(Path(t).parts) - 2 for t in targets
                          if len(Path(t).parts) >= 2 and Path(*Path(t).parts[-2:]).as_posix() == MREMAP), None)
            if strip is None:
                continue
            patch_file = work / f".patch-{len(touched)}"
            patch_file.write_text(one, encoding="utf-8")
            before = (work / MREMAP).read_bytes()
            r = subprocess.run(["git", "apply", "-v", f"-p{strip}", "--include", MREMAP, "--whitespace=nowarn",
                                patch_file.name], cwd=work, capture_output=True, text=True)
            if r.returncode != 0:
                msg = " ".join(x.removeprefix("error: ") for x in r.stderr.strip().splitlines()
                               if x.startswith("error:") and "while searching for" not in x)[:300]
                onto = f"{tree} with {', '.join(t.split(': ', 1)[1] for t in touched)} applied" if touched else tree
                raise InputError(path, f"{where} does not apply to {onto}: {msg or 'git apply failed'}")
            if (work / MREMAP).read_bytes() == before:
                raise InputError(path, f"{where} changes nothing in {MREMAP}")
            offsets = [f"hunk {m.group(1)} at line {m.group(2)} ({m.group(3)})"
                       for m in re.finditer(r"Hunk #(\d+) succeeded at (\d+) \(([^)]*)\)", r.stderr)]
            touched.append(f"{Path(path).name}: {name}" + (f" ({'; '.join(offsets)})" if offsets else ""))
    if patches and not touched:
        raise InputError(patches[-1] if len(patches) == 1 else "--patch",
                         f"changes no file the checker reads ({MREMAP}): no verdict of its own")
    return str(work / MREMAP), touched
