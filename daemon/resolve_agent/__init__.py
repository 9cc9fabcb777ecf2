"""The workstation agent of the Resolve bridge: a package of its own, standard library only.

It shares no code with the server (``import-linter`` holds it to the standard library):
``client`` talks to ``/api/resolve/jobs``, ``agent`` is the poll loop, ``lease`` keeps a
claimed job alive, ``runner`` runs one job through ``pathmap``, ``adapter`` (Resolve's
scripting API) or ``reveal`` (the file manager), ``cli`` is `media-sync resolve-agent`.
"""
