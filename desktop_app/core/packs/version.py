"""Semantic versions of packs: SemVer 2.0.0 (semver.org), to the letter.

``MAJOR.MINOR.PATCH``, an optional ``-pre.release`` and optional ``+build.metadata``.
Numeric parts may be as large as the text allows; the one limit Casebook adds is the
length of the whole version (:data:`MAX_LENGTH` characters), so that a manifest
cannot make a number of thousands of digits. Precedence ignores build metadata:
``1.1.0+build.7`` and ``1.1.0+build.8`` are the same version (rule 10), and compare
equal here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

MAX_LENGTH = 256
# The expression semver.org gives, with [0-9] for \d: Python's \d also matches other
# scripts' digits ("١.٠.٠"), which int() would then read as 1.0.0.
_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_BUILD_ID = r"[0-9a-zA-Z-]+"
_SEMVER = re.compile(
    rf"({_NUMBER})\.({_NUMBER})\.({_NUMBER})"
    rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+({_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)
DESCRIPTION = "a version like 1.2.0 (SemVer 2.0.0, as 1.2.0-beta.1 or 1.2.0+build.7 are)"


def version_problem(text: object) -> str | None:
    """Why ``text`` is not a version, in words that end a sentence; None when it is one."""
    if not isinstance(text, str):
        return f"is not {DESCRIPTION}"
    if len(text) > MAX_LENGTH:
        return f"is longer than the {MAX_LENGTH} characters Casebook accepts in a version"
    if not _SEMVER.fullmatch(text):
        return f"is not {DESCRIPTION}"
    return None


@total_ordering
@dataclass(frozen=True)
class PackVersion:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    # Not compared: two versions that differ only in build metadata have one precedence.
    build: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, text: str) -> PackVersion:
        problem = version_problem(text)
        if problem:
            raise ValueError(f"{text!r} {problem}")
        match = _SEMVER.fullmatch(text)
        assert match is not None  # version_problem matched it
        pre = tuple(match.group(4).split(".")) if match.group(4) else ()
        build = tuple(match.group(5).split(".")) if match.group(5) else ()
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre, build)

    def _key(self) -> tuple:
        # A release sorts after its pre-releases; numeric identifiers sort
        # numerically and before alphanumeric ones (semver.org, rule 11).
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, not self.prerelease, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PackVersion):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text
