//! Fetches the bulletin PDF's font at build time: Noto Sans SC Regular (TrueType outlines, 10.5 MB), from the
//! npm package `@expo-google-fonts/noto-sans-sc` (Google Fonts' build of Noto Sans SC; the font is under the
//! SIL Open Font License 1.1, which allows embedding, the package's code MIT). `npm pack` fetches the pinned
//! tarball, its SHA-512 is checked, and only the Regular face and the font's licence are extracted into
//! `OUT_DIR`: nothing is committed, nothing comes from a CDN. `src/pdf/font.rs` embeds a subset of it (the
//! glyphs a bulletin uses) in every PDF. Source and licence: docs/bulletins.md.

use std::path::PathBuf;

#[path = "../../web-assets/npm_pack.rs"]
mod npm_pack;

const FONT: npm_pack::Pinned = npm_pack::Pinned {
    package: "@expo-google-fonts/noto-sans-sc@0.4.3",
    tarball: "expo-google-fonts-noto-sans-sc-0.4.3.tgz",
    sha512_hex: "f6b0307454c51db3bfbba0acd208f68d96d6ef84c62226853509d7607dace700356f3564c1b6af88be2df18515eb8d9e1988e0f3a787e8390011099f3470e771",
    files: &[
        (
            "package/400Regular/NotoSansSC_400Regular.ttf",
            "NotoSansSC-Regular.ttf",
        ),
        ("package/LICENSE_FONT", "NotoSansSC-OFL.txt"),
    ],
};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../web-assets/npm_pack.rs");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    npm_pack::fetch(&FONT, &out_dir, &out_dir.join("font"));
}
