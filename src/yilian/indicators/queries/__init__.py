"""Small typed SQLAlchemy Core query builders, one module per family of indicators.

``sql`` holds the dialect helpers (date arithmetic that differs between SQLite and PostgreSQL),
``units`` maps records and residents to the units of a cut, ``facts`` is the one definition of the
care fact rows (read by the daily pre-aggregate, the engine and the drill-down), ``care`` defines the
care-pattern and fund codes over those rows.
"""
