//! 统一社会信用代码 against published codes and corrupted ones.

use registry::model::{Uscc, UsccError};

/// Codes published on the companies' own sites and the national enterprise credit system.
const PUBLISHED: &[(&str, &str)] = &[
    ("91440300708461136T", "深圳市腾讯计算机系统有限公司"),
    ("914403001922038216", "华为技术有限公司"),
    ("91110108551385082Q", "小米科技有限责任公司"),
    ("91110000710925462X", "中国移动通信集团有限公司"),
    ("91330100799655058B", "阿里巴巴（中国）有限公司"),
    (
        "91350100M000100Y43",
        "GB 32100 worked example in wide circulation",
    ),
];

#[test]
fn published_codes_are_valid() {
    for (code, holder) in PUBLISHED {
        let parsed = Uscc::parse(code).unwrap_or_else(|e| panic!("{code} ({holder}): {e}"));
        assert_eq!(parsed.as_str(), *code);
    }
    assert_eq!(
        Uscc::parse("91440300708461136T").unwrap().division(),
        "440300"
    );
}

#[test]
fn lower_case_and_spaces_are_normalised() {
    assert_eq!(
        Uscc::parse(" 91110108551385082q ").unwrap().as_str(),
        "91110108551385082Q"
    );
}

#[test]
fn every_single_character_corruption_is_caught() {
    const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (code, _) in PUBLISHED {
        for position in 0..18 {
            for replacement in CHARSET.chars() {
                let mut chars: Vec<char> = code.chars().collect();
                if chars[position] == replacement {
                    continue;
                }
                chars[position] = replacement;
                let corrupted: String = chars.into_iter().collect();
                assert!(
                    Uscc::parse(&corrupted).is_err(),
                    "{corrupted} (from {code}, position {position}) was accepted"
                );
            }
        }
    }
}

#[test]
fn adjacent_transpositions_are_caught() {
    for (code, _) in PUBLISHED {
        let chars: Vec<char> = code.chars().collect();
        // Within the 17 weighted characters; a swap with the check character itself is not guaranteed to show.
        for i in 0..16 {
            if chars[i] == chars[i + 1] {
                continue;
            }
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let swapped: String = swapped.into_iter().collect();
            assert!(
                Uscc::parse(&swapped).is_err(),
                "{swapped} (from {code}) was accepted"
            );
        }
    }
}

#[test]
fn errors_say_what_is_wrong() {
    assert_eq!(Uscc::parse("9144030070846113"), Err(UsccError::Length(16)));
    assert_eq!(Uscc::parse(""), Err(UsccError::Length(0)));
    assert_eq!(
        Uscc::parse("91440300708461136I"),
        Err(UsccError::Character {
            position: 18,
            found: 'I'
        })
    );
    for forbidden in ['I', 'O', 'Z', 'S', 'V'] {
        let code = format!("9144030070846113{forbidden}T");
        assert!(matches!(
            Uscc::parse(&code),
            Err(UsccError::Character { position: 17, .. })
        ));
    }
    assert!(matches!(
        Uscc::parse("91440300708461136X"),
        Err(UsccError::Check {
            found: 'X',
            expected: 'T'
        })
    ));
    assert!(matches!(
        Uscc::parse("张1440300708461136T"),
        Err(UsccError::Character { .. })
    ));
    // Authority B does not exist; type 0 does not exist; the division must be digits.
    let completed = |first17: &str| Uscc::with_check_char(first17);
    assert_eq!(
        completed("B1440300708461136"),
        Err(UsccError::Authority('B'))
    );
    assert_eq!(completed("90440300708461136"), Err(UsccError::Type('0')));
    assert_eq!(completed("9144A300708461136"), Err(UsccError::Division));
    assert!(completed("91120110MA0000001").is_ok());
}
