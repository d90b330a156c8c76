"""A browser and its system, in words, from a User-Agent header: "Firefox 133
on Windows". For the account's list of sessions only, so a few patterns in
the order that matters (Edge and Opera also say Chrome; Chrome also says
Safari) are enough; anything else is "an unknown browser". The header is cut
to USER_AGENT_MAX before it is stored, and each pattern is a plain search
with no nested repetition, so a header costs a few linear scans at most."""

import re

from .models import USER_AGENT_MAX

# (name, pattern whose first group is the major version, if any). First match wins.
_BROWSERS = [
    ("Edge", re.compile(r"\b(?:Edg|Edge|EdgA|EdgiOS)/(\d+)")),
    ("Opera", re.compile(r"\b(?:OPR|OPT)/(\d+)")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d+)")),
    ("Vivaldi", re.compile(r"\bVivaldi/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"\b(?:HeadlessChrome|Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
    ("curl", re.compile(r"^curl/(\d+)")),
]
_SYSTEMS = [
    ("Windows", re.compile(r"\bWindows\b")),
    ("iOS", re.compile(r"\b(?:iPhone|iPad|iPod)\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b")),
]


def clean(header: str | None) -> str | None:
    """The header as it is kept: printable, at most USER_AGENT_MAX characters."""
    if not header:
        return None
    kept = "".join(c for c in header[: USER_AGENT_MAX * 2] if c.isprintable())
    return kept.strip()[:USER_AGENT_MAX] or None


def describe(header: str | None) -> str:
    """ "Firefox 133 on Windows", "Safari 18 on iOS", "an unknown browser"."""
    header = (header or "")[:USER_AGENT_MAX]
    browser = next(
        (f"{name} {found[1]}" for name, pattern in _BROWSERS if (found := pattern.search(header))),
        None,
    )
    system = next((name for name, pattern in _SYSTEMS if pattern.search(header)), None)
    if browser is None:
        return f"An unknown browser on {system}" if system else "An unknown browser"
    return f"{browser} on {system}" if system else browser
