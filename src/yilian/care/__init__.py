"""Care data backbone: encounters and their settlements (claims) as member HIS and the insurance
bureau send them, the tiered reimbursement that settles them, and the reads other features build on.

Entry points: ``care.api`` (JSON ingestion and lists), ``care.views`` (pages and the resident
fragment), ``care.cli`` (``yilian care import``).  Layout and rules: ``docs/care/``.
"""
