//! Finding a few bytes in text eight bytes at a time (SWAR): for the readers that look at every byte of large
//! inputs (station data files, HJ 212 packet logs) and only stop at delimiters.

/// The words of eight bytes of `bytes`, little-endian, the last one padded with spaces (which the readers using
/// this never look for).
pub fn words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let whole = chunks.map(|chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        u64::from_le_bytes(word)
    });
    let padded = (!tail.is_empty()).then(|| {
        // Byte by byte: a copy of a length unknown here would be a call to `memcpy`, for at most 7 bytes.
        let mut word = [b' '; 8];
        for (slot, &byte) in word.iter_mut().zip(tail) {
            *slot = byte;
        }
        u64::from_le_bytes(word)
    });
    whole.chain(padded)
}

/// The high bit set in every byte of `word` equal to `byte`, and only there (no carry crosses a byte); the
/// byte's place in the text is `trailing_zeros() / 8` of a word from [`words`].
pub fn bytes_equal(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW_BITS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let diff = word ^ (ONES * u64::from(byte));
    !(((diff & LOW_BITS).wrapping_add(LOW_BITS)) | diff) & !LOW_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_equal_is_marked_and_no_other() {
        let text: Vec<u8> = (0..=255u8).chain([b'\n', 0x0b, 0x8a, b'\n']).collect();
        for wanted in [b'\n', b',', b'"', 0, 0x80, 0xff] {
            let marked: Vec<usize> = words(&text)
                .enumerate()
                .flat_map(|(index, word)| {
                    let found = bytes_equal(word, wanted);
                    (0..8)
                        .filter(move |bit| found >> (bit * 8 + 7) & 1 == 1)
                        .map(move |bit| index * 8 + bit)
                })
                .collect();
            let expected: Vec<usize> = (0..text.len()).filter(|&at| text[at] == wanted).collect();
            assert_eq!(marked, expected, "{wanted:#x}");
        }
    }
}
