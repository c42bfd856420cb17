"""The one way crm_extended checks a caller's role.

Every public method is reachable over JSON-RPC: an action that only a role may run
checks it first, with :func:`check_role`, then the caller's right on the records
(``check_access``). The superuser (crons, actions running as superuser after their own
check) passes.
"""

from odoo.exceptions import AccessError


def has_role(env, *groups):
    """Whether the current user holds one of ``groups`` (XML ids), or is the
    superuser."""
    return env.su or any(env.user.has_group(group) for group in groups)


def check_role(env, groups, message):
    """Raise ``AccessError(message)`` unless the current user holds one of
    ``groups`` (an XML id or a tuple of them). ``message`` is translated by the
    caller and says who may do what."""
    if isinstance(groups, str):
        groups = (groups,)
    if not has_role(env, *groups):
        raise AccessError(message)
