"""Publishers' sources, one module per publisher: its real format read strictly (pure
functions), and the Dagster asset that lands each payload and swaps its ``raw`` table."""
