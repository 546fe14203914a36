"""Every renderer: what a command prints, as text (terminal or pipe), JSON, Markdown, GitHub.

One module per output: ``console`` (the doctor-style terminal report of check, envs,
inspect, verify, explain; rich is imported only here), ``json_out`` (the versioned JSON
envelope), ``markdown`` and ``github`` (CI step summary, workflow annotations), ``facts``
(wording shared by console and markdown), ``merge`` (``report merge``'s fleet table),
``fix`` (``fix``'s plan and results), ``env`` (``env create|restore|snapshots``), ``r``
(the R side: ``envs --reticulate``, ``r check``, ``r explain``) and ``explain``
(``explain --error``'s JSON key).  A renderer takes finished results and writes them: it
plans, reads and runs nothing (``check``'s closing plans come from the command).

What it may import: the results it renders and their helpers (``types``, ``jsonable``,
``fixes``, ``checks`` for wording, ``verify``/``verify_results``, ``rlang``, ``merge``,
the display helpers of ``repair/``: ``installer.display``, ``snapshot.self_command``,
``envcreate.usage_lines``) and ``envdoctor.__version__``; never the pipeline (``app``,
``api``, ``config``), the planner (``fix``), :mod:`envdoctor.commands` or
:mod:`envdoctor.cli` (``tests/test_architecture.py`` holds it).
"""
