//! The bulletin PDF's font, embedded so that the document prints the same on every machine: Noto Sans SC
//! Regular (SIL Open Font License 1.1, which allows embedding; fetched from npm at build time by
//! `crates/bulletins/build.rs`, source in docs/bulletins.md). Each PDF embeds only the glyphs it uses (a subset
//! made by typst's `subsetter`, compressed), as a CIDFontType2 font with Identity-H encoding, so a string
//! in a content stream is the glyphs' 2-byte ids; its ToUnicode map lets viewers and `pdftotext` extract the
//! text (the street names, the figures) as the Chinese it is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;

use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

/// The whole face, as the build fetched and checked it (SHA-512 of the npm tarball).
static FONT_FILE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/font/NotoSansSC-Regular.ttf"));

/// The face's PostScript name; a subset's name is prefixed with its tag (ISO 32000-1 §9.6.4).
const POSTSCRIPT_NAME: &str = "NotoSansSC-Regular";

/// Characters the face has no glyph for, written as the nearest ones it has (then `?`).
fn fallback(c: char) -> &'static str {
    match c {
        '³' => "3",
        '²' => "2",
        '·' => " ",
        '\u{2009}' | '\u{202F}' | '\u{00A0}' => " ",
        _ => "?",
    }
}

/// The face with the few figures the PDF needs of it.
pub struct Font {
    face: Face<'static>,
    /// Design units per 1000 text-space units (PDF glyph widths are per mille of the font size).
    scale: f64,
}

/// The embedded face, parsed once.
pub fn font() -> &'static Font {
    static FONT: OnceLock<Font> = OnceLock::new();
    FONT.get_or_init(|| {
        // Cannot fail: the file is the pinned, hash-checked Noto Sans SC (build.rs), which the bulletin tests parse.
        let face = Face::parse(FONT_FILE, 0).expect("the pinned Noto Sans SC face parses");
        let scale = 1000.0 / f64::from(face.units_per_em().max(1));
        Font { face, scale }
    })
}

impl Font {
    fn glyph(&self, c: char) -> Option<GlyphId> {
        self.face.glyph_index(c).filter(|g| g.0 != 0)
    }

    /// The glyphs of `text` with the characters they stand for: a character the face lacks becomes its
    /// [`fallback`].
    fn glyphs(&self, text: &str) -> Vec<(GlyphId, char)> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            match self.glyph(c) {
                Some(g) => out.push((g, c)),
                None => out.extend(
                    fallback(c)
                        .chars()
                        .filter_map(|f| self.glyph(f).map(|g| (g, f))),
                ),
            }
        }
        out
    }

    /// A glyph's advance in thousandths of the font size.
    fn advance(&self, glyph: GlyphId) -> f64 {
        f64::from(self.face.glyph_hor_advance(glyph).unwrap_or(0)) * self.scale
    }

    /// The width of `text` set at `size` points.
    pub fn text_width(&self, text: &str, size: f64) -> f64 {
        self.glyphs(text)
            .iter()
            .map(|(g, _)| self.advance(*g))
            .sum::<f64>()
            * size
            / 1000.0
    }

    fn per_mille(&self, units: i16) -> i64 {
        (f64::from(units) * self.scale).round() as i64
    }
}

/// The glyphs one document uses, numbered in the order first used: the number is the glyph's id in the subset
/// (`subsetter` keeps the remapper's order) and so its CID under Identity-H.
pub struct GlyphsUsed {
    remapper: GlyphRemapper,
    /// subset id → (original glyph, the character it shows).
    used: BTreeMap<u16, (GlyphId, char)>,
}

impl Default for GlyphsUsed {
    fn default() -> GlyphsUsed {
        GlyphsUsed {
            remapper: GlyphRemapper::new(),
            used: BTreeMap::new(),
        }
    }
}

impl GlyphsUsed {
    /// `text` as a PDF hex string of subset glyph ids, recording the glyphs.
    pub fn encode(&mut self, text: &str) -> String {
        let font = font();
        let mut out = String::from("<");
        for (glyph, c) in font.glyphs(text) {
            let id = self.remapper.remap(glyph.0);
            self.used.entry(id).or_insert((glyph, c));
            let _ = write!(out, "{id:04X}");
        }
        out.push('>');
        out
    }

    /// A six-letter subset tag derived from the glyphs, so that the same text gives the same file.
    fn tag(&self) -> String {
        let mut hash: u32 = 2_166_136_261;
        for (id, (glyph, _)) in &self.used {
            for byte in id.to_be_bytes().into_iter().chain(glyph.0.to_be_bytes()) {
                hash = (hash ^ u32::from(byte)).wrapping_mul(16_777_619);
            }
        }
        (0..6)
            .map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8))
            .collect()
    }

    /// The font's PDF objects, given the object numbers they are to have: the Type0 font, its CIDFontType2
    /// descendant, the descriptor, the font program (FontFile2) and the ToUnicode map. Fails only if the
    /// subsetter rejects the face.
    pub fn objects(&self, ids: &FontObjectIds) -> Result<Vec<Vec<u8>>, subsetter::Error> {
        let font = font();
        let program = subsetter::subset(FONT_FILE, 0, &self.remapper)?;
        let name = format!("{}+{POSTSCRIPT_NAME}", self.tag());
        let mut widths = String::new();
        for (id, (glyph, _)) in &self.used {
            let _ = write!(widths, "{id} [{}] ", font.advance(*glyph).round() as i64);
        }
        let type0 = format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
            ids.cid_font, ids.to_unicode
        );
        let cid_font = format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {} 0 R /DW 1000 /W [{widths}] /CIDToGIDMap /Identity >>",
            ids.descriptor
        );
        let face = &font.face;
        let bbox = face.global_bounding_box();
        let descriptor = format!(
            "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {} 0 R >>",
            font.per_mille(bbox.x_min),
            font.per_mille(bbox.y_min),
            font.per_mille(bbox.x_max),
            font.per_mille(bbox.y_max),
            font.per_mille(face.ascender()),
            font.per_mille(face.descender()),
            font.per_mille(face.capital_height().unwrap_or(face.ascender())),
            ids.program
        );
        let mut compressed =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let _ = compressed.write_all(&program);
        let compressed = compressed.finish().unwrap_or_default();
        let mut file = format!(
            "<< /Length {} /Length1 {} /Filter /FlateDecode >>\nstream\n",
            compressed.len(),
            program.len()
        )
        .into_bytes();
        file.extend_from_slice(&compressed);
        file.extend_from_slice(b"\nendstream");
        let cmap = self.to_unicode();
        let to_unicode = format!("<< /Length {} >>\nstream\n{cmap}endstream", cmap.len());
        Ok(vec![
            type0.into_bytes(),
            cid_font.into_bytes(),
            descriptor.into_bytes(),
            file,
            to_unicode.into_bytes(),
        ])
    }

    /// The ToUnicode CMap (Adobe TN 5411): each subset glyph id → the UTF-16BE of the character it shows, in
    /// blocks of at most 100 as the format requires.
    fn to_unicode(&self) -> String {
        let mut out = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let entries: Vec<(&u16, &(GlyphId, char))> = self.used.iter().collect();
        for block in entries.chunks(100) {
            let _ = writeln!(out, "{} beginbfchar", block.len());
            for (id, (_, c)) in block {
                let mut units = [0u16; 2];
                let hex: String = c
                    .encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                let _ = writeln!(out, "<{id:04X}> <{hex}>");
            }
            out.push_str("endbfchar\n");
        }
        out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        out
    }
}

/// The object numbers of the font's objects in the document.
pub struct FontObjectIds {
    pub cid_font: usize,
    pub descriptor: usize,
    pub program: usize,
    pub to_unicode: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_face_covers_the_bulletins_characters() {
        let font = font();
        for c in "东丽区张贵庄街道军粮城综合指数优良天数（）：、μµ%-.0123456789ABCxyz≤≥".chars()
        {
            assert!(font.glyph(c).is_some(), "no glyph for {c:?}");
        }
        // A CJK character is one em; a digit about half.
        assert!((font.text_width("东", 10.0) - 10.0).abs() < 0.01);
        let digit = font.text_width("0", 10.0);
        assert!(digit > 4.0 && digit < 6.5, "{digit}");
    }

    #[test]
    fn glyphs_are_numbered_in_first_use_and_mapped_back_to_unicode() {
        let mut used = GlyphsUsed::default();
        let first = used.encode("街道");
        assert_eq!(first, "<00010002>");
        assert_eq!(used.encode("道街"), "<00020001>");
        let cmap = used.to_unicode();
        assert!(cmap.contains("<0001> <8857>"), "{cmap}");
        assert!(cmap.contains("<0002> <9053>"), "{cmap}");
        // A character outside the face falls back; an unknown one becomes "?".
        assert_eq!(used.encode("\u{10FFFD}").len(), 6);
    }

    #[test]
    fn the_subset_is_small_and_its_name_is_tagged() {
        let mut used = GlyphsUsed::default();
        used.encode("东丽区2026年11月各街道环境空气质量排名");
        let ids = FontObjectIds {
            cid_font: 4,
            descriptor: 5,
            program: 7,
            to_unicode: 8,
        };
        let objects = used.objects(&ids).expect("the face subsets");
        assert_eq!(objects.len(), 5);
        let program = &objects[3];
        assert!(program.len() < 40_000, "{} bytes", program.len());
        let type0 = String::from_utf8_lossy(&objects[0]);
        assert!(type0.contains(&format!("/BaseFont /{}+NotoSansSC-Regular", used.tag())));
        assert_eq!(used.tag().len(), 6);
    }
}
