"""The data contracts of trialdata: domain schemas, protocol model, controlled terms.

``schemas`` imports no other project code.
"""

from schemas import terms
from schemas.domains import DOMAINS, DomainSpec, get_domain
from schemas.protocol import Protocol, ProtocolError, load_protocol, parse_protocol

__all__ = [
    "DOMAINS",
    "DomainSpec",
    "Protocol",
    "ProtocolError",
    "get_domain",
    "load_protocol",
    "parse_protocol",
    "terms",
]
