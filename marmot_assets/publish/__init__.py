"""Publication: write-audit-publish of the disclosure-controlled tables into releases, and the
serving file BI tools read (``releases.py`` lays out ``$MARMOT_HOME/serving``)."""
