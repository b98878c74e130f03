"""What review refuses, in words a reviewer can act on."""

from __future__ import annotations


class NotReviewable(LookupError):
    """No such answer in this round's queue (another round's, flagged, superseded, tapped)."""


class ReviewError(ValueError):
    """A review action cannot be done as asked; the message says why, in plain words."""
