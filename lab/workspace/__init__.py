"""The workspace: the incident in a browser — the CFO dashboard beside the ERP, the drift by day, the six
symptoms with live evidence, the component map, the clock and hints, "Ship the fix" with its criteria
streamed, the postmortem, and facilitator controls.

    __main__.py     `python -m lab.workspace`: binds 127.0.0.1:PORT, serves, beats the heartbeat
    app.py          the routes (Starlette)
    security.py     token, Host and cross-origin checks, the catch-all for errors
    live.py         the poller and the event streams (server-sent events)
    view.py         what the page shows, built from the incident API's answers
    money.py        amounts as strings, exact (Decimal) in Python
    actions.py      "Ship the fix" and the facilitator's reset, in threads
    backend.py      the incident API (lab/api.py), the workspace's one door into the lab
    postmortem.toml the postmortem text, as data
    templates/, static/  the page, its script and styles — no build step, nothing fetched at run time
"""
