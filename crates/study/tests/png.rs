//! `--png` (built with the `png` feature): every chart also as a PNG, twice the SVG's
//! size, the SVG unchanged.
#![cfg(feature = "png")]
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use gradflow_autograd::Activation;
use gradflow_study::report::{ChartFormats, write_gallery};

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// The `width` and `height` attributes of an SVG's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let attr = |name| {
        doc.root_element()
            .attribute(name)
            .unwrap()
            .parse::<f64>()
            .unwrap() as u32
    };
    (attr("width"), attr("height"))
}

#[test]
fn gallery_with_png_writes_a_png_beside_each_svg() {
    let dir = tempfile::tempdir().unwrap();
    let acts = [Activation::Sigmoid, Activation::Relu];
    let svgs = write_gallery(dir.path(), &acts, ChartFormats { png: true }).unwrap();
    assert_eq!(svgs.len(), 2);
    for svg_path in svgs {
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        let png = std::fs::read(svg_path.with_extension("png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (w, h) = svg_size(&svg);
        assert_eq!(png_size(&png), (2 * w, 2 * h), "{}", svg_path.display());
    }
}
