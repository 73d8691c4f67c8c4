"""The progress report of a release (``page.render_report``): per principle, the scorecard,
trend, gradient and ward charts, stories and evaluations, and what changed, as
``$MARMOT_HOME/reports/<release_id>/index.html`` and ``report.pdf``. Kept import-free, so
loading the code location does not import matplotlib."""
