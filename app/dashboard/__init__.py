"""The dashboard (SPEC section 15): a web UI for the people of a workspace.

Pages are rendered on the server from Jinja templates, styled by one same-origin stylesheet
and run no script. :mod:`app.dashboard.views` is the blueprint; :mod:`app.dashboard.links`
(sign-in links, also used by the command line) imports no web framework.
"""
