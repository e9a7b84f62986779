"""The core every layer stands on: the store, units, errors, time zones and durations."""
