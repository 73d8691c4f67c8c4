"""Landing: every payload kept byte-for-byte under its SHA-256, and the manifest of what was
received and what became of it."""
