"""confine.lsm lab tooling (not part of the built collection)."""
