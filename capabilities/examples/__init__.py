"""Working example capabilities shipped with the library (used by scenarios, tests, notebooks)."""
