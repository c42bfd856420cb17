"""Texts of messages shared by the models.

An error about many records names a few of them and counts the rest: a message
listing seventy names is not read.
"""

from odoo.tools.i18n import format_list

# How many names a message lists before it counts the others
NAMES_SHOWN = 3


def name_list(env, names, limit=NAMES_SHOWN):
    """``names`` (strings, or a recordset whose display names are used) as a list
    for a message, in the user's language: all of them up to ``limit``, else the
    first ``limit`` and how many others ("A, B, C and 67 others")."""
    if not isinstance(names, list | tuple):
        names = names.mapped("display_name")
    names = [name or "?" for name in names]
    if len(names) <= limit:
        return format_list(env, names)
    return env._(
        "%(names)s and %(count)s others",
        names=", ".join(names[:limit]),
        count=len(names) - limit,
    )
