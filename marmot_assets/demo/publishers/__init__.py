"""Demo files of the open-data publishers, one module per publisher, in its own format.

``ons`` writes the LSOA-ward-local authority lookup, ``mhclg`` the Indices of Deprivation 2019
files 1, 2 and 6, ``ohid_fingertips`` the Fingertips indicator download. Paths are relative to
the demo folder and fixed, because the parsers look there; ``generator.generate_demo_data``
calls each writer in turn.
"""
