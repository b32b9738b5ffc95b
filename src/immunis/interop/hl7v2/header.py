"""The message header (MSH): who sent the message, what it is, and whether we take it."""

from __future__ import annotations

from dataclasses import dataclass

from immunis.interop.hl7v2.encoding import Message, Segment, Value
from immunis.interop.hl7v2.problems import ErrorCode, Rejected, error

VERSION = "2.5.1"
# Message type -> the trigger event this receiver takes with it.
SUPPORTED = {"VXU": "V04", "QBP": "Q11"}
PROCESSING_IDS = ("P", "T", "D")  # production, training, debugging (HL7 table 0103)


def hierarchic_name(value: Value) -> str:
    """An HD (hierarchic designator): its namespace id, else its universal id."""
    return value[1] or value[2]


@dataclass(frozen=True, slots=True)
class Header:
    sending_application: str
    sending_facility: str
    message_type: str
    trigger_event: str
    control_id: str
    processing_id: str

    @property
    def sender(self) -> str:
        """Who is behind a control id: MSH-3 and MSH-4 together (the message log's key)."""
        return f"{self.sending_application}|{self.sending_facility}"

    @property
    def facility(self) -> str:
        """The sending facility, or the application when no facility is named."""
        return self.sending_facility or self.sending_application


def _reject(msh: Segment, field: int, code: ErrorCode, text: str) -> Rejected:
    return Rejected(error(msh.at(field), code, text), msh)


def read_header(message: Message) -> Header:
    """The header of a message we take; Rejected (AR) for a message type, event, processing id
    or version we do not take, or without a message control id."""
    msh = message.msh
    kind = msh.value(9)
    if not kind[1]:
        raise _reject(msh, 9, ErrorCode.REQUIRED_FIELD_MISSING, "MSH-9 message type is empty")
    message_type, trigger = kind[1].upper(), kind[2].upper()
    accepted = ", ".join(f"{t}^{e}" for t, e in SUPPORTED.items())
    if message_type not in SUPPORTED:
        raise _reject(
            msh,
            9,
            ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
            f"{message_type}^{trigger} messages are not accepted here; send {accepted}",
        )
    if trigger != SUPPORTED[message_type]:
        raise _reject(
            msh,
            9,
            ErrorCode.UNSUPPORTED_EVENT,
            f"{message_type} with event {trigger or '(none)'} is not accepted; send {accepted}",
        )
    control_id = msh.text(10)
    if not control_id:
        raise _reject(
            msh,
            10,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "MSH-10 message control id is empty; every message needs one, unique per sender",
        )
    processing_id = msh.text(11).upper()
    if processing_id not in PROCESSING_IDS:
        raise _reject(
            msh,
            11,
            ErrorCode.UNSUPPORTED_PROCESSING_ID
            if processing_id
            else ErrorCode.REQUIRED_FIELD_MISSING,
            f"MSH-11 processing id must be one of {', '.join(PROCESSING_IDS)}",
        )
    version = msh.text(12)
    if version != VERSION:
        raise _reject(
            msh,
            12,
            ErrorCode.UNSUPPORTED_VERSION if version else ErrorCode.REQUIRED_FIELD_MISSING,
            f"HL7 version {version or '(none)'} is not supported; send version {VERSION}",
        )
    return Header(
        sending_application=hierarchic_name(msh.value(3)),
        sending_facility=hierarchic_name(msh.value(4)),
        message_type=message_type,
        trigger_event=trigger,
        control_id=control_id,
        processing_id=processing_id,
    )
