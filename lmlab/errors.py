"""The one exception type for mistakes a user can fix.

The library raises :class:`LmlabError` (a ``ValueError``) with a message that names the bad value and says what
is allowed; the CLI prints that message as one line and exits with status 2. ``assert`` is kept for internal
invariants only.
"""


class LmlabError(ValueError):
    """Bad input from the user: a file, a flag, a corpus or a model that cannot be used as given."""
