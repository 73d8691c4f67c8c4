"""One reading layer for every file the platform receives: CSV, XLSX, JSON and Markdown,
encodings, header matching, typed cells, and errors that name file, row and column."""
