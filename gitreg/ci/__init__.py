"""The gate in CI: the checker (``gitreg check``), the workflows ``init --ci``
writes, and the wheel those workflows install."""
