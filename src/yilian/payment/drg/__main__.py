"""``python -m yilian.payment.drg group …`` (the same commands as ``yilian drg``)."""

from yilian.payment.drg.cli import app

app(prog_name="python -m yilian.payment.drg")
