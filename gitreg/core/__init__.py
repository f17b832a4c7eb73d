"""The registry itself: opening it (by path or URL), snapshots of any past
state to read from, the commit transaction every write goes through, and
the events emitted around each operation."""
