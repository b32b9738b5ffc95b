"""HL7 v2 messages for the tests, built the way a Vietnamese clinic's EMR would send them, and a
small reader for the answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from immunis.interop.hl7v2.encoding import Message, Segment, decode

TODAY = date.today()
BIRTH = TODAY - timedelta(days=130)  # a baby of about four months
NATIONAL_ID = "001225004321"
MOTHER_NATIONAL_ID = "001195000123"  # the mother in tests/world.py


def day(value: date) -> str:
    return value.strftime("%Y%m%d")


def fields(segment_id: str, values: dict[int, str]) -> str:
    """A segment from {field number: wire text}."""
    last = max(values)
    return "|".join([segment_id, *(values.get(n, "") for n in range(1, last + 1))])


def msh(
    control_id: str,
    *,
    kind: str = "VXU^V04^VXU_V04",
    version: str = "2.5.1",
    charset: str = "UNICODE UTF-8",
    profile: str = "Z22^CDCPHINVS",
    stamp: str = "20250601093000+0700",
) -> str:
    return (
        f"MSH|^~\\&|VNVC-EMR|VNVC-HVT|IMMUNIS|MOH|{stamp}||{kind}|{control_id}|P|{version}"
        f"|||ER|AL||{charset}|||{profile}"
    )


def pid(
    *,
    national_id: str = NATIONAL_ID,
    record_number: str = "HVT-000123",
    name: str = "Trần^Minh Khôi^^^^^L",
    birth: str | None = None,
    sex: str = "M",
) -> str:
    ids = [f"{record_number}^^^VNVC-HVT^MR"]
    if national_id:
        ids.insert(0, f"{national_id}^^^VNM^NNVNM")
    return fields(
        "PID",
        {
            1: "1",
            3: "~".join(ids),
            5: name,
            6: "Nguyễn^Thị Lan^^^^^M",
            7: birth if birth is not None else day(BIRTH),
            8: sex,
            11: "12 Hoàng Văn Thụ^^Hà Nội^01^^VNM^H^^008^00301",
            13: "^PRN^CP^^84^912^345678",
        },
    )


def nk1() -> str:
    return fields(
        "NK1",
        {
            1: "1",
            2: "Nguyễn^Thị Lan^^^^^L",
            3: "MTH^Mother^HL70063",
            5: "^PRN^CP^^84^912^345678",
            33: f"{MOTHER_NATIONAL_ID}^^^VNM^NNVNM",
        },
    )


@dataclass
class Dose:
    """One ORC/RXA/RXR/OBX group."""

    given: date
    cvx: str
    text: str
    order: str = ""
    amount: str = "0.5"
    source: str = "00^New immunization record^NIP001"
    lot: str = ""
    expiry: str = ""
    mvx: str = ""
    site: str = "HN-PRIVATE-01"
    status: str = "CP"
    action: str = "A"
    coding: str = "CVX"
    extra: dict[int, str] = field(default_factory=dict)

    def segments(self) -> list[str]:
        rxa = {
            1: "0",
            2: "1",
            3: day(self.given),
            5: f"{self.cvx}^{self.text}^{self.coding}",
            6: self.amount,
            7: "mL^mL^UCUM" if self.amount != "999" else "",
            9: self.source,
            10: "^Phạm^Thu Hà",
            11: f"^^^{self.site}" if self.site else "",
            15: self.lot,
            16: self.expiry,
            17: f"{self.mvx}^^MVX" if self.mvx else "",
            20: self.status,
            21: self.action,
            **self.extra,
        }
        return [
            fields("ORC", {1: "RE", 3: f"{self.order}^VNVC-HVT" if self.order else ""}),
            fields("RXA", rxa),
            "RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163",
            "OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1"
            "|V01^Not VFC eligible^HL70064||||||F",
        ]


def hep_b_at_birth(**changes: object) -> Dose:
    values: dict[str, object] = {
        "given": BIRTH,
        "cvx": "08",
        "text": "Hep B, adolescent or pediatric",
        "order": "DOSE-1",
        "lot": "HB2501",
        "expiry": day(TODAY + timedelta(days=400)),
        "mvx": "SKB",
    }
    return Dose(**{**values, **changes})  # type: ignore[arg-type]


def hexavalent_at_two_months(**changes: object) -> Dose:
    values: dict[str, object] = {
        "given": BIRTH + timedelta(days=61),
        "cvx": "146",
        "text": "DTaP,IPV,Hib,HepB",
        "order": "DOSE-2",
        "source": "01^Historical information - source unspecified^NIP001",
        "amount": "999",
        "site": "",
    }
    return Dose(**{**values, **changes})  # type: ignore[arg-type]


def refused_rotavirus() -> Dose:
    return Dose(
        given=BIRTH + timedelta(days=61),
        cvx="116",
        text="rotavirus, pentavalent",
        amount="999",
        source="",
        status="RE",
        extra={18: "00^Parental decision^NIP002"},
    )


def vxu(
    control_id: str = "VNVC-0001",
    *,
    doses: list[Dose] | None = None,
    patient: str | None = None,
    header: str | None = None,
) -> list[str]:
    """The segments of a VXU about the baby; change any of them before encoding."""
    chosen = doses if doses is not None else [hep_b_at_birth(), hexavalent_at_two_months()]
    segments = [header or msh(control_id), patient or pid(), nk1()]
    for dose in chosen:
        segments += dose.segments()
    return segments


def qbp(
    control_id: str = "VNVC-Q-0001",
    *,
    profile: str = "Z34",
    identifiers: str = f"{NATIONAL_ID}^^^VNM^NNVNM",
    name: str = "Trần^Minh Khôi^^^^^L",
    birth: str | None = None,
    sex: str = "M",
    limit: str = "10",
) -> list[str]:
    names = {"Z34": "Request Immunization History", "Z44": "Request Evaluated History and Forecast"}
    return [
        msh(control_id, kind="QBP^Q11^QBP_Q11", profile=f"{profile}^CDCPHINVS"),
        fields(
            "QPD",
            {
                1: f"{profile}^{names.get(profile, 'Unknown')}^CDCPHINVS",
                2: f"TAG-{control_id}",
                3: identifiers,
                4: name,
                5: "Nguyễn^^^^^^M",
                6: birth if birth is not None else day(BIRTH),
                7: sex,
            },
        ),
        f"RCP|I|{limit}^RD&Records&HL70126",
    ]


def wire(segments: list[str], encoding: str = "utf-8") -> bytes:
    return ("\r".join(segments) + "\r").encode(encoding)


@dataclass
class Answer:
    """An ACK or RSP, read back."""

    message: Message

    @classmethod
    def of(cls, data: bytes) -> Answer:
        return cls(decode(data))

    @property
    def code(self) -> str:
        msa = self.message.first("MSA")
        assert msa is not None
        return msa.text(1)

    @property
    def profile(self) -> str:
        return self.message.msh.text(21)

    @property
    def query_status(self) -> str:
        qak = self.message.first("QAK")
        assert qak is not None
        return qak.text(2)

    def errors(self) -> list[tuple[str, str, str, str]]:
        """(location, HL7 code, severity, text) of every ERR."""
        return [(e.raw(2), e.text(3), e.text(4), e.value(8)[1]) for e in self.message.all("ERR")]

    def segments(self, segment_id: str) -> list[Segment]:
        return self.message.all(segment_id)

    def observations(self, after_rxa: int) -> dict[tuple[str, str], str]:
        """OBX values that follow RXA number `after_rxa`, by (sub-id, LOINC code)."""
        found: dict[tuple[str, str], str] = {}
        current = 0
        for segment in self.message.segments:
            if segment.id == "RXA":
                current = segment.sequence
            elif segment.id == "OBX" and current == after_rxa:
                found[(segment.text(4), segment.text(3))] = segment.raw(5)
        return found
