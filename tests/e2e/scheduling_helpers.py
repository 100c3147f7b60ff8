"""Scheduling's tests: an appointment belongs to a case intake knows in the
appointment's authority (ics: its family's communication needs are read
from intake), so each authority gets one real case, made once and reused
by the key that first put a calendar (or asked) for that authority."""
from matching_helpers import make_case

_cases = {}
_apis = {}


def known(api, authority):
    """Remembers a key that may open cases in authority (the first one)."""
    _apis.setdefault(authority, api)


def case_id(authority, api=None):
    """The id of an open case of authority, made through intake once."""
    if api is not None:
        known(api, authority)
    if authority not in _cases:
        _cases[authority] = make_case(_apis[authority], authority)["id"]
    return _cases[authority]
