from __future__ import annotations

import pytest

from gitreg.documents.names import Version, check_name, next_version
from gitreg.errors import UsageError

GOOD_NAMES = ["a", "fraud", "fraud-detector", "m1", "a.b", "a_b", "x" * 64, "0"]
BAD_NAMES = [
    "",
    "Fraud",
    "../x",
    "a/b",
    "a\\b",
    "a:b",
    "a\x00b",
    "a\nb",
    "-a",
    "a-",
    "a.",
    ".git",
    "a..b",
    "x.lock",
    "HEAD",
    "git~1",
    "x" * 65,
    "frаud",
    "a\u200bb",
    "a b",
    "a@b",
    "a#b",
]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_with_the_value_escaped(name: str) -> None:
    with pytest.raises(UsageError) as info:
        check_name(name)
    message = str(info.value)
    assert "\n" not in message and "\x00" not in message
    assert message.startswith("invalid model name")


@pytest.mark.parametrize(
    "text", ["1.0.0", "0.0.1", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-0.3.7", "1.0.0-x-y"]
)
def test_versions_round_trip(text: str) -> None:
    assert str(Version.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    ["1", "1.0", "1.10", "v1.0.0", "01.0.0", "1.00.0", "1.0.0+build", "1.0.0-RC1", "1.0.0-01", " 1.0.0", "1.0.0-", 1.1],
)
def test_bad_versions(text: object) -> None:
    with pytest.raises(UsageError, match="invalid version"):
        Version.parse(text)


def test_semver_precedence() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    parsed = [Version.parse(v) for v in ordered]
    assert sorted(reversed(parsed)) == parsed


@pytest.mark.parametrize(
    ("existing", "part", "expected"),
    [
        ([], "patch", "1.0.0"),
        (["1.0.0"], "patch", "1.0.1"),
        (["1.0.0", "1.2.3"], "minor", "1.3.0"),
        (["1.2.3"], "major", "2.0.0"),
        (["1.9.0", "1.10.0"], "patch", "1.10.1"),
        (["1.0.0", "1.1.0-rc.1"], "patch", "1.1.0"),
        (["2.0.0-rc.1"], "major", "2.0.0"),
    ],
)
def test_next_version(existing: list[str], part: str, expected: str) -> None:
    assert str(next_version([Version.parse(v) for v in existing], part)) == expected  # type: ignore[arg-type]
