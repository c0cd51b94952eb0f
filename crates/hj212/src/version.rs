//! Protocol version from the `Flag` bits `V5..V0` (bits 7..2).

use serde::Serialize;

/// Which edition of the standard a packet follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ProtocolVersion {
    /// HJ/T 212-2005: version bits `000000`, or no `Flag` at all (2005 uploads usually omit it).
    #[serde(rename = "2005")]
    Hj2005,
    /// HJ 212-2017: version bits `000001` (Flag 4..=7).
    #[serde(rename = "2017")]
    Hj2017,
    /// HJ 212-2025: version bits `000010` (Flag 8..=11).
    #[serde(rename = "2025")]
    Hj2025,
    /// Version bits no edition defines.
    #[serde(rename = "unknown")]
    Unknown(u8),
}

impl ProtocolVersion {
    pub fn from_flag(flag: Option<u8>) -> ProtocolVersion {
        match flag.map(|value| value >> 2) {
            None | Some(0) => ProtocolVersion::Hj2005,
            Some(1) => ProtocolVersion::Hj2017,
            Some(2) => ProtocolVersion::Hj2025,
            Some(bits) => ProtocolVersion::Unknown(bits),
        }
    }

    /// The version bits placed in the `Flag` of packets we send to a device of this version.
    pub fn flag_bits(self) -> u8 {
        match self {
            ProtocolVersion::Hj2005 => 0,
            ProtocolVersion::Hj2017 => 1 << 2,
            ProtocolVersion::Hj2025 => 2 << 2,
            ProtocolVersion::Unknown(bits) => bits << 2,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProtocolVersion::Hj2005 => "2005",
            ProtocolVersion::Hj2017 => "2017",
            ProtocolVersion::Hj2025 => "2025",
            ProtocolVersion::Unknown(_) => "unknown",
        }
    }
}

/// `Flag` bit 0 (A): the sender wants a reply.
pub const FLAG_ACK: u8 = 1;
/// `Flag` bit 1 (D): PNUM/PNO are present.
pub const FLAG_SUBPACKET: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_observed_flags() {
        assert_eq!(ProtocolVersion::from_flag(None), ProtocolVersion::Hj2005);
        assert_eq!(ProtocolVersion::from_flag(Some(2)), ProtocolVersion::Hj2005);
        for flag in 4..=7 {
            assert_eq!(
                ProtocolVersion::from_flag(Some(flag)),
                ProtocolVersion::Hj2017
            );
        }
        for flag in 8..=11 {
            assert_eq!(
                ProtocolVersion::from_flag(Some(flag)),
                ProtocolVersion::Hj2025
            );
        }
        assert_eq!(
            ProtocolVersion::from_flag(Some(255)),
            ProtocolVersion::Unknown(63)
        );
        assert_eq!(ProtocolVersion::Hj2025.flag_bits(), 8);
    }
}
