"""CHS-DRG grouping (国家医保版 DRG): rule packs as data, a compiled grouper, a CSV service.

``load_grouper(path).group(case)`` is the whole API for one case; ``service.group_csv``
runs a file. The rule language and procedure are those of the pack README
(``shared/data/chs-drg-1.1/README.md``); ``docs/payment/drg.md`` describes this package.
"""

from yilian.payment.drg.case import CaseError, DrgCase, Reason, parse_case
from yilian.payment.drg.grouper import Grouper, load_grouper
from yilian.payment.drg.pack import DEMO_PACK_DIR, RulePack, load_pack, resolve_pack_dir
from yilian.payment.drg.result import GroupResult, Status, Trace

__all__ = [
    "DEMO_PACK_DIR",
    "CaseError",
    "DrgCase",
    "GroupResult",
    "Grouper",
    "Reason",
    "RulePack",
    "Status",
    "Trace",
    "load_grouper",
    "load_pack",
    "parse_case",
    "resolve_pack_dir",
]
