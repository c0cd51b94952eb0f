//! The HJ 212 CRC (Appendix A of the standard) and the Modbus-based variant some devices send.
//!
//! The HJ 212 algorithm is *not* Modbus CRC-16: each byte is XORed into the register's **high** byte shifted
//! down (`r = (r >> 8) ^ b`), then eight reflected shifts with polynomial 0xA001 follow. Init 0xFFFF, no final
//! XOR, printed as four hex digits high byte first. Check value over `"123456789"` is 0x2F80.
//!
//! Some devices instead send standard Modbus CRC-16 printed low byte first; [`check`] recognises it and
//! reports it as [`CrcVerdict::Variant`], and [`CrcMode`] decides per device whether that is accepted.

use serde::Serialize;

/// Eight reflected shifts (polynomial 0xA001) applied to every byte value: shared by both algorithms.
const SHIFT8: [u16; 256] = build_shift8_table();

const fn build_shift8_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut index = 0;
    while index < 256 {
        let mut register = index as u16;
        let mut round = 0;
        while round < 8 {
            let lsb = register & 1;
            register >>= 1;
            if lsb == 1 {
                register ^= 0xA001;
            }
            round += 1;
        }
        table[index] = register;
        index += 1;
    }
    table
}

/// Bytes folded per step of [`hj212_crc`].
const FOLD: usize = 16;

/// `HIGH_POWERS[k - 1][x]`: the register's high byte after `k` steps fed with `x` then `k - 1` zero bytes.
///
/// After `r = (r >> 8) ^ b` the register fits in one byte, so only the high byte of the register carries from
/// one byte to the next: the state is 8 bits and each step is linear over GF(2). Sixteen bytes can therefore be
/// folded with independent lookups instead of a chain of dependent ones.
const HIGH_POWERS: [[u8; 256]; FOLD] = build_high_powers();

const fn build_high_powers() -> [[u8; 256]; FOLD] {
    let mut powers = [[0u8; 256]; FOLD];
    let mut value = 0;
    while value < 256 {
        powers[0][value] = (SHIFT8[value] >> 8) as u8;
        value += 1;
    }
    let mut power = 1;
    while power < FOLD {
        let mut value = 0;
        while value < 256 {
            powers[power][value] = powers[0][powers[power - 1][value] as usize];
            value += 1;
        }
        power += 1;
    }
    powers
}

/// The HJ 212 CRC of `data` (the data segment only: not `##`, the length, the CRC or CRLF).
pub fn hj212_crc(data: &[u8]) -> u16 {
    let Some((&last, body)) = data.split_last() else {
        return 0xFFFF;
    };
    // High byte of the initial register 0xFFFF.
    let mut state: u8 = 0xFF;
    let mut blocks = body.chunks_exact(FOLD);
    for block in &mut blocks {
        let mut next = HIGH_POWERS[FOLD - 1][usize::from(state ^ block[0])];
        for (index, &byte) in block.iter().enumerate().skip(1) {
            next ^= HIGH_POWERS[FOLD - 1 - index][usize::from(byte)];
        }
        state = next;
    }
    for &byte in blocks.remainder() {
        state = HIGH_POWERS[0][usize::from(state ^ byte)];
    }
    SHIFT8[usize::from(state ^ last)]
}

/// Slicing-by-8 tables for Modbus CRC-16: `MODBUS_SLICES[k][x]` is the register contribution of byte `x`
/// followed by `k` zero bytes.
const MODBUS_SLICES: [[u16; 256]; 8] = build_modbus_slices();

const fn build_modbus_slices() -> [[u16; 256]; 8] {
    let mut slices = [[0u16; 256]; 8];
    slices[0] = SHIFT8;
    let mut slice = 1;
    while slice < 8 {
        let mut value = 0;
        while value < 256 {
            let previous = slices[slice - 1][value];
            slices[slice][value] = (previous >> 8) ^ SHIFT8[(previous & 0xFF) as usize];
            value += 1;
        }
        slice += 1;
    }
    slices
}

/// Standard Modbus CRC-16 (init 0xFFFF, reflected polynomial 0xA001), as a register value. Only computed
/// when the HJ 212 CRC fails, which in the field is common enough to matter for throughput.
pub fn modbus_crc(data: &[u8]) -> u16 {
    let mut register: u16 = 0xFFFF;
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let low = register ^ u16::from_le_bytes([block[0], block[1]]);
        register = MODBUS_SLICES[7][usize::from(low & 0xFF)]
            ^ MODBUS_SLICES[6][usize::from(low >> 8)]
            ^ MODBUS_SLICES[5][usize::from(block[2])]
            ^ MODBUS_SLICES[4][usize::from(block[3])]
            ^ MODBUS_SLICES[3][usize::from(block[4])]
            ^ MODBUS_SLICES[2][usize::from(block[5])]
            ^ MODBUS_SLICES[1][usize::from(block[6])]
            ^ MODBUS_SLICES[0][usize::from(block[7])];
    }
    for &byte in blocks.remainder() {
        register = (register >> 8) ^ SHIFT8[usize::from(register as u8 ^ byte)];
    }
    register
}

/// The value a "Modbus, low byte first" device prints in the CRC field, read back high-digit first.
pub fn modbus_variant_field(data: &[u8]) -> u16 {
    modbus_crc(data).swap_bytes()
}

/// Four upper-case hex digits, the standard's printed form.
pub fn format_crc(crc: u16) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [
        HEX[usize::from(crc >> 12)],
        HEX[usize::from((crc >> 8) & 0xF)],
        HEX[usize::from((crc >> 4) & 0xF)],
        HEX[usize::from(crc & 0xF)],
    ]
}

/// Parses the four-character CRC field, upper or lower case hex.
pub fn parse_crc_field(field: &[u8]) -> Option<u16> {
    if field.len() != 4 {
        return None;
    }
    let mut value: u16 = 0;
    for &digit in field {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            b'A'..=b'F' => digit - b'A' + 10,
            _ => return None,
        };
        value = (value << 4) | u16::from(nibble);
    }
    Some(value)
}

/// What the CRC field says about the data segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum CrcVerdict {
    /// Matches the HJ 212 algorithm.
    Ok,
    /// Matches Modbus CRC-16 printed low byte first (a known device deviation).
    Variant,
    /// Matches neither; `expected` is the HJ 212 CRC, `found` what the packet carries (None if not hex).
    Bad { expected: u16, found: Option<u16> },
}

impl CrcVerdict {
    pub fn label(&self) -> &'static str {
        match self {
            CrcVerdict::Ok => "ok",
            CrcVerdict::Variant => "variant",
            CrcVerdict::Bad { .. } => "bad",
        }
    }
}

/// Checks the CRC field of a packet against its data segment.
pub fn check(segment: &[u8], crc_field: &[u8]) -> CrcVerdict {
    let expected = hj212_crc(segment);
    let found = parse_crc_field(crc_field);
    match found {
        Some(value) if value == expected => CrcVerdict::Ok,
        Some(value) if value == modbus_variant_field(segment) => CrcVerdict::Variant,
        _ => CrcVerdict::Bad { expected, found },
    }
}

/// Per-device policy for the CRC field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrcMode {
    /// Only the HJ 212 algorithm.
    Strict,
    /// HJ 212 or the Modbus low-byte-first variant.
    #[default]
    AcceptVariant,
    /// Do not check (devices with a broken CRC that the operator chose to trust).
    Ignore,
}

impl CrcMode {
    pub fn accepts(self, verdict: CrcVerdict) -> bool {
        match self {
            CrcMode::Strict => verdict == CrcVerdict::Ok,
            CrcMode::AcceptVariant => matches!(verdict, CrcVerdict::Ok | CrcVerdict::Variant),
            CrcMode::Ignore => true,
        }
    }

    pub fn parse(text: &str) -> Option<CrcMode> {
        match text {
            "strict" => Some(CrcMode::Strict),
            "accept-variant" => Some(CrcMode::AcceptVariant),
            "ignore" => Some(CrcMode::Ignore),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values_from_the_reference() {
        assert_eq!(hj212_crc(b""), 0xFFFF);
        assert_eq!(hj212_crc(b"123456789"), 0x2F80);
        assert_eq!(modbus_crc(b"123456789"), 0x4B37);
        let appendix_a = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
        assert_eq!(hj212_crc(appendix_a), 0x1C80);
        assert_eq!(modbus_crc(appendix_a), 0x0759);
    }

    #[test]
    fn table_matches_the_bitwise_algorithm_of_the_standard() {
        fn shift8(mut register: u16) -> u16 {
            for _ in 0..8 {
                let lsb = register & 1;
                register >>= 1;
                if lsb == 1 {
                    register ^= 0xA001;
                }
            }
            register
        }
        // The standard's prose: XOR the byte into the register's high byte shifted down.
        fn bitwise(data: &[u8]) -> u16 {
            data.iter().fold(0xFFFF, |register, &byte| {
                shift8((register >> 8) ^ u16::from(byte))
            })
        }
        // Modbus: XOR the byte into the low byte.
        fn modbus_bytewise(data: &[u8]) -> u16 {
            data.iter()
                .fold(0xFFFF, |register, &byte| shift8(register ^ u16::from(byte)))
        }
        let data: Vec<u8> = (0..=255u8)
            .chain(b"##0101QN=2016".iter().copied())
            .collect();
        for end in 0..data.len() {
            assert_eq!(
                modbus_crc(&data[..end]),
                modbus_bytewise(&data[..end]),
                "prefix {end}"
            );
            assert_eq!(
                modbus_crc(&data[end..]),
                modbus_bytewise(&data[end..]),
                "suffix {end}"
            );
            assert_eq!(
                hj212_crc(&data[..end]),
                bitwise(&data[..end]),
                "prefix {end}"
            );
        }
    }

    #[test]
    fn crc_field_is_case_insensitive_and_rejects_non_hex() {
        assert_eq!(parse_crc_field(b"4f40"), Some(0x4F40));
        assert_eq!(parse_crc_field(b"4F40"), Some(0x4F40));
        assert_eq!(parse_crc_field(b"4G40"), None);
        assert_eq!(parse_crc_field(b"4F4"), None);
        assert_eq!(&format_crc(0x1C80), b"1C80");
    }

    #[test]
    fn modes_decide_acceptance() {
        let bad = CrcVerdict::Bad {
            expected: 1,
            found: Some(2),
        };
        assert!(CrcMode::Strict.accepts(CrcVerdict::Ok));
        assert!(!CrcMode::Strict.accepts(CrcVerdict::Variant));
        assert!(CrcMode::AcceptVariant.accepts(CrcVerdict::Variant));
        assert!(!CrcMode::AcceptVariant.accepts(bad));
        assert!(CrcMode::Ignore.accepts(bad));
    }
}
