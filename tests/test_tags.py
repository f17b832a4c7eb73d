from __future__ import annotations

import pytest

from gitreg.documents import tags
from gitreg.documents.tags import TagEvent

EVENTS = [
    TagEvent("register", "fraud", version="1.0.0"),
    TagEvent("register", "fraud-detector", version="2.1.0-rc.1"),
    TagEvent("deregister", "fraud", version="1.0.0"),
    TagEvent("deregister", "fraud", version="1.0.0", counter=4),
    TagEvent("deprecate", "fraud"),
    TagEvent("deprecate", "fraud", counter=9),
    TagEvent("assign", "fraud", stage="production", counter=1),
    TagEvent("unassign", "fraud", stage="staging", counter=12),
]


@pytest.mark.parametrize("event", EVENTS)
def test_round_trip(event: TagEvent) -> None:
    assert tags.parse(event.name()) == event


@pytest.mark.parametrize(
    ("event", "name"),
    [
        (EVENTS[0], "fraud@v1.0.0"),
        (EVENTS[2], "fraud@v1.0.0!"),
        (EVENTS[4], "fraud@deprecated"),
        (EVENTS[6], "fraud#production#1"),
        (EVENTS[7], "fraud#staging!#12"),
    ],
)
def test_gto_grammar(event: TagEvent, name: str) -> None:
    assert event.name() == name


def test_gto_messages() -> None:
    assert EVENTS[0].message() == "Registering artifact fraud version v1.0.0"
    assert EVENTS[4].message() == "Deprecating artifact 'fraud'"
    assert EVENTS[6].message("1.0.0") == "Assigning stage production to artifact fraud version v1.0.0"


@pytest.mark.parametrize("name", ["v1.0.0", "fraud", "fraud@1.0.0", "fraud@v1.0", "Fraud@v1.0.0", "fraud#production#x"])
def test_foreign_tags_are_ignored(name: str) -> None:
    assert tags.parse(name) is None


def test_next_counter_counts_all_of_a_models_tags() -> None:
    names = ["fraud@v1.0.0", "fraud#staging#1", "fraud#production#3", "fraud#staging!#2", "other#production#7"]
    assert tags.next_counter(names, "fraud") == 4
    assert tags.next_counter(names, "new") == 1
