"""The generator's own code tables: common outpatient diagnoses and a case mix of stays.

Codes are ICD-10 医保版 2.0 (diagnoses) and ICD-9-CM-3 医保版 (procedures) as the
CHS-DRG 1.1 pack spells them.  With the pack present every code is checked against it
(``codes.py``) and a stay's codes come from the ADRG's own lists, these preferred codes
first; without the pack these tables *are* the built-in code list.

Weights are relative and rough (county-hospital discharge mixes of the kind published
in provincial statistics yearbooks), meant to give plausible volumes, not exact ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Tags tie a code to a resident's recorded condition or situation.
HTN, T2DM, PREGNANT = "htn", "t2dm", "pregnant"


@dataclass(frozen=True)
class VisitCode:
    code: str
    dept: str  # department key (structure._DEPTS)
    weights: tuple[float, float, float]  # village clinic, township centre, hospital
    lo: int = 0
    hi: int = 120
    sex: int = 0  # 0 any, 1 male, 2 female
    tag: str = ""  # only for residents with this condition
    emergency: bool = False  # typical of emergency visits


VISIT_CODES: Final = (
    VisitCode("J06.900", "NK", (30, 18, 8)),
    VisitCode("J02.900", "NK", (8, 6, 3)),
    VisitCode("J03.900", "EK", (4, 4, 3), 3, 30),
    VisitCode("J20.900", "NK", (6, 6, 4)),
    VisitCode("R05.x00", "NK", (5, 4, 2)),
    VisitCode("J18.000", "EK", (0, 2, 5), 0, 10),
    VisitCode("J18.900", "NK", (0, 2, 4), 60),
    VisitCode("J44.900", "NK", (3, 4, 4), 50),
    VisitCode("J45.900", "NK", (1, 2, 2)),
    VisitCode("J30.400", "NK", (1, 2, 3), 5, 60),
    VisitCode("I10.x00", "NK", (45, 25, 10), 30, tag=HTN),
    VisitCode("E11.900", "NK", (30, 25, 14), 30, tag=T2DM),
    VisitCode("I25.103", "NK", (3, 4, 6), 50),
    VisitCode("I69.300", "NK", (2, 3, 3), 55),
    VisitCode("I63.900", "NK", (0, 1, 4), 55),
    VisitCode("I48.000", "NK", (0, 1, 2), 60),
    VisitCode("E78.500", "NK", (2, 3, 4), 40),
    VisitCode("K29.700", "NK", (6, 8, 6), 15),
    VisitCode("K29.500", "NK", (3, 6, 6), 30),
    VisitCode("K52.900", "NK", (4, 5, 3)),
    VisitCode("A09.000", "NK", (3, 4, 3)),
    VisitCode("K59.000", "NK", (2, 2, 1)),
    VisitCode("M54.500", "WK", (6, 6, 4), 25),
    VisitCode("M17.900", "WK", (3, 4, 4), 50),
    VisitCode("M47.800", "WK", (2, 3, 4), 40),
    VisitCode("M79.100", "ZYK", (3, 3, 2), 20),
    VisitCode("N39.000", "NK", (2, 3, 3), 15),
    VisitCode("N76.000", "FCK", (1, 3, 3), 18, 60, sex=2),
    VisitCode("N40.x00", "WK", (1, 2, 3), 55, sex=1),
    VisitCode("R50.900", "EK", (4, 4, 5), 0, 14),
    VisitCode("R51.x00", "NK", (3, 3, 2), 10),
    VisitCode("G47.000", "NK", (1, 2, 2), 30),
    VisitCode("L30.900", "NK", (3, 4, 4)),
    VisitCode("H10.900", "NK", (2, 2, 2)),
    VisitCode("K02.100", "WK", (0, 3, 3), 5),
    VisitCode("B34.900", "NK", (3, 3, 2)),
    VisitCode("Z00.000", "QK", (1, 3, 3), 18),
    VisitCode("Z34.900", "FCK", (2, 8, 10), 15, 50, sex=2, tag=PREGNANT),
    VisitCode("T14.000", "WK", (3, 4, 4), emergency=True),
    VisitCode("S61.000", "WK", (2, 3, 3), 5, emergency=True),
    VisitCode("S93.400", "WK", (1, 2, 3), 5, emergency=True),
    VisitCode("S06.000", "WK", (0, 1, 2), emergency=True),
    VisitCode("R10.402", "NK", (1, 3, 4), 5, emergency=True),
    VisitCode("R07.400", "NK", (0, 2, 4), 30, emergency=True),
    VisitCode("T78.400", "NK", (0, 1, 2), emergency=True),
)


@dataclass(frozen=True)
class MixEntry:
    """An ADRG of the common case mix, with preferred principal diagnoses and procedures."""

    adrg: str
    weights: tuple[float, float, float]  # primary (township), secondary, tertiary
    dx: tuple[str, ...]
    proc: tuple[str, ...] = ()
    lo: int = 1
    hi: int = 120
    sex: int = 0
    tag: str = ""
    dept: str = "NK"
    cost: float = 1.0  # relative to the level's mean cost per stay
    los: float = 1.0  # relative to the level's mean length of stay

    @property
    def surgical(self) -> bool:
        return bool(self.proc)


STAY_MIX: Final = (
    MixEntry("ES3", (16, 9, 4), ("J18.900", "J18.000"), cost=0.9),
    MixEntry("ET2", (8, 5, 3), ("J44.900", "J44.100"), lo=45, cost=1.0, los=1.1),
    MixEntry("EX2", (6, 3, 1), ("J20.900",), cost=0.7, los=0.8),
    MixEntry("EX1", (2, 2, 1), ("J45.900",), lo=5, cost=0.8),
    MixEntry("DT1", (3, 1, 0.3), ("J06.900", "J03.900"), hi=14, dept="EK", cost=0.6, los=0.7),
    MixEntry("FV2", (6, 3, 1), ("I10.x00x002",), lo=35, tag=HTN, cost=0.7, los=0.9),
    MixEntry("FR4", (5, 4, 2), ("I25.103",), lo=45, tag=HTN, cost=0.9),
    MixEntry("FR3", (3, 4, 3), ("I20.000",), lo=45, cost=1.0),
    MixEntry("FR2", (2, 3, 3), ("I50.900",), lo=60, cost=1.2, los=1.1),
    MixEntry("FR1", (0, 1, 2), ("I21.900",), lo=45, cost=1.8),
    MixEntry("FU2", (1, 2, 2), ("I48.000",), lo=50, cost=1.0),
    MixEntry("BR2", (8, 6, 4), ("I63.900",), lo=45, tag=HTN, cost=1.1, los=1.2),
    MixEntry("BR1", (0, 1, 2), ("I61.100x007",), lo=45, tag=HTN, cost=2.0, los=1.5),
    MixEntry("KS1", (4, 3, 2), ("E11.900",), lo=30, tag=T2DM, cost=0.8),
    MixEntry("GW1", (6, 3, 1), ("A09.901", "A09.900x007", "K52.902"), cost=0.6, los=0.7),
    MixEntry("GU2", (2, 2, 1), ("K25.900x001",), lo=18, cost=0.8),
    MixEntry("GS1", (0, 1, 1), ("K92.201", "K92.200x005"), lo=40, cost=1.1),
    MixEntry("GV1", (2, 2, 1), ("K56.700", "R10.402"), dept="WK", cost=0.8),
    MixEntry("HU1", (1, 2, 1), ("K81.000", "K80.000x002"), lo=25, dept="WK", cost=1.0),
    MixEntry("HT2", (0, 1, 1), ("K85.900",), lo=25, cost=1.3),
    MixEntry("LU1", (3, 2, 1), ("N39.000",), cost=0.7),
    MixEntry("LX1", (1, 2, 1), ("N20.000", "N20.100"), lo=20, dept="WK", cost=0.8),
    MixEntry("IU2", (5, 3, 1), ("M54.500", "M51.202", "M47.204"), lo=30, dept="WK", cost=0.8),
    MixEntry("IU1", (2, 2, 1), ("M17.900",), lo=45, dept="WK", cost=0.8),
    MixEntry("IS2", (2, 2, 1), (), lo=5, dept="WK", cost=0.8),
    MixEntry("BX2", (1, 1, 1), ("G51.000",), lo=18, cost=0.7),
    MixEntry("SU1", (1, 1, 0.3), ("B34.900",), cost=0.6),
    MixEntry("XR2", (1, 2, 0.3), ("Z50.101",), lo=40, dept="ZYK", cost=1.0, los=1.6),
    MixEntry("RE1", (0, 1, 4), ("Z51.101", "Z51.102"), ("99.2503",), lo=30, cost=1.0, los=0.6),
    MixEntry("GR1", (0, 1, 2), ("C16.900",), lo=40, cost=1.3),
    MixEntry("ER1", (0, 1, 2), ("C34.900x001",), lo=40, cost=1.3),
    MixEntry("GD2", (1, 4, 2), ("K35.800x001",), ("47.0901", "47.0100"), 5, 80, dept="WK", cost=1.3, los=0.8),
    MixEntry("HC2", (0, 3, 3), ("K80.200x003", "K80.100x001"), ("51.2300",), 25, 90, dept="WK", cost=1.8, los=0.8),
    MixEntry("GE1", (1, 3, 1), ("K40.201", "K40.200x001"), ("53.0201", "53.0001"), 18, 90, 1, dept="WK", cost=1.2,
             los=0.7),
    MixEntry("GF1", (1, 2, 1), ("K64.200",), ("49.4600",), 18, 80, dept="WK", cost=1.0, los=0.9),
    MixEntry("CB3", (0, 2, 3), ("H25.900",), ("13.7100", "13.4101"), 55, dept="WK", cost=1.2, los=0.4),
    MixEntry("IC2", (0, 1, 3), ("M17.900",), ("81.5400", "81.5100"), 55, dept="WK", cost=4.0, los=1.5),
    MixEntry("IF3", (0, 1, 2), ("S72.000",), ("79.3501",), 60, dept="WK", cost=3.0, los=1.5),
    MixEntry("IF1", (0, 2, 2), ("S52.500x001",), ("79.3201",), 10, dept="WK", cost=1.8),
    MixEntry("FM1", (0, 1, 4), ("I20.000", "I25.103"), ("36.0601",), 45, cost=3.5, los=0.9),
    MixEntry("MB1", (0, 2, 2), ("N40.x00",), ("60.2902",), 55, sex=1, dept="WK", cost=1.6),
    MixEntry("ND1", (0, 2, 2), ("N83.201",), ("65.2901",), 18, 60, 2, dept="FCK", cost=1.4),
    MixEntry("NC1", (0, 2, 2), ("D25.900",), ("68.4901",), 30, 65, 2, dept="FCK", cost=2.0, los=1.1),
    MixEntry("NE1", (0, 1, 1), ("N84.001",), ("68.2901",), 25, 65, 2, dept="FCK", cost=1.0, los=0.5),
    MixEntry("GK3", (0, 2, 2), ("K63.500",), ("45.4201",), 40, 90, dept="NK", cost=1.0, los=0.5),
    MixEntry("DE2", (0, 1, 1), ("J35.000",), ("28.2x04",), 4, 40, dept="WK", cost=1.0, los=0.6),
)

# Deliveries (pregnant residents at term): vaginal, vaginal with a procedure, caesarean.
DELIVERY_MIX: Final = (
    MixEntry("OR1", (7, 5, 4), ("Z37.000x001",), lo=15, hi=50, sex=2, dept="FCK", cost=0.5, los=0.5),
    MixEntry("OC1", (1, 2, 2), ("O70.000",), ("73.6x01",), 15, 50, 2, dept="FCK", cost=0.6, los=0.5),
    MixEntry("OB1", (2, 4, 5), ("O82.000", "O82.900"), ("74.1x01",), 15, 50, 2, dept="FCK", cost=1.0, los=0.8),
)

# Infants aged 29 days to 1 year.
INFANT_MIX: Final = (
    MixEntry("ES3", (3, 4, 3), ("J18.000",), lo=0, hi=0, dept="EK", cost=0.8),
    MixEntry("GW1", (2, 2, 1), ("A09.903",), lo=0, hi=0, dept="EK", cost=0.6),
    MixEntry("DT1", (2, 1, 0.5), ("J06.900",), lo=0, hi=0, dept="EK", cost=0.5),
    MixEntry("PV1", (0, 1, 2), ("P23.000x001",), lo=0, hi=0, dept="EK", cost=1.0),
)

# Newborns (≤ 28 days): by birth weight; the pack's PS1–PS4 bands and PU1 / PR1.
NEWBORN_PRETERM: Final = ("P07.300", "P07.300x001")
NEWBORN_TERM: Final = ("P59.901",)
NEWBORN_RDS: Final = ("P22.000",)

# Secondary diagnoses: common complications (CC / MCC in CHS-DRG 1.1).
COMMON_CC: Final = ("J18.900", "E87.100", "E87.600", "I48.000", "N18.900", "E87.200", "J15.900", "D62.x00",
                    "E16.200", "J44.900", "I95.900", "D69.600")
COMMON_MCC: Final = ("J96.000", "J96.900", "N17.900", "A41.900", "I50.900", "N18.500", "J44.100", "J96.100",
                     "R57.100", "K72.900")
# Recorded conditions written as secondary diagnoses of a stay.
CONDITION_DX: Final = {HTN: "I10.x00", T2DM: "E11.900"}
